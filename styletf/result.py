"""What a synthesis gives back: the image, the losses of every step, the settings and the
backbone (notebook 01 first); saved as a PNG with a JSON sidecar (README, Quick start).
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import tensorflow as tf

from . import data
from .errors import InputError, check_number
from .images import save_image
from .places import atomic_write, writable

__all__ = ["SynthesisResult", "SynthesisInterrupted", "describe", "join_chunks", "join_stages", "read_inputs"]


@dataclass
class SynthesisResult:
    """What ``synthesize`` returns (docs/method.md, "Synthesis"; notebook 01).

    image: (B, H, W, 3) float32 in [0, 1] - the last finite image.
    history: {"total", "content", "style", "tv"}: arrays (steps_done, B), the
        losses of the image at the start of each step (content and style
        unweighted, total weighted).
    final: the same four losses for the returned image, arrays (B,).
    extra: "ended" (L-BFGS-B ended by itself before its steps - converged, or no lower loss found),
        "stages" (coarse to fine), "chunks" (a batch in parts), "inputs" (``read_inputs``, as read).
    """

    image: tf.Tensor
    history: dict
    final: dict
    settings: dict
    backbone: str
    backbone_description: str
    wall_time: float
    steps_done: int
    stopped: str | None = None  # why the run was cut short (callback, Ctrl-C, non-finite losses), if it was
    extra: dict = field(default_factory=dict)

    def save(self, path, index: int = 0) -> Path:
        """Write image ``index`` as a PNG and a sidecar ``<path>.json`` (settings,
        backbone, final losses, steps, time, the input files' sha256), both atomically. Not in the paper, nor in a
        notebook (they save figures): README, Quick start; ``python -m styletf stylize -o``."""
        path, _ = writable(path), writable(Path(path).with_suffix(".json"))  # both, before either is written
        inputs = self.extra.get("inputs")  # as read; else (a result made by hand) as they are now
        if inputs is None:
            inputs = read_inputs(self.settings.get("content"), self.settings.get("init"), self.settings.get("style"))
        for source, (resolved, _) in inputs.items():  # as the command line does (preflight.check_inputs_kept)
            if resolved and path.exists() and Path(resolved).is_file() and os.path.samefile(resolved, path):
                raise InputError(f"cannot write {path}: it would overwrite the input {source}; choose another name")
        index = check_number("index", index, integer=True, maximum=len(self.image) - 1)
        save_image(self.image[index], path)
        meta = {
            "settings": self.settings,
            "backbone": self.backbone,
            "backbone_description": self.backbone_description,
            "final_losses": {k: float(v[index]) if np.isfinite(v[index]) else None  # strict JSON: no NaN
                             for k, v in self.final.items()},
            "steps_done": self.steps_done,
            "wall_time_s": round(self.wall_time, 3),
            "stopped": self.stopped,
            "inputs_sha256": {source: sha256 or data.fetched_sha256(source) for source, (_, sha256) in inputs.items()},
        }
        if self.extra.get("ended"):  # L-BFGS-B ended by itself before its steps
            meta["ended"] = self.extra["ended"]
        if "stages" in self.extra:  # coarse to fine: each stage's long side, steps and seconds
            meta["stages"] = [{"size": size, "steps": n, "seconds": t} for size, n, t in self.extra["stages"]]
        atomic_write(path.with_suffix(".json"), json.dumps(meta, indent=2).encode())
        return path


class SynthesisInterrupted(KeyboardInterrupt):
    """Ctrl-C (KeyboardInterrupt) during ``synthesize``: still a KeyboardInterrupt, carrying
    ``result``, the ``SynthesisResult`` of the steps done so far (``stopped`` says so), so
    that no work is lost. Not in the paper, nor in a notebook (README, exit status 130)."""

    def __init__(self, result: "SynthesisResult"):
        super().__init__(result.stopped)
        self.result = result


def describe(source):
    """A JSON-able name for an image argument (paths and keys as given, arrays by shape), for
    the settings: the p and a of docs/method.md, "Losses" (notebook 01 first)."""
    if source is None or isinstance(source, str):
        return source
    if isinstance(source, os.PathLike):
        return os.fspath(source)
    return f"image {tuple(np.shape(source))}"


def _each(value, batch: int) -> list:
    """A setting as one value per image: a per-image list as it is, a scalar repeated."""
    return list(value) if np.ndim(value) else [value] * batch


def join_chunks(results, batch: int, batch_size: int, seed: int) -> SynthesisResult:
    """The results of consecutive chunks of a batch as one: images and losses side by side
    (Figure 3's twenty images in chunks, notebook 04)."""
    steps = min(r.steps_done for r in results)
    first = results[0]
    first.image = tf.concat([r.image for r in results], axis=0)
    first.history = {k: np.concatenate([r.history[k][:steps] for r in results], axis=1) for k in first.history}
    first.final = {k: np.concatenate([r.final[k] for r in results]) for k in first.final}
    first.wall_time = sum(r.wall_time for r in results)
    first.steps_done = steps
    first.stopped = next((r.stopped for r in results if r.stopped), None)
    _join_ended(first, [("", r) for r in results])
    first.settings = {**first.settings, "batch": batch, "batch_size": batch_size, "seed": seed,
                      "alpha": [v for r in results for v in r.settings["alpha"]],
                      "beta": [v for r in results for v in r.settings["beta"]],
                      "style_weights": {k: [v for r in results for v in _each(r.settings["style_weights"][k],
                                                                              r.settings["batch"])]
                                        for k in first.settings["style_weights"]}}
    first.extra["chunks"] = len(results)
    return first


def join_stages(results, sizes, per_stage) -> SynthesisResult:
    """The last stage's result with the histories, steps and time of all stages (coarse to
    fine; not in the paper, notebook 05)."""
    # the stages run (after Ctrl-C, fewer than asked); the settings keep the whole schedule asked for
    stages = [(s_, r.steps_done, round(r.wall_time, 3)) for s_, r in zip(sizes, results)]  # before the sums
    last = results[-1]
    last.history = {k: np.concatenate([r.history[k] for r in results]) for k in last.history}
    last.wall_time = sum(r.wall_time for r in results)
    last.steps_done = sum(r.steps_done for r in results)
    last.settings = {**last.settings, "coarse_to_fine": list(sizes), "steps": list(per_stage)}
    last.extra["stages"] = stages
    _join_ended(last, [(f"{s_} px: ", r) for s_, r in zip(sizes, results)])
    return last


def _join_ended(joined, parts) -> None:
    """``extra["ended"]`` of the joined result: every part's L-BFGS-B early end, each after its label."""
    ended = "; ".join(label + r.extra["ended"] for label, r in parts if "ended" in r.extra)
    joined.extra.pop("ended", None)
    if ended:
        joined.extra["ended"] = ended


def read_inputs(content, init, style) -> dict:
    """{input as named: [its absolute path or None, its sha256 or None]}, taken when the inputs
    are read (so that a file replaced, deleted or left behind by ``os.chdir`` before ``save`` is
    recorded as it was read): catalog keys (the catalog's sha256), files, and URLs (None: what was
    fetched is not kept); arrays have no name, and the starts "noise" and "content" are not files.
    The p and a of docs/method.md, "Losses"; not in a notebook (README, Quick start)."""
    init = None if isinstance(init, str) and init in ("noise", "content") else init
    inputs = {}
    styles = style if isinstance(style, (list, tuple)) else [style]
    for s in (str(s) for s in [content, init, *styles] if isinstance(s, str)):
        if s in data.keys():
            inputs[s] = [None, data.catalog()[s]["sha256"]]
        elif "://" in s:
            inputs[s] = [None, None]
        elif Path(s).is_file():
            inputs[s] = [str(Path(s).resolve()), hashlib.sha256(Path(s).read_bytes()).hexdigest()]
    return inputs
