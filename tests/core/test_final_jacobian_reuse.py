"""The default final Jacobian: central differences on the iteration's forward differences
(paramfit.core.differentiation.reuse, issue 21), against analytic Jacobians and brute force."""

from __future__ import annotations

import numpy as np
import pytest

from paramfit.core.differentiation.finite_differences import (
    SIDE_CENTRAL,
    SQRT_EPS,
    finite_difference_jacobian,
)
from paramfit.core.differentiation.reuse import (
    SKEWED_MAX_STEP,
    STDERR_BUDGET,
    forward_differences,
    reuse_pays,
    reused_central_jacobian,
    scaled_inverse_gram,
    skewed_central_jacobian,
    stderr_error_bound,
)
from paramfit.core.solvers.levenberg_marquardt import levenberg_marquardt

T = np.linspace(-5.0, 5.0, 200)
TRUTH = np.array([4.0, 0.3, 0.8, 0.2, 1.0])
DATA = (TRUTH[0] * np.exp(-((T - TRUTH[1]) ** 2) / (2 * TRUTH[2] ** 2)) + TRUTH[3] * T
        + TRUTH[4] + np.random.default_rng(7).normal(scale=0.05, size=T.size))


def gauss_line(p):
    return p[0] * np.exp(-((T - p[1]) ** 2) / (2 * p[2] ** 2)) + p[3] * T + p[4] - DATA


def gauss_line_jac(p):
    g = np.exp(-((T - p[1]) ** 2) / (2 * p[2] ** 2))
    return np.column_stack([g, p[0] * g * (T - p[1]) / p[2] ** 2,
                            p[0] * g * (T - p[1]) ** 2 / p[2] ** 3, T, np.ones_like(T)])


def relative_stderr(jac):
    """sqrt(diag((J^T J)^-1)): the standard errors up to the common residual scale."""
    return np.sqrt(np.diag(np.linalg.inv(jac.T @ jac)))


#: Relative accuracy asked of the standard errors: the reuse admits a first-order change
#: of STDERR_BUDGET (1e-7); 10x that covers second-order terms and the error estimate's
#: own slack (it was measured 1.5-3x above the actual column errors).
STDERR_RTOL = 10 * STDERR_BUDGET


def test_steps_out_names_the_plain_one_sided_columns():
    x = np.array([2.0, -3.0, 0.5])

    def fun(p):
        return np.array([p[0] * p[1], p[1] + p[2] ** 2, p[0] - p[2]])

    steps = np.empty(3)
    finite_difference_jacobian(fun, x, fun(x), lower=None, upper=None, steps_out=steps)
    # MINPACK's step sqrt(eps) |x_j|, as represented: (x_j + h) - x_j
    expected = [(v + SQRT_EPS * abs(v)) - v for v in x]
    assert steps.tolist() == expected
    # upper bound at x_0: that column goes backward; a central column is not one-sided
    upper = np.array([2.0, np.inf, np.inf])
    lower = np.full(3, -np.inf)
    finite_difference_jacobian(fun, x, fun(x), lower=lower, upper=upper,
                               side=np.array([0, SIDE_CENTRAL, 0]), steps_out=steps)
    assert steps[0] == (2.0 - SQRT_EPS * 2.0) - 2.0 and np.isnan(steps[1])
    assert steps[2] == expected[2]


def test_stderr_error_bound_bounds_the_change_of_the_standard_errors():
    rng = np.random.default_rng(3)
    jac = rng.normal(size=(40, 4)) @ np.diag([1.0, 10.0, 0.1, 3.0])
    jac[:, 3] += 0.9 * jac[:, 0] / 1.0          # correlated columns: a larger bound
    base = relative_stderr(jac)
    inverse = scaled_inverse_gram(jac)
    for _ in range(20):
        errors = 10.0 ** rng.uniform(-10, -8, size=4)       # relative, per column
        noise = rng.normal(size=jac.shape)
        noise *= errors * np.linalg.norm(jac, axis=0) / np.linalg.norm(noise, axis=0)
        change = np.abs(relative_stderr(jac + noise) / base - 1.0)
        # first order: the neglected terms are ~errors**2 (<= 1e-16), and the computed
        # change carries ~cond**2 eps ~ 1e-13 of rounding
        assert np.all(change <= stderr_error_bound(inverse, errors) * (1 + 1e-6) + 1e-13)


def test_reused_columns_give_the_analytic_standard_errors():
    x = levenberg_marquardt(gauss_line, np.array([3.0, 0.0, 1.0, 0.0, 0.5])).x
    record = forward_differences(gauss_line, x, gauss_line(x), lower=None, upper=None)
    jac, nfev = reused_central_jacobian(gauss_line, record, lower=None, upper=None)
    # well conditioned (scaled condition 2.4) and well scaled: every column reused, one
    # mirror evaluation each
    assert nfev == x.size
    np.testing.assert_allclose(relative_stderr(jac), relative_stderr(gauss_line_jac(x)),
                               rtol=STDERR_RTOL)


def test_rounding_limited_columns_are_extrapolated():
    # a model riding on a constant 5e4 times the size of its parameters' effects: the
    # central quotient with the step sqrt(eps)|x| carries ~eps 5e4 / 1e-8 ~ 1e-3 relative
    # rounding error, which the second difference shows; Richardson's steps (2e-3 |x|)
    # bring it to ~1e-9
    t = np.linspace(0.0, 5.0, 60)
    data = 5e4 + 3.0 * np.exp(-0.7 * t) + np.random.default_rng(5).normal(scale=0.01, size=60)

    def offset_decay(p):
        return 5e4 + p[0] * np.exp(-p[1] * t) - data

    x = levenberg_marquardt(offset_decay, np.array([2.0, 1.0])).x
    analytic = np.column_stack([np.exp(-x[1] * t), -x[0] * t * np.exp(-x[1] * t)])
    record = forward_differences(offset_decay, x, offset_decay(x), lower=None, upper=None)
    jac, nfev = reused_central_jacobian(offset_decay, record, lower=None, upper=None)
    assert nfev > x.size        # the mirror evaluations, then extrapolation
    np.testing.assert_allclose(relative_stderr(jac), relative_stderr(analytic),
                               rtol=STDERR_RTOL)
    # the fit's default returns the same accuracy
    sol = levenberg_marquardt(offset_decay, np.array([2.0, 1.0]))
    np.testing.assert_allclose(relative_stderr(sol.jac), relative_stderr(analytic),
                               rtol=STDERR_RTOL)


def test_default_fit_matches_the_richardson_fit_with_fewer_evaluations():
    x0 = np.array([3.0, 0.0, 1.0, 0.0, 0.5])
    reuse = levenberg_marquardt(gauss_line, x0)
    richardson = levenberg_marquardt(gauss_line, x0, final_jacobian="richardson")
    assert reuse.success and richardson.success and reuse.nfev < richardson.nfev
    analytic = relative_stderr(gauss_line_jac(reuse.x))
    np.testing.assert_allclose(relative_stderr(reuse.jac), analytic, rtol=STDERR_RTOL)
    # the polish with a Jacobian whose columns are off by E moves x by (J^T J)^-1 E^T f:
    # at most sqrt(m - n) STDERR_BUDGET standard errors (stderr_error_bound with
    # Cauchy-Schwarz on E^T f); 10x for the estimate's slack
    sigma = analytic * np.linalg.norm(reuse.fun) / np.sqrt(T.size - 5)
    limit = 10 * np.sqrt(T.size - 5) * STDERR_BUDGET * sigma
    assert np.all(np.abs(reuse.x - richardson.x) <= limit)
    again = levenberg_marquardt(gauss_line, x0)
    # determinism, bit for bit
    assert again.x.tobytes() == reuse.x.tobytes() and again.nfev == reuse.nfev
    assert again.jac.tobytes() == reuse.jac.tobytes()


def test_ill_conditioned_problems_keep_the_richardson_jacobian():
    # a cubic on [10, 11] in the monomial basis: scaled condition ~1e5, where 1e-8 column
    # errors would move the standard errors by far more than 1e-7
    t = np.linspace(10.0, 11.0, 40)
    data = 1.0 + 0.5 * t - 0.02 * t**3 + np.random.default_rng(2).normal(scale=1e-3, size=40)

    def cubic(p):
        return p[0] + p[1] * t + p[2] * t**2 + p[3] * t**3 - data

    x = np.linalg.lstsq(np.vander(t, 4, increasing=True), data, rcond=None)[0]
    record = forward_differences(cubic, x, cubic(x), lower=None, upper=None)
    assert reuse_pays(record.jac) is None
    x0 = np.array([1.0, 0.1, 0.0, 0.0])
    default = levenberg_marquardt(cubic, x0)
    richardson = levenberg_marquardt(cubic, x0, final_jacobian="richardson")
    # nothing spent on the reuse: the same evaluations, the same answer
    assert default.nfev == richardson.nfev
    assert default.x.tobytes() == richardson.x.tobytes()


@pytest.mark.parametrize("side", [1.0, -1.0])
def test_no_evaluation_outside_the_bounds(side):
    x = levenberg_marquardt(gauss_line, np.array([3.0, 0.0, 1.0, 0.0, 0.5])).x
    # the first parameter sits on a bound: its forward difference goes into the box and
    # its mirror point would leave it
    lower, upper = np.full(5, -np.inf), np.full(5, np.inf)
    (upper if side > 0 else lower)[0] = x[0]
    seen = []

    def recorded(p):
        seen.append(p.copy())
        return gauss_line(p)

    record = forward_differences(recorded, x, gauss_line(x), lower=lower, upper=upper)
    assert np.sign(record.steps[0]) == -side
    jac, _ = reused_central_jacobian(recorded, record, lower=lower, upper=upper)
    points = np.array(seen)
    assert np.all(points >= lower) and np.all(points <= upper)
    np.testing.assert_allclose(relative_stderr(jac), relative_stderr(gauss_line_jac(x)),
                               rtol=STDERR_RTOL)


def test_tall_problem_reuses_the_iterations_factorisation():
    # 4096 points: the iteration factorises J through its Gram matrix (core/linalg.py
    # is_tall), whose R^T R then feeds the final phase's conditioning test
    t = np.linspace(-5.0, 5.0, 4096)
    data = (4.0 * np.exp(-((t - 0.3) ** 2) / (2 * 0.8**2)) + 0.2 * t + 1.0
            + np.random.default_rng(9).normal(scale=0.05, size=t.size))

    def tall(p):
        return p[0] * np.exp(-((t - p[1]) ** 2) / (2 * p[2] ** 2)) + p[3] * t + p[4] - data

    x0 = np.array([3.0, 0.0, 1.0, 0.0, 0.5])
    reuse = levenberg_marquardt(tall, x0)
    richardson = levenberg_marquardt(tall, x0, final_jacobian="richardson")
    assert reuse.success and reuse.nfev < richardson.nfev
    g = np.exp(-((t - reuse.x[1]) ** 2) / (2 * reuse.x[2] ** 2))
    analytic = np.column_stack([g, reuse.x[0] * g * (t - reuse.x[1]) / reuse.x[2] ** 2,
                                reuse.x[0] * g * (t - reuse.x[1]) ** 2 / reuse.x[2] ** 3,
                                t, np.ones_like(t)])
    np.testing.assert_allclose(relative_stderr(reuse.jac), relative_stderr(analytic),
                               rtol=STDERR_RTOL)


def _near_solution(relative_shift):
    """The fitted x, and forward differences recorded at x - s with ``|s_j| =
    relative_shift |x_j|`` (signs alternating): the iteration's state after a short
    last step."""
    x = levenberg_marquardt(gauss_line, np.array([3.0, 0.0, 1.0, 0.0, 0.5])).x
    signs = np.where(np.arange(x.size) % 2 == 0, 1.0, -1.0)
    base = x - relative_shift * signs * np.abs(x)
    record = forward_differences(gauss_line, base, gauss_line(base), lower=None, upper=None)
    return x, record


@pytest.mark.parametrize("relative_shift", [2e-7, 7e-7])
def test_skewed_stencil_gives_the_analytic_jacobian_at_x(relative_shift):
    x, record = _near_solution(relative_shift)
    calls = []

    def counted(p):
        calls.append(p.copy())
        return gauss_line(p)

    jac, nfev = skewed_central_jacobian(counted, record, x, gauss_line(x), lower=None,
                                        upper=None)
    # n mirrors, x + s and x + 2 s; no column extrapolated (well conditioned)
    assert nfev == len(calls) == x.size + 2
    analytic = gauss_line_jac(x)
    # each column central at x: truncation ~|s|**2 (<= 5e-13 here) plus rounding
    # eps |F| / (sqrt(eps) |x J|) ~ 1e-8; 2e-7 of the column norm bounds both with margin
    error = np.linalg.norm(jac - analytic, axis=0) / np.linalg.norm(analytic, axis=0)
    assert np.all(error <= 2e-7)
    truth = relative_stderr(analytic)
    skewed = np.abs(relative_stderr(jac) / truth - 1.0).max()
    # the scheme admits a first-order change of STDERR_BUDGET; its columns here are
    # rounding-limited (~1e-8), so it stays within the budget itself
    assert skewed <= STDERR_BUDGET
    # central differences made where the forward differences were (x - s), used at x,
    # are off by the step to first order (~0.4 |s| / |x| in this model: 8e-8 and 3e-7),
    # several times the skewed stencil's rounding-level error: what it removes
    at_base, _ = reused_central_jacobian(gauss_line, record, lower=None, upper=None)
    assert np.abs(relative_stderr(at_base) / truth - 1.0).max() > 3 * skewed


def test_skewed_stencil_refuses_without_evaluating():
    calls = []

    def counted(p):
        calls.append(p.copy())
        return gauss_line(p)

    x, record = _near_solution(10 * SKEWED_MAX_STEP)          # a step too long
    assert skewed_central_jacobian(counted, record, x, gauss_line(x), lower=None,
                                   upper=None) is None
    x, record = _near_solution(5e-7)
    # x + 2 s beyond a bound on the first parameter (s_0 > 0)
    upper = np.full(x.size, np.inf)
    upper[0] = x[0] + 1.5 * (x[0] - record.x[0])
    assert skewed_central_jacobian(counted, record, x, gauss_line(x), lower=None,
                                   upper=upper) is None
    # no step at all: the forward differences are reused as they are elsewhere
    assert skewed_central_jacobian(counted, record, record.x, record.f, lower=None,
                                   upper=None) is None
    assert calls == []


def test_skewed_stencil_extrapolates_rounding_limited_columns():
    # the offset model of test_rounding_limited_columns_are_extrapolated: the third
    # difference along s shows the ~1e-3 relative rounding of its central quotients
    t = np.linspace(0.0, 5.0, 60)
    data = 5e4 + 3.0 * np.exp(-0.7 * t) + np.random.default_rng(5).normal(scale=0.01, size=60)

    def offset_decay(p):
        return 5e4 + p[0] * np.exp(-p[1] * t) - data

    x = levenberg_marquardt(offset_decay, np.array([2.0, 1.0])).x
    base = x * (1.0 - 3e-7)
    record = forward_differences(offset_decay, base, offset_decay(base), lower=None,
                                 upper=None)
    analytic = np.column_stack([np.exp(-x[1] * t), -x[0] * t * np.exp(-x[1] * t)])
    jac, nfev = skewed_central_jacobian(offset_decay, record, x, offset_decay(x),
                                        lower=None, upper=None)
    assert nfev > x.size + 2
    np.testing.assert_allclose(relative_stderr(jac), relative_stderr(analytic),
                               rtol=STDERR_RTOL)


def test_a_fit_ending_with_a_short_step_pays_n_plus_three_in_its_final_phase():
    # Gaussian + line from the bench start: the last forward differences are made
    # 6.8e-7 (relative) before the solution, beyond the direct reuse's 1e-7
    x0 = np.array([3.0, 0.0, 1.0, 0.0, 0.5])
    reuse = levenberg_marquardt(gauss_line, x0)
    plain = levenberg_marquardt(gauss_line, x0, final_jacobian="richardson")
    # MINPACK's iteration makes 31 evaluations here (the same steps as scipy's leastsq);
    # the final phase adds n + 2 for the Jacobian and one Gauss-Newton polish
    from scipy.optimize import leastsq
    minpack = leastsq(gauss_line, x0, full_output=True)[2]["nfev"]
    assert reuse.nfev == minpack + x0.size + 3
    analytic = relative_stderr(gauss_line_jac(reuse.x))
    np.testing.assert_allclose(relative_stderr(reuse.jac), analytic, rtol=STDERR_RTOL)
    sigma = analytic * np.linalg.norm(reuse.fun) / np.sqrt(T.size - 5)
    limit = 10 * np.sqrt(T.size - 5) * STDERR_BUDGET * sigma      # as in the test above
    assert np.all(np.abs(reuse.x - plain.x) <= limit)
