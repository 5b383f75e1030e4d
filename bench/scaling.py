"""Time per step and peak memory against image size.

Each size runs `python -m styletf bench` in a fresh process, so its peak resident
memory is its own. Prints a Markdown table (and the per-pixel cost, which stays
flat if the time grows linearly with the number of pixels).

    python bench/scaling.py --sizes 128,256,512,1024 --steps 3 --backbone random
"""
import argparse
import re
import subprocess
import sys


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="128,256,512,1024")
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--backbone", default="random")
    p.add_argument("--precision", default="float32")
    a = p.parse_args()
    print(f"| size (px) | pixels | ms/step | µs/step per pixel | peak RSS (MiB) |  "
          f"backbone {a.backbone}, {a.precision}, {a.steps} timed steps")
    print("|---|---|---|---|---|")
    for size in [int(s) for s in a.sizes.split(",")]:
        out = subprocess.run([sys.executable, "-m", "styletf", "bench", "--size", str(size), "--steps",
                              str(a.steps), "--backbone", a.backbone, "--precision", a.precision],
                             capture_output=True, text=True)
        if out.returncode:
            print(f"| {size} | failed: {out.stderr.strip().splitlines()[-1]} |||", flush=True)
            continue
        ms = float(re.search(r"ms_per_step=([\d.]+)", out.stdout).group(1))
        rss = float(re.search(r"peak resident memory of this process: ([\d.]+) MiB", out.stdout).group(1))
        shape = re.search(r"\((\d+), (\d+)\) px", out.stdout)
        pixels = int(shape.group(1)) * int(shape.group(2))
        print(f"| {size} | {pixels} | {ms:.0f} | {1000 * ms / pixels:.2f} | {rss:.0f} |", flush=True)


if __name__ == "__main__":
    main()
