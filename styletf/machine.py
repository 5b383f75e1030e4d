"""This machine, as the same-bytes promise needs it (README, "Reproducible"): what a run's bytes
depend on besides its settings, and the speed choices measured here, kept so they never flip.

``precision="auto"``, ``jit="auto"`` and the convolutions' route are measured (``styletf.speed``).
Measured afresh in every process, a busy moment could tip one of them, and the same command would
make another picture: three identical commands started together did. So each choice is measured
once per machine and kept on disk (``decided``); processes that measure at the same moment agree
on the first one written. The key holds what the choice depends on: the CPU and its flags, the
cores this process may use, TensorFlow's version and the environment variables that steer
oneDNN and the thread pools. The number of threads also changes the order of the sums, hence the
bytes: ``threads()`` is recorded in every result and the sidecar's command pins it.
Not in the paper, nor in a notebook.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile

import tensorflow as tf

from .data import cache_dir
from .errors import InputError

__all__ = ["threads", "check_thread_variables", "key", "decided", "all_decided", "THREAD_VARIABLES", "DECISIONS"]

#: What sets TensorFlow's thread pools from outside (TF_NUM_INTRAOP_THREADS: the sums' order).
THREAD_VARIABLES = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS")


#: The most threads of each kind TensorFlow is given from outside (100000 hung a run, creating them).
MAX_THREADS = 1024


def check_thread_variables() -> None:
    """TF_NUM_INTRAOP_THREADS and TF_NUM_INTEROP_THREADS, where set, are whole numbers from 1 to
    ``MAX_THREADS``: TensorFlow reads them at its first operation and aborts with a C++ stack at -1
    (or hangs creating 100000 threads). Checked at ``import styletf``, before any operation."""
    for name in THREAD_VARIABLES[:2]:
        value = os.environ.get(name, "").strip()
        if value and not (value.isascii() and value.isdigit() and 1 <= int(value) <= MAX_THREADS):
            raise InputError(f"{name}={value}: TensorFlow's threads must be a whole number from 1 to {MAX_THREADS} "
                             f"(unset: one per core); set it so, or unset it")


def threads() -> int:
    """The threads TensorFlow's operations run on in this process: TF_NUM_INTRAOP_THREADS where
    set, else the cores this process may use (its CPU affinity: ``taskset``, a container's cpuset)."""
    configured = tf.config.threading.get_intra_op_parallelism_threads()
    given = os.environ.get("TF_NUM_INTRAOP_THREADS", "")
    if configured:
        return configured
    if given.isdigit() and int(given) > 0:
        return int(given)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def key() -> str:
    """A short hash of what a measured speed choice depends on here (module doc)."""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = sorted({line for line in f if line.startswith(("model name", "flags", "vendor_id"))})
    except OSError:
        cpu = [os.uname().machine]
    env = [f"{k}={os.environ.get(k, '')}" for k in THREAD_VARIABLES + ("ONEDNN_MAX_CPU_ISA", "TF_ENABLE_ONEDNN_OPTS")]
    gpus = [d.name for d in tf.config.list_physical_devices("GPU")]
    text = "\n".join(cpu + env + gpus + [tf.__version__, f"threads={threads()}"])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


#: The choices measured once per machine (``styletf.speed``).
DECISIONS = ("bfloat16", "transposed-conv", "xla")


def all_decided() -> bool:
    """Whether every measured choice is kept for this machine already (the first run measures them:
    more memory and address space, ``styletf.memory``)."""
    folder, here = cache_dir().parent / "speed", key()
    return all(_read(folder / f"{name}-{here}.json") is not None for name in DECISIONS)


def decided(name: str, measure) -> bool:
    """The choice ``name`` as first measured on this machine (``measure()`` -> bool, run only where
    none is kept): kept in the cache folder, the first process to write it wins, every later one
    reads it. Where the cache cannot be written, this process's own measurement stands."""
    folder = cache_dir().parent / "speed"
    path = folder / f"{name}-{key()}.json"
    kept = _read(path)
    if kept is not None:
        return kept
    faster = bool(measure())
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=folder, suffix=".tmp", delete=False) as f:
            json.dump({"faster": faster}, f)
        try:
            os.link(f.name, path)  # atomic, and refused where another process was first
        finally:
            os.unlink(f.name)
    except FileExistsError:
        pass
    except OSError:
        return faster
    kept = _read(path)
    return faster if kept is None else kept


def _read(path):
    try:
        value = json.loads(path.read_text()).get("faster")
    except (OSError, ValueError, AttributeError):
        return None
    return value if isinstance(value, bool) else None
