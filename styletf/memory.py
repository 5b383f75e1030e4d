"""Memory: what a run needs and the limits in force, checked before work; an allocation that fails
anyway told in one line. Not in the paper, nor in a notebook (README, "Exit status" and "Speed").

Three limits can stop a run on a CPU machine, and each is checked: the memory free
(``MemAvailable``), a container's memory (cgroup ``memory.max``), and an address-space limit
(``ulimit -v``, ``RLIMIT_AS``: what SLURM's and SGE's ``h_vmem`` set). The last one counts
address space, not memory used: TensorFlow takes about 1.6 GiB of it on import and a run's
threads, allocators and buffers take more, so a run that would fit in the memory free can fail
under it: TensorFlow reports ``ResourceExhaustedError``, oneDNN ``could not create a memory
object``, or the process dies (SIGSEGV; the default L-BFGS-B run once hung inside OpenBLAS). Only
refusing before work avoids all three: ``check`` does, with the numbers and the size that fits.
"""
from __future__ import annotations

import contextlib
import contextvars
import os
import re
import resource
from pathlib import Path

from .errors import InputError

__all__ = ["check", "checked", "limits", "is_out_of_memory", "oom_message", "BYTES_PER_PIXEL", "BYTES_PER_STYLE_PIXEL",
           "LBFGS_BYTES_PER_PIXEL", "BYTES_PER_INPUT_PIXEL", "ADDRESS_BASE", "ADDRESS_PER_THREAD", "ADDRESS_PER_ARENA", "threads_address", "ADDRESS_PER_PIXEL", "ADDRESS_MEASURING"]

#: Peak memory per output pixel of a synthesis step (float32, to conv5_1, Adam), and per style
#: pixel (the forward pass that takes its targets, before the steps start): measured on the CPU,
#: bench/RESULTS.md, "Scaling with image size" and "A 2048 px output".
BYTES_PER_PIXEL, BYTES_PER_STYLE_PIXEL = 5_000, 2_000
#: L-BFGS-B keeps float64 copies of the image: x, gradient, and 10 pairs of corrections (SciPy's
#: maxcor), 3 channels of 8 bytes each: (2 * 10 + 4) * 24.
LBFGS_BYTES_PER_PIXEL = 576
#: Address space a run adds to the loaded process: a base (threads' stacks and allocator arenas,
#: oneDNN's buffers: 0.75-0.85 GiB measured at 128 px on 2 threads, 1 GiB counted) and per output
#: pixel (Adam 2.2-2.6 kB measured, 2.8 counted; L-BFGS-B 1.8-5.0 kB, growing with the size, 4
#: counted): bench/memory_limits.py, bench/RESULTS.md "Under a memory limit".
ADDRESS_BASE = 2 ** 30
#: TensorFlow's threads beyond the 2 + 2 of that base (intra-op and inter-op, ``threads`` of each):
#: a stack each (8 MiB), and glibc's malloc arenas, one per thread up to MALLOC_ARENA_MAX (default
#: 8 per core), each reserving 64 MiB of address space (72 MiB counted). Measured from 2 to 64
#: threads of each kind on 2 cores: 0.6-0.9 GiB more at 8, 1.5-1.8 GiB at 64; with
#: MALLOC_ARENA_MAX=2, 24 threads took what 2 take (bench/RESULTS.md, "Under a memory limit").
ADDRESS_PER_THREAD, ADDRESS_PER_ARENA = 8 * 2 ** 20, 72 * 2 ** 20
ADDRESS_PER_PIXEL = {"adam": 2_800, "lbfgs": 4_000}
#: A machine's first run also measures its speed choices (``styletf.machine``): 0.66-0.98 GiB more
#: address space measured, 1 GiB counted.
ADDRESS_MEASURING = 2 ** 30
#: An input decoded at its own size, before it is resized: float32 pixels, then TensorFlow's copy
#: and the resize's (3 x 12 bytes per input pixel).
BYTES_PER_INPUT_PIXEL = 36

GiB = 2 ** 30


def _status_bytes(key: str) -> int | None:
    """A size from /proc/self/status (VmSize: the address space this process holds), in bytes."""
    try:
        return int(re.search(rf"^{key}:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.M).group(1)) * 1024
    except (OSError, AttributeError):
        return None


def _cgroup_left() -> int | None:
    """Bytes a container's memory limit still allows (cgroup v2, else v1), None where none is set."""
    for limit, usage in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                         ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        try:
            cap = Path(limit).read_text().strip()
            if cap == "max" or int(cap) >= 2 ** 60:  # v1 writes "no limit" as a huge number
                return None
            return int(cap) - int(Path(usage).read_text())
        except (OSError, ValueError):
            continue
    return None


def limits() -> dict:
    """The limits in force, in bytes, None where there is none: ``free`` (MemAvailable, or the
    container's limit left where that is lower), ``address`` (``ulimit -v``) and ``address_left``
    (that limit less what this process holds)."""
    free = None
    try:
        free = int(re.search(r"MemAvailable:\s+(\d+) kB", Path("/proc/meminfo").read_text()).group(1)) * 1024
    except (OSError, AttributeError):
        try:
            free = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            pass
    cgroup = _cgroup_left()
    if cgroup is not None:
        free = cgroup if free is None else min(free, cgroup)
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    address = None if soft == resource.RLIM_INFINITY else soft
    held = _status_bytes("VmSize")
    left = None if address is None or held is None else address - held
    return {"free": free, "address": address, "address_left": left}


def threads_address(threads: int) -> int:
    """The address space ``threads`` TensorFlow threads of each kind take beyond the base's 2 + 2."""
    arenas = os.environ.get("MALLOC_ARENA_MAX", "").strip()
    most = int(arenas) if arenas.isdigit() and int(arenas) > 0 else 8 * (os.cpu_count() or 1)
    return ADDRESS_PER_THREAD * 2 * max(0, threads - 2) + ADDRESS_PER_ARENA * max(0, min(2 * threads, most) - 4)


def _fits(need_at, budget: int, long_side: int) -> int:
    """The largest long side (a multiple of 32, at least 0) whose need fits in ``budget``."""
    side = long_side
    while side > 32 and need_at(side) > budget:
        side -= 32
    return side if need_at(side) <= budget else 0


_CHECKED = contextvars.ContextVar("styletf_memory_checked", default=False)


@contextlib.contextmanager
def checked():
    """Within: ``check`` passes at once, the run having been checked at an outer door (the command
    line before the backbone loads, ``stylize`` before decoding): a check after the backbone has
    loaded would count its address space twice."""
    token = _CHECKED.set(True)
    try:
        yield
    finally:
        _CHECKED.reset(token)


#: How the fixes are spelt: the command line's options, or the Python arguments of ``stylize``.
SPELLING = {"cli": {"size": "--size ", "scale": "--style-scale ", "tiny": "--size 64 --steps 1"},
            "api": {"size": "size=", "scale": "style_scale=", "tiny": "size=64, steps=1"}}


def check(side: int, style_scale: float, optimizer: str, aspects: dict, gpu: bool = False,
          measuring: bool = False, spelling: str = "cli", threads: int = 2) -> None:
    """Refuse, before any work, a run that cannot fit: the steps at the output's long side
    ``side`` (``aspects["content"]``: its short over long side), the styles' targets, one
    after another, each at its style scale (``aspects["styles"]``), and the largest input
    decoded at its own size (``aspects["decoded"]``, pixels). Against the memory free
    (about 5 kB per output pixel) on a CPU machine, and on any machine against an address-space
    limit (module doc), with TensorFlow's ``threads`` (of each kind); ``measuring``: this run
    measures the machine's speed choices first;
    ``spelling``: the fixes named as options ("cli") or as Python arguments ("api"). ``optimizer``:
    "adam", "lbfgs", or a Keras optimizer (counted as Adam). Raises InputError with the numbers
    and the size that fits."""
    if _CHECKED.get():
        return
    optimizer = "lbfgs" if isinstance(optimizer, str) and optimizer == "lbfgs" else "adam"
    style_side = side * style_scale if style_scale > 0 else side
    widest_style = max(aspects["styles"], default=1.0)
    decoded = BYTES_PER_INPUT_PIXEL * aspects.get("decoded", 0)
    say = SPELLING[spelling]
    scaled = f" with {say['scale']}{style_scale:g}" if style_scale != 1.0 else ""

    def resident(s, inputs=decoded):  # the steps, the widest painting's targets or an input: the largest
        steps = (BYTES_PER_PIXEL + (LBFGS_BYTES_PER_PIXEL if optimizer == "lbfgs" else 0)) * s * s * aspects["content"]
        return max(steps, BYTES_PER_STYLE_PIXEL * (s * style_side / side) ** 2 * widest_style, inputs)

    def address(s, inputs=decoded):
        per = ADDRESS_PER_PIXEL.get(optimizer, ADDRESS_PER_PIXEL["adam"])
        return ADDRESS_BASE + threads_address(threads) + (ADDRESS_MEASURING if measuring else 0) + max(
            per * s * s * aspects["content"], per * (s * style_side / side) ** 2 * widest_style, inputs)

    first_run = (f" (this first run on the machine also measures its speed choices: {ADDRESS_MEASURING / GiB:.0f} "
                 f"GiB of that, once: a run without the limit, e.g. {say['tiny']}, measures them)"
                 if measuring else "")
    have = limits()

    def smaller(need, budget):  # where only the largest input, decoded at its own size, does not fit
        return (f"make the input of {aspects.get('decoded', 0) / 1e6:.0f} megapixels smaller first (decoded at its "
                f"own size it needs {decoded / GiB:.1f} GiB)" if need(side, 0) <= budget else "")

    if have["address_left"] is not None and address(side) > have["address_left"]:
        shrink = smaller(address, have["address_left"])
        fits = 0 if shrink else _fits(address, have["address_left"], side)
        extra = threads_address(threads)
        arenas = "" if os.environ.get("MALLOC_ARENA_MAX") else "MALLOC_ARENA_MAX=2 or "
        many = (f" ({threads} threads of each kind take {extra / GiB:.1f} GiB of it: {arenas}TF_NUM_INTRAOP_THREADS=2 "
                f"TF_NUM_INTEROP_THREADS=2 before the command takes most of that back)" if extra >= GiB / 4 else "")
        at_least = (f"raise the limit (ulimit -v, a job's h_vmem) to at least "
                    f"{(have['address'] - have['address_left'] + address(side)) / GiB:.1f} GiB")
        raise InputError(
            f"a {side} px output{scaled} needs about {address(side) / GiB:.1f} GiB more address space, and the "
            f"address-space limit (ulimit -v: {have['address'] / GiB:.1f} GiB) leaves "
            f"{max(have['address_left'], 0) / GiB:.1f} GiB{first_run}: "
            + (f"use {say['size']}{fits} or less, or raise the limit" if fits else f"{shrink} or {at_least}" if shrink
               else at_least) + many)
    if not gpu and have["free"] is not None and resident(side) > have["free"]:  # a GPU's: TensorFlow tells
        fits = _fits(resident, have["free"], side)
        fix = (f"use a smaller {say['size'].strip(' =')}" + (f" ({fits} fits)" if fits else "")
               + (f" or {say['scale'].strip(' =')}" if scaled else ""))
        raise InputError(f"a {side} px output{scaled} needs about {resident(side) / GiB:.1f} GiB, and "
                         f"{have['free'] / GiB:.1f} GiB are free: " + (smaller(resident, have["free"]) or fix))


#: What an allocation that failed says, in TensorFlow's, oneDNN's and Eigen's words.
_OOM_WORDS = re.compile(r"could not create a (memory object|primitive)|out of memory|OOM when allocating|failed to allocate|"
                        r"bad_alloc|Cannot allocate memory", re.I)


def is_out_of_memory(error: BaseException) -> bool:
    """Whether ``error`` is an allocation that failed: MemoryError, TensorFlow's
    ResourceExhaustedError, or another of its errors in those words (oneDNN's AbortedError)."""
    if isinstance(error, MemoryError) or type(error).__name__ == "ResourceExhaustedError":
        return True
    return type(error).__module__.startswith("tensorflow") and bool(_OOM_WORDS.search(str(error)))


def oom_message(size=None) -> str:
    """One line for an allocation that failed during the work: where, the limit in force, the fix."""
    address = limits()["address"]
    where = f" at {size} px" if size else ""
    limit = f" under the address-space limit (ulimit -v: {address / GiB:.1f} GiB)" if address else ""
    return f"out of memory{where}{limit}; use a smaller --size" + (", or raise the limit" if address else "")
