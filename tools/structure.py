"""The package's structure, drawn from its own code: modules and their sizes, the longest
functions, the import graph in layers, and one ``stylize`` call followed through it.

    python tools/structure.py                    # modules, functions, imports
    python tools/structure.py --trace            # also follow one `python -m styletf stylize`
    python tools/structure.py --trace --library  # ... or one `styletf.stylize(...)`
    python tools/structure.py --package DIR      # another copy of the package (e.g. an old one)

How the trace counts: every call from a function of one styletf module into a function of
another is an *entry*; each distinct (caller function, callee function) pair counts once, as a
reader following the code meets it once (a comprehension counts as the function that holds it).
An entry is a *climb back up* when the callee's module is not below the caller's in the import
graph (the caller's module does not import it at module level, directly or through others): a
callback into a higher module, or a module reached through a function-local import. The call:
a 64x48 photo and a 48 px painting, 3 Adam steps, backbone ``random`` (normalised, as the default
on ImageNet VGG19), run once untraced first so that caches are warm; the normalisation's
reference images come from ``$STYLETF_DATA_MIRROR``.
"""
from __future__ import annotations

import argparse
import ast
import os
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def modules(package: Path) -> dict[str, Path]:
    """{short module name: file}, e.g. {"vgg": .../styletf/vgg.py, "__init__": .../__init__.py}."""
    out = {}
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package).with_suffix("")
        parts = [p for p in rel.parts if p != "__init__"]
        out[".".join(parts) or "__init__"] = path
    return out


def _target(node: ast.ImportFrom | ast.Import, name: str, path: Path, names: set[str]) -> list[str]:
    """The styletf modules an import statement of module ``name`` (file ``path``) refers to."""
    if isinstance(node, ast.Import):
        stems = [a.name.partition(".")[2] or "__init__" for a in node.names if a.name.split(".")[0] == "styletf"]
        return [s for s in stems if s in names]
    if node.level:  # relative: the package that holds the module, then up one per extra dot
        package = [] if name == "__init__" else name.split(".")[: None if path.name == "__init__.py" else -1]
        base = package[: len(package) - (node.level - 1)]
    elif node.module and node.module.split(".")[0] == "styletf":
        base = []
        node = ast.ImportFrom(module=node.module.partition(".")[2] or None, names=node.names, level=1)
    else:
        return []
    stem = ".".join(base + ([node.module] if node.module else []))
    found = []
    for alias in node.names:  # `from . import data` names a module; `from .vgg import X` a name in one
        full = f"{stem}.{alias.name}" if stem else alias.name
        found.append(full if full in names else stem or "__init__")
    return [f for f in found if f in names]


def imports(package: Path):
    """({module: set of modules it imports at module level}, [(module, function, imported)])."""
    mods = modules(package)
    graph, local = {m: set() for m in mods}, []
    for name, path in mods.items():
        tree = ast.parse(path.read_text())
        in_functions = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for inner in ast.walk(node):
                    if isinstance(inner, (ast.Import, ast.ImportFrom)):
                        for t in _target(inner, name, path, set(mods)):
                            if t != name:
                                local.append((name, node.name, t))
                        in_functions.add(id(inner))
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)) and id(node) not in in_functions:
                graph[name] |= {t for t in _target(node, name, path, set(mods)) if t != name}
    return graph, sorted(set(local))


def below(graph) -> dict[str, set[str]]:
    """{module: every module it imports, directly or through others}."""
    out = {}
    for m in graph:
        seen, todo = set(), list(graph[m])
        while todo:
            n = todo.pop()
            if n not in seen:
                seen.add(n)
                todo += graph.get(n, ())
        out[m] = seen
    return out


def levels(graph) -> dict[str, int]:
    """0 for a module importing no other, else 1 + the highest level it imports (cycles: -1)."""
    out = {}

    def level(m, stack=()):
        if m in stack:
            return -1
        if m not in out:
            out[m] = 1 + max((level(n, stack + (m,)) for n in graph[m]), default=-1)
        return out[m]

    for m in graph:
        level(m)
    return out


def functions(package: Path):
    """[(lines, "module.function"), ...] for every function and method, longest first."""
    out = []
    for name, path in modules(package).items():
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                for f in node.body:
                    if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        f.parent_class = node.name
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                qual = f"{getattr(node, 'parent_class', '')}.{node.name}".lstrip(".")
                start = min([node.lineno] + [d.lineno for d in node.decorator_list])
                out.append((node.end_lineno - start + 1, f"{name}.{qual}"))
    return sorted(out, reverse=True)


def trace(package: Path, graph, library: bool = False) -> None:
    """Follow one command-line ``stylize`` (or, ``library``, one ``styletf.stylize``) through
    the package (see the module doc)."""
    import numpy as np
    from PIL import Image

    sys.path.insert(0, str(package.parent))
    os.environ.setdefault("STYLETF_CACHE", tempfile.mkdtemp())
    import styletf  # noqa: E402
    from styletf.__main__ import main  # noqa: E402

    assert Path(styletf.__file__).resolve().parent == package, (styletf.__file__, package)

    tmp = Path(tempfile.mkdtemp())
    rng = np.random.default_rng(0)
    Image.fromarray((rng.uniform(0, 1, (48, 64, 3)) * 255).astype(np.uint8)).save(tmp / "photo.png")
    Image.fromarray((rng.uniform(0, 1, (48, 48, 3)) * 255).astype(np.uint8)).save(tmp / "painting.png")
    argv = ["stylize", str(tmp / "photo.png"), str(tmp / "painting.png"), "-o", str(tmp / "out.png"),
            "--backbone", "random", "--size", "48", "--steps", "3", "--quiet"]
    if library:
        call, what = (lambda: styletf.stylize(str(tmp / "photo.png"), str(tmp / "painting.png"), size=48,
                                              steps=3, backbone="random", progress=False)), "styletf.stylize"
    else:
        call, what = (lambda: main(argv[:])), "python -m styletf stylize"
    call()  # once untraced: normalisation factors, weights and Keras warm-up are cached
    names = {str(p.resolve()): m for m, p in modules(package).items()}
    edges, order = set(), []

    def where(code) -> str:  # a comprehension is read as part of the function that holds it
        qualname = getattr(code, "co_qualname", code.co_name)  # Python 3.11+; the bare name before
        return re.sub(r"\.<locals>\.<(listcomp|dictcomp|setcomp|genexpr)>$", "", qualname)

    def profile(frame, event, arg):
        if event != "call":
            return
        callee = names.get(frame.f_code.co_filename)
        if callee is None:
            return
        caller = frame.f_back
        while caller is not None and caller.f_code.co_filename not in names:
            caller = caller.f_back
        if caller is None:
            return
        src = names[caller.f_code.co_filename]
        if src != callee:
            edge = (src, where(caller.f_code), callee, where(frame.f_code))
            if edge not in edges:
                edges.add(edge)
                order.append(edge)

    sys.setprofile(profile)
    try:
        call()
    finally:
        sys.setprofile(None)
    reach = below(graph)
    climbs = [e for e in order if e[2] not in reach.get(e[0], ())]
    entered = sorted({e[2] for e in order} | {e[0] for e in order})
    print(f"\ntrace of one `{what}`: "
          f"{len(entered)} modules entered ({', '.join(entered)}), {len(order)} entries, "
          f"{len(climbs)} climbs back up")
    doors = {(src, dst, g) for src, f, dst, g in order}
    print(f"  counted per calling module instead of function: {len(doors)} entries; "
          f"{len({(s, d) for s, d, g in doors})} module-to-module edges")
    for src, f, dst, g in order:
        mark = "  CLIMB" if (src, f, dst, g) in climbs else ""
        print(f"  {src}.{f} -> {dst}.{g}{mark}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--package", default=str(ROOT / "styletf"), help="the package folder")
    parser.add_argument("--trace", action="store_true", help="follow one `python -m styletf stylize`")
    parser.add_argument("--library", action="store_true", help="with --trace: one `styletf.stylize` instead")
    parser.add_argument("--functions", type=int, default=10, help="how many of the longest functions")
    args = parser.parse_args()
    package = Path(args.package).resolve()
    print("modules (lines):")
    for name, path in modules(package).items():
        print(f"  {name:<12} {len(path.read_text().splitlines()):4d}")
    print("longest functions (lines, decorators and docstring included):")
    for n, name in functions(package)[: args.functions]:
        print(f"  {n:4d}  {name}")
    graph, local = imports(package)
    lv = levels(graph)
    print("imports (module-level), by layer:")
    for m in sorted(graph, key=lambda m: (lv[m], m)):
        print(f"  {lv[m]:2d} {m:<12} -> {', '.join(sorted(graph[m])) or '-'}")
    print("function-local imports of styletf modules:", ", ".join(f"{m}.{f} -> {t}" for m, f, t in local) or "none")
    if args.trace:
        trace(package, graph, library=args.library)


if __name__ == "__main__":
    main()
