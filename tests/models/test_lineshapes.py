"""Tests for paramfit.models.lineshapes: values against lmfit / scipy / direct formulas, analytic
Jacobians against Richardson-extrapolated central differences, batch broadcasting,
normalisation (areas, heights, widths) and the registry."""

from __future__ import annotations

import importlib
import inspect

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import integrate, special, stats

import paramfit.models.lineshapes as ls
import paramfit.models.lineshapes.extended as extended_module
from paramfit.core.exceptions import ParameterError
from paramfit.models.lineshapes._registry import BOTH, JACOBIAN, VALUE

FORMS = ("linear", "atan", "erf", "logistic")
N_DRAWS = 20

# Tolerances (reasons once, here).
#: Two implementations of the same closed form (lmfit's or scipy's): special functions
#: (erf, wofz, gammaln) are good to ~1e-14 relative and exp(-u**2/2) above VALUE_ATOL has
#: a relative condition u**2 < 60, so rounding differences are ~1e-13; 1e-10 leaves 1e3
#: while any wrong formula (a factor, a sign, a sqrt(2)) is off by O(1).
VALUE_RTOL = 1e-10
#: scipy.stats pdfs go through logs and gammaln (exponnorm, skewnorm, t): ~1e-12
#: relative at worst here; 1e-9 leaves 1e3.
SCIPY_RTOL = 1e-9
#: Below 1e-13 of the peak only absolute rounding is left (tails of exp and erfc).
VALUE_ATOL = 1e-13
#: Richardson-extrapolated central differences (h = 1e-3 |p|, truncation O(h**6)):
#: rounding leaves <= 2e-9 of the column's largest value (worst: students_t d/dnu);
#: 1e-6 leaves 500x and a wrong derivative is off by O(1).
DERIVATIVE_TOL = 1e-6
#: The same elementwise formula in one broadcast call and in row-by-row calls:
#: bit-identical here; numpy may take a SIMD or a scalar exp/log/arctan loop depending on
#: the memory layout (results a few ulp apart), hence rounding-level 1e-13 relative plus
#: 1e-14 of the row's largest value for tails reached through cancellation (rectangle).
BROADCAST_RTOL, BROADCAST_ATOL = 1e-13, 1e-14

# name -> (parameter ranges in signature order, x grid); a range (lo, hi, "signed") draws
# a magnitude in [lo, hi] with a random sign.
SPECS: dict[str, tuple[tuple, np.ndarray]] = {
    "constant": (((-5, 5),), np.linspace(-5, 5, 41)),
    "linear": (((-3, 3), (-3, 3)), np.linspace(-5, 5, 41)),
    "parabolic": (((-2, 2), (-2, 2), (-2, 2)), np.linspace(-5, 5, 41)),
    "polynomial": (((-1, 1),) * 8, np.linspace(-1.5, 1.5, 41)),
    "exponential": (((0.5, 5), (0.5, 5)), np.linspace(0, 10, 41)),
    "powerlaw": (((0.5, 5), (-2, 3)), np.linspace(0.1, 5, 41)),
    "gaussian": (((0.5, 10), (-2, 2), (0.3, 3)), np.linspace(-10, 10, 201)),
    "lorentzian": (((0.5, 10), (-2, 2), (0.3, 3)), np.linspace(-10, 10, 201)),
    "voigt": (((0.5, 10), (-2, 2), (0.3, 3), (0.2, 2)), np.linspace(-10, 10, 201)),
    "pvoigt": (((0.5, 10), (-2, 2), (0.3, 3), (0, 1)), np.linspace(-10, 10, 201)),
    "moffat": (((0.5, 10), (-2, 2), (0.3, 3), (0.5, 5)), np.linspace(-10, 10, 201)),
    "pearson7": (((0.5, 10), (-2, 2), (0.3, 3), (0.6, 5)), np.linspace(-10, 10, 201)),
    "students_t": (((0.5, 10), (-2, 2), (0.5, 30)), np.linspace(-10, 10, 201)),
    "skewed_gaussian": (((0.5, 10), (-2, 2), (0.3, 3), (-5, 5)), np.linspace(-10, 10, 201)),
    "sine": (((0.5, 5), (0.2, 3), (-3, 3)), np.linspace(-5, 5, 101)),
    "damped_oscillator": (((0.5, 5), (0.5, 3), (0.05, 1)), np.linspace(0, 6, 121)),
    "step": (((0.5, 5), (-2, 2), (0.3, 3, "signed")), np.linspace(-10, 10, 201)),
    "rectangle": (
        ((0.5, 5), (-3, -1), (0.3, 2), (1, 3), (0.3, 2)),
        np.linspace(-10, 10, 201),
    ),
    "expgaussian": (((0.5, 5), (-2, 2), (0.3, 2), (0.2, 3)), np.linspace(-10, 15, 251)),
    "logistic": (((0.5, 5), (-2, 2), (0.3, 3)), np.linspace(-10, 10, 201)),
}

CASES = [
    (name, {"form": form}) if name in ("step", "rectangle") else (name, {})
    for name in SPECS
    for form in (FORMS if name in ("step", "rectangle") else (None,))
]
CASE_IDS = [name + (f"-{kw['form']}" if kw else "") for name, kw in CASES]


def draw(rng: np.random.Generator, name: str) -> tuple[float, ...]:
    """One parameter set from the sane ranges of ``name``."""
    values = []
    for spec in SPECS[name][0]:
        value = rng.uniform(spec[0], spec[1])
        if len(spec) == 3:
            value *= rng.choice((-1.0, 1.0))
        values.append(float(value))
    return tuple(values)


def richardson_derivative(f, params: tuple[float, ...], index: int) -> np.ndarray:
    """d f / d params[index] by central differences with two Richardson levels (O(h**6))."""
    h = 1e-3 * max(abs(params[index]), 0.1)

    def central(step: float) -> np.ndarray:
        up, down = list(params), list(params)
        up[index] += step
        down[index] -= step
        return (f(*up) - f(*down)) / (2.0 * step)

    d1, d2, d4 = central(h), central(h / 2), central(h / 4)
    r1, r2 = (4 * d2 - d1) / 3, (4 * d4 - d2) / 3
    return (16 * r2 - r1) / 15


def kink_mask(name: str, x: np.ndarray, params, kwargs) -> np.ndarray:
    """True where x is far (> 0.05) from a kink of the piecewise-linear step forms."""
    if kwargs.get("form") != "linear":
        return np.ones(x.shape, bool)
    if name == "step":
        _, center, sigma = params
        kinks = [center - sigma / 2, center + sigma / 2]
    else:
        _, c1, s1, c2, s2 = params
        kinks = [c1 - s1, c1 + s1, c2 - s2, c2 + s2]
    return np.all([np.abs(x - k) > 0.05 for k in kinks], axis=0)


# --------------------------------------------------------------------------- values


def lmfit_reference(name: str, x: np.ndarray, params, kwargs) -> np.ndarray:
    lmfit_ls = pytest.importorskip("lmfit.lineshapes")
    if name == "constant":
        return params[0] * np.ones_like(x)
    if name == "polynomial":
        return np.polyval(params[::-1], x)
    return getattr(lmfit_ls, name)(x, *params, **kwargs)


@pytest.mark.parametrize(("name", "kwargs"), CASES, ids=CASE_IDS)
def test_values_match_lmfit(name, kwargs):
    rng = np.random.default_rng(1234)
    x = SPECS[name][1]
    for _ in range(N_DRAWS):
        params = draw(rng, name)
        got = getattr(ls, name)(x, *params, **kwargs)
        want = lmfit_reference(name, x, params, kwargs)
        assert got.shape == x.shape
        assert_allclose(got, want, rtol=VALUE_RTOL, atol=VALUE_ATOL * np.max(np.abs(want)),
                        err_msg=name)


def scipy_reference(name: str, x: np.ndarray, p) -> np.ndarray:
    """Independent definitions (scipy.stats / scipy.special / closed forms)."""
    if name == "gaussian":
        return p[0] * stats.norm.pdf(x, p[1], p[2])
    if name == "lorentzian":
        return p[0] * stats.cauchy.pdf(x, p[1], p[2])
    if name == "voigt":
        return p[0] * special.voigt_profile(x - p[1], p[2], p[3])
    if name == "students_t":
        return p[0] * stats.t.pdf(x, p[2], loc=p[1])
    if name == "pearson7":  # Student's t with 2 m - 1 degrees of freedom, rescaled
        nu = 2 * p[3] - 1
        return p[0] * stats.t.pdf(x, nu, loc=p[1], scale=p[2] / np.sqrt(nu))
    if name == "skewed_gaussian":
        return p[0] * stats.skewnorm.pdf(x, p[3], p[1], p[2])
    if name == "expgaussian":
        return p[0] * stats.exponnorm.pdf(x, 1 / (p[2] * p[3]), p[1], p[2])
    if name == "moffat":
        return p[0] * (1 + ((x - p[1]) / p[2]) ** 2) ** -p[3]
    if name == "damped_oscillator":
        return p[0] / np.sqrt((1 - (x / p[1]) ** 2) ** 2 + (2 * p[2] * x / p[1]) ** 2)
    if name == "pvoigt":
        sigma_g = p[2] / np.sqrt(2 * np.log(2))
        return p[0] * (
            (1 - p[3]) * stats.norm.pdf(x, p[1], sigma_g) + p[3] * stats.cauchy.pdf(x, p[1], p[2])
        )
    if name == "logistic":
        return p[0] * special.expit((x - p[1]) / p[2])
    raise AssertionError(name)


@pytest.mark.parametrize(
    "name",
    [
        "gaussian",
        "lorentzian",
        "voigt",
        "students_t",
        "pearson7",
        "skewed_gaussian",
        "expgaussian",
        "moffat",
        "damped_oscillator",
        "pvoigt",
        "logistic",
    ],
)
def test_values_match_independent_definitions(name):
    rng = np.random.default_rng(99)
    x = SPECS[name][1]
    for _ in range(N_DRAWS):
        params = draw(rng, name)
        want = scipy_reference(name, x, params)
        got = getattr(ls, name)(x, *params)
        assert_allclose(got, want, rtol=SCIPY_RTOL, atol=VALUE_ATOL * np.max(np.abs(want)),
                        err_msg=name)


def test_expgaussian_stays_finite_in_the_far_tail():
    # lmfit's exp(a1) * erfc(a2) gives inf * 0 = nan here; the erfcx form does not.
    x = np.array([-60.0, -40.0, 0.0, 40.0, 400.0])
    value = ls.expgaussian(x, 1.0, 0.0, 0.5, 5.0)
    assert np.all(np.isfinite(value))
    # relative even in the tail (atol only keeps 0 == 0): the exponent there is ~160, a
    # relative condition of 160, so ~1e-13; SCIPY_RTOL as for the other pdfs
    assert_allclose(value, stats.exponnorm.pdf(x, 1 / 2.5, 0.0, 0.5), rtol=SCIPY_RTOL,
                    atol=1e-300)
    assert all(np.all(np.isfinite(d)) for d in ls.expgaussian_jacobian(x, 1.0, 0.0, 0.5, 5.0))


def test_voigt_gamma_none_means_sigma():
    # gamma=None substitutes sigma before any arithmetic: the same computation, bit-identical
    x = np.linspace(-5, 5, 11)
    np.testing.assert_array_equal(ls.voigt(x, 2.0, 0.3, 0.7), ls.voigt(x, 2.0, 0.3, 0.7, 0.7))
    for got, want in zip(
        ls.voigt_jacobian(x, 2.0, 0.3, 0.7), ls.voigt_jacobian(x, 2.0, 0.3, 0.7, 0.7), strict=True
    ):
        np.testing.assert_array_equal(got, want)


def test_step_sigma_sign_gives_rising_or_falling_step():
    # 10 widths out the slowest form (atan) is 2 / (10 pi) = 0.064 from its limit: abs=0.1
    # tells a rising from a falling step; at the centre every form is exactly half (the
    # default rel=1e-6 is far above the rounding of 0.5 * amplitude)
    for form in FORMS:
        assert ls.step(10.0, 2.0, 0.0, 1.0, form=form) == pytest.approx(2.0, abs=0.1)
        assert ls.step(10.0, 2.0, 0.0, -1.0, form=form) == pytest.approx(0.0, abs=0.1)
        assert ls.step(0.0, 2.0, 0.0, 1.0, form=form) == pytest.approx(1.0)


@pytest.mark.parametrize(
    "function", [ls.step, ls.rectangle, ls.step_jacobian, ls.rectangle_jacobian]
)
def test_invalid_form_raises_parameter_error(function):
    with pytest.raises(ParameterError, match="Invalid value \\('cubic'\\) for argument 'form'"):
        function(np.zeros(3), form="cubic")
    with pytest.raises(ValueError):
        function(np.zeros(3), form="cubic")


def test_arctan_is_an_alias_of_atan():
    # an alias selects the same code: bit-identical
    x = np.linspace(-3, 3, 13)
    np.testing.assert_array_equal(ls.step(x, form="arctan"), ls.step(x, form="atan"))
    np.testing.assert_array_equal(ls.rectangle(x, form="arctan"), ls.rectangle(x, form="atan"))


# ------------------------------------------------------------------------- jacobians


@pytest.mark.parametrize(("name", "kwargs"), CASES, ids=CASE_IDS)
def test_jacobian_matches_richardson_differences(name, kwargs):
    rng = np.random.default_rng(2024)
    x = SPECS[name][1]
    function = getattr(ls, name)
    jacobian = getattr(ls, name + "_jacobian")
    for draw_index in range(N_DRAWS):
        params = draw(rng, name)
        analytic = jacobian(x, *params, **kwargs)
        assert len(analytic) == len(params)
        keep = kink_mask(name, x, params, kwargs)
        for index, derivative in enumerate(analytic):
            assert derivative.shape == x.shape
            numeric = richardson_derivative(lambda *p: function(x, *p, **kwargs), params, index)
            scale = np.max(np.abs(numeric))
            assert_allclose(
                derivative[keep],
                numeric[keep],
                rtol=DERIVATIVE_TOL,
                atol=DERIVATIVE_TOL * scale + 1e-12,  # 1e-12: columns that are exactly 0
                err_msg=f"{name} {kwargs} draw {draw_index} d/d{index} at {params}",
            )


@pytest.mark.parametrize("name", ["gaussian", "lorentzian", "linear"])
def test_value_and_jacobian_agree_with_separate_calls(name):
    rng = np.random.default_rng(5)
    x = SPECS[name][1]
    for _ in range(N_DRAWS):
        params = draw(rng, name)
        value, jacobian = getattr(ls, name + "_value_and_jacobian")(x, *params)
        # the value multiplies the same factors in another order (a few ulp, 1e-14 = 45 eps);
        # the *_jacobian functions return value_and_jacobian's derivatives (the same numbers)
        assert_allclose(value, getattr(ls, name)(x, *params), rtol=1e-14, atol=1e-300)
        for got, want in zip(jacobian, getattr(ls, name + "_jacobian")(x, *params), strict=True):
            assert_allclose(got, want, rtol=1e-14, atol=1e-300)


# ---------------------------------------------------------------------- broadcasting


def batched_call(function, x, columns, kwargs, batch_mask):
    """Call with the parameters in ``batch_mask`` as (B, 1) columns, the others scalar."""
    args = [
        col[:, None] if batched else float(col[0])
        for col, batched in zip(columns, batch_mask, strict=True)
    ]
    return function(x, *args, **kwargs)


@pytest.mark.parametrize(("name", "kwargs"), CASES, ids=CASE_IDS)
@pytest.mark.parametrize("x_rows", [False, True], ids=["x(N,)", "x(B,N)"])
def test_batched_parameters_give_rows_of_scalar_calls(name, kwargs, x_rows):
    rng = np.random.default_rng(7)
    n_batch, grid = 5, SPECS[name][1]
    n_params = len(SPECS[name][0])
    sets = [draw(rng, name) for _ in range(n_batch)]
    columns = [np.array([s[i] for s in sets]) for i in range(n_params)]
    x = grid + rng.uniform(-0.01, 0.01, (n_batch, 1)) * np.ptp(grid) if x_rows else grid
    for mask_kind in ("all", "some") if n_params > 1 else ("all",):
        if mask_kind == "all":
            batch_mask = [True] * n_params
        else:  # a mix of (B, 1) and scalar parameters; scalars use the first set's value
            batch_mask = [i % 2 == 1 for i in range(n_params)]
            for i, batched in enumerate(batch_mask):
                if not batched:
                    columns[i] = np.full(n_batch, columns[i][0])
        functions = [getattr(ls, name), getattr(ls, name + "_jacobian")]
        if name + "_value_and_jacobian" in ls.__all__:
            functions.append(getattr(ls, name + "_value_and_jacobian"))
        for function in functions:
            batch = batched_call(function, x, columns, kwargs, batch_mask)
            for row in range(n_batch):
                x_row = x[row] if x_rows else x
                single = function(x_row, *[float(c[row]) for c in columns], **kwargs)
                for got, want in zip(_flatten(batch), _flatten(single), strict=True):
                    assert got.shape == (n_batch, grid.size)
                    assert_allclose(got[row], want, rtol=BROADCAST_RTOL,
                                    atol=BROADCAST_ATOL * np.max(np.abs(want)))


def _flatten(result):
    if isinstance(result, tuple):
        return [leaf for item in result for leaf in _flatten(item)]
    return [result]


@pytest.mark.parametrize(("name", "kwargs"), CASES, ids=CASE_IDS)
def test_scalar_x_and_parameters_give_scalars(name, kwargs):
    params = draw(np.random.default_rng(3), name)
    x0 = float(SPECS[name][1][7])
    value = getattr(ls, name)(x0, *params, **kwargs)
    assert np.ndim(value) == 0
    # same formula on a 0-d and a 1-element array: rounding at most, approx's 1e-6 is ample
    assert value == pytest.approx(getattr(ls, name)(np.array([x0]), *params, **kwargs)[0])
    jacobian = getattr(ls, name + "_jacobian")(x0, *params, **kwargs)
    array_jacobian = getattr(ls, name + "_jacobian")(np.array([x0]), *params, **kwargs)
    for got, want in zip(jacobian, array_jacobian, strict=True):
        assert np.ndim(got) == 0
        assert got == pytest.approx(want[0])  # as the value above: rounding at most


def test_scalar_x_with_batched_parameters():
    value = ls.gaussian(0.5, np.array([[1.0], [2.0]]), 0.0, 1.0)
    assert value.shape == (2, 1)
    # same formula, broadcast or not: rounding only (BROADCAST_RTOL)
    assert_allclose(value[:, 0], [ls.gaussian(0.5, 1.0), ls.gaussian(0.5, 2.0)],
                    rtol=BROADCAST_RTOL)
    assert all(
        d.shape == (2, 1) for d in ls.voigt_jacobian(0.5, 1.0, 0.0, np.array([[1.0], [2.0]]))
    )


def test_integer_x_is_accepted():
    # small integers convert to float exactly, so the float calls see the same numbers;
    # x**-1 and 1/x both round once: rounding-level tolerances
    x = np.arange(-3, 4)
    assert_allclose(ls.powerlaw(np.arange(1, 4), 1.0, -1.0), 1.0 / np.arange(1, 4), rtol=1e-15)
    assert_allclose(ls.gaussian(x), ls.gaussian(x.astype(float)), rtol=BROADCAST_RTOL)
    np.testing.assert_array_equal(ls.linear_jacobian(x)[0], x)


# -------------------------------------------------------------- areas, heights, widths


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("gaussian", (2.5, 0.3, 0.7)),
        ("lorentzian", (2.5, 0.3, 0.7)),
        ("voigt", (2.5, 0.3, 0.7, 0.4)),
        ("pvoigt", (2.5, 0.3, 0.7, 0.35)),
        ("pearson7", (2.5, 0.3, 0.7, 1.7)),
        ("students_t", (2.5, 0.3, 4.0)),
        ("skewed_gaussian", (2.5, 0.3, 0.7, -2.0)),
        ("expgaussian", (2.5, 0.3, 0.7, 1.3)),
    ],
)
def test_area_equals_amplitude(name, params):
    function = getattr(ls, name)
    area, error = integrate.quad(lambda t: float(function(t, *params)), -np.inf, np.inf,
                                 limit=200)
    # quad's error estimate is <= 1.5e-8 (its default epsabs, epsrel); the heavy tails
    # (lorentzian, students_t, pearson7) make its estimate the limit: rel=1e-7 covers it
    assert error < 1e-7 * params[0]
    assert area == pytest.approx(params[0], rel=1e-7)


def test_peak_heights():
    amplitude, center, sigma = 2.5, 0.3, 0.7
    # 1/sqrt(2 pi) = 0.39894228 and 1/pi = 0.31830989 written to 7 digits: rel=1e-7 is
    # their rounding (<= 5e-8 relative); moffat's height is exactly amplitude (rel 1e-6 ample)
    assert ls.gaussian(center, amplitude, center, sigma) == pytest.approx(
        0.3989423 * amplitude / sigma, rel=1e-7
    )
    assert ls.lorentzian(center, amplitude, center, sigma) == pytest.approx(
        0.3183099 * amplitude / sigma, rel=1e-7
    )
    assert ls.moffat(center, amplitude, center, sigma, 2.3) == pytest.approx(amplitude)


@pytest.mark.parametrize(
    ("name", "extra", "fwhm_over_sigma"),
    [
        ("gaussian", (), 2.3548200),
        ("lorentzian", (), 2.0),
        ("pvoigt", (0.4,), 2.0),
        ("moffat", (2.0,), 2 * np.sqrt(2 ** (1 / 2.0) - 1)),
        ("pearson7", (1.5,), 2 * np.sqrt(2 ** (1 / 1.5) - 1)),
    ],
)
def test_full_width_at_half_maximum(name, extra, fwhm_over_sigma):
    function = getattr(ls, name)
    amplitude, center, sigma = 2.0, 0.5, 0.8
    half = 0.5 * function(center, amplitude, center, sigma, *extra)
    half_width = fwhm_over_sigma * sigma / 2
    # exact FWHMs except the gaussian's 2.3548200 (8 digits, error 2e-8 relative in x;
    # the slope there moves the value by ~2e-8 relative): rel=1e-6 bounds both
    assert function(center + half_width, amplitude, center, sigma, *extra) == pytest.approx(
        half, rel=1e-6
    )


def test_voigt_fwhm_formula():
    sigma, gamma = 0.8, 0.5
    fwhm = 1.0692 * gamma + np.sqrt(0.8664 * gamma**2 + 5.545083 * sigma**2)
    peak = ls.voigt(0.0, 1.0, 0.0, sigma, gamma)
    assert ls.voigt(fwhm / 2, 1.0, 0.0, sigma, gamma) == pytest.approx(
        peak / 2, rel=1e-3
    )  # formula: ~0.02% in FWHM


def test_step_and_rectangle_limits():
    # 1e3 widths out the slowest tail (atan, 1 / (pi u)) is 1 / (1e3 pi) = 3e-4 relative
    # (9.5e-4 absolute) from its limit, the other forms are at it to rounding; the rectangle
    # is 1e4 widths (atan: 3e-5) inside both edges, 1e7 outside
    for form in FORMS:
        assert ls.step(1e3, 3.0, 0.0, 1.0, form=form) == pytest.approx(3.0, rel=1e-3)
        assert ls.step(-1e3, 3.0, 0.0, 1.0, form=form) == pytest.approx(0.0, abs=3e-3)
        middle = ls.rectangle(0.0, 3.0, -1e4, 1.0, 1e4, 1.0, form=form)
        assert middle == pytest.approx(3.0, rel=1e-3)  # atan tails decay as 1/u
        outside = ls.rectangle(1e7, 3.0, -1e4, 1.0, 1e4, 1.0, form=form)
        assert outside == pytest.approx(0.0, abs=1e-3)


# ------------------------------------------------------------------------- registry


def test_registry_covers_every_lineshape():
    # the lineshapes of lmfit 1.3 parity are tested in test_lineshapes_extended.py
    extended = {name for name in extended_module.__all__ if not name.endswith("_jacobian")}
    expected = set(SPECS) | {"quadratic", "exponential_gaussian"} | extended
    assert set(ls.LINESHAPES) == expected
    assert ls.LINESHAPES["quadratic"] is ls.LINESHAPES["parabolic"]
    assert ls.LINESHAPES["exponential_gaussian"].function is ls.expgaussian


@pytest.mark.parametrize("name", sorted(SPECS))
def test_registry_records_match_signatures(name):
    record = ls.LINESHAPES[name]
    assert record.name == name
    assert record.function is getattr(ls, name)
    assert record.jacobian is getattr(ls, name + "_jacobian")
    assert ls.lineshape_for(record.function) is record
    signature = inspect.signature(record.function)
    jacobian_signature = inspect.signature(record.jacobian)
    assert list(signature.parameters) == list(jacobian_signature.parameters)
    params = [p for p in list(signature.parameters)[1:] if p != "form"]
    assert record.param_names == tuple(params)
    assert len(record.defaults) == len(params)
    assert len(record.jacobian(np.linspace(0.5, 1.5, 3))) == len(params)
    assert record.options == (("form",) if name in ("step", "rectangle") else ())
    has_combined = name in ("gaussian", "lorentzian", "linear")
    assert (record.value_and_jacobian is not None) == has_combined


@pytest.mark.parametrize("name", sorted(set(SPECS) - {"constant", "polynomial"}))
def test_names_and_defaults_match_lmfit(name):
    lmfit_ls = pytest.importorskip("lmfit.lineshapes")
    ours = inspect.signature(getattr(ls, name)).parameters
    theirs = inspect.signature(getattr(lmfit_ls, name)).parameters
    assert list(ours) == list(theirs)
    for key in ours:
        assert ours[key].default == theirs[key].default, (name, key)


def test_lineshape_is_frozen_and_lookup_rejects_foreign_functions():
    record = ls.LINESHAPES["gaussian"]
    with pytest.raises(AttributeError):
        record.name = "other"
    with pytest.raises(ParameterError, match="not a paramfit lineshape"):
        ls.lineshape_for(np.sin)


def test_public_surface():
    for name in ls.__all__:
        obj = getattr(ls, name)
        if callable(obj) and not isinstance(obj, type):
            assert obj.__doc__ and "Examples" in obj.__doc__, name
    public = {n for n in vars(ls) if not n.startswith("_") and callable(getattr(ls, n))}
    public -= {"annotations", "dataclass", "Callable", "ParameterError"}
    assert public <= set(ls.__all__)


# ------------------------------------------------------- one kernel per lineshape

def assert_same_bits(got, want, what):
    """Bit-for-bit equality (NaNs included), with the shape and dtype."""
    got, want = np.asarray(got), np.asarray(want)
    assert (got.shape, got.dtype) == (want.shape, want.dtype), what
    assert got.tobytes() == want.tobytes(), what


def layouts(rng, name):
    """(x, params) in the layouts the lineshapes accept: x (N,) with scalars, with (B, 1)
    columns, with a mix, x (B, N); scalar x; and parameters at and below the floors."""
    grid = SPECS[name][1]
    sets = [draw(rng, name) for _ in range(3)]
    columns = [np.array([s[i] for s in sets])[:, None] for i in range(len(sets[0]))]
    mixed = [c if i % 2 else float(c[0, 0]) for i, c in enumerate(columns)]
    yield grid, sets[0]
    yield grid, columns
    yield grid, mixed
    yield grid + rng.uniform(-0.01, 0.01, (3, 1)), columns
    yield np.array([float(grid[5])]), sets[1]
    yield grid, tuple(-v for v in sets[2])
    yield grid, (0.0,) * len(sets[2])


@pytest.mark.parametrize(("name", "kwargs"), CASES, ids=CASE_IDS)
def test_value_only_is_the_value_of_the_joint_evaluation_bit_for_bit(name, kwargs):
    # each lineshape is one kernel whose value is the same sequence of operations whichever
    # parts are asked for, so the value-only function, the value of the joint evaluation
    # and (where public) f_value_and_jacobian give the same bits; likewise the Jacobian
    record = ls.LINESHAPES[name]
    rng = np.random.default_rng(11)
    for x, params in layouts(rng, name):
        with np.errstate(all="ignore"):  # the zero and negative widths of the last layouts
            value, jacobian = record.kernel(BOTH, x, *params, **kwargs)
            assert_same_bits(record.function(x, *params, **kwargs), value, f"{name} value")
            separate = record.jacobian(x, *params, **kwargs)
            assert len(separate) == len(jacobian) == len(record.param_names)
            for k, (got, want) in enumerate(zip(separate, jacobian, strict=True)):
                assert_same_bits(got, want, f"{name} d/d{record.param_names[k]}")
            if record.value_and_jacobian is not None:
                value2, jacobian2 = record.value_and_jacobian(x, *params)
                assert_same_bits(value2, value, f"{name} value_and_jacobian value")
                for got, want in zip(jacobian2, jacobian, strict=True):
                    assert_same_bits(got, want, f"{name} value_and_jacobian derivative")
            assert record.kernel(VALUE, x, *params, **kwargs)[1] is None
            assert record.kernel(JACOBIAN, x, *params, **kwargs)[0] is None


@pytest.mark.parametrize("name", ["gaussian", "lorentzian", "linear"])
def test_value_and_jacobian_value_is_the_value_function_bit_for_bit(name):
    # the public fused functions once computed the value in another order (a few ulp off);
    # now value_and_jacobian(x, ...)[0] is exactly f(x, ...), and the derivatives exactly
    # f_jacobian(x, ...)
    rng = np.random.default_rng(12)
    x = SPECS[name][1]
    for _ in range(N_DRAWS):
        params = draw(rng, name)
        value, jacobian = getattr(ls, name + "_value_and_jacobian")(x, *params)
        assert_same_bits(value, getattr(ls, name)(x, *params), name)
        for got, want in zip(jacobian, getattr(ls, name + "_jacobian")(x, *params), strict=True):
            assert_same_bits(got, want, name)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_derived_functions_carry_the_kernel_signature_and_import_path(name):
    record = ls.LINESHAPES[name]
    kernel_parameters = list(inspect.signature(record.kernel).parameters.values())[1:]
    functions = [record.function, record.jacobian]
    if record.value_and_jacobian is not None:
        functions.append(record.value_and_jacobian)
    for function, suffix in zip(functions, ("", "_jacobian", "_value_and_jacobian")):
        assert function.__name__ == name + suffix
        assert list(inspect.signature(function).parameters.values()) == kernel_parameters
        # saved models refer to functions as module:qualname (paramfit.models.io)
        module = importlib.import_module(function.__module__)
        assert getattr(module, function.__qualname__) is function
    assert record.function.__doc__ == record.kernel.__doc__
