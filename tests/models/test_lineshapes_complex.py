"""Lineshapes at complex x (lmfit's accept it: a fit of complex data, ``eval_uncertainty``
at a complex point): values as lmfit's, analytic Jacobians as central differences of the
values, and real x still real.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from scipy import special, stats

import paramfit.models.lineshapes as L
from paramfit.models.builtin import GaussianModel, LinearModel

X_COMPLEX = np.linspace(0.2, 20.0, 60) + 0.3j

#: Same closed forms evaluated in a different order: rounding (~1e-15 relative); the far
#: tails (values ~1e-100 and below) by an absolute floor far below every value that counts.
LMFIT_RTOL, LMFIT_ATOL = 1e-9, 1e-14
#: Central differences, h = 1e-6 max(|p|, 1): rounding eps |f| / h ~ 1e-10, truncation
#: h**2 |f'''| ~ 1e-12; 1e-5 relative (1e-7 of the column's scale absolute) leaves a
#: margin, and a wrong derivative is off by O(1).
DERIVATIVE_RTOL, DERIVATIVE_ATOL = 1e-5, 1e-7


def numeric_defaults(name: str) -> dict[str, float]:
    """The lineshape's numeric parameters in signature order, at their defaults, moved to
    the middle of X_COMPLEX (center 7, sigma >= 1.3; gamma 0.7 where it defaults to None)."""
    sig = inspect.signature(L.LINESHAPES[name].function)
    values = {}
    for pname, par in list(sig.parameters.items())[1:]:
        default = par.default
        if pname == "gamma" and default is None:
            default = 0.7
        if isinstance(default, (int, float)) and not isinstance(default, bool):
            values[pname] = float(default)
    if "center" in values:
        values["center"] = 7.0
    if "sigma" in values:
        values["sigma"] = max(values["sigma"], 1.3)
    return values


SHAPES = sorted(name for name in L.LINESHAPES if hasattr(L, name + "_jacobian"))


@pytest.mark.parametrize("name", SHAPES)
def test_complex_x_value_as_lmfit(name: str) -> None:
    lineshapes = pytest.importorskip("lmfit.lineshapes")
    reference = getattr(lineshapes, name, None)
    if reference is None:
        pytest.skip(f"lmfit has no lineshape {name}")
    values = numeric_defaults(name)
    ours = L.LINESHAPES[name].function(X_COMPLEX, **values)
    theirs = reference(X_COMPLEX.copy(), **values)   # lmfit's lognormal writes into x
    np.testing.assert_allclose(ours, theirs, rtol=LMFIT_RTOL, atol=LMFIT_ATOL)


@pytest.mark.parametrize("name", SHAPES)
def test_complex_x_jacobian_matches_central_differences(name: str) -> None:
    function = L.LINESHAPES[name].function
    jacobian = getattr(L, name + "_jacobian")
    values = numeric_defaults(name)
    columns = jacobian(X_COMPLEX, **values)
    for column, (pname, value) in zip(columns, values.items()):
        h = 1e-6 * max(abs(value), 1.0)
        numeric = (function(X_COMPLEX, **{**values, pname: value + h})
                   - function(X_COMPLEX, **{**values, pname: value - h})) / (2 * h)
        scale = max(float(np.max(np.abs(numeric))), 1.0)
        np.testing.assert_allclose(column, numeric, rtol=DERIVATIVE_RTOL,
                                   atol=DERIVATIVE_ATOL * scale, err_msg=f"{name}: d/d{pname}")


@pytest.mark.parametrize("name", SHAPES)
def test_real_x_stays_real(name: str) -> None:
    values = numeric_defaults(name)
    x = X_COMPLEX.real
    assert np.asarray(L.LINESHAPES[name].function(x, **values)).dtype == np.float64
    for column in getattr(L, name + "_jacobian")(x, **values):
        assert np.asarray(column).dtype == np.float64, name


def test_fit_of_complex_data_at_complex_x() -> None:
    # data and x with zero imaginary parts: the fit is the real fit (same chi-square to
    # rounding of the same iterations: 1e-12)
    x = np.linspace(0, 20, 201)
    y = GaussianModel().eval(x=x, amplitude=10, center=9, sigma=1.2) + 0.05 * np.cos(3 * x)
    model = GaussianModel()
    start = model.make_params(amplitude=5, center=10, sigma=2)
    real = model.fit(y, start, x=x)
    complex_fit = model.fit(y.astype(complex), start, x=x.astype(complex))
    assert complex_fit.success and real.success
    assert complex_fit.chisqr == pytest.approx(real.chisqr, rel=1e-12)
    for name in ("amplitude", "center", "sigma"):
        assert complex_fit.params[name].value == pytest.approx(real.params[name].value,
                                                               rel=1e-9)


def test_eval_uncertainty_at_a_complex_point() -> None:
    # the delta method by hand, lmfit's rule for complex values: the variances of the
    # real and imaginary parts, dely = t sqrt(Jr C Jr + i Ji C Ji), Jr = Re(x0, 1),
    # Ji = Im(x0, 1) (d/dslope, d/dintercept), C the fit's covariance, t Student's
    # quantile of the 1-sigma probability for nfree = 1 (lmfit's scaling)
    result = LinearModel().fit([1.0, 2.0, 4.0], x=[1.0, 2.0, 3.0])
    quantile = stats.t.ppf((1 + special.erf(1 / np.sqrt(2))) / 2, result.nfree)
    names = ["slope", "intercept"]
    cov = np.array([[result.covar[result.var_names.index(a), result.var_names.index(b)]
                     for b in names] for a in names])
    for x0 in (1.2, 1.2j, 0.5 + 2.0j):
        jac = np.array([x0, 1.0])
        expected = quantile * np.sqrt(jac.real @ cov @ jac.real
                                      + 1j * (jac.imag @ cov @ jac.imag))
        if isinstance(x0, float):
            expected = expected.real
        # the same sums of three products (the gradient of a line by central differences
        # is exact to rounding): 1e-10
        np.testing.assert_allclose(result.eval_uncertainty(x=np.array(x0)), expected,
                                   rtol=1e-10)
