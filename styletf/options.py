"""The options of ``python -m styletf stylize`` (``--help`` prints them): Figure 2's transfer
(docs/method.md, eq. 7) on your own photo, with the controls of notebook 05. Not in the paper.
"""
from __future__ import annotations

import argparse

from . import color, controls
from .speed import PRECISIONS
from .synthesis import DEFAULT_LEARNING_RATE
from .vgg import PAPER_STYLE_LAYERS, POOLINGS

__all__ = ["add_stylize"]


def _numbers(kind, what):
    def parse(text):
        try:
            return [kind(v) for v in text.split(",")]
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected comma-separated {what}, got {text!r}") from None
    return parse


_floats, _ints = _numbers(float, "numbers"), _numbers(int, "whole numbers")


def _stages(text):
    return text if text in ("auto", "none") else _ints(text)


def _names(text):
    return [v.strip() for v in text.split(",") if v.strip()]


def add_stylize(sub) -> argparse.ArgumentParser:
    """The ``stylize`` sub-command's options (``python -m styletf stylize --help``): Figure 2's
    transfer (docs/method.md, eq. 7) on your own photo, with the controls of notebook 05."""
    p = sub.add_parser(
        "stylize", help="paint your photo in the style of one or more paintings",
        description="Paint CONTENT in the style of STYLE (several are blended). Writes OUT and a "
                    "sidecar OUT.json with every setting, the backbone, the losses and the time. "
                    "Exit status: 0 done, 2 bad usage or input, 1 failed run, 130 interrupted.")
    p.add_argument("content", help="the photo: a path, URL or catalog key (e.g. neckarfront)")
    p.add_argument("style", nargs="+", help="one or more paintings (paths, URLs or catalog keys); with "
                                            "--regions, REGION=PAINTING")
    p.add_argument("-o", "--output", required=True, help="output PNG; OUT.json is written beside it")
    p.add_argument("--size", type=int, default=None, help="long side of the output in px (default 512)")
    p.add_argument("--steps", type=_ints, default=None,
                   help="optimiser steps: one number (per stage; the automatic schedule's first, smallest "
                        "stage takes twice it) or one per size (default: 100; without stages 300 for lbfgs, 500 for adam)")
    p.add_argument("--alpha-beta", type=float, default=controls.DEFAULT_ALPHA_BETA,
                   help="content/style weight ratio in the paper's units (default %(default)g; the "
                        "paper uses 1e-3 and 1e-4; larger keeps more of the photo)")
    p.add_argument("--content-layers", type=_names, default=None,
                   help="comma-separated paper layer names (default: conv4_2; conv3_2 on the "
                        "calibrated offline stand-in)")
    p.add_argument("--style-layers", type=_names, default=list(PAPER_STYLE_LAYERS),
                   help="comma-separated (default: conv1_1,conv2_1,conv3_1,conv4_1,conv5_1)")
    p.add_argument("--style-blend", type=_floats, default=None,
                   help="one weight per style image, e.g. 0.7,0.3 (default: equal)")
    p.add_argument("--style-scale", type=float, default=1.0,
                   help="style images' size relative to the output; <1 smaller strokes (default 1)")
    p.add_argument("--preserve-colors", choices=color.PRESERVE_COLORS, default="none",
                   help="keep the photo's colours: luminance-only transfer, or the style recoloured "
                        "by histogram (mean and covariance) matching (default: none)")
    p.add_argument("--init", default="noise", help="noise (the paper's), content, or an image path")
    p.add_argument("--optimizer", choices=("lbfgs", "adam"), default="lbfgs",
                   help="lbfgs (default, the authors': SciPy's L-BFGS-B) or adam")
    p.add_argument("--lr", type=float, help=f"Adam's step size (default {DEFAULT_LEARNING_RATE:g}; decays later)")
    p.add_argument("--tv", type=float, default=0.0, help="total-variation weight (default 0, the paper's)")
    p.add_argument("--pooling", choices=POOLINGS, default="avg", help="default: avg (the paper's)")
    p.add_argument("--backbone", default="auto",
                   help="auto (ImageNet VGG19 if available, else the offline stand-in), vgg19, "
                        "vgg16-hed, random, or a .h5 weights file")
    p.add_argument("--network", choices=("auto", "mean", "calibrated", "raw", "normalized"), default="auto",
                   help="auto (default): the network in whose units --alpha-beta is the paper's - "
                        "mean on ImageNet VGG19, calibrated on the offline stand-in; mean: the paper's "
                        "mean-activation normalisation (normalized: its old name); calibrated: the "
                        "stand-in's; raw: the weights as trained")
    p.add_argument("--precision", choices=PRECISIONS, default="auto", help="auto (default: bfloat16 where it measures faster)")
    p.add_argument("--jit", choices=("auto", "on", "off"), default="auto",
                   help="compile the step with XLA: auto (default: where a quick measurement finds it faster)")
    p.add_argument("--seed", type=int, default=0, help="seed of the noise start (default 0)")
    p.add_argument("--stop-after", type=int, metavar="K", help="end after K steps in all stages, as Ctrl-C would")
    p.add_argument("--save-every", type=int, default=None, metavar="N",
                   help="also write OUT_<step>.png every N steps")
    p.add_argument("--movie", metavar="MOVIE.gif|.mp4", help="also write the run as a movie, from white noise "
                   "to the result (at most 60 frames): an animated GIF, or an MP4 (needs imageio-ffmpeg)")
    p.add_argument("--coarse-to-fine", type=_stages, default="auto", metavar="S1,S2,...",
                   help="increasing sizes, e.g. 256,512,1024: optimise small, upsample, go on; auto "
                        "(default): halvings of --size down to 64 px, three at most; none: one size")
    _add_follow_up(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar and no summary (errors only)")
    return p


def _add_follow_up(p) -> None:
    """The 2017 follow-up's spatial and scale control (Gatys et al. 2017, notebook 06)."""
    p.add_argument("--regions", metavar="MASK.png|NAME=MASK,...",
                   help="one painting per region of the photo (Gatys et al. 2017): an image with one flat colour "
                        "per region, the styles then given as COLOUR=PAINTING (e.g. blue=starry_night "
                        "white=the_scream; a colour by name or as hex, 3366ff); or grey masks by name "
                        "(sky=sky.png,town=town.png; white in, black out) with styles NAME=PAINTING")
    p.add_argument("--region-weights", metavar="REGION=W,...", help="each region's style weight (default equal)")
    p.add_argument("--style-masks", metavar="REGION=MASK,...",
                   help="a region's painting's own grey mask: where in the painting to take its style from "
                        "(default: the whole painting)")
    p.add_argument("--guidance", choices=("inside", "resize"), default="inside",
                   help="how the regions reach each layer: inside (default: only positions that see their region "
                        "alone) or resize (the masks averaged down)")
    p.add_argument("--fine-style", metavar="PAINTING",
                   help="scale control: the fine scale (brush marks, grain, colours) of this painting over the "
                        "coarse scale (large shapes) of STYLE, one painting")
    p.add_argument("--fine-layers", type=_names, default=["conv1_1", "conv2_1"],
                   help="with --fine-style: the layers that make the fine scale (default: conv1_1,conv2_1)")
