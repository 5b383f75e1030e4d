"""``python -m styletf bench``: time one synthesis step, ours or a tutorial-style one.

Ours: ``styletf.synthesize`` on the paper's Figure 2 objective (content conv4_2,
style conv1_1..conv5_1, white-noise start) at a given size, backbone and precision.

``--reference``: the step of the official TensorFlow style-transfer tutorial,
rebuilt here from its published settings - Keras' own VGG19 (max pooling) up to
block5_conv2, content block5_conv2, style block1_conv1..block5_conv1 with Gram
matrices divided by the number of positions, mean-squared losses weighted 1e4 /
1e-2, Adam(learning_rate=0.02, beta_1=0.99, epsilon=0.1), the image in [0, 1]
clipped after each step, starting from the content image. Same process, same size.
For a fair comparison use a VGG19 architecture (``--backbone random``): the
stand-in is a (smaller) VGG16.

The first step (tracing) is not counted. The last line printed is
``ms_per_step=<float>`` (the median over the timed steps).
"""
from __future__ import annotations

import os
import platform
import resource
import statistics
import time

import keras
import numpy as np
import tensorflow as tf

from .backbones import conv_weights, paper_name, resolve_backbone
from .errors import InputError
from .preflight import check_memory
from .images import load_image
from .synthesis import synthesize
from .speed import resolve_jit, resolve_precision

__all__ = ["run", "machine"]


def _tutorial_step(content, style, backbone: str):
    """A tf.function doing one step of the TF tutorial's optimisation; returns (step, image)."""
    style_layers = ["block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1"]
    content_layers = ["block5_conv2"]
    base = keras.applications.VGG19(include_top=False, weights=None)
    if resolve_backbone(backbone) != "vgg16-hed":  # load our VGG19 weights; timing needs none
        weights = conv_weights(resolve_backbone(backbone))
        for layer in base.layers:
            if "conv" in layer.name:
                layer.set_weights(list(weights[paper_name(layer.name)]))
    base.trainable = False
    model = keras.Model(base.input, [base.get_layer(n).output for n in style_layers + content_layers])

    def gram(x):  # (B, h, w, C) -> (B, C, C), divided by the number of positions
        return tf.einsum("bijc,bijd->bcd", x, x) / tf.cast(tf.shape(x)[1] * tf.shape(x)[2], tf.float32)

    def extract(image):
        out = model(keras.applications.vgg19.preprocess_input(image * 255.0))
        return [gram(o) for o in out[:5]], out[5:]

    style_targets, _ = extract(style)
    _, content_targets = extract(content)
    image = tf.Variable(content)
    opt = keras.optimizers.Adam(learning_rate=0.02, beta_1=0.99, epsilon=1e-1)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            s, c = extract(image)
            loss = (1e-2 / 5 * tf.add_n([tf.reduce_mean((a - b) ** 2) for a, b in zip(s, style_targets)])
                    + 1e4 * tf.add_n([tf.reduce_mean((a - b) ** 2) for a, b in zip(c, content_targets)]))
        opt.apply_gradients([(tape.gradient(loss, image), image)])
        image.assign(tf.clip_by_value(image, 0.0, 1.0))
        return loss

    return step


def machine() -> str:
    """CPU model and core count, for the record (bench/RESULTS.md). Not in the paper, nor in a
    notebook."""
    model = platform.processor() or platform.machine()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    caps = [f"{var}={os.environ[var]}" for var in ("ONEDNN_MAX_CPU_ISA", "ATEN_CPU_CAPABILITY") if os.environ.get(var)]
    return f"{model}, {os.cpu_count()} cores" + (f" (instruction set capped: {', '.join(caps)})" if caps else "")


def run(size: int, steps: int, backbone: str, precision: str, reference: bool, jit=False) -> float:
    """Time ``steps`` steps after one untimed step; print a summary and ``ms_per_step=``.
    The Figure 2 objective (docs/method.md, eq. 7; notebook 03); README, "Speed"."""
    if reference and (precision != "float32" or jit is not False):
        raise InputError("--reference times the TF tutorial's step as it is written (float32, no XLA): "
                         "drop --precision and --jit, or time our step without --reference")
    if reference and size < 32:  # Keras' max pooling failed deep inside TensorFlow at 24 px (18 px high)
        raise InputError(f"--reference needs --size 32 or more (the tutorial's VGG19 pools four times "
                         f"before block5_conv2), got {size}")
    check_memory(size, 1.0, "adam", "neckarfront", ["starry_night"])  # before anything is allocated
    content = load_image("neckarfront", size)
    style = load_image("starry_night", size)
    backbone = resolve_backbone(backbone)
    times = []
    if reference:
        step = _tutorial_step(content, style, backbone)
        step()  # trace
        for _ in range(steps):
            t = time.perf_counter()
            step().numpy()
            times.append(time.perf_counter() - t)
        what, precision = "tutorial-style step (Keras VGG19, max pooling, to block5_conv2)", "float32"
    else:
        marks = []
        result = synthesize(content=content, style=style, steps=steps + 1, backbone=backbone,  # float16's
                            precision=precision, progress=False, jit=jit,
                            network="auto" if precision == "mixed_float16" else "raw", callback=lambda i, x, l: marks.append(time.perf_counter()))
        times = list(np.diff(marks))  # steps intervals between step ends: the first (tracing) dropped
        precision = resolve_precision(precision)
        what = (f"styletf step (Figure 2 objective, avg pooling, to conv5_1{', normalised' if result.settings['network'] != 'raw' else ''}; "
                f"XLA {'on' if resolve_jit(jit) else 'off'}; "
                f"convolutions: {result.settings['conv']})")
    ms = 1000 * statistics.median(times)
    print(f"{what}\nbackbone {backbone}, precision {precision}, {tuple(content.shape[1:3])} px, "
          f"{len(times)} timed steps: median {ms:.1f} ms, min {1000 * min(times):.1f} ms, "
          f"max {1000 * max(times):.1f} ms\nmachine: {machine()}, "
          f"TensorFlow {tf.__version__}, GPUs: {[g.name for g in tf.config.list_physical_devices('GPU')] or 'none'}")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    print(f"peak resident memory of this process: {peak_mb:.0f} MiB")
    print(f"ms_per_step={ms:.3f}")
    return ms
