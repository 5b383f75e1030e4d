"""Spatial control in the shell (``styletf.regions``, ``synthesize(regions=...)``, ``stylize --regions``):
masks read against numpy references, every bad mask one clear error, the guided objective with one
all-ones region equal to the 2015 objective, and a guided run that puts each painting's colours in
its own region where the unguided blend of the same two paintings does not."""
import json
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

import styletf
from styletf import InputError, looks, regions, targets
from styletf.__main__ import main
from styletf.objective import Objective
from styletf.paper import guidance, objective as paper_objective

BLUE, WHITE = (0, 0, 255), (255, 255, 255)


def _coded(path, h=30, w=40, split=12, noise=0, fmt="PNG"):
    """A colour-coded mask: blue above row ``split``, white below (+- ``noise`` levels, as a JPEG has)."""
    a = np.zeros((h, w, 3), np.int16)
    a[:split], a[split:] = BLUE, WHITE
    a += np.random.default_rng(0).integers(-noise, noise + 1, a.shape) if noise else 0
    Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)).save(path, fmt)
    return path


def test_a_colour_coded_mask_gives_one_binary_mask_per_colour_named(tmp_path):
    path = _coded(tmp_path / "m.png", noise=20)  # noisy colours still find their region
    got = regions.load(str(path), ["white", "#0000ff"], (30, 40))
    expected = np.zeros((30, 40, 2), np.float32)
    expected[12:, :, 0], expected[:12, :, 1] = 1, 1
    np.testing.assert_array_equal(got.masks.numpy()[0], expected)
    assert got.names == ["white", "#0000ff"] and got.colours == {"white": "#ffffff", "#0000ff": "#0000ff"}
    np.testing.assert_allclose(got.weights, [0.5, 0.5])


def test_a_mask_of_the_photos_shape_at_another_resolution_is_averaged_down(tmp_path):
    path = _coded(tmp_path / "m.png", h=60, w=80, split=25)
    got = regions.load(str(path), ["blue", "white"], (30, 40)).masks.numpy()[0, ..., 0]
    expected = np.zeros((60, 80))
    expected[:25] = 1
    expected = expected.reshape(30, 2, 40, 2).mean(axis=(1, 3))  # numpy: each 2 x 2 block's mean
    np.testing.assert_allclose(got, expected, atol=1e-6)
    assert got[12, 0] == 0.5  # the border row: half of each


@pytest.mark.parametrize("case, words", [
    ("unnamed", "are none of the colours the style names (blue), most of them #ffffff: add #ffffff=PAINTING"),
    ("absent", "no pixels of 'red' (#ff0000)"),
    ("not a colour", "'skyy' is not a colour of the regions image"),
    ("other shape", "the mask is 40x30 px, a shape other than its image's (30x40"),
    ("names", "style names ['town'] that regions has no mask for"),
    ("weights", "region_weights names ['sea'], which the style does not"),
    ("tiny", "region 'blue' has no pixels at 8x6 px"),
])
def test_every_bad_mask_is_one_clear_error(tmp_path, case, words):
    path = str(_coded(tmp_path / "m.png", split=1 if case == "tiny" else 12))
    names, shape, kw, source = ["blue", "white"], (30, 40), {}, path
    if case == "unnamed":
        names = ["blue"]
    elif case == "absent":
        names = ["blue", "white", "red"]
    elif case == "not a colour":
        names = ["skyy", "white"]
    elif case == "other shape":
        shape = (40, 30)
    elif case == "names":
        names, source = ["sky", "town"], {"sky": path}
    elif case == "weights":
        kw = {"weights": {"sea": 1}}
    elif case == "tiny":
        shape = (6, 8)
    with pytest.raises(InputError) as e:
        regions.load(source, names, shape, **kw)
    assert words in str(e.value), str(e.value)


def test_one_all_ones_region_is_the_2015_objective_exactly():
    """The guided objective with a single region covering everything (lambda = 1) against the
    plain objective of eq. 7 on the same extractor, painting and image."""
    ext = styletf.FeatureExtractor(["conv1_1", "conv2_1", "conv3_1"], backbone="random")
    rng = np.random.default_rng(5)
    photo, painting, x = (tf.constant(rng.uniform(size=(1, 24, 32, 3)), tf.float32) for _ in range(3))
    layers = ["conv1_1", "conv2_1", "conv3_1"]
    plain = targets.compute(ext, photo, [painting], [1.0], ["conv2_1"], layers, (24, 32))
    guide = targets.Guide(regions.Regions(["all"], tf.ones((1, 24, 32, 1)), np.ones(1, np.float32), None, {}),
                          [0], [None], "inside")
    guided = targets.compute(ext, photo, [painting], [1.0], ["conv2_1"], layers, (24, 32), guide)
    kw = dict(alpha=tf.constant([1.0]), beta=tf.constant([1e3]), style_weights={k: 1 / 3 for k in layers})
    a, b = Objective(ext, plain, **kw)(x), Objective(ext, guided, **kw)(x)
    for term in ("style", "total"):
        np.testing.assert_allclose(b[term].numpy(), a[term].numpy(), rtol=1e-5)


def test_a_region_too_small_for_a_deep_layer_keeps_a_style_term_there():
    """"inside" leaves nothing of a 6-px-wide region at conv3_1 (its receptive field is wider): that
    layer takes the averaged-down channel instead, as the resize mode gives it."""
    names = styletf.paper.network.layer_names("vgg19")
    t = np.zeros((1, 40, 40, 2), np.float32)
    t[..., 17:23, 0] = 1
    t[..., 1] = 1 - t[..., 0]
    inside = guidance.propagate(t, names, ["conv1_1", "conv3_1"], "inside")
    resize = guidance.propagate(t, names, ["conv3_1"], "resize")
    assert 0 < inside["conv1_1"].numpy()[..., 0].sum() < 6 * 40  # eroded, not empty, at conv1_1
    np.testing.assert_array_equal(inside["conv3_1"].numpy()[..., 0], resize["conv3_1"].numpy()[..., 0])
    assert inside["conv3_1"].numpy()[..., 1].min() == 0  # the large region: eroded at its border


def _paintings(tmp_path):
    """Two 'paintings': red strokes and blue strokes on noise (their colours are known)."""
    rng = np.random.default_rng(1)
    out = []
    for k, colour in enumerate(([220, 40, 30], [30, 60, 220])):
        a = (rng.uniform(0.6, 1.0, (64, 64, 1)) * np.array(colour)).astype(np.uint8)
        Image.fromarray(a).save(tmp_path / f"p{k}.png")
        out.append(str(tmp_path / f"p{k}.png"))
    return out


@pytest.mark.slow  # two syntheses whose pictures are judged
def test_each_region_takes_its_own_paintings_colours_and_an_unguided_blend_does_not(tmp_path):
    red, blue = _paintings(tmp_path)
    photo = np.full((48, 64, 3), 128, np.uint8)  # a grey photo: the colours come from the styles alone
    Image.fromarray(photo).save(tmp_path / "photo.png")
    mask = np.zeros((48, 64, 3), np.uint8)
    mask[:, 32:] = 255  # left black, right white
    Image.fromarray(mask).save(tmp_path / "mask.png")
    kw = dict(size=64, steps=60, optimizer="adam", coarse_to_fine=None, backbone="vgg16-hed", progress=False, alpha_beta=1e-4)
    guided = styletf.stylize(str(tmp_path / "photo.png"), {"black": red, "white": blue}, regions=str(tmp_path / "mask.png"), **kw)
    blend = styletf.stylize(str(tmp_path / "photo.png"), [red, blue], **kw)
    x, y = guided.image.numpy()[0], blend.image.numpy()[0]
    left, right = x[:, :28].reshape(-1, 3).mean(0), x[:, 36:].reshape(-1, 3).mean(0)
    assert left[0] > left[2] + 0.2 and right[2] > right[0] + 0.2, (left, right)  # red left, blue right
    masks = np.stack([1 - mask[..., 0] / 255, mask[..., 0] / 255], axis=-1)
    paintings = [np.asarray(Image.open(p)) / 255 for p in (red, blue)]
    assert max(looks.by_region(x, masks, paintings)) < looks.REGION_MAX
    assert min(looks.by_region(y, masks, paintings)) > looks.REGION_MAX  # the blend mixes them everywhere
    assert guided.settings["regions"] == str(tmp_path / "mask.png") and guided.settings["guidance"] == "inside"


def test_the_region_check_against_known_images():
    """An image whose left half is painting A's pixels and right half B's passes; swapped, it fails."""
    rng = np.random.default_rng(2)
    a, b = rng.uniform(0, 0.3, (20, 20, 3)), rng.uniform(0.7, 1, (20, 20, 3))
    image = np.concatenate([a, b], axis=1)
    masks = np.zeros((20, 40, 2))
    masks[:, :20, 0], masks[:, 20:, 1] = 1, 1
    assert max(looks.by_region(image, masks, [a, b])) < 0.1
    assert min(looks.by_region(image, masks, [b, a])) > 5


@pytest.mark.slow  # processes of their own
def test_the_command_paints_regions_and_its_sidecar_remakes_the_same_bytes(tmp_path):
    red, blue = _paintings(tmp_path)
    _coded(tmp_path / "masks.png", h=48, w=64, split=20)
    Image.fromarray(np.full((48, 64, 3), 128, np.uint8)).save(tmp_path / "photo.png")
    run = [sys.executable, "-m", "styletf", "stylize", "photo.png", f"0000ff={red}", f"white={blue}", "--regions",
           "masks.png", "--size", "64", "--steps", "3", "--coarse-to-fine", "none", "--quiet", "-o"]
    first = subprocess.run(run + ["a.png"], cwd=tmp_path, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr[-2000:]
    meta = json.loads((tmp_path / "a.json").read_text())
    assert "--regions" in meta["command"] and str(tmp_path / "masks.png") in meta["input_files"].values()
    again = subprocess.run(["bash", "-c", meta["command"].replace(" -o a.png", " -o b.png")], cwd=tmp_path,
                           capture_output=True, text=True)
    assert again.returncode == 0, again.stderr[-2000:]
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()
    _coded(tmp_path / "masks.png", h=48, w=64, split=30)  # the mask changed since: replay refuses, naming it
    replay = subprocess.run([sys.executable, "-m", "styletf", "replay", "a.json", "-o", "c.png"], cwd=tmp_path,
                            capture_output=True, text=True)
    assert replay.returncode == 2 and "masks.png" in replay.stderr and not (tmp_path / "c.png").exists(), replay.stderr


@pytest.mark.parametrize("args, words", [
    (["starry_night"], "with --regions each style is REGION=PAINTING"),
    (["blue=starry_night", "white=the_scream", "--region-weights", "blue=x"], "--region-weights blue=x: the weight"),
    (["blue=starry_night", "white=the_scream", "red=the_scream"], "no pixels of 'red'"),
    (["blue=starry_night", "white=nosuch.png"], "style white: "),
    (["blue=starry_night", "white=the_scream", "--style-masks", "blue=nosuch.png"], "--style-masks blue: "),
])
def test_bad_region_options_are_one_line_before_the_backbone_loads(tmp_path, capsys, monkeypatch, args, words):
    monkeypatch.chdir(tmp_path)
    _coded(tmp_path / "masks.png", h=48, w=64, split=20)
    code = main(["stylize", "neckarfront", *args, "--regions", "masks.png", "-o", "out.png", "--size", "64"])
    err = capsys.readouterr()
    assert code == 2 and err.err.count("\n") == 1 and words in err.err, err.err
    assert "backbone:" not in err.out and not (tmp_path / "out.png").exists()


@pytest.mark.slow  # a synthesis whose statistics are judged
def test_mixed_scales_take_the_fine_paintings_low_layers_and_keep_the_coarse_paintings_high_ones():
    """Scale control (Gatys et al. 2017, section 6): after re-texturing, the new style's Gram matrices on
    conv1_1 and conv2_1 are far nearer the fine painting's than the coarse painting's were (eq. 4 per
    layer, per position), and, judged without the network (``looks``), it keeps the coarse painting's
    large edges where the fine painting has none of them, in colours nearer the fine painting's."""
    from styletf.scales import mix_scales
    fine, coarse = styletf.load_image("starry_night", 96), styletf.load_image("composition_vii", 96)
    mixed = mix_scales(fine, coarse, size=96, steps=40, backbone="vgg16-hed", network="auto", progress=False).image
    ext = styletf.FeatureExtractor(list(styletf.PAPER_STYLE_LAYERS), backbone="vgg16-hed", network="auto")

    def distance(a, b, layer):
        fa, fb = ext(a)[layer], ext(b)[layer]
        ga = styletf.gram_matrix(fa) / (fa.shape[1] * fa.shape[2])  # per position: images of other sizes compare
        gb = styletf.gram_matrix(fb) / (fb.shape[1] * fb.shape[2])
        return float(tf.reduce_sum(tf.square(ga - gb)))

    for layer in ("conv1_1", "conv2_1"):
        assert distance(mixed, fine, layer) < 0.2 * distance(coarse, fine, layer), layer
    assert looks.structure(mixed, coarse) >= looks.STRUCTURE_MIN > looks.structure(fine, coarse)
    assert looks.palette(mixed, fine, coarse) <= looks.PALETTE_MAX
    with pytest.raises(InputError, match="fine_layers must be some of the style layers"):
        mix_scales(fine, coarse, fine_layers=list(styletf.PAPER_STYLE_LAYERS))


@pytest.mark.parametrize("args, words", [
    (["the_scream", "starry_night", "--fine-style", "composition_vii"], "--fine-style re-textures one painting"),
    (["the_scream", "--fine-style", "composition_vii", "--fine-layers", "conv1_1,conv9_1"], "--fine-layers must be some"),
    (["the_scream", "--fine-style", "nosuch.png"], "--fine-style: image file not found: nosuch.png"),
])
def test_bad_scale_control_options_are_one_line_before_the_backbone_loads(tmp_path, capsys, monkeypatch, args, words):
    monkeypatch.chdir(tmp_path)
    code = main(["stylize", "neckarfront", *args, "-o", "out.png", "--size", "64"])
    err = capsys.readouterr()
    assert code == 2 and err.err.count("\n") == 1 and words in err.err, err.err
    assert "backbone:" not in err.out and not (tmp_path / "out.png").exists()
