"""Write what every notebook takes from the repository's address: its row of badges (Open in
Colab, view on GitHub, the method), its Setup cell (how Colab installs styletf), and the links
to docs/method.md.

All of it is generated from one setting, ``[tool.styletf] repository`` and ``branch`` in
pyproject.toml, so it never drifts by hand; for a fork, change those two and run this script.

- The badge row lives in the first cell between ``<!-- badges -->`` and ``<!-- /badges -->``.
- The Setup cell is the code cell that starts with ``# Setup.``; it is written whole from
  ``SETUP`` below: in Colab (or wherever styletf is not installed) it pip-installs
  ``styletf @ git+https://github.com/<repository>.git@<branch>``;
  ``$STYLETF_INSTALL_URL`` replaces that URL (tools/colab_check.py: a local clone).
- Links to the method are absolute GitHub URLs (they work from a notebook opened alone in
  Colab), ``https://github.com/<repository>/blob/<branch>/docs/method.md#<section>``: their
  prefix is rewritten, and every ``#section`` must be a heading of docs/method.md.
- The README's table of notebooks (between ``<!-- notebooks -->`` and ``<!-- /notebooks -->``)
  comes from the same setting and the notebooks' titles.

    python tools/badges.py          # rewrite
    python tools/badges.py --check  # exit 1 if anything is out of date or a link is broken (CI)
"""
import argparse
import re
import sys
import tomllib
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
MARK = re.compile(r"<!-- badges -->.*?<!-- /badges -->", re.S)
TABLE = re.compile(r"<!-- notebooks -->.*?<!-- /notebooks -->", re.S)
METHOD = re.compile(r"https://github\.com/[\w.-]+/[\w.-]+/blob/[\w.-]+/docs/method\.md")
ANCHOR = re.compile(r"docs/method\.md#([\w-]+)")

SETUP = '''\
# Setup. In Colab (or wherever styletf is not installed yet): install styletf from its repository;
# Keras downloads ImageNet VGG19 there. In a checkout, install the project first (README:
# pip install -r requirements.txt -e .) and this cell does nothing. Written by tools/badges.py.
import importlib
import importlib.util
import os
import subprocess
import sys

STYLETF_URL = "{url}"
if importlib.util.find_spec("styletf") is None:
    url = os.environ.get("STYLETF_INSTALL_URL", STYLETF_URL)  # another source (tools/colab_check.py)
    print(f"installing styletf from {{url}}")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", f"styletf @ {{url}}"], check=True)
    importlib.invalidate_caches()'''


def settings() -> dict:
    """``[tool.styletf]`` of pyproject.toml, with the URLs made from it."""
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["styletf"]
    repo, branch = cfg["repository"], cfg["branch"]
    return {"repository": repo, "branch": branch,
            "install": f"git+https://github.com/{repo}.git@{branch}",
            "method": f"https://github.com/{repo}/blob/{branch}/docs/method.md"}


def badge_row(notebook: Path, cfg: dict) -> str:
    rel = notebook.relative_to(ROOT).as_posix()
    colab = f"https://colab.research.google.com/github/{cfg['repository']}/blob/{cfg['branch']}/{rel}"
    github = f"https://github.com/{cfg['repository']}/blob/{cfg['branch']}/{rel}"
    return ("<!-- badges -->\n"
            f"[![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)]({colab}) "
            f"[![View on GitHub](https://img.shields.io/badge/view%20on-GitHub-181717?logo=github)]({github}) "
            f"[![The method](https://img.shields.io/badge/the%20method-docs%2Fmethod.md-blue)]({cfg['method']})\n"
            "<!-- /badges -->")


def readme_table(notebooks, cfg: dict) -> str:
    rows = ["<!-- notebooks -->", "| notebook | what it shows | open |", "|---|---|---|"]
    for path in notebooks:
        title = nbformat.read(path, as_version=4).cells[0].source.splitlines()[0].lstrip("# ")
        number, _, what = title.partition(" — ")
        rel = path.relative_to(ROOT).as_posix()
        colab = f"https://colab.research.google.com/github/{cfg['repository']}/blob/{cfg['branch']}/{rel}"
        rows.append(f"| [{number}]({rel}) | {what} | [![Open in Colab]"
                    f"(https://colab.research.google.com/assets/colab-badge.svg)]({colab}) |")
    return "\n".join(rows + ["<!-- /notebooks -->"])


def method_sections() -> set:
    """GitHub's anchors of docs/method.md's headings: lower case, spaces to '-', no punctuation."""
    heads = re.findall(r"^#{1,6} (.+)$", (ROOT / "docs" / "method.md").read_text(), re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in heads}


def notebook_problems(path: Path, cfg: dict, write: bool) -> list:
    """What is stale or broken in one notebook (rewritten in place when ``write``)."""
    nb = nbformat.read(path, as_version=4)
    first = nb.cells[0]
    if first.cell_type != "markdown" or not MARK.search(first.source):
        return [f"{path.name}: first cell has no <!-- badges --> marker"]
    setups = [c for c in nb.cells if c.cell_type == "code" and c.source.startswith("# Setup.")]
    problems = [] if len(setups) == 1 else [f"{path.name}: needs one code cell starting with '# Setup.'"]
    changed = False
    for c in nb.cells:
        new = METHOD.sub(cfg["method"], c.source)
        new = MARK.sub(lambda _: badge_row(path, cfg), new) if c is first else new
        new = SETUP.format(url=cfg["install"]) if setups and c is setups[0] else new
        changed |= new != c.source
        c.source = new
    sections = method_sections()
    problems += [f"{path.name}: docs/method.md has no section #{a}"
                 for c in nb.cells for a in ANCHOR.findall(c.source) if a not in sections]
    if changed:
        problems.append(f"{path.name}: out of date")
        if write:
            nbformat.write(nb, path)
    return problems


def readme_problems(cfg: dict, write: bool) -> list:
    readme = ROOT / "README.md"
    text = readme.read_text()
    new = TABLE.sub(lambda _: readme_table(sorted((ROOT / "notebooks").glob("*.ipynb")), cfg), text)
    sections = method_sections()
    problems = [f"README.md: docs/method.md has no section #{a}" for a in ANCHOR.findall(new) if a not in sections]
    if "(docs/method.md" not in new:
        problems.append("README.md: no link to docs/method.md")
    if new != text:
        problems.append("README.md: notebook table out of date")
        if write:
            readme.write_text(new)
    return problems


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="only report what is stale or broken")
    args = p.parse_args()
    cfg = settings()
    problems = []
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        problems += notebook_problems(path, cfg, write=not args.check)
    problems += readme_problems(cfg, write=not args.check)
    stale = [m for m in problems if m.endswith("out of date")]
    broken = [m for m in problems if m not in stale]
    for message in broken + (stale if args.check else []):
        print(message, file=sys.stderr)
    if stale and args.check:
        print("run: python tools/badges.py", file=sys.stderr)
    return 1 if broken or (args.check and stale) else 0


if __name__ == "__main__":
    sys.exit(main())
