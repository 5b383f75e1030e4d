"""The paper's images: a catalog with hashes, fetched at run time and cached.

The image files are never part of this repository (one of them is not public
domain in the EU). ``fetch(key)`` returns a local path, trying in order:

1. the cache folder: ``$STYLETF_CACHE`` or the user's cache dir
   (``platformdirs.user_cache_dir("styletf")``), sub-folder ``images``;
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

from ..errors import DataError, InputError

__all__ = ["catalog", "keys", "info", "fetch", "cache_dir", "sha256_of"]

DOWNLOAD_TIMEOUT_S = 60


def _load_catalog() -> dict[str, dict]:
    text = resources.files(__package__).joinpath("catalog.json").read_text(encoding="utf-8")
    return {entry["key"]: entry for entry in json.loads(text)["images"]}


_CATALOG = _load_catalog()


def catalog() -> dict[str, dict]:
    """All catalog entries by key (a copy): title, artist, year, url, sha256, licence, ..."""
    return {k: dict(v) for k, v in _CATALOG.items()}


def keys() -> list[str]:
    """The catalog keys, e.g. ``["neckarfront", "shipwreck_of_the_minotaur", ...]``."""
    return list(_CATALOG)


def info(key: str) -> dict:
    """The catalog entry of one image; an unknown key is an error listing the known ones."""
    try:
        return dict(_CATALOG[key])
    except KeyError:
        raise InputError(f"unknown catalog image {key!r}; known keys: {', '.join(_CATALOG)}") from None


def cache_dir() -> Path:
    """Where fetched images live: ``$STYLETF_CACHE/images`` or the user's cache dir."""
    root = os.environ.get("STYLETF_CACHE") or platformdirs.user_cache_dir("styletf")
    return Path(root).expanduser() / "images"


def sha256_of(path: str | os.PathLike) -> str:
    """Hex sha256 of a file's bytes."""
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
    """Local path of catalog image ``key``, checked against its sha256 (see module doc)."""
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
        candidate = Path(mirror).expanduser() / name
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

