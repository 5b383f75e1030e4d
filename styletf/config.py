"""Quick and full presets (``STYLETF_QUICK=1`` selects quick), and each notebook's report of
how it differs from the paper.

Full mode follows the paper (docs/method.md, "Synthesis"): about 512 px on the long side and
L-BFGS, the authors' optimiser. Quick mode shrinks the size and the iterations so that every
notebook together re-executes in minutes on a 2-core CPU, while every panel stays
recognisable. Both synthesise coarse to fine (``schedule.stages``): white noise at a quarter
(full) or half (quick) of the size, then upsampled and refined.
"""
from __future__ import annotations

import os

from .backbones import describe_backbone, is_paper_network
from .errors import InputError, check_setting, check_text
from .normalize import CALIBRATION
from .paper.settings import hyper_parameters
from .speed import resolve_precision
from .schedule import stages

__all__ = ["is_quick", "preset", "mode_name", "report"]

_PAPER = hyper_parameters()
_PRESETS = {
    # size: long side of the images in px; steps: L-BFGS iterations at that size (the first,
    # smallest stage gets twice as many: schedule.stages).
    # precision: the convolutions' arithmetic (speed.resolve_precision): the paper's float32 in
    # full mode; in quick mode what a start-up measurement finds fastest here (mixed bfloat16 on
    # a CPU with native bfloat16: about 1.4x sooner, the same pictures; bench/RESULTS.md).
    "full": {"size": _PAPER["size"], "steps": 100, "optimizer": _PAPER["optimizer"], "precision": "float32"},
    "quick": {"size": 128, "steps": 80, "optimizer": "lbfgs", "precision": "auto"},
}


def is_quick() -> bool:
    """True when the environment variable STYLETF_QUICK is 1 (or true, yes, on); false when it is
    unset, empty, 0, false, no or off; any other value is an error naming the variable. Not in the
    paper: every notebook's Parameters cell (notebook 00 first)."""
    value = os.environ.get("STYLETF_QUICK", "").strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("", "0", "false", "no", "off"):
        return False
    raise InputError(f"STYLETF_QUICK must be 1 (quick mode) or 0 (full mode), got {value!r}")


def mode_name() -> str:
    """"quick" or "full" (``is_quick``). Not in the paper: every notebook's Setup, notebook 00 first."""
    return "quick" if is_quick() else "full"


#: The smallest size the notebooks run at (coarse to fine's smallest stage, too: ``schedule.stages``).
MIN_SIZE = 64


def preset() -> dict:
    """The settings of the current mode, e.g. ``{"mode": "quick", "size": 128, "steps": 80,
    "optimizer": "lbfgs", "precision": "auto", "sizes": [64, 128], "stage_steps": [160, 80]}``:
    docs/method.md, "Synthesis" (about 512 px) in full mode; every notebook's Parameters (01 first).

    ``$STYLETF_SIZE`` and ``$STYLETF_STEPS`` override the mode's size and steps (e.g. full mode
    at 256 px on a CPU, where 512 px takes hours).
    """
    out = {"mode": mode_name(), **_PRESETS[mode_name()]}
    for key in ("size", "steps"):
        value = os.environ.get(f"STYLETF_{key.upper()}", "").strip()
        if value:
            if not (value.isascii() and value.isdigit()) or int(value) < 1:
                raise InputError(f"STYLETF_{key.upper()} must be a positive whole number, got {value!r}")
            out[key] = int(value)
    if out["size"] < MIN_SIZE:  # found minutes later in a notebook's check, else
        raise InputError(f"size {out['size']} px (STYLETF_SIZE, --size) is too small for the notebooks: they judge "
                         f"what a panel shows, which takes at least {MIN_SIZE} px")
    out["sizes"], out["stage_steps"] = stages(out["size"], out["steps"])
    return out


def report(backbone: str, *, size: int, network: str = "raw", stage_sizes=None, steps=None,
           optimizer: str = "lbfgs", pooling: str = "avg", content_layers=None, precision: str = "float32",
           extra: tuple = ()) -> str:
    """Print (and return) what a notebook runs with and how that differs from the paper (its
    "Network" and "Synthesis" sections; every notebook's Setup, notebook 00 first).

    ``backbone`` is the concrete backbone (``backbones.resolve_backbone``); ``network`` the
    rescaling of its weights (``vgg.resolve_network``); ``stage_sizes`` and ``steps`` (one per
    stage) the coarse-to-fine schedule; ``content_layers`` those a transfer uses; ``precision`` the
    arithmetic asked for (resolved here, "auto" measured); ``extra`` adds
    (paper, here) rows of the notebook's own deviations.
    """
    check_text("backbone", backbone)
    check_setting("size", size)
    stage_sizes = list(stage_sizes or [size])
    steps = list(steps) if isinstance(steps, (list, tuple)) else ([steps] if steps else [])
    schedule = " -> ".join(f"{s} px" + (f" ({n} it.)" if n else "") for s, n in zip(stage_sizes, steps + [None] * 9))
    lines = [
        f"mode      : {mode_name()}" + (" (STYLETF_QUICK=1: small, every check still runs)"
                                       if is_quick() else " (the paper's settings)"),
        f"backbone  : {backbone} = {describe_backbone(backbone)}",
        f"network   : {_NETWORKS[network]}, {pooling} pooling",
        f"synthesis : {optimizer}, {schedule}, from white noise at {stage_sizes[0]} px",
    ]
    if content_layers:
        lines.append(f"content   : {', '.join(content_layers)}")
    rows = [("paper", "here")] + _deviations(backbone, network, size, stage_sizes, optimizer, pooling,
                                             content_layers) + list(extra)
    resolved = resolve_precision(precision)
    if resolved != "float32":
        rows.append(("float32 arithmetic", f"{resolved} convolutions (precision {precision!r}"
                                           + (": measured fastest here)" if precision == "auto" else ")")))
    width = max(len(a) for a, _ in rows)
    lines += ["", "Deviations from the paper:"]
    lines += [f"  {a:<{width}} | {b}" for a, b in rows[:1]] + [f"  {'-' * width}-+-{'-' * 30}"]
    lines += [f"  {a:<{width}} | {b}" for a, b in rows[1:]] if len(rows) > 1 else ["  (none)"]
    text = "\n".join(lines)
    print(text)
    return text


_NETWORKS = {"raw": "not normalised (the weights as trained)",
             "mean": "normalised (mean activation 1 per filter, CVPR: the paper's)",
             "calibrated": (f"calibrated for the stand-in (RMS activation {CALIBRATION['scale']:g} per filter, "
                            f"conv1_1 x{CALIBRATION['gain']['conv1_1']:g}; docs/method.md)")}


def _deviations(backbone, network, size, stage_sizes, optimizer, pooling, content_layers) -> list:
    rows = []
    if not is_paper_network(backbone):
        rows.append(("ImageNet VGG-19", describe_backbone(backbone)))
    if network != "mean":
        rows.append(("normalised network (mean activation 1, CVPR)", _NETWORKS[network]))
    if content_layers and list(content_layers) != ["conv4_2"]:
        rows.append(("content on conv4_2", f"content on {', '.join(content_layers)} "
                                          f"(the calibration's: conv4_2 of the stand-in keeps only the skyline)"))
    if optimizer != "lbfgs":
        rows.append(("L-BFGS (authors' code)", optimizer))
    if len(stage_sizes) > 1:
        rows.append(("one size, from white noise", f"coarse to fine ({', '.join(map(str, stage_sizes))} px), "
                                                   f"white noise at {stage_sizes[0]} px"))
    if size < 400:
        rows.append(("about 512 px", f"{size} px"))
    if pooling != "avg":
        rows.append(("average pooling", f"{pooling} pooling"))
    return rows
