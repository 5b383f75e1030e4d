"""Stopping a command-line run without losing it: SIGTERM and SIGHUP act as Ctrl-C does (the
picture so far is written), and no signal can cut the writing of a picture and its sidecar.
Not in the paper (README, "Stylise your own photo": exit status 130).
"""
from __future__ import annotations

import contextlib
import signal
import threading

__all__ = ["stop_signals_interrupt", "shielded"]

STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


def _set(handlers: dict) -> dict:
    """Install {signal: handler}; returns the handlers before. Only the main thread may: elsewhere
    nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {s: signal.signal(s, handler) for s, handler in handlers.items()}


@contextlib.contextmanager
def stop_signals_interrupt():
    """Within: SIGTERM and SIGHUP (a closed terminal, a cancelled job) raise KeyboardInterrupt, so
    a synthesis stops as on Ctrl-C and keeps its picture. Not in the paper, nor in a notebook."""
    def stop(signum, frame):
        raise KeyboardInterrupt(signal.Signals(signum).name)
    old = _set({s: stop for s in STOP_SIGNALS if s != signal.SIGINT})
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
