"""Tests of paramfit.core.differentiation.solution (accurate Jacobians at a solution) against
analytic derivatives."""

from __future__ import annotations

import numpy as np
import pytest
from _jacobian_cases import Q0, Recorder, T, column_errors, model, model_jacobian

from paramfit.core.differentiation.solution import accurate_jacobian, central_jacobian

#: accurate_jacobian's stated accuracy is about 1e-10 of a column (Richardson
#: extrapolation of central differences; measured <= 8e-13 here in the interior).
RICHARDSON_TOL = 1e-10
#: With one-sided or shortened steps at a bound it loses about a digit (measured 6e-11).
AT_BOUND_TOL = 1e-9
#: Plain central differences, h = eps**(1/3) |x|: truncation (h t)**2 / 6 = 1.4e-9
#: (measured 1.24e-9).
CENTRAL_TOL = 3e-9


@pytest.mark.parametrize("scale", [1.0, 1e-8, 1e8])
def test_accurate_jacobian_reaches_1e_minus_9(scale):
    # parameters of size Q0 / scale: 1e-8 and 1e8 as well as order one
    s = np.array([scale, 1.0 / scale, scale, 1.0 / scale])
    fun = Recorder(s)
    p = Q0 / s
    jac, nfev = accurate_jacobian(fun, p, fun(p), lower=None, upper=None)
    assert np.all(column_errors(jac, model_jacobian(Q0) * s) < RICHARDSON_TOL)
    assert nfev == len(fun.seen) - 1


@pytest.mark.parametrize("where", ["lower", "upper", "near", "tight"])
def test_accurate_jacobian_one_sided_at_bounds(where):
    fun = Recorder()
    room = {"lower": 0.0, "upper": np.inf, "near": 1e-4, "tight": 3e-3}[where]
    lower = Q0 - room
    upper = Q0 + (np.inf if where == "lower" else 0.0 if where == "upper" else room)
    jac, _ = accurate_jacobian(fun, Q0, model(Q0), lower=lower, upper=upper)
    seen = np.array(fun.seen)
    assert np.all(seen >= lower) and np.all(seen <= upper)
    assert np.all(column_errors(jac, model_jacobian(Q0)) < AT_BOUND_TOL)


def test_accurate_jacobian_zero_parameter_uses_typical_scale():
    p = np.array([2.0, 0.0, 1.5, 3.0])
    jac, _ = accurate_jacobian(model, p, model(p), lower=None, upper=None,
                               typical_x=np.array([1.0, 1e-3, 1.0, 1.0]))
    assert np.all(column_errors(jac, model_jacobian(p)) < RICHARDSON_TOL)  # measured 4e-11


def test_central_jacobian_two_evaluations_per_parameter():
    fun = Recorder()
    jac, nfev = central_jacobian(fun, Q0, model(Q0), lower=None, upper=None)
    assert nfev == 8 == len(fun.seen)
    assert np.all(column_errors(jac, model_jacobian(Q0)) < CENTRAL_TOL)


def test_central_jacobian_extrapolates_near_bounds():
    fun = Recorder()
    lower = Q0 - 1e-12
    jac, nfev = central_jacobian(fun, Q0, model(Q0), lower=lower, upper=None)
    assert np.all(np.array(fun.seen) >= lower)
    assert np.all(column_errors(jac, model_jacobian(Q0)) < AT_BOUND_TOL)  # measured 1e-11


# ------------------------------------------------- linear columns of accurate_jacobian
def test_accurate_jacobian_linear_columns_cost_two_evaluations_and_are_exact():
    # q0 and q2 enter linearly: their columns are the central quotient of the first level
    fun = Recorder()
    jac, nfev = accurate_jacobian(fun, Q0, model(Q0), lower=None, upper=None)
    exact = model_jacobian(Q0)
    errors = column_errors(jac, exact)
    # a central quotient of a linear column is exact but for rounding, eps |f| / h with
    # h = 2**-9 |q| (~1e-13; measured 7.5e-14)
    assert np.all(errors[[0, 2]] < 1e-12) and np.all(errors < RICHARDSON_TOL)
    per_column = [sum(1 for s in fun.seen if s[j] != Q0[j]) for j in range(4)]
    assert per_column[0] == per_column[2] == 2
    assert per_column[1] >= 4 and per_column[3] >= 4
    assert nfev == sum(per_column)


def test_accurate_jacobian_linear_shortcut_is_bit_identical_to_central_quotient():
    basis = np.column_stack([np.ones_like(T), T, T**2, np.sqrt(T + 1.0)])
    y = basis @ np.array([1.5, -2.0, 0.25, 3.0]) + 0.1 * np.cos(T)

    def linear(q):
        return basis @ q - y

    q = np.array([1.4, -1.9, 0.3, 2.9])
    jac, nfev = accurate_jacobian(linear, q, linear(q), lower=None, upper=None)
    assert nfev == 2 * q.size
    for j in range(q.size):
        h = 2.0**-9 * abs(q[j])
        qp, qm = q.copy(), q.copy()
        qp[j] += h
        qm[j] -= h
        expected = (linear(qp) - linear(qm)) / (qp[j] - qm[j])
        np.testing.assert_array_equal(jac[:, j], expected)  # documented: the same quotient
    assert np.all(column_errors(jac, basis) < 1e-12)  # rounding, as above


def test_accurate_jacobian_slightly_nonlinear_column_is_still_extrapolated():
    # curvature far above rounding but tiny on the scale of the step: not "linear"
    def fun(q):
        return q[0] * T + 1e-6 * q[0] ** 2

    jac, nfev = accurate_jacobian(fun, np.array([2.0]), fun(np.array([2.0])),
                                  lower=None, upper=None)
    assert nfev >= 4
    # extrapolation of a quadratic is exact but for rounding (measured 1.5e-13); had the
    # column been taken as linear, the central quotient would still be exact here, so the
    # evaluation count above is what tells the two apart
    np.testing.assert_allclose(jac[:, 0], T + 4e-6, rtol=1e-12, atol=1e-15)


def test_tiny_parameter_next_to_its_bound_gets_its_column():
    """x1 = 1e-23 just inside its bound 0 (where scipy's trust-region-reflective method
    leaves a parameter held at 0): steps relative to |x1| move nothing, so the column is
    made again with steps relative to 1 (the x = 0 rule) instead of coming out zero."""
    t = np.linspace(0.0, 4.0, 30)

    def fun(p):
        return 3.0 * np.exp(-t / p[0]) + p[1] * (1.0 + t)   # d/dp1 = 1 + t exactly

    p = np.array([1.5, 1e-23])
    jac, _ = accurate_jacobian(fun, p, fun(p), lower=np.array([-np.inf, 0.0]),
                               upper=np.array([np.inf, np.inf]))
    # a linear column: Richardson's first level is exact to rounding of (1 + t) h / h
    np.testing.assert_allclose(jac[:, 1], 1.0 + t, rtol=AT_BOUND_TOL)
    exact0 = 3.0 * np.exp(-t / p[0]) * t / p[0] ** 2
    np.testing.assert_allclose(jac[:, 0], exact0, rtol=RICHARDSON_TOL, atol=1e-15)
    # a parameter with no effect still gives a zero column
    jac, _ = accurate_jacobian(lambda q: fun(np.array([q[0], 0.0])), p, fun(p),
                               lower=None, upper=None)
    assert not jac[:, 1].any()
