"""``python -m styletf``: the command line, ``styletf.cli`` (stylize, reproduce, bench)."""
import signal
import sys
import warnings

from .cli import main
from .quiet import interrupted_at_start

if __name__ == "__main__":
    if signal.getsignal(signal.SIGINT) is interrupted_at_start:  # start-up is over (styletf.quiet)
        signal.signal(signal.SIGINT, signal.default_int_handler)
    warnings.formatwarning = lambda message, *_, **__: f"warning: {message}\n"  # one line, no source
    sys.exit(main())
