"""From white noise to the picture: gradient descent on the image x itself, the network fixed.

The paper: start from white noise, take the gradient of the loss with respect to the pixels by
back-propagation (here ``tf.GradientTape``), and descend. The authors' code used L-BFGS;
Adam is the common alternative. Either way the pixels stay in [0, 1]: Adam clips after each
step, L-BFGS-B keeps them inside by its bounds. Progress bars, previews, Ctrl-C, float16 loss
scaling and retries are the shell's (``styletf.optimize``), handed in as callbacks.
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf
from scipy.optimize import Bounds, minimize

__all__ = ["white_noise", "loss_and_gradient", "adam_update", "lbfgs_b"]


def white_noise(shape, seed: int = 0):
    """(B, H, W, 3) i.i.d. uniform pixels in [0, 1], image i from a NumPy generator seeded
    ``seed + i``: the same start on any machine."""
    b, h, w, _ = shape
    noise = [np.random.default_rng(seed + i).uniform(0.0, 1.0, size=(1, h, w, 3)) for i in range(b)]
    return tf.constant(np.concatenate(noise), tf.float32)  # (B, H, W, 3)


def loss_and_gradient(objective, image, scaled=None, unscaled=None):
    """(the losses {term: (B,)}, dL/dx (B, H, W, 3)) of eq. 7 summed over the batch: the images
    are independent, so the gradient is block-diagonal and image i's part is its own loss's.
    ``scaled``/``unscaled``: a loss scale put on and taken off around the tape (the shell's, for
    float16's small range); by default none."""
    with tf.GradientTape() as tape:
        tape.watch(image)
        terms = objective(image)
        loss = tf.reduce_sum(terms["total"])
        if scaled is not None:
            loss = scaled(loss)
    grad = tape.gradient(loss, image)  # (B, H, W, 3), by back-propagation through the network
    return terms, grad if unscaled is None else unscaled(grad)


def adam_update(optimizer, x, grad) -> None:
    """One step of a Keras optimizer (Adam) on the image variable x, then x clipped to [0, 1]."""
    optimizer.apply_gradients([(grad, x)])
    x.assign(tf.clip_by_value(x, 0.0, 1.0))


def lbfgs_b(fun, x0, steps: int, callback=None):
    """SciPy's L-BFGS-B, the authors' optimiser, on one flat image x0 (n,) with every pixel in [0, 1]:
    ``fun(v)`` -> (loss, gradient (n,)), both float64; ``callback(result)`` after each iteration
    (SciPy's ``intermediate_result``). ``steps`` iterations; tolerances 0, so it stops early only
    where it converges or finds no lower loss. Returns SciPy's OptimizeResult."""
    return minimize(fun, x0, jac=True, method="L-BFGS-B", bounds=Bounds(0.0, 1.0), callback=callback,
                    options={"maxiter": steps, "maxfun": 50 * steps, "ftol": 0.0, "gtol": 0.0})
