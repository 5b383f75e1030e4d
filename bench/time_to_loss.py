"""Time-to-loss on the paper's Figure 2 objective: how long each optimiser takes to reach the
loss that the TF tutorial's Adam reaches in its 1000 steps.

Objective: Neckarfront + The Starry Night, content conv4_2, style conv1_1..conv5_1 (w_l = 1/5),
alpha/beta = 1e-3 on the normalised network, average pooling, white-noise start (--seed, 0), the
image in [0, 1] clipped or bounded. Optimisers, same objective and start:
  tutorial: Adam(learning_rate=0.02, beta_1=0.99, epsilon=0.1), the TF tutorial's settings;
  ours:     Adam, our default learning rate and schedule (optimize.adam_schedule) for a run of
            --ours-steps steps (default: the tutorial's --steps), its step size decaying over the
            second half of them;
  ours-auto: the same with precision="auto" and jit="auto" (bfloat16 / XLA where measured faster);
  lbfgs:    SciPy's L-BFGS-B (styletf's optimizer="lbfgs");
  c2f:      coarse-to-fine L-BFGS-B: --c2f-steps iterations at --c2f-size px, upsampled, then
            L-BFGS-B at the full size (styletf.coarse_to_fine). Its time includes the coarse stage.
Each of ours, ours-auto, lbfgs and c2f stops as soon as its total loss is at or below the tutorial's
final loss (or at the end of its run: --ours-steps, --max-steps). Prints one line per optimiser and a
Markdown table row.

    python bench/time_to_loss.py --size 256 --steps 1000
    python bench/time_to_loss.py --only tutorial,ours,ours-auto --ours-steps 600
    python bench/time_to_loss.py --target 7.312e4 --tutorial-seconds 536 --only c2f

--target skips the tutorial run and uses a loss it reached before (recorded in
bench/RESULTS.md, same machine, size and seed); --tutorial-seconds is then its time.
"""
import functools
import time

import styletf  # first: it quiets TensorFlow's start-up lines (styletf.quiet)

import keras

from styletf.backbones import check_name
from styletf.benchmark import machine
from styletf.errors import InputError

import _args

ROWS = ("tutorial", "ours", "ours-auto", "lbfgs", "c2f")


def main():
    parser = _args.parser(__doc__)
    parser.add_argument("--size", type=_args.positive, default=256)
    parser.add_argument("--steps", type=_args.positive, default=1000, help="the tutorial Adam's steps")
    parser.add_argument("--ours-steps", type=_args.positive, help="length of ours' runs (default: --steps)")
    parser.add_argument("--max-steps", type=_args.positive, default=3000, help="cap for lbfgs and c2f")
    parser.add_argument("--backbone", default="vgg16-hed")
    parser.add_argument("--seed", type=int, default=0, help="the white-noise start's seed")
    parser.add_argument("--only", default="tutorial,ours,lbfgs,c2f", help="rows to run, comma-separated "
                        "(also ours-auto: Adam with precision and jit 'auto')",
                        type=functools.partial(_args.names, allowed=ROWS, what="row"))
    parser.add_argument("--c2f-size", type=_args.positive, default=128, help="long side of the coarse stage, px")
    parser.add_argument("--c2f-steps", type=_args.positive, default=150, help="L-BFGS iterations of the coarse stage")
    parser.add_argument("--target", type=float, help="the loss to reach, instead of running the tutorial")
    parser.add_argument("--tutorial-seconds", type=float, help="with --target: the tutorial's time")
    args = parser.parse_args()
    only = args.only
    if (args.target is None) != (args.tutorial_seconds is None) or (args.target is None) != ("tutorial" in only):
        parser.error("give --target and --tutorial-seconds together, and only without the tutorial row")
    if "c2f" in only and args.c2f_size >= args.size:
        parser.error(f"--c2f-size {args.c2f_size} must be below --size {args.size}")
    try:
        check_name(args.backbone, "--backbone")
    except InputError as e:
        parser.error(str(e))

    content = styletf.load_image("neckarfront", args.size)
    style = styletf.load_image("starry_night", args.size)
    kw = dict(content=content, style=style, alpha=1.0, beta=1e3, network="auto", seed=args.seed,
              backbone=args.backbone, progress=False)
    rows = {}

    def timed(name, target=None, run=styletf.synthesize, **run_kw):
        marks = [time.perf_counter()]
        losses = []

        def callback(i, x, terms):  # the target counts at the full size only (c2f's last stage)
            marks.append(time.perf_counter())
            losses.append(float(terms["total"][0]))
            return target is not None and x.shape[1:3] == content.shape[1:3] and losses[-1] <= target

        r = run(callback=callback, **kw, **run_kw)
        reached = target is None or losses[-1] <= target
        rows[name] = (r.steps_done, marks[-1] - marks[0], losses[-1], reached)
        if "stages" in r.extra:
            print(f"{name} stages (long side px, steps, s): {r.extra['stages']}")
        print(f"{name:9} {r.steps_done:5} steps, {marks[-1] - marks[0]:7.1f} s, loss {losses[-1]:.4g}"
              + ("" if reached else "  (did NOT reach the target)"), flush=True)

    if "tutorial" in only:
        tutorial = keras.optimizers.Adam(learning_rate=0.02, beta_1=0.99, epsilon=0.1)
        timed("tutorial", steps=args.steps, optimizer=tutorial)
        target, t0 = rows["tutorial"][2], rows["tutorial"][1]
    else:
        target, t0 = args.target, args.tutorial_seconds
    if "ours" in only:
        timed("ours", target, steps=args.ours_steps or args.steps)
    if "ours-auto" in only:  # and this machine's fastest arithmetic: bfloat16 / XLA where measured faster
        timed("ours-auto", target, steps=args.ours_steps or args.steps, precision="auto", jit="auto")
    if "lbfgs" in only:
        timed("lbfgs", target, steps=args.max_steps, optimizer="lbfgs")
    if "c2f" in only:
        timed("c2f", target, run=styletf.coarse_to_fine, sizes=(args.c2f_size, max(content.shape[1:3])),
              steps=(args.c2f_steps, args.max_steps), optimizer="lbfgs")
    print(f"machine: {machine()}, TensorFlow {__import__('tensorflow').__version__}, backbone {args.backbone}, "
          f"{tuple(content.shape[1:3])} px")
    print("| optimiser | steps | seconds | loss | speed-up vs tutorial |\n|---|---|---|---|---|")
    for name, (steps, seconds, loss, reached) in rows.items():
        print(f"| {name} | {steps} | {seconds:.0f} | {loss:.4g}{'' if reached else ' (not reached)'} | "
              f"{f'{t0 / seconds:.1f}x' if reached else '-'} |")


if __name__ == "__main__":
    main()
