"""Untrusted parameter files and careless expressions (issue 20): bounded work and
ParamfitErrors that name the parameter, expression or JSON path; never a raw exception."""

from __future__ import annotations

import copy
import json
import time

import numpy as np
import pytest

import paramfit
from paramfit.core.exceptions import (
    ExpressionError,
    ExpressionEvaluationError,
    ParameterError,
    ResidualError,
)
from paramfit.core.parameters.parameters import Parameter, Parameters

#: Every refusal below is a check before work or one float operation: a second is
#: ~1000x the time it takes and far below the > 60 s the unguarded cases ran.
FAST = 1.0


def _document(expr: str, symbols: dict) -> str:
    p = Parameters()
    p.add("a", 1.5)
    data = json.loads(p.dumps())
    data["parameters"].append({"name": "b", "expr": expr})
    data["symbols"] = symbols
    return json.dumps(data)


def test_parameters_loads_refuses_a_4001_digit_integer_symbol() -> None:
    text = _document("k**1024 * k**1024 * k**1024", {"k": {"int": int("9" * 4001)}})
    start = time.perf_counter()
    with pytest.raises(ParameterError, match=r"symbols\.k: integer of 4001 digits"):
        Parameters().loads(text)
    assert time.perf_counter() - start < FAST


@pytest.mark.parametrize("encoded", [{"str": "aaaaaaaaaa"}, {"list": [1]}, "aaaa", [1, 2],
                                     {"float": "nan"}, {"float": "inf"},
                                     {"complex": [1.0, "inf"]}, {"int": 2**53 + 1},
                                     {"float": 1.0, "int": 1}])
def test_parameters_loads_symbols_are_finite_numbers(encoded) -> None:
    with pytest.raises(ParameterError, match=r"symbols\.s"):
        Parameters().loads(_document("s * 1000000000", {"s": encoded}))


def test_parameters_loads_keeps_bounded_symbols() -> None:
    p = Parameters().loads(_document("k * a", {"k": {"int": 2**53}, "z": {"complex": [1, 2]}}))
    assert p.symbols["k"] == 2**53 and p.symbols["z"] == 1 + 2j


def test_guarded_power_holds_whatever_the_operands() -> None:
    # a name holding a huge int (set through the Python API) and a huge int literal:
    # both go through the float-converting guard, so they fail at once
    p = Parameters()
    p.add("a", 1.5)
    p.symbols["k"] = int("9" * 4001)
    start = time.perf_counter()
    expr = " * ".join(["k**1024"] * 6)
    with pytest.raises(ExpressionEvaluationError, match="parameter 'b'.*OverflowError"):
        p.add("b", expr=expr)            # refused at add() (lmfit 1.3)
    p["b"] = Parameter(name="b", expr=expr)  # item assignment stores it unevaluated
    with pytest.raises(ExpressionEvaluationError, match="parameter 'b'.*OverflowError"):
        p.update_constraints()
    literal = "9" * 3990
    with pytest.raises(ExpressionEvaluationError, match="OverflowError"):
        p.eval(f"{literal} ** 1024")
    assert time.perf_counter() - start < FAST


def test_power_overflow_names_the_parameter() -> None:
    p = Parameters()
    p.add("a", 1.0)
    with pytest.raises(ExpressionEvaluationError, match="'9\\*\\*1024' of parameter 'b'"):
        p.add("b", expr="9**1024")       # refused at add(), p unchanged (lmfit 1.3)
    assert list(p) == ["a"]
    p["b"] = Parameter(name="b", expr="9**1024")  # item assignment stores it unevaluated
    with pytest.raises(ExpressionEvaluationError, match="'9\\*\\*1024' of parameter 'b'"):
        p.update_constraints()
    with pytest.raises(ExpressionEvaluationError, match="parameter 'b'"):
        paramfit.minimize(lambda q: np.array([q["a"].value - 1.0, 0.0]), p)


@pytest.mark.parametrize("expr", ["hypot(erf, frexp, 100)", "sin(cos)", "atan2(sqrt, 1)",
                                  "log(exp)", "sign(erf)", "max(sin, cos, 1)", "copysign(1, erf)"])
def test_functions_given_functions_raise_expression_errors(expr) -> None:
    p = Parameters()
    p.add("a", 1.0)
    with pytest.raises(ExpressionEvaluationError, match="parameter 'b'"):
        p.add("b", expr=expr)            # refused at add() (lmfit 1.3)
    p["b"] = Parameter(name="b", expr=expr)  # item assignment stores it unevaluated
    with pytest.raises(ExpressionEvaluationError, match="parameter 'b'"):
        p.update_constraints()


def test_deep_json_is_a_parameter_error() -> None:
    for text in ["[" * 1000 + "]" * 1000, '{"parameters": ' + "[" * 100 + "]" * 100 + "}"]:
        with pytest.raises(ParameterError, match="nested deeper than 64"):
            Parameters().loads(text)


def test_parameters_loads_keeps_the_expression_error_text() -> None:
    text = _document("a.__class__", {})
    with pytest.raises(ExpressionError, match="parameter 'b'.*attribute access"):
        Parameters().loads(text)


@pytest.mark.parametrize("text", ['{"parameters": [{"value": 1}]}',
                                  '{"parameters": [{"name": "a", "value": "x"}]}',
                                  '{"parameters": [7]}', '{"parameters": [], "symbols": 3}',
                                  b"\xff\xfe", "", "null", 12])
def test_malformed_parameter_documents_are_parameter_errors(text) -> None:
    target = Parameters()
    target.add("keep", 2.0)
    before = target.dumps()
    with pytest.raises(ParameterError):
        target.loads(text)
    assert target.dumps() == before  # the user's Parameters are unchanged after the error


@pytest.mark.parametrize("returned", [["1", "2", "3"], np.array(["1", "2"]),
                                      np.array([b"1"]), [object()], {"a": 1}, "12",
                                      np.array([1 + 0j, 2]).astype(object)])
def test_residual_returning_strings_is_refused(returned) -> None:
    p = Parameters()
    p.add("a", 1.0)
    before = copy.deepcopy(p)
    with pytest.raises(ResidualError, match="residual"):
        paramfit.minimize(lambda q: returned, p)
    assert p.dumps() == before.dumps()
