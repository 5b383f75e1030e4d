"""``python -m styletf reproduce``: execute every notebook in order and collect the figures
(Figures 1-3 of the paper and the rest: notebooks 00-05; README, "Reproduce all figures").
"""
from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

from tqdm.auto import tqdm

from . import backbones, config, interrupts
from .errors import InputError, StyleTFError, user_path
from .images import atomic_write

__all__ = ["reproduce", "REPO_NOTEBOOKS"]

REPO_NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def _execute(path: Path, out: Path) -> str | None:
    """Run one notebook, write the executed copy into ``out``; the failing check, or None. Ctrl-C
    or SIGTERM (a KeyboardInterrupt here) stops the kernel, keeps the copy up to that cell and
    the figures finished, and is raised again."""
    import nbformat  # the notebook tools are needed by this command only
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    from jupyter_client import KernelManager

    nb = nbformat.read(path, as_version=4)
    bar = tqdm(total=sum(c.cell_type == "code" for c in nb.cells), desc=path.stem, unit="cell")
    outcome = {}
    with tempfile.TemporaryDirectory() as sockets:
        # Local sockets, not TCP ports: no "Address already in use" from a kernel's heartbeat.
        km = KernelManager(kernel_name="python3", transport="ipc", ip=os.path.join(sockets, "kernel"))
        client = NotebookClient(nb, km=km, timeout=None, kernel_name="python3",
                                resources={"metadata": {"path": str(path.parent)}},
                                on_cell_executed=lambda **_: bar.update(1))

        def run():  # in a thread of its own, so nbclient's own SIGINT/SIGTERM handlers stay out of ours
            try:
                client.execute()
            except CellExecutionError as e:
                outcome["failed"] = str(e).strip().splitlines()[-1]
            except Exception as e:  # noqa: BLE001 - raised below (a kernel that died when stopped: not)
                outcome["error"] = e
            finally:
                with contextlib.suppress(Exception):  # noqa: BLE001 - a kernel already gone
                    if km.has_kernel:
                        km.shutdown_kernel(now=True)

        worker = threading.Thread(target=run, name=f"notebook {path.name}", daemon=True)
        worker.start()
        try:
            while worker.is_alive():
                worker.join(0.1)
                if _died(km) and (worker.join(5) or worker.is_alive()):  # nbclient waits for it for good
                    outcome["failed"] = "its kernel died (out of memory, or killed); the figures before it are kept"
                    break
        except KeyboardInterrupt:
            _quiet_teardown(client)  # before the kernel goes: nbclient's tasks then meet a dead kernel
            _kill(km)  # the kernel, in a session of its own (jupyter_client), saw no signal
            worker.join(60)
            raise
        finally:
            bar.close()
            _remove_leftovers(out / "figures")
            atomic_write(out / path.name, nbformat.writes(nb).encode())
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("failed")


def _quiet_teardown(client) -> None:
    """After a stop, nothing more from nbclient: its kernel-alive poll, a task nobody awaits, meets
    the killed kernel (or the client already torn down) and its error reached stderr through
    asyncio's logger as a traceback after our one line (seen under load in the test command)."""
    logging.getLogger("asyncio").setLevel(logging.CRITICAL + 1)
    client.log.setLevel(logging.CRITICAL + 1)  # "Kernel died while waiting for execute reply."


def _died(km) -> bool:
    """Whether the kernel's process has ended (killed from outside: the system's out-of-memory killer,
    kill -9); nbclient without a cell timeout would wait for its reply for good."""
    process = getattr(getattr(km, "provisioner", None), "process", None)
    return process is not None and process.poll() is not None


def _kill(km) -> None:
    """Stop a running kernel's process group at once: what it finished is on disk."""
    with contextlib.suppress(OSError, AttributeError, TypeError):
        os.killpg(km.provisioner.process.pid, signal.SIGKILL)


def _remove_leftovers(figures: Path) -> None:
    """Remove the temporary files of figures whose writing a stopped kernel cut short
    (``atomic_write``'s ``.name.*.tmp``): the finished figures stay, whole."""
    for leftover in figures.rglob(".*.tmp"):
        with contextlib.suppress(OSError):
            leftover.unlink()


def _check_notebook(path: Path) -> None:
    """A notebook that nbformat reads and validates, else one line naming it and the fix."""
    import nbformat

    try:
        nbformat.validate(nbformat.read(path, as_version=4))
    except Exception as e:  # noqa: BLE001 - JSON, schema, encoding: nbformat's errors have no common base
        reason = str(e).strip().splitlines()[0][:120] if str(e).strip() else type(e).__name__
        in_git = any((folder / ".git").exists() for folder in path.resolve().parents)
        restore = f"git checkout -- {path.name}" if in_git else "from a fresh copy of the project's notebooks/"
        raise InputError(f"notebook {path} cannot be read ({reason}); restore it ({restore})") from None


def _environment(out: Path, quick: bool, size, steps) -> dict:
    """Set the variables the kernels inherit (figures to ``out``/figures, the mode, size and steps),
    make that folder, and return the preset they make; when either is refused, the environment is
    left as it was (and the folder not made)."""
    saved = dict(os.environ)
    os.environ.update(STYLETF_OUTPUT=str(out / "figures"), MPLBACKEND="Agg")
    if quick:
        os.environ["STYLETF_QUICK"] = "1"
    for key, value in (("size", size), ("steps", steps)):
        if value:
            os.environ[f"STYLETF_{key.upper()}"] = str(value)
    try:
        preset = config.preset()  # every setting checked before a folder is made
        (out / "figures").mkdir(parents=True, exist_ok=True)
        return preset
    except (StyleTFError, OSError) as e:
        os.environ.clear()
        os.environ.update(saved)
        if isinstance(e, OSError):  # e.g. under /proc, read-only, no permission
            raise InputError(f"--out {out}: cannot make the folder ({e.strerror}); choose a folder you can "
                             f"write to") from None
        raise


def _run_all(paths, out: Path) -> list | None:
    """Execute the notebooks in turn: the names of those that failed, or None where Ctrl-C,
    SIGTERM or SIGHUP stopped the run (the kernel stopped, the finished figures kept, one line)."""
    failures, finished = [], []
    with interrupts.stop_signals_interrupt():  # Ctrl-C, SIGTERM, SIGHUP: the kernel stopped, the figures kept
        try:
            for path in paths:
                failed = _execute(path, out)
                if failed:  # report, and go on with the next notebook: its figures may still be wanted
                    failures.append(path.name)
                    print(f"{path.name} failed: {failed}\n(the executed notebook, up to the failing cell, "
                          f"is in {out / path.name})", file=sys.stderr)
                finished.append(path)
        except KeyboardInterrupt as e:
            how = str(e) if str(e) in ("SIGTERM", "SIGHUP") else "Ctrl-C"
            rest = ",".join(p.name[:2] for p in paths[len(finished):])
            print(f"interrupted ({how}) in {paths[len(finished)].name}: {len(finished)} of {len(paths)} notebooks "
                  f"done, their figures in {out / 'figures'}; to finish, run again with --only {rest}",
                  file=sys.stderr)
            return None
    return failures


def reproduce(notebooks: str | Path = REPO_NOTEBOOKS, out: str | Path = "outputs/reproduce", *,
              quick: bool = False, size: int | None = None, steps: int | None = None,
              only: str | None = None) -> int:
    """Execute every numbered notebook in order; write executed copies and figures to ``out``.
    Returns the exit status: 1 if a notebook failed (the others still run); 130 when stopped by
    Ctrl-C, SIGTERM or SIGHUP (the kernel shut down, the finished figures kept, one line). Figures 1-3 of
    docs/method.md, "The figures" (notebooks 00-05)."""
    try:
        import nbclient  # noqa: F401 - the notebook tools are needed by this command only
        import nbformat  # noqa: F401
    except ImportError:
        raise StyleTFError("reproduce needs nbclient: pip install nbclient ipykernel") from None
    nb_dir = user_path(notebooks, "--notebooks")
    if not nb_dir.is_dir():
        raise InputError(f"--notebooks {nb_dir}: {'a file, not a folder' if nb_dir.exists() else 'no such folder'}; "
                         f"give the notebooks/ folder of a clone")
    paths = sorted(nb_dir.glob("[0-9][0-9]_*.ipynb"))
    if only is not None:
        wanted = [n.strip().zfill(2) for n in only.split(",") if n.strip()]
        unknown = sorted(set(wanted) - {p.name[:2] for p in paths})
        if unknown or not wanted:
            raise StyleTFError(f"--only {only!r}: no notebook {', '.join(unknown) or '(none named)'} in {nb_dir}; "
                               f"the notebooks are {', '.join(p.name[:2] for p in paths)}")
        paths = [p for p in paths if p.name[:2] in wanted]
    if not paths:
        raise StyleTFError(f"no notebooks found in {nb_dir}; run from a clone of the repository "
                           f"or pass --notebooks DIR")
    for path in paths:  # every notebook read before any runs: a damaged one is one line, not minutes later
        _check_notebook(path)
    backbones.check_name(os.environ.get("STYLETF_BACKBONE", "").strip() or "auto", "STYLETF_BACKBONE")
    if not str(out).strip():
        raise InputError("--out is empty; give a folder for the executed notebooks and figures, e.g. outputs/reproduce")
    out = user_path(out, "--out").resolve()
    for folder in (out, out / "figures"):
        if folder.exists() and not folder.is_dir():
            raise InputError(f"--out {out}: {folder} is a file, not a folder; choose another --out")
    saved = dict(os.environ)
    settings = _environment(out, quick, size, steps)  # and the figures folder
    print(f"reproducing {len(paths)} notebooks in {config.mode_name()} mode "
          f"({settings['size']} px, {settings['steps']} steps) into {out}")
    start = time.perf_counter()
    try:
        failures = _run_all(paths, out)
    finally:  # the kernels' settings undone: a caller's later kernels must not write into this --out
        os.environ.clear()
        os.environ.update(saved)
    if failures is None:
        return 130
    figures = sorted((out / "figures").glob("*.png"))
    panels = sorted((out / "figures" / "panels").glob("*.png"))
    print(f"done in {time.perf_counter() - start:.0f} s: executed notebooks in {out}, "
          f"{len(figures)} figures in {out / 'figures'}, {len(panels)} panels in {out / 'figures' / 'panels'}:")
    for path in figures + panels:
        print(f"  {path.relative_to(out)}")
    if failures:
        print(f"{len(failures)} notebook(s) failed: {', '.join(failures)}", file=sys.stderr)
        return 1
    return 0
