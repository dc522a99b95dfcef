"""The Model layer as lmfit 1.3 has it: names, independent variables, prefixes, make_params,
eval overrides, ModelResult attributes, post_fit, the new built-in models and the
complex-data helpers.  Numbers come from closed forms, the lineshapes evaluated directly, or
the real lmfit in the same test (``pytest.importorskip``)."""

from __future__ import annotations

import math
import operator

import numpy as np
import pytest
from scipy import stats
from scipy.interpolate import make_lsq_spline

import paramfit.models as M
from paramfit import Parameters
from paramfit.model import coerce_arraylike, get_reducer, propagate_err
from paramfit.models.lineshapes import gaussian, step, voigt
from paramfit.models.model import Model


@pytest.fixture
def two_peaks():
    x = np.linspace(0, 30, 301)
    model = Model(gaussian, prefix="g1_") + Model(gaussian, prefix="g2_")
    params = model.make_params(g1_amplitude=10, g1_center=12.0, g1_sigma=1,
                               g2_amplitude=20, g2_center=19.0, g2_sigma={"expr": "g1_sigma"})
    return x, model, params


def test_eval_override_reaches_ties(two_peaks):
    # silent difference #1: an override of g1_sigma moves g2_sigma = 'g1_sigma' too
    x, model, params = two_peaks
    expected = gaussian(x, 10, 12.0, 2.5) + gaussian(x, 20, 19.0, 2.5)
    # the same formula, the same operations: equal to rounding (1e-12 absolute on ~3)
    assert np.allclose(model.eval(params, g1_sigma=2.5, x=x), expected, rtol=0, atol=1e-12)
    assert params["g1_sigma"].value == 1 and params["g2_sigma"].value == 1  # untouched
    comps = model.eval_components(params, g1_sigma=2.5, x=x)
    assert np.allclose(comps["g2_"], gaussian(x, 20, 19.0, 2.5), rtol=0, atol=1e-12)


def test_tied_builtin_parameters_report_not_varied():
    # silent difference #3 (first half): fwhm, height, Voigt's gamma are ties: vary=False
    params = M.VoigtModel().make_params(amplitude=1, center=0, sigma=1)
    assert [n for n, p in params.items() if p.vary] == ["amplitude", "center", "sigma"]
    assert params["gamma"].expr == "sigma" and not params["fwhm"].vary


def test_freeing_voigt_gamma_drops_its_tie():
    # silent difference #3 (second half): gamma=dict(value=, vary=True) frees gamma, so a
    # fit has 4 varied parameters and finds the true gamma (lmfit: same)
    x = np.linspace(-8, 8, 321)
    y = voigt(x, 3.0, 0.2, 0.8, 0.45) + 1e-4 * np.random.default_rng(3).standard_normal(x.size)
    model = M.VoigtModel()
    params = model.make_params(amplitude=2, center=0, sigma=1, gamma={"value": 0.7,
                                                                     "vary": True})
    assert params["gamma"].expr is None and params["gamma"].vary
    result = model.fit(y, params, x=x)
    assert result.nvarys == 4
    # noise 1e-4 on a peak of ~0.9: gamma's stderr ~1e-4; 1e-3 is 10 stderr
    assert result.params["gamma"].value == pytest.approx(0.45, abs=1e-3)
    # a plain number unties too and leaves the parameter fixed (lmfit)
    fixed = model.make_params(gamma=0.7)
    assert fixed["gamma"].expr is None and not fixed["gamma"].vary


def test_make_params_ignores_unknown_names():
    model = M.GaussianModel()
    assert list(model.make_params(intecept=3.0)) == list(model.make_params())


def test_names_and_prefix_setter():
    assert Model(gaussian).name == "Model(gaussian)"
    assert Model(gaussian, name="peak").name == "Model(peak)"
    model = Model(step, form="arctan", prefix="s_")
    assert model.name == "Model(step, prefix='s_', form='arctan')"
    assert model._reprstring(long=False) == "Model(step, prefix='s_')"
    named = M.GaussianModel(name="user_name")
    assert named.name == "Model(user_name)"
    peak = M.GaussianModel(prefix="b")
    peak.prefix = "c"
    assert peak.param_names == ["camplitude", "ccenter", "csigma"]
    assert "csigma" in peak.param_hints["fwhm"]["expr"]
    assert "bsigma" not in peak.param_hints["fwhm"]["expr"]
    with pytest.raises(NotImplementedError, match="Make a new Model"):
        model.copy()


def test_independent_vars_found_as_lmfit():
    # string defaults and keyword-only arguments: independent variables with a default
    def foo(x, *, a=1.0, b=1.0, kind="linear"):
        return a + b * x if kind == "linear" else a * np.exp(b * x)

    model = Model(foo)
    assert model.independent_vars == ["x", "kind"] and model.param_names == ["a", "b"]
    assert model.independent_vars_defvals == {"kind": "linear"}
    x = np.array([0.0, 1.0])
    assert model.eval(x=x, a=2.0, b=3.0).tolist() == [2.0, 5.0]
    assert model.eval(x=x, a=2.0, b=1.0, kind="exp").tolist() == [2.0, 2.0 * math.e]
    stepmod = Model(step, form="arctan")
    assert stepmod.independent_vars == ["x", "form"]
    assert stepmod.independent_vars_defvals == {"form": "arctan"}

    def with_varargs(a, *b):
        return a

    with pytest.raises(ValueError, match=r"varargs '\*b' is not supported"):
        Model(with_varargs)


def test_composite_with_any_binary_operator_and_lists():
    def lin(x, k):
        return [k * v for v in x]

    x = np.linspace(0, 10, 11)
    total = Model(lin, prefix="a_") + Model(lin, prefix="b_")
    params = Parameters()
    params.add("a_k", value=0.5)
    params.add("b_k", value=0.5)
    result = total.fit(2.0 * x, params, x=x)
    assert result.best_fit.shape == x.shape
    # the fit's ambiguity (a_k + b_k = 2 only): the sum is 2 to the fit's tolerance
    assert result.params["a_k"].value + result.params["b_k"].value == pytest.approx(2.0,
                                                                                  rel=1e-8)


def test_model_result_values_and_post_fit():
    x = np.linspace(-5, 5, 201)
    rng = np.random.default_rng(7)
    model = M.GaussianModel(prefix="g1_") + M.GaussianModel(prefix="g2_")
    y = model.eval(x=x, g1_amplitude=3, g1_center=-1, g1_sigma=0.7, g2_amplitude=2,
                   g2_center=1.5, g2_sigma=0.9) + 0.01 * rng.standard_normal(x.size)

    def post_fit(result):
        result.params.add("area", expr="g1_amplitude + g2_amplitude")

    model.post_fit = post_fit
    params = model.make_params(g1_amplitude=2, g1_center=-0.8, g1_sigma=1, g2_amplitude=1,
                               g2_center=1.2, g2_sigma=1)
    result = model.fit(y, params, x=x)
    best = result.best_values
    assert set(best) == {f"g{i}_{n}" for i in (1, 2) for n in ("amplitude", "center",
                                                               "sigma")}
    assert result.values["g1_fwhm"] == pytest.approx(2.35482 * best["g1_sigma"], rel=1e-6)
    assert result.init_values["g1_amplitude"] == 2
    area = result.params["area"]
    assert area.value == pytest.approx(best["g1_amplitude"] + best["g2_amplitude"],
                                       rel=1e-12)
    # stderr of a sum: sqrt(var1 + var2 + 2 cov12), from the covariance itself
    i, j = result.var_names.index("g1_amplitude"), result.var_names.index("g2_amplitude")
    c = np.asarray(result.covar)
    assert area.stderr == pytest.approx(math.sqrt(c[i, i] + c[j, j] + 2 * c[i, j]),
                                        rel=1e-9)
    html = result._repr_html_()
    assert html.startswith("<h2>Fit Result</h2>") and "g1_amplitude" in html


def test_dely_predicted_adds_the_noise():
    x = np.linspace(0, 10, 51)
    y = 2 * x + 1 + np.random.default_rng(1).normal(0, 0.3, x.size)
    result = M.LinearModel().fit(y, x=x, slope=1, intercept=0)
    dely = result.eval_uncertainty(sigma=1)
    # a line: d/dslope = x, d/dintercept = 1, so var = g C g^T in closed form; the
    # quantile is Student's t at erf(1/sqrt 2) with nfree degrees of freedom (lmfit)
    columns = {"slope": x, "intercept": np.ones_like(x)}
    g = np.stack([columns[n] for n in result.var_names], axis=-1)
    variance = np.einsum("...i,ij,...j->...", g, np.asarray(result.covar), g)
    t = stats.t.ppf((math.erf(1 / math.sqrt(2)) + 1) / 2, result.nfree)
    # the same quantities by another route: 1e-10 relative (the quantile's accuracy)
    assert np.allclose(dely, t * np.sqrt(variance), rtol=1e-10)
    assert np.allclose(result.dely_predicted, t * np.sqrt(variance + result.redchi),
                       rtol=1e-10)


def test_refit_from_the_result():
    x = np.linspace(0, 10, 51)
    y = 2 * x + 1 + np.random.default_rng(2).normal(0, 0.1, x.size)
    result = M.LinearModel().fit(y, x=x, slope=1, intercept=0)
    slope = result.params["slope"].value
    again = result.fit()
    assert again is result
    # from the optimum the refit stays there to the fit's tolerance
    assert result.params["slope"].value == pytest.approx(slope, rel=1e-8)
    result.fit(3 * x, x=x)  # new data
    assert result.params["slope"].value == pytest.approx(3.0, rel=1e-8)


def test_complex_helpers():
    z = np.array([3 + 4j, 0j, 1 - 1j])
    assert get_reducer("abs")(z).tolist() == [5.0, 0.0, math.sqrt(2)]
    assert get_reducer("real")(np.array([1.0, 2.0])).tolist() == [1.0, 2.0]
    with pytest.raises(ValueError, match="Invalid option"):
        get_reducer("phase")
    dz = np.full(3, 0.1)
    err = propagate_err(z, dz, "abs")
    # first-order: sqrt((Re z dRe)^2 + (Im z dIm)^2)/|z|; at |z|=0, |dz| = 0.1 sqrt(2)
    assert err.tolist() == pytest.approx([0.1, 0.1 * math.sqrt(2), 0.1], rel=1e-12)
    assert propagate_err(z, dz, "angle")[1] == math.pi
    with pytest.raises(ValueError, match="shape of z"):
        propagate_err(z, dz[:2], "abs")
    assert coerce_arraylike([1, 2]).dtype == np.float64
    assert coerce_arraylike((1j, 2)).dtype == np.complex128
    assert coerce_arraylike("text") == "text"


def test_propagate_err_agrees_with_real_lmfit():
    lmfit_model = pytest.importorskip("lmfit.model")
    # (at z = 0 lmfit's code gives 0/0 = nan where its docstring promises |dz| and pi,
    # which paramfit gives: compared away from 0)
    z = np.array([1.0, 1.0 + 10j, 2.0, 2.0 + 20j, -3 - 1j])
    dz = np.array([0.3, 0.2 + 0.1j, 0.1, 0.5j, 0.2])
    for option in ("real", "imag", "abs", "angle"):
        # same formulas: 1e-12 relative
        assert np.allclose(propagate_err(z, dz, option),
                           lmfit_model.propagate_err(z, dz, option), rtol=1e-12)


# ----------------------------------------------------------------- new built-in models
NEW_PEAKS = {
    "SplitLorentzianModel": dict(amplitude=3.0, center=0.5, sigma=0.8, sigma_r=1.6),
    "Pearson4Model": dict(amplitude=3.0, center=0.5, sigma=1.1, expon=1.8, skew=0.7),
    "DampedHarmonicOscillatorModel": dict(amplitude=3.0, center=4.0, sigma=0.6,
                                          gamma=1.4),
    "SkewedVoigtModel": dict(amplitude=3.0, center=0.5, sigma=0.8, skew=0.9),
    "DoniachModel": dict(amplitude=3.0, center=0.5, sigma=0.8, gamma=0.2),
    "LognormalModel": dict(amplitude=3.0, center=1.0, sigma=0.4),
    "BreitWignerModel": dict(amplitude=3.0, center=0.5, sigma=0.8, q=2.0),
}


@pytest.mark.parametrize("name", sorted(NEW_PEAKS))
def test_new_models_fit_their_own_curve(name):
    model = getattr(M, name)()
    x = np.linspace(0.05, 10, 400) if name in ("LognormalModel",
                                              "DampedHarmonicOscillatorModel") \
        else np.linspace(-8, 8, 401)
    truth = NEW_PEAKS[name]
    y = model.eval(x=x, **truth) + 1e-4 * np.random.default_rng(11).standard_normal(x.size)
    start = model.make_params(**{k: v * 1.1 for k, v in truth.items()})
    result = model.fit(y, start, x=x)
    assert result.success, result.message
    # noise 1e-4: stderrs <= ~1e-3 relative; 1e-2 is many stderr, a stuck fit is 10% off
    for key, value in truth.items():
        assert result.params[key].value == pytest.approx(value, rel=1e-2), key


@pytest.mark.parametrize("name", ["SplitLorentzianModel", "Pearson4Model",
                                  "DampedHarmonicOscillatorModel", "SkewedVoigtModel",
                                  "DoniachModel", "LognormalModel", "BreitWignerModel",
                                  "Gaussian2dModel", "BoseModel", "FermiModel",
                                  "ThermalDistributionModel"])
def test_new_models_match_real_lmfit(name):
    lmfit_models = pytest.importorskip("lmfit.models")
    ours, theirs = getattr(M, name)(), getattr(lmfit_models, name)()
    # (lmfit's param_names omit skewed_voigt's gamma, default None, which its hint adds to
    # make_params: the names of make_params are compared)
    mine, real = ours.make_params(), theirs.make_params()
    assert set(mine) == set(real)
    for key, par in real.items():
        if par.expr is None:
            assert (mine[key].min, mine[key].max) == (par.min, par.max), key
    # guesses on the same data: the same heuristics, equal to rounding (1e-9 relative)
    if name == "Gaussian2dModel":
        gx, gy = np.meshgrid(np.linspace(-3, 4, 30), np.linspace(-2, 5, 25))
        gx, gy = gx.ravel(), gy.ravel()
        z = ours.eval(x=gx, y=gy, amplitude=4, centerx=0.5, centery=1.0, sigmax=0.9,
                      sigmay=1.3)
        guessed, expected = ours.guess(z, gx, gy), theirs.guess(z, gx, gy)
        assert np.allclose(ours.eval(guessed, x=gx, y=gy), theirs.eval(expected, x=gx, y=gy),
                           rtol=1e-9, atol=1e-12)
    else:
        x = np.linspace(0.2, 9.8, 97)
        y = ours.eval(ours.make_params(), x=x) + 0.05 * np.sin(3 * x)
        guessed, expected = ours.guess(y, x=x), theirs.guess(y, x=x)
    for key, par in expected.items():
        assert guessed[key].value == pytest.approx(par.value, rel=1e-9, abs=1e-12), key


def test_spline_model_fits_a_smooth_curve_and_matches_lmfit():
    x = np.linspace(0, 10, 201)
    y = np.sin(x) + 0.1 * x
    model = M.SplineModel(xknots=np.linspace(0, 10, 12), prefix="s_")
    assert model.param_names == [f"s_s{i}" for i in range(12)]
    result = model.fit(y, model.guess(y, x), x=x)
    # linear least squares on the B-spline basis: scipy's make_lsq_spline on the same knots
    # gives the same curve; the fit's tolerances (1e-10 relative) bound the difference
    lsq = make_lsq_spline(x, y, model.knots, k=3)
    assert np.allclose(result.best_fit, lsq(x), rtol=0, atol=1e-8)
    lmfit_models = pytest.importorskip("lmfit.models")
    theirs = lmfit_models.SplineModel(xknots=np.linspace(0, 10, 12), prefix="s_")
    values = {n: p.value for n, p in result.params.items()}
    # the same B-spline basis: equal to rounding
    assert np.allclose(theirs.eval(theirs.make_params(**values), x=x), result.best_fit,
                       rtol=1e-12, atol=1e-12)


def test_thermal_model_forms_and_complex_constant():
    model = M.ThermalDistributionModel(independent_vars=["x", "form"], form="fermi")
    x = np.linspace(0, 5, 11)
    expected = 1 / (2.0 * np.exp((x - 1.0) / 0.5) + 1)
    assert np.allclose(model.eval(x=x, amplitude=2.0, center=1.0, kt=0.5), expected,
                       rtol=1e-13)
    with pytest.raises(ValueError, match="Invalid value"):
        M.ThermalDistributionModel(form="planck")
    constant = M.ComplexConstantModel()
    data = np.full(5, 1.5 - 2.0j)
    guessed = constant.guess(data)
    assert (guessed["re"].value, guessed["im"].value) == (1.5, -2.0)
    assert constant.eval(guessed, x=np.zeros(5)).tolist() == data.tolist()


def test_fit_takes_parameter_objects_and_ignores_extra_keywords_of_kwargs_models():
    x = np.linspace(-4, 4, 81)
    y = gaussian(x, 2.0, 0.3, 0.9)

    def flexible(x, amplitude, center, sigma, **kwargs):
        return gaussian(x, amplitude, center, sigma)

    model = Model(flexible)
    params = model.make_params(amplitude=1, center=0, sigma=1)
    # Parameter objects as keywords (lmfit): their values, bounds and flags are taken
    result = model.fit(y, x=x, **dict(params.items()))
    # exact data: the fit reaches the truth to its tolerance
    assert result.params["center"].value == pytest.approx(0.3, rel=1e-7)
    with pytest.warns(UserWarning, match="'extra' matches no argument"):
        model.fit(y, params, x=x, extra=5)


def test_independent_variable_given_as_a_constructor_option():
    model = Model(gaussian, independent_vars=["x", "amplitude"], amplitude=10.0)
    assert model.param_names == ["center", "sigma"] and model.opts == {"amplitude": 10.0}
    x = np.array([0.0, 1.0])
    assert np.allclose(model.eval(x=x, center=0.0, sigma=1.0), gaussian(x, 10.0, 0.0, 1.0),
                       rtol=1e-15)
    assert model.name == "Model(gaussian, amplitude='10.0')"
    assert Model(gaussian, prefix=None).prefix == ""
    assert M.PseudoVoigtModel().name == "Model(pvoigt)"


def test_multidimensional_model_and_its_uncertainty():
    def pair(x, p=2.0):
        return np.array([x, p * x])

    result = Model(pair).fit(np.array([[1.0, 2, 3], [2, 3, 5]]), x=np.array([1.0, 2, 3]))
    # one parameter, d/dp = [0, x]: the band is t * sqrt(var_p) * [0, x] exactly
    band = result.eval_uncertainty(x=np.array([3.0, 4.0]))
    t = float(stats.t.ppf((math.erf(1 / math.sqrt(2)) + 1) / 2, result.nfree))
    stderr = result.params["p"].stderr  # sqrt of the same covariance: equal to rounding
    assert np.allclose(band, [[0, 0], [3 * t * stderr, 4 * t * stderr]], rtol=1e-10)
    assert math.isfinite(result.rsquared)


def test_composite_hints_may_add_parameters_and_components_are_keyed_by_name():
    def gauss(x, sigma, mu, amp):
        return amp * np.exp(-(x - mu) ** 2 / (2 * sigma ** 2))

    model = Model(gauss, prefix="p1_") + Model(gauss, prefix="p2_")
    model.set_param_hint("p1_mu", value=0.2)
    model.set_param_hint("pos_delta", value=0.3, min=0)
    model.set_param_hint("p2_mu", expr="p1_mu + pos_delta")
    params = model.make_params(p1_sigma=0.1, p2_sigma=0.1, p1_amp=1, p2_amp=1)
    assert params["pos_delta"].min == 0
    # the tie evaluated: 0.2 + 0.3 to rounding
    assert params["p2_mu"].value == pytest.approx(0.5, rel=1e-15) and not params["p2_mu"].vary
    named = M.ConstantModel(prefix="off_") + Model(gauss, name="peak")
    x = np.linspace(-1, 1, 5)
    assert set(named.eval_components(x=x, off_c=1.0, sigma=1, mu=0, amp=1)) == {"off_",
                                                                                 "peak"}
    assert (Model(lambda y, z, a=1.0: a * y + z, independent_vars=["y", "z"], prefix="b_")
            + Model(gaussian)).independent_vars == ["x", "y", "z"]


def test_forbidden_argument_names_and_asteval_style_callables():
    def uses_data(data, a):
        return a * data

    with pytest.raises(ValueError, match=r"Invalid independent variable name \('data'\)"):
        Model(uses_data)

    class Polynomial:  # argnames/kwargs instead of a signature (asteval's Procedure)
        __name__ = "Polynomial"
        argnames = ["x", "c0", "c1"]
        kwargs: dict = {}

        def __call__(self, x, **coefs):
            return coefs["c0"] + coefs["c1"] * x

    model = Model(Polynomial())
    assert model.independent_vars == ["x"] and model.param_names == ["c0", "c1"]
    assert model.eval(x=np.array([2.0]), c0=1.0, c1=3.0).tolist() == [7.0]


def test_summary_has_lmfit_keys_and_is_json():
    import json

    x = np.linspace(0, 4, 21)
    result = M.LinearModel().fit(3 * x - 1 + 0.01 * np.sin(7 * x), x=x, slope=1, intercept=0)
    summary = json.loads(json.dumps(result.summary()))
    assert summary["init_values"] == {"slope": 1.0, "intercept": 0.0}
    assert set(summary["best_values"]) == {"slope", "intercept"}
    assert summary["best_values"]["slope"] == result.params["slope"].value


def test_complex_models_fit_and_their_band_is_lmfits():
    def pair(x, p=2.0):
        return np.array([x, p * x])

    result = Model(pair).fit(np.array([[1.0, 2, 3], [2, 3, 5]]), x=np.array([1.0, 2, 3]))
    real = result.eval_uncertainty(x=np.array([3.0, 4.0]))
    imaginary = result.eval_uncertainty(x=np.array([3j, 4j]))
    # lmfit's definition: sqrt(var(Re) + i var(Im)); here var(Re) = 0 and var(Im) is the
    # real band's square, so the band is real_band * (1 + i)/sqrt(2), to rounding
    assert np.allclose(imaginary, real * (1 + 1j) / math.sqrt(2), rtol=1e-12, atol=1e-15)

    def resonance(f, omega, areal, aimag, off, sigma):
        return (areal * np.cos(f * omega + off) + 1j * aimag * np.sin(f * omega + off)) \
            * np.exp(-f / sigma)

    f = np.linspace(0, 10, 501)
    noise = (0.1 + 0.2j) * np.random.default_rng(0).normal(scale=0.25, size=f.size)
    data = resonance(f, 4, 10, 5, 0.2, 4.5) + noise
    model = Model(resonance)
    fit = model.fit(data, model.make_params(omega=4.1, areal=9, aimag=5, off=0.2, sigma=4),
                    f=f)
    assert fit.ndata == 2 * f.size  # real and imaginary parts are the residuals
    # noise ~0.05 per part on amplitudes ~10: stderr(omega) ~1e-4; 2e-3 is 20 stderr
    assert fit.params["omega"].value == pytest.approx(4.0, abs=2e-3)
    band = fit.eval_uncertainty()
    assert band.dtype == np.complex128 and band.shape == f.shape


def test_lineshape_option_defaults_are_independent_variable_defaults():
    assert Model(step).independent_vars_defvals == {"form": "linear"}
    assert Model(step, form="erf").independent_vars_defvals == {"form": "erf"}


def test_composite_with_a_function_as_operator():
    # lmfit's doc_model_composite: a step convolved with a Gaussian kernel
    def convolve(signal, kernel):
        padded = np.concatenate([np.full(len(signal), signal[0]), signal,
                                 np.full(len(signal), signal[-1])])
        out = np.convolve(padded, kernel, mode="valid")
        start = (len(out) - len(signal)) // 2
        return out[start:start + len(signal)]

    x = np.linspace(0, 10, 201)
    model = M.StepModel(form="erf", prefix="s_")
    kernel = Model(lambda x, mid=5.0, width=0.4: np.exp(-(x - mid) ** 2 / (2 * width ** 2))
                   / (width * math.sqrt(2 * math.pi)) * (x[1] - x[0]), prefix="k_")
    composite = M.CompositeModel(model, kernel, convolve)
    assert not composite.has_jacobian and composite.name.endswith("convolve Model(<lambda>, "
                                                                  "prefix='k_'))")
    y = composite.eval(x=x, s_amplitude=2.0, s_center=4.0, s_sigma=0.5, k_mid=5.0,
                       k_width=0.4)
    # the composite applies the function to the two sides' values
    step_values = model.eval(x=x, amplitude=2.0, center=4.0, sigma=0.5)
    kernel_values = kernel.eval(x=x, mid=5.0, width=0.4)
    assert np.allclose(y, convolve(step_values, kernel_values), rtol=1e-14, atol=1e-15)
    assert M.CompositeModel(model, kernel, operator.add).op == "+"


def test_spline_and_complex_constant_models_save_and_load():
    from paramfit.models.io import dumps_model, loads_model

    spline = M.SplineModel(xknots=[0.0, 1.0, 2.5, 4.0, 6.0], prefix="s_")
    loaded = loads_model(dumps_model(spline))
    x = np.linspace(0, 6, 13)
    values = {f"s_s{i}": v for i, v in enumerate([1.0, -2.0, 0.5, 3.0, 1.5])}
    assert loaded.param_names == spline.param_names
    assert loaded.eval(x=x, **values).tolist() == spline.eval(x=x, **values).tolist()
    constant = loads_model(dumps_model(M.ComplexConstantModel(prefix="c_")))
    assert constant.eval(x=np.zeros(2), c_re=1.0, c_im=2.0).tolist() == [1 + 2j, 1 + 2j]
