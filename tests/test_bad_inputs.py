"""The bad-input table of issue 20, as a test: every case ends in a ParamfitError (or,
for mpfit, MPFIT's status 0 with a message; for the command line, exit status 2 with one
``paramfit: error:`` line), never a raw Python exception and never a silent result; and
the caller's arrays and Parameters are unchanged afterwards.

``python tests/test_bad_inputs.py`` rewrites the table in ``docs/bad_input.md`` from
these very cases (what each input gets now).
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import os
import sys
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import paramfit
from paramfit.batch.api import fit_many
from paramfit.cli.app import main as cli_main
from paramfit.core.exceptions import ParamfitError
from paramfit.core.parameters.parameters import Parameters
from paramfit.frontends.mpfit import mpfit
from paramfit.frontends.nls import nlfb, nlxb
from paramfit.models.builtin import LinearModel
from paramfit.models.io import loads_model, loads_modelresult
from paramfit.models.model import Model

X = np.linspace(0.0, 1.0, 20)
Y = 2.0 * X + 1.0


def _params(**extra: Any) -> Parameters:
    p = Parameters()
    p.add("a", 1.0)
    p.add("b", 0.0)
    for name, expr in extra.items():
        p.add(name, expr=expr)
    return p


def _masked(values: np.ndarray = Y) -> np.ma.MaskedArray:
    out = np.ma.masked_array(values.copy(), mask=np.zeros(values.size, bool))
    out[3] = 1e6
    out[3] = np.ma.masked
    return out


def _line(q: Parameters) -> np.ndarray:
    return Y - (q["a"].value * X + q["b"].value)


# ---------------------------------------------------------------------- the cases
# Each case: (front end, bad input, make) where make() -> (inputs, thunk): the caller's
# objects (checked unchanged afterwards) and the call.
Case = tuple[str, str, Callable[[], tuple[list, Callable[[], Any]]]]


def _minimize(residual: Callable, params: Parameters | None = None, **kws: Any):
    p = _params() if params is None else params
    return [p], lambda: paramfit.minimize(residual, p, **kws)


def _changing_length() -> Callable:
    calls = []

    def residual(q):
        calls.append(1)
        return np.zeros(5 + len(calls))
    return residual


def _big_int_tie():
    p = _params()
    p.symbols["k"] = int("9" * 4001)
    return [p], lambda: (p.add("c", expr="k**1024 * k**1024"), paramfit.minimize(_line, p))


def _stored_tie(expr: str) -> Parameters:
    """A failing tie stored by item assignment, which does not evaluate it (add() and
    expr assignment refuse it at once): the fit must still refuse it, naming it."""
    p = _params()
    p["c"] = paramfit.Parameter(name="c", expr=expr)
    return p


MINIMIZE: list[Case] = [
    ("minimize", "residual returns a list of strings ['1','2','3']",
     lambda: _minimize(lambda q: ["1", "2", "3"])),
    ("minimize", "residual returns a numpy str array", lambda: _minimize(
        lambda q: np.array(["1.0"] * 20))),
    ("minimize", "residual returns a bytes array", lambda: _minimize(
        lambda q: np.array([b"1"] * 20))),
    ("minimize", "residual returns an object array holding a string", lambda: _minimize(
        lambda q: np.array([1.0, "2"], dtype=object))),
    ("minimize", "residual returns None", lambda: _minimize(lambda q: None)),
    ("minimize", "residual returns a dict", lambda: _minimize(lambda q: {"a": 1})),
    ("minimize", "residual returns a masked array (1e6 outlier masked)", lambda: _minimize(
        lambda q: _masked() - (q["a"].value * X + q["b"].value))),
    ("minimize", "residual returns an empty array", lambda: _minimize(lambda q: np.zeros(0))),
    ("minimize", "residual returns a ragged list", lambda: _minimize(lambda q: [[1.0], [1, 2]])),
    ("minimize", "residual NaN at the start", lambda: _minimize(
        lambda q: np.full(20, np.nan))),
    ("minimize", "residual inf at the start", lambda: _minimize(lambda q: np.full(20, np.inf))),
    ("minimize", "residual length changes between calls", lambda: _minimize(_changing_length())),
    ("minimize", "residual raises KeyError", lambda: _minimize(lambda q: q["nope"])),
    ("minimize", "params is a dict", lambda: ([], lambda: paramfit.minimize(_line, {"a": 1}))),
    ("minimize", "no varied parameter", lambda: _minimize(_line, _fixed())),
    ("minimize", "fewer residuals than parameters", lambda: _minimize(lambda q: np.zeros(1))),
    ("minimize", "tie '9**1024'", lambda: _add_tie("9**1024")),
    ("minimize", "tie 'hypot(erf, frexp, 100)'", lambda: _add_tie("hypot(erf, frexp, 100)")),
    ("minimize", "tie 'hypot(erf, frexp, 100)' stored unevaluated (item assignment)",
     lambda: _minimize(_line, _stored_tie("hypot(erf, frexp, 100)"))),
    ("minimize", "tie with an unknown name", lambda: _minimize(_line, _params(c="2*zz"))),
    ("minimize", "tie with attribute access 'a.__class__'", lambda: _add_tie("a.__class__")),
    ("minimize", "ties in a cycle c -> d -> c", lambda: _cycle()),
    ("minimize", "ties in a cycle stored unevaluated (item assignment)", lambda: _minimize(
        _line, _stored_cycle())),
    ("minimize", "tie k**1024 of a 4001-digit integer symbol", lambda: _big_int_tie()),
    ("minimize", "tie '1 << 100000'", lambda: _add_tie("1 << 100000")),
    ("minimize", "tie 'factorial(1000)'", lambda: _add_tie("factorial(1000)")),
    ("minimize", "tie '9**1024' stored unevaluated (item assignment)", lambda: _minimize(
        _line, _stored_tie("9**1024"))),
    ("minimize", "unknown method name 'levenberg'", lambda: _minimize(_line, method="levenberg")),
    ("minimize", "unknown option foo=1", lambda: _minimize(_line, foo=1)),
    ("minimize", "NaN start value", lambda: _minimize(_line, _nan_start())),
    ("minimize", "Jacobian returns strings", lambda: _minimize(
        _line, jac=lambda q: [["1", "2"]] * 20)),
    ("minimize", "nan_policy='maybe'", lambda: _minimize(_line, nan_policy="maybe")),
]


def _fixed() -> Parameters:
    p = _params()
    p["a"].vary = p["b"].vary = False
    return p


def _add_tie(expr: str):
    p = _params()
    return [p], lambda: (p.add("c", expr=expr), paramfit.minimize(_line, p))


def _cycle():
    p = _params()
    p.add("c", 0.0)
    p.add("d", 0.0)
    p["c"].expr = "d + 1"

    def close_the_cycle():
        p["d"].expr = "c + 1"  # refused here (lmfit 1.3), p unchanged
        return paramfit.minimize(_line, p)
    return [p], close_the_cycle


def _stored_cycle() -> Parameters:
    p = _params()
    p.add("c", 0.0)
    p["c"].expr = "d + 1"
    p["d"] = paramfit.Parameter(name="d", expr="c + 1")
    return p


def _nan_start() -> Parameters:
    p = _params()
    p["a"].value = np.nan
    return p


def _model_fit(data: Any = None, *, x: Any = None, model: Any = None, **kws: Any):
    data = Y.copy() if data is None else data
    x = X.copy() if x is None else x
    model = LinearModel() if model is None else model
    params = model.make_params(slope=1.0, intercept=0.0) if isinstance(model, LinearModel) \
        else model.make_params()
    inputs = [data, x, params, *[v for v in kws.values() if isinstance(v, np.ndarray)]]
    return inputs, lambda: model.fit(data, params, x=x, **kws)


def _with_nan(values: np.ndarray, index: int = 4) -> np.ndarray:
    out = values.copy()
    out[index] = np.nan
    return out


def _text_model(x, a=1.0):
    return np.array([str(v) for v in a * x])


MODEL_FIT: list[Case] = [
    ("Model.fit", "data masked (1e6 outlier under the mask)", lambda: _model_fit(_masked())),
    ("Model.fit", "weights masked", lambda: _model_fit(weights=np.ma.masked_array(
        np.ones(X.size)))),
    ("Model.fit", "x masked", lambda: _model_fit(x=np.ma.masked_array(X.copy()))),
    ("Model.fit", "data as a list of strings", lambda: _model_fit([str(v) for v in Y])),
    ("Model.fit", "weights as strings", lambda: _model_fit(weights=np.array(["1"] * X.size))),
    ("Model.fit", "data with a NaN (nan_policy='raise')", lambda: _model_fit(_with_nan(Y))),
    ("Model.fit", "x with a NaN", lambda: _model_fit(x=_with_nan(X))),
    ("Model.fit", "x shorter than the data", lambda: _model_fit(x=X[:-3].copy())),
    ("Model.fit", "weights of the wrong shape", lambda: _model_fit(weights=np.ones(3))),
    ("Model.fit", "params a dict", lambda: ([], lambda: LinearModel().fit(Y, {"slope": 1},
                                                                          x=X))),
    ("Model.fit", "no independent variable given", lambda: ([], lambda: LinearModel().fit(
        Y, LinearModel().make_params(slope=1, intercept=0)))),
    ("Model.fit", "nan_policy='drop'", lambda: _model_fit(nan_policy="drop")),
    ("Model.fit", "start value NaN", lambda: ([], lambda: LinearModel().fit(
        Y, x=X, slope=np.nan, intercept=0.0))),
    ("Model.fit", "model function returns strings", lambda: _model_fit(model=Model(_text_model))),
    ("Model.fit", "unknown fitting method", lambda: _model_fit(method="simplex-ish")),
]

FILES: list[Case] = [
    ("Model.loads", '{"func": "this:s"} (prints the Zen of Python if imported)', lambda: (
        [], lambda: loads_model(_function_doc("this:s")))),
    ("Model.loads", '{"func": "os:system"}', lambda: ([], lambda: loads_model(
        _function_doc("os:system")))),
    ("Model.loads", '{"jac": "os:getcwd"} with a lineshape func', lambda: ([], lambda: loads_model(
        _function_doc("paramfit.models.lineshapes.peaks:gaussian", jac="os:getcwd")))),
    ("Model.loads", '"paramfit_model": "abc"', lambda: ([], lambda: loads_model(
        '{"paramfit_model": "abc", "model": {}}'))),
    ("Model.loads", "JSON nested 1,000 deep", lambda: ([], lambda: loads_model(
        "[" * 1000 + "]" * 1000))),
    ("Model.loads", 'expression symbol "s": "aaaaaaaaaa" then s*1000000000', lambda: (
        [], lambda: loads_model(_expression_doc("aaaaaaaaaa")))),
    ("Model.loads", "expression symbol a list", lambda: ([], lambda: loads_model(
        _expression_doc([1, 2, 3])))),
    ("Model.loads", "expression symbol a 4001-digit integer", lambda: ([], lambda: loads_model(
        _expression_doc(10**4000)))),
    ("Model.loads", "unknown built-in class", lambda: ([], lambda: loads_model(json.dumps(
        {"paramfit_model": 1, "model": {"kind": "builtin", "class": "os.system",
                                        "independent_vars": ["x"]}})))),
    ("Model.loads", "no 'kind'", lambda: ([], lambda: loads_model(
        '{"paramfit_model": 1, "model": {"independent_vars": ["x"]}}'))),
    ("Model.loads", "not JSON", lambda: ([], lambda: loads_model("{paramfit"))),
    ("ModelResult.loads", "a result document with no data", lambda: ([], lambda: loads_modelresult(
        json.dumps({"paramfit_modelresult": 1, "model": json.loads(LinearModel().dumps())[
            "model"]})))),
    ("Parameters.loads", "4001-digit integer symbol, then k**1024 six times", lambda: _loads(
        _params_doc("*".join(["k**1024"] * 6), {"k": {"int": int("9" * 4001)}}))),
    ("Parameters.loads", 'string symbol {"str": "aaaa"}', lambda: _loads(
        _params_doc("s*1000000000", {"s": {"str": "aaaa"}}))),
    ("Parameters.loads", "NaN symbol", lambda: _loads(_params_doc("k", {"k": {"float": "nan"}}))),
    ("Parameters.loads", "expression 'a.__class__' (text kept, not 'malformed entry')",
     lambda: _loads(_params_doc("a.__class__", {}))),
    ("Parameters.loads", "an entry without a name", lambda: _loads(
        '{"parameters": [{"value": 1.0}]}')),
    ("Parameters.loads", "value 'abc'", lambda: _loads(
        '{"parameters": [{"name": "a", "value": "abc"}]}')),
    ("Parameters.loads", "JSON nested 1,000 deep", lambda: _loads("[" * 1000 + "]" * 1000)),
    ("Parameters.loads", "symbols is a number", lambda: _loads(
        '{"parameters": [], "symbols": 3}')),
    ("Parameters.loads", "not JSON (bytes 0xff 0xfe)", lambda: _loads(b"\xff\xfe")),
]


def _function_doc(func: str, **extra: Any) -> str:
    return json.dumps({"paramfit_model": 1, "model": {
        "kind": "function", "func": func, "independent_vars": ["x"], **extra}})


def _expression_doc(symbol: Any) -> str:
    return json.dumps({"paramfit_model": 1, "model": {
        "kind": "expression", "expr": "s * 1000000000 + a*x", "independent_vars": ["x"],
        "symbols": {"s": symbol}}})


def _params_doc(expr: str, symbols: dict) -> str:
    return json.dumps({"parameters": [{"name": "a", "value": 1.0}, {"name": "b", "expr": expr}],
                       "symbols": symbols})


def _loads(text: Any):
    target = _params()
    return [target], lambda: target.loads(text)


def _batch(data: Any = None, x: Any = None, **kws: Any):
    data = np.vstack([Y, Y + 0.5]) if data is None else data
    x = X.copy() if x is None else x
    inputs = [data, x, *[v for v in kws.values() if isinstance(v, np.ndarray)]]
    return inputs, lambda: fit_many(LinearModel(), data, x=x, **kws)


FIT_MANY: list[Case] = [
    ("fit_many", "data masked", lambda: _batch(np.ma.vstack([_masked(), _masked()]))),
    ("fit_many", "data as lists of strings", lambda: _batch([[str(v) for v in Y]] * 2)),
    ("fit_many", "ragged rows", lambda: _batch([list(Y), list(Y[:-2])])),
    ("fit_many", "1-D data", lambda: _batch(Y.copy())),
    ("fit_many", "x masked", lambda: _batch(x=np.ma.masked_array(X.copy()))),
    ("fit_many", "x of the wrong length", lambda: _batch(x=X[:5].copy())),
    ("fit_many", "weights of the wrong shape", lambda: _batch(weights=np.ones(3))),
    ("fit_many", "weights masked", lambda: _batch(weights=np.ma.masked_array(np.ones(X.size)))),
    ("fit_many", "starts names an unknown parameter", lambda: _batch(starts={"nope": 1.0})),
    ("fit_many", "starts of the wrong length", lambda: _batch(starts={"slope": [1.0, 2.0, 3.0]})),
]


class _UserError(Exception):
    """The user's own exception, raised by a user function."""


def _raising(p, fjac=None):
    raise _UserError("the user's function failed")


def _mpfit(deviates: Callable, parinfo: Any = None, **kws: Any):
    return [], lambda: mpfit(deviates, [1.0, 0.0], parinfo=parinfo, quiet=True, **kws)


MPFIT: list[Case] = [
    ("mpfit", "deviates are strings", lambda: _mpfit(lambda p, fjac=None: [0, ["1", "2", "3"]])),
    ("mpfit", "deviates a masked array", lambda: _mpfit(
        lambda p, fjac=None: [0, _masked() - (p[0] * X + p[1])])),
    ("mpfit", "returns None", lambda: _mpfit(lambda p, fjac=None: None)),
    ("mpfit", "deviates NaN", lambda: _mpfit(lambda p, fjac=None: [0, np.full(20, np.nan)])),
    ("mpfit", "fcn raises its own error", lambda: _mpfit(_raising)),
    ("mpfit", "parinfo limits min > max", lambda: _mpfit(
        lambda p, fjac=None: [0, Y - p[0] * X - p[1]],
        [{"limited": [1, 1], "limits": [2.0, 1.0]}, {}])),
    ("mpfit", "parinfo tied to an unknown name", lambda: _mpfit(
        lambda p, fjac=None: [0, Y - p[0] * X - p[1]], [{}, {"tied": "2*q[0]"}])),
]


def _nlxb(data: dict | None = None, formula: str = "y ~ a*x + b", start: Any = None, **kws):
    data = {"x": X.copy(), "y": Y.copy()} if data is None else data
    start = {"a": 1.0, "b": 0.0} if start is None else start
    return [data, start], lambda: nlxb(formula, data, start, **kws)


def _nlfb(resfn: Callable, start: Any = None, **kws: Any):
    start = [1.0, 0.0] if start is None else start
    return [start], lambda: nlfb(start, resfn, **kws)


NLS: list[Case] = [
    ("nlxb", "masked data column", lambda: _nlxb({"x": X.copy(), "y": _masked()})),
    ("nlxb", "text data column", lambda: _nlxb({"x": X.copy(), "y": [str(v) for v in Y]})),
    ("nlxb", "column typo in the formula (y ~ a*xx + b)", lambda: _nlxb(formula="y ~ a*xx + b")),
    ("nlxb", "formula without '~'", lambda: _nlxb(formula="a*x + b")),
    ("nlxb", "start names a parameter the formula does not use", lambda: _nlxb(
        start={"a": 1.0, "b": 0.0, "c": 1.0})),
    ("nlxb", "masked weights", lambda: _nlxb(weights=np.ma.masked_array(np.ones(X.size)))),
    ("nlxb", "negative weights", lambda: _nlxb(weights=-np.ones(X.size))),
    ("nlxb", "lower > upper", lambda: _nlxb(lower={"a": 2.0}, upper={"a": 1.0})),
    ("nlxb", "formula with a forbidden construct", lambda: _nlxb(formula="y ~ a.real*x + b")),
    ("nlfb", "resfn returns strings", lambda: _nlfb(lambda b: ["1", "2", "3"])),
    ("nlfb", "resfn returns a masked array", lambda: _nlfb(
        lambda b: _masked() - (b[0] * X + b[1]))),
    ("nlfb", "resfn raises", lambda: _nlfb(lambda b: b[7])),
    ("nlfb", "jacfn returns strings", lambda: _nlfb(
        lambda b: Y - (b[0] * X + b[1]), jacfn=lambda b: [["1", "2"]] * 20)),
    ("nlfb", "maskidx not an integer", lambda: _nlfb(lambda b: Y - b[0] * X - b[1],
                                                     maskidx=[0.5])),
    ("nlfb", "resfn not callable", lambda: _nlfb("y - a*x")),
]

_CSV = "x,y\n" + "".join(f"{float(x)!r},{float(y)!r}\n" for x, y in zip(X, Y, strict=True))


def _cli(*argv: str, files: dict[str, bytes] | None = None):
    def run() -> tuple[int, str]:
        with tempfile.TemporaryDirectory() as folder:
            for name, content in (files or {"line.csv": _CSV.encode()}).items():
                Path(folder, name).write_bytes(content)
            err = io.StringIO()
            cwd = os.getcwd()
            try:
                os.chdir(folder)
                with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
                    code = cli_main(list(argv))
            finally:
                os.chdir(cwd)
            return code, err.getvalue()
    return [], run


def _holey() -> bytes:
    lines = _CSV.splitlines()
    lines[4] = lines[4].split(",")[0] + ","
    return ("\n".join(lines) + "\n").encode()


CLI: list[Case] = [
    ("CLI", "-m gausian (typo of a built-in model)", lambda: _cli("fit", "line.csv", "-m",
                                                                   "gausian")),
    ("CLI", "-m 'gaussian + linar'", lambda: _cli("fit", "line.csv", "-m", "gaussian + linar")),
    ("CLI", "column typo: y ~ a*xx", lambda: _cli("fit", "line.csv", "-m", "y ~ a*xx",
                                                  "--start", "a=1")),
    ("CLI", "formula parameters without --start", lambda: _cli("fit", "line.csv", "-m",
                                                               "y ~ a*x + b")),
    ("CLI", "--fix a=2 --tie a=2*c", lambda: _cli(
        "fit", "line.csv", "-m", "y ~ a*x + b + 0*c", "--start", "a=1,b=0,c=1", "--fix", "a=2",
        "--tie", "a=2*c")),
    ("CLI", "one empty cell (file line 5)", lambda: _cli(
        "fit", "holey.csv", "-m", "y ~ a*x + b", "--start", "a=1,b=0",
        files={"holey.csv": _holey()})),
    ("CLI", "model NaN at the start (log of negatives)", lambda: _cli(
        "fit", "line.csv", "-m", "y ~ a*log(x - 100)", "--start", "a=1")),
    ("CLI", "missing data file", lambda: _cli("fit", "nowhere.csv", "-m", "y ~ a*x",
                                              "--start", "a=1")),
    ("CLI", "--start a=one", lambda: _cli("fit", "line.csv", "-m", "y ~ a*x", "--start",
                                          "a=one")),
    ("CLI", "--start names an unknown parameter", lambda: _cli(
        "fit", "line.csv", "-m", "y ~ a*x", "--start", "a=1,q=2")),
    ("CLI", "formula with attribute access", lambda: _cli("fit", "line.csv", "-m",
                                                          "y ~ a.real*x")),
    ("CLI", "--err column with a zero", lambda: _cli(
        "fit", "e.csv", "-m", "y ~ a*x", "--start", "a=1", "--err", "e",
        files={"e.csv": b"x,y,e\n1,2,0\n2,4,1\n3,6,1\n"})),
    ("CLI", "--nan-policy bogus", lambda: _cli("fit", "line.csv", "-m", "y ~ a*x",
                                               "--nan-policy", "bogus")),
    ("CLI", "a non-numeric cell", lambda: _cli(
        "fit", "t.csv", "-m", "y ~ a*x", "--start", "a=1",
        files={"t.csv": b"x,y\n1,2\n2,four\n3,6\n"})),
    ("CLI", "rows of different lengths", lambda: _cli(
        "fit", "r.csv", "-m", "y ~ a*x", "--start", "a=1",
        files={"r.csv": b"x,y\n1,2\n2,4,5\n3,6\n"})),
    ("CLI", "batch: formula parameter without --start", lambda: _cli(
        "batch", "m.txt", "--x-row", "-m", "y ~ a*x", files={"m.txt": b"1 2 3\n2 4 6\n3 6 9\n"})),
]

#: Bad input that is now handled correctly (no error is the right answer): checked.
HANDLED: list[tuple[str, str, Callable[[], Any]]] = []

CASES: list[Case] = MINIMIZE + MODEL_FIT + FILES + FIT_MANY + MPFIT + NLS + CLI


# ---------------------------------------------------------------------- running a case
def _snapshot(value: Any) -> Any:
    if isinstance(value, Parameters):
        return ("params", value.dumps())
    if isinstance(value, np.ma.MaskedArray):
        return ("masked", value.data.copy(), np.ma.getmaskarray(value).copy())
    return ("copy", copy.deepcopy(value))


def _same(before: Any, value: Any) -> bool:
    kind = before[0]
    if kind == "params":
        return value.dumps() == before[1]
    if kind == "masked":
        return np.array_equal(value.data, before[1], equal_nan=True) and np.array_equal(
            np.ma.getmaskarray(value), before[2])
    return _equal(before[1], value)


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        return a.shape == b.shape and a.dtype == b.dtype and (
            np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(
            _equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(_equal, a, b))
    return a == b


def outcome(make: Callable) -> tuple[str, str, bool]:
    """``(verdict, what it gets, inputs unchanged)`` for one case."""
    inputs, thunk = make()
    before = [_snapshot(v) for v in inputs]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            result = thunk()
        except ParamfitError as exc:
            verdict, text = "error", f"{type(exc).__name__}: {exc}"
        except Exception as exc:  # noqa: BLE001  (what the table is there to find)
            verdict, text = "RAW", f"{type(exc).__name__}: {exc}"
            if isinstance(exc, _UserError) or _raised_by_user_code(exc):
                verdict, text = "user", (f"the user's own {type(exc).__name__} re-raised "
                                         "as its own type (lmfit 1.3; classic MPFIT), the "
                                         "parameter values added")
        else:
            verdict, text = _judge(result)
    unchanged = all(_same(b, v) for b, v in zip(before, inputs, strict=True))
    return verdict, " ".join(text.split()), unchanged


def _raised_by_user_code(exc: BaseException) -> bool:
    """The exception came from the user's function (this file), not from paramfit: the
    innermost Python frame of its traceback is outside the package."""
    tb = exc.__traceback__
    last = None
    while tb is not None:
        last, tb = tb.tb_frame.f_code.co_filename, tb.tb_next
    return last is not None and os.path.basename(last) == os.path.basename(__file__)


def _judge(result: Any) -> tuple[str, str]:
    if isinstance(result, tuple) and len(result) == 2 and isinstance(result[0], int):
        code, err = result  # the command line
        lines = [line for line in err.splitlines() if line.startswith("paramfit: error:")]
        if code == 2 and lines:
            return "error", f"exit 2: {lines[0]}"
        return "SILENT", f"exit {code}: {err.strip()[:200]}"
    status = getattr(result, "status", None)
    if isinstance(status, int) and status <= 0 and getattr(result, "errmsg", ""):
        return "error", f"status {status}: {result.errmsg}"
    return "SILENT", f"returned {type(result).__name__}"


@pytest.mark.parametrize(("front", "what", "make"), CASES,
                         ids=[f"{front}: {what}" for front, what, _ in CASES])
def test_bad_input_gets_a_clear_error_and_changes_nothing(front, what, make) -> None:
    verdict, text, unchanged = outcome(make)
    allowed = ("error", "user")  # "user": the user's own exception, as its own type
    assert verdict in allowed, f"{front}: {what}: {verdict} {text}"
    assert unchanged, f"{front}: {what}: the caller's input changed"
    assert "Traceback" not in text


def test_bad_input_batch_empty_cell_names_its_file_line() -> None:
    # issue 20: the dataset on file line 4 (after a comment line) has an empty 3rd value:
    # it ends failed (exit 1: not every dataset converged) and a warning names the line
    pytest.importorskip("pandas")   # the batch command writes its table through pandas
    _, run = _cli("batch", "m.csv", "--x-row", "-m", "y ~ a*x", "--start", "a=1",
                  files={"m.csv": b"# x then datasets\n1,2,3\n2,4,6\n3,6,\n"})
    code, err = run()
    assert code == 1
    assert "paramfit: warning: m.csv: empty or NaN values at line 4 column 3" in err


def test_bad_input_excel_csv_is_read_right(tmp_path) -> None:
    """Handled, not refused: Excel's CSV UTF-8 (BOM + CRLF) gives the plain file's fit."""
    results = []
    for name, content in (("plain.csv", _CSV.encode()),
                          ("excel.csv", b"\xef\xbb\xbf" + _CSV.replace("\n", "\r\n").encode())):
        path = tmp_path / name
        path.write_bytes(content)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = cli_main(["fit", str(path), "-m", "y ~ a*x + b", "--start", "a=1,b=0",
                             "--report", "json"])
        assert code == 0
        results.append(json.loads(out.getvalue())["values"])
    assert results[0] == results[1] and sorted(results[1]) == ["a", "b"]


def table() -> str:
    """The markdown table of every case and what it gets now."""
    rows = ["| # | front end | bad input | what it gets now | inputs unchanged |",
            "|---|---|---|---|---|"]
    counts: dict[str, int] = {}
    for number, (front, what, make) in enumerate(CASES, start=1):
        verdict, text, unchanged = outcome(make)
        counts[verdict] = counts.get(verdict, 0) + 1
        shown = text if len(text) <= 230 else text[:227] + "..."
        shown = shown.replace("|", "\\|")
        mark = "" if verdict in ("error", "user") else f"**{verdict}** "
        rows.append(f"| {number} | {front} | {what.replace('|', '/')} | {mark}{shown} | "
                    f"{'yes' if unchanged else '**NO**'} |")
    summary = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))
    return "\n".join(rows), summary, len(CASES)


if __name__ == "__main__":
    body, summary, total = table()
    target = Path(__file__).resolve().parents[1] / "docs" / "bad_input.md"
    text = target.read_text(encoding="utf-8") if target.exists() else ""
    start, end = "<!-- table: begin -->", "<!-- table: end -->"
    block = f"{start}\n{total} cases ({summary}).\n\n{body}\n{end}"
    if start in text:
        text = text[:text.index(start)] + block + text[text.index(end) + len(end):]
    else:
        text += "\n" + block + "\n"
    target.write_text(text, encoding="utf-8")
    print(f"{total} cases: {summary}", file=sys.stderr)
