"""The losses of the Methods section, batched: each returns shape (B,), one value per image.

Notation as in the paper: a layer l has N_l filters and M_l = h * w positions. Its responses
F^l are stored as (B, h, w, N_l), per image the paper's N_l x M_l matrix transposed. Every
loss is computed in float32, whatever precision the network ran in. The inputs are taken as
they come: ``styletf.losses`` checks shapes and types at the door, then calls these.
"""
from __future__ import annotations

import tensorflow as tf

__all__ = ["gram_matrix", "content_loss", "style_layer_loss", "style_loss", "total_variation_loss"]


def gram_matrix(features):
    """Eq. 3: G^l_ij = sum_k F^l_ik F^l_jk, the inner products of the filters' responses over
    all positions (not normalised: the paper's G). features (B, h, w, N) -> (B, N, N)."""
    f = tf.cast(features, tf.float32)  # (B, h, w, N)
    return tf.einsum("bhwi,bhwj->bij", f, f)  # (B, N, N)


def content_loss(features, target):
    """Eq. 1: L_content = 1/2 sum_ij (F^l_ij - P^l_ij)^2, P^l the photo's responses.
    features (B, h, w, N), target (B or 1, h, w, N) -> (B,)."""
    d = tf.cast(features, tf.float32) - tf.cast(target, tf.float32)  # (B, h, w, N)
    return 0.5 * tf.reduce_sum(tf.square(d), axis=[1, 2, 3])


def style_layer_loss(features, target_gram):
    """Eq. 4: E_l = 1 / (4 N_l^2 M_l^2) sum_ij (G^l_ij - A^l_ij)^2, A^l the painting's Gram matrix.
    features (B, h, w, N), target_gram (B or 1, N, N) -> (B,)."""
    f = tf.cast(features, tf.float32)
    shape = tf.shape(f)
    m = tf.cast(shape[1] * shape[2], tf.float32)  # M_l = h * w
    n = tf.cast(shape[3], tf.float32)  # N_l
    # Deviation in form only: ((G - A) / (2 N M))^2 summed is eq. 4's value, and stays inside
    # float32's range at 512 px and beyond, where (G - A)^2 itself would not.
    d = (gram_matrix(f) - tf.cast(target_gram, tf.float32)) / (2.0 * n * m)  # (B, N, N)
    return tf.reduce_sum(tf.square(d), axis=[1, 2])


def style_loss(features: dict, target_grams: dict, weights=None):
    """Eq. 5: L_style = sum_l w_l E_l over the layers of ``target_grams``.

    features {layer: (B, h, w, N_l)}, target_grams {layer: (B or 1, N_l, N_l)}; weights {layer:
    w_l}, a float or a (B,) tensor (one w_l per image, Figure 3), default w_l = 1 / number of
    layers (the paper's); a layer missing from ``weights`` has w_l = 0. Returns (B,)."""
    layers = list(target_grams)
    if weights is None:
        weights = {layer: 1.0 / len(layers) for layer in layers}
    total = 0.0
    for layer in layers:
        w = weights.get(layer, 0.0)
        if isinstance(w, (int, float)) and w == 0:  # w_l = 0: the layer's term is not computed
            continue
        total += tf.cast(w, tf.float32) * style_layer_loss(features[layer], target_grams[layer])
    return total + tf.zeros(tf.shape(features[layers[0]])[:1])  # (B,), even where every w_l = 0


def total_variation_loss(images):
    """Not in the paper (a common extra against high-frequency noise): anisotropic total variation,
    sum over pixels and channels of |x[i+1,j] - x[i,j]| + |x[i,j+1] - x[i,j]|
    (``tf.image.total_variation``). images (B, H, W, 3) -> (B,)."""
    return tf.image.total_variation(tf.cast(images, tf.float32))
