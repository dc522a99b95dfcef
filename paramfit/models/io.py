"""Save and load models and model results as JSON -- no pickled code.

A model is written as a small tree: built-in models by class name and options
(``{"kind": "builtin", "class": "StepModel", "options": {"form": "erf"}}``), expression
models by their formula (recompiled by the safe engine on load), composites by operator
and operands, and models of user functions by an importable reference
``"module:qualname"``.  A function that cannot be imported back -- a lambda, a function
defined inside another function or in ``__main__`` -- is refused when saving, with a
message that says why; pass ``funcdefs={'name': function}`` when loading to supply
functions by name instead.  Loading imports the named module, so load only files you
trust as you would trust an import.

This module is the file format only and imports no model class: the modules that define
the classes a file can name (:mod:`~paramfit.models.model`, :mod:`~paramfit.models.expression`,
:mod:`~paramfit.models.builtin`, :mod:`~paramfit.models.result`) import it -- ``Model.dumps``
and ``ModelResult.dumps`` write through it -- and make their classes known to it with
:func:`register_model_class` when they are imported.  Importing any module of
:mod:`paramfit.models` imports them all (the package imports them), so every class is
known before anything is loaded.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from paramfit.core.exceptions import ParameterError
from paramfit.core.parameters.parameters import Parameters
from paramfit.models.common import STATISTICS

__all__ = [
    "dumps_model", "loads_model", "save_model", "load_model", "dumps_modelresult",
    "loads_modelresult", "save_modelresult", "load_modelresult", "FORMAT_VERSION",
    "register_model_class",
]

FORMAT_VERSION = 1

#: The kinds of class a saved file names, each registered by the module defining it.
KINDS = ("function", "composite", "expression", "result", "builtin")
_CLASSES: dict[str, type] = {}   # kind -> class ('function' is Model itself)
_BUILTIN: dict[str, type] = {}   # built-in model classes by class name


def register_model_class(kind: str, cls: type) -> None:
    """Make ``cls`` known to the loaders and savers of this module.

    Parameters
    ----------
    kind : {'function', 'composite', 'expression', 'result', 'builtin'}
        ``'function'``: :class:`~paramfit.models.model.Model` (a model of a user
        function); ``'composite'``, ``'expression'``: the classes whose instances (and
        subclasses' instances) are saved as composites and formulas; ``'result'``:
        :class:`~paramfit.models.result.ModelResult`; ``'builtin'``: a built-in model,
        saved by class name (a subclass of it is saved as a function model).
    cls : type
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if kind == "builtin":
        _BUILTIN[cls.__name__] = cls
    else:
        _CLASSES[kind] = cls


def _registered(kind: str) -> type:
    cls = _CLASSES.get(kind)
    if cls is None:  # only while paramfit.models is being imported
        raise ParameterError(f"no class is registered for saved {kind!r} objects yet: "
                             "import paramfit.models before loading")
    return cls


def _is(model: Any, kind: str) -> bool:
    cls = _CLASSES.get(kind)
    return cls is not None and isinstance(model, cls)


# ---------------------------------------------------------------------- functions
def function_reference(func: Callable, what: str = "model function") -> str:
    """``'module:qualname'`` of an importable function, or a clear error."""
    module = getattr(func, "__module__", None)
    qualname = getattr(func, "__qualname__", None)
    label = f"{what} {getattr(func, '__name__', repr(func))!r}"
    if not module or not qualname:
        raise ParameterError(f"cannot save {label}: it has no module and qualified name")
    if "<lambda>" in qualname:
        raise ParameterError(f"cannot save {label}: it is a lambda; define it with def at "
                             "module level in an importable module")
    if "<locals>" in qualname:
        raise ParameterError(f"cannot save {label}: it is defined inside another function; "
                             "define it at module level in an importable module")
    if module == "__main__":
        raise ParameterError(
            f"cannot save {label}: it is defined in __main__ (a script or an interactive "
            "session), which cannot be imported when loading; move it to a module, or "
            "save anyway by loading with funcdefs={name: function}")
    try:
        found = resolve_reference(f"{module}:{qualname}")
    except ParameterError:
        found = None
    if found is not func:
        raise ParameterError(f"cannot save {label}: importing {module}:{qualname} does not "
                             "give this function back")
    return f"{module}:{qualname}"


def resolve_reference(reference: str, funcdefs: Mapping[str, Callable] | None = None
                      ) -> Callable:
    """Import ``'module:qualname'`` (or take it from ``funcdefs`` by name)."""
    module_name, _, qualname = reference.partition(":")
    funcdefs = funcdefs or {}
    for key in (reference, qualname, qualname.rsplit(".", 1)[-1]):
        if key in funcdefs:
            return funcdefs[key]
    try:
        obj: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ParameterError(
            f"cannot load function {reference!r}: {type(exc).__name__}: {exc}. Make the "
            "module importable or pass funcdefs={'" + qualname + "': function}") from exc
    if not callable(obj):
        raise ParameterError(f"{reference!r} is not callable")
    return obj


# ---------------------------------------------------------------------- models
def model_to_dict(model: Any) -> dict[str, Any]:
    """The JSON-able description of a model (see the module docstring)."""
    if _is(model, "composite"):
        return {"kind": "composite", "op": model.op, "name": model._name,
                "left": model_to_dict(model.left), "right": model_to_dict(model.right)}
    common = {"prefix": model.prefix, "nan_policy": model.nan_policy,
              "independent_vars": list(model.independent_vars),
              "param_hints": _plain_hints(model.param_hints), "name": model._name}
    if _is(model, "expression"):
        for key, value in model.user_symbols.items():
            if not isinstance(value, (int, float)):
                raise ParameterError(f"cannot save ExpressionModel symbol {key!r}: only "
                                     "numbers are saved; pass functions again when loading")
        return {"kind": "expression", "expr": model.expr, "symbols": model.user_symbols,
                **common}
    cls = type(model)
    if _BUILTIN.get(cls.__name__) is cls:
        return {"kind": "builtin", "class": cls.__name__, "options": model.option_values(),
                **common}
    jac = model.user_jac
    return {"kind": "function", "func": function_reference(model.func),
            "jac": None if jac is None else function_reference(jac, "Jacobian function"),
            "options": dict(model.opts), **common}


def _plain_hints(hints: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    out = {}
    for name, hint in hints.items():
        out[name] = {k: (_number(v) if isinstance(v, float) else v) for k, v in hint.items()}
    return out


def _number(value: float) -> Any:
    return value if np.isfinite(value) else str(value)


def _unnumber(value: Any) -> Any:
    return float(value) if value in ("inf", "-inf", "nan") else value


def model_from_dict(data: Mapping[str, Any], funcdefs: Mapping[str, Callable] | None = None
                    ) -> Any:
    """Rebuild a model from :func:`model_to_dict` output."""
    kind = data.get("kind")
    if kind == "composite":
        composite = _registered("composite")
        return composite(model_from_dict(data["left"], funcdefs),
                         model_from_dict(data["right"], funcdefs), data["op"],
                         name=data.get("name"))
    common = {"prefix": data.get("prefix", ""), "nan_policy": data.get("nan_policy", "raise")}
    if kind == "builtin":
        cls = _BUILTIN.get(data["class"])
        if cls is None:
            raise ParameterError(f"unknown built-in model {data['class']!r}")
        model = cls(independent_vars=data["independent_vars"], name=data.get("name"),
                    **common, **data.get("options", {}))
    elif kind == "expression":
        expression = _registered("expression")
        model = expression(data["expr"], independent_vars=data["independent_vars"],
                           nan_policy=common["nan_policy"], name=data.get("name"),
                           symbols={**data.get("symbols", {}), **(funcdefs or {})})
    elif kind == "function":
        func = resolve_reference(data["func"], funcdefs)
        jac = resolve_reference(data["jac"], funcdefs) if data.get("jac") else None
        function_model = _registered("function")
        model = function_model(func, independent_vars=data["independent_vars"], jac=jac,
                               name=data.get("name"), **common, **data.get("options", {}))
    else:
        raise ParameterError(f"not a saved paramfit model (kind={kind!r})")
    model.param_hints = {name: {k: _unnumber(v) for k, v in hint.items()}
                         for name, hint in data.get("param_hints", {}).items()}
    return model


def dumps_model(model: Any, **json_kws: Any) -> str:
    """The model as a JSON string (see :func:`loads_model`).

    Examples
    --------
    >>> from paramfit.models.builtin import GaussianModel
    >>> model = loads_model(dumps_model(GaussianModel(prefix='g_')))
    >>> model.param_names
    ['g_amplitude', 'g_center', 'g_sigma']
    """
    return json.dumps({"paramfit_model": FORMAT_VERSION, "model": model_to_dict(model)},
                      **json_kws)


def loads_model(s: str | bytes, *, funcdefs: Mapping[str, Callable] | None = None) -> Any:
    """Rebuild a model from :func:`dumps_model` output."""
    data = _load_json(s, "paramfit_model")
    return model_from_dict(data["model"], funcdefs)


def save_model(model: Any, path: str | Path) -> None:
    """Write :func:`dumps_model` to a file."""
    Path(path).write_text(dumps_model(model), encoding="utf-8")


def load_model(path: str | Path, *, funcdefs: Mapping[str, Callable] | None = None) -> Any:
    """Read a model saved by :func:`save_model`."""
    return loads_model(Path(path).read_text(encoding="utf-8"), funcdefs=funcdefs)


def _load_json(s: str | bytes, key: str) -> dict[str, Any]:
    try:
        data = json.loads(s)
    except ValueError as exc:
        raise ParameterError(f"not valid JSON: {exc}") from exc
    if not isinstance(data, dict) or key not in data:
        raise ParameterError(f"not a saved paramfit object: the JSON has no {key!r} entry")
    if data[key] > FORMAT_VERSION:
        raise ParameterError(f"saved with a newer format ({data[key]}); upgrade paramfit")
    return data


# ---------------------------------------------------------------------- results
def _array(value: Any) -> Any:
    if value is None:
        return None
    arr = np.asarray(value)
    if arr.dtype.kind == "c":
        return {"real": arr.real.tolist(), "imag": arr.imag.tolist()}
    if arr.dtype.kind in "biuf":
        flat = arr.astype(float).ravel().tolist()
        return {"array": [_number(v) for v in flat], "shape": list(arr.shape)}
    raise ParameterError(f"cannot save a value of type {type(value).__name__} as JSON")


def _unarray(value: Any) -> Any:
    if value is None:
        return None
    if "real" in value:
        return np.asarray(value["real"]) + 1j * np.asarray(value["imag"])
    arr = np.asarray([_unnumber(v) for v in np.ravel(value["array"])], dtype=float)
    return arr.reshape(value["shape"])


def dumps_modelresult(result: Any, **json_kws: Any) -> str:
    """A :class:`~paramfit.models.result.ModelResult` as JSON (model, data, statistics)."""
    stats = {}
    for name in STATISTICS:
        value = getattr(result, name)
        if isinstance(value, np.ndarray):
            stats[name] = {"__array__": _array(value)}
        elif isinstance(value, (bool, int, str, list, dict)) or value is None:
            stats[name] = {k: _number(float(v)) for k, v in value.items()} \
                if isinstance(value, dict) else value
        elif isinstance(value, float):
            stats[name] = _number(value)
        else:
            stats[name] = str(value)
    payload = {
        "paramfit_modelresult": FORMAT_VERSION,
        "model": model_to_dict(result.model),
        "params": json.loads(result.params.dumps()),
        "init_params": json.loads(result.init_params.dumps()),
        "data": _array(result.data),
        "weights": _array(result.weights),
        "mask": None if result.mask is None else np.asarray(result.mask).tolist(),
        "userkws": {k: _array(v) for k, v in result.userkws.items()},
        "nan_policy": result.nan_policy,
        "statistics": stats,
    }
    return json.dumps(payload, **json_kws)


def loads_modelresult(s: str | bytes, *, funcdefs: Mapping[str, Callable] | None = None
                      ) -> Any:
    """Rebuild a ModelResult from :func:`dumps_modelresult` output (no refit).

    The result has every statistic and evaluates, but holds no fitter, so
    ``conf_interval`` needs a new fit.
    """
    data = _load_json(s, "paramfit_modelresult")
    model = model_from_dict(data["model"], funcdefs)
    params = _params(data["params"], model)
    init_params = _params(data["init_params"], model)
    stats = {}
    for name, value in data["statistics"].items():
        if isinstance(value, dict) and "__array__" in value:
            value = _unarray(value["__array__"])
        elif isinstance(value, dict):
            value = {k: _unnumber(v) for k, v in value.items()}
        else:
            value = _unnumber(value)
        stats[name] = value
    mask = None if data["mask"] is None else np.asarray(data["mask"], dtype=bool)
    model_result = _registered("result")
    return model_result(model, None, params=params, data=_unarray(data["data"]),
                        weights=_unarray(data["weights"]),
                        userkws={k: _unarray(v) for k, v in data["userkws"].items()},
                        init_params=init_params, nan_policy=data["nan_policy"], mask=mask,
                        statistics=stats)


def _params(blob: Any, model: Any) -> Parameters:
    params = Parameters()
    params.symbols.update(model._symbols())
    return params.loads(json.dumps(blob))


def save_modelresult(result: Any, path: str | Path) -> None:
    """Write :func:`dumps_modelresult` to a file."""
    Path(path).write_text(dumps_modelresult(result), encoding="utf-8")


def load_modelresult(source: str | Path, *, funcdefs: Mapping[str, Callable] | None = None
                     ) -> Any:
    """Load a ModelResult from a JSON string or a file written by :func:`save_modelresult`."""
    text = str(source)
    if not text.lstrip().startswith("{"):
        text = Path(source).read_text(encoding="utf-8")
    return loads_modelresult(text, funcdefs=funcdefs)
