"""The paper's settings in one place, each beside where it comes from (the Methods section, the
figure captions, and the CVPR version where it adds a detail). The shell's defaults and the
notebooks' parameters start from these; the notebooks' tables say where they differ.
"""
from __future__ import annotations

__all__ = ["hyper_parameters", "CONTENT_LAYERS", "STYLE_LAYERS"]

CONTENT_LAYERS = ("conv4_2",)  # Figure 2: the photo's content on conv4_2
STYLE_LAYERS = ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")  # Figure 2, w_l = 1/5 each


def hyper_parameters() -> dict:
    """The paper's choices: the network, the layers, alpha/beta per figure, the start and the
    optimiser. Catalog keys name the images (``data/catalog.json``)."""
    return {
        "backbone": "vgg19",  # Methods: ImageNet VGG-19, its 16 conv and 5 pooling layers only
        "pooling": "avg",  # Methods: max pooling replaced by average pooling
        "network": "mean",  # CVPR: the weights rescaled, every filter's mean activation 1 over images and positions
        "content_layers": CONTENT_LAYERS,
        "style_layers": STYLE_LAYERS,
        "style_weights": {layer: 1.0 / len(STYLE_LAYERS) for layer in STYLE_LAYERS},  # eq. 5's w_l
        "figure_2": {  # panel: (painting, alpha/beta), the photo the Neckarfront (panel A)
            "B": ("shipwreck_of_the_minotaur", 1e-3), "C": ("starry_night", 1e-3), "D": ("the_scream", 1e-3),
            "E": ("femme_nue_assise", 1e-4), "F": ("composition_vii", 1e-4)},
        "figure_3": {"painting": "composition_vii",  # rows: style up to that layer; columns: alpha/beta
                     "rows": STYLE_LAYERS, "alpha_beta": (1e-5, 1e-4, 1e-3, 1e-2)},
        "init": "white noise",  # Methods: gradient descent from a white-noise image
        "optimizer": "lbfgs",  # the authors' code (the paper names only gradient descent)
        "size": 512,  # CVPR: about 512 px on the long side
    }
