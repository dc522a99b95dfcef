"""Tests of paramfit.core.expressions.derivatives on the NIST StRD model formulas: the
exact Jacobians against Jacobians derived by hand here, at the certified values and at
the first starts (split from test_derivatives.py).
"""

from __future__ import annotations

import numpy as np
import pytest

from paramfit.core.expressions.compiler import (
    compile_expression,
    make_namespace,
)
from paramfit.core.expressions.derivatives import (
    differentiate,
)
from paramfit.reference.nist import load_nist
from paramfit.reference.nist_models import NIST_MODELS

#: Complex step: Im f(x + ih)/h = f'(x) - h^2 f'''(x)/6 + ..., so with h = 1e-20 the
#: truncation is far below rounding; the reference is the derivative to a few ulps of
#: numpy's complex arithmetic, ours a different formula to a few ulps (measured: at most
#: 3e-15 relative on these domains).  1e-13 leaves a factor ~30 for other math libraries.
COMPLEX_STEP_RTOL = 1e-13
#: Richardson (three levels, h = 1e-3 * max(1, |x|)): truncation ~ h^6 |f^(7)| ~ 1e-18
#: |f^(7)| (|f^(7)| <= 1e8 even for gamma 0.2 from its poles) and rounding
#: ~ 10 eps |f| / h ~ 2e-12 |f| (measured: at most 4e-13); 1e-10 relative to
#: |f'| + |f| + 1 leaves a factor 50 above the estimate.
RICHARDSON_RTOL = 1e-10


# --------------------------------------------------------------------------- NIST StRD
#: The NIST StRD model formulas, written from the data files.
NIST_FORMULAS = {
    "Misra1a": "b1*(1-exp(-b2*x))",
    "Chwirut2": "exp(-b1*x)/(b2+b3*x)",
    "Chwirut1": "exp(-b1*x)/(b2+b3*x)",
    "Lanczos3": "b1*exp(-b2*x) + b3*exp(-b4*x) + b5*exp(-b6*x)",
    "Gauss1": "b1*exp(-b2*x) + b3*exp(-(x-b4)**2 / b5**2) + b6*exp(-(x-b7)**2 / b8**2)",
    "Gauss2": "b1*exp(-b2*x) + b3*exp(-(x-b4)**2 / b5**2) + b6*exp(-(x-b7)**2 / b8**2)",
    "DanWood": "b1*x**b2",
    "Misra1b": "b1 * (1-(1+b2*x/2)**(-2))",
    "Kirby2": "(b1 + b2*x + b3*x**2) / (1 + b4*x + b5*x**2)",
    "Hahn1": "(b1+b2*x+b3*x**2+b4*x**3) / (1+b5*x+b6*x**2+b7*x**3)",
    "Nelson": "b1 - b2*x1 * exp(-b3*x2)",
    "MGH17": "b1 + b2*exp(-x*b4) + b3*exp(-x*b5)",
    "Lanczos1": "b1*exp(-b2*x) + b3*exp(-b4*x) + b5*exp(-b6*x)",
    "Lanczos2": "b1*exp(-b2*x) + b3*exp(-b4*x) + b5*exp(-b6*x)",
    "Gauss3": "b1*exp(-b2*x) + b3*exp(-(x-b4)**2 / b5**2) + b6*exp(-(x-b7)**2 / b8**2)",
    "Misra1c": "b1 * (1-(1+2*b2*x)**(-.5))",
    "Misra1d": "b1*b2*x*((1+b2*x)**(-1))",
    "Roszman1": "b1 - b2*x - arctan(b3/(x-b4))/pi",
    "ENSO": "b1 + b2*cos(2*pi*x/12) + b3*sin(2*pi*x/12) + b5*cos(2*pi*x/b4) "
            "+ b6*sin(2*pi*x/b4) + b8*cos(2*pi*x/b7) + b9*sin(2*pi*x/b7)",
    "MGH09": "b1*(x**2+x*b2) / (x**2+x*b3+b4)",
    "Thurber": "(b1 + b2*x + b3*x**2 + b4*x**3) / (1 + b5*x + b6*x**2 + b7*x**3)",
    "BoxBOD": "b1*(1-exp(-b2*x))",
    "Rat42": "b1 / (1+exp(b2-b3*x))",
    "MGH10": "b1 * exp(b2/(x+b3))",
    "Eckerle4": "(b1/b2) * exp(-0.5*((x-b3)/b2)**2)",
    "Rat43": "b1 / ((1+exp(b2-b3*x))**(1/b4))",
    "Bennett5": "b1 * (b2+x)**(-1/b3)",
}


def _rational_jacobian(b, x, numerator_degree):
    """d/db of (sum b_i x^i, i <= m) / (1 + sum b_{m+j} x^j): x^i / D and -f x^j / D."""
    powers = np.vander(x, 4, increasing=True)
    m = numerator_degree + 1
    numerator = powers[:, :m] @ b[:m]
    denominator = 1 + powers[:, 1:len(b) - m + 1] @ b[m:]
    f = numerator / denominator
    return np.column_stack([powers[:, :m] / denominator[:, None],
                            -f[:, None] * powers[:, 1:len(b) - m + 1] / denominator[:, None]])


def _exponential_jacobian(name, b, x):
    """Models built on exponentials; derived by hand, independent of the code under test."""
    if name in ("Misra1a", "BoxBOD"):
        e = np.exp(-b[1] * x)
        return [1 - e, b[0] * x * e]
    if name in ("Chwirut1", "Chwirut2"):
        denominator = b[1] + b[2] * x
        f = np.exp(-b[0] * x) / denominator
        return [-x * f, -f / denominator, -x * f / denominator]
    if name in ("Lanczos1", "Lanczos2", "Lanczos3"):
        columns = []
        for k in (0, 2, 4):
            e = np.exp(-b[k + 1] * x)
            columns += [e, -b[k] * x * e]
        return columns
    if name in ("Gauss1", "Gauss2", "Gauss3"):
        e = np.exp(-b[1] * x)
        g1 = np.exp(-((x - b[3]) ** 2) / b[4] ** 2)
        g2 = np.exp(-((x - b[6]) ** 2) / b[7] ** 2)
        columns = [e, -b[0] * x * e]
        for k, g in ((2, g1), (5, g2)):  # amplitude b3 / b6, centre b4 / b7, width b5 / b8
            u = x - b[k + 1]
            columns += [g, b[k] * g * 2 * u / b[k + 2] ** 2, b[k] * g * 2 * u**2 / b[k + 2] ** 3]
        return columns
    if name == "Nelson":
        x1, x2 = x[:, 0], x[:, 1]
        e = np.exp(-b[2] * x2)
        return [np.ones_like(x1), -x1 * e, b[1] * x1 * x2 * e]
    if name == "MGH17":
        e4, e5 = np.exp(-x * b[3]), np.exp(-x * b[4])
        return [np.ones_like(x), e4, e5, -b[1] * x * e4, -b[2] * x * e5]
    if name == "Rat42":
        u = 1 + np.exp(b[1] - b[2] * x)
        return [1 / u, -b[0] * (u - 1) / u**2, b[0] * x * (u - 1) / u**2]
    if name == "Rat43":
        u = 1 + np.exp(b[1] - b[2] * x)
        f = b[0] / u ** (1 / b[3])
        return [f / b[0], -f / (b[3] * u) * (u - 1), f / (b[3] * u) * (u - 1) * x,
                f * np.log(u) / b[3] ** 2]
    if name == "MGH10":
        f = b[0] * np.exp(b[1] / (x + b[2]))
        return [f / b[0], f / (x + b[2]), -f * b[1] / (x + b[2]) ** 2]
    if name == "Eckerle4":
        z = (x - b[2]) / b[1]
        f = b[0] / b[1] * np.exp(-0.5 * z**2)
        return [f / b[0], f * (z**2 - 1) / b[1], f * z / b[1]]
    return None


def _rational_jacobian(b, x, numerator_terms):
    """(sum_i b_i x^i) / (1 + sum_j b_{m+j} x^j): columns x^i / D and -f x^j / D."""
    m = numerator_terms
    numerator = sum(b[i] * x**i for i in range(m))
    denominator = 1 + sum(b[m + j - 1] * x**j for j in range(1, len(b) - m + 1))
    f = numerator / denominator
    return ([x**i / denominator for i in range(m)]
            + [-f * x**j / denominator for j in range(1, len(b) - m + 1)])


def _hand_jacobian(name, b, x):
    """The Jacobian of each NIST model, derived by hand."""
    exponential = _exponential_jacobian(name, b, x)
    if exponential is not None:
        columns = exponential
    elif name in ("Hahn1", "Thurber"):
        columns = _rational_jacobian(b, x, 4)
    elif name == "Kirby2":
        columns = _rational_jacobian(b, x, 3)
    elif name == "MGH09":
        numerator, denominator = x**2 + x * b[1], x**2 + x * b[2] + b[3]
        f = b[0] * numerator / denominator
        columns = [numerator / denominator, b[0] * x / denominator, -f * x / denominator,
                   -f / denominator]
    elif name == "Bennett5":
        base, exponent = b[1] + x, -1 / b[2]
        f = b[0] * base**exponent
        columns = [base**exponent, f * exponent / base, f * np.log(base) / b[2] ** 2]
    elif name == "DanWood":
        columns = [x ** b[1], b[0] * x ** b[1] * np.log(x)]
    elif name == "Misra1b":
        u = 1 + b[1] * x / 2
        columns = [1 - u**-2.0, b[0] * x * u**-3.0]
    elif name == "Misra1c":
        u = 1 + 2 * b[1] * x
        columns = [1 - u**-0.5, b[0] * x * u**-1.5]
    elif name == "Misra1d":
        u = 1 + b[1] * x
        columns = [b[1] * x / u, b[0] * x / u**2]
    elif name == "Roszman1":
        u = b[2] / (x - b[3])
        common = 1 / (np.pi * (1 + u**2))
        columns = [np.ones_like(x), -x, -common / (x - b[3]), -common * u / (x - b[3])]
    else:  # ENSO
        a = 2 * np.pi * x
        columns = [np.ones_like(x), np.cos(a / 12), np.sin(a / 12)]
        for k in (3, 6):  # period b4 (b[3]) with b5, b6; period b7 (b[6]) with b8, b9
            c, s = np.cos(a / b[k]), np.sin(a / b[k])
            columns += [a / b[k] ** 2 * (b[k + 1] * s - b[k + 2] * c), c, s]
    return np.column_stack(columns)


def _nist_namespace(compiled, problem, b):
    namespace = compiled.namespace()
    namespace.update(zip(problem.param_names, map(float, b)))
    if problem.x.ndim == 2:
        namespace.update(zip(problem.predictor_names, problem.x.T))
    else:
        namespace[problem.predictor_names[0]] = problem.x
    return namespace


@pytest.mark.parametrize("name", sorted(NIST_FORMULAS))
def test_nist_formula_jacobians(name: str) -> None:
    problem = load_nist(name)
    source = NIST_FORMULAS[name]
    compiled = differentiate(source, problem.param_names)
    assert not compiled.unavailable
    assert compiled.size < 400  # the bound MAX_DERIVATIVE_NODES documents
    for b in (np.asarray(problem.certified_values, float),
              np.asarray(problem.starts[0], float)):
        namespace = _nist_namespace(compiled, problem, b)
        value, jacobian = compiled.jacobian(namespace)
        # the value is the expression's own, bit for bit
        plain = make_namespace()
        plain.update({k: namespace[k] for k in (*problem.param_names, *problem.predictor_names)})
        np.testing.assert_array_equal(value, compile_expression(source).evaluate(plain))
        # and the hand-written model's to rounding (different order of operations)
        np.testing.assert_allclose(value, NIST_MODELS[name](b, problem.x), rtol=1e-13)
        hand = _hand_jacobian(name, b, problem.x)
        # the same derivative by different formulas: a few ulps per entry, plus the
        # cancellation of sums of terms (ENSO's period columns) relative to the column;
        # measured at most 1.6e-15, so 1e-13 leaves a factor 60
        for column in range(len(b)):
            np.testing.assert_allclose(jacobian[:, column], hand[:, column], rtol=1e-13,
                                       atol=1e-13 * np.abs(hand[:, column]).max())


def test_nist_formulas_are_the_files_formulas() -> None:
    for name, source in NIST_FORMULAS.items():
        assert source.replace(" ", "") == load_nist(name).expression.replace(" ", ""), name
