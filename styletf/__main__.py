"""Command line: ``python -m styletf reproduce`` re-executes the notebooks and collects the
figures; ``python -m styletf bench`` times a synthesis step (``styletf.benchmark``).

Exit status: 0 success, 2 bad usage or input (one line on stderr), 1 failure during the run.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from .errors import StyleTFError

REPO_NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def reproduce(args) -> int:
    """Execute every numbered notebook in order; write executed copies and figures to ``--out``."""
    try:
        import nbformat
        from nbclient import NotebookClient
        from nbclient.exceptions import CellExecutionError
    except ImportError:
        raise StyleTFError("reproduce needs nbclient: pip install nbclient ipykernel") from None
    from tqdm.auto import tqdm

    from .images import atomic_write

    nb_dir = Path(args.notebooks)
    notebooks = sorted(nb_dir.glob("[0-9][0-9]_*.ipynb"))
    if args.only:
        notebooks = [p for p in notebooks if p.name[:2] in args.only.split(",")]
    if not notebooks:
        raise StyleTFError(f"no notebooks found in {nb_dir}; run from a clone of the repository "
                           f"or pass --notebooks DIR")
    out = Path(args.out).resolve()
    (out / "figures").mkdir(parents=True, exist_ok=True)
    os.environ["STYLETF_OUTPUT"] = str(out / "figures")  # the kernels inherit the environment
    os.environ["MPLBACKEND"] = "Agg"
    if args.quick:
        os.environ["STYLETF_QUICK"] = "1"
    for key in ("size", "steps"):
        if getattr(args, key):
            os.environ[f"STYLETF_{key.upper()}"] = str(getattr(args, key))
    from . import config

    print(f"reproducing {len(notebooks)} notebooks in {config.mode_name()} mode "
          f"({config.preset()['size']} px, {config.preset()['steps']} steps) into {out}")
    start = time.perf_counter()
    failures = []
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        n_code = sum(c.cell_type == "code" for c in nb.cells)
        bar = tqdm(total=n_code, desc=path.stem, unit="cell")
        client = NotebookClient(nb, timeout=None, kernel_name="python3",
                                resources={"metadata": {"path": str(path.parent)}},
                                on_cell_executed=lambda **_: bar.update(1))
        failed = None
        try:
            client.execute()
        except CellExecutionError as e:
            failed = str(e).strip().splitlines()[-1]
        finally:
            bar.close()
            atomic_write(out / path.name, nbformat.writes(nb).encode())
        if failed:  # report, and go on with the next notebook: its figures may still be wanted
            failures.append(path.name)
            print(f"{path.name} failed: {failed}\n(the executed notebook, up to the failing cell, "
                  f"is in {out / path.name})", file=sys.stderr)
    figures = sorted((out / "figures").glob("*.png"))
    print(f"done in {time.perf_counter() - start:.0f} s: executed notebooks in {out}, "
          f"{len(figures)} figures in {out / 'figures'}")
    if failures:
        print(f"{len(failures)} notebook(s) failed: {', '.join(failures)}", file=sys.stderr)
        return 1
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m styletf", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser("reproduce", help="re-execute all notebooks (all figures) in full mode",
                         description="Execute every notebook in order and collect the figures.")
    rep.add_argument("--out", default="outputs/reproduce", help="output folder (default: %(default)s)")
    rep.add_argument("--quick", action="store_true", help="quick mode (STYLETF_QUICK=1): small and fast")
    rep.add_argument("--size", type=int, help="override the mode's image size (px, long side)")
    rep.add_argument("--steps", type=int, help="override the mode's number of steps")
    rep.add_argument("--only", help="comma-separated notebook numbers, e.g. 01,02")
    rep.add_argument("--notebooks", default=str(REPO_NOTEBOOKS), help="notebook folder (default: the repository's)")
    ben = sub.add_parser("bench", help="time a synthesis step (ours, or --reference: TF-tutorial style)",
                         description="Time one synthesis step; the last line is ms_per_step=<float>.")
    ben.add_argument("--size", type=int, default=256, help="long side in px (default: %(default)s)")
    ben.add_argument("--steps", type=int, default=10, help="timed steps, after one untimed (default: %(default)s)")
    ben.add_argument("--backbone", default="random", help="default: %(default)s (VGG19 architecture)")
    ben.add_argument("--precision", default="float32",
                     choices=["float32", "mixed_bfloat16", "mixed_float16", "auto"])
    ben.add_argument("--reference", action="store_true", help="time the TF tutorial's step instead of ours")
    args = parser.parse_args(argv)
    for key in ("size", "steps"):
        if getattr(args, key, None) is not None and getattr(args, key) < 1:
            parser.error(f"--{key} must be a positive whole number")
    try:
        if args.command == "bench":
            from .benchmark import run
            run(args.size, args.steps, args.backbone, args.precision, args.reference)
            return 0
        return reproduce(args)
    except StyleTFError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
