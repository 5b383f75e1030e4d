"""The paper, on its own: Gatys, Ecker & Bethge, "A Neural Algorithm of Artistic Style" (2015).

Read in this order, beside the paper's Methods section (docs/method.md says it in our words):

1. ``network``   the VGG trunk with average pooling and the paper's layer names
2. ``losses``    eqs. 1, 3, 4 and 5: content loss, Gram matrix, style loss per layer and in all
3. ``normalize`` the CVPR version's rescaling: mean activation 1 per filter
4. ``objective`` P^l and A^l, computed once, and eq. 7, L_total = alpha L_content + beta L_style
5. ``descent``   from white noise: the gradient by GradientTape, Adam steps or L-BFGS-B on [0, 1]

And the authors' follow-up (Gatys et al. 2017), on the same floor:

6. ``guidance``  spatial control: guidance channels per region, guided Gram matrices, eq. 4 per region

``settings.hyper_parameters()`` holds the paper's choices (layers, alpha/beta per figure, ...)
with their sources.

These modules compute on tensors that the shell (the rest of ``styletf``) has already checked,
and import nothing of the shell: TensorFlow, Keras, NumPy and SciPy only.
"""
from . import descent, guidance, losses, network, normalize, objective, settings  # noqa: F401  (the reading order above)
