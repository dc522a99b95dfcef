"""Reading a model function and setting its parameters: the rules :class:`Model` follows.

:func:`_parse_signature` applies lmfit's rule to a model function's signature (which
arguments are parameter candidates, their numeric defaults, the non-numeric options, and
whether it takes ``**kwargs``); :data:`_FORBIDDEN_NAMES` are the argument names a model
function may not use.  :func:`_apply_values` sets the values and hints (:data:`_HINT_KEYS`)
given to ``make_params``; :func:`_overridden` and :func:`_refresh_ties` re-evaluate the
ties of a parameter set.  Private module of :mod:`paramfit.models.model`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from paramfit.core.exceptions import ParameterError
from paramfit.core.parameters.parameters import Parameter, Parameters

if TYPE_CHECKING:  # the components a value may name; model.py imports this module
    from paramfit.models.model import Model

__all__ = ["_HINT_KEYS", "_FORBIDDEN_NAMES", "_is_number", "_parse_signature", "_func_name",
           "_overridden", "_refresh_ties", "_apply_values"]

_HINT_KEYS = ("value", "min", "max", "vary", "expr")
#: Argument names a model function may not use (Model.fit's own arguments, as lmfit).
_FORBIDDEN_NAMES = ("data", "weights", "params")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.number)) and not isinstance(value, bool)


def _parse_signature(func: Callable) -> tuple[list[str], dict[str, Any], list[str], bool]:
    """lmfit's rule: (parameter candidates, numeric defaults, option names, has **kwargs)."""
    candidates: list[str] = []
    defaults: dict[str, Any] = {}
    options: list[str] = []
    has_kwargs = False
    if hasattr(func, "argnames") and hasattr(func, "kwargs"):  # asteval-style callables
        candidates = list(func.argnames)
        for name, default in dict(func.kwargs).items():
            if name not in candidates:
                candidates.append(name)
            defaults[name] = default
        return candidates, defaults, options, has_kwargs
    for name, par in inspect.signature(func).parameters.items():
        if par.kind == par.VAR_KEYWORD:
            has_kwargs = True
        elif par.kind == par.POSITIONAL_ONLY:
            raise ParameterError(
                f"model function {func.__name__!r} has positional-only argument {name!r}; "
                "Model needs arguments that can be passed by name")
        elif par.kind == par.VAR_POSITIONAL:
            raise ParameterError(
                f"model function {_func_name(func)!r}: varargs '*{name}' is not supported; "
                "name each parameter as an argument (or take **kwargs)")
        elif par.kind in (par.POSITIONAL_OR_KEYWORD, par.KEYWORD_ONLY):
            if par.default is par.empty:
                candidates.append(name)
            elif _is_number(par.default) or isinstance(par.default, complex):
                candidates.append(name)
                defaults[name] = par.default
            else:
                options.append(name)
                defaults[name] = par.default
    return candidates, defaults, options, has_kwargs


def _func_name(func: Any) -> str:
    return getattr(func, "__name__", None) or type(func).__name__


def _overridden(params: Parameters, override: Mapping[str, Any]) -> Parameters:
    """``params`` with the values of ``override`` set and the ties re-evaluated from them
    (a copy; ``params`` itself is untouched), so ``eval(params, g1_sigma=2.5)`` moves
    ``g2_sigma = 'g1_sigma'`` too, as in lmfit."""
    free = {k: v for k, v in override.items() if not params[k].expr}
    if not free or not any(p.expr for p in params.values()):
        return params
    params = params.copy()
    for name, value in free.items():
        params[name].value = value
    params.update_constraints()
    return params


def _refresh_ties(params: Parameters) -> None:
    if any(p.expr for p in params.values()):
        try:
            params.update_constraints()
        except (ArithmeticError, ValueError):
            pass  # reported when the parameters are used


def _apply_values(params: Parameters, values: Mapping[str, Any],
                  components: Sequence[Model]) -> None:
    for key, value in values.items():
        name = key
        if name not in params:
            matches = [c.prefix + key for c in components if c.prefix + key in params]
            if len(matches) > 1:
                raise ParameterError(
                    f"make_params got {key!r}, which names {matches}: give the prefixed "
                    "name")
            if not matches:
                continue  # as lmfit: a name that is no parameter of the model is ignored
            name = matches[0]
        par = params[name]
        if isinstance(value, Parameter):
            value.name = name
            params[name] = value
        elif isinstance(value, Mapping):
            bad = [k for k in value if k not in _HINT_KEYS]
            if bad:
                raise ParameterError(f"unknown attribute(s) {bad} for parameter {name!r}; "
                                     f"use {list(_HINT_KEYS)}")
            if "min" in value or "max" in value:
                par.set_bounds(value.get("min", par.min), value.get("max", par.max))
            if par.expr and "expr" not in value and ("value" in value or value.get("vary")):
                par.expr = None  # lmfit: a value, or vary=True, unties the parameter
            for attr in ("value", "vary", "expr"):
                if attr in value:
                    setattr(par, attr, value[attr])
        elif _is_number(value) or isinstance(value, complex):
            if par.expr:
                par.expr = None  # lmfit: a value unties the parameter (it stays fixed)
            par.value = float(np.real(value))  # lmfit takes the real part of a complex
        else:
            raise ParameterError(f"value for parameter {name!r} must be a number or a dict, "
                                 f"got {type(value).__name__}")
