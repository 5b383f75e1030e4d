"""Stopping a command-line run without losing it: SIGTERM and SIGHUP act as Ctrl-C does (the
picture so far is written), and no signal can cut the writing of a picture and its sidecar.
Not in the paper (README, "Stylise your own photo": exit status 130).
"""
from __future__ import annotations

import contextlib
import signal
import threading

__all__ = ["stop_signals_interrupt", "shielded", "ignore_from_now"]

STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


def _set(handlers: dict) -> dict:
    """Install {signal: handler}; returns the handlers before. Only the main thread may: elsewhere
    nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {s: signal.signal(s, handler) for s, handler in handlers.items()}


@contextlib.contextmanager
def stop_signals_interrupt():
    """Within: Ctrl-C, SIGTERM and SIGHUP (a closed terminal, a cancelled job) raise
    KeyboardInterrupt, so a synthesis stops and keeps its picture; the first one only: every later
    one is ignored until the block ends, so pressing Ctrl-C twice cannot lose the picture being
    saved. A signal ignored when the block starts stays ignored: ``nohup`` ignores SIGHUP, and a
    shell's background job SIGINT. Not in the paper, nor in a notebook."""
    def stop(signum, frame):
        _set({s: signal.SIG_IGN for s in STOP_SIGNALS})  # the first stop wins
        raise KeyboardInterrupt(signal.Signals(signum).name)
    old = _set({s: stop for s in STOP_SIGNALS if signal.getsignal(s) is not signal.SIG_IGN})
    try:
        yield
    finally:
        _set(old)


@contextlib.contextmanager
def shielded():
    """Within: Ctrl-C, SIGTERM and SIGHUP are ignored, e.g. while a picture and its sidecar are
    written, so a second Ctrl-C cannot lose the picture. Not in the paper, nor in a notebook."""
    old = _set({s: signal.SIG_IGN for s in STOP_SIGNALS})
    try:
        yield
    finally:
        _set(old)


def ignore_from_now() -> None:
    """Ignore Ctrl-C, SIGTERM and SIGHUP from here on: a command whose work is written exits with
    its own status, not killed by a signal while Python shuts down (which gives signals back their
    default action, and TensorFlow takes a while to unload). Not in the paper, nor in a notebook."""
    _set({s: signal.SIG_IGN for s in STOP_SIGNALS})
