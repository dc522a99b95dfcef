"""The lineshapes added for lmfit 1.3 parity: values against formulas written here from the
definitions (and against the real lmfit when installed), Jacobians against central
differences, lmfit's names and defaults."""

from __future__ import annotations

import inspect
import math

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.special import beta as beta_fn
from scipy.special import erf, wofz
from scipy.special import gamma as gamma_fn

import paramfit.lineshapes as ls
from paramfit.core.exceptions import ParameterError

X = np.linspace(0.35, 9.65, 41)  # avoids x = center (dho's x=0 branch tested apart)


def _voigt(x, a, c, s, g):
    z = (x - c + 1j * g) / (s * math.sqrt(2))
    return a * wofz(z).real / (s * math.sqrt(2 * math.pi))


def _pearson4(x, amplitude, center, sigma, expon, skew):
    a, c, s, m, nu = amplitude, center, sigma, expon, skew
    # normalisation from the Wikipedia definition, by the Gamma function itself
    k = abs(gamma_fn(m + 0.5j * nu) / gamma_fn(m)) ** 2 / beta_fn(m - 0.5, 0.5)
    t = (x - c) / s
    return a * k / s * (1 + t * t) ** (-m) * np.exp(-nu * np.arctan(t))


def _split(x, amplitude, center, sigma, sigma_r):
    a, c, s, r = amplitude, center, sigma, sigma_r
    d = x - c
    return 2 * a / (math.pi * (s + r)) * np.where(d < 0, s * s / (s * s + d * d),
                                                  r * r / (r * r + d * d))


def _dho(x, amplitude, center, sigma, gamma):
    a, c, s, g = amplitude, center, sigma, gamma
    lm = 1 / ((x - c) ** 2 + s * s)
    lp = 1 / ((x + c) ** 2 + s * s)
    return a * s / math.pi * (lm - lp) / (1 - np.exp(-x / g))


def _doniach(x, amplitude, center, sigma, gamma):
    a, c, s, g = amplitude, center, sigma, gamma
    t = (x - c) / s
    return a / s ** (1 - g) * np.cos(math.pi * g / 2 + (1 - g) * np.arctan(t)) \
        / (1 + t * t) ** ((1 - g) / 2)


#: name -> (parameters, independent formula of those parameters)
CASES = {
    "gaussian2d": (dict(y=X[::-1] / 2, amplitude=3.0, centerx=4.0, centery=2.5,
                        sigmax=1.3, sigmay=0.8),
                   lambda x, y, amplitude, centerx, centery, sigmax, sigmay:
                   amplitude / (2 * math.pi * sigmax * sigmay)
                   * np.exp(-(x - centerx) ** 2 / (2 * sigmax ** 2)
                            - (y - centery) ** 2 / (2 * sigmay ** 2))),
    "split_lorentzian": (dict(amplitude=2.0, center=4.1, sigma=0.7, sigma_r=1.9), _split),
    "pearson4": (dict(amplitude=2.0, center=5.0, sigma=1.2, expon=1.6, skew=0.8),
                 _pearson4),
    "breit_wigner": (dict(amplitude=1.5, center=4.9, sigma=1.1, q=0.6),
                     lambda x, amplitude, center, sigma, q:
                     amplitude * (q * sigma / 2 + x - center) ** 2
                     / ((sigma / 2) ** 2 + (x - center) ** 2)),
    "dho": (dict(amplitude=2.0, center=3.0, sigma=0.9, gamma=1.7), _dho),
    "lognormal": (dict(amplitude=2.5, center=1.1, sigma=0.6),
                  lambda x, amplitude, center, sigma:
                  amplitude / (x * sigma * math.sqrt(2 * math.pi))
                  * np.exp(-(np.log(x) - center) ** 2 / (2 * sigma ** 2))),
    "doniach": (dict(amplitude=1.8, center=5.2, sigma=0.9, gamma=0.3), _doniach),
    "skewed_voigt": (dict(amplitude=2.0, center=4.8, sigma=0.9, gamma=0.4, skew=1.3),
                     lambda x, amplitude, center, sigma, gamma, skew:
                     _voigt(x, amplitude, center, sigma, gamma)
                     * (1 + erf(skew * (x - center) / (math.sqrt(2) * sigma)))),
    "expsine": (dict(amplitude=1.7, frequency=1.3, shift=0.4, decay=0.2),
                lambda x, amplitude, frequency, shift, decay:
                amplitude * np.sin(frequency * x + shift) * np.exp(-decay * x)),
    "bose": (dict(amplitude=1.4, center=-0.5, kt=2.2),
             lambda x, amplitude, center, kt: amplitude / (np.exp((x - center) / kt) - 1)),
    "fermi": (dict(amplitude=1.4, center=4.5, kt=0.8),
              lambda x, amplitude, center, kt: amplitude / (np.exp((x - center) / kt) + 1)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_value_matches_independent_formula(name):
    # 1e-12 relative: a handful of roundings of O(1) terms; the formulas differ in order
    params, formula = CASES[name]
    assert np.allclose(getattr(ls, name)(X, **params), formula(X, **params),
                       rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("form, offset", [("bose", -1), ("maxwell", 0), ("fermi", 1),
                                          ("Bose-Einstein", -1)])
def test_thermal_distribution_forms(form, offset):
    # the TINY**2 regularisation changes the value by (TINY/D)**2 relative: nothing here
    y = ls.thermal_distribution(X, amplitude=1.3, center=2.0, kt=1.5, form=form)
    expected = 1 / (1.3 * np.exp((X - 2.0) / 1.5) + offset)
    assert np.allclose(y, expected, rtol=1e-13)


def test_thermal_distribution_unknown_form_is_a_value_error():
    with pytest.raises(ParameterError, match="Invalid value .* for argument 'form'"):
        ls.thermal_distribution(X, form="boltzmann")
    assert issubclass(ParameterError, ValueError)


def test_unit_area_peaks():
    # quad's default accuracy (1.5e-8 relative) bounds the comparison
    assert quad(lambda t: ls.split_lorentzian(t, 1.0, 0.0, 0.5, 2.0), -np.inf, np.inf)[0] \
        == pytest.approx(1.0, rel=1e-7)
    assert quad(lambda t: ls.pearson4(t, 1.0, 0.0, 1.0, 2.0, -1.5), -np.inf, np.inf)[0] \
        == pytest.approx(1.0, rel=1e-7)
    assert quad(lambda t: ls.lognormal(t, 1.0, 0.3, 0.5), 0, np.inf)[0] \
        == pytest.approx(1.0, rel=1e-7)


def test_dho_limit_at_zero():
    # the x=0 branch is the limit of the general formula: compare with x = 1e-6 (the
    # difference is O(x) relative, ~1e-6)
    a, c, s, g = 2.0, 3.0, 0.9, 1.7
    assert ls.dho(np.array([0.0]), a, c, s, g)[0] == pytest.approx(
        _dho(np.array([1e-6]), a, c, s, g)[0], rel=1e-5)


def test_not_zero_and_tiny():
    assert ls.tiny == 1e-15
    assert ls.not_zero(0) == ls.tiny and ls.not_zero(-0.0) == -ls.tiny
    assert ls.not_zero(-3) == -3.0 and isinstance(ls.not_zero(2), float)


def test_functions_lists_every_lmfit_lineshape():
    for name in ls.functions:
        assert callable(getattr(ls, name)) and callable(getattr(ls, name + "_jacobian"))


def _central(function, params, name, step):
    up, down = dict(params), dict(params)
    up[name] = params[name] + step
    down[name] = params[name] - step
    return (function(X, **up) - function(X, **down)) / (2 * step)


JACOBIAN_CASES = {**{k: v[0] for k, v in CASES.items()},
                  "thermal_distribution": dict(amplitude=1.3, center=2.0, kt=1.5,
                                               form="fermi")}


@pytest.mark.parametrize("name", sorted(JACOBIAN_CASES))
def test_jacobian_matches_central_differences(name):
    # step h = 1e-6 (relative to parameters of O(1)): truncation O(h**2 f''') ~ 1e-12,
    # rounding O(eps |f| / h) ~ 1e-10 for |f| ~ 1; tolerance 1e-7 absolute + relative
    params = JACOBIAN_CASES[name]
    function = getattr(ls, name)
    jacobian = getattr(ls, name + "_jacobian")(X, **params)
    record = ls.LINESHAPES[name]
    assert len(jacobian) == len(record.param_names)
    for par, analytic in zip(record.param_names, jacobian):
        numeric = _central(function, params, par, 1e-6)
        assert np.allclose(analytic, numeric, rtol=1e-7, atol=1e-7), par


@pytest.mark.parametrize("name", sorted(CASES))
def test_scalar_x_gives_a_float(name):
    params = {k: (v if np.ndim(v) == 0 else 1.0) for k, v in CASES[name][0].items()}
    assert isinstance(getattr(ls, name)(2.0, **params), float)


@pytest.mark.parametrize("name", sorted([*CASES, "thermal_distribution"]))
def test_agrees_with_real_lmfit(name):
    lmfit_ls = pytest.importorskip("lmfit.lineshapes")
    theirs = getattr(lmfit_ls, name)
    ours = getattr(ls, name)
    assert [(p.name, p.default) for p in inspect.signature(theirs).parameters.values()] == \
        [(p.name, p.default) for p in inspect.signature(ours).parameters.values()]
    params = JACOBIAN_CASES.get(name, {})
    # same formulas, operations in a different order: 1e-12 relative
    assert np.allclose(ours(X.copy(), **params), theirs(X.copy(), **params),
                       rtol=1e-12, atol=1e-15)
