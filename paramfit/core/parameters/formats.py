"""Text, HTML and JSON representations of :class:`~paramfit.core.parameters.parameters.Parameters`.

No fitting logic lives here: only turning parameters into tables, HTML and JSON
documents (and JSON documents back into parameters).

Examples
--------
>>> from paramfit.core.parameters.parameters import Parameters
>>> p = Parameters(); p.add('amp', 10.0, min=0)
>>> print(parameters_table(p, columns=('value', 'min')))
Name     Value      Min
amp         10        0
"""

from __future__ import annotations

import html
import json
import math
import numbers
import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from paramfit.core.exceptions import ExpressionError, ParameterError, ParamfitWarning
from paramfit.core.jsonutils import decode4js, encode4js
from paramfit.core.parameters.parameter import (
    DEFAULT_COLUMNS,
    LMFIT_DEFAULT_SYMBOLS,
    Parameter,
    ParameterStatus,
    check_name,
)

if TYPE_CHECKING:  # the functions read a Parameters; parameters.py imports this module
    from paramfit.core.parameters.parameters import Parameters

__all__ = ["COLUMNS", "JSON_FORMAT", "MAX_JSON_DEPTH", "MAX_SYMBOL_INT", "check_json_depth",
           "gformat", "load_json_document", "number_from_json", "number_to_json",
           "parameter_from_json", "parameters_from_json", "parameters_html",
           "parameters_table", "parameters_to_json"]

JSON_FORMAT = "paramfit.Parameters"
JSON_VERSION = 1

MAX_JSON_DEPTH = 64
"""Deepest nesting of lists and objects accepted in a JSON document read from a file
(paramfit writes at most 6 levels); deeper documents are refused before any recursion."""
MAX_SYMBOL_INT = 2**53
"""Largest magnitude of an integer symbol read from JSON: every such integer is exactly a
float, and ``k ** 1024`` of it has at most 54,272 bits (microseconds), so a file cannot
start an unbounded integer computation."""

NUMERIC_COLUMNS = ("value", "min", "max", "stderr", "init_value", "brute_step", "step",
                   "relative_step", "max_step")
COLUMNS = (*NUMERIC_COLUMNS, "vary", "expr", "status", "side")
"""Column names accepted by :meth:`Parameters.pretty_print`."""


def _cell(par: Parameter, column: str) -> Any:
    if column == "status":
        return par.status.value
    return getattr(par, column)


def parameters_table(params: Parameters, *, colwidth: int = 8, precision: int = 4,
                     fmt: str = "g", columns: Sequence[str] = DEFAULT_COLUMNS) -> str:
    """A plain-text table of ``params``: a header row, then one row per parameter.

    The layout is lmfit 1.3's ``pretty_print``: the name column as wide as the longest
    name, then one space and each column right-aligned in ``colwidth`` characters
    after a space; headers are the column names title-cased (``Brute_Step``).

    Parameters
    ----------
    params : Parameters
        What to show (in their order).
    colwidth : int
        Width of each column after the name column.
    precision : int
        Digits shown for numbers (``format(x, f'.{precision}{fmt}')``).
    fmt : str
        Format type for numbers: 'g', 'e' or 'f'.
    columns : sequence of str
        Any of :data:`COLUMNS`.

    Returns
    -------
    str
        The table, without a trailing newline.
    """
    unknown = [c for c in columns if c not in COLUMNS]
    if unknown:
        raise ParameterError(f"unknown pretty_print column(s) {unknown}; choose from {COLUMNS}")
    name_width = max((len(name) for name in params), default=4)
    header = f"{'Name':<{name_width}} " + "".join(f" {c.title():>{colwidth}}" for c in columns)
    lines = [header.rstrip()]
    for name, par in params.items():
        row = f"{name:<{name_width}} "
        for column in columns:
            value = _cell(par, column)
            if column in NUMERIC_COLUMNS and value is not None:
                text = format(value, f">{colwidth}.{precision}{fmt}")
            else:
                text = format(str(value), f">{colwidth}")
            row += f" {text}"
        lines.append(row.rstrip())
    return "\n".join(lines)


def _html_number(x: float | None) -> str:
    return "" if x is None else gformat(x)


def parameters_html(params: Parameters) -> str:
    """An HTML table of ``params`` (for Jupyter's ``_repr_html_``), lmfit 1.3's layout.

    Columns: name, value, standard error and relative error (when any parameter has a
    stderr), initial value, min, max, vary, expression (when any is tied), brute step
    (when any has one), then paramfit's status. Text is HTML-escaped; numbers are
    written with :func:`gformat`.

    Examples
    --------
    >>> from paramfit.core.parameters.parameters import Parameters
    >>> p = Parameters(); p.add('amp', 10.0)
    >>> parameters_html(p).startswith('<table class="jp-toc-ignore"><caption>Parameters')
    True
    """
    pars = list(params.values())
    has_err = any(p.stderr is not None for p in pars)
    has_expr = any(p.expr is not None for p in pars)
    has_brute = any(p.brute_step is not None for p in pars)
    head = ["name", "value"]
    head += ["standard error", "relative error"] if has_err else []
    head += ["initial value", "min", "max", "vary"]
    head += ["expression"] if has_expr else []
    head += ["brute step"] if has_brute else []
    head += ["status"]
    rows = ['<table class="jp-toc-ignore"><caption>Parameters</caption>', _html_row(head, "th")]
    for par in pars:
        cells = [par.name, gformat(par.value)]
        if has_err:
            cells += [_html_number(par.stderr), _relative(par)]
        cells += [_html_number(par.init_value), gformat(par.min), gformat(par.max),
                  str(par.vary)]
        if has_expr:
            cells.append(par.expr or "")
        if has_brute:
            cells.append("None" if par.brute_step is None else gformat(par.brute_step))
        cells.append(par.status.value)
        rows.append(_html_row(cells, "td"))
    rows.append("</table>")
    return "".join(rows)


def _relative(par: Parameter) -> str:
    if par.stderr is None or not par.value or not math.isfinite(par.value):
        return ""
    return f"({abs(par.stderr / par.value):.2%})"


def _html_row(cells: Sequence[str], tag: str) -> str:
    last = len(cells) - 1
    out = "".join(
        f"<{tag} style='text-align:{'right' if i == last else 'left'}'>"
        f"{html.escape(str(c))}</{tag}>" for i, c in enumerate(cells))
    return f"<tr>{out}</tr>"


def gformat(val: Any, length: int = 11) -> str:
    """A number in exactly ``length`` characters (lmfit 1.3's ``printfuncs.gformat``).

    Fixed point when the exponent is moderate, else exponent notation, with as many
    digits as fit (about ``length - 7``), a leading blank for positive numbers and
    trailing zeros kept; None, booleans and non-numbers are their ``repr``,
    right-aligned.

    Examples
    --------
    >>> gformat(1.25), gformat(-1234567890.123), gformat(12345.6789e150)
    (' 1.25000000', '-1.2346e+09', ' 1.235e+154')
    """
    if val is None or isinstance(val, bool):
        return f"{val!r:>{length}}"
    try:
        expon = int(math.log10(abs(val)))
    except (OverflowError, ValueError):  # 0, inf, nan
        expon = 0
    except TypeError:
        return f"{val!r:>{length}}"
    length = max(length, 7)
    digits = length - 7
    form = "e"
    if abs(expon) > 99:
        digits = max(digits - 1, 0)  # a three-digit exponent takes one more character
    elif 0 < expon < digits + 4 or (expon <= 0 and -expon < digits - 1):
        form = "f"
        digits += 4 - max(expon, 0)
    return f"{val:{length}.{digits}{form}}"


def _jfloat(x: float | None) -> float | str | None:
    """A float as strict JSON: finite numbers as is, inf/nan as strings, None as null."""
    if x is None:
        return None
    return x if math.isfinite(x) else repr(float(x))


def _ufloat(x: Any) -> float | None:
    return None if x is None else float(x)


def number_to_json(x: Any) -> dict[str, Any] | None:
    """``{'int': 3}``, ``{'float': 'inf'}``, ``{'complex': [1.0, 2.0]}``, ``{'bool': true}``
    for a number, None for anything else.

    Examples
    --------
    >>> number_to_json(2.5), number_to_json(len)
    ({'float': 2.5}, None)
    """
    if isinstance(x, bool):
        return {"bool": x}
    if isinstance(x, numbers.Integral):
        return {"int": int(x)}
    if isinstance(x, numbers.Real):
        return {"float": _jfloat(float(x))}
    if isinstance(x, numbers.Complex):
        return {"complex": [_jfloat(x.real), _jfloat(x.imag)]}
    return None


def check_json_depth(data: Any, where: str = "$") -> None:
    """Refuse a decoded JSON document nested deeper than :data:`MAX_JSON_DEPTH`.

    Iterative, so it cannot itself exhaust the stack.

    Examples
    --------
    >>> check_json_depth({'a': [1, [2]]})
    >>> check_json_depth([[[]]] * 2)
    """
    stack = [(data, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise ParameterError(f"{where}: JSON nested deeper than {MAX_JSON_DEPTH} levels "
                                 "is not a paramfit document")
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)


def load_json_document(s: Any, what: str) -> Any:
    """Decode a JSON document from an untrusted source: every failure a ParameterError.

    Parameters
    ----------
    s : str or bytes
        The document.
    what : str
        Who reads it (``'Parameters.loads'``), named in error messages.

    Raises
    ------
    ParameterError
        If ``s`` is not a string, not valid JSON, or nested deeper than
        :data:`MAX_JSON_DEPTH` (checked without recursion).

    Examples
    --------
    >>> load_json_document('{"a": 1}', 'test')
    {'a': 1}
    >>> load_json_document('[' * 1000 + ']' * 1000, 'test')
    Traceback (most recent call last):
    ...
    paramfit.core.exceptions.ParameterError: test: JSON nested deeper than 64 levels ...
    """
    if not isinstance(s, (str, bytes, bytearray)):
        raise ParameterError(f"{what}: expected a JSON string, got {type(s).__name__}")
    depth = 0
    for char in s if isinstance(s, str) else s.decode("utf-8", "replace"):
        if char in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:  # before json.loads recurses
                raise ParameterError(f"{what}: JSON nested deeper than {MAX_JSON_DEPTH} "
                                     "levels is not a paramfit document")
        elif char in "]}":
            depth -= 1
    try:
        data = json.loads(s)
    except RecursionError as exc:  # brackets inside strings fooled the count
        raise ParameterError(f"{what}: JSON nested too deeply") from exc
    except ValueError as exc:
        raise ParameterError(f"{what}: not valid JSON ({exc})") from exc
    check_json_depth(data, what)
    return data


def _finite(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ParameterError(f"{where}: expected a number, got {type(value).__name__}")
    if isinstance(value, int) and abs(value) > MAX_SYMBOL_INT:
        raise ParameterError(f"{where}: integer of {len(str(abs(value)))} digits is larger "
                             f"than {MAX_SYMBOL_INT} (2**53); symbols from files are bounded")
    value = float(value)
    if not math.isfinite(value):
        raise ParameterError(f"{where}: symbols read from files must be finite numbers")
    return value


def number_from_json(encoded: Any, where: str = "symbol") -> bool | int | float | complex:
    """Inverse of :func:`number_to_json`, for documents from untrusted sources.

    Only finite numbers come back: ``{'float': x}`` finite, ``{'int': n}`` with
    ``|n| <= MAX_SYMBOL_INT``, ``{'complex': [re, im]}`` with finite parts, ``{'bool': b}``.
    Anything else -- strings, lists, huge integers, inf or nan -- is a ParameterError
    naming ``where``, so no symbol from a file can make an expression's work unbounded
    (``s * 1000000000`` of a string, ``k ** 1024`` of a 4,000-digit integer).

    Examples
    --------
    >>> number_from_json({'complex': [1.0, 2.0]})
    (1+2j)
    >>> number_from_json({'float': 'nan'}, 'symbols.k')
    Traceback (most recent call last):
    ...
    paramfit.core.exceptions.ParameterError: symbols.k: symbols read from files must be
    finite numbers
    """
    if not isinstance(encoded, Mapping) or len(encoded) != 1:
        raise ParameterError(f"Parameters.loads: {where}: malformed symbol value "
                             f"{encoded!r:.120}; expected e.g. {{'float': 2.5}}")
    ((kind, v),) = encoded.items()
    if kind == "bool" and isinstance(v, bool):
        return v
    if kind == "int" and isinstance(v, int) and not isinstance(v, bool):
        _finite(v, where)
        return v
    if kind == "float":
        return _finite(float(v) if v in ("inf", "-inf", "nan") else v, where)
    if kind == "complex" and isinstance(v, list) and len(v) == 2:
        return complex(*(_finite(float(x) if x in ("inf", "-inf", "nan") else x, where)
                         for x in v))
    raise ParameterError(f"Parameters.loads: {where}: malformed symbol value {encoded!r:.120}"
                         "; a symbol is {'float': x}, {'int': n}, {'complex': [re, im]} "
                         "or {'bool': b}")


def parameters_to_json(params: Parameters) -> dict[str, Any]:
    """The JSON document :meth:`Parameters.dumps` writes, as a dict (strict JSON types).

    Examples
    --------
    >>> from paramfit.core.parameters.parameters import Parameters
    >>> p = Parameters(); p.add('a', float('inf'))
    >>> parameters_to_json(p)['parameters'][0]['value']
    'inf'
    """
    out = []
    for par in params.values():
        item = {
            "name": par.name, "value": _jfloat(par._value), "vary": par.vary,
            "min": _jfloat(par.min), "max": _jfloat(par.max), "expr": par.expr,
            "brute_step": par.brute_step,
            "stderr": _jfloat(par.stderr), "init_value": _jfloat(par.init_value),
            "correl": None if par.correl is None else
            {k: _jfloat(v) for k, v in par.correl.items()},
            "step": par.step, "relative_step": par.relative_step, "side": par.side,
            "max_step": par.max_step, "status_reason": par.status_reason,
            "fit_status": None if par._fit_status is None else par._fit_status.name,
        }
        if par.user_data is not None:
            encoded = encode4js(par.user_data)
            try:
                json.dumps(encoded, allow_nan=False)
                item["user_data"] = encoded
            except (TypeError, ValueError):
                pass
        out.append(item)
    symbols = {}
    for key, obj in params.symbols.user_symbols().items():
        encoded = number_to_json(obj)
        if encoded is None and callable(obj):
            encoded = encode4js(obj)  # by name only: {'__class__': 'Callable', ...}
        if isinstance(encoded, dict):
            symbols[key] = encoded
    return {"format": JSON_FORMAT, "version": JSON_VERSION, "parameters": out,
            "symbols": symbols}


def parameters_from_json(data: Any, funcdefs: Mapping[str, Any] | None = None
                         ) -> tuple[list[Parameter], dict[str, Any]]:
    """The parameters and user symbols of a decoded JSON document.

    Reads paramfit's document (:func:`parameters_to_json`) and lmfit 1.3's
    (``{"unique_symbols": {...}, "params": [[name, value, vary, expr, min, max,
    brute_step, stderr, correl, init_value, user_data], ...]}``). Bounds given as
    ``null`` mean none. A user function is taken from ``funcdefs`` by name, never
    imported; one that is not there is left out with a ParamfitWarning.

    Examples
    --------
    >>> pars, syms = parameters_from_json({'unique_symbols': {'k': 2.0}, 'params': [
    ...     ['a', 1.0, True, None, 0, None, None, None, None, 1.0, None]]})
    >>> pars[0], syms
    (<Parameter 'a', value=1.0, bounds=[0.0:inf]>, {'k': 2.0})
    """
    if isinstance(data, dict) and isinstance(data.get("parameters"), list):
        pars = [parameter_from_json(item) for item in data["parameters"]]
        encoded = data.get("symbols", {})
    elif isinstance(data, dict) and isinstance(data.get("params"), list):
        pars = [_lmfit_parameter(state) for state in data["params"]]
        skip = {p.name for p in pars} | LMFIT_DEFAULT_SYMBOLS
        encoded = {k: v for k, v in (data.get("unique_symbols") or {}).items()
                   if k not in skip}
    else:
        raise ParameterError("Parameters.loads: expected a JSON object with a "
                             "'parameters' list (as written by Parameters.dumps()) or "
                             "lmfit's 'params' list")
    if not isinstance(encoded, Mapping):
        raise ParameterError("Parameters.loads: $.symbols: expected an object of name: value "
                             f"pairs, got {type(encoded).__name__}")
    return pars, _symbols_from_json(encoded, funcdefs)


def _lmfit_parameter(state: Any) -> Parameter:
    try:
        par = Parameter.__new__(Parameter)
        par.__setstate__([decode4js(v) if i == 10 else v for i, v in enumerate(state)])
    except (ParameterError, TypeError, ValueError, AttributeError) as exc:
        raise ParameterError(f"Parameters.loads: malformed lmfit parameter state {state!r}; "
                             "expected [name, value, vary, expr, min, max, brute_step, "
                             "stderr, correl, init_value, user_data]") from exc
    check_name(par.name)
    return par


def _symbols_from_json(encoded: Mapping[str, Any], funcdefs: Mapping[str, Any] | None
                       ) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in encoded.items():
        if isinstance(value, dict) and value.get("__class__") == "Callable":
            name = value.get("__name__", key)
            if funcdefs is not None and name in funcdefs:
                out[key] = funcdefs[name]
            else:
                warnings.warn(
                    f"Parameters.loads: user function {key!r} ({name!r}) was saved by name "
                    "only and is not restored (nothing named in a file is imported); pass "
                    f"funcdefs={{{name!r}: function}} to loads() or set params.symbols"
                    f"[{key!r}]", ParamfitWarning, stacklevel=4)
        elif isinstance(value, dict) and "__class__" not in value:
            out[key] = number_from_json(value, f"symbols.{key}")
        else:
            out[key] = _finite_symbol(decode4js(value, funcdefs), key)
    return out


def _finite_symbol(value: Any, key: str) -> Any:
    """A decoded (lmfit-format) symbol: a callable from ``funcdefs`` or a finite number
    (bounded integer), as :func:`number_from_json` -- nothing whose use is unbounded."""
    if callable(value):
        return value
    if isinstance(value, bool) or (isinstance(value, int) and abs(value) <= MAX_SYMBOL_INT):
        return value
    if isinstance(value, (float, complex)) and math.isfinite(abs(value)):
        return value
    raise ParameterError(f"Parameters.loads: symbols.{key}: symbols read from files must be "
                         "finite numbers (or functions passed with funcdefs=)")


def parameter_from_json(item: Mapping[str, Any]) -> Parameter:
    """One :class:`Parameter` from an entry of :func:`parameters_to_json`'s list.

    Examples
    --------
    >>> parameter_from_json({'name': 'a', 'value': 1.0, 'min': '-inf'})
    <Parameter 'a', value=1.0, bounds=[-inf:inf]>
    """
    try:
        par = Parameter(_ufloat(item.get("value")), item.get("vary", True),
                        _ufloat(item.get("min")), _ufloat(item.get("max")),
                        check_name(item["name"]), item.get("expr"), step=item.get("step"),
                        relative_step=item.get("relative_step"),
                        side=item.get("side", "auto"), max_step=item.get("max_step"),
                        brute_step=item.get("brute_step"),
                        user_data=decode4js(item.get("user_data")))
        par.stderr = _ufloat(item.get("stderr"))
        par.init_value = _ufloat(item.get("init_value"))
        correl = item.get("correl")
        par.correl = None if correl is None else {k: float(v) for k, v in correl.items()}
        if item.get("fit_status"):
            par._set_fit_status(ParameterStatus[item["fit_status"]])
        par.status_reason = item.get("status_reason")
    except ExpressionError as exc:  # keep its text: it names the construct at fault
        raise ExpressionError(f"Parameters.loads: parameter {_entry_name(item)}: {exc}"
                              ) from None
    except ParameterError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
        raise ParameterError(f"Parameters.loads: malformed parameter entry "
                             f"{_entry_name(item)} ({type(exc).__name__}: {exc}): "
                             f"{item!r:.200}") from exc
    return par


def _entry_name(item: Any) -> str:
    name = item.get("name") if isinstance(item, Mapping) else None
    return repr(name)[:80] if isinstance(name, str) else "(without a 'name')"
