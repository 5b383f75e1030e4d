"""styletf.losses (the checked door) and styletf.paper.losses (the equations) against numpy
transcriptions of docs/method.md's formulas, and the paper's analytic gradients against
tf.GradientTape."""
import numpy as np
import pytest
import tensorflow as tf

from styletf import losses as shell_losses
from styletf.paper import losses as paper_losses

rng = np.random.default_rng(1234)


@pytest.fixture(params=[shell_losses, paper_losses], ids=["styletf.losses", "styletf.paper.losses"])
def losses(request):
    return request.param


def np_gram(f):  # f (h, w, N): the paper's F is its (N, M) transpose
    F = f.reshape(-1, f.shape[-1]).T.astype(np.float64)  # (N, M)
    return F @ F.T


def np_style_layer(f, a):
    n, m = f.shape[-1], f.shape[0] * f.shape[1]
    return ((np_gram(f) - a) ** 2).sum() / (4 * n ** 2 * m ** 2)


@pytest.fixture
def batch():
    f = np.maximum(rng.normal(size=(3, 5, 7, 4)), 0).astype(np.float32)  # (B, h, w, N), post-ReLU
    p = np.maximum(rng.normal(size=(3, 5, 7, 4)), 0).astype(np.float32)
    return f, p


def test_gram_matrix_matches_numpy(batch, losses):
    f, _ = batch
    g = losses.gram_matrix(f).numpy()
    assert g.shape == (3, 4, 4)
    for b in range(3):
        np.testing.assert_allclose(g[b], np_gram(f[b]), rtol=1e-5)


def test_content_loss_matches_numpy(batch, losses):
    f, p = batch
    expected = [0.5 * ((f[b].astype(np.float64) - p[b]) ** 2).sum() for b in range(3)]
    np.testing.assert_allclose(losses.content_loss(f, p).numpy(), expected, rtol=1e-5)


def test_content_loss_broadcasts_a_single_target(batch, losses):
    f, p = batch
    expected = [0.5 * ((f[b].astype(np.float64) - p[0]) ** 2).sum() for b in range(3)]
    np.testing.assert_allclose(losses.content_loss(f, p[:1]).numpy(), expected, rtol=1e-5)


def test_style_layer_loss_matches_numpy(batch, losses):
    f, p = batch
    a = np.stack([np_gram(p[b]) for b in range(3)])
    expected = [np_style_layer(f[b], a[b]) for b in range(3)]
    np.testing.assert_allclose(losses.style_layer_loss(f, a).numpy(), expected, rtol=1e-5)


def test_style_layer_loss_stays_finite_at_large_sizes(losses):
    # conv1_1 at 512 px: M = 262144, activations ~ 100. sum((G - A)^2) alone would overflow
    # float32; the loss itself is ~1e5 and must come out finite and right.
    f = np.full((1, 512, 512, 2), 100.0, np.float32)
    a = np.zeros((1, 2, 2), np.float32)
    m, n = 512 * 512, 2
    expected = 4 * (m * 1e4) ** 2 / (4 * n ** 2 * m ** 2)
    np.testing.assert_allclose(losses.style_layer_loss(f, a).numpy(), [expected], rtol=1e-4)


def test_style_loss_default_weights_are_one_over_layers(batch, losses):
    f, p = batch
    g = rng.random((3, 3, 2, 6)).astype(np.float32)
    feats = {"conv1_1": f, "conv2_1": g}
    targets = {"conv1_1": losses.gram_matrix(p[:1]), "conv2_1": losses.gram_matrix(g[1:2])}
    e1 = [np_style_layer(f[b], np_gram(p[0])) for b in range(3)]
    e2 = [np_style_layer(g[b], np_gram(g[1])) for b in range(3)]
    np.testing.assert_allclose(losses.style_loss(feats, targets).numpy(),
                               0.5 * np.add(e1, e2), rtol=1e-5)
    w = {"conv1_1": 0.2, "conv2_1": 0.8}
    np.testing.assert_allclose(losses.style_loss(feats, targets, w).numpy(),
                               0.2 * np.array(e1) + 0.8 * np.array(e2), rtol=1e-5)
    # a layer missing from the weights counts 0
    np.testing.assert_allclose(losses.style_loss(feats, targets, {"conv2_1": 1.0}).numpy(), e2,
                               rtol=1e-5, atol=1e-9)


def test_total_variation_matches_numpy(losses):
    x = rng.random((2, 6, 5, 3)).astype(np.float32)
    expected = [np.abs(np.diff(x[b], axis=0)).sum() + np.abs(np.diff(x[b], axis=1)).sum()
                for b in range(2)]
    np.testing.assert_allclose(losses.total_variation_loss(x).numpy(), expected, rtol=1e-5)


def test_losses_are_float32_for_bfloat16_features(batch, losses):
    f, p = batch
    fb = tf.cast(f, tf.bfloat16)
    assert losses.content_loss(fb, p).dtype == tf.float32
    assert losses.style_layer_loss(fb, losses.gram_matrix(p)).dtype == tf.float32


# --- docs/method.md's analytic gradients, against autodiff -----------------------------------
# F = ReLU(Z) as in the network; the paper's dL/dF is zero where F <= 0, so we compare
# autodiff's dL/dZ (= dL/dF * 1[F > 0]) with the formulas.

def _relu_features():
    z = tf.constant(rng.normal(size=(2, 6, 5, 8)), tf.float32)  # (B, h, w, N) pre-activation
    p = tf.constant(np.maximum(rng.normal(size=(2, 6, 5, 8)), 0), tf.float32)
    return z, p


def test_content_gradient_is_the_papers_formula(losses):
    z, p = _relu_features()
    with tf.GradientTape() as tape:
        tape.watch(z)
        f = tf.nn.relu(z)
        loss = tf.reduce_sum(losses.content_loss(f, p))
    autodiff = tape.gradient(loss, z).numpy()
    F, P = f.numpy(), p.numpy()
    analytic = np.where(F > 0, F - P, 0.0)  # dL_content/dF^l_ij = (F - P)_ij if F_ij > 0
    np.testing.assert_allclose(autodiff, analytic, rtol=1e-4, atol=1e-6)


def test_style_gradient_is_the_papers_formula(losses):
    z, p = _relu_features()
    a = losses.gram_matrix(p)
    with tf.GradientTape() as tape:
        tape.watch(z)
        f = tf.nn.relu(z)
        loss = tf.reduce_sum(losses.style_layer_loss(f, a))
    autodiff = tape.gradient(loss, z).numpy()
    analytic = np.zeros_like(autodiff)
    for b in range(2):
        fb = f.numpy()[b].reshape(-1, 8).T.astype(np.float64)  # paper's F: (N, M)
        n, m = fb.shape
        g = fb @ fb.T
        # dE_l/dF^l_ij = 1/(N^2 M^2) ((F^l)^T (G^l - A^l))_ji if F_ij > 0
        d = ((fb.T @ (g - a.numpy()[b])).T) / (n ** 2 * m ** 2)  # (N, M)
        d = np.where(fb > 0, d, 0.0)
        analytic[b] = d.T.reshape(6, 5, 8)
    scale = np.abs(analytic).max()
    np.testing.assert_allclose(autodiff, analytic, rtol=1e-4, atol=1e-4 * scale)
