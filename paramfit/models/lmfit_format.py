"""lmfit 1.3's model state and saved files: ``Model._get_state``/``_set_state`` and the
readers of lmfit's ``save_model``/``save_modelresult`` files.

lmfit describes a model by its *state*: ``(left, right, op)``, where a simple model is
``(state, None, None)`` and ``state`` a dict (``version '2'``: ``funcname``, ``funcdef``,
``name``, ``prefix``, ``independent_vars``, ``param_root_names``, ``param_hints``,
``nan_policy``, ``opts``) or, before lmfit 1.2.3, a 9-tuple of the same values; a composite
is ``(left state, right state, operator name)``.  Its files hold that state encoded by
``encode4js`` (:mod:`paramfit.core.jsonutils` decodes it), with the function *pickled*.

Nothing pickled is ever loaded: the function is taken by its saved name from the
``funcdefs`` the caller passes, else from paramfit's own lineshapes (lmfit's built-in
models save their lineshape, e.g. ``'gaussian'``), else the load fails with an error that
says how to pass it (issue 20's rule, as :mod:`paramfit.models.io`).  The readers are
registered with :func:`~paramfit.models.io.register_format_reader`, so
:func:`~paramfit.models.io.load_model` and :func:`~paramfit.models.io.load_modelresult`
read lmfit's files too.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from paramfit.core.exceptions import ParameterError, ParamfitError
from paramfit.core.jsonutils import decode4js
from paramfit.core.parameters.parameters import Parameters
from paramfit.models.composite import OPERATORS
from paramfit.models.io import _lineshape_functions, _registered, register_format_reader

__all__ = ["model_state", "model_from_state", "modelresult_from_lmfit"]

#: lmfit's operator names (``operator.add.__name__``...) by our symbols, and back.
_OP_NAMES = {"+": "add", "-": "sub", "*": "mul", "/": "truediv"}
_OP_SYMBOLS = {name: symbol for symbol, name in _OP_NAMES.items()}
#: The keys of lmfit's version-2 state, in the order of the older 9-tuple.
_STATE_KEYS = ("funcname", "funcdef", "name", "prefix", "independent_vars",
               "param_root_names", "param_hints", "nan_policy", "opts")


# ---------------------------------------------------------------------- state
def model_state(model: Any) -> tuple[Any, Any, Any]:
    """lmfit's ``_get_state()`` of ``model``: ``(state dict, None, None)`` for a simple
    model (state version '2'), ``(left, right, operator name)`` for a composite."""
    if hasattr(model, "left") and hasattr(model, "right"):
        op = model.op if not isinstance(model.op, str) else _OP_NAMES[model.op]
        return (model_state(model.left), model_state(model.right),
                op if isinstance(op, str) else getattr(op, "__name__", repr(op)))
    expr = getattr(model, "expr", None)
    funcname = "_eval" if expr is not None else getattr(model.func, "__name__", "")
    state = {"version": "2", "funcname": funcname,
             "funcdef": expr if expr is not None else model.func,
             "name": model._name or funcname, "prefix": model.prefix,
             "independent_vars": list(model.independent_vars),
             "param_root_names": list(model._param_root_names),
             "param_hints": {k: dict(v) for k, v in model.param_hints.items()},
             "nan_policy": model.nan_policy, "opts": dict(model.opts)}
    return (state, None, None)


def _function(name: Any, funcdef: Any, funcdefs: Mapping[str, Callable], where: str
              ) -> Callable:
    """The model function of a state: ``funcdefs[name]``, a function already in the state
    (an in-memory ``_get_state``), or paramfit's lineshape of that name."""
    if isinstance(name, str) and name in funcdefs:
        return funcdefs[name]
    if callable(funcdef):
        return funcdef
    lineshape = _lineshape_functions().get(name) if isinstance(name, str) else None
    if lineshape is not None:
        return lineshape
    raise ParameterError(
        f"{where}: cannot restore the model function {name!r:.80}: lmfit saved it pickled, "
        "and loading never unpickles or imports code; it is no paramfit lineshape. If you "
        f"trust this file, pass the function yourself: funcdefs={{{str(name)[:80]!r}: "
        "function}")


def model_from_state(state: Any, funcdefs: Mapping[str, Callable] | None = None,
                     where: str = "$") -> Any:
    """The model an lmfit state describes (lmfit's ``_buildmodel``; see the module).

    Raises
    ------
    ParameterError
        A malformed state, or a function neither in ``funcdefs`` nor a paramfit
        lineshape.
    """
    funcdefs = dict(funcdefs or {})
    if not isinstance(state, (tuple, list)) or len(state) != 3:
        raise ParameterError(f"{where}: cannot restore Model: an lmfit model state is "
                             "(left, right, operator)")
    left, right, op = state
    if right is not None or op is not None:
        symbol = _OP_SYMBOLS.get(op) if isinstance(op, str) else None
        if symbol is None or symbol not in OPERATORS:
            raise ParameterError(f"{where}: cannot restore Model: unknown operator {op!r:.80}"
                                 f"; expected one of {sorted(_OP_SYMBOLS)}")
        composite = _registered("composite")
        return composite(model_from_state(left, funcdefs, where + "[0]"),
                         model_from_state(right, funcdefs, where + "[1]"), symbol)
    if isinstance(left, (tuple, list)) and len(left) == len(_STATE_KEYS):
        values = dict(zip(_STATE_KEYS, left))
    elif isinstance(left, Mapping) and "version" in left:
        values = {key: left.get(key) for key in _STATE_KEYS}
    else:
        raise ParameterError(f"{where}: cannot restore Model: unrecognized state data")
    hints = values["param_hints"] or {}
    opts = values["opts"] or {}
    if not isinstance(hints, Mapping) or not isinstance(opts, Mapping) or \
            not all(isinstance(h, Mapping) for h in hints.values()):
        raise ParameterError(f"{where}: cannot restore Model: param_hints and opts must be "
                             "objects")
    common = {"independent_vars": values["independent_vars"],
              "nan_policy": values["nan_policy"] or "raise"}
    if values["funcname"] == "_eval" and isinstance(values["funcdef"], str):
        expression = _registered("expression")
        model = expression(values["funcdef"], name=values["name"], symbols=funcdefs,
                           **common, **opts)
    else:
        func = _function(values["funcname"], values["funcdef"], funcdefs, where)
        function_model = _registered("function")
        name = values["name"]
        model = function_model(func, prefix=values["prefix"] or "",
                               name=None if name == getattr(func, "__name__", None) else name,
                               param_names=values["param_root_names"], **common, **opts)
    for hint_name, hint in hints.items():
        model.set_param_hint(hint_name, **hint)
    return model


# ---------------------------------------------------------------------- files
def _read_model(doc: Any, funcdefs: Mapping[str, Callable] | None) -> Any | None:
    """An lmfit ``save_model`` file (an encoded state), or None if ``doc`` is not one."""
    if not (isinstance(doc, dict) and doc.get("__class__") == "Tuple"):
        return None
    return model_from_state(_decode(doc, "$"), funcdefs)


def _decode(value: Any, where: str) -> Any:
    try:
        return decode4js(value)
    except ParamfitError as exc:
        raise ParameterError(f"{where}: {exc}") from None


def _parameters(blob: Any, symbols: Any, model: Any,
                funcdefs: Mapping[str, Callable] | None, where: str) -> Parameters:
    """lmfit's saved Parameters: a ``Parameters.dumps()`` string (version 2) or the list of
    parameter states with the file's ``unique_symbols`` (version 1)."""
    params = Parameters()
    params.symbols.update(model._symbols())
    if isinstance(symbols, Mapping):  # older asteval's constants (NAN, Inf, infty,
        symbols = {k: v for k, v in symbols.items()  # newaxis): no user symbols
                   if isinstance(v, dict) or (isinstance(v, (int, float)) and
                                              math.isfinite(v))}
    text = blob if isinstance(blob, str) else json.dumps(
        {"unique_symbols": symbols or {}, "params": blob})
    try:
        return params.loads(text, funcdefs)
    except ParamfitError as exc:
        raise ParameterError(f"{where}: {exc}") from None


def modelresult_from_lmfit(doc: Any, funcdefs: Mapping[str, Callable] | None = None
                           ) -> Any | None:
    """A ModelResult from an lmfit ``save_modelresult`` file (versions 1 and 2), or None
    if ``doc`` is not one.  Its model, parameters, data and statistics are read; the
    residual is recomputed when the file has none (version 1)."""
    if not isinstance(doc, dict) or "modelresult" not in str(doc.get("__class__", "")).lower():
        return None
    if "model" not in doc or "params" not in doc:
        raise ParameterError("$: an lmfit ModelResult file needs 'model' and 'params'")
    model = model_from_state(_decode(doc["model"], "$.model"), funcdefs, "$.model")
    params = _parameters(doc["params"], doc.get("unique_symbols"), model, funcdefs,
                         "$.params")
    init_params = _parameters(doc.get("init_params", doc["params"]),
                              doc.get("unique_symbols"), model, funcdefs, "$.init_params")
    get = {key: _decode(doc.get(key), f"$.{key}") for key in doc
           if key not in ("model", "params", "init_params", "unique_symbols")}
    init_values = get.get("init_values") or {}
    for name, value in dict(init_values).items():  # lmfit: the start, without errors
        if name in init_params:
            par = init_params[name]
            par.stderr = par.correl = None
            par.value = value
    userargs = get.get("userargs") or (None, None)
    data = np.asarray(userargs[0])
    weights = None if len(userargs) < 2 or userargs[1] is None else np.asarray(userargs[1])
    userkws = dict(get.get("userkws") or {})
    var_names = list(get.get("var_names") or [])
    stats = {name: get.get(name) for name in ("method", "message", "lmdif_message", "aic",
                                              "bic", "chisqr", "redchi", "covar")}
    for name in ("nfev", "ier", "ndata", "nfree", "nvarys"):
        stats[name] = None if get.get(name) is None else int(get[name])
    for name in ("success", "errorbars", "scale_covar"):
        stats[name] = bool(get.get(name, True))
    stats["var_names"] = var_names
    stats["init_vals"] = [init_values.get(n) for n in var_names]
    covar = stats["covar"]
    stats["covar"] = None if covar is None else np.asarray(covar, dtype=float)
    residual = get.get("residual")
    if residual is None:
        values = {n: params[n].value for n in model.param_names}
        residual = np.asarray(model._evaluate(values, userkws)) - data
        if weights is not None:
            residual = residual * weights
    stats["residual"] = np.asarray(residual).ravel()
    run = {"aborted": bool(get.get("aborted", False)),
           "calc_covar": bool(get.get("calc_covar", True)),
           "col_deriv": bool(get.get("col_deriv", False))}
    model_result = _registered("result")
    return model_result(model, params, data=data, weights=weights, userkws=userkws,
                        init_params=init_params,
                        nan_policy=get.get("nan_policy") or "raise", statistics=stats,
                        run=run)


register_format_reader("model", _read_model)
register_format_reader("modelresult", modelresult_from_lmfit)
