"""What a ``stylize`` run leaves beside its PNG: the sidecar JSON, with the command line that
makes the same image again (README, "Stylise your own photo"). Not in the paper; notebook 05
shows the Python side."""
from __future__ import annotations

import json
import shlex
from pathlib import Path

from . import places
from .backbones import fingerprint
from .errors import InputError
from .interrupts import shielded
from .places import atomic_write
from .result import SynthesisResult

__all__ = ["command", "write"]


def _source(text: str) -> str:
    """An input as written in the sidecar's command: files as absolute paths."""
    return str(Path(text).resolve()) if Path(text).is_file() else text


def _painting(text: str) -> str:
    """A style as written in the command: ``REGION=PAINTING`` (spatial control) with its file made absolute."""
    key, sep, painting = text.partition("=")
    return f"{key}={_source(painting)}" if sep and not Path(text).is_file() else _source(text)


def _regions(args, result: SynthesisResult) -> dict:
    """Spatial and scale control's options as the run used them (files as absolute paths), or none."""
    scale = {} if getattr(args, "fine_style", None) is None else {
        "--fine-style": _source(args.fine_style), "--fine-layers": ",".join(args.fine_layers)}
    if not getattr(args, "regional", None) or "regions" not in args.regional:
        return scale
    regional, pairs = args.regional, lambda d, f: ",".join(f"{k}={f(v)}" for k, v in d.items()) if d else None
    masks = regional["regions"]
    return {"--regions": pairs(masks, _source) if isinstance(masks, dict) else _source(masks),
            "--region-weights": pairs(result.settings["region_weights"], repr),
            "--style-masks": pairs(regional["style_masks"], _source), "--guidance": regional["guidance"]}


def command(args, out: Path, result: SynthesisResult, stop_after=None) -> list[str]:
    """Every setting of a ``stylize`` run (``args``: the parsed command line, with the backbone,
    precision and network used) as an explicit command line that makes the image written: the
    stages, steps and layers the run actually used; after Ctrl-C the same schedule with
    ``--stop-after`` the steps it completed (Adam's step size and the stages' input sizes follow
    the whole schedule, so fewer ``--steps`` would make another picture).
    It starts with ``STYLETF_CONV=<route>``, the convolutions' route the run took (the two routes
    sum in another order: ``speed.conv_by_transpose``), and ``TF_NUM_INTRAOP_THREADS=<n>``, the
    threads it ran on (so many threads split the sums so: ``machine.threads``).
    Not in the paper (README, "Stylise your own photo"; notebook 05)."""
    stages = "stages" in result.extra  # coarse to fine: the sizes and steps per stage asked for
    sizes = ",".join(map(str, result.settings["coarse_to_fine"])) if stages else "none"
    steps = ",".join(map(str, result.settings["steps"])) if stages else str(result.settings["steps"])
    cmd = [f"STYLETF_CONV={result.settings['conv']}", f"TF_NUM_INTRAOP_THREADS={result.settings['threads']}",
           "python", "-m", "styletf", "stylize", _source(args.content), *map(_painting, args.style), "-o", str(out)]
    opts = {"--size": None if stages else max(result.settings["size"]),
            "--coarse-to-fine": sizes, "--steps": steps,
            "--alpha-beta": repr(args.alpha_beta), "--content-layers": ",".join(result.settings["content_layers"]),
            "--style-layers": ",".join(args.style_layers),
            "--style-blend": ",".join(map(repr, args.style_blend)) if args.style_blend else None,
            "--style-scale": repr(args.style_scale), "--preserve-colors": args.preserve_colors,
            "--init": _source(args.init), "--optimizer": args.optimizer, "--lr": repr(args.lr) if args.optimizer == "adam" else None,
            "--tv": repr(args.tv), "--pooling": args.pooling, "--backbone": args.backbone_used,
            "--precision": args.precision_used, "--seed": args.seed,
            "--network": args.network_used, "--jit": "on" if args.jit_used else "off",
            "--stop-after": stop_after, **_regions(args, result)}
    for key, value in opts.items():
        if value is not None:
            cmd += [key, str(value)]
    return cmd


def write(result: SynthesisResult, out: Path, args, status: str) -> None:
    """The PNG, then its sidecar (both atomic): settings, backbone, losses, steps, time, status
    ("done", "interrupted", "failed"), the inputs' sha256 (``SynthesisResult.save``'s) and ``command``.
    Where ``out`` cannot be written (its folder removed during the run, the disk full), both go to
    the first spare place that takes them (``places.spare_places``) and ``WrittenElsewhere`` says
    where. Not in the paper (README, "Stylise your own photo"; notebook 05)."""
    with shielded():  # a second Ctrl-C (or SIGTERM) waits until both files are written
        try:
            return _write(result, out, args, status)
        except (OSError, InputError) as e:  # both files or neither, then a spare place
            _remove(out)  # (an InputError here: the folder checked before work is gone or a file now)
            for spare in places.spare_places(out):
                try:
                    _write(result, spare, args, status)
                except (OSError, InputError):
                    _remove(spare)
                    continue
                raise places.WrittenElsewhere(out, spare, e) from None
            if isinstance(e, InputError):  # not bad usage (exit 2): the work was done, then lost
                raise OSError(f"could not write {out} ({e}), nor in any spare place") from None
            raise


def _remove(out: Path) -> None:
    for path in (out, out.with_suffix(".json")):
        try:
            path.unlink(missing_ok=True)
        except OSError:  # the folder gone, or replaced by a file
            pass


def _write(result: SynthesisResult, out: Path, args, status: str) -> None:
    result.save(out)
    meta = json.loads(out.with_suffix(".json").read_text())
    meta.update({
        "status": status,  # "done", "interrupted" or "failed"
        # what `python -m styletf replay` checks before it runs the command (styletf.replay)
        "input_files": {name: path for name, (path, _) in result.extra.get("inputs", {}).items() if path},
        "weights": fingerprint(result.backbone),
        # an interrupted or failed run: the command that makes the image written, not the one asked
        "command": shlex.join(command(args, out, result, result.steps_done if status == "interrupted"
                                      else args.stop_after)),  # result.save wrote the inputs' sha256
    })
    atomic_write(out.with_suffix(".json"), json.dumps(meta, indent=2).encode())
