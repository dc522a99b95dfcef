"""``MinimizerResult``: what :func:`~paramfit.minimize` and every ``Minimizer`` method return.

One object serves seed 000 code and lmfit 1.3 code: it has lmfit 1.3's
``MinimizerResult`` attributes (``params``, ``var_names``, ``covar``, ``init_vals``,
``init_values``, ``uvars``, ``aborted``, ``residual``, the statistics, ``candidates``...)
and, as the seed's ``minimize()`` returned the Minimizer, the Minimizer's methods
(``leastsq()`` re-runs the fit and this object then shows the new one,
``prepare_fit()``...).  It is true exactly when the fit succeeded.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from paramfit.core.optional import require
from paramfit.core.parameters.parameters import Parameters
from paramfit.core.statistics import FitResult

__all__ = ["MinimizerResult", "Candidate", "correlated_uvars"]

#: Minimizer methods that run a fit: called through a result, the result shows the new fit.
_REFITS = frozenset({"minimize", "leastsq", "least_squares", "scalar_minimize", "lbfgsb",
                     "nelder", "powell", "anneal", "brute", "basinhopping", "ampgo", "shgo",
                     "dual_annealing", "differential_evolution", "emcee"})


class Candidate(NamedTuple):
    """One grid point of ``brute``: its Parameters and its sum of squares."""

    params: Parameters
    score: float


def correlated_uvars(params: Parameters, var_names: list[str], covar: np.ndarray | None
                     ) -> dict[str, Any]:
    """``{name: ufloat}``, one correlated set (``paramfit[uncertainties]``).

    The varied parameters come from one ``uncertainties.correlated_values(values,
    covar)`` call; tied ones are their expressions evaluated on those ufloats (so a sum
    or ratio keeps the correlations); fixed ones have their ``stderr`` (or 0).
    """
    unc = require("uncertainties", "uncertainties", "uvars")
    umath = require("uncertainties.umath", "uncertainties")
    out: dict[str, Any] = {}
    if covar is not None and var_names:
        values = [params[n].value for n in var_names]
        out.update(zip(var_names, unc.correlated_values(values, covar)))
    for name, par in params.items():
        if name not in out and not par.expr:
            out[name] = unc.ufloat(par.value, par.stderr or 0.0)
    namespace: dict[str, Any] = dict(params.symbols.user_symbols())
    namespace.update({k: getattr(umath, k) for k in dir(umath) if not k.startswith("_")})
    namespace.update(out)
    for name, par in params.items():
        if par.expr:
            try:
                value = par.compiled_expr.evaluate(namespace)
            except Exception:  # noqa: BLE001  (a function umath lacks: no correlation)
                value = unc.ufloat(par.value, par.stderr or 0.0)
            out[name] = namespace[name] = value
    return {name: out[name] for name in params}


class MinimizerResult:
    """The result of one fit (lmfit 1.3's ``MinimizerResult``; seed 000's Minimizer view).

    Attributes
    ----------
    params : Parameters
        The best-fit Parameters: a copy of the fit's own (which the Minimizer also
        updated in place).
    var_names, init_vals, covar, residual, nfev, success, errorbars, message, ier,
    lmdif_message, nvarys, ndata, nfree, chisqr, redchi, aic, bic, method...
        Those of :class:`~paramfit.core.statistics.FitResult`.
    init_values : dict
        ``{name: start value}`` of the varied parameters.
    aborted : bool
        The fit was stopped by ``iter_cb`` or by ``max_nfev``.
    status : int
        The solver's termination status (``ier``).
    call_kws : dict
        The keywords sent to the underlying solver (when known).
    candidates : list of Candidate
        ``brute`` only: the best grid points, best first.
    brute_x0, brute_fval, brute_grid, brute_Jout
        ``brute`` only: scipy.optimize.brute's outputs.
    chain, lnprob, acceptance_fraction, flatchain
        ``emcee`` only.
    """

    def __init__(self, fit: FitResult, minimizer: Any, params: Parameters, *,
                 aborted: bool = False):
        self._bind(fit, minimizer, params, aborted)

    def _bind(self, fit: FitResult, minimizer: Any, params: Parameters, aborted: bool) -> None:
        d = self.__dict__
        d.clear()
        d["_fit"], d["_minimizer"] = fit, minimizer
        d["params"] = params
        d["aborted"] = bool(aborted)
        d["status"] = fit.ier
        d["init_values"] = dict(zip(fit.var_names, fit.init_vals))
        d["call_kws"] = dict(fit.extras.get("call_kws", {}))
        for key, value in fit.extras.items():
            if key not in ("call_kws", "brute_candidates"):
                d[key] = value
        if "brute_candidates" in fit.extras:
            d["candidates"] = [self._candidate(x, score)
                               for x, score in fit.extras["brute_candidates"]]

    def _candidate(self, x: np.ndarray, score: float) -> Candidate:
        pars = self.params.copy()
        for name, value in zip(self._fit.var_names, x.tolist()):
            pars[name].value = value
        return Candidate(pars, score)

    # ------------------------------------------------------------------ access
    def __getattr__(self, name: str) -> Any:
        d = self.__dict__
        if name.startswith("__") or "_fit" not in d:
            raise AttributeError(name)
        fit = d["_fit"]
        if hasattr(fit, name):
            return getattr(fit, name)
        minimizer = d["_minimizer"]
        if name in _REFITS:
            return self._refit(getattr(minimizer, name))
        try:
            return getattr(minimizer, name)
        except AttributeError:
            raise AttributeError(f"'MinimizerResult' object has no attribute {name!r}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        self.__dict__[name] = value

    def __getstate__(self) -> dict[str, Any]:
        """Pickle the fit, not the Minimizer (its compiled problem and the user's function
        need not pickle); an unpickled result cannot re-run the fit."""
        state = {k: v for k, v in self.__dict__.items() if k != "_uvars"}
        state["_minimizer"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def __bool__(self) -> bool:
        return bool(self._fit.success)

    def _refit(self, method: Callable[..., Any]) -> Callable[..., MinimizerResult]:
        """A fitting method called through this result: the result becomes the new fit
        (seed 000: ``out = minimize(...); out.leastsq(); out.chisqr``)."""

        def refit(*args: Any, **kws: Any) -> MinimizerResult:
            new = method(*args, **kws)
            self._bind(new._fit, new._minimizer, new.params, new.aborted)
            return self

        refit.__doc__ = method.__doc__
        return refit

    @property
    def result(self) -> MinimizerResult:
        """This result (seed 000 code reads ``out.result.chisqr`` of what ``minimize``
        returned, which was the Minimizer)."""
        return self

    @property
    def fit(self) -> FitResult:
        """The core :class:`~paramfit.core.statistics.FitResult` of this fit."""
        return self._fit

    @property
    def uvars(self) -> dict[str, Any] | None:
        """``{name: ufloat}`` of every parameter, one correlated set (built once);
        None without error bars (as lmfit 1.3)."""
        d = self.__dict__
        if "_uvars" not in d:
            fit = self._fit
            d["_uvars"] = (correlated_uvars(self.params, fit.var_names, fit.covar)
                           if fit.errorbars else None)
        return d["_uvars"]

    @property
    def flatchain(self) -> Any:
        """``emcee``: the chain as a pandas DataFrame, one column per varied parameter
        (None for other methods)."""
        chain = self.__dict__.get("chain")
        if chain is None:
            return None
        pd = require("pandas", "pandas", "MinimizerResult.flatchain")
        flat = np.asarray(chain).reshape((-1, len(self._fit.var_names)))
        return pd.DataFrame(flat, columns=self._fit.var_names)

    def show_candidates(self, candidate_nmb: int | str = "all") -> None:
        """Print the ``brute`` candidates (all, or number ``candidate_nmb``, from 1)."""
        candidates = self.__dict__.get("candidates")
        if candidates is None:
            return
        if candidate_nmb == "all":
            chosen = list(enumerate(candidates, 1))
        elif 1 <= int(candidate_nmb) <= len(candidates):
            chosen = [(int(candidate_nmb), candidates[int(candidate_nmb) - 1])]
        else:
            raise ValueError(f"'candidate_nmb' should be between 1 and {len(candidates)}.")
        for number, cand in chosen:
            print(f"\nCandidate #{number}, chisqr = {cand.score:.3f}")
            cand.params.pretty_print()

    def fit_report(self, **kws: Any) -> str:
        """Text report of this fit (:func:`paramfit.report.text.fit_report`)."""
        return self._minimizer._report(self, **kws)

    def _repr_html_(self, show_correl: bool = True, min_correl: float = 0.1) -> str:
        """HTML for Jupyter: the fit report in a ``<pre>`` block."""
        import html  # noqa: PLC0415  (stdlib, only for notebooks)

        text = self.fit_report(show_correl=show_correl, min_correl=min_correl)
        return f"<pre>{html.escape(text)}</pre>"

    def __repr__(self) -> str:
        fit = self._fit
        return (f"<MinimizerResult method={fit.method!r} success={fit.success} "
                f"nfev={fit.nfev} chisqr={fit.chisqr:.6g}>")
