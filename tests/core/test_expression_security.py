"""Escape and denial-of-service attempts against constraint expressions.

Every attempt must be rejected when compiled (and so never run), or, for resource
exhaustion, fail fast with an ordinary arithmetic error.  Runs that could hang if the
guards were broken are made in a subprocess under a generous timeout.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from paramfit.core.exceptions import ExpressionError, ExpressionEvaluationError
from paramfit.core.expressions.compiler import (
    MAX_EXPRESSION_DEPTH,
    MAX_EXPRESSION_LENGTH,
    SymbolTable,
    compile_expression,
    make_namespace,
)

# expression -> words the error message must contain (the construct, named)
REJECTED = {
    "().__class__.__bases__[0].__subclasses__()": "attribute access",
    "__class__": "dunder name '__class__'",
    "__import__('os')": "dunder name '__import__'",
    "getattr(x, 'y')": "string",
    "open('f')": "string",
    "import os": "invalid syntax",
    "lambda: 1": "lambda",
    "[x for x in y]": "list comprehension",
    "{x for x in y}": "set comprehension",
    "(x for x in y)": "generator expression",
    "{1: 2}": "dict",
    "{1, 2}": "set",
    "[1, 2]": "list",
    "(1, 2)": "tuple",
    'f"{x}"': "f-string",
    "'%s' % x": "string",
    "b'x'": "bytes",
    "(y := 2)": "assignment (:=)",
    "*a": "invalid syntax",
    "f(*a)": "unpacking (*)",
    "f(**a)": "keyword unpacking (**)",
    "a[0]": "subscripting",
    "a[0:2]": "subscripting",
    "x.real": "attribute access",
    "x.__class__": "attribute access",
    "f(x).y": "attribute access",
    "f()()": "calling anything but a plain function name",
    "(a + b)(x)": "calling anything but a plain function name",
    "a.b(x)": "attribute access",
    "f(__class__=1)": "dunder keyword argument name '__class__'",
    "f(x=__builtins__)": "dunder name '__builtins__'",
    "...": "Ellipsis",
    "a @ b": "operator @",
    "x if __debug__ else y": "dunder name '__debug__'",
    "await x": "await",
    "yield x": "invalid syntax",
    "x = 1": "invalid syntax",
}


@pytest.mark.parametrize("source", sorted(REJECTED))
def test_forbidden_constructs_are_rejected_and_named(source):
    with pytest.raises(ExpressionError) as info:
        compile_expression(source, owner="victim")
    message = str(info.value)
    assert REJECTED[source] in message
    assert repr(source) in message and "parameter 'victim'" in message


def test_rejected_expressions_are_never_executed():
    calls = []

    def spy(*args):
        calls.append(args)
        return 1.0

    namespace = make_namespace({"spy": spy})
    for source in ["spy(1).real", "spy(1)[0]", "[spy(1)]", "spy(1)()",
                   "(lambda: spy(1))()", "spy(*spy(1))", "spy(spy(1).__class__)"]:
        with pytest.raises(ExpressionError):
            compile_expression(source).evaluate(namespace)
    assert calls == []


@pytest.mark.parametrize(
    "name", ["getattr", "open", "eval", "exec", "compile", "globals", "locals", "vars",
             "type", "object", "breakpoint", "print", "input", "setattr", "delattr", "help",
             "memoryview", "bytearray", "exit", "quit", "dir", "id"])
def test_builtins_are_unreachable_with_an_empty_user_table(name):
    namespace = make_namespace(SymbolTable())
    namespace["x"] = 1.0
    for source in [f"{name}(x)", name]:
        expression = compile_expression(source)  # plain names compile...
        with pytest.raises(NameError):  # ...but resolve to nothing
            expression.evaluate(namespace)
        with pytest.raises(ExpressionEvaluationError, match=f"'{name}'"):
            expression.evaluate_checked(namespace, "p")
    assert namespace["__builtins__"] == {}


def test_namespace_builtins_stay_empty_after_evaluation():
    namespace = make_namespace({"k": 2.0})
    namespace["x"] = 3.0
    assert compile_expression("k * sqrt(x) + max(x, 1) if x > 0 else -x").evaluate(namespace)
    assert namespace["__builtins__"] == {}
    assert set(namespace) - {"x", "k"} <= set(make_namespace())


def test_helpers_cannot_be_written_or_shadowed():
    with pytest.raises(ExpressionError):
        compile_expression("<pow>(9, 9)")
    with pytest.raises(ExpressionError):
        make_namespace({"<pow>": lambda a, b: a})
    with pytest.raises(ExpressionError):
        SymbolTable()["<lshift>"] = 0


def test_length_depth_and_node_limits():
    with pytest.raises(ExpressionError, match="longer than"):
        compile_expression("1+" * 50_000 + "1")  # 100k characters
    with pytest.raises(ExpressionError):
        compile_expression("(" * 1000 + "x" + ")" * 1000)
    with pytest.raises(ExpressionError):
        compile_expression("-" * (MAX_EXPRESSION_LENGTH - 1) + "x")
    with pytest.raises(ExpressionError, match="nesting deeper"):
        levels = MAX_EXPRESSION_DEPTH + 5
        compile_expression("f(" * levels + "x" + ")" * levels)
    with pytest.raises(ExpressionError, match="syntax nodes"):
        compile_expression("x in (" + ", ".join(["1"] * 1200) + ")")
    # long but shallow polynomial-like sums stay accepted
    assert compile_expression(" + ".join(f"c{k} * x" for k in range(40))).names


def _run_isolated(body: str, timeout: float = 120.0) -> str:
    """Run ``body`` in a fresh interpreter; a hang fails the test instead of the suite."""
    program = "from paramfit.core.expressions.compiler import compile_expression, make_namespace\n"
    program += textwrap.dedent(body)
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                            timeout=timeout)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


RESOURCE_ATTACKS = [
    "9**9**9",
    "(9**9)**(9**9)",
    "x**9**9",
    "((9**1024)**1024)**1024",
    "((x**1024)**1024)**1024",
    "abs(abs(abs(9**1024)**1024)**1024)**1024",
    "1 << 10**10",
    "((1 << 64) << 64) << 10**6",
    "x << 10**10",
    "factorial(10**6)",
    "factorial(x * 10**6)",
    "pow(9, 9**9)",
    "ldexp(1.0, 10**9)",
    "exp(10**9)",
]


@pytest.mark.parametrize("source", RESOURCE_ATTACKS)
def test_resource_exhaustion_fails_fast(source):
    output = _run_isolated(f"""
        namespace = make_namespace()
        namespace['x'] = 9
        try:
            value = compile_expression({source!r}).evaluate(namespace)
        except (OverflowError, ValueError, MemoryError) as exc:
            print('error', type(exc).__name__)
        else:
            print('value', value)
    """)
    kind, _, detail = output.partition(" ")
    assert kind == "error" or detail in ("inf", "-inf"), output


def test_guarded_errors_are_wrapped_by_evaluate_checked():
    namespace = make_namespace()
    for source in ["9**9**9", "1 << 10**10", "factorial(10**6)"]:
        with pytest.raises(ExpressionEvaluationError, match="parameter 'p'"):
            compile_expression(source).evaluate_checked(namespace, "p")
