"""Tests of paramfit.core.differentiation.finite_differences against analytic derivatives."""

from __future__ import annotations

import numpy as np
import pytest
from _jacobian_cases import Q0, Recorder, column_errors, model, model_jacobian

from paramfit.core.differentiation.finite_differences import (
    SIDE_AUTO,
    SIDE_BACKWARD,
    SIDE_CENTRAL,
    SIDE_FORWARD,
    finite_difference_jacobian,
    iteration_steps,
)

EPS = float(np.finfo(float).eps)
#: One-sided differences, h = sqrt(eps) |x|: the truncation h |f''| / 2 dominates and is
#: deterministic, largest on the q3 column (q2 sin(q3 t), t <= 5): h t / 2 = 1.1e-7 of the
#: column (measured 1.2e-7); rounding eps |f| / h adds ~3e-8.  3e-7 is 20 sqrt(eps).
ONE_SIDED_TOL = 3e-7
#: Central differences, h = eps**(1/3) |x|: truncation (h t)**2 / 6 = 1.4e-9 (measured
#: 1.24e-9), rounding eps**(2/3) ~ 4e-11.
CENTRAL_TOL = 3e-9


@pytest.mark.parametrize(
    ("side", "tolerance", "calls"),
    [(SIDE_AUTO, ONE_SIDED_TOL, 4), (SIDE_FORWARD, ONE_SIDED_TOL, 4),
     (SIDE_BACKWARD, ONE_SIDED_TOL, 4), (SIDE_CENTRAL, CENTRAL_TOL, 8)],
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
    # the same product sqrt(eps) |x| (1 for x = 0): rounding at most
    assert np.allclose(h, np.sqrt(EPS) * np.array([1e-12, 3.0, 1.0, 1e8]), rtol=4 * EPS, atol=0)


def test_absolute_step_wins_over_relative_step():
    x = np.array([2.0, 2.0, 2.0])
    h = iteration_steps(x, absolute_step=np.array([0.1, np.nan, 0.2]),
                        relative_step=np.array([0.01, 0.01, np.nan]))
    # 0.01 * 2.0 rounds once (to 0.02 here): rounding at most
    assert np.allclose(h, [0.1, 0.02, 0.2], rtol=4 * EPS, atol=0)


def test_steps_seen_by_function_follow_options():
    fun = Recorder()
    finite_difference_jacobian(fun, Q0, model(Q0), lower=None, upper=None,
                               absolute_step=np.array([1e-3, np.nan, np.nan, np.nan]),
                               relative_step=np.array([np.nan, 1e-4, np.nan, np.nan]))
    offsets = np.array([s - Q0 for s in fun.seen])
    # (x + h) - x is h up to the rounding of x + h: eps |x| / h = 4e-13 and 2e-12
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
    # one-sided steps where the box forces them, limited to the room left (q2: 1e-12
    # upwards): ONE_SIDED_TOL at worst, and shortened steps lose some digits (measured
    # 3.5e-8); 1e-6
    assert np.all(column_errors(jac[:, :3], exact[:, :3]) < 1e-6)
    assert np.all(jac[:, 3] == 0.0)  # lower == upper: no step, a zero column by definition


def test_auto_side_switches_to_backward_at_upper_bound():
    fun = Recorder()
    upper = Q0.copy()
    jac, nfev = finite_difference_jacobian(fun, Q0, model(Q0), lower=None, upper=upper)
    offsets = np.array([s - Q0 for s in fun.seen])
    assert nfev == 4 and np.all(offsets.sum(axis=1) < 0)
    assert np.all(column_errors(jac, model_jacobian(Q0)) < ONE_SIDED_TOL)


# None: the unbounded fast path; infinite arrays: the general loop (same results)
BOUNDS = pytest.mark.parametrize(
    "bounds", [dict(lower=None, upper=None),
               dict(lower=np.full(4, -np.inf), upper=np.full(4, np.inf))],
    ids=["unbounded-path", "general-path"])


@BOUNDS
def test_nonfinite_perturbed_point_uses_the_other_side(bounds):
    from paramfit.core.exceptions import NonFiniteResidualError

    def fun(p):
        if p[0] > Q0[0]:
            raise NonFiniteResidualError("overflow")
        return model(p)

    jac, nfev = finite_difference_jacobian(fun, Q0, model(Q0), **bounds)
    assert np.all(column_errors(jac, model_jacobian(Q0)) < ONE_SIDED_TOL)
    assert nfev == 5  # one failed call, then the backward step


@BOUNDS
def test_nan_perturbed_point_uses_a_shorter_step(bounds):
    def fun(p):
        out = model(p)
        return out * np.nan if abs(p[1] - Q0[1]) > 1e-9 else out

    jac, _ = finite_difference_jacobian(fun, Q0, model(Q0), **bounds)
    assert np.all(column_errors(jac, model_jacobian(Q0))[[0, 2, 3]] < ONE_SIDED_TOL)
    assert np.all(np.isfinite(jac))  # 0.7 * sqrt(eps) / 256 ~ 4e-11 < 1e-9


@BOUNDS
def test_nonfinite_everywhere_raises(bounds):
    from paramfit.core.exceptions import NonFiniteResidualError

    def fun(p):
        if not np.array_equal(p, Q0):
            raise NonFiniteResidualError("overflow")
        return model(p)

    with pytest.raises(NonFiniteResidualError):
        finite_difference_jacobian(fun, Q0, model(Q0), **bounds)


@BOUNDS
def test_both_paths_give_identical_columns_for_any_returned_sequence(bounds):
    # a list (not an ndarray) is converted; the arithmetic is the same on both paths
    jac, nfev = finite_difference_jacobian(lambda p: list(model(p)), Q0, model(Q0), **bounds)
    reference, _ = finite_difference_jacobian(model, Q0, model(Q0),
                                              lower=np.full(4, -np.inf),
                                              upper=np.full(4, np.inf))
    assert nfev == 4
    np.testing.assert_array_equal(jac, reference)  # the same arithmetic: bit for bit
    assert np.all(column_errors(jac, model_jacobian(Q0)) < ONE_SIDED_TOL)


@BOUNDS
def test_zero_default_step_gives_a_zero_column_on_both_paths(bounds):
    jac, nfev = finite_difference_jacobian(model, Q0, model(Q0), default_relative_step=0.0,
                                           **bounds)
    assert nfev == 0 and np.all(jac == 0.0)  # a zero column by definition: exact


@BOUNDS
def test_each_column_is_its_own_difference_quotient_next_to_a_fallback_column(bounds):
    # the Jacobian is divided by its steps in one call: a fallback column (already
    # final) must come out as its own quotient, the others as theirs, bit for bit
    from paramfit.core.exceptions import NonFiniteResidualError

    def fun(p):
        if p[1] > Q0[1]:
            raise NonFiniteResidualError("overflow")
        return model(p)

    f0 = model(Q0)
    steps = np.empty(Q0.size)
    jac, nfev = finite_difference_jacobian(fun, Q0, f0, steps_out=steps, **bounds)
    h = np.sqrt(EPS) * np.abs(Q0)
    for j in range(Q0.size):
        d = -h[j] if j == 1 else h[j]       # the forward step of column 1 fails
        shifted = Q0.copy()
        shifted[j] += d
        exact_step = shifted[j] - Q0[j]
        np.testing.assert_array_equal(jac[:, j], (model(shifted) - f0) / exact_step)
        # only plain forward columns report their step for reuse (a fallback one: NaN)
        assert steps[j] == exact_step if j != 1 else np.isnan(steps[j])
    assert nfev == Q0.size + 1      # one failed call, then the backward step


@pytest.mark.parametrize("bounds", [False, True])
@pytest.mark.parametrize("rows", [200, 4096])
def test_quotients_are_the_differences_over_the_steps(rows, bounds):
    # small Jacobians divide (bit for bit as a column-by-column division); tall ones
    # (the Gram path, core/linalg.is_tall) multiply by the reciprocal steps: one more
    # rounding, at most 1 ulp of each quotient (2 eps relative covers both roundings)
    t = np.linspace(0.0, 3.0, rows)

    def fun(p):
        return p[0] * np.exp(-p[1] * t) + p[2] * t

    x = np.array([2.0, 0.7, -0.3])
    f0 = fun(x)
    lower = np.full(3, -np.inf) if bounds else None
    upper = np.full(3, np.inf) if bounds else None
    steps = np.empty(3)
    jac, _ = finite_difference_jacobian(fun, x, f0, lower=lower, upper=upper, steps_out=steps)
    for j in range(3):
        shifted = x.copy()
        shifted[j] = x[j] + steps[j]
        quotient = (fun(shifted) - f0) / steps[j]
        if rows < 2048:
            assert jac[:, j].tobytes() == quotient.tobytes()
        else:
            np.testing.assert_allclose(jac[:, j], quotient, rtol=2 * np.finfo(float).eps,
                                       atol=0)
