"""Images in and out: load, resize, save, and the backbone's input convention.

Contract (DESIGN.md): images handed between functions are float32 RGB in
[0, 1] with shape (B, H, W, 3). ``load_image`` gives B = 1.

Conversions done by ``load_image`` (documented, tested):
- EXIF orientation is applied (a phone photo comes out upright);
- RGBA / LA / palette with transparency: composited onto **white**;
- grayscale (L, 1, I, I;16, F) and palette: replicated / expanded to RGB; 32-bit integer and float
  grey values outside [0, 1] (after /255 or /65535 for integers) are clipped, with a warning;
- CMYK: Pillow's CMYK -> RGB conversion (no colour profile);
- 16-bit grayscale keeps its precision (divided by 65535, not truncated to 8 bits); 16-bit colour
  is read at 8 bits, as Pillow decodes it, with a warning;
- animated images (GIF, APNG, WebP) and multi-page TIFFs: the first frame, with a warning;
- ``file://`` addresses are read as paths; http(s) addresses are downloaded.
"""
from __future__ import annotations

import errno
import io
import os
import re
import urllib.parse
import urllib.request
import warnings
from pathlib import Path

import numpy as np
import tensorflow as tf
from PIL import Image, ImageOps, UnidentifiedImageError

from . import data
from .paper.network import to_input
from .errors import InputError, check_setting, outside_stacklevel, user_path
from .places import atomic_write, caller_write, writable

__all__ = ["load_image", "save_image", "to_backbone", "from_backbone", "atomic_write", "CAFFE_BGR_MEAN", "MAX_PIXELS"]

# ImageNet channel means of the Caffe VGG models, in BGR order (docs/method.md, "Network", input).
CAFFE_BGR_MEAN = (103.939, 116.779, 123.68)

#: Largest image (in pixels, width x height) that ``load_image`` opens by default; bigger
#: headers are refused before any pixel memory is allocated. Raise it with the
#: environment variable STYLETF_MAX_PIXELS (read at each load).
MAX_PIXELS = 100_000_000


def _max_pixels() -> int:
    text = os.environ.get("STYLETF_MAX_PIXELS", str(MAX_PIXELS)).strip()
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        raise InputError(f"STYLETF_MAX_PIXELS must be a whole number of pixels, e.g. 200000000; got {text!r}")
    return int(text)


def _open_source(source) -> tuple[Image.Image, str]:
    """Return (PIL image, name for messages) for a path, catalog key or URL."""
    path, text = locate_source(source)
    if path is not None:
        return _decode(path, text), text
    if text in data.keys():
        return _decode(data.fetch(text), text), text
    return _decode(io.BytesIO(data.download(text, keep=False, taken=True)), text), text


def locate_source(source) -> tuple[Path | None, str]:
    """(file path, name) of an image source, checked without reading its pixels; the path is
    None for a catalog key or an http(s) address. Every file check of ``load_image``, so the
    command can make them before any work (notebook 05; README, "Stylise your own photo")."""
    text = os.fspath(source)
    if not str(text).strip():
        raise InputError("the image name is empty; give a path, a URL or a catalog key such as neckarfront")
    if isinstance(source, str) and source in data.keys() and os.path.lexists(source):  # say which one is meant
        raise InputError(f"{source} is both a catalog image and a file here; write ./{source} for the file, "
                         f"or move the file away for the catalog's")
    if isinstance(source, str) and (source in data.keys() or source.startswith(("http://", "https://"))):
        return None, source
    text = file_url_path(text)
    scheme = re.match(r"([A-Za-z][A-Za-z0-9+.-]*)://", text)
    if scheme:
        raise InputError(f"cannot read {text}: only http:// and https:// addresses are fetched "
                         f"({scheme.group(1)}:// is not); download the image and pass its path")
    path = user_path(text, "image file")
    try:
        path.stat()
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise InputError(f"{text} is a loop of symbolic links; point it at an image file") from None
    if not path.exists():
        hint = f" (catalog keys: {', '.join(data.keys())})" if os.sep not in text else ""
        raise InputError(f"image file not found: {text}{hint}")
    if path.is_dir():
        raise InputError(f"{text} is a directory, not an image file")
    if not path.is_file():  # a pipe, a device, a socket: reading could block or never end
        raise InputError(f"{text} is not a regular file (a pipe, device or socket); save the "
                         f"image to a file and pass that file's path")
    if path.stat().st_size == 0:
        raise InputError(f"image file {text} is empty (0 bytes)")
    return path, text


def file_url_path(text: str) -> str:
    """``file:///a/b%20c.jpg`` -> ``/a/b c.jpg``; any other text unchanged. Not in the paper, nor
    in a notebook: the command line's inputs (README, "Stylise your own photo")."""
    if text.lower().startswith("file://"):
        return urllib.request.url2pathname(urllib.parse.urlparse(text).path)
    return text


def _decode(fp, name: str) -> Image.Image:
    """Open and fully decode an image, turning Pillow's errors into one clear line."""
    old = Image.MAX_IMAGE_PIXELS
    limit = Image.MAX_IMAGE_PIXELS = _max_pixels()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(fp)
            # 16 bits per colour channel: Pillow decodes colour images to 8 bits (grey keeps 16)
            deep_colour = img.mode in ("RGB", "RGBA") and any(";16" in str(t[3]) for t in img.tile)
            img.load()  # decode now, so a truncated file fails here
        if deep_colour:
            warnings.warn(f"{name}: 16 bits per colour channel, read at 8 (Pillow decodes colour images to 8 "
                          f"bits; 16-bit grayscale keeps its precision)", stacklevel=outside_stacklevel())
        frames = getattr(img, "n_frames", 1)
        if frames > 1:  # animated GIF / PNG / WebP, multi-page TIFF: documented in load_image
            warnings.warn(f"{name}: has {frames} frames; using the first", stacklevel=outside_stacklevel())
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InputError(
            f"{name}: image is larger than the limit of {limit} pixels; if it is genuine, "
            f"raise the limit with the environment variable STYLETF_MAX_PIXELS") from None
    except UnidentifiedImageError:
        raise InputError(f"{name}: not an image file that Pillow can read "
                         f"(use PNG, JPEG, TIFF, WebP, ...)") from None
    except OSError as e:
        raise InputError(f"{name}: the image file is damaged or truncated ({e}); "
                         f"re-export or re-download it") from None
    finally:
        Image.MAX_IMAGE_PIXELS = old
    return img


def _pil_to_array(img: Image.Image, name: str = "source") -> np.ndarray:
    """PIL image (any mode) -> float32 RGB (H, W, 3) in [0, 1]; see the module doc."""
    img = ImageOps.exif_transpose(img)
    if img.mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = np.asarray(img.convert("RGBA"), dtype=np.float32) / 255.0
        rgb, a = rgba[..., :3], rgba[..., 3:]
        return rgb * a + (1.0 - a)  # onto white
    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):  # one grey channel of 16/32-bit ints or floats
        arr = np.asarray(img, dtype=np.float32)
        if img.mode != "F":
            arr = arr / (65535.0 if arr.max(initial=0) > 255 or img.mode.startswith("I;16") else 255.0)
        if arr.size and np.all(np.isfinite(arr)) and (arr.min() < 0 or arr.max() > 1):
            warnings.warn(f"{name}: grey values from {arr.min():.3g} to {arr.max():.3g} (after /255 or /65535 "
                          f"for integers) clipped to [0, 1]", stacklevel=outside_stacklevel())
        return np.repeat(np.clip(arr, 0, 1)[..., None], 3, axis=-1)
    return np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0


def _array_to_rgb(arr, name: str = "array") -> np.ndarray:
    """Array-like (H, W), (H, W, 1|3|4) or (1, H, W, C) -> float32 (H, W, 3) in [0, 1].

    Integers: uint8 /255, uint16 /65535; other integer types (int64, ...) /255 when every value is
    at most 255, else /65535 (at most 65535; negative values are refused). Floats must already be
    in [0, 1].
    """
    a = np.asarray(arr)
    if a.dtype == object or a.dtype.kind in "SUV":
        raise InputError(f"{name} must be a catalog key, a path, a URL, a PIL image or an array of pixels, "
                         f"got {type(arr).__name__}")
    if a.ndim == 4:
        if a.shape[0] != 1:
            raise InputError(f"{name}: expected one image, got a batch of {a.shape[0]}")
        a = a[0]
    if a.ndim == 2:
        a = a[..., None]
    if a.ndim != 3 or a.shape[-1] not in (1, 3, 4):
        raise InputError(f"{name}: expected shape (H, W), (H, W, 3) or (H, W, 4), got {a.shape}")
    if 0 in a.shape:
        raise InputError(f"{name}: the image has no pixels (shape {a.shape})")
    if np.issubdtype(a.dtype, np.integer):
        low, high = int(a.min()), int(a.max())
        if low < 0 or high > 65535:
            raise InputError(f"{name}: integer pixel values must lie in 0..255 (or 0..65535), got {low}..{high}")
        top = {np.dtype(np.uint8): 255, np.dtype(np.uint16): 65535}.get(a.dtype, 255 if high <= 255 else 65535)
        a = a.astype(np.float32) / float(top)
    elif np.issubdtype(a.dtype, np.floating) or a.dtype == bool:
        a = a.astype(np.float32)
        if not np.all(np.isfinite(a)):
            raise InputError(f"{name}: contains NaN or Inf values")
        if a.min(initial=0) < 0 or a.max(initial=0) > 1:
            raise InputError(f"{name}: float pixel values must lie in [0, 1], got "
                             f"[{a.min():.3g}, {a.max():.3g}]; divide 8-bit data by 255")
    else:
        raise InputError(f"{name}: unsupported dtype {a.dtype}")
    if a.shape[-1] == 4:
        a = a[..., :3] * a[..., 3:] + (1.0 - a[..., 3:])
    elif a.shape[-1] == 1:
        a = np.repeat(a, 3, axis=-1)
    return a


def load_image(source, max_size: int | None = None):
    """Load an image as a float32 RGB tensor in [0, 1] of shape (1, H, W, 3): the photograph p
    and the artwork a of docs/method.md, "Losses" (notebook 00 loads the first).

    ``source``: a catalog key (``"neckarfront"``, see ``styletf.data``), a path, an
    http(s) URL, a ``PIL.Image.Image``, or an array / tensor (see ``_array_to_rgb``).
    ``max_size``: if given, the image is resized (antialiased Lanczos) so that its
    long side is ``max_size`` pixels, keeping the aspect ratio. The paper used
    about 512 px (docs/method.md, "Synthesis").
    """
    return read_image(source, max_size)


def read_image(source, max_size: int | None = None, name: str = "source"):
    """``load_image`` for an argument called ``name`` in its caller (its messages name it)."""
    if isinstance(source, Image.Image):
        try:
            arr = _pil_to_array(source, name)
        except ValueError as e:
            if "closed" not in str(e):
                raise
            raise InputError(f"{name}: the PIL image is closed (used after its `with Image.open(...)` "
                             f"block?); open it again, or pass its path") from None
    elif isinstance(source, (str, os.PathLike)):
        img, name = _open_source(source)
        arr = _pil_to_array(img, name)
    else:
        arr = _array_to_rgb(source, name)
    if not np.all(np.isfinite(arr)):  # a float TIFF (or PIL image) can hold NaN or inf
        raise InputError(f"{name}: has NaN or infinite pixel values; repair the image "
                         f"(e.g. replace them by 0) and save it again")
    if 0 in arr.shape:
        raise InputError(f"{name}: the image has no pixels ({arr.shape[1]}x{arr.shape[0]})")
    if max_size is not None:
        max_size = check_setting("size", max_size, "max_size")
    x = tf.convert_to_tensor(arr[None], dtype=tf.float32)  # (1, H, W, 3)
    h, w = arr.shape[:2]
    if max_size is not None and max(h, w) != max_size:
        scale = max_size / max(h, w)
        size = (max(1, round(h * scale)), max(1, round(w * scale)))
        x = tf.clip_by_value(tf.image.resize(x, size, method="lanczos3", antialias=True), 0.0, 1.0)
    return x


def to_uint8(x, strict: bool = False, name: str = "image") -> np.ndarray:
    """Image (1, H, W, 3) or (H, W, 3) in [0, 1], or uint8 already -> uint8 (H, W, 3); NaN/Inf is an error, ``strict`` (saving):
    also a value beyond rounding's reach of [0, 1]; messages name the argument ``name``. For showing
    and saving every figure (notebook 00 first)."""
    try:
        a = np.asarray(x, dtype=np.float32)
    except (ValueError, TypeError, OverflowError):
        raise InputError(f"{name}: expected an image array of shape (H, W, 3) in [0, 1], got {type(x).__name__}") from None
    if a.ndim == 4:
        if a.shape[0] != 1:
            raise InputError(f"{name}: expected one image, got a batch of {a.shape[0]}; index it first")
        a = a[0]
    if a.ndim != 3 or a.shape[-1] != 3 or 0 in a.shape:
        raise InputError(f"{name}: expected an RGB image of shape (H, W, 3){' with pixels' * (a.ndim == 3)}, got {a.shape}")
    dtype = getattr(x, "dtype", None)
    if (dtype.is_integer if isinstance(dtype, tf.DType) else dtype is not None and np.issubdtype(dtype, np.integer)) and a.size:
        if a.min() < 0 or a.max() > 65535:  # integers as load_image reads them: 0..255, or 0..65535 (16 bits)
            raise InputError(f"{name}: integer values must lie in 0..255 (or 0..65535), got {a.min():.0f}..{a.max():.0f}")
        return (a if a.max() <= 255 else np.round(a / 65535.0 * 255.0)).astype(np.uint8)
    if not np.all(np.isfinite(a)):
        raise InputError(f"{name}: contains NaN or Inf values; refusing to save it")
    if strict and a.size and (a.min() < -0.5 / 255 or a.max() > 1 + 0.5 / 255):  # beyond half a grey level
        raise InputError(f"{name}: values must lie in [0, 1], got [{a.min():.3g}, {a.max():.3g}]; " + (
            "8-bit values (0..255): divide by 255" if a.max() > 2 else "clip it first: np.clip(x, 0, 1)"))
    return np.round(np.clip(a, 0.0, 1.0) * 255.0).astype(np.uint8)


def save_image(x, path: str | os.PathLike) -> Path:
    """Save an image (1, H, W, 3) or (H, W, 3) in [0, 1] (or uint8, 0..255) as a PNG, atomically: a synthesised
    image x (docs/method.md, "Synthesis"; ``SynthesisResult.save``, README's Quick start; the
    notebooks save whole figures, ``plotting.save_figure``, notebook 00 first)."""
    pixels = to_uint8(x, strict=True, name="x")  # checked before the place is touched
    path = writable(path, ".png")
    buf = io.BytesIO()
    Image.fromarray(pixels, mode="RGB").save(buf, format="PNG")
    return caller_write(path, buf.getvalue(), "path")


def to_backbone(x):
    """RGB [0, 1] (B, H, W, 3) -> the VGG family's input: Caffe BGR, 0..255 minus the
    ImageNet means (docs/method.md, "Network", input; ``paper.network.to_input``). Notebook 00
    convolves it by hand."""
    return to_input(x)


def from_backbone(y):
    """Inverse of ``to_backbone``: Caffe BGR mean-subtracted -> RGB in [0, 1] (not clipped)
    (docs/method.md, "Network", input; notebook 00)."""
    y = tf.convert_to_tensor(y)
    bgr = y + tf.constant(CAFFE_BGR_MEAN, dtype=y.dtype)
    return tf.reverse(bgr, axis=[-1]) / 255.0
