"""Save and load models and model results as JSON -- no pickled code.

A model is written as a small tree: built-in models by class name and options
(``{"kind": "builtin", "class": "StepModel", "options": {"form": "erf"}}``), expression
models by their formula (recompiled by the safe engine on load), composites by operator
and operands, and models of user functions by a reference ``"module:qualname"`` (a
function defined inside another function by ``"module:name"``; loading any of them needs
``funcdefs``).  A lambda is refused when saving, with a message that says why.

Loading never imports a module because a file names it (a file can come from anyone): a
function reference is resolved only against paramfit's own lineshapes
(:mod:`paramfit.models.lineshapes`) and the functions the caller passes explicitly,
``funcdefs={'name': function}`` (as lmfit does).  Anything else is refused with an error
naming the JSON path of the reference.  Every malformed document -- wrong types, missing
entries, nesting deeper than :data:`MAX_JSON_DEPTH`, non-finite or non-numeric symbols --
raises :class:`~paramfit.core.exceptions.ParameterError` naming the JSON path.

This module is the file format only and imports no model class: the modules that define
the classes a file can name (:mod:`~paramfit.models.model`, :mod:`~paramfit.models.expression`,
:mod:`~paramfit.models.builtin`, :mod:`~paramfit.models.result`) import it -- ``Model.dumps``
and ``ModelResult.dumps`` write through it -- and make their classes known to it with
:func:`register_model_class` when they are imported.  Importing any module of
:mod:`paramfit.models` imports them all (the package imports them), so every class is
known before anything is loaded.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from paramfit.core.exceptions import ParameterError, ParamfitError
from paramfit.core.parameters.formats import load_json_document, number_from_json
from paramfit.core.parameters.parameters import Parameters
from paramfit.models import lineshapes as _lineshapes
from paramfit.models.common import STATISTICS
from paramfit.models.run import SAVED_RUN_ATTRIBUTES

__all__ = [
    "dumps_model", "loads_model", "save_model", "load_model", "dumps_modelresult",
    "loads_modelresult", "save_modelresult", "load_modelresult", "FORMAT_VERSION",
    "register_model_class", "register_format_reader",
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


#: Readers of other programs' files (lmfit 1.3's, :mod:`paramfit.models.lmfit_format`), by
#: what they read: ``reader(decoded JSON, funcdefs)`` returns the object or None (not its
#: format).  Tried when a document is not paramfit's own.
_READERS: dict[str, list[Callable[[Any, Mapping[str, Callable] | None], Any]]] = {
    "model": [], "modelresult": []}


def register_format_reader(what: str, reader: Callable[[Any, Mapping[str, Callable] | None],
                                                       Any]) -> None:
    """Let :func:`loads_model` (``what='model'``) or :func:`loads_modelresult`
    (``'modelresult'``) read another format: ``reader(document, funcdefs)`` returns the
    object, or None when the document is not in its format."""
    _READERS[what].append(reader)


def _foreign(s: str | bytes, what: str, funcdefs: Mapping[str, Callable] | None) -> Any:
    """The object a registered reader makes of a document that is not paramfit's, or
    None."""
    data = load_json_document(s, f"loading a saved {what}")
    for reader in _READERS[what]:
        try:
            found = reader(data, funcdefs)
        except ParamfitError:
            raise
        except (TypeError, ValueError, KeyError, AttributeError, IndexError,
                OverflowError) as exc:
            raise ParameterError(f"$: malformed saved {what} ({type(exc).__name__}: "
                                 f"{exc})") from exc
        if found is not None:
            return found
    return None


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
    if "<locals>" in qualname:  # saved by name: loading needs funcdefs={name: function}
        return f"{module}:{qualname.rsplit('.', 1)[-1]}"
    if module != "__main__":  # a __main__ function is saved; loading needs funcdefs
        found: Any = sys.modules.get(module)  # looked up, never imported
        for part in qualname.split("."):
            found = getattr(found, part, None)
        if found is not func:
            raise ParameterError(f"cannot save {label}: {module}:{qualname} does not "
                                 "name this function")
    return f"{module}:{qualname}"


def _lineshape_functions() -> dict[str, Callable]:
    """paramfit's own lineshape functions by ``'module:qualname'`` and by plain name."""
    table: dict[str, Callable] = {}
    for public, func in vars(_lineshapes).items():
        module = getattr(func, "__module__", "") or ""
        if callable(func) and not public.startswith("_") and not isinstance(func, type) \
                and module.startswith(_lineshapes.__name__ + "."):
            table[f"{module}:{func.__qualname__}"] = func
            table[public] = func
    return table


def resolve_reference(reference: Any, funcdefs: Mapping[str, Callable] | None = None,
                      where: str = "$.model.func") -> Callable:
    """The function a saved ``'module:qualname'`` names, without importing anything.

    Looked up in ``funcdefs`` (by the whole reference, the qualified name or the plain
    name), then among paramfit's own lineshapes.  Nothing else is accepted: a file can
    come from anyone, and importing a module it names would run that module's code.

    Parameters
    ----------
    reference : str
        ``'module:qualname'`` as :func:`function_reference` writes it.
    funcdefs : mapping of str to callable, optional
        The functions the caller trusts, by name.
    where : str
        The JSON path of the reference, for error messages.

    Raises
    ------
    ParameterError
        If the reference is not a string or names a function that is neither in
        ``funcdefs`` nor a paramfit lineshape.

    Examples
    --------
    >>> resolve_reference('paramfit.models.lineshapes.peaks:gaussian').__name__
    'gaussian'
    """
    if not isinstance(reference, str):
        raise ParameterError(f"{where}: a function reference must be a string "
                             f"'module:name', got {type(reference).__name__}")
    _, _, qualname = reference.partition(":")
    name = qualname.rsplit(".", 1)[-1] or reference
    funcdefs = funcdefs or {}
    for key in (reference, qualname, name):
        if key in funcdefs:
            func = funcdefs[key]
            if not callable(func):
                raise ParameterError(f"funcdefs[{key!r}] is not callable")
            return func
    func = _lineshape_functions().get(reference)
    if func is not None:
        return func
    raise ParameterError(
        f"{where}: the file names the function {reference!r:.200}, which is not a paramfit "
        "lineshape; loading never imports a module a file names. If you trust this file, "
        f"pass the function yourself: funcdefs={{{name[:80]!r}: function}}")


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


def _get(data: Any, key: str, where: str, kind: type | tuple[type, ...],
         default: Any = ...) -> Any:
    """``data[key]`` checked to be of ``kind``; a ParameterError naming the JSON path."""
    if not isinstance(data, dict):
        raise ParameterError(f"{where}: expected a JSON object, got {type(data).__name__}")
    if key not in data:
        if default is not ...:
            return default
        raise ParameterError(f"{where}: missing entry {key!r}")
    value = data[key]
    if value is None and default is None:
        return None
    if not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
        raise ParameterError(f"{where}.{key}: expected {names}, got {type(value).__name__}")
    return value


def _symbols(data: Any, where: str) -> dict[str, float]:
    """ExpressionModel symbols from a file: finite numbers only (never strings, lists)."""
    symbols = _get(data, "symbols", where, dict, {})
    out = {}
    for key, value in symbols.items():
        if isinstance(value, dict):
            out[key] = number_from_json(value, f"{where}.symbols.{key}")
        else:
            out[key] = number_from_json({"float": value} if not isinstance(value, int)
                                        or isinstance(value, bool) else {"int": value},
                                        f"{where}.symbols.{key}")
    return out


def _string_list(data: Any, key: str, where: str) -> list[str]:
    value = _get(data, key, where, list)
    if not all(isinstance(v, str) for v in value):
        raise ParameterError(f"{where}.{key}: expected a list of names")
    return value


def model_from_dict(data: Mapping[str, Any], funcdefs: Mapping[str, Callable] | None = None,
                    where: str = "$.model") -> Any:
    """Rebuild a model from :func:`model_to_dict` output.

    Every malformed entry is a ParameterError naming its JSON path (``where``); errors
    the model classes raise while rebuilding are ParamfitErrors prefixed by the path.
    """
    try:
        return _model_from_dict(data, funcdefs, where)
    except ParamfitError:
        raise
    except (TypeError, ValueError, KeyError, AttributeError, OverflowError) as exc:
        raise ParameterError(f"{where}: malformed saved model "
                             f"({type(exc).__name__}: {exc})") from exc


def _model_from_dict(data: Any, funcdefs: Mapping[str, Callable] | None, where: str) -> Any:
    kind = _get(data, "kind", where, str, None)
    if kind == "composite":
        composite = _registered("composite")
        return composite(model_from_dict(_get(data, "left", where, dict), funcdefs,
                                         where + ".left"),
                         model_from_dict(_get(data, "right", where, dict), funcdefs,
                                         where + ".right"),
                         _get(data, "op", where, str), name=_get(data, "name", where, str, None))
    common = {"prefix": _get(data, "prefix", where, str, ""),
              "nan_policy": _get(data, "nan_policy", where, str, "raise")}
    name = _get(data, "name", where, str, None)
    independent_vars = _string_list(data, "independent_vars", where)
    if kind == "builtin":
        cls = _BUILTIN.get(_get(data, "class", where, str))
        if cls is None:
            raise ParameterError(f"{where}.class: unknown built-in model {data['class']!r:.80}")
        model = cls(independent_vars=independent_vars, name=name, **common,
                    **_get(data, "options", where, dict, {}))
    elif kind == "expression":
        expression = _registered("expression")
        model = expression(_get(data, "expr", where, str), independent_vars=independent_vars,
                           nan_policy=common["nan_policy"], name=name,
                           symbols={**_symbols(data, where), **(funcdefs or {})})
    elif kind == "function":
        func = resolve_reference(data.get("func"), funcdefs, where + ".func")
        jac = resolve_reference(data["jac"], funcdefs, where + ".jac") \
            if data.get("jac") else None
        function_model = _registered("function")
        model = function_model(func, independent_vars=independent_vars, jac=jac, name=name,
                               **common, **_get(data, "options", where, dict, {}))
    else:
        raise ParameterError(f"{where}.kind: not a saved paramfit model (kind={kind!r:.80}); "
                             f"expected one of {KINDS[:3] + KINDS[4:]}")
    hints = _get(data, "param_hints", where, dict, {})
    if not all(isinstance(h, dict) for h in hints.values()):
        raise ParameterError(f"{where}.param_hints: each hint must be a JSON object")
    model.param_hints = {name: {k: _unnumber(v) for k, v in hint.items()}
                         for name, hint in hints.items()}
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
    """Rebuild a model from :func:`dumps_model` output (or an lmfit 1.3 ``save_model``
    file: :mod:`paramfit.models.lmfit_format`)."""
    if not _is_paramfit(s, "paramfit_model"):
        found = _foreign(s, "model", funcdefs)
        if found is not None:
            return found
    data = _load_json(s, "paramfit_model")
    return model_from_dict(_get(data, "model", "$", dict), funcdefs)


def save_model(model: Any, path: str | Path) -> None:
    """Write :func:`dumps_model` to a file."""
    Path(path).write_text(dumps_model(model), encoding="utf-8")


def load_model(path: str | Path, *, funcdefs: Mapping[str, Callable] | None = None) -> Any:
    """Read a model saved by :func:`save_model`."""
    return loads_model(Path(path).read_text(encoding="utf-8"), funcdefs=funcdefs)


def _is_paramfit(s: str | bytes, key: str) -> bool:
    """Whether the text of a document names paramfit's format ``key`` (a cheap test
    before any parsing; :func:`_load_json` checks properly)."""
    text = s.decode("utf-8", "replace") if isinstance(s, bytes) else str(s)
    return f'"{key}"' in text[:200]


def _load_json(s: str | bytes, key: str) -> dict[str, Any]:
    data = load_json_document(s, f"loading a saved paramfit object ({key})")
    if isinstance(data, dict) and key == "paramfit_modelresult" and "paramfit_model" in data:
        raise ParameterError("load_modelresult needs saved ModelResult: this document holds "
                             "a saved model; read it with load_model")
    if not isinstance(data, dict) or key not in data:
        raise ParameterError(f"not a saved paramfit object: the JSON has no {key!r} entry")
    version = data[key]
    if type(version) is not int or version < 1:
        raise ParameterError(f"$.{key}: the format version must be a positive integer, got "
                             f"{version!r:.80}")
    if version > FORMAT_VERSION:
        raise ParameterError(f"saved with a newer format ({version}); upgrade paramfit")
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


def _json_value(value: Any) -> Any:
    """A run attribute as JSON: booleans, integers, finite floats, strings, None, and
    dicts of them (an option of any other type is left out)."""
    if isinstance(value, dict):
        return {str(k): v for k, v in ((k, _json_value(v)) for k, v in value.items())
                if v is not None}
    if isinstance(value, (bool, int, str)) or value is None:
        return value
    if isinstance(value, float) and np.isfinite(value):
        return value
    return None


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
        "run": {name: _json_value(getattr(result, name, None)) for name in SAVED_RUN_ATTRIBUTES},
    }
    return json.dumps(payload, **json_kws)


def loads_modelresult(s: str | bytes, *, funcdefs: Mapping[str, Callable] | None = None
                      ) -> Any:
    """Rebuild a ModelResult from :func:`dumps_modelresult` output (no refit).

    The result has every statistic and evaluates, but holds no fitter, so
    ``conf_interval`` needs a new fit.  lmfit 1.3's ``save_modelresult`` files are read
    too (:mod:`paramfit.models.lmfit_format`).
    """
    if not _is_paramfit(s, "paramfit_modelresult"):
        found = _foreign(s, "modelresult", funcdefs)
        if found is not None:
            return found
    data = _load_json(s, "paramfit_modelresult")
    try:
        return _modelresult_from_dict(data, funcdefs)
    except ParamfitError:
        raise
    except (TypeError, ValueError, KeyError, AttributeError, IndexError, OverflowError) as exc:
        raise ParameterError(f"$: malformed saved model result ({type(exc).__name__}: "
                             f"{exc})") from exc


def _modelresult_from_dict(data: dict[str, Any], funcdefs: Mapping[str, Callable] | None
                           ) -> Any:
    model = model_from_dict(_get(data, "model", "$", dict), funcdefs)
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
    run = _get(data, "run", "$", dict, {})
    run = {"aborted": _get(run, "aborted", "$.run", bool, False),
           "max_nfev": _get(run, "max_nfev", "$.run", int, None),
           "calc_covar": _get(run, "calc_covar", "$.run", bool, True),
           "col_deriv": _get(run, "col_deriv", "$.run", bool, False),
           "kws": _get(run, "kws", "$.run", dict, {})}
    model_result = _registered("result")
    return model_result(model, params, data=_unarray(data["data"]),
                        weights=_unarray(data["weights"]),
                        userkws={k: _unarray(v) for k, v in data["userkws"].items()},
                        init_params=init_params, nan_policy=data["nan_policy"], mask=mask,
                        statistics=stats, run=run)


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
