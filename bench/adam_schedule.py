"""Adam at a constant step size against styletf's schedule (optimize.adam_schedule): the jumps.

Objective: the paper's Figure 2 (Neckarfront + The Starry Night, content conv4_2, style
conv1_1..conv5_1, alpha/beta = 1e-3 on the normalised network, average pooling), white-noise
start (seed 0), as bench/time_to_loss.py; --steps Adam steps at learning rate --lr:
  constant: keras.optimizers.Adam(lr), the step size of every step the same;
  schedule: styletf's optimizer="adam", lr for the first half, then a half cosine to 2 % of it.
Prints, per run, how many steps had a loss above 1.5x and 2x the lowest loss reached before them
(a jump), the largest jump, the final and the lowest loss. --save FILE: a JPEG of four pictures
(constant: 40 steps before its largest jump, at the jump, at the end; schedule: at the end).

    python bench/adam_schedule.py --size 256 --steps 1000 --save docs/figures/adam_jumps_standin.jpg
"""
import argparse

import styletf  # first: it quiets TensorFlow's start-up lines (styletf.quiet)

import keras
import matplotlib
import numpy as np

from styletf.benchmark import machine

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the non-interactive backend)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--backbone", default="vgg16-hed")
    p.add_argument("--save", help="JPEG file for the four pictures")
    a = p.parse_args()
    content = styletf.load_image("neckarfront", a.size)
    style = styletf.load_image("starry_night", a.size)
    kw = dict(content=content, style=style, alpha=1.0, beta=1e3, network="auto", seed=0, backbone=a.backbone,
              progress=False, steps=a.steps, learning_rate=a.lr)
    runs = {}
    for name, optimizer in [("constant", keras.optimizers.Adam(a.lr)), ("schedule", "adam")]:
        frames = []  # (H, W, 3) after each step
        r = styletf.synthesize(optimizer=optimizer, callback=lambda i, x, losses: frames.append(x.numpy()[0]) and False,
                               **kw)
        loss = r.history["total"][:, 0]  # (steps,), at the start of each step
        before = np.minimum.accumulate(loss)
        jumps = loss / before
        worst = int(np.argmax(jumps))
        runs[name] = (frames, worst)
        print(f"{name:9} steps above 1.5x / 2x the lowest loss before them: {int((jumps > 1.5).sum())} / "
              f"{int((jumps > 2).sum())}; largest jump {jumps[worst]:.1f}x at step {worst}; "
              f"final {r.final['total'][0]:.4g}, lowest {loss.min():.4g}", flush=True)
    print(f"machine: {machine()}, backbone {a.backbone}, {tuple(content.shape[1:3])} px, lr {a.lr}, {a.steps} steps")
    if a.save:
        frames, worst = runs["constant"]
        shown = [(frames[max(worst - 41, 0)], f"constant step size: step {max(worst - 40, 1)}"),
                 (frames[worst - 1], f"step {worst}: a jump"),
                 (frames[-1], f"step {a.steps}: the end"),
                 (runs["schedule"][0][-1], f"styletf's schedule: step {a.steps}")]
        fig, axes = plt.subplots(1, 4, figsize=(16, 3.6))
        for ax, (image, title) in zip(axes, shown):
            ax.imshow(np.clip(image, 0, 1))
            ax.set_title(title, fontsize=11)
            ax.axis("off")
        fig.suptitle(f"Adam at lr {a.lr}, Figure 2's objective, offline stand-in ({a.backbone}), not ImageNet VGG19",
                     fontsize=10)
        fig.tight_layout()
        fig.savefig(a.save, dpi=80, pil_kwargs={"quality": 85})
        print(f"saved {a.save}")


if __name__ == "__main__":
    main()
