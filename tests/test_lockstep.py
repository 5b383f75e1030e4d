"""Independent L-BFGS-B runs in lock-step (styletf.lockstep) against SciPy's L-BFGS-B run alone."""
import threading

import numpy as np
import pytest
from scipy.optimize import Bounds, minimize

import styletf
from styletf import lockstep

OPTIONS = {"ftol": 0.0, "gtol": 0.0}


def _problem(batch, n=60, seed=0):
    """B independent smooth problems in [0, 1]^n, a thousandfold apart in scale: row i is
    s_i * (sum_j a_ij (x_j - c_ij)^2 + 0.1 sum_j (x_j - x_(j+1))^4), minimum partly on the bounds."""
    rng = np.random.default_rng(seed)
    a = rng.uniform(0.5, 5.0, (batch, n))
    c = rng.uniform(-0.3, 1.3, (batch, n))
    s = 10.0 ** np.arange(batch)

    def row(i, v):
        d = np.diff(v)
        f = s[i] * (np.sum(a[i] * (v - c[i]) ** 2) + 0.1 * np.sum(d ** 4))
        g = 2 * a[i] * (v - c[i])
        g[:-1] -= 0.4 * d ** 3
        g[1:] += 0.4 * d ** 3
        return f, s[i] * g

    x0 = rng.uniform(size=(batch, n))
    return row, x0


def _evaluate(row, calls=None):
    def evaluate(points):
        if calls is not None:
            calls.append(points.copy())
        out = [row(i, p) for i, p in enumerate(points)]
        return np.array([f for f, _ in out]), np.stack([g for _, g in out]), [f for f, _ in out]
    return evaluate


def _alone(row, i, x0, steps):
    """SciPy's L-BFGS-B on problem i by itself: the result and the point of every iteration."""
    iterates = []
    r = minimize(lambda v: row(i, v), x0, jac=True, method="L-BFGS-B", bounds=Bounds(0.0, 1.0),
                 callback=lambda intermediate_result: iterates.append(intermediate_result.x.copy()),
                 options={"maxiter": steps, "maxfun": 50 * steps, **OPTIONS})
    return r, iterates


def test_each_run_takes_the_path_it_takes_alone():
    row, x0 = _problem(4)
    seen = []
    final, done, early, stopped = lockstep.minimize_batch(
        _evaluate(row), x0, 10, lambda k, points, rows: seen.append((k, points.copy(), rows)))
    assert done == 10 and not stopped and early == {}
    assert [k for k, _, _ in seen] == list(range(10))
    for i in range(4):
        alone, iterates = _alone(row, i, x0[i], 10)
        assert alone.nit == 10
        np.testing.assert_array_equal(final[i], alone.x)  # bitwise: the same questions, the same answers
        for k, points, rows in seen:
            np.testing.assert_array_equal(points[i], iterates[k])
            assert rows[i] == row(i, iterates[k])[0]  # the losses at that iteration's point
    assert not np.allclose(final[0], final[1])


def test_one_call_answers_every_run_at_once():
    row, x0 = _problem(3)
    calls = []
    lockstep.minimize_batch(_evaluate(row, calls), x0, 10, lambda *a: None)
    # alone, each run asks for about one point per iteration; together they share the calls
    alone_calls = [_alone(row, i, x0[i], 10)[0].nfev for i in range(3)]
    assert len(calls) <= max(alone_calls) + 10 < sum(alone_calls)
    assert all(c.shape == x0.shape for c in calls)


def test_a_run_that_ends_by_itself_waits_at_its_last_point():
    row, x0 = _problem(3)
    x0[1] = np.clip(_alone(row, 1, x0[1], 200)[0].x, 0, 1)  # run 1 starts at its minimum
    alone1, iterates1 = _alone(row, 1, x0[1], 20)
    assert alone1.nit < 20  # SciPy ends it early by itself
    seen = []
    final, done, early, _ = lockstep.minimize_batch(_evaluate(row), x0, 20,
                                                    lambda k, p, r: seen.append(p[1].copy()))
    assert done == 20 and list(early) == [1] and early[1].nit == alone1.nit
    np.testing.assert_array_equal(final[1], alone1.x)
    for k, p in enumerate(seen):  # after its end, its last point (its start if it took no step)
        want = iterates1[k] if k < len(iterates1) else (iterates1[-1] if iterates1 else x0[1])
        np.testing.assert_array_equal(p, want)
    np.testing.assert_array_equal(final[0], _alone(row, 0, x0[0], 20)[0].x)


def test_stop_and_ctrl_c_end_every_thread_and_keep_the_last_iteration():
    row, x0 = _problem(3)
    before = threading.active_count()
    final, done, _, stopped = lockstep.minimize_batch(_evaluate(row), x0, 50, lambda k, p, r: k == 4)
    assert stopped and done == 5 and threading.active_count() == before
    for i in range(3):
        np.testing.assert_array_equal(final[i], _alone(row, i, x0[i], 50)[1][4])

    def press(k, p, r):
        if k == 2:
            raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        lockstep.minimize_batch(_evaluate(row), x0, 50, press)
    assert threading.active_count() == before


def test_a_non_finite_start_is_refused_and_a_non_finite_trial_point_is_backed_off():
    row, x0 = _problem(2)

    def nan_start(points):
        f, g, rows = _evaluate(row)(points)
        f[1] = np.nan
        return f, g, rows
    with pytest.raises(lockstep.NonFinite):
        lockstep.minimize_batch(nan_start, x0, 5, lambda *a: None)

    def nan_far(points):  # infinite loss far from the start: the line search backs off
        f, g, rows = _evaluate(row)(points)
        f[np.abs(points - x0).max(axis=1) > 0.2] = np.inf
        return f, g, rows
    final, done, _, _ = lockstep.minimize_batch(nan_far, x0, 10, lambda *a: None)
    assert np.all(np.isfinite(final)) and np.abs(final - x0).max() <= 0.2


def test_an_lbfgs_batch_equals_the_images_alone():
    """synthesize(batch=3, optimizer="lbfgs"): each image (own seed, alpha, beta) as alone; on the
    CI CPU bitwise at 48 px (batched convolutions may sum in another order elsewhere: 1e-5)."""
    kw = dict(content="neckarfront", style="composition_vii", size=48, steps=12, optimizer="lbfgs",
              backbone="vgg16-hed", network="auto", style_layers=["conv1_1", "conv2_1", "conv3_1"], progress=False)
    alpha, beta = [1.0, 2.0, 1.0], [1e2, 1e3, 1e4]
    batched = styletf.synthesize(batch=3, seed=3, alpha=alpha, beta=beta, **kw)
    assert batched.history["total"].shape == (12, 3)
    for i in range(3):
        alone = styletf.synthesize(seed=3 + i, alpha=alpha[i], beta=beta[i], **kw)
        np.testing.assert_allclose(batched.image.numpy()[i], alone.image.numpy()[0], atol=1e-5)
        np.testing.assert_allclose(batched.history["total"][:, i], alone.history["total"][:, 0], rtol=1e-5)
    assert not np.allclose(batched.image.numpy()[0], batched.image.numpy()[2])


def test_lbfgs_with_total_variation_smooths_and_a_second_run_reuses_nothing_stale():
    """The traced loss takes the weights as arguments: a run with tv_weight and the runs after it
    (same shapes, other weights) each minimise their own objective (TV by numpy differences)."""
    kw = dict(content="neckarfront", style="starry_night", size=48, steps=15, optimizer="lbfgs",
              backbone="vgg16-hed", network="auto", beta=1e3, progress=False)

    def tv(r):  # sum of absolute neighbour differences, as docs/method.md defines it
        x = r.image.numpy()[0]
        return np.abs(np.diff(x, axis=0)).sum() + np.abs(np.diff(x, axis=1)).sum()
    plain = styletf.synthesize(**kw)
    smooth = styletf.synthesize(tv_weight=1e5, **kw)
    again = styletf.synthesize(**kw)
    assert tv(smooth) < 0.7 * tv(plain)
    assert smooth.final["tv"][0] > 0 and plain.final["tv"][0] == 0
    np.testing.assert_array_equal(again.image.numpy(), plain.image.numpy())  # the tv run left nothing behind
    content_heavy = styletf.synthesize(**{**kw, "beta": 1.0})  # through the kept function
    from styletf import optimize
    optimize._TRACED.clear()
    fresh = styletf.synthesize(**{**kw, "beta": 1.0})  # traced anew
    np.testing.assert_array_equal(content_heavy.image.numpy(), fresh.image.numpy())
    assert content_heavy.final["content"][0] < 0.5 * plain.final["content"][0]  # its own beta
