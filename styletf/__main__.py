"""``python -m styletf``: the command line, ``styletf.cli`` (stylize, reproduce, bench)."""
import signal
import sys
import warnings

from .cli import main
from .interrupts import ignore_from_now
from .quiet import interrupted_at_start

if __name__ == "__main__":
    if signal.getsignal(signal.SIGINT) is interrupted_at_start:  # start-up is over (styletf.quiet)
        signal.signal(signal.SIGINT, signal.default_int_handler)
    warnings.formatwarning = lambda message, *_, **__: f"warning: {message}\n"  # one line, no source
    status = main()
    ignore_from_now()  # the work is written: no signal may turn the exit status into a kill while Python unloads
    sys.exit(status)
