"""Write a VGG19 weights file, in the exact layout of Keras' ImageNet file, that computes the
offline stand-in's features: a test fixture for the ImageNet VGG19 code path (issue 14).

VGG19 and the stand-in's VGG16 differ only by conv3_4, conv4_4 and conv5_4. This file holds the
stand-in's weights for every conv the two share and, for those three, an identity 3x3
convolution (centre tap 1, bias 0): its input comes out of a ReLU, so it is non-negative, and
conv + ReLU returns it unchanged. Through the VGG19 code path the file gives the stand-in's
feature maps (tests/test_weightfiles.py proves it). It is built where it is needed, never
committed.

The layout is Keras' legacy HDF5 weights layout, as in
``vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5``: the root attribute ``layer_names``
lists every layer (input, convs, poolings); each layer is a group with an attribute
``weight_names``; a conv's kernel and bias are the datasets ``<layer>_W_1:0`` and
``<layer>_b_1:0`` of its group.

    KERAS_HOME=/tmp/k python tools/make_vgg19_standin.py   # into $KERAS_HOME/models/
    python tools/make_vgg19_standin.py OUT.h5                # anywhere

Without an output path it needs ``$KERAS_HOME``: it never writes into your real Keras cache
(``~/.keras``) by default, where every later "auto" would take it for ImageNet VGG19's place.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import h5py
import numpy as np

KERAS_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"
BLOCKS = {"vgg19": (2, 2, 4, 4, 4), "vgg16": (2, 2, 3, 3, 3)}
IDENTITY_CONVS = ("conv3_4", "conv4_4", "conv5_4")


def identity_conv(channels: int) -> tuple[np.ndarray, np.ndarray]:
    """A 3x3 convolution that returns its (non-negative) input: centre tap 1, bias 0."""
    kernel = np.zeros((3, 3, channels, channels), np.float32)  # (3, 3, C_in, N)
    kernel[1, 1, np.arange(channels), np.arange(channels)] = 1.0
    return kernel, np.zeros(channels, np.float32)


def standin_as_vgg19() -> dict:
    """{paper conv name: (kernel, bias)} of VGG19: the stand-in's weights, identity convs where
    VGG19 has a conv that VGG16 lacks."""
    from styletf.backbones import conv_weights

    vgg16 = conv_weights("vgg16-hed")
    out = {}
    for b, n in enumerate(BLOCKS["vgg19"], start=1):
        for i in range(1, n + 1):
            name = f"conv{b}_{i}"
            out[name] = vgg16[name] if name in vgg16 else identity_conv(vgg16[f"conv{b}_{i - 1}"][1].size)
    return out


def write_keras_h5(path, weights: dict, arch: str = "vgg19") -> Path:
    """Write ``weights`` ({paper conv name: (kernel, bias)}) as Keras' legacy HDF5 weights file of
    the conv trunk of ``arch`` (no top), written to a temporary name first, then renamed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    names = ["input_1"]
    with h5py.File(tmp, "w") as f:
        f.create_group("input_1").attrs["weight_names"] = np.array([], dtype="S")
        for b, n in enumerate(BLOCKS[arch], start=1):
            for i in range(1, n + 1):
                layer = f"block{b}_conv{i}"
                g = f.create_group(layer)
                kernel, bias = weights[f"conv{b}_{i}"]
                g.attrs["weight_names"] = np.array([f"{layer}_W_1:0", f"{layer}_b_1:0"], dtype="S")
                g.create_dataset(f"{layer}_W_1:0", data=np.asarray(kernel, np.float32))
                g.create_dataset(f"{layer}_b_1:0", data=np.asarray(bias, np.float32))
                names.append(layer)
            f.create_group(f"block{b}_pool").attrs["weight_names"] = np.array([], dtype="S")
            names.append(f"block{b}_pool")
        f.attrs["layer_names"] = np.array(names, dtype="S")
    os.replace(tmp, path)
    return path


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out", nargs="?", help=f"output file (default: $KERAS_HOME/models/{KERAS_FILE})")
    args = p.parse_args(argv)
    if not args.out and not os.environ.get("KERAS_HOME"):
        print("give the output path, or set KERAS_HOME to a scratch folder (never ~/.keras)", file=sys.stderr)
        return 2
    out = Path(args.out) if args.out else Path(os.environ["KERAS_HOME"]) / "models" / KERAS_FILE
    if out.exists():
        print(f"{out} exists: not overwritten (delete it first)", file=sys.stderr)
        return 2
    print(write_keras_h5(out, standin_as_vgg19()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
