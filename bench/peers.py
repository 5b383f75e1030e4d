"""Our step beside its peers, in one sitting (issue 15): ``python -m styletf bench`` with XLA off
and on, the TensorFlow tutorial's step (``--reference``), the same step in PyTorch
(``bench/torch_step.py``, when a Python with torch is given) and the practical limit of this CPU
(the step's FLOPs over what a large float32 matmul reaches here).

    python bench/peers.py --rounds 3 --steps 10 [--torch-python /tmp/torch/bin/python]

Each command runs in its own process, in turn (A B C D, A B C D, ...), so a drift of the
machine's speed touches all of them alike; the table gives each one's median ms per step over
the rounds and its ratio to ours. Every number printed goes into bench/RESULTS.md with the
machine line printed first.
"""
from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# VGG19 to conv5_1: (in channels, out channels, pooling steps before the layer)
_CONVS = [(3, 64, 0), (64, 64, 0), (64, 128, 1), (128, 128, 1), (128, 256, 2), (256, 256, 2),
          (256, 256, 2), (256, 256, 2), (256, 512, 3), (512, 512, 3), (512, 512, 3), (512, 512, 3),
          (512, 512, 4)]


def step_gflop(height: int, width: int) -> float:
    """FLOPs of one step: the forward convolutions to conv5_1, and as many again for the gradient
    with respect to the input (the weights are frozen, so no weight gradients)."""
    forward = sum(2 * 9 * cin * cout * (height >> p) * (width >> p) for cin, cout, p in _CONVS)
    return 2 * forward / 1e9


def matmul_gflops(n: int = 2048, repeats: int = 10) -> float:
    """Best GFLOP/s of an n x n float32 matmul in TensorFlow on this machine."""
    import tensorflow as tf
    a = tf.random.normal((n, n))
    b = tf.random.normal((n, n))
    (a @ b).numpy()
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        (a @ b).numpy()
        best = min(best, time.perf_counter() - t)
    return 2 * n ** 3 / best / 1e9


def ms_per_step(command: list[str]) -> float:
    out = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    found = re.findall(r"ms_per_step=([0-9.]+)", out.stdout)
    if out.returncode or not found:
        raise SystemExit(f"{' '.join(command)} failed:\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
    return float(found[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--torch-python", help="a Python that has torch installed")
    args = p.parse_args()
    from styletf.benchmark import machine
    ours = [sys.executable, "-m", "styletf", "bench", "--size", str(args.size), "--steps", str(args.steps),
            "--backbone", "random", "--precision", "float32"]
    height, width = args.size * 3 // 4, args.size  # the Neckarfront's shape, as bench loads it
    commands = {"styletf, XLA off": ours + ["--jit", "off"], "styletf, XLA on": ours + ["--jit", "on"],
                "TF tutorial's step": ours + ["--reference"]}
    if args.torch_python:
        commands["PyTorch (bench/torch_step.py)"] = [args.torch_python, "bench/torch_step.py", "--height",
                                                     str(height), "--width", str(width), "--steps", str(args.steps)]
    print(f"machine: {machine()}; {height}x{width} px, {args.steps} timed steps a run, {args.rounds} rounds")
    times = {name: [] for name in commands}
    for r in range(args.rounds):
        for name, command in commands.items():
            times[name].append(ms_per_step(command))
            print(f"  round {r + 1}: {name}: {times[name][-1]:.0f} ms", flush=True)
    gflop = step_gflop(height, width)
    rate = matmul_gflops()
    base = statistics.median(times["styletf, XLA off"])
    print("\n| step | median ms per step | range | relative to styletf, XLA off |\n|---|---|---|---|")
    for name, values in times.items():
        m = statistics.median(values)
        print(f"| {name} | {m:.0f} | {min(values):.0f}-{max(values):.0f} | {m / base:.2f} |")
    limit = 1000 * gflop / rate
    print(f"| practical limit: {gflop:.1f} GFLOP at {rate:.0f} GFLOP/s (2048² float32 matmul) | {limit:.0f} | | "
          f"{limit / base:.2f} |")


if __name__ == "__main__":
    main()
