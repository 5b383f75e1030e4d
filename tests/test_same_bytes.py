"""The same bytes for the same command (README, "Reproducible"): under load, where the speed
choices are measured, and on fewer cores, where the threads split the sums otherwise."""
import json
import os
import shlex
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.slow  # real processes, started together


def _images(folder):
    rng = np.random.default_rng(3)
    y, x = np.mgrid[0:48, 0:64] / 64
    photo = np.stack([0.5 + 0.3 * np.sin(6 * x), 0.5 + 0.3 * np.cos(5 * y), 0.5 + 0.2 * np.sin(4 * (x + y))], -1)
    Image.fromarray((255 * photo).astype(np.uint8)).save(folder / "photo.png")
    Image.fromarray(rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)).save(folder / "painting.png")
    return str(folder / "photo.png"), str(folder / "painting.png")


def _own_threads():
    """This environment without a thread count (the test command's workers are given one each)."""
    return {k: v for k, v in os.environ.items() if k != "TF_NUM_INTRAOP_THREADS"}


def _stylize(folder, out, *options, prefix=(), env=None):
    photo, painting = _images(folder) if not (folder / "photo.png").exists() else (
        str(folder / "photo.png"), str(folder / "painting.png"))
    return subprocess.Popen([*prefix, sys.executable, "-m", "styletf", "stylize", photo, painting, "-o", str(out),
                             "--backbone", "random", "--size", "48", "--steps", "6", "--quiet", *options],
                            env=env or _own_threads(), stderr=subprocess.PIPE, text=True)


def test_identical_commands_started_together_make_identical_bytes(tmp_path):
    """Three commands at once on a machine where nothing was measured yet (an empty cache): each
    measures precision, XLA and the convolutions' route under the others' load, and all three
    must take the same choices (the first one kept: styletf.machine) and write the same picture."""
    env = dict(_own_threads(), STYLETF_CACHE=str(tmp_path / "cache"))
    runs = [_stylize(tmp_path, tmp_path / f"out{i}.png", "--precision", "auto", "--jit", "auto", env=env)
            for i in range(3)]
    for run in runs:
        assert run.wait(timeout=300) == 0, run.stderr.read()[-2000:]
    settings = [json.loads((tmp_path / f"out{i}.json").read_text())["settings"] for i in range(3)]
    assert len({(s["precision"], s["jit"], s["conv"]) for s in settings}) == 1, settings
    pictures = [(tmp_path / f"out{i}.png").read_bytes() for i in range(3)]
    assert pictures[0] == pictures[1] == pictures[2]


def test_a_run_on_one_core_replayed_from_its_sidecar_on_all_cores_makes_its_bytes(tmp_path):
    """taskset -c 0: one thread, the sums in another order (at 96 px and 20 steps the picture on one
    core and on two differed, measured on a 2-core EPYC). The sidecar records the threads and its
    command pins them (TF_NUM_INTRAOP_THREADS), so the replay on every core makes the same picture."""
    if shutil.which("taskset") is None or len(os.sched_getaffinity(0)) < 2:
        pytest.skip("needs taskset and at least two cores")
    first = tmp_path / "one_core.png"
    run = _stylize(tmp_path, first, "--precision", "float32", "--jit", "off", "--size", "96", "--steps", "20",
                   prefix=("taskset", "-c", str(min(os.sched_getaffinity(0)))))
    assert run.wait(timeout=300) == 0, run.stderr.read()[-2000:]
    meta = json.loads(first.with_suffix(".json").read_text())
    assert meta["settings"]["threads"] == 1 and " TF_NUM_INTRAOP_THREADS=1 " in meta["command"]
    again = tmp_path / "again.png"
    command = meta["command"].replace(shlex.quote(str(first)), shlex.quote(str(again)), 1)
    command = command.replace(" python ", f" {shlex.quote(sys.executable)} ", 1)
    out = subprocess.run(["bash", "-c", command + " --quiet"], capture_output=True, text=True, timeout=300,
                         env=_own_threads())
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(again.with_suffix(".json").read_text())["settings"]["threads"] == 1
    assert again.read_bytes() == first.read_bytes()
