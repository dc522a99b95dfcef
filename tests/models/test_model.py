"""Model, CompositeModel, ExpressionModel and ModelResult."""

from __future__ import annotations

import importlib.util
import json
import math
import warnings

import numpy as np
import pytest
from _reference import EXACT_RTOL, STDERR_RTOL

from paramfit import FitError, ParameterError, Parameters
from paramfit.core.exceptions import ExpressionError
from paramfit.models.builtin import ConstantModel, GaussianModel, LinearModel, LorentzianModel
from paramfit.models.composite_model import CompositeModel
from paramfit.models.expression import ExpressionModel
from paramfit.models.io import load_model, load_modelresult, loads_model, save_model
from paramfit.models.lineshapes import gaussian
from paramfit.models.model import Model
from paramfit.models.result import ModelResult

# Tolerances (reasons once, here; EXACT_RTOL, FIT_RTOL, STDERR_RTOL: tests/_reference.py).
#: The same model evaluated by two code paths (a composite's sum, eval vs best_fit, the
#: value of a *_value_and_jacobian lineshape): the same closed form with the factors
#: multiplied in another order at most, a few ulp (identical here).
SAME_FORMULA_RTOL = 1e-13


def decay(t, amp=1.0, tau=1.0):
    """A user model function at module level (importable, so it can be saved)."""
    return amp * np.exp(-t / tau)


def decay_jac(t, amp=1.0, tau=1.0):
    e = np.exp(-t / tau)
    return e, amp * e * t / tau**2


def decay_jac_dict(t, amp=1.0, tau=1.0):
    d_amp, d_tau = decay_jac(t, amp, tau)
    return {"tau": d_tau, "amp": d_amp}


@pytest.fixture
def peak_data():
    rng = np.random.default_rng(42)
    x = np.linspace(-6, 6, 301)
    y = gaussian(x, 4.0, 0.4, 1.1) + 0.2 * x + 0.5 + rng.normal(0, 0.02, x.size)
    return x, y


@pytest.fixture
def peak_fit(peak_data):
    x, y = peak_data
    model = GaussianModel(prefix="g_") + LinearModel(prefix="bg_")
    params = model.make_params(g_amplitude=3, g_center=0, g_sigma=1.5, bg_slope=0,
                               bg_intercept=0)
    return model.fit(y, params, x=x)


# ---------------------------------------------------------------------- Model basics
def test_signature_gives_names_defaults_and_hints() -> None:
    model = Model(decay, tau={"value": 2.0, "min": 0})
    assert model.param_names == ["amp", "tau"]
    assert model.independent_vars == ["t"]
    params = model.make_params(amp=3)
    assert isinstance(params, Parameters)
    assert params["amp"].value == 3.0 and params["tau"].value == 2.0
    assert params["tau"].min == 0


def test_prefix_and_param_hints() -> None:
    model = Model(decay, prefix="d_")
    model.set_param_hint("d_tau", min=0.1, max=10)
    model.set_param_hint("rate", expr="1/d_tau")
    params = model.make_params(tau=4.0)
    assert list(params) == ["d_amp", "d_tau", "d_rate"]
    assert params["d_rate"].value == 0.25  # 1/4.0 is exact
    with pytest.raises(ParameterError, match="unknown parameter hint"):
        model.set_param_hint("d_tau", maximum=3)


def test_options_and_independent_vars() -> None:
    def shape(x, y, a=1.0, b=2.0, mode="plain"):
        return a * x + b * y if mode == "plain" else a * x - b * y

    model = Model(shape, independent_vars=["x", "y"], mode="minus")
    assert model.param_names == ["a", "b"]
    # small integers: the arithmetic is exact
    assert model.eval(x=np.array([1.0]), y=np.array([1.0]), a=1, b=2)[0] == -1.0
    with pytest.raises(ParameterError, match="not arguments"):
        Model(shape, independent_vars=["z"])


def test_eval_accepts_lists_and_series() -> None:
    pd = pytest.importorskip("pandas")
    model = LinearModel()
    expected = [1.0, 3.0, 5.0]  # small integers: exact
    assert model.eval(x=[0, 1, 2], slope=2, intercept=1).tolist() == expected
    assert model.eval(x=pd.Series([0, 1, 2]), slope=2, intercept=1).tolist() == expected
    result = model.fit(pd.Series(expected), x=pd.Series([0.0, 1.0, 2.0]))
    assert result.params["slope"].value == pytest.approx(2.0, rel=EXACT_RTOL)


def test_user_jacobian_tuple_and_dict() -> None:
    t = np.linspace(0, 4, 50)
    y = decay(t, 2.5, 1.3)
    for jac in (decay_jac, decay_jac_dict):
        model = Model(decay, jac=jac)
        assert model.has_jacobian
        value, derivs = model.value_and_jacobian({"amp": 2.0, "tau": 1.0}, t=t)
        # the user's function's own numbers are passed through: bit-identical
        np.testing.assert_array_equal(derivs["tau"], decay_jac(t, 2.0, 1.0)[1])
        result = model.fit(y, t=t, amp=1, tau=2)
        assert result.params["tau"].value == pytest.approx(1.3, rel=EXACT_RTOL)
    assert Model(decay).value_and_jacobian({"amp": 1.0, "tau": 1.0}, t=t)[1] is None


def test_fit_uses_analytic_derivatives(peak_fit) -> None:
    assert peak_fit.success
    assert peak_fit.nfev < 30  # finite differences would need ~6 evaluations per Jacobian
    # the truth 0.4: its stderr is 0.003, so abs=0.01 is 3.4 stderr (measured 0.0026)
    assert peak_fit.params["g_center"].value == pytest.approx(0.4, abs=0.01)
    assert peak_fit.params["g_fwhm"].stderr is not None


def test_weights_multiply_the_residual(peak_data) -> None:
    x, y = peak_data
    model = GaussianModel() + ConstantModel()
    params = model.make_params(amplitude=3, center=0, sigma=1.5, c=0)
    weights = np.full(x.size, 3.0)
    plain = model.fit(y, params, x=x)
    weighted = model.fit(y, params, weights=weights, x=x)
    # a constant weight does not move the minimum, and chisqr is stationary there: two
    # fits within FIT_RTOL give it to ~1e-18, so only the rounding of the sums is left
    # (m eps = 7e-14; measured 2e-16)
    assert weighted.chisqr == pytest.approx(9 * plain.chisqr, rel=1e-12)
    # (model - data) * weights: the same arithmetic in another order, rounding only
    np.testing.assert_allclose(weighted.residual, 3 * (weighted.best_fit - y), rtol=1e-12)


# ---------------------------------------------------------------------- composition
def test_composite_prefixes_components_and_sum(peak_fit, peak_data) -> None:
    x, _ = peak_data
    model = peak_fit.model
    assert isinstance(model, CompositeModel)
    assert [c.prefix for c in model.components] == ["g_", "bg_"]
    comps = peak_fit.eval_components()
    assert set(comps) == {"g_", "bg_"}
    np.testing.assert_allclose(comps["g_"] + comps["bg_"], peak_fit.best_fit,
                               rtol=SAME_FORMULA_RTOL)
    np.testing.assert_allclose(peak_fit.eval(x=x), peak_fit.best_fit, rtol=SAME_FORMULA_RTOL)


def test_duplicate_parameter_names_are_refused() -> None:
    with pytest.raises(ParameterError, match="different prefixes") as caught:
        GaussianModel() + LorentzianModel()
    # also a NameError, which code written for lmfit 1.3 catches there
    assert isinstance(caught.value, NameError)


@pytest.mark.parametrize("op", ["+", "-", "*", "/"])
def test_composite_jacobian_rules(op: str) -> None:
    left = GaussianModel(prefix="g_")
    right = LinearModel(prefix="l_")
    model = CompositeModel(left, right, op)
    values = {"g_amplitude": 2.0, "g_center": 0.3, "g_sigma": 0.9, "l_slope": 0.2,
              "l_intercept": 3.0}
    x = np.linspace(-3, 3, 41)
    value, derivs = model.value_and_jacobian(values, x=x)
    for name in model.param_names:
        h = 1e-6 * max(abs(values[name]), 1.0)
        up = model.value_and_jacobian({**values, name: values[name] + h}, x=x)[0]
        down = model.value_and_jacobian({**values, name: values[name] - h}, x=x)[0]
        # central differences, h = 1e-6: rounding eps |f| / h ~ 1e-9 (|f| <= 5 here),
        # truncation h**2 |f'''| / 6 ~ 1e-12; a wrong rule is off by O(1)
        np.testing.assert_allclose(derivs[name], (up - down) / (2 * h), rtol=1e-6, atol=1e-8)


def test_composite_with_a_function_without_jacobian_has_none() -> None:
    model = Model(decay, prefix="d_", independent_vars=["t"]) + ConstantModel()
    assert not model.has_jacobian
    assert model.value_and_jacobian({"d_amp": 1.0, "d_tau": 1.0, "c": 0.0},
                                    t=np.ones(3), x=np.ones(3))[1] is None


# ---------------------------------------------------------------------- expression model
def test_expression_model_names_and_fit() -> None:
    model = ExpressionModel("amp*exp(-x/tau) + c")
    assert model.param_names == ["amp", "tau", "c"]
    x = np.linspace(0, 5, 80)
    result = model.fit(2.0 * np.exp(-x / 1.3) + 0.5, x=x, amp=1, tau=1, c=0)
    assert result.params["tau"].value == pytest.approx(1.3, rel=EXACT_RTOL)


@pytest.mark.parametrize("text", ["x.__class__", "__import__('os')", "[a for a in x]",
                                  "open('f')"])
def test_expression_model_is_safe(text: str) -> None:
    with pytest.raises(ExpressionError):
        model = ExpressionModel(text)
        model.eval(x=np.ones(2), **{n: 1.0 for n in model.param_names})


# ---------------------------------------------------------------------- uncertainty band
def test_eval_uncertainty_matches_monte_carlo(peak_fit, peak_data) -> None:
    x, _ = peak_data
    band = peak_fit.eval_uncertainty(sigma=1)
    from scipy import stats

    scale = stats.t.ppf((math.erf(1 / math.sqrt(2)) + 1) / 2, peak_fit.nfree)
    rng = np.random.default_rng(7)
    best = np.array([peak_fit.params[n].value for n in peak_fit.var_names])
    draws = rng.multivariate_normal(best, peak_fit.covar, size=20000)
    values = {n: draws[:, [i]] for i, n in enumerate(peak_fit.var_names)}
    curves = peak_fit.model.value_and_jacobian(values, x=x)[0]
    # the standard deviation of 20000 draws has a relative standard error of
    # 1 / sqrt(2 * 20000) = 0.5%: rtol=0.03 is 6 of those (the band's linearisation adds
    # a negligible second-order term at these small stderrs); the draws are seeded
    np.testing.assert_allclose(band / scale, curves.std(axis=0), rtol=0.03)
    assert set(peak_fit.dely_comps) == {"g_", "bg_"}


def test_eval_uncertainty_with_tied_parameter_uses_chain_rule(peak_data) -> None:
    x, y = peak_data
    model = GaussianModel(prefix="a_") + GaussianModel(prefix="b_") + ConstantModel()
    params = model.make_params(a_amplitude=3, a_center=0.3, a_sigma=1.0, b_amplitude=0.5,
                               b_center=3, c=0.5)
    params["b_sigma"].expr = "a_sigma"
    result = model.fit(y + 0.2 * (-x * 0 + 0), params, x=x)
    analytic = result.eval_uncertainty()
    expr_model = ExpressionModel(
        "aa*exp(-(x-ac)**2/(2*s**2))/(s*sqrt(2*pi)) + bb*exp(-(x-bc)**2/(2*s**2))"
        "/(s*sqrt(2*pi)) + c")
    other = expr_model.fit(y, x=x, aa=3, ac=0.3, s=1.0, bb=0.5, bc=3, c=0.5)
    # the same fit (analytic vs finite-difference derivatives), a band from the covariance
    # as the standard errors: STDERR_RTOL (measured 4e-9)
    np.testing.assert_allclose(analytic, other.eval_uncertainty(), rtol=STDERR_RTOL)


# ---------------------------------------------------------------------- bad input
def test_bad_input_errors(peak_data) -> None:
    x, y = peak_data
    model = GaussianModel()
    params = model.make_params(amplitude=3, center=0, sigma=1)
    with pytest.raises(FitError, match="missing independent variable 'x'"):
        model.fit(y, params)
    with pytest.raises(FitError, match="unknown keyword 'z'"):
        model.fit(y, params, x=x, z=x)
    with pytest.raises(FitError, match="data has 301 points but independent variable 'x' "
                                       "has 300"):
        model.fit(y, params, x=x[:-1])
    # as lmfit: make_params ignores a name that is not a parameter of the model
    assert list(model.make_params(width=3)) == list(model.make_params())


def test_nan_policy(peak_data) -> None:
    x, y = peak_data
    y = y.copy()
    y[[10, 20]] = np.nan
    model = GaussianModel() + ConstantModel()
    params = model.make_params(amplitude=3, center=0, sigma=1.5, c=0)
    with pytest.raises(FitError, match=r"data 'data' contains 2 NaN/inf .*index 10.*omit"):
        model.fit(y, params, x=x)
    result = model.fit(y, params, x=x, nan_policy="omit")
    assert result.ndata == x.size - 2 and result.success
    assert result.mask.sum() == x.size - 2
    xx = x.copy()
    xx[5] = np.nan
    with pytest.raises(FitError, match="independent variable 'x' contains 1 NaN"):
        model.fit(np.nan_to_num(y), params, x=xx)


# ---------------------------------------------------------------------- save / load
def test_model_round_trip_gives_identical_predictions(tmp_path, peak_fit, peak_data) -> None:
    x, _ = peak_data
    model = peak_fit.model
    # a round trip rebuilds the same model: the same computation, bit for bit
    again = loads_model(model.dumps())
    np.testing.assert_array_equal(again.eval(peak_fit.params, x=x), peak_fit.best_fit)
    path = tmp_path / "model.json"
    save_model(Model(decay, jac=decay_jac, prefix="d_"), path)
    # loading imports nothing a file names: the user's functions come back by funcdefs
    loaded = load_model(path, funcdefs={"decay": decay, "decay_jac": decay_jac})
    assert loaded.func is decay and loaded.user_jac is decay_jac
    assert "pickle" not in path.read_text()


def test_modelresult_round_trip(peak_fit, peak_data) -> None:
    x, _ = peak_data
    loaded = load_modelresult(peak_fit.dumps())
    assert isinstance(loaded, ModelResult)
    # JSON writes floats with repr (round-trip exact) and the loaded result computes
    # what the original does: bit for bit
    np.testing.assert_array_equal(loaded.best_fit, peak_fit.best_fit)
    np.testing.assert_array_equal(loaded.eval(x=x + 0.1), peak_fit.eval(x=x + 0.1))
    assert loaded.chisqr == peak_fit.chisqr and loaded.nfev == peak_fit.nfev
    np.testing.assert_array_equal(loaded.covar, peak_fit.covar)
    np.testing.assert_array_equal(loaded.eval_uncertainty(), peak_fit.eval_uncertainty())
    with pytest.raises(FitError, match="loaded from JSON"):
        loaded.conf_interval()


def test_unsavable_functions_are_explained() -> None:
    with pytest.raises(ParameterError, match="lambda"):
        Model(lambda x, a=1.0: a * x).dumps()

    def local(x, a=1.0):
        return a * x

    # a function defined inside another is saved by its name, as lmfit's files hold it:
    # loading never imports, so it needs funcdefs, and says so without them
    saved = Model(local).dumps()
    with pytest.raises(ParameterError, match=r"funcdefs=\{'local'"):
        loads_model(saved)
    assert loads_model(saved, funcdefs={"local": local}).func is local
    local.__module__, local.__qualname__ = "__main__", "local"
    # saved like any user function: loading needs funcdefs whatever the module
    assert loads_model(Model(local).dumps(), funcdefs={"local": local}).func is local
    text = json.dumps({"paramfit_model": 1, "model": {
        "kind": "function", "func": "no_such_module_xyz:f", "independent_vars": ["t"]}})
    with pytest.raises(ParameterError, match=r"\$\.model\.func: .* funcdefs=\{'f'"):
        loads_model(text)
    assert loads_model(text, funcdefs={"f": decay}).func is decay


# ---------------------------------------------------------------------- lmfit comparison
def test_same_best_fit_as_lmfit(peak_data) -> None:
    lmfit = pytest.importorskip("lmfit")
    x, y = peak_data
    y = y - 0.2 * x - 0.5
    ours = GaussianModel().fit(y, x=x, amplitude=3, center=0, sigma=1.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = lmfit.models.GaussianModel().fit(y, x=x, amplitude=3, center=0, sigma=1.5)
    # lmfit stops at MINPACK's ftol = xtol = 1.5e-8 with forward differences: its values
    # are ~1e-7 relative from the minimum (measured 6e-8, 2e-5 of a stderr) and its
    # covariance comes from those differences (measured 1.4e-5 relative); chisqr is
    # stationary, so it agrees to ~(2e-5)**2 / nfree (measured 2e-12)
    for name in ("amplitude", "center", "sigma", "fwhm", "height"):
        assert ours.params[name].value == pytest.approx(theirs.params[name].value, rel=1e-6)
    for name in ("amplitude", "center", "sigma"):
        assert ours.params[name].stderr == pytest.approx(theirs.params[name].stderr, rel=1e-3)
    assert ours.chisqr == pytest.approx(theirs.chisqr, rel=1e-9)


# ---------------------------------------------------------------------- presentation
def test_summary_is_json(peak_fit) -> None:
    summary = json.loads(json.dumps(peak_fit.summary()))
    assert summary["params"]["g_center"]["stderr"] > 0
    assert summary["nvarys"] == 5 and summary["success"] is True


def test_dataframe_and_ufloats(peak_fit) -> None:
    pytest.importorskip("pandas")
    frame = peak_fit.to_dataframe()
    # a copy of the value: exact
    assert frame.loc["g_center", "value"] == peak_fit.params["g_center"].value
    pytest.importorskip("uncertainties")
    from uncertainties import correlation_matrix

    values = peak_fit.params_ufloat()
    # uncertainties rebuilds the standard deviations and correlations from the covariance:
    # the same numbers up to rounding (measured 1e-16)
    assert values["g_sigma"].s == pytest.approx(peak_fit.params["g_sigma"].stderr, rel=1e-12)
    corr = correlation_matrix([values["g_amplitude"], values["g_sigma"]])
    assert corr[0, 1] == pytest.approx(peak_fit.params["g_amplitude"].correl["g_sigma"],
                                       rel=1e-12)
    # fwhm = 2.3548 sigma: uncertainties differentiates it exactly, paramfit propagates
    # through its expression's derivative (>= 7 digits; measured 2e-11)
    assert values["g_fwhm"].s == pytest.approx(peak_fit.params["g_fwhm"].stderr, rel=1e-6)
    assert peak_fit.uvars.keys() == values.keys()


@pytest.mark.skipif(importlib.util.find_spec("paramfit.report.text") is None,
                    reason="paramfit.report.text (a colleague's module) is not there yet")
def test_fit_report(peak_fit) -> None:
    text = peak_fit.fit_report()
    assert text.startswith("[[Model]]") and "g_center" in text


def test_conf_interval(peak_fit) -> None:
    ci = peak_fit.conf_interval(p_names=["g_center"], sigmas=(0.674,))
    lower, best, upper = ci["g_center"]
    stderr = peak_fit.params["g_center"].stderr
    assert best[1] == peak_fit.params["g_center"].value  # the best value itself
    # for a nearly linear parameter the profile interval at 0.674 (~1 sigma) is the
    # linear one up to the nonlinearity and the probability level (measured 0.984 stderr);
    # 10% tells it from an interval of another width (2 sigma, a wrong scale)
    assert upper[1] - best[1] == pytest.approx(stderr, rel=0.1)


@pytest.mark.skipif(importlib.util.find_spec("matplotlib") is None,
                    reason="matplotlib (paramfit[plot]) is not installed")
def test_plots(peak_fit) -> None:
    import matplotlib

    matplotlib.use("Agg")
    assert peak_fit.plot_fit(show_init=True, numpoints=500) is not None
    assert peak_fit.plot_residuals() is not None
    if importlib.util.find_spec("paramfit.report.plots") is not None:
        fig = peak_fit.plot(title="t")  # lmfit's layout: residuals (titled) above the fit
        assert len(fig.axes) == 2
        assert [ax.get_title() for ax in fig.axes] == ["t", ""]


def test_fit_kws_may_carry_max_nfev():
    # regression: Model.fit(..., fit_kws={'max_nfev': 6}) raised "got multiple values for
    # keyword argument 'max_nfev'"; the limit now reaches the fit (lmfit passes fit_kws on)
    import numpy as np

    from paramfit.models.builtin import GaussianModel

    x = np.linspace(-5, 5, 101)
    y = 3 * np.exp(-x**2 / 2)
    limited = GaussianModel().fit(y, x=x, amplitude=1, center=1, sigma=2,
                                  fit_kws={"max_nfev": 6})
    free = GaussianModel().fit(y, x=x, amplitude=1, center=1, sigma=2)
    assert limited.nfev < free.nfev and not limited.success
    # fit()'s own argument wins over fit_kws
    both = GaussianModel().fit(y, x=x, amplitude=1, center=1, sigma=2, max_nfev=4,
                               fit_kws={"max_nfev": 1000})
    assert both.nfev <= limited.nfev
