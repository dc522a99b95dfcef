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

import math
from collections.abc import Mapping
from typing import Any

from paramfit.core.parameters.parameters import Parameters, ParameterStatus

__all__ = [
    "ci_report",
    "errors_report",
    "fit_report",
    "report_ci",
    "report_errors",
    "report_fit",
]

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
        if par.init_value is not None:
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
def ci_report(ci: Mapping[str, list[tuple[float, float]]], ndigits: int = 5) -> str:
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
    """Print :func:`ci_report` (seed 000 §4.2)."""
    print(ci_report(ci, ndigits))


# ---------------------------------------------------------------------- fit report
def _fit_statistics(result: Any) -> list[str]:
    rows = [
        ("# fitting method", result.method),
        ("# function evals", result.nfev),
        ("# data points", result.ndata),
        ("# variables", result.nvarys),
        ("chi-square", _number(result.chisqr, ".7g")),
        ("reduced chi-square", _number(result.redchi, ".7g")),
        ("Akaike info crit", _number(result.aic, ".7g")),
        ("Bayesian info crit", _number(result.bic, ".7g")),
        ("success", result.success),
        ("message", result.message),
    ]
    return ["[[Fit Statistics]]"] + [f"{_INDENT}{key:<19}= {value}" for key, value in rows]


def _variable_line(name: str, par: Any, width: int, init: float | None) -> str:
    text = f"{_INDENT}{name + ':':<{width}} {_number(par.value, '.7g'):>13}"
    if par.stderr is not None and not par.expr:
        text += f" +/- {_number(par.stderr, '.4g')}"
        if par.value:
            text += f" ({abs(par.stderr / par.value) * 100:.2f}%)"
    elif par.expr and par.stderr is not None:
        text += f" +/- {_number(par.stderr, '.4g')}"
    if par.expr:
        text += f" == '{par.expr}'"
    elif par.status is ParameterStatus.FREE and init is not None:
        text += f" (init = {_number(init, '.7g')})"
    elif par.status is not ParameterStatus.FREE:
        text += f" ({par.status.value})"
    return text


def fit_report(result_or_minimizer: Any, show_correl: bool = True,
               min_correl: float = 0.1) -> str:
    """Text report of a fit: statistics, variables and correlations.

    Parameters
    ----------
    result_or_minimizer : Minimizer, FitResult or Parameters
        A fitted :class:`~paramfit.Minimizer`, its ``.result``, or just Parameters
        (then only ``[[Variables]]`` and ``[[Correlations]]`` are shown).
    show_correl : bool, default True
        Add the ``[[Correlations]]`` block.
    min_correl : float, default 0.1
        Only correlations with ``|C| > min_correl`` are shown, sorted by ``|C|``.

    Returns
    -------
    str
        ``[[Fit Statistics]]`` (method, evaluations, data points, variables,
        chi-square, reduced chi-square, AIC, BIC, success, message);
        ``[[Variables]]``: ``value +/- stderr (relative %) (init = start)``, or
        ``(fixed)``, ``== 'expr'`` for tied parameters, ``(at lower bound)`` ...;
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
    result = getattr(result_or_minimizer, "result", result_or_minimizer)
    if isinstance(result, Parameters):
        params, lines, inits = result, [], {}
    elif result is None or not hasattr(result, "params"):
        raise TypeError(
            "fit_report needs a fitted Minimizer, a FitResult or Parameters, got "
            f"{type(result_or_minimizer).__name__}"
        )
    else:
        params, lines = result.params, _fit_statistics(result)
        inits = dict(zip(result.var_names, result.init_vals, strict=False))
    width = max((len(name) for name in params), default=0) + 1
    lines.append("[[Variables]]")
    for name, par in params.items():
        init = inits.get(name, par.init_value)
        lines.append(_variable_line(name, par, width, init))
    pairs = _correlations(params, min_correl) if show_correl else []
    if pairs:
        lines.append(f"[[Correlations]] (unreported correlations are < {min_correl:.3f})")
        label_width = max(len(f"C({a}, {b})") for a, b, _ in pairs)
        for name, other, value in pairs:
            lines.append(f"{_INDENT}{f'C({name}, {other})':<{label_width}} = {value:+.4f}")
    return "\n".join(lines)


def report_fit(result_or_minimizer: Any, show_correl: bool = True,
               min_correl: float = 0.1) -> None:
    """Print :func:`fit_report`."""
    print(fit_report(result_or_minimizer, show_correl, min_correl))
