"""Tests of paramfit.jacobian against analytic derivatives."""

from __future__ import annotations

import numpy as np
import pytest

from paramfit.jacobian import (
    SIDE_AUTO,
    SIDE_BACKWARD,
    SIDE_CENTRAL,
    SIDE_FORWARD,
    accurate_jacobian,
    central_jacobian,
    finite_difference_jacobian,
    iteration_steps,
)

T = np.linspace(0.0, 5.0, 40)
Q0 = np.array([2.0, 0.7, 1.5, 3.0])


def model(q):
    return q[0] * np.exp(-q[1] * T) + q[2] * np.sin(q[3] * T)


def model_jacobian(q):
    e = np.exp(-q[1] * T)
    return np.column_stack([e, -q[0] * T * e, np.sin(q[3] * T), q[2] * T * np.cos(q[3] * T)])


def column_errors(estimate, exact):
    """Largest error of each column relative to that column's largest entry."""
    return np.max(np.abs(estimate - exact), axis=0) / np.max(np.abs(exact), axis=0)


class Recorder:
    """A residual function that remembers every x it is called with."""

    def __init__(self, scale=None):
        self.scale = np.ones(4) if scale is None else scale
        self.seen = []

    def __call__(self, p):
        self.seen.append(np.array(p, copy=True))
        return model(p * self.scale)


@pytest.mark.parametrize(
    ("side", "tolerance", "calls"),
    [(SIDE_AUTO, 3e-7, 4), (SIDE_FORWARD, 3e-7, 4), (SIDE_BACKWARD, 3e-7, 4),
     (SIDE_CENTRAL, 3e-9, 8)],
)
def test_each_side_matches_analytic(side, tolerance, calls):
    fun = Recorder()
    jac, nfev = finite_difference_jacobian(fun, Q0, model(Q0), lower=None, upper=None,
                                           side=np.full(4, side))
    assert nfev == calls == len(fun.seen)
    assert np.all(column_errors(jac, model_jacobian(Q0)) < tolerance)
    offsets = np.array([s - Q0 for s in fun.seen])
    if side == SIDE_FORWARD:
        assert np.all(offsets.sum(axis=1) > 0)
    if side == SIDE_BACKWARD:
        assert np.all(offsets.sum(axis=1) < 0)


def test_default_step_is_minpack_relative_without_floor():
    x = np.array([1e-12, 3.0, 0.0, -1e8])
    h = iteration_steps(x)
    eps = np.finfo(float).eps
    assert np.allclose(h, np.sqrt(eps) * np.array([1e-12, 3.0, 1.0, 1e8]))


def test_absolute_step_wins_over_relative_step():
    x = np.array([2.0, 2.0, 2.0])
    h = iteration_steps(x, absolute_step=np.array([0.1, np.nan, 0.2]),
                        relative_step=np.array([0.01, 0.01, np.nan]))
    assert np.allclose(h, [0.1, 0.02, 0.2])


def test_steps_seen_by_function_follow_options():
    fun = Recorder()
    finite_difference_jacobian(fun, Q0, model(Q0), lower=None, upper=None,
                               absolute_step=np.array([1e-3, np.nan, np.nan, np.nan]),
                               relative_step=np.array([np.nan, 1e-4, np.nan, np.nan]))
    offsets = np.array([s - Q0 for s in fun.seen])
    assert offsets[0, 0] == pytest.approx(1e-3, rel=1e-12)
    assert offsets[1, 1] == pytest.approx(0.7e-4, rel=1e-9)


@pytest.mark.parametrize("side", [SIDE_AUTO, SIDE_FORWARD, SIDE_BACKWARD, SIDE_CENTRAL])
def test_never_evaluates_outside_bounds(side):
    # at lower, at upper, 1e-12 below upper, lower == upper
    lower = Q0 - np.array([0.0, 1.0, 1.0, 0.0])
    upper = Q0 + np.array([1.0, 0.0, 1e-12, 0.0])
    fun = Recorder()
    jac, _ = finite_difference_jacobian(fun, Q0, model(Q0), lower=lower, upper=upper,
                                        side=np.full(4, side))
    seen = np.array(fun.seen)
    assert np.all(seen >= lower) and np.all(seen <= upper)
    exact = model_jacobian(Q0)
    assert np.all(column_errors(jac[:, :3], exact[:, :3]) < 1e-6)
    assert np.all(jac[:, 3] == 0.0)


def test_auto_side_switches_to_backward_at_upper_bound():
    fun = Recorder()
    upper = Q0.copy()
    jac, nfev = finite_difference_jacobian(fun, Q0, model(Q0), lower=None, upper=upper)
    offsets = np.array([s - Q0 for s in fun.seen])
    assert nfev == 4 and np.all(offsets.sum(axis=1) < 0)
    assert np.all(column_errors(jac, model_jacobian(Q0)) < 3e-7)


@pytest.mark.parametrize("scale", [1.0, 1e-8, 1e8])
def test_accurate_jacobian_reaches_1e_minus_9(scale):
    # parameters of size Q0 / scale: 1e-8 and 1e8 as well as order one
    s = np.array([scale, 1.0 / scale, scale, 1.0 / scale])
    fun = Recorder(s)
    p = Q0 / s
    jac, nfev = accurate_jacobian(fun, p, fun(p), lower=None, upper=None)
    assert np.all(column_errors(jac, model_jacobian(Q0) * s) < 1e-10)
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
    assert np.all(column_errors(jac, model_jacobian(Q0)) < 1e-9)


def test_accurate_jacobian_zero_parameter_uses_typical_scale():
    p = np.array([2.0, 0.0, 1.5, 3.0])
    jac, _ = accurate_jacobian(model, p, model(p), lower=None, upper=None,
                               typical_x=np.array([1.0, 1e-3, 1.0, 1.0]))
    assert np.all(column_errors(jac, model_jacobian(p)) < 1e-10)


def test_nonfinite_perturbed_point_uses_the_other_side():
    from paramfit.exceptions import NonFiniteResidualError

    def fun(p):
        if p[0] > Q0[0]:
            raise NonFiniteResidualError("overflow")
        return model(p)

    jac, nfev = finite_difference_jacobian(fun, Q0, model(Q0), lower=None, upper=None)
    assert np.all(column_errors(jac, model_jacobian(Q0)) < 3e-7)
    assert nfev == 5  # one failed call, then the backward step


def test_nan_perturbed_point_uses_a_shorter_step():
    def fun(p):
        out = model(p)
        return out * np.nan if abs(p[1] - Q0[1]) > 1e-9 else out

    jac, _ = finite_difference_jacobian(fun, Q0, model(Q0), lower=None, upper=None)
    assert np.all(column_errors(jac, model_jacobian(Q0))[[0, 2, 3]] < 3e-7)
    assert np.all(np.isfinite(jac))  # 0.7 * sqrt(eps) / 256 ~ 4e-11 < 1e-9


def test_nonfinite_everywhere_raises():
    from paramfit.exceptions import NonFiniteResidualError

    def fun(p):
        if not np.array_equal(p, Q0):
            raise NonFiniteResidualError("overflow")
        return model(p)

    with pytest.raises(NonFiniteResidualError):
        finite_difference_jacobian(fun, Q0, model(Q0), lower=None, upper=None)


def test_central_jacobian_two_evaluations_per_parameter():
    fun = Recorder()
    jac, nfev = central_jacobian(fun, Q0, model(Q0), lower=None, upper=None)
    assert nfev == 8 == len(fun.seen)
    assert np.all(column_errors(jac, model_jacobian(Q0)) < 3e-9)


def test_central_jacobian_extrapolates_near_bounds():
    fun = Recorder()
    lower = Q0 - 1e-12
    jac, nfev = central_jacobian(fun, Q0, model(Q0), lower=lower, upper=None)
    assert np.all(np.array(fun.seen) >= lower)
    assert np.all(column_errors(jac, model_jacobian(Q0)) < 1e-9)


# ------------------------------------------------- linear columns of accurate_jacobian
def test_accurate_jacobian_linear_columns_cost_two_evaluations_and_are_exact():
    # q0 and q2 enter linearly: their columns are the central quotient of the first level
    fun = Recorder()
    jac, nfev = accurate_jacobian(fun, Q0, model(Q0), lower=None, upper=None)
    exact = model_jacobian(Q0)
    errors = column_errors(jac, exact)
    assert np.all(errors[[0, 2]] < 1e-12) and np.all(errors < 1e-10)
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
        np.testing.assert_array_equal(jac[:, j], expected)
    assert np.all(column_errors(jac, basis) < 1e-12)


def test_accurate_jacobian_slightly_nonlinear_column_is_still_extrapolated():
    # curvature far above rounding but tiny on the scale of the step: not "linear"
    def fun(q):
        return q[0] * T + 1e-6 * q[0] ** 2

    jac, nfev = accurate_jacobian(fun, np.array([2.0]), fun(np.array([2.0])),
                                  lower=None, upper=None)
    assert nfev >= 4
    np.testing.assert_allclose(jac[:, 0], T + 4e-6, rtol=1e-12, atol=1e-15)
