"""lmfit 1.3 calls of minimize/Minimizer (issue 15): regression tests of its silent
differences #7-#10 and of the method names, results and confidence calls.

Reference numbers come from the same fit by paramfit's Levenberg-Marquardt (the
NIST-certified solver) or from closed forms on the covariance."""

import math

import numpy as np
import pytest
from scipy import special
from scipy.optimize import brentq

from paramfit.core.parameters.parameters import Parameters
from paramfit.fitting.confidence import conf_interval
from paramfit.fitting.minimizer import Minimizer, MinimizerResult, minimize

X = np.linspace(0.0, 5.0, 41)
Y = 3.0 * np.exp(-X / 1.5) + 0.5 + 0.01 * np.random.default_rng(3).standard_normal(X.size)


def decay(p, x=X, y=Y):
    return p["amp"].value * np.exp(-x / p["tau"].value) + p["off"].value - y


def start(bounded=False):
    p = Parameters()
    if bounded:
        p.add("amp", value=2.0, min=0.5, max=6.0)
        p.add("tau", value=1.0, min=0.5, max=3.0)
        p.add("off", value=0.0, min=-1.0, max=2.0)
    else:
        p.add("amp", value=2.0)
        p.add("tau", value=1.0)
        p.add("off", value=0.0)
    return p


@pytest.fixture(scope="module")
def best():
    p = start()
    out = minimize(decay, p)
    return out


# ---------------------------------------------------------------- #7 positional method
def test_issue15_7_third_positional_string_is_the_method():
    """minimize(fcn, params, 'nelder') silently ran leastsq (the seed's 3rd is args)."""
    out = minimize(decay, start(), "nelder")
    assert out.method == "nelder"
    seed = minimize(lambda p, x, y: decay(p, x, y), start(True), (X, Y), None, "powell")
    assert seed.method == "powell"           # seed 000 order: args, kws, engine
    plain = minimize(lambda p, x, y: decay(p, x, y), start(), (X, Y))
    assert plain.method == "leastsq"


# ---------------------------------------------------------------- #8 iter_cb, max_nfev
def test_issue15_8_iter_cb_is_called_per_evaluation_and_aborts():
    calls = []

    def cb(params, it, resid, *args, **kws):
        calls.append(it)
        return it >= 3

    out = minimize(decay, start(), iter_cb=cb)
    assert calls == [1, 2, 3]                 # lmfit: iter is the evaluation count
    assert out.nfev == 3 and out.aborted
    assert not out.success and not out.errorbars and not out


@pytest.mark.parametrize("method", ["leastsq", "least_squares", "nelder", "powell",
                                    "differential_evolution", "basinhopping",
                                    "dual_annealing", "shgo"])
def test_issue15_8_max_nfev_caps_every_evaluation_of_the_fit(method):
    """max_nfev=50 gave nfev 125 (the final phase was not capped) and errorbars=True."""
    out = Minimizer(decay, start(bounded=True)).minimize(method, max_nfev=20)
    assert out.nfev <= 20
    assert out.aborted and not out.success and not out.errorbars


def test_max_nfev_default_leaves_the_leastsq_path_unchanged(best):
    again = Minimizer(decay, start(), max_nfev=None).leastsq()
    assert again.nfev == best.nfev and again.chisqr == best.chisqr


# ---------------------------------------------------------------- #9 uvars
def test_issue15_9_uvars_are_one_correlated_set(best):
    pytest.importorskip("uncertainties")
    u = best.uvars
    assert u is best.uvars                    # built once
    i, j = best.var_names.index("amp"), best.var_names.index("off")
    c = best.covar
    expected = math.sqrt(c[i, i] + c[j, j] + 2 * c[i, j])   # var(a + b) with covariance
    assert (u["amp"] + u["off"]).std_dev == pytest.approx(expected, rel=1e-9)  # rounding


# ---------------------------------------------------------------- #10 user exceptions
def test_issue15_10_user_exception_keeps_its_type_and_names_the_values():
    def bad(p):
        if p["amp"].value != 2.0:
            raise ZeroDivisionError("division by zero in my model")
        return decay(p)

    p = start()
    with pytest.raises(ZeroDivisionError) as info:
        minimize(bad, p)
    text = str(info.value) + " ".join(getattr(info.value, "__notes__", ()))
    assert "my model" in text and "amp=" in text and "tau=" in text
    assert p["amp"].value == 2.0              # the Parameters are restored


# ---------------------------------------------------------------- the result object
def test_result_has_lmfit_attributes_and_the_seed_methods(best):
    assert isinstance(best, MinimizerResult) and bool(best) is True
    assert best.var_names == ["amp", "tau", "off"]
    assert best.init_values == {"amp": 2.0, "tau": 1.0, "off": 0.0}
    assert best.aborted is False and best.errorbars
    assert best.chisqr == pytest.approx(float(best.residual @ best.residual), rel=1e-12)
    assert "<pre>" in best._repr_html_()


def test_params_updated_in_place_and_result_params_is_a_copy():
    p = start()
    out = minimize(decay, p)
    assert out.params is not p
    assert out.params["tau"].value == p["tau"].value != 1.0
    p["tau"].value = 9.0
    assert out.params["tau"].value != 9.0


def test_seed_refit_through_the_result_shows_the_new_fit():
    p = start()
    out = minimize(decay, p, method="nelder")
    assert out.leastsq() is out and out.method == "leastsq"
    assert out.prepare_fit() is not None


def test_public_path_resolves():
    import paramfit.minimizer as public

    assert public.MinimizerResult is MinimizerResult


# ---------------------------------------------------------------- methods
SCALAR = ["nelder", "lbfgsb", "powell", "cg", "bfgs", "newton", "tnc", "cobyla", "slsqp",
          "dogleg", "trust-ncg", "trust-exact", "trust-krylov", "trust-constr",
          "least_squares"]


@pytest.mark.parametrize("method", SCALAR)
def test_every_local_method_reaches_the_leastsq_minimum(best, method):
    out = minimize(decay, start(bounded=method in ("cg", "bfgs", "tnc", "powell")),
                   method=method)
    assert out.method == method
    # within 2 % of the Levenberg-Marquardt chi-square: the scalar methods stop on their
    # own (looser) tolerances; each value within half a standard error
    assert out.chisqr <= best.chisqr * 1.02
    for name in best.var_names:
        assert abs(out.params[name].value - best.params[name].value) \
            <= 0.5 * best.params[name].stderr


@pytest.mark.parametrize("method", ["differential_evolution", "basinhopping", "shgo",
                                    "dual_annealing"])
def test_global_methods_find_the_minimum(best, method):
    out = minimize(decay, start(bounded=True), method=method)
    assert out.chisqr <= best.chisqr * 1.02   # as above
    assert abs(out.params["tau"].value - best.params["tau"].value) \
        <= 0.5 * best.params["tau"].stderr


def test_brute_grid_and_candidates():
    p = Parameters()
    p.add("amp", value=3.0, vary=False)
    p.add("tau", value=1.0, min=0.5, max=3.0)
    p.add("off", value=0.5, min=0.0, max=1.0)
    out = minimize(decay, p, method="brute", Ns=11, keep=5)
    taus, offs = np.linspace(0.5, 3.0, 11), np.linspace(0.0, 1.0, 11)
    chi = [[float(np.sum((3.0 * np.exp(-X / t) + o - Y) ** 2)) for o in offs] for t in taus]
    k = np.unravel_index(np.argmin(chi), (11, 11))
    assert out.brute_x0.tolist() == [taus[k[0]], offs[k[1]]]     # brute force by hand
    assert out.brute_fval == pytest.approx(np.min(chi), rel=1e-12)
    assert out.brute_Jout.shape == (11, 11) and len(out.candidates) == 5
    assert out.candidates[0].score == pytest.approx(np.min(chi), rel=1e-12)
    assert out.candidates[0].params["tau"].value == taus[k[0]]


def test_brute_workers_in_this_process_or_a_clear_error():
    def grid(**kws):
        p = Parameters()
        p.add("amp", value=3.0, vary=False)
        p.add("tau", value=1.0, min=0.5, max=3.0)
        p.add("off", value=0.5, min=0.0, max=1.0)
        return p, minimize(decay, p, method="brute", Ns=5, **kws)

    _, plain = grid()
    _, mapped = grid(workers=map)   # a map-like callable runs here: the same grid
    assert np.array_equal(mapped.brute_Jout, plain.brute_Jout) and mapped.nfev == plain.nfev
    with pytest.raises(ValueError, match="workers=-1 would evaluate the grid in other"):
        grid(workers=-1)


def test_reduce_fcn_names_and_callable():
    for reduce_fcn in ("negentropy", "neglogcauchy", lambda r: float(np.sum(np.abs(r)))):
        out = minimize(decay, start(bounded=True), method="nelder", reduce_fcn=reduce_fcn)
        assert out.method == "nelder" and out.nfev > 0


def test_ampgo_is_named_when_missing_or_runs():
    try:
        out = minimize(decay, start(bounded=True), method="ampgo")
    except Exception as exc:  # noqa: BLE001
        assert "ampgo" in str(exc)
    else:
        assert out.method == "ampgo"


# ---------------------------------------------------------------- confidence
def test_conf_interval_seed_and_lmfit_calls(best):
    mini = Minimizer(decay, start())
    result = mini.minimize()
    lmfit_ci = conf_interval(mini, result, p_names=["tau"])
    probs = [round(s, 6) for s, _ in lmfit_ci["tau"]]
    one, two, three = (round(float(special.erf(k / math.sqrt(2))), 6) for k in (1, 2, 3))
    assert probs == [three, two, one, 0.0, one, two, three]     # lmfit 1.3: 1, 2, 3 sigma
    seed_ci = conf_interval(result, ["tau"])
    assert [round(s, 3) for s, _ in seed_ci["tau"]] == [0.997, 0.95, 0.674, 0.0, 0.674,
                                                        0.95, 0.997]


# ---------------------------------------------------------------- emcee (optional)
def test_emcee_chain_matches_the_covariance_of_the_fit():
    pytest.importorskip("emcee")
    pytest.importorskip("pandas")
    noise = 0.01    # the noise of Y: the posterior's width is the unscaled covariance's

    def weighted(p):
        return decay(p) / noise

    p = start(bounded=True)
    best = minimize(weighted, p.copy(), scale_covar=False)
    # from the best fit, as emcee is used after a fit: 100 steps of burn-in
    out = minimize(weighted, best.params.copy(), method="emcee", nwalkers=30, steps=400,
                   burn=100, thin=5)
    assert out.method == "emcee" and out.chain.shape == (60, 30, 3)
    assert out.flatchain.shape == (1800, 3) and 0.1 < out.acceptance_fraction.mean() < 0.9
    for name in best.var_names:
        # 1800 (correlated) samples: the median within 0.3 sigma, the spread within 20 %
        # of the covariance's standard error (Monte Carlo error, ~1/sqrt(effective n))
        sigma = best.params[name].stderr
        assert abs(out.params[name].value - best.params[name].value) < 0.3 * sigma
        assert out.params[name].stderr == pytest.approx(sigma, rel=0.2)


def test_emcee_continues_a_chain_and_uses_a_pool():
    pytest.importorskip("emcee")
    calls = []

    class Pool:  # lmfit 1.3's workers=: any object with map(function, iterable)
        def map(self, f, iterable):
            calls.append(1)
            return map(f, iterable)

    first = minimize(decay, start(bounded=True), method="emcee", nwalkers=12, steps=5)
    # the chain's last positions are the next run's start (lmfit 1.3's pos=chain)
    again = minimize(decay, start(bounded=True), method="emcee", nwalkers=12, steps=1,
                     pos=first.chain, workers=Pool())
    # emcee's one step moves each half of the walkers from the others: a walker whose
    # move was rejected stays where the first chain ended
    end = first.chain[-1]
    kept = np.all(again.chain[0] == end, axis=1)
    assert kept.any() and np.array_equal(kept, again.acceptance_fraction == 0.0)
    assert calls  # emcee evaluated the walkers through the pool's map
    with pytest.raises(ValueError, match=r"pos must have shape \(nwalkers, nvarys\)"):
        minimize(decay, start(bounded=True), method="emcee", nwalkers=12, steps=1,
                 pos=first.chain[-1, :-1])
    with pytest.raises(ValueError, match="workers=4"):
        minimize(decay, start(bounded=True), method="emcee", nwalkers=12, steps=1, workers=4)


def test_emcee_missing_is_a_clear_error():
    try:
        import emcee  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="emcee"):
            minimize(decay, start(bounded=True), method="emcee")
    else:
        pytest.skip("emcee is installed")


# ---------------------------------------------------------------- scalar objectives etc.
def test_a_scalar_objective_is_minimized_as_it_is():
    """lmfit 1.3: a residual of one value is the objective itself (it may be negative):
    min of cos(x) + x/10 near x = 3 is at sin(x) = 0.1, x = pi - asin(0.1)."""
    p = Parameters()
    p.add("x", value=2.5, min=1.0, max=5.0)
    out = minimize(lambda p: np.cos(p["x"].value) + p["x"].value / 10, p, method="nelder")
    expected = math.pi - math.asin(0.1)
    assert out.params["x"].value == pytest.approx(expected, abs=1e-3)   # Nelder's xatol
    assert out.residual[0] < 0


def test_iter_cb_abort_at_the_first_evaluation_returns_the_start():
    for method in ("leastsq", "least_squares", "nelder"):
        out = minimize(decay, start(), method=method, iter_cb=lambda *a, **k: True)
        assert out.aborted and not out.success and not out.errorbars, method
        assert out.params["tau"].value == 1.0 and out.nfev == 1, method


def test_max_nfev_of_a_call_is_reported_but_not_kept_for_the_next_call(best):
    mini = Minimizer(decay, start())
    mini.minimize("leastsq", max_nfev=10)
    assert mini.max_nfev == 10
    again = mini.leastsq(params=start())      # no limit: the constructor's (None)
    assert again.nfev == best.nfev and not again.aborted


def test_conf_interval2d_lmfit_call():
    from paramfit.fitting.confidence import conf_interval2d

    mini = Minimizer(decay, start())
    result = mini.minimize()
    gx, gy, grid = conf_interval2d(mini, result, "amp", "tau", 4, 3, nsigma=2)
    sx, sy = result.params["amp"].stderr, result.params["tau"].stderr
    assert gx[0] == pytest.approx(result.params["amp"].value - 2 * sx, rel=1e-12)
    assert gy[-1] == pytest.approx(result.params["tau"].value + 2 * sy, rel=1e-12)
    assert grid.shape == (3, 4) and np.all((grid >= 0) & (grid <= 1))


def test_lmfit_conf_interval_reads_the_result_params():
    """lmfit 1.3's call uses result.params: an edited stderr there is what counts."""
    from paramfit.core.exceptions import FitError

    mini = Minimizer(decay, start())
    result = mini.minimize()
    result.params["tau"].stderr = float("nan")
    with pytest.raises(FitError, match="sensible uncertainty"):
        conf_interval(mini, result, p_names=["tau"])


def test_a_bad_scipy_keyword_is_a_type_error():
    with pytest.raises(TypeError, match="basinhopping"):
        minimize(decay, start(), method="basinhopping", niter="many")


def test_scipy_result_attributes_under_lmfit_names():
    out = minimize(decay, start(), method="bfgs")
    assert out.fun == pytest.approx(out.chisqr, rel=1e-12) and out.nit > 0
    sh = minimize(decay, start(bounded=True), method="shgo")
    assert sh.shgo_fun == pytest.approx(sh.chisqr, rel=1e-12)
    da = minimize(decay, start(bounded=True), method="dual_annealing")
    assert da.da_fun == pytest.approx(da.chisqr, rel=1e-12)


def test_a_result_pickles_without_its_minimizer():
    import pickle

    out = minimize(decay, start(bounded=True), method="brute", Ns=5)
    back = pickle.loads(pickle.dumps(out))
    assert back.chisqr == out.chisqr and back.brute_x0.tolist() == out.brute_x0.tolist()
    assert [c.score for c in back.candidates] == [c.score for c in out.candidates]


def test_dual_annealing_with_seed_is_scipys_run():
    """lmfit 1.3: minimize(method='dual_annealing', seed=7) is scipy's dual_annealing(...,
    seed=7) on the same objective: the same point, to rounding."""
    from scipy import optimize

    box = start(bounded=True)
    lo = np.array([box[n].min for n in box])
    hi = np.array([box[n].max for n in box])

    def chisqr(v):
        r = v[0] * np.exp(-X / v[1]) + v[2] - Y
        return float(r @ r)

    ref = optimize.dual_annealing(chisqr, list(zip(lo, hi)), seed=7, maxiter=50)
    out = minimize(decay, box, method="dual_annealing", seed=7, maxiter=50)
    assert [out.params[n].value for n in box] == pytest.approx(ref.x.tolist(), rel=1e-9)


def test_least_squares_uses_the_users_jacobian_of_any_scipy_type():
    from scipy.sparse import csr_matrix
    from scipy.sparse.linalg import aslinearoperator

    calls = {"n": 0}

    def jac(p):
        calls["n"] += 1
        e = np.exp(-X / p["tau"].value)
        return np.column_stack([e, p["amp"].value * X / p["tau"].value ** 2 * e,
                                np.ones_like(X)])

    fd = minimize(decay, start(), method="least_squares")
    for kind in (jac, lambda p: csr_matrix(jac(p)), lambda p: aslinearoperator(jac(p))):
        calls["n"] = 0
        out = minimize(decay, start(), method="least_squares", jac=kind)
        assert calls["n"] > 1 and out.nfev < fd.nfev       # used in the iteration
        # the analytic and the finite-difference covariance: 1e-6 relative (the
        # finite-difference Jacobian's accuracy, ~1e-8, squared through the inverse)
        np.testing.assert_allclose(out.covar, fd.covar, rtol=1e-6)


@pytest.mark.parametrize("kind", ["gradient", "jacobian"])
def test_scalar_method_uses_the_users_dfun(kind):
    """lmfit 1.3's ``Dfun`` for a scalar method: the gradient of the sum of squares (1-D),
    or the residual's Jacobian (2-D, gradient 2 J^T r); with a bound, chained through the
    transformation.  Rosenbrock with x1 >= 1.5: x1 ends on the bound and x0 at the root of
    d/dx0 [100 (1.5 - x0^2)^2 + (1 - x0)^2] (brentq, to 1e-12); CG's gtol leaves ~1e-7."""
    calls = []

    def resid(params):
        x0, x1 = params["x0"].value, params["x1"].value
        return np.array([10 * (x1 - x0 * x0), 1 - x0])

    def dfun(params):
        calls.append(1)
        x0 = params["x0"].value
        jac = np.array([[-20 * x0, 10.0], [-1.0, 0.0]])
        return 2.0 * jac.T @ resid(params) if kind == "gradient" else jac

    pars = Parameters()
    pars.add("x0", value=2.0)
    pars.add("x1", value=2.0, min=1.5)
    out = minimize(resid, pars, method="CG", Dfun=dfun)
    x0 = brentq(lambda v: -400 * v * (1.5 - v * v) - 2 * (1 - v), 1.0, 1.4, xtol=1e-14)
    assert out.success and len(calls) > 5
    assert out.params["x0"].value == pytest.approx(x0, rel=1e-6)
    assert out.params["x1"].value == pytest.approx(1.5, rel=1e-6)


def test_scalar_objective_spends_no_evaluations_on_a_covariance():
    """A scalar objective (one residual, two parameters) has no covariance, so the fit
    computes no final Jacobian for one, and the grid's best point is not evaluated again:
    brute's nfev is its grid, Ns**2 (scipy's brute evaluates every grid point once;
    lmfit 1.3 reports the same count)."""
    calls = []

    def bowl(p):
        calls.append(1)
        # can be negative: minimized as it is, not squared (lmfit 1.3)
        return (p["x"].value - 1) ** 2 + (p["y"].value + 2) ** 2 - 3.0

    p = Parameters()
    p.add("x", 0.0, min=-4, max=4)
    p.add("y", 0.0, min=-4, max=4)
    out = minimize(bowl, p, method="brute", Ns=10)
    assert out.nfev == 10 ** 2
    # beyond the grid only the start residual that sizes the problem (not counted in
    # nfev for the scipy methods; before, 20 more calls went to a final Jacobian)
    assert len(calls) == 10 ** 2 + 1
    assert not out.errorbars and out.params["x"].stderr is None


@pytest.mark.parametrize(("method", "rtol"), [("nelder", 1e-3), ("cobyla", 3e-3)])
def test_bounded_simplex_methods_reach_the_minimum(method, rtol):
    """Nelder-Mead and COBYLA see bounded parameters through MINUIT's transformation (as
    in lmfit): scipy's own bounded Nelder-Mead clipped its simplex onto b's bound and
    ended at b = 0.01 (chi-square 2.24, 100x the minimum's) reporting success; COBYLA's
    bounds exist only from scipy 1.11.  Against leastsq's minimum, to the simplex
    methods' stopping tolerances (xatol / rhoend 1e-4 in the internal variables)."""
    x = np.linspace(-5, 5, 201)
    y = 0.5 * (x - 0.22) + np.random.default_rng(2020).normal(scale=0.01, size=x.size)

    def resid(p):
        return p["a"].value * (x - p["b"].value) - y

    def start():
        p = Parameters()
        p.add("a", 0.1, min=0.01, max=1.0)
        p.add("b", 3.0, min=0.01, max=3.1)
        return p

    best = minimize(resid, start())
    out = minimize(resid, start(), method=method)
    assert out.success
    for name in ("a", "b"):
        assert out.params[name].value == pytest.approx(best.params[name].value, rel=rtol)
    assert out.chisqr == pytest.approx(best.chisqr, rel=rtol)
