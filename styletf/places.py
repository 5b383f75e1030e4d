"""Where files are written: checked before work, written atomically, and a spare place when the
chosen one is gone by the time the picture is ready. Not in the paper; every file styletf writes
(notebook 00 first; README, "Stylise your own photo").

An output is *replaceable* when a rename onto it can succeed: its folder can take a new file, the
file is not marked immutable or append-only (``chattr +i``/``+a``), and it is not another user's
file in a folder with the sticky bit (``/tmp``). The command checks this before work
(``preflight.check_output``); the final write may still fail (the folder removed during a long
run, the disk full), and then ``sidecar.write`` puts the picture in a spare place and says
where (``WrittenElsewhere``).
"""
from __future__ import annotations

import array
import errno
import os
import resource
import stat
import tempfile
import time
from pathlib import Path

from .errors import InputError, check_path

__all__ = ["writable", "atomic_write", "check_replaceable", "check_file_limit", "spare_places", "WrittenElsewhere"]

_UMASK = os.umask(0)
os.umask(_UMASK)
_FS_IOC_GETFLAGS, _IMMUTABLE, _APPEND_ONLY = 0x80086601, 0x10, 0x20  # Linux's <linux/fs.h>


class WrittenElsewhere(Exception):
    """The picture could not be written where asked (``wanted``, the ``reason``), and went to
    ``written`` instead: the command says both and exits 1."""

    def __init__(self, wanted: Path, written: Path, reason: Exception):
        why = getattr(reason, "strerror", None) or str(reason).removeprefix(f"cannot write {wanted}: ")
        super().__init__(f"could not write {wanted}: {why}")
        self.wanted, self.written, self.reason = wanted, written, reason


def writable(path, suffix: str | None = None) -> Path:
    """``path`` as a Path, or an InputError when a file cannot be written there: it is a folder, its
    folder is missing or a file, or it does not end in ``suffix``."""
    path = check_path("path", path)
    if path.is_dir():
        raise InputError(f"cannot write {path}: it is a folder; give a file name inside it")
    if not path.parent.is_dir():
        raise InputError(f"cannot write {path}: folder {path.parent} "
                         f"{'is a file, not a folder' if path.parent.exists() else 'does not exist; create it first'}")
    if suffix and path.suffix.lower() != suffix:
        raise InputError(f"cannot write {path}: the name must end in {suffix} (the file is written as {suffix[1:].upper()})")
    return path


def atomic_write(path: str | os.PathLike, data: bytes) -> Path:
    """Write bytes to ``path`` via a temporary file in the same folder and a rename: an interrupted
    write leaves the old file (or none), never half of one. Every figure and sidecar (notebook 00 first)."""
    path = writable(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix="." + path.name + ".", suffix=".tmp", dir=path.parent)
    except OSError as e:  # the folder takes no new file: name the file asked for, not ours
        raise OSError(e.errno, e.strerror, str(path)) from None
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the usual permissions
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        if e.filename is None or str(e.filename).endswith(".tmp"):  # name the file asked for, not ours
            raise OSError(e.errno, e.strerror, str(path)) from None
        raise
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def caller_write(path: Path, data: bytes, name: str) -> Path:
    """``atomic_write`` for a public function's argument ``name``: a place this user cannot write to
    (no permission, a read-only or vanished folder) is an InputError naming it; a full disk is not."""
    try:
        return atomic_write(path, data)
    except OSError as e:
        if e.errno not in (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOENT):
            raise
        raise InputError(f"{name}: cannot write {path} ({e.strerror}); choose a folder you can write to") from None


def _flags(path: Path) -> int:
    """The file's Linux inode flags (``lsattr``), 0 where they cannot be read."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return 0
    try:
        import fcntl
        buf = array.array("i", [0])
        fcntl.ioctl(fd, _FS_IOC_GETFLAGS, buf, True)
        return buf[0]
    except (OSError, ImportError):
        return 0
    finally:
        os.close(fd)


def check_replaceable(path: Path, role: str = "output") -> None:
    """An InputError, before any work, when an existing file at ``path`` could not be replaced."""
    try:
        st, folder = path.lstat(), path.parent.stat()
    except OSError:
        return  # nothing there yet: the folder's own check (a test file written there) decides
    flags = _flags(path) if stat.S_ISREG(st.st_mode) else 0
    if flags & (_IMMUTABLE | _APPEND_ONLY):
        mark = "immutable (chattr +i)" if flags & _IMMUTABLE else "append-only (chattr +a)"
        raise InputError(f"{role} {path} exists and cannot be replaced: it is marked {mark}; remove the "
                         f"mark (chattr -{'i' if flags & _IMMUTABLE else 'a'}) or choose another name")
    uid = os.geteuid()
    if folder.st_mode & stat.S_ISVTX and uid != 0 and uid not in (st.st_uid, folder.st_uid):
        raise InputError(f"{role} {path} belongs to another user in a folder only its owners may replace "
                         f"files in (sticky bit, like /tmp); choose another name")


def check_file_limit(need: int, path: Path) -> None:
    """An InputError when the file-size limit (``ulimit -f``) is below ``need`` bytes for ``path``."""
    soft, _ = resource.getrlimit(resource.RLIMIT_FSIZE)
    if soft != resource.RLIM_INFINITY and soft < need:
        raise InputError(f"the file-size limit (ulimit -f) is {soft} bytes, and {path.name} may need up to "
                         f"{need} bytes: raise it (ulimit -f unlimited) or use a smaller --size")


def spare_places(wanted: Path) -> list[Path]:
    """Where a picture goes when ``wanted`` cannot be written: beside it under a dated name if its
    folder still takes files, else the current folder, the home folder, the temporary folder."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    name = f"{wanted.stem}.rescued-{stamp}{wanted.suffix}"
    seen, places = set(), []
    for where in (lambda: wanted.parent, Path.cwd, Path.home, lambda: Path(tempfile.gettempdir())):
        try:
            folder = where()
            key = folder.resolve()
        except (OSError, RuntimeError):  # the current folder removed, no home folder
            continue
        if key not in seen and folder.is_dir() and os.access(folder, os.W_OK | os.X_OK):
            seen.add(key)
            places.append(folder / name)
    return places
