"""Write the row of badges (Open in Colab, view on GitHub) into every notebook.

The badges and the Setup cell's Colab install URL are generated from one
setting, ``[tool.styletf] repository`` and ``branch`` in pyproject.toml, so they
never drift by hand. The row lives in the first cell between ``<!-- badges -->``
and ``<!-- /badges -->``; the README's table of notebooks (between
``<!-- notebooks -->`` and ``<!-- /notebooks -->``) is generated from the same
setting and the notebooks' titles.

    python tools/badges.py          # rewrite the rows
    python tools/badges.py --check  # exit 1 if any row is out of date (CI)
"""
import argparse
import re
import sys
import tomllib
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
MARK = re.compile(r"<!-- badges -->.*?<!-- /badges -->", re.S)
INSTALL = re.compile(r"git\+https://github\.com/[^\s\"'@]+?\.git(@[^\s\"']+)?")


def badge_row(notebook: Path, repository: str, branch: str) -> str:
    rel = notebook.relative_to(ROOT).as_posix()
    colab = f"https://colab.research.google.com/github/{repository}/blob/{branch}/{rel}"
    github = f"https://github.com/{repository}/blob/{branch}/{rel}"
    return ("<!-- badges -->\n"
            f"[![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)]({colab}) "
            f"[![View on GitHub](https://img.shields.io/badge/view%20on-GitHub-181717?logo=github)]({github})\n"
            "<!-- /badges -->")


TABLE = re.compile(r"<!-- notebooks -->.*?<!-- /notebooks -->", re.S)


def readme_table(notebooks, repository: str, branch: str) -> str:
    rows = ["<!-- notebooks -->", "| notebook | what it shows | open |", "|---|---|---|"]
    for path in notebooks:
        title = nbformat.read(path, as_version=4).cells[0].source.splitlines()[0].lstrip("# ")
        number, _, what = title.partition(" — ")
        rel = path.relative_to(ROOT).as_posix()
        colab = f"https://colab.research.google.com/github/{repository}/blob/{branch}/{rel}"
        rows.append(f"| [{number}]({rel}) | {what} | [![Open in Colab]"
                    f"(https://colab.research.google.com/assets/colab-badge.svg)]({colab}) |")
    return "\n".join(rows + ["<!-- /notebooks -->"])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="only report notebooks whose row is stale")
    args = p.parse_args()
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["styletf"]
    stale = []
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        cell = nb.cells[0]
        if cell.cell_type != "markdown" or not MARK.search(cell.source):
            print(f"{path.name}: first cell has no <!-- badges --> marker", file=sys.stderr)
            stale.append(path)
            continue
        url = f"git+https://github.com/{cfg['repository']}.git@{cfg['branch']}"
        changed = False
        for c in nb.cells:
            new = (MARK.sub(lambda _: badge_row(path, cfg["repository"], cfg["branch"]), c.source)
                   if c is cell else INSTALL.sub(url, c.source) if c.cell_type == "code" else c.source)
            if new != c.source:
                changed = True
                c.source = new
        if changed:
            stale.append(path)
            if not args.check:
                nbformat.write(nb, path)
    readme = ROOT / "README.md"
    text = readme.read_text()
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    new = TABLE.sub(lambda _: readme_table(notebooks, cfg["repository"], cfg["branch"]), text)
    if new != text:
        stale.append(readme)
        if not args.check:
            readme.write_text(new)
    if args.check and stale:
        print("badges out of date in: " + ", ".join(p.name for p in stale)
              + " (run: python tools/badges.py)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
