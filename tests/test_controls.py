"""Beyond the paper (styletf.color, styletf.controls, the style options of synthesize),
each checked against an independent reference: numpy statistics, Pillow's YCbCr, the
single-style run, a grating's period."""
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

import styletf
from styletf import color, watch
from styletf.errors import InputError

FAST = dict(backbone="random", progress=False)


def _photo(h=48, w=64, seed=0):
    """A smooth, colourful, unsaturated 'photo' (values inside [0.15, 0.85])."""
    y, x = np.mgrid[0:h, 0:w] / max(h, w)
    rng = np.random.default_rng(seed)
    img = np.stack([0.5 + 0.3 * np.sin(6 * x + 1), 0.5 + 0.3 * np.cos(5 * y), 0.5 + 0.2 * np.sin(4 * (x + y))], -1)
    img += 0.03 * rng.standard_normal(img.shape)
    return tf.constant(np.clip(img, 0.15, 0.85)[None], tf.float32)


def _painting(h=48, w=48, seed=1):
    """Reddish blocky strokes: colours far from the photo's."""
    rng = np.random.default_rng(seed)
    blocks = rng.uniform(0, 1, (h // 8, w // 8, 3)).repeat(8, 0).repeat(8, 1)  # colours of full rank
    img = np.stack([0.6 + 0.4 * blocks[..., 0], 0.1 + 0.2 * blocks[..., 1], 0.05 + 0.15 * blocks[..., 2]], -1)
    return tf.constant(img[None], tf.float32)


def _ycbcr(image):  # Pillow's conversion as the reference: (H, W, 3) uint8 -> float array
    return np.asarray(Image.fromarray(styletf.images.to_uint8(image)).convert("YCbCr"), np.float64)


def test_luminance_is_bt601_luma():
    x = np.random.default_rng(0).uniform(0, 1, (1, 8, 8, 3)).astype(np.float32)
    expected = x @ np.array([0.299, 0.587, 0.114], np.float32)
    np.testing.assert_allclose(color.luminance(x).numpy()[..., 0], expected, atol=1e-6)


def test_match_luminance_takes_the_content_mean_and_spread():
    rng = np.random.default_rng(0)
    style = tf.constant(rng.uniform(0.0, 0.3, (1, 20, 30, 1)), tf.float32)
    content = tf.constant(rng.normal(0.5, 0.1, (1, 16, 16, 1)).clip(0, 1), tf.float32)
    out = color.match_luminance(style, content).numpy()
    assert out.shape == style.shape
    assert abs(out.mean() - content.numpy().mean()) < 0.01
    assert abs(out.std() - content.numpy().std()) < 0.01


def test_with_content_colors_keeps_the_content_chroma():
    content, other = _photo(), _photo(seed=5)[..., ::-1]  # channels swapped: other colours
    out = color.with_content_colors(other, content)
    np.testing.assert_allclose(_ycbcr(out[0])[..., 1:], _ycbcr(content[0])[..., 1:], atol=2.5)
    np.testing.assert_allclose(_ycbcr(out[0])[..., 0], _ycbcr(other[0])[..., 0], atol=1.5)


def test_match_color_gives_the_content_mean_and_covariance():
    style, content = _painting(), _photo()
    out = color.match_color(style, content).numpy().reshape(-1, 3)
    c = content.numpy().reshape(-1, 3)
    np.testing.assert_allclose(out.mean(0), c.mean(0), atol=0.01)
    np.testing.assert_allclose(np.cov(out, rowvar=False), np.cov(c, rowvar=False), atol=2e-3)
    assert not np.allclose(style.numpy().reshape(-1, 3).mean(0), c.mean(0), atol=0.1)  # it did change


def test_gram_targets_are_per_position():
    # A texture tiled 2 x 2 has 4x the positions and ~4x the Gram matrix; as a style
    # target for an image of the original size it must ask for the same texture.
    tex = _painting(32, 32)
    tiled = tf.tile(tex, [1, 2, 2, 1])
    kw = dict(style_layers=["conv1_1", "conv2_1"], init=tex, steps=1, learning_rate=1e-9, **FAST)
    same = styletf.synthesize(style=tex, **kw).final["style"][0]
    from_tiled = styletf.synthesize(style=tiled, **kw).final["style"][0]
    unrelated = styletf.synthesize(style=_photo(32, 32), **kw).final["style"][0]
    assert same < 1e-6 * unrelated
    assert from_tiled < 0.02 * unrelated  # only the tiles' seams differ


def test_style_blend_1_0_equals_the_single_style():
    kw = dict(content=_photo(), steps=4, seed=2, **FAST)
    one = styletf.synthesize(style=_painting(), **kw).image.numpy()
    blend = styletf.synthesize(style=[_painting(), _photo(seed=9)], style_blend=[1, 0], **kw).image.numpy()
    mixed = styletf.synthesize(style=[_painting(), _photo(seed=9)], style_blend=[1, 1], **kw).image.numpy()
    np.testing.assert_array_equal(one, blend)
    assert not np.array_equal(one, mixed)


def test_blended_target_is_the_weighted_mean_of_grams():
    # loss(blend w) - [w L(A) + (1 - w) L(B)] is constant in the image (module doc of
    # synthesize): compare two images' differences.
    a, b = _painting(), _photo(48, 48, seed=3)
    kw = dict(style_layers=["conv1_1"], steps=1, learning_rate=1e-9, **FAST)

    def loss(init, style, blend=None):
        return styletf.synthesize(style=style, style_blend=blend, init=init, **kw).final["style"][0]

    x1, x2 = _photo(48, 48, seed=11), _photo(48, 48, seed=12)[..., ::-1]
    lhs = loss(x1, [a, b], [0.3, 0.7]) - loss(x2, [a, b], [0.3, 0.7])
    rhs = 0.3 * (loss(x1, a) - loss(x2, a)) + 0.7 * (loss(x1, b) - loss(x2, b))
    assert lhs == pytest.approx(rhs, rel=1e-3)


@pytest.mark.parametrize("kw, match", [
    (dict(style_blend=[1]), "one weight per style"),
    (dict(style_blend=[0, 0]), "all 0"),
    (dict(style_blend=[1, -1]), "from 0 to"),
    (dict(style_scale=0), "style_scale"),
    (dict(style_scale=float("nan")), "style_scale"),
    (dict(seed=-1), "seed"),
])
def test_bad_style_options_are_clear_errors(kw, match):
    with pytest.raises(InputError, match=match):
        styletf.synthesize(content=_photo(), style=[_painting(), _painting(seed=2)], steps=1, **FAST, **kw)


def _dominant_period(image) -> float:
    """Horizontal period (px) of the strongest non-zero frequency of an image's luminance."""
    y = color.luminance(image).numpy()[0, ..., 0]
    spectrum = np.abs(np.fft.rfft(y - y.mean(), axis=1)).mean(0)
    return y.shape[1] / (1 + np.argmax(spectrum[1:]))


@pytest.mark.slow  # pictures judged (their texture's period) after 150 steps
def test_style_scale_scales_the_texture():
    # vertical stripes of period 8 px; a style at half the size has them at 4 px
    x = np.arange(64)
    stripes = 0.5 + 0.4 * np.sin(2 * np.pi * x / 8)
    grating = tf.constant(np.broadcast_to(stripes[None, :, None], (64, 64, 3))[None], tf.float32)
    kw = dict(style=grating, style_layers=["conv1_1", "conv2_1"], shape=(64, 64), steps=150, **FAST)
    assert _dominant_period(grating) == pytest.approx(8)
    full = _dominant_period(styletf.synthesize(**kw).image)
    half = _dominant_period(styletf.synthesize(style_scale=0.5, **kw).image)
    assert full == pytest.approx(8, rel=0.15) and half == pytest.approx(4, rel=0.15)


def test_interrupt_keeps_the_steps_done():
    def stop_at_3(i, x, losses):
        if i == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt) as info:  # still a KeyboardInterrupt to callers
        styletf.synthesize(content=_photo(), style=_painting(), steps=50, callback=stop_at_3, **FAST)
    result = info.value.result
    assert isinstance(info.value, styletf.SynthesisInterrupted)
    assert result.steps_done == 4 and "interrupted" in result.stopped
    assert result.history["total"].shape == (4, 1)
    assert np.all(np.isfinite(result.image.numpy()))


@pytest.mark.slow  # pictures judged (their colours)
def test_stylize_luminance_keeps_the_photo_colours():
    photo = _photo()
    kw = dict(size=64, steps=30, **FAST)
    kept = styletf.stylize(photo, _painting(), preserve_colors="luminance", **kw)
    plain = styletf.stylize(photo, _painting(), **kw)
    chroma = lambda r: np.abs(_ycbcr(r.image[0])[..., 1:] - _ycbcr(photo[0])[..., 1:]).mean()  # noqa: E731
    assert chroma(kept) < 1.5  # Cb, Cr levels (0..255), rounding and a little clipping
    assert chroma(plain) > 8  # the painting's red otherwise
    assert kept.settings["preserve_colors"] == "luminance"


@pytest.mark.slow  # pictures judged (their colours)
def test_stylize_histogram_takes_the_photo_palette():
    photo = _photo()
    kw = dict(size=64, steps=60, alpha_beta=1e-5, **FAST)  # style-heavy: colours follow the style
    mean = lambda r: r.image.numpy().reshape(-1, 3).mean(0)  # noqa: E731
    matched = mean(styletf.stylize(photo, _painting(), preserve_colors="histogram", **kw))
    plain = mean(styletf.stylize(photo, _painting(), **kw))
    target = photo.numpy().reshape(-1, 3).mean(0)
    assert np.abs(matched - target).max() < 0.08
    assert np.abs(plain - target).max() > 0.15  # reddish without it


def test_stylize_checks_its_options():
    with pytest.raises(InputError, match="preserve_colors"):
        styletf.stylize(_photo(), _painting(), preserve_colors="sepia", **FAST)
    with pytest.raises(InputError, match="last coarse-to-fine size"):
        styletf.stylize(_photo(), _painting(), size=64, coarse_to_fine=[32, 48], **FAST)
    with pytest.raises(InputError, match="alpha_beta"):
        styletf.stylize(_photo(), _painting(), alpha_beta=0, **FAST)
    with pytest.raises(InputError, match="give snapshot and snapshot_every together"):
        styletf.stylize(_photo(), _painting(), snapshot=watch.Movie(every=1), **FAST)  # would record nothing
    with pytest.raises(InputError, match="give snapshot and snapshot_every together"):
        styletf.stylize(_photo(), _painting(), snapshot_every=2, **FAST)
    with pytest.raises(InputError, match="stop_after"):
        styletf.stylize(_photo(), _painting(), stop_after=0, **FAST)


def test_stop_after_ends_there_with_the_picture_of_that_step():
    """Counted over the stages; the picture is the one a snapshot of that step shows."""
    seen = {}
    r = styletf.stylize(_photo(), _painting(), size=64, coarse_to_fine=[32, 64], steps=[4, 3], stop_after=6,
                        snapshot=lambda step, image: seen.update({step: np.asarray(image)}), snapshot_every=1, **FAST)
    assert r.stopped is None and r.steps_done == 6 and sorted(seen) == [1, 2, 3, 4, 5, 6]
    assert r.extra["ended"] == "stopped after 6 of 7 steps, as stop_after asked"  # said, not silent
    assert [(s, n) for s, n, _ in r.extra["stages"]] == [(32, 4), (64, 2)]
    assert np.array_equal(r.image.numpy(), seen[6])
