"""Spatial control, from the authors' follow-up: Gatys, Ecker, Bethge, Hertzmann & Shechtman,
"Controlling Perceptual Factors in Neural Style Transfer" (CVPR 2017), section 4.

The image is cut into R regions by guidance channels T_r (soft masks in [0, 1], one per region,
given on the pixels). Each region gets its own style target; the 2015 style loss (eq. 4) is taken
per region with *guided* Gram matrices, in which every position counts by its guidance:

    G^l_r,ij = M_l * sum_k T^l_r,k^2 F^l_ik F^l_jk / sum_k T^l_r,k^2          (guided Gram)

    E_l = sum_r lambda_r / (4 N_l^2 M_l^2) sum_ij (G^l_r,ij(x) - A^l_r,ij)^2   (guided eq. 4)

T^l_r is T_r carried to layer l's positions (``propagate``). Dividing by sum_k T^l_r,k^2 is the
follow-up's normalisation of the guidance channels (each channel scaled to unit norm over the
positions): the guided Gram is a weighted mean of the products, so a small region weighs as much
as a large one and is not drowned; the factor M_l puts it in eq. 3's units, so that all-ones
guidance gives eq. 3's Gram, and with one region (lambda = 1) the 2015 loss exactly. A^l_r is the
guided Gram of the region's painting, under that painting's own guidance (the part of the
painting to take the style from; all ones: the whole painting), with the output's M_l.
"""
from __future__ import annotations

import tensorflow as tf

__all__ = ["MODES", "propagate", "guided_gram", "guided_style_layer_loss", "guided_style_loss"]

#: How guidance reaches a layer: "resize" follows the positions (each pooling averages 2 x 2),
#: "inside" keeps only positions whose receptive field lies wholly inside the region.
MODES = ("resize", "inside")


def propagate(guides, names, layers, mode: str = "resize") -> dict:
    """T_r carried through the trunk ``names`` (``network.layer_names`` order) to each of ``layers``.
    guides (1 or B, H, W, R) in [0, 1] -> {layer: (1 or B, h, w, R)}, h, w those of F^l.

    "resize": a pooling layer averages each 2 x 2 window (the trunk's own geometry: the sizes
    floor as F^l's do); soft masks stay soft. "inside" (the follow-up's eroded channels): the
    guidance made binary at 1/2, then each 3 x 3 convolution keeps a position only where all
    nine inputs are inside, and each pooling only where all four are: what remains sees nothing
    of another region. Deviations: the same positions found from the trunk's shape, not by
    probing with noise as the authors did; the image's border (zero padding) counts as inside;
    and where nothing of a region is left at a layer (a small region, a deep layer), that layer
    takes the "resize" channel, so that the region keeps a style term there."""
    soft = tf.cast(guides, tf.float32)  # (B, H, W, R)
    hard = tf.cast(soft >= 0.5, tf.float32)
    out = {}
    for name in names:
        if name.startswith("pool"):
            soft = tf.nn.avg_pool2d(soft, 2, 2, "VALID")  # (B, h/2, w/2, R): the mean of each 2 x 2
            hard = -tf.nn.max_pool2d(-hard, 2, 2, "VALID")  # the min: inside only if all four are
        else:
            hard = -tf.nn.max_pool2d(-hard, 3, 1, "SAME")  # (B, h, w, R): the min of each 3 x 3 (padding ignored)
        if name in layers:
            left = tf.reduce_max(hard, axis=[1, 2], keepdims=True) > 0  # (B, 1, 1, R): anything inside left
            out[name] = soft if mode == "resize" else tf.where(left, hard, soft)
        if len(out) == len(layers):
            break
    return out


def guided_gram(features, guide, positions=None):
    """The guided Gram (module doc): features (B, h, w, N), guide (1 or B, h, w) -> (B, N, N).
    ``positions``: the M_l it is expressed in (default h * w; a painting's target takes the
    output's, as eq. 4's A^l does). A guide with no weight gives zeros."""
    f = tf.cast(features, tf.float32)  # (B, h, w, N)
    t = tf.cast(guide, tf.float32)  # (1 or B, h, w)
    m = tf.cast(tf.shape(f)[1] * tf.shape(f)[2], tf.float32) if positions is None else float(positions)
    area = tf.reduce_sum(tf.square(t), axis=[1, 2])  # (1 or B,): sum_k T_k^2
    ft = f * t[..., None]  # (B, h, w, N): each response weighted by its position's guidance
    g = tf.einsum("bhwi,bhwj->bij", ft, ft)  # (B, N, N): sum_k T_k^2 F_ik F_jk
    return g * (m / tf.maximum(area, 1e-12))[:, None, None]


def guided_style_layer_loss(features, guides, target_grams, region_weights):
    """Guided eq. 4 on one layer: sum_r lambda_r E_l,r. features (B, h, w, N), guides (1 or B, h, w, R),
    target_grams (1 or B, R, N, N): A^l_r, region_weights (R,): lambda_r -> (B,)."""
    f = tf.cast(features, tf.float32)
    shape = tf.shape(f)
    m = tf.cast(shape[1] * shape[2], tf.float32)  # M_l
    n = tf.cast(shape[3], tf.float32)  # N_l
    total = tf.zeros(shape[:1])
    for r in range(guides.shape[-1]):
        # as in losses.style_layer_loss: ((G - A) / (2 N M))^2 summed, inside float32's range
        d = (guided_gram(f, guides[..., r]) - tf.cast(target_grams[:, r], tf.float32)) / (2.0 * n * m)  # (B, N, N)
        total += tf.cast(region_weights[r], tf.float32) * tf.reduce_sum(tf.square(d), axis=[1, 2])
    return total


def guided_style_loss(features: dict, guides: dict, target_grams: dict, region_weights, weights=None):
    """Eq. 5 with guided layers: L_style = sum_l w_l sum_r lambda_r E_l,r. features {layer: (B, h, w, N_l)},
    guides {layer: (1 or B, h, w, R)}, target_grams {layer: (1 or B, R, N_l, N_l)}, region_weights (R,),
    weights {layer: w_l} (default 1 / number of layers; missing: 0). Returns (B,)."""
    layers = list(target_grams)
    if weights is None:
        weights = {layer: 1.0 / len(layers) for layer in layers}
    total = tf.zeros(tf.shape(features[layers[0]])[:1])  # (B,)
    for layer in layers:
        w = weights.get(layer, 0.0)
        if isinstance(w, (int, float)) and w == 0:
            continue
        total += tf.cast(w, tf.float32) * guided_style_layer_loss(features[layer], guides[layer], target_grams[layer],
                                                                  region_weights)
    return total
