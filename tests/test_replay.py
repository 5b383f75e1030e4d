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


@pytest.mark.parametrize("edit, named", [
    (lambda m: m.update(inputs_sha256="abc"), "its inputs_sha256 is not {name: sha256}"),
    (lambda m: m["inputs_sha256"].update({next(iter(m["inputs_sha256"])): 5}), "its inputs_sha256 is not"),
    (lambda m: m.pop("inputs_sha256"), "its inputs_sha256 is missing"),
    (lambda m: m.update(input_files=["x"]), "its input_files is not {name: path}"),
    (lambda m: m.update(command=m["command"] + ' "'), "its command cannot be read (No closing quotation)"),
    (lambda m: m.update(command="python -m styletf stylize"), "its command is not a python -m styletf stylize"),
    (lambda m: m.update(command="python -m styletf replay x.json -o y.png"), "its command is not a python -m styletf stylize"),
    (lambda m: m.pop("backbone"), "its backbone is missing"),
])
def test_a_sidecar_edited_by_hand_is_one_line_not_a_traceback(made, capsys, edit, named):
    """A new user's edits that gave AttributeError, TypeError or ValueError tracebacks (exit 1)."""
    _, _, out = made
    meta = json.loads(out.with_suffix(".json").read_text())
    edit(meta)
    out.with_suffix(".json").write_text(json.dumps(meta))
    assert main(["replay", str(out.with_suffix(".json")), "-o", str(out.with_name("again.png"))]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and named in err[0], err
    assert not out.with_name("again.png").exists()


def test_an_input_by_url_is_recorded_and_a_changed_one_is_named(tmp_path, capsys):
    """The sidecar keeps the sha256 of what a URL held (it kept null: a replay of a changed image ran
    without a word); replay downloads it again and compares."""
    import functools
    import http.server
    import threading
    www = tmp_path / "www"
    www.mkdir()
    rng = np.random.default_rng(6)
    Image.fromarray(rng.integers(40, 220, (36, 48, 3), dtype=np.uint8)).save(www / "p.png")
    Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(tmp_path / "s.png")
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):  # no request lines on stderr
            pass

    handler = functools.partial(Quiet, directory=str(www))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/p.png"
        out = tmp_path / "out.png"
        assert main(["stylize", url, str(tmp_path / "s.png"), "-o", str(out), "--backbone", "random", "--size", "48",
                     "--steps", "2", "--precision", "float32", "--jit", "off", "--quiet"]) == 0
        assert json.loads(out.with_suffix(".json").read_text())["inputs_sha256"][url] == \
            hashlib.sha256((www / "p.png").read_bytes()).hexdigest()
        Image.open(www / "p.png").rotate(180).save(www / "p.png")
        assert main(["replay", str(out.with_suffix(".json")), "-o", str(tmp_path / "again.png")]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and f"input {url} changed since the run" in err[0], err
    finally:
        server.shutdown()
