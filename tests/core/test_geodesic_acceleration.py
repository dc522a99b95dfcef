"""Geodesic acceleration of the Levenberg-Marquardt steps the trust region cuts short
(:mod:`paramfit.core.solvers.geodesic`, Transtrum and Sethna 2012), against dense least
squares (numpy.linalg.lstsq), MINPACK's lmdif (scipy.optimize.leastsq), scipy's bounded
trust-region-reflective solver and NIST StRD certified values."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
from scipy.optimize import least_squares, leastsq

from paramfit.core.linalg import pivoted_qr
from paramfit.core.solvers import geodesic
from paramfit.models.builtin import GaussianModel, LinearModel
from paramfit.models.lineshapes import gaussian
from paramfit.reference.nist import load_nist, log_relative_error, run_case

# the module (paramfit.core.solvers exports its function under the same name)
core = importlib.import_module("paramfit.core.solvers.levenberg_marquardt")

RNG = np.random.default_rng(21)
M, N = 12, 3
A = RNG.normal(size=(M, N))
B = RNG.normal(size=M)
#: the residual's Hessians, one (N, N) symmetric matrix per row
H = RNG.normal(size=(M, N, N))
H = 0.5 * (H + H.transpose(0, 2, 1))


def quadratic_residual(x):
    """``A x - b + x^T H_i x / 2``: its second directional derivative along ``v`` is
    ``v^T H_i v`` whatever ``x``, and the finite difference of the acceleration is exact
    for it (to rounding)."""
    return A @ x - B + 0.5 * np.einsum("ijk,j,k->i", H, x, x)


def quadratic_jacobian(x):
    return A + np.einsum("ijk,k->ij", H, x)


def dense_acceleration(jac, rvv, diag, par):
    """``argmin ||J a + r_vv||^2 + par ||D a||^2`` by numpy's least squares on the stacked
    system ``[J; sqrt(par) D] a = [-r_vv; 0]``."""
    stacked = np.vstack([jac, np.sqrt(par) * np.diag(diag)])
    rhs = np.concatenate([-rvv, np.zeros(diag.size)])
    return np.linalg.lstsq(stacked, rhs, rcond=None)[0]


@pytest.fixture
def every_cut_short_step(monkeypatch):
    """Probe every step the trust region cuts short (``CRAWL_STEPS = 0`` in both solvers):
    for the tests of the acceleration itself, on problems too short to crawl."""
    for module in ("levenberg_marquardt", "batch_levenberg_marquardt"):
        monkeypatch.setattr(importlib.import_module(f"paramfit.core.solvers.{module}"),
                            "CRAWL_STEPS", 0)


@pytest.mark.parametrize("par", [1e-3, 0.7, 50.0])
def test_acceleration_solves_the_damped_system_of_the_exact_second_derivative(par):
    """On a quadratic residual the second difference along ``v`` is exact, so ``a`` must
    be the damped least-squares solution for ``r_vv = v^T H_i v`` (dense lstsq, computed
    without the factorisation the solver reuses).  The columns are given scales a
    thousand apart so that the pivoting of the QR matters.

    Tolerance 1e-9 relative: ``r_vv`` is ``(2 / h**2)`` times a difference of residuals
    of size ~10 whose rounding (~1e-15) is ~1e-13 of ``r_vv`` for ``h = 0.1``, and the
    damped system's condition (< 1e3 here) multiplies it."""
    scale = np.array([1.0, 1e3, 1e-3])
    x = RNG.normal(size=N) / scale
    f = quadratic_residual(x * scale)
    jac = quadratic_jacobian(x * scale) * scale
    v = RNG.normal(size=N) / scale
    h = geodesic.ACCELERATION_PROBE
    f_probe = quadratic_residual((x + h * v) * scale)
    diag = np.sqrt((jac * jac).sum(axis=0))
    qr = pivoted_qr(np.asfortranarray(jac), f)
    assert not np.array_equal(qr.pivots, np.arange(N))     # the pivoting is exercised
    got = geodesic.geodesic_acceleration(jac, f, f_probe, jac @ v, qr, diag, par, h)
    rvv = np.einsum("ijk,j,k->i", H, v * scale, v * scale)
    np.testing.assert_allclose(got, dense_acceleration(jac, rvv, diag, par), rtol=1e-9)


def test_acceleration_of_a_non_finite_probe_is_none():
    x = np.zeros(N)
    f, jac = quadratic_residual(x), quadratic_jacobian(x)
    qr = pivoted_qr(np.asfortranarray(jac), f)
    probe = quadratic_residual(x + 0.1)
    probe[3] = np.inf
    assert geodesic.geodesic_acceleration(jac, f, probe, jac @ np.ones(N), qr, np.ones(N), 1.0,
                                      geodesic.ACCELERATION_PROBE) is None


def rosenbrock(x):
    return np.array([10.0 * (x[1] - x[0] ** 2), 1.0 - x[0]])


def test_steps_are_accelerated_only_within_the_limit(monkeypatch, every_cut_short_step):
    """Every evaluation of a fit in Rosenbrock's curved valley is logged, and every call of
    the acceleration: the point evaluated after a probe ``x + h v`` is ``x + v + a / 2``
    when ``2 ||D a|| <= ACCELERATION_LIMIT ||D v||`` and ``x + v`` otherwise (``v``
    recovered from ``J v`` by lstsq: J is 2 x 2 and regular along the path).  Both
    branches occur on this path.  Tolerance: the points are rebuilt from rounded ones
    (x + h v, J v): 1e-9 relative to the step is a thousand times above that rounding."""
    points, calls = [], []
    real = geodesic.geodesic_acceleration

    def spy(jac, f, f_probe, jv, qr, diag, par, probe):
        out = real(jac, f, f_probe, jv, qr, diag, par, probe)
        calls.append((len(points), jac.copy(), jv.copy(), diag.copy(), out))
        return out

    def fun(x):
        points.append(x.copy())
        return rosenbrock(x)

    monkeypatch.setattr(geodesic, "geodesic_acceleration", spy)
    solution = core.levenberg_marquardt(fun, [-1.2, 1.0])
    assert solution.success
    np.testing.assert_allclose(solution.x, [1.0, 1.0], rtol=1e-10)  # exact minimum
    taken = 0
    for count, jac, jv, diag, a in calls:
        v = np.linalg.lstsq(jac, jv, rcond=None)[0]
        probe, trial = points[count - 1], points[count]
        x = probe - geodesic.ACCELERATION_PROBE * v
        within = a is not None and 2.0 * np.linalg.norm(diag * a) <= (
            geodesic.ACCELERATION_LIMIT * np.linalg.norm(diag * v))
        expected = x + v + 0.5 * a if within else x + v
        np.testing.assert_allclose(trial - x, expected - x, rtol=1e-9,
                                   atol=1e-9 * np.linalg.norm(v))
        taken += within
    assert 0 < taken < len(calls)


def test_no_evaluation_outside_the_bounds_in_a_bounded_valley(every_cut_short_step):
    """Rosenbrock's valley with ``x0 <= 0.8``: the probes ``x + h v`` of the acceleration
    obey the box like every other evaluation, and the fit reaches the bounded minimum
    ``(0.8, 0.64)`` (scipy's trust-region-reflective solver, same problem; it is exact:
    on the bound the residual's second component vanishes at ``x1 = x0**2``)."""
    lower, upper = np.array([-2.0, -np.inf]), np.array([0.8, np.inf])
    points = []

    def fun(x):
        points.append(x.copy())
        return rosenbrock(x)

    solution = core.levenberg_marquardt(fun, [-1.2, 1.0], lower=lower, upper=upper)
    reference = least_squares(rosenbrock, [-1.2, 1.0], bounds=(lower, upper), xtol=1e-15,
                              ftol=1e-15, gtol=1e-15).x
    points = np.array(points)
    assert ((points >= lower) & (points <= upper)).all()
    # exact minimum on the bound: both solvers reach it to rounding amplified by cond(J)
    np.testing.assert_allclose(solution.x, reference, rtol=1e-9)
    np.testing.assert_allclose(solution.x, [0.8, 0.64], rtol=1e-9)


def test_bennett5_valley_costs_a_fraction_of_minpacks_evaluations():
    """NIST Bennett5 from start 1: MINPACK's lmdif crawls along the valley at a constant
    trust radius (ratio 0.3-0.7: the radius neither grows nor shrinks) for ~750 steps;
    the accelerated steps follow it.  Measured: 404 evaluations, final phase included,
    against lmdif's 3,042 with ftol = xtol = 1e-15 (2,976 at lmfit's defaults); the bar
    is half of lmdif's, with NIST's 6 certified digits in values and standard errors
    (see test_levenberg_marquardt's NIST_DIGITS)."""
    problem = load_nist("Bennett5")
    minpack = leastsq(problem.residual, problem.starts[0], ftol=1e-15, xtol=1e-15,
                      maxfev=100_000, full_output=True)
    assert minpack[4] in (1, 2, 3, 4)            # lmdif converges, slowly
    result = run_case("Bennett5", 1)
    assert result.success
    assert result.nfev < 0.5 * minpack[2]["nfev"]
    digits = problem.certified_digits
    for values, certified in ((result.values, problem.certified_values),
                              (result.stderr, problem.certified_stderr)):
        assert min(log_relative_error(e, c, max_digits=digits)
                   for e, c in zip(values, certified, strict=True)) >= 6.0


@pytest.mark.parametrize("units, probed", [(0.5, False), (2.0, True)])
def test_no_probe_for_a_step_whose_reduction_is_within_rounding(units, probed,
                                                                 every_cut_short_step):
    """A step predicted to reduce the sum of squares by less than its rounding
    (``MEASURABLE_UNITS (1 + sqrt(m)) eps``, relative) is not worth the probe: nothing is
    evaluated and the plain step is taken.  Half and twice the limit: the decision, not
    the last bit of the limit, is tested."""
    calls = []

    def fun(x):
        calls.append(x.copy())
        return quadratic_residual(x)

    x = np.full(N, 0.3)
    f, jac = quadratic_residual(x), quadratic_jacobian(x)
    qr = pivoted_qr(np.asfortranarray(jac), f)
    diag = np.sqrt((jac * jac).sum(axis=0))
    step = -1e-3 * np.ones(N)
    limit = geodesic.MEASURABLE_UNITS * (1.0 + np.sqrt(M)) * np.finfo(float).eps
    out = geodesic.accelerated_step(fun, x, f, jac, None, step, qr, diag, 1.0,
                                    float(np.linalg.norm(diag * step)), units * limit,
                                    None, None)
    assert len(calls) == (1 if probed else 0)
    if not probed:
        assert out is None


def test_crawl_count_counts_cut_short_steps_that_hold_the_radius():
    # +1 for a cut-short step (par > 0) that did not grow the radius (ratio < 0.75) or was
    # accelerated; anything else starts again from 0; the same on arrays (the batch's)
    assert geodesic.crawl_count(3, 0.5, 0.5, False) == 4
    assert geodesic.crawl_count(3, 0.5, 0.9, True) == 4
    assert geodesic.crawl_count(3, 0.5, 0.9, False) == 0
    assert geodesic.crawl_count(3, 0.0, 0.5, False) == 0
    counts = geodesic.crawl_count(np.array([3, 3, 3, 3]), np.array([0.5, 0.5, 0.5, 0.0]),
                                  np.array([0.5, 0.9, 0.9, 0.5]),
                                  np.array([False, True, False, False]))
    assert counts.tolist() == [4, 4, 0, 0]


def test_fits_from_poor_starts_pay_few_probes(monkeypatch):
    # Gaussian + line from make_params() defaults (the bench_batch case): their first
    # steps are cut short while the radius grows, where a probe costs an evaluation and
    # saves none.  Probing only after a crawl (CRAWL_STEPS) keeps them near MINPACK's
    # count; probing every cut-short step costs a quarter more.
    x = np.linspace(-5.0, 5.0, 128)
    rng = np.random.default_rng(0)
    data = [gaussian(x, rng.uniform(1, 5), rng.uniform(-1, 1), rng.uniform(0.5, 1.5))
            + 0.1 * x + 0.5 + rng.normal(0.0, 0.02, x.size) for _ in range(60)]
    model = GaussianModel() + LinearModel()

    def evaluations(**fit_kws):
        total = 0
        for y in data:
            result = model.fit(y, model.make_params(), x=x, fit_kws=fit_kws)
            assert result.success
            total += result.nfev
        return total

    minpack = evaluations(geodesic=False)
    default = evaluations()
    solvers = importlib.import_module("paramfit.core.solvers.levenberg_marquardt")
    monkeypatch.setattr(solvers, "CRAWL_STEPS", 0)
    every = evaluations()
    # measured on these 60 fits: 872 (MINPACK's steps), 927 (+6%), 1,086 (+25%); the
    # bounds leave a few percent either way for other paths (rounding, BLAS kernels)
    assert default <= 1.10 * minpack, (default, minpack, every)
    assert every >= 1.15 * minpack, (default, minpack, every)
