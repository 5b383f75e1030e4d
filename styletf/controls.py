"""Beyond the paper: ``stylize`` paints your own photo with the controls people expect.

The paper's transfer (``synthesize``) plus what the reference command-line tools
(jcjohnson/neural-style and its ports) and the authors' follow-up paper (Gatys et al.
2017, ``styletf.color``) offer: several styles blended, style scale, keeping the photo's
colours, init, optimiser, seed, snapshots, coarse-to-fine. The command line
``python -m styletf stylize`` (``styletf.cli``) is a thin layer over it.
"""
from __future__ import annotations

from . import color, memory, preflight
from .errors import InputError, check_setting, check_text
from .images import load_image
from .result import SynthesisInterrupted, SynthesisResult, describe, read_inputs
from .scales import FINE_LAYERS, check_fine_layers, mix_scales
from .optimize import check_optimizer
from .speed import resolve_jit
from .schedule import check_sizes, coarse_to_fine as _coarse_to_fine, stages
from .synthesis import DEFAULT_LEARNING_RATE, synthesize
from .targets import check_style_scale, regional
from .vgg import NOT_GIVEN, PAPER_STYLE_LAYERS, check_network, network_argument

__all__ = ["stylize", "paintings", "DEFAULT_ALPHA_BETA"]

#: The paper's alpha/beta for most of Figure 2, in the units of the normalised network.
DEFAULT_ALPHA_BETA = 1e-3


def stylize(content, style, *, size=512, steps=None, alpha_beta=DEFAULT_ALPHA_BETA, content_layers=None,
            style_layers=PAPER_STYLE_LAYERS, style_blend=None, style_scale=1.0, preserve_colors="none", init="noise",
            optimizer="lbfgs", learning_rate=DEFAULT_LEARNING_RATE, tv_weight=0.0, pooling="avg",
            backbone="auto", network="auto", precision="auto", seed=0, coarse_to_fine="auto", snapshot_every=None,
            snapshot=None, progress=True, jit="auto", stop_after=None, regions=None, region_weights=None,
            style_masks=None, guidance="inside", fine_style=None, fine_layers=FINE_LAYERS,
            normalize=NOT_GIVEN) -> SynthesisResult:
    """Paint ``content`` in the style of ``style`` (one image or a list), with the controls
    beyond the paper: Figure 2's transfer (docs/method.md, eq. 7) on your own photo; notebook 05.
    Returns the ``SynthesisResult`` whose image is the final picture (after the colour step).

    size: the output's long side in px. coarse_to_fine: "auto" (default: ``schedule.stages(size)``, e.g.
        128, 256, 512 px), None or False (one size), or increasing long sides ending at ``size``, e.g. (256, 512).
    steps: None (default): 100 per stage, 200 in the first (``stages``), or 300 (L-BFGS) / 500
        (Adam) in one size; with ``coarse_to_fine``: an int per stage (the first twice that with "auto") or one per size.
    optimizer: "lbfgs" (default, the authors'), "adam", or a Keras optimizer. alpha_beta: alpha/beta
        (alpha = 1, beta = 1 / alpha_beta), in the paper's units on the normalised network.
    network: "auto" (default): the one in whose units the paper's alpha/beta hold (``vgg.resolve_network``);
        "mean", "calibrated", "raw" (the weights as trained). normalize: its old name, deprecated.
    preserve_colors: "none"; "luminance" - transfer on luminance only, then the content's colour
        channels (Gatys et al. 2017, 5.1); "histogram" - the style images recoloured to the content's
        colour mean and covariance first (5.2): ``styletf.color``.
    init: "noise" (the paper's), "content", or an image. jit: XLA, "auto" (where it measures faster).
    precision: "auto" (default: mixed bfloat16 where it measures faster, ``speed.resolve_precision``), "float32", ...
    snapshot_every, snapshot: ``snapshot(step, picture as saved)`` every ``snapshot_every`` steps (all stages).
    stop_after: end after that many steps, as Ctrl-C would, on the whole schedule (a sidecar remakes an interrupted run so).
    regions (``style`` then {region: painting(s)}), region_weights, style_masks, guidance: spatial
    control; fine_style: its fine scale on ``fine_layers`` over ``style``'s coarse one (``scales.mix_scales``),
    both Gatys et al. 2017, notebook 06. Others as ``synthesize``. Ctrl-C raises ``SynthesisInterrupted`` whose
    ``result`` holds the picture so far, colour step included.
    """
    check_text("preserve_colors", preserve_colors, choices=color.PRESERVE_COLORS)
    alpha_beta, style_scale = check_setting("alpha_beta", alpha_beta), check_style_scale(style_scale)
    network = check_network(network_argument(network, normalize, "auto"))
    sizes, steps, size = _schedule(coarse_to_fine, size, steps, optimizer)
    snapshot_every, stop_after = _check_snapshots(snapshot, snapshot_every, stop_after)
    regional(style, regions, style_masks, style_blend)  # spatial control's arguments agree, before any is read
    counter = {"step": 0}  # steps done, counted over the stages
    read = _read(content, init, [style, fine_style] if fine_style is not None else style, regions, style_masks)
    mix = fine_style is not None and _mixing(fine_style, fine_layers, style, regions, size * style_scale, steps,
                                             backbone=backbone, network=network, precision=precision, seed=seed)
    finish, source, loaded, start = _inputs(content, style, init, size, style_scale, preserve_colors, optimizer, mix)
    kwargs = dict(regions=regions, region_weights=region_weights, style_masks=style_masks, guidance=guidance,
                  content_layers=content_layers, style_layers=style_layers, style_blend=style_blend,
                  style_scale=style_scale, alpha=1.0, beta=1.0 / alpha_beta, tv_weight=tv_weight,
                  init=start, learning_rate=learning_rate, optimizer=optimizer, pooling=pooling,
                  backbone=backbone, network=network, precision=precision, seed=seed,
                  callback=_steps_callback(snapshot, snapshot_every, finish, stop_after, counter), progress=progress,
                  jit=resolve_jit(jit))
    settings = {"content": describe(content), "style": _each(style, describe), "init": describe(init),
                "alpha_beta": alpha_beta, "preserve_colors": preserve_colors, "coarse_to_fine": sizes,
                **({} if fine_style is None else {"fine_style": describe(fine_style), "fine_layers": list(fine_layers)})}
    try:
        with memory.checked():  # above, before decoding
            result = (_coarse_to_fine(source, loaded, sizes=sizes, steps=steps, **kwargs) if sizes
                      else synthesize(source, loaded, steps=steps, **kwargs))
    except SynthesisInterrupted as e:
        _finished(e.result, finish, settings, read)
        raise
    return _finished(result, finish, settings, read, stop_after if stop_after and counter["step"] >= stop_after else None)


def _mixing(fine_style, fine_layers, style, regions, side, steps, **kwargs):
    """(style as given ->) the style with ``fine_style``'s fine scale (``scales.mix_scales``) at the paintings'
    working long side ``side``, with as many steps as the transfer's last stage; one painting, no regions."""
    style = style[0] if isinstance(style, (list, tuple)) and len(style) == 1 else style
    if regions is not None or isinstance(style, (list, tuple, dict)):
        raise InputError("fine_style re-textures one painting (style): give one, without regions or a list")
    check_fine_layers(fine_layers)
    last = steps[-1] if isinstance(steps, (list, tuple)) else steps
    def mix(_):
        try:
            return mix_scales(fine_style, style, fine_layers=fine_layers, size=max(1, round(side)), steps=last,
                              progress=False, **kwargs).image
        except SynthesisInterrupted:  # its picture is the new style, not the output: nothing to keep
            raise KeyboardInterrupt("while making the fine_style's new style") from None
    return mix


def _read(content, init, style, regions, style_masks) -> dict:
    """``read_inputs`` of every input as given: the photo, the start, the paintings and the masks."""
    masks = [regions] if not isinstance(regions, dict) else list(regions.values())
    return read_inputs(describe(content), describe(init), [describe(s) for s in paintings(style)]
                       + [describe(m) for m in masks + list((style_masks or {}).values()) if m is not None])


def _finished(result, finish, settings, read, stopped_at=None):
    """The result with the colour step done and stylize's settings and inputs as read; where it
    ended at ``stop_after`` as asked (``stopped_at``), not cut short but a note in ``extra["ended"]``."""
    steps = result.settings["steps"]  # one number, or one per stage
    total = sum(steps) if isinstance(steps, list) else steps
    if stopped_at:
        result.stopped = None
    if stopped_at and stopped_at < total:
        note = f"stopped after {stopped_at} of {total} steps, as stop_after asked"
        result.extra["ended"] = "; ".join(filter(None, [result.extra.get("ended"), note]))
    result.image = finish(result.image)
    result.settings.update(settings)
    result.extra["inputs"] = read
    return result


def _schedule(coarse_to_fine, size, steps, optimizer):
    """(coarse-to-fine sizes or None, steps: an int or one per stage, the output's long side),
    checked, with the defaults filled in."""
    sizes, size = _sizes(coarse_to_fine, size)
    if sizes is None:
        return None, steps if steps is not None else (300 if check_optimizer(optimizer) == "lbfgs" else 500), size
    if isinstance(coarse_to_fine, str):  # "auto
        sizes, per_stage = stages(size, 100 if steps is None else steps)
        return (sizes, per_stage, size) if len(sizes) > 1 else (None, per_stage[0], size)
    return sizes, 100 if steps is None else steps, size


def _sizes(coarse_to_fine, size):
    """(coarse-to-fine sizes or None, the output's long side), checked ("auto": filled in later)."""
    sizes = None
    if coarse_to_fine is False:
        coarse_to_fine = None
    if isinstance(coarse_to_fine, str) and coarse_to_fine == "auto":
        return [], check_setting("size", size)
    if coarse_to_fine is not None:
        sizes = check_sizes("coarse_to_fine", coarse_to_fine)
        if size is not None and size != sizes[-1]:
            raise InputError(f"size {size} (--size) differs from the last coarse-to-fine size {sizes[-1]} "
                             f"(--coarse-to-fine): drop size or make it the last of the sizes")
        size = sizes[-1] if sizes else size
    return sizes, check_setting("size", size)


def paintings(style) -> list:
    """Every painting of ``style`` (one, a list, or {region: one or a list}) in a flat list (the
    command's checks of its inputs; notebook 06's regions)."""
    if isinstance(style, (dict, list, tuple)):
        return [s for v in (style.values() if isinstance(style, dict) else style) for s in paintings(v)]
    return [style]



def _each(style, f):
    """``style`` with ``f`` applied to each painting: a list for one or several (as the settings
    have it), and {region: f(one) or [f(each)]} per region."""
    if isinstance(style, dict):
        return {k: [f(s) for s in v] if isinstance(v, (list, tuple)) else f(v) for k, v in style.items()}
    return [f(s) for s in paintings(style)]


def _inputs(content, style, init, size, style_scale, preserve_colors, optimizer, mix=None):
    """(finish: the optimised image -> the picture to save, the image whose content is matched,
    paintings, start), the colour step's preparation done (Gatys et al. 2017, section 5); memory
    checked first (``preflight.check_memory``), before an input is decoded; ``mix``: the scale
    control's painting -> new style, after the photo is read."""
    preflight.check_memory(size, style_scale, optimizer, content, paintings(style), spelling="api")
    photo = _load(content, size, "content")  # (1, H, W, 3)
    style = mix(style) if mix else style
    styles = paintings(style)
    if not styles or (isinstance(style, dict) and any(not paintings(v) for v in style.values())):
        raise InputError("give at least one style image" + (" per region" if isinstance(style, dict) else ""))
    # each style at the largest size any stage needs; synthesize resizes it per stage
    count = iter(range(1, len(styles) + 1))
    loaded = _each(style, lambda s: _load(s, max(1, round(size * style_scale)),
                                          f"style {next(count)}" if len(styles) > 1 else "style"))
    start = init if isinstance(init, str) and init in ("noise", "content") else _load(init, None, "init")
    if preserve_colors == "histogram":
        loaded = _each(loaded, lambda p: color.match_color(p, photo))
    elif preserve_colors == "luminance":
        photo_y = color.luminance(photo)  # (1, H, W, 1)
        loaded = _each(loaded, lambda p: color.as_gray(color.match_luminance(color.luminance(p), photo_y)))
        if not isinstance(start, str):
            start = color.as_gray(color.luminance(start))
    source = color.as_gray(color.luminance(photo)) if preserve_colors == "luminance" else photo

    def finish(image):
        return color.with_content_colors(image, photo) if preserve_colors == "luminance" else image

    return finish, source, loaded, start


def _check_snapshots(snapshot, every, stop_after=None):
    """(``every``, ``stop_after``) checked, ``every`` with ``snapshot``: both or neither (a Movie given
    alone recorded nothing)."""
    if every is not None:
        every = check_setting("snapshot_every", every)
    if snapshot is not None and not callable(snapshot):
        raise InputError(f"snapshot must be a function snapshot(step, image), got {snapshot!r:.60}")
    if (snapshot is None) != (every is None):
        raise InputError("give snapshot and snapshot_every together, e.g. snapshot=movie, snapshot_every=10 "
                         "(a styletf.watch.Movie, or any function snapshot(step, image))")
    if stop_after is not None:
        stop_after = check_setting("stop_after", stop_after)
    return every, stop_after


def _steps_callback(snapshot, every, finish, stop_after, counter):
    """The callback that calls ``snapshot(step, picture)`` every ``every`` steps, counted over
    all stages (in ``counter["step"]``), and stops the run after ``stop_after`` steps; None when
    neither is asked for."""
    if (snapshot is None or not every) and stop_after is None:
        return None

    def on_step(i, x, losses):
        counter["step"] += 1
        if snapshot is not None and counter["step"] % every == 0:
            snapshot(counter["step"], finish(x))
        return stop_after is not None and counter["step"] >= stop_after

    return on_step


def _load(source, max_size, name):
    """``load_image``, its errors prefixed with the input's role."""
    try:
        return load_image(source, max_size)
    except InputError as e:
        raise InputError(f"{name}: {e}") from None
