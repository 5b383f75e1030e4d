"""styletf.data: the catalog, the cache, the mirror, downloads and sha256 checks.

Downloads are tested against a throw-away HTTP server on 127.0.0.1 (conftest.http_root)."""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from styletf import data
from styletf.errors import DataError

from conftest import need_mirror

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "images" / "catalog.json"
KEY = "composition_vii"


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("STYLETF_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache" / "images"


def test_catalog_has_the_facts_of_the_shared_catalog():
    if not SHARED.is_file():
        pytest.skip("no ../shared/images/catalog.json beside the repository")
    shared = {e["key"]: e for e in json.loads(SHARED.read_text())["images"]}
    ours = data.catalog()
    assert set(ours) == set(shared)
    for key, e in shared.items():
        for field in ("title", "artist", "year", "url", "sha256", "license", "file"):
            assert ours[key][field] == e[field], (key, field)


def test_fetch_from_mirror_checks_the_hash(cache):
    need_mirror()
    path = data.fetch(KEY)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == data.info(KEY)["sha256"]


def test_corrupt_cached_file_is_fetched_again(cache):
    need_mirror()
    cache.mkdir(parents=True)
    bad = cache / data.info(KEY)["file"]
    bad.write_bytes(b"corrupt")
    with pytest.warns(UserWarning, match="corrupt"):
        path = data.fetch(KEY)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == data.info(KEY)["sha256"]
    assert not bad.exists() or bad.read_bytes() != b"corrupt"


def test_wrong_mirror_file_is_a_clear_error(cache, tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / data.info(KEY)["file"]).write_bytes(b"not the painting")
    monkeypatch.setenv("STYLETF_DATA_MIRROR", str(mirror))
    with pytest.raises(DataError) as e:
        data.fetch(KEY)
    assert KEY in str(e.value) and data.info(KEY)["sha256"] in str(e.value)


def test_download_into_the_cache(cache, http_root, monkeypatch):
    need_mirror()
    root, base = http_root
    good = Path(os.environ["STYLETF_DATA_MIRROR"]) / data.info(KEY)["file"]
    (root / "k.jpg").write_bytes(good.read_bytes())
    monkeypatch.delenv("STYLETF_DATA_MIRROR")
    monkeypatch.setitem(data._CATALOG[KEY], "url", f"{base}/k.jpg")
    path = data.fetch(KEY)
    assert path.parent == cache and path.read_bytes() == good.read_bytes()


def test_download_with_wrong_hash_leaves_nothing_in_the_cache(cache, http_root, monkeypatch):
    root, base = http_root
    (root / "k.jpg").write_bytes(b"tampered bytes")
    monkeypatch.delenv("STYLETF_DATA_MIRROR", raising=False)
    monkeypatch.setitem(data._CATALOG[KEY], "url", f"{base}/k.jpg")
    with pytest.raises(DataError) as e:
        data.fetch(KEY)
    assert KEY in str(e.value) and data.info(KEY)["sha256"] in str(e.value)
    assert not cache.exists() or list(cache.iterdir()) == []


def test_no_way_to_get_the_file_says_what_to_do(cache, http_root, monkeypatch):
    _, base = http_root
    monkeypatch.delenv("STYLETF_DATA_MIRROR", raising=False)
    monkeypatch.setitem(data._CATALOG[KEY], "url", f"{base}/missing.jpg")  # 404
    with pytest.raises(DataError) as e:
        data.fetch(KEY)
    msg = str(e.value)
    assert KEY in msg and data.info(KEY)["sha256"] in msg and "STYLETF_DATA_MIRROR" in msg


def test_unknown_key_lists_the_known_ones():
    with pytest.raises(ValueError, match="neckarfront"):
        data.info("mona_lisa")


def test_from_a_checkout_the_cache_is_data_cache(monkeypatch):
    monkeypatch.delenv("STYLETF_CACHE", raising=False)
    root = Path(__file__).resolve().parents[1]
    assert data.CHECKOUT_DATA == root / "data"  # the tests run from a checkout
    assert data.cache_dir() == root / "data" / "cache" / "images"
    monkeypatch.setenv("STYLETF_CACHE", "/somewhere")  # still overrides
    assert data.cache_dir() == Path("/somewhere/images")


@pytest.mark.slow  # real processes: pip builds a wheel, a fresh Python imports it
def test_a_wheel_carries_the_catalog_and_an_install_finds_it(tmp_path):
    """What `pip install git+https://...` does (Colab): build a wheel, then import it from
    outside any checkout. The catalog is the top-level data/ folder's, its one source."""
    root = Path(__file__).resolve().parents[1]
    src = tmp_path / "src"  # a clean copy: the build leaves build/ and *.egg-info behind
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(root / name, src / name)
    shutil.copytree(root / "styletf", src / "styletf", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(root / "data", src / "data", ignore=shutil.ignore_patterns("cache"))
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "dist"),
                        str(src)], capture_output=True, text=True)
    if r.returncode and any(s in r.stdout + r.stderr for s in
                            ("No matching distribution", "Could not find a version", "NewConnectionError")):
        pytest.skip(f"cannot build a wheel here: pip cannot fetch the build backend ({r.stderr.strip()[-200:]})")
    assert r.returncode == 0, r.stderr[-2000:]
    wheel = next((tmp_path / "dist").glob("styletf-*.whl"))
    with zipfile.ZipFile(wheel) as z:
        assert z.read("styletf/_data/catalog.json") == (root / "data" / "catalog.json").read_bytes()
        assert "styletf/_data/README.md" in z.namelist()
        assert not any("cache" in n for n in z.namelist())
        z.extractall(tmp_path / "site")
    code = ("import sys; sys.path.insert(0, sys.argv[1]); from styletf import data; "
            "assert data.__file__.startswith(sys.argv[1]), data.__file__; "
            "print(data.CHECKOUT_DATA, len(data.keys()), data.cache_dir())")
    env = {k: v for k, v in os.environ.items() if k != "STYLETF_CACHE"}
    r = subprocess.run([sys.executable, "-c", code, str(tmp_path / "site")], capture_output=True, text=True,
                       cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    checkout, n, cache = r.stdout.split()
    assert checkout == "None" and int(n) == len(data.keys())  # installed: the catalog from the wheel
    assert not cache.startswith(str(root)) and cache.endswith("images")  # the user's cache dir
