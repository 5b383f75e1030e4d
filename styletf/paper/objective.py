"""What the image must match, and eq. 7.

P^l are the photo's responses F^l(p) on the content layers, A^l the painting's Gram matrices
G^l(a) on the style layers, both computed once before the descent. Eq. 7 is then, per image i
of a batch (the images never interact; Figure 3 optimises twenty at once):

    L_total(p, a, x_i) = alpha_i L_content(p, x_i) + beta_i L_style(a, x_i)   (+ tv_weight TV(x_i))

``features`` below is the network: images (B, H, W, 3) in [0, 1] -> {layer: F^l (B, h, w, N_l)}.

With spatial control (``guidance``, the authors' 2017 follow-up) the targets also hold the output's
guidance channels on each style layer, A^l holds one guided Gram matrix per region, and L_style is
the guided eq. 5; with none, the 2015 objective as it is.
"""
from __future__ import annotations

from dataclasses import dataclass

import tensorflow as tf

from . import guidance, losses

__all__ = ["Targets", "content_targets", "style_target", "Objective"]


@dataclass
class Targets:
    """P^l and A^l."""

    content: dict  # P^l: {layer: (1 or B, h, w, N_l)}
    style: dict  # A^l: {layer: (1 or B, N_l, N_l)}; guided: (1 or B, R, N_l, N_l)
    guides: dict | None = None  # spatial control: T^l_r of the output, {layer: (1, h, w, R)}
    region_weights: object = None  # lambda_r, (R,)


def content_targets(features, photo, layers) -> dict:
    """P^l = F^l(p) on each content layer: {layer: (1 or B, h, w, N_l)}."""
    if not layers:
        return {}
    feats = features(photo)
    return {layer: tf.identity(feats[layer]) for layer in layers}  # (1, h, w, N_l)


def style_target(painting_features, scale=1.0):
    """A^l = G^l(a) of the painting's responses F^l(a) (1 or B, h', w', N_l) -> (1 or B, N_l, N_l).
    Deviation, where the painting and the output differ in size: ``scale`` = M_l / M_l(a), the
    output's positions over the painting's, asks for the same texture per position (eq. 4 sums
    over positions, so G grows with them); the shell folds a blend's weight into it too."""
    return losses.gram_matrix(painting_features) * scale  # (1 or B, N_l, N_l)


class Objective:
    """``objective(x)`` -> ``{"total", "content", "style", "tv"}``, each (B,): eq. 7 and its
    unweighted terms, for images x (B, H, W, 3) in [0, 1].

    ``alpha``, ``beta``: (B,) float32 tensors; ``style_weights``: {layer: w_l}, a float or a (B,)
    tensor; ``tv_weight``: the weight of ``losses.total_variation_loss`` (0: the paper's)."""

    def __init__(self, extractor, targets: Targets, *, alpha, beta, style_weights: dict, tv_weight=0.0):
        self.extractor, self.targets = extractor, targets
        self.alpha, self.beta = alpha, beta  # (B,) each
        self.style_weights, self.tv_weight = style_weights, tv_weight
        self.zeros = tf.zeros([alpha.shape[0]], tf.float32)  # (B,)

    def tensors(self) -> dict:
        """Everything but the network as a nest of tensors (P^l, A^l, alpha, beta, the nonzero w_l,
        tv_weight if not 0): a ``tf.function`` that takes them as arguments serves every objective
        of the same shapes; ``Objective.of`` makes one back."""
        out = {"content": dict(self.targets.content), "style": dict(self.targets.style), "alpha": self.alpha,
               "beta": self.beta, "weights": {k: tf.constant(w, tf.float32) if isinstance(w, (int, float)) else w
                                              for k, w in self.style_weights.items()
                                              if not (isinstance(w, (int, float)) and w == 0)}}
        if self.targets.guides:
            out["guides"], out["region_weights"] = dict(self.targets.guides), self.targets.region_weights
        if self.tv_weight:
            out["tv_weight"] = tf.constant(self.tv_weight, tf.float32)
        return out

    @classmethod
    def of(cls, extractor, tensors: dict) -> "Objective":
        """The objective of ``tensors()`` (a missing w_l is 0, as in ``losses.style_loss``)."""
        return cls(extractor, Targets(content=tensors["content"], style=tensors["style"], guides=tensors.get("guides"),
                                      region_weights=tensors.get("region_weights")), alpha=tensors["alpha"],
                   beta=tensors["beta"], style_weights=tensors["weights"], tv_weight=tensors.get("tv_weight", 0.0))

    def __call__(self, image) -> dict:
        feats = self.extractor(image)  # {layer: (B, h, w, N_l)}
        lc = self.zeros
        for layer, p in self.targets.content.items():
            lc = lc + losses.content_loss(feats[layer], p)  # eq. 1, summed over the content layers, (B,)
        if self.targets.guides:  # spatial control: eq. 5 with guided Gram matrices, per region
            ls = guidance.guided_style_loss(feats, self.targets.guides, self.targets.style,
                                            self.targets.region_weights, self.style_weights)  # (B,)
        else:
            ls = (losses.style_loss(feats, self.targets.style, self.style_weights)  # eq. 5, (B,)
                  if self.targets.style else self.zeros)
        tv_on = tf.is_tensor(self.tv_weight) or self.tv_weight  # a tensor: tensors() holds only a nonzero one
        ltv = losses.total_variation_loss(image) if tv_on else self.zeros
        total = self.alpha * lc + self.beta * ls + self.tv_weight * ltv  # eq. 7, (B,)
        return {"total": total, "content": lc, "style": ls, "tv": ltv}
