"""Regions for spatial control (Gatys et al. 2017, section 4; docs/method.md, "Spatial control";
notebook 06): which pixels of the photo take which painting, read and checked once, at the door.

Two ways to give them:
- one colour-coded image, one flat colour per region (``regions="masks.png"``); the style is then
  a dict keyed by colours: ``{"blue": "starry_night", "#ffffff": "the_scream"}`` (CSS names or hex);
- grey masks by name (``regions={"sky": "sky.png", "town": "town.png"}``, soft masks allowed:
  white is in, black out), with the style keyed by those names.

A mask is made for its photo: any resolution of the photo's shape is resized to the working
size (antialiased: a colour-coded mask gets soft edges there); another shape is refused. Pixels of
JPEG-like noise take the nearest colour named; colours nobody named, regions without pixels and
keys that are no colour are one clear error each.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import tensorflow as tf
from PIL import ImageColor

from .errors import InputError, check_mapping, check_number
from .images import read_image
from .result import describe

__all__ = ["Regions", "load", "GUIDANCE", "ASPECT_TOLERANCE"]

#: How the masks reach each layer (``paper.guidance.MODES``): "inside", the default, keeps only
#: positions that see their own region alone (notebook 06 shows why); "resize" averages them down.
GUIDANCE = ("inside", "resize")
#: A mask whose width/height differs from the photo's by more than this share was made for another picture.
ASPECT_TOLERANCE = 0.02
#: A pixel farther than this from every colour named (RGB in [0, 1], Euclidean) is in no named region.
_COLOUR_DISTANCE = 0.25
#: Unnamed pixels beyond this share of the image make an error naming their colour.
_UNNAMED_SHARE = 0.005


@dataclass
class Regions:
    """The regions of a run: ``names`` (the style dict's keys, in its order), ``masks`` (1, H, W, R)
    float32 in [0, 1] at the photo's working size, ``weights`` (R,) lambda_r summing to 1,
    ``source`` (how the masks were given, for the settings) and ``colours`` ({name: "#rrggbb"} for
    a colour-coded image)."""

    names: list
    masks: tf.Tensor
    weights: np.ndarray
    source: object
    colours: dict


def load(regions, names, shape, weights=None, name="regions") -> Regions:
    """The masks of ``regions`` (module doc) for the region ``names`` (the style dict's keys), at
    ``shape`` = (H, W), the photo's working size; ``weights``: {name: lambda_r} (default equal),
    scaled to sum 1."""
    names = list(names)
    if isinstance(regions, dict):
        check_mapping(name, regions, example="{'sky': 'sky.png', 'town': 'town.png'}")
        _same_names(names, list(regions), name)
        masks = [_grey(regions[n], f"{name}[{n!r}]") for n in names]
        colours = {}
    else:
        image = read_image(regions, None, name)[0].numpy()  # (h, w, 3) in [0, 1], at its own size
        colours = {n: _colour(n) for n in names}
        masks = _by_colour(image, colours, name)
    resized = [_resized(m, shape, f"{name}[{n!r}]" if isinstance(regions, dict) else name) for n, m in zip(names, masks)]
    for n, m in zip(names, resized):
        if float(m.max()) < 0.5:  # nothing left of it at the working size
            raise InputError(f"{name}: region {n!r} has no pixels at {shape[1]}x{shape[0]} px; paint it larger, "
                             f"or leave it out of the style")
    masks = tf.constant(np.stack(resized, axis=-1)[None], tf.float32)  # (1, H, W, R)
    return Regions(names, masks, _weights(weights, names), _describe(regions),
                   {n: "#%02x%02x%02x" % tuple(round(255 * c) for c in rgb) for n, rgb in colours.items()})


def painting_mask(source, painting_shape, name) -> tf.Tensor:
    """A painting's own grey mask (the part to take its style from) at its working size (h, w):
    (1, h, w, 1) float32 in [0, 1]."""
    mask = _resized(_grey(source, name), painting_shape, name)
    if float(mask.max()) < 0.5:
        raise InputError(f"{name}: the mask has no white pixels at the painting's size; mark the part of the "
                         f"painting to take the style from in white")
    return tf.constant(mask[None, ..., None], tf.float32)


def _same_names(names, given, name) -> None:
    missing, extra = [n for n in names if n not in given], [n for n in given if n not in names]
    if missing or extra:
        raise InputError(f"{name} and style must name the same regions: "
                         + "; ".join(filter(None, [missing and f"style names {missing} that {name} has no mask for",
                                                   extra and f"{name} has masks {extra} that style gives no painting"])))


def _colour(key) -> tuple:
    """A region's colour in [0, 1]^3 from its CSS name or #hex, else one clear error."""
    try:
        return tuple(c / 255 for c in ImageColor.getrgb(str(key))[:3])
    except ValueError:
        raise InputError(f"style: {key!r} is not a colour of the regions image; name each region by its colour, "
                         f"e.g. 'blue' or '#3366ff'") from None


def _by_colour(image, colours: dict, name) -> list:
    """One binary mask (h, w) per named colour: each pixel to the nearest colour named; refused
    when many pixels are far from all of them (an unnamed region) or a colour has no pixel."""
    palette = np.array(list(colours.values()))  # (R, 3)
    distance = np.linalg.norm(image[:, :, None, :] - palette[None, None], axis=-1)  # (h, w, R)
    nearest = distance.argmin(-1)
    far = distance.min(-1) > _COLOUR_DISTANCE
    if far.mean() > _UNNAMED_SHARE:
        values, counts = np.unique(np.round(image[far] * 255).astype(int), axis=0, return_counts=True)
        common = "#%02x%02x%02x" % tuple(values[counts.argmax()])
        raise InputError(f"{name}: {100 * far.mean():.1f} % of its pixels are none of the colours the style names "
                         f"({', '.join(colours)}), most of them {common}: add {common}=PAINTING to the style, or "
                         f"paint them in a named region's colour")
    masks = [((nearest == r) & ~far).astype(np.float32) for r in range(len(colours))]
    for key, mask in zip(colours, masks):
        if not mask.any():
            raise InputError(f"{name}: no pixels of {key!r} ({'#%02x%02x%02x' % tuple(round(255 * c) for c in colours[key])}); "
                             f"the regions image has other colours: check the style's keys")
    return masks


def _grey(source, name) -> np.ndarray:
    """A grey mask (h, w) in [0, 1] at its own size: the image's luminance (white in, black out)."""
    rgb = read_image(source, None, name)[0].numpy()  # (h, w, 3)
    return rgb @ np.array([0.299, 0.587, 0.114], np.float32)


def _resized(mask: np.ndarray, shape, name) -> np.ndarray:
    """``mask`` (h, w) at ``shape`` (H, W), antialiased; refused if made for another shape."""
    h, w = mask.shape
    if abs((w / h) / (shape[1] / shape[0]) - 1) > ASPECT_TOLERANCE:
        raise InputError(f"{name}: the mask is {w}x{h} px, a shape other than its image's ({shape[1]}x{shape[0]} at "
                         f"the working size): a mask made for another picture? Give one of the same shape "
                         f"(any resolution)")
    if (h, w) == tuple(shape):
        return mask
    out = tf.image.resize(mask[None, ..., None], shape, method="area" if h >= shape[0] else "bilinear", antialias=True)
    return np.clip(out.numpy()[0, ..., 0], 0.0, 1.0)


def _weights(weights, names) -> np.ndarray:
    if weights is None:
        return np.full(len(names), 1.0 / len(names), np.float32)
    check_mapping("region_weights", weights, example="{'sky': 2, 'town': 1}")
    unknown = [n for n in weights if n not in names]
    if unknown:
        raise InputError(f"region_weights names {unknown}, which the style does not: its regions are {names}")
    w = np.array([check_number(f"region_weights[{n!r}]", weights.get(n, 1.0)) for n in names], np.float32)
    if w.sum() == 0:
        raise InputError("region_weights are all 0: give at least one region a weight above 0")
    return w / w.sum()


def _describe(regions):
    return {n: describe(m) for n, m in regions.items()} if isinstance(regions, dict) else describe(regions)
