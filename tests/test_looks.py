"""``styletf.looks``, the outside check of Figures 2 and 3 (notebooks 03, 04), against images whose
answer is known: white noise, the photo, the paintings, the photo's pixels shuffled, and the photo
recoloured with exactly the painting's colours (rank by rank of luminance)."""
import numpy as np
import pytest

import styletf
from styletf import looks

from conftest import need_mirror

PAINTINGS = ["shipwreck_of_the_minotaur", "starry_night", "the_scream", "femme_nue_assise", "composition_vii"]


@pytest.fixture(scope="module")
def photo():
    need_mirror()
    return styletf.load_image("neckarfront", 256).numpy()[0]  # (H, W, 3)


def _luminance(a):
    return a @ np.array([0.299, 0.587, 0.114])


def recoloured(photo, painting, seed=0):
    """The photo with the painting's colours: the k-th darkest photo pixel gets the k-th darkest of
    as many pixels drawn from the painting. Layout of the photo, colour distribution of the painting."""
    rng = np.random.default_rng(seed)
    src = painting.reshape(-1, 3)[rng.choice(painting.shape[0] * painting.shape[1], photo.shape[0] * photo.shape[1])]
    out = np.empty_like(photo.reshape(-1, 3))
    out[np.argsort(_luminance(photo.reshape(-1, 3)), kind="stable")] = src[np.argsort(_luminance(src), kind="stable")]
    return out.reshape(photo.shape)


@pytest.mark.parametrize("key", PAINTINGS)
def test_noise_photo_and_painting_fail_and_the_recoloured_photo_passes(photo, key):
    painting = styletf.load_image(key, 256).numpy()[0]
    noise = np.random.default_rng(1).uniform(size=photo.shape)
    assert not looks.judge(noise, photo, painting)["photo"] and not looks.judge(noise, photo, painting)["ok"]
    as_photo = looks.judge(photo, photo, painting)
    assert as_photo["photo"] and as_photo["palette"] == pytest.approx(1.0) and not as_photo["ok"]
    as_painting = looks.judge(painting, photo, painting)
    assert not as_painting["photo"] and as_painting["palette"] < 0.1
    painted = looks.judge(recoloured(photo, painting), photo, painting)
    assert painted["ok"], painted
    assert painted["palette"] < 0.2  # the painting's colours, up to sampling


def test_structure_needs_the_layout_not_the_pixels(photo):
    shuffled = np.random.default_rng(2).permutation(photo.reshape(-1, 3)).reshape(photo.shape)
    assert looks.structure(shuffled, photo) < 1.15  # the photo's own colours, no layout
    assert looks.structure(photo, photo) > 2.5
    flipped = photo[::-1]  # the layout upside down
    assert looks.structure(flipped, photo) < looks.STRUCTURE_MIN
    bigger = np.repeat(np.repeat(photo, 2, axis=0), 2, axis=1)  # any size: compared at the photo's shape
    assert looks.structure(bigger, photo) == pytest.approx(looks.structure(photo, photo), rel=0.05)


def test_palette_is_a_ratio_of_distances_to_the_painting(photo):
    need_mirror()
    painting = styletf.load_image("the_scream", 256).numpy()[0]
    from PIL import Image
    resized = np.asarray(Image.fromarray(np.uint8(painting * 255)).resize(photo.shape[1::-1]), np.float64) / 255
    half = 0.5 * photo + 0.5 * resized
    assert 0.1 < looks.palette(half, painting, photo) < 0.9  # between the photo (1) and the painting (~0)
    assert looks.palette(np.uint8(photo * 255), painting, photo) == pytest.approx(1.0, abs=0.02)  # uint8 in
