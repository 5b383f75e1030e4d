"""Scale control (Gatys et al. 2017, section 6; docs/method.md, "Scale control"; notebook 06): a new
style with the fine scale of one painting and the coarse scale of another.

The Gram matrices of the lower layers (conv1_1, conv2_1: a few pixels across) hold a painting's
fine texture - brush marks, grain; those of the higher layers its coarse structure - large strokes,
patches, their arrangement. The follow-up combines two paintings in two steps, as here: first the
coarse painting is re-textured, starting from it and matching only the fine painting's Gram
matrices on the lower layers (its large structure stays, since nothing asks it to change, while its
fine texture becomes the other's); then that new image is the style of an ordinary transfer.
"""
from __future__ import annotations

from .errors import InputError, check_sequence
from .result import SynthesisResult
from .synthesis import synthesize
from .targets import as_image
from .vgg import PAPER_STYLE_LAYERS

__all__ = ["mix_scales", "check_fine_layers", "FINE_LAYERS"]

#: The lower layers whose Gram matrices make a painting's fine scale (the follow-up's choice for its figure).
FINE_LAYERS = ("conv1_1", "conv2_1")


def mix_scales(fine, coarse, *, fine_layers=FINE_LAYERS, size=512, steps=100, optimizer="lbfgs", **kwargs) -> SynthesisResult:
    """The coarse painting re-textured with the fine painting's texture (module doc): a synthesis from
    ``coarse`` (at ``size`` px, long side) that matches ``fine``'s Gram matrices on ``fine_layers`` only.
    Its ``image`` is the new style, e.g. for ``stylize``; other arguments as ``synthesize``
    (backbone, network, precision, seed, progress, ...). Notebook 06."""
    layers = check_fine_layers(fine_layers)
    start = as_image(coarse, size, "coarse")  # (1, H, W, 3): the coarse structure, kept by starting from it
    return synthesize(None, fine, style_layers=layers, init=start, shape=tuple(start.shape[1:3]), steps=steps,
                      optimizer=optimizer, **kwargs)


def check_fine_layers(fine_layers, name: str = "fine_layers") -> list:
    """Some, not all, of the paper's style layers (the rest keep the coarse painting's structure);
    ``name``: as the caller spells it (``--fine-layers``). Notebook 06."""
    layers = [str(n) for n in check_sequence(name, fine_layers, what="e.g. ['conv1_1', 'conv2_1']")]
    if not layers or set(layers) >= set(PAPER_STYLE_LAYERS) or not set(layers) <= set(PAPER_STYLE_LAYERS):
        raise InputError(f"{name} must be some of the style layers {', '.join(PAPER_STYLE_LAYERS)}, not all, e.g. "
                         f"{','.join(FINE_LAYERS)}: the others keep the coarse painting's structure; got {','.join(layers)}")
    return layers
