"""Test settings: quick mode, images from the local mirror, a private cache."""
import http.server
import os
import threading
from pathlib import Path

import pytest

os.environ.setdefault("STYLETF_QUICK", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
_mirror = Path(__file__).resolve().parents[1].parent / "shared" / "images"
if "STYLETF_DATA_MIRROR" not in os.environ and _mirror.is_dir():
    os.environ["STYLETF_DATA_MIRROR"] = str(_mirror)


@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory):
    """Each test session fetches into its own cache folder, never the user's."""
    old = os.environ.get("STYLETF_CACHE")
    os.environ["STYLETF_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if old is None:
        os.environ.pop("STYLETF_CACHE", None)
    else:
        os.environ["STYLETF_CACHE"] = old


def need_mirror():
    if not os.environ.get("STYLETF_DATA_MIRROR"):
        pytest.skip("no STYLETF_DATA_MIRROR with the paper's images")


@pytest.fixture
def http_root(tmp_path):
    """A throw-away HTTP server on 127.0.0.1 serving tmp_path/www; yields (folder, base url)."""
    root = tmp_path / "www"
    root.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **k):
            super().__init__(*a, directory=str(root), **k)

        def log_message(self, *a):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(scope="session")
def raw_reference_stats():
    """``stats(backbone)``: the *raw* network's activations over the reference set (the catalog's
    images at NORM_SIZE px) as numpy float64, per conv layer: the mean and the mean square of each
    filter over all images and positions. Computed here, not by styletf, once per session (the
    reference of test_vgg's normalised and test_calibration's calibrated networks)."""
    import numpy as np

    import styletf
    from styletf import backbones, normalize

    computed = {}

    def stats(backbone):
        if backbone not in computed:
            need_mirror()
            arch = "vgg16" if backbone == "vgg16-hed" else "vgg19"
            convs = [n for n in backbones.layer_names(arch) if n.startswith("conv")]
            raw = styletf.FeatureExtractor(convs, backbone=backbone)
            mean, square = {n: 0.0 for n in convs}, {n: 0.0 for n in convs}
            keys = styletf.data.keys()
            for key in keys:
                features = raw(styletf.load_image(key, normalize.NORM_SIZE))
                for n in convs:
                    f = features[n].numpy().astype(np.float64)
                    mean[n] = mean[n] + f.mean(axis=(0, 1, 2)) / len(keys)
                    square[n] = square[n] + (f ** 2).mean(axis=(0, 1, 2)) / len(keys)
            computed[backbone] = {"convs": convs, "keys": keys, "mean": mean, "square": square}
        return computed[backbone]

    return stats
