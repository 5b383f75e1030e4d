"""styletf.data: the catalog, the cache, the mirror, downloads and sha256 checks.

Downloads are tested against a throw-away HTTP server on 127.0.0.1 (conftest.http_root)."""
import hashlib
import json
import os
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
