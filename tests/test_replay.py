"""``python -m styletf replay out.json``: the inputs and weights checked against the sidecar's
sha256 before the command runs (README, "Stylise your own photo")."""
import hashlib
import json
import re
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from styletf import backbones
from styletf.__main__ import main


@pytest.fixture
def made(tmp_path):
    """A stylize run in this process: (its photo, its painting, its PNG)."""
    rng = np.random.default_rng(4)
    photo, painting = tmp_path / "photo.png", tmp_path / "painting.png"
    Image.fromarray(rng.integers(40, 220, (36, 48, 3), dtype=np.uint8)).save(photo)
    Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(painting)
    out = tmp_path / "out.png"
    assert main(["stylize", str(photo), str(painting), "-o", str(out), "--backbone", "random", "--size", "48",
                 "--steps", "4", "--precision", "float32", "--jit", "off", "--quiet"]) == 0
    return photo, painting, out


def test_the_sidecar_records_what_replay_checks(made):
    photo, painting, out = made
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["input_files"] == {str(photo): str(photo.resolve()), str(painting): str(painting.resolve())}
    assert meta["inputs_sha256"][str(photo)] == hashlib.sha256(photo.read_bytes()).hexdigest()
    assert meta["weights"] == backbones.fingerprint("random")


@pytest.mark.parametrize("change, named", [
    (lambda photo: Image.fromarray(np.zeros((36, 48, 3), np.uint8)).save(photo), r"input .*photo\.png.* changed since the run"),
    (lambda photo: photo.unlink(), r"input .*photo\.png.* is gone"),
])
def test_a_changed_or_missing_input_is_named_and_nothing_runs(made, capsys, change, named):
    photo, _, out = made
    change(photo)
    again = out.with_name("again.png")
    assert main(["replay", str(out.with_suffix(".json")), "-o", str(again)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and re.search(named, err[0]), err
    assert not again.exists()


def test_changed_weights_are_named(made, capsys, monkeypatch):
    _, _, out = made
    monkeypatch.setattr("styletf.replay.fingerprint", lambda backbone: "vgg19-00000000000000000000")
    assert main(["replay", str(out.with_suffix(".json"))]) == 2
    assert "weights of backbone random changed since the run" in capsys.readouterr().err


@pytest.mark.parametrize("content, named", [(None, "not found"), ("{", "cannot be read as JSON"),
                                            ('{"settings": {}}', "holds no command")])
def test_a_bad_sidecar_is_one_line(tmp_path, capsys, content, named):
    path = tmp_path / "x.json"
    if content is not None:
        path.write_text(content)
    assert main(["replay", str(path)]) == 2
    assert named in capsys.readouterr().err


@pytest.mark.slow  # a real process (replay becomes the command, environment and all)
def test_unchanged_inputs_replay_to_the_same_bytes(made):
    _, _, out = made
    again = out.with_name("again.png")
    done = subprocess.run([sys.executable, "-m", "styletf", "replay", str(out.with_suffix(".json")), "-o", str(again),
                           "--quiet"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert again.read_bytes() == out.read_bytes()


@pytest.mark.slow  # a real process (replay becomes the command)
def test_a_replay_from_another_folder_writes_beside_its_sidecar(made, tmp_path, monkeypatch):
    """A run given ``-o out.png`` from its own folder, replayed from another without -o: the picture
    is remade beside the sidecar (it went into the folder replay ran from before)."""
    photo, painting, _ = made
    first, elsewhere = tmp_path / "first", tmp_path / "elsewhere"
    first.mkdir(), elsewhere.mkdir()
    monkeypatch.chdir(first)
    assert main(["stylize", str(photo), str(painting), "-o", "out.png", "--backbone", "random", "--size", "48",
                 "--steps", "3", "--precision", "float32", "--jit", "off", "--quiet"]) == 0
    made_bytes = (first / "out.png").read_bytes()
    (first / "out.png").unlink()
    done = subprocess.run([sys.executable, "-m", "styletf", "replay", str(first / "out.json"), "--quiet"],
                          cwd=elsewhere, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert list(elsewhere.iterdir()) == [] and (first / "out.png").read_bytes() == made_bytes
