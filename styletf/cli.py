"""Command line: ``python -m styletf stylize`` paints your photo (``styletf.stylize``);
``python -m styletf reproduce`` re-executes the notebooks and collects the figures;
``python -m styletf bench`` times a synthesis step (``styletf.benchmark``).

Exit status: 0 success, 2 bad usage or input (one line on stderr), 1 failure during the run,
130 interrupted (Ctrl-C).
"""
from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
import warnings
from pathlib import Path

from tqdm.auto import tqdm

from . import benchmark, controls, interrupts, memory, places, preflight, replay, sidecar, watch
from .backbones import StandInWarning, WeightsFileWarning, check_name, describe_backbone, resolve_backbone
from .errors import InputError, StyleTFError, check_number, check_setting
from .images import file_url_path, save_image
from .options import add_stylize
from .reproduce import REPO_NOTEBOOKS, reproduce
from .result import SynthesisInterrupted
from .schedule import check_sizes, stages
from .speed import PRECISIONS, resolve_jit, resolve_precision
from .vgg import PAPER_CONTENT_LAYERS, resolve_network

__all__ = ["main", "stylize"]


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (exit 2) pointing to --help."""

    def error(self, message):
        self.exit(2, f"error: {message} (see: {self.prog} --help)\n")


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
    given = os.environ.get("STYLETF_BACKBONE", "").strip() if args.backbone == "auto" else args.backbone
    check_name(given or "auto", "--backbone" if args.backbone != "auto" else "STYLETF_BACKBONE")  # before any fetch
    args.regional = preflight.check_follow_up(args)  # spatial and scale control: {} without them
    paintings = controls.paintings(args.regional.get("style", args.style)) + ([args.fine_style] if args.fine_style else [])
    preflight.check_sources({"content": args.content, **{f"style {k + 1}" if len(paintings) > 1 else "style": s
                             for k, s in enumerate(paintings)},
                             "init": None if args.init in ("noise", "content") else args.init})
    preflight.check_inputs_kept(out, [args.content, *paintings, args.init], bool(args.save_every), args.output)
    args.movie = args.movie is not None and preflight.check_movie(args.movie, [args.content, *paintings, args.init])
    if args.style_layers == []:
        raise InputError("--style-layers is empty; name at least one layer (or leave the option out "
                         "for the paper's conv1_1..conv5_1)")
    if args.content_layers == []:
        raise InputError("--content-layers is empty; name at least one layer (or leave the option out "
                         "for the paper's conv4_2)")
    explicit = isinstance(args.coarse_to_fine, list)
    _check_numbers(args, explicit)
    args.lr = preflight.check_lr(args.lr, args.optimizer, args.quiet)
    side = (args.coarse_to_fine if explicit else [args.size or 512])[-1]
    preflight.check_memory(side, args.style_scale, args.optimizer, args.content, paintings)
    places.check_file_limit(int(3.1 * side * side) + 2**16, out)  # a PNG of noise: 3 bytes a pixel, and a little
    steps = args.steps[0] if args.steps and len(args.steps) == 1 else args.steps
    if isinstance(steps, list) and not explicit:
        raise InputError("--steps takes one number (several only with --coarse-to-fine S1,S2,..., one per size)")
    if isinstance(steps, list) and len(steps) != len(args.coarse_to_fine):
        raise InputError(f"--steps gives {len(steps)} step counts for {len(args.coarse_to_fine)} --coarse-to-fine sizes: "
                         f"give one per size, or one for all")
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
    if explicit:
        check_sizes("--coarse-to-fine", args.coarse_to_fine)
        if args.size is not None and args.size != args.coarse_to_fine[-1]:
            raise InputError(f"--size {args.size} differs from the last --coarse-to-fine size {args.coarse_to_fine[-1]}: "
                             f"drop --size or make it the last of the sizes")
    _check_small(args, explicit)
    if args.style_blend is not None:  # targets' own check would name the keyword, style_blend
        if len(args.style_blend) != len(args.style):
            raise InputError(f"--style-blend needs one weight per style image ({len(args.style)} given), "
                             f"got {len(args.style_blend)}: {','.join(map(str, args.style_blend))}")
        if not any([check_number("--style-blend", w) > 0 for w in args.style_blend]):  # each one checked
            raise InputError("--style-blend weights are all 0: give at least one above 0, e.g. 0.7,0.3")
        if len(args.style) == 1:
            raise InputError("--style-blend weighs several style images against each other, and one is given: "
                             "leave it out (the style's strength is --alpha-beta)")


def _check_small(args, explicit) -> None:
    """The photo at the first stage's size leaves a position in the deepest layer (its shorter side at
    least 2^pools px: 16 for conv5_1), before the backbone loads (the extractor checks it again)."""
    layers = list(args.content_layers or PAPER_CONTENT_LAYERS) + list(args.style_layers)
    blocks = {int(m.group(1) or m.group(2)): name for name in layers  # unknown names: refused later, by name
              if (m := re.fullmatch(r"conv([1-5])_[1-4]|block([1-5])_conv[1-4]", name))}
    if not blocks:
        return
    need = 2 ** (max(blocks) - 1)  # VGG: a pooling before each block after the first
    size = args.size or 512
    if explicit:  # the first stage is the smallest
        first = args.coarse_to_fine[0]
    else:
        first = size if args.coarse_to_fine == "none" else stages(size)[0][0]
    aspect = preflight.aspect(args.content)
    short = round(first * aspect)
    if short < need:
        one_size = not explicit and first < size and round(size * aspect) >= need  # the last stage is large enough
        ways = ("a larger --size or first --coarse-to-fine size" if explicit else
                f"--coarse-to-fine none (one size, {size} px) or a larger --size" if one_size else "a larger --size")
        raise InputError(f"content: at {first} px the photo is too small for layer {blocks[max(blocks)]}: its shorter side is "
                         f"{short} px, and the layer needs at least {need} px: use {ways}, or shallower --style-layers")


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
    """The synthesis of ``stylize``, and the picture written whatever happens: a stop between the
    optimiser's steps is held until the next steps (which it ends at their start) or the end."""
    with interrupts.deferred():
        status = _written(args, out, steps, snapshot, movie, say)
    if interrupts.pending() and status == 0:  # after the picture was written: it is whole
        print(f"interrupted ({interrupts.pending()}) after the picture was written to {out}", file=sys.stderr)
        return 130
    return status


def _written(args, out, steps, snapshot, movie, say) -> int:
    try:
        with memory.checked():  # by _checked, before the backbone loaded
            regional = dict(args.regional)  # spatial control: the style per region, the masks
            result = controls.stylize(
                args.content, regional.pop("style", args.style), **regional,
                size=args.size if isinstance(args.coarse_to_fine, list) else (args.size or 512),
                steps=steps, alpha_beta=args.alpha_beta, content_layers=args.content_layers,
                style_layers=args.style_layers, style_blend=args.style_blend, style_scale=args.style_scale,
                preserve_colors=args.preserve_colors, init=args.init, optimizer=args.optimizer,
                learning_rate=args.lr, tv_weight=args.tv, pooling=args.pooling, backbone=args.backbone_used,
                network=args.network_used, precision=args.precision_used, seed=args.seed,
                coarse_to_fine=None if args.coarse_to_fine == "none" else args.coarse_to_fine,
                snapshot_every=1 if movie else args.save_every, jit=args.jit_used, progress=not args.quiet,
                snapshot=snapshot if movie or args.save_every else None, stop_after=args.stop_after)
        if interrupts.pending():  # after the last step: the picture is whole, and the stop is said
            raise SynthesisInterrupted(result)
    except SynthesisInterrupted as e:
        if e.result.steps_done == 0:  # only the starting image: nothing worth keeping
            print("interrupted before the first step: nothing written", file=sys.stderr)
            return 130
        sidecar.write(e.result, out, args, "interrupted")
        movie and movie.end(e.result.image, args.movie)
        print(f"interrupted: wrote the image after {e.result.steps_done} steps to {out} "
              f"(and {out.with_suffix('.json')})", file=sys.stderr)
        return 130
    if result.stopped:  # non-finite losses, or out of memory in a later stage: the last finite image is kept
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
    with interrupts.readers_may_leave() as lost:  # | head, a closed terminal, > /dev/full: the work is kept
        status = _main(args)
    for line in lost:
        with contextlib.suppress(OSError, ValueError):
            print(line + ("; the work itself was done" if status == 0 else ""), file=sys.stderr, flush=True)
    return status or (1 if lost else 0)


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
    except places.WrittenElsewhere as e:  # the output's folder gone during the run, the disk full, ...
        print(f"error: {e}; the picture went to {e.written} instead (and {e.written.with_suffix('.json')})",
              file=sys.stderr)
        return 1
    except OSError as e:  # e.g. the disk filled up while writing, and no spare place took the picture
        print(f"error: {e.strerror or e}{f': {e.filename}' if e.filename else ''}", file=sys.stderr)
        return 1
    except Exception as e:  # noqa: BLE001 - out of memory gets one line; anything else, a traceback
        if not memory.is_out_of_memory(e):
            raise
        print(f"error: {memory.oom_message(getattr(args, 'size', None))}", file=sys.stderr)
        return 1
