"""The normalised network (the CVPR version of the paper): every filter rescaled so that its mean
activation over a set of images and all positions is 1.

A filter's rescaling by s > 0 is undone in the next layer's weights. ReLU is positively
homogeneous and pooling commutes with a per-channel scale, so the rescaled network computes
F'^l = F^l / s^l exactly: the same network up to scale, but the relative size of the losses,
the meaning of alpha/beta, changes. The statistics come from the shell (which images, cached
where): here only the arithmetic.
"""
from __future__ import annotations

import numpy as np

__all__ = ["statistics", "factors", "rescaled_weights"]


def statistics(responses) -> dict:
    """The mean and the root-mean-square activation (N_l,) of every filter over the images and
    all positions: ``{"mean": {layer: m^l}, "rms": {layer: r^l}}``, each image weighing the same.
    responses: for each image, ``{layer: F^l (1, h, w, N_l)}`` of the *raw* network."""
    sums, squares, count = {}, {}, 0
    for feats in responses:
        count += 1
        for layer, f in feats.items():
            f = np.asarray(f, np.float64)  # (1, h, w, N_l)
            sums[layer] = sums.get(layer, 0.0) + f.mean(axis=(0, 1, 2))  # (N_l,)
            squares[layer] = squares.get(layer, 0.0) + (f ** 2).mean(axis=(0, 1, 2))
    return {"mean": {n: (v / count).astype(np.float32) for n, v in sums.items()},
            "rms": {n: np.sqrt(v / count).astype(np.float32) for n, v in squares.items()}}


def factors(stats: dict, floor: float = 0.01) -> dict:
    """The factor s^l (N_l,) of each filter, F'^l = F^l / s^l: its statistic (the paper's: the mean
    activation m^l). Deviation: a filter that (almost) never fires, statistic below ``floor`` x
    its layer's median, is divided by that median instead; divided by ~0 it would swamp every
    Gram matrix it enters. stats {layer: (N_l,)} -> {layer: (N_l,)}, every factor > 0."""
    out = {}
    for name, m in stats.items():
        median = float(np.median(m[m > 0])) if np.any(m > 0) else 1.0
        out[name] = np.where(m >= floor * median, m, median).astype(np.float32)
    return out


def rescaled_weights(weights: dict, scale: dict) -> dict:
    """Conv l's weights divided by s^l on its outputs and multiplied by s^(l-1) on its inputs, so
    that the network computes F'^l = F^l / s^l. weights {conv: (kernel (3, 3, C_in, N_l), bias
    (N_l,))} in network order; scale {conv: s^l (N_l,)} (``factors``)."""
    out, prev = {}, None
    for name, (kernel, bias) in weights.items():
        s = scale[name]  # (N_l,)
        kernel = kernel / s  # outputs divided by s^l
        if prev is not None:
            kernel = kernel * prev[None, None, :, None]  # its inputs arrive divided by s^(l-1)
        out[name] = (kernel.astype(np.float32), (bias / s).astype(np.float32))
        prev = s
    return out
