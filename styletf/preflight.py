"""What ``python -m styletf stylize`` checks before any work starts: that the output can be
written and would not overwrite an input, and that the size fits in memory. Not in the
paper; README, "Stylise your own photo" (exit status 2, nothing written).
"""
from __future__ import annotations

import os
import re
import sys
import tempfile
import warnings
from pathlib import Path

import tensorflow as tf
from PIL import Image

from . import data, machine, memory
from .errors import InputError, user_path
from .images import locate_source
from .places import check_replaceable
from .synthesis import DEFAULT_LEARNING_RATE
from .watch import mp4_writer

__all__ = ["check_output", "check_movie", "check_sources", "check_inputs_kept", "resolved", "check_memory", "aspect", "check_lr"]

OUTPUT_SUFFIXES = (".png",)

def check_output(path: str, suffixes=OUTPUT_SUFFIXES, role: str = "output") -> Path:
    """The output path must be writable, before any computation starts (``suffixes``: the ones
    allowed; a movie's is ".gif" or ".mp4"). Not in the paper, nor in a notebook: the command line's
    (README, "Stylise your own photo")."""
    example = "out.png" if suffixes == OUTPUT_SUFFIXES else f"run{suffixes[0]}"
    if not path.strip():
        raise InputError(f"the {role} name is empty; give a file name such as {example}")
    out = user_path(path, role)
    _check_name_length(out)
    resolved(out, role)
    if out.is_dir():
        raise InputError(f"{role} {path} is a folder; give a file name such as {out / example}")
    if out.suffix.lower() not in suffixes:
        raise InputError(f"{role} {path} must end in {' or '.join(suffixes)}"
                         + (" (the image is saved losslessly as PNG)" if suffixes == OUTPUT_SUFFIXES else ""))
    for place in (out, out.with_suffix(".json")):
        check_replaceable(place, role)
    if out.with_suffix(".json").is_dir():
        raise InputError(f"the sidecar {out.with_suffix('.json')} would be written over a folder; "
                         f"choose another output name")
    if out.parent.exists() and not out.parent.is_dir():
        raise InputError(f"{role} folder {out.parent} is a file, not a folder; choose another output path")
    if not out.parent.is_dir():
        raise InputError(f"{role} folder {out.parent} does not exist; create it first (mkdir -p)")
    try:
        with tempfile.NamedTemporaryFile(dir=out.parent, prefix=".styletf-check-"):
            pass
    except OSError as e:
        raise InputError(f"cannot write to folder {out.parent}: {e.strerror}") from None
    return out


#: What the longest file written beside ``out.png`` adds to its stem: a snapshot's "_00100", the
#: sidecar's ".json", and the temporary name of an atomic write ("." before, ".XXXXXXXX.tmp" after).
_LONGEST_EXTRA = len("._00100.json.XXXXXXXX.tmp")


def _check_name_length(out: Path) -> None:
    try:
        name_max = os.pathconf(out.parent, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):
        name_max = 255
    longest = len(out.stem.encode()) + _LONGEST_EXTRA
    if longest > name_max:
        raise InputError(f"output name {out.name[:40]}... is too long for this file system: at most "
                         f"{name_max - _LONGEST_EXTRA} bytes before {out.suffix} (room is kept for the "
                         f"sidecar, snapshots and temporary files); choose a shorter name")


def resolved(path: Path, role: str) -> Path:
    """``path`` with its symbolic links followed; a loop of links is an ``InputError`` naming
    the ``role`` ("input", "output"). Not in the paper, nor in a notebook (README, "Stylise your
    own photo")."""
    try:
        return path.resolve()
    except (RuntimeError, OSError):  # Python 3.11: RuntimeError("Symlink loop"); later: OSError
        raise InputError(f"{role} {path} is a loop of symbolic links; remove the links or choose "
                         f"another path") from None


def check_movie(path: str, sources) -> Path:
    """``stylize --movie``: a writable ``.gif`` or ``.mp4`` that is none of the input files ``sources``. Not
    in the paper, nor in a notebook (README, "Stylise your own photo")."""
    movie = check_output(path, (".gif", ".mp4"), role="--movie")
    if movie.suffix.lower() == ".mp4":
        mp4_writer()  # imageio-ffmpeg there, before any work
    check_inputs_kept(movie, sources, False, path)
    return movie


def check_sources(named: dict) -> None:
    """Every input file ({role: source or None}) there and readable as a file, before the backbone
    loads: the same checks and words as ``load_image``, prefixed with the role. Not in the paper,
    nor in a notebook (README, "Stylise your own photo")."""
    for role, source in named.items():
        if source is not None:
            try:
                locate_source(source)
            except InputError as e:
                raise InputError(f"{role}: {e}") from None


def check_inputs_kept(out: Path, sources, snapshots: bool, name: str) -> None:
    """Neither the PNG ``out``, its sidecar nor (with ``snapshots``) its snapshots
    ``<out>_00100.png`` may be one of the input files ``sources`` (``name``: the output as
    given). Not in the paper, nor in a notebook (README, "Stylise your own photo")."""
    snapshot_name = re.compile(rf"{re.escape(out.stem)}_\d{{5}}{re.escape(out.suffix)}")
    out_path = resolved(out, "output")
    for source in sources:
        try:
            path = resolved(user_path(source, "input"), "input")
        except InputError:
            continue  # a loop of links is no output; loading it names its role and the problem
        if path in (out_path, resolved(out.with_suffix(".json"), "sidecar")) or (
                snapshots and path.parent == out_path.parent and snapshot_name.fullmatch(path.name)):
            raise InputError(f"output {name} (or its sidecar or snapshots) would overwrite the input "
                             f"{source}; choose another name")


def _header_size(source):
    """(width, height) of an input, from its header, the catalog or an array's shape; None when unknown."""
    if hasattr(source, "shape"):  # an image already in memory: (H, W, 3) or (1, H, W, 3)
        return (source.shape[-2], source.shape[-3]) if len(source.shape) >= 3 else None
    if not isinstance(source, str):
        return None
    try:
        if source in data.keys():
            return tuple(data.catalog()[source]["size"])
        path = user_path(source, "input")
        if not path.is_file():  # a pipe would block here: load_image refuses it
            return None
        with warnings.catch_warnings():  # PIL's decompression-bomb warning: load_image applies our limit
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                return img.size
    except Exception:  # noqa: BLE001 - URLs, bad files: a bad file is reported when it is loaded
        return None


def aspect(source: str) -> float:
    """Short over long side of an input, from its header or the catalog; 1 when unknown (for
    ``check_memory``). Not in the paper, nor in a notebook (README, "Speed")."""
    size = _header_size(source)
    return min(size) / max(size) if size and max(size) else 1.0


def check_memory(side: int, style_scale: float, optimizer: str, content, styles, spelling: str = "cli") -> None:
    """Refuse, before any work, a run that cannot fit in the memory free or under an address-space
    limit (``styletf.memory.check``; ``side``: the output's long side in px): the steps, every
    painting's targets at its style scale, and each input decoded at its own size. Not in the
    paper, nor in a notebook (README, "Exit status"). ``spelling``: the fixes named as the
    command line's options or ("api") as ``stylize``'s arguments."""
    native = max((w * h for s in [content, *styles] if isinstance(s, str) for w, h in [_header_size(s) or (0, 0)]),
                 default=0)  # files are decoded at their own size first; arrays are in memory already
    memory.check(side, style_scale, optimizer,
                 {"content": aspect(content), "styles": [aspect(s) for s in styles], "decoded": native},
                 gpu=bool(tf.config.list_physical_devices("GPU")), measuring=not machine.all_decided(), threads=machine.threads(),
                 spelling=spelling)


def check_lr(lr, optimizer: str, quiet: bool = False):
    """``--lr``, Adam's step size (its default where not given). With L-BFGS, which finds its own
    step, a given ``--lr`` is ignored with a warning (unless ``quiet``), not refused: sidecar commands
    written before it was left out of them name it. Not in the paper, nor in a notebook (README,
    "Stylise your own photo")."""
    if lr is not None and optimizer == "lbfgs" and not quiet:
        print("warning: --lr is Adam's step size and L-BFGS finds its own: --lr ignored "
              "(add --optimizer adam to use it)", file=sys.stderr)
    return DEFAULT_LEARNING_RATE if lr is None else lr
