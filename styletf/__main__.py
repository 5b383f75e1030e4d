"""``python -m styletf``: the command line, ``styletf.cli`` (stylize, reproduce, bench)."""
import sys
import warnings

from .cli import main
from .interrupts import ignore_from_now
from .quiet import startup_over

if __name__ == "__main__":
    startup_over()  # Ctrl-C, SIGTERM and SIGHUP as usual again (styletf.quiet)
    warnings.formatwarning = lambda message, *_, **__: f"warning: {message}\n"  # one line, no source
    status = main()
    ignore_from_now()  # the work is written: no signal may turn the exit status into a kill while Python unloads
    sys.exit(status)
