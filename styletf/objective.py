"""The objective (docs/method.md, "Losses", eq. 7), per image of a batch (notebook 03); the equation
itself is ``styletf.paper.objective.Objective``, here the door that checks its weights:

    L_total(p, a, x) = alpha * L_content(p, x) + beta * L_style(a, x)   (+ tv_weight * TV(x))

summing eq. 1 over the content layers and eq. 5 over the style layers. Image i of a
batch has its own alpha_i, beta_i and w_l,i; the images never interact (Figure 3,
notebook 04, optimises twenty at once).
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf

from .errors import InputError, check_number
from .paper.objective import Objective

__all__ = ["Objective", "per_image"]


def per_image(name, value, batch):
    """A scalar or a length-``batch`` sequence of numbers >= 0 -> (B,) float32 tensor: alpha,
    beta or w_l per image (docs/method.md, eq. 7; Figure 3, notebook 04)."""
    values = list(value) if isinstance(value, (list, tuple, np.ndarray)) else [value] * batch
    if len(values) != batch:
        raise InputError(f"{name} has {len(values)} values for a batch of {batch}")
    return tf.constant([check_number(name, v) for v in values], tf.float32)
