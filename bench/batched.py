"""Figure 3 as one batch vs twenty separate runs: wall time at the same size and steps.

The 5 x 4 grid of notebook 04 (rows: style layers conv1_1 .. +conv5_1, columns: alpha/beta
1e-5 .. 1e-2) on Composition VII and the Neckarfront, normalised network, white noise:
once as one batch of 20 (``synthesize(batch=20)``), once one image at a time
(``batch_size=1``: same images, 20 runs one after another, each building its targets and
tracing its step). Prints both times, the ratio and the largest pixel difference. With
``--optimizer lbfgs`` the batch is twenty L-BFGS-B runs in lock-step (``styletf.lockstep``).

    python bench/batched.py --size 64 --steps 50
    python bench/batched.py --size 128 --steps 40 --optimizer lbfgs
"""
import argparse
import time

import styletf  # first: it quiets TensorFlow's start-up lines (styletf.quiet)

import numpy as np
import tensorflow as tf

from styletf.benchmark import machine

ROWS = ["conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"]
RATIOS = [1e-5, 1e-4, 1e-3, 1e-2]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--backbone", default="vgg16-hed")
    parser.add_argument("--optimizer", default="adam", choices=["adam", "lbfgs"])
    args = parser.parse_args()
    grid = [(r, ratio) for r in range(len(ROWS)) for ratio in RATIOS]
    weights = {layer: [1.0 / (r + 1) if k <= r else 0.0 for r, _ in grid] for k, layer in enumerate(ROWS)}
    kw = dict(content=styletf.load_image("neckarfront", args.size),
              style=styletf.load_image("composition_vii", args.size), style_layers=ROWS,
              style_weights=weights, alpha=1.0, beta=[1.0 / ratio for _, ratio in grid], batch=len(grid),
              steps=args.steps, network="auto", backbone=args.backbone, optimizer=args.optimizer,
              progress=False)
    times, images = {}, {}
    for name, extra in (("batched", {}), ("sequential", {"batch_size": 1})):
        t = time.perf_counter()
        images[name] = styletf.synthesize(**kw, **extra).image.numpy()
        times[name] = time.perf_counter() - t
    diff = float(np.abs(images["batched"] - images["sequential"]).max())
    print(f"machine: {machine()}, GPUs: {[g.name for g in tf.config.list_physical_devices('GPU')] or 'none'}, "
          f"TensorFlow {tf.__version__}, backbone {args.backbone}")
    print(f"20 images at {args.size} px, {args.steps} steps of {args.optimizer}: batched {times['batched']:.1f} s, "
          f"sequential {times['sequential']:.1f} s ({times['sequential'] / times['batched']:.2f}x); "
          f"largest pixel difference {diff:.2g}")


if __name__ == "__main__":
    main()
