"""The normalised network (docs/method.md, "Normalisation", from the CVPR version; notebook 03),
and the offline stand-in's calibration (docs/method.md, "The offline stand-in and its calibration").

Every conv filter is rescaled by a positive factor s, each layer also undoing the rescaling
of its inputs. ReLU is positively homogeneous and pooling commutes with a per-channel scale,
so the rescaled F^l is exactly F^l / s^l: the network computes the same up to scale, but the
relative size of the losses - the meaning of alpha/beta - changes.

- ``"mean"`` (the paper's, CVPR): s = the filter's mean activation over a reference set of
  images and all positions, so every filter's mean activation is 1.
- ``"calibrated"`` (the stand-in's, docs/method.md, "The offline stand-in and its calibration"): s = the
  filter's root-mean-square activation, so every filter's Gram diagonal G_ii / M is 1 on the
  reference set, divided by ``CALIBRATION["scale"]`` (x ``CALIBRATION["gain"]`` per layer). On
  the edge-tuned stand-in a few sparse filters fire rarely but strongly: at mean 1 their
  Gram entries are ~100x the others' and swamp every style term (and conv1_1, the colours,
  becomes negligible); at RMS 1 no filter dominates. The scale and the conv1_1 gain were
  calibrated once, by looking at Figures 2 and 3 made with the paper's alpha/beta.

Reference set: the catalog's six images (``styletf.data``), long side ``NORM_SIZE`` px.
A filter that (almost) never fires on it - statistic below ``NORM_FLOOR`` x its layer's
median - is divided by that median instead: divided by ~0 it would dominate every Gram
matrix it enters (on the stand-in: 33 of conv2_1's 128 filters). The statistics are cached
on disk next to the image cache, keyed by the weights themselves (``backbones.fingerprint``,
a hash of the conv arrays: other weights under the same name or path never reuse stale
statistics) and the pooling.
"""
from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path

import numpy as np

from . import data
from .backbones import conv_weights, fingerprint
from .images import load_image
from .paper import normalize as paper

__all__ = ["reference_stats", "factors", "calibrated_factors", "normalized_weights", "cached_stats",
           "NORM_SIZE", "NORM_FLOOR", "CALIBRATION", "MODES"]

NORM_SIZE = 256  # long side of the reference images used to normalise the network
NORM_FLOOR = 0.01  # near-silent filters (statistic < NORM_FLOOR x layer median) use the median
NORM_VERSION = 2  # bump when the reference set or the procedure changes (invalidates caches)
MODES = ("mean", "calibrated")

#: The stand-in's calibration (module doc; docs/method.md, "The offline stand-in and its calibration"):
#: every filter at root-mean-square activation ``scale`` on the reference set, the layers in
#: ``gain`` that much more; ``content_layer`` is the layer whose reconstruction keeps what the
#: paper's conv4_2 keeps (Figure 1): on the edge-tuned stand-in conv4_2 keeps only the skyline.
CALIBRATION = {"scale": 20.0, "gain": {"conv1_1": 3.0}, "content_layer": "conv3_2"}


def reference_stats(features) -> dict:
    """Mean and root-mean-square activation, (N_l,) each, of every filter over the reference
    set and all positions: ``{"mean": {conv: m^l}, "rms": {conv: r^l}}`` (``paper.normalize.statistics``).

    ``features``: the *raw* network, images (1, H, W, 3) -> ``{conv: (1, h, w, N_l)}`` for
    its ``features.layers`` (a ``FeatureExtractor``). docs/method.md, "Normalisation" (CVPR); notebook 03.
    """
    convs = list(features.layers)
    return paper.statistics({n: feats[n] for n in convs} for feats in
                            (features(load_image(key, NORM_SIZE)) for key in data.keys()))


def cached_stats(backbone: str, pooling: str, raw_network) -> dict:
    """``reference_stats(raw_network())`` for a concrete backbone and pooling, read from (or
    written to) the on-disk cache next to the image cache, keyed by the fingerprint of the
    backbone's weights (their content, not their name). A cache file that cannot be read or
    does not hold a finite, non-negative mean and RMS of the right length for every conv layer is
    recomputed and replaced (atomically), with a one-line warning. docs/method.md, "Normalisation";
    notebook 03."""
    name = f"{fingerprint(backbone)}_{pooling}_{NORM_SIZE}px_v{NORM_VERSION}.npz"
    path = data.cache_dir().parent / "normalization" / name
    widths = {n: bias.shape[0] for n, (_, bias) in conv_weights(backbone).items()}  # {conv: N_l}
    problem = None
    if path.exists():
        stats, problem = _read(path, widths)
        if stats is not None:
            return stats
    stats = reference_stats(raw_network())
    try:
        _save(path, {f"{kind}/{n}": v for kind, d in stats.items() for n, v in d.items()})
    except OSError as e:  # a cache we cannot write costs time, not the run
        problem = f"{problem or 'missing'}; recomputed, but not written ({e.strerror or e})"
    else:
        problem = problem and f"{problem}; recomputed and replaced"
    if problem:
        warnings.warn(f"normalisation cache {path}: {problem}", stacklevel=2)
    return stats


def _read(path: Path, widths: dict) -> tuple:
    """(stats, None) from a valid cache file, else (None, what is wrong with it)."""
    try:
        with open(path, "rb") as f, np.load(f, allow_pickle=False) as saved:
            flat = {k: np.asarray(saved[k]) for k in saved.files}
    except Exception as e:  # noqa: BLE001 - a damaged file raises many types (zip, EOF, value, OS)
        return None, f"unreadable ({type(e).__name__})"
    for kind in ("mean", "rms"):
        for n, width in widths.items():
            v = flat.get(f"{kind}/{n}")
            if v is None or v.shape != (width,) or v.dtype.kind != "f":
                return None, f"no valid {kind} for {n}"
            if not (np.all(np.isfinite(v)) and np.all(v >= 0)):
                return None, f"non-finite or negative {kind} for {n}"
    return {kind: {n: flat[f"{kind}/{n}"].astype(np.float32) for n in widths} for kind in ("mean", "rms")}, None


def _save(path: Path, arrays: dict) -> None:
    """Write the cache atomically: a unique temporary file in the same folder, then a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.stem, suffix=".tmp.npz", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)  # a folder in the file's place: IsADirectoryError, reported by the caller
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def factors(means: dict) -> dict:
    """The positive factor s^l (N_l,) of each filter, F'^l = F^l / s^l: its statistic on the
    reference set (the mean m^l for the paper's normalisation), or the layer's median for
    near-silent filters (``paper.normalize.factors``). docs/method.md, "Normalisation" (CVPR); notebook 03."""
    return paper.factors(means, NORM_FLOOR)


def calibrated_factors(rms: dict) -> dict:
    """The stand-in's calibration (module doc): s^l = r^l / (scale x gain_l), from the
    filters' root-mean-square activations r^l on the reference set, floored like ``factors``.
    Not in the paper: it gives the paper's alpha/beta their meaning on another network
    (docs/method.md, "The offline stand-in and its calibration"); notebooks 03 and 04."""
    gain = CALIBRATION["gain"]
    return {name: s / np.float32(CALIBRATION["scale"] * gain.get(name, 1.0))
            for name, s in factors(rms).items()}


def normalized_weights(weights: dict, scale: dict) -> dict:
    """Rescale conv l by 1/s^l on its outputs and by s^(l-1) on its inputs, so that
    F'^l = F^l / s^l (``paper.normalize.rescaled_weights``). ``weights``: ``{conv: (kernel (3, 3, C_in, N),
    bias (N,))}`` in network order (``backbones.conv_weights``); ``scale``: ``{conv: s^l}`` (``factors``).
    docs/method.md, "Normalisation" (CVPR); notebook 03."""
    return paper.rescaled_weights(weights, scale)
