"""The project around the library: presets, the README's promises, the main command,
the badge script, and a notebook that runs alone."""
import importlib.util
import json
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from unittest import mock

import numpy as np
import pytest

import styletf
from styletf import config
from styletf.__main__ import main

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_presets_and_overrides(monkeypatch):
    monkeypatch.setenv("STYLETF_QUICK", "1")
    monkeypatch.delenv("STYLETF_SIZE", raising=False)
    quick = config.preset()
    assert quick["mode"] == "quick" and quick["size"] == 128 and quick["optimizer"] == "lbfgs"
    assert quick["precision"] == "auto"  # measured at start-up: quick mode's only speed choice
    assert quick["sizes"] == [64, 128] and quick["stage_steps"] == [2 * quick["steps"], quick["steps"]]
    monkeypatch.setenv("STYLETF_QUICK", "0")
    assert config.preset() == {"mode": "full", "size": 512, "steps": 100, "optimizer": "lbfgs",
                               "precision": "float32", "sizes": [128, 256, 512], "stage_steps": [200, 100, 100]}
    monkeypatch.setenv("STYLETF_SIZE", "256")
    monkeypatch.setenv("STYLETF_STEPS", "50")
    assert config.preset()["sizes"] == [64, 128, 256] and config.preset()["stage_steps"] == [100, 50, 50]
    monkeypatch.setenv("STYLETF_STEPS", "-3")
    with pytest.raises(ValueError, match="STYLETF_STEPS"):
        config.preset()
    for value, quick in (("on", True), ("off", False), ("", False)):
        monkeypatch.setenv("STYLETF_QUICK", value)
        assert config.is_quick() is quick
    for value in ("maybe", "2", "y"):
        monkeypatch.setenv("STYLETF_QUICK", value)
        with pytest.raises(ValueError, match="STYLETF_QUICK"):
            config.is_quick()


def test_report_lists_the_deviations(capsys):
    text = config.report("vgg16-hed", size=128, network="calibrated", stage_sizes=[64, 128], steps=[160, 80],
                         content_layers=["conv3_2"], optimizer="adam")
    for deviation in ("stand-in", "calibrated", "conv3_2", "L-BFGS", "coarse to fine", "128 px"):
        assert deviation in text, deviation
    assert capsys.readouterr().out.strip() == text.strip()
    paper = config.report("vgg19", size=512, network="mean", content_layers=["conv4_2"])
    assert paper.strip().endswith("(none)")  # the paper's network, size, optimiser and layers
    bf16 = config.report("vgg19", size=512, network="mean", content_layers=["conv4_2"], precision="mixed_bfloat16")
    assert "float32 arithmetic" in bf16 and "mixed_bfloat16 convolutions" in bf16


def test_ci_runs_the_readme_commands():
    ci = (ROOT / ".ci" / "run").read_text()
    for section in ("Install", "Test"):
        command = re.search(rf"## {section}\n\n```bash\n(.+?)\n```", README).group(1)
        assert command in ci, (section, command)


def test_badges_and_readme_table_are_current():
    r = subprocess.run([sys.executable, "tools/badges.py", "--check"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        assert f"(notebooks/{nb.name})" in README  # every notebook has a row in the README table


def test_reproduce_names_an_unknown_selection_and_the_valid_ones(tmp_path, capsys):
    assert main(["reproduce", "--only", "99", "--out", str(tmp_path)]) == 2  # an exception would reach pytest
    err = capsys.readouterr().err
    assert "no notebook 99" in err and "00, 01, 02" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err


def test_reproduce_with_no_notebooks_is_a_clear_error(tmp_path, capsys):
    assert main(["reproduce", "--notebooks", str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "no notebooks found" in err and "Traceback" not in err


@pytest.mark.slow  # a 256 px picture, judged
def test_readme_quick_start_writes_a_stylised_png(tmp_path, monkeypatch, capsys):
    """The README's code as it stands, run in an empty folder (in this process: what it does is
    the library's work, not a process's start-up)."""
    code = re.search(r"## Quick start\n\n```python\n(.+?)\n```", README, re.S).group(1)
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md, Quick start", "exec"), {"__name__": "__main__"})
    printed = capsys.readouterr().out
    meta = json.loads((tmp_path / "neckarfront_starry_night.json").read_text())
    assert (tmp_path / "neckarfront_starry_night.png").stat().st_size > 1000
    from styletf.vgg import describe_backbone
    assert describe_backbone(meta["backbone"]) in printed  # the backbone used is reported
    assert all(math.isfinite(v) for v in meta["final_losses"].values())
    assert meta["steps_done"] == 400  # stylize's default: 64 px 200, 128 px 100, 256 px 100 iterations
    # and a person would see the Neckarfront in The Starry Night's colours (styletf.looks, notebook 03)
    from PIL import Image
    from styletf import looks
    image = np.asarray(Image.open(tmp_path / "neckarfront_starry_night.png").convert("RGB"))
    photo, painting = styletf.load_image("neckarfront", 256), styletf.load_image("starry_night", 256)
    assert looks.judge(image, photo, painting)["ok"], looks.judge(image, photo, painting)


@pytest.mark.slow  # a Jupyter kernel of its own
def test_a_notebook_runs_alone_in_an_empty_folder(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    from nbclient import NotebookClient
    src = ROOT / "notebooks" / "00_features_and_gram_matrices.ipynb"
    shutil.copy(src, tmp_path / src.name)
    nb = nbformat.read(tmp_path / src.name, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    assert any(p.suffix == ".png" for p in (tmp_path / "outputs").iterdir())


@pytest.mark.parametrize("extra", [[], ["--reference"], ["--precision", "mixed_float16"]])
def test_bench_prints_a_machine_readable_last_line(extra, capsys):
    assert main(["bench", "--size", "32", "--steps", "2", "--backbone", "random", *extra]) == 0
    out = capsys.readouterr().out
    last = out.strip().splitlines()[-1]
    assert re.fullmatch(r"ms_per_step=\d+\.\d+", last) and float(last.split("=")[1]) > 0
    assert ("tutorial" in out) == ("--reference" in extra)
    assert ("normalised" in out) == ("mixed_float16" in extra)  # float16 needs it (it refused before)


@pytest.mark.slow  # Jupyter kernels of their own
def test_reproduce_reports_a_failing_notebook_and_runs_the_rest(tmp_path, capsys):
    nbformat = pytest.importorskip("nbformat")
    from nbformat.v4 import new_code_cell, new_notebook
    src = tmp_path / "nbs"
    src.mkdir()
    for name, code in [("01_bad.ipynb", "assert 1 + 1 == 3, 'a check failed'"),
                       ("02_good.ipynb", "print('fine')")]:
        nb = new_notebook(cells=[new_code_cell(code)])
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, src / name)
    out = tmp_path / "out"
    with mock.patch.dict(os.environ):  # reproduce leaves its kernels' settings set, as a command may
        code = main(["reproduce", "--notebooks", str(src), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 1 and "01_bad.ipynb failed" in err and "a check failed" in err
    executed = nbformat.read(out / "02_good.ipynb", as_version=4)
    assert "fine" in executed.cells[0].outputs[0]["text"]  # the next notebook still ran
    assert (out / "01_bad.ipynb").is_file()


def test_the_code_cites_sections_and_equations_that_docs_method_has():
    method = (ROOT / "docs" / "method.md").read_text()
    sections = set(re.findall(r"^## (.+)$", method, re.M))
    equations = set(re.findall(r"^> \((\d)\)", method, re.M))
    cited, numbers = set(), set()
    for path in sorted((ROOT / "styletf").glob("*.py")):
        text = path.read_text()
        cited |= set(re.findall(r'docs/method\.md,? "([^"]+)"', text))
        numbers |= {n for group in re.findall(r"docs/method\.md,? eqs?\. ([\d–-]+)", text)
                    for n in re.findall(r"\d", group)}
    assert cited and cited <= sections, cited - sections
    assert numbers and numbers <= equations, numbers - equations
    assert not any("PAPER.md" in p.read_text() for p in (ROOT / "styletf").glob("*.py"))


def test_readme_shows_the_setup_cell_that_the_notebooks_have():
    spec = importlib.util.spec_from_file_location("badges", ROOT / "tools" / "badges.py")
    badges = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(badges)
    cell = badges.SETUP.format(url=badges.settings()["install"])
    shown = re.search(r"## Colab, and forks\n.*?```python\n(.+?)\n```", README, re.S).group(1)
    assert all(line.strip() in cell for line in shown.splitlines()), shown
    assert "PAPER.md" not in README and "(docs/method.md)" in README


@pytest.mark.slow  # a real process's start-up
def test_importing_styletf_prints_nothing_on_a_cpu_machine():
    """No "failed call to cuInit" or INFO lines on the first screen (issue 17); real problems still show."""
    r = subprocess.run([sys.executable, "-c", "import styletf, tensorflow as tf; print(int(tf.constant(2) * 2))"],
                       capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == "4"
    assert r.stderr.strip() == "", r.stderr
    from styletf.quiet import NOISE
    noise = ["I0000 00:00:1795553456.063856   20605 port.cc:153] oneDNN custom operations are on.",
             "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
             "E0000 00:00:1795553457.921180   20605 cuda_platform.cc:52] failed call to cuInit: INTERNAL",
             "To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow"]
    real = ["E0000 00:00:1.0   1 bfc_allocator.cc:1] Allocator ran out of memory trying to allocate 8.00GiB",
            "Traceback (most recent call last):", "ImportError: libstdc++.so.6: version not found"]
    assert all(NOISE.match(line) for line in noise) and not any(NOISE.match(line) for line in real)


@pytest.mark.slow  # a real process's first float16 operation
def test_mixed_float16_on_a_cpu_prints_no_onednn_line_and_other_lines_still_show():
    """oneDNN's "supports DT_HALF only on platforms with AVX-512" E-line (once a process, at the first
    float16 operation on a CPU without AVX512_FP16) is caught; any other line on descriptor 2 still shows."""
    code = ("import os, styletf, tensorflow as tf; from styletf import quiet\n"
            "styletf.FeatureExtractor(['conv1_1'], backbone='random', network='calibrated', precision='mixed_float16')"
            "(tf.zeros((1, 8, 8, 3)))\n"
            "with quiet._caught(quiet.HALF_NOISE): os.write(2, b'E0000 00:00:1.0 1 util.cc:1] another problem\\n')")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "DT_HALF" not in r.stderr and r.stderr.strip().splitlines() == ["E0000 00:00:1.0 1 util.cc:1] another problem"]
    from styletf.quiet import HALF_NOISE
    assert HALF_NOISE.match("E0000 00:00:1796425539.848547   25703 util.cc:131] oneDNN supports DT_HALF only on "
                            "platforms with AVX-512. Falling back to the default Eigen-based implementation if present.")


def test_output_folder_that_is_a_file_is_named(monkeypatch, tmp_path):
    from styletf import plotting
    from styletf.errors import InputError
    (tmp_path / "f").write_text("x")
    monkeypatch.setenv("STYLETF_OUTPUT", str(tmp_path / "f"))
    with pytest.raises(InputError, match="STYLETF_OUTPUT"):
        plotting.output_dir()
    monkeypatch.setenv("STYLETF_OUTPUT", str(tmp_path / "new" / "figures"))
    assert plotting.output_dir().is_dir()


def test_every_subpackage_is_installed():
    """pyproject lists styletf's packages by hand: a folder left out is missing from a wheel (as
    Colab installs styletf) while an editable install still finds it (issue 28's styletf.paper)."""
    import tomllib
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    folders = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "styletf").rglob("__init__.py")}
    assert folders <= listed, folders - listed
