"""Synthesis by gradient descent on the image (PAPER.md, "Synthesis").

One path serves every experiment of the paper:

- content reconstruction (Fig. 1, top row): ``synthesize(content=photo, content_layers=["conv2_1"])``
  (no style image, so beta plays no part);
- style reconstruction (Fig. 1, bottom row): ``synthesize(style=painting, style_layers=[...])``;
- style transfer (Fig. 2, 3): ``synthesize(content=photo, style=painting, alpha=1, beta=1e3)``.

The objective is L_total = alpha * L_content + beta * L_style (+ tv_weight * TV),
per image; its gradient w.r.t. the image comes from ``tf.GradientTape`` and
Adam updates the image inside a ``tf.function``, clipping it to [0, 1] after
each step.
"""
from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import tensorflow as tf

from . import losses
from .errors import InputError
from .images import atomic_write, load_image, save_image
from .backbones import paper_name as _paper_name
from .vgg import PAPER_CONTENT_LAYERS, PAPER_STYLE_LAYERS, FeatureExtractor

__all__ = ["synthesize", "coarse_to_fine", "SynthesisResult", "SynthesisInterrupted",
           "DEFAULT_LEARNING_RATE", "psnr"]

#: Adam's step size for images in [0, 1]. Chosen by measurement
#: (bench/lr_sweep.py, numbers in bench/RESULTS.md).
DEFAULT_LEARNING_RATE = 0.05


@dataclass
class SynthesisResult:
    """What ``synthesize`` returns.

    image: (B, H, W, 3) float32 in [0, 1] - the last finite image.
    history: {"total", "content", "style", "tv"}: arrays (steps_done, B), the
        losses of the image at the start of each step (content and style
        unweighted, total weighted).
    final: the same four losses for the returned image, arrays (B,).
    """

    image: tf.Tensor
    history: dict
    final: dict
    settings: dict
    backbone: str
    backbone_description: str
    wall_time: float
    steps_done: int
    stopped: str | None = None  # why the run ended before ``steps``, if it did
    extra: dict = field(default_factory=dict)

    def save(self, path, index: int = 0) -> Path:
        """Write image ``index`` as a PNG and a sidecar ``<path>.json`` (settings,
        backbone, final losses, steps, time), both atomically."""
        path = Path(path)
        save_image(self.image[index], path)
        meta = {
            "settings": self.settings,
            "backbone": self.backbone,
            "backbone_description": self.backbone_description,
            "final_losses": {k: float(v[index]) for k, v in self.final.items()},
            "steps_done": self.steps_done,
            "wall_time_s": round(self.wall_time, 3),
            "stopped": self.stopped,
        }
        if "stages" in self.extra:  # coarse to fine: each stage's long side, steps and seconds
            meta["stages"] = [{"size": size, "steps": n, "seconds": t} for size, n, t in self.extra["stages"]]
        atomic_write(path.with_suffix(".json"), json.dumps(meta, indent=2).encode())
        return path


class SynthesisInterrupted(KeyboardInterrupt):
    """Ctrl-C (KeyboardInterrupt) during ``synthesize``: still a KeyboardInterrupt, carrying
    ``result``, the ``SynthesisResult`` of the steps done so far (``stopped`` says so), so
    that no work is lost."""

    def __init__(self, result: "SynthesisResult"):
        super().__init__(result.stopped)
        self.result = result


def psnr(x, reference) -> np.ndarray:
    """Peak signal-to-noise ratio in dB of images in [0, 1], per image: (B,)."""
    return tf.image.psnr(tf.cast(x, tf.float32), tf.cast(reference, tf.float32), max_val=1.0).numpy()


def _number(name, value, *, positive=False, integer=False):
    """Validate a scalar hyper-parameter; returns it as float / int."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InputError(f"{name} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise InputError(f"{name} must be finite, got {value!r}")
    if integer and value != int(value):
        raise InputError(f"{name} must be a whole number, got {value!r}")
    if value < 0 or (positive and value == 0):
        raise InputError(f"{name} must be {'> 0' if positive else '>= 0'}, got {value!r}")
    return int(value) if integer else float(value)


def _per_image(name, value, batch):
    """A scalar or a length-``batch`` sequence of non-negative numbers -> (B,) float32 tensor."""
    values = list(value) if isinstance(value, (list, tuple, np.ndarray)) else [value] * batch
    if len(values) != batch:
        raise InputError(f"{name} has {len(values)} values for a batch of {batch}")
    return tf.constant([_number(name, v) for v in values], tf.float32)


def _as_image(source, size, name):
    if source is None:
        return None
    if isinstance(source, (tf.Tensor, tf.Variable)) and size is None:
        image = tf.convert_to_tensor(source, tf.float32)
        if image.shape.rank != 4 or image.shape[-1] != 3:
            raise InputError(f"{name}: expected shape (B, H, W, 3), got {tuple(image.shape)}")
        return image
    try:
        return load_image(source, max_size=size)
    except InputError as e:
        raise InputError(f"{name}: {e}") from None


def _describe(source):
    """A JSON-able name for an image argument (paths and keys as given, arrays by shape)."""
    if source is None or isinstance(source, str):
        return source
    if isinstance(source, os.PathLike):
        return os.fspath(source)
    return f"image {tuple(np.shape(source))}"


def _initial_image(init, shape, content, seed):
    """(B, H, W, 3) starting image: seeded white noise, the content image, or a given image."""
    b, h, w, _ = shape
    if isinstance(init, str) and init == "noise":
        # White noise: i.i.d. uniform pixels in [0, 1] from a numpy generator, so a seed
        # gives the same start on any machine; image i of a batch uses seed + i.
        noise = [np.random.default_rng(seed + i).uniform(0.0, 1.0, size=(1, h, w, 3)) for i in range(b)]
        return tf.constant(np.concatenate(noise), tf.float32)
    if isinstance(init, str) and init == "content":
        if content is None:
            raise InputError("init='content' needs a content image")
        return tf.repeat(content, b, axis=0) if content.shape[0] == 1 else content
    image = _as_image(init, None, "init")
    if tuple(image.shape[1:3]) != (h, w):
        image = tf.image.resize(image, (h, w), method="bicubic", antialias=True)
    return tf.clip_by_value(tf.repeat(image, b, axis=0) if image.shape[0] == 1 else image, 0.0, 1.0)


def _lbfgs(x, objective, steps, record):
    """Minimise sum(objective(x)["total"]) with SciPy's L-BFGS-B in [0, 1]; updates ``x``.

    Returns why it stopped before ``steps`` iterations, or None."""
    from scipy.optimize import Bounds, minimize

    shape = tuple(x.shape)

    @tf.function
    def value_and_grad(flat):
        image = tf.reshape(flat, shape)  # (B, H, W, 3)
        with tf.GradientTape() as tape:
            tape.watch(image)
            terms = objective(image)
            loss = tf.reduce_sum(terms["total"])
        return terms, tf.reshape(tape.gradient(loss, image), [-1])

    class NonFinite(Exception):
        pass

    last = {}

    def fun(v):
        terms, grad = value_and_grad(tf.constant(v, tf.float32))
        terms = {k: t.numpy() for k, t in terms.items()}
        grad = grad.numpy().astype(np.float64)
        if not (np.all(np.isfinite(terms["total"])) and np.all(np.isfinite(grad))):
            raise NonFinite
        last.update(v=v.copy(), terms=terms)
        return float(terms["total"].sum()), grad

    state = {"i": 0, "stopped": None}

    def on_iteration(intermediate_result):  # SciPy passes the accepted point by this name
        v = intermediate_result.x
        x.assign(v.reshape(shape).astype(np.float32))
        if not np.array_equal(last.get("v"), v):
            fun(v)
        i = state["i"]
        state["i"] += 1
        if record(i, last["terms"]):
            state["stopped"] = f"stopped by the callback after step {i}"
            raise StopIteration

    try:
        result = minimize(fun, x.numpy().ravel().astype(np.float64), jac=True, method="L-BFGS-B",
                          bounds=Bounds(0.0, 1.0), callback=on_iteration,
                          options={"maxiter": steps, "maxfun": 50 * steps, "ftol": 0.0, "gtol": 0.0})
    except NonFinite:
        return (f"non-finite loss or gradient after step {state['i']}; kept the last finite "
                f"image (lower alpha/beta)")
    if state["stopped"]:
        return state["stopped"]
    x.assign(result.x.reshape(shape).astype(np.float32))
    if state["i"] < steps:
        return f"L-BFGS-B ended after {state['i']} iterations: {result.message}"
    return None


def _in_chunks(batch_size, *, batch, **kw) -> SynthesisResult:
    """Run ``synthesize`` on consecutive chunks of a batch and join the results."""

    def part(value, a, b, images=False):  # the chunk's share of a per-image argument
        if isinstance(value, (tf.Tensor, tf.Variable)) and value.shape.rank == 4 and value.shape[0] == batch:
            return value[a:b]  # a batch of images, one per image
        if images and isinstance(value, (list, tuple)):  # several style images
            return [part(v, a, b, images=True) for v in value]
        if not images and isinstance(value, (list, tuple, np.ndarray)) and len(value) == batch:
            return value[a:b]
        if isinstance(value, dict):
            return {k: part(v, a, b) for k, v in value.items()}
        return value

    results = []
    for a in range(0, batch, batch_size):
        b = min(batch, a + batch_size)
        chunk = {k: part(v, a, b, images=k in ("content", "style", "init"))
                 if k in ("alpha", "beta", "style_weights", "content", "style", "init")
                 else v for k, v in kw.items() if k != "seed"}
        results.append(synthesize(batch=b - a, seed=kw["seed"] + a, **chunk))
    steps = min(r.steps_done for r in results)
    first = results[0]
    first.image = tf.concat([r.image for r in results], axis=0)
    first.history = {k: np.concatenate([r.history[k][:steps] for r in results], axis=1) for k in first.history}
    first.final = {k: np.concatenate([r.final[k] for r in results]) for k in first.final}
    first.wall_time = sum(r.wall_time for r in results)
    first.steps_done = steps
    first.stopped = next((r.stopped for r in results if r.stopped), None)
    first.settings = {**first.settings, "batch": batch, "batch_size": batch_size, "seed": kw["seed"],
                      "alpha": [v for r in results for v in r.settings["alpha"]],
                      "beta": [v for r in results for v in r.settings["beta"]],
                      "style_weights": {k: [v for r in results for v in r.settings["style_weights"][k]]
                                        for k in first.settings["style_weights"]}}
    first.extra["chunks"] = len(results)
    return first


def synthesize(content=None, style=None, *, content_layers=PAPER_CONTENT_LAYERS,
               style_layers=PAPER_STYLE_LAYERS, style_weights=None, alpha=1.0, beta=1e3,
               tv_weight=0.0, init="noise", steps=500, learning_rate=DEFAULT_LEARNING_RATE,
               seed=0, size=None, shape=None, batch=1, backbone="auto", pooling="avg",
               normalize=False, precision="float32", optimizer="adam", batch_size=None,
               style_blend=None, style_scale=1.0, extractor=None, callback=None,
               progress=True) -> SynthesisResult:
    """Optimise an image so its VGG responses match the targets (PAPER.md, eq. 7).

    content, style: images (anything ``load_image`` takes, or (1, H, W, 3) tensors);
        either may be None: no content image means a style reconstruction (alpha
        unused), no style image a content reconstruction (beta unused). ``style`` may
        also be a list of images, blended by ``style_blend``.
    style_blend: one weight per style image (default: equal); they are scaled to sum to 1
        and the style target of each layer is the blend of the styles' Gram matrices,
        A^l = sum_s w_s A^l_s. Its loss differs from sum_s w_s E_l(s) by a constant only,
        so the gradient is that of the weighted sum of per-style losses (jcjohnson's
        neural-style blends that way), at the cost of one.
    style_scale: the style images' long side relative to the output's (default 1: the same).
        The painting is resized before its Gram matrices are taken, so 0.5 gives brush
        strokes half as large in the output, 2 twice as large. Gram targets are rescaled to the output's number of positions (A^l * M_out / M_style),
        so a style image of another size or shape asks for the same texture per position.
    content_layers / style_layers: paper layer names (conv4_2 / conv1_1..conv5_1).
    style_weights: {layer: w_l}; default w_l = 1 / len(style_layers).
        Each content layer adds its own L_content (the paper uses one).
    alpha, beta: weights of L_content and L_style (the paper's alpha/beta = 1e-3
        is alpha=1, beta=1e3); scalars or one value per image of the batch.
    tv_weight: weight of ``total_variation_loss`` (0: the paper's objective).
    init: "noise" (seeded uniform white noise, the paper's), "content", or an image.
    steps, learning_rate: Adam steps and step size (images live in [0, 1]).
    optimizer: "adam" (default), a ``keras.optimizers.Optimizer`` instance (used as is;
        ``learning_rate`` is then ignored), or "lbfgs": SciPy's L-BFGS-B, the authors' choice, with the
        image bounded to [0, 1] and ``steps`` iterations; its tolerances are 0, so it never
        stops early by accident (only if its line search fails, reported in ``stopped``).
        With L-BFGS, history[i] holds the losses after iteration i, and a batch is
        optimised as one problem.
    seed: seeds the noise (image i of a batch: seed + i); same seed and settings give the
        same image on one machine.
    size: resize content and style so their long side is ``size`` px.
    shape: (H, W) of the output when there is no content image (default: the
        style image's).
    batch: number of images optimised together, each with its own noise, alpha, beta and
        style weights (sequences of ``batch`` values); content / style may be one image
        for all or a (batch, H, W, 3) tensor. With Adam, image i comes out as it would
        alone with seed + i: the summed loss has a block-diagonal gradient and Adam
        updates every pixel on its own (tests/test_synthesis.py measures how exactly).
    batch_size: optimise at most this many images at once (chunks run one after another),
        when the whole batch does not fit in memory.
    backbone, pooling: as ``FeatureExtractor``; or pass a ready ``extractor``.
    normalize: use the normalised network (``styletf.vgg``, module doc), in whose units the
        paper's alpha/beta are given: pass True to use the paper's alpha/beta values.
        It changes only the relative size of the terms (each F^l is divided by a
        positive number per filter), so reconstructions from one layer have the same
        optimum either way.
    precision: compute dtype of the network: "float32", "mixed_bfloat16", "mixed_float16"
        or "auto" (``styletf.vgg.resolve_precision``); losses, gradients' accumulation and
        the image stay float32.
    callback: ``callback(step, image, losses)`` after each step; return True to stop.
    progress: show a tqdm progress bar.

    Ctrl-C (KeyboardInterrupt) during the steps raises ``SynthesisInterrupted``, a
    KeyboardInterrupt whose ``result`` holds the image and losses of the steps done.
    """
    batch = _number("batch", batch, positive=True, integer=True)
    if isinstance(content_layers, str) or isinstance(style_layers, str):
        raise InputError("content_layers and style_layers are lists of names, e.g. ['conv4_2']")
    if batch_size is not None and _number("batch_size", batch_size, positive=True, integer=True) < batch:
        return _in_chunks(int(batch_size), content=content, style=style, content_layers=content_layers,
                          style_layers=style_layers, style_weights=style_weights, alpha=alpha, beta=beta,
                          tv_weight=tv_weight, init=init, steps=steps, learning_rate=learning_rate,
                          seed=seed, size=size, shape=shape, batch=batch, backbone=backbone,
                          pooling=pooling, normalize=normalize, precision=precision,
                          optimizer=optimizer, style_blend=style_blend, style_scale=style_scale,
                          extractor=extractor, callback=callback, progress=progress)
    import keras

    several = isinstance(style, (list, tuple))
    styles = list(style) if several else ([] if style is None else [style])
    sources = {"content": _describe(content),
               "style": [_describe(s) for s in styles] if several else _describe(style),
               "init": _describe(init)}
    style_scale = _number("style_scale", style_scale, positive=True)
    content = _as_image(content, size, "content")
    if several and not styles:
        raise InputError("style is an empty list: give at least one style image")
    if content is None and not styles:
        raise InputError("give a content image, a style image, or both")
    # the style images' long side: style_scale times the output's
    reference_side = size or (max(content.shape[1:3]) if content is not None else None) or (
        max(shape) if shape is not None else None)
    loaded = []
    for k, source in enumerate(styles):
        name = f"style {k + 1}" if len(styles) > 1 else "style"
        if reference_side is not None:
            loaded.append(_as_image(source, max(1, round(reference_side * style_scale)), name))
        else:  # style reconstruction at the style's own size: scale the style itself
            img = _as_image(source, None, name)
            loaded.append(img if style_scale == 1 else
                          _as_image(img, max(1, round(max(img.shape[1:3]) * style_scale)), name))
    styles = loaded
    if style_blend is None:
        blend = [1.0] * len(styles)
    else:
        if isinstance(style_blend, (int, float)) or len(style_blend) != len(styles):
            raise InputError(f"style_blend needs one weight per style image ({len(styles)}), "
                             f"got {style_blend!r}")
        blend = [_number("style_blend", w) for w in style_blend]
        if styles and sum(blend) == 0:
            raise InputError("style_blend weights are all 0: give at least one positive weight")
    blend = [w / sum(blend) for w in blend]
    style = styles[0] if styles else None  # the first, for shapes and checks below
    steps = _number("steps", steps, positive=True, integer=True)
    seed = _number("seed", seed, integer=True)
    learning_rate = _number("learning_rate", learning_rate, positive=True)
    if not (optimizer in ("adam", "lbfgs") or isinstance(optimizer, keras.optimizers.Optimizer)):
        raise InputError(f"optimizer must be 'adam', 'lbfgs' or a keras optimizer, got {optimizer!r}")
    tv_weight = _number("tv_weight", tv_weight)
    alpha_t = _per_image("alpha", alpha, batch)  # (B,)
    beta_t = _per_image("beta", beta, batch)  # (B,)
    # paper names (Keras' block1_conv1 is conv1_1); unknown names are reported by the extractor
    content_layers = tuple(_paper_name(str(n)) for n in content_layers) if content is not None else ()
    style_layers = tuple(_paper_name(str(n)) for n in style_layers) if style is not None else ()
    if not content_layers and not style_layers:
        raise InputError("no layers to match: give content_layers and/or style_layers")
    if style_weights is None:
        style_weights = {layer: 1.0 / len(style_layers) for layer in style_layers}
    else:
        unknown = {_paper_name(str(n)) for n in style_weights} - set(style_layers)
        if unknown:
            raise InputError(f"style_weights names layers not in style_layers: {sorted(unknown)}")
        style_weights = {_paper_name(str(layer)): _per_image(f"style_weights[{layer}]", w, batch)
                         for layer, w in style_weights.items()}

    if extractor is None:
        wanted = list(dict.fromkeys(list(content_layers) + list(style_layers)))
        extractor = FeatureExtractor(wanted, backbone=backbone, pooling=pooling, normalize=normalize,
                                     precision=precision)
    else:
        missing = (set(content_layers) | set(style_layers)) - set(extractor.layers)
        if missing:
            raise InputError(f"the given extractor lacks layers {sorted(missing)}")

    if content is not None:
        out_shape = (batch, *content.shape[1:3], 3)
    elif shape is not None:
        out_shape = (batch, int(shape[0]), int(shape[1]), 3)
    else:
        out_shape = (batch, *style.shape[1:3], 3)
    named = [("content", content)] + [(f"style {k + 1}" if len(styles) > 1 else "style", img)
                                      for k, img in enumerate(styles)]
    for name, img in named:
        if img is not None and img.shape[0] not in (1, batch):
            raise InputError(f"{name} holds {img.shape[0]} images for a batch of {batch}: give one "
                             f"image for all, or one per image of the batch")
        if img is not None:
            try:
                extractor.check_size(*img.shape[1:3])
            except InputError as e:
                raise InputError(f"{name}: {e}") from None
    extractor.check_size(*out_shape[1:3])

    # Targets, computed once: P^l (content) and A^l = Gram (style).
    targets_p = {}
    if content_layers:
        feats = extractor(content)
        targets_p = {layer: tf.identity(feats[layer]) for layer in content_layers}  # (1, h, w, N)
    targets_a = {}
    positions = extractor.positions(*out_shape[1:3])  # {layer: M_l of the output}
    for w, img in zip(blend, styles):
        if not style_layers or w == 0:
            continue
        feats = extractor(img)
        for layer in style_layers:
            m_style = feats[layer].shape[1] * feats[layer].shape[2]  # M_l of this style image
            a = losses.gram_matrix(feats[layer]) * (w * positions[layer] / m_style)  # (1 or B, N, N)
            targets_a[layer] = a if layer not in targets_a else targets_a[layer] + a
    feats = None  # the images' feature maps are not needed during the steps: free them

    x = tf.Variable(_initial_image(init, out_shape, content, seed), dtype=tf.float32,
                    name="image")  # (B, H, W, 3)
    if isinstance(optimizer, keras.optimizers.Optimizer):
        adam, optimizer_name = optimizer, type(optimizer).__name__.lower()
        learning_rate = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
    else:
        adam = keras.optimizers.Adam(learning_rate=learning_rate)  # a new one per run
        optimizer_name = optimizer
    # float16 gradients can underflow: scale the loss up for the backward pass, then down.
    loss_scale = 2.0 ** 15 if extractor.precision == "mixed_float16" else 1.0
    zeros = tf.zeros([batch], tf.float32)

    def objective(image):
        feats = extractor(image)
        lc = zeros
        for layer in content_layers:
            lc = lc + losses.content_loss(feats[layer], targets_p[layer])  # (B,)
        ls = losses.style_loss(feats, targets_a, style_weights) if style_layers else zeros
        ltv = losses.total_variation_loss(image) if tv_weight else zeros
        total = alpha_t * lc + beta_t * ls + tv_weight * ltv  # (B,)
        return {"total": total, "content": lc, "style": ls, "tv": ltv}

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            terms = objective(x)
            loss = tf.reduce_sum(terms["total"])  # images are independent: block-diagonal
            scaled = loss * loss_scale
        grad = tape.gradient(scaled, x) / loss_scale
        finite = tf.logical_and(tf.reduce_all(tf.math.is_finite(terms["total"])),
                                tf.reduce_all(tf.math.is_finite(grad)))
        if finite:
            before = tf.identity(x)
            adam.apply_gradients([(grad, x)])
            x.assign(tf.clip_by_value(x, 0.0, 1.0))
            if not tf.reduce_all(tf.math.is_finite(x)):  # e.g. Adam's g^2 overflowed: undo
                x.assign(before)
                finite = tf.constant(False)
        return terms, finite

    from tqdm.auto import tqdm

    history = {k: [] for k in ("total", "content", "style", "tv")}
    bar = tqdm(total=steps, disable=not progress, desc=f"synthesis ({extractor.backbone}, {optimizer_name})",
               leave=False)

    def record(i, terms) -> bool:
        """Store step i's losses, update the bar, call the callback; True means stop."""
        for k, v in terms.items():
            history[k].append(v)
        bar.update(1)
        if progress and i % 10 == 0:
            bar.set_postfix(total=f"{terms['total'].sum():.3g}", content=f"{terms['content'].sum():.3g}",
                            style=f"{terms['style'].sum():.3g}")
        return bool(callback is not None and callback(i, x, {k: v.copy() for k, v in terms.items()}))

    stopped, interrupted = None, False
    first_iteration = int(adam.iterations.numpy())  # a given keras optimizer may have run before
    start = time.perf_counter()
    try:
        if optimizer == "lbfgs":
            stopped = _lbfgs(x, objective, steps, record)
        else:
            for i in range(steps):
                terms, finite = step()
                terms = {k: v.numpy() for k, v in terms.items()}
                if not bool(finite):
                    stopped = (f"non-finite loss, gradient or update at step {i}; kept the last finite "
                               f"image (the weights - alpha, beta, tv - are too large or too far "
                               f"apart for float32{', or use float32 precision' if extractor.precision == 'mixed_float16' else ''})")
                    break
                if record(i, terms):
                    stopped = f"stopped by the callback after step {i}"
                    break
    except KeyboardInterrupt:  # x holds the last completed step: keep it (raised again below)
        interrupted = True
        done = min(len(v) for v in history.values())  # a step may have been recorded only in part
        for v in history.values():
            del v[done:]
        if optimizer != "lbfgs":  # the updates applied to x, which may be one more than recorded
            applied = int(adam.iterations.numpy()) - first_iteration
        stopped = f"interrupted (Ctrl-C) after {applied if optimizer != 'lbfgs' else done} of {steps} steps"
    bar.close()
    final = {k: v.numpy() for k, v in objective(x).items()}  # (B,) each, for the result
    wall = time.perf_counter() - start
    steps_done = len(history["total"])
    if interrupted and optimizer != "lbfgs":
        history = {k: v + [np.full(batch, np.nan)] * (applied - steps_done) for k, v in history.items()}
        steps_done = applied  # the last update's losses, if not recorded, are NaN in the history

    settings = {
        **sources,
        "content_layers": list(content_layers), "style_layers": list(style_layers),
        "style_weights": {k: np.asarray(v).tolist() for k, v in style_weights.items()},
        "alpha": alpha_t.numpy().tolist(), "beta": beta_t.numpy().tolist(),
        "tv_weight": tv_weight, "steps": steps,
        "learning_rate": learning_rate if optimizer != "lbfgs" else None, "optimizer": optimizer_name,
        "style_blend": blend if several else None, "style_scale": style_scale,
        "seed": seed,
        "size": list(out_shape[1:3]), "batch": batch, "pooling": extractor.pooling,
        "normalize": extractor.normalize, "precision": extractor.precision,
        "backbone": extractor.backbone,
    }
    result = SynthesisResult(
        image=tf.convert_to_tensor(x), settings=settings,
        history={k: np.asarray(v, np.float64).reshape(steps_done, batch) for k, v in history.items()},
        final=final, backbone=extractor.backbone, backbone_description=extractor.description,
        wall_time=wall, steps_done=steps_done, stopped=stopped)
    if interrupted:
        raise SynthesisInterrupted(result)
    return result



def coarse_to_fine(content=None, style=None, *, sizes=(256, 512, 1024), steps=500, **kwargs) -> SynthesisResult:
    """Synthesise at each size of ``sizes`` in turn (long side, px), starting each stage from
    the previous result upsampled: most of the work is done where a step is cheap, and the
    large stages only refine. What it buys is the painting's scale at a large size: VGG's
    features see at most 132-156 px, so a direct large run matches the Gram matrices with a
    fine, uniform texture, reaching the same loss sooner (bench/RESULTS.md).
    ``steps``: per stage, an int or one per size; other arguments as ``synthesize``
    (``init`` applies to the first stage). Returns the last stage's result with the histories
    of all stages concatenated, the total wall time, and ``extra["stages"]`` =
    [(size, steps, seconds), ...].
    """
    sizes = [int(_number("sizes", v, positive=True, integer=True)) for v in sizes]
    if not sizes or sizes != sorted(sizes):
        raise InputError(f"sizes must be increasing long sides in px, e.g. 256,512,1024; got {sizes}")
    per_stage = list(steps) if isinstance(steps, (list, tuple)) else [steps] * len(sizes)
    if len(per_stage) != len(sizes):
        raise InputError(f"{len(per_stage)} step counts for {len(sizes)} sizes")
    init = kwargs.pop("init", "noise")
    results = []
    for size, n in zip(sizes, per_stage):
        try:
            result = synthesize(content, style, size=size, steps=n, init=init, **kwargs)
        except SynthesisInterrupted as e:  # report the stages done as well, then stop
            results.append(e.result)
            raise SynthesisInterrupted(_joined(results, sizes, per_stage)) from None
        results.append(result)
        if result.stopped:
            break
        init = result.image  # upsampled to the next size by synthesize's init handling
    return _joined(results, sizes, per_stage)


def _joined(results, sizes, per_stage) -> SynthesisResult:
    """The last stage's result with the histories, steps and time of all stages."""
    stages = [(s_, r.steps_done, round(r.wall_time, 3)) for s_, r in zip(sizes, results)]  # before the sums
    last = results[-1]
    last.history = {k: np.concatenate([r.history[k] for r in results]) for k in last.history}
    last.wall_time = sum(r.wall_time for r in results)
    last.steps_done = sum(r.steps_done for r in results)
    last.settings = {**last.settings, "coarse_to_fine": sizes, "steps": per_stage}
    last.extra["stages"] = stages
    return last
