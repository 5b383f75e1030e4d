"""Settings for every pytest run, the notebooks' (``--nbval``) included.

No progress bars: nbval reads a kernel's messages only after each cell has finished, and a
long cell's bar updates would overflow the kernel's message queue (about 1000 messages), which
loses the cell's end and fails it with "Timeout of 5 seconds exceeded waiting for output".
"""
import os

os.environ.setdefault("STYLETF_PROGRESS", "0")
