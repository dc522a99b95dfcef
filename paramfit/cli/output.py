"""The output of a finished fit (:class:`~paramfit.cli.fit.FitOutcome`): the JSON document,
the text report with confidence intervals and the certified comparison, and the plot.

matplotlib, an optional package, is imported only when a plot is asked for.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from paramfit.cli.data import (
    DataTable,
    certified_comparison,
    certified_table,
    finite_or_none,
)
from paramfit.cli.fit import FitOutcome, note
from paramfit.report.plots import plot_fit
from paramfit.report.text import ci_table as seed_ci_table

__all__ = ["ci_table", "plot_outcome", "result_json", "text_report"]


# ---------------------------------------------------------------- output
def result_json(outcome: FitOutcome, table: DataTable) -> dict[str, Any]:
    """The JSON document of ``paramfit fit --report json`` / ``--out``."""
    fitter, params = outcome.fitter, outcome.params
    payload: dict[str, Any] = {
        "data": table.source, "model": outcome.model_text,
        "method": str(getattr(fitter, "method", "")),
        "success": bool(fitter.success), "message": str(fitter.message),
        "nfev": int(fitter.nfev), "ndata": int(fitter.ndata), "nvarys": int(fitter.nvarys),
        "chisqr": finite_or_none(fitter.chisqr), "redchi": finite_or_none(fitter.redchi),
        "aic": finite_or_none(fitter.aic), "bic": finite_or_none(fitter.bic),
        "values": {name: finite_or_none(par.value) for name, par in params.items()},
        "stderr": {name: finite_or_none(par.stderr) for name, par in params.items()},
        "params": {
            name: {"value": finite_or_none(par.value), "stderr": finite_or_none(par.stderr),
                   "vary": bool(par.vary and par.expr is None), "expr": par.expr,
                   "min": finite_or_none(par.min), "max": finite_or_none(par.max),
                   "init_value": finite_or_none(par.init_value)}
            for name, par in params.items()
        },
    }
    if outcome.ci is not None:
        payload["ci"] = {name: [[float(s), finite_or_none(v)] for s, v in limits]
                         for name, limits in outcome.ci.items()}
    if table.certified is not None and outcome.err is None:
        payload["certified"] = certified_comparison(params, fitter.chisqr, table.certified)
    return payload


def text_report(outcome: FitOutcome, table: DataTable | None) -> str:
    """Fit report (:func:`paramfit.report.text.fit_report`) plus intervals and certified."""
    parts = [outcome.fitter.fit_report()]
    if outcome.ci is not None:
        parts.append(ci_table(outcome.ci))
    if table is not None and table.certified is not None and outcome.err is None:
        comparison = certified_comparison(outcome.params, outcome.fitter.chisqr,
                                          table.certified)
        if comparison is not None:
            parts.append(certified_table(comparison))
    return "\n".join(part.rstrip("\n") for part in parts)


def ci_table(ci: Mapping[str, Sequence[tuple[float, float]]]) -> str:
    """Confidence intervals (the seed's table, :func:`paramfit.report.text.ci_table`) under a
    heading."""
    return "[[Confidence intervals]]\n" + seed_ci_table(ci)


def plot_outcome(outcome: FitOutcome, filename: str, *, title: str | None = None) -> bool:
    """Write the plot of ``outcome`` to ``filename``; False if matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
    except ImportError:
        note("matplotlib is not installed: no plot written "
             "(install it with  pip install 'paramfit[plot]')")
        return False
    if outcome.x is None or np.ndim(outcome.x) != 1:
        note("no single independent variable to plot against: no plot written")
        return False
    order = np.argsort(outcome.x, kind="stable")
    init = outcome.params.copy()
    for par in init.values():
        if par.init_value is not None and par.expr is None:
            par.value = par.init_value
    init.update_constraints()
    with np.errstate(all="ignore"):
        start_curve = np.asarray(outcome.model(init, None), dtype=float)
        best_curve = np.asarray(outcome.model(outcome.params, None), dtype=float)
    fig, _ = plot_fit(outcome.x[order], outcome.y[order], start_curve[order],
                      best_curve[order], title=title, xlabel=outcome.x_label,
                      ylabel=outcome.y_label, filename=filename)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return True
