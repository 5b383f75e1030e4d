"""The errors styletf raises on purpose, and the check of a number that many functions share.

Every message names the problem and the fix in one line, so the command line
can print it as is (exit status 2) and a notebook user can act on it without
reading a traceback from inside TensorFlow.
"""
from __future__ import annotations

import math

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


def check_number(name, value, *, positive=False, integer=False):
    """A scalar setting (steps, alpha, ...) checked: a finite number, >= 0 (> 0 if ``positive``),
    whole if ``integer``; returned as int or float. Not in the paper; every notebook's settings
    pass through it (notebook 01 first)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InputError(f"{name} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise InputError(f"{name} must be finite, got {value!r}")
    if integer and value != int(value):
        raise InputError(f"{name} must be a whole number, got {value!r}")
    if value < 0 or (positive and value == 0):
        raise InputError(f"{name} must be {'> 0' if positive else '>= 0'}, got {value!r}")
    return int(value) if integer else float(value)
