"""Model.fit's run as lmfit 1.3 reports it: ``max_nfev``, ``aborted``, ``calc_covar``, the
``ModelResult(model, params)`` constructor with ``fit()``/``loads()``, pandas Series aligned
on their index, ``coerce_farray``, the NaN errors, ``summary()``'s keys, and functions saved
by name.  Numbers come from closed forms, the same fit by another path, or the real lmfit
in the same test (``pytest.importorskip``)."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from _reference import FIT_RTOL

import paramfit.models as M
from paramfit import Parameters
from paramfit.core.exceptions import FitError, NonFiniteResidualError, ParameterError
from paramfit.models.io import loads_modelresult
from paramfit.models.lineshapes import gaussian
from paramfit.models.model import Model
from paramfit.models.result import ModelResult
from paramfit.reference.nist_problems import load_nist

#: Two fits of one problem through code paths that differ only in bookkeeping (array
#: conversion, index alignment): the same floating-point operations, so equal to rounding.
SAME_PATH_RTOL = 1e-12


@pytest.fixture
def peak():
    """A Gaussian on a line with noise (lmfit's max_nfev / iter_cb test problem, redrawn)."""
    rng = np.random.default_rng(7)
    x = np.linspace(0, 20, 401)
    y = gaussian(x, 24.56, 7.6543, 1.23) - (0.2 * x + 3.333) + rng.normal(0, 0.23, x.size)
    model = M.GaussianModel(prefix="peak_") + M.LinearModel(prefix="bkg_")
    params = model.make_params(peak_amplitude=21.0, peak_center=7.0, peak_sigma=2.0,
                               bkg_intercept=2, bkg_slope=0.0)
    return x, y, model, params


@pytest.mark.parametrize("method", ["leastsq", "nelder", "powell"])
def test_max_nfev_is_reported_and_stops_the_fit(peak, method):
    x, y, model, params = peak
    # 4 evaluations: too few for any method from this start (leastsq with the analytic
    # Jacobian converges in 9)
    out = model.fit(y, params, x=x, method=method, max_nfev=4)
    assert out.max_nfev == 4
    assert out.nfev <= 4  # the limit is hard (the final Jacobian included)
    assert out.aborted and not out.errorbars and not out.success
    assert out.covar is None


def test_iter_cb_abort_gives_aborted_and_the_same_count_as_lmfit(peak):
    lmfit = pytest.importorskip("lmfit")
    x, y, model, params = peak

    def stop_at_17(pars, iteration, resid, *args, **kws):
        return iteration == 17

    ours = model.fit(y, params, x=x, method="nelder", iter_cb=stop_at_17)
    theirs_model = lmfit.models.GaussianModel(prefix="peak_") + \
        lmfit.models.LinearModel(prefix="bkg_")
    theirs_pars = theirs_model.make_params(peak_amplitude=21.0, peak_center=7.0,
                                           peak_sigma=2.0, bkg_intercept=2, bkg_slope=0.0)
    theirs = theirs_model.fit(y, theirs_pars, x=x, method="nelder", iter_cb=stop_at_17)
    assert ours.nfev == theirs.nfev == 17
    assert ours.aborted is theirs.aborted is True
    assert not ours.errorbars and not ours.success


def test_calc_covar_false_skips_the_covariance_only(peak):
    x, y, model, params = peak
    full = model.fit(y, params, x=x)
    bare = model.fit(y, params, x=x, calc_covar=False)
    assert bare.covar is None and not bare.errorbars and bare.calc_covar is False
    assert full.calc_covar is True and full.errorbars
    assert all(bare.params[n].stderr is None for n in bare.var_names)
    # the minimisation is the same; only the final covariance step is skipped
    for name in full.var_names:
        assert bare.params[name].value == pytest.approx(full.params[name].value,
                                                        rel=FIT_RTOL)
    assert not bare.aborted and bare.success


def test_modelresult_from_model_and_params_fits_like_model_fit(peak):
    x, y, model, params = peak
    direct = model.fit(y, params, x=x)
    later = ModelResult(model, params, data=y)
    assert later.chisqr is None and later.best_fit is None  # nothing fitted yet
    later.fit(x=x)
    for name in direct.var_names:
        assert later.params[name].value == pytest.approx(direct.params[name].value,
                                                         rel=SAME_PATH_RTOL)
    with pytest.raises(FitError, match="no data to fit"):
        ModelResult(model, params).fit(x=x)


def test_modelresult_loads_fills_an_empty_result(peak):
    x, y, model, params = peak
    fitted = model.fit(y, params, x=x, max_nfev=500)
    empty = ModelResult(model, Parameters())
    assert empty.loads(fitted.dumps()) is empty
    assert empty.chisqr == fitted.chisqr and empty.nfev == fitted.nfev
    assert empty.max_nfev == 500 and empty.aborted is False and empty.calc_covar is True
    np.testing.assert_array_equal(empty.best_fit, fitted.best_fit)
    again = ModelResult(model, Parameters()).loads(empty.dumps())
    assert again.params["peak_center"].value == fitted.params["peak_center"].value


def test_run_attributes_of_an_aborted_fit_survive_saving(peak):
    x, y, model, params = peak
    aborted = model.fit(y, params, x=x, method="nelder", max_nfev=10)
    loaded = loads_modelresult(aborted.dumps())
    assert (loaded.aborted, loaded.max_nfev, loaded.errorbars) == (True, 10, False)


def test_malformed_run_entry_names_its_json_path(peak):
    x, y, model, params = peak
    doc = json.loads(model.fit(y, params, x=x).dumps())
    doc["run"]["aborted"] = "yes"
    with pytest.raises(ParameterError, match=r"\$\.run\.aborted: expected bool"):
        loads_modelresult(json.dumps(doc))


# ---------------------------------------------------------------------- pandas
def test_series_are_aligned_on_their_index():
    # issue 16, silent difference #6: data of 980 points against x of 1000, as lmfit
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    x = np.linspace(-5, 5, 1000)
    y = gaussian(x, 3.0, 0.4, 1.1) + rng.normal(0, 0.02, x.size)
    model = M.GaussianModel()
    start = dict(amplitude=2.0, center=0.0, sigma=1.5)
    aligned = model.fit(pd.Series(y).iloc[10:-10], x=pd.Series(x), **start)
    by_hand = model.fit(y[10:-10], x=x[10:-10], **start)
    assert aligned.ndata == 980
    for name in ("amplitude", "center", "sigma"):
        assert aligned.params[name].value == pytest.approx(by_hand.params[name].value,
                                                           rel=SAME_PATH_RTOL)
    # NaN data: omitted points are dropped, aligned still; 'raise' raises a ValueError
    data = pd.Series(y).iloc[10:-10].copy()
    data.iloc[500:510] = np.nan
    omitted = model.fit(data, x=pd.Series(x), nan_policy="omit", **start)
    keep = np.isfinite(data.to_numpy())
    by_hand = model.fit(y[10:-10][keep], x=x[10:-10][keep], **start)
    assert omitted.ndata == 970
    assert omitted.params["center"].value == pytest.approx(
        by_hand.params["center"].value, rel=SAME_PATH_RTOL)
    with pytest.raises(ValueError, match="NaN values detected in your input data"):
        model.fit(data, x=pd.Series(x), **start)


def test_series_with_duplicate_labels_are_refused_clearly():
    pd = pytest.importorskip("pandas")
    x = pd.Series(np.linspace(0, 1, 5), index=[0, 0, 1, 2, 3])
    with pytest.raises(FitError, match="unique index labels"):
        M.LinearModel().fit(pd.Series(np.ones(4)), x=x, slope=1, intercept=0)


# ---------------------------------------------------------------------- coerce_farray
def test_coerce_farray_makes_float64_arrays_and_false_passes_input_as_given():
    x = np.linspace(0, 20, 101)
    y = gaussian(x, 5.0, 10.0, 2.0)
    model = Model(gaussian)
    pars = model.make_params(amplitude=4, center=9, sigma=1.5)
    coerced = model.fit(np.float32(y), pars, x=x.astype(np.float32))
    assert coerced.userkws["x"].dtype == np.float64
    kept = model.fit(np.asarray(y, dtype=np.int16), pars, x=np.asarray(x, dtype=np.int16),
                     coerce_farray=False)
    assert kept.userkws["x"].dtype == np.int16 and kept.userargs[0].dtype == np.int16

    seen = []

    def peak_of_list(x, amplitude=1.0, center=0.0, sigma=1.0):
        seen.append(type(x))
        return gaussian(np.asarray(x, dtype=float), amplitude, center, sigma)

    as_list = Model(peak_of_list).fit(y.tolist(), x=x.tolist(), coerce_farray=False,
                                      amplitude=4, center=9, sigma=1.5)
    assert set(seen) == {list} and isinstance(as_list.userargs[0], list)
    # the fit itself is the same as with arrays (exact data: the known answer)
    assert as_list.params["center"].value == pytest.approx(10.0, rel=1e-9)


# ---------------------------------------------------------------------- NaN errors
def test_nan_data_raises_a_value_error_with_lmfits_sentence():
    x = np.linspace(0, 10, 51)
    y = gaussian(x, 10.0, 5.0, 1.0)
    y[[5, 9]] = np.nan
    model = M.GaussianModel()
    with pytest.raises(NonFiniteResidualError, match=r"data 'data' contains 2 NaN/inf .*"
                       r"index 5.*omit.*NaN values detected in your input data"):
        model.fit(y, x=x, amplitude=5, center=4, sigma=2)
    with pytest.raises(ValueError):  # a list holding None is NaN data too (lmfit)
        model.fit([1, 2, None, 3], x=[1, 2, 3, 4], amplitude=5, center=4, sigma=2)


def test_nan_from_the_model_names_the_model_as_lmfit_does():
    def double_exp(x, a1, t1, a2, t2):
        return a1 * np.exp(-x / t1) + a2 * np.exp(-(x - 0.1) / t2)

    x = np.linspace(1, 10, 250)
    y = double_exp(x, 3.0, 2.0, -5.0, 10.0)
    params = Model(double_exp).make_params(a1=4, t1=3, a2=4, t2=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # exp overflow on the way to NaN
        with pytest.raises(ValueError, match="The model function generated NaN values and "
                           "the fit aborted!"):
            Model(double_exp).fit(y, params, x=x, method="nelder", nan_policy="raise")


# ---------------------------------------------------------------------- summary, files
def test_summary_has_lmfits_keys_and_is_json(peak):
    lmfit = pytest.importorskip("lmfit")
    x, y, model, params = peak
    theirs = lmfit.models.GaussianModel().fit(y, x=x, amplitude=21, center=7, sigma=2)
    ours = M.GaussianModel().fit(y, x=x, amplitude=21, center=7, sigma=2)
    missing = set(theirs.summary()) - set(ours.summary())
    assert not missing
    summary = json.loads(json.dumps(ours.summary()))
    assert summary["max_nfev"] is None and summary["aborted"] is False
    assert summary["calc_covar"] is True and summary["flatchain"] is None


# ---------------------------------------------------------------------- built-in hints
def _builtin_names() -> list[str]:
    skip = {"Model", "CompositeModel", "ExpressionModel", "SplineModel", "PolynomialModel",
            "ThermalDistributionModel"}  # these need constructor arguments
    return sorted(n for n in M.__all__ if n.endswith("Model") and n not in skip)


@pytest.mark.parametrize("name", _builtin_names())
def test_builtin_parameter_bounds_and_ties_are_lmfits(name):
    # issue 16 #4: paramfit bounded sigma of Step, Rectangle and Pearson7 where lmfit
    # does not; every built-in model's min/max/vary/tie now equal lmfit's
    lmfit_models = pytest.importorskip("lmfit.models")
    if not hasattr(lmfit_models, name):
        pytest.skip(f"lmfit has no {name}")
    theirs = getattr(lmfit_models, name)().make_params()
    ours = getattr(M, name)().make_params()
    assert set(ours) == set(theirs)
    for pname, par in ours.items():
        other = theirs[pname]
        assert (par.min, par.max, par.vary, bool(par.expr)) == \
            (other.min, other.max, other.vary, bool(other.expr)), pname


def test_falling_step_is_guessed_and_fitted_as_lmfit():
    # issue 16 #4: a falling step (lmfit's test_stepmodel data, redrawn): the guess has
    # lmfit's convention (positive amplitude, negative sigma) and the fit reaches the
    # minimum lmfit reaches from its own guess
    lmfit_models = pytest.importorskip("lmfit.models")
    # (a seed where the fit does not end at one of the linear form's kinks: there the
    # accurate-Jacobian check reports success=False, at lmfit's chi-square or below)
    rng = np.random.default_rng(0)
    x = np.linspace(0, 50, 201)
    y = np.ones_like(x)
    y[129:] = 0.0
    y[109:129] = 1.0 - np.arange(20) / 20
    y = y + 5e-2 * rng.standard_normal(x.size)
    model = M.StepModel(form="linear")
    guess = model.guess(y, x)
    assert guess["amplitude"].value > 0 > guess["sigma"].value
    ours = model.fit(y, guess, x=x)
    theirs_model = lmfit_models.StepModel(form="linear")
    theirs = theirs_model.fit(y, theirs_model.guess(y, x), x=x)
    assert ours.success and theirs.success
    # both converged to one minimum: chi-square equal to the fits' accuracy
    assert ours.chisqr == pytest.approx(theirs.chisqr, rel=1e-6)
    for pname in ("amplitude", "center", "sigma"):
        assert ours.params[pname].value == pytest.approx(
            theirs.params[pname].value, abs=1e-3 * theirs.params[pname].stderr)


def test_modelresult_constructor_takes_lmfits_options(peak):
    x, y, model, params = peak
    later = ModelResult(model, params, data=y, method="leastsq", fcn_kws={"x": x},
                        max_nfev=4, xtol=1e-3)
    later.fit()
    assert later.max_nfev == 4 and later.aborted and later.kws == {"xtol": 1e-3}
    with pytest.raises(FitError, match="fcn_args"):
        ModelResult(model, params, data=y, fcn_args=(x,))


def test_lineshape_argument_defaulting_to_none_is_an_independent_variable():
    # lmfit's rule: Model(voigt)'s gamma (default None: gamma = sigma) is an independent
    # variable, not a parameter; the fit of the three parameters matches lmfit's
    lmfit = pytest.importorskip("lmfit")
    from paramfit.models.lineshapes import voigt

    ours = Model(voigt)
    theirs = lmfit.Model(lmfit.lineshapes.voigt)
    assert ours.independent_vars == theirs.independent_vars == ["x", "gamma"]
    assert ours.param_names == theirs.param_names == ["amplitude", "center", "sigma"]
    assert ours.independent_vars_defvals == {"gamma": None}
    x = np.linspace(0, 20, 201)
    y = voigt(x, 20.0, 9.0, 1.3) + np.random.default_rng(0).normal(0, 0.01, x.size)
    start = dict(amplitude=25, center=9.5, sigma=1)
    mine = ours.fit(y, ours.make_params(**start), x=x)  # gamma left at its default
    ref = theirs.fit(y, theirs.make_params(**start), x=x, gamma=None)  # lmfit needs it
    assert ours.fit(y, ours.make_params(**start), x=x, gamma=None).chisqr == mine.chisqr
    for name in ours.param_names:  # one minimum: agree to a small fraction of stderr
        assert mine.params[name].value == pytest.approx(
            ref.params[name].value, abs=1e-3 * ref.params[name].stderr)
    # given explicitly, gamma is used (and saved models keep the rule)
    params = ours.make_params(**start)
    np.testing.assert_array_equal(Model(voigt, gamma=0.5).eval(params, x=x),
                                  voigt(x, 25, 9.5, 1, 0.5))


# ---------------------------------------------------------------------- issue 16 #5
# Both failed while the bounded step landed a width/amplitude exactly on its bound 0, where
# the model's Jacobian columns vanish (core/bounds.py truncate_step now stops such a long
# step halfway).
def test_composite_from_lmfits_start_reaches_the_certified_gauss2_minimum():
    gauss2 = load_nist("Gauss2")  # lmfit's NIST_Gauss2.dat is this file's data
    x, y = np.asarray(gauss2.x), np.asarray(gauss2.y)
    model = M.ExponentialModel(prefix="exp_") + M.GaussianModel(prefix="g1_") + \
        M.GaussianModel(prefix="g2_")
    params = model.make_params(g1_center=110, g1_amplitude=4000, g1_sigma=25,
                               g2_center=160, g2_amplitude=2000, g2_sigma=20,
                               exp_amplitude=50, exp_decay=75)
    result = model.fit(y, params, x=x)
    assert result.success
    # NIST's certified residual sum of squares (11 digits given; the fit reaches ~1e-10)
    assert result.chisqr == pytest.approx(gauss2.certified_rss, rel=1e-9)


def test_lmfits_iter_callback_example_converges_as_lmfit():
    lmfit = pytest.importorskip("lmfit")
    x = np.linspace(0.0, 20, 401)
    # the example's data: numpy's legacy generator seeded 2021, as it does
    y = gaussian(x, 24.56, 7.6543, 1.23) - 0.2 * x + 3.333 + \
        np.random.RandomState(2021).normal(scale=0.23, size=x.size)
    start = dict(peak_amplitude=dict(value=3.0, min=0),
                 peak_center=dict(value=6.0, min=0, max=20), peak_sigma=2.0,
                 bkg_intercept=0, bkg_slope=0)
    ours = (M.GaussianModel(prefix="peak_") + M.LinearModel(prefix="bkg_"))
    theirs = lmfit.models.GaussianModel(prefix="peak_") + \
        lmfit.models.LinearModel(prefix="bkg_")
    mine = ours.fit(y, ours.make_params(**start), x=x)
    ref = theirs.fit(y, theirs.make_params(**start), x=x)
    assert mine.success
    assert mine.chisqr == pytest.approx(ref.chisqr, rel=1e-6)  # one minimum
