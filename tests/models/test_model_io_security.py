"""Model files are untrusted (issue 20): loading imports nothing a file names, and every
malformed document is a ParamfitError naming its JSON path."""

from __future__ import annotations

import json
import sys
import time

import pytest

from paramfit.core.exceptions import ParameterError, ParamfitError
from paramfit.models.io import loads_model, loads_modelresult
from paramfit.models.lineshapes import gaussian
from paramfit.models.model import Model


def _function_model(func: str, **extra) -> str:
    return json.dumps({"paramfit_model": 1, "model": {
        "kind": "function", "func": func, "independent_vars": ["x"], **extra}})


@pytest.mark.parametrize("reference", ["this:s", "os:system", "subprocess:run",
                                       "antigravity:fly", "paramfit.models.io:json"])
def test_model_files_import_no_module_they_name(reference, capsys) -> None:
    name = reference.partition(":")[0]
    was_loaded = name in sys.modules
    before = set(sys.modules)
    with pytest.raises(ParameterError, match=r"\$\.model\.func: .*funcdefs=\{"):
        loads_model(_function_model(reference))
    assert set(sys.modules) == before       # nothing imported
    assert (name in sys.modules) == was_loaded
    assert capsys.readouterr().out == ""    # 'this' would print the Zen of Python


def test_model_file_jacobian_reference_is_checked_too() -> None:
    text = _function_model("paramfit.models.lineshapes.peaks:gaussian", jac="os:getcwd")
    with pytest.raises(ParameterError, match=r"\$\.model\.jac"):
        loads_model(text)


def test_model_files_take_paramfit_lineshapes_and_funcdefs() -> None:
    loaded = loads_model(Model(gaussian).dumps())
    assert loaded.func is gaussian

    def mine(x, a=1.0):
        return a * x

    assert loads_model(_function_model("anything:mine"), funcdefs={"mine": mine}).func is mine


def test_model_file_errors_name_the_json_path() -> None:
    cases = {
        '{"paramfit_model": "abc", "model": {}}': r"\$\.paramfit_model",
        '{"paramfit_model": 1, "model": 3}': r"\$\.model",
        '{"paramfit_model": 1, "model": {"kind": "nope", "independent_vars": []}}':
            r"\$\.model\.kind",
        '{"paramfit_model": 1, "model": {"kind": "builtin", "class": "X", '
        '"independent_vars": ["x"]}}': r"\$\.model\.class",
        '{"paramfit_model": 1, "model": {"kind": "composite", "op": "+", "left": 1}}':
            r"\$\.model\.left",
        '{"paramfit_model": 1, "model": {"kind": "expression", "expr": "a*x", '
        '"independent_vars": "x"}}': r"\$\.model\.independent_vars",
        '[' * 1000 + ']' * 1000: "nested deeper",
        '{"paramfit_model": 1, "model": {"kind": "function", "func": 7, '
        '"independent_vars": ["x"]}}': r"\$\.model\.func",
    }
    for text, where in cases.items():
        with pytest.raises(ParameterError, match=where):
            loads_model(text)


@pytest.mark.parametrize("symbol", ["aaaaaaaaaa", [1, 2, 3], {"str": "a"}, {"int": 10**4000},
                                    {"float": "nan"}, float("inf"), None])
def test_expression_model_symbols_from_files_are_finite_numbers(symbol) -> None:
    text = json.dumps({"paramfit_model": 1, "model": {
        "kind": "expression", "expr": "s * 1000000000 + a * x", "independent_vars": ["x"],
        "symbols": {"s": symbol}}})
    start = time.perf_counter()
    with pytest.raises(ParameterError, match=r"\$\.model\.symbols\.s"):
        loads_model(text)
    assert time.perf_counter() - start < 1.0  # refused before any work


def test_modelresult_file_errors_are_paramfit_errors() -> None:
    with pytest.raises(ParamfitError):
        loads_modelresult('{"paramfit_modelresult": 1, "model": {"kind": "builtin", '
                          '"class": "GaussianModel", "independent_vars": ["x"]}}')
    with pytest.raises(ParameterError, match="nested deeper"):
        loads_modelresult("{" + '"a":{' * 200 + "}" * 201)
