"""The paper's images: a catalog with hashes, fetched at run time and cached.

The catalog (``catalog.json``, and its README with sources and licences) lives in
the repository's top-level ``data/`` folder, its one source; an installed package
carries a copy as ``styletf/_data/`` (pyproject.toml maps that data-only package to
``data/``). The image files are never part of the repository (one of them is not
public domain in the EU). ``fetch(key)`` returns a local path, trying in order:

1. the cache folder, sub-folder ``images`` of: ``$STYLETF_CACHE``; else, running
   from a checkout, ``data/cache`` (ignored by git); else the user's cache dir
   (``platformdirs.user_cache_dir("styletf")``);
2. a mirror folder, ``$STYLETF_DATA_MIRROR`` (a folder that holds the files
   under their catalog names; CI points it at ``../shared/images``);
3. the file's url (downloaded into the cache).

The sha256 of ``catalog.json`` is checked every time: a corrupt cached file is
fetched again, and a file that still does not match is an error that names the
key, the expected hash and what to do.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
import urllib.request
import warnings
from importlib import resources
from pathlib import Path

import platformdirs

from .errors import DataError, InputError, user_path

__all__ = ["catalog", "keys", "info", "fetch", "cache_dir", "sha256_of", "download", "fetched_sha256", "CHECKOUT_DATA"]

DOWNLOAD_TIMEOUT_S = 60

_REPO = Path(__file__).resolve().parents[1]
#: The repository's ``data/`` folder when styletf runs from a checkout (an editable
#: install included); None for an installed package.
CHECKOUT_DATA = (_REPO / "data" if (_REPO / "pyproject.toml").is_file()
                 and (_REPO / "data" / "catalog.json").is_file() else None)


def _load_catalog() -> dict[str, dict]:
    folder = CHECKOUT_DATA or resources.files("styletf").joinpath("_data")
    text = folder.joinpath("catalog.json").read_text(encoding="utf-8")
    return {entry["key"]: entry for entry in json.loads(text)["images"]}


_CATALOG = _load_catalog()


def catalog() -> dict[str, dict]:
    """All catalog entries by key (a copy): title, artist, year, url, sha256, licence, ...
    The images of Figures 1-3 (docs/method.md, "Images"); notebook 00 loads the first."""
    return {k: dict(v) for k, v in _CATALOG.items()}


def keys() -> list[str]:
    """The catalog keys, e.g. ``["neckarfront", "shipwreck_of_the_minotaur", ...]``: the images of
    Figures 1-3 (docs/method.md, "Images"), the reference set of the normalisation; notebook 00."""
    return list(_CATALOG)


def info(key: str) -> dict:
    """The catalog entry of one image (title, artist, year: the captions of Figure 2, notebook 03);
    an unknown key is an error listing the known ones."""
    if not isinstance(key, str) or key not in _CATALOG:
        raise InputError(f"unknown catalog image {key!r:.60}; known keys: {', '.join(_CATALOG)}")
    return dict(_CATALOG[key])


def cache_dir() -> Path:
    """Where fetched images live: ``$STYLETF_CACHE/images``; from a checkout ``data/cache/images``;
    else the user's cache dir (module doc). Not in the paper; notebook 00 fills it first."""
    root = os.environ.get("STYLETF_CACHE") or (
        CHECKOUT_DATA / "cache" if CHECKOUT_DATA else platformdirs.user_cache_dir("styletf"))
    root = user_path(root, "STYLETF_CACHE")
    if os.environ.get("STYLETF_CACHE") and root.exists() and not root.is_dir():
        raise InputError(f"STYLETF_CACHE={os.environ['STYLETF_CACHE']} is not a folder; point it at a "
                         f"folder (it is created if missing) or unset it")
    return root / "images"


def sha256_of(path: str | os.PathLike) -> str:
    """Hex sha256 of a file's bytes: how every image of Figures 1-3 is checked (docs/method.md, "Images";
    notebook 00 fetches the first)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _install(src_fileobj, dest: Path, expected: str, key: str, origin: str) -> Path:
    """Copy a stream into ``dest`` atomically, only if its sha256 is ``expected``."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=dest.name + ".", suffix=".tmp", dir=dest.parent)
    try:
        os.chmod(tmp, 0o644)
        h = hashlib.sha256()
        with os.fdopen(fd, "wb") as out:
            for block in iter(lambda: src_fileobj.read(1 << 20), b""):
                h.update(block)
                out.write(block)
        if h.hexdigest() != expected:
            raise DataError(
                f"{key}: the file from {origin} has sha256 {h.hexdigest()}, expected {expected}; "
                f"nothing was cached. The source changed or the transfer was corrupted: try again, "
                f"or put the right file into a folder named by STYLETF_DATA_MIRROR.")
        os.replace(tmp, dest)
        return dest
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def fetch(key: str) -> Path:
    """Local path of catalog image ``key``, checked against its sha256 (module doc): the images of
    Figures 1-3 (docs/method.md, "Images"); notebook 00 fetches the first."""
    entry = info(key)
    expected, name = entry["sha256"], entry["file"]
    cached = cache_dir() / name
    if cached.is_file():
        if sha256_of(cached) == expected:
            return cached
        warnings.warn(f"{key}: cached file {cached} is corrupt (sha256 mismatch); fetching it again")
        cached.unlink()

    mirror = os.environ.get("STYLETF_DATA_MIRROR")
    if mirror:
        candidate = user_path(mirror, "STYLETF_DATA_MIRROR") / name
        if candidate.is_file():
            if sha256_of(candidate) == expected:
                return candidate
            raise DataError(
                f"{key}: mirror file {candidate} has the wrong sha256 (expected {expected}); "
                f"replace it with the file from {entry['url']}, or unset STYLETF_DATA_MIRROR")

    try:
        request = urllib.request.Request(entry["url"], headers={"User-Agent": "styletf"})
        with urllib.request.urlopen(request, timeout=DOWNLOAD_TIMEOUT_S) as response:
            return _install(response, cached, expected, key, entry["url"])
    except DataError:
        raise
    except OSError as e:  # URLError, timeouts, HTTP errors are OSErrors
        where = f"mirror folder {mirror} has no {name}; " if mirror else ""
        raise DataError(
            f"{key}: cannot get {name} (sha256 {expected}): {where}download from {entry['url']} "
            f"failed ({e}). Connect to the internet, or set STYLETF_DATA_MIRROR to a folder holding "
            f"{name}, or copy the file to {cached}.") from None


#: {url: sha256 of the bytes downloaded}: a sidecar records what a URL held (``fetched_sha256``).
_FETCHED: dict = {}
#: {url: bytes} downloaded before they are read (``download(url, keep=True)``: the command's checks).
_DOWNLOADED: dict = {}


def download(url: str, keep: bool = False, taken: bool = False) -> bytes:
    """The bytes at an http(s) ``url`` (their sha256 kept for the sidecar), else one clear error;
    ``keep``: held for the next call with ``taken`` (``load_image``), so the command's check before the
    backbone loads costs no second download. Not in the paper (README, "Stylise your own photo")."""
    if taken and url in _DOWNLOADED:
        return _DOWNLOADED.pop(url)
    try:
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as r:
            body = r.read()
    except OSError as e:
        raise InputError(f"cannot download image {url} ({e}); check the address and the "
                         f"connection, or download it and pass the file's path") from None
    _FETCHED[url] = hashlib.sha256(body).hexdigest()
    if keep:
        _DOWNLOADED[url] = body
    return body


def fetched_sha256(url) -> str | None:
    """The sha256 of what ``url`` held when this process last downloaded it, or None. Not in the
    paper (the sidecar's ``inputs_sha256``, README, "Stylise your own photo")."""
    return _FETCHED.get(url)
