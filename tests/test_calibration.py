"""The offline stand-in's calibration (docs/method.md, "The offline stand-in and its calibration"):
which network ``network="auto"`` picks, what the calibrated filters measure on the reference set, the
content layer that goes with it, and the coarse-to-fine schedule."""
import numpy as np
import pytest

import styletf
from styletf import backbones, normalize, schedule, vgg
from styletf.errors import InputError

from conftest import need_mirror

rng = np.random.default_rng(0)


def test_auto_means_the_papers_normalisation_only_on_the_papers_network():
    for auto in ("auto", True):  # True: the value of the old normalize=
        assert vgg.resolve_network("vgg19", auto) == "mean"
        for other in ("vgg16-hed", "random", "random:3"):
            assert vgg.resolve_network(other, auto) == "calibrated", other
    assert vgg.resolve_network("vgg16-hed", False) == "raw" == vgg.resolve_network("vgg16-hed", "raw")
    assert vgg.resolve_network("vgg16-hed", "mean") == "mean"
    with pytest.raises(InputError, match="network"):
        vgg.resolve_network("vgg16-hed", "rms")
    assert vgg.default_content_layers("mean") == ("conv4_2",) == vgg.default_content_layers("raw")


@pytest.mark.parametrize("old, new", [(True, "calibrated"), (False, "raw"), ("mean", "mean")])
def test_the_old_keyword_normalize_still_works_and_says_its_new_name(old, new):
    """normalize= was network='s name until 2026-12 (True: "auto", False: "raw"): kept, with a FutureWarning."""
    with pytest.warns(FutureWarning, match="network="):
        ex = styletf.FeatureExtractor(["conv1_1"], backbone="random", normalize=old)
    assert ex.network == new
    with pytest.warns(FutureWarning, match="network="):
        r = styletf.synthesize(style=rng.random((1, 32, 32, 3)), style_layers=["conv1_1"], steps=1, backbone="random",
                               normalize=old, progress=False)
    assert r.settings["network"] == new
    with pytest.raises(InputError, match="network= only"):
        styletf.stylize(rng.random((32, 32, 3)), rng.random((32, 32, 3)), network="mean", normalize=old)
    assert vgg.default_content_layers("calibrated") == ("conv3_2",)


@pytest.mark.slow  # the whole reference set through the whole network, twice
@pytest.mark.parametrize("backbone", ["vgg16-hed", "random"])
def test_calibrated_filters_have_the_calibrated_rms_on_the_reference_set(backbone, raw_reference_stats):
    """Every usual filter's root-mean-square activation over the six catalog images (at NORM_SIZE
    px) and all positions is CALIBRATION["scale"] x its layer's gain, computed here in numpy from
    the raw network's responses (conftest); near-silent filters are scaled by their layer's median."""
    raw = raw_reference_stats(backbone)
    convs, keys = raw["convs"], raw["keys"]
    cal = styletf.FeatureExtractor(convs, backbone=backbone, network="calibrated")
    assert cal.network == "calibrated" and "calibrated" in cal.description
    cal_sq = {n: 0.0 for n in convs}
    for key in keys:
        fc = cal(styletf.load_image(key, normalize.NORM_SIZE))
        for n in convs:
            cal_sq[n] = cal_sq[n] + (fc[n].numpy().astype(np.float64) ** 2).mean(axis=(0, 1, 2))
    for n in convs:
        target = normalize.CALIBRATION["scale"] * normalize.CALIBRATION["gain"].get(n, 1.0)
        raw_rms, cal_rms = np.sqrt(raw["square"][n]), np.sqrt(cal_sq[n] / len(keys))
        median = np.median(raw_rms[raw_rms > 0])
        usual = raw_rms >= normalize.NORM_FLOOR * median
        assert usual.mean() > 0.5, (n, usual.mean())
        np.testing.assert_allclose(cal_rms[usual], target, rtol=1e-3, err_msg=n)
        np.testing.assert_allclose(cal_rms[~usual], target * raw_rms[~usual] / median, rtol=1e-3, atol=1e-6,
                                   err_msg=n)


def test_synthesize_takes_the_calibrations_content_layer_unless_told_otherwise():
    need_mirror()
    kw = dict(size=32, steps=1, backbone="vgg16-hed", progress=False)
    r = styletf.synthesize("neckarfront", "starry_night", network="auto", **kw)
    assert r.settings["network"] == "calibrated" and r.settings["content_layers"] == ["conv3_2"]
    r = styletf.synthesize("neckarfront", "starry_night", network="mean", **kw)
    assert r.settings["network"] == "mean" and r.settings["content_layers"] == ["conv4_2"]
    r = styletf.synthesize("neckarfront", "starry_night", network="auto", content_layers=["conv4_2"], **kw)
    assert r.settings["content_layers"] == ["conv4_2"]


@pytest.mark.parametrize("size, steps, sizes, per_stage", [
    (512, 100, [128, 256, 512], [200, 100, 100]),
    (256, 50, [64, 128, 256], [100, 50, 50]),
    (200, 10, [100, 200], [20, 10]),
    (128, 80, [64, 128], [160, 80]),
    (127, 80, [127], [80]),
    (48, 4, [48], [4]),
])
def test_stages_halve_down_to_64_px_three_at_most(size, steps, sizes, per_stage):
    assert schedule.stages(size, steps) == (sizes, per_stage)


@pytest.mark.slow  # three syntheses of 15 L-BFGS steps compared
def test_lbfgs_batch_runs_each_image_as_its_own_problem():
    """With L-BFGS a batch is optimised image by image: each comes out bitwise as it does alone
    (a joint L-BFGS would share one line search between the images)."""
    need_mirror()
    kw = dict(content="neckarfront", style="composition_vii", size=48, steps=15, optimizer="lbfgs",
              backbone="vgg16-hed", network="auto", progress=False)
    batch = styletf.synthesize(batch=2, seed=3, beta=[1e3, 1e5], **kw)
    for i, beta in enumerate([1e3, 1e5]):
        alone = styletf.synthesize(seed=3 + i, beta=beta, **kw)
        np.testing.assert_array_equal(batch.image.numpy()[i], alone.image.numpy()[0])
        np.testing.assert_array_equal(batch.history["total"][:, i], alone.history["total"][:, 0])


@pytest.mark.parametrize("damage", ["garbage", "empty", "truncated", "missing-layer", "wrong-shape", "object",
                                    "inf", "folder"])
def test_a_damaged_normalisation_cache_is_recomputed_with_one_warning(tmp_path, monkeypatch, damage):
    """The cache is ours to repair: anything wrong with it is reported in one line and the file is
    replaced by freshly computed statistics (here a stand-in computation, to keep the test fast)."""
    monkeypatch.setattr(normalize.data, "cache_dir", lambda: tmp_path / "images")
    widths = {n: b.shape[0] for n, (_, b) in backbones.conv_weights("random").items()}
    good = {kind: {n: np.full(w, 2.0, np.float32) for n, w in widths.items()} for kind in ("mean", "rms")}
    monkeypatch.setattr(normalize, "reference_stats", lambda net: good)
    normalize.cached_stats("random", "avg", lambda: None)  # written
    path = next((tmp_path / "normalization").glob("*.npz"))
    flat = {f"{k}/{n}": v for k, d in good.items() for n, v in d.items()}
    if damage == "garbage":
        path.write_bytes(b"not a zip file at all")
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[:200])
    elif damage in ("missing-layer", "wrong-shape", "object", "inf"):
        bad = dict(flat)
        if damage == "missing-layer":
            del bad["rms/conv3_2"]
        elif damage == "wrong-shape":
            bad["mean/conv1_1"] = np.ones(3, np.float32)
        elif damage == "object":
            bad["mean/conv2_1"] = np.array([None] * widths["conv2_1"], dtype=object)
        else:
            bad["rms/conv5_1"] = np.full(widths["conv5_1"], np.inf, np.float32)
        with open(path, "wb") as f:
            np.savez(f, **bad)
    else:
        path.unlink()
        path.mkdir()  # a folder in the file's place: recomputed, not written, said
    with pytest.warns(UserWarning) as caught:
        stats = normalize.cached_stats("random", "avg", lambda: None)
    assert len(caught) == 1 and str(path) in str(caught[0].message)
    assert "\n" not in str(caught[0].message)
    for kind in ("mean", "rms"):
        for n in widths:
            np.testing.assert_array_equal(stats[kind][n], good[kind][n])
    if damage != "folder":  # repaired on disk: read back without a warning
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            normalize.cached_stats("random", "avg", lambda: None)
