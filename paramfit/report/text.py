"""Text reports: parameter errors, confidence intervals and whole fits (seed 000 §4).

Presentation only: every function here reads a fit's results and formats them;
nothing is computed but relative errors.  ``report_*`` functions print, the
matching ``*_report`` functions return the text.

Examples
--------
>>> import numpy as np
>>> from paramfit.fitting.minimizer import minimize
>>> from paramfit.core.parameters.parameters import Parameters
>>> from paramfit.report.text import errors_report
>>> x = np.linspace(0, 4, 40)
>>> y = 2.0 * x + 1.0 + 0.01 * np.sin(7 * x)
>>> p = Parameters()
>>> p.add_many(('slope', 1.0), ('offset', 0.0))
>>> fit = minimize(lambda p: p['slope'].value * x + p['offset'].value - y, p)
>>> print(errors_report(p, show_correl=False))  # doctest: +NORMALIZE_WHITESPACE
    slope:       2.00004+/- 0.00096 (initial= 1.000000)
    offset:      1.00061+/- 0.00222 (initial= 0.000000)
"""

from __future__ import annotations

import html
import importlib.util
import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from paramfit.core.parameters.formats import gformat
from paramfit.core.parameters.formats import parameters_html as params_html_table
from paramfit.core.parameters.parameters import Parameters, ParameterStatus

__all__ = [
    "alphanumeric_sort",
    "ci_report",
    "ci_table",
    "correl_table",
    "errors_report",
    "fit_report",
    "fitreport_html_table",
    "getfloat_attr",
    "gformat",
    "params_html_table",
    "report_ci",
    "report_errors",
    "report_fit",
]

HAS_NUMDIFFTOOLS = importlib.util.find_spec("numdifftools") is not None
"""Whether numdifftools is installed (lmfit 1.3's flag; paramfit does not use it)."""

_INDENT = "    "
_CORREL_WIDTH = 36  # the seed pads "C(a, b)" to this width before "= 0.601"


def _correlations(params: Mapping[str, Any], min_correl: float) -> list[tuple[str, str, float]]:
    """``(name1, name2, value)`` for each pair once, ``|value| > min_correl``, largest first."""
    seen: set[frozenset[str]] = set()
    pairs = []
    for name, par in params.items():
        for other, value in (par.correl or {}).items():
            key = frozenset((name, other))
            if key in seen or other not in params or abs(value) <= min_correl:
                continue
            seen.add(key)
            pairs.append((name, other, float(value)))
    pairs.sort(key=lambda item: -abs(item[2]))
    return pairs


def _number(value: float | None, spec: str) -> str:
    """``format(value, spec)``, or scientific notation where fixed point would hide it."""
    if value is None:
        return "None"
    if not math.isfinite(value):
        return str(value)
    magnitude = abs(value)
    if spec.endswith("f") and magnitude != 0.0:
        digits = int(spec.rsplit(".", 1)[1][:-1])
        if not 10.0 ** (1 - digits) <= magnitude < 1e9:  # keep >= 2 significant digits
            return format(value, spec[:-1] + "e")
    return format(value, spec)


# ---------------------------------------------------------------------- errors
def errors_report(
    params: Parameters,
    modelpars: Mapping[str, Any] | None = None,
    show_correl: bool = True,
    min_correl: float = 0.1,
) -> str:
    """Values, standard errors and start values in seed 000 §4.2's layout.

    Parameters
    ----------
    params : Parameters
        Fitted parameters.
    modelpars : mapping, optional
        Known true values (``Parameter`` objects or numbers), shown as
        ``model_value=``.
    show_correl : bool, default True
        Add the ``Correlations:`` block.
    min_correl : float, default 0.1
        Only correlations with ``|C| > min_correl`` are shown, largest first.

    Returns
    -------
    str
        ``    a:      0.09992+/- 0.00019 (initial= 0.100000)`` per parameter, then
        ``Correlations:`` and ``    C(a, b)  ... = 0.601`` lines.
    """
    width = max((len(name) for name in params), default=0) + 1
    lines = []
    for name, par in params.items():
        text = f"{_INDENT}{name + ':':<{width}}{_number(par.value, '13.5f')}"
        if par.stderr is not None:
            text += f"+/- {_number(par.stderr, '.5f')}"
        notes = []
        if par.init_value is not None and not par.expr and not par.is_fixed:
            notes.append(f"initial= {_number(par.init_value, '.6f')}")
        if modelpars is not None and name in modelpars:
            model = modelpars[name]
            notes.append(f"model_value= {_number(getattr(model, 'value', model), '.6f')}")
        if par.expr:
            notes.append(f"== '{par.expr}'")
        elif par.status is not ParameterStatus.FREE:
            notes.append(par.status.value)
        if notes:
            text += f" ({', '.join(notes)})"
        lines.append(text.rstrip())
    pairs = _correlations(params, min_correl) if show_correl else []
    if pairs:
        lines.append("Correlations:")
        for name, other, value in pairs:
            lines.append(f"{_INDENT}{f'C({name}, {other})':<{_CORREL_WIDTH}} = {value:.3f}")
    return "\n".join(lines)


def report_errors(
    params: Parameters,
    modelpars: Mapping[str, Any] | None = None,
    show_correl: bool = True,
    min_correl: float = 0.1,
) -> None:
    """Print :func:`errors_report` (seed 000 §4.2)."""
    print(errors_report(params, modelpars, show_correl, min_correl))


# ---------------------------------------------------------------------- CI table
def ci_table(ci: Mapping[str, list[tuple[float, float]]], ndigits: int = 5) -> str:
    """The table of :func:`paramfit.conf_interval`'s result (seed 000 §4.2).

    One header line of probability levels (``99.70%  95.00%  67.40%  0.00% ...``)
    and one row per parameter.  A limit flagged in ``ci.flags`` (see
    :class:`paramfit.fitting.confidence.ConfidenceIntervals`) is marked ``*`` (at a bound:
    the true limit lies beyond) or ``?`` (not reached within ``maxiter``), with a
    footnote.

    Parameters
    ----------
    ci : dict
        ``{name: [(sigma, value), ...]}``.
    ndigits : int, default 5
        Digits after the decimal point.

    Returns
    -------
    str
    """
    if not ci:
        return ""
    width = max(len(name) for name in ci) + 1
    column = ndigits + 7
    flags = getattr(ci, "flags", {})
    marks_used: set[str] = set()
    header_levels = None
    lines = []
    for name, row in ci.items():
        levels = [sigma for sigma, _ in row]
        if levels != header_levels:
            lines.append(" " * width + "".join(f"{s * 100:.2f}%".rjust(column) for s in levels))
            header_levels = levels
        cells = []
        half = len(row) // 2
        for i, (sigma, value) in enumerate(row):
            text = _number(value, f".{ndigits}f")
            side = -1 if i < half else 1
            flag = next((f for f in flags.get(name, ()) if f.sigma == sigma and f.side == side
                         and i != half), None)
            if flag is not None:
                mark = "?" if flag.reason == "not found" else "*"
                marks_used.add(mark)
                text += mark
            cells.append(text.rjust(column))
        lines.append(f"{name:<{width}}" + "".join(cells))
    if "*" in marks_used:
        lines.append("* limit at a parameter bound: the interval extends at least to it")
    if "?" in marks_used:
        lines.append("? limit not reached within maxiter steps (increase maxiter)")
    return "\n".join(lines)


def report_ci(ci: Mapping[str, list[tuple[float, float]]], ndigits: int = 5) -> None:
    """Print :func:`ci_table`, the seed's table (seed 000 §4.2).

    lmfit 1.3's ``report_ci`` prints its ``ci_report`` layout instead; here the seed
    wins (docs/lmfit.md): ``print(ci_report(ci))`` gives lmfit 1.3's.
    """
    print(ci_table(ci, ndigits))


def ci_report(ci: Mapping[str, Sequence[tuple[float, float]]], with_offset: bool = True,
              ndigits: int = 5) -> str:
    """Text of confidence intervals in lmfit 1.3's layout.

    One header line (``99.73%  95.45%  68.27%  _BEST_  68.27% ...``: the best value's
    column, probability 0, is ``_BEST_``), then one row `` name:`` per parameter.

    Parameters
    ----------
    ci : dict
        ``{name: [(probability, value), ...]}`` as :func:`paramfit.conf_interval`
        returns.
    with_offset : bool, default True
        Show limits as signed differences from the best value (the best value itself
        stays absolute).
    ndigits : int, default 5
        Digits after the decimal point.

    Returns
    -------
    str

    Examples
    --------
    >>> print(ci_report({'a': [(0.6827, 0.9), (0.0, 1.0), (0.6827, 1.2)]}, ndigits=2))
        68.27% _BEST_  68.27%
     a:  -0.10   1.00   +0.20
    """
    if not ci:
        return ""
    width = max(len(name) for name in ci)
    column = ndigits + 5
    lines = []
    for name, row in ci.items():
        if not lines:
            heads = ["_BEST_" if abs(p) < 1e-2 else f"{p * 100:.2f}%" for p, _ in row]
            lines.append(" " * (width + 1) + "".join(h.rjust(column) for h in heads))
        best = next((v for p, v in row if abs(p) < 1e-2), 0.0) if with_offset else 0.0
        cells = []
        for p, value in row:
            if abs(p) < 1e-2:
                text = f"{value:.{ndigits}f}"
            else:
                text = f"{value - best:{'+' if with_offset else ''}.{ndigits}f}"
            cells.append(text.rjust(column))
        lines.append(f" {name:<{width}}:" + "".join(cells))
    return "\n".join(lines)


# ---------------------------------------------------------------------- fit report
def _fit_statistics(result: Any, params: Mapping[str, Any]) -> list[str]:
    rows = [
        ("# fitting method", result.method),
        ("# function evals", result.nfev),
        ("# data points", result.ndata),
        ("# variables", result.nvarys),
        ("chi-square", _number(result.chisqr, ".7g")),
        ("reduced chi-square", _number(result.redchi, ".7g")),
        ("Akaike info crit", _number(result.aic, ".7g")),
        ("Bayesian info crit", _number(result.bic, ".7g")),
    ]
    if getattr(result, "rsquared", None) is not None:
        rows.append(("R-squared", _number(result.rsquared, ".7g")))
    rows += [("success", result.success), ("message", result.message)]
    lines = ["[[Fit Statistics]]"] + [f"{_INDENT}{key:<19}= {value}" for key, value in rows]
    if getattr(result, "errorbars", True) is False:
        lines += _no_errorbars(result, params)
    return lines


def _no_errorbars(result: Any, params: Mapping[str, Any]) -> list[str]:
    """lmfit 1.3's warning when a fit has no uncertainties, with likely reasons."""
    lines = ["##  Warning: uncertainties could not be estimated:"]
    if result.method not in ("leastsq", "least_squares") and not HAS_NUMDIFFTOOLS:
        return lines + [f"{_INDENT}this fitting method does not natively calculate "
                        "uncertainties; use leastsq or least_squares for them"]
    width = max((len(name) for name in params), default=0)
    for name in getattr(result, "var_names", [n for n, p in params.items() if p.vary]):
        par = params[name]
        label = f"{_INDENT}{name}:{' ' * (width - len(name))}"
        if par.init_value and np.allclose(par.value, par.init_value):
            lines.append(f"{label}  at initial value")
        if np.allclose(par.value, par.min) or np.allclose(par.value, par.max):
            lines.append(f"{label}  at boundary")
    return lines


def _variable_line(name: str, par: Any, width: int, init: float | None,
                   model: Any = None) -> str:
    text = f"{_INDENT}{name + ':':<{width}} {_number(par.value, '.7g'):>13}"
    if par.stderr is not None and not par.expr:
        text += f" +/- {_number(par.stderr, '.4g')}"
        if par.value:
            text += f" ({abs(par.stderr / par.value) * 100:.2f}%)"
    elif par.expr and par.stderr is not None:
        text += f" +/- {_number(par.stderr, '.4g')}"
    model_note = ""
    if model is not None:
        model_note = f", model_value = {_number(getattr(model, 'value', model), '.7g')}"
    status = par.status
    if par.expr:
        text += f" == '{par.expr}'"
    elif status is ParameterStatus.FIXED:
        text += f" ({status.value}{model_note})"
    else:  # varied: its start value, and where the fit left it if not free (at a bound)
        shown = "?" if init is None else _number(init, ".7g")
        where = "" if status is ParameterStatus.FREE else f" ({status.value})"
        text += f" (init = {shown}{model_note}){where}"
    return text


def _report_parts(inpars: Any) -> tuple[Any, Parameters]:
    """``(result or None, params)`` of what fit_report was given."""
    result = getattr(inpars, "result", inpars)
    if result is None:
        result = inpars
    if isinstance(result, Parameters):
        return None, result
    if not hasattr(result, "params"):
        raise TypeError(
            "fit_report needs a fitted Minimizer, a fit result (FitResult, ModelResult) "
            f"or Parameters, got {type(inpars).__name__}")
    return result, result.params


def fit_report(inpars: Any, modelpars: Mapping[str, Any] | None = None,
               show_correl: bool = True, min_correl: float = 0.1,
               sort_pars: bool | Callable[[str], Any] = False,
               correl_mode: str = "list") -> str:
    """Text report of a fit: statistics, variables and correlations (lmfit 1.3's call).

    Parameters
    ----------
    inpars : Minimizer, fit result or Parameters
        A fitted :class:`~paramfit.Minimizer`, the result of a fit (``FitResult``,
        ``ModelResult``), or just Parameters (then only ``[[Variables]]`` and
        ``[[Correlations]]`` are shown).
    modelpars : mapping, optional
        Known true values (Parameters or numbers), shown as ``model_value =``.
    show_correl : bool, default True
        Add the ``[[Correlations]]`` block.
    min_correl : float, default 0.1
        Only correlations with ``|C| > min_correl`` are listed, sorted by ``|C|``.
    sort_pars : bool or callable, default False
        List parameters sorted by :func:`alphanumeric_sort` (True) or by this key
        function; False keeps their order.
    correl_mode : {'list', 'table'}, default 'list'
        Correlations as a sorted list, or as the full :func:`correl_table`.

    Returns
    -------
    str
        ``[[Fit Statistics]]`` (method, evaluations, data points, variables,
        chi-square, reduced chi-square, AIC, BIC, R-squared where the result has it,
        success, message, and a warning when uncertainties could not be estimated);
        ``[[Variables]]``: ``value +/- stderr (relative %) (init = start)`` (then
        ``(at lower bound)`` ... where the fit left it on a bound), or ``(fixed)``,
        ``== 'expr'`` for tied parameters;
        ``[[Correlations]]``: ``C(a, b) = +0.6012``, largest ``|C|`` first.

    Examples
    --------
    >>> import numpy as np
    >>> from paramfit.fitting.minimizer import minimize
    >>> from paramfit.core.parameters.parameters import Parameters
    >>> x = np.linspace(0, 4, 40)
    >>> p = Parameters()
    >>> p.add_many(('slope', 1.0), ('offset', 0.0))
    >>> fit = minimize(lambda p: p['slope'].value * x + p['offset'].value
    ...                - (2 * x + 1 + 0.01 * np.sin(7 * x)), p)
    >>> print(fit_report(fit).splitlines()[0])
    [[Fit Statistics]]
    """
    if correl_mode not in ("list", "table"):
        raise ValueError(f"correl_mode must be 'list' or 'table', got {correl_mode!r}")
    result, params = _report_parts(inpars)
    names = list(params)
    if sort_pars:
        names.sort(key=sort_pars if callable(sort_pars) else alphanumeric_sort)
    lines = [] if result is None else _fit_statistics(result, params)
    width = max((len(name) for name in names), default=0) + 1
    lines.append("[[Variables]]")
    for name in names:
        par = params[name]
        model = None if modelpars is None else modelpars.get(name)
        lines.append(_variable_line(name, par, width, par.init_value, model))
    if show_correl and correl_mode == "table":
        lines.append("[[Correlations]] ")
        lines += [f"  {row}" for row in correl_table(params).splitlines()]
        return "\n".join(lines)
    pairs = _correlations({n: params[n] for n in names}, min_correl) if show_correl else []
    if pairs:
        lines.append(f"[[Correlations]] (unreported correlations are < {min_correl:.3f})")
        label_width = max(len(f"C({a}, {b})") for a, b, _ in pairs)
        for name, other, value in pairs:
            lines.append(f"{_INDENT}{f'C({name}, {other})':<{label_width}} = {value:+.4f}")
    return "\n".join(lines)


def report_fit(inpars: Any, **kws: Any) -> None:
    """Print :func:`fit_report` (same arguments)."""
    print(fit_report(inpars, **kws))


# ---------------------------------------------------------------------- helpers (lmfit 1.3)
_DIGITS = re.compile(r"([0-9]+)")


def alphanumeric_sort(s: str) -> list[int | str]:
    """Sort key putting ``a2`` before ``a10``: runs of digits compare as numbers, the rest
    case-insensitively.

    Examples
    --------
    >>> sorted(['b10', 'a', 'b01', 'B2'], key=alphanumeric_sort)
    ['a', 'b01', 'B2', 'b10']
    """
    return [int(part) if part.isdigit() else part.lower() for part in _DIGITS.split(s)]


def getfloat_attr(obj: Any, attr: str, length: int = 11) -> str:
    """An attribute for printing: ``'unknown'`` if missing or None, an int as is, a float
    with :func:`gformat` (stripped), anything else as its repr.

    Examples
    --------
    >>> class R: nfev = 12; chisqr = 0.5
    >>> getfloat_attr(R, 'nfev'), getfloat_attr(R, 'chisqr'), getfloat_attr(R, 'x')
    ('12', '0.50000000', 'unknown')
    """
    value = getattr(obj, attr, None)
    if value is None:
        return "unknown"
    if isinstance(value, int):
        return f"{value}"
    if isinstance(value, float):
        return gformat(value, length=length).strip()
    return repr(value)


def correl_table(params: Mapping[str, Any]) -> str:
    """The full correlation matrix of the varied parameters as a text table.

    Examples
    --------
    >>> p = Parameters(); p.add_many(('a', 1.0), ('b', 2.0))
    >>> p['a'].correl, p['b'].correl = {'b': 0.5}, {'a': 0.5}
    >>> print(correl_table(p))
    +----------+----------+----------+
    | Variable | a        | b        |
    +----------+----------+----------+
    | a        | +1.0000  | +0.5000  |
    | b        | +0.5000  | +1.0000  |
    +----------+----------+----------+
    """
    names = [name for name, par in params.items() if par.vary and not par.expr]
    width = max([8, *(len(n) for n in names)]) + 1
    bar = "+" + "+".join("-" * (width + 1) for _ in range(len(names) + 1)) + "+"

    def cell(text: str) -> str:
        return f" {text:{width}s}"

    lines = [bar, "|" + "|".join(cell(t) for t in ["Variable", *names]) + "|", bar]
    for name in names:
        correl = params[name].correl or {}
        cells = [cell(name)]
        for other in names:
            if other == name:
                cells.append(cell(f"{1:+.4f}"))
            elif other in correl:
                cells.append(cell(f"{correl[other]:+.4f}"))
            else:
                cells.append(cell("unknown"))
        lines.append("|" + "|".join(cells) + "|")
    lines.append(bar)
    return "\n".join(lines)


def fitreport_html_table(result: Any, show_correl: bool = True,
                         min_correl: float = 0.1) -> str:
    """The fit report as HTML tables: fit statistics, parameters, correlations.

    Examples
    --------
    >>> class R: method = 'leastsq'; nfev = 9; ndata = 10; nvarys = 1; chisqr = 1.0
    >>> R.redchi, R.aic, R.bic, R.params = 0.1, -20.0, -19.7, Parameters()
    >>> fitreport_html_table(R).startswith('<table class="jp-toc-ignore">')
    True
    """
    stats = [("fitting method", result.method), ("# function evals", result.nfev),
             ("# data points", result.ndata), ("# variables", result.nvarys),
             ("chi-square", gformat(result.chisqr)),
             ("reduced chi-square", gformat(result.redchi)),
             ("Akaike info crit.", gformat(result.aic)),
             ("Bayesian info crit.", gformat(result.bic))]
    if getattr(result, "rsquared", None) is not None:
        stats.append(("R-squared", gformat(result.rsquared)))
    parts = ['<table class="jp-toc-ignore">',
             '<caption class="jp-toc-ignore">Fit Statistics</caption>']
    parts += [_html_row([label, value]) for label, value in stats]
    parts += ["</table>", params_html_table(result.params)]
    pairs = _correlations(result.params, min_correl) if show_correl else []
    if pairs:
        parts += ['<table class="jp-toc-ignore">',
                  f"<caption>Correlations (unreported values are < {min_correl:.3f})"
                  "</caption>", _html_row(["Parameter1", "Parameter 2", "Correlation"], "th")]
        parts += [_html_row([a, b, f"{c:+.4f}"]) for a, b, c in pairs]
        parts.append("</table>")
    return "".join(parts)


def _html_row(cells: Sequence[Any], tag: str = "td") -> str:
    last = len(cells) - 1
    return "<tr>" + "".join(
        f"<{tag} style='text-align:{'right' if i == last else 'left'}'>"
        f"{html.escape(str(c))}</{tag}>" for i, c in enumerate(cells)) + "</tr>"
