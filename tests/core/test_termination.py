"""paramfit.core.termination: MINPACK's convergence tests, once for one fit and for B fits.

The reference is MINPACK-1's ``lmdif`` itself (Moré, Garbow and Hillstrom 1980), its
assignments of ``info`` transcribed below as they appear there, one after the other
(the last assignment that holds wins within each group), independently of the
table-driven code under test.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from paramfit.core import termination
from paramfit.core.batch_linalg import radius_update
from paramfit.core.bounds import active_bounds, pegged_columns, truncate_step
from paramfit.core.solvers.levenberg_marquardt import _radius_update
from paramfit.core.termination import (
    FAST_FTOL_MAX,
    FAST_LIMIT,
    PRIORITY,
    RUNNING,
    Termination,
    check_convergence,
    convergence_codes,
)

EPS = float(np.finfo(float).eps)
FTOL, XTOL, MAX_NFEV = 1e-10, 1e-8, 50


def lmdif_info(actred, prered, ratio, delta, xnorm, gnorm, nfev, accepted, last_actred,
               ftol=FTOL, xtol=XTOL, max_nfev=MAX_NFEV):
    """MINPACK lmdif's tests after a step, statement by statement (plus the
    project's superlinear ftol test, which the single-fit core makes last)."""
    info = 0
    if abs(actred) <= ftol and prered <= ftol and 0.5 * ratio <= 1.0:
        info = 1
    if delta <= xtol * xnorm:
        info = 2
    if abs(actred) <= ftol and prered <= ftol and 0.5 * ratio <= 1.0 and info == 2:
        info = 3
    if info != 0:
        return info
    if nfev >= max_nfev:
        info = 5
    if abs(actred) <= EPS and prered <= EPS and 0.5 * ratio <= 1.0:
        info = 6
    if delta <= EPS * xnorm:
        info = 7
    if gnorm <= EPS:
        info = 8
    if info != 0:
        return info
    if (accepted and ftol <= FAST_FTOL_MAX and 0.0 < actred <= FAST_LIMIT * last_actred
            and prered <= FAST_LIMIT * last_actred and actred * actred <= ftol * last_actred
            and prered * prered <= ftol * last_actred):
        return 1
    return None


#: Values of each argument for which its tests hold or not (the reductions at the ftol
#: level and at machine precision, the radius relative to xnorm = 1 at both levels, the
#: gradient at machine precision, the budget).
#: The stringent tests (6, 7) can only end a fit whose ftol, xtol is below machine
#: precision, else the ordinary test holds too and wins: hence the tolerances below.
TOLERANCES = ((FTOL, XTOL), (1e-17, 1e-17), (0.0, 0.0))
ACTRED = (0.5, 2e-11, 1e-16, 1e-17, 0.0, -1e-16, -0.3)
PRERED = (0.6, 2e-11, 1e-16, 1e-17, 0.0)
RATIO = (1.0, 3.0)
DELTA = (1.0, 1e-9, 1e-17, 1e-18, 0.0)
GNORM = (1e-3, 1e-17)
NFEV = (10, MAX_NFEV)


def grid():
    for values in itertools.product(ACTRED, PRERED, RATIO, DELTA, GNORM, NFEV):
        yield (*values[:4], 1.0, *values[4:])


def test_scalar_tests_are_lmdifs_in_its_priority():
    seen = set()
    for (ftol, xtol), args in itertools.product(TOLERANCES, grid()):
        expected = lmdif_info(*args, False, 0.0, ftol=ftol, xtol=xtol)
        got = check_convergence(*args, False, 0.0, ftol, xtol, MAX_NFEV)
        assert (None if got is None else got.code) == expected, (ftol, xtol, args)
        seen.add(expected)
    # every code occurs, and with several tests holding at once (e.g. all four
    # stringent ones: 8 wins, MINPACK's last assignment; before, the batch gave 5)
    assert seen == {None, 1, 2, 3, 5, 6, 7, 8}
    assert check_convergence(1e-16, 1e-16, 1.0, 1e-17, 1.0, 1e-17, MAX_NFEV, False, 0.0,
                             0.0, 0.0, MAX_NFEV) is Termination.GTOL_TOO_SMALL


def test_superlinear_ftol_test_comes_last():
    # actred 1e-9 after 1e-3: superlinear, 1e-18 <= ftol * 1e-3 with ftol = 1e-15
    ftol = 1e-15
    args = (1e-9, 1e-9, 1.0, 1.0, 1.0, 1e-3, 10)
    assert lmdif_info(*args, True, 1e-3, ftol=ftol) == 1
    assert check_convergence(*args, True, 1e-3, ftol, XTOL, MAX_NFEV) is Termination.FTOL
    # only for an accepted step, a tight ftol, and after a much larger reduction
    assert check_convergence(*args, False, 1e-3, ftol, XTOL, MAX_NFEV) is None
    assert check_convergence(*args, True, 1e-3, 1e-12, XTOL, MAX_NFEV) is None
    assert check_convergence(*args, True, 1e-7, ftol, XTOL, MAX_NFEV) is None
    # the budget outranks it
    assert check_convergence(*args[:-1], MAX_NFEV, True, 1e-3, ftol, XTOL,
                             MAX_NFEV) is Termination.MAX_NFEV


def test_superlinear_ftol_test_needs_the_predicted_reduction_to_agree():
    """A step the model overrated is no sign of superlinear convergence: NIST MGH09 from
    start 2 (moved by -2 ulps, OpenBLAS Sandybridge kernel) converged linearly (relative
    reductions 1.6e-11, 7.8e-12, ...) when an accepted step with ratio 2.3e-4 reduced the
    sum of squares by 2e-15 of a predicted 8.7e-12: ending there left the values 1e-6
    (relative) from the minimum, 6.01 digits.  The same step with the predicted reduction
    as small as the actual one (ratio 1) is superlinear convergence."""
    ftol = 1e-15
    overrated = (2e-15, 8.72e-12, 2.29e-4, 1.33e-6, 1.0, 2.29e-7, 10)
    assert lmdif_info(*overrated, True, 7.78e-12, ftol=ftol) is None
    assert check_convergence(*overrated, True, 7.78e-12, ftol, XTOL, MAX_NFEV) is None
    agreed = (2e-15, 2e-15, 1.0, 1.33e-6, 1.0, 2.29e-7, 10)
    assert lmdif_info(*agreed, True, 7.78e-12, ftol=ftol) == 1
    assert check_convergence(*agreed, True, 7.78e-12, ftol, XTOL,
                             MAX_NFEV) is Termination.FTOL
    # a predicted reduction that is not a number is no sign either
    assert check_convergence(2e-15, math.nan, math.nan, 1.33e-6, 1.0, 2.29e-7, 10, True,
                             7.78e-12, ftol, XTOL, MAX_NFEV) is None


def test_array_tests_equal_the_scalar_ones_elementwise():
    """convergence_codes on arrays of fits gives each fit check_convergence's code,
    from the same expressions; NaN (a failed trial) passes no test."""
    rows = list(grid())
    rows += [(math.nan, 0.1, math.nan, 1.0, 1.0, 1e-3, 10),
             (-1.0, math.inf, -0.0, 1e-17, 1.0, 1e-3, 10)]
    columns = [np.array(column) for column in zip(*rows)]
    for (ftol, xtol), (accepted, last) in itertools.product(
            ((1e-15, XTOL), (0.0, 0.0)), ((False, 0.0), (True, 1e-3))):
        codes = convergence_codes(*columns, ftol, xtol, MAX_NFEV,
                                  accepted=np.full(len(rows), accepted),
                                  last_actred=np.full(len(rows), last))
        assert codes.dtype == np.int8
        for row, code in zip(rows, codes.tolist()):
            single = check_convergence(*row, accepted, last, ftol, xtol, MAX_NFEV)
            assert code == (RUNNING if single is None else single.code), row
    # without accepted/last_actred the superlinear test never holds
    plain = convergence_codes(*columns, 1e-15, XTOL, MAX_NFEV)
    for row, code in zip(rows, plain.tolist()):
        single = check_convergence(*row, False, 0.0, 1e-15, XTOL, MAX_NFEV)
        assert code == (RUNNING if single is None else single.code)


def test_priority_table_is_minpacks_order():
    assert [member.code for member in PRIORITY] == [3, 2, 1, 8, 7, 6, 5, 1]
    assert len(termination._conditions(*([0.0] * 7), False, 0.0, FTOL, XTOL,
                                       MAX_NFEV)) == len(PRIORITY)


def test_batch_radius_update_is_the_single_fit_rule():
    """The batch solver's vectorised trust-radius update gives, element by element,
    the single-fit core's delta (same operations: equal bits)."""
    rng = np.random.default_rng(1)
    n = 4000
    ratio = rng.choice([-2.0, 0.0, 1e-5, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0, math.nan], n)
    actred = rng.choice([-1.0, -0.2, 0.0, 1e-8, 0.3], n)
    dirder = -rng.uniform(0.0, 1.0, n)
    fnorm = rng.uniform(0.5, 2.0, n)
    fnorm1 = np.where(rng.random(n) < 0.1, math.inf, fnorm * rng.uniform(0.0, 20.0, n))
    delta = rng.uniform(0.0, 3.0, n)
    pnorm = rng.uniform(0.0, 3.0, n)
    mu = np.where(rng.random(n) < 0.1, 0.0, rng.uniform(1e-6, 1.0, n))
    truncated = rng.random(n) < 0.3
    got = radius_update(ratio, actred, dirder, fnorm, fnorm1, delta, pnorm, mu, truncated)
    for i in range(n):
        if actred[i] < 0.0 and dirder[i] + 0.5 * actred[i] == 0.0:
            continue                       # 0/0: no step gives it (dirder < 0 there)
        want, _ = _radius_update(ratio[i], actred[i], dirder[i], fnorm[i], fnorm1[i],
                                 delta[i], pnorm[i], mu[i], bool(truncated[i]))
        assert got[i] == want, i


def bounds_case(seed, n=4, b=300):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, b))
    lower = np.where(rng.random((n, 1)) < 0.6, -0.5, -np.inf)
    upper = np.where(rng.random((n, 1)) < 0.6, 0.7, np.inf)
    x = np.clip(x, lower, upper)
    x[:, :20] = np.where(rng.random((n, 20)) < 0.5, lower, x[:, :20])   # on a bound
    x = np.where(np.isfinite(x), x, 0.0)
    step = rng.normal(size=(n, b)) * 10.0 ** rng.uniform(-3, 1, b)
    max_step = np.array([[np.nan], [0.3], [0.0], [2.0]])[:n]
    return x, step, lower, upper, max_step


@pytest.mark.parametrize("seed", [2, 3])
def test_bounds_functions_on_columns_equal_one_fit_each(seed):
    """truncate_step, pegged_columns and active_bounds on (n, B) arrays: every column
    as the single-fit call on that column alone, bit for bit."""
    x, step, lower, upper, max_step = bounds_case(seed)
    gradient = np.random.default_rng(seed + 10).normal(size=x.shape)
    for limit in (None, max_step):
        trial, alpha = truncate_step(x, step, lower, upper, limit)
        assert alpha.shape == (x.shape[1],) and (alpha < 1.0).any() and (alpha == 1.0).any()
        for j in range(x.shape[1]):
            one = truncate_step(x[:, j], step[:, j], lower[:, 0], upper[:, 0],
                                None if limit is None else limit[:, 0])
            assert isinstance(one[1], float) and one[1] == alpha[j], j
            np.testing.assert_array_equal(trial[:, j], one[0])
            assert np.all((lower[:, 0] <= one[0]) & (one[0] <= upper[:, 0]))
    pegged = pegged_columns(x, gradient, lower, upper)
    active = active_bounds(x, lower, upper)
    assert pegged.any() and (active != 0).any()
    for j in range(x.shape[1]):
        np.testing.assert_array_equal(
            pegged[:, j], pegged_columns(x[:, j], gradient[:, j], lower[:, 0], upper[:, 0]))
        np.testing.assert_array_equal(active[:, j],
                                      active_bounds(x[:, j], lower[:, 0], upper[:, 0]))


def test_long_step_to_a_bound_stops_halfway_and_short_one_snaps():
    """A step reaching a bound after most of its length stays interior (halfway there);
    one that overshoots by a lot (reaching the bound in its first quarter) lands on it."""
    lower, upper = np.array([0.0, -np.inf]), np.array([np.inf, np.inf])
    x = np.array([1.0, 2.0])
    # reaches x0 = 0 at alpha = 1 / 1.25 = 0.8: halved to 0.4, x0 = 0.5
    trial, alpha = truncate_step(x, np.array([-1.25, 1.0]), lower, upper, None)
    assert alpha == pytest.approx(0.4, rel=1e-15)              # 0.8 / 2, two roundings
    np.testing.assert_allclose(trial, [0.5, 2.4], rtol=1e-15)
    assert trial[0] > lower[0]
    # reaches it at alpha = 0.1 (<= 0.25): snapped exactly onto the bound
    trial, alpha = truncate_step(x, np.array([-10.0, 1.0]), lower, upper, None)
    assert alpha == pytest.approx(0.1, rel=1e-15) and trial[0] == 0.0
    # the batch form does the same column by column
    xs, steps = np.array([[1.0, 1.0], [2.0, 2.0]]), np.array([[-1.25, -10.0], [1.0, 1.0]])
    trials, alphas = truncate_step(xs, steps, lower[:, None], upper[:, None], None)
    np.testing.assert_allclose(alphas, [0.4, 0.1], rtol=1e-15)
    assert trials[0, 1] == 0.0 and trials[0, 0] == pytest.approx(0.5, rel=1e-15)
