"""Stopping a command-line run without losing it: SIGTERM and SIGHUP act as Ctrl-C does (the
picture so far is written), no signal can cut the writing of a picture and its sidecar, and a
reader that goes away (a pager quit early, a closed terminal) only silences the run.
Not in the paper (README, "Stylise your own photo": exit status 130).
"""
from __future__ import annotations

import contextlib
import errno
import os
import signal
import sys
import threading

__all__ = ["stop_signals_interrupt", "deferred", "steps", "pending", "shielded", "ignore_from_now", "readers_may_leave"]

STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))
#: ``deferred``'s state: whether a stop is held rather than raised here, and the stop held (its signal's name).
_STOP = {"defer": False, "pending": None}


def _later(signum, frame) -> None:
    """A stop signal after the first: nothing to do. A Python handler, not SIG_IGN, so that a signal
    that arrived while the first was handled finds one (with SIG_IGN in place by then, Python
    raises "OSError: Signal 15 ignored due to race condition")."""


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
        _set({s: _later for s in old})  # the first stop wins; the ones ignored before stay so
        if _STOP["defer"]:  # between steps (``deferred``): held until the next step, or the run's end
            _STOP["pending"] = signal.Signals(signum).name
            return
        raise KeyboardInterrupt(signal.Signals(signum).name)
    _STOP.update(defer=False, pending=None)
    old = _set({s: stop for s in STOP_SIGNALS if signal.getsignal(s) is not signal.SIG_IGN})
    try:
        yield
    finally:
        _set(old)
        _STOP.update(defer=False, pending=None)


@contextlib.contextmanager
def deferred():
    """Within (a whole synthesis): a stop is held, not raised, except inside ``steps``, where a picture
    is kept whenever it comes. Between steps - a result being made, the next coarse-to-fine stage being
    set up - a KeyboardInterrupt would lose the finished picture; held, it ends the next steps at
    their start, or the caller reads it (``pending``) after the run: 0.1-1 s windows, found by a
    new user's test. Not in the paper, nor in a notebook."""
    before, _STOP["defer"] = _STOP["defer"], True
    try:
        yield
    finally:
        _STOP["defer"] = before


@contextlib.contextmanager
def steps():
    """Within (an optimiser's steps): a stop raises KeyboardInterrupt at once; one held before raises
    on entry. Not in the paper, nor in a notebook."""
    if _STOP["pending"]:
        raise KeyboardInterrupt(_STOP["pending"])
    before, _STOP["defer"] = _STOP["defer"], False
    try:
        yield
    finally:
        _STOP["defer"] = before


def pending() -> str | None:
    """The stop held by ``deferred`` (its signal's name), or None. Not in the paper, nor in a notebook."""
    return _STOP["pending"]


@contextlib.contextmanager
def shielded():
    """Within: Ctrl-C, SIGTERM and SIGHUP are ignored, e.g. while a picture and its sidecar are
    written, so a second Ctrl-C cannot lose the picture. Not in the paper, nor in a notebook."""
    old = _set({s: _later for s in STOP_SIGNALS})
    try:
        yield
    finally:
        _set(old)


def ignore_from_now() -> None:
    """Ignore Ctrl-C, SIGTERM and SIGHUP from here on: a command whose work is written exits with
    its own status, not killed by a signal while Python shuts down (which gives signals back their
    default action, and TensorFlow takes a while to unload). Not in the paper, nor in a notebook."""
    _set({s: signal.SIG_IGN for s in STOP_SIGNALS})


class _Unread:
    """A text stream whose reader may be gone: a pipe closed (``| head``: EPIPE) or a terminal
    closed (EIO), or that cannot take more (``> /dev/full``, a full disk under ``> log``: ENOSPC).
    The first such write silences it; the run goes on and writes its picture. ``failed``: the
    error of a stream that could not take more (a lost message is an error; a reader leaving is not)."""

    GONE = (errno.EPIPE, errno.EIO)
    FULL = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)

    def __init__(self, stream, name):
        self._stream, self.name, self.gone, self.failed = stream, name, False, None

    def _try(self, call, *args):
        if not self.gone:
            try:
                return call(*args)
            except OSError as e:
                if e.errno not in self.GONE + self.FULL:
                    raise
                self.gone, self.failed = True, e if e.errno in self.FULL else None
        return len(args[0]) if args else None

    def write(self, text):
        return self._try(self._stream.write, text)

    def flush(self):
        return self._try(self._stream.flush)

    def __getattr__(self, name):
        return getattr(self._stream, name)


@contextlib.contextmanager
def readers_may_leave():
    """Within: ``sys.stdout`` and ``sys.stderr`` survive their reader going away (``_Unread``; none at
    all, as under ``2>&-``: a null stream), so that progress and messages never cost the picture,
    and the exit status stays the run's own (0 done, 130 stopped by the closed terminal's SIGHUP).
    Yields a list that holds, after the block, one line per stream that was full (the caller's
    exit status is then 1). Not in the paper, nor in a notebook."""
    old, lost = (sys.stdout, sys.stderr), []
    sys.stdout, sys.stderr = wrapped = tuple(_Unread(s if s is not None else open(os.devnull, "w"), name)
                                             for s, name in zip(old, ("standard output", "standard error")))
    try:
        yield lost
    finally:
        sys.stdout, sys.stderr = old
        for stream in wrapped:  # Python's last flush into a gone reader would fail (exit 120): to nowhere
            if stream.gone:
                with contextlib.suppress(OSError, ValueError, AttributeError):
                    os.dup2(os.open(os.devnull, os.O_WRONLY), stream.fileno())
            if stream.failed:
                lost.append(f"error: could not write to {stream.name} ({stream.failed.strerror}): its messages are lost")
