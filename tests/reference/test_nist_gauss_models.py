"""NIST StRD Gauss1, Gauss2, Gauss3 fitted through the Model layer.

``y = b1*exp(-b2*x) + b3*exp(-(x-b4)**2/b5**2) + b6*exp(-(x-b7)**2/b8**2)`` as
``ExponentialModel + GaussianModel + GaussianModel`` whose parameters are tied to free
parameters ``b1..b8`` (NIST's ``b5`` is not a Gaussian sigma: ``sigma = b5/sqrt(2)``, and
the Gaussian amplitude is an area: ``amplitude = b3*b5*sqrt(pi)``), so the standard
errors of ``b1..b8`` are those NIST certifies.  Also a user Model with an analytic
Jacobian and an ExpressionModel (finite differences).  The starts follow ``--perturb-ulps``
(tests/_perturb.py).
"""

from __future__ import annotations

import numpy as np
import pytest
from _perturb import nudged

from paramfit.models.builtin import ExponentialModel, GaussianModel
from paramfit.models.expression import ExpressionModel
from paramfit.models.model import Model
from paramfit.reference.nist import load_nist, log_relative_error

#: Certified to 11 digits; values, standard errors and chisqr come out with >= 7.4 here
#: (measured: 8.4 through the ties, whose chain rule is exact since issue 19 -- 8.0 with
#: finite differences -- and 7.5 for the ExpressionModel, both limited by the
#: conditioning): 6 digits is the bar, as in the other NIST tests.
DIGITS = 6
PROBLEMS = ["Gauss1", "Gauss2", "Gauss3"]
TIES = {
    "e_amplitude": "b1", "e_decay": "1/b2",
    "g1_amplitude": "b3*b5*sqrt(pi)", "g1_center": "b4", "g1_sigma": "b5/sqrt(2)",
    "g2_amplitude": "b6*b8*sqrt(pi)", "g2_center": "b7", "g2_sigma": "b8/sqrt(2)",
}


def gauss_function(x, b1=1.0, b2=0.0, b3=1.0, b4=0.0, b5=1.0, b6=1.0, b7=0.0, b8=1.0):
    """NIST's Gauss model as a user function."""
    return (b1 * np.exp(-b2 * x) + b3 * np.exp(-((x - b4) ** 2) / b5**2)
            + b6 * np.exp(-((x - b7) ** 2) / b8**2))


def gauss_jacobian(x, b1=1.0, b2=0.0, b3=1.0, b4=0.0, b5=1.0, b6=1.0, b7=0.0, b8=1.0):
    e = np.exp(-b2 * x)
    g1 = np.exp(-((x - b4) ** 2) / b5**2)
    g2 = np.exp(-((x - b7) ** 2) / b8**2)
    return (e, -b1 * x * e,
            g1, b3 * g1 * 2 * (x - b4) / b5**2, b3 * g1 * 2 * (x - b4) ** 2 / b5**3,
            g2, b6 * g2 * 2 * (x - b7) / b8**2, b6 * g2 * 2 * (x - b7) ** 2 / b8**3)


def _check(problem, params) -> None:
    names = problem.param_names
    for name, value, stderr in zip(names, problem.certified_values,
                                   problem.certified_stderr):
        par = params[name]
        assert log_relative_error(par.value, value) >= DIGITS, (name, par.value, value)
        assert log_relative_error(par.stderr, stderr) >= DIGITS, (name, par.stderr, stderr)


@pytest.mark.parametrize("start", [0, 1])
@pytest.mark.parametrize("name", PROBLEMS)
def test_composite_model_with_ties(name: str, start: int) -> None:
    problem = load_nist(name)
    model = (ExponentialModel(prefix="e_") + GaussianModel(prefix="g1_")
             + GaussianModel(prefix="g2_"))
    params = model.make_params()
    for b, value in zip(problem.param_names, nudged(problem.starts[start])):
        params.add(b, value=float(value))
    for target, expr in TIES.items():
        params[target].set_bounds(None, None)
        params[target].expr = expr
    result = model.fit(problem.y, params, x=problem.x, fit_kws={"xtol": 1e-12, "ftol": 1e-12})
    assert result.success
    assert log_relative_error(result.chisqr, problem.certified_rss) >= DIGITS
    _check(problem, result.params)


@pytest.mark.parametrize("start", [0, 1])
@pytest.mark.parametrize("name", PROBLEMS)
def test_user_model_with_jacobian(name: str, start: int) -> None:
    problem = load_nist(name)
    model = Model(gauss_function, jac=gauss_jacobian)
    params = model.make_params(**dict(zip(problem.param_names,
                                          map(float, nudged(problem.starts[start])))))
    result = model.fit(problem.y, params, x=problem.x, fit_kws={"xtol": 1e-12, "ftol": 1e-12})
    assert result.success and result.nfev < 40
    _check(problem, result.params)


@pytest.mark.parametrize("name", PROBLEMS)
def test_expression_model(name: str) -> None:
    problem = load_nist(name)
    model = ExpressionModel(problem.expression)
    start = dict(zip(problem.param_names, map(float, nudged(problem.starts[1]))))
    result = model.fit(problem.y, x=problem.x, **start)
    assert result.success
    _check(problem, result.params)
