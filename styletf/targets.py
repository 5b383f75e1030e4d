"""What the synthesised image must match, computed once (docs/method.md, "Losses"; notebooks 01-03).

P^l: the photo's responses F^l(p) on the content layers. A^l: the painting's Gram
matrices G^l(a) on the style layers. Beyond the paper (notebook 05): several paintings
blended, A^l = sum_s w_s A^l_s, and a painting taken at another scale than the output,
its Grams rescaled to the output's number of positions.
"""
from __future__ import annotations

from dataclasses import dataclass

import tensorflow as tf

from . import regions as regions_
from .errors import InputError, check_number, check_sequence, check_setting
from .images import load_image
from .paper import guidance
from .paper import objective as paper
from .paper.objective import Targets
from .vgg import FeatureExtractor

__all__ = ["Targets", "check_style_scale", "load", "compute", "content_targets", "style_targets", "as_image", "output_shape",
           "by_region", "guided", "regional", "output_hw", "load_regions"]


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
        low, high = float(tf.reduce_min(image)), float(tf.reduce_max(image))
        if low < -1e-3 or high > 1 + 1e-3:  # the network's own check, named after the argument here
            raise InputError(f"{name}: values must lie in [0, 1], got [{low:.3g}, {high:.3g}]; divide 8-bit data "
                             f"by 255, or use styletf.load_image")
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


def load_regions(content, style, *, size=None, shape=None, style_scale=1.0, style_blend=None, regions=None,
                 region_weights=None, style_masks=None, guidance="inside"):
    """``load``, and with ``regions`` (spatial control, notebook 06) the style per region read flat
    and the masks checked: (content, paintings, blend weights, ``Guide`` or None)."""
    region = regional(style, regions, style_masks, style_blend)  # the style per region, flat
    content, styles, blend = load(content, region[0] if region else style, size=size, shape=shape,
                                  style_scale=style_scale, style_blend=style_blend)
    guide = region and guided(regions, region[2], region[1], region[3], styles, output_hw(content, shape, styles),
                              region_weights, guidance)
    return content, styles, blend, guide or None


def compute(extractor: FeatureExtractor, content, styles, blend, content_layers, style_layers,
            out_hw, guide=None) -> Targets:
    """P^l of the photo and A^l of the paintings, once, before the steps (docs/method.md, "Losses";
    notebook 03); with ``guide`` (``guided``) the guided A^l_r and the output's T^l_r (notebook 06)."""
    content_targets_ = content_targets(extractor, content, content_layers)
    if guide is None:
        return Targets(content=content_targets_, style=style_targets(extractor, styles, blend, style_layers, out_hw))
    grams, guides = guided_style_targets(extractor, styles, guide, style_layers, out_hw)
    return Targets(content=content_targets_, style=grams, guides=guides,
                   region_weights=tf.constant(guide.regions.weights, tf.float32))


def regional(style, regions, style_masks, style_blend):
    """Spatial control's style per region, flat (``by_region``), or None without regions; a style
    dict without regions, or regions without one, is refused (``synthesize``'s door; notebook 06)."""
    if regions is None and style_masks is None and not isinstance(style, dict):
        return None
    if regions is None or not isinstance(style, dict) or not style:
        raise InputError("spatial control takes regions (a colour-coded image or {name: grey mask}) and the style as "
                         "{region: painting}" + (f"; regions given, style is {style!r:.60}" if regions is not None else
                                                 "; the style names regions, and regions= is missing"))
    if style_blend is not None:
        raise InputError("style_blend weighs one style's paintings; with regions give a region several paintings "
                         "as a list (blended equally), and weigh regions with region_weights")
    return by_region(style, style_masks)


def output_hw(content, shape, styles) -> tuple:
    """The output's (H, W): the photo's, else ``shape``, else the first painting's (as ``output_shape``,
    before the network is built; notebook 06)."""
    if content is not None:
        return tuple(content.shape[1:3])
    return tuple(int(v) for v in shape) if shape is not None else tuple(styles[0].shape[1:3])


def by_region(style, style_masks) -> tuple:
    """A style given per region ({region: painting or [paintings]}) as (the paintings in a flat
    list, each one's region index, the region names, each one's own mask source or None); the
    masks ({region: grey mask}) need one painting in their region. Notebook 06."""
    names, flat, owners, masks = list(style), [], [], []
    style_masks = {} if style_masks is None else style_masks
    if not isinstance(style_masks, dict) or set(style_masks) - set(names):
        raise InputError(f"style_masks must be a dict {{region: grey mask}} over the style's regions {names}, "
                         f"got {style_masks!r:.80}")
    for r, name in enumerate(names):
        several = isinstance(style[name], (list, tuple))
        paintings = list(style[name]) if several else [style[name]]
        if not paintings or (several and name in style_masks and len(paintings) > 1):
            raise InputError(f"style[{name!r}]: " + ("give at least one painting" if not paintings else
                                                     "a style mask takes one painting for its region"))
        flat += paintings
        owners += [r] * len(paintings)
        masks += [style_masks.get(name)] * len(paintings)
    return flat, owners, names, masks


@dataclass
class Guide:
    """Spatial control's inputs, checked (``guided``): the output's ``regions`` (``regions.Regions``),
    each painting's region index (``owners``) and own mask or None (``masks``), and ``mode``."""

    regions: object
    owners: list
    masks: list
    mode: str


def guided(regions, names, owners, mask_sources, styles, out_hw, region_weights=None, mode="inside") -> Guide:
    """The regions' masks at the output's size ``out_hw`` and each painting's own mask at its size,
    read and checked (``regions.load``): what ``compute`` takes for spatial control (notebook 06)."""
    if mode not in regions_.GUIDANCE:
        raise InputError(f"guidance must be one of {', '.join(regions_.GUIDANCE)}, got {mode!r:.40}")
    loaded = regions_.load(regions, names, out_hw, region_weights)
    masks = [None if m is None else regions_.painting_mask(m, img.shape[1:3], f"style_masks[{names[r]!r}]")
             for m, img, r in zip(mask_sources, styles, owners)]
    return Guide(loaded, owners, masks, mode)


def guided_style_targets(extractor: FeatureExtractor, styles, guide: Guide, layers, out_hw) -> tuple:
    """({layer: A^l (1, R, N_l, N_l)}, {layer: T^l (1, h, w, R)}): per region the mean of its
    paintings' guided Gram matrices (each under its own mask, else the whole painting) in the
    output's M_l, and the output's guidance channels (``paper.guidance``; notebook 06)."""
    positions = extractor.positions(*out_hw)
    count = [guide.owners.count(r) for r in range(len(guide.regions.names))]
    grams = {layer: [0.0] * len(count) for layer in layers}
    for img, r, mask in zip(styles, guide.owners, guide.masks):
        feats = extractor(img)
        own = guidance.propagate(tf.ones_like(img[..., :1]) if mask is None else mask, extractor.trunk, layers, guide.mode)
        for layer in layers:
            g = guidance.guided_gram(feats[layer], own[layer][..., 0], positions=positions[layer])  # (1, N, N)
            grams[layer][r] = grams[layer][r] + g / count[r]
    out = {layer: tf.stack(grams[layer], axis=1) for layer in layers}  # (1, R, N, N)
    return out, guidance.propagate(guide.regions.masks, extractor.trunk, layers, guide.mode)


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
