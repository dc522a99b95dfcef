"""Solver decisions that must not hinge on the last bit (issue: tests that hold anywhere).

Each test moves the start (or the data) by a few units in the last place and asks for the
same outcome, against an independent answer computed in the same test.
"""

from __future__ import annotations

import numpy as np
import pytest

from paramfit import Parameters, minimize
from paramfit.core.differentiation.finite_differences import finite_difference_jacobian
from paramfit.core.differentiation.solution import accurate_jacobian

RNG = np.random.default_rng(11)
X = np.linspace(0.0, 4.0, 30)
Y = 1.5 + 0.7 * X - 0.2 * X**2 + RNG.normal(scale=0.05, size=X.size)
DESIGN = np.column_stack([np.ones_like(X), X, X**2])
BETA = np.linalg.lstsq(DESIGN, Y, rcond=None)[0]
#: The polished answer of a linear model is the least-squares solution to rounding:
#: cond(DESIGN) ~ 60, so ~1e-13 relative; the iterate before the polish is ~1e-9 off.
POLISHED_RTOL = 1e-12


def _nudged(value: float, ulps: int) -> float:
    direction = np.inf if ulps > 0 else -np.inf
    for _ in range(abs(ulps)):
        value = float(np.nextafter(value, direction))
    return value


@pytest.mark.parametrize("ulps", [-3, -2, -1, 0, 1, 2, 3])
def test_polish_is_kept_when_the_norm_changes_by_rounding_only(ulps):
    # The Gauss-Newton polish lands on the exact answer; its sum of squares may come out a
    # few rounding units above the iterate's (measured -13..+13 units under four OpenBLAS
    # kernels).  It used to be rejected then, leaving values 1e-9..5e-9 off.
    params = Parameters()
    for name in ("c0", "c1", "c2"):
        params.add(name, value=_nudged(0.1, ulps))

    def quad(p):
        v = p.valuesdict()
        return v["c0"] + v["c1"] * X + v["c2"] * X**2 - Y

    # the Richardson final Jacobian (exact to rounding on this linear model): the polish
    # then lands on the least-squares solution; the default 'reuse' Jacobian (~1e-8
    # relative error) leaves ~1e-10 (test_final_jacobian_reuse.py)
    minimize(quad, params, final_jacobian="richardson")
    values = [params[n].value for n in ("c0", "c1", "c2")]
    np.testing.assert_allclose(values, BETA, rtol=POLISHED_RTOL)


@pytest.mark.parametrize("x0", [5e-324, 1e-315, -2e-320])
def test_finite_differences_at_a_subnormal_value(x0):
    # A step relative to a subnormal value underflows (or vanishes in the residual's
    # rounding); taking the relative step itself, as MINPACK does at 0, gives the
    # derivative instead of a zero column or a division by zero.  d/dp (3 p + 1) = 3
    # exactly; the forward difference with h ~ 1.5e-8 carries the rounding of 1 + 3h,
    # ~1e-8 relative.
    def fun(p):
        return np.array([3.0 * p[0] + 1.0, -3.0 * p[0]])

    x = np.array([x0])
    f0 = fun(x)
    forward, _ = finite_difference_jacobian(fun, x, f0, lower=None, upper=None)
    np.testing.assert_allclose(forward[:, 0], [3.0, -3.0], rtol=1e-7)
    accurate, _ = accurate_jacobian(fun, x, f0, lower=None, upper=None)
    # central differences of a linear function: rounding only, h ~ 2e-3: ~1e-13
    np.testing.assert_allclose(accurate[:, 0], [3.0, -3.0], rtol=1e-12)


def test_polish_within_the_residuals_own_rounding_is_kept(monkeypatch):
    # The quadratic above riding on 1e6: each residual carries ~1e-10 of rounding, so the
    # computed sum of squares moves by ~1e-9 of itself whatever the step, far above the
    # fixed floor that tells a harmless polish step from a harmful one
    # (POLISH_NOISE_FLOOR).  The polish then measures the rounding at the step's mirror
    # point and keeps a step that rounding alone can explain (final_phase._within_rounding).
    import paramfit.core.solvers.final_phase as final_phase

    offset = 1e6
    data = offset + Y
    exact = np.linalg.lstsq(DESIGN, data - offset, rcond=None)[0]    # data - offset: exact

    def shifted(p):
        v = p.valuesdict()
        return offset + v["c0"] + v["c1"] * X + v["c2"] * X**2 - data

    def distance():
        params = Parameters()
        for name in ("c0", "c1", "c2"):
            params.add(name, value=0.1)
        minimize(shifted, params)
        return np.linalg.norm([params[n].value for n in ("c0", "c1", "c2")] - exact)

    kept = distance()
    monkeypatch.setattr(final_phase, "ROUNDING_BOUND", -np.inf)    # the fixed floor alone
    rejected = distance()
    # measured: 9e-9 with the polish (the final Jacobian's rounding, eps 1e6 over
    # Richardson's step, bounds it), 1.8e-7 without: a factor 5 leaves room for other
    # BLAS kernels and rounding of the start
    assert kept * 5 < rejected
