"""Address space a `stylize` run takes (VmPeak), against what styletf.memory counts for it.

Each case runs `python -m styletf stylize` in a process of its own (the command line's code,
in-process, so that the process's own VmPeak can be read at the end), with the machine's
speed choices already measured ("warm") or not ("first run": a fresh cache). Prints a Markdown
table: the address space after import, the peak, what the run added, and what
styletf.memory.check counts for it (ADDRESS_BASE + ADDRESS_PER_PIXEL, + ADDRESS_MEASURING on a
first run). bench/RESULTS.md, "Under a memory limit".

    python bench/memory_limits.py --sizes 128,352,512 --optimizers lbfgs,adam
    python bench/memory_limits.py --sizes 128 --optimizers lbfgs --threads 2,8,24,64

``--threads`` runs each case with that many TensorFlow threads of each kind (intra-op and
inter-op), where styletf.memory counts ADDRESS_PER_THREAD for each beyond 2.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

from _args import names, parser

CHILD = """
import json, re, sys
def vm(key):
    return int(re.search(rf"{key}:\\s+(\\d+) kB", open("/proc/self/status").read()).group(1)) * 1024
import styletf.cli as cli
loaded = vm("VmSize")
size, optimizer, out = sys.argv[1:4]
rc = cli.main(["stylize", "neckarfront", "the_scream", "-o", out, "--size", size, "--optimizer", optimizer,
               "--steps", "8", "--quiet"])
print(json.dumps({"rc": rc, "loaded": loaded, "peak": vm("VmPeak"), "resident": vm("VmHWM")}))
"""


def main():
    p = parser(__doc__)
    p.add_argument("--sizes", default="128,352,512")
    p.add_argument("--threads", default="", help="TensorFlow threads of each kind, e.g. 2,24 (default: as set)")
    p.add_argument("--optimizers", default="lbfgs,adam", type=lambda t: names(t, ("lbfgs", "adam"), "optimizer"))
    a = p.parse_args()
    from styletf import memory  # after the arguments: --help without TensorFlow
    GiB = 2 ** 30
    print("| threads | size (px) | optimizer | speed choices | after import (GiB) | peak (GiB) | added (GiB) | counted (GiB) |")
    print("|---|---|---|---|---|---|---|---|")
    for threads in [int(t) for t in a.threads.split(",") if t.strip()] or [None]:
        if threads:
            os.environ["TF_NUM_INTRAOP_THREADS"] = os.environ["TF_NUM_INTEROP_THREADS"] = str(threads)
        _cases(a, memory, threads or 2)
    print(f"\nmachine: {os.cpu_count()} cores; {re.sub(' +', ' ', open('/proc/cpuinfo').read().split('model name')[1].split(':')[1].splitlines()[0].strip())}")


def _cases(a, memory, threads):
    GiB = 2 ** 30
    with tempfile.TemporaryDirectory() as scratch:
        warm = os.path.join(scratch, "warm")
        for first in (True, False):
            for size in [int(s) for s in a.sizes.split(",")]:
                for optimizer in a.optimizers:
                    cache = os.path.join(scratch, f"cold-{size}-{optimizer}") if first else warm
                    env = {**os.environ, "STYLETF_CACHE": cache}
                    done = subprocess.run([sys.executable, "-c", CHILD, str(size), optimizer,
                                           os.path.join(scratch, "out.png")], capture_output=True, text=True, env=env)
                    if done.returncode:
                        print(f"| {threads} | {size} | {optimizer} | failed: {done.stderr.strip().splitlines()[-1][:80]} |||||")
                        continue
                    got = json.loads(done.stdout.strip().splitlines()[-1])
                    pixels = size * size * 0.75  # the Neckarfront photo is 4:3
                    counted = (memory.ADDRESS_BASE + (memory.ADDRESS_MEASURING if first else 0)
                               + memory.ADDRESS_PER_THREAD * 2 * max(0, threads - 2)
                               + memory.ADDRESS_PER_PIXEL[optimizer] * pixels)
                    print(f"| {threads} | {size} | {optimizer} | {'first run' if first else 'kept'} | {got['loaded'] / GiB:.2f} | "
                          f"{got['peak'] / GiB:.2f} | {(got['peak'] - got['loaded']) / GiB:.2f} | {counted / GiB:.2f} |",
                          flush=True)
            if first:  # measure once into the warm cache
                subprocess.run([sys.executable, "-c", CHILD, "64", "adam", os.path.join(scratch, "out.png")],
                               capture_output=True, env={**os.environ, "STYLETF_CACHE": warm})


if __name__ == "__main__":
    main()
