"""Figures like the paper's: image grids, loss curves, and saving with settings.

Every figure made with the offline stand-in says so on the figure itself
(``mark_backbone``), so a PNG can never pass for the paper's network.
"""
from __future__ import annotations

import io
import json
import os
import re
from pathlib import Path

import numpy as np

from .errors import InputError, check_mapping, check_number, check_path, check_sequence, check_text, user_path
from .images import atomic_write, save_image, to_uint8

__all__ = ["show_images", "plot_losses", "mark_backbone", "save_figure", "save_panels", "output_dir"]


def _hwc(image) -> np.ndarray:
    return to_uint8(image)  # (H, W, 3) uint8; refuses NaN


def show_images(images, titles=None, ncols=None, panel_size=3.0, suptitle=None, insets=None):
    """A grid of images (each (1, H, W, 3) or (H, W, 3) in [0, 1]), like the paper's Figures 1-3;
    returns the figure (notebook 00 first).

    insets: optional list (None entries allowed) of small images drawn in the lower-left
    corner of each panel, as the paintings in the paper's Figure 2.
    """
    import matplotlib.pyplot as plt

    images = check_sequence("images", images, what="of images (H, W, 3)")
    if not images:
        raise InputError("images is empty: give at least one image")
    titles = check_sequence("titles", titles, length=len(images), allow_none=True, what="(one per image)")
    insets = check_sequence("insets", insets, length=len(images), allow_none=True, what="(one per image)")
    ncols = len(images) if ncols is None else check_number("ncols", ncols, positive=True, integer=True, maximum=100)
    panel_size = check_number("panel_size", panel_size, positive=True, maximum=50)
    nrows = -(-len(images) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(panel_size * ncols, panel_size * nrows + 0.4),
                             squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for i, image in enumerate(images):
        ax = axes.flat[i]
        ax.imshow(_hwc(image), interpolation="bilinear")
        if titles is not None and titles[i]:
            ax.set_title(titles[i], fontsize=10)
        if insets is not None and insets[i] is not None:
            inset = ax.inset_axes([0.0, 0.0, 0.3, 0.3])
            inset.imshow(_hwc(insets[i]))
            inset.set_xticks([])
            inset.set_yticks([])
            for spine in inset.spines.values():
                spine.set_edgecolor("white")
                spine.set_linewidth(1.5)
    if suptitle is not None:
        fig.suptitle(str(suptitle))
    fig.tight_layout()
    return fig


def plot_losses(histories: dict, key: str = "total", ax=None, title=None):
    """Loss curves (log scale): ``histories`` maps a label to a result's ``history``
    (or to an array of values per step); ``key`` picks total / content / style: the terms of
    docs/method.md's eq. 7 per step (notebook 01)."""
    import matplotlib.pyplot as plt

    curves = {}
    for label, h in check_mapping("histories", histories, example="{'Adam': result.history}").items():
        if isinstance(h, dict):  # a result's history: the term asked for
            h = h[check_text("key", key, choices=list(h))]
        try:
            values = np.asarray(h, np.float64)
        except (ValueError, TypeError):
            raise InputError(f"histories[{label!r}] must be a result's history or a list of losses per step") from None
        if values.ndim == 0 or len(values) == 0:
            raise InputError(f"histories[{label!r}] holds no losses")
        curves[label] = values.reshape(len(values), -1).sum(axis=1)
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    elif not hasattr(ax, "semilogy"):
        raise InputError(f"ax must be a matplotlib Axes (or None), got {ax!r:.60}")
    for label, values in curves.items():
        ax.semilogy(np.arange(len(values)), np.maximum(values, 1e-30), label=label)
    ax.set_xlabel("step")
    ax.set_ylabel(f"{key} loss")
    ax.set_title(str(title) if title is not None else f"{key} loss per step")
    ax.legend(fontsize=8)
    ax.figure.tight_layout()
    return ax


def _check_figure(fig) -> None:
    if not hasattr(fig, "savefig"):
        raise InputError(f"fig must be a matplotlib Figure, e.g. from show_images, got {fig!r:.60}")


def mark_backbone(fig, backbone: str, description: str):
    """Write the backbone under the figure; in red capitals when it is the stand-in, not the
    paper's network (docs/method.md, "Network"; notebook 00)."""
    _check_figure(fig)
    standin = backbone == "vgg16-hed"
    text = (f"OFFLINE STAND-IN backbone ({description}); not the paper's figure" if standin
            else f"backbone: {description}")
    fig.text(0.5, 0.002, text, ha="center", va="bottom", fontsize=9, wrap=True,
             color="crimson" if standin else "dimgray", weight="bold" if standin else "normal")
    lines = -(-len(text) * 0.075 // (0.9 * fig.get_figwidth()))  # about 0.075 in a character, wrapped
    footer = (0.08 + 0.17 * lines) / fig.get_figheight()  # the text's height, as a fraction of the figure
    labelled = any(ax.get_xlabel() for ax in fig.axes)  # an x label needs its room above the line
    fig.subplots_adjust(bottom=fig.subplotpars.bottom + footer if labelled else max(fig.subplotpars.bottom, footer))
    return fig


def output_dir() -> Path:
    """Where figures go: ``$STYLETF_OUTPUT`` or ``./outputs`` (ignored by git). Not in the
    paper; notebook 00 saves the first figure."""
    path = user_path(os.environ.get("STYLETF_OUTPUT", "outputs"), "STYLETF_OUTPUT")
    if path.exists() and not path.is_dir():
        raise InputError(f"STYLETF_OUTPUT={path} is not a folder; point it at a folder (it is "
                         f"created if missing) or unset it")
    path.mkdir(parents=True, exist_ok=True)
    return path


def save_figure(fig, name: str, settings: dict, folder=None) -> Path:
    """Save ``fig`` as ``<name>_<mode>_<backbone>_<size>px_<steps>steps.png`` (a weights file as
    ``file-<its name>``) with a JSON sidecar holding all ``settings``; both written atomically. Returns the PNG's path. The
    paper's Figures 1-3 (notebooks 01-04; notebook 00 saves the first figure)."""
    check_text("name", name)
    _check_figure(fig)
    if not isinstance(settings, dict):
        raise InputError(f"settings must be a dict (e.g. config.settings()), got {settings!r:.60}")
    shown = dict(settings)
    if "backbone" in shown and Path(str(shown["backbone"])).name != str(shown["backbone"]):
        shown["backbone"] = "file-" + Path(str(shown["backbone"])).stem  # a weights file: its name only
    parts = [name] + [str(shown[k]) + suffix for k, suffix in
                      (("mode", ""), ("backbone", ""), ("size", "px"), ("steps", "steps"))
                      if k in shown]
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", "_".join(parts))
    folder = check_path("folder", folder) if folder is not None else output_dir()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    path = atomic_write(folder / f"{stem}.png", buf.getvalue())
    atomic_write(folder / f"{stem}.json", json.dumps(settings, indent=2, default=str).encode())
    return path


def save_panels(panels: dict, settings: dict, folder=None) -> list:
    """Save every panel of a figure at full resolution: ``{name: image (1, H, W, 3) in [0, 1]}``
    -> ``<folder>/panels/<name>.png`` and ``<name>.json`` (the figure's ``settings`` plus the
    panel's own entry ``settings["panels"][name]``, if any), written atomically, e.g.
    ``fig2_C_starry_night.png``. Returns the PNG paths. The paper's Figures 1-3, panel by
    panel (notebooks 01-04), for reuse and for scoring."""
    check_mapping("panels", panels, example="{'fig2_A': image}")
    if not isinstance(settings, dict):
        raise InputError(f"settings must be a dict (e.g. config.settings()), got {settings!r:.60}")
    images = {str(name): to_uint8(image) for name, image in panels.items()}  # all checked before any is written
    folder = (check_path("folder", folder) if folder is not None else output_dir()) / "panels"
    if folder.parent.exists() and not folder.parent.is_dir() or folder.exists() and not folder.is_dir():
        raise InputError(f"folder {folder.parent}: not a folder (a file is in the way); choose another folder")
    folder.mkdir(parents=True, exist_ok=True)
    own = settings.get("panels", {}) if isinstance(settings.get("panels"), dict) else {}
    paths = []
    for name, image in images.items():
        path = folder / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}.png"
        save_image(image / 255.0, path)
        meta = {**{k: v for k, v in settings.items() if k != "panels"}, "panel": name, **own.get(name, {})}
        atomic_write(path.with_suffix(".json"), json.dumps(meta, indent=2, default=str).encode())
        paths.append(path)
    return paths
