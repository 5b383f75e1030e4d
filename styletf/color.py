"""Colour controls from the authors' follow-up paper (Gatys, Ecker, Bethge, Hertzmann &
Shechtman 2017, "Controlling Perceptual Factors in Neural Style Transfer", section 5):
keep the photo's colours while taking the painting's style.

- Luminance-only transfer (their 5.1): run the transfer on luminance images, the style's
  luminance first matched to the content's mean and spread, then put the result's
  luminance together with the content's colour channels (YUV, BT.601: the same luma as
  YCbCr; U and V are Cb and Cr up to a scale).
- Colour histogram matching (their 5.2): recolour the style image so that its mean colour
  and colour covariance are the content's, x' = A (x - mu_s) + mu_c with
  A = Sigma_c^(1/2) Sigma_s^(-1/2) (symmetric square roots), then transfer as usual.

Images are float32 RGB in [0, 1], (B, H, W, 3).
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf

from .errors import InputError, check_images

__all__ = ["luminance", "match_luminance", "as_gray", "with_content_colors", "match_color",
           "PRESERVE_COLORS"]

#: The choices of ``preserve_colors`` (``styletf.stylize``, ``--preserve-colors``).
PRESERVE_COLORS = ("none", "luminance", "histogram")


def luminance(images):
    """Luma Y = 0.299 R + 0.587 G + 0.114 B: (B, H, W, 3) -> (B, H, W, 1). The 2017 paper's
    section 5.1 (beyond the 2015 paper; notebook 06)."""
    return tf.image.rgb_to_yuv(check_images("images", images))[..., :1]


def match_luminance(style_y, content_y):
    """The style's luminance with the content's mean and standard deviation (2017 paper,
    eq. 5: L_s' = sigma_c / sigma_s (L_s - mu_s) + mu_c), clipped to [0, 1]; notebook 06.
    (B, H, W, 1) each (sizes may differ) -> like ``style_y``."""
    mu_s, sd_s = tf.reduce_mean(style_y), tf.math.reduce_std(style_y)
    mu_c, sd_c = tf.reduce_mean(content_y), tf.math.reduce_std(content_y)
    return tf.clip_by_value((style_y - mu_s) * (sd_c / tf.maximum(sd_s, 1e-6)) + mu_c, 0.0, 1.0)


def as_gray(y):
    """A luminance image (B, H, W, 1) as an RGB image with R = G = B = Y: (B, H, W, 3), for the
    network (the 2017 paper's section 5.1; notebook 06)."""
    return tf.repeat(y, 3, axis=-1)


def with_content_colors(result, content):
    """The result's luminance with the content's chroma (U, V): (B, H, W, 3) in [0, 1].
    ``content`` is resized to the result's size if needed. The 2017 paper's section 5.1; notebook 06."""
    result, content = check_images("result", result), check_images("content", content)
    if len(content) not in (1, len(result)):
        raise InputError(f"content holds {len(content)} images for {len(result)} results: give one, or one per result")
    if content.shape[1:3] != result.shape[1:3]:
        content = tf.image.resize(content, result.shape[1:3], method="bicubic", antialias=True)
    yuv = tf.concat([luminance(result), tf.image.rgb_to_yuv(content)[..., 1:]], axis=-1)
    return tf.clip_by_value(tf.image.yuv_to_rgb(yuv), 0.0, 1.0)


def _sqrtm(cov, inverse=False):
    """Symmetric square root (or inverse square root) of a 3 x 3 covariance."""
    values, vectors = np.linalg.eigh(cov)
    values = np.maximum(values, 1e-5)  # a flat or gray image has a singular covariance
    return (vectors * values ** (-0.5 if inverse else 0.5)) @ vectors.T


def match_color(style, content):
    """The style image recoloured to the content's colour mean and covariance (2017 paper,
    section 5.2, the "image analogies" variant), clipped to [0, 1]. A style whose colours
    lie on a line or plane (e.g. a gray image) keeps that shape: a linear map cannot add
    colour directions it does not have; notebook 06.
    style (1, H, W, 3), content (1, H', W', 3) -> (1, H, W, 3)."""
    style = check_images("style", style)  # (1, H, W, 3)
    shape = style.shape
    s = style.astype(np.float64).reshape(-1, 3)  # (pixels, 3)
    c = check_images("content", content).astype(np.float64).reshape(-1, 3)
    mu_s, mu_c = s.mean(0), c.mean(0)
    a = _sqrtm(np.cov(c, rowvar=False)) @ _sqrtm(np.cov(s, rowvar=False), inverse=True)  # (3, 3)
    out = (s - mu_s) @ a.T + mu_c
    return tf.constant(np.clip(out, 0.0, 1.0).reshape(shape), tf.float32)
