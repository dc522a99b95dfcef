"""Built-in models: analytic Jacobians against finite differences, guesses, derived
parameters."""

from __future__ import annotations

import numpy as np
import pytest

import paramfit.models.builtin as M
from paramfit.core.exceptions import FitError

RNG_SEED = 20240601

# Tolerances (reasons once, here).
#: Central differences with h = 1e-6 max(|p|, 1): rounding eps |f| / h ~ 1e-9 of the
#: curve, truncation h**2 |f'''| / 6 ~ 1e-12; 1e-6 of the column's scale leaves 1e3 and a
#: wrong derivative is off by O(1).
DERIVATIVE_TOL = 1e-6
#: The same elementwise formulas broadcast over a batch and called row by row: rounding at
#: most (numpy may pick a SIMD or a scalar loop for exp/erf depending on the layout).
BROADCAST_RTOL = 1e-13
#: Step and rectangle guesses on clean, finely sampled curves: 20% is what a start needs
#: (measured values beside the test).
GUESS_REL = 0.2

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
            np.testing.assert_allclose(derivs[name], numeric, rtol=DERIVATIVE_TOL,
                                       atol=DERIVATIVE_TOL * scale,
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
        # atol: values and derivatives here are O(1) to O(10), so 1e-13 is rounding too
        np.testing.assert_allclose(value[k], single, rtol=BROADCAST_RTOL, atol=1e-13)
        for name in model.param_names:
            assert derivs[name].shape == (6, 40)
            np.testing.assert_allclose(derivs[name][k], single_d[name], rtol=10 * BROADCAST_RTOL,
                                       atol=1e-13)


PEAKS = ["gaussian", "lorentzian", "voigt", "pvoigt", "moffat", "pearson7", "students_t",
         "skewed_gaussian", "expgaussian"]


# lines, polynomials, exponentials and power laws are guessed by a linear least-squares
# fit (of log y for the last two) of exact data: exact to rounding times the conditioning
# of the basis (measured 2e-15), so 1e-9; the sine's frequency is the best of a grid of
# spacing 0.004 (0.3% of 1.3), then amplitude and shift follow by a linear fit: 1e-2
# (measured 7e-4)
@pytest.mark.parametrize("case,truth,rel", [
    ("constant", {"c": 2.5}, 1e-9),
    ("linear", {"slope": -1.3, "intercept": 4.0}, 1e-9),
    ("quadratic", {"a": 0.4, "b": -1.0, "c": 2.0}, 1e-9),
    ("polynomial", {"c0": 1.0, "c1": -0.5, "c2": 0.3, "c3": 0.2, "c4": -0.1}, 1e-9),
    ("exponential", {"amplitude": 3.0, "decay": 1.7}, 1e-9),
    ("powerlaw", {"amplitude": 2.0, "exponent": -1.5}, 1e-9),
    ("sine", {"amplitude": 2.0, "frequency": 1.3, "shift": 0.4}, 1e-2),
])
def test_guess_recovers_lines_and_exponentials(case: str, truth: dict, rel: float) -> None:
    factory, (lo, hi), _ = CASES[case]
    model = factory()
    x = np.linspace(lo + 1e-3, hi, 301)
    y = model.eval(x=x, **truth)
    guess = model.guess(y, x=x)
    for name, value in truth.items():
        assert guess[name].value == pytest.approx(value, rel=rel), name


@pytest.mark.parametrize("form", ["linear", "atan", "erf", "logistic"])
def test_guess_steps_and_rectangles(form: str) -> None:
    # GUESS_REL: the atan form's 1/u tails are far from their limits at the ends of the
    # window, which the guess takes as the plateaus (measured 8% for the step's sigma, 15%
    # for the rectangle's); the other forms come out within 0.7%
    x = np.linspace(-10, 10, 801)
    step = M.StepModel(form=form)
    guess = step.guess(step.eval(x=x, amplitude=3, center=1.0, sigma=0.8), x=x)
    assert guess["amplitude"].value == pytest.approx(3, rel=GUESS_REL)
    assert guess["center"].value == pytest.approx(1.0, abs=GUESS_REL)
    assert guess["sigma"].value == pytest.approx(0.8, rel=GUESS_REL)
    rect = M.RectangleModel(form=form)
    truth = {"amplitude": 2.0, "center1": -4.0, "sigma1": 0.7, "center2": 3.0, "sigma2": 0.5}
    guess = rect.guess(rect.eval(x=x, **truth), x=x)
    for name, value in truth.items():
        assert guess[name].value == pytest.approx(value, rel=GUESS_REL), name


def _height_and_fwhm(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """The largest value of a single peak sampled at sorted x, and its full width at half
    of it: the half-height crossings interpolated linearly on each (monotone) flank."""
    top = int(np.argmax(y))
    half = y[top] / 2
    left = np.interp(half, y[:top + 1], x[:top + 1])
    right = np.interp(half, y[top:][::-1], x[top:][::-1])
    return float(y[top]), float(right - left)


@pytest.mark.parametrize("case", ["gaussian", "lorentzian", "voigt", "pvoigt", "moffat",
                                  "pearson7", "students_t"])
def test_derived_fwhm_and_height_match_the_curve(case: str) -> None:
    model = CASES[case][0]()
    params = model.make_params(amplitude=2.0, center=0.5, sigma=0.8 if case != "students_t"
                               else 3.0)
    x = np.linspace(-200, 200, 400001)
    height, fwhm = _height_and_fwhm(x, model.eval(params, x=x))
    # voigt's FWHM expression (Olivero & Longbothum 1977) is good to 0.02%; the others
    # are exact and are measured on a grid of spacing 1e-3 (measured <= 6e-5): 2e-3
    assert params["height"].value == pytest.approx(height, rel=2e-3)
    assert params["fwhm"].value == pytest.approx(fwhm, rel=2e-3)


def test_peak_models_have_prefixed_derived_parameters() -> None:
    params = M.GaussianModel(prefix="p1_").make_params(amplitude=3, center=0, sigma=2)
    assert params["p1_fwhm"].expr == "2.3548200*p1_sigma"
    # the height expression writes 1/sqrt(2 pi) to 7 digits (0.3989423): rel=1e-6
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
        # noise 1e-4 on a peak of height ~2: stderrs are 2e-5 to 9e-5 relative (measured
        # within 1.7 stderr of the truth), so 1e-3 is >= 10 stderr; a fit stuck at its
        # guess (sigma up to 6% off) fails
        for name in ("amplitude", "center", "sigma"):
            assert result.params[name].value == pytest.approx(truth[name].value, rel=1e-3), \
                (case, name)


@pytest.mark.parametrize("case", PEAKS)
def test_guess_rows_is_guess_row_by_row_bit_for_bit(case: str) -> None:
    # one guess algorithm for 1 or B rows: guess_rows on a block of noisy peaks (one row
    # with a NaN point, measured alone on its finite points) equals guess() on each row,
    # exactly (element-wise operations only; no tolerance)
    model = CASES[case][0]()
    rng = np.random.default_rng(RNG_SEED)
    x = np.linspace(-8, 8, 161)
    rows = []
    for _ in range(6):
        sigma = rng.uniform(0.5, 1.5) if case != "students_t" else rng.uniform(1, 5)
        truth = model.make_params(amplitude=rng.uniform(1, 5), center=rng.uniform(-1, 1),
                                  sigma=sigma)
        rows.append(model.eval(truth, x=x) + rng.normal(0, 0.01, x.size))
    data = np.array(rows)
    data[2, 40] = np.nan
    block = model.guess_rows(data, x)
    for i, row in enumerate(data):
        single = model.guess(row, x=x)
        for name, values in block.items():
            assert values[i] == single[name].value, (name, i)


def test_guess_rows_bad_rows_nan_or_raise() -> None:
    # a row with under 3 finite points cannot be guessed: guess() raises (as before);
    # guess_rows(errors='nan') gives NaN for it and the others' guesses unchanged
    model = M.GaussianModel()
    x = np.linspace(-5, 5, 51)
    good = model.eval(x=x, amplitude=2, center=0.5, sigma=1)
    bad = np.full(x.size, np.nan)
    bad[:2] = 1.0
    with pytest.raises(FitError, match="3 finite"):
        model.guess(bad, x=x)
    out = model.guess_rows(np.array([good, bad]), x, errors="nan")
    assert np.isnan(out["sigma"][1]) and np.isnan(out["amplitude"][1])
    assert out["sigma"][0] == model.guess(good, x=x)["sigma"].value


@pytest.mark.parametrize("case", ["constant", "linear", "quadratic", "polynomial"])
def test_line_guess_rows_is_guess_row_by_row_bit_for_bit(case: str) -> None:
    # as for the peaks: the least-squares guesses of a block (one row with a NaN point,
    # fitted on its finite points) equal guess() on each row exactly
    factory, span, ranges = CASES[case]
    model = factory()
    rng = np.random.default_rng(RNG_SEED + 1)
    x = np.linspace(*span, 41)
    data = np.array([model.eval(model.make_params(**{k: rng.uniform(*r)
                                                     for k, r in ranges.items()}), x=x)
                     + rng.normal(0, 0.01, x.size) for _ in range(5)])
    data[3, 10] = np.nan
    block = model.guess_rows(data, x)
    for i, row in enumerate(data):
        single = model.guess(row, x=x)
        for name, values in block.items():
            assert values[i] == single[name].value, (name, i)
    # and they are least-squares fits: numpy's polyfit of a clean row agrees to rounding
    # (1e-9: the Vandermonde's conditioning for degree 4 on [-2, 2] times eps, with margin)
    degree = len(ranges) - 1 if case != "constant" else 0
    if degree:
        want = np.polynomial.polynomial.polyfit(x, data[0], degree)
        got = [block[n][0] for n in ({"linear": ["intercept", "slope"],
                                      "quadratic": ["c", "b", "a"]}.get(case)
                                     or [f"c{i}" for i in range(degree + 1)])]
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)
