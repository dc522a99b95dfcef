"""One guess for 1 or B datasets: ``Model.guess`` on a row is ``Model.guess_rows`` on that
row, bit for bit, for the models whose guesses live in :mod:`paramfit.models.guess_curves`
(steps, rectangles, exponentials, power laws, sines) and the damped oscillator (lmfit's
peak rule of :mod:`paramfit.models.guess`); the guesses
recover noise-free truths (closed forms: the log-linear fit of an exact exponential is
exact), and ``fit_many`` uses them for a chunk at once.
"""

from __future__ import annotations

import numpy as np
import pytest

from paramfit.batch import fit_many
from paramfit.batch.problem import ModelSpec, rows_guess
from paramfit.core.exceptions import FitError
from paramfit.models.builtin import (
    DampedOscillatorModel,
    ExponentialModel,
    LogisticModel,
    PowerLawModel,
    RectangleModel,
    SineModel,
    StepModel,
)

RNG = np.random.default_rng(2024)


def rows_of(model, x, truths, noise):
    clean = np.stack([model.eval(x=x, **t) for t in truths])
    return clean + noise * RNG.normal(size=clean.shape)


def uniform(b, **ranges):
    draws = {k: RNG.uniform(lo, hi, b) for k, (lo, hi) in ranges.items()}
    return [{k: float(v[i]) for k, v in draws.items()} for i in range(b)]


X = np.linspace(0.0, 10.0, 151)
POSITIVE_X = np.linspace(0.5, 10.0, 120)
CASES = {
    "exponential": (ExponentialModel(), X, uniform(12, amplitude=(1, 5), decay=(1, 6))),
    "powerlaw": (PowerLawModel(), POSITIVE_X, uniform(12, amplitude=(1, 5),
                                                      exponent=(-1.5, 1.5))),
    "sine": (SineModel(), X, uniform(12, amplitude=(1, 3), frequency=(1, 3), shift=(-1, 1))),
    "damped_oscillator": (DampedOscillatorModel(), X,
                          uniform(12, amplitude=(1, 3), center=(3, 7), sigma=(0.05, 0.2))),
    "step_linear": (StepModel(form="linear"), X,
                    uniform(12, amplitude=(1, 3), center=(3, 7), sigma=(0.5, 1.5))),
    "step_erf": (StepModel(form="erf"), X,
                 uniform(12, amplitude=(-3, -1), center=(3, 7), sigma=(0.3, 1.0))),
    "logistic": (LogisticModel(), X, uniform(12, amplitude=(1, 3), center=(3, 7),
                                             sigma=(0.3, 1.0))),
    "rectangle_atan": (RectangleModel(form="atan"), X,
                       uniform(12, amplitude=(1, 3), center1=(2, 4), sigma1=(0.2, 0.6),
                               center2=(6, 8), sigma2=(0.2, 0.6))),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_guess_is_guess_rows_on_one_row(case):
    """Bit for bit, for clean rows and for rows with non-finite points (guessed alone on
    their finite points); a chunk's guess does not depend on the other rows in it."""
    model, x, truths = CASES[case]
    data = rows_of(model, x, truths, noise=0.01)
    data[3, 7] = np.nan
    data[5, [0, 40]] = np.inf
    rows = model.guess_rows(data, x)
    halves = [model.guess_rows(data[:4], x), model.guess_rows(data[4:], x)]
    for i, row in enumerate(data):
        single = model.guess(row, x=x)
        for name, values in rows.items():
            assert single[name].value == values[i], (case, name, i)
            part = halves[0] if i < 4 else halves[1]
            assert part[name][i if i < 4 else i - 4] == values[i], (case, name, i)


#: How close a guess of noise-free data comes to the truth: relative, but absolute for
#: centers (x units) and the sine's shift (radians); measured maxima in brackets.
#: Exponential and power law: a line fitted to exact logs (rounding: [3e-15]).  Sine: the
#: frequency from a 41-point scan between periodogram points ~0.008 rad/unit apart
#: ([1.6e-3]; amplitude [3e-4], shift [8e-3]).  (The damped oscillator's guess is
#: lmfit's peak rule, tested in test_guess_peak_rule.py.)  Steps: plateaus from the
#: first and last 5 points, crossings interpolated between samples; exact for the linear
#: form ([3e-15]), the logistic's tails are not flat within the data ([0.04-0.08]);
#: rectangles with atan edges likewise ([0.06-0.21]).
TRUTH_TOL = {
    "exponential": {"amplitude": 1e-12, "decay": 1e-12},
    "powerlaw": {"amplitude": 1e-12, "exponent": 1e-12},
    "sine": {"amplitude": 2e-3, "frequency": 5e-3, "shift": 3e-2},
    "step_linear": {"amplitude": 1e-12, "center": 1e-12, "sigma": 1e-12},
    "step_erf": {"amplitude": 1e-6, "center": 1e-3, "sigma": 3e-2},
    "logistic": {"amplitude": 0.1, "center": 0.15, "sigma": 0.1},
    "rectangle_atan": {"amplitude": 0.3, "center1": 0.15, "sigma1": 0.4, "center2": 0.15,
                       "sigma2": 0.4},
}


@pytest.mark.parametrize("case", sorted(TRUTH_TOL))
def test_guess_rows_recover_noise_free_truth(case):
    model, x, truths = CASES[case]
    rows = model.guess_rows(rows_of(model, x, truths, noise=0.0), x)
    for name, tol in TRUTH_TOL[case].items():
        truth = np.array([t[name] for t in truths])
        if name.startswith("center") or name == "shift":
            error = np.abs(rows[name] - truth)
        else:
            error = np.abs(rows[name] / truth - 1.0)
        assert error.max() <= tol, (case, name, error.max())


def test_rows_that_cannot_be_guessed():
    """errors='nan': NaN for the row; the single guess raises FitError with the reason."""
    model, x, truths = CASES["exponential"]
    data = rows_of(model, x, truths[:3], noise=0.0)
    data[1] = 0.0
    data[1, 0] = 1.0                    # one point of the sum's sign: no line through logs
    rows = model.guess_rows(data, x, errors="nan")
    assert np.isnan(rows["decay"][1]) and np.isfinite(rows["decay"][[0, 2]]).all()
    with pytest.raises(FitError, match="at least 2 points"):
        model.guess(data[1], x=x)
    flat = RectangleModel()
    with pytest.raises(FitError, match="no rectangle"):
        flat.guess(np.zeros(x.size), x=x)
    assert np.isnan(flat.guess_rows(np.zeros((2, x.size)), x, errors="nan")["center1"]).all()


@pytest.mark.parametrize("case", ["exponential", "step_linear", "damped_oscillator"])
def test_fit_many_guesses_a_chunk_at_once(case):
    """fit_many's starts are the models' row guesses (not one Python guess per dataset),
    and its fits agree with single Model.fit from Model.guess (same start: chisq to
    1e-9, both converged at a minimum where chisq is stationary)."""
    model, x, truths = CASES[case]
    data = rows_of(model, x, truths, noise=0.01)
    assert rows_guess(ModelSpec(model), data[:1], x) is not None
    result = fit_many(model, data, x=x)
    for i, row in enumerate(data):
        single = model.fit(row, model.guess(row, x=x), x=x)
        assert bool(result.success[i]) == bool(single.success)
        if single.success:
            np.testing.assert_allclose(result.chisqr[i], single.chisqr, rtol=1e-9)
