"""Settings for every pytest run, the notebooks' (``--nbval``) included.

No progress bars: nbval reads a kernel's messages only after each cell has finished, and a
long cell's bar updates would overflow the kernel's message queue (about 1000 messages), which
loses the cell's end and fails it with "Timeout of 5 seconds exceeded waiting for output".

In parallel (pytest-xdist, ``-n 2``: the README's test command), each worker and the notebook
kernels it starts share the cores: TensorFlow gets the cores / workers threads each, not every
core each, so that two workers do not run twice as many threads as there are cores. What two
workers buy is the overlap of the unit tests' Python, start-up and tracing; two syntheses at
once take as long as one after the other (bench/RESULTS.md, "The test command's time"). A
notebook is one unit of work, its cells in order in one kernel; the notebooks, the longest
units, are handed out first.
"""
import os

import pytest

os.environ.setdefault("STYLETF_PROGRESS", "0")

_WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0") or 0)
if _WORKERS > 1:
    # the cores this process may use (macOS has no affinity: all of them)
    _cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    _threads = str(max(1, _cores // _WORKERS))
    os.environ.setdefault("TF_NUM_INTRAOP_THREADS", _threads)  # read by TensorFlow at start-up
    os.environ.setdefault("TF_NUM_INTEROP_THREADS", _threads)


def pytest_collection_modifyitems(config, items):
    """The notebooks first (each a single unit of minutes), then the unit tests, which fill the
    workers' ends; within each, the order collected. The same order on every worker."""
    items.sort(key=lambda item: item.path.suffix != ".ipynb")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """Whole files to a worker (a notebook's cells depend on the cells before them), in the
    collected order (xdist would otherwise put the files with the most tests first), whatever
    ``--dist`` asks, except ``each`` (every test on every worker)."""
    from xdist.scheduler import LoadFileScheduling

    if config.getvalue("dist") == "each":
        return None
    config.option.loadscopereorder = False
    return LoadFileScheduling(config, log)
