"""Every public function of the Python API refuses a bad argument with an ``InputError`` that names
the argument (issue: reliability, second pass), before TensorFlow, numpy or matplotlib see it.

Each case is a call a student could make from a notebook; the expectation is the contract itself:
an ``InputError`` (not a TypeError / IndexError / InvalidArgumentError from inside) whose message
contains the argument's name.
"""
import numpy as np
import tensorflow as tf
import pytest
from matplotlib.figure import Figure
from PIL import Image

import styletf
from styletf import InputError, color, config, data, looks, plotting, watch

IMG = np.random.default_rng(0).random((8, 8, 3)).astype(np.float32)  # (H, W, 3) in [0, 1]
FEAT = np.ones((1, 4, 4, 8), np.float32)  # (B, h, w, N)
GRAM = np.ones((1, 8, 8), np.float32)  # (B, N, N)
FIG = Figure()
CLOSED = Image.new("RGB", (8, 8))
CLOSED.close()  # used after its `with Image.open(...)` block

CASES = [
    # images
    (styletf.save_image, dict(x="zz", path="x.png"), "image"),
    (styletf.save_image, dict(x=IMG, path=None), "path"),
    (styletf.save_image, dict(x=IMG, path=3), "path"),
    (styletf.load_image, dict(source=IMG, max_size=10**400), "max_size"),
    (styletf.load_image, dict(source=IMG, max_size=2.5), "max_size"),
    (styletf.load_image, dict(source=None), "source"),
    (styletf.load_image, dict(source=np.zeros((0, 5, 3)), max_size=16), "no pixels"),
    (styletf.load_image, dict(source=np.array([[-3, 4]], np.int16)), "0..255"),
    (styletf.load_image, dict(source=Image.fromarray(np.full((5, 5), np.nan, np.float32))), "NaN"),
    (styletf.load_image, dict(source="a\0b.png"), "NUL"),
    (styletf.load_image, dict(source=CLOSED), "source: the PIL image is closed"),
    (styletf.load_image, dict(source="~no_such_user_here/x.png"), "home folder"),
    (styletf.save_image, dict(x=IMG, path="x.jpg"), "must end in .png"),
    (styletf.save_image, dict(x=IMG, path="."), "is a folder"),
    (styletf.save_image, dict(x=IMG, path="nowhere/x.png"), "does not exist"),
    (styletf.psnr, dict(x=None, reference=IMG), "x"),
    (styletf.psnr, dict(x=IMG, reference=np.zeros((4, 4, 3))), "reference"),
    (styletf.psnr, dict(x=np.zeros((0,)), reference=IMG), "x"),
    # losses (eqs. 1-5)
    (styletf.gram_matrix, dict(features=None), "features"),
    (styletf.gram_matrix, dict(features="zz"), "features"),
    (styletf.gram_matrix, dict(features=IMG), "features"),  # rank 3: no batch axis
    (styletf.gram_matrix, dict(features=np.zeros((1, 0, 4, 8))), "features"),
    (styletf.content_loss, dict(features=FEAT, target=np.ones((1, 4, 4, 7))), "target"),
    (styletf.content_loss, dict(features=FEAT, target=np.ones((3, 4, 4, 8))), "target"),
    (styletf.content_loss, dict(features=[1, 2], target=FEAT), "features"),
    (styletf.style_layer_loss, dict(features=FEAT, target_gram=np.ones((1, 7, 7))), "target_gram"),
    (styletf.style_layer_loss, dict(features=FEAT, target_gram=object()), "target_gram"),
    (styletf.style_loss, dict(features=None, target_grams={"a": GRAM}), "features"),
    (styletf.style_loss, dict(features={"a": FEAT}, target_grams=[GRAM]), "target_grams"),
    (styletf.style_loss, dict(features={"a": FEAT}, target_grams={"b": GRAM}), "features"),
    (styletf.style_loss, dict(features={"a": FEAT}, target_grams={"a": GRAM}, weights=0.5), "weights"),
    (styletf.style_loss, dict(features={"a": FEAT}, target_grams={"a": GRAM}, weights={"a": -1.0}), r"weights\['a'\]"),
    (styletf.style_loss, dict(features={"a": FEAT}, target_grams={"a": GRAM}, weights={"a": np.nan}), r"weights\['a'\]"),
    (styletf.style_loss, dict(features={"a": FEAT}, target_grams={"a": GRAM}, weights={"a": "1"}), r"weights\['a'\]"),
    (styletf.total_variation_loss, dict(images=np.zeros(3)), "images"),
    (styletf.total_variation_loss, dict(images=np.array(["a"])), "images"),
    # the network
    (styletf.FeatureExtractor, dict(layers=5, backbone="random"), "layers"),
    (styletf.FeatureExtractor, dict(layers=["conv1_1"], backbone=None), "backbone"),
    (styletf.FeatureExtractor, dict(layers=["conv1_1"], backbone="random", pooling=np.zeros(3)), "pooling"),
    (styletf.FeatureExtractor, dict(layers=["conv1_1"], backbone="random", network=np.zeros(3)), "network"),
    (styletf.FeatureExtractor, dict(layers=["conv1_1"], backbone="random", precision=["float32"]), "precision"),
    # watching and exploring
    (watch.Movie, dict(every=0), "every"),
    (watch.Movie, dict(index=-1), "index"),
    (watch.Movie, dict(max_frames="many"), "max_frames"),
    (watch.explore, dict(choices=None), "choices"),
    (watch.explore, dict(choices={"a": 3}), r"choices\['a'\]"),
    (watch.explore, dict(choices={"a": IMG}, names=5), "names"),
    (watch.explore, dict(choices={"a": IMG}, names=("layer", "ratio")), "names"),
    # figures
    (plotting.show_images, dict(images=None), "images"),
    (plotting.show_images, dict(images=[]), "images"),
    (plotting.show_images, dict(images=[IMG], titles=["a", "b"]), "titles"),
    (plotting.show_images, dict(images=[IMG], insets=3), "insets"),
    (plotting.show_images, dict(images=[IMG], ncols=0), "ncols"),
    (plotting.show_images, dict(images=[IMG], panel_size=float("nan")), "panel_size"),
    (plotting.plot_losses, dict(histories=None), "histories"),
    (plotting.plot_losses, dict(histories={"a": {"total": [1.0]}}, key="totl"), "key"),
    (plotting.save_figure, dict(fig=FIG, name=3, settings={}), "name"),
    (plotting.save_figure, dict(fig=None, name="x", settings={}), "fig"),
    (plotting.save_figure, dict(fig=FIG, name="x", settings=[1]), "settings"),
    (plotting.mark_backbone, dict(fig=None, backbone="random", description="x"), "fig"),
    (plotting.plot_losses, dict(histories={"a": "abc"}), "histories"),
    (plotting.plot_losses, dict(histories={"a": []}), "histories"),
    (plotting.plot_losses, dict(histories={"a": [1.0]}, ax="x"), "ax"),
    (plotting.save_panels, dict(panels=[IMG], settings={}), "panels"),
    (data.info, dict(key=["neckarfront"]), "catalog image"),
    # beyond the paper: the colour controls, the picture check, a notebook's report
    (color.luminance, dict(images="abc"), "images"),
    (color.match_color, dict(style=None, content=IMG), "style"),
    (color.with_content_colors, dict(result=IMG[None], content=np.stack([IMG] * 2)), "content"),
    (looks.judge, dict(image=None, photo=IMG, painting=IMG), "image"),
    (looks.judge, dict(image=np.full_like(IMG, np.nan), photo=IMG, painting=IMG), "image has NaN"),
    (config.report, dict(backbone=None, size=64), "backbone"),
    (data.fetch, dict(key=None), "catalog image"),
]


@pytest.mark.parametrize("fn, kwargs, named", CASES, ids=[f"{f.__name__}-{i}" for i, (f, _, _) in enumerate(CASES)])
def test_bad_argument_is_an_input_error_naming_it(fn, kwargs, named, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError, match=named):
        fn(**kwargs)
    assert not list(tmp_path.iterdir())  # nothing written


def test_movie_index_beyond_the_batch_names_it():
    movie = watch.Movie(index=2)
    with pytest.raises(InputError, match="index 2 .* batch of 1"):
        movie.add(np.zeros((1, 4, 4, 3), np.float32))


PHOTO = np.random.default_rng(1).random((32, 32, 3)).astype(np.float32)
SYNTH = dict(content=PHOTO, style=PHOTO[::-1], steps=1, backbone="random", progress=False)

SYNTH_CASES = [
    (dict(content=tf.fill((1, 16, 16, 3), 3.0)), r"content: values must lie in \[0, 1\]"),  # it said images:
    (dict(content_layers=5), "content_layers"),
    (dict(content_layers="conv4_2"), "content_layers"),
    (dict(style_layers=None), "style_layers"),
    (dict(style_weights=0.5), "style_weights"),
    (dict(style_weights=[1.0]), "style_weights"),
    (dict(init=None), "init"),
    (dict(backbone=None), "backbone"),
    (dict(backbone=3), "backbone"),
    (dict(optimizer=np.zeros(2)), "optimizer"),
    (dict(jit=np.zeros(2)), "jit"),
    (dict(pooling=np.zeros(2)), "pooling"),
    (dict(callback="print"), "callback"),
    (dict(size=10**400), "size"),
    (dict(content=None, shape=(32,)), "shape"),
    (dict(content=None, shape=(32, -4)), "shape"),
    (dict(style=[PHOTO, PHOTO], style_blend=object()), "style_blend"),
    (dict(style=[None]), "style is None"),
    (dict(extractor="abc"), "extractor"),
    (dict(progress="yes"), "progress must be True or False"),
    (dict(init=tf.fill((2, 32, 32, 3), 0.5)), "init holds 2 images"),
    (dict(init=tf.fill((1, 32, 32, 3), float("nan"))), "init: has NaN"),
    (dict(content=tf.fill((1, 32, 32, 3), float("nan"))), "content: has NaN"),
    (dict(style_layers=["block1_conv1", "conv1_1"]), "style_layers names conv1_1 more than once"),
    (dict(content_layers=["conv1_1", "conv1_1"]), "content_layers names conv1_1 more than once"),
]


@pytest.mark.parametrize("images, named", [
    (np.full((1, 16, 16, 3), np.nan, np.float32), "NaN"),
    (tf.fill((1, 16, 16, 3), float("nan")), "NaN or infinite"),
    (tf.fill((1, 16, 16, 3), 255.0), r"images: values must lie in \[0, 1\], got \[255, 255\]; divide 8-bit data by 255"),
    ("no/such/image.png", "not found"),
    (None, "catalog key, a path"),
])
def test_feature_extractor_names_bad_images(images, named):
    with pytest.raises(InputError, match=named):
        styletf.FeatureExtractor(["conv1_1"], backbone="random")(images)


def test_feature_extractor_takes_uint8_as_load_image_does():
    """A uint8 array is 0..255: divided by 255 (images._array_to_rgb), as a batch too."""
    ex = styletf.FeatureExtractor(["conv1_1"], backbone="random")
    pixels = np.random.default_rng(0).integers(0, 256, (2, 16, 16, 3), dtype=np.uint8)
    reference = ex(tf.constant(pixels / 255.0, tf.float32))["conv1_1"].numpy()
    np.testing.assert_allclose(ex(pixels)["conv1_1"].numpy(), reference, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(ex(pixels[:1])["conv1_1"].numpy(), reference[:1], rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("change, named", SYNTH_CASES, ids=[c[1] + str(i) for i, c in enumerate(SYNTH_CASES)])
def test_synthesize_names_the_bad_argument(change, named):
    with pytest.raises(InputError, match=named):
        styletf.synthesize(**{**SYNTH, **change})


def test_settings_given_beside_a_ready_extractor_must_be_its_own():
    """synthesize(extractor=..., backbone=...) used the extractor and ignored the backbone without
    a word; settings the extractor already has (or the defaults) are fine."""
    ex = styletf.FeatureExtractor(["conv1_1", "conv2_1", "conv4_2"], backbone="random", pooling="max")
    kw = dict(SYNTH, style_layers=["conv1_1", "conv2_1"], content_layers=["conv4_2"], extractor=ex)
    with pytest.raises(InputError, match=r"extractor given has backbone='random'; leave backbone out"):
        styletf.synthesize(**{**kw, "backbone": "vgg16-hed"})
    with pytest.raises(InputError, match=r"has network='raw', precision='float32'; leave network, precision out"):
        styletf.synthesize(**{**kw, "network": "mean", "precision": "mixed_float16"})
    plain = styletf.FeatureExtractor(["conv1_1", "conv2_1", "conv4_2"], backbone="random")
    with pytest.raises(InputError, match=r"has pooling='avg'; leave pooling out, or build the extractor with it"):
        styletf.synthesize(**{**kw, "extractor": plain, "pooling": "max"})
    assert styletf.synthesize(**{**kw, "backbone": "random", "pooling": "max"}).settings["pooling"] == "max"


def test_coarse_to_fine_and_result_save_name_the_bad_argument(tmp_path):
    for sizes in (16, [32, 32]):
        with pytest.raises(InputError, match="sizes"):
            styletf.coarse_to_fine(PHOTO, PHOTO, sizes=sizes, steps=1, backbone="random", progress=False)
    result = styletf.synthesize(**SYNTH)
    for index in (5, -1, 0.5):
        with pytest.raises(InputError, match="index"):
            result.save(tmp_path / "x.png", index=index)
    with pytest.raises(InputError, match="path"):
        result.save(None)
    (tmp_path / "x.json").mkdir()  # the sidecar's place is taken: neither file is written
    with pytest.raises(InputError, match="x.json: it is a folder"):
        result.save(tmp_path / "x.png")
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]


def test_result_save_refuses_to_overwrite_an_input(tmp_path):
    """As the command line does: the photo a result was made from is not overwritten by it."""
    photo = tmp_path / "photo.png"
    Image.fromarray((PHOTO * 255).astype(np.uint8)).save(photo)
    before = photo.read_bytes()
    r = styletf.synthesize(**{**SYNTH, "content": str(photo)})
    with pytest.raises(InputError, match="would overwrite the input"):
        r.save(photo)
    assert photo.read_bytes() == before and not photo.with_suffix(".json").exists()
    assert r.save(tmp_path / "out.png").exists()
