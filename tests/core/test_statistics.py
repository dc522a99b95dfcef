"""Fit statistics and covariance, checked against closed forms and scipy on linear models."""

import math

import numpy as np
import pytest
from scipy import stats

from paramfit import Parameters, minimize
from paramfit.core.problem import FitProblem
from paramfit.core.statistics import SolverOutcome, _covariance, build_result, tied_stderr

RNG = np.random.default_rng(11)
X = np.linspace(0.0, 4.0, 30)
Y = 1.5 + 0.7 * X - 0.2 * X**2 + RNG.normal(scale=0.05, size=X.size)
DESIGN = np.column_stack([np.ones_like(X), X, X**2])


def quad(params):
    v = params.valuesdict()
    return v["c0"] + v["c1"] * X + v["c2"] * X**2 - Y


def quad_params():
    p = Parameters()
    for name in ("c0", "c1", "c2"):
        p.add(name, value=0.1)
    return p


def test_linear_model_statistics_match_closed_forms():
    p = quad_params()
    out = minimize(quad, p)
    beta, rss, *_ = np.linalg.lstsq(DESIGN, Y, rcond=None)
    dof = X.size - 3
    cov = np.linalg.inv(DESIGN.T @ DESIGN) * rss[0] / dof
    np.testing.assert_allclose([p[n].value for n in ("c0", "c1", "c2")], beta, rtol=1e-9)
    np.testing.assert_allclose(out.covar, cov, rtol=1e-7)
    assert out.chisqr == pytest.approx(rss[0], rel=1e-10)
    assert out.redchi == pytest.approx(rss[0] / dof, rel=1e-10)
    for i, name in enumerate(("c0", "c1", "c2")):
        t = beta[i] / math.sqrt(cov[i, i])
        assert out.tvalues[name] == pytest.approx(t, rel=1e-6)
        assert out.pvalues[name] == pytest.approx(2 * stats.t.sf(abs(t), dof), rel=1e-5)
    np.testing.assert_allclose(out.jac_singular_values,
                               np.linalg.svd(DESIGN, compute_uv=False), rtol=1e-8)
    assert np.max(np.abs(out.gradient)) < 1e-8 * np.max(np.abs(DESIGN.T @ np.abs(Y)))
    corr = cov[0, 1] / math.sqrt(cov[0, 0] * cov[1, 1])
    assert p["c0"].correl["c1"] == pytest.approx(corr, rel=1e-6)


def test_unscaled_covariance():
    out = minimize(quad, quad_params(), scale_covar=False)
    np.testing.assert_allclose(out.covar, np.linalg.inv(DESIGN.T @ DESIGN), rtol=1e-7)


def test_rank_deficient_jacobian_gives_no_errorbars():
    def degenerate(params):
        return (params["a"].value + params["b"].value) * X - 3 * X

    p = Parameters()
    p.add("a", value=1.0)
    p.add("b", value=1.0)
    out = minimize(degenerate, p)
    assert not out.errorbars and out.covar is None
    assert p["a"].stderr is None and "singular" in p["a"].status_reason
    assert p["a"].value + p["b"].value == pytest.approx(3.0, rel=1e-10)


def test_covariance_is_unit_independent():
    jac = DESIGN * np.array([1e-6, 1.0, 1e6])
    cov = _covariance(np.linalg.qr(jac, mode="r"), np.ones(3, bool), 1e-9)
    np.testing.assert_allclose(cov, np.linalg.inv(jac.T @ jac), rtol=1e-8)
    degenerate = np.linalg.qr(np.column_stack([X, 2 * X]), mode="r")
    assert _covariance(degenerate, np.ones(2, bool), 1e-9) is None


def test_information_criteria():
    out = minimize(quad, quad_params())
    n, k = X.size, 3
    assert out.aic == pytest.approx(n * math.log(out.chisqr / n) + 2 * k)
    assert out.bic == pytest.approx(n * math.log(out.chisqr / n) + math.log(n) * k)


def test_build_result_writes_nothing_into_the_parameters():
    # the closed-form solution handed over as a solver's outcome; the statistics are
    # computed from it and the Parameters stay as they were (the Minimizer writes them)
    beta, rss, *_ = np.linalg.lstsq(DESIGN, Y, rcond=None)
    p = quad_params()
    p.add("twice", expr="2 * c1")
    problem = FitProblem(quad, p)
    resid = DESIGN @ beta - Y
    before = {name: par.__getstate__() for name, par in p.items()}
    outcome = SolverOutcome(x=beta, residual=resid, jac=np.asfortranarray(DESIGN), nfev=1,
                            njev=1, niter=0, success=True, message="closed form", ier=1)
    result = build_result(problem, outcome, method="closed form", init_vals=[0.1] * 3)
    assert {name: par.__getstate__() for name, par in p.items()} == before
    dof = X.size - 3
    cov = np.linalg.inv(DESIGN.T @ DESIGN) * rss[0] / dof
    # two inverses of J^T J, each good to cond(J)^2 eps = 2e-13 (cond 32): 1e-9 is ample
    np.testing.assert_allclose(result.covar, cov, rtol=1e-9)
    assert result.chisqr == pytest.approx(rss[0], rel=1e-12)   # two sums of 30 squares
    assert result.params is p and result.var_names == ["c0", "c1", "c2"]
    # the tied parameter's standard error (for the fitter's write-back): a central
    # difference of a linear expression, exact up to rounding/step = 1e-10 relative
    assert tied_stderr(problem, result) == pytest.approx([2 * math.sqrt(cov[1, 1])],
                                                         rel=1e-8)
