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

from . import data, machine, memory, regions
from .errors import InputError, StyleTFError, user_path
from .images import locate_source
from .places import check_replaceable
from .scales import check_fine_layers
from .synthesis import DEFAULT_LEARNING_RATE
from .watch import mp4_writer

__all__ = ["check_output", "check_movie", "check_sources", "check_inputs_kept", "resolved", "check_memory", "aspect", "check_lr",
           "check_follow_up"]

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
    if out.name.lower() in suffixes:  # ".png" alone: Python reads it as a hidden file's name, without a suffix
        raise InputError(f"{role} {path} has no name before {out.name}; give one, such as {example}")
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
    """Every input ({role: source or None}) there before the backbone loads: a file readable as a file,
    a catalog image fetched (its sha256 checked, into the cache), a URL downloaded (held for its
    load); the same checks and words as ``load_image``, prefixed with the role. Not in the paper,
    nor in a notebook (README, "Stylise your own photo")."""
    for role, source in named.items():
        if source is not None:
            try:
                path, text = locate_source(source)
                if path is None and text in data.keys():
                    data.fetch(text)
                elif path is None:
                    data.download(text, keep=True)
            except StyleTFError as e:
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


def _pairs(text: str, option: str, example: str) -> dict:
    """``NAME=VALUE,NAME=VALUE`` as a dict, names checked unique; else one line naming ``option``."""
    out = {}
    for item in (v for v in text.split(",") if v.strip()):
        key, sep, value = item.partition("=")
        key = _region_key(key.strip())
        if not sep or not key or not value.strip() or key in out:
            raise InputError(f"{option} takes NAME=VALUE pairs, each name once, e.g. {example}; got {text!r}")
        out[key] = value.strip()
    return out


def _region_key(key: str) -> str:
    """A region's name as typed: a bare hex colour (3366ff, easier in a shell than '#3366ff') gets its #."""
    return f"#{key}" if re.fullmatch(r"[0-9a-fA-F]{6}", key) else key


def check_follow_up(args) -> dict:
    """The 2017 follow-up's controls (notebook 06) before the backbone loads, as ``stylize``'s keywords:
    ``--fine-style`` (scale control: its file there), and ``--regions`` with ``REGION=PAINTING`` styles
    (spatial control: {style, regions, region_weights, style_masks, guidance}, every file there and
    every mask read against the photo's shape at the output's size, ``regions.load``). README,
    "Stylise your own photo"."""
    scale = {} if args.fine_style is None else {"fine_style": args.fine_style, "fine_layers": args.fine_layers}
    if scale:
        check_sources({"--fine-style": args.fine_style})
        check_fine_layers(args.fine_layers, "--fine-layers")
        if args.regions is not None or len(args.style) > 1:
            raise InputError("--fine-style re-textures one painting (STYLE): give one, without --regions")
    if args.regions is None:
        given = [o for o, v in (("--region-weights", args.region_weights), ("--style-masks", args.style_masks)) if v]
        if given:
            raise InputError(f"{given[0]} weighs or masks regions, and there is no --regions: give --regions "
                             f"MASK.png (one colour per region) and styles as REGION=PAINTING")
        return scale
    example = "--regions masks.png blue=starry_night white=the_scream"
    style = {}
    for item in args.style:
        key, sep, painting = item.partition("=")
        if not sep or not key.strip() or not painting.strip():
            raise InputError(f"with --regions each style is REGION=PAINTING (a colour of the mask, or a name of "
                             f"--regions NAME=MASK,...), e.g. {example}; got {item!r}")
        style.setdefault(_region_key(key.strip()), []).append(painting.strip())
    style = {k: v[0] if len(v) == 1 else v for k, v in style.items()}
    named = "=" in args.regions and not Path(args.regions).exists()
    masks = _pairs(args.regions, "--regions", "sky=sky.png,town=town.png") if named else args.regions
    out = {"style": style, "regions": masks, "guidance": args.guidance,
           "region_weights": {k: _weight(k, v) for k, v in _pairs(args.region_weights or "", "--region-weights",
                                                                  "blue=2,white=1").items()} or None,
           "style_masks": _pairs(args.style_masks or "", "--style-masks", "blue=sky_of_painting.png") or None}
    files = {"--regions" + (f" {k}" if named else ""): v for k, v in (masks.items() if named else [("", masks)])}
    files.update({f"--style-masks {k}": v for k, v in (out["style_masks"] or {}).items()})
    files.update({f"style {k}" + (f" {i + 1}" if isinstance(v, list) else ""): one for k, v in style.items()
                  for i, one in enumerate(v if isinstance(v, list) else [v])})
    check_sources(files)
    size = (args.coarse_to_fine if isinstance(args.coarse_to_fine, list) else [args.size or 512])[-1]
    w, h = _header_size(args.content) or (size, size)
    try:
        regions.load(masks, list(style), (max(1, round(size * h / max(w, h))), max(1, round(size * w / max(w, h)))),
                     out["region_weights"], name="--regions")
    except InputError as e:
        raise InputError(str(e).replace("style_masks", "--style-masks").replace("region_weights", "--region-weights")) from None
    return out


def _weight(key, text):
    try:
        return float(text)
    except ValueError:
        raise InputError(f"--region-weights {key}={text}: the weight must be a number, e.g. {key}=2") from None
