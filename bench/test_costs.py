"""Where a test's time goes: process start-up and imports, the network, targets, tracing, steps.

Each piece timed on its own, the way the tests and notebooks meet it (issue 27):

- a new process: ``python -c pass``; ``import tensorflow``; ``import styletf``; the command
  line's whole start-up to its first synthesis (``styletf stylize --steps 1``);
- in one process: building a ``FeatureExtractor`` (the first and a later one), the normalisation
  factors (from the disk cache, and computed), the targets (P^l, A^l), a synthesis's first
  L-BFGS step (tracing) and each later step, at the sizes the tests use.

    python bench/test_costs.py            # 48 and 128 px, stand-in
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

import styletf  # first: it quiets TensorFlow's start-up lines (styletf.quiet)

import numpy as np
import tensorflow as tf

from styletf import normalize, targets, vgg
from styletf.backbones import arch_of, layer_names
from styletf.benchmark import machine


def process(code: str, repeats: int = 3) -> float:
    """Median wall time of a new Python process running ``code``."""
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="48,128")
    parser.add_argument("--backbone", default="vgg16-hed")
    args = parser.parse_args()
    print(f"machine: {machine()}, TensorFlow {tf.__version__}, backbone {args.backbone}")
    print(f"new process, python -c pass:          {process('pass'):6.2f} s")
    print(f"new process, import tensorflow:       {process('import tensorflow'):6.2f} s")
    print(f"new process, import styletf:          {process('import styletf'):6.2f} s")
    with tempfile.TemporaryDirectory() as tmp:
        cmd = (f"import sys; from styletf.cli import main; sys.exit(main(['stylize', 'neckarfront', 'starry_night', "
               f"'-o', {os.path.join(tmp, 'o.png')!r}, '--size', '48', '--steps', '1', '--quiet', "
               f"'--backbone', {args.backbone!r}]))")
        print(f"new process, stylize 48 px, 1 step:   {process(cmd, 2):6.2f} s")
    layers = ["conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1", "conv3_2"]
    first, _ = timed(lambda: vgg.FeatureExtractor(layers, backbone=args.backbone, network="auto"))
    later, ext = timed(lambda: vgg.FeatureExtractor(layers, backbone=args.backbone, network="auto"))
    print(f"FeatureExtractor, first / later:      {first:6.2f} / {later:.2f} s")
    cached, _ = timed(lambda: vgg.normalization_stats.__wrapped__(args.backbone, "avg"))
    convs = [n for n in layer_names(arch_of(args.backbone)) if n.startswith("conv")]
    with tempfile.TemporaryDirectory() as tmp:  # an empty cache: the statistics computed again
        old = os.environ.get("STYLETF_CACHE")
        os.environ["STYLETF_CACHE"] = os.path.join(tmp, "images")
        computed, _ = timed(lambda: normalize.cached_stats(
            args.backbone, "avg", lambda: vgg.FeatureExtractor(convs, backbone=args.backbone)))
        os.environ.pop("STYLETF_CACHE") if old is None else os.environ.__setitem__("STYLETF_CACHE", old)
    print(f"normalisation statistics, disk cache / computed: {cached:.2f} / {computed:.2f} s")
    for size in map(int, args.sizes.split(",")):
        photo = styletf.load_image("neckarfront", size)
        painting = styletf.load_image("starry_night", size)
        t_targets, _ = timed(lambda: targets.compute(ext, photo, [painting], [1.0], ["conv3_2"],
                                                     list(vgg.PAPER_STYLE_LAYERS), photo.shape[1:3]))
        kw = dict(content=photo, style=painting, optimizer="lbfgs", backbone=args.backbone, network="auto",
                  progress=False)
        first = styletf.synthesize(steps=1, **kw)  # traces; later runs of these shapes reuse it
        one = styletf.synthesize(steps=1, seed=1, **kw)
        many = styletf.synthesize(steps=11, seed=2, **kw)
        per_step = (many.wall_time - one.wall_time) / 10
        print(f"{size:4} px: targets {t_targets:.2f} s; L-BFGS: the first run's first step (tracing) "
              f"{first.wall_time - per_step:.2f} s, a later run's {one.wall_time - per_step:.2f} s, "
              f"each later step {per_step * 1000:.0f} ms")
        adam = dict(kw, optimizer="adam")
        styletf.synthesize(steps=1, seed=1, **adam)  # the first Adam run of these shapes
        again, _ = timed(lambda: styletf.synthesize(steps=1, seed=2, **adam))
        print(f"{size:4} px: a later Adam run of one step (its step traced again, once) {again:.2f} s")


if __name__ == "__main__":
    main()
