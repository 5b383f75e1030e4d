"""The objective (docs/method.md, "Losses", eq. 7), per image of a batch (notebook 03):

    L_total(p, a, x) = alpha * L_content(p, x) + beta * L_style(a, x)   (+ tv_weight * TV(x))

summing eq. 1 over the content layers and eq. 5 over the style layers. Image i of a
batch has its own alpha_i, beta_i and w_l,i; the images never interact (Figure 3,
notebook 04, optimises twenty at once).
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf

from . import losses
from .errors import InputError, check_number
from .targets import Targets
from .vgg import FeatureExtractor

__all__ = ["Objective", "per_image"]


def per_image(name, value, batch):
    """A scalar or a length-``batch`` sequence of numbers >= 0 -> (B,) float32 tensor: alpha,
    beta or w_l per image (docs/method.md, eq. 7; Figure 3, notebook 04)."""
    values = list(value) if isinstance(value, (list, tuple, np.ndarray)) else [value] * batch
    if len(values) != batch:
        raise InputError(f"{name} has {len(values)} values for a batch of {batch}")
    return tf.constant([check_number(name, v) for v in values], tf.float32)


class Objective:
    """``objective(x)`` -> ``{"total", "content", "style", "tv"}``, each (B,): L_total of eq. 7
    and its unweighted terms, for images x (B, H, W, 3) in [0, 1] (docs/method.md, "Losses";
    notebook 03).

    ``alpha``, ``beta``: (B,) tensors (``per_image``); ``style_weights``: {layer: w_l}, a float
    or a (B,) tensor; ``tv_weight``: weight of ``losses.total_variation_loss`` (0: the paper's).
    """

    def __init__(self, extractor: FeatureExtractor, targets: Targets, *, alpha, beta,
                 style_weights: dict, tv_weight: float = 0.0):
        self.extractor, self.targets = extractor, targets
        self.alpha, self.beta = alpha, beta  # (B,) each
        self.style_weights, self.tv_weight = style_weights, tv_weight
        self.zeros = tf.zeros([alpha.shape[0]], tf.float32)  # (B,)

    def tensors(self) -> dict:
        """Everything but the network as a nest of tensors (targets, alpha, beta, the nonzero w_l,
        tv_weight if not 0), for a ``tf.function`` that takes them as arguments and so serves
        every objective of the same shapes (``optimize``); ``Objective.of`` makes one back. The
        objective of eq. 7 (docs/method.md, "Losses"; every synthesis of notebooks 01-05)."""
        out = {"content": dict(self.targets.content), "style": dict(self.targets.style), "alpha": self.alpha,
               "beta": self.beta, "weights": {k: tf.constant(w, tf.float32) if isinstance(w, (int, float)) else w
                                              for k, w in self.style_weights.items()
                                              if not (isinstance(w, (int, float)) and w == 0)}}
        if self.tv_weight:
            out["tv_weight"] = tf.constant(self.tv_weight, tf.float32)
        return out

    @classmethod
    def of(cls, extractor: FeatureExtractor, tensors: dict) -> "Objective":
        """The objective of ``tensors()`` (a missing w_l is 0, as in ``losses.style_loss``): eq. 7
        (docs/method.md, "Losses"; notebooks 01-05)."""
        return cls(extractor, Targets(content=tensors["content"], style=tensors["style"]), alpha=tensors["alpha"],
                   beta=tensors["beta"], style_weights=tensors["weights"], tv_weight=tensors.get("tv_weight", 0.0))

    def __call__(self, image) -> dict:
        feats = self.extractor(image)  # {layer: (B, h, w, N_l)}
        lc = self.zeros
        for layer, p in self.targets.content.items():
            lc = lc + losses.content_loss(feats[layer], p)  # eq. 1, (B,)
        ls = (losses.style_loss(feats, self.targets.style, self.style_weights)  # eq. 5, (B,)
              if self.targets.style else self.zeros)
        tv_on = tf.is_tensor(self.tv_weight) or self.tv_weight  # a tensor: tensors() holds only a nonzero one
        ltv = losses.total_variation_loss(image) if tv_on else self.zeros
        total = self.alpha * lc + self.beta * ls + self.tv_weight * ltv  # eq. 7, (B,)
        return {"total": total, "content": lc, "style": ls, "tv": ltv}
