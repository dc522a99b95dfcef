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
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from paramfit.core.exceptions import ExpressionError, ParameterError
from paramfit.core.parameters.parameter import Parameter, ParameterStatus, check_name

if TYPE_CHECKING:  # the functions read a Parameters; parameters.py imports this module
    from paramfit.core.parameters.parameters import Parameters

__all__ = ["COLUMNS", "JSON_FORMAT", "MAX_JSON_DEPTH", "MAX_SYMBOL_INT", "check_json_depth",
           "load_json_document", "number_from_json", "number_to_json",
           "parameter_from_json", "parameters_html", "parameters_table",
           "parameters_to_json"]

JSON_FORMAT = "paramfit.Parameters"
JSON_VERSION = 1

MAX_JSON_DEPTH = 64
"""Deepest nesting of lists and objects accepted in a JSON document read from a file
(paramfit writes at most 6 levels); deeper documents are refused before any recursion."""
MAX_SYMBOL_INT = 2**53
"""Largest magnitude of an integer symbol read from JSON: every such integer is exactly a
float, and ``k ** 1024`` of it has at most 54,272 bits (microseconds), so a file cannot
start an unbounded integer computation."""

NUMERIC_COLUMNS = ("value", "min", "max", "stderr", "init_value", "step", "relative_step",
                   "max_step")
COLUMNS = (*NUMERIC_COLUMNS, "vary", "expr", "status", "side")
"""Column names accepted by :meth:`Parameters.pretty_print`."""


def _cell(par: Parameter, column: str) -> Any:
    if column == "status":
        return par.status.value
    return getattr(par, column)


def parameters_table(params: Parameters, *, colwidth: int = 8, precision: int = 4,
                     fmt: str = "g", columns: Sequence[str] = (
                         "value", "min", "max", "stderr", "vary", "expr")) -> str:
    """A plain-text table of ``params``: a header row, then one row per parameter.

    Parameters
    ----------
    params : Parameters
        What to show.
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
    name_width = max([4, *(len(name) for name in params)])
    header = f"{'Name':<{name_width}} " + "".join(
        f" {c.replace('_', ' ').title():>{colwidth}}" for c in columns)
    lines = [header.rstrip()]
    for name, par in params.items():
        row = f"{name:<{name_width}} "
        for column in columns:
            value = _cell(par, column)
            if column in NUMERIC_COLUMNS and value is not None:
                text = format(value, f".{precision}{fmt}")
            else:
                text = str(value)
            row += f" {text:>{colwidth}}"
        lines.append(row.rstrip())
    return "\n".join(lines)


def _html_number(x: float | None, precision: int = 5) -> str:
    if x is None:
        return ""
    return format(x, f".{precision}g")


def parameters_html(params: Parameters) -> str:
    """An HTML table of ``params`` (for Jupyter's ``_repr_html_``).

    Columns: name, value, standard error, relative error, initial value, min, max, vary,
    expression, status. Text is HTML-escaped.

    Examples
    --------
    >>> from paramfit.core.parameters.parameters import Parameters
    >>> p = Parameters(); p.add('amp', 10.0)
    >>> parameters_html(p).startswith('<table')
    True
    """
    head = ("name", "value", "standard error", "relative error", "initial value", "min",
            "max", "vary", "expression", "status")
    rows = ["<table class='paramfit-parameters'>",
            "<tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>"]
    for name, par in params.items():
        relative = ""
        if par.stderr is not None and par.value and math.isfinite(par.value):
            relative = f"({abs(par.stderr / par.value):.2%})"
        cells = (name, _html_number(par.value), _html_number(par.stderr), relative,
                 _html_number(par.init_value), _html_number(par.min), _html_number(par.max),
                 str(par.vary), par.expr or "", par.status.value)
        rows.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells)
                    + "</tr>")
    rows.append("</table>")
    return "\n".join(rows)


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
            "name": par.name, "value": _jfloat(par.value), "vary": par.vary,
            "min": _jfloat(par.min), "max": _jfloat(par.max), "expr": par.expr,
            "stderr": _jfloat(par.stderr), "init_value": _jfloat(par.init_value),
            "correl": None if par.correl is None else
            {k: _jfloat(v) for k, v in par.correl.items()},
            "step": par.step, "relative_step": par.relative_step, "side": par.side,
            "max_step": par.max_step, "status_reason": par.status_reason,
            "fit_status": None if par._fit_status is None else par._fit_status.name,
        }
        if par.user_data is not None:
            try:
                json.dumps(par.user_data)
                item["user_data"] = par.user_data
            except (TypeError, ValueError):
                pass
        out.append(item)
    symbols = {}
    for key, obj in params.symbols.user_symbols().items():
        encoded = number_to_json(obj)
        if encoded is not None:
            symbols[key] = encoded
    return {"format": JSON_FORMAT, "version": JSON_VERSION, "parameters": out,
            "symbols": symbols}


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
                        user_data=item.get("user_data"))
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
