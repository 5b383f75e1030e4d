"""The paper's losses (docs/method.md, "Losses"), batched: each returns shape (B,).
Notebook 00 checks each against numpy and its analytic gradient.

Notation: a layer l has N_l filters and M_l = h * w positions; our F is stored
as (B, h, w, N_l), i.e. per image the paper's N_l x M_l matrix transposed.
Every loss is computed in float32 whatever precision the network ran in.
"""
from __future__ import annotations

import tensorflow as tf

__all__ = ["gram_matrix", "content_loss", "style_layer_loss", "style_loss",
           "total_variation_loss"]


def _f32(x):
    return tf.cast(x, tf.float32)


def gram_matrix(features):
    """G^l_ij = sum_k F^l_ik F^l_jk, not normalised (docs/method.md, "Representations"; eq. 3;
    notebook 00).

    features (B, h, w, N) -> (B, N, N).
    """
    f = _f32(features)
    return tf.einsum("bhwi,bhwj->bij", f, f)  # (B, N, N)


def content_loss(features, target):
    """L_content = 1/2 * sum_ij (F^l_ij - P^l_ij)^2 (docs/method.md, eq. 1; notebook 00, then 01).

    features (B, h, w, N), target (B or 1, h, w, N) -> (B,).
    """
    d = _f32(features) - _f32(target)  # (B, h, w, N)
    return 0.5 * tf.reduce_sum(tf.square(d), axis=[1, 2, 3])


def style_layer_loss(features, target_gram):
    """E_l = 1 / (4 N_l^2 M_l^2) * sum_ij (G^l_ij - A^l_ij)^2 (docs/method.md, eq. 4; notebook 00, then 02).

    features (B, h, w, N), target_gram A (B or 1, N, N) -> (B,). Computed as
    sum(((G - A) / (2 N M))^2), the same value, to stay inside float32's range
    at 512 px and beyond.
    """
    f = _f32(features)
    shape = tf.shape(f)
    m = tf.cast(shape[1] * shape[2], tf.float32)  # M_l = h * w
    n = tf.cast(shape[3], tf.float32)  # N_l
    d = (gram_matrix(f) - _f32(target_gram)) / (2.0 * n * m)  # (B, N, N)
    return tf.reduce_sum(tf.square(d), axis=[1, 2])


def style_loss(features: dict, target_grams: dict, weights=None):
    """L_style = sum_l w_l E_l (docs/method.md, eq. 5; notebook 02).

    features / target_grams: {layer: (B, h, w, N)} / {layer: (B or 1, N, N)}.
    weights: {layer: w_l} (a float, or a (B,) tensor for per-image weights);
    default w_l = 1 / number of layers. Layers missing from ``weights`` get 0.
    Returns (B,).
    """
    layers = list(target_grams)
    if weights is None:
        weights = {layer: 1.0 / len(layers) for layer in layers}
    total = 0.0
    for layer in layers:
        w = weights.get(layer, 0.0)
        if isinstance(w, (int, float)) and w == 0:
            continue
        total += _f32(w) * style_layer_loss(features[layer], target_grams[layer])
    return total + tf.zeros(tf.shape(features[layers[0]])[:1])  # (B,) even if all w_l = 0


def total_variation_loss(images):
    """Anisotropic total variation: sum over pixels and channels of |x[i+1,j] - x[i,j]|
    + |x[i,j+1] - x[i,j]| (``tf.image.total_variation``). Not in the paper: a common
    extra against high-frequency noise (docs/method.md, "Synthesis"; notebook 05).
    images (B, H, W, 3) in [0, 1] -> (B,).
    """
    return tf.image.total_variation(_f32(images))
