"""The errors styletf raises on purpose.

Every message names the problem and the fix in one line, so the command line
can print it as is (exit status 2) and a notebook user can act on it without
reading a traceback from inside TensorFlow.
"""


class StyleTFError(Exception):
    """Base class of the errors that styletf raises deliberately."""


class InputError(StyleTFError, ValueError):
    """A bad argument or input image: the message says what is wrong and what to do."""


class DataError(StyleTFError, OSError):
    """An image or weights file that cannot be had or does not match its sha256."""
