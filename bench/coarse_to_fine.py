"""Coarse-to-fine against a direct run at the same size, given the same wall time.

Objective: the paper's Figure 2 (Neckarfront + The Starry Night, content conv4_2, style
conv1_1..conv5_1, alpha/beta = 1e-3 on the normalised network, average pooling), white-noise
start (seed 0), as bench/time_to_loss.py.
  c2f:    styletf.coarse_to_fine over --sizes with --steps iterations per stage;
  direct: styletf.synthesize at the last size from white noise, same optimiser, for as long
          as c2f took in all (or until it reaches c2f's final loss, if sooner).
Both losses are measured at the last size. Prints one line per run, when the direct run
reached c2f's loss after c2f's first step at the last size (the upsampled start, refined
once), a Markdown table, and the peak resident memory of the process (both runs).

    python bench/coarse_to_fine.py --sizes 256,512,1024 --steps 200,60,15
"""
import argparse
import resource
import time

import styletf
from styletf.benchmark import machine


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="256,512,1024", help="long sides of the stages, px")
    p.add_argument("--steps", default="200,60,15", help="iterations per stage")
    p.add_argument("--optimizer", default="lbfgs", choices=["lbfgs", "adam"])
    p.add_argument("--backbone", default="vgg16-hed")
    p.add_argument("--network", default="auto", choices=["auto", "mean", "calibrated", "raw"],
                   help="auto: what `stylize` uses (the calibrated network on the stand-in)")
    p.add_argument("--save", help="folder to save both images in (c2f.png, direct.png)")
    a = p.parse_args()
    sizes = [int(s) for s in a.sizes.split(",")]
    steps = [int(s) for s in a.steps.split(",")]
    content = styletf.load_image("neckarfront", sizes[-1])
    style = styletf.load_image("starry_night", sizes[-1])
    kw = dict(content=content, style=style, alpha=1.0, beta=1e3, network=a.network, seed=0,
              backbone=a.backbone, optimizer=a.optimizer, progress=False)

    t = time.perf_counter()
    c2f = styletf.coarse_to_fine(sizes=sizes, steps=steps, **kw)
    c2f_s = time.perf_counter() - t
    c2f_loss = float(c2f.final["total"][0])
    print(f"c2f     {c2f.steps_done} steps {c2f.extra['stages']} (long side, steps, s): "
          f"{c2f_s:.1f} s, loss {c2f_loss:.4g} ({_terms(c2f)})", flush=True)

    marks, losses = [], []
    t = time.perf_counter()

    def callback(i, x, terms):
        marks.append(time.perf_counter() - t)
        losses.append(float(terms["total"][0]))
        return losses[-1] <= c2f_loss or marks[-1] >= c2f_s

    direct = styletf.synthesize(size=sizes[-1], steps=100000, callback=callback, **kw)
    direct_s = time.perf_counter() - t
    print(f"direct  {direct.steps_done} steps: {direct_s:.1f} s, loss {losses[-1]:.4g}"
          + f" ({_terms(direct)})"
          + ("" if losses[-1] <= c2f_loss else " (did not reach c2f's loss in c2f's time)"), flush=True)
    if a.save:
        for name, r in (("c2f", c2f), ("direct", direct)):
            styletf.save_image(r.image, f"{a.save}/{name}.png")
    first = float(c2f.history["total"][sum(n for _, n, _ in c2f.extra["stages"][:-1])][0])
    when = next((m for m, v in zip(marks, losses) if v <= first), None)
    print(f"c2f's loss after its first step at {sizes[-1]} px: {first:.4g}; the direct run got there "
          + (f"after {when:.1f} s" if when is not None else "never in its time"))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"machine: {machine()}, TensorFlow {__import__('tensorflow').__version__}, backbone {a.backbone}, "
          f"{a.network} network, optimizer {a.optimizer}, output {tuple(content.shape[1:3])} px, peak RSS {rss:.0f} MiB")
    print("| run | steps | seconds | loss at the last size |\n|---|---|---|---|")
    print(f"| coarse-to-fine {a.sizes} ({a.steps}) | {c2f.steps_done} | {c2f_s:.0f} | {c2f_loss:.4g} |")
    print(f"| direct at {sizes[-1]} px | {direct.steps_done} | {direct_s:.0f} | {losses[-1]:.4g} |")


def _terms(result):
    return ", ".join(f"{k} {float(v[0]):.3g}" for k, v in result.final.items() if k in ("content", "style"))


if __name__ == "__main__":
    main()
