"""Time-to-loss on the paper's Figure 2 objective: how long each optimiser takes to reach the
loss that the TF tutorial's Adam reaches in its 1000 steps.

Objective: Neckarfront + The Starry Night, content conv4_2, style conv1_1..conv5_1 (w_l = 1/5),
alpha/beta = 1e-3 on the normalised network, average pooling, white-noise start (seed 0), the
image in [0, 1] clipped or bounded. Optimisers, same objective and start:
  tutorial: Adam(learning_rate=0.02, beta_1=0.99, epsilon=0.1), the TF tutorial's settings;
  ours:     Adam, our default learning rate;
  lbfgs:    SciPy's L-BFGS-B (styletf's optimizer="lbfgs").
Each of ours and lbfgs stops as soon as its total loss is at or below the tutorial's final loss
(or after --max-steps). Prints one line per optimiser and a Markdown table row.

    python bench/time_to_loss.py --size 256 --steps 1000
"""
import argparse
import time

import keras

import styletf
from styletf.benchmark import machine


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=1000, help="the tutorial Adam's steps")
    parser.add_argument("--max-steps", type=int, default=3000, help="cap for ours and lbfgs")
    parser.add_argument("--backbone", default="vgg16-hed")
    args = parser.parse_args()

    content = styletf.load_image("neckarfront", args.size)
    style = styletf.load_image("starry_night", args.size)
    kw = dict(content=content, style=style, alpha=1.0, beta=1e3, normalize=True, seed=0,
              backbone=args.backbone, progress=False)
    rows = {}

    def timed(name, target=None, **run_kw):
        marks = [time.perf_counter()]
        losses = []

        def callback(i, x, terms):
            marks.append(time.perf_counter())
            losses.append(float(terms["total"][0]))
            return target is not None and losses[-1] <= target

        r = styletf.synthesize(callback=callback, **kw, **run_kw)
        reached = target is None or losses[-1] <= target
        rows[name] = (r.steps_done, marks[-1] - marks[0], losses[-1], reached)
        print(f"{name:9} {r.steps_done:5} steps, {marks[-1] - marks[0]:7.1f} s, loss {losses[-1]:.4g}"
              + ("" if reached else "  (did NOT reach the target)"), flush=True)

    tutorial = keras.optimizers.Adam(learning_rate=0.02, beta_1=0.99, epsilon=0.1)
    timed("tutorial", steps=args.steps, optimizer=tutorial)
    target = rows["tutorial"][2]
    timed("ours", target, steps=args.max_steps)
    timed("lbfgs", target, steps=args.max_steps, optimizer="lbfgs")
    t0 = rows["tutorial"][1]
    print(f"machine: {machine()}, TensorFlow {__import__('tensorflow').__version__}, backbone {args.backbone}, "
          f"{tuple(content.shape[1:3])} px")
    print("| optimiser | steps | seconds | loss | speed-up vs tutorial |\n|---|---|---|---|---|")
    for name, (steps, seconds, loss, reached) in rows.items():
        print(f"| {name} | {steps} | {seconds:.0f} | {loss:.4g}{'' if reached else ' (not reached)'} | "
              f"{t0 / seconds:.1f}x |")


if __name__ == "__main__":
    main()
