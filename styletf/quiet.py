"""A quiet first screen: TensorFlow without its C++ start-up log lines (issue 17). Not in the
paper; every notebook's first import and the command line go through it.

TensorFlow's C++ core writes INFO lines ("oneDNN custom operations are on", "Could not find cuda
drivers", "This TensorFlow binary is optimized ...") and, on a machine without a GPU, the error
line "failed call to cuInit" straight to file descriptor 2, before ``TF_CPP_MIN_LOG_LEVEL`` is
read. They read like failures. ``import_tensorflow`` imports it, and sets its devices up, with
descriptor 2 caught in a temporary file; afterwards every caught line that is not one of those
known start-up lines is written to stderr, so a real problem still shows. An address-space limit
too low for TensorFlow's libraries is one line (``import_failed``), not the loader's traceback.
"""
from __future__ import annotations

import contextlib
import os
import re
import resource
import signal
import sys
import tempfile
import threading

__all__ = ["import_tensorflow", "import_failed", "refuse_at_start", "float16_quietly", "NOISE", "HALF_NOISE"]

_stderr_fd = 2  # where the one line of an interrupted start-up goes

#: Start-up lines that say nothing is wrong: INFO (I...), absl's preamble, the CPU-feature note,
#: and CUDA's "no GPU here" on a CPU-only machine.
NOISE = re.compile(r"(I\d{4} |WARNING: All log messages before absl::InitializeLog|To enable the following "
                   r"instructions:|[EW]\d{4} .*(cuInit|cuda_platform|cuda_driver|cudart|CUDA))")


def import_tensorflow():
    """``import tensorflow`` with its C++ start-up noise filtered out (module doc); returns the
    module. Not in the paper (README, "Quick mode and other settings"; notebook 00's Setup)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if os.environ.get("KERAS_HOME") == "":  # empty means unset (Keras would write ./keras.json)
        del os.environ["KERAS_HOME"]
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    if sys.argv[:1] == ["-m"] and threading.current_thread() is threading.main_thread():
        # ``python -m styletf`` starting (Python names argv[0] "-m" while it imports the package):
        # Ctrl-C (SIGTERM, SIGHUP) has nothing to keep yet, and TensorFlow's import could swallow the
        # exception. ``styletf.__main__`` gives the signals back (``startup_over``) once all is imported.
        for sig, default in _START_SIGNALS:
            if signal.getsignal(sig) is default:  # not when ignored (nohup)
                signal.signal(sig, interrupted_at_start)
    return _import_quietly()


#: The signals that stop ``python -m styletf`` while it starts, with their handlers when not ignored.
_START_SIGNALS = tuple((getattr(signal, name), default) for name, default in (
    ("SIGINT", signal.default_int_handler), ("SIGTERM", signal.SIG_DFL), ("SIGHUP", signal.SIG_DFL))
    if hasattr(signal, name))


def startup_over() -> None:
    """``python -m styletf`` has imported everything: the start-up signals get their usual handlers
    back (``import_tensorflow``). Not in the paper, nor in a notebook."""
    for sig, default in _START_SIGNALS:
        if signal.getsignal(sig) is interrupted_at_start:
            signal.signal(sig, default)


def interrupted_at_start(signum, frame):
    """Ctrl-C while ``python -m styletf`` starts: one line, exit status 130. Not in the paper, nor
    in a notebook (README, "Stylise your own photo": exit status)."""
    os.write(_stderr_fd, b"interrupted\n")
    os._exit(130)


def _import_quietly():
    with _caught(NOISE):
        import tensorflow as tf
        tf.config.list_physical_devices()  # the devices are set up (and CUDA tried) here
    return tf


@contextlib.contextmanager
def _caught(noise):
    """Within: descriptor 2 caught in a temporary file; afterwards its lines that ``noise`` does not
    match are written to stderr (a real problem still shows)."""
    try:
        if sys.stderr is not None:  # None: pythonw, a service, a closed stream
            sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no descriptor 2 to catch: as is
        saved = None
    if saved is None:
        yield
        return
    global _stderr_fd
    with tempfile.TemporaryFile() as caught:
        os.dup2(caught.fileno(), 2)
        _stderr_fd = saved  # the terminal, while descriptor 2 is caught
        try:
            yield
        finally:
            os.dup2(saved, 2)
            _stderr_fd = 2
            os.close(saved)
            caught.seek(0)
            lines = caught.read().decode(errors="replace").splitlines()
            kept = [line for line in lines if line.strip() and not noise.match(line)]
            if kept and sys.stderr is not None:
                with contextlib.suppress(OSError, ValueError):  # a reader gone: nothing to tell
                    print("\n".join(kept), file=sys.stderr)


#: oneDNN's one line, once a process, at its first float16 operation on a CPU without AVX512_FP16
#: ("oneDNN supports DT_HALF only on platforms with AVX-512. Falling back to ... Eigen"): an E-line
#: for a fallback that ``speed.resolve_precision``'s measurement and the README already describe.
HALF_NOISE = re.compile(r"E\d{4} .*oneDNN supports DT_HALF")
_half_ready = []


def float16_quietly() -> None:
    """Run one tiny float16 convolution with oneDNN's fallback line caught (``HALF_NOISE``), once a
    process, before ``precision="mixed_float16"`` does its first. Not in the paper, nor in a notebook."""
    if _half_ready:
        return
    tf = sys.modules["tensorflow"]
    with _caught(HALF_NOISE):
        tf.nn.conv2d(tf.zeros((1, 4, 4, 3), tf.float16), tf.zeros((3, 3, 3, 1), tf.float16), 1, "SAME")
    _half_ready.append(True)


def import_failed(error: ImportError) -> None:
    """An ``import styletf`` that failed because an address-space limit leaves no room for
    TensorFlow's or SciPy's libraries ("failed to map segment"): one clear line instead of the
    loader's traceback (``python -m styletf``: on stderr, exit 1), else nothing (the caller raises)."""
    address, _ = resource.getrlimit(resource.RLIMIT_AS)
    no_room = re.search(r"failed to map segment|cannot allocate memory|out of memory", str(error), re.I)
    if address == resource.RLIM_INFINITY or not no_room:
        return
    message = (f"styletf cannot load under the address-space limit (ulimit -v: {address / 2 ** 30:.1f} GiB): "
               f"TensorFlow alone takes about 1.6 GiB of it and a 512 px run about 3.3 GiB; raise the limit "
               f"(ulimit -v, a job's h_vmem)")
    if sys.argv[:1] == ["-m"]:  # ``python -m styletf`` starting (import_tensorflow): the command's one line
        print(f"error: {message}", file=sys.stderr)
        raise SystemExit(1)
    raise ImportError(message) from None


def refuse_at_start(check) -> None:
    """Run ``check()`` as styletf loads; what it refuses (a StyleTFError) is, for ``python -m styletf``
    starting, the command's one line on stderr and exit 2, else raised to the importer."""
    try:
        check()
    except Exception as e:  # noqa: BLE001 - styletf's own refusals only (the errors module is above this one)
        if type(e).__name__ not in ("InputError", "StyleTFError") or sys.argv[:1] != ["-m"]:
            raise
        print(f"error: {e}", file=sys.stderr)
        raise SystemExit(2) from None
