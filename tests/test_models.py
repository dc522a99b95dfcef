"""Built-in models: analytic Jacobians against finite differences, guesses, derived
parameters."""

from __future__ import annotations

import numpy as np
import pytest

from paramfit import models as M
from paramfit._guess import measure_peak

RNG_SEED = 20240601

# model factory, x grid, {parameter: (low, high)}
CASES = {
    "constant": (M.ConstantModel, (-5, 5), {"c": (-3, 3)}),
    "linear": (M.LinearModel, (-5, 5), {"slope": (-2, 2), "intercept": (-3, 3)}),
    "quadratic": (M.QuadraticModel, (-5, 5), {"a": (-1, 1), "b": (-2, 2), "c": (-3, 3)}),
    "polynomial": (lambda: M.PolynomialModel(4), (-2, 2),
                   {f"c{i}": (-2, 2) for i in range(5)}),
    "exponential": (M.ExponentialModel, (0, 5), {"amplitude": (1, 5), "decay": (0.5, 3)}),
    "powerlaw": (M.PowerLawModel, (0.5, 5), {"amplitude": (1, 5), "exponent": (-2, 2)}),
    "gaussian": (M.GaussianModel, (-5, 5),
                 {"amplitude": (1, 5), "center": (-1, 1), "sigma": (0.5, 2)}),
    "lorentzian": (M.LorentzianModel, (-5, 5),
                   {"amplitude": (1, 5), "center": (-1, 1), "sigma": (0.5, 2)}),
    "voigt": (M.VoigtModel, (-5, 5), {"amplitude": (1, 5), "center": (-1, 1),
                                      "sigma": (0.5, 2), "gamma": (0.3, 2)}),
    "pvoigt": (M.PseudoVoigtModel, (-5, 5), {"amplitude": (1, 5), "center": (-1, 1),
                                             "sigma": (0.5, 2), "fraction": (0.1, 0.9)}),
    "moffat": (M.MoffatModel, (-5, 5), {"amplitude": (1, 5), "center": (-1, 1),
                                        "sigma": (0.5, 2), "beta": (0.5, 3)}),
    "pearson7": (M.Pearson7Model, (-5, 5), {"amplitude": (1, 5), "center": (-1, 1),
                                            "sigma": (0.5, 2), "expon": (0.8, 4)}),
    "students_t": (M.StudentsTModel, (-5, 5),
                   {"amplitude": (1, 5), "center": (-1, 1), "sigma": (0.5, 5)}),
    "skewed_gaussian": (M.SkewedGaussianModel, (-5, 5), {
        "amplitude": (1, 5), "center": (-1, 1), "sigma": (0.5, 2), "gamma": (-2, 2)}),
    "sine": (M.SineModel, (-5, 5), {"amplitude": (1, 5), "frequency": (0.5, 2),
                                    "shift": (-1, 1)}),
    "damped_oscillator": (M.DampedOscillatorModel, (0.1, 4), {
        "amplitude": (1, 5), "center": (1, 2), "sigma": (0.05, 0.5)}),
    "expgaussian": (M.ExponentialGaussianModel, (-5, 5), {
        "amplitude": (1, 5), "center": (-1, 1), "sigma": (0.5, 2), "gamma": (0.3, 3)}),
    "logistic": (M.LogisticModel, (-5, 5),
                 {"amplitude": (1, 5), "center": (-1, 1), "sigma": (0.5, 2)}),
}
for _form in ("linear", "atan", "erf", "logistic"):
    CASES[f"step-{_form}"] = (lambda f=_form: M.StepModel(form=f), (-5, 5),
                              {"amplitude": (1, 5), "center": (-1, 1), "sigma": (0.5, 2)})
    CASES[f"rectangle-{_form}"] = (lambda f=_form: M.RectangleModel(form=f), (-5, 5), {
        "amplitude": (1, 5), "center1": (-3, -1), "sigma1": (0.5, 1.5),
        "center2": (1, 3), "sigma2": (0.5, 1.5)})


def _random_values(ranges: dict, rng: np.random.Generator) -> dict[str, float]:
    return {name: float(rng.uniform(lo, hi)) for name, (lo, hi) in ranges.items()}


@pytest.mark.parametrize("case", sorted(CASES))
def test_analytic_jacobian_matches_central_differences(case: str) -> None:
    factory, (lo, hi), ranges = CASES[case]
    model = factory()
    rng = np.random.default_rng(RNG_SEED)
    x = np.linspace(lo, hi, 157)
    for _ in range(5):
        values = _random_values(ranges, rng)
        assert set(values) == set(model.param_names)
        value, derivs = model.value_and_jacobian(values, x=x)
        assert derivs is not None and set(derivs) == set(model.param_names)
        for name in model.param_names:
            h = 1e-6 * max(abs(values[name]), 1.0)
            up = model.value_and_jacobian({**values, name: values[name] + h}, x=x)[0]
            down = model.value_and_jacobian({**values, name: values[name] - h}, x=x)[0]
            numeric = (up - down) / (2 * h)
            scale = max(np.max(np.abs(numeric)), 1e-300)
            np.testing.assert_allclose(derivs[name], numeric, rtol=1e-6, atol=1e-6 * scale,
                                       err_msg=f"{case}: d/d{name} at {values}")


@pytest.mark.parametrize("case", ["gaussian", "voigt", "step-erf", "polynomial", "sine"])
def test_value_and_jacobian_broadcasts_over_a_batch(case: str) -> None:
    factory, (lo, hi), ranges = CASES[case]
    model = factory()
    rng = np.random.default_rng(3)
    x = np.linspace(lo, hi, 40)
    batch = [_random_values(ranges, rng) for _ in range(6)]
    stacked = {n: np.array([[b[n]] for b in batch]) for n in model.param_names}
    value, derivs = model.value_and_jacobian(stacked, x=x)
    assert value.shape == (6, 40)
    for k, values in enumerate(batch):
        single, single_d = model.value_and_jacobian(values, x=x)
        np.testing.assert_allclose(value[k], single, rtol=1e-13, atol=1e-13)
        for name in model.param_names:
            assert derivs[name].shape == (6, 40)
            np.testing.assert_allclose(derivs[name][k], single_d[name], rtol=1e-12,
                                       atol=1e-13)


PEAKS = ["gaussian", "lorentzian", "voigt", "pvoigt", "moffat", "pearson7", "students_t",
         "skewed_gaussian", "expgaussian"]


@pytest.mark.parametrize("case", PEAKS)
def test_guess_recovers_clean_peaks(case: str) -> None:
    factory = CASES[case][0]
    model = factory()
    rng = np.random.default_rng(11)
    for _ in range(4):
        amplitude, center = rng.uniform(1, 10), rng.uniform(-3, 3)
        sigma = rng.uniform(0.5, 2.0) if case != "students_t" else rng.uniform(1, 5)
        truth = model.make_params(amplitude=amplitude, center=center, sigma=sigma)
        x = np.linspace(center - 25 * sigma, center + 25 * sigma, 1201)
        guess = model.guess(model.eval(truth, x=x), x=x)
        assert guess["amplitude"].value == pytest.approx(amplitude, rel=0.2)
        assert guess["sigma"].value == pytest.approx(sigma, rel=0.2)
        assert abs(guess["center"].value - center) <= 0.2 * max(abs(center), sigma)


def test_guess_negative_peak() -> None:
    model = M.GaussianModel()
    x = np.linspace(-10, 10, 401)
    guess = model.guess(-model.eval(x=x, amplitude=4, center=1, sigma=1.5), x=x, negative=True)
    assert guess["amplitude"].value == pytest.approx(-4, rel=0.05)
    assert guess["center"].value == pytest.approx(1, abs=0.05)


def test_guess_damped_oscillator() -> None:
    model = M.DampedOscillatorModel()
    x = np.linspace(0.05, 6, 2000)
    y = model.eval(x=x, amplitude=2.0, center=2.0, sigma=0.08)
    guess = model.guess(y, x=x)
    for name, true in (("amplitude", 2.0), ("center", 2.0), ("sigma", 0.08)):
        assert guess[name].value == pytest.approx(true, rel=0.2)


@pytest.mark.parametrize("case,truth", [
    ("constant", {"c": 2.5}),
    ("linear", {"slope": -1.3, "intercept": 4.0}),
    ("quadratic", {"a": 0.4, "b": -1.0, "c": 2.0}),
    ("polynomial", {"c0": 1.0, "c1": -0.5, "c2": 0.3, "c3": 0.2, "c4": -0.1}),
    ("exponential", {"amplitude": 3.0, "decay": 1.7}),
    ("powerlaw", {"amplitude": 2.0, "exponent": -1.5}),
    ("sine", {"amplitude": 2.0, "frequency": 1.3, "shift": 0.4}),
])
def test_guess_recovers_lines_and_exponentials(case: str, truth: dict) -> None:
    factory, (lo, hi), _ = CASES[case]
    model = factory()
    x = np.linspace(lo + 1e-3, hi, 301)
    y = model.eval(x=x, **truth)
    guess = model.guess(y, x=x)
    for name, value in truth.items():
        assert guess[name].value == pytest.approx(value, rel=0.2, abs=1e-6), name


@pytest.mark.parametrize("form", ["linear", "atan", "erf", "logistic"])
def test_guess_steps_and_rectangles(form: str) -> None:
    x = np.linspace(-10, 10, 801)
    step = M.StepModel(form=form)
    guess = step.guess(step.eval(x=x, amplitude=3, center=1.0, sigma=0.8), x=x)
    assert guess["amplitude"].value == pytest.approx(3, rel=0.2)
    assert guess["center"].value == pytest.approx(1.0, abs=0.2)
    assert guess["sigma"].value == pytest.approx(0.8, rel=0.2)
    rect = M.RectangleModel(form=form)
    truth = {"amplitude": 2.0, "center1": -4.0, "sigma1": 0.7, "center2": 3.0, "sigma2": 0.5}
    guess = rect.guess(rect.eval(x=x, **truth), x=x)
    for name, value in truth.items():
        assert guess[name].value == pytest.approx(value, rel=0.2), name


@pytest.mark.parametrize("case", ["gaussian", "lorentzian", "voigt", "pvoigt", "moffat",
                                  "pearson7", "students_t"])
def test_derived_fwhm_and_height_match_the_curve(case: str) -> None:
    model = CASES[case][0]()
    params = model.make_params(amplitude=2.0, center=0.5, sigma=0.8 if case != "students_t"
                               else 3.0)
    x = np.linspace(-200, 200, 400001)
    position, height, fwhm = measure_peak(x, model.eval(params, x=x))
    assert params["height"].value == pytest.approx(height, rel=2e-3)
    assert params["fwhm"].value == pytest.approx(fwhm, rel=2e-3)


def test_peak_models_have_prefixed_derived_parameters() -> None:
    params = M.GaussianModel(prefix="p1_").make_params(amplitude=3, center=0, sigma=2)
    assert params["p1_fwhm"].expr == "2.3548200*p1_sigma"
    assert params["p1_height"].value == pytest.approx(3 / (2 * np.sqrt(2 * np.pi)), rel=1e-6)
    assert params["p1_sigma"].min == 0


def test_polynomial_degree_is_checked() -> None:
    assert M.PolynomialModel(3).param_names == ["c0", "c1", "c2", "c3"]
    with pytest.raises(ValueError, match="degree"):
        M.PolynomialModel(8)


def test_fit_of_every_peak_model_recovers_truth_from_its_guess() -> None:
    rng = np.random.default_rng(5)
    x = np.linspace(-10, 10, 501)
    for case in PEAKS:
        model = CASES[case][0]()
        truth = model.make_params(amplitude=5.0, center=0.7, sigma=1.2)
        y = model.eval(truth, x=x) + rng.normal(0, 1e-4, x.size)
        start = model.guess(y, x=x)
        if case == "skewed_gaussian":  # at gamma = 0, d/dgamma is parallel to d/dcenter
            start["gamma"].vary = False
        result = model.fit(y, start, x=x)
        assert result.success, case
        for name in ("amplitude", "center", "sigma"):
            assert result.params[name].value == pytest.approx(truth[name].value, rel=1e-3), \
                (case, name)
