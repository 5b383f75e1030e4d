"""The errors styletf raises on purpose, and the checks of arguments that many functions share:
numbers, paths (``~user``), lists, dicts and names.

Every message names the problem and the fix in one line, so the command line
can print it as is (exit status 2) and a notebook user can act on it without
reading a traceback from inside TensorFlow.
"""
from __future__ import annotations

import math
import os
import sys
from pathlib import Path

import numpy as np


class StyleTFError(Exception):
    """Base class of the errors that styletf raises deliberately (not in the paper; no notebook
    raises one on purpose)."""


class InputError(StyleTFError, ValueError):
    """A bad argument or input image: the message says what is wrong and what to do (not in the
    paper; no notebook raises one on purpose)."""


class DataError(StyleTFError, OSError):
    """An image or weights file that cannot be had or does not match its sha256 (docs/method.md,
    "Images"; notebook 00 fetches the first image)."""


def check_number(name, value, *, positive=False, integer=False, maximum=1e30, minimum=None):
    """A scalar setting (steps, alpha, ...) checked: a finite number, >= 0 (> 0 if ``positive``),
    at most ``maximum`` (and at least ``minimum``: what float32 and the machine can hold), whole
    if ``integer``; returned as int or float. The message names the usable range. Not in the
    paper; every notebook's settings pass through it (notebook 01 first)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InputError(f"{name} must be a number, got {value!r}")
    shown = value if abs(value) < 1e15 or not isinstance(value, (int, np.integer)) else f"a {len(str(value))}-digit number"
    low = minimum if minimum is not None else 0
    fmt = lambda x: str(x) if isinstance(x, int) else f"{x:g}"  # noqa: E731
    span = (f"greater than 0 and at most {fmt(maximum)}" if positive and minimum is None
            else f"from {fmt(low)} to {fmt(maximum)}")
    if isinstance(value, (float, np.floating)) and not math.isfinite(value):
        raise InputError(f"{name} must be a finite number {span}, got {value!r}")
    if value > maximum or value < low or (positive and value == 0):
        raise InputError(f"{name} must be {span}, got {shown}")
    if integer and value != int(value):
        raise InputError(f"{name} must be a whole number, got {value!r}")
    return int(value) if integer else float(value)


#: The usable range of each number setting, by its Python name: one table for every door
#: (``synthesize``, ``coarse_to_fine``, ``stylize`` and the command's options), each range said once.
RANGES = {
    "size": dict(positive=True, integer=True, maximum=65536),  # a long side in px (Pillow and memory limit far earlier)
    "steps": dict(positive=True, integer=True, maximum=10**7),
    "snapshot_every": dict(positive=True, integer=True, maximum=10**7),
    "stop_after": dict(positive=True, integer=True, maximum=10**7),
    "seed": dict(integer=True, maximum=2**32 - 1),  # NumPy's and TensorFlow's seeds
    "alpha_beta": dict(minimum=1e-12, maximum=1e12),
    "style_scale": dict(minimum=0.01, maximum=100),
    "tv_weight": dict(maximum=1e12),
    "learning_rate": dict(positive=True, maximum=1e3),
}


def check_setting(name: str, value, label: str | None = None):
    """``check_number`` with the range ``RANGES`` gives ``name``; ``label`` names the value in the
    message where the user typed another name (an option: ``--alpha-beta``). Not in the paper;
    every notebook's settings pass through it (notebook 01 first)."""
    return check_number(label or name, value, **RANGES[name])


def outside_stacklevel() -> int:
    """The ``stacklevel`` that makes a ``warnings.warn`` issued by the calling function name the
    first line outside styletf - the user's - instead of a line of the library. Not in the paper;
    notebook 00's backbone warning is the first."""
    package = os.path.dirname(os.path.abspath(__file__))
    frame, level = sys._getframe(1), 1  # the function that warns: stacklevel 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package + os.sep):
        frame, level = frame.f_back, level + 1
    return level


def check_path(name, value):
    """A file or folder argument: a ``str`` or ``os.PathLike``, returned as a ``Path``. Not in the
    paper; ``save_image`` and ``SynthesisResult.save`` first (notebook 01)."""
    if isinstance(value, (bytes, bytearray)):
        value = os.fsdecode(bytes(value))
    if not isinstance(value, (str, os.PathLike)) or not str(value):
        raise InputError(f"{name} must be a file path (a str or pathlib.Path), got {value!r}")
    return Path(value)


def check_mapping(name, value, *, example="{'conv1_1': ...}") -> dict:
    """A dict argument (layer -> tensor, label -> history, ...), not empty. Not in the paper;
    ``style_loss`` and ``plot_losses`` (notebooks 00, 01)."""
    if not isinstance(value, dict) or not value:
        raise InputError(f"{name} must be a non-empty dict like {example}, got {_short(value)}")
    return value


def check_sequence(name, value, *, length=None, allow_none=False, what="") -> list | None:
    """A list argument (titles, images, ...), of ``length`` items if given; a str or a dict is not
    a sequence here. Not in the paper; ``show_images`` (notebook 00)."""
    if value is None and allow_none:
        return None
    if isinstance(value, (str, bytes, dict)) or not hasattr(value, "__len__") or not hasattr(value, "__iter__"):
        raise InputError(f"{name} must be a list{' ' + what if what else ''}, got {_short(value)}")
    items = list(value)
    if length is not None and len(items) != length:
        raise InputError(f"{name} must have {length} value(s){' ' + what if what else ''}, got {len(items)}")
    return items


def check_text(name, value, *, choices=None) -> str:
    """A str argument, one of ``choices`` if given (the message lists them). Not in the paper;
    ``plot_losses``'s key, ``data.info`` (notebooks 00, 01)."""
    if not isinstance(value, str) or (choices is not None and value not in choices):
        allowed = f"one of {', '.join(map(repr, choices))}" if choices is not None else "a str"
        raise InputError(f"{name} must be {allowed}, got {_short(value)}")
    return value


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"a {type(value).__name__}"


def user_path(value, name: str) -> Path:
    """``Path(value).expanduser()``, or an InputError naming ``name`` when ``~user`` has no home
    folder or the path holds a NUL byte. Not in the paper, nor in a notebook: every path a user
    gives (README, "Stylise your own photo")."""
    text = os.fspath(value)
    if "\0" in str(text):
        raise InputError(f"{name} {str(text)!r:.60} holds a NUL byte; give a plain path")
    try:
        return Path(text).expanduser()
    except RuntimeError:  # "~nobody/x": no such user, or no home folder
        raise InputError(f"{name} {text}: cannot tell whose home folder {str(text).split('/')[0]} is; "
                         f"give the full path") from None


def check_images(name, value) -> np.ndarray:
    """Images (B, H, W, 3) or (H, W, 3) with finite values -> float32 (B, H, W, 3), or an InputError
    naming ``name``. Not in the paper; the colour controls and the picture checks (notebooks 03, 05)."""
    try:
        a = np.asarray(value, dtype=np.float32)
    except (ValueError, TypeError, OverflowError):
        raise InputError(f"{name} must be an image array of shape (B, H, W, 3), got {type(value).__name__}") from None
    a = a[None] if a.ndim == 3 else a
    if a.ndim != 4 or a.shape[-1] != 3 or 0 in a.shape:
        raise InputError(f"{name} must be an image array of shape (B, H, W, 3), got {a.shape}")
    if not np.all(np.isfinite(a)):
        raise InputError(f"{name} has NaN or infinite values")
    return a
