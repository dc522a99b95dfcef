"""Tests of paramfit.core.expressions.compiler: operators, functions, symbols, ordering, errors.

Every expected value comes from an independent computation in the same test: Python's
own ``eval`` with the same variables, the ``math`` module, or numpy.
"""

from __future__ import annotations

import math
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import paramfit.core.expressions.compiler as expressions
from paramfit.core.exceptions import ExpressionError, ExpressionEvaluationError
from paramfit.core.expressions.compiler import (
    DEFAULT_SYMBOLS,
    CompiledExpression,
    SymbolTable,
    compile_expression,
    evaluation_error,
    evaluation_order,
    make_namespace,
)


def evaluate(source: str, symbols: dict | None = None, **values):
    namespace = make_namespace(symbols)
    namespace.update(values)
    return compile_expression(source).evaluate(namespace)


def python_eval(source: str, **values):
    """The reference: Python's own eval of the same text with the same values."""
    return eval(source, {"__builtins__": {}}, values)  # noqa: S307


def test_public_surface():
    assert set(expressions.__all__) == {
        "MAX_EXPRESSION_LENGTH", "MAX_EXPRESSION_NODES", "MAX_EXPRESSION_DEPTH",
        "MAX_LITERAL_EXPONENT", "MAX_LITERAL_SHIFT", "DEFAULT_SYMBOLS",
        "CompiledExpression", "SymbolTable", "compile_expression", "evaluation_error",
        "evaluation_order", "make_namespace", "compile_assignments", "expression_tree",
        "at_line", "FLOAT_HELPER",
    }
    for name in expressions.__all__:
        assert hasattr(expressions, name)


# --------------------------------------------------------------------------- operators
SCALAR_OPERATOR_CASES = [
    "a + b", "a - b", "a * b", "a / b", "a // b", "a % b", "a ** b", "a ** 2", "a ** -2",
    "-a", "+a", "i & j", "i | j", "i ^ j", "i << j", "i << 3", "i >> j", "~i",
    "a and b", "a or b", "not a", "not z", "z and a", "z or b",
    "a == b", "a != b", "a > b", "a >= b", "a < b", "a <= b", "a < b < c",
    "z is None", "z is not None", "a in (1.5, 2.0)", "a not in (1.5, 2.0)", "i in (1, 6)",
    "a if a > b else b", "(a + b) * c", "a - b - c", "i ** j", "2 ** i", "(a + b) ** 2",
    "c ** 0.5", "j % 4", "1 << i", "i // j", "a * 2j",
]


@pytest.mark.parametrize("source", SCALAR_OPERATOR_CASES)
def test_operators_on_scalars_match_python(source):
    values = {"a": 1.5, "b": -2.25, "c": 4.0, "i": 6, "j": 3, "z": None}
    assert evaluate(source, **values) == python_eval(source, **values)


def test_int_powers_through_the_guard_are_floats_of_the_same_value():
    # 'i ** j' is not a literal exponent: computed as float(i) ** j
    result = evaluate("i ** j", i=6, j=3)
    assert result == 216 and type(result) is float
    # so is a literal exponent of a name (issue 20: an int symbol of 4,000 digits to the
    # 1024th must not start an unbounded integer computation)
    assert evaluate("i ** 3", i=6) == 216 and type(evaluate("i ** 3", i=6)) is float


ARRAY_OPERATOR_CASES = [
    "x + y", "x - y", "x * y", "x / y", "x // y", "x % y", "x ** 2", "x ** y", "-x", "+x",
    "abs(x) ** 0.5", "m & n", "m | n", "m ^ n", "m << n", "m >> n", "~m", "m << 2",
    "x == y", "x != y", "x > y", "x >= y", "x < y", "x <= y", "(x + 1) * y / 2",
]


# Exact comparisons in this file: the evaluator dispatches to the very numpy ufunc or
# math function (or Python operator) it is compared with, on the same inputs: the same
# computation, so bit-identical; only results reached by another route carry a tolerance.
@pytest.mark.parametrize("source", ARRAY_OPERATOR_CASES)
def test_operators_on_arrays_match_numpy(source):
    values = {
        "x": np.array([0.5, -1.5, 2.0, 3.25]),
        "y": np.array([2.0, 3.0, -0.5, 1.5]),
        "m": np.array([1, 6, 12, 255]),
        "n": np.array([0, 1, 3, 2]),
    }
    if source == "abs(x) ** 0.5":
        expected = np.abs(values["x"]) ** 0.5
    else:
        expected = python_eval(source, **values)
    np.testing.assert_array_equal(evaluate(source, **values), expected)


def test_constants():
    assert evaluate("pi") == math.pi
    assert evaluate("e") == math.e
    assert evaluate("inf") == math.inf
    assert math.isnan(evaluate("nan"))
    assert evaluate("-inf < 0 < inf") is True


# --------------------------------------------------------------------------- functions
# name: (scalar arguments, array arguments, reference on scalars, reference on arrays)
POS = np.array([0.25, 0.5, 0.75])
BIG = np.array([1.5, 2.0, 7.25])
ANY = np.array([-2.5, 0.0, 3.75])
FUNCTION_CASES = {
    "abs": ((-2.5,), (ANY,), abs, np.abs),
    "acos": ((0.3,), (POS,), math.acos, np.arccos),
    "acosh": ((2.5,), (BIG,), math.acosh, np.arccosh),
    "asin": ((0.3,), (POS,), math.asin, np.arcsin),
    "asinh": ((-2.5,), (ANY,), math.asinh, np.arcsinh),
    "atan": ((-2.5,), (ANY,), math.atan, np.arctan),
    "atan2": ((1.0, -2.0), (ANY, BIG), math.atan2, np.arctan2),
    "atanh": ((0.3,), (POS,), math.atanh, np.arctanh),
    "ceil": ((-2.5,), (ANY,), math.ceil, np.ceil),
    "copysign": ((3.0, -0.0), (BIG, ANY), math.copysign, np.copysign),
    "cos": ((-2.5,), (ANY,), math.cos, np.cos),
    "cosh": ((-2.5,), (ANY,), math.cosh, np.cosh),
    "degrees": ((-2.5,), (ANY,), math.degrees, np.degrees),
    "exp": ((-2.5,), (ANY,), math.exp, np.exp),
    "fabs": ((-2,), (ANY,), math.fabs, np.fabs),
    "floor": ((-2.5,), (ANY,), math.floor, np.floor),
    "fmod": ((-7.5, 2.0), (ANY, BIG), math.fmod, np.fmod),
    "hypot": ((3.0, 4.0), (ANY, BIG), math.hypot, np.hypot),
    "isinf": ((math.inf,), (np.array([1.0, np.inf]),), math.isinf, np.isinf),
    "isnan": ((math.nan,), (np.array([1.0, np.nan]),), math.isnan, np.isnan),
    "ldexp": ((1.5, 3), (BIG, np.array([1, 2, 3])), math.ldexp, np.ldexp),
    "log": ((2.5,), (BIG,), math.log, np.log),
    "log10": ((2.5,), (BIG,), math.log10, np.log10),
    "log1p": ((1e-10,), (POS,), math.log1p, np.log1p),
    "pow": ((2.0, 0.5), (BIG, ANY), math.pow, np.power),
    "radians": ((-2.5,), (ANY,), math.radians, np.radians),
    "sin": ((-2.5,), (ANY,), math.sin, np.sin),
    "sinh": ((-2.5,), (ANY,), math.sinh, np.sinh),
    "sqrt": ((2.5,), (BIG,), math.sqrt, np.sqrt),
    "tan": ((-2.5,), (ANY,), math.tan, np.tan),
    "tanh": ((-2.5,), (ANY,), math.tanh, np.tanh),
    "trunc": ((-2.5,), (ANY,), math.trunc, np.trunc),
    "erf": ((0.7,), (ANY,), math.erf, None),
    "erfc": ((0.7,), (ANY,), math.erfc, None),
}


def _call(name: str, arguments: tuple):
    names = [f"v{k}" for k in range(len(arguments))]
    return evaluate(f"{name}({', '.join(names)})", **dict(zip(names, arguments, strict=True)))


@pytest.mark.parametrize("name", sorted(FUNCTION_CASES))
def test_function_on_scalars_matches_math(name):
    scalar_args, _, scalar_ref, _ = FUNCTION_CASES[name]
    result = _call(name, scalar_args)
    expected = scalar_ref(*scalar_args)
    assert result == expected and type(result) is type(expected)


@pytest.mark.parametrize("name", sorted(FUNCTION_CASES))
def test_function_on_arrays_matches_numpy(name):
    _, array_args, scalar_ref, array_ref = FUNCTION_CASES[name]
    result = _call(name, array_args)
    assert isinstance(result, np.ndarray)
    if array_ref is None:  # no numpy ufunc: compare elementwise with math
        expected = np.array([scalar_ref(v) for v in array_args[0]])
        # an array implementation against libm's scalar one: a few ulp (45 eps)
        np.testing.assert_allclose(result, expected, rtol=1e-14, atol=1e-300)
    else:
        np.testing.assert_array_equal(result, array_ref(*array_args))


def test_two_argument_log_and_base():
    assert evaluate("log(8.0, 2.0)") == math.log(8.0, 2.0)  # the same call: exact
    # log(x) / log(2) (three roundings, plus the ulp errors of numpy's SIMD log loops)
    # against log2: a few ulp, 1e-14 = 45 eps
    np.testing.assert_allclose(evaluate("log(x, 2)", x=BIG), np.log2(BIG), rtol=1e-14)


def test_frexp_modf_return_pairs_like_math_and_numpy():
    assert evaluate("frexp(x)", x=12.5) == math.frexp(12.5)
    assert evaluate("modf(x)", x=-3.25) == math.modf(-3.25)
    mantissa, exponent = evaluate("frexp(x)", x=BIG)
    np.testing.assert_array_equal(mantissa, np.frexp(BIG)[0])
    np.testing.assert_array_equal(exponent, np.frexp(BIG)[1])
    fraction, whole = evaluate("modf(x)", x=ANY)
    np.testing.assert_array_equal(fraction, np.modf(ANY)[0])
    np.testing.assert_array_equal(whole, np.modf(ANY)[1])


def test_fsum_of_arguments_and_of_an_array():
    values = [0.1] * 10
    assert evaluate("fsum(x)", x=np.array(values)) == math.fsum(values)
    assert evaluate("fsum(a, b, c)", a=1e100, b=1.0, c=-1e100) == math.fsum([1e100, 1.0, -1e100])


def test_factorial_scalars_and_arrays():
    assert evaluate("factorial(n)", n=10) == math.factorial(10)
    assert evaluate("factorial(170)") == math.factorial(170)
    assert evaluate("factorial(n)", n=5.0) == 120
    np.testing.assert_array_equal(
        evaluate("factorial(n)", n=np.array([0, 3, 20])),
        np.array([1.0, 6.0, float(math.factorial(20))]),
    )


def test_max_min_scalars_follow_python():
    for source in ["max(a, b)", "min(a, b)", "max(a, b, c)", "min(a, b, c)",
                   "max(b, a)", "min(b, a)", "max(i, a)"]:
        values = {"a": 2.5, "b": -1.0, "c": 7.0, "i": 3}
        assert evaluate(source, **values) == python_eval(
            source, max=max, min=min, **values
        )
    # first maximal element wins, as with the builtin, including NaN
    assert math.isnan(evaluate("max(nan, 1.0)")) and evaluate("max(1.0, nan)") == 1.0
    assert evaluate("max(a, b)", a=1, b=1.0) is max(1, 1.0)


def test_max_min_arrays_reduce_or_elementwise():
    assert evaluate("max(x)", x=ANY) == np.max(ANY)
    assert evaluate("min(x)", x=ANY) == np.min(ANY)
    np.testing.assert_array_equal(evaluate("max(x, 0.001)", x=ANY), np.maximum(ANY, 0.001))
    np.testing.assert_array_equal(evaluate("min(x, y, 1.0)", x=ANY, y=BIG),
                                  np.minimum(np.minimum(ANY, BIG), 1.0))


def test_aliases_sign_and_gamma():
    for alias, name in [("arccos", "acos"), ("arcsin", "asin"), ("arctan", "atan"),
                        ("arctan2", "atan2"), ("arcsinh", "asinh"), ("arccosh", "acosh"),
                        ("arctanh", "atanh")]:
        assert DEFAULT_SYMBOLS[alias] is DEFAULT_SYMBOLS[name]
    assert evaluate("arctan2(1.0, -2.0)") == math.atan2(1.0, -2.0)
    assert [evaluate("sign(x)", x=v) for v in (-2.5, 0.0, 3.0)] == [-1.0, 0.0, 1.0]
    assert math.isnan(evaluate("sign(nan)"))
    np.testing.assert_array_equal(evaluate("sign(x)", x=ANY), np.sign(ANY))
    assert evaluate("gamma(4.5)") == math.gamma(4.5)


def test_scalar_domain_errors_raise_like_math():
    with pytest.raises(ValueError):
        evaluate("log(-1)")
    with pytest.raises(ValueError):
        evaluate("sqrt(x)", x=-1.0)
    with pytest.raises(OverflowError):
        evaluate("exp(1000)")


# --------------------------------------------------------------------------- seed examples
def test_seed_000_examples():
    values = {"amp_1": 0.5, "cen_1": 2.2, "wid_1": 0.2, "wid_2": 0.35,
              "param_a": 1.0, "param_b": 2.0, "frac_curve1": 0.3}
    assert evaluate("(2.0 - amp_1**2)", **values) == 2.0 - 0.5**2
    assert evaluate("cen_1 * wid_2 / max(wid_1, 0.001)", **values) == 2.2 * 0.35 / 0.2
    assert evaluate("cen_1 * wid_2 / max(wid_1, 0.001)", **{**values, "wid_1": 0.0}) == (
        2.2 * 0.35 / 0.001
    )
    assert evaluate("sqrt(pi)*wid_1", **values) == math.sqrt(math.pi) * 0.2
    source = "param_a if test_val/2. > 100 else param_b"
    assert evaluate(source, test_val=300.0, **values) == 1.0
    assert evaluate(source, test_val=100.0, **values) == 2.0
    assert evaluate("1-frac_curve1", **values) == 1 - 0.3


def test_names_and_caching():
    expression = compile_expression("cen_1 * wid_2 / max(wid_1, 0.001)")
    assert expression.names == frozenset({"cen_1", "wid_2", "max", "wid_1"})
    assert compile_expression("cen_1 * wid_2 / max(wid_1, 0.001)") is expression
    assert compile_expression("a ** b").names == frozenset({"a", "b"})  # no helper names
    assert isinstance(expression, CompiledExpression)
    assert expression.source == "cen_1 * wid_2 / max(wid_1, 0.001)"
    assert repr(expression) == "CompiledExpression('cen_1 * wid_2 / max(wid_1, 0.001)')"
    namespace = make_namespace()
    namespace.update(cen_1=2.0, wid_2=3.0, wid_1=4.0)
    assert expression.evaluate(namespace) == eval(expression.code, namespace) == 1.5  # noqa: S307


def test_compiled_expression_is_immutable():
    expression = compile_expression("a + 1")
    with pytest.raises(AttributeError):
        expression.source = "a + 2"
    with pytest.raises(AttributeError):
        del expression.code


def test_whitespace_and_line_breaks_inside_parentheses():
    assert evaluate("  a + 1  ", a=1.0) == 2.0
    assert evaluate("(a +\n 1)", a=1.0) == 2.0


def test_pickle_round_trip_uses_source():
    expression = compile_expression("sqrt(pi)*wid_1")
    data = pickle.dumps(expression)
    assert b"sqrt(pi)*wid_1" in data
    restored = pickle.loads(data)
    assert restored == expression and restored.code == expression.code
    namespace = make_namespace()
    namespace["wid_1"] = 0.2
    assert restored.evaluate(namespace) == math.sqrt(math.pi) * 0.2


# --------------------------------------------------------------------------- symbols
def lorentzian(x, amp, cen, wid):
    """lorentzian function: wid = half-width at half-max (seed 000 §5.3)."""
    return amp / (1 + ((x - cen) / wid) ** 2)


def test_symbol_table_user_function_and_constant():
    table = SymbolTable()
    table["lorentzian"] = lorentzian
    table["scale"] = 2.5
    namespace = make_namespace(table)
    namespace.update(amp=3.0, cen=1.0, wid=0.5)
    value = compile_expression("scale * lorentzian(1.25, amp, cen, wid)").evaluate(namespace)
    assert value == 2.5 * lorentzian(1.25, 3.0, 1.0, 0.5)
    assert table.user_symbols() == {"lorentzian": lorentzian, "scale": 2.5}


def test_symbol_table_layers_over_defaults():
    table = SymbolTable({"k": 1.0})
    assert table["sqrt"] is DEFAULT_SYMBOLS["sqrt"] and "sqrt" in table and "k" in table
    assert len(table) == len(DEFAULT_SYMBOLS) + 1
    assert list(table)[-1] == "k"
    table["pi"] = 3.0  # shadow a default
    assert table["pi"] == 3.0 and make_namespace(table)["pi"] == 3.0
    del table["pi"]  # uncovers the default
    assert table["pi"] == math.pi
    with pytest.raises(KeyError, match="built-in"):
        del table["sqrt"]
    with pytest.raises(KeyError):
        del table["nothing"]
    with pytest.raises(KeyError):
        table["nothing"]


@pytest.mark.parametrize("name", ["1a", "a b", "lambda", "__import__", "__builtins__", "", 3])
def test_symbol_table_rejects_bad_names(name):
    with pytest.raises(ExpressionError):
        SymbolTable()[name] = 1.0
    with pytest.raises(ExpressionError):
        make_namespace({name: 1.0})


# --------------------------------------------------------------------------- ordering
def _compiled(**sources):
    return {name: compile_expression(source) for name, source in sources.items()}


def test_evaluation_order_chain():
    expressions_ = _compiled(d="c + 1", c="b * 2", b="a - 1")
    assert evaluation_order(expressions_, known_names={"a"}) == ["b", "c", "d"]


def test_evaluation_order_diamond_and_independents():
    expressions_ = _compiled(top="left + right", left="base * 2", right="base / 2",
                             base="x + 1", lone="sqrt(x)")
    order = evaluation_order(expressions_, known_names={"x"})
    assert order == ["base", "left", "right", "top", "lone"]
    for name, compiled in expressions_.items():
        for dependency in compiled.names & expressions_.keys():
            assert order.index(dependency) < order.index(name)


def test_evaluation_order_cycle_is_named():
    with pytest.raises(ExpressionError, match=r"a -> b -> c -> a"):
        evaluation_order(_compiled(a="b + 1", b="c * 2", c="a - x"), known_names={"x"})
    with pytest.raises(ExpressionError, match=r"a -> a"):
        evaluation_order(_compiled(a="a + 1"), known_names=())


def test_evaluation_order_unknown_name_is_named():
    with pytest.raises(ExpressionError) as info:
        evaluation_order(_compiled(amp_2="2.0 - amp_3**2"), known_names={"amp_1"})
    message = str(info.value)
    assert "'amp_3'" in message and "'amp_2'" in message and "'2.0 - amp_3**2'" in message


def test_evaluation_order_is_deterministic_across_hash_seeds():
    program = (
        "from paramfit.core.expressions.compiler import compile_expression as c,"
        " evaluation_order as o\n"
        "e = {n: c(s) for n, s in [('z', 'y1 + y2 + y3 + x'), ('y3', 'x'), ('y1', 'x'),"
        " ('y2', 'y1 + x'), ('w', 'z')]}\n"
        "print(o(e, {'x'}))\n"
    )
    outputs = set()
    for seed in ("0", "1", "12345"):
        result = subprocess.run([sys.executable, "-c", program], capture_output=True,
                                text=True, env={**os.environ, "PYTHONHASHSEED": seed},
                                timeout=120, check=True)
        outputs.add(result.stdout)
    assert outputs == {"['y3', 'y1', 'y2', 'z', 'w']\n"}  # dependencies in insertion order


# --------------------------------------------------------------------------- errors
def test_evaluation_errors_name_parameter_and_expression():
    namespace = make_namespace()
    namespace["x"] = 0.0
    with pytest.raises(ExpressionEvaluationError, match=r"'log\(-1\)' of parameter 'amp'"):
        compile_expression("log(-1)").evaluate_checked(namespace, "amp")
    with pytest.raises(ExpressionEvaluationError) as info:
        compile_expression("1/x").evaluate_checked(namespace, owner="cen")
    assert "'1/x'" in str(info.value) and "'cen'" in str(info.value)
    assert isinstance(info.value.__cause__, ZeroDivisionError)
    with pytest.raises(ExpressionEvaluationError, match="'nothere'"):
        compile_expression("nothere + 1").evaluate_checked(namespace, "c")


def test_bare_evaluate_does_not_wrap_and_helper_builds_message():
    expression = compile_expression("1/x")
    namespace = make_namespace()
    namespace["x"] = 0
    with pytest.raises(ZeroDivisionError) as info:
        expression.evaluate(namespace)
    error = evaluation_error(expression, "b", info.value)
    assert isinstance(error, ExpressionEvaluationError) and isinstance(error, ArithmeticError)
    assert str(error) == (
        "evaluating expression '1/x' of parameter 'b' failed: "
        "ZeroDivisionError: division by zero"
    )


def test_compile_errors_quote_expression_and_owner():
    with pytest.raises(ExpressionError) as info:
        compile_expression("x.__class__", owner="a")
    assert str(info.value).startswith(
        "attribute access (.) is not allowed in expression 'x.__class__' of parameter 'a'"
    )
    with pytest.raises(ExpressionError, match=r"invalid syntax in expression 'a \+' of"):
        compile_expression("a +", owner="p")
    with pytest.raises(ExpressionError, match="must be a string"):
        compile_expression(3.0, owner="p")


# --------------------------------------------------------------------------- property test
NAMES = ("p", "q", "r")
NONZERO = st.floats(allow_nan=False, allow_infinity=False).filter(lambda v: v != 0)
NUMBERS = st.one_of(st.integers(-1000, 1000).map(str),
                    NONZERO.map(repr), st.sampled_from(["0.5", "1e-3", "2.0"]))


def _expressions():
    leaves = st.one_of(NUMBERS, st.sampled_from(NAMES))
    denominators = st.one_of(st.sampled_from(NAMES),
                             NONZERO.map(lambda v: f"({v!r})"), st.sampled_from(["3", "7"]))

    def extend(inner):
        return st.one_of(
            st.tuples(inner, st.sampled_from(["+", "-", "*"]), inner).map(
                lambda t: f"({t[0]} {t[1]} {t[2]})"),
            st.tuples(inner, denominators).map(lambda t: f"({t[0]} / {t[1]})"),
            inner.map(lambda s: f"(-{s})"),
            st.tuples(inner, st.sampled_from(["<", "<=", ">", ">=", "==", "!="]), inner).map(
                lambda t: f"({t[0]} {t[1]} {t[2]})"),
            st.tuples(inner, inner, inner).map(lambda t: f"({t[0]} if {t[1]} else {t[2]})"),
        )

    return st.recursive(leaves, extend, max_leaves=25)


def _same(left, right) -> bool:
    if isinstance(left, float) and isinstance(right, float) and left != left:
        return right != right
    return type(left) is type(right) and left == right


@settings(max_examples=300, deadline=None)
@given(source=_expressions(), values=st.tuples(NONZERO, NONZERO, NONZERO))
def test_random_arithmetic_matches_python_eval(source, values):
    bound = dict(zip(NAMES, values, strict=True))
    try:
        expected = python_eval(source, **bound)
    except (ArithmeticError, ValueError) as exc:  # e.g. int/float overflow: same error
        with pytest.raises(type(exc)):
            evaluate(source, **bound)
        return
    # the evaluator applies the same Python operators to the same numbers: exact
    assert _same(evaluate(source, **bound), expected)
