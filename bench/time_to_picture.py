"""Time to a recognisable picture: how long until a Figure 2 panel, from white noise, shows the
photo painted in the painting's colours, judged from outside the network by ``styletf.looks``
(structure >= STRUCTURE_MIN and colours <= PALETTE_MAX; notebook 03).

Objective: Figure 2's (content on the network's default layer, style conv1_1..conv5_1, w_l = 1/5,
the paper's alpha/beta per painting) on the network of ``network="auto"`` (the calibrated stand-in
offline). Runs, each from the same white noise (seed 0):
  default: ``stylize``'s schedule, L-BFGS coarse to fine (``schedule.stages(size)``);
  lbfgs:   L-BFGS-B at the full size only;
  adam:    Adam at the full size, our learning rate;
  tutorial: Adam(0.02, beta_1=0.99, epsilon=0.1), the TF tutorial's settings, full size.
Every --every iterations (and at the end of each stage) the image is judged; the clock excludes
the judging. Prints one line per run and a Markdown table.

    python bench/time_to_picture.py --size 256
    python bench/time_to_picture.py --size 256 --runs default --panels all
    python bench/time_to_picture.py --size 256 --runs default --panels all --precision auto --save DIR
(``--precision auto``: what ``stylize`` runs by default; ``--save``: the final images, to look at.)
"""
import functools
import os
import time

import styletf  # first: it quiets TensorFlow's start-up lines (styletf.quiet)

import keras

from styletf import looks, schedule
from styletf.benchmark import machine
from styletf.speed import PRECISIONS, resolve_precision

import _args

RUNS = ("default", "lbfgs", "adam", "tutorial")
PANELS = {"B": ("shipwreck_of_the_minotaur", 1e-3), "C": ("starry_night", 1e-3), "D": ("the_scream", 1e-3),
          "E": ("femme_nue_assise", 1e-4), "F": ("composition_vii", 1e-4)}


def timed(run, key, ratio, size, every, cap, precision="float32", save=None):
    """(seconds to the first judged-ok image or None, iterations then, seconds in all, last judgement)."""
    photo, painting = styletf.load_image("neckarfront", size), styletf.load_image(key, size)
    state = {"judging": 0.0, "found": None, "i": 0, "last": None}
    start = time.perf_counter()

    def callback(i, x, terms):
        state["i"] += 1
        if state["found"] is None and state["i"] % every == 0:
            t = time.perf_counter()
            elapsed = t - start - state["judging"]  # optimising only, up to this image
            state["last"] = looks.judge(x.numpy()[:1], photo, painting)
            state["judging"] += time.perf_counter() - t
            if state["last"]["ok"]:
                state["found"] = (elapsed, state["i"])
        return state["found"] is not None and run != "default"  # the default schedule runs out

    kw = dict(alpha=1.0, beta=1.0 / ratio, network="auto", seed=0, backbone="vgg16-hed", progress=False,
              callback=callback, precision=precision)
    if run == "default":
        sizes, steps = schedule.stages(size, 100)
        result = styletf.coarse_to_fine("neckarfront", key, sizes=sizes, steps=steps, optimizer="lbfgs", **kw)
    elif run == "lbfgs":
        result = styletf.synthesize("neckarfront", key, size=size, steps=cap, optimizer="lbfgs", **kw)
    else:
        opt = (keras.optimizers.Adam(learning_rate=0.02, beta_1=0.99, epsilon=0.1) if run == "tutorial"
               else "adam")
        result = styletf.synthesize("neckarfront", key, size=size, steps=cap, optimizer=opt, **kw)
    total = time.perf_counter() - start - state["judging"]
    final = looks.judge(result.image.numpy()[:1], photo, painting)
    final["loss"] = float(result.final["total"][0])
    if save:
        styletf.save_image(result.image[0], f"{save}/{run}_{key}_{size}_{result.settings['precision']}.png")
    if state["found"] is None and final["ok"]:
        state["found"] = (total, state["i"])
    return state["found"], total, final


def main():
    parser = _args.parser(__doc__)
    parser.add_argument("--size", type=_args.positive, default=256)
    parser.add_argument("--runs", default="default,lbfgs,adam,tutorial",
                        type=functools.partial(_args.names, allowed=RUNS, what="run"))
    parser.add_argument("--panels", default="C,F", help="letters of Figure 2, or 'all'",
                        type=lambda t: list(PANELS) if t == "all" else _args.names(t, PANELS, "panel"))
    parser.add_argument("--every", type=_args.positive, default=10, help="judge every N iterations")
    parser.add_argument("--cap", type=_args.positive, default=1000, help="iterations at most (single-size runs)")
    parser.add_argument("--save", help="a folder for the final images (made if missing)")
    parser.add_argument("--precision", default="float32", choices=PRECISIONS, help="auto: measured, as stylize's")
    args = parser.parse_args()
    if args.save:  # before the runs: a folder that cannot be made would lose them
        os.makedirs(args.save, exist_ok=True)
    letters = args.panels
    print(machine(), f"precision {args.precision} -> {resolve_precision(args.precision)}")
    rows = []
    for run in args.runs:
        for letter in letters:
            key, ratio = PANELS[letter]
            found, total, final = timed(run, key, ratio, args.size, args.every, args.cap, args.precision,
                                        args.save)
            seen = f"{found[0]:.1f} s ({found[1]} it.)" if found else f"not within {total:.0f} s"
            print(f"{run:9} {letter} {key:26} recognisable {'after ' * bool(found)}{seen}; ran {total:.1f} s; final structure "
                  f"{final['structure']:.2f}, colours {final['palette']:.2f}, loss {final['loss']:.4g}", flush=True)
            rows.append(f"| {run} | {letter} {key} | {seen} | {total:.0f} s | {final['structure']:.2f} / "
                        f"{final['palette']:.2f} |")
    print("\n| run | panel | recognisable after | run time | final structure / colours |\n|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
