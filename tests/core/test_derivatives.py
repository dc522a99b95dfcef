"""Tests of paramfit.core.expressions.derivatives: exact derivatives of expressions.

Every derivative is checked against an independent numerical derivative of the
*original* expression (evaluated by the expression compiler, not by the derivative
code): the complex step ``Im f(x + ih) / h`` where the function is analytic and takes
complex arguments (exact to rounding for ``h = 1e-20``), otherwise Richardson-extrapolated
central differences (error O(h^6)).  The NIST StRD formulas are checked against
hand-derived Jacobians in test_derivatives_nist.py.
"""

from __future__ import annotations

import ast
import dis
import math
import pickle
import random
import re
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

from paramfit.core.exceptions import ExpressionError, ExpressionEvaluationError
from paramfit.core.expressions.compiler import (
    MAX_EXPRESSION_NODES,
    SymbolTable,
    compile_assignments,
    compile_expression,
    expression_tree,
    make_namespace,
)
from paramfit.core.expressions.derivatives import (
    NON_DIFFERENTIABLE_FUNCTIONS,
    Differentiable,
    derivative_namespace,
    derivative_tree,
    differentiable_functions,
    differentiate,
    differentiate_assignments,
    install_derivative_helpers,
)
from paramfit.core.expressions.functions import FUNCTIONS
from paramfit.reference.nist import load_nist

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


def evaluate(source: str, point: dict, symbols=None):
    namespace = make_namespace(symbols)
    namespace.update(point)
    return compile_expression(source).evaluate(namespace)


def complex_step(source: str, point: dict, name: str, symbols=None) -> float:
    step = 1e-20
    shifted = dict(point)
    shifted[name] = point[name] + 1j * step
    return np.imag(evaluate(source, shifted, symbols)) / step


def richardson(source: str, point: dict, name: str, symbols=None) -> float:
    h = 1e-3 * max(1.0, abs(point[name]))

    def central(s):
        up, down = dict(point), dict(point)
        up[name] += s
        down[name] -= s
        return (evaluate(source, up, symbols) - evaluate(source, down, symbols)) / (2 * s)

    d1, d2, d3 = central(h), central(h / 2), central(h / 4)
    r1, r2 = (4 * d2 - d1) / 3, (4 * d3 - d2) / 3
    return (16 * r2 - r1) / 15


def partials(source: str, variables, point: dict, symbols=None):
    compiled = differentiate(source, variables, symbols=symbols)
    namespace = compiled.namespace()
    namespace.update(point)
    return compiled.evaluate(namespace)


# --------------------------------------------------------------------------- functions
# (source, domain of each variable, method, where the point is valid: away from kinks)
def _away(distance, *kinks):
    return lambda p: all(abs(k(p)) > distance for k in kinks)


def _frac_away(function):
    return lambda p: 0.1 < function(p) % 1 < 0.9


POS = (0.2, 5.0)
SYM = (-3.0, 3.0)
UNIT = (-0.9, 0.9)
CS, RI = "complex step", "richardson"
FUNCTION_CASES = [
    ("exp(a)", {"a": SYM}, CS, None),
    ("log(a)", {"a": POS}, CS, None),
    ("log(a, b)", {"a": POS, "b": (1.5, 10.0)}, CS, None),
    ("log(a, base=b)", {"a": POS, "b": (1.5, 10.0)}, CS, None),
    ("log10(a)", {"a": POS}, CS, None),
    ("log1p(a)", {"a": (-0.8, 5.0)}, CS, None),
    ("sqrt(a)", {"a": POS}, CS, None),
    ("sin(a)", {"a": SYM}, CS, None),
    ("cos(a)", {"a": SYM}, CS, None),
    ("tan(a)", {"a": (-1.2, 1.2)}, CS, None),
    ("asin(a)", {"a": UNIT}, CS, None),
    ("acos(a)", {"a": UNIT}, CS, None),
    ("atan(a)", {"a": SYM}, CS, None),
    ("sinh(a)", {"a": SYM}, CS, None),
    ("cosh(a)", {"a": SYM}, CS, None),
    ("tanh(a)", {"a": SYM}, CS, None),
    ("asinh(a)", {"a": SYM}, CS, None),
    ("acosh(a)", {"a": (1.1, 10.0)}, CS, None),
    ("atanh(a)", {"a": UNIT}, CS, None),
    ("arcsin(a) + arccos(a) * arctan(a)", {"a": UNIT}, CS, None),
    ("arcsinh(a) * arctanh(a) + arccosh(a + 2)", {"a": UNIT}, CS, None),
    ("erf(a)", {"a": SYM}, CS, None),
    ("erfc(a)", {"a": SYM}, CS, None),
    ("gamma(a)", {"a": POS}, CS, None),
    ("gamma(a)", {"a": (-2.8, -2.2)}, RI, None),  # scipy's complex gamma is inexact there
    ("pow(a, b)", {"a": POS, "b": SYM}, CS, None),
    ("power(a, b)", {"a": POS, "b": SYM}, CS, None),
    ("atan2(a, b)", {"a": SYM, "b": SYM}, RI, _away(0.3, lambda p: p["b"])),
    ("arctan2(a, b)", {"a": SYM, "b": SYM}, RI, _away(0.3, lambda p: p["a"])),
    ("hypot(a, b)", {"a": SYM, "b": SYM}, RI, _away(0.2, lambda p: p["a"])),
    ("hypot(a, b, a * b)", {"a": SYM, "b": SYM}, RI, _away(0.2, lambda p: p["a"])),
    ("degrees(a)", {"a": SYM}, RI, None),
    ("radians(a)", {"a": SYM}, RI, None),
    ("abs(a) * b", {"a": SYM, "b": SYM}, RI, _away(0.1, lambda p: p["a"])),
    ("fabs(a * b)", {"a": SYM, "b": SYM}, RI, _away(0.1, lambda p: p["a"] * p["b"])),
    ("sign(a) * b", {"a": SYM, "b": SYM}, RI, _away(0.1, lambda p: p["a"])),
    ("floor(a) * b", {"a": SYM, "b": SYM}, RI, _frac_away(lambda p: p["a"])),
    ("ceil(a) * b", {"a": SYM, "b": SYM}, RI, _frac_away(lambda p: p["a"])),
    ("trunc(a) * b", {"a": SYM, "b": SYM}, RI, _frac_away(lambda p: p["a"])),
    ("copysign(a, b)", {"a": SYM, "b": SYM}, RI, _away(0.1, lambda p: p["a"], lambda p: p["b"])),
    ("fmod(a, b)", {"a": SYM, "b": (0.5, 2.0)}, RI, _frac_away(lambda p: abs(p["a"] / p["b"]))),
    ("ldexp(a, 3)", {"a": SYM}, RI, None),
    ("fsum(a, b, a * b)", {"a": SYM, "b": SYM}, RI, None),
    ("max(a, b)", {"a": SYM, "b": SYM}, RI, _away(0.1, lambda p: p["a"] - p["b"])),
    ("min(a, b)", {"a": SYM, "b": SYM}, RI, _away(0.1, lambda p: p["a"] - p["b"])),
    ("max(a, b * a, 1)", {"a": SYM, "b": SYM}, RI,
     _away(0.1, lambda p: p["a"] - p["b"] * p["a"], lambda p: p["a"] - 1,
           lambda p: p["b"] * p["a"] - 1)),
    ("min(a * a, b, -1)", {"a": SYM, "b": SYM}, RI,
     _away(0.1, lambda p: p["a"] ** 2 - p["b"], lambda p: p["b"] + 1)),
]
OPERATOR_CASES = [
    ("a + b", {"a": SYM, "b": SYM}, CS, None),
    ("a - b", {"a": SYM, "b": SYM}, CS, None),
    ("a * b", {"a": SYM, "b": SYM}, CS, None),
    ("a / b", {"a": SYM, "b": POS}, CS, None),
    ("-a * +b", {"a": SYM, "b": SYM}, CS, None),
    ("a ** b", {"a": POS, "b": SYM}, CS, None),
    ("a ** 3", {"a": SYM}, CS, None),
    ("a ** -2.5", {"a": POS}, CS, None),
    ("3 ** a", {"a": SYM}, CS, None),
    ("(a + b) ** 2 / (1 + a * a) ** 0.5", {"a": SYM, "b": SYM}, CS, None),
    ("(a * b) ** (b / 2)", {"a": POS, "b": POS}, CS, None),
    ("a % b", {"a": SYM, "b": (0.5, 2.0)}, RI, _frac_away(lambda p: p["a"] / p["b"])),
    ("(a // b) * a", {"a": SYM, "b": (0.5, 2.0)}, RI, _frac_away(lambda p: p["a"] / p["b"])),
    ("a * a if a > b else b * sin(a)", {"a": SYM, "b": SYM}, RI,
     _away(0.1, lambda p: p["a"] - p["b"])),
    ("sqrt(a) if a > 0 else (exp(b) if b < 0.5 else -a * b)", {"a": SYM, "b": SYM}, RI,
     _away(0.1, lambda p: p["a"], lambda p: p["b"] - 0.5)),
]
CASES = FUNCTION_CASES + OPERATOR_CASES
POINTS = 20


def _points(case_index: int, domains: dict, valid) -> list[dict]:
    rng = np.random.default_rng(1900 + case_index)
    points = []
    while len(points) < POINTS:
        point = {name: float(rng.uniform(*domain)) for name, domain in domains.items()}
        if valid is None or valid(point):
            points.append(point)
    return points


@pytest.mark.parametrize("index", range(len(CASES)), ids=[c[0] for c in CASES])
def test_derivative_matches_numerical_derivative(index: int) -> None:
    source, domains, method, valid = CASES[index]
    variables = sorted(domains)
    for point in _points(index, domains, valid):
        value, parts = partials(source, variables, point)
        assert value == evaluate(source, point)  # the same operations, in the same order
        for name, part in zip(variables, parts, strict=True):
            if method == CS:
                reference = complex_step(source, point, name)
                assert part == pytest.approx(reference, rel=COMPLEX_STEP_RTOL,
                                             abs=COMPLEX_STEP_RTOL), (source, name, point)
            else:
                reference = richardson(source, point, name)
                scale = abs(reference) + abs(value) + 1.0
                assert abs(part - reference) <= RICHARDSON_RTOL * scale, (source, name, point)


# if/else and fsum need scalars (as in the expression itself)
ARRAY_CASES = [c for c in CASES if " if " not in c[0] and "fsum" not in c[0]]


@pytest.mark.parametrize("index", range(len(ARRAY_CASES)), ids=[c[0] for c in ARRAY_CASES])
def test_array_inputs_give_the_scalar_partials_elementwise(index: int) -> None:
    """The numpy path (arrays) agrees with the math path (scalars) point by point."""
    source, domains, _method, valid = ARRAY_CASES[index]
    variables = sorted(domains)
    points = _points(index, domains, valid)
    arrays = {name: np.array([p[name] for p in points]) for name in variables}
    compiled = differentiate(source, variables)
    namespace = compiled.namespace()
    namespace.update(arrays)
    value, jacobian = compiled.jacobian(namespace)
    assert jacobian.shape == (POINTS, len(variables))
    for row, point in enumerate(points):
        scalar_value, scalar_parts = partials(source, variables, point)
        # numpy/scipy and math may round differently (<= 1 ulp per function; measured at
        # most 5e-16 relative here); 1e-13 covers such roundings through the formulas.
        assert value[row] == pytest.approx(scalar_value, rel=1e-13, abs=1e-13)
        np.testing.assert_allclose(jacobian[row], scalar_parts, rtol=1e-13, atol=1e-13)


def test_every_engine_function_is_classified_and_tested() -> None:
    differentiable = differentiable_functions()
    assert differentiable | set(NON_DIFFERENTIABLE_FUNCTIONS) == set(FUNCTIONS)
    assert not differentiable & set(NON_DIFFERENTIABLE_FUNCTIONS)
    tested = set().union(*(compile_expression(c[0]).names for c in CASES))
    assert differentiable <= tested, sorted(differentiable - tested)


@pytest.mark.parametrize("name", sorted(NON_DIFFERENTIABLE_FUNCTIONS))
def test_functions_without_derivative_are_reported(name: str) -> None:
    compiled = differentiate(f"{name}(a) + b", ["a", "b"])
    assert set(compiled.unavailable) == {"a"}
    assert compiled.unavailable["a"] == NON_DIFFERENTIABLE_FUNCTIONS[name]


# --------------------------------------------------------------------------- unavailable
@pytest.mark.parametrize(("source", "reason"), [
    ("n * (n > 0) + a + b", "comparison"),
    ("(n and 2) + a + b", "boolean operator 'and'"),
    ("(n or 2) + a * b", "boolean operator 'or'"),
    ("(not n) + a + b", "'not'"),
    ("(n & 3) * a + b * n", "bitwise operator &"),
    ("(n << 2) + a + b * n", "bitwise operator <<"),
    ("(n << m) + a + b * n", "bitwise operator <<"),
    ("~n + a + b * n", "bitwise operator ~"),
    ("max(n) + a + b * n", "reduction"),
    ("fsum(n) + a + b * n", "reduction"),
    ("user(n) + a + b * n", "Differentiable(user"),
    ("max(n, 2, key=abs) + a + b", "keyword arguments"),
])
def test_unavailable_partials_are_reported_per_variable(source: str, reason: str) -> None:
    """Only the variable reaching the construct loses its exact partial."""
    compiled = differentiate(source, ["n", "a", "b"])
    assert set(compiled.unavailable) == {"n"}, compiled.unavailable
    assert reason in compiled.unavailable["n"]


def test_unavailable_columns_are_nan_and_the_others_exact() -> None:
    compiled = differentiate("b * x + c * (x > b)", ["b", "c"])
    assert set(compiled.unavailable) == {"b"}
    namespace = compiled.namespace()
    x = np.linspace(0.0, 2.0, 7)
    namespace.update(b=0.7, c=2.0, x=x)
    value, parts = compiled.evaluate(namespace)
    assert parts[0] is None
    value, jacobian = compiled.jacobian(namespace)
    np.testing.assert_array_equal(value, 0.7 * x + 2.0 * (x > 0.7))
    assert np.isnan(jacobian[:, 0]).all()
    np.testing.assert_array_equal(jacobian[:, 1], (x > 0.7).astype(float))


def test_piecewise_constant_constructs_have_zero_partials() -> None:
    compiled = differentiate("floor(a) + sign(b) + (a // b) + c", ["a", "b", "c", "d"])
    assert not compiled.unavailable
    assert compiled.structural_zeros == {"a", "b", "d"}
    namespace = compiled.namespace()
    namespace.update(a=2.5, b=-1.5, c=1.0, d=4.0)
    value, parts = compiled.evaluate(namespace)
    assert parts == (0, 0, 1, 0)
    assert value == evaluate("floor(a) + sign(b) + (a // b) + c", dict(a=2.5, b=-1.5, c=1.0))


# --------------------------------------------------------------------------- user symbols
def test_user_function_with_declared_derivatives() -> None:
    def bump(u, w):
        return np.exp(-u * u / w)

    def d_bump_du(u, w):
        return -2 * u / w * np.exp(-u * u / w)

    symbols = SymbolTable()
    symbols["bump"] = Differentiable(bump, (d_bump_du, None))
    source = "amp * bump(x - cen, wid)"
    compiled = differentiate(source, ["amp", "cen", "wid"], symbols=symbols)
    assert set(compiled.unavailable) == {"wid"}
    assert "argument 1" in compiled.unavailable["wid"]
    point = {"amp": 1.7, "cen": 0.3, "wid": 0.8, "x": 1.1}
    namespace = compiled.namespace()
    namespace.update(point)
    value, (d_amp, d_cen, d_wid) = compiled.evaluate(namespace)
    assert value == evaluate(source, point, symbols)
    assert d_wid is None
    for name, part in (("amp", d_amp), ("cen", d_cen)):
        reference = complex_step(source, point, name, symbols)
        assert part == pytest.approx(reference, rel=COMPLEX_STEP_RTOL)


def test_user_symbol_shadowing_an_engine_function() -> None:
    """A user 'exp' is the user's function: its own derivative, or none."""
    def my_exp(t):
        return 2.0 * t

    plain = differentiate("exp(a)", ["a"], symbols={"exp": my_exp})
    assert "user function 'exp'" in plain.unavailable["a"]
    declared = Differentiable(my_exp, lambda t: 2.0)
    compiled = differentiate("exp(a) + erf(a)", ["a"], symbols={"exp": declared})
    namespace = compiled.namespace()
    namespace["a"] = 0.3
    value, (d_a,) = compiled.evaluate(namespace)
    assert value == 0.6 + math.erf(0.3)
    # erf' = 2/sqrt(pi) exp(-a^2) uses the engine's exp, not the user's
    assert d_a == pytest.approx(2.0 + 2 / math.sqrt(math.pi) * math.exp(-0.09), rel=1e-15)


def test_differentiable_checks_its_arguments() -> None:
    with pytest.raises(ExpressionError, match="callable function"):
        Differentiable(3.0, ())
    with pytest.raises(ExpressionError, match="derivative 1"):
        Differentiable(abs, (abs, "x"))
    single = Differentiable(math.sin, math.cos)
    assert single.derivatives == (math.cos,) and single(0.5) == math.sin(0.5)


def test_derivative_namespace_registers_declared_derivatives() -> None:
    namespace = derivative_namespace({"f": Differentiable(math.sin, math.cos)})
    assert namespace["__builtins__"] == {}
    assert namespace["<d0:f>"] is math.cos
    assert all(not name.isidentifier() for name in namespace
               if name not in make_namespace({"f": None}))


# --------------------------------------------------------------------------- simplification
@pytest.mark.parametrize(("source", "name", "expected"), [
    ("a * x", "a", "x"),                      # 1*x -> x, a*0 -> gone
    ("a + 3 * b", "a", "1"),                  # x + 0 -> x
    ("x - a", "a", "-1"),
    ("a ** 2", "a", "2 * a"),                 # a**1 -> a
    ("a ** 1", "a", "1"),                     # a**0 -> 1
    ("a * (2 + 3) / x", "a", "5 / x"),        # folding; x/1 -> x
    ("b / a", "b", "1 / a"),
    ("-(-a * x)", "a", "x"),                  # double negation
    ("0 * a + b", "a", "0"),
    ("a * a", "a", "2 * a"),                  # x + x -> 2*x
    ("a * x + x * a", "a", "2 * x"),          # a*b and b*a are one node
])
def test_derivatives_are_simplified(source: str, name: str, expected: str) -> None:
    assert ast.unparse(derivative_tree(source, name)) == expected


def test_common_subexpressions_are_computed_once() -> None:
    """Each exponential of Gauss1 is evaluated once for the value and all 8 partials."""
    problem = load_nist("Gauss1")
    compiled = differentiate(problem.expression, problem.param_names)
    assert compiled.listing.count("<f:exp>(") == 3
    misra = differentiate("b1*(1-exp(-b2*x))", ["b1", "b2"])
    assert misra.listing.count("<f:exp>(") == 1


def test_branches_stay_lazy() -> None:
    """A branch not taken is not evaluated: sqrt(a) for a < 0 would raise."""
    source = "sqrt(a) * b if a > 0 else a * b"
    compiled = differentiate(source, ["a", "b"])
    namespace = compiled.namespace()
    namespace.update(a=-4.0, b=3.0)
    assert compiled.evaluate(namespace) == (-12.0, (3.0, -4.0))
    namespace.update(a=4.0, b=3.0)
    assert compiled.evaluate(namespace) == (6.0, (0.75, 2.0))


def test_separately_built_partials_are_bit_identical_to_the_combined_code() -> None:
    """derivative_tree writes the same operations out; the shared code only saves work."""
    problem = load_nist("ENSO")
    compiled = differentiate(problem.expression, problem.param_names)
    namespace = compiled.namespace()
    namespace.update(zip(problem.param_names, map(float, problem.certified_values)))
    namespace["x"] = problem.x
    _, parts = compiled.evaluate(namespace)
    for name, part in zip(problem.param_names, parts, strict=True):
        code = compile(ast.Expression(derivative_tree(problem.expression, name)), "<d>", "eval")
        np.testing.assert_array_equal(eval(code, namespace), part)  # noqa: S307


# --------------------------------------------------------------------------- safety and size
_DANGEROUS_OPCODES = {
    "LOAD_ATTR", "STORE_ATTR", "DELETE_ATTR", "LOAD_METHOD", "IMPORT_NAME", "IMPORT_FROM",
    "IMPORT_STAR", "BINARY_SUBSCR", "STORE_SUBSCR", "DELETE_SUBSCR", "BUILD_SLICE",
    "LOAD_BUILD_CLASS", "MAKE_FUNCTION", "STORE_GLOBAL", "DELETE_GLOBAL", "DELETE_NAME",
    "LOAD_GLOBAL", "FORMAT_VALUE", "GET_ITER", "FOR_ITER", "CALL_FUNCTION_EX",
    "DICT_MERGE", "DICT_UPDATE", "LIST_EXTEND", "SET_UPDATE", "YIELD_VALUE", "LOAD_CLOSURE",
    "LOAD_DEREF", "STORE_DEREF", "SETUP_WITH", "BEFORE_WITH", "RAISE_VARARGS",
}
#: the engine's functions and the private helpers of derivative code, reserved names
_ENGINE_NAMES = {f"<f:{name}>" for name in (*FUNCTIONS, "digamma", "select", "pack", "float",
                                             "power_log")}


def _random_expression(rng: random.Random, depth: int) -> str:
    if depth == 0 or rng.random() < 0.25:
        return rng.choice(["a", "b", "x", "n", "2", "0.5", "3", "pi"])
    unary = sorted(FUNCTIONS.keys() - {"max", "min", "hypot", "fsum", "atan2", "arctan2",
                                       "pow", "power", "copysign", "fmod", "ldexp", "log"})
    binary = ["atan2", "pow", "copysign", "fmod", "ldexp", "log", "hypot", "max", "min"]
    e = lambda: _random_expression(rng, depth - 1)  # noqa: E731
    kind = rng.randrange(8)
    if kind == 0:
        return f"({e()} {rng.choice(['+', '-', '*', '/', '%', '//'])} {e()})"
    if kind == 1:
        return f"({e()} ** {rng.choice(['2', '-1.5', '0.5', e()])})"
    if kind == 2:
        return f"{rng.choice(unary)}({e()})"
    if kind == 3:
        return f"{rng.choice(binary)}({e()}, {e()})"
    if kind == 4:
        return f"({e()} if {e()} {rng.choice(['<', '>=', '=='])} {e()} else {e()})"
    if kind == 5:
        return f"({e()} {rng.choice(['and', 'or'])} {e()})"
    if kind == 6:
        return f"(-{e()} + ({e()} < {e()}))"
    return f"(n {rng.choice(['<<', '>>', '&', '|', '^'])} 2) * {e()}"


def test_generated_code_of_random_expressions_is_whitelisted_and_linear_in_size() -> None:
    rng = random.Random(19)
    checked = 0
    for _ in range(300):
        source = _random_expression(rng, 6)
        try:
            compiled_source = compile_expression(source)
        except ExpressionError:
            continue
        compiled = differentiate(compiled_source, ["a", "b", "n"])
        nodes = sum(1 for node in ast.walk(ast.parse(source, mode="eval"))
                    if not isinstance(node, ast.expr_context))
        # forward differentiation over a DAG adds a bounded number of nodes per node and
        # variable: 20 per node per output (value + 3 partials) is a generous bound
        assert compiled.size <= 20 * nodes * 4, (source, compiled.size)
        temporaries = {f"<t{i}>" for i in range(compiled.temporaries)}
        allowed = (set(compiled_source.names) | temporaries | _ENGINE_NAMES
                   | {"<out>", "<pow>", "<lshift>"})
        assert set(compiled.code.co_names) <= allowed, (source, compiled.code.co_names)
        opcodes = {instruction.opname for instruction in dis.get_instructions(compiled.code)}
        assert not opcodes & _DANGEROUS_OPCODES, (source, opcodes & _DANGEROUS_OPCODES)
        checked += 1
    assert checked > 250


def test_forbidden_constructs_cannot_be_differentiated() -> None:
    for source in ["x.__class__", "a[0]", "__import__('os')", "(lambda: 1)()", "f(*a)"]:
        with pytest.raises(ExpressionError, match="not allowed"):
            differentiate(source, ["x"])


def test_guarded_power_is_kept_in_derivative_code() -> None:
    compiled = differentiate("(a * b) ** c + a ** 2 + b ** c", ["a", "b", "c"])
    opcodes = {i.opname for i in dis.get_instructions(compiled.code)}
    assert "<pow>" in compiled.code.co_names and not opcodes & _DANGEROUS_OPCODES
    # 2 ** a**1024 ... : only name ** small literal runs as Python's own **
    readable = re.sub(r"<([a-z0-9_]*):?([a-z0-9_]*)>", r"_\1_\2", compiled.listing)
    for statement in ast.parse(readable).body:
        for node in ast.walk(statement):
            if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
                assert isinstance(node.left, ast.Name) and isinstance(node.right, ast.Constant)


#: The resource attacks of test_expression_security.py, differentiated with respect to x.
RESOURCE_ATTACKS = [
    "9**9**9 + x", "(9**9)**(9**9) * x", "x**9**9", "((9**1024)**1024)**1024 + x",
    "((x**1024)**1024)**1024", "abs(abs(abs(x**1024)**1024)**1024)**1024",
    "(1 << 10**10) + x", "x * (x << 10**10)", "factorial(x * 10**6)", "pow(x, 9**9)",
    "ldexp(x, 10**9)", "exp(x * 10**9)", "(x + 1) ** (10 ** 8)",
]


def test_resource_attacks_fail_fast_in_derivative_code() -> None:
    program = textwrap.dedent(f"""
        from paramfit.core.expressions.derivatives import differentiate
        for source in {RESOURCE_ATTACKS!r}:
            compiled = differentiate(source, ['x'])
            namespace = compiled.namespace()
            namespace['x'] = 9
            try:
                compiled.evaluate(namespace)
            except (OverflowError, ValueError) as exc:
                print('error', type(exc).__name__)
            else:
                print('value')
    """)
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == len(RESOURCE_ATTACKS)
    assert all(line.startswith(("error", "value")) for line in lines), lines


def test_generated_size_is_capped() -> None:
    # two products of the same 90 variables in opposite orders: the partial with respect
    # to each variable carries the rest of both chains, ~180 nodes times 90 variables
    names = [f"p{k}" for k in range(90)]
    source = "*".join(names) + " + " + "*".join(reversed(names))
    assert sum(1 for _ in ast.walk(ast.parse(source, mode="eval"))) <= MAX_EXPRESSION_NODES
    with pytest.raises(ExpressionError, match="too large to differentiate"):
        differentiate(source, names)
    with pytest.raises(ExpressionError, match="more than 50 syntax nodes"):
        differentiate("exp(a) * sin(a) * cos(a * b)", ["a", "b"], max_nodes=50)
    # 6 outputs, each at most two chains of 90 products of <= 4 syntax nodes
    assert differentiate(source, names[:5]).size < 6 * 2 * 90 * 4


def test_bad_variables_are_refused() -> None:
    with pytest.raises(ExpressionError, match="valid Python identifier"):
        differentiate("a + b", ["a", "b c"])
    with pytest.raises(ExpressionError, match="repeat"):
        differentiate("a + b", ["a", "a"])
    with pytest.raises(ExpressionError, match="called as a function"):
        differentiate("a(b) + b", ["a", "b"])


def test_derivative_tree_reports_unavailable_and_accepts_a_tree() -> None:
    with pytest.raises(ExpressionError, match="comparison"):
        derivative_tree("a * (a > 1)", "a")
    tree = expression_tree(compile_expression("a ** b"))
    code = compile(ast.Expression(derivative_tree(tree, "b")), "<d>", "eval")
    namespace = derivative_namespace()
    namespace.update(a=2.0, b=3.0)
    assert eval(code, namespace) == pytest.approx(8.0 * math.log(2.0), rel=1e-15)  # noqa: S307


def test_evaluate_checked_wraps_arithmetic_errors() -> None:
    compiled = differentiate("sqrt(a) + b", ["a", "b"])
    namespace = compiled.namespace()
    namespace.update(a=0.0, b=1.0)
    with pytest.raises(ExpressionEvaluationError, match="ZeroDivisionError"):
        compiled.evaluate_checked(namespace)  # the value is fine, sqrt'(0) is not


def _random_analytic(rng: random.Random, depth: int) -> str:
    """A random composition of analytic, complex-capable pieces with bounded values."""
    if depth == 0 or rng.random() < 0.2:
        return rng.choice(["a", "b", "x", "0.5", "2", "pi"])
    e = lambda: _random_analytic(rng, depth - 1)  # noqa: E731
    kind = rng.randrange(7)
    if kind == 0:
        return f"({e()} {rng.choice(['+', '-', '*'])} {e()})"
    if kind == 1:
        return f"({e()} / (1.5 + {e()} ** 2))"
    if kind == 2:
        return f"{rng.choice(['sin', 'cos', 'atan', 'erf', 'tanh'])}({e()})"
    if kind == 3:
        return f"{rng.choice(['exp', 'log', 'sqrt'])}(1 + tanh({e()}) ** 2)"
    if kind == 4:
        return f"(1 + tanh({e()}) ** 2) ** {rng.choice(['3', '-0.5', 'tanh(b)', e()])}"
    if kind == 5:
        return f"hypot({e()}, 1)" if rng.random() < 0.5 else f"cosh(tanh({e()}))"
    return f"({e()} if {e()} > 0.2 else {e()})"


def test_random_compositions_match_the_complex_step() -> None:
    rng = random.Random(1919)
    for _ in range(150):
        source = _random_analytic(rng, 5)
        compiled = differentiate(source, ["a", "b"])
        point = {"a": rng.uniform(-1, 1), "b": rng.uniform(-1, 1), "x": rng.uniform(-1, 1)}
        namespace = compiled.namespace()
        namespace.update(point)
        value, parts = compiled.evaluate(namespace)
        assert value == evaluate(source, point)
        for name, part in zip("ab", parts, strict=True):
            if " if " in source or "hypot" in source:
                reference = richardson(source, point, name)
                tolerance = RICHARDSON_RTOL * (abs(reference) + abs(value) + 1)
            else:
                reference = complex_step(source, point, name)
                tolerance = COMPLEX_STEP_RTOL * max(1.0, abs(reference))
            assert abs(part - reference) <= tolerance, (source, name, point, part, reference)


def test_pickles_as_its_source_and_variables() -> None:
    compiled = differentiate("b1*(1-exp(-b2*x))", ("b1", "b2"))
    clone = pickle.loads(pickle.dumps(compiled))
    assert (clone.source, clone.variables, clone.listing) == (
        compiled.source, compiled.variables, compiled.listing)


def test_huge_integer_constants_are_left_to_run_time() -> None:
    """Folding stops at 4096-bit integers; the value is still the expression's.

    The 2875-bit literal is written out: an int ``**`` is guarded (done in float) since
    issue 20, so ``7**1024`` would overflow instead of making a big integer.
    """
    big = 7**1024
    source = f"a * {big} * {big} + 0 * a"
    compiled = differentiate(source, ["a"])
    namespace = compiled.namespace()
    namespace["a"] = 2
    value, (d_a,) = compiled.evaluate(namespace)
    assert value == evaluate(source, {"a": 2}) and d_a == big * big


# --------------------------------------------------------------------------- tie mappings
TIES = [("b", "2*a*sin(q)"), ("c", "b*b + exp(q)/b"), ("d", "min(max(c, 0.5), 3)")]
#: the same ties written out by hand: c with b substituted
C_SUBSTITUTED = "(2*a*sin(q))*(2*a*sin(q)) + exp(q)/(2*a*sin(q))"


def test_assignments_give_the_values_of_compile_assignments_and_exact_chain_rule() -> None:
    compiled = differentiate_assignments(TIES, ["a", "q"])
    assert compiled.names == ("b", "c", "d") and not compiled.unavailable
    reference = make_namespace()
    code = compile_assignments([(n, compile_expression(e)) for n, e in TIES])
    seen = set()
    for a, q in [(0.3, 0.7), (0.8, 1.1), (1.4, 0.2)]:
        namespace = compiled.namespace()
        namespace.update(a=a, q=q)
        values, partials = compiled.evaluate(namespace)
        reference.update(a=a, q=q)
        exec(code, reference)  # noqa: S102
        assert values == (reference["b"], reference["c"], reference["d"])  # bit for bit
        assert (namespace["b"], namespace["c"], namespace["d"]) == values
        point = {"a": a, "q": q}
        for j, name in enumerate("aq"):
            assert partials[1][j] == pytest.approx(
                complex_step(C_SUBSTITUTED, point, name), rel=COMPLEX_STEP_RTOL)
            clipped = not 0.5 < values[1] < 3
            seen.add(clipped)
            assert partials[2][j] == (0 if clipped else partials[1][j])
        _, jacobian = compiled.jacobian(namespace)
        np.testing.assert_array_equal(jacobian, np.array(partials, dtype=float))
    assert seen == {True, False}  # both sides of the clipping were exercised


def test_assignments_report_unavailable_pairs_and_pickle() -> None:
    compiled = differentiate_assignments([("b", "a * (a > 0)"), ("c", "b + q")], ["a", "q"])
    assert set(compiled.unavailable) == {("b", "a"), ("c", "a")}
    namespace = compiled.namespace()
    namespace.update(a=2.0, q=1.0)
    values, jacobian = compiled.jacobian(namespace)
    np.testing.assert_array_equal(values, [2.0, 3.0])
    assert np.isnan(jacobian[:, 0]).all() and (jacobian[:, 1] == [0.0, 1.0]).all()
    assert pickle.loads(pickle.dumps(compiled)).listing == compiled.listing
    with pytest.raises(ExpressionError, match="distinct and not variables"):
        differentiate_assignments([("a", "2*q")], ["a", "q"])


def test_helpers_can_be_installed_in_an_existing_namespace() -> None:
    symbols = {"f": Differentiable(math.sin, math.cos)}
    compiled = differentiate("f(a) * x", ["a"], symbols=symbols)
    namespace = make_namespace(symbols)
    namespace.update(a=0.4, x=2.0)
    assert compiled.evaluate(install_derivative_helpers(namespace, symbols)) == (
        math.sin(0.4) * 2.0, (math.cos(0.4) * 2.0,))


def test_power_law_at_zero_data_has_the_exact_zero_partial() -> None:
    """d(x**b)/db = x**b log(x) -> 0 as x -> 0 (b > 0): 0, not NaN, and no warning."""
    compiled = differentiate("b1 * x**b2", ["b1", "b2"])
    namespace = compiled.namespace()
    x = np.array([0.0, 0.5, 2.0])
    namespace.update(b1=1.5, b2=0.7, x=x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, jacobian = compiled.jacobian(namespace)
    np.testing.assert_array_equal(jacobian[:, 0], x**0.7)
    assert jacobian[0, 1] == 0.0
    np.testing.assert_allclose(jacobian[1:, 1], 1.5 * x[1:] ** 0.7 * np.log(x[1:]), rtol=1e-15)
    namespace.update(x=0.0)
    assert compiled.evaluate(namespace) == (0.0, (0.0, 0.0))


def test_a_tie_substituted_into_a_native_power_is_guarded_and_exact() -> None:
    # regression: ``f = g**2`` is a native ``**`` (a name to a small literal); with the
    # tie ``g = s + 1`` substituted the base is compound, and the emitter refused its own
    # code ("unguarded **") so the mapping fell back to finite differences (VoigtModel's
    # gamma tied to sigma, fwhm reading gamma**2)
    compiled = differentiate_assignments([("g", "s + 1"), ("f", "g**2")], ["s"])
    assert not compiled.unavailable
    for s in (0.5, 2.0, -3.0):
        namespace = compiled.namespace()
        namespace.update(s=s)
        values, partials = compiled.evaluate(namespace)
        assert values == (s + 1, (s + 1) ** 2)  # the values as compile_assignments: exact
        assert partials[1][0] == 2 * (s + 1)  # exact: one rounding-free product here
