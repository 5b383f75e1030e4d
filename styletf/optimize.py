"""Gradient descent on the image (docs/method.md, "Synthesis"; notebook 01, both optimisers: 05).

Adam (the default) takes its gradient from ``tf.GradientTape`` and updates the image
inside a ``tf.function``, clipping it to [0, 1] after each step. L-BFGS-B (SciPy; the
authors' choice) keeps the image in [0, 1] by bounds. Around both, what every run
needs: the losses of each step, a progress bar, the callback, and Ctrl-C.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf
from tqdm.auto import tqdm

from . import interrupts, lockstep, memory, watch
from .errors import InputError
from .objective import Objective
from .paper import descent
from .speed import LossScale, resolve_jit

__all__ = ["minimize", "adam_schedule", "check_optimizer", "Run"]

TERMS = ("total", "content", "style", "tv")


@dataclass
class Run:
    """What ``minimize`` did (docs/method.md, "Synthesis"; notebook 01)."""

    history: dict  # {"total", "content", "style", "tv"}: (steps_done, B), at the start of each step
    final: dict  # the same losses of the image left in x: (B,) each
    steps_done: int
    wall_time: float
    stopped: str | None  # why it was cut short (callback, Ctrl-C, non-finite losses), if it was
    interrupted: bool  # by Ctrl-C
    optimizer: str  # its name: "adam", "lbfgs", or a Keras optimizer's class
    learning_rate: float | None  # None for L-BFGS
    ended: str | None = None  # L-BFGS-B's own end before ``steps`` (converged, or no lower loss found)


def check_optimizer(optimizer):
    """"adam", "lbfgs" or a ``keras.optimizers.Optimizer``, else a clear error (docs/method.md,
    "Synthesis"; notebook 05)."""
    if not (isinstance(optimizer, str) and optimizer in ("adam", "lbfgs") or isinstance(optimizer, keras.optimizers.Optimizer)):
        raise InputError(f"optimizer must be 'adam', 'lbfgs' or a keras optimizer, got {optimizer!r:.60}")
    return optimizer


def progress_wanted() -> bool:
    """False when ``$STYLETF_PROGRESS`` is 0 (or false, no, off): no progress bars, e.g. under
    ``pytest --nbval``, which reads a kernel's messages only after each cell, so a bar's
    updates would fill the kernel's message queue. Not in the paper, nor in a notebook: README,
    "Settings"."""
    value = os.environ.get("STYLETF_PROGRESS", "").strip().lower()
    if value in ("", "1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise InputError(f"STYLETF_PROGRESS must be 1 (progress bars) or 0 (none), got {value!r}")


class _Log:
    """The losses of every step, the progress bar, and the callback."""

    def __init__(self, x, steps, desc, callback, progress):
        self.x, self.callback = x, callback
        self.progress = bool(progress) and progress_wanted()
        self.history = {k: [] for k in TERMS}
        # At most two redraws a second: in a notebook each redraw is a message to the front end.
        self.bar = tqdm(total=steps, disable=not self.progress, desc=desc, leave=False, mininterval=0.5)
        # In a notebook, the picture and the loss curves too, redrawn every 5 s (styletf.watch).
        self.preview = watch.Preview(desc) if self.progress and watch.in_notebook() else None

    def record(self, i, terms) -> bool:
        """Store step i's losses, update the bar, call the callback; True means stop."""
        for k, v in terms.items():
            self.history[k].append(v)
        self.bar.update(1)
        if self.preview is not None:
            self.preview.update(self.x, self.history)
        if self.progress and (i % 10 == 0 or i + 1 == self.bar.total):  # and the last step's
            self.bar.set_postfix(total=f"{terms['total'].sum():.3g}", content=f"{terms['content'].sum():.3g}",
                                 style=f"{terms['style'].sum():.3g}", refresh=False)
        return bool(self.callback is not None and self.callback(i, self.x, {k: v.copy() for k, v in terms.items()}))

    def close(self) -> None:
        """The run is over: the bar and the preview go."""
        self.bar.close()
        if self.preview is not None:
            self.preview.close()

    def complete_steps(self) -> int:
        """After Ctrl-C: drop a step recorded only in part; the number of steps recorded."""
        done = min(len(v) for v in self.history.values())
        for v in self.history.values():
            del v[done:]
        return done

    def arrays(self, applied=None) -> tuple[dict, int]:
        """(history as arrays (steps_done, B), steps_done). ``applied``: after Ctrl-C, the Adam
        updates applied to x, one more than recorded if the last one's losses were not: NaN."""
        history, batch = self.history, self.x.shape[0]
        steps_done = len(history["total"])
        if applied is not None:
            history = {k: v + [np.full(batch, np.nan)] * (applied - steps_done) for k, v in history.items()}
            steps_done = applied
        return {k: np.asarray(v, np.float64).reshape(steps_done, batch) for k, v in history.items()}, steps_done


def adam_schedule(learning_rate: float, steps: int):
    """Adam's step size over a run of ``steps`` (``optimizer="adam"``): ``learning_rate`` for the
    first half, then down a half cosine to 2 % of it at the last step:

        lr(t) = learning_rate                                             t <  h = steps // 2
        lr(t) = learning_rate * (0.02 + 0.98 * (1 + cos(pi (t - h) / (steps - h - 1))) / 2)   t >= h

    Not in the paper (its optimiser is L-BFGS): at a constant step size Adam's loss jumps now
    and then, at 256 px to 2-5 times its level for tens of steps, with coloured blotches in the
    picture, and a run can end inside such a jump; the decay lets every run end settled and lower
    (bench/RESULTS.md, "Adam's step size over the run"; README; Adam against L-BFGS: notebook 05)."""
    half = steps // 2
    return keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=max(steps - half - 1, 1), alpha=0.02,
                                                  warmup_target=learning_rate, warmup_steps=half)


def _optimizer(optimizer, learning_rate, steps):
    """(Keras optimizer or None for L-BFGS, its name, its learning rate or None)."""
    if optimizer == "lbfgs":
        return None, "lbfgs", None
    if isinstance(optimizer, keras.optimizers.Optimizer):
        return optimizer, type(optimizer).__name__.lower(), float(keras.ops.convert_to_numpy(optimizer.learning_rate))
    # a new one per run, its step size decaying over the run's second half
    return keras.optimizers.Adam(learning_rate=adam_schedule(learning_rate, steps)), optimizer, learning_rate


def minimize(x: tf.Variable, objective: Objective, *, steps: int, optimizer="adam",
             learning_rate: float = 0.05, callback=None, progress=True, jit=False) -> Run:
    """Minimise sum_i objective(x)["total"]_i over the image ``x`` (B, H, W, 3), in place.

    ``optimizer``: "adam" (a new ``keras.optimizers.Adam``: step size ``learning_rate``, decaying
    over the second half of the ``steps``, ``adam_schedule``), a Keras optimizer
    (used as is), or "lbfgs" (SciPy's L-BFGS-B, ``steps`` iterations, tolerances 0: it ends
    early by itself only where it converges or finds no lower loss, ``Run.ended``; a batch is one problem). ``callback(step, x, losses)``
    after each step; True stops. Ctrl-C stops with the image of the last completed step. ``jit``: XLA.
    docs/method.md, "Synthesis" (the gradient from ``tf.GradientTape``); notebook 01, L-BFGS: 05.
    """
    if callback is not None and not callable(callback):
        raise InputError(f"callback must be a function callback(step, image, losses), got {callback!r:.60}")
    adam, name, learning_rate = _optimizer(optimizer, learning_rate, steps)
    jit = resolve_jit(jit)
    precision = objective.extractor.precision  # named where it is not float32 (e.g. picked by "auto")
    desc = f"synthesis ({objective.extractor.backbone}, {name}{'' if precision == 'float32' else ', ' + precision})"
    log = _Log(x, steps, desc, callback, progress)
    interrupted, applied, out_of_memory = False, None, False
    first = int(adam.iterations.numpy()) if adam is not None else 0  # a given optimizer may have run
    start = time.perf_counter()
    ended = None
    try:
        with interrupts.steps():  # a stop held since the last steps (the command's) ends these at once
            if adam is None:
                stopped, ended = _lbfgs(x, objective, steps, log.record, jit)
            else:
                stopped = _adam(x, objective, adam, steps, log.record, jit)
    except KeyboardInterrupt as e:  # x holds the last completed step: keep it (the caller raises again)
        interrupted, done = True, log.complete_steps()
        applied = int(adam.iterations.numpy()) - first if adam is not None else None  # done, or one more
        how = str(e) if str(e) in ("SIGTERM", "SIGHUP") else "Ctrl-C"  # interrupts.stop_signals_interrupt
        stopped = f"interrupted ({how}) after {done if adam is None else applied} of {steps} steps"
    except Exception as e:  # noqa: BLE001 - out of memory after some steps: x holds the last one, kept
        if not memory.is_out_of_memory(e) or not log.complete_steps():
            raise
        applied = int(adam.iterations.numpy()) - first if adam is not None else None
        stopped = f"{memory.oom_message()} after {log.complete_steps()} of {steps} steps"
        out_of_memory = True  # the last step's losses stand for the final ones: no evaluation again
    log.close()
    final = ({k: np.asarray(v[-1]) for k, v in log.history.items()} if out_of_memory
             else {k: v.numpy() for k, v in objective(x).items()})  # (B,) each, for the result
    wall = time.perf_counter() - start
    history, steps_done = log.arrays(applied)
    return Run(history, final, steps_done, wall, stopped, interrupted, name, learning_rate, ended)


def _adam_step(x, objective, adam, scale, jit=False):
    """One step as a ``tf.function``: losses and gradient (tape), update, clip to [0, 1]; returns
    (losses, whether the update was made, whether the gradient was finite)."""

    @tf.function(jit_compile=jit)
    def step():
        terms, grad = descent.loss_and_gradient(objective, x, scale.scaled, scale.unscaled)  # (B, H, W, 3)
        grad_finite = tf.reduce_all(tf.math.is_finite(grad))
        finite = tf.logical_and(tf.reduce_all(tf.math.is_finite(terms["total"])), grad_finite)
        if finite:
            before = tf.identity(x)
            descent.adam_update(adam, x, grad)
            if not tf.reduce_all(tf.math.is_finite(x)):  # e.g. Adam's g^2 overflowed: undo
                x.assign(before)
                finite = tf.constant(False)
        return terms, finite, grad_finite

    return step


def _adam(x, objective, adam, steps, record, jit=False) -> str | None:
    """``steps`` Adam steps on ``x``; returns why it stopped early, or None."""
    scale = LossScale(objective.extractor.precision)
    if not adam.built:  # its moments made here, not in the step's first trace: traced once, not twice
        adam.build([x])
    step = _adam_step(x, objective, adam, scale, jit)
    for i in range(steps):
        terms, finite, grad_finite = step()
        while scale.redo(terms, grad_finite):  # mixed_float16's gradient overflowed: again, scaled lower
            terms, finite, grad_finite = step()
        terms = {k: v.numpy() for k, v in terms.items()}
        if not bool(finite):
            why = _why_non_finite(objective, adam=True)
            return f"non-finite loss, gradient or update at step {i}; kept the last finite image ({why})"
        if record(i, terms):
            return f"stopped by the callback after step {i}"
    return None


def _why_non_finite(objective, adam: bool = False) -> str:
    """Why a run went non-finite, and the way out (named as arguments and as options): in float16, its small range."""
    weights = "smaller loss weights (alpha, beta, tv_weight; on the command line a larger --alpha-beta or a smaller --tv)"
    step = ", or a smaller step size (learning_rate, --lr)" if adam else ""
    fp16 = "float16's range (65504) was exceeded: use float32 precision, or"
    return f"{fp16 if objective.extractor.precision == 'mixed_float16' else 'too large for float32:'} {weights}{step}"


_TRACED: dict = {}  # (extractor, shapes of the objective's tensors, jit) -> tf.function, the latest 16


def _value_and_grad(objective, shape, scale, jit=False):
    """``f(flat, tensors)`` -> (the losses, the gradient of their sum) at a batch of flat images
    (B, n), as a ``tf.function`` that takes the objective's tensors (``Objective.tensors``) as
    arguments: one per extractor and shapes in a process, so that the next run of the same shapes
    (another stage, style, alpha/beta or seed) is not traced again. mixed_float16's loss scale is a
    variable of its run: then a function of that run alone."""
    tensors = objective.tensors()
    key = (id(objective.extractor), shape, bool(jit),
           str(tf.nest.map_structure(lambda t: (tuple(t.shape), t.dtype.name), tensors)))
    if scale.dynamic or key not in _TRACED:
        extractor = objective.extractor

        @tf.function(jit_compile=jit)
        def value_and_grad(flat, tensors):
            image = tf.reshape(flat, shape)  # (B, H, W, 3)
            terms, grad = descent.loss_and_gradient(Objective.of(extractor, tensors), image,
                                                    scale.scaled, scale.unscaled)  # mixed_float16: speed.LossScale
            return terms, tf.reshape(grad, [shape[0], -1])

        if scale.dynamic:
            return lambda flat: value_and_grad(flat, tensors)
        if len(_TRACED) >= 16:
            _TRACED.pop(next(iter(_TRACED)))
        _TRACED[key] = value_and_grad
    function = _TRACED[key]
    return lambda flat: function(flat, tensors)


def _lbfgs(x, objective, steps, record, jit=False) -> tuple:
    """Minimise with SciPy's L-BFGS-B in [0, 1], one run per image in lock-step (``styletf.lockstep``),
    updating ``x``; returns (why it was cut short, why L-BFGS-B itself ended before ``steps``
    iterations), each or None."""
    shape = tuple(x.shape)
    scale = LossScale(objective.extractor.precision)
    value_and_grad = _value_and_grad(objective, shape, scale, jit)
    done = [0]

    def evaluate(points):  # (B, n) float64 -> (B,), (B, n), per image {term: loss}
        terms, grad = value_and_grad(tf.constant(points, tf.float32))  # {term: (B,)}, (B, n)
        while scale.dynamic and scale.redo(terms, tf.reduce_all(tf.math.is_finite(grad))):  # float16: lower
            terms, grad = value_and_grad(tf.constant(points, tf.float32))
        terms = {k: t.numpy() for k, t in terms.items()}
        rows = [{k: t[i:i + 1] for k, t in terms.items()} for i in range(shape[0])]
        return terms["total"].astype(np.float64), grad.numpy().astype(np.float64), rows

    def on_iteration(i, points, rows):  # every image's accepted point after iteration i
        x.assign(points.reshape(shape).astype(np.float32))
        done[0] = i + 1
        return record(i, {k: np.concatenate([r[k] for r in rows]) for k in rows[0]})

    try:
        final, _, early, stopped = lockstep.minimize_batch(evaluate, x.numpy().reshape(shape[0], -1), steps,
                                                           on_iteration)
    except lockstep.NonFinite:
        return (f"non-finite loss or gradient after step {done[0]}; kept the last finite "
                f"image ({_why_non_finite(objective)})"), None
    if stopped:
        return f"stopped by the callback after step {done[0] - 1}", None
    x.assign(final.reshape(shape).astype(np.float32))
    if early:  # with tolerances 0: no lower loss found, or a zero gradient
        which = "" if shape[0] == 1 else "image " + ", ".join(map(str, early)) + ": "
        return None, (f"L-BFGS-B ended by itself {which}after " + ", ".join(str(r.nit) for r in early.values())
                      + f" of {steps} iterations ({next(iter(early.values())).message.strip(': ')})")
    return None, None
