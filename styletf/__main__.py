"""``python -m styletf``: the command line, ``styletf.cli`` (stylize, reproduce, bench)."""
import sys
import warnings

from .cli import main

if __name__ == "__main__":
    warnings.formatwarning = lambda message, *_, **__: f"warning: {message}\n"  # one line, no source
    sys.exit(main())
