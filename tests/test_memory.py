"""Memory limits (``styletf.memory``): an address-space limit (``ulimit -v``, a job's h_vmem) read as
the kernel reports it; a run that cannot fit under it refused before work with the size that fits,
and that size really runs under it; a limit too low for TensorFlow one line, not the loader's
traceback; a real allocation failure recognised, and a later coarse-to-fine stage that runs out of
memory keeps the stage before."""
import os
import re
import resource
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from styletf import InputError, memory


def _vm_size() -> int:
    """This process's address space, read from the kernel (bytes)."""
    return int(re.search(r"VmSize:\s+(\d+) kB", Path("/proc/self/status").read_text()).group(1)) * 1024


def _limited(kib: int):
    """A preexec_fn: the child runs under ``ulimit -v kib``."""
    return lambda: resource.setrlimit(resource.RLIMIT_AS, (kib * 1024, resource.RLIM_INFINITY))


def _styletf(args, kib, cwd, timeout=300, env=None):
    return subprocess.run([sys.executable, "-m", "styletf", *args], cwd=cwd, capture_output=True, text=True,
                          preexec_fn=_limited(kib) if kib else None, timeout=timeout, env=env)


def test_limits_reads_the_address_space_limit_as_the_kernel_has_it():
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    assert soft == resource.RLIM_INFINITY, "the tests run without an address-space limit"
    assert memory.limits()["address"] is None and memory.limits()["address_left"] is None
    cap = _vm_size() + 50 * 2 ** 30  # far above what this test needs: nothing here can fail by it
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        have, held = memory.limits(), _vm_size()
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    assert have["address"] == cap
    assert abs(have["address_left"] - (cap - held)) < 64 * 2 ** 20  # VmSize moves a little between the reads
    free = int(re.search(r"MemAvailable:\s+(\d+) kB", Path("/proc/meminfo").read_text()).group(1)) * 1024
    assert 0 < have["free"] <= free * 1.1


def test_a_real_allocation_failure_is_recognised_and_other_errors_are_not():
    with pytest.raises(tf.errors.ResourceExhaustedError) as caught:
        tf.zeros([2 ** 42])  # 16 TiB: TensorFlow's CPU allocator refuses it
    assert memory.is_out_of_memory(caught.value)
    assert memory.is_out_of_memory(MemoryError())
    assert not memory.is_out_of_memory(ValueError("out of memory"))  # not TensorFlow's: not ours to translate
    with pytest.raises(tf.errors.InvalidArgumentError) as caught:
        tf.reshape(tf.zeros([6]), [4])
    assert not memory.is_out_of_memory(caught.value)


def test_a_limit_too_low_for_tensorflow_is_one_line_not_a_traceback(tmp_path):
    done = _styletf(["stylize", "neckarfront", "the_scream", "-o", "out.png"], 1_000_000, tmp_path, timeout=120)
    assert done.returncode == 1, done.stderr[-2000:]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "address-space limit (ulimit -v: 1.0 GiB)" in lines[0] and "raise" in lines[0], lines
    imported = subprocess.run([sys.executable, "-c", "import styletf"], capture_output=True, text=True,
                              preexec_fn=_limited(1_000_000), timeout=120)
    assert imported.returncode == 1 and imported.stderr.strip().splitlines()[-1].startswith(
        "ImportError: styletf cannot load under the address-space limit"), imported.stderr[-1000:]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow  # a process of its own, then a real run under the limit
def test_a_run_that_cannot_fit_under_ulimit_v_is_refused_before_work_and_the_size_named_fits(tmp_path):
    """Under ``ulimit -v 3000000`` the default 512 px L-BFGS-B run died in TensorFlow (SIGSEGV), or
    said "out of memory" with the picture lost, or hung in OpenBLAS; now it is refused at once
    with the size that fits, and that size runs to the end under the same limit."""
    rng = np.random.default_rng(3)
    Image.fromarray(rng.integers(30, 220, (300, 400, 3), dtype=np.uint8)).save(tmp_path / "photo.png")
    env = {**os.environ, "STYLETF_CACHE": str(tmp_path / "cache")}  # a machine that has measured nothing yet
    command = ["stylize", "photo.png", "the_scream", "-o", "out.png"]

    def refusal():
        refused = _styletf(command, 3_000_000, tmp_path, env=env)
        assert refused.returncode == 2, refused.stderr[-2000:]
        lines = [line for line in refused.stderr.strip().splitlines() if line.startswith("error:")]
        assert len(lines) == 1 and "address-space limit (ulimit -v: 2.9 GiB)" in lines[0], refused.stderr
        assert not (tmp_path / "out.png").exists()
        return lines[0]

    first = refusal()  # the first run also measures the speed choices: no size fits under 2.9 GiB
    assert "first run on the machine also measures its speed choices" in first and "raise the limit" in first
    warm = _styletf([*command, "--size", "64", "--steps", "1", "--quiet"], None, tmp_path, env=env)
    assert warm.returncode == 0, warm.stderr[-2000:]  # measured, without the limit
    (tmp_path / "out.png").unlink()
    fits = int(re.search(r"use --size (\d+) or less", refusal()).group(1))
    assert 128 <= fits < 512
    ran = _styletf([*command, "--size", str(fits), "--steps", "3", "--quiet"], 3_000_000, tmp_path, env=env)
    assert ran.returncode == 0, ran.stderr[-3000:]
    with Image.open(tmp_path / "out.png") as img:
        assert max(img.size) == fits


@pytest.mark.slow  # processes of their own under a limit
def test_many_threads_are_counted_and_the_limit_named_fits(tmp_path):
    """With 24 + 24 TensorFlow threads (a large node's cores) every size aborted inside TensorFlow
    under ``ulimit -v 3000000`` (SIGABRT and a C++ stack, 192 px included) while the check, counting
    2 threads, let them start. Now it is refused before work naming the limit that fits, and under
    that limit the run goes to the end."""
    Image.fromarray(np.random.default_rng(4).integers(30, 220, (300, 400, 3), dtype=np.uint8)).save(tmp_path / "photo.png")
    env = {**os.environ, "STYLETF_CACHE": str(tmp_path / "cache"), "TF_NUM_INTRAOP_THREADS": "24",
           "TF_NUM_INTEROP_THREADS": "24"}
    command = ["stylize", "photo.png", "the_scream", "-o", "out.png", "--size", "192", "--steps", "2", "--quiet"]
    warm = _styletf([*command[:5], "--size", "64", "--steps", "1", "--quiet"], None, tmp_path, env=env)
    assert warm.returncode == 0, warm.stderr[-2000:]  # the speed choices measured, without the limit
    (tmp_path / "out.png").unlink()
    refused = _styletf(command, 3_000_000, tmp_path, env=env)
    lines = [line for line in refused.stderr.strip().splitlines() if line.startswith("error:")]
    assert refused.returncode == 2 and len(lines) == 1, refused.stderr[-2000:]
    assert not (tmp_path / "out.png").exists()
    named = float(re.search(r"raise the limit \(ulimit -v, a job's h_vmem\) to at least ([\d.]+) GiB", lines[0]).group(1))
    ran = _styletf(command, int(named * 2 ** 20) + 1, tmp_path, env=env)
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert (tmp_path / "out.png").exists()


@pytest.mark.slow  # a process of its own under a limit
def test_a_later_stage_out_of_memory_keeps_the_stage_before(tmp_path):
    """Coarse to fine under an address-space limit that the 64 px stage fits and a 1024 px stage
    does not: a real allocation failure in TensorFlow; the result is the 64 px stage's picture,
    finite, with ``stopped`` saying why (a traceback and no picture before). The check before work
    would refuse this run: it is turned off here, as for a size whose need it underestimates."""
    script = textwrap.dedent("""
        import re, resource, numpy as np
        from styletf import coarse_to_fine, memory
        memory.check = lambda *args, **kwargs: None
        held = int(re.search(r"VmSize:\\s+(\\d+)", open("/proc/self/status").read()).group(1)) * 1024
        resource.setrlimit(resource.RLIMIT_AS, (held + 1100 * 2 ** 20, resource.RLIM_INFINITY))
        r = coarse_to_fine("neckarfront", "starry_night", sizes=[64, 1024], steps=[3, 3], optimizer="adam",
                           backbone="random", progress=False)
        print("SHAPE", r.image.shape, "FINITE", bool(np.isfinite(r.image.numpy()).all()), "STOPPED", r.stopped)
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    line = done.stdout.strip().splitlines()[-1]
    assert "SHAPE (1, 48, 64, 3) FINITE True" in line, line
    assert "out of memory at 1024 px under the address-space limit" in line and "64 px stage's picture is kept" in line


def test_an_input_too_large_to_decode_under_the_limit_is_refused_before_work(tmp_path):
    """The check counts every image the run holds, including the photo decoded at its own size
    before it is resized: 81 megapixels take about 2.7 GiB as float32 with TensorFlow's copy."""
    from styletf import preflight
    big, small = tmp_path / "big.png", tmp_path / "small.png"
    Image.new("RGB", (9_000, 9_000), (90, 120, 150)).save(big)  # one colour: a small file
    Image.new("RGB", (64, 48), (90, 120, 150)).save(small)
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (_vm_size() + int(2.5 * 2 ** 30), hard))
    try:
        with pytest.raises(InputError) as refused:
            preflight.check_memory(64, 1.0, "adam", str(big), ["starry_night"])
        preflight.check_memory(64, 1.0, "adam", str(small), ["starry_night"])  # the same run, a small photo: fits
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    assert "make the input of 81 megapixels smaller first (decoded at its own size it needs 2.7 GiB)" in str(
        refused.value), refused.value


def test_the_python_api_refuses_what_cannot_fit_before_work_naming_its_arguments(tmp_path, monkeypatch):
    """``stylize``, ``coarse_to_fine`` and ``synthesize`` check the limits as the command line does
    (a 2048 px run under 2.5 GiB of address space left once crashed inside TensorFlow), before
    a step, and name their own arguments (``size=``), not the command line's options."""
    from styletf import coarse_to_fine, stylize, synthesize
    steps = []
    monkeypatch.setattr("styletf.optimize.minimize", lambda *a, **k: steps.append(1))  # reached only past the check
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (_vm_size() + int(2.5 * 2 ** 30), hard))
    try:
        refusals = []
        for run in (lambda: stylize("neckarfront", "starry_night", size=2048, coarse_to_fine=None, steps=1,
                                    optimizer="adam", backbone="random", progress=False),
                    lambda: coarse_to_fine("neckarfront", "starry_night", sizes=[64, 2048], steps=1,
                                           backbone="random", progress=False),
                    lambda: synthesize(np.full((1, 1536, 2048, 3), 0.5, np.float32), "starry_night", size=2048,
                                       steps=1, backbone="random", progress=False)):
            with pytest.raises(InputError) as refused:
                run()
            refusals.append(str(refused.value))
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    assert not steps
    for message in refusals:
        assert "a 2048 px output needs about" in message and "address-space limit" in message, message
        assert "--size" not in message and ("size=" in message or "raise the limit" in message), message
