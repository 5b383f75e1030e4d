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


def test_the_paper_is_the_ground_floor():
    """styletf/paper/ imports nothing of the shell and no library beyond TensorFlow, Keras, NumPy
    and SciPy; the shell's method modules stand on it; a student reads the 2015 paper's modules in
    one sitting (issue 28), and each follow-up's module is short beside them."""
    graph, _ = structure.imports(PACKAGE)
    paper = {m for m in graph if m == "paper" or m.startswith("paper.")}
    assert {"paper.losses", "paper.network", "paper.normalize", "paper.objective", "paper.descent"} <= paper
    for m in paper:
        assert graph[m] <= paper, (m, graph[m] - paper)
    allowed = {"__future__", "dataclasses", "tensorflow", "keras", "numpy", "scipy"}
    follow_ups = {"guidance.py": 150}  # the authors' later papers, each a module of its own beside the 2015 one
    lines = 0
    for path in (PACKAGE / "paper").glob("*.py"):
        text = path.read_text()
        if path.name in follow_ups:
            assert len(text.splitlines()) <= follow_ups[path.name], path.name
        else:
            lines += len(text.splitlines())
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Import):
                assert {a.name.split(".")[0] for a in node.names} <= allowed, (path.name, ast.dump(node))
            elif isinstance(node, ast.ImportFrom) and not node.level:
                assert node.module.split(".")[0] in allowed, (path.name, node.module)
    assert lines <= 450, lines
    below = structure.below(graph)
    for shell in ("losses", "vgg", "normalize", "targets", "objective", "optimize", "lockstep", "synthesis"):
        assert below[shell] & paper, shell  # the method comes from the ground floor


def test_public_functions_have_docstrings_and_the_paper_names_its_equations():
    """Every public function and class says what it is; in styletf/paper/ each module names the
    paper's equations or sections it holds (the shell's docstrings need no ritual phrase)."""
    missing = []
    for name, path in structure.modules(PACKAGE).items():
        tree = ast.parse(path.read_text())
        nodes = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
        nodes += [m for c in tree.body if isinstance(c, ast.ClassDef) and not c.name.startswith("_")
                  for m in c.body if isinstance(m, ast.FunctionDef)]
        missing += [f"{name}.{node.name}" for node in nodes
                    if not node.name.startswith("_") and not ast.get_docstring(node)]
        if name.startswith("paper"):
            doc = ast.get_docstring(tree) or ""
            if not any(s in doc for s in ("eq.", "eqs.", "Methods", "paper")):
                missing.append(f"{name} (module)")
    assert missing == []


def test_the_papers_settings_are_the_ones_the_notebooks_and_presets_use():
    """styletf.paper.settings against what notebook 03 (Figure 2) and 04 (Figure 3) set by hand
    and full mode's preset: one source, no drift."""
    import json
    from styletf import config
    from styletf.paper.settings import hyper_parameters
    paper = hyper_parameters()

    def assigned(notebook, name):
        cells = json.loads((ROOT / "notebooks" / notebook).read_text())["cells"]
        for node in ast.walk(ast.parse("\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code"))):
            if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name for t in node.targets):
                return ast.literal_eval(node.value)
        raise AssertionError(f"{notebook} assigns no {name}")

    panels = assigned("03_style_transfer.ipynb", "PANELS")  # [(letter, painting, alpha/beta)]
    assert {letter: (key, ratio) for letter, key, ratio in panels} == paper["figure_2"]
    assert tuple(assigned("04_layers_and_ratios.ipynb", "RATIOS")) == paper["figure_3"]["alpha_beta"]
    assert tuple(assigned("04_layers_and_ratios.ipynb", "ROWS")) == paper["figure_3"]["rows"]
    assert config._PRESETS["full"]["size"] == paper["size"] == 512
    assert config._PRESETS["full"]["optimizer"] == paper["optimizer"] == "lbfgs"
