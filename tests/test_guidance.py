"""Spatial control (``styletf.paper.guidance``, Gatys et al. 2017, section 4) against independent
references: the guided Gram is the plain Gram of the guided features in numpy, normalised by the
guidance's squared sum; all-ones guidance is the 2015 loss exactly; the propagated guidance has
F^l's shape at every layer, and "inside" keeps exactly the positions whose receptive field (found
by perturbing pixels through the real network) lies inside the region."""
import numpy as np
import pytest
import tensorflow as tf

from styletf.paper import guidance, losses, network


def test_the_guided_gram_is_the_gram_of_the_weighted_features_over_the_guidance_sum():
    rng = np.random.default_rng(0)
    f = rng.normal(size=(2, 5, 7, 4)).astype(np.float32)
    t = rng.uniform(size=(1, 5, 7)).astype(np.float32)
    t[0, :2] = 0  # a region that leaves out the top rows
    weighted = f * t[..., None]  # numpy: each position's responses times its guidance
    expected = np.stack([w.reshape(-1, 4).T @ w.reshape(-1, 4) for w in weighted]) * 35 / (t ** 2).sum()
    np.testing.assert_allclose(guidance.guided_gram(f, t).numpy(), expected, rtol=1e-5)
    np.testing.assert_allclose(guidance.guided_gram(f, t, positions=70).numpy(), expected * 2, rtol=1e-5)


def test_a_small_region_is_not_drowned_its_guided_gram_is_a_mean_not_a_sum():
    """The same texture in a region of 4 positions and of 28: the same guided Gram."""
    f = np.tile(np.arange(1, 4, dtype=np.float32), (1, 5, 7, 1))  # (1, 5, 7, 3), every position alike
    small, large = np.zeros((1, 5, 7), np.float32), np.ones((1, 5, 7), np.float32)
    small[0, :2, :2] = 1
    large[0, 0] = 0
    np.testing.assert_allclose(guidance.guided_gram(f, small).numpy(), guidance.guided_gram(f, large).numpy(), rtol=1e-6)


def test_all_ones_guidance_is_the_2015_style_loss_exactly():
    rng = np.random.default_rng(1)
    feats = {"conv1_1": rng.normal(size=(2, 6, 8, 3)).astype(np.float32),
             "conv2_1": rng.normal(size=(2, 3, 4, 5)).astype(np.float32)}
    painting = {k: rng.normal(size=(1,) + v.shape[1:]).astype(np.float32) for k, v in feats.items()}
    plain = {k: losses.gram_matrix(v) for k, v in painting.items()}  # A^l, eq. 3
    guides = {k: np.ones(v.shape[:3] + (1,), np.float32) for k, v in feats.items()}
    guided = {k: guidance.guided_gram(painting[k], guides[k][:1, ..., 0])[:, None] for k in feats}  # (1, 1, N, N)
    np.testing.assert_allclose(guided["conv1_1"][:, 0].numpy(), plain["conv1_1"].numpy(), rtol=1e-5)
    expected = losses.style_loss(feats, plain).numpy()
    got = guidance.guided_style_loss(feats, guides, guided, np.ones(1, np.float32)).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_two_regions_each_match_their_own_target_only():
    """Where the output's responses in region 1 equal painting 1's statistics, region 1's term is 0
    whatever region 2 holds; the loss is sum_r lambda_r E_r, computed here by hand in numpy."""
    rng = np.random.default_rng(2)
    f = rng.normal(size=(1, 4, 6, 3)).astype(np.float32)
    t = np.zeros((1, 4, 6, 2), np.float32)
    t[:, :, :3, 0], t[:, :, 3:, 1] = 1, 1  # left and right halves
    targets = np.stack([guidance.guided_gram(f, t[..., 0]).numpy()[0], rng.normal(size=(3, 3)).astype(np.float32)])[None]
    lam = np.array([0.3, 0.7], np.float32)
    got = guidance.guided_style_layer_loss(f, t, targets, lam).numpy()
    right = f[0, :, 3:].reshape(-1, 3)
    g_right = right.T @ right * 24 / 12
    expected = 0.7 * (((g_right - targets[0, 1]) / (2 * 3 * 24)) ** 2).sum()
    np.testing.assert_allclose(got, [expected], rtol=1e-5)


def test_propagated_guidance_has_each_layers_shape_and_resize_averages():
    names = network.layer_names("vgg19")
    t = np.zeros((1, 37, 50, 1), np.float32)
    t[:, :, :25] = 1
    out = guidance.propagate(t, names, ["conv1_1", "conv3_1", "conv5_1"], "resize")
    assert [v.shape[1:3] for v in out.values()] == [(37, 50), (9, 12), (2, 3)]  # floors, as VGG's pooling
    np.testing.assert_allclose(out["conv3_1"].numpy()[0, :, :, 0].mean(axis=0), [1] * 6 + [0.25] + [0] * 5)  # 25 px: 6.25 cells of 4
    np.testing.assert_allclose(out["conv1_1"].numpy(), t)


@pytest.mark.parametrize("layer", ["conv1_2", "conv2_1", "conv3_1"])
def test_inside_keeps_the_positions_whose_receptive_field_is_inside_the_region(layer):
    """The reference: a real VGG trunk (random weights, linear: no ReLU would hide a change) and
    noise added outside the region; a position whose response does not move sees only the region."""
    names = network.layer_names("vgg19")
    trunk_names = names[: names.index(layer) + 1]
    rng = np.random.default_rng(3)
    weights = {n: (rng.normal(size=(3, 3, 3 if n == "conv1_1" else 8, 8)).astype(np.float32), np.zeros(8, np.float32))
               for n in trunk_names if n.startswith("conv")}
    x = tf.keras.Input((None, None, 3))
    y = x
    for n in trunk_names:
        if n.startswith("conv"):
            conv = tf.keras.layers.Conv2D(8, 3, padding="same")
            y = conv(y)
            conv.set_weights(list(weights[n]))
        else:
            y = tf.keras.layers.AveragePooling2D(2, 2)(y)
    model = tf.keras.Model(x, y)
    mask = np.zeros((1, 48, 40, 1), np.float32)
    mask[:, 5:40, 8:36] = 1
    image = rng.normal(size=(1, 48, 40, 3)).astype(np.float32)
    moved = np.abs(model(image + (1 - mask) * rng.normal(size=image.shape).astype(np.float32)) - model(image)).max(-1)
    untouched = (moved[0] < 1e-4).astype(np.float32)
    inside = guidance.propagate(mask, names, [layer], "inside")[layer].numpy()[0, :, :, 0]
    np.testing.assert_array_equal(inside, untouched)
    assert 0 < inside.sum() < inside.size
