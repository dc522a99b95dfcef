"""Tests of the Levenberg-Marquardt core against MINPACK (scipy.optimize.leastsq),
numpy.linalg.lstsq, closed forms and NIST StRD certified values."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from _reference import EPS, FIT_RTOL
from scipy.optimize import brentq, leastsq

import paramfit
from paramfit.core.exceptions import StopFit
from paramfit.core.solvers import LMSolution, Termination, levenberg_marquardt
from paramfit.core.solvers.final_phase import JACOBIAN_REUSE_STEP

T = np.linspace(-5.0, 5.0, 200)
RNG = np.random.default_rng(1)

# Tolerances (reasons once, here; FIT_RTOL and the MINPACK caveat: tests/_reference.py).
#: NIST StRD: the certified values carry 11 digits; our values reach >= 7.4 and the
#: standard errors (from a finite-difference Jacobian good to ~1e-10, amplified by the
#: conditioning of J^T J: Thurber ~6.7 digits) >= 6.7 on these cases.  6 digits is the
#: bar: above what double precision can miss, far above a wrong or unconverged answer.
NIST_DIGITS = 6.0


def gauss_line(p, t=T):
    return p[0] * np.exp(-((t - p[1]) ** 2) / (2.0 * p[2] ** 2)) + p[3] + p[4] * t


def gauss_line_jac(p, t=T):
    e = np.exp(-((t - p[1]) ** 2) / (2.0 * p[2] ** 2))
    return np.column_stack([e, p[0] * e * (t - p[1]) / p[2] ** 2,
                            p[0] * e * (t - p[1]) ** 2 / p[2] ** 3, np.ones_like(t), t])


Y_GAUSS = gauss_line([3.0, 0.5, 1.2, 0.3, 0.1]) + RNG.normal(0.0, 0.05, T.size)
P0_GAUSS = np.array([2.0, 0.0, 1.0, 0.0, 0.0])


def gauss_residual(p):
    return gauss_line(p) - Y_GAUSS


TD = np.linspace(0.0, 3.0, 30)
Y_DECAY = 2.0 * np.exp(-1.3 * TD) + 0.01 * np.sin(7.0 * TD)


def decay_residual(p):
    return p[0] * np.exp(-p[1] * TD) - Y_DECAY


def decay_jac(p):
    e = np.exp(-p[1] * TD)
    return np.column_stack([e, -p[0] * TD * e])


def rosenbrock(p):
    return np.array([10.0 * (p[1] - p[0] ** 2), 1.0 - p[0]])


def rosenbrock_jac(p):
    return np.array([[-20.0 * p[0], 10.0], [-1.0, 0.0]])


# ---------------------------------------------------------------- agreement with MINPACK
@pytest.mark.parametrize(
    ("fun", "x0", "jac"),
    [(gauss_residual, P0_GAUSS, gauss_line_jac), (decay_residual, np.array([1.0, 1.0]), decay_jac),
     (rosenbrock, np.array([-1.2, 1.0]), rosenbrock_jac)],
)
def test_agrees_with_scipy_leastsq(fun, x0, jac):
    sol = levenberg_marquardt(fun, x0)
    reference = leastsq(fun, x0, Dfun=jac, ftol=1e-14, xtol=1e-14, full_output=True)[0]
    assert sol.termination.converged
    # atol: Rosenbrock's answer (1, 1) is exact, the others are O(0.1) or larger
    assert np.allclose(sol.x, reference, rtol=FIT_RTOL, atol=1e-12)
    assert isinstance(sol, LMSolution) and sol.jac.shape == (fun(x0).size, x0.size)


@pytest.mark.parametrize(("final_jacobian", "jac_tol"), [("richardson", 1e-10), ("central", 1e-8)])
def test_linear_least_squares_matches_lstsq(final_jacobian, jac_tol):
    # jac_tol is each scheme's stated accuracy: Richardson ~1e-10 (exact on linear columns
    # but for rounding: 3e-12 here); central differences with h = eps**(1/3) |x| lose
    # digits for |x| << 1: ~1e-8, the accuracy the covariance needs (3e-10 here)
    rng = np.random.default_rng(1)
    a = rng.normal(size=(50, 4))
    b = rng.normal(size=50)
    sol = levenberg_marquardt(lambda p: a @ p - b, np.zeros(4), final_jacobian=final_jacobian)
    expected = np.linalg.lstsq(a, b, rcond=None)[0]  # cond(a) = 1.4: exact to ~1e-16
    # the final Gauss-Newton step solves with the finite-difference Jacobian J = a + E:
    # x - x* = -(a^T a)^-1 E^T r, so |x - x*| <= |E| |r| / sigma_min(a)**2 (0.35 |E| here,
    # measured 1.4e-13 and 1.7e-11): the Jacobian's tolerance bounds the values too
    r = a @ expected - b
    x_tol = jac_tol * np.linalg.norm(r) / np.linalg.svd(a, compute_uv=False)[-1] ** 2
    assert np.allclose(sol.x, expected, rtol=0.0, atol=x_tol)
    assert np.allclose(sol.jac, a, rtol=jac_tol, atol=jac_tol)


def test_analytic_jacobian_same_answer_fewer_evaluations():
    fd = levenberg_marquardt(gauss_residual, P0_GAUSS)
    analytic = levenberg_marquardt(gauss_residual, P0_GAUSS, jac=gauss_line_jac)
    assert np.allclose(fd.x, analytic.x, rtol=FIT_RTOL)  # measured 2.4e-13
    assert analytic.nfev < fd.nfev and analytic.njev >= 1
    # the returned Jacobian is evaluated within JACOBIAN_REUSE_STEP (1e-7 relative) of x;
    # these columns change by at most ~10x that relative to their largest value
    jac = gauss_line_jac(analytic.x)
    assert np.allclose(analytic.jac, jac, rtol=0.0,
                       atol=10 * JACOBIAN_REUSE_STEP * np.abs(jac).max())


# ---------------------------------------------------------------- bounds and max_step
class Recording:
    def __init__(self, fun):
        self.fun, self.seen = fun, []

    def __call__(self, p):
        self.seen.append(np.array(p, copy=True))
        return self.fun(p)


@pytest.mark.parametrize("bound", ["upper", "lower"])
def test_optimum_outside_box_converges_to_bound(bound):
    # unconstrained optimum of decay_residual is about (2.0, 1.3)
    lower = np.array([0.0, 1.5]) if bound == "lower" else np.array([0.0, 0.0])
    upper = np.array([10.0, 10.0]) if bound == "lower" else np.array([1.8, 10.0])
    x0 = np.array([1.0, 2.0]) if bound == "lower" else np.array([1.0, 1.0])
    fun = Recording(decay_residual)
    sol = levenberg_marquardt(fun, x0, lower=lower, upper=upper)
    seen = np.array(fun.seen)
    assert np.all(seen >= lower) and np.all(seen <= upper)
    assert sol.termination.converged
    # a parameter held at its bound is set to the bound itself (exact by construction);
    # the other is the minimum of the reduced problem, found here as the root of its exact
    # gradient (MINPACK's leastsq on the 1-D problem stops by ftol 2e-9 away from it)
    if bound == "lower":
        assert sol.x[1] == 1.5 and list(sol.active) == [0, -1]
        inner = brentq(lambda a: decay_jac([a, 1.5])[:, 0] @ decay_residual([a, 1.5]),
                       1.0, 3.0, xtol=1e-15)
        assert sol.x[0] == pytest.approx(inner, rel=FIT_RTOL)
    else:
        assert sol.x[0] == 1.8 and list(sol.active) == [1, 0]
        inner = brentq(lambda b: decay_jac([1.8, b])[:, 1] @ decay_residual([1.8, b]),
                       0.5, 2.0, xtol=1e-15)
        assert sol.x[1] == pytest.approx(inner, rel=FIT_RTOL)


def test_interior_optimum_unaffected_by_loose_bounds():
    sol = levenberg_marquardt(decay_residual, [1.0, 1.0], lower=[-10, -10], upper=[10, 10])
    free = levenberg_marquardt(decay_residual, [1.0, 1.0])
    # bounds never reached take no part in the arithmetic: identical here, and within the
    # fits' accuracy (FIT_RTOL) in any case
    assert np.allclose(sol.x, free.x, rtol=FIT_RTOL) and not sol.active.any()


def test_max_step_honoured_every_iteration():
    max_step = np.array([0.05, np.nan, 0.02, np.nan, np.nan])
    path = []
    sol = levenberg_marquardt(gauss_residual, P0_GAUSS, max_step=max_step,
                              callback=lambda x, it, f: path.append(x))
    steps = np.abs(np.diff(np.array(path), axis=0))
    assert len(path) > 10
    # a scaled step is max_step up to the rounding of the scaling and of (x + p) - x
    # (|x| eps / max_step < 1e-14): 1e-12 relative slack
    assert np.all(steps[:, 0] <= 0.05 * (1 + 1e-12)) and np.all(steps[:, 2] <= 0.02 * (1 + 1e-12))
    reference = levenberg_marquardt(gauss_residual, P0_GAUSS)
    assert np.allclose(sol.x, reference.x, rtol=FIT_RTOL)  # same minimum, other path: 1e-11


# ---------------------------------------------------------------- user stop
def test_stopfit_from_function_returns_best_so_far():
    calls = {"n": 0}
    norms = []

    def fun(p):
        calls["n"] += 1
        if calls["n"] > 25:
            raise StopFit(code=-7, message="enough")
        f = gauss_residual(p)
        norms.append(float(f @ f))
        return f

    sol = levenberg_marquardt(fun, P0_GAUSS)
    assert sol.termination is Termination.USER_STOP and sol.user_code == -7
    assert sol.nfev == 26 and not sol.success
    assert float(sol.fun @ sol.fun) <= norms[0]
    # the residual returned is the one computed at sol.x: the same computation
    np.testing.assert_array_equal(sol.fun, gauss_residual(sol.x))


@pytest.mark.parametrize("how", ["raise", "return"])
def test_callback_stops(how):
    def callback(x, niter, f):
        if niter == 2:
            if how == "raise":
                raise StopFit(code=-3)
            return True
        return None

    sol = levenberg_marquardt(gauss_residual, P0_GAUSS, callback=callback)
    assert sol.termination is Termination.USER_STOP and sol.niter == 2
    assert sol.user_code == (-3 if how == "raise" else None)
    assert float(sol.fun @ sol.fun) < float(gauss_residual(P0_GAUSS) @ gauss_residual(P0_GAUSS))


# ---------------------------------------------------------------- termination codes
@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [({"ftol": 1e-4, "xtol": 0.0, "gtol": 0.0}, Termination.FTOL),
     ({"ftol": 0.0, "xtol": 1e-4, "gtol": 0.0}, Termination.XTOL),
     ({"ftol": 0.0, "xtol": 0.0, "gtol": 1e-2}, Termination.GTOL),
     ({"max_nfev": 5}, Termination.MAX_NFEV)],
)
def test_termination_codes(kwargs, expected):
    # with zero tolerances which of the three "too small" tests fires first is decided by
    # rounding (a start nudged by 3 ulps gives FTOL_TOO_SMALL instead of XTOL_TOO_SMALL):
    # see test_ftol_too_small_on_linear_problem, which accepts any of them
    sol = levenberg_marquardt(decay_residual, [1.0, 1.0], **kwargs)
    assert sol.termination is expected
    assert sol.termination.converged == (1 <= expected.code <= 4)
    assert isinstance(sol.termination.message, str)


def test_zero_tolerances_end_with_a_too_small_code():
    for nudge in range(4):  # the start nudged by ulps: the code may change, not its kind
        x0 = np.array([1.0, 1.0]) * (1.0 + nudge * EPS)
        sol = levenberg_marquardt(decay_residual, x0, ftol=0.0, xtol=0.0, gtol=0.0)
        assert sol.termination.code in (6, 7, 8) and not sol.termination.converged


def test_ftol_too_small_on_linear_problem():
    a = RNG.normal(size=(20, 3))
    b = RNG.normal(size=20)
    sol = levenberg_marquardt(lambda p: a @ p - b, np.zeros(3), ftol=0.0, xtol=0.0, gtol=0.0)
    # which of the three fires first is decided by rounding: any of them is right
    assert sol.termination in (Termination.FTOL_TOO_SMALL, Termination.XTOL_TOO_SMALL,
                               Termination.GTOL_TOO_SMALL)
    assert sol.termination.code in (6, 7, 8)


@pytest.mark.parametrize(
    "kwargs",
    [{"lower": [0.0, 2.0]}, {"ftol": -1.0}, {"factor": 0.0}, {"diag": [1.0, -1.0]},
     {"lower": [1.0, 0.0], "upper": [0.0, 5.0]}],
)
def test_improper_input(kwargs):
    sol = levenberg_marquardt(decay_residual, [1.0, 1.0], **kwargs)
    assert sol.termination is Termination.IMPROPER_INPUT and sol.termination.code == 0


def test_fewer_residuals_than_parameters_is_improper():
    sol = levenberg_marquardt(lambda p: np.array([p.sum()]), [1.0, 2.0])
    assert sol.termination is Termination.IMPROPER_INPUT


def test_wrong_answer_is_not_reported_as_converged():
    # BoxBOD start 1 from NIST: MINPACK stops where exp(-b2 x) underflows (gradient 0)
    y = np.array([109.0, 149.0, 149.0, 191.0, 213.0, 224.0])
    x = np.array([1.0, 2.0, 3.0, 5.0, 7.0, 10.0])
    sol = levenberg_marquardt(lambda b: b[0] * (1 - np.exp(-b[1] * x)) - y, [1.0, 1.0])
    assert not sol.termination.converged
    assert sol.termination is Termination.NOT_STATIONARY


# ---------------------------------------------------------------- NIST StRD
NIST_DIR = Path(paramfit.__file__).parent / "reference" / "data" / "nist"
NIST_MODELS = {
    "Misra1a": lambda b, x: b[0] * (1 - np.exp(-b[1] * x)),
    "Thurber": lambda b, x: (b[0] + b[1] * x + b[2] * x**2 + b[3] * x**3)
    / (1 + b[4] * x + b[5] * x**2 + b[6] * x**3),
    "MGH09": lambda b, x: b[0] * (x**2 + x * b[1]) / (x**2 + x * b[2] + b[3]),
    "BoxBOD": lambda b, x: b[0] * (1 - np.exp(-b[1] * x)),
    "Eckerle4": lambda b, x: (b[0] / b[1]) * np.exp(-0.5 * ((x - b[2]) / b[1]) ** 2),
    "Rat43": lambda b, x: b[0] / ((1 + np.exp(b[1] - b[2] * x)) ** (1 / b[3])),
}


def read_nist(name):
    """Starts, certified values and standard deviations, and (x, y) of a StRD file."""
    starts, certified, data, in_data = [], [], [], False
    for line in (NIST_DIR / f"{name}.dat").read_text().splitlines():
        match = re.match(r"\s*b\d+\s*=\s*(.*)", line)
        if match and not in_data:
            starts.append([float(v) for v in match.group(1).split()[:2]])
            certified.append([float(v) for v in match.group(1).split()[2:4]])
        elif re.match(r"\s*Data:\s*y", line):
            in_data = True
        elif in_data and line.strip():
            data.append([float(v) for v in line.split()])
    data = np.array(data)
    return np.array(starts).T, np.array(certified).T, data[:, 1], data[:, 0]


def lre(estimate, certified):
    """Log relative error: number of correct significant digits."""
    return -np.log10(np.abs(estimate - certified) / np.abs(certified))


@pytest.mark.parametrize(
    ("name", "start"),
    [("Misra1a", 0), ("Misra1a", 1), ("Thurber", 0), ("Thurber", 1), ("MGH09", 0),
     ("MGH09", 1), ("BoxBOD", 1), ("Eckerle4", 0), ("Rat43", 0)],
)
def test_nist_certified_values(name, start):
    starts, (values, deviations), x, y = read_nist(name)
    model = NIST_MODELS[name]
    sol = levenberg_marquardt(lambda b: model(b, x) - y, starts[start])
    assert sol.termination.converged
    m, n = sol.jac.shape
    rss = float(sol.fun @ sol.fun)
    stderr = np.sqrt(np.diag(np.linalg.inv(sol.jac.T @ sol.jac)) * rss / (m - n))
    assert np.min(lre(sol.x, values)) >= NIST_DIGITS
    assert np.min(lre(stderr, deviations)) >= NIST_DIGITS


# ---------------------------------------------------------------------------------------
# Non-finite residuals at trial points (NonFiniteResidualError)

T_EXP = np.linspace(0.0, 1.0, 30)
Y_EXP = 2.0 * np.exp(1.5 * T_EXP)


def overflowing_residual(p, x, y):
    # exp overflows to inf once the rate exceeds ~700: a large first step goes there
    with np.errstate(over="ignore", invalid="ignore"):
        return p["a"].value * np.exp(p["k"].value * 1e3 * x) - y


def test_overflowing_trial_point_is_a_rejected_step():
    # Jennrich-Sampson (MGH problem 6): from (0.3, 0.4) the first step makes exp(i x)
    # overflow; the fit must go on and reach F* = 124.362 (x1 = x2 = 0.2578)
    index = np.arange(1, 11)
    nonfinite = []

    def residual(p):
        with np.errstate(over="ignore", invalid="ignore"):
            out = 2 + 2 * index - (np.exp(index * p["x1"].value)
                                   + np.exp(index * p["x2"].value))
        nonfinite.append(not np.all(np.isfinite(out)))
        return out

    params = paramfit.Parameters()
    params.add("x1", value=0.3)
    params.add("x2", value=0.4)
    out = paramfit.minimize(residual, params)
    assert any(nonfinite)  # the NonFiniteResidualError path was taken
    assert out.success
    # MGH (1981) give F* = 124.362 and x1 = x2 = 0.2578: rel is their rounding
    assert out.chisqr == pytest.approx(124.362, rel=5e-6)
    assert out.params["x1"].value == pytest.approx(0.2578, rel=2e-4)
    # MINPACK with the exact Jacobian from near the answer: the sum of squares is
    # stationary there, so it agrees to rounding (1e-12 of a 10-term sum); x1 = x2 at the
    # minimum makes the two columns of J coincide, so x1 alone is determined only to
    # ~sqrt(eps) (MINPACK and we differ by 2e-9): rel=1e-6
    def index_jac(b):
        return -np.column_stack([index * np.exp(index * b[0]), index * np.exp(index * b[1])])

    ref, _, info, _, _ = leastsq(lambda b: residual({"x1": _Value(b[0]), "x2": _Value(b[1])}),
                                 [0.25, 0.26], Dfun=index_jac, ftol=1e-15, xtol=1e-15,
                                 full_output=True)
    assert out.chisqr == pytest.approx(float(info["fvec"] @ info["fvec"]), rel=1e-12)
    assert out.params["x1"].value == pytest.approx(ref[0], rel=1e-6)


class _Value:
    # stands in for a Parameter (.value) when the residual is called directly

    def __init__(self, value):
        self.value = value


def test_solver_survives_nonfinite_error_from_trial_points():
    from paramfit.core.exceptions import NonFiniteResidualError

    calls = {"raised": 0}

    def fun(p):
        if p[1] > 5.0:
            calls["raised"] += 1
            raise NonFiniteResidualError("overflow")
        return p[0] * np.exp(p[1] * T_EXP) - Y_EXP

    sol = levenberg_marquardt(fun, [1.0, 4.9], factor=100.0)
    # zero-residual problem with the exact answer (2, 1.5): convergence is quadratic, so
    # the last step (<= xtol = 1e-12 relative) leaves only rounding times cond(J) (~30)
    assert sol.success and np.allclose(sol.x, [2.0, 1.5], rtol=1e-11, atol=0.0)


def test_nonfinite_residual_at_start_still_raises():
    from paramfit.core.exceptions import NonFiniteResidualError

    params = paramfit.Parameters()
    params.add("a", value=1.0)
    params.add("k", value=1.0)  # exp(1000 x) overflows at the start
    with pytest.raises(NonFiniteResidualError):
        paramfit.minimize(overflowing_residual, params, args=(T_EXP, Y_EXP))


def test_mgh17_start1_reaches_certified_values():
    from paramfit.reference.nist import run_case

    result = run_case("MGH17", 1)
    assert result.success
    # NIST_DIGITS (9.7 and 7.7 digits reached)
    assert min(result.digits_values, result.digits_stderr) >= NIST_DIGITS


def test_reruns_are_bit_for_bit_identical():
    t = np.linspace(0, 3, 30)
    y = 2.0 * np.exp(-1.3 * t) + 0.01 * np.cos(7 * t)
    runs = [levenberg_marquardt(lambda p: p[0] * np.exp(-p[1] * t) - y, [1.0, 1.0])
            for _ in range(3)]
    for sol in runs[1:]:  # determinism is promised: exact equality
        assert np.array_equal(sol.x, runs[0].x) and np.array_equal(sol.jac, runs[0].jac)
        assert sol.nfev == runs[0].nfev


@pytest.mark.parametrize("final_jacobian", ["central", "richardson"])
def test_final_jacobian_is_accurate_and_returned(final_jacobian):
    t = np.linspace(0, 3, 30)
    y = 2.0 * np.exp(-1.3 * t) + 0.01 * np.cos(7 * t)
    sol = levenberg_marquardt(lambda p: p[0] * np.exp(-p[1] * t) - y, [1.0, 1.0],
                              final_jacobian=final_jacobian)
    a, k = sol.x
    exact = np.column_stack([np.exp(-k * t), -a * t * np.exp(-k * t)])
    # stated accuracy of either scheme ~1e-10 of the column (measured 3e-11); the Jacobian
    # may be evaluated before the last Gauss-Newton step, which moves x here by ~1e-9
    # relative, and these columns change by < 3x that: 1e-8 covers both
    assert np.max(np.abs(sol.jac - exact)) < 1e-8 * np.max(np.abs(exact))


def test_unknown_final_jacobian_is_an_error():
    with pytest.raises(ValueError, match="final_jacobian"):
        levenberg_marquardt(lambda p: p - 1.0, [0.0], final_jacobian="magic")


# --- tall Jacobians: two-stage factorisation (dgeqrf, then dgeqp3 of the small R) ---

T_TALL = np.linspace(-5.0, 5.0, 6000)
Y_TALL = gauss_line([3.0, 0.5, 1.2, 0.3, 0.1], T_TALL) + RNG.normal(0.0, 0.05, T_TALL.size)


def tall_residual(p):
    return gauss_line(p, T_TALL) - Y_TALL


def test_tall_factorisation_matches_pivoted_qr():
    import paramfit.core.linalg as tr

    assert tr.is_tall(T_TALL.size, 5)
    jac = np.asfortranarray(gauss_line_jac([3.0, 0.5, 1.2, 0.3, 0.1], T_TALL))
    f = tall_residual(P0_GAUSS)
    tall = tr.TallFactor(jac, f)
    # column norms: a sum of m = 6000 squares, rounding ~sqrt(m) eps = 2e-14 relative
    # (probabilistic bound, Higham & Mary 2019; measured 2e-16): 1e-13
    np.testing.assert_allclose(tall.column_norms, np.linalg.norm(jac, axis=0), rtol=1e-13)
    # the gradient J^T f: dot products of length m, error <= m eps |J|^T |f| (worst case)
    bound = T_TALL.size * EPS * (np.abs(jac).T @ np.abs(f))
    assert np.all(np.abs(tall.gradient - jac.T @ f) <= bound)
    direct = tr._pivoted_qr(jac.copy(order="F"), f, False, 5)
    # the column norms differ by more than rounding, so the pivot order is not a tie
    assert np.all(np.abs(np.diff(np.sort(np.linalg.norm(jac, axis=0)))) > 1e-3)
    for two_stage in (tall.pivoted(), tr.pivoted_qr(jac, f)):
        np.testing.assert_array_equal(two_stage.pivots, direct.pivots)
        # Householder QR is backward stable: |diag R| agree to ~sqrt(m) n eps ||J|| and
        # every |R_jj| >= 0.1 ||J|| here, so ~1e-13 relative (measured 4e-16): 1e-12
        np.testing.assert_allclose(np.abs(np.diag(two_stage.r)), np.abs(np.diag(direct.r)),
                                   rtol=1e-12)
        # the step solves with R: cond(J) = 9, so ~cond**2 times the above: 1e-10
        np.testing.assert_allclose(tr.gauss_newton_step(two_stage),
                                   tr.gauss_newton_step(direct), rtol=1e-10)
    sub = tall.pivoted(np.array([0, 2, 4]))
    ref = tr._pivoted_qr(np.asfortranarray(jac[:, [0, 2, 4]]), f, False, 3)
    # as above (cond = 8; measured 1.2e-15)
    np.testing.assert_allclose(tr.gauss_newton_step(sub), tr.gauss_newton_step(ref),
                               rtol=1e-10)


def test_gram_factor_equals_householder_factor():
    import paramfit.core.linalg as tr

    jac = np.asfortranarray(gauss_line_jac([3.0, 0.5, 1.2, 0.3, 0.1], T_TALL))
    f = tall_residual(P0_GAUSS)
    gram = tr.TallFactor.from_gram(jac, f)
    house = tr.TallFactor(jac.copy(order="F"), f)
    assert gram is not None
    # R is unique up to the signs of its rows; Q^T f follows the same signs.  Cholesky of
    # J^T J has a relative error ~ cond**2 eps (cond(J) = 9 here: ~2e-14; measured 6e-16
    # of max |R|); 1e-9 and 1e-12 of the largest entry bound that at any cond below 1e2,
    # and a wrong factor is off by O(1)
    signs = np.sign(np.diag(house.r)) * np.sign(np.diag(gram.r))
    np.testing.assert_allclose(gram.r * signs[:, None], house.r, rtol=1e-9,
                               atol=1e-12 * np.abs(house.r).max())
    np.testing.assert_allclose(gram.qtf * signs, house.qtf, rtol=1e-8,
                               atol=1e-11 * np.abs(house.qtf).max())
    # column norms as in test_tall_factorisation_matches_pivoted_qr; the step as the
    # Gauss-Newton steps there (cond**2 eps with cond = 9; measured 8e-15)
    np.testing.assert_allclose(gram.column_norms, np.linalg.norm(jac, axis=0), rtol=1e-13)
    np.testing.assert_allclose(tr.gauss_newton_step(gram.pivoted()),
                               np.linalg.lstsq(jac, -f, rcond=None)[0], rtol=1e-9)


def test_gram_factor_refuses_ill_conditioned_or_degenerate_jacobians():
    import paramfit.core.linalg as tr

    rng = np.random.default_rng(3)
    base = rng.normal(size=(5000, 3))
    f = rng.normal(size=5000)
    near = np.column_stack([base, base[:, 0] + 1e-6 * base[:, 1]])  # cond ~ 1e6
    assert tr.TallFactor.from_gram(np.asfortranarray(near), f) is None
    zero = np.column_stack([base, np.zeros(5000)])
    assert tr.TallFactor.from_gram(np.asfortranarray(zero), f) is None
    assert tr.TallFactor.from_gram(np.ascontiguousarray(base), f) is None  # C order
    # ... and the factorisation still works: the Householder path takes over
    qr = tr.pivoted_qr(np.asfortranarray(near), f)
    assert qr.rank == 4


def test_covariance_factor_of_tall_jacobian_matches_qr():
    from paramfit.core.statistics import triangular_factor

    jac = np.asfortranarray(gauss_line_jac([3.0, 0.5, 1.2, 0.3, 0.1], T_TALL))
    r = triangular_factor(jac)
    gram = jac.T @ jac
    # R^T R = J^T J to the rounding of sums of m = 6000 products (sqrt(m) eps = 2e-14 of
    # the largest entry), whatever the factorisation: 1e-13 of the largest entry
    np.testing.assert_allclose(r.T @ r, gram, rtol=1e-12, atol=1e-13 * np.abs(gram).max())
    inverse = np.linalg.inv(r.T @ r)
    house = np.linalg.qr(jac, mode="r")
    reference = np.linalg.inv(house.T @ house)
    # inverses of J^T J (cond(J)**2 = 80): rounding ~80 x the above; 1e-9 bounds it
    np.testing.assert_allclose(inverse, reference, rtol=1e-9,
                               atol=1e-12 * np.abs(reference).max())


@pytest.mark.parametrize("bounded", [False, True])
def test_tall_fit_agrees_with_the_one_stage_path(monkeypatch, bounded):
    import paramfit.core.linalg as tr

    kws = dict(lower=[-np.inf, -np.inf, -np.inf, 0.35, -np.inf]) if bounded else {}
    start = np.array([2.0, 0.0, 1.0, 0.4, 0.0])
    tall = levenberg_marquardt(tall_residual, start, **kws)
    monkeypatch.setattr(tr, "TALL_ROWS", 10**9)
    assert not tr.is_tall(T_TALL.size, 5)
    one = levenberg_marquardt(tall_residual, start, **kws)
    assert tall.success and one.success
    # two factorisations of the same iteration: both converge to the same minimum
    # (measured 3e-13 apart); FIT_RTOL; atol for the coefficient near 0.1
    np.testing.assert_allclose(tall.x, one.x, rtol=FIT_RTOL, atol=1e-12)
    if bounded:
        assert tall.x[3] == 0.35 and tall.active[3] == -1  # set to the bound exactly
    if not bounded:  # MINPACK with the exact Jacobian (its own differences: 6e-9 off)
        ref = leastsq(tall_residual, start, Dfun=lambda p: gauss_line_jac(p, T_TALL),
                      ftol=1e-14, xtol=1e-14, full_output=True)[0]
        np.testing.assert_allclose(tall.x, ref, rtol=FIT_RTOL)


# ---------------------------------------------------------- Broyden rank-one updates
T_TWO = np.linspace(0.0, 6.0, 60)
Y_TWO = (3.0 * np.exp(-0.5 * T_TWO) + 1.5 * np.exp(-2.5 * T_TWO)
         + np.random.default_rng(5).normal(0.0, 0.01, T_TWO.size))


def _exp_sum(p):
    return p[0] * np.exp(-p[1] * T_TWO) + p[2] * np.exp(-p[3] * T_TWO) - Y_TWO


@pytest.mark.parametrize(
    ("fun", "x0", "bounds"),
    [(gauss_residual, P0_GAUSS, None),
     (decay_residual, np.array([1.0, 1.0]), None),
     (rosenbrock, np.array([-1.2, 1.0]), None),
     (_exp_sum, np.array([2.0, 0.3, 1.0, 4.0]), None),
     (gauss_residual, P0_GAUSS, (np.array([0.0, -1.0, 0.5, -np.inf, -np.inf]),
                                 np.array([np.inf, 0.3, 5.0, np.inf, np.inf])))],
)
def test_broyden_updates_reach_the_finite_difference_solution(fun, x0, bounds):
    lower, upper = bounds if bounds is not None else (None, None)
    # the Richardson final Jacobian, whose accuracy the tolerances below rest on (the
    # default 'reuse' one starts from each run's own last forward differences)
    reference = levenberg_marquardt(fun, x0, lower=lower, upper=upper,
                                    jacobian_update="none", final_jacobian="richardson")
    seen = []

    def recorded(p):
        seen.append(p.copy())
        return fun(p)

    sol = levenberg_marquardt(recorded, x0, lower=lower, upper=upper,
                              jacobian_update="broyden", final_jacobian="richardson")
    assert sol.success and reference.success
    # both end with the same final phase (Richardson Jacobian ~1e-10, Gauss-Newton step),
    # entered from different points: measured <= 1.4e-10 apart (_exp_sum, the worst
    # conditioned); 1e-7 leaves 1e3 and is still < 1e-5 of the standard errors
    np.testing.assert_allclose(sol.x, reference.x, rtol=1e-7, atol=1e-10)
    # Richardson Jacobians at two points 1e-10 apart: ~1e-9 of a column's scale
    np.testing.assert_allclose(sol.jac, reference.jac, rtol=1e-6, atol=1e-9)
    # no worse: at a minimum the cost is flat, so the two differ by the rounding of a sum
    # of m squares (m eps ~ 1e-14 relative); 1e-10 slack (1e-300: Rosenbrock's 0)
    assert sol.cost <= reference.cost * (1.0 + 1e-10) + 1e-300
    if bounds is not None:
        points = np.array(seen)
        assert np.all(points >= bounds[0]) and np.all(points <= bounds[1])
    again = levenberg_marquardt(fun, x0, lower=lower, upper=upper, jacobian_update="broyden",
                                final_jacobian="richardson")
    # the same computation twice: determinism is promised, bit for bit
    assert again.x.tobytes() == sol.x.tobytes() and again.nfev == sol.nfev


def test_broyden_is_ignored_with_an_analytic_jacobian():
    a = levenberg_marquardt(gauss_residual, P0_GAUSS, jac=gauss_line_jac,
                            jacobian_update="broyden")
    b = levenberg_marquardt(gauss_residual, P0_GAUSS, jac=gauss_line_jac,
                            jacobian_update="none")
    # the option is documented as ignored: the same computation, bit for bit
    assert a.x.tobytes() == b.x.tobytes() and a.nfev == b.nfev and a.njev == b.njev


def test_broyden_uses_fewer_finite_difference_jacobians_on_a_long_path():
    x0 = np.array([1.0, 1.0, 0.5, 3.0])
    fd = levenberg_marquardt(_exp_sum, x0, jacobian_update="none")
    broyden = levenberg_marquardt(_exp_sum, x0, jacobian_update="broyden")
    assert broyden.njev < fd.njev


def test_unknown_jacobian_update_is_an_error():
    with pytest.raises(ValueError, match="jacobian_update"):
        levenberg_marquardt(decay_residual, [1.0, 1.0], jacobian_update="bfgs")


def test_ill_conditioned_tall_fit_falls_back_to_householder_and_matches_lstsq():
    # monomials up to t**6 on [0, 1]: column-scaled condition ~1e5, beyond the Gram
    # factorisation's limit, so the iteration takes the Householder QR
    import paramfit.core.linalg as tr

    t = np.linspace(0.0, 1.0, 5000)
    basis = np.column_stack([t**k for k in range(7)])
    scaled = basis / np.linalg.norm(basis, axis=0)
    assert np.linalg.cond(scaled) > tr.GRAM_CONDITION_LIMIT
    y = basis @ np.array([1.0, -2.0, 3.0, 0.5, -1.0, 2.0, 0.25]) + 0.01 * np.cos(40 * t)
    sol = levenberg_marquardt(lambda p: basis @ p - y, np.zeros(7))
    expected = np.linalg.lstsq(basis, y, rcond=None)[0]
    assert sol.success
    # cond(basis) = 2e4: least-squares perturbation theory bounds either solution's
    # relative error by ~cond**2 eps = 1e-7 (measured 2e-11 apart); atol for |x| ~ 1
    np.testing.assert_allclose(sol.x, expected, rtol=1e-7, atol=1e-9)
