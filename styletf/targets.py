"""What the synthesised image must match, computed once (docs/method.md, "Losses"; notebooks 01-03).

P^l: the photo's responses F^l(p) on the content layers. A^l: the painting's Gram
matrices G^l(a) on the style layers. Beyond the paper (notebook 05): several paintings
blended, A^l = sum_s w_s A^l_s, and a painting taken at another scale than the output,
its Grams rescaled to the output's number of positions.
"""
from __future__ import annotations

import tensorflow as tf

from .errors import InputError, check_number, check_sequence, check_setting
from .images import load_image
from .paper import objective as paper
from .paper.objective import Targets
from .vgg import FeatureExtractor

__all__ = ["Targets", "check_style_scale", "load", "compute", "content_targets", "style_targets", "as_image", "output_shape"]


def as_image(source, size, name, batch=None):
    """``load_image(source, size)``, its errors prefixed with the input's ``name``; a (B, H, W, 3)
    tensor is taken as it is when no ``size`` is asked (B: 1 or ``batch``, if given), its values
    checked finite. None stays None. The images p and a of docs/method.md, "Losses" (notebook 01 first)."""
    if source is None:
        return None
    if isinstance(source, (tf.Tensor, tf.Variable)) and size is None:
        image = tf.convert_to_tensor(source, tf.float32)
        if image.shape.rank != 4 or image.shape[-1] != 3 or 0 in image.shape:
            raise InputError(f"{name}: expected shape (B, H, W, 3), got {tuple(image.shape)}")
        if batch is not None and image.shape[0] not in (1, batch):
            raise InputError(f"{name} holds {image.shape[0]} images for a batch of {batch}: give one, or one per image")
        if not bool(tf.reduce_all(tf.math.is_finite(image))):
            raise InputError(f"{name}: has NaN or infinite values; give an image in [0, 1]")
        return image
    try:
        return load_image(source, max_size=size)
    except InputError as e:
        raise InputError(f"{name}: {e}") from None


def check_style_scale(style_scale) -> float:
    """The paintings' size relative to the output: a number in [0.01, 100] (``stylize``'s and
    ``synthesize``'s door; notebook 05)."""
    return check_setting("style_scale", style_scale)


def load(content, style, *, size=None, shape=None, style_scale=1.0, style_blend=None):
    """The photo p and the paintings a as tensors, and the paintings' blend weights w_s.

    ``content`` at ``size`` (long side, px); each painting at ``style_scale`` times the
    output's long side (``size``, else the photo's, else ``shape``'s; with none of them, at
    ``style_scale`` times its own), so 0.5 gives strokes half as large. ``style_blend``: one
    weight per painting (default equal), scaled to sum 1. Returns (content (1 or B, H, W, 3)
    or None, [painting (1 or B, H', W', 3)], [w_s]). docs/method.md, "Losses"; notebooks 01-03, 05.
    """
    styles = list(style) if isinstance(style, (list, tuple)) else ([] if style is None else [style])
    size = None if size is None else check_setting("size", size)
    if shape is not None:
        shape = [check_setting("size", v, "shape")
                 for v in check_sequence("shape", shape, length=2, what="(H, W)")]
    content = as_image(content, size, "content")
    if isinstance(style, (list, tuple)) and not styles:
        raise InputError("style is an empty list: give at least one style image")
    if content is None and not styles:
        raise InputError("give a content image, a style image, or both")
    # the style images' long side: style_scale times the output's
    reference_side = size or (max(content.shape[1:3]) if content is not None else None) or (
        max(shape) if shape is not None else None)
    loaded = []
    for k, source in enumerate(styles):
        name = f"style {k + 1}" if len(styles) > 1 else "style"
        if source is None:
            raise InputError(f"{name} is None: give an image (a catalog key, a path, a URL, a PIL image or an array)")
        if reference_side is not None:
            loaded.append(as_image(source, max(1, round(reference_side * style_scale)), name))
        else:  # style reconstruction at the style's own size: scale the style itself
            img = as_image(source, None, name)
            loaded.append(img if style_scale == 1 else
                          as_image(img, max(1, round(max(img.shape[1:3]) * style_scale)), name))
    return content, loaded, _blend_weights(style_blend, loaded)


def _blend_weights(style_blend, styles) -> list[float]:
    if style_blend is None:
        blend = [1.0] * len(styles)
    else:
        if isinstance(style_blend, (str, dict)) or not hasattr(style_blend, "__len__") or len(style_blend) != len(styles):
            raise InputError(f"style_blend needs one weight per style image ({len(styles)}), "
                             f"got {style_blend!r}")
        blend = [check_number("style_blend", w) for w in style_blend]
        if styles and sum(blend) == 0:
            raise InputError("style_blend weights are all 0: give at least one positive weight")
    return [w / sum(blend) for w in blend]


def content_targets(extractor: FeatureExtractor, content, layers) -> dict:
    """P^l = F^l(p) on each content layer: {layer: (1 or B, h, w, N_l)} (docs/method.md, "Losses";
    Figure 1, top row; notebook 01)."""
    return paper.content_targets(extractor, content, layers)


def style_targets(extractor: FeatureExtractor, styles, blend, layers, out_hw) -> dict:
    """A^l = sum_s w_s G^l(a_s) * M_l / M_l(a_s) on each style layer: {layer: (1 or B, N_l, N_l)}.

    G^l is eq. 3's Gram matrix; M_l the output's number of positions (``out_hw`` = (H, W)),
    M_l(a_s) the painting's, so a painting of another size or shape asks for the same
    texture per position. The blend's loss differs from sum_s w_s E_l(s) by a constant only,
    so its gradient is that of the weighted sum of per-style losses (jcjohnson's
    neural-style blends that way), at the cost of one. docs/method.md, "Losses"; Figure 1, bottom
    row; notebook 02 (blends and scale: notebook 05).
    """
    grams = {}
    positions = extractor.positions(*out_hw)  # {layer: M_l of the output}
    for w, img in zip(blend, styles):
        if not layers or w == 0:
            continue
        feats = extractor(img)
        for layer in layers:
            m_style = feats[layer].shape[1] * feats[layer].shape[2]  # M_l of this style image
            a = paper.style_target(feats[layer], w * positions[layer] / m_style)  # (1 or B, N, N)
            grams[layer] = a if layer not in grams else grams[layer] + a
    return grams


def compute(extractor: FeatureExtractor, content, styles, blend, content_layers, style_layers,
            out_hw) -> Targets:
    """P^l of the photo and A^l of the paintings, once, before the steps (docs/method.md, "Losses";
    notebook 03)."""
    return Targets(content=content_targets(extractor, content, content_layers),
                   style=style_targets(extractor, styles, blend, style_layers, out_hw))


def output_shape(extractor, content, styles, shape, batch) -> tuple:
    """(B, H, W, 3) of the output: the photo's size, else ``shape``, else the painting's; every
    input checked against the batch and the network's smallest size. The synthesised image x of
    docs/method.md, "Synthesis" (notebook 01 first)."""
    if content is not None:
        out_shape = (batch, *content.shape[1:3], 3)
    elif shape is not None:
        out_shape = (batch, int(shape[0]), int(shape[1]), 3)
    else:
        out_shape = (batch, *styles[0].shape[1:3], 3)
    named = [("content", content)] + [(f"style {k + 1}" if len(styles) > 1 else "style", img)
                                      for k, img in enumerate(styles)]
    for name, img in named:
        if img is not None and img.shape[0] not in (1, batch):
            raise InputError(f"{name} holds {img.shape[0]} images for a batch of {batch}: give one "
                             f"image for all, or one per image of the batch")
        if img is not None:
            try:
                extractor.check_size(*img.shape[1:3])
            except InputError as e:
                raise InputError(f"{name}: {e}") from None
    extractor.check_size(*out_shape[1:3])
    return out_shape
