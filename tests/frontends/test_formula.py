"""The formula builder (paramfit.frontends.formula) used by nlxb, the CLI, mpfitexpr and
ExpressionModel: naming rules, errors, evaluation.

Reference values are the same formulas written directly with numpy in the test.
"""

from __future__ import annotations

import ast
import math

import numpy as np
import pytest

from paramfit.core.exceptions import (
    ExpressionError,
    ExpressionEvaluationError,
    ParamfitError,
)
from paramfit.core.parameters.parameters import Parameters
from paramfit.frontends.formula import build_formula, names_in_order
from paramfit.frontends.formula_compiled import CompiledFormula
from paramfit.frontends.formula_errors import (
    FormulaError,
    FormulaSyntaxError,
    NoParametersError,
    UnknownFunctionError,
    UnknownNameError,
)

#: The builder evaluates with the same numpy ufuncs in the same order as the reference
#: expressions below; one rounding unit of slack covers an equivalent reordering.
ULP_RTOL = 2.3e-16

X = np.linspace(0.0, 4.0, 9)


def decay(a, t, c, x=X):
    return a * np.exp(-x / t) + c


# ---------------------------------------------------------------------- naming rules
def test_inferred_parameters_in_order_of_appearance():
    f = build_formula("y ~ a*exp(-x/t) + c*a", data=["x", "y"])
    assert isinstance(f, CompiledFormula)
    assert f.param_names == ("a", "t", "c")
    assert f.data_names == ("x",) and f.response_names == ("y",)
    assert f.lhs.source == "y" and f.rhs.source == "a*exp(-x/t) + c*a"
    assert not f.lhs_reads_parameters


def test_explicit_parameters_keep_their_order_and_come_first():
    # 'x' is listed both as a parameter and as data: the parameter wins
    f = build_formula("y ~ b*x + a", parameters=["a", "b", "x"], data=["x", "y"])
    assert f.param_names == ("a", "b", "x")
    assert f.data_names == ()


def test_data_shadow_symbols_and_user_symbols_are_known():
    f = build_formula("y ~ a*e + k*pi", data=["y", "e"], symbols={"k": 2.0})
    assert f.param_names == ("a",)
    assert f.data_names == ("e",)
    namespace = f.namespace({"e": 3.0})
    assert namespace["e"] == 3.0 and namespace["k"] == 2.0


def test_without_tilde_the_default_lhs_or_none():
    assert build_formula("a*x", data=["x", "q"], default_lhs="q").response_names == ("q",)
    f = build_formula("a*x", data=["x"])
    assert f.lhs is None and f.response_names == ()


def test_lhs_none_reads_tilde_as_python_operator():
    # '~' is bitwise inversion when the text is a right-hand side alone
    f = build_formula("~a + x", data=["x"], lhs="none")
    assert f.lhs is None and f.param_names == ("a",)
    with pytest.raises(FormulaSyntaxError):
        build_formula("a*x ~ b", data=["x"], lhs="none")


def test_lhs_may_read_listed_parameters():
    f = build_formula("y - b ~ a*x", parameters=["a", "b"], data=["x", "y"])
    assert f.lhs_reads_parameters and f.unused_parameters == ()


def test_unused_parameters_and_data_are_reported():
    f = build_formula("y ~ a*x", parameters=["a", "b"], data=["x", "y", "z"])
    assert f.unused_parameters == ("b",)
    assert f.unused_data == ("z",)


def test_vector_references_name_parameters_by_index():
    f = build_formula("p[0] + p(1)*exp(-x/p[2])", parameters=["p0", "p1", "p2"],
                      data=["x"], lhs="none", vector_references=True)
    assert f.rhs.source == "p0 + p1*exp(-x/p2)"
    assert f.param_names == ("p0", "p1", "p2")
    with pytest.raises(FormulaError, match=r"mpfitexpr: expression 'p\[3\]\*x' refers to "
                                           r"p\[3\]"):
        build_formula("p[3]*x", parameters=["p0"], data=["x"], lhs="none",
                      vector_references=True, owner="mpfitexpr")


def test_tree_is_the_validated_rhs():
    f = build_formula("y ~ p[0]*x**2", parameters=["p0"], data=["x", "y"],
                      vector_references=True)
    assert isinstance(f.tree, ast.Expression)
    assert names_in_order(f.tree) == (["p0", "x"], set())
    assert isinstance(f.tree.body.right, ast.BinOp)  # x**2, not the guarded helper call
    assert isinstance(f.tree.body.right.op, ast.Pow)


# ---------------------------------------------------------------------- errors
ERRORS = [
    # (formula, options, error class, text the message must contain)
    ("y ~ a*foo(x)", {}, UnknownFunctionError, "formula 'y ~ a*foo(x)' calls unknown "
                                               "function(s) foo"),
    ("y ~ a(x)", {"parameters": ["a"]}, UnknownFunctionError, "calls unknown function(s) a"),
    ("y ~ a*x +* b", {}, FormulaSyntaxError,
     "cannot parse the formula at column 10 (marked >>>): invalid syntax: y ~ a*x +>>>* b"),
    ("y ~ a*x ~ 2", {}, FormulaSyntaxError, "a second '~': y ~ a*x >>>~ 2"),
    ("y ~ ", {}, FormulaSyntaxError, "an expression is missing here: y ~ >>>"),
    ("y ~ a*jj", {"parameters": ["a"]}, UnknownNameError,
     "formula 'y ~ a*jj' uses 'jj', which is neither a parameter (a) nor data (x, y)"),
    ("z ~ a*x", {}, UnknownNameError, "the left-hand side of formula 'z ~ a*x' uses 'z'"),
    ("y ~ x", {}, NoParametersError, "formula 'y ~ x' has no parameters to fit"),
    ("y ~ a.real*x", {}, FormulaError,
     "in formula 'y ~ a.real*x': attribute access (.) is not allowed"),
    ("__import__('os')", {"lhs": "none"}, FormulaError, "the dunder name '__import__'"),
    ("a*x", {"lhs": "required"}, FormulaError, "formula 'a*x' has no '~'"),
    (3, {}, FormulaError, "formula must be a string"),
]


@pytest.mark.parametrize(("text", "options", "error", "message"), ERRORS)
def test_errors_are_paramfit_errors_naming_the_formula(text, options, error, message):
    with pytest.raises(error) as info:
        build_formula(text, data=["x", "y"], **options)
    assert isinstance(info.value, ParamfitError) and isinstance(info.value, ExpressionError)
    assert message in str(info.value)


def test_error_details_for_front_ends():
    with pytest.raises(FormulaSyntaxError) as info:
        build_formula("y ~ a*x +* b", data=["x", "y"])
    assert info.value.offset == 9 and info.value.formula == "y ~ a*x +* b"
    with pytest.raises(UnknownNameError) as info:
        build_formula("w ~ a*v*u", parameters=["a"], data=["x"])
    assert info.value.names == ("w", "v", "u")
    with pytest.raises(FormulaError) as info:
        build_formula("y ~ 'a'*x", data=["x", "y"])
    assert info.value.reason == "a string ('a') is not allowed"


def test_bad_user_symbol_name():
    with pytest.raises(ExpressionError, match="dunder"):
        build_formula("a*x", data=["x"], symbols={"__x__": 1.0})


# ---------------------------------------------------------------------- evaluation
def test_vector_function_matches_numpy():
    f = build_formula("y ~ a*exp(-x/t) + c", data=["x", "y"])
    model = f.vector_function({"x": X})
    np.testing.assert_allclose(model([2.0, 1.5, 0.5]), decay(2.0, 1.5, 0.5), rtol=ULP_RTOL)
    np.testing.assert_allclose(model(np.array([1.0, 3.0, -1.0])), decay(1.0, 3.0, -1.0),
                               rtol=ULP_RTOL)
    with pytest.raises(ValueError):  # zip(strict=True): one value per parameter
        model([1.0, 2.0])


def test_vector_function_with_an_argument_is_mpfit_shaped():
    f = build_formula("p[0]*exp(-x/p[1])", parameters=["p0", "p1"], data=["x"], lhs="none",
                      vector_references=True)
    model = f.vector_function(argument="x")
    np.testing.assert_allclose(model(X, np.array([2.0, 1.5])), decay(2.0, 1.5, 0.0),
                               rtol=ULP_RTOL)
    np.testing.assert_allclose(model(2 * X, [2.0, 1.5]), decay(2.0, 1.5, 0.0, 2 * X),
                               rtol=ULP_RTOL)


def test_an_ndarray_of_parameters_is_read_as_python_floats():
    # math.log's result is a Python float; numpy's would be an np.float64
    value = build_formula("log(a)", lhs="none").vector_function()(np.array([2.0]))
    assert type(value) is float and value == math.log(2.0)


def test_mapping_function_copies_its_namespace():
    f = build_formula("a*exp(-x/t) + c", data=["x"], lhs="none")
    model = f.mapping_function({"x": X})
    np.testing.assert_allclose(model(a=2.0, t=1.5, c=0.5, x=2 * X),
                               decay(2.0, 1.5, 0.5, 2 * X), rtol=ULP_RTOL)
    # the override did not stick: the bound data is used again
    np.testing.assert_allclose(model(a=2.0, t=1.5, c=0.5), decay(2.0, 1.5, 0.5),
                               rtol=ULP_RTOL)


def _params(**values):
    params = Parameters()
    for name, value in values.items():
        params.add(name, value=value)
    return params


def test_residual_signs_shape_and_constant_response():
    y = decay(2.0, 1.5, 0.5) + 0.01 * np.sin(7 * X)
    f = build_formula("y ~ a*exp(-x/t) + c", data=["x", "y"])
    residual, shape = f.residual({"x": X, "y": y}, start=[1.0, 1.0, 0.0])
    assert shape == X.shape
    params = _params(a=2.0, t=1.5, c=0.5)
    # model - y nearly cancels: the slack is one rounding unit of the operands (atol)
    np.testing.assert_allclose(residual(params), decay(2.0, 1.5, 0.5) - y, rtol=ULP_RTOL,
                               atol=ULP_RTOL * np.abs(y).max())
    flipped, shape = f.residual({"x": X}, observed=y, data_minus_model=True)
    assert shape == y.shape
    np.testing.assert_array_equal(flipped(params), -residual(params))  # IEEE: a-b == -(b-a)


def test_residual_with_a_lhs_that_reads_parameters():
    y = decay(2.0, 1.5, 0.5)
    f = build_formula("y - c ~ a*exp(-x/t)", parameters=["a", "t", "c"], data=["x", "y"])
    residual, _ = f.residual({"x": X, "y": y}, start=[1.0, 1.0, 0.0])
    for c in (0.0, 0.5):  # the response follows c on every call
        params = _params(a=2.0, t=1.5, c=c)
        expected = 2.0 * np.exp(-X / 1.5) - (y - c)
        np.testing.assert_allclose(residual(params), expected, rtol=ULP_RTOL,
                                   atol=ULP_RTOL * np.abs(y).max())


def test_residual_needs_a_response():
    f = build_formula("a*x", data=["x"])
    with pytest.raises(FormulaError, match="no left-hand side"):
        f.residual({"x": X}, start=[1.0])
    with pytest.raises(FormulaError, match="needs start values"):
        build_formula("y ~ a*x", data=["x", "y"]).residual({"x": X, "y": X})


def test_checked_and_unchecked_evaluation_errors():
    f = build_formula("a*log(x)", data=["x"], lhs="none", owner="ExpressionModel")
    with pytest.raises(ExpressionEvaluationError,
                       match="evaluating expression 'a\\*log\\(x\\)' of parameter "
                             "'ExpressionModel' failed: ValueError: math domain error"):
        f.vector_function({"x": -1.0})([1.0])
    with pytest.raises(ValueError, match="math domain error") as info:
        f.vector_function({"x": -1.0}, checked=False)([1.0])
    assert not isinstance(info.value, ParamfitError)  # propagated unchanged
    with pytest.raises(ExpressionEvaluationError):
        f.evaluate(f.namespace({"x": -1.0, "a": 1.0}))
