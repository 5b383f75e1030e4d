"""Command line: ``python -m styletf stylize`` paints your photo (``styletf.stylize``);
``python -m styletf reproduce`` re-executes the notebooks and collects the figures;
``python -m styletf bench`` times a synthesis step (``styletf.benchmark``).

Exit status: 0 success, 2 bad usage or input (one line on stderr), 1 failure during the run,
130 interrupted (Ctrl-C).
"""
from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from tqdm.auto import tqdm

from . import benchmark, color, controls, interrupts, preflight, replay, sidecar, watch
from .backbones import StandInWarning, WeightsFileWarning, describe_backbone, resolve_backbone
from .errors import InputError, StyleTFError, check_setting
from .images import file_url_path, save_image
from .reproduce import REPO_NOTEBOOKS, reproduce
from .result import SynthesisInterrupted
from .synthesis import DEFAULT_LEARNING_RATE
from .speed import PRECISIONS, resolve_jit, resolve_precision
from .vgg import PAPER_STYLE_LAYERS, POOLINGS, resolve_network

__all__ = ["main", "stylize", "add_stylize"]


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (exit 2) pointing to --help."""

    def error(self, message):
        self.exit(2, f"error: {message} (see: {self.prog} --help)\n")


def _numbers(kind, what):
    def parse(text):
        try:
            return [kind(v) for v in text.split(",")]
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected comma-separated {what}, got {text!r}") from None
    return parse


_floats, _ints = _numbers(float, "numbers"), _numbers(int, "whole numbers")


def _stages(text):
    return text if text in ("auto", "none") else _ints(text)


def _names(text):
    return [v.strip() for v in text.split(",") if v.strip()]


def add_stylize(sub) -> argparse.ArgumentParser:
    """The ``stylize`` sub-command's options (``python -m styletf stylize --help``): Figure 2's
    transfer (docs/method.md, eq. 7) on your own photo, with the controls of notebook 05."""
    p = sub.add_parser(
        "stylize", help="paint your photo in the style of one or more paintings",
        description="Paint CONTENT in the style of STYLE (several are blended). Writes OUT and a "
                    "sidecar OUT.json with every setting, the backbone, the losses and the time. "
                    "Exit status: 0 done, 2 bad usage or input, 1 failed run, 130 interrupted.")
    p.add_argument("content", help="the photo: a path, URL or catalog key (e.g. neckarfront)")
    p.add_argument("style", nargs="+", help="one or more paintings (paths, URLs or catalog keys)")
    p.add_argument("-o", "--output", required=True, help="output PNG; OUT.json is written beside it")
    p.add_argument("--size", type=int, default=None, help="long side of the output in px (default 512)")
    p.add_argument("--steps", type=_ints, default=None,
                   help="optimiser steps: one number (per stage; the automatic schedule's first, smallest "
                        "stage takes twice it) or one per size (default: 100; without stages 300 for lbfgs, 500 for adam)")
    p.add_argument("--alpha-beta", type=float, default=controls.DEFAULT_ALPHA_BETA,
                   help="content/style weight ratio in the paper's units (default %(default)g; the "
                        "paper uses 1e-3 and 1e-4; larger keeps more of the photo)")
    p.add_argument("--content-layers", type=_names, default=None,
                   help="comma-separated paper layer names (default: conv4_2; conv3_2 on the "
                        "calibrated offline stand-in)")
    p.add_argument("--style-layers", type=_names, default=list(PAPER_STYLE_LAYERS),
                   help="comma-separated (default: conv1_1,conv2_1,conv3_1,conv4_1,conv5_1)")
    p.add_argument("--style-blend", type=_floats, default=None,
                   help="one weight per style image, e.g. 0.7,0.3 (default: equal)")
    p.add_argument("--style-scale", type=float, default=1.0,
                   help="style images' size relative to the output; <1 smaller strokes (default 1)")
    p.add_argument("--preserve-colors", choices=color.PRESERVE_COLORS, default="none",
                   help="keep the photo's colours: luminance-only transfer, or the style recoloured "
                        "by histogram (mean and covariance) matching (default: none)")
    p.add_argument("--init", default="noise", help="noise (the paper's), content, or an image path")
    p.add_argument("--optimizer", choices=("lbfgs", "adam"), default="lbfgs",
                   help="lbfgs (default, the authors': SciPy's L-BFGS-B) or adam")
    p.add_argument("--lr", type=float, help=f"Adam's step size (default {DEFAULT_LEARNING_RATE:g}; decays later)")
    p.add_argument("--tv", type=float, default=0.0, help="total-variation weight (default 0, the paper's)")
    p.add_argument("--pooling", choices=POOLINGS, default="avg", help="default: avg (the paper's)")
    p.add_argument("--backbone", default="auto",
                   help="auto (ImageNet VGG19 if available, else the offline stand-in), vgg19, "
                        "vgg16-hed, random, or a .h5 weights file")
    p.add_argument("--network", choices=("auto", "mean", "calibrated", "raw", "normalized"), default="auto",
                   help="auto (default): the network in whose units --alpha-beta is the paper's - "
                        "mean on ImageNet VGG19, calibrated on the offline stand-in; mean: the paper's "
                        "mean-activation normalisation (normalized: its old name); calibrated: the "
                        "stand-in's; raw: the weights as trained")
    p.add_argument("--precision", choices=PRECISIONS, default="auto", help="auto (default: bfloat16 where it measures faster)")
    p.add_argument("--jit", choices=("auto", "on", "off"), default="auto",
                   help="compile the step with XLA: auto (default: where a quick measurement finds it faster)")
    p.add_argument("--seed", type=int, default=0, help="seed of the noise start (default 0)")
    p.add_argument("--stop-after", type=int, metavar="K", help="end after K steps in all stages, as Ctrl-C would")
    p.add_argument("--save-every", type=int, default=None, metavar="N",
                   help="also write OUT_<step>.png every N steps")
    p.add_argument("--movie", metavar="MOVIE.gif|.mp4", help="also write the run as a movie, from white noise "
                   "to the result (at most 60 frames): an animated GIF, or an MP4 (needs imageio-ffmpeg)")
    p.add_argument("--coarse-to-fine", type=_stages, default="auto", metavar="S1,S2,...",
                   help="increasing sizes, e.g. 256,512,1024: optimise small, upsample, go on; auto "
                        "(default): halvings of --size down to 64 px, three at most; none: one size")
    p.add_argument("--quiet", action="store_true", help="no progress bar and no summary (errors only)")
    return p


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m styletf", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    add_stylize(sub)
    replay.add_parser(sub)
    rep = sub.add_parser("reproduce", help="re-execute all notebooks (all figures) in full mode",
                         description="Execute every notebook in order and collect the figures.")
    rep.add_argument("--out", default="outputs/reproduce", help="output folder (default: %(default)s)")
    rep.add_argument("--quick", action="store_true", help="quick mode (STYLETF_QUICK=1): small and fast")
    rep.add_argument("--size", type=int, help="override the mode's image size (px, long side)")
    rep.add_argument("--steps", type=int, help="override the mode's number of steps")
    rep.add_argument("--only", help="comma-separated notebook numbers, e.g. 01,02")
    rep.add_argument("--notebooks", default=str(REPO_NOTEBOOKS), help="notebook folder (default: the repository's)")
    ben = sub.add_parser("bench", help="time a synthesis step (ours, or --reference: TF-tutorial style)",
                         description="Time one synthesis step; the last line is ms_per_step=<float>.")
    ben.add_argument("--size", type=int, default=256, help="long side in px (default: %(default)s)")
    ben.add_argument("--steps", type=int, default=10, help="timed steps, after one untimed (default: %(default)s)")
    ben.add_argument("--backbone", default="random", help="default: %(default)s (VGG19 architecture)")
    ben.add_argument("--precision", default="float32", choices=list(PRECISIONS), help="default: float32 (mixed_float16: normalised)")
    ben.add_argument("--reference", action="store_true", help="time the TF tutorial's step instead of ours")
    ben.add_argument("--jit", choices=("auto", "on", "off"), default="off", help="XLA for our step (default: off)")
    return parser


# ---------------------------------------------------------------- stylize

def _checked(args) -> tuple[Path, int | list]:
    """Every check before work starts (``styletf.preflight``); (output path, steps)."""
    out = preflight.check_output(args.output)
    # file:// addresses are files: as paths, they get the checks, sha256 and sidecar of files
    args.content, args.init = file_url_path(args.content), file_url_path(args.init)
    args.style = [file_url_path(s) for s in args.style]
    preflight.check_inputs_kept(out, [args.content, *args.style, args.init], bool(args.save_every), args.output)
    args.movie = args.movie is not None and preflight.check_movie(args.movie, [args.content, *args.style, args.init])
    if args.style_layers == []:
        raise InputError("--style-layers is empty; name at least one layer (or leave the option out "
                         "for the paper's conv1_1..conv5_1)")
    explicit = isinstance(args.coarse_to_fine, list)
    _check_numbers(args, explicit)
    args.lr = preflight.check_lr(args.lr, args.optimizer, args.quiet)
    preflight.check_memory((args.coarse_to_fine if explicit else [args.size or 512])[-1], args.style_scale,
                           args.optimizer, args.content, args.style)
    steps = args.steps[0] if args.steps and len(args.steps) == 1 else args.steps
    if isinstance(steps, list) and not explicit:
        raise InputError("--steps takes one number (several only with --coarse-to-fine S1,S2,..., one per size)")
    return out, steps


def _check_numbers(args, explicit) -> None:
    """Every number within what float32 and the machine can hold, before any work (one line, exit 2)."""
    checks = [("--size", "size", [args.size]), ("--coarse-to-fine", "size", args.coarse_to_fine if explicit else []),
              ("--steps", "steps", args.steps or []), ("--save-every", "snapshot_every", [args.save_every]),
              ("--stop-after", "stop_after", [args.stop_after]), ("--seed", "seed", [args.seed]),
              ("--alpha-beta", "alpha_beta", [args.alpha_beta]), ("--style-scale", "style_scale", [args.style_scale]),
              ("--tv", "tv_weight", [args.tv]), ("--lr", "learning_rate", [args.lr])]
    for option, name, values in checks:  # the ranges of stylize's own keywords (errors.RANGES), named as typed
        for value in values:
            if value is not None:
                check_setting(name, value, option)


def _network(args, say) -> None:
    """The backbone, precision and network actually used, into ``args`` and said."""
    with warnings.catch_warnings(record=True) as caught:  # said below in plain words, one line each
        warnings.simplefilter("ignore", StandInWarning)
        warnings.simplefilter("always", WeightsFileWarning)
        args.backbone_used = resolve_backbone(args.backbone)
    for w in caught:
        if issubclass(w.category, WeightsFileWarning) and not args.quiet:
            print(f"warning: {w.message}", file=sys.stderr)
        elif not issubclass(w.category, WeightsFileWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    args.precision_used = resolve_precision(args.precision)
    args.jit_used = resolve_jit({"on": True, "off": False}.get(args.jit, "auto"))
    args.network_used = resolve_network(args.backbone_used, "mean" if args.network == "normalized" else args.network)
    say(f"backbone: {describe_backbone(args.backbone_used)}; {_NETWORK_WORDS[args.network_used]} network, {args.precision_used}")
    if args.backbone_used == "vgg16-hed":
        say("note: this is the offline stand-in, not the paper's ImageNet VGG19: textures and colours "
            "differ from the paper's (README, Backbones, says how to get the real weights)")


_NETWORK_WORDS = {"raw": "raw (un-normalised)", "mean": "normalised (the paper's)",
                  "calibrated": "calibrated (the offline stand-in's, docs/method.md)"}


def stylize(args) -> int:
    """Execute a parsed ``stylize`` command; returns the exit status (Figure 2's transfer,
    docs/method.md eq. 7, on your own photo; notebook 05 does the same in Python)."""
    out, steps = _checked(args)
    say = (lambda *a: None) if args.quiet else (lambda *a: print(*a, flush=True))
    _network(args, say)
    movie = watch.Movie(every=1, max_frames=60) if args.movie else None

    def snapshot(step, image):
        if movie is not None:
            movie(step, image)
        if not args.save_every or step % args.save_every:
            return
        path = out.with_name(f"{out.stem}_{step:05d}{out.suffix}")
        save_image(image[0], path)
        if not args.quiet:
            tqdm.write(f"snapshot: {path}")

    with interrupts.stop_signals_interrupt():  # the first Ctrl-C stops the run; later ones are ignored
        return _run(args, out, steps, snapshot, movie, say)


def _run(args, out, steps, snapshot, movie, say) -> int:
    """The synthesis of ``stylize``, and the picture written whatever happens."""
    try:
        result = controls.stylize(
            args.content, args.style,
            size=args.size if isinstance(args.coarse_to_fine, list) else (args.size or 512),
            steps=steps, alpha_beta=args.alpha_beta, content_layers=args.content_layers,
            style_layers=args.style_layers, style_blend=args.style_blend, style_scale=args.style_scale,
            preserve_colors=args.preserve_colors, init=args.init, optimizer=args.optimizer,
            learning_rate=args.lr, tv_weight=args.tv, pooling=args.pooling, backbone=args.backbone_used,
            network=args.network_used, precision=args.precision_used, seed=args.seed,
            coarse_to_fine=None if args.coarse_to_fine == "none" else args.coarse_to_fine,
            snapshot_every=1 if movie else args.save_every, jit=args.jit_used, progress=not args.quiet,
            snapshot=snapshot if movie or args.save_every else None, stop_after=args.stop_after)
    except SynthesisInterrupted as e:
        if e.result.steps_done == 0:  # only the starting image: nothing worth keeping
            print("interrupted before the first step: nothing written", file=sys.stderr)
            return 130
        sidecar.write(e.result, out, args, "interrupted")
        movie and movie.end(e.result.image, args.movie)
        print(f"interrupted: wrote the image after {e.result.steps_done} steps to {out} "
              f"(and {out.with_suffix('.json')})", file=sys.stderr)
        return 130
    if result.stopped:  # non-finite losses: the last finite image is kept and written
        sidecar.write(result, out, args, "failed")
        print(f"error: {result.stopped}; wrote the last finite image to {out}", file=sys.stderr)
        return 1
    sidecar.write(result, out, args, "done")
    movie and movie.end(result.image, args.movie)  # its last frame: the picture written
    losses = ", ".join(f"{k} {float(v[0]):.4g}" for k, v in result.final.items() if k != "tv" or args.tv)
    stages = "".join(f"  {size} px: {n} steps, {seconds:.1f} s\n" for size, n, seconds in result.extra.get("stages", []))
    ended = f"note: {result.extra['ended']}\n" if "ended" in result.extra else ""
    say(f"wrote {out} and {out.with_suffix('.json')}\n"
        f"{result.steps_done} steps in {result.wall_time:.1f} s; final losses: {losses}\n{stages}{ended}"
        f"backbone: {result.backbone_description}")
    return 0


# ---------------------------------------------------------------- main

def main(argv=None) -> int:
    """``python -m styletf``: parse, run the command, turn errors into exit codes (module doc).
    Not in the paper; the command line of README, "Stylise your own photo" (notebook 05)."""
    args = _parser().parse_args(argv)
    with interrupts.readers_may_leave():  # | head, a closed terminal: the work goes on and is kept
        return _main(args)


def _main(args) -> int:
    try:
        for key in ("size", "steps", "save_every"):  # stylize, bench and reproduce: as stylize's other numbers
            values = getattr(args, key, None)
            if any(v < 1 for v in (values if isinstance(values, list) else [values]) if v is not None):
                raise InputError(f"--{key.replace('_', '-')} must be a positive whole number")
        if args.command in ("stylize", "replay"):
            return stylize(args) if args.command == "stylize" else replay.replay(args)
        if args.command == "bench":
            benchmark.run(args.size, args.steps, args.backbone, args.precision, args.reference,
                          {"on": True, "off": False}.get(args.jit, "auto"))
            return 0
        return reproduce(args.notebooks, args.out, quick=args.quick, size=args.size, steps=args.steps,
                         only=args.only)
    except StyleTFError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except OSError as e:  # e.g. the disk filled up while writing
        print(f"error: {e.strerror or e}{f': {e.filename}' if e.filename else ''}", file=sys.stderr)
        return 1
    except Exception as e:  # noqa: BLE001 - out of memory gets one line; anything else, a traceback
        if not isinstance(e, MemoryError) and type(e).__name__ != "ResourceExhaustedError":
            raise
        print("error: out of memory at this size; use a smaller --size, or --coarse-to-fine",
              file=sys.stderr)
        return 1
