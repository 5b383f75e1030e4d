"""The ImageNet VGG19 code path, run end to end offline (issue 14): a VGG19 weights file in Keras'
exact layout that holds the stand-in's weights (tools/make_vgg19_standin.py) computes the
stand-in's features; "auto", a path, normalisation and stylize take it; and every way a weights
file can be wrong gets one clear line, with the file left in place."""
import importlib.util
import inspect
import shutil
import warnings
from pathlib import Path

import keras
import numpy as np
import pytest

import styletf
from styletf import backbones, normalize, vgg, weightfiles
from styletf.backbones import StandInWarning, WeightsFileWarning
from styletf.errors import DataError

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("make_vgg19_standin", ROOT / "tools" / "make_vgg19_standin.py")
maker = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(maker)

SHARED = [n for n in backbones.layer_names("vgg16")]  # conv1_1 .. conv5_3 and pool1 .. pool5
rng = np.random.default_rng(14)


@pytest.fixture(scope="session")
def standin_vgg19(tmp_path_factory) -> Path:
    """The stand-in as a VGG19 file in Keras' layout, built once per session (never committed)."""
    return maker.write_keras_h5(tmp_path_factory.mktemp("fixture") / weightfiles.KERAS_FILE,
                                maker.standin_as_vgg19())


@pytest.fixture
def keras_home(tmp_path, monkeypatch):
    """An empty Keras cache ($KERAS_HOME) and no STYLETF_BACKBONE; returns the models folder."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.delenv("STYLETF_BACKBONE", raising=False)
    backbones._downloaded.cache_clear()
    models = tmp_path / "keras" / "models"
    models.mkdir(parents=True)
    return models


@pytest.fixture
def offline(monkeypatch):
    """Keras' download fails as it does without network."""
    def fail(*args, **kwargs):
        raise Exception("URL fetch failure on https://storage.googleapis.com/...: None -- no network")
    monkeypatch.setattr(keras.utils, "get_file", fail)


def one_line(error) -> str:
    text = str(error.value if hasattr(error, "value") else error)
    assert len(text.splitlines()) == 1, text
    return text


def test_the_keras_constants_are_the_installed_keras_ones():
    source = inspect.getsource(importlib.import_module("keras.src.applications.vgg19"))
    assert weightfiles.KERAS_URL.split("/")[-1] in source and "keras-applications/" in source
    for md5 in weightfiles.KERAS_MD5.values():
        assert f'file_hash="{md5}"' in source


def test_the_fixture_computes_the_standins_features(standin_vgg19):
    x = rng.random((2, 48, 64, 3)).astype(np.float32)
    ours = styletf.FeatureExtractor(SHARED + ["conv3_4", "conv4_4", "conv5_4"], backbone=str(standin_vgg19))(x)
    ref = styletf.FeatureExtractor(SHARED, backbone="vgg16-hed")(x)
    for name in SHARED:
        scale = float(np.abs(ref[name]).max())
        np.testing.assert_allclose(ours[name], ref[name], rtol=1e-4, atol=1e-5 * scale, err_msg=name)
    for block in (3, 4, 5):  # the identity convs return their input
        np.testing.assert_allclose(ours[f"conv{block}_4"], ours[f"conv{block}_3"], rtol=1e-5, atol=1e-6)


def test_auto_takes_the_cached_file_and_says_it_is_not_keras_own(standin_vgg19, keras_home):
    cached = shutil.copy(standin_vgg19, keras_home / weightfiles.KERAS_FILE)
    with pytest.warns(WeightsFileWarning, match="not Keras' published ImageNet VGG19 file") as record:
        assert backbones.resolve_backbone("auto") == str(cached)
    assert not any(issubclass(w.category, StandInWarning) for w in record)
    one_line(record[0].message)
    with pytest.warns(WeightsFileWarning):
        assert backbones.resolve_backbone("vgg19") == str(cached)
    ex = styletf.FeatureExtractor(["conv5_4"], backbone=str(cached))
    assert not ex.is_paper_network and not ex.is_standin and "md5 differs" in ex.description
    assert Path(cached).stat().st_size == standin_vgg19.stat().st_size  # untouched


def test_a_file_with_keras_md5_is_the_paper_network(standin_vgg19, keras_home, monkeypatch):
    cached = shutil.copy(standin_vgg19, keras_home / weightfiles.KERAS_FILE)
    monkeypatch.setitem(weightfiles.KERAS_MD5, weightfiles.KERAS_FILE, weightfiles.file_md5(cached))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert backbones.resolve_backbone("auto") == "vgg19"
        assert backbones.resolve_backbone("vgg19") == "vgg19"
    assert backbones.is_paper_network("vgg19") and backbones.is_paper_network(str(cached))
    assert backbones.describe_backbone(str(cached)).startswith("ImageNet VGG19 (the paper's network)")
    np.testing.assert_array_equal(backbones.conv_weights("vgg19")["conv5_4"][0],
                                  backbones.conv_weights(str(standin_vgg19))["conv5_4"][0])
    assert not backbones.is_paper_network("vgg16-hed") and not backbones.is_paper_network("random")


def _truncated(src: Path, dst: Path) -> Path:
    dst.write_bytes(src.read_bytes()[: src.stat().st_size // 3])
    return dst


@pytest.mark.parametrize("case", ["truncated", "not hdf5", "vgg16 in keras layout", "another network"])
def test_a_bad_file_is_one_line_that_says_what_to_do(case, standin_vgg19, tmp_path):
    path = tmp_path / "weights.h5"
    if case == "truncated":
        _truncated(standin_vgg19, path)
    elif case == "not hdf5":
        path.write_bytes(b"<html>403 Forbidden</html>" * 40)
    elif case == "vgg16 in keras layout":
        maker.write_keras_h5(path, backbones.conv_weights("vgg16-hed"), arch="vgg16")
    else:
        path = backbones.standin_weights_path()  # HED: a Keras 3 weights file of another network
    size = path.stat().st_size
    with pytest.raises(DataError) as e:
        styletf.FeatureExtractor(["conv1_1"], backbone=str(path))
    text = one_line(e)
    expected = {"truncated": "truncated: ", "not hdf5": "not an HDF5 weights file",
                "vgg16 in keras layout": "13 3x3 conv kernels, VGG19 has 16",
                "another network": "not a VGG19 weights file"}[case]
    assert text.startswith(f"{path}: ") and expected in text and "pass the path of a complete" in text
    assert path.stat().st_size == size  # never deleted, never changed


def test_a_truncated_cached_file_is_kept_and_explained(standin_vgg19, keras_home, offline):
    cached = _truncated(standin_vgg19, keras_home / weightfiles.KERAS_FILE)
    size = cached.stat().st_size
    with pytest.raises(DataError) as e:
        backbones.resolve_backbone("vgg19")
    text = one_line(e)
    assert str(cached) in text and "truncated" in text and "delete it and run again with internet" in text
    with warnings.catch_warnings(record=True) as record:  # auto: said in one line, then the stand-in
        warnings.simplefilter("always")
        assert backbones.resolve_backbone("auto") == "vgg16-hed"
    said = {w.category: str(w.message) for w in record}
    assert "truncated" in one_line(said[WeightsFileWarning]) and StandInWarning in said
    assert cached.stat().st_size == size


def test_no_file_and_no_network_is_one_line(keras_home, offline):
    with pytest.raises(DataError) as e:
        backbones.conv_weights("vgg19")
    text = one_line(e)
    assert "cannot download ImageNet VGG19" in text and str(keras_home) in text and "pass its path" in text
    with pytest.warns(StandInWarning):
        assert backbones.resolve_backbone("auto") == "vgg16-hed"


def test_a_download_that_fails_the_md5_check_says_so(keras_home, monkeypatch):
    def corrupt(*args, **kwargs):
        raise ValueError("Incomplete or corrupted file detected. The md5 file hash does not match ...")
    monkeypatch.setattr(keras.utils, "get_file", corrupt)
    with pytest.raises(DataError) as e:
        weightfiles.download()
    assert "md5" in one_line(e) and "delete it and run again" in str(e.value)


def test_the_command_line_says_it_in_one_line(standin_vgg19, keras_home, offline, tmp_path, capsys):
    from styletf.cli import main
    cached = _truncated(standin_vgg19, keras_home / weightfiles.KERAS_FILE)
    out = tmp_path / "out.png"
    assert main(["stylize", "neckarfront", "starry_night", "-o", str(out), "--backbone", "vgg19",
                 "--size", "32", "--steps", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {cached}: truncated") and len(err.splitlines()) == 1
    assert cached.is_file() and not out.exists()


def test_fingerprints_follow_the_weights_not_the_name(standin_vgg19, tmp_path, monkeypatch):
    copy = shutil.copy(standin_vgg19, tmp_path / "renamed.h5")
    assert backbones.fingerprint(str(copy)) == backbones.fingerprint(str(standin_vgg19))
    assert backbones.fingerprint("random") != backbones.fingerprint("random:1")
    weights = dict(maker.standin_as_vgg19())
    weights["conv1_1"] = (weights["conv1_1"][0] * 2, weights["conv1_1"][1])
    path = tmp_path / "same_name.h5"
    maker.write_keras_h5(path, maker.standin_as_vgg19())
    monkeypatch.setattr(normalize.data, "cache_dir", lambda: tmp_path / "cache" / "images")
    def fake_stats(value):  # valid statistics for every conv layer of the file's weights
        widths = {n: b.shape[0] for n, (_, b) in backbones.conv_weights(str(path)).items()}
        return lambda net: {kind: {n: np.full(w, value, np.float32) for n, w in widths.items()}
                            for kind in ("mean", "rms")}

    monkeypatch.setattr(normalize, "reference_stats", fake_stats(1))
    first = normalize.cached_stats(str(path), "avg", lambda: None)["mean"]
    maker.write_keras_h5(path, weights)  # other weights under the same name
    monkeypatch.setattr(normalize, "reference_stats", fake_stats(2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a valid cache of the first weights is not "damaged": no warning
        second = normalize.cached_stats(str(path), "avg", lambda: None)["mean"]
    assert first["conv1_1"][0] == 1 and second["conv1_1"][0] == 2  # not the stale factors


@pytest.mark.slow  # the whole reference set through the whole network (the file's statistics)
def test_normalisation_and_stylize_run_on_the_vgg19_path(standin_vgg19):
    from conftest import need_mirror
    need_mirror()
    path = str(standin_vgg19)
    ours, ref = vgg.normalization_factors(path), vgg.normalization_factors("vgg16-hed")
    for name in ref:  # the same features give the same factors
        np.testing.assert_allclose(ours[name], ref[name], rtol=1e-3, err_msg=name)
    np.testing.assert_allclose(ours["conv4_4"], ours["conv4_3"], rtol=1e-3)
    result = styletf.stylize("neckarfront", "starry_night", size=32, steps=2, backbone=path, progress=False)
    assert result.backbone == path and "md5 differs" in result.backbone_description
    assert np.all(np.isfinite(result.image.numpy()))


def test_the_command_line_warns_in_one_line_and_uses_the_file(standin_vgg19, keras_home, tmp_path, capsys):
    from conftest import need_mirror
    from styletf.cli import main
    need_mirror()
    cached = shutil.copy(standin_vgg19, keras_home / weightfiles.KERAS_FILE)
    out = tmp_path / "out.png"
    assert main(["stylize", "neckarfront", "starry_night", "-o", str(out), "--backbone", "vgg19",
                 "--size", "32", "--steps", "1"]) == 0
    captured = capsys.readouterr()
    said = [line for line in captured.err.splitlines() if "warning" in line.lower()]  # (the rest: progress)
    assert len(said) == 1 and said[0].startswith(f"warning: {cached} is not Keras' published"), said
    assert "md5 differs" in captured.out and out.is_file() and Path(cached).is_file()
