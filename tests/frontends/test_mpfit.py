"""Tests of the MPFIT front end (seed 002): paramfit.frontends.mpfit, mpfitfun, mpfitexpr.

Reference numbers come from the truth of synthetic data, numpy.linalg.lstsq on
linear problems, or paramfit.minimize on equivalent Parameters, computed in the
same test.
"""

from __future__ import annotations

import numpy as np
import pytest
from _perturb import nudged_float

import paramfit.frontends.mpfit as mpfit_module
from paramfit.core.exceptions import ExpressionError
from paramfit.core.parameters.parameters import Parameters
from paramfit.fitting.minimizer import minimize
from paramfit.frontends.mpfit import MPFitResult, default_iterfunct, mpfit, mpfitexpr, mpfitfun

# --------------------------------------------------------------------------- fixtures
# The seed's example model.  The seed uses x = arange(100), whose log(0) is -inf;
# x starts at 1 here so every deviate is finite.
X = np.arange(1, 101, dtype=float)
TRUTH = np.array([5.7, 2.2, 500.0, 1.5, 2000.0])
START = [5.7, 1.0, 400.0, 1.0, 1000.0]


def seed_model(x, p):
    return p[0] + p[1] * x + p[2] * x**2 + p[3] * np.sqrt(x) + p[4] * np.log(x)


def seed_columns(x):
    return np.column_stack([np.ones_like(x), x, x**2, np.sqrt(x), np.log(x)])


ERR = 1.0 + 0.05 * np.sqrt(seed_model(X, TRUTH))
Y = seed_model(X, TRUTH) + np.random.default_rng(2).normal(size=X.size) * ERR
DATA = {"x": X, "y": Y, "err": ERR}


def myfunct(p, fjac=None, x=None, y=None, err=None):
    return [0, (y - seed_model(x, p)) / err]


def myfunct_deriv(p, fjac=None, x=None, y=None, err=None):
    """Analytic derivatives in the classic convention (seed 002, MPFIT's fdjac2 negates
    what the user returns): pderiv is d(model)/dp / err = -d(deviates)/dp."""
    deviates = (y - seed_model(x, p)) / err
    if fjac is None:
        return [0, deviates]
    return [0, deviates, seed_columns(x) / err[:, None]]


def seed_parinfo(nudge: bool = False):
    """The seed's PARINFO example: p0 fixed at 5.7, p4 bounded below by 50.

    With ``nudge`` the free starts follow ``--perturb-ulps`` (tests/_perturb.py)."""
    parinfo = [{"value": 0.0, "fixed": 0, "limited": [0, 0], "limits": [0.0, 0.0]}
               for _ in range(5)]
    parinfo[0]["fixed"] = 1
    parinfo[4]["limited"][0] = 1
    parinfo[4]["limits"][0] = 50.0
    for i, value in enumerate(START):
        parinfo[i]["value"] = nudged_float(value) if nudge and i else value
    return parinfo


def lstsq_free():
    """Weighted linear least squares on the free columns (p0 fixed at 5.7)."""
    a = seed_columns(X)[:, 1:] / ERR[:, None]
    b = (Y - 5.7) / ERR
    solution = np.linalg.lstsq(a, b, rcond=None)[0]
    return solution, np.sqrt(np.diag(np.linalg.inv(a.T @ a)))


class Counter:
    """Wraps a user function and counts its calls."""

    def __init__(self, fcn):
        self.fcn, self.calls = fcn, 0

    def __call__(self, *args, **kws):
        self.calls += 1
        return self.fcn(*args, **kws)


def exp_data(noise=0.05, seed=1):
    x = np.linspace(0, 4, 40)
    y = 2.5 * np.exp(-x / 1.3) + noise * np.random.default_rng(seed).normal(size=x.size)
    return x, y


def exp_funct(p, fjac=None, x=None, y=None):
    return [0, y - p[0] * np.exp(-x / p[1])]


def trajectory(**kw):
    """Parameter vectors seen by iterfunct, one per iteration."""
    seen = []

    def record(fcn, p, iteration, fnorm, functkw=None, parinfo=None, quiet=0, dof=None):
        seen.append(np.array(p))

    x, y = exp_data()
    result = mpfit(exp_funct, [1.0, 1.0], functkw={"x": x, "y": y}, iterfunct=record, **kw)
    return result, np.array(seen)


# --------------------------------------------------------------------------- seed example
@pytest.mark.reference
def test_seed_example_recovers_truth_and_equals_linear_least_squares():
    m = mpfit(myfunct, parinfo=seed_parinfo(nudge=True), functkw=DATA, quiet=1)
    assert m.status in (1, 2, 3, 4)
    solution, sigma = lstsq_free()
    free = m.params[1:]
    # finite-difference derivatives: the final Jacobian's relative error (~1e-10) times
    # the residual (weighted deviates ~1: a large-residual fit) puts the Gauss-Newton
    # fixed point off the least-squares solution; measured up to 5.5e-8 sigma
    # (1.5e-7 relative) over starts nudged by -6..+6 ulp
    assert np.all(np.abs(free - solution) <= 2e-7 * sigma)
    # the covariance of that Jacobian: its error times cond (14, column-scaled) ~1e-9,
    # measured <= 2.1e-9 over the same starts
    np.testing.assert_allclose(m.perror[1:], sigma, rtol=1e-7)
    assert m.params[0] == 5.7 and m.perror[0] == 0.0
    assert np.all(np.abs(m.params[1:] - TRUTH[1:]) < 4 * m.perror[1:])
    assert m.dof == X.size - 4 and m.nfree == 4 and m.npegged == 0
    assert m.fnorm == pytest.approx(np.sum(myfunct(m.params, **DATA)[1] ** 2), rel=1e-14)


@pytest.mark.reference
def test_seed_example_with_analytic_derivatives_equals_lstsq_to_1e8():
    m = mpfit(myfunct_deriv, parinfo=seed_parinfo(nudge=True), functkw=DATA, autoderivative=0,
              quiet=1)
    solution, sigma = lstsq_free()
    assert m.status in (1, 2, 3, 4)
    np.testing.assert_allclose(m.params[1:], solution, rtol=1e-8)
    np.testing.assert_allclose(m.perror[1:], sigma, rtol=1e-10)


def test_analytic_derivatives_match_autoderivative_with_fewer_calls():
    auto, analytic = Counter(myfunct), Counter(myfunct_deriv)
    m_auto = mpfit(auto, parinfo=seed_parinfo(), functkw=DATA, quiet=1)
    m_an = mpfit(analytic, parinfo=seed_parinfo(), functkw=DATA, autoderivative=0, quiet=1)
    # the analytic fit is the least-squares solution; the finite-difference one is within
    # 2e-7 of a standard error of it (see the seed-example test), as are the errors
    assert np.all(np.abs(m_an.params - m_auto.params) <= 2e-7 * m_an.perror)
    np.testing.assert_allclose(m_an.perror, m_auto.perror, rtol=1e-7)
    assert m_an.nfev == analytic.calls < auto.calls == m_auto.nfev


def test_no_point_is_evaluated_twice_in_a_row():
    seen = []

    def fcn(p, fjac=None, **data):
        seen.append((np.asarray(p).tobytes(), fjac is None))
        return myfunct_deriv(p, fjac, **data)

    for autoderivative in (0, 1):
        seen.clear()
        m = mpfit(fcn, parinfo=seed_parinfo(), functkw=DATA, autoderivative=autoderivative,
                  quiet=1)
        assert m.nfev == len(seen)
        assert all(a != b for a, b in zip(seen, seen[1:], strict=False))
        assert seen[0][1] and seen.count(seen[0]) == 1  # the start: one plain call


def test_negative_status_from_a_derivative_call_stops_the_fit():
    def fcn(p, fjac=None, **data):
        out = myfunct_deriv(p, fjac, **data)
        return [-4, *out[1:]] if fjac is not None and len(calls) > 2 else out

    calls = []
    m = mpfit(lambda *a, **k: calls.append(1) or fcn(*a, **k), parinfo=seed_parinfo(),
              functkw=DATA, autoderivative=0, quiet=1)
    assert m.status == -4 and m.nfev == len(calls) and np.all(np.isnan(m.perror))


def test_fjac_mask_marks_fixed_parameters_and_tied_columns_use_chain_rule():
    masks = []
    x, y = exp_data()

    def fcn(p, fjac=None):
        model = p[0] * np.exp(-x / p[1]) + p[2]
        if fjac is None:
            return [0, y - model]
        masks.append(list(fjac))
        deriv = np.column_stack([np.exp(-x / p[1]), p[0] * x / p[1] ** 2 * np.exp(-x / p[1]),
                                 np.ones_like(x), np.zeros_like(x)])
        return [0, y - model, deriv]

    parinfo = [{}, {}, {"tied": "0.01 * p[3]"}, {"fixed": 1}]
    m = mpfit(fcn, [1.0, 1.0, 0.0, 2.0], parinfo=parinfo, autoderivative=0, quiet=1)
    auto = mpfit(lambda p, fjac=None: fcn(p)[:2], [1.0, 1.0, 0.0, 2.0], parinfo=parinfo, quiet=1)
    assert masks[0] == [1, 1, 1, 0]
    np.testing.assert_allclose(m.params, auto.params, rtol=1e-7)
    assert m.params[2] == pytest.approx(0.02)


def test_deviates_and_derivatives_of_any_shape_are_flattened():
    yy, xx = np.mgrid[0:6, 0:7].astype(float)
    image = 3.0 + 0.5 * xx - 0.25 * yy

    def plane(p, fjac=None):
        deviates = image - (p[0] + p[1] * xx + p[2] * yy)
        if fjac is None:
            return [0, deviates]
        return [0, deviates, np.stack([np.ones_like(xx), xx, yy], axis=-1)]

    m = mpfit(plane, [0.0, 0.0, 0.0], autoderivative=0, quiet=1)
    np.testing.assert_allclose(m.params, [3.0, 0.5, -0.25], atol=1e-12)


# --------------------------------------------------------------------------- core equivalence
def equivalent_parameters():
    params = Parameters()
    for i, value in enumerate(START):
        params.add(f"p{i}", value=value, vary=i != 0, min=50.0 if i == 4 else None)
    return params


def test_results_equal_paramfit_minimize_with_equivalent_parameters():
    m = mpfit(myfunct, parinfo=seed_parinfo(), functkw=DATA, quiet=1)
    params = equivalent_parameters()

    def residual(pars):
        return myfunct(np.array([pars[f"p{i}"].value for i in range(5)]), **DATA)[1]

    fit = minimize(residual, params, scale_covar=False, xtol=1e-10, ftol=1e-10, gtol=1e-10)
    values = np.array([params[f"p{i}"].value for i in range(5)])
    np.testing.assert_allclose(m.params, values, rtol=1e-10)
    stderr = np.array([params[f"p{i}"].stderr for i in range(1, 5)])
    np.testing.assert_allclose(m.perror[1:], stderr, rtol=1e-10)
    assert m.fnorm == pytest.approx(fit.chisqr, rel=1e-12)
    assert m.covar.shape == (5, 5)
    np.testing.assert_allclose(m.covar[1:, 1:], fit.covar, rtol=1e-10)
    assert not m.covar[0].any() and not m.covar[:, 0].any()


def test_perror_is_unscaled_and_scales_by_reduced_chisquare_for_unweighted_data():
    x, y = exp_data(noise=0.2)
    m = mpfit(exp_funct, [1.0, 1.0], functkw={"x": x, "y": y}, quiet=1)
    params = Parameters()
    params.add("a", 1.0)
    params.add("t", 1.0)
    minimize(lambda p: y - p["a"].value * np.exp(-x / p["t"].value), params,  # scaled
             xtol=1e-10, ftol=1e-10, gtol=1e-10)
    scaled = m.perror * np.sqrt(m.fnorm / m.dof)
    np.testing.assert_allclose(scaled, [params["a"].stderr, params["t"].stderr], rtol=1e-8)


# --------------------------------------------------------------------------- parinfo keys
def test_parinfo_keys_are_case_insensitive_and_unknown_keys_ignored():
    parinfo = [{"VALUE": v, "Fixed": int(i == 0), "myOwnKey": "x"} for i, v in enumerate(START)]
    parinfo[4].update({"LIMITED": [1, 0], "Limits": [50.0, 0.0]})
    a = mpfit(myfunct, parinfo=parinfo, functkw=DATA, quiet=1)
    b = mpfit(myfunct, parinfo=seed_parinfo(), functkw=DATA, quiet=1)
    np.testing.assert_array_equal(a.params, b.params)


def test_xall_overrides_parinfo_values_and_p0_is_an_alias():
    x, y = exp_data()
    a = mpfit(exp_funct, [1.0, 1.0], {"x": x, "y": y}, [{"value": 9.0}, {"value": 9.0}],
              quiet=1)
    b = mpfit(exp_funct, p0=[1.0, 1.0], functkw={"x": x, "y": y}, quiet=1)
    np.testing.assert_array_equal(a.params, b.params)


def test_mpmaxstep_bounds_every_iteration_step():
    free, seen_free = trajectory(quiet=1)
    limited, seen = trajectory(parinfo=[{"mpmaxstep": 0.05}, {}], quiet=1)
    assert np.max(np.abs(np.diff(seen_free[:, 0]))) > 0.05  # the limit matters here
    assert np.all(np.abs(np.diff(seen[:, 0])) <= 0.05 * (1 + 1e-12))
    np.testing.assert_allclose(limited.params, free.params, rtol=1e-7)
    assert limited.niter > free.niter


def test_mpside_central_uses_more_evaluations_than_forward():
    x, y = exp_data()
    forward = mpfit(exp_funct, [1.0, 1.0], {"x": x, "y": y}, [{"mpside": 1}, {"mpside": 1}],
                    quiet=1)
    central = mpfit(exp_funct, [1.0, 1.0], {"x": x, "y": y}, [{"mpside": 2}, {"mpside": 2}],
                    quiet=1)
    per_iteration = [(r.nfev / (r.niter + 1)) for r in (forward, central)]
    assert central.nfev > forward.nfev
    assert per_iteration[1] > per_iteration[0]
    np.testing.assert_allclose(central.params, forward.params, rtol=1e-7)


def test_step_and_relstep_change_the_finite_difference_path():
    _, default = trajectory(quiet=1)
    _, coarse = trajectory(parinfo=[{"step": 0.3}, {"step": 0.3}], quiet=1)
    _, relative = trajectory(parinfo=[{"relstep": 0.2}, {"relstep": 0.2}], quiet=1)
    assert not np.allclose(default[1], coarse[1], rtol=1e-6)
    assert not np.allclose(default[1], relative[1], rtol=1e-6)
    assert not np.allclose(coarse[1], relative[1], rtol=1e-6)


def test_relstep_supersedes_step():
    _, both = trajectory(parinfo=[{"step": 0.3, "relstep": 0.2}] * 2, quiet=1)
    _, relative = trajectory(parinfo=[{"relstep": 0.2}] * 2, quiet=1)
    np.testing.assert_array_equal(both, relative)


def test_limits_pin_a_parameter_at_its_limit():
    x, y = exp_data()
    free = mpfit(exp_funct, [1.0, 1.0], functkw={"x": x, "y": y}, quiet=1)
    assert free.params[1] < 1.4
    parinfo = [{}, {"limited": [1, 1], "limits": [1.4, 3.0]}]
    m = mpfit(exp_funct, [1.0, 2.0], {"x": x, "y": y}, parinfo, quiet=1)
    assert m.params[1] == 1.4 and m.npegged == 1 and m.perror[1] == 0.0
    # the other parameter is the 1-parameter least-squares answer at t = 1.4
    basis = np.exp(-x / 1.4)
    assert m.params[0] == pytest.approx(basis @ y / (basis @ basis), rel=1e-9)
    assert m.status in (1, 2, 3, 4)


def test_tied_parameter_keeps_relation_and_gets_zero_perror():
    x = np.linspace(0, 3, 30)
    y = 1.0 + 2.0 * x + 4.0 * x**2 + 0.1 * np.random.default_rng(3).normal(size=x.size)

    def fcn(p, fjac=None):
        return [0, y - (p[0] + p[1] * x + p[2] * x**2)]

    for tied in ("2 * p[1]", "2 * p(1)", "2*p [ 1 ]", "numpy.abs(2 * p[1])",
                 "np.sqrt(4 * p[1]**2)"):
        m = mpfit(fcn, [0.0, 1.0, 0.0], parinfo=[{}, {}, {"tied": tied}], quiet=1)
        # sqrt(4 p^2) = 2|p| to rounding (a few ulp); p[1] ~ 2 > 0 here
        assert m.params[2] == pytest.approx(2 * m.params[1], rel=1e-14)
        assert m.perror[2] == 0.0 and m.nfree == 2
        a = np.column_stack([np.ones_like(x), x + 2 * x**2])
        np.testing.assert_allclose(m.params[:2], np.linalg.lstsq(a, y, rcond=None)[0],
                                   rtol=1e-8)


def test_parname_names_the_parameters():
    parinfo = [{"parname": n} for n in ("offset", "slope", "sqrt", "p0", "amp")]
    m = mpfit(myfunct, START, DATA, parinfo, quiet=1)
    # 'sqrt' is a function name and 'p0' a generic name of another index: not usable
    assert m.names == ["offset", "slope", "p2", "p3", "amp"]
    assert m.parameters["amp"].value == m.params[4]


def test_default_iterfunct_prints_like_mpfit_and_mpprint_hides(capsys):
    parinfo = seed_parinfo()
    parinfo[1]["parname"] = "slope"
    parinfo[2]["mpprint"] = 0
    mpfit(myfunct, parinfo=parinfo, functkw=DATA, maxiter=1)
    lines = capsys.readouterr().out.splitlines()
    # the classic's print("Iter ", "%6i" % iter, "   CHI-SQUARE = ", ...," DOF = ", ...)
    assert lines[0].startswith("Iter       1    CHI-SQUARE =  ")
    assert lines[0].endswith(f"  DOF =  {X.size - 4}")
    assert lines[1:] == ["   P0 = 5.7  ", "   slope = 1  ", "   P3 = 1  ", "   P4 = 1000  "]


def test_nprint_quiet_and_iterfunct_none(capsys):
    x, y = exp_data()
    mpfit(exp_funct, [1.0, 1.0], functkw={"x": x, "y": y}, nprint=2)
    iters = [line.split()[1] for line in capsys.readouterr().out.splitlines()
             if line.startswith("Iter")]
    assert iters[:3] == ["1", "3", "5"]
    mpfit(exp_funct, [1.0, 1.0], functkw={"x": x, "y": y}, quiet=1)
    mpfit(exp_funct, [1.0, 1.0], functkw={"x": x, "y": y}, iterfunct=None)
    assert capsys.readouterr().out == ""


def test_iterfunct_receives_mpfit_arguments():
    calls = []

    def iterfunct(fcn, p, iteration, fnorm, functkw=None, parinfo=None, quiet=0, dof=None,
                  tag=None):
        calls.append((fcn, iteration, fnorm, dict(functkw), parinfo, quiet, dof, tag))

    x, y = exp_data()
    parinfo = [{"parname": "a"}, {}]
    m = mpfit(exp_funct, [1.0, 1.0], {"x": x, "y": y}, parinfo, iterfunct=iterfunct,
              iterkw={"tag": 7}, quiet=1)
    fcn, iteration, fnorm, functkw, info, quiet, dof, tag = calls[0]
    assert fcn is exp_funct and iteration == 1 and info is parinfo and quiet == 1
    assert dof == x.size - 2 and tag == 7 and functkw["x"] is x
    assert fnorm == pytest.approx(np.sum(exp_funct([1.0, 1.0], x=x, y=y)[1] ** 2))
    assert [c[1] for c in calls] == list(range(1, len(calls) + 1))
    # one call per iteration begun; niter is the classic's 1 + accepted steps
    assert len(calls) in (m.niter - 1, m.niter)


def test_nocovar_skips_covariance():
    m = mpfit(myfunct, parinfo=seed_parinfo(), functkw=DATA, nocovar=1, quiet=1)
    assert m.covar is None and m.status > 0
    assert m.perror.shape == (5,) and np.all(np.isnan(m.perror))  # an array, not computed


# --------------------------------------------------------------------------- status codes
# Status 8 (gtol too small) is not triggered: MINPACK tests 6 (ftol too small) and
# 7 (xtol too small) first in the same iteration, and a gradient cosine <= eps
# means the step is at rounding level, so 6 or 7 always fire first in practice
# (no case found in ~300 randomised fits with ftol = xtol = gtol = 1e-300).
# Status 9 is paramfit's "converged but not stationary" and is not MPFIT's.
@pytest.mark.parametrize(("tolerances", "status"), [
    ({"ftol": 1e-3, "xtol": 1e-14}, 1),
    ({"xtol": 1e-3, "ftol": 1e-14}, 2),
    ({"ftol": 1e-3, "xtol": 1e-3}, 3),
    ({"gtol": 0.5}, 4),
])
def test_convergence_status_codes(tolerances, status):
    x, y = exp_data()
    m = mpfit(exp_funct, [1.0, 1.0], functkw={"x": x, "y": y}, quiet=1, **tolerances)
    assert m.status == status
    assert m.errmsg == ""  # the classic: errmsg is empty after a successful fit
    assert m.message == mpfit_module.STATUS_MESSAGES[status]
    assert m.params[1] == pytest.approx(1.3, rel=0.05)


# Stringent-tolerance codes.  At an exact least-squares point codes 6 and 7 race on
# rounding (scipy's MINPACK too), so each test uses a problem on which only its code can
# occur: the residual 1 + |p - c| has a kink at its minimum c, every step away is
# rejected (x never moves, as MINPACK's own run shows), and the trust region shrinks
# until a stringent test holds.  At c = 0, ``xnorm`` is 0, so the xtol tests (2, 7) can
# never hold and only 6 is left once the reductions fall below eps; at c = 1000 the step
# falls below eps * xnorm (7) while the predicted reduction is still ~1e-13 > eps (no 6).
# The gradient cosine is 1 throughout (no 4, no 8).
def _kink(c):
    return lambda p, fjac=None: [0, np.array([1.0 + abs(p[0] - c), 1.0 + abs(p[0] - c)])]


@pytest.mark.parametrize(("centre", "status"), [(0.0, 6), (1000.0, 7)])
def test_stringent_status_on_a_problem_where_only_it_can_occur(centre, status):
    from scipy.optimize import leastsq

    tiny = {"ftol": 1e-300, "xtol": 1e-300, "gtol": 1e-300}
    m = mpfit(_kink(centre), [centre], quiet=1, **tiny)
    assert m.status == status
    assert m.params[0] == centre          # every step was rejected: the start, exactly
    reference = leastsq(lambda p: _kink(centre)(p)[1], [centre], full_output=True, **tiny)
    assert reference[4] == status         # MINPACK lmdif, same problem, same code


def test_status_4_when_residual_is_exactly_zero():
    x = np.linspace(0, 1, 10)
    m = mpfit(lambda p, fjac=None: [0, 2.0 * x - p[0] * x], [2.0], quiet=1)
    assert m.status == 4 and m.params[0] == 2.0


def test_status_5_maxiter():
    x, y = exp_data()
    m = mpfit(exp_funct, [1.0, 1.0], functkw={"x": x, "y": y}, maxiter=3, quiet=1)
    # the classic counts niter from 1 and stops once niter reaches maxiter: 2 steps
    assert m.status == 5 and m.niter == 3 and m.errmsg == ""
    assert "maxiter" in m.message
    assert np.all(np.isfinite(m.perror))  # covariance is computed at the last point
    two_steps, _ = trajectory(quiet=1)
    _, seen = trajectory(quiet=1, maxiter=200)
    np.testing.assert_array_equal(m.params, seen[2])  # the point after 2 accepted steps
    assert two_steps.niter > 3


def test_maxiter_zero_evaluates_the_start_only():
    x, y = exp_data()
    m = mpfit(exp_funct, [1.0, 1.0], functkw={"x": x, "y": y}, maxiter=0, quiet=1)
    assert m.status == 5 and m.niter == 1
    np.testing.assert_array_equal(m.params, [1.0, 1.0])
    assert m.fnorm == pytest.approx(np.sum(exp_funct([1.0, 1.0], x=x, y=y)[1] ** 2))


def test_status_5_maxfev():
    x, y = exp_data()
    counted = Counter(exp_funct)
    m = mpfit(counted, [1.0, 1.0], functkw={"x": x, "y": y}, maxfev=6, quiet=1)
    assert m.status == 5 and "evaluations" in m.message and m.errmsg == ""


def test_negative_status_from_fcn_stops_the_fit():
    x, y = exp_data()
    calls = []

    def fcn(p, fjac=None):
        calls.append(np.array(p))
        if len(calls) > 8:
            return [-7, None]
        return exp_funct(p, x=x, y=y)

    m = mpfit(fcn, [1.0, 1.0], quiet=1)
    assert m.status == -7 and "user function" in m.message
    assert m.errmsg == f'WARNING: premature termination by "{fcn}"'
    assert len(calls) == 9  # no call after the stop
    assert m.covar is None and np.all(np.isnan(m.perror))
    # the best iterate so far is returned (finite-difference points do not count)
    chi2 = [np.sum(exp_funct(p, x=x, y=y)[1] ** 2) for p in calls[:8]]
    assert any(np.array_equal(m.params, p) for p in calls[:8])
    assert m.fnorm == pytest.approx(np.sum(exp_funct(m.params, x=x, y=y)[1] ** 2))
    assert m.fnorm < chi2[0]


def test_negative_status_at_the_first_call():
    def fcn(p, fjac=None):
        return [-3, np.zeros(5)]

    m = mpfit(fcn, [1.0, 2.0], quiet=1)
    assert m.status == -3 and m.nfev == 1
    assert m.errmsg == f'ERROR: first call to "{fcn}" failed'  # the classic's words
    np.testing.assert_array_equal(m.params, [1.0, 2.0])


def test_negative_status_from_iterfunct_stops_the_fit():
    x, y = exp_data()

    def stopper(fcn, p, iteration, fnorm, **kws):
        return -2 if iteration == 3 else None

    m = mpfit(exp_funct, [1.0, 1.0], functkw={"x": x, "y": y}, iterfunct=stopper)
    # called with iter = 3 after two accepted steps: niter is the classic's 3
    assert m.status == -2 and m.niter == 3 and "iterfunct" in m.message
    assert m.errmsg == f"WARNING: premature termination by {stopper}"


def test_python_exceptions_from_fcn_propagate():
    def fcn(p, fjac=None):
        raise ZeroDivisionError("user bug")

    with pytest.raises(ZeroDivisionError, match="user bug"):
        mpfit(fcn, [1.0], quiet=1)


# --------------------------------------------------------------------------- improper input
# errmsg starts with the classic module's message for the same condition, then says
# which parameter and why; params is a copy of the start, fnorm -1, dof 0 (classic).
@pytest.mark.parametrize(("p0", "parinfo", "classic", "words"), [
    # inverted limits leave any start outside: the classic's first test fails
    ([1.0, 2.0], [{}, {"limited": [1, 1], "limits": [3.0, 2.0]}],
     "ERROR: parameters are not within PARINFO limits", ["parameter 1", "lower"]),
    ([1.0, 5.0], [{}, {"limited": [1, 1], "limits": [0.0, 2.0], "parname": "w"}],
     "ERROR: parameters are not within PARINFO limits", ["parameter 1 ('w')", "outside"]),
    ([1.0, -2.0], [{}, {"limited": [1, 0]}],  # limited without limits: limits [0, 0]
     "ERROR: parameters are not within PARINFO limits", ["parameter 1", "outside"]),
    ([1.0, 2.0], [{}], "ERROR: number of elements in PARINFO and P must agree",
     ["p0 has 2 values but parinfo has 1"]),
    ([1.0, "a"], None, "ERROR: improper PARINFO", ["parameter 1", "number"]),
    ([1.0, 2.0], [{"step": "big"}, {}], "ERROR: improper PARINFO", ["parameter 0", "step"]),
    ([1.0, 2.0], [{"mpside": 3}, {}], "ERROR: improper PARINFO", ["parameter 0", "mpside"]),
    ([1.0, 2.0], [{"mpmaxstep": -1}, {}], "ERROR: improper PARINFO", ["mpmaxstep"]),
    ([1.0, 2.0], [{}, {"tied": "2 * p[5]"}], "ERROR: improper PARINFO", ["p[5]"]),
    ([1.0, 2.0], [{}, {"tied": "p[0].__class__"}], "ERROR: improper PARINFO", ["attribute"]),
    ([1.0, 2.0], [{}, {"tied": "numpy.random.rand(1)"}], "ERROR: improper PARINFO",
     ["numpy.random is not available"]),
    ([1.0, 2.0], [{"tied": "p[1]"}, {"tied": "p[0]"}], "ERROR: no free parameters", []),
    ([1.0, 2.0], [{"fixed": 1}, {"fixed": 1}], "ERROR: no free parameters", []),
    (None, [{"value": 1.0}, {}], 'ERROR: either P or PARINFO(*)["value"] must be supplied.',
     ["parameter 1", "no start value"]),
    (None, None, "ERROR: must pass parameters in P or PARINFO", []),
    ([1.0], {"x": 1}, "ERROR: PARINFO must be a list of dictionaries.", []),
    ([1.0, 2.0], ["a", {}], "ERROR: PARINFO must be a list of dictionaries.", []),
])
def test_bad_parinfo_gives_status_0_with_the_classic_message(p0, parinfo, classic, words):
    calls = []
    m = mpfit(lambda p, fjac=None: calls.append(1) or [0, np.zeros(10)], p0, parinfo=parinfo,
              quiet=1)
    assert isinstance(m, MPFitResult)
    assert m.status == 0 and m.errmsg.startswith(classic)
    for word in words:
        assert word in m.errmsg
    assert m.fnorm == -1.0 and m.dof == 0 and m.niter == 0 and m.covar is None
    # the classic copies the start into params only after its parinfo-type, count, value
    # and free-parameter checks; the rest of its improper-input results hold the start
    readable = p0 is not None and all(isinstance(v, float) for v in p0)
    if classic in mpfit_module._BEFORE_PARAMS or not readable:
        assert m.params is None and m.perror is None
    else:
        np.testing.assert_array_equal(m.params, p0)
        assert m.params is not p0 and np.all(np.isnan(m.perror))
    assert not calls


@pytest.mark.parametrize(("keywords", "classic"), [
    ({"ftol": 0.0}, "ERROR: input keywords are inconsistent"),
    ({"xtol": -1.0}, "ERROR: input keywords are inconsistent"),
    ({"gtol": 0.0}, "ERROR: input keywords are inconsistent"),
    ({"maxiter": -1}, "ERROR: input keywords are inconsistent"),
    ({"factor": 0.0}, "ERROR: input keywords are inconsistent"),
    ({"damp": -1.0}, "ERROR: input keywords are inconsistent"),
    ({"rescale": 1}, "ERROR: DIAG parameter scales are inconsistent"),
    ({"rescale": 1, "diag": [1.0, -1.0]}, "ERROR: DIAG parameter scales are inconsistent"),
    ({"p0": [1.0, 1.0]}, "ERROR: input keywords are inconsistent"),
    ({"damp": 1.0, "autoderivative": 0},
     "ERROR: keywords DAMP and AUTODERIVATIVE are mutually exclusive"),
])
def test_inconsistent_keywords_give_status_0_with_the_classic_message(keywords, classic):
    x, y = exp_data()
    m = mpfit(exp_funct, [1.0, 1.0], {"x": x, "y": y}, quiet=1, **keywords)
    assert m.status == 0 and m.errmsg.startswith(classic)
    if classic in mpfit_module._BEFORE_PARAMS:  # the classic has not copied the start yet
        assert m.params is None
    else:
        np.testing.assert_array_equal(m.params, [1.0, 1.0])


def test_a_parinfo_list_in_the_functkw_position_is_explained():
    """Old paramfit order mpfit(fcn, p0, parinfo): the classic's third is functkw."""
    m = mpfit(exp_funct, [1.0, 1.0], [{}, {}], quiet=1)
    assert m.status == 0 and "functkw" in m.errmsg and "parinfo=" in m.errmsg


def test_fewer_deviates_than_free_parameters_uses_the_classic_message():
    m = mpfit(lambda p, fjac=None: [0, np.array([p[0] - 1.0])], [0.0, 0.0], quiet=1)
    assert m.status == 0
    assert m.errmsg.startswith("ERROR: number of parameters must not exceed data")


def test_rescale_with_diag_fits():
    x, y = exp_data()
    m = mpfit(exp_funct, [1.0, 1.0], functkw={"x": x, "y": y}, rescale=1, diag=[1.0, 3.0],
              quiet=1)
    ref = mpfit(exp_funct, [1.0, 1.0], functkw={"x": x, "y": y}, quiet=1)
    assert m.status in (1, 2, 3, 4)
    np.testing.assert_allclose(m.params, ref.params, rtol=1e-7)


@pytest.mark.parametrize(("fcn", "words"), [
    (lambda p, fjac=None: np.zeros(5), "[status, deviates]"),
    (lambda p, fjac=None: [0, np.zeros(5)] if fjac is None else [0, np.zeros(5)],
     "no derivatives"),
    (lambda p, fjac=None: [0, np.ones(5) * p[0], np.zeros((2, 5))], "transposed"),
])
def test_malformed_user_function_returns_give_status_0(fcn, words):
    m = mpfit(fcn, [1.0, 2.0], autoderivative=0, quiet=1)
    assert m.status == 0 and words in m.errmsg and m.fnorm == -1.0 and m.dof == 0


# --------------------------------------------------------------------------- drivers
def test_mpfitfun_recovers_truth_and_equals_mpfit():
    m = mpfitfun(seed_model, X, Y, ERR, parinfo=seed_parinfo(), quiet=1)
    ref = mpfit(myfunct, parinfo=seed_parinfo(), functkw=DATA, quiet=1)
    np.testing.assert_array_equal(m.params, ref.params)
    np.testing.assert_array_equal(m.perror, ref.perror)


def test_mpfitfun_unweighted_and_bad_err():
    x, y = exp_data()
    m = mpfitfun(lambda x, p: p[0] * np.exp(-x / p[1]), x, y, None, [1.0, 1.0], quiet=1)
    ref = mpfit(exp_funct, [1.0, 1.0], functkw={"x": x, "y": y}, quiet=1)
    np.testing.assert_array_equal(m.params, ref.params)
    bad = mpfitfun(lambda x, p: p[0] * x, x, y, np.zeros_like(x), [1.0], quiet=1)
    assert bad.status == 0 and "err" in bad.errmsg


def test_mpfitexpr_classic_signature_returns_params_and_yfit():
    expr = "p[0] + p[1]*x + p[2]*x**2 + p[3]*numpy.sqrt(x) + p[4]*np.log(x)"
    params, yfit = mpfitexpr(expr, X, Y, ERR, START, parinfo=seed_parinfo(), quiet=1)
    ref = mpfitfun(seed_model, X, Y, ERR, parinfo=seed_parinfo(), quiet=1)
    np.testing.assert_allclose(params, ref.params, rtol=1e-10)
    np.testing.assert_allclose(yfit, seed_model(X, params), rtol=1e-14)  # rounding only
    solution, sigma = lstsq_free()
    # finite differences on a large-residual fit: see the seed-example test (2e-7 sigma)
    assert np.all(np.abs(params[1:] - solution) <= 2e-7 * sigma)
    m, yfit_full = mpfitexpr(expr, X, Y, ERR, START, full_output=True, parinfo=seed_parinfo(),
                             quiet=1)
    assert isinstance(m, MPFitResult) and m.errmsg == "" and m.status > 0
    np.testing.assert_array_equal(m.params, params)
    np.testing.assert_array_equal(yfit_full, yfit)


def test_mpfitexpr_positional_check_and_full_output():
    x = np.linspace(0, 2, 20)
    y = 3.0 * np.exp(-x / 0.7)
    m, yfit = mpfitexpr("p[0] * scipy.exp(-x / p[1])", x, y, 1.0, [1.0, 1.0], True, True,
                        ["numpy", "scipy", "math"], quiet=1)
    assert m.params == pytest.approx([3.0, 0.7], rel=1e-8)  # exact data, xtol = 1e-10
    with pytest.raises(ExpressionError, match="wrong function format"):
        mpfitexpr("x * 2", x, y, 1.0, [1.0])
    with pytest.raises(ExpressionError, match="length of the start_params"):
        mpfitexpr("p[0] * x", x, y, 1.0, [1.0, 2.0])
    # check=False: the classic skips its count of p[i] (p(i) is paramfit's IDL form)
    params, _ = mpfitexpr("p(0) * exp(-x / p(1))", x, y, None, [1.0, 1.0], check=False,
                          quiet=1)
    assert params == pytest.approx([3.0, 0.7], rel=1e-8)


@pytest.mark.parametrize("imports", [["os"], ["numpy", "subprocess"], ["np"]])
def test_mpfitexpr_imports_only_for_modules_the_engine_knows(imports):
    x = np.linspace(0, 1, 5)
    with pytest.raises(ExpressionError, match="not available"):
        mpfitexpr("p[0] * x", x, x, 1.0, [1.0], imports=imports, quiet=1)


def test_mpfitexpr_functkw_names():
    x = np.linspace(0, 2, 20)
    params, _ = mpfitexpr("p[0] * exp(-x / tau)", x, 3.0 * np.exp(-x / 0.7), 1.0, [1.0],
                          functkw={"tau": 0.7}, quiet=1)
    assert params[0] == pytest.approx(3.0, rel=1e-10)


@pytest.mark.parametrize("expr", [
    "p[0] + __import__('os').system('true')", "p[0] + x.__class__", "p[0] + y",
    "[p[0] for _ in x]", "p[0] * open", "p[0] * numpy.random.rand()",
    "p[0] * numpy.max(x)", "p[0] * os.system",
])
def test_mpfitexpr_rejects_unsafe_or_unknown_expressions(expr):
    x = np.linspace(0, 1, 5)
    with pytest.raises(ExpressionError):
        mpfitexpr(expr, x, x, 1.0, [1.0], quiet=1)


def test_default_iterfunct_is_public_and_silent_when_quiet(capsys):
    default_iterfunct(None, [1.0], 1, fnorm=2.0, dof=3, quiet=1)
    assert capsys.readouterr().out == ""


def test_public_surface():
    assert set(mpfit_module.__all__) == {"MPFitResult", "mpfit", "mpfitfun", "mpfitexpr",
                                         "default_iterfunct", "STATUS_MESSAGES"}


# --------------------------------------------------------------------------- drop-in (issue 18)
def test_classic_convention_derivatives_give_the_scipy_minpack_fit():
    """pderiv = d(model)/dp (the classic negates it): the fit equals MINPACK lmder with
    the deviates' true Jacobian, -pderiv, on a nonlinear problem."""
    from scipy.optimize import leastsq

    x, y = exp_data()

    def fcn(p, fjac=None):
        model = p[0] * np.exp(-x / p[1])
        if fjac is None:
            return [0, y - model]
        return [0, y - model, np.column_stack([np.exp(-x / p[1]),
                                               p[0] * x / p[1] ** 2 * np.exp(-x / p[1])])]

    m = mpfit(fcn, [1.0, 1.0], autoderivative=0, quiet=1)
    ref = leastsq(lambda p: fcn(p)[1], [1.0, 1.0], Dfun=lambda p: -fcn(p, fjac=1)[2],
                  xtol=1e-10, ftol=1e-10, full_output=True)
    assert m.status in (1, 2, 3, 4) and m.errmsg == "" and m.niter > 2
    # both stop on xtol = 1e-10 (relative) at the same least-squares point
    np.testing.assert_allclose(m.params, ref[0], rtol=1e-8)
    np.testing.assert_allclose(m.perror, np.sqrt(np.diag(ref[1])), rtol=1e-6)


def test_the_full_classic_positional_order():
    x, y = exp_data()
    seen = []

    def iterfunct(fcn, p, iteration, fnorm, functkw=None, parinfo=None, quiet=0, dof=None,
                  tag=None):
        seen.append(tag)

    # fcn, xall, functkw, parinfo, ftol, xtol, gtol, damp, maxiter, factor, nprint,
    # iterfunct, iterkw, nocovar, rescale, autoderivative, quiet, diag, epsfcn, debug
    m = mpfit(exp_funct, [1.0, 1.0], {"x": x, "y": y}, [{}, {}], 1e-10, 1e-10, 1e-10, 0.0,
              200, 100.0, 1, iterfunct, {"tag": 3}, 0, 0, 1, 1, None, None, 0)
    ref = mpfit(exp_funct, xall=[1.0, 1.0], functkw={"x": x, "y": y}, quiet=1)
    np.testing.assert_array_equal(m.params, ref.params)
    assert seen and set(seen) == {3}
    nocovar = mpfit(exp_funct, [1.0, 1.0], {"x": x, "y": y}, None, 1e-10, 1e-10, 1e-10, 0.0,
                    200, 100.0, 1, None, {}, 1)
    assert nocovar.covar is None


def test_damp_fits_the_tanh_damped_residuals():
    """damp=d minimises sum(tanh(r/d)^2): compare with scipy least_squares on that."""
    from scipy.optimize import least_squares

    x, y = exp_data()
    y = y.copy()
    y[5] += 3.0  # an outlier the damping should discount
    damped = mpfit(exp_funct, [1.0, 1.0], {"x": x, "y": y}, damp=0.1, quiet=1)
    plain = mpfit(exp_funct, [1.0, 1.0], {"x": x, "y": y}, quiet=1)
    ref = least_squares(lambda p: np.tanh(exp_funct(p, x=x, y=y)[1] / 0.1), [1.0, 1.0],
                        xtol=1e-12, ftol=1e-12, gtol=1e-12)
    assert damped.status in (1, 2, 3, 4)
    # finite-difference Jacobians on both sides (~1e-8 relative) on a well-conditioned fit
    np.testing.assert_allclose(damped.params, ref.x, rtol=1e-6)
    assert damped.fnorm == pytest.approx(np.sum(ref.fun ** 2), rel=1e-8)
    assert abs(damped.params[1] - 1.3) < abs(plain.params[1] - 1.3)


def test_epsfcn_sets_the_finite_difference_step():
    _, default = trajectory(quiet=1)
    _, coarse = trajectory(quiet=1, epsfcn=1e-4)
    assert not np.allclose(default[1], coarse[1], rtol=1e-6)  # step sqrt(1e-4) = 1e-2


def test_debug_prints_user_and_numerical_derivatives(capsys):
    x, y = exp_data()

    def fcn(p, fjac=None):
        model = p[0] * np.exp(-x / p[1])
        if fjac is None:
            return [0, y - model]
        return [0, y - model, np.column_stack([np.exp(-x / p[1]), np.zeros_like(x)])]  # wrong

    mpfit(fcn, [1.0, 1.0], autoderivative=0, debug=1, quiet=1, maxiter=2)
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "FJAC DEBUG BEGIN" and "FJAC DEBUG END" in out
    rows = [line.split() for line in out[2:out.index("FJAC DEBUG END")]]
    assert [r[0] for r in rows] == ["0", "1"]
    assert float(rows[0][4]) < 1e-5 < float(rows[1][4])  # column 1 is wrong: rel diff 1


def test_non_finite_deviates_at_the_start_give_status_minus_16():
    m = mpfit(lambda p, fjac=None: [0, np.array([1.0, np.nan, 2.0]) * p[0]], [1.0], quiet=1)
    assert m.status == -16 and "infinite" in m.errmsg
    np.testing.assert_array_equal(m.params, [1.0])
    assert m.perror.shape == (1,) and m.covar is None


def test_parinfo_defaults_of_the_classic():
    x, y = exp_data()
    free = mpfit(exp_funct, [1.0, 1.0], {"x": x, "y": y}, quiet=1)
    # limits without limited: ignored
    ignored = mpfit(exp_funct, [1.0, 1.0], {"x": x, "y": y},
                    [{"limits": [5.0, 6.0]}, {"limits": [0.0, 0.1]}], quiet=1)
    np.testing.assert_array_equal(ignored.params, free.params)
    # limited without limits: limits [0, 0]; a lower bound 0 on tau is inactive here
    bounded = mpfit(exp_funct, [1.0, 1.0], {"x": x, "y": y}, [{}, {"limited": [1, 0]}],
                    quiet=1)
    np.testing.assert_allclose(bounded.params, free.params, rtol=1e-10)
    assert bounded.npegged == 0


def test_perror_is_an_array_when_the_covariance_is_singular():
    x = np.linspace(0, 1, 10)
    # p[0] and p[1] enter only as their sum: J^T J is singular
    m = mpfit(lambda p, fjac=None: [0, 2.0 * x - (p[0] + p[1]) * x], [0.5, 0.5], quiet=1)
    assert m.status > 0 and m.perror.shape == (2,)


def test_status_9_is_a_warning_in_errmsg_and_perror_stays_an_array():
    """Classic code reads status > 0 as success; paramfit's 9 also sets errmsg.  Here the
    amplitude pegs at its upper limit 0, where the model no longer depends on tau."""
    x, y = exp_data()
    m = mpfit(exp_funct, [-1.0, 1.0], {"x": x, "y": y}, [{"limited": [0, 1]}, {}], quiet=1)
    assert m.status == 9 and m.errmsg.startswith("WARNING: ")
    assert m.params[0] == 0.0 and m.npegged == 1
    assert m.perror.shape == (2,) and m.perror[0] == 0.0 and np.isnan(m.perror[1])


def test_non_finite_deviates_during_the_fit_give_status_minus_16_and_the_best_point():
    """Deviates are inf once |p[0] - 1| > 0.5 while the minimum is at p[0] ~ 2.5: the
    solver cannot reach it and ends on the edge; the classic reports -16 here."""
    x, y = exp_data()

    def fcn(p, fjac=None):
        r = y - p[0] * np.exp(-x / p[1])
        return [0, r * np.inf if abs(p[0] - 1.0) > 0.5 else r]

    with np.errstate(invalid="ignore"):
        m = mpfit(fcn, [1.0, 1.0], quiet=1)
    assert m.status == -16 and m.errmsg.startswith("ERROR: parameter or function value")
    assert abs(m.params[0] - 1.0) <= 0.5 and np.all(np.isfinite(m.params))
    assert m.fnorm == pytest.approx(np.sum(fcn(m.params)[1] ** 2), rel=1e-12)
    assert m.fnorm < np.sum(fcn([1.0, 1.0])[1] ** 2) and np.all(np.isnan(m.perror))


def test_integer_start_vectors_are_read_as_float():
    x, y = exp_data()
    m = mpfit(exp_funct, [1, 1], {"x": x, "y": y}, quiet=1)
    ref = mpfit(exp_funct, [1.0, 1.0], {"x": x, "y": y}, quiet=1)
    np.testing.assert_array_equal(m.params, ref.params)


def test_signature_is_the_classic_positional_order():
    import inspect

    # the classic module's mpfit.__init__(self, fcn, xall=None, functkw={}, ...), in order
    classic = ["fcn", "xall", "functkw", "parinfo", "ftol", "xtol", "gtol", "damp", "maxiter",
               "factor", "nprint", "iterfunct", "iterkw", "nocovar", "rescale",
               "autoderivative", "quiet", "diag", "epsfcn", "debug"]
    parameters = inspect.signature(mpfit).parameters
    assert list(parameters)[:20] == classic
    assert all(p.kind is p.POSITIONAL_OR_KEYWORD for p in list(parameters.values())[:20])
    defaults = {name: parameters[name].default for name in classic[4:]}
    assert defaults == {"ftol": 1e-10, "xtol": 1e-10, "gtol": 1e-10, "damp": 0.0,
                        "maxiter": 200, "factor": 100.0, "nprint": 1, "iterfunct": "default",
                        "iterkw": None, "nocovar": 0, "rescale": 0, "autoderivative": 1,
                        "quiet": 0, "diag": None, "epsfcn": None, "debug": 0}
    expr = list(inspect.signature(mpfitexpr).parameters)
    assert expr == ["func", "x", "y", "err", "start_params", "check", "full_output",
                    "imports", "kw"]
