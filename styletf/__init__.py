"""styletf: Gatys, Ecker & Bethge (2015), "A Neural Algorithm of Artistic Style", in TensorFlow/Keras.

The paper alone is the ground floor, ``styletf.paper`` (a student reads it first: network -> losses -> normalize -> objective ->
descent, and settings); it imports nothing else of styletf.
The shell above it checks every input once and hands the paper checked tensors:
``errors``; ``data`` (the paper's images) and ``images`` (in/out); ``backbones`` (where
the weights come from), ``normalize`` (the reference set, cached statistics, the stand-in's
calibration) and ``vgg`` (``FeatureExtractor``); ``losses`` (eqs. 1-5, checked); ``targets``,
``objective``, ``optimize`` (precision, progress, Ctrl-C; the live preview and movies: ``watch``),
``result`` and ``synthesis`` (``synthesize``: load -> targets -> objective -> optimise -> result),
``schedule`` (``coarse_to_fine``).
Beyond the paper: the 2017 follow-up's controls - ``color`` (colour), ``regions`` with
``paper.guidance`` (spatial), ``scales`` (``mix_scales``: scale) - and ``controls`` (``stylize``:
your own photo); ``plotting``, ``config`` (the notebooks'); ``preflight``, ``interrupts``,
``sidecar``, ``reproduce``, ``benchmark`` and ``cli`` (``python -m styletf``).
"""
from .quiet import import_failed, import_tensorflow

try:
    import_tensorflow()  # TensorFlow without its C++ start-up log lines ("failed call to cuInit" on a CPU)
    from .errors import DataError, InputError, StyleTFError
    from .images import load_image, save_image
    from .looks import psnr
    from .losses import (content_loss, gram_matrix, style_layer_loss, style_loss,
                         total_variation_loss)
    from .result import SynthesisInterrupted, SynthesisResult
    from .synthesis import synthesize
    from .schedule import coarse_to_fine
    from .controls import stylize
    from .scales import mix_scales
    from .vgg import PAPER_CONTENT_LAYERS, PAPER_STYLE_LAYERS, FeatureExtractor
    from .machine import check_thread_variables
    from .quiet import refuse_at_start
    refuse_at_start(check_thread_variables)  # before TensorFlow's first operation reads them (and aborts on -1)
except ImportError as e:  # e.g. under an address-space limit too low for TensorFlow: one clear line
    import_failed(e)
    raise

__version__ = "0.1.0"
__all__ = ["load_image", "save_image", "FeatureExtractor", "synthesize", "coarse_to_fine", "SynthesisResult",
           "SynthesisInterrupted", "stylize", "mix_scales",
           "gram_matrix", "content_loss", "style_layer_loss", "style_loss", "total_variation_loss",
           "psnr", "PAPER_CONTENT_LAYERS", "PAPER_STYLE_LAYERS",
           "StyleTFError", "InputError", "DataError"]
