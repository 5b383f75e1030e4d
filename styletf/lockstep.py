"""Independent L-BFGS-B runs, one per image of a batch, in lock-step (docs/method.md, "Synthesis";
Figure 3's twenty images: notebook 04).

The images of a batch do not interact (the summed loss has a block-diagonal gradient), so each
is best optimised by its own L-BFGS-B, with its own curvature pairs and its own line search, as
if it were alone: one L-BFGS-B over the whole batch would share one line search between images
whose losses differ a thousandfold. SciPy's L-BFGS-B asks for the loss and gradient at one point
at a time; here each image's run lives in a thread of its own and only asks, while the caller's
thread answers: whenever every unfinished run waits for a point, all B points go through
``evaluate`` together, as one batch through the network. A finished run's slot keeps its last
point. Each run takes exactly the path it takes alone, given the same answers (tested against
separate SciPy runs in tests/test_lockstep.py).
"""
from __future__ import annotations

import threading

import numpy as np

from .paper.descent import lbfgs_b

__all__ = ["minimize_batch", "NonFinite"]


class NonFinite(Exception):
    """The loss or gradient at a run's starting point is not finite: nothing to back off to
    (a synthesis says so and keeps its start; docs/method.md, "Synthesis"; notebook 05)."""


class _Abort(Exception):
    """Raised inside a run's thread to end it (a stop asked for, Ctrl-C, another run's error)."""


class _Runs:
    """The shared state of B runs and the one thread that evaluates for them all."""

    def __init__(self, x0, evaluate):
        self.batch = len(x0)
        self.evaluate = evaluate
        self.cond = threading.Condition()
        self.points = x0.copy()  # (B, n): each run's latest point asked for (a finished run: its last)
        self.asked = [False] * self.batch  # run i waits for an answer at points[i]
        self.answers = [None] * self.batch  # (f, grad, row), or _Abort
        self.done = [False] * self.batch
        self.results = [None] * self.batch  # SciPy's OptimizeResult of each finished run
        self.error = None  # an exception raised in a run's thread
        self.rows = [[] for _ in range(self.batch)]  # per run: (point, row) of each accepted iterate
        self.first = [None] * self.batch  # per run: (point, row) of its starting point
        self.abort = False

    def ask(self, i, v):
        """Run i's thread: the answer at v, once the caller's thread has evaluated the batch."""
        with self.cond:
            if self.abort:
                raise _Abort
            self.points[i], self.asked[i], self.answers[i] = v, True, None
            self.cond.notify_all()
            while self.answers[i] is None:
                self.cond.wait()
            answer = self.answers[i]
        if answer is _Abort:
            raise _Abort
        return answer

    def waiting(self) -> bool:
        """Every unfinished run waits for an answer (the lock held)."""
        return all(self.asked[i] or self.done[i] for i in range(self.batch))

    def answer_all(self):
        """The caller's thread: evaluate every run's point as one batch, answer those that asked."""
        f, grad, rows = self.evaluate(self.points)  # (B,), (B, n), B rows
        for i in range(self.batch):
            if self.asked[i]:
                self.asked[i] = False
                self.answers[i] = (float(f[i]), grad[i], rows[i])

    def stop(self):
        """End every run: each one's next question raises _Abort in its thread."""
        with self.cond:
            self.abort = True
            for i in range(self.batch):
                if self.asked[i]:
                    self.asked[i], self.answers[i] = False, _Abort
            self.cond.notify_all()


def _run(runs, i, x0, steps):
    """Run i's thread: ``paper.descent.lbfgs_b`` from x0, its questions answered by ``runs``."""
    last = {}

    def fun(v):
        f, grad, row = runs.ask(i, v.copy())
        if not (np.isfinite(f) and np.all(np.isfinite(grad))):
            if "f" not in last:  # the start itself: nothing to back off to
                raise NonFinite
            # a line-search trial point out of range (float16's first full step to the bounds): answered
            # as a far higher loss, so that the search backs off towards the last finite point
            return 10.0 * last["f"] + 1.0, last["grad"]
        last.update(v=v.copy(), f=f, grad=grad, row=row)
        if runs.first[i] is None:
            runs.first[i] = (v.copy(), row)
        return f, grad

    def on_iteration(intermediate_result):  # SciPy passes the accepted point by this name
        v = intermediate_result.x
        if not np.array_equal(last.get("v"), v):
            fun(v)
        with runs.cond:
            runs.rows[i].append((v.copy(), last["row"]))
            if runs.abort:
                raise _Abort

    try:
        runs.results[i] = lbfgs_b(fun, x0, steps, on_iteration)
    except _Abort:
        pass
    except BaseException as e:  # noqa: BLE001 - handed to the caller's thread, raised there
        runs.error = e
    with runs.cond:
        runs.done[i] = True
        runs.cond.notify_all()


def _round(runs, k):
    """(points (B, n), rows) of iteration k of every run, or None while a run has not reached it.
    A run that ended before iteration k stays at its last accepted point (or its start)."""
    if not all(len(r) > k or d for r, d in zip(runs.rows, runs.done)) or not any(len(r) > k for r in runs.rows):
        return None
    picks = [r[k] if len(r) > k else (r[-1] if r else runs.first[i]) for i, r in enumerate(runs.rows)]
    return np.stack([p for p, _ in picks]), [row for _, row in picks]


def minimize_batch(evaluate, x0, steps, on_iteration):
    """B independent L-BFGS-B minimisations in [0, 1], ``steps`` iterations each, tolerances 0
    (the authors' optimiser for eq. 7, docs/method.md; Figure 3's twenty images at once: notebook 04).

    evaluate(points (B, n) float64) -> (f (B,), grad (B, n) float64, rows: B objects), called in
        this thread only; row i (e.g. image i's loss terms) comes back to ``on_iteration``.
    on_iteration(k, points (B, n), rows) after iteration k of every run (a run that ended early
        is at its last point); True stops them all.
    Returns (final points (B, n), iterations done, SciPy results of the runs that ended early
    by themselves: {i: OptimizeResult}, whether on_iteration stopped the runs). Raises NonFinite
    where a run's starting loss is not finite, KeyboardInterrupt after Ctrl-C; then every thread
    has ended, and the last ``on_iteration`` saw the last complete iteration.
    """
    x0 = np.asarray(x0, np.float64)  # (B, n)
    runs = _Runs(x0, evaluate)
    threads = [threading.Thread(target=_run, args=(runs, i, x0[i].copy(), steps), daemon=True)
               for i in range(runs.batch)]
    for t in threads:
        t.start()
    k, stopped, last = 0, False, x0
    try:
        with runs.cond:
            while not all(runs.done) and runs.error is None:
                while not runs.waiting() and runs.error is None:
                    runs.cond.wait(0.5)  # a timeout: Ctrl-C reaches this thread
                while (picked := _round(runs, k)) is not None and not stopped:  # each complete iteration
                    last = picked[0]
                    stopped = bool(on_iteration(k, *picked))
                    k += 1
                if stopped:
                    break
                if not all(runs.done) and runs.error is None:
                    runs.answer_all()
                    runs.cond.notify_all()
            while not stopped and (picked := _round(runs, k)) is not None:  # the runs' last iterations
                last = picked[0]
                stopped = bool(on_iteration(k, *picked))
                k += 1
    finally:
        runs.stop()
        for t in threads:
            t.join()
    if runs.error is not None:
        raise runs.error
    if stopped:
        return last, k, {}, True
    final = np.stack([r.x for r in runs.results])  # (B, n)
    early = {i: r for i, r in enumerate(runs.results) if r.nit < steps}
    return final, k, early, False
