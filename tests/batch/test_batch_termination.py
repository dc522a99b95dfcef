"""The batch solver ends its fits by the single-fit core's tests, in the same priority.

Both solvers take :mod:`paramfit.core.termination`'s tests and Moré's trust-region step
(the single-fit core from a QR factorisation of ``J``, the batch from the normal
equations, so their iterates agree to rounding only); the tests here compare what the
rules decide: which code wins when two
tests hold at once (MINPACK's priority), what the xtol test measures (the trust radius),
and how fits end in regimes where one test is active.
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from paramfit.batch import fit_many
from paramfit.core.solvers.batch_levenberg_marquardt import batch_levenberg_marquardt
from paramfit.core.termination import Termination
from paramfit.models.lineshapes import gaussian
from paramfit.models.model import Model

# the module (paramfit.core.solvers exports its function under the same name)
single_core = importlib.import_module("paramfit.core.solvers.levenberg_marquardt")
X = np.linspace(-5.0, 5.0, 128)
STRINGENT = {Termination.FTOL_TOO_SMALL.code, Termination.XTOL_TOO_SMALL.code,
             Termination.GTOL_TOO_SMALL.code}
#: ftol = xtol = gtol = 0: only the stringent tests (machine precision) can end a fit
STRINGENT_ONLY = {"ftol": 0.0, "xtol": 0.0, "gtol": 0.0}


def make_data(n, seed):
    rng = np.random.default_rng(seed)
    y = gaussian(X, rng.uniform(1.0, 5.0, (n, 1)), rng.uniform(-1.0, 1.0, (n, 1)),
                 rng.uniform(0.5, 1.5, (n, 1)))
    return y + rng.normal(0.0, 0.02, y.shape)


def single_fit(y, max_nfev=None, **tolerances):
    """The single-fit core on one dataset: its termination and the evaluation count at
    which its iteration's tests ended it (before the final phase)."""
    ended = {}
    test = single_core.check_convergence

    def spy(*args):
        done = test(*args)
        if done is not None:
            ended["nfev"] = args[6]
        return done

    single_core.check_convergence = spy
    try:
        sol = single_core.levenberg_marquardt(lambda p: gaussian(X, *p) - y, [2.0, 0.0, 1.0],
                                              max_nfev=max_nfev, **tolerances)
    finally:
        single_core.check_convergence = test
    return sol.termination.code, ended.get("nfev")


def test_batch_stringent_codes_follow_single_fit_priority():
    """A stringent test and the budget in the same iteration: the stringent code wins
    (MINPACK assigns 5, 6, 7, 8 in turn, the last that holds stays), in the batch as in
    single fits.

    Each solver first runs with only the stringent tests active; it stops at some
    evaluation count n by a code 6-8.  Run again with ``max_nfev = n``, its iteration
    is the same up to n and both that test and ``nfev >= max_nfev`` hold at n.  Before,
    the batch solver gave MAX_NFEV (5) there, the single-fit core the stringent code.
    """
    data = make_data(24, seed=41)
    free = fit_many(gaussian, data, X, starts="params", **STRINGENT_ONLY)
    assert set(free.termination.tolist()) <= STRINGENT
    for n in np.unique(free.nfev):
        rows = np.flatnonzero(free.nfev == n)
        limited = fit_many(gaussian, data[rows], X, starts="params", max_nfev=int(n),
                           **STRINGENT_ONLY)
        np.testing.assert_array_equal(limited.nfev, free.nfev[rows])
        np.testing.assert_array_equal(limited.termination, free.termination[rows])
    for y in data[:8]:
        code, n = single_fit(y, **STRINGENT_ONLY)
        assert code in STRINGENT and n is not None
        assert single_fit(y, max_nfev=n, **STRINGENT_ONLY) == (code, n)


class SquareRoot:
    """``r = x**2 - c`` for B datasets of one parameter (Newton's square root): from
    ``x = 1`` every step is taken with a ratio of actual to predicted reduction of at
    least 0.75 and the steps shrink quadratically, so the relative steps of a run span many
    decades; the trial points are logged."""

    def __init__(self, c):
        self.c = np.asarray(c, dtype=float)
        self.rows = np.arange(self.c.size)
        self.trials = []

    def select(self, keep):
        self.rows = self.rows[keep]

    def __call__(self, x):
        self.trials.append((self.rows.copy(), x[0].copy()))
        r = x[0] * x[0] - self.c[self.rows]
        j = 2.0 * x[0]
        return r * r, (j * j)[None, None], (j * r)[None]


def run_square_root(c, xtol):
    evaluate = SquareRoot(c)
    sol = batch_levenberg_marquardt(evaluate, np.ones((1, len(c))), lower=np.full(1, -np.inf),
                                    upper=np.full(1, np.inf), ftol=0.0, xtol=xtol, gtol=0.0)
    return sol, evaluate.trials


def test_batch_xtol_tests_the_trust_radius():
    """The xtol test compares MINPACK's trust radius delta, not the step, with
    ``xtol ||D x||`` (Moré 1977, section 4; ``lmdif``).

    A step with ratio >= 0.75 sets ``delta = 2 ||D p||``.  xtol is put between the
    relative step and twice it at one iteration (read from a run's trial points): the step
    passes ``||D p|| <= xtol ||D x||`` there, the radius does not, so the fit must go on;
    it stops by XTOL at the first step with ``2 ||D p|| <= xtol ||D x||``.  Before, the
    batch tested the step and stopped one iteration early.
    """
    c = [3.0, 7.0, 12.5]
    sol, trials = run_square_root(c, xtol=0.0)
    assert (sol.termination != Termination.XTOL.code).all()
    points = np.array([x[0] for rows, x in trials if rows.size == len(c) and rows[0] == 0])
    # points[0] is the start, points[j + 1] the trial of step j (every step is taken),
    # evaluation j + 2; the scale D (one parameter) cancels in ||D p|| / ||D x||
    relative = np.abs(np.diff(points)) / np.abs(points[1:])
    k = int(np.flatnonzero(relative < 1e-3)[0])  # a step well inside the iteration
    xtol = 1.5 * relative[k]
    assert relative[k] <= xtol < 2.0 * relative[k]
    stop = int(np.flatnonzero(2.0 * relative <= xtol)[0])
    assert stop > k
    sol, _ = run_square_root(c, xtol=xtol)
    assert sol.termination[0] == Termination.XTOL.code
    # stopped by the test after step ``stop``, at its evaluation
    assert sol.nfev[0] == stop + 2
    np.testing.assert_allclose(sol.x[0], np.sqrt(c), rtol=1e-12)  # Newton's square root


@pytest.mark.parametrize("tolerances, code", [
    ({"ftol": 1e-10, "xtol": 0.0, "gtol": 0.0}, Termination.FTOL),
    ({"ftol": 0.0, "xtol": 1e-6, "gtol": 0.0}, Termination.XTOL),
    ({"ftol": 0.0, "xtol": 0.0, "gtol": 1e-6}, Termination.GTOL),
])
def test_batch_and_single_fits_end_by_the_same_test(tolerances, code):
    """Same data, same start: with one ordinary test active, every batch fit and every
    single fit ends by it.  Exact equality: the stringent tests, the only others
    active, hold only at machine precision, which both solvers reach only after that
    test (ftol 1e-10 also keeps the single-fit core's superlinear test, for ftol <=
    1e-13, out)."""
    data = make_data(40, seed=42)
    model = Model(gaussian)
    params = model.make_params(amplitude=2.0, center=0.0, sigma=1.0)
    batch = fit_many(model, data, X, params=params, starts="params", **tolerances)
    single = [model.fit(y, params, x=X, fit_kws=tolerances).ier for y in data]
    assert single == [code.code] * len(data)
    assert batch.termination.tolist() == single
