"""The normalised network (docs/method.md, "Normalisation", from the CVPR version; notebook 03).

Every conv filter is rescaled so that its mean activation over a reference set of
images and all positions is 1, each layer also undoing the rescaling of its inputs.
ReLU is positively homogeneous and pooling commutes with a per-channel scale, so the
normalised F^l is exactly F^l / s^l (one positive factor per filter): the network
computes the same up to scale, but the relative size of the losses - the meaning of
alpha/beta - becomes the paper's.

Reference set: the catalog's six images (``styletf.data``), long side ``NORM_SIZE`` px.
A filter that (almost) never fires on it - mean below ``NORM_FLOOR`` x its layer's
median - is divided by that median instead: divided by ~0 it would dominate every Gram
matrix it enters (on the stand-in: 33 of conv2_1's 128 filters). The means are cached
on disk next to the image cache, keyed by the weights themselves (``backbones.fingerprint``,
a hash of the conv arrays: other weights under the same name or path never reuse stale
means) and the pooling.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from . import data
from .backbones import fingerprint
from .images import load_image

__all__ = ["reference_means", "factors", "normalized_weights", "cached_means",
           "NORM_SIZE", "NORM_FLOOR"]

NORM_SIZE = 256  # long side of the reference images used to normalise the network
NORM_FLOOR = 0.01  # near-silent filters (mean < NORM_FLOOR x layer median) are scaled by the median
NORM_VERSION = 1  # bump when the reference set or the procedure changes (invalidates caches)


def reference_means(features) -> dict:
    """Mean activation m^l (N_l,) of every filter over the reference set and all positions.

    ``features``: the *raw* network, images (1, H, W, 3) -> ``{conv: (1, h, w, N_l)}`` for
    its ``features.layers`` (a ``FeatureExtractor``). docs/method.md, "Normalisation" (CVPR); notebook 03.
    """
    convs = list(features.layers)
    sums = {n: 0.0 for n in convs}
    for key in data.keys():
        feats = features(load_image(key, NORM_SIZE))
        for n in convs:
            sums[n] = sums[n] + np.asarray(feats[n], np.float64).mean(axis=(0, 1, 2))  # (N_l,)
    return {n: (sums[n] / len(data.keys())).astype(np.float32) for n in convs}


def cached_means(backbone: str, pooling: str, raw_network) -> dict:
    """``reference_means(raw_network())`` for a concrete backbone and pooling, read from (or
    written to) the on-disk cache next to the image cache, keyed by the fingerprint of the
    backbone's weights (their content, not their name). docs/method.md, "Network"; notebook 03."""
    name = f"{fingerprint(backbone)}_{pooling}_{NORM_SIZE}px_v{NORM_VERSION}.npz"
    path = data.cache_dir().parent / "normalization" / name
    if path.is_file():
        with np.load(path) as saved:
            return {k: saved[k] for k in saved.files}
    means = reference_means(raw_network())
    _save(path, means)
    return means


def _save(path: Path, means: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, **means)
    os.replace(tmp, path)


def factors(means: dict) -> dict:
    """The positive factor s^l (N_l,) of each filter, F'^l = F^l / s^l: its mean activation m^l
    on the reference set, or the layer's median for near-silent filters (module doc).
    docs/method.md, "Normalisation" (CVPR); notebook 03."""
    out = {}
    for name, m in means.items():
        median = float(np.median(m[m > 0])) if np.any(m > 0) else 1.0
        out[name] = np.where(m >= NORM_FLOOR * median, m, median).astype(np.float32)
    return out


def normalized_weights(weights: dict, scale: dict) -> dict:
    """Rescale conv l by 1/s^l on its outputs and by s^(l-1) on its inputs, so that
    F'^l = F^l / s^l. ``weights``: ``{conv: (kernel (3, 3, C_in, N), bias (N,))}`` in network
    order (``backbones.conv_weights``); ``scale``: ``{conv: s^l}`` (``factors``).
    docs/method.md, "Normalisation" (CVPR); notebook 03."""
    out, prev = {}, None
    for name, (kernel, bias) in weights.items():
        m = scale[name]  # (N,)
        kernel = kernel / m  # outputs: divide by m^l
        if prev is not None:
            kernel = kernel * prev[None, None, :, None]  # inputs arrive divided by m^(l-1)
        out[name] = (kernel.astype(np.float32), (bias / m).astype(np.float32))
        prev = m
    return out
