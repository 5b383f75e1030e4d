"""The package's shape (issue 16): layers that only import downwards, short modules and
functions, and docstrings that say where each public piece comes from in the paper and
which notebook introduces it. Drawn from the code itself by tools/structure.py."""
import ast
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "styletf"
_spec = importlib.util.spec_from_file_location("structure", ROOT / "tools" / "structure.py")
structure = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(structure)


def test_imports_form_layers_without_cycles_or_local_imports():
    graph, local = structure.imports(PACKAGE)
    levels = structure.levels(graph)
    assert all(level >= 0 for level in levels.values()), levels  # -1: a cycle
    assert local == []  # no function-local import of a styletf module dodges a cycle
    # the core never reaches up to the command line or the beyond-the-paper controls
    below = structure.below(graph)
    for core in ("losses", "vgg", "targets", "objective", "optimize", "synthesis"):
        assert not below[core] & {"cli", "controls", "color", "preflight", "reproduce", "plotting"}, core


def test_modules_and_functions_are_short():
    for name, path in structure.modules(PACKAGE).items():
        assert len(path.read_text().splitlines()) <= 300, name
    long = [(n, f) for n, f in structure.functions(PACKAGE) if n > 60]
    assert long == []


def test_public_functions_name_the_paper_and_a_notebook():
    missing = []
    for name, path in structure.modules(PACKAGE).items():
        tree = ast.parse(path.read_text())
        nodes = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
        nodes += [m for c in tree.body if isinstance(c, ast.ClassDef) and not c.name.startswith("_")
                  for m in c.body if isinstance(m, ast.FunctionDef)]
        for node in nodes:
            if node.name.startswith("_"):
                continue
            doc = ast.get_docstring(node) or ""
            if "notebook" not in doc.lower() or not any(s in doc for s in ("docs/method.md", "eq.", "Figure", "paper")):
                missing.append(f"{name}.{node.name}")
    assert missing == []
