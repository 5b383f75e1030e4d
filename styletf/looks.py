"""What a person sees in a result, measured without the network (notebooks 03 and 04).

The VGG losses say how well the optimisation did its job, not whether a person sees the
photo painted in the painting's colours: a panel of coloured pixel noise can score well on
them. These two measures use only numpy and Pillow, so they are a check on the method
from outside it:

- ``structure(image, photo)``: are the photo's large-scale edges (the skyline, the river
  bank, the gables) where the image has its edges? Both are shrunk to ``WIDTH`` px and
  blurred; the image's gradient energy on the photo's strongest ``EDGE_SHARE`` of edges is
  divided by its mean gradient energy. About 1 for white noise or an unrelated painting
  (edges everywhere or anywhere), well above 1 when the photo's outlines are there.
- ``psnr(x, reference)``: the peak signal-to-noise ratio, for a reconstruction of the photo
  itself (Figure 1's content row), where pixels should come back exactly.
- ``by_region(image, masks, paintings)``: spatial control (notebook 06): each region's pixels'
  colour distance to its own painting over that to the nearest other painting: below
  ``REGION_MAX`` when every region took its own painting's colours and not another's.
- ``palette(image, painting, photo)``: is the image's colour distribution nearer the
  painting's than the photo's is? The sliced Wasserstein distance between the pixels'
  RGB distributions, image to painting, divided by photo to painting: 1 for the photo
  itself, about 0 for the painting, below 1 when the painting's colours took over.

``judge`` applies both with the thresholds below, chosen on the stand-in's panels and
references (white noise, the photo, the paintings; notebook 03 shows each).
"""
from __future__ import annotations

import numpy as np
from PIL import Image

from .errors import InputError, check_images

__all__ = ["structure", "palette", "judge", "psnr", "by_region", "STRUCTURE_MIN", "PALETTE_MAX", "REGION_MAX"]

WIDTH = 96  # px: the scale at which a person takes in a panel's layout
BLUR = 1.0  # Gaussian sigma in px at that width
EDGE_SHARE = 0.10  # the photo's strongest edges: this share of its positions
STRUCTURE_MIN = 1.3  # noise and the paintings score 0.95-1.25 on the Neckarfront
PALETTE_MAX = 0.95  # below: nearer the painting's colours than the photo is
REGION_MAX = 0.8  # by_region: a region's colours at most this far from its painting, relative to the others


def _rgb(image) -> np.ndarray:
    """(H, W, 3) float64 in [0, 1] from a (1, H, W, 3) or (H, W, 3) array or tensor, or uint8."""
    a = np.asarray(image, np.float64)
    a = a[0] if a.ndim == 4 else a
    if a.ndim != 3 or a.shape[-1] != 3:
        raise ValueError(f"expected an RGB image (H, W, 3), got shape {a.shape}")
    return a / 255.0 if a.max() > 1.5 else a


def _resized(a: np.ndarray, width: int, height: int) -> np.ndarray:
    im = Image.fromarray(np.uint8(np.clip(a, 0, 1) * 255 + 0.5))
    return np.asarray(im.resize((width, height), Image.LANCZOS), np.float64) / 255.0


def _blur(y: np.ndarray, sigma: float) -> np.ndarray:
    r = int(3 * sigma + 0.5)
    k = np.exp(-np.arange(-r, r + 1) ** 2 / (2 * sigma ** 2))
    k /= k.sum()
    y = np.pad(y, r, mode="reflect")
    y = np.apply_along_axis(np.convolve, 0, y, k, "valid")
    return np.apply_along_axis(np.convolve, 1, y, k, "valid")


def _edges(a: np.ndarray, shape: tuple) -> np.ndarray:
    """Gradient magnitude of the blurred luminance at ``WIDTH`` px, in the photo's shape."""
    h, w = shape
    small = _resized(a, WIDTH, max(3, round(WIDTH * h / w)))
    y = _blur(small @ np.array([0.299, 0.587, 0.114]), BLUR)  # luminance (h', w')
    gx = y[1:-1, 2:] - y[1:-1, :-2]
    gy = y[2:, 1:-1] - y[:-2, 1:-1]
    return np.hypot(gx, gy)


def structure(image, photo) -> float:
    """The image's edge energy on the photo's strongest edges over its mean edge energy (module
    doc): ~1 without the photo's layout, > ``STRUCTURE_MIN`` with it. Any image size (it is
    resized to the photo's shape). Not in the paper: a check of Figures 2 and 3 (notebooks 03, 04)."""
    p = _rgb(photo)
    ex, ep = _edges(_rgb(image), p.shape[:2]), _edges(p, p.shape[:2])
    strong = ep >= np.quantile(ep, 1 - EDGE_SHARE)
    return float(ex[strong].mean() / max(ex.mean(), 1e-12))


def _sliced_wasserstein(a: np.ndarray, b: np.ndarray, directions: int = 64, samples: int = 4000) -> float:
    rng = np.random.default_rng(0)  # the same projections and samples every time
    a, b = a.reshape(-1, 3), b.reshape(-1, 3)
    a = a[rng.choice(len(a), min(samples, len(a)), replace=False)]
    b = b[rng.choice(len(b), min(samples, len(b)), replace=False)]
    d = rng.standard_normal((directions, 3))
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    q = np.linspace(0, 1, 101)
    return float(np.mean([np.abs(np.quantile(a @ v, q) - np.quantile(b @ v, q)).mean() for v in d]))


def palette(image, painting, photo) -> float:
    """Colour distance image -> painting over photo -> painting (sliced Wasserstein distance of
    the RGB pixel distributions): 1 for the photo, ~0 for the painting, < ``PALETTE_MAX`` when
    the painting's colours took over. Not in the paper: a check of Figures 2 and 3 (notebooks 03, 04)."""
    a = _rgb(painting)
    return _sliced_wasserstein(_rgb(image), a) / max(_sliced_wasserstein(_rgb(photo), a), 1e-12)


def by_region(image, masks, paintings) -> list:
    """Per region r: the sliced Wasserstein distance of the image's pixels in r (mask >= 1/2) to painting
    r's pixels, over that to the nearest other painting's; ``masks`` (H', W', R) or (1, H', W', R) in
    [0, 1], at any size (resized to the image's); ``paintings`` one per region. Below ``REGION_MAX``:
    the region is in its own painting's colours. Not in the paper: the check of Gatys et al. 2017's
    spatial control (notebook 06)."""
    x = _rgb(image)
    m = np.asarray(masks, np.float64)
    m = m[0] if m.ndim == 4 else m
    if m.ndim != 3 or m.shape[-1] != len(paintings) or len(paintings) < 2:
        raise InputError(f"masks must be (H, W, R) with one painting per region, R >= 2; got masks {m.shape} "
                         f"and {len(paintings)} paintings")
    h, w = x.shape[:2]
    pixels = [_rgb(p).reshape(-1, 3) for p in paintings]
    out = []
    for r in range(len(paintings)):
        inside = _resized_mask(m[..., r], w, h) >= 0.5
        if not inside.any():
            raise InputError(f"region {r + 1} has no pixels at the image's size ({w}x{h})")
        own = _sliced_wasserstein(x[inside], pixels[r])
        other = min(_sliced_wasserstein(x[inside], p) for k, p in enumerate(pixels) if k != r)
        out.append(own / max(other, 1e-12))
    return out


def _resized_mask(mask: np.ndarray, width: int, height: int) -> np.ndarray:
    im = Image.fromarray(np.float32(mask), mode="F")
    return np.asarray(im.resize((width, height), Image.BILINEAR), np.float64)


def judge(image, photo, painting) -> dict:
    """``{"structure", "palette", "photo", "painting", "ok"}``: both measures, whether each passes
    its threshold, and whether both do - "the photo painted in the painting's colours". Not in
    the paper: the check of Figures 2 and 3 (notebooks 03, 04)."""
    for name, value in (("image", image), ("photo", photo), ("painting", painting)):
        check_images(name, value)
    s, c = structure(image, photo), palette(image, painting, photo)
    return {"structure": s, "palette": c, "photo": s >= STRUCTURE_MIN, "painting": c <= PALETTE_MAX,
            "ok": s >= STRUCTURE_MIN and c <= PALETTE_MAX}


def psnr(x, reference) -> np.ndarray:
    """Peak signal-to-noise ratio in dB of images in [0, 1], per image: (B,): 10 log10(1 / MSE).
    How close a content reconstruction comes to the photo (Figure 1, top row; notebook 01)."""
    a, b = (check_images(name, v) for v, name in ((x, "x"), (reference, "reference")))
    if a.shape[1:] != b.shape[1:] or len(b) not in (1, len(a)):
        raise InputError(f"reference of shape {b.shape} does not match x of shape {a.shape}")
    mse = np.mean((a.astype(np.float64) - b) ** 2, axis=(1, 2, 3))  # (B,)
    with np.errstate(divide="ignore"):
        return (10.0 * np.log10(1.0 / mse)).astype(np.float32)  # identical images: inf dB
