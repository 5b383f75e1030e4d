"""The network of the paper's Methods: the 16 convolutional and 5 pooling layers of VGG-19
(no fully connected layers), each max pooling replaced by average pooling.

A layer name such as ``conv4_2`` is the output of the 2nd convolution of block 4 **after its
ReLU** (Keras fuses the ReLU into ``block4_conv2``). The weights are handed in; which file
a backbone name means, and checking it, is the shell's business (``styletf.backbones``).
"""
from __future__ import annotations

import keras

__all__ = ["ARCHS", "layer_names", "to_input", "trunk"]

# Convolutions per block. VGG-19 is the paper's; VGG-16 is the trunk of the offline stand-in
# (a deviation: ImageNet VGG-19 weights cannot be had offline; docs/method.md).
ARCHS = {"vgg19": (2, 2, 4, 4, 4), "vgg16": (2, 2, 3, 3, 3)}


def layer_names(arch: str = "vgg19") -> list[str]:
    """The paper's layer names in network order: ``["conv1_1", "conv1_2", "pool1", "conv2_1", ...]``."""
    names = []
    for b, n in enumerate(ARCHS[arch], start=1):
        names += [f"conv{b}_{i}" for i in range(1, n + 1)] + [f"pool{b}"]
    return names


def to_input(images):
    """RGB images in [0, 1] (B, H, W, 3) -> what VGG was trained on: Caffe's BGR, 0..255 minus
    the ImageNet mean colour (``keras.applications.vgg19.preprocess_input``)."""
    return keras.applications.imagenet_utils.preprocess_input(images * 255.0, mode="caffe")


def trunk(weights: dict, names: list, outputs, pooling: str = "avg", dtype="float32",
          conv_layer=keras.layers.Conv2D, name: str = "vgg") -> keras.Model:
    """The conv trunk through ``names`` (``layer_names`` order, cut after the deepest layer
    needed), as a Keras model: Caffe-BGR input (B, H, W, 3) -> ``{layer: F^l (B, h, w, N_l)}``
    for the layers in ``outputs``.

    weights {conv: (kernel (3, 3, C_in, N_l), bias (N_l,))}; pooling "avg" (the paper's) or
    "max" (VGG's own); dtype the Keras dtype policy of the layers (e.g. "mixed_bfloat16");
    conv_layer a ``keras.layers.Conv2D`` or a subclass computing the same convolution another
    way (the shell's faster route on some CPUs)."""
    pool = keras.layers.AveragePooling2D if pooling == "avg" else keras.layers.MaxPooling2D
    inputs = keras.Input(shape=(None, None, 3), name="caffe_bgr")  # (B, H, W, 3)
    x, out = inputs, {}
    for layer in names:
        if layer.startswith("conv"):
            kernel, bias = weights[layer]
            conv = conv_layer(kernel.shape[-1], 3, padding="same", activation="relu",
                              name=layer, trainable=False, dtype=dtype)
            x = conv(x)  # (B, h, w, N_l), after ReLU
            conv.set_weights([kernel, bias])
        else:
            # The paper's change to VGG: average pooling, which passes a gradient to all four
            # inputs of a window (max pooling to one), and gave the authors nicer pictures.
            x = pool(pool_size=2, strides=2, name=layer, dtype=dtype)(x)  # (B, h/2, w/2, N_l)
        if layer in outputs:
            out[layer] = x
    return keras.Model(inputs, out, name=name)
