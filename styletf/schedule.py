"""Coarse to fine: the output synthesised small first, each stage starting from the one before,
upsampled (not in the paper, whose synthesis is one size: docs/method.md, "Synthesis"). ``stages``
gives the schedule that ``stylize`` and the notebooks use, ``coarse_to_fine`` runs it through
``synthesize``, ``check_sizes`` checks sizes given by hand.
"""
from __future__ import annotations

from . import interrupts, memory, preflight
from .errors import InputError, check_sequence, check_setting
from .result import SynthesisInterrupted, SynthesisResult, join_stages
from .synthesis import synthesize

__all__ = ["stages", "coarse_to_fine", "check_sizes"]


def stages(size: int, steps: int = 100) -> tuple[list, list]:
    """The coarse-to-fine schedule for an output of long side ``size``: (sizes, steps per
    stage). The sizes halve from ``size`` down to at least 64 px, three at most; the first
    stage, from white noise, gets twice ``steps``. Not in the paper (its synthesis is one
    size, docs/method.md "Synthesis"): on the offline stand-in, white noise at full size leaves a
    fine grain that an edge detector's features never see, so they never remove it; noise
    at a quarter of the size, upsampled, has none. Notebooks 01-04 use it."""
    size, steps = check_setting("size", size), check_setting("steps", steps)
    sizes = [size]
    while len(sizes) < 3 and sizes[0] // 2 >= 64:
        sizes.insert(0, sizes[0] // 2)
    return sizes, ([2 * steps] + [steps] * (len(sizes) - 1) if len(sizes) > 1 else [steps])


def coarse_to_fine(content=None, style=None, *, sizes=(256, 512, 1024), steps=500, **kwargs) -> SynthesisResult:
    """Synthesise at each size of ``sizes`` in turn (long side, px), starting each stage from
    the previous result upsampled: most of the work is done where a step is cheap, and the
    large stages only refine. What it buys is the painting's scale at a large size: VGG's
    features see at most 132-156 px, so a direct large run matches the Gram matrices with a
    fine, uniform texture, reaching the same loss sooner (bench/RESULTS.md). Not in the
    paper (its Figure 2 at sizes beyond 512 px); notebook 05.
    ``steps``: per stage, an int or one per size; other arguments as ``synthesize``. Where a
    later stage runs out of memory, the stage before is the result (``stopped`` says so).
    (``init`` applies to the first stage). Returns the last stage's result with the histories
    of all stages concatenated, the total wall time, and ``extra["stages"]`` = [(size, steps, seconds), ...].
    """
    sizes = check_sizes("sizes", sizes)
    per_stage = list(steps) if isinstance(steps, (list, tuple)) else [steps] * len(sizes)
    if len(per_stage) != len(sizes):
        raise InputError(f"steps: {len(per_stage)} step counts for {len(sizes)} sizes; give one per size, or one for all")
    init = kwargs.pop("init", "noise")
    styles = style if isinstance(style, (list, tuple)) else [style] if style is not None else []
    preflight.check_memory(sizes[-1], kwargs.get("style_scale", 1.0), kwargs.get("optimizer", "adam"), content, styles,
                           spelling="api")  # the largest stage, before the first
    results = []
    for size, n in zip(sizes, per_stage):
        if results and interrupts.pending():  # a stop held after the last stage's steps: no next stage
            results[-1].stopped = f"interrupted ({interrupts.pending()}) after the {sizes[len(results) - 1]} px stage"
            raise SynthesisInterrupted(join_stages(results, sizes, per_stage))
        try:
            with memory.checked():  # the largest stage was, above
                result = synthesize(content, style, size=size, steps=n, init=init, **kwargs)
        except SynthesisInterrupted as e:  # the stages done (one without a step: not even started)
            results += [e.result] if e.result.steps_done or not results else []
            results[-1].stopped = e.result.stopped
            raise SynthesisInterrupted(join_stages(results, sizes, per_stage)) from None
        except Exception as e:  # noqa: BLE001 - an allocation that failed: keep the stage before
            if not results or not memory.is_out_of_memory(e):
                raise
            results[-1].stopped = (f"{memory.oom_message(size)}; the {sizes[len(results) - 1]} px stage's "
                                   f"picture is kept")
            break
        results.append(result)
        if result.stopped:  # cut short (callback, non-finite losses); L-BFGS-B's own end goes on
            break
        init = result.image  # upsampled to the next size by synthesize's init handling
    return join_stages(results, sizes, per_stage)


def check_sizes(name: str, sizes) -> list[int]:
    """Stage sizes: increasing whole long sides in px up to ``MAX_SIDE`` (coarse_to_fine's and stylize's door)."""
    sizes = [check_setting("size", v, name)
             for v in check_sequence(name, sizes, what="of sizes in px, e.g. [256, 512]")]
    if not sizes or sizes != sorted(set(sizes)):
        raise InputError(f"{name} must be increasing long sides in px, e.g. 256,512,1024; got {sizes}")
    return sizes
