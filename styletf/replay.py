"""``python -m styletf replay out.json``: remake a picture from its sidecar, after checking that
its inputs are the ones it was made from. The sidecar's ``command`` alone runs on whatever the
files hold now: replace the photo, and another picture comes out without a word. Here every input
file's sha256, each catalog image's and the weights' fingerprint are compared first, and a change
is one line naming the input (exit 2, nothing done). Not in the paper (README, "Stylise your own
photo").
"""
from __future__ import annotations

import hashlib
import json
import os
import shlex
import sys
from pathlib import Path

from . import data
from .backbones import fingerprint
from .errors import InputError, user_path

__all__ = ["add_parser", "check", "replay"]


def add_parser(sub) -> None:
    """The ``replay`` command's options (``styletf.cli``)."""
    p = sub.add_parser("replay", help="remake a picture from its sidecar, its inputs checked first",
                       description="Check that the inputs and weights of SIDECAR's run are unchanged (sha256), "
                                   "then run its command: the same picture, byte for byte on the same machine.")
    p.add_argument("sidecar", help="the .json written beside a picture by stylize")
    p.add_argument("-o", "--output", help="write the picture here instead of where the run wrote it "
                                          "(beside the sidecar, from any folder)")
    p.add_argument("--quiet", action="store_true", help="no progress bar or messages (errors still)")


def check(sidecar) -> tuple[dict, list[str]]:
    """(the environment, the words of ``python -m styletf``) of the sidecar's command, its inputs
    checked against what they were when the run read them."""
    path = user_path(sidecar, "sidecar")
    try:
        meta = json.loads(path.read_text())
    except FileNotFoundError:
        raise InputError(f"sidecar {path} not found; give the .json written beside the picture") from None
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise InputError(f"sidecar {path} cannot be read as JSON ({e}); give the .json written beside the picture") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("command"), str):
        raise InputError(f"sidecar {path} holds no command: it was not written by stylize")
    files = _fields(meta, path)
    for name, recorded in meta["inputs_sha256"].items():
        if recorded is None:  # a URL in a sidecar from before URLs were recorded: nothing to compare
            print(f"note: input {name} was not recorded by its run, so it is not checked", file=sys.stderr)
            continue
        if "://" in name and name not in files:  # what the URL holds now, downloaded again
            now, where = hashlib.sha256(data.download(name)).hexdigest(), f"input {name}"
        elif name in data.keys() and name not in files:
            now, where = data.catalog()[name]["sha256"], f"catalog image {name}"
        else:
            source = Path(files.get(name, name))
            where = f"input {name}" + (f" ({source})" if str(source) != name else "")
            if not source.is_file():
                raise InputError(f"{where} is gone; put it back to replay the run")
            now = data.sha256_of(source)
        if now != recorded:
            raise InputError(f"{where} changed since the run (sha256 {recorded[:12]}... then, {now[:12]}... now); "
                             f"restore it to replay, or run the command anew to accept the new input")
    if "weights" not in meta:  # a sidecar from before the weights were recorded
        print("note: the weights were not recorded by its run, so they are not checked", file=sys.stderr)
    if meta.get("weights") and not isinstance(meta.get("backbone"), str):
        raise InputError(f"sidecar {path}: its backbone is missing; restore the sidecar the run wrote")
    weights = meta.get("weights") and fingerprint(meta["backbone"])
    if weights and weights != meta["weights"]:
        raise InputError(f"the weights of backbone {meta['backbone']} changed since the run (fingerprint "
                         f"{meta['weights']} then, {weights} now); restore them to replay")
    try:
        words = shlex.split(meta["command"])
    except ValueError as e:  # an unbalanced quote
        raise InputError(f"sidecar {path}: its command cannot be read ({e}); restore the sidecar the run wrote") from None
    env = dict(os.environ)
    while words and "=" in words[0] and words[0].split("=")[0].isidentifier():
        name, value = words.pop(0).split("=", 1)
        env[name] = value
    if words[:4] != ["python", "-m", "styletf", "stylize"] or "-o" not in words[:-1]:
        raise InputError(f"sidecar {path}: its command is not a python -m styletf stylize ... -o OUT that stylize "
                         f"wrote; restore the sidecar the run wrote")
    return env, words[3:]


def _fields(meta: dict, path) -> dict:
    """The sidecar's ``input_files`` ({name: path}), its ``inputs_sha256`` and ``weights`` checked for
    their types (a sidecar edited by hand: one line, not a traceback); a sidecar without its inputs'
    sha256 cannot be checked, and is refused."""
    sha, files, weights = meta.get("inputs_sha256"), meta.get("input_files", {}), meta.get("weights")
    hexes = lambda v: v is None or (isinstance(v, str) and len(v) == 64)  # noqa: E731
    if not isinstance(sha, dict) or not all(isinstance(k, str) and hexes(v) for k, v in sha.items()):
        raise InputError(f"sidecar {path}: its inputs_sha256 is {'missing' if sha is None else 'not {name: sha256}'}, "
                         f"so its inputs cannot be checked; restore the sidecar the run wrote, or run its command "
                         f"directly to accept the inputs as they are")
    if not isinstance(files, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in files.items()):
        raise InputError(f"sidecar {path}: its input_files is not {{name: path}}; restore the sidecar the run wrote")
    if weights is not None and not isinstance(weights, str):
        raise InputError(f"sidecar {path}: its weights is not a fingerprint; restore the sidecar the run wrote")
    return files


def replay(args):
    """``replay``'s parsed ``args``: check the sidecar's inputs (``check``), then become its command
    (``os.execvpe``: its environment, the threads and the convolutions' route, is set before
    TensorFlow starts)."""
    env, words = check(args.sidecar)
    at = words.index("-o") + 1
    if args.output is not None:
        words[at] = str(user_path(args.output, "--output"))
    elif not Path(words[at]).is_absolute():  # as given to the run, from its folder: the sidecar is beside it
        words[at] = str(user_path(args.sidecar, "sidecar").resolve().parent / Path(words[at]).name)
    words += ["--quiet"] if args.quiet else []
    sys.stdout.flush()
    os.execvpe(sys.executable, [sys.executable, "-m", "styletf", *words], env)
