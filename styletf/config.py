"""Quick and full presets (``STYLETF_QUICK=1`` selects quick).

Full mode follows the paper (docs/method.md, "Synthesis"): about 512 px on the long
side and enough Adam steps to converge. Quick mode shrinks sizes and steps so
that every notebook together re-executes in minutes on a 2-core CPU (the
figures are then small and rough, but every check still runs).
"""
from __future__ import annotations

import os

from .backbones import describe_backbone, is_paper_network

__all__ = ["is_quick", "preset", "mode_name", "report"]

_PRESETS = {
    # size: long side of the images in px; steps: Adam steps per synthesis.
    "full": {"size": 512, "steps": 500},
    "quick": {"size": 64, "steps": 120},
}


def is_quick() -> bool:
    """True when the environment variable STYLETF_QUICK is set to 1 (or true/yes). Not in the
    paper: every notebook's Parameters cell (notebook 00 first)."""
    return os.environ.get("STYLETF_QUICK", "").strip().lower() in ("1", "true", "yes")


def mode_name() -> str:
    """"quick" or "full" (``is_quick``). Not in the paper: every notebook's Setup, notebook 00 first."""
    return "quick" if is_quick() else "full"


def preset() -> dict:
    """The settings of the current mode, e.g. ``{"mode": "quick", "size": 64, "steps": 120}``:
    docs/method.md, "Synthesis" (about 512 px) in full mode; every notebook's Parameters (01 first).

    ``$STYLETF_SIZE`` and ``$STYLETF_STEPS`` override the mode's size and steps (e.g. full mode
    at 256 px on a CPU, where 512 px takes hours).
    """
    out = {"mode": mode_name(), **_PRESETS[mode_name()]}
    for key in ("size", "steps"):
        value = os.environ.get(f"STYLETF_{key.upper()}", "").strip()
        if value:
            if not value.isdigit() or int(value) < 1:
                raise ValueError(f"STYLETF_{key.upper()} must be a positive whole number, got {value!r}")
            out[key] = int(value)
    return out


def report(backbone: str, *, size: int, steps: int | None = None, learning_rate: float | None = None,
           pooling: str = "avg", normalize: bool = True, extra: tuple = ()) -> str:
    """Print (and return) what a notebook runs with and how that differs from the paper (its
    "Network" and "Synthesis" sections; every notebook's Setup, notebook 00 first).

    ``backbone`` is the concrete backbone (``backbones.resolve_backbone``); ``extra`` adds
    (paper, here) rows of the notebook's own deviations.
    """
    quick = is_quick()
    lines = [
        f"mode      : {mode_name()}" + (" (STYLETF_QUICK=1: small and rough, checks still run)"
                                       if quick else " (the paper's settings)"),
        f"backbone  : {backbone} = {describe_backbone(backbone)}",
        f"image size: {size} px on the long side",
        f"network   : {'normalised (mean activation 1 per filter, CVPR)' if normalize else 'not normalised'}"
        f", {pooling} pooling",
    ]
    if steps is not None:
        lines.append(f"optimiser : Adam, {steps} steps, learning rate {learning_rate} (images in [0, 1])")
    rows = [("paper", "here")]
    if not is_paper_network(backbone):
        rows.append(("ImageNet VGG-19", describe_backbone(backbone)))
    if steps is not None:
        rows.append(("L-BFGS (authors' code)", f"Adam, {steps} steps"))
    if size < 400:
        rows.append(("about 512 px", f"{size} px"))
    if pooling != "avg":
        rows.append(("average pooling", f"{pooling} pooling"))
    if not normalize:
        rows.append(("normalised network (CVPR)", "not normalised"))
    rows += list(extra)
    width = max(len(a) for a, _ in rows)
    lines += ["", "Deviations from the paper:"]
    lines += [f"  {a:<{width}} | {b}" for a, b in rows[:1]] + [f"  {'-' * width}-+-{'-' * 30}"]
    lines += [f"  {a:<{width}} | {b}" for a, b in rows[1:]] if len(rows) > 1 else ["  (none)"]
    text = "\n".join(lines)
    print(text)
    return text
