"""A stop (Ctrl-C, SIGTERM, SIGHUP) that comes between the optimiser's steps - while a stage's result
is made, before the next stage starts, after the last step - keeps the finished picture: a new user
found 0.1-1 s windows where exit 130 came with nothing written. Here the real signal is sent to this
process at those moments (it is handled at the next bytecode, so the moment is exact)."""
import json
import os
import signal

import numpy as np
import pytest
from PIL import Image

from styletf import controls, synthesis
from styletf.__main__ import main

RUN = ["--backbone", "random", "--size", "48", "--precision", "float32", "--jit", "off", "--quiet", "--seed", "3"]


@pytest.fixture
def photo(tmp_path):
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (36, 48, 3), dtype=np.uint8)).save(tmp_path / "photo.png")
    Image.fromarray(rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)).save(tmp_path / "painting.png")
    return tmp_path


def _stop_when(monkeypatch, module, name, call=1, sig=signal.SIGTERM):
    """Send ``sig`` to this process as ``module.name`` is called for the ``call``-th time, before it runs."""
    original, calls = getattr(module, name), []

    def stopping(*args, **kwargs):
        calls.append(1)
        if len(calls) == call:
            os.kill(os.getpid(), sig)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, stopping)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_stop_after_the_last_step_keeps_the_whole_picture(photo, monkeypatch, capsys, sig):
    _stop_when(monkeypatch, controls, "_finished", sig=sig)  # the colour step, after every step is done
    out = photo / "out.png"
    code = main(["stylize", str(photo / "photo.png"), str(photo / "painting.png"), "-o", str(out), "--steps", "4",
                 "--coarse-to-fine", "none", *RUN])
    err = capsys.readouterr().err
    assert code == 130 and "Traceback" not in err, err
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["status"] == "interrupted" and meta["steps_done"] == 4 and Image.open(out).size == (48, 36)
    monkeypatch.undo()  # its command makes the same bytes, unstopped
    words = meta["command"].split()
    args = words[words.index("stylize"):]
    args[args.index("-o") + 1] = str(photo / "again.png")
    assert main(args) == 0 and (photo / "again.png").read_bytes() == out.read_bytes()


def test_a_stop_between_stages_keeps_the_finished_stage(photo, monkeypatch, capsys):
    _stop_when(monkeypatch, synthesis, "_result")  # the first stage's result being made
    out = photo / "out.png"
    code = main(["stylize", str(photo / "photo.png"), str(photo / "painting.png"), "-o", str(out),
                 "--coarse-to-fine", "32,48", "--steps", "3,3", *RUN])
    err = capsys.readouterr().err
    assert code == 130 and "Traceback" not in err, err
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["status"] == "interrupted" and meta["steps_done"] == 3  # the first stage, whole
    assert Image.open(out).size == (32, 24)


def test_a_stop_while_the_first_stage_is_set_up_writes_nothing(photo, monkeypatch, capsys):
    """Before any step there is no picture to keep: one line, exit 130, nothing written (as before)."""
    _stop_when(monkeypatch, synthesis, "initial_image")
    out = photo / "out.png"
    code = main(["stylize", str(photo / "photo.png"), str(photo / "painting.png"), "-o", str(out), "--steps", "3",
                 "--coarse-to-fine", "none", *RUN])
    err = capsys.readouterr().err
    assert code == 130 and err.strip() == "interrupted before the first step: nothing written", err
    assert not out.exists() and not out.with_suffix(".json").exists()


@pytest.mark.slow  # processes of their own: the variable is read as styletf loads
@pytest.mark.parametrize("name, value", [("TF_NUM_INTRAOP_THREADS", "-1"), ("TF_NUM_INTEROP_THREADS", "100000")])
def test_a_thread_count_tensorflow_cannot_take_is_one_line(tmp_path, name, value):
    """-1 aborted inside TensorFlow with a C++ stack (exit 134); 100000 hung making threads."""
    import subprocess
    import sys
    done = subprocess.run([sys.executable, "-m", "styletf", "stylize", "neckarfront", "starry_night", "-o",
                           str(tmp_path / "x.png")], capture_output=True, text=True, timeout=120,
                          env={**os.environ, name: value})
    assert done.returncode == 2 and done.stderr.strip().splitlines() == [
        f"error: {name}={value}: TensorFlow's threads must be a whole number from 1 to 1024 (unset: one per core); "
        f"set it so, or unset it"], done.stderr
