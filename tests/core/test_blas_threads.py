"""One BLAS thread for a fit's linear algebra (paramfit.core.solvers.blas_threads, issue 13 item 5).

The thread counts are read with threadpoolctl itself (the library the mechanism uses),
from inside the fit: in the user's residual function and in wrappers around the
solver's linear algebra.  Every test that needs threadpoolctl skips without it; one
test checks that fits work when it is absent.

The problems have 12,000 residuals and 5 parameters: above
:data:`paramfit.core.solvers.blas_threads.MIN_ELEMENTS`, and long enough (more than 10,000
elements) for OpenBLAS to thread a dot product.
"""

from __future__ import annotations

import importlib
import os
import sys
import threading

import numpy as np
import pytest

import paramfit
import paramfit.core.solvers.blas_threads as _blas_threads

#: the solver's module (``paramfit.core.solvers.levenberg_marquardt`` names its function)
lm_module = importlib.import_module("paramfit.core.solvers.levenberg_marquardt")
trust_region = importlib.import_module("paramfit.core.linalg")
M = 12_000
#: A thread count of the user's, set around the fits: unlike the machine's default and
#: unlike 1, so that restoring it is seen (OpenBLAS accepts more threads than cores).
USER_THREADS = 3


def gaussian_line(m: int = M) -> tuple[np.ndarray, np.ndarray]:
    x = np.linspace(-5, 5, m)
    y = 4.0 * np.exp(-((x - 0.3) ** 2) / (2 * 0.8**2)) + 0.2 * x + 1.0
    return x, y + np.random.default_rng(11).normal(scale=0.05, size=m)


def start() -> paramfit.Parameters:
    p = paramfit.Parameters()
    for name, value in dict(amp=3.0, cen=0.0, wid=1.0, slope=0.0, icpt=0.5).items():
        p.add(name, value=value)
    return p


def residual(p: paramfit.Parameters, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    v = p.valuesdict()
    return (v["amp"] * np.exp(-((x - v["cen"]) ** 2) / (2 * v["wid"] ** 2))
            + v["slope"] * x + v["icpt"] - y)


@pytest.fixture
def controller():
    """A threadpoolctl controller of the loaded BLAS libraries (numpy's and scipy's)."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    controller = threadpoolctl.ThreadpoolController().select(user_api="blas")
    if not controller.lib_controllers:
        pytest.skip("threadpoolctl finds no BLAS library to limit here")
    return controller


@pytest.fixture
def blas(controller):
    """:func:`controller` with the user's setting :data:`USER_THREADS` in force."""
    with controller.limit(limits=USER_THREADS):
        yield controller


def threads(controller) -> list[int]:
    return [info["num_threads"] for info in controller.info()]


class Recorder:
    """Thread counts seen from inside a fit, by the place that saw them."""

    def __init__(self, controller):
        self.controller = controller
        self.seen: dict[str, list[list[int]]] = {}

    def record(self, where: str) -> None:
        self.seen.setdefault(where, []).append(threads(self.controller))

    def wrap(self, monkeypatch, owner, name: str) -> None:
        original = getattr(owner, name)

        def wrapper(*args, **kwargs):
            self.record(name)
            return original(*args, **kwargs)

        monkeypatch.setattr(owner, name, wrapper)

    def residual(self, p, x, y):
        self.record("residual")
        return residual(p, x, y)


def test_limit_in_force_during_the_fit_and_restored_after(blas, monkeypatch):
    recorder = Recorder(blas)
    # the solver's linear algebra: the finite-difference Jacobian (with its finiteness
    # dot product), the Gram matrix of the tall Jacobian, the pivoted QR and the step;
    # the residual function also runs in the final phase (the accurate Jacobian)
    for owner, name in ((lm_module, "finite_difference_jacobian"),
                        (trust_region, "gram_matrix"), (trust_region, "_pivoted_qr"),
                        (lm_module, "lm_step")):
        recorder.wrap(monkeypatch, owner, name)
    x, y = gaussian_line()
    before = threads(blas)
    out = paramfit.minimize(recorder.residual, start(), args=(x, y))
    assert out.success
    assert before == [USER_THREADS] * len(before)
    assert threads(blas) == before                    # the user's setting is back
    # every wrapped place was reached (a test that looks at nothing cannot pass)
    assert set(recorder.seen) == {"residual", "finite_difference_jacobian", "gram_matrix",
                                  "_pivoted_qr", "lm_step"}
    for where, counts in recorder.seen.items():
        if where == "residual":
            # the first call is the start residual, made before the solver starts
            counts = counts[1:]
        assert counts and all(c == [1] * len(before) for c in counts), where


def test_small_problem_is_left_alone(blas):
    # 200 x 5 = 1000 Jacobian elements < MIN_ELEMENTS: no limit, no cost
    assert 200 * 5 < _blas_threads.MIN_ELEMENTS
    recorder = Recorder(blas)
    x, y = gaussian_line(200)
    assert paramfit.minimize(recorder.residual, start(), args=(x, y)).success
    counts = recorder.seen["residual"]
    assert len(counts) > 10 and all(c == [USER_THREADS] * len(c) for c in counts)


def test_user_setting_restored_when_the_fit_raises(blas):
    recorder = Recorder(blas)
    x, y = gaussian_line()

    def failing(p, x, y):
        if len(recorder.seen.get("residual", ())) == 10:
            recorder.record("raising")
            raise ValueError("model failed")
        return recorder.residual(p, x, y)

    with pytest.raises(ValueError, match="model failed"):   # the user's own (issue 15 #10)
        paramfit.minimize(failing, start(), args=(x, y))
    assert recorder.seen["raising"] == [[1] * len(threads(blas))]   # raised inside the limit
    assert threads(blas) == [USER_THREADS] * len(threads(blas))


def test_a_model_can_take_threads_back_inside_the_fit(blas):
    """The documented way for a model that wants BLAS threads: its own threadpoolctl
    limit inside the residual function, nested in paramfit's."""
    recorder = Recorder(blas)
    x, y = gaussian_line()

    def threaded(p, x, y):
        recorder.record("outside")
        with blas.limit(limits=USER_THREADS):
            recorder.record("inside")
            return residual(p, x, y)

    assert paramfit.minimize(threaded, start(), args=(x, y)).success
    n_libs = len(threads(blas))
    # the first call is the start residual, made before the solver starts
    assert all(c == [1] * n_libs for c in recorder.seen["outside"][1:])
    assert all(c == [USER_THREADS] * n_libs for c in recorder.seen["inside"])
    assert threads(blas) == [USER_THREADS] * n_libs


def test_nested_and_concurrent_fits_restore_the_setting(controller):
    """One fit at a time holds the limit: fits in several threads at once, and a fit
    inside a residual function, leave the thread counts as they were (threadpoolctl's
    limits, overlapped from several threads, could restore one another's limit)."""
    x, y = gaussian_line()
    before = threads(controller)
    errors = []
    local = threading.local()

    def nested(p, x, y):
        if not getattr(local, "done", False):      # one inner fit, at the start
            local.done = True
            assert paramfit.minimize(residual, start(), args=(x, y)).success
        return residual(p, x, y)

    def work(fcn):
        try:
            for _ in range(2):
                assert paramfit.minimize(fcn, start(), args=(x, y)).success
        except BaseException as exc:   # reported by the main thread
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(f,))
               for f in (residual, residual, nested, residual)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert not errors
    assert threads(controller) == before


def fitted(fcn=residual, m: int = M):
    x, y = gaussian_line(m)
    out = paramfit.minimize(fcn, start(), args=(x, y))
    values = np.array([p.value for p in out.params.values()])
    stderr = np.array([p.stderr for p in out.params.values()])
    return values, stderr, out.covar, out.residual, out.chisqr


def test_same_result_bit_for_bit_and_as_unlimited(controller, monkeypatch):
    first, second = fitted(), fitted()
    for a, b in zip(first, second):
        assert np.array_equal(a, b)            # the same inputs, the same arithmetic
    monkeypatch.setattr(_blas_threads, "MIN_ELEMENTS", sys.maxsize)   # the limit off
    values, stderr, covar, _, chisqr = fitted()
    # With the default BLAS threads the dot products are summed in another order
    # (per-thread partial sums), which moves the last bits of the sums (at most about
    # m eps = 3e-12 relative) and so of each step; the minimum found moves by a
    # rounding-level amount (about 1e-11 of the standard errors here).  1e-6 of a
    # standard error is a difference of no statistical meaning, yet 1e5 times that.
    assert np.all(np.abs(values - first[0]) <= 1e-6 * first[1])
    np.testing.assert_allclose(stderr, first[1], rtol=1e-6)      # the same reason
    np.testing.assert_allclose(covar, first[2], rtol=1e-6, atol=1e-6 * np.max(np.abs(covar)))
    # chi-square is flat at the minimum: what is left is the rounding of its sum of
    # 12,000 squares (m eps = 2.7e-12 relative), with a margin of 4
    assert chisqr == pytest.approx(first[4], rel=1e-11)


def test_no_environment_variable_changes(blas):
    before = dict(os.environ)
    fitted()
    with _blas_threads.sequential_blas(10**9):
        pass
    assert dict(os.environ) == before


def test_fits_work_without_threadpoolctl(monkeypatch):
    """No threadpoolctl: the limit does nothing, and the fit is the same as with it."""
    try:
        from threadpoolctl import ThreadpoolController
        controller = ThreadpoolController().select(user_api="blas")
    except ImportError:
        controller = None
    with_it = fitted() if controller is not None else None
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)     # import now fails
    monkeypatch.setattr(_blas_threads, "_controller", _blas_threads._UNSET)
    assert _blas_threads.blas_controller() is None
    seen = []

    def recording(p, x, y):
        if controller is not None:
            seen.append(threads(controller))
        return residual(p, x, y)

    before = threads(controller) if controller is not None else None
    values, stderr, _, _, _ = fitted(recording)
    # a 12,000-point Gaussian + line with noise 0.05: amp, cen, wid, slope, icpt are
    # found within 5 standard errors of the truth that generated the data
    truth = np.array([4.0, 0.3, 0.8, 0.2, 1.0])
    assert np.all(np.abs(values - truth) <= 5 * stderr)
    if controller is not None:
        assert all(c == before for c in seen)          # nothing was limited
        assert threads(controller) == before
        # the same fit as with the limit, to rounding (see the test above)
        assert np.all(np.abs(values - with_it[0]) <= 1e-6 * with_it[1])
