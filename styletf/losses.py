"""The paper's losses at the shell's door: each input checked once (type, rank, matching shapes),
then handed to ``styletf.paper.losses``, where the equations are (docs/method.md, "Losses").
Batched: each returns shape (B,). Notebook 00 checks each against numpy and its analytic gradient.

Notation: a layer l has N_l filters and M_l = h * w positions; our F is stored
as (B, h, w, N_l), i.e. per image the paper's N_l x M_l matrix transposed.
Every loss is computed in float32 whatever precision the network ran in.
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf

from .errors import InputError, check_mapping
from .paper import losses as paper

__all__ = ["gram_matrix", "content_loss", "style_layer_loss", "style_loss",
           "total_variation_loss"]


def _checked(name: str, x, ranks: tuple, shape: str):
    """``x`` as a float32 tensor whose rank is in ``ranks``, or an InputError naming ``name`` and
    the ``shape`` it must have. Only static facts are checked (dtype, rank, empty axes), so inside
    a ``tf.function`` this costs nothing per step."""
    try:
        t = x if tf.is_tensor(x) else tf.convert_to_tensor(x)
    except (ValueError, TypeError, OverflowError):
        raise InputError(f"{name} must be a numeric array or tensor of shape {shape}, "
                         f"got {type(x).__name__}") from None
    if not (t.dtype.is_floating or t.dtype.is_integer):
        raise InputError(f"{name} must hold numbers, got dtype {t.dtype.name}")
    if t.shape.rank is not None and t.shape.rank not in ranks:
        raise InputError(f"{name} must have shape {shape}, got {tuple(t.shape)}")
    if 0 in [d for d in t.shape if d is not None]:
        raise InputError(f"{name} is empty: shape {tuple(t.shape)}; it must have shape {shape}")
    return tf.cast(t, tf.float32)


def _match(name: str, a, target: str, b, axes: list):
    """Refuse static shapes of ``b`` (``target``) that cannot pair with ``a`` (``name``): axis i of
    ``a`` against axis j of ``b`` for (i, j) in ``axes``; the batch axis of ``b`` may be 1 (one
    target for every image)."""
    sa, sb = a.shape.as_list(), b.shape.as_list()
    if any(sa[i] is not None and sb[j] is not None and sa[i] != sb[j] for i, j in axes) or (
            sa[0] is not None and sb[0] not in (None, 1, sa[0])):
        raise InputError(f"{target} of shape {tuple(sb)} does not match {name} of shape {tuple(sa)}")


def gram_matrix(features):
    """G^l_ij = sum_k F^l_ik F^l_jk, not normalised (docs/method.md, "Representations"; eq. 3;
    notebook 00). features (B, h, w, N) -> (B, N, N); ``paper.losses.gram_matrix``."""
    return paper.gram_matrix(_checked("features", features, (4,), "(B, h, w, N)"))


def content_loss(features, target):
    """L_content = 1/2 * sum_ij (F^l_ij - P^l_ij)^2 (docs/method.md, eq. 1; notebook 00, then 01).
    features (B, h, w, N), target (B or 1, h, w, N) -> (B,); ``paper.losses.content_loss``."""
    f = _checked("features", features, (4,), "(B, h, w, N)")
    p = _checked("target", target, (4,), "(B or 1, h, w, N)")
    _match("features", f, "target", p, [(1, 1), (2, 2), (3, 3)])
    return paper.content_loss(f, p)


def style_layer_loss(features, target_gram):
    """E_l = 1 / (4 N_l^2 M_l^2) * sum_ij (G^l_ij - A^l_ij)^2 (docs/method.md, eq. 4; notebook 00, then 02).
    features (B, h, w, N), target_gram A (B or 1, N, N) -> (B,); ``paper.losses.style_layer_loss``."""
    f = _checked("features", features, (4,), "(B, h, w, N)")
    a = _checked("target_gram", target_gram, (3,), "(B or 1, N, N)")
    _match("features", f, "target_gram", a, [(3, 1), (3, 2)])
    return paper.style_layer_loss(f, a)


def style_loss(features: dict, target_grams: dict, weights=None):
    """L_style = sum_l w_l E_l (docs/method.md, eq. 5; notebook 02).

    features / target_grams: {layer: (B, h, w, N)} / {layer: (B or 1, N, N)}.
    weights: {layer: w_l} (a float, or a (B,) tensor for per-image weights);
    default w_l = 1 / number of layers. Layers missing from ``weights`` get 0.
    Returns (B,); ``paper.losses.style_loss``.
    """
    check_mapping("features", features)
    layers = list(check_mapping("target_grams", target_grams))
    missing = [layer for layer in layers if layer not in features]
    if missing:
        raise InputError(f"features has no entry for layer(s) {', '.join(map(str, missing))} of target_grams")
    if weights is not None:
        check_mapping("weights", weights, example="{'conv1_1': 0.2}")
        _check_weights(weights)
    features = {layer: _checked(f"features[{layer!r}]", features[layer], (4,), "(B, h, w, N)") for layer in layers}
    grams = {layer: _checked(f"target_grams[{layer!r}]", target_grams[layer], (3,), "(B or 1, N, N)")
             for layer in layers}
    for layer in layers:
        _match(f"features[{layer!r}]", features[layer], f"target_grams[{layer!r}]", grams[layer], [(3, 1), (3, 2)])
    return paper.style_loss(features, grams, weights)


def _check_weights(weights: dict) -> None:
    """Each w_l a finite number >= 0 (a negative one would reward the style's absence)."""
    for layer, w in weights.items():
        if tf.is_tensor(w) and not hasattr(w, "numpy"):
            continue  # symbolic, inside a traced function: checked where it was made
        try:
            if isinstance(w, (str, bytes)):  # numpy would read "1" as 1.0; TensorFlow would not
                raise TypeError
            values = np.asarray(w, dtype=np.float64)
        except (TypeError, ValueError):
            raise InputError(f"weights[{layer!r}] must be a number (or one per image), "
                             f"got {type(w).__name__}") from None
        if not np.all(np.isfinite(values)) or np.any(values < 0):
            raise InputError(f"weights[{layer!r}] must be finite and >= 0 (w_l of eq. 5), got {w!r:.60}; "
                             "leave a layer out of weights to give it 0")


def total_variation_loss(images):
    """Anisotropic total variation: sum over pixels and channels of |x[i+1,j] - x[i,j]|
    + |x[i,j+1] - x[i,j]| (``tf.image.total_variation``). Not in the paper: a common
    extra against high-frequency noise (docs/method.md, "Synthesis"; notebook 05).
    images (B, H, W, 3) in [0, 1] -> (B,); ``paper.losses.total_variation_loss``.
    """
    return paper.total_variation_loss(_checked("images", images, (3, 4), "(B, H, W, 3)"))
