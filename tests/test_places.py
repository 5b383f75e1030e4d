"""Output places (``styletf.places``): an output that cannot be replaced, or a file-size limit too low
for it, is refused before any work; an output folder that vanished during the run sends the picture
to a named spare place with exit 1; every input is checked before the backbone loads."""
import json
import os
import resource
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from styletf import InputError, controls, places
from styletf.__main__ import main

FAST = ["--backbone", "random", "--size", "48", "--steps", "2", "--coarse-to-fine", "none"]


@pytest.fixture
def inputs(tmp_path):
    rng = np.random.default_rng(0)
    for name in ("photo.png", "painting.png"):
        Image.fromarray(rng.integers(40, 220, (40, 48, 3), dtype=np.uint8)).save(tmp_path / name)
    return tmp_path / "photo.png", tmp_path / "painting.png"


def _chattr(flag: str, path: Path) -> None:
    try:
        subprocess.run(["chattr", flag, str(path)], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as e:
        pytest.skip(f"chattr {flag} is not available here: {e}")


@pytest.fixture
def marked(tmp_path):
    """Files marked with chattr flags, unmarked afterwards so that tmp_path can be removed."""
    done = []

    def mark(flag, path):
        _chattr("+" + flag, path)
        done.append((flag, path))
    yield mark
    for flag, path in done:
        subprocess.run(["chattr", "-" + flag, str(path)], capture_output=True)


@pytest.mark.parametrize("flag, words", [("i", "immutable (chattr +i)"), ("a", "append-only (chattr +a)")])
def test_an_output_that_cannot_be_replaced_is_refused_before_work(inputs, tmp_path, capsys, marked, flag, words):
    out = tmp_path / "out.png"
    out.write_bytes(b"an earlier picture")
    marked(flag, out)
    code = main(["stylize", *map(str, inputs), "-o", str(out), *FAST])
    captured = capsys.readouterr()
    assert code == 2 and words in captured.err and f"chattr -{flag}" in captured.err, captured.err
    assert len(captured.err.strip().splitlines()) == 1 and "backbone:" not in captured.out  # before any work
    assert out.read_bytes() == b"an earlier picture" and not out.with_suffix(".json").exists()


def test_a_marked_sidecar_is_refused_too(inputs, tmp_path, capsys, marked):
    out = tmp_path / "out.png"
    out.with_suffix(".json").write_text("{}")
    marked("i", out.with_suffix(".json"))
    assert main(["stylize", *map(str, inputs), "-o", str(out), *FAST]) == 2
    assert "out.json" in capsys.readouterr().err and not out.exists()


def test_a_file_size_limit_below_the_picture_is_refused_before_work(inputs, tmp_path, capsys):
    out = tmp_path / "out.png"
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (4000, hard))  # 48 x 40 px of noise: about 5.8 kB as PNG
    try:
        code = main(["stylize", *map(str, inputs), "-o", str(out), *FAST])
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    err = capsys.readouterr().err
    assert code == 2 and "ulimit -f" in err and "4000 bytes" in err and "out.png" in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["painting.png", "photo.png"]


def test_an_output_folder_removed_during_the_run_sends_the_picture_to_a_spare_place(inputs, tmp_path, capsys,
                                                                                      monkeypatch):
    folder, elsewhere = tmp_path / "results", tmp_path / "elsewhere"
    folder.mkdir(), elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    made = {}
    real = controls.stylize

    def then_remove_the_folder(*a, **k):
        made["result"] = real(*a, **k)
        shutil.rmtree(folder)  # as a user cleaning up during a long run would
        return made["result"]
    monkeypatch.setattr(controls, "stylize", then_remove_the_folder)
    code = main(["stylize", *map(str, inputs), "-o", str(folder / "out.png"), *FAST])
    err = capsys.readouterr().err.strip()
    assert code == 1 and len(err.splitlines()) == 1, err  # work done, not where asked: 1, not 2
    spare = [p for p in elsewhere.iterdir() if p.suffix == ".png"]
    assert len(spare) == 1 and spare[0].name.startswith("out.rescued-"), list(elsewhere.iterdir())
    assert f"could not write {folder / 'out.png'}" in err and f"went to {spare[0]}" in err, err
    written = np.asarray(Image.open(spare[0]).convert("RGB"))
    expected = np.round(np.clip(made["result"].image.numpy()[0], 0, 1) * 255)
    assert np.abs(written.astype(float) - expected).max() <= 1  # the run's own picture, kept
    assert json.loads(spare[0].with_suffix(".json").read_text())["status"] == "done"


def test_atomic_write_into_a_folder_that_takes_no_file_names_the_file_asked_for(tmp_path, marked):
    folder = tmp_path / "locked"
    folder.mkdir()
    marked("i", folder)
    with pytest.raises(OSError) as caught:
        places.atomic_write(folder / "figure.png", b"png bytes")
    assert caught.value.filename == str(folder / "figure.png")  # not the temporary file's name
    assert list(folder.iterdir()) == []


def test_spare_places_go_beside_first_then_the_current_folder(tmp_path, monkeypatch):
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    wanted = tmp_path / "results" / "out.png"
    wanted.parent.mkdir()
    first, second = places.spare_places(wanted)[:2]
    assert first.parent == wanted.parent and second.parent == here
    assert first.name.startswith("out.rescued-") and first.suffix == ".png" and first != wanted
    shutil.rmtree(wanted.parent)
    assert places.spare_places(wanted)[0].parent == here


@pytest.mark.parametrize("which, role", [("content", "content"), ("style2", "style 2"), ("init", "init")])
def test_every_input_is_checked_before_the_backbone_loads(inputs, tmp_path, capsys, which, role):
    photo, painting = map(str, inputs)
    missing = str(tmp_path / "no_such.png")
    args = {"content": [missing, painting, painting], "style2": [photo, painting, str(tmp_path)],
            "init": [photo, painting, painting, "--init", missing]}[which]
    code = main(["stylize", *args, "-o", str(tmp_path / "out.png"), *FAST])
    captured = capsys.readouterr()
    assert code == 2 and captured.err.startswith(f"error: {role}: "), captured.err
    assert "backbone:" not in captured.out and not (tmp_path / "out.png").exists()


@pytest.mark.skipif(not hasattr(os, "seteuid") or os.geteuid() != 0, reason="needs root to act as another user")
def test_the_sticky_folder_rule_matches_what_the_kernel_allows():
    """In a sticky folder (like /tmp) another user's file cannot be replaced, one's own can: the
    kernel's answer to a real rename, made as user nobody, is the reference the check must give."""
    folder = Path(tempfile.mkdtemp(dir="/tmp"))  # /tmp: nobody can reach it (pytest's folders are root's only)
    try:
        folder.chmod(0o1777)
        theirs, mine = folder / "theirs.png", folder / "mine.png"
        theirs.write_bytes(b"root's"), mine.write_bytes(b"nobody's")
        os.chown(mine, 65534, 65534)
        verdicts = {}
        os.setegid(65534), os.seteuid(65534)
        try:
            for target in (theirs, mine):
                fresh = folder / f"new-{target.name}"
                fresh.write_bytes(b"new")
                try:
                    places.check_replaceable(target)
                    ours = True
                except InputError as e:
                    ours, message = False, str(e)
                try:
                    os.replace(fresh, target)
                    kernel = True
                except PermissionError:
                    kernel = False
                verdicts[target.name] = (ours, kernel)
        finally:
            os.seteuid(0), os.setegid(0)
    finally:
        shutil.rmtree(folder)
    assert verdicts == {"theirs.png": (False, False), "mine.png": (True, True)}, verdicts
    assert "belongs to another user" in message and "sticky bit" in message


@pytest.mark.parametrize("which", ["url", "catalog"])
def test_a_url_or_catalog_image_that_cannot_be_had_is_refused_before_the_backbone_loads(inputs, tmp_path, capsys,
                                                                                       monkeypatch, which):
    """They were checked only when loaded, after the backbone ("backbone: ..." printed, seconds of work)."""
    photo, painting = map(str, inputs)
    if which == "url":
        style, words = "http://127.0.0.1:9/none.png", "error: style: cannot download image http://127.0.0.1:9/none.png"
    else:  # offline, nothing cached, no mirror
        monkeypatch.setenv("STYLETF_DATA_MIRROR", str(tmp_path / "no_mirror"))
        monkeypatch.setenv("STYLETF_CACHE", str(tmp_path / "empty_cache"))
        monkeypatch.setattr("styletf.data.DOWNLOAD_TIMEOUT_S", 1)
        monkeypatch.setattr("urllib.request.urlopen", lambda *a, **k: (_ for _ in ()).throw(OSError("offline")))
        style, words = "the_scream", "error: style: "
    code = main(["stylize", photo, style, "-o", str(tmp_path / "out.png"), *FAST])
    captured = capsys.readouterr()
    assert code == 2 and captured.err.startswith(words) and captured.err.count("\n") == 1, captured.err
    assert "backbone:" not in captured.out and not (tmp_path / "out.png").exists()
