"""The network as the paper uses it: VGG conv trunks, paper layer names, average pooling.

docs/method.md, "Network": the 16 conv and 5 pooling layers of ImageNet VGG-19, max pooling
replaced by average pooling. A layer name such as ``conv4_2`` is the output of the 2nd
conv of block 4 **after ReLU** (Keras ``block4_conv2``, whose Conv2D has the ReLU fused
in). The weights come from ``styletf.backbones``; ``network`` says how they are rescaled
(``styletf.normalize``; "auto": the network in whose units the paper's alpha/beta are).
"""
from __future__ import annotations

import difflib
import functools
import warnings

import keras
import numpy as np
import tensorflow as tf

from . import normalize as norm, quiet
from .backbones import (arch_of, conv_weights, describe_backbone, fingerprint, is_paper_network, layer_names,
                        paper_name, resolve_backbone)
from .errors import InputError, check_sequence, check_text, outside_stacklevel
from .images import read_image, to_backbone
from .paper import network as paper_network, settings
from .speed import conv_by_transpose, resolve_precision, transposed_conv_is_faster

__all__ = ["FeatureExtractor", "check_pooling", "POOLINGS", "shared_extractor", "shared_extractor_of",
           "resolve_network", "check_network", "network_argument", "NOT_GIVEN", "default_content_layers",
           "normalization_stats", "normalization_factors",
           "PAPER_STYLE_LAYERS", "PAPER_CONTENT_LAYERS", "NETWORKS"]

# Figure 2's choice (docs/method.md): content conv4_2, style conv1_1 ... conv5_1.
PAPER_CONTENT_LAYERS, PAPER_STYLE_LAYERS = settings.CONTENT_LAYERS, settings.STYLE_LAYERS

NETWORKS = ("raw", "mean", "calibrated")
POOLINGS = ("avg", "max")  # avg: the paper's; max: VGG's own


def check_pooling(pooling) -> str:
    """"avg" (the paper's average pooling) or "max" (VGG's own), else one clear error: the one
    check of the pooling, at ``FeatureExtractor``'s, ``shared_extractor``'s and ``synthesize``'s
    doors (docs/method.md, "Network"; notebook 05)."""
    return check_text("pooling", pooling, choices=POOLINGS)


def resolve_network(backbone: str, network) -> str:
    """Which rescaling of the weights ``network`` stands for on a concrete backbone: "raw" - the
    weights as trained; "mean" - the paper's normalisation (mean activation 1 per filter, CVPR);
    "calibrated" - the offline stand-in's (``styletf.normalize``); "auto" - the network in whose
    units the paper's alpha/beta hold: "mean" on ImageNet VGG19, "calibrated" on any other
    weights. (True and False, the values of the old ``normalize=``, are "auto" and "raw".)
    docs/method.md, "The offline stand-in and its calibration"; notebook 03."""
    if network is None:
        return "raw"
    network = check_network(network)
    if network is True or network == "auto":
        return "mean" if is_paper_network(backbone) else "calibrated"
    return "raw" if network is False else network


def check_network(network):
    """The one check of a ``network`` value: "auto" or one of ``NETWORKS`` (or True/False, the
    old ``normalize=``'s values), else one clear error. docs/method.md, "Normalisation"; notebook 03."""
    if isinstance(network, bool) or isinstance(network, str) and network in ("auto",) + NETWORKS:
        return network
    raise InputError(f"network must be 'auto', 'mean', 'calibrated' or 'raw', got {network!r:.60}")


def network_argument(network, normalize, default: str):
    """``network``, or the value given to the deprecated keyword ``normalize`` (its old name; a
    FutureWarning says so). Both given (``network`` not at its ``default``): one clear error.
    docs/method.md, "Normalisation"; notebook 03."""
    if normalize is NOT_GIVEN:
        return network
    if not (isinstance(network, str) and network == default):
        raise InputError("give network= only: normalize= is its old name")
    warnings.warn("normalize= is now network=: normalize=True is network='auto', False is 'raw', "
                  "a string the same string", FutureWarning, stacklevel=outside_stacklevel())
    return normalize


NOT_GIVEN = object()  # a deprecated keyword not given (normalize=)


def default_content_layers(network: str) -> tuple:
    """The content layers of Figure 2: the paper's conv4_2, but conv3_2 on the calibrated
    network (``normalize.CALIBRATION``: on the edge-tuned stand-in conv4_2 keeps only the
    skyline, conv3_2 keeps the houses as the paper's conv4_2 does). docs/method.md, "The figures";
    notebook 03."""
    return (norm.CALIBRATION["content_layer"],) if network == "calibrated" else PAPER_CONTENT_LAYERS


def _check_layers(layers, arch: str, backbone: str) -> tuple[str, ...]:
    if isinstance(layers, str):
        layers = [layers]
    layers = check_sequence("layers", layers, what="of layer names, e.g. ['conv4_2']")
    valid = layer_names(arch)
    out = []
    for raw in layers:
        name = paper_name(str(raw))
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


@functools.lru_cache(maxsize=8)
def normalization_stats(backbone: str, pooling: str = "avg") -> dict:
    """Mean and root-mean-square activation (N_l,) of every conv filter of the *raw* network
    over the reference set and all positions (``normalize.reference_stats``), cached on disk.
    docs/method.md, "Normalisation" (CVPR); notebook 03."""
    convs = [n for n in layer_names(arch_of(backbone)) if n.startswith("conv")]
    return norm.cached_stats(backbone, pooling, lambda: FeatureExtractor.of(convs, backbone, pooling, "raw", "float32"))


def normalization_factors(backbone: str, pooling: str = "avg", network: str = "mean") -> dict:
    """The positive factor s^l (N_l,) of each filter, F'^l = F^l / s^l, of the "mean"
    (``normalize.factors``) or "calibrated" (``normalize.calibrated_factors``) network.
    docs/method.md, "Normalisation" (CVPR); notebook 03."""
    stats = normalization_stats(backbone, pooling)
    return norm.calibrated_factors(stats["rms"]) if network == "calibrated" else norm.factors(stats["mean"])


_NETWORK_NOTE = {"raw": "", "mean": ", normalised (mean activation 1 per filter)",
                 "calibrated": ", calibrated (RMS activation per filter, the stand-in's calibration)"}


class _TransposedConv2D(keras.layers.Conv2D):
    """Keras Conv2D whose convolution runs as ``speed.conv_by_transpose`` (the same F^l, faster
    where TensorFlow's forward convolution is not; measured by ``speed.transposed_conv_is_faster``).
    Only as ``paper.network.trunk`` builds it: odd square kernel, stride 1, "same" padding, channels last."""

    def convolution_op(self, inputs, kernel):
        return conv_by_transpose(inputs, kernel)  # (B, h, w, N_l), before bias and ReLU


def _as_batch(images):
    """Images (B, H, W, 3) for the network, float32 in [0, 1] (docs/method.md, "Network", input):
    a float tensor as it is, checked to be finite and in [0, 1] when eager (inside a ``tf.function``,
    the optimisation's steps, nothing is checked); a (B, H, W, C) array image by image as
    ``load_image`` takes arrays (uint8 / 255, ...); anything else ``load_image`` takes (a path, a
    catalog key, a PIL image, one array) as a batch of one."""
    if isinstance(images, (tf.Tensor, tf.Variable)) and images.dtype.is_floating:
        if tf.executing_eagerly() and tf.size(images) > 0:
            if not bool(tf.reduce_all(tf.math.is_finite(images))):
                raise InputError("images: has NaN or infinite values; give images in [0, 1]")
            low, high = float(tf.reduce_min(images)), float(tf.reduce_max(images))
            if low < -1e-3 or high > 1 + 1e-3:
                raise InputError(f"images: values must lie in [0, 1], got [{low:.3g}, {high:.3g}]; "
                                 f"divide 8-bit data by 255, or use styletf.load_image")
        return images
    if isinstance(images, (np.ndarray, tf.Tensor, tf.Variable)) and len(images.shape) == 4 and images.shape[0] > 1:
        return tf.concat([read_image(image, name=f"images[{i}]") for i, image in enumerate(np.asarray(images))], 0)
    return read_image(images, name="images")  # (B, H, W, 3)


class FeatureExtractor:
    """Maps images to the responses F^l of the requested layers (docs/method.md, "Representations";
    notebook 00).

    ``extractor(images)`` takes images as ``load_image`` gives them, float RGB in
    [0, 1] of shape (B, H, W, 3), and returns ``{paper layer name: (B, h, w, N_l)}``.
    The trunk is built only up to the deepest requested layer; with
    ``pooling="avg"`` (the paper's choice) every max pooling becomes a 2x2 average
    pooling, ``"max"`` keeps VGG's own.

    ``backbone``: see ``styletf.backbones``. ``network`` (``resolve_network``): "auto" uses
    the network in whose units the paper's alpha/beta values have their meaning - the paper's
    normalisation on ImageNet VGG19, the calibrated one elsewhere (``styletf.normalize``);
    "mean" / "calibrated" pick one; "raw" (default) the weights as trained. ``normalize=``: the
    old name of ``network`` (True: "auto", False: "raw"), deprecated.
    ``precision``: the convolutions' compute dtype (``resolve_precision``); the outputs then
    come in that dtype and ``styletf.losses`` casts them to float32.

    Attributes: ``layers`` (paper names, in request order), ``backbone`` (the
    concrete backbone used, e.g. ``"vgg16-hed"``), ``description``,
    ``is_standin``, ``is_paper_network`` (ImageNet VGG19 as Keras publishes it, md5 checked:
    ``backbones.is_paper_network``), ``pooling``, ``network`` ("raw", "mean", "calibrated"),
    ``precision``, ``conv_route`` ("tf", or "transposed":
    ``speed.conv_by_transpose``), ``min_size`` (smallest usable side), ``trunk`` (layers computed).
    """

    def __init__(self, layers, backbone: str = "auto", pooling: str = "avg", network="raw",
                 precision: str = "float32", *, normalize=NOT_GIVEN):
        check_pooling(pooling)
        network = network_argument(network, normalize, "raw")
        backbone = resolve_backbone(backbone)
        self._build(layers, backbone, pooling, resolve_network(backbone, network), resolve_precision(precision))

    @classmethod
    def of(cls, layers, backbone: str, pooling: str, network: str, precision: str) -> "FeatureExtractor":
        """The extractor of settings already resolved once, at the caller's door: a concrete
        ``backbone`` (``resolve_backbone``), ``network`` (``resolve_network``), ``precision``
        (``resolve_precision``), ``pooling`` "avg" or "max"; the layers are checked here.
        docs/method.md, "Representations"; every synthesis (notebook 01 first)."""
        self = cls.__new__(cls)
        self._build(layers, backbone, pooling, network, precision)
        return self

    def _build(self, layers, backbone, pooling, network, precision) -> None:
        self.backbone, self.pooling, self.network, self.precision = backbone, pooling, network, precision
        if self.precision == "mixed_float16" and self.network == "raw":
            raise InputError("precision mixed_float16 needs a normalised network: the raw network's "
                             "activations and Gram matrices exceed float16's largest value (65504); "
                             "use network auto or mean, or precision mixed_bfloat16 or float32")
        if self.precision == "mixed_float16":
            quiet.float16_quietly()  # oneDNN's fallback line on a CPU, caught
        self.description = describe_backbone(self.backbone) + _NETWORK_NOTE[self.network]
        self.is_standin = self.backbone == "vgg16-hed"
        self.is_paper_network = is_paper_network(self.backbone)
        arch = arch_of(self.backbone)
        self.layers = _check_layers(layers, arch, self.backbone)
        order = layer_names(arch)
        trunk = order[: max(order.index(n) for n in self.layers) + 1]
        self.trunk = trunk  # the layers computed, in order (spatial control carries its masks through them)
        weights = conv_weights(self.backbone)
        if self.network != "raw":
            weights = norm.normalized_weights(weights, normalization_factors(self.backbone, pooling, self.network))
        self.conv_route = "transposed" if self.precision == "float32" and transposed_conv_is_faster() else "tf"
        self.model = paper_network.trunk(weights, trunk, self.layers, pooling, self.precision,
                                   _TransposedConv2D if self.conv_route == "transposed" else keras.layers.Conv2D,
                                   name=f"{arch}_{pooling}_to_{trunk[-1]}")
        pools_before = sum(n.startswith("pool") for n in trunk)
        self.min_size = 2 ** pools_before  # each pooling halves (floors) the size
        self._pools = {n: sum(p.startswith("pool") for p in trunk[: trunk.index(n)]) for n in self.layers}

    def positions(self, height: int, width: int) -> dict:
        """M_l, the number of positions of each layer for an input of height x width:
        (height // 2^k) * (width // 2^k) after k poolings (each floors the size by 2).
        docs/method.md, "Representations"; notebook 02."""
        return {n: (height // 2 ** k) * (width // 2 ** k) for n, k in self._pools.items()}

    def check_size(self, height: int, width: int) -> None:
        """Clear error if an image is too small to leave a position in the deepest layer
        (M_l >= 1, docs/method.md, "Representations"; notebook 01)."""
        if min(height, width) < self.min_size:
            deepest = max(self.layers, key=self._pools.get)
            raise InputError(
                f"image of {width}x{height} px (width x height) is too small for layer {deepest}: "
                f"its shorter side must be at least {self.min_size} px; use a larger size "
                f"(max_size, --size; for a style image also --style-scale) or shallower layers")

    def __call__(self, images) -> dict:
        """{layer: F^l (B, h, w, N_l)} for images (B, H, W, 3) in [0, 1] (``_as_batch``: a path, a
        uint8 array, ... are converted; a tensor is checked when eager)."""
        images = _as_batch(images)
        shape = images.shape
        if len(shape) != 4 or shape[-1] != 3:
            raise InputError(f"expected images of shape (B, H, W, 3), got {tuple(shape)}; "
                             f"use styletf.load_image")
        if shape[1] is not None and shape[2] is not None:
            self.check_size(int(shape[1]), int(shape[2]))
        return self.model(to_backbone(images))

    def __repr__(self) -> str:
        return (f"FeatureExtractor(layers={list(self.layers)}, backbone={self.backbone!r}, "
                f"pooling={self.pooling!r}, network={self.network!r}, precision={self.precision!r})"
                f"  # {self.description}")


_SHARED: dict = {}  # settings -> FeatureExtractor, the most recent 8


def shared_extractor(layers, backbone: str, pooling: str = "avg", network="raw",
                     precision: str = "float32", *, normalize=NOT_GIVEN) -> FeatureExtractor:
    """The ``FeatureExtractor`` of these settings, built once per process and then reused (what
    ``synthesize`` takes when it is given none: building the Keras trunk costs about half a
    second, every stage of every run). Keyed by the weights themselves (``fingerprint``: a changed
    file is read again), the network, and the precision and convolution route it resolves to.
    docs/method.md, "Representations"; every notebook's synthesis (01 first)."""
    check_pooling(pooling)  # a key part: checked before it is hashed
    network = network_argument(network, normalize, "raw")
    backbone = resolve_backbone(backbone)
    return shared_extractor_of(layers, backbone, pooling, resolve_network(backbone, network),
                               resolve_precision(precision))


def shared_extractor_of(layers, backbone: str, pooling: str, network: str, precision: str) -> FeatureExtractor:
    """``shared_extractor`` for settings already resolved once (as ``FeatureExtractor.of`` takes
    them): what ``synthesize`` calls after its own door. docs/method.md, "Representations";
    every notebook's synthesis (01 first)."""
    key = (fingerprint(backbone), backbone, tuple(layers), pooling, network, precision,
           precision == "float32" and transposed_conv_is_faster())
    if key not in _SHARED:
        if len(_SHARED) >= 8:
            _SHARED.pop(next(iter(_SHARED)))
        _SHARED[key] = FeatureExtractor.of(list(layers), backbone, pooling, network, precision)
    return _SHARED[key]
