"""Synthesis by gradient descent on the image (docs/method.md, "Synthesis"; notebooks 01-04).

``synthesize`` follows the paper's Methods: load the images, take the targets once (``styletf.targets``),
build the objective of eq. 7 (``styletf.objective``), start from white noise and optimise
(``styletf.optimize``), return the result (``styletf.result``). One call serves every experiment:

- content reconstruction (Fig. 1, top): ``synthesize(content=photo, content_layers=["conv2_1"])``;
- style reconstruction (Fig. 1, bottom): ``synthesize(style=painting, style_layers=[...])``;
- style transfer (Fig. 2, 3): ``synthesize(content=photo, style=painting, alpha=1, beta=1e3)``.
"""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import tensorflow as tf

from . import machine, memory, optimize, targets
from .paper import descent
from .backbones import paper_name, resolve_backbone
from .errors import RANGES, InputError, check_mapping, check_number, check_sequence, check_setting, check_text
from .objective import Objective, per_image
from .result import SynthesisInterrupted, SynthesisResult, describe, join_chunks, read_inputs
from .speed import PRECISIONS, resolve_jit, resolve_precision
from .vgg import NOT_GIVEN, PAPER_STYLE_LAYERS, FeatureExtractor, check_pooling, default_content_layers, network_argument
from .vgg import resolve_network, shared_extractor_of

__all__ = ["synthesize", "MAX_SIDE", "initial_image", "SynthesisResult", "SynthesisInterrupted",
           "DEFAULT_LEARNING_RATE"]

#: Adam's step size for images in [0, 1]. Chosen by measurement
#: (bench/lr_sweep.py, numbers in bench/RESULTS.md).
DEFAULT_LEARNING_RATE = 0.05

#: The longest image side styletf takes, px (Pillow's and memory's limits come far earlier).
MAX_SIDE = RANGES["size"]["maximum"]


def synthesize(content=None, style=None, *, content_layers=None, style_layers=PAPER_STYLE_LAYERS, style_weights=None,
               alpha=1.0, beta=1e3, tv_weight=0.0, init="noise", steps=500, learning_rate=DEFAULT_LEARNING_RATE,
               seed=0, size=None, shape=None, batch=1, backbone="auto", pooling="avg", network="raw",
               precision="float32", optimizer="adam", batch_size=None, style_blend=None, style_scale=1.0,
               regions=None, region_weights=None, style_masks=None, guidance="inside",
               extractor=None, callback=None, progress=True, jit=False, normalize=NOT_GIVEN) -> SynthesisResult:
    """Optimise an image so its VGG responses match the targets (docs/method.md, eq. 7; notebooks 01-04).

    content, style: images (anything ``load_image`` takes, or (1, H, W, 3) tensors); no content: a
        style reconstruction; no style: a content reconstruction. ``style`` may be a list, blended by
        ``style_blend``, at ``style_scale`` (``targets.load``, ``targets.style_targets``).
    regions: spatial control (Gatys et al. 2017, ``styletf.regions``; notebook 06): a colour-coded
        image or {name: grey mask}, with ``style`` {region: painting(s)}; region_weights {region:
        lambda_r}, style_masks {region: its painting's grey mask}, guidance "inside" or "resize".
    content_layers / style_layers: paper layer names (default: ``vgg.default_content_layers``, conv4_2 /
        conv1_1..conv5_1), each content layer its own L_content; style_weights: {layer: w_l}, default 1 / len.
    alpha, beta: weights of L_content and L_style (alpha/beta = 1e-3: alpha=1, beta=1e3), scalars or per image. tv_weight: 0.
    init: "noise" (uniform white noise from ``seed``, image i: seed + i; the paper's), "content", or an image.
    steps, learning_rate, optimizer ("adam", a Keras optimizer, "lbfgs"), callback(step, image,
        losses) -> True to stop, jit (XLA: True, False, "auto"): ``optimize.minimize``; "adam"'s
        step size decays over the second half of the steps (``optimize.adam_schedule``).
    size: long side of content and style, px. shape: (H, W) of the output without content.
    batch: images optimised together, each with its own noise, alpha, beta and style weights
        (sequences of ``batch`` values); content / style: one image for all or (batch, H, W, 3).
        Image i comes out as it would alone with seed + i (Adam: tests/test_synthesis.py says how
        exactly; L-BFGS: runs in lock-step, ``styletf.lockstep``). batch_size: at most this many at once.
    backbone, pooling, network ("auto": the one in whose units the paper's alpha/beta are), precision: as
        ``FeatureExtractor`` (normalize: network's old name); or a ready ``extractor``. progress: a bar.
        Ctrl-C raises ``SynthesisInterrupted`` (a KeyboardInterrupt) holding the steps done.
    """
    batch = check_number("batch", batch, positive=True, integer=True, maximum=4096)
    if _chunk(batch, batch_size, optimizer) < batch:
        return _in_chunks(_chunk(batch, batch_size, optimizer), dict(locals()))
    backbone, network = _network(extractor, backbone, network_argument(network, normalize, "raw"), pooling, precision, progress)
    # Load: the photo p, the paintings a (at style_scale, blended by style_blend); check the rest.
    sources, read = _sources(content, style, init, regions, style_masks)  # read: the input files' sha256, for the sidecar
    style_scale = targets.check_style_scale(style_scale)
    content, styles, blend, guide = targets.load_regions(  # and spatial control's masks (None: without)
        content, style, size=size, shape=shape, style_scale=style_scale, style_blend=style_blend, regions=regions,
        region_weights=region_weights, style_masks=style_masks, guidance=guidance)
    opt = _options(steps, seed, learning_rate, optimizer, tv_weight, alpha, beta, batch, jit)
    layers = _layers(content_layers, style_layers, style_weights, content, styles, batch, network)
    extractor = _extractor(extractor, layers, backbone, pooling, network, precision)
    out_shape = targets.output_shape(extractor, content, styles, shape, batch)  # (B, H, W, 3)
    _check_memory(out_shape, styles, style_scale, optimizer)
    # Targets, once: P^l of the photo, A^l (Gram matrices) of the paintings.
    goal = targets.compute(extractor, content, styles, blend, layers.content, layers.style, out_shape[1:3], guide)
    # The objective, per image: L_total = alpha L_content + beta L_style (eq. 7).
    objective = Objective(extractor, goal, alpha=opt.alpha, beta=opt.beta, style_weights=layers.weights,
                          tv_weight=opt.tv_weight)
    # From white noise, gradient descent on the image.
    x = tf.Variable(initial_image(init, out_shape, content, opt.seed), dtype=tf.float32, name="image")  # (B, H, W, 3)
    run = optimize.minimize(x, objective, steps=opt.steps, optimizer=optimizer, learning_rate=opt.learning_rate,
                            callback=callback, progress=progress, jit=opt.jit)
    # The result: the image, the losses of every step, the settings, the backbone.
    result = _result(x, run, extractor, _settings(sources, layers, opt, run, blend if isinstance(style, (list, tuple))
                                                  else None, style_scale, out_shape, extractor, guide), read)
    if run.interrupted:
        raise SynthesisInterrupted(result)
    return result


def _check_memory(out_shape, styles, style_scale, optimizer) -> None:
    """Refuse, before the targets and the steps, what cannot fit (``memory.check``): the ``out_shape``
    (B, H, W, 3) images' steps and the paintings' targets (``styles``: (1, h, w, 3) each)."""
    side = max(out_shape[1:3])
    memory.check(side, style_scale, optimizer,
                 {"content": out_shape[0] * out_shape[1] * out_shape[2] / side ** 2,
                  "styles": [min(s.shape[1:3]) / max(s.shape[1:3]) for s in styles]},
                 gpu=bool(tf.config.list_physical_devices("GPU")), measuring=not machine.all_decided(), threads=machine.threads(), spelling="api")


def _network(extractor, backbone, network, pooling, precision, progress) -> tuple:
    """(the concrete backbone, resolved once: "auto" may warn; the network ``network`` stands for);
    ``precision`` checked first, so that a wrong one is said before any warning. Settings given
    beside a ready ``extractor`` must be its own: one clear error, not one of them ignored."""
    check_text("precision", precision, choices=PRECISIONS)
    if not isinstance(progress, bool):
        raise InputError(f"progress must be True or False, got {progress!r:.60}")
    if extractor is not None and not isinstance(extractor, FeatureExtractor):
        raise InputError(f"extractor must be a styletf.FeatureExtractor (or None), got {extractor!r:.60}")
    if extractor is None:
        backbone = resolve_backbone(backbone)
        return backbone, resolve_network(backbone, network)
    given = lambda value, default: not (isinstance(value, str) and value == default)  # noqa: E731
    asked = {"backbone": given(backbone, "auto") and resolve_backbone(backbone), "pooling": given(pooling, "avg") and pooling,
             "network": given(network, "raw") and resolve_network(extractor.backbone, network),
             "precision": given(precision, "float32") and resolve_precision(precision)}
    clash = [k for k, v in asked.items() if v and v != getattr(extractor, k)]
    if clash:
        raise InputError(f"the extractor given has {', '.join(f'{k}={getattr(extractor, k)!r}' for k in clash)}; "
                         f"leave {', '.join(clash)} out, or build the extractor with {'them' if len(clash) > 1 else 'it'}")
    return extractor.backbone, extractor.network


def _chunk(batch, batch_size, optimizer) -> int:
    """How many images are optimised at once: ``batch_size`` (all by default)."""
    if batch_size is not None:
        check_number("batch_size", batch_size, positive=True, integer=True)
    optimize.check_optimizer(optimizer)
    return min(batch, int(batch_size or batch))


def _sources(content, style, init, regions=None, style_masks=None) -> tuple:
    """(the inputs as the settings record them, ``read_inputs`` of them: as they are read); a style
    per region and the regions' masks too."""
    def named(s):
        return [describe(v) for v in s] if isinstance(s, (list, tuple)) else describe(s)

    sources = {"content": describe(content), "init": describe(init),
               "style": {k: named(v) for k, v in style.items()} if isinstance(style, dict) else named(style)}
    files = [sources["style"]] if not isinstance(style, dict) else list(sources["style"].values())
    if regions is not None:
        sources["style_masks"] = {k: describe(v) for k, v in style_masks.items()} if isinstance(style_masks, dict) else None
        masks = [describe(regions)] if not isinstance(regions, dict) else [describe(v) for v in regions.values()]
        files += masks + list((sources["style_masks"] or {}).values())
    flat = [f for group in files for f in (group if isinstance(group, list) else [group])]
    return sources, read_inputs(sources["content"], sources["init"], flat)


def _options(steps, seed, learning_rate, optimizer, tv_weight, alpha, beta, batch, jit) -> SimpleNamespace:
    """The optimisation's settings, checked; alpha and beta as (B,) tensors."""
    steps, seed = check_setting("steps", steps), check_setting("seed", seed)
    learning_rate = check_setting("learning_rate", learning_rate)
    optimize.check_optimizer(optimizer)
    tv_weight = check_setting("tv_weight", tv_weight)
    return SimpleNamespace(steps=steps, seed=seed, learning_rate=learning_rate, tv_weight=tv_weight, jit=resolve_jit(jit),
                           alpha=per_image("alpha", alpha, batch), beta=per_image("beta", beta, batch))


def _layers(content_layers, style_layers, style_weights, content, styles, batch, network) -> SimpleNamespace:
    """Content and style layers as paper names (Keras' block1_conv1 is conv1_1), and w_l; the
    content layers by default those of the ``network`` (``vgg.default_content_layers``)."""
    content_layers = check_sequence("content_layers", content_layers, allow_none=True, what="e.g. ['conv4_2']")
    style_layers = check_sequence("style_layers", style_layers, what="e.g. ['conv1_1', 'conv2_1']")
    if content_layers is None:
        content_layers = default_content_layers(network)
    # unknown names are reported by the extractor
    content_layers = tuple(paper_name(str(n)) for n in content_layers) if content is not None else ()
    style_layers = tuple(paper_name(str(n)) for n in style_layers) if styles else ()
    for kind, names in (("content_layers", content_layers), ("style_layers", style_layers)):
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:  # w_l is one number per layer: a second mention would count it twice, unrecorded
            raise InputError(f"{kind} names {', '.join(twice)} more than once (Keras' block1_conv1 is conv1_1); "
                             f"give each layer once, and weight layers with style_weights")
    if not content_layers and not style_layers:
        raise InputError("no layers to match: give content_layers and/or style_layers")
    if style_weights is None:
        style_weights = {layer: 1.0 / len(style_layers) for layer in style_layers}
    else:
        unknown = {paper_name(str(n)) for n in check_mapping("style_weights", style_weights)} - set(style_layers)
        if unknown:
            raise InputError(f"style_weights names layers not in style_layers: {sorted(unknown)}")
        style_weights = {paper_name(str(layer)): per_image(f"style_weights[{layer}]", w, batch)
                         for layer, w in style_weights.items()}
    return SimpleNamespace(content=content_layers, style=style_layers, weights=style_weights)


def _extractor(extractor, layers, backbone, pooling, network, precision) -> FeatureExtractor:
    """The process's extractor of the layers (``vgg.shared_extractor_of``: ``backbone`` and
    ``network`` as ``_network`` resolved them), or the given one, checked."""
    if extractor is None:
        wanted = list(dict.fromkeys(list(layers.content) + list(layers.style)))
        check_pooling(pooling)
        return shared_extractor_of(wanted, backbone, pooling, network, resolve_precision(precision))
    missing = (set(layers.content) | set(layers.style)) - set(extractor.layers)
    if missing:
        raise InputError(f"the given extractor lacks layers {sorted(missing)}")
    return extractor


def initial_image(init, shape, content, seed):
    """(B, H, W, 3) starting image: seeded white noise (the paper's: docs/method.md, "Synthesis"),
    the content image, or a given image (notebook 01; the other starts: notebook 05)."""
    b, h, w, _ = shape
    if isinstance(init, str) and init == "noise":
        return descent.white_noise(shape, seed)  # image i of a batch from seed + i
    if init is None or isinstance(init, str) and init == "content":
        if content is None or init is None:
            raise InputError(f"init must be 'noise', 'content' or an image, got {init!r}" if init is None
                             else "init='content' needs a content image")
        return tf.repeat(content, b, axis=0) if content.shape[0] == 1 else content
    image = targets.as_image(init, None, "init", batch=b)
    if tuple(image.shape[1:3]) != (h, w):
        image = tf.image.resize(image, (h, w), method="bicubic", antialias=True)
    return tf.clip_by_value(tf.repeat(image, b, axis=0) if image.shape[0] == 1 else image, 0.0, 1.0)


def _result(x, run, extractor, settings, inputs) -> SynthesisResult:
    return SynthesisResult(image=tf.convert_to_tensor(x), history=run.history, final=run.final,
                           settings=settings, backbone=extractor.backbone, backbone_description=extractor.description,
                           wall_time=run.wall_time, steps_done=run.steps_done, stopped=run.stopped,
                           extra={"inputs": inputs, **({"ended": run.ended} if run.ended else {})})


def _settings(sources, layers, opt, run, style_blend, style_scale, out_shape, extractor, guide=None) -> dict:
    """Every setting of a run, JSON-able, for the result and its sidecar (spatial control's with ``guide``)."""
    regional = {} if guide is None else {
        "regions": guide.regions.source, "region_colours": guide.regions.colours or None, "guidance": guide.mode,
        "region_weights": dict(zip(guide.regions.names, guide.regions.weights.tolist())),
        "style_masks": sources["style_masks"]}
    return {**regional,
        **sources,
        "content_layers": list(layers.content), "style_layers": list(layers.style),
        "style_weights": {k: np.asarray(v).tolist() for k, v in layers.weights.items()},
        "alpha": opt.alpha.numpy().tolist(), "beta": opt.beta.numpy().tolist(),
        "tv_weight": opt.tv_weight, "steps": opt.steps,
        "learning_rate": run.learning_rate, "optimizer": run.optimizer,
        "style_blend": style_blend, "style_scale": style_scale, "seed": opt.seed,
        "size": list(out_shape[1:3]), "batch": out_shape[0], "pooling": extractor.pooling,
        "network": extractor.network, "precision": extractor.precision,
        "jit": opt.jit, "conv": extractor.conv_route, "threads": machine.threads(), "backbone": extractor.backbone,
    }


def _in_chunks(batch_size, kw) -> SynthesisResult:
    """``synthesize`` on consecutive chunks of a batch (``kw``: its arguments), joined."""
    batch, seed, _ = kw.pop("batch"), kw.pop("seed"), kw.pop("batch_size")

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
                 if k in ("alpha", "beta", "style_weights", "content", "style", "init") else v
                 for k, v in kw.items()}
        results.append(synthesize(batch=b - a, seed=seed + a, **chunk))
    return join_chunks(results, batch, batch_size, seed)
