"""The speed choices, measured on this machine at run time, never assumed (README, "Speed";
bench/RESULTS.md): the network's compute precision (``precision="auto"``), XLA for the
optimisation step (``jit="auto"``) and the route of the float32 convolutions on a CPU
(``conv_by_transpose``). Which wins depends on the CPU: bfloat16 ran 1.8x faster on an AVX-512
EPYC and 8.9x slower on an AVX2 one; XLA the other way round. Each is measured once per machine
(``styletf.machine``: kept on disk, so that the machine's load never flips it).
And what a faster precision needs: float16's loss scale (``LossScale``). Not in the paper, nor in
a notebook: the same objective, only faster."""
from __future__ import annotations

import functools
import os
import time

import numpy as np
import tensorflow as tf

from . import machine
from .errors import InputError

__all__ = ["resolve_precision", "resolve_jit", "step_times", "conv_by_transpose", "transposed_conv_is_faster",
           "LossScale", "PRECISIONS", "CONV_ROUTES"]

# Compute dtypes of the network (variables, losses and the image stay float32).
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16", "auto")
# The float32 convolutions' route, from the environment variable STYLETF_CONV (default "auto").
CONV_ROUTES = ("auto", "transposed", "tf")


def step_times(steps, repeats: int) -> list:
    """The best wall time in seconds of each ``step()`` (returning a tensor) over ``repeats`` rounds,
    after one run of each that traces and compiles it; the steps take turns within each round, so
    a busy moment of the machine falls on both alike. How ``precision="auto"`` and ``jit="auto"``
    measure this machine. Not in the paper, nor in a notebook (README, "Speed")."""
    for step in steps:
        step().numpy()
    best = [float("inf")] * len(steps)
    for _ in range(repeats):
        for i, step in enumerate(steps):
            t = time.perf_counter()
            step().numpy()
            best[i] = min(best[i], time.perf_counter() - t)
    return best


def _conv_probe(conv, dtype=tf.float32):
    """A ``step()`` for ``step_times``: two 3x3 convolutions by ``conv`` computed in ``dtype``, 128
    channels at 64 x 64, forward and backward to the image: what ``precision="auto"`` and the
    convolutions' route measure. Smaller (64 channels at 48 x 48, 2 ms a step) measured bfloat16's
    ratio anywhere from 0.6 to 1.0 on a CPU whose real step runs 1.8x faster in it (bench/RESULTS.md)."""
    x = tf.Variable(tf.random.stateless_uniform((1, 64, 64, 128), seed=(0, 0)))  # (1, 64, 64, 128)
    k = tf.cast(tf.random.stateless_normal((3, 3, 128, 128), seed=(0, 1)) * 0.05, dtype)  # (3, 3, 128, 128)

    @tf.function(autograph=False)
    def step():
        with tf.GradientTape() as tape:
            y = conv(tf.nn.relu(conv(tf.cast(x, dtype), k)), k)  # (1, 64, 64, 128)
            loss = tf.reduce_sum(tf.square(tf.cast(y, tf.float32)))
        return tape.gradient(loss, x)

    return step


@functools.lru_cache(maxsize=1)
def _bf16_runs() -> bool:
    """Whether this machine's TensorFlow runs a bfloat16 convolution at all: oneDNN held to AVX2
    (``ONEDNN_MAX_CPU_ISA=AVX2``) has none, and fails deep inside the op (bench/RESULTS.md)."""
    try:
        tf.nn.conv2d(tf.zeros((1, 8, 8, 3), tf.bfloat16), tf.zeros((3, 3, 3, 8), tf.bfloat16), 1, "SAME").numpy()
        return True
    except tf.errors.OpError:
        return False


@functools.lru_cache(maxsize=1)
def _bf16_is_faster() -> bool:
    """Time a small conv forward+backward in float32 and in bfloat16 on this machine, in turns
    (~0.2 s, once per machine: ``machine.decided``). CPU flags cannot be trusted for this: sandboxes hide them, and where
    bfloat16 is emulated it is many times slower (bench/RESULTS.md). ``_conv_probe`` measured
    0.58-0.59 on a CPU whose real step runs 1.8x faster in bfloat16 (bench/RESULTS.md)."""
    if not _bf16_runs():
        return False

    def measure():
        bf16, f32 = step_times([_conv_probe(_plain_conv, tf.bfloat16), _conv_probe(_plain_conv)], 7)
        return bf16 < 0.8 * f32
    return machine.decided("bfloat16", measure)  # once per machine: a busy moment never flips it


def resolve_precision(precision: str = "auto") -> str:
    """The compute precision that ``precision`` stands for. Not in the paper, nor in a notebook
    (README, "Speed").

    ``"auto"``: ``mixed_bfloat16`` on a GPU of compute capability 8.0 or newer, and on a CPU
    where a quick measurement finds bfloat16 convolutions faster than float32 (native
    AVX-512 BF16 / AMX); ``float32`` elsewhere. Variables, losses and the image are float32
    in every case. (``mixed_float16`` needs the normalised network: raw VGG activations
    exceed float16's range.)
    """
    if not isinstance(precision, str) or precision not in PRECISIONS:
        raise InputError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if precision == "mixed_bfloat16" and not tf.config.list_physical_devices("GPU") and not _bf16_runs():
        raise InputError("precision mixed_bfloat16: TensorFlow cannot run bfloat16 convolutions on this CPU; "
                         "use precision float32, or auto (which measures what runs fastest here)")
    if precision != "auto":
        return precision
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        cc = tf.config.experimental.get_device_details(gpus[0]).get("compute_capability", (0, 0))
        return "mixed_bfloat16" if tuple(cc) >= (8, 0) else "float32"
    return "mixed_bfloat16" if _bf16_is_faster() else "float32"


class LossScale:
    """``precision="mixed_float16"`` only: the loss is multiplied by ``value`` for the backward pass
    and the gradient divided by it, so that float16's gradients neither overflow (65504) nor underflow.
    Dynamic, as Keras' LossScaleOptimizer: a step whose losses are finite but whose gradient is
    not is redone at half the scale; after 1000 finite steps the scale doubles. Where it must sit
    depends on the loss: Figure 2's objective (about 1e8 at alpha/beta = 1e-3) overflowed at
    Keras' usual fixed 2^15, so it starts at 1. In any other precision nothing is scaled. Not in the
    paper, nor in a notebook (README, "Speed")."""

    GROW_AFTER, FLOOR = 1000, 2.0 ** -40

    def __init__(self, precision: str):
        self.dynamic = precision == "mixed_float16"
        self.value = tf.Variable(1.0, trainable=False, name="loss_scale")
        self.finite_steps = 0

    def scaled(self, loss):
        """The loss for the backward pass. Not in the paper, nor in a notebook."""
        return loss * self.value if self.dynamic else loss

    def unscaled(self, grad):
        """The gradient of the scaled loss, scaled back. Not in the paper, nor in a notebook."""
        return grad / self.value if self.dynamic else grad

    def redo(self, terms: dict, grad_finite) -> bool:
        """After a step: True to redo it, the scale now halved (its losses finite, its gradient not).
        Not in the paper, nor in a notebook."""
        if not self.dynamic:
            return False
        if bool(grad_finite):
            self.finite_steps += 1
            if self.finite_steps == self.GROW_AFTER:
                self.value.assign(self.value * 2.0)
                self.finite_steps = 0
            return False
        if not np.all(np.isfinite(terms["total"])) or self.value.numpy() <= self.FLOOR:
            return False  # the losses themselves overflowed: no scale helps
        self.value.assign(self.value / 2.0)
        self.finite_steps = 0
        return True


def _plain_conv(x, kernel):
    """``tf.nn.conv2d(x, kernel, 1, "SAME")``: TensorFlow's own route, against which
    ``conv_by_transpose`` is measured."""
    return tf.nn.conv2d(x, kernel, 1, "SAME")


def conv_by_transpose(x, kernel):
    """``tf.nn.conv2d(x, kernel, 1, "SAME")`` for an odd square kernel, computed as the transposed
    convolution with the kernel mirrored and its channel axes swapped (the same sums: the responses
    F^l of docs/method.md, "Representations", before the bias and ReLU); its gradient with respect
    to ``x`` is the transposed convolution with ``kernel``, as TensorFlow's own. Why: where oneDNN
    has no direct kernel for plain-layout weights (seen with oneDNN held to AVX2,
    ``ONEDNN_MAX_CPU_ISA=AVX2``, standing in for an AVX2-only CPU) TensorFlow runs the forward
    convolution as an unfolded matrix product, 1.5x slower than its transposed convolution, which
    blocks the weights first (bench/RESULTS.md, "The forward convolution on an AVX2 CPU"). Used
    where ``transposed_conv_is_faster``. The weights are frozen in styletf: no gradient with respect
    to ``kernel`` (None). Not in the paper, nor in a notebook: the same network, only faster
    (README, "Speed"; docs/method.md, "Deviations")."""
    if len(kernel.shape) != 4 or kernel.shape[0] != kernel.shape[1] or kernel.shape[0] % 2 == 0:
        raise InputError(f"conv_by_transpose needs an odd square kernel (k, k, C_in, C_out), got {tuple(kernel.shape)}")

    @tf.custom_gradient
    def conv(x, kernel):  # x (B, H, W, C_in), kernel (k, k, C_in, C_out)
        mirrored = tf.transpose(tf.reverse(kernel, [0, 1]), [0, 1, 3, 2])  # (k, k, C_out, C_in)
        shape = tf.concat([tf.shape(x)[:3], tf.shape(kernel)[3:]], 0)
        y = tf.nn.conv2d_transpose(x, mirrored, shape, 1, "SAME")  # (B, H, W, C_out)

        def grad(dy):  # dy (B, H, W, C_out)
            return tf.nn.conv2d_transpose(dy, kernel, tf.shape(x), 1, "SAME"), None  # (B, H, W, C_in)

        return y, grad

    return conv(x, tf.convert_to_tensor(kernel))  # read a variable's value here, outside the custom gradient


@functools.lru_cache(maxsize=1)
def transposed_conv_is_faster() -> bool:
    """Time a float32 conv forward+backward by ``conv_by_transpose`` and by ``tf.nn.conv2d`` on
    this CPU, in turns (~0.3 s, once per machine): the first wins by 1.5x where oneDNN caps at
    AVX2 and ties on AVX-512 (bench/RESULTS.md). Never on a GPU (cuDNN's own choice stands). The
    environment variable ``STYLETF_CONV`` = ``transposed`` or ``tf`` forces the route (to recreate an
    image made on the other one: its sidecar's ``settings["conv"]``). Not in the paper, nor in a
    notebook (README, "Speed")."""
    route = os.environ.get("STYLETF_CONV", "auto") or "auto"
    if route not in CONV_ROUTES:
        raise InputError(f"STYLETF_CONV must be one of {', '.join(CONV_ROUTES)}, got {route!r}")
    if route != "auto" or tf.config.list_physical_devices("GPU"):
        return route == "transposed"

    def measure():
        transposed, plain = step_times([_conv_probe(conv_by_transpose), _conv_probe(_plain_conv)], 7)
        return transposed < 0.9 * plain
    return machine.decided("transposed-conv", measure)  # once per machine: a busy moment never flips it


@functools.lru_cache(maxsize=1)
def _xla_is_faster() -> bool:
    """Time a small conv forward+backward compiled by XLA and without it on this machine (~2 s,
    once per machine). Which wins depends on the CPU (bench/RESULTS.md): measure, never assume."""

    conv = conv_by_transpose if transposed_conv_is_faster() else _plain_conv  # the route the network takes

    def step_with(jit: bool):
        x = tf.Variable(tf.random.stateless_uniform((1, 96, 96, 64), seed=(0, 0)))
        k = tf.random.stateless_normal((3, 3, 64, 64), seed=(0, 1)) * 0.05

        @tf.function(jit_compile=jit, autograph=False)
        def step():
            with tf.GradientTape() as tape:
                y = tf.nn.avg_pool2d(tf.nn.relu(conv(x, k)), 2, 2, "VALID")
                y = tf.nn.relu(conv(y, k))
                g = tf.einsum("bhwi,bhwj->bij", y, y)
                loss = tf.reduce_sum(tf.square(g)) + tf.reduce_sum(tf.square(y))
            return tape.gradient(loss, x)

        return step

    def measure():
        xla, plain = step_times([step_with(True), step_with(False)], 5)  # in turns
        return xla < 0.9 * plain
    return machine.decided("xla", measure)  # once per machine: a busy moment never flips it


def resolve_jit(jit="auto") -> bool:
    """Whether the step is compiled by XLA (``tf.function(jit_compile=True)``): ``True``/``False``
    as given; ``"auto"``: where a quick measurement finds it faster on this machine (once per
    process). Not in the paper, nor in a notebook: speed only, the same objective (README, "Speed")."""
    if isinstance(jit, str) and jit == "auto":
        return _xla_is_faster()
    if not isinstance(jit, bool):
        raise InputError(f"jit must be True, False or 'auto', got {jit!r}")
    return jit
