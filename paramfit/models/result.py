"""``ModelResult``: the outcome of :meth:`paramfit.Model.fit`.

A :class:`ModelResult` *is* a :class:`~paramfit.FitResult` (the statistics are declared
once, there) for a model and its data, and *holds* the :class:`~paramfit.Minimizer` that
ran the fit (it does not inherit from it).  Presentation (reports, plots, tables,
ufloats) is delegated to the modules that own it; the optional packages they need
(matplotlib, pandas, uncertainties) are imported on first use.  This module knows no
model class: it reads the model it holds through the methods every
:class:`~paramfit.models.model.Model` has, so :mod:`paramfit.models.model` imports it
(``Model.fit`` returns a ModelResult), never the reverse.  The fit driver that builds a
ModelResult, :func:`~paramfit.models.fit_driver.run_fit`, is in
:mod:`paramfit.models.fit_driver`.
"""

from __future__ import annotations

import html
import math
import warnings
from collections.abc import Callable, Mapping
from dataclasses import fields
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import special

from paramfit.core.exceptions import FitError, ParamfitWarning
from paramfit.core.expressions.compiler import make_namespace
from paramfit.core.optional import require
from paramfit.core.parameters.parameters import Parameters
from paramfit.core.statistics import FitResult
from paramfit.fitting.confidence import conf_interval
from paramfit.fitting.minimizer import Minimizer
from paramfit.models.common import STATISTICS, _current
from paramfit.models.io import dumps_modelresult, loads_modelresult, register_model_class
from paramfit.models.reducers import get_reducer, propagate_err
from paramfit.models.run import FIT_CALL_OPTIONS, RUN_DEFAULTS, run_attributes, run_defaults
from paramfit.models.uncertainty import _Gradient, _variance
from paramfit.report.text import ci_report, fit_report

if TYPE_CHECKING:  # the model a result holds; model.py imports this module
    from paramfit.models.model import Model

__all__ = ["ModelResult", "STATISTICS"]

#: Fields of :class:`~paramfit.FitResult` a ModelResult takes from its fit (all but the
#: Parameters, which it has of its own); :data:`STATISTICS` are those saved with it.
_FIT_FIELDS = tuple(f.name for f in fields(FitResult) if f.name != "params")


class ModelResult(FitResult):
    """Result of :meth:`Model.fit <paramfit.models.model.Model.fit>`.

    Attributes
    ----------
    model : Model
        The fitted model.
    minimizer : Minimizer or None
        The fitter that produced the result (None for a result loaded from JSON).
    data, weights : ndarray
        Data and weights fitted (NaN points removed with ``nan_policy='omit'``).
    mask : ndarray of bool or None
        Points kept with ``nan_policy='omit'``.
    userkws : dict
        Independent variables used in the fit.
    params, init_params : Parameters
        Best-fit (a copy of the Parameters given to ``fit``) and initial parameters.
    best_fit, init_fit : ndarray
        Model at the best fit and at the start.
    init_values, best_values : dict
        Initial and best-fit value of every argument of the model function(s), keyed with
        prefix (options such as ``form`` included; derived parameters not), as lmfit's.
    values : dict
        Best-fit value of every parameter (derived ones included).
    nan_policy : str
    rsquared : float
        Coefficient of determination ``1 - SS_res / SS_tot`` (unweighted).
    method, nfev, njev, niter, success, errorbars, message, ier, lmdif_message, nvarys,
    ndata, nfree, chisqr, redchi, aic, bic, covar, var_names, init_vals, residual, jac,
    gradient, tvalues, pvalues, scale_covar
        The statistics of :class:`~paramfit.FitResult` (:data:`STATISTICS`, saved by
        :meth:`dumps`).
    x, termination, user_code, active, jac_singular_values
        The solver's own fields of :class:`~paramfit.FitResult`; None for a result
        loaded from JSON.
    ci_out : dict or None
        Last :meth:`conf_interval` result.
    dely, dely_comps : ndarray, dict
        Last :meth:`eval_uncertainty` band, total and per component.
    dely_predicted : ndarray or None
        Last :meth:`eval_uncertainty` band of a new measurement (the model's uncertainty
        and the noise, ``redchi``, added in quadrature).

    Examples
    --------
    >>> import numpy as np
    >>> from paramfit.models.builtin import GaussianModel
    >>> x = np.linspace(-5, 5, 101)
    >>> y = 3 * np.exp(-x**2 / 2) + 0.01 * np.random.default_rng(1).standard_normal(101)
    >>> result = GaussianModel().fit(y, x=x, amplitude=5, center=0.5, sigma=2)
    >>> result.success, round(result.params['sigma'].value, 2)
    (True, 1.0)
    """

    model: Model
    minimizer: Minimizer | None
    data: np.ndarray
    weights: np.ndarray | None
    mask: np.ndarray | None
    userkws: dict[str, Any]
    init_params: Parameters
    best_fit: np.ndarray
    init_fit: np.ndarray
    init_values: dict[str, float]
    nan_policy: str
    rsquared: float
    ci_out: Any
    dely: np.ndarray | None
    dely_comps: dict[str, np.ndarray]
    dely_predicted: np.ndarray | None

    def __init__(self, model: Model, params: Parameters | None = None, data: Any = None,
                 weights: Any = None, method: str = "leastsq", *,
                 minimizer: Minimizer | None = None,
                 userkws: Mapping[str, Any] | None = None,
                 init_params: Parameters | None = None, nan_policy: str = "raise",
                 mask: np.ndarray | None = None,
                 statistics: Mapping[str, Any] | None = None,
                 run: Mapping[str, Any] | None = None, **fit_options: Any):
        self.model = model
        self.minimizer = minimizer
        self.data = None if data is None else np.asarray(data)
        self.weights = None if weights is None else np.asarray(weights)
        self.mask = mask
        self.userkws = dict(userkws or {})
        if params is None:
            if minimizer is None:
                raise FitError("ModelResult needs params (ModelResult(model, params, data)) "
                               "or a fitted minimizer")
            params = minimizer.params
        self.params = params
        self.init_params = init_params if init_params is not None else params.copy()
        self.nan_policy = nan_policy
        self.ci_out = None
        self.dely = None
        self.dely_predicted = None
        self.dely_comps = {}
        self.user_options = None  # lmfit's attribute; lmfit sets nothing else there
        if statistics is None and (minimizer is None or minimizer.result is None):
            # lmfit's ModelResult(model, params, data=..., method=...): not fitted yet;
            # .fit() runs it, .loads() fills it from a saved result
            self._unfitted(method, fit_options)
            return
        if statistics is None:
            fit = minimizer.result
            statistics = {name: getattr(fit, name) for name in _FIT_FIELDS}
            run = run_attributes(minimizer)
        for name in _FIT_FIELDS:
            setattr(self, name, statistics.get(name))
        if self.extras is None:  # not saved (the method's own outputs)
            self.extras = {}
        self.__dict__.update(run_defaults(run))
        self.init_values = self.model._make_all_args(self.init_params)
        self.init_fit = self._evaluate(self.init_params)
        self.best_fit = self._evaluate(self.params)
        self.rsquared = _rsquared(self.data, self.best_fit)
        self.userargs = (self.data, self.weights)

    def _unfitted(self, method: str, fit_options: Mapping[str, Any]) -> None:
        """The state of a result made by ``ModelResult(model, params, ...)`` before a fit:
        no statistics (None), the fit's options kept for :meth:`fit`."""
        for name in _FIT_FIELDS:
            setattr(self, name, None)
        self.method = method
        options = dict(fit_options)
        fcn_args = options.pop("fcn_args", None)
        if fcn_args:
            raise FitError("ModelResult: fcn_args (positional arguments of the model "
                           "function) are not supported; give the independent variables "
                           "by name, fcn_kws={'x': x} or result.fit(x=x)")
        self.userkws.update(options.pop("fcn_kws", None) or {})
        # lmfit: Model.fit's own options by name, every other keyword for the solver
        self._fit_options = {k: options.pop(k) for k in FIT_CALL_OPTIONS if k in options}
        if options:
            self._fit_options["fit_kws"] = {**self._fit_options.get("fit_kws", {}),
                                            **options}
        self.__dict__.update(run_defaults({
            "calc_covar": fit_options.get("calc_covar", True),
            "max_nfev": fit_options.get("max_nfev"), "kws": {}}))
        self.init_values = self.model._make_all_args(self.init_params)
        self.init_fit = self.best_fit = None
        self.rsquared = None
        self.userargs = (self.data, self.weights)

    def loads(self, s: str | bytes, funcdefs: Mapping[str, Callable] | None = None,
              **kws: Any) -> ModelResult:
        """Fill this result from :meth:`dumps` output (lmfit's ``ModelResult.loads``).

        The model is rebuilt from the file (functions resolved only from paramfit's
        lineshapes and ``funcdefs``, see :mod:`paramfit.models.io`); returns ``self``.
        ``kws`` are accepted for lmfit's signature (its JSON decoder's options).
        """
        loaded = loads_modelresult(s, funcdefs=funcdefs)
        self.__dict__.clear()
        self.__dict__.update(loaded.__dict__)
        return self

    @property
    def best_values(self) -> dict[str, Any]:
        """Best-fit function arguments by prefixed name (lmfit's ``best_values``)."""
        return self.model._make_all_args(self.params)

    @property
    def flatchain(self) -> Any:
        """``emcee``: the chain as a pandas DataFrame (lmfit's attribute); None for the
        other methods and for a loaded result."""
        last = None if self.minimizer is None else self.minimizer.last_result
        return None if last is None else last.flatchain

    @property
    def values(self) -> dict[str, float]:
        """``{name: best-fit value}`` of every parameter, derived ones included."""
        return {name: float(p.value) for name, p in self.params.items()}

    def fit(self, data: Any = None, params: Parameters | None = None, weights: Any = None,
            method: str | None = None, nan_policy: str | None = None,
            **kws: Any) -> ModelResult:
        """Fit again, from ``params`` (default the best fit), updating this result.

        Parameters
        ----------
        data, weights, method, nan_policy : optional
            Replace those of the previous fit when given.
        params : Parameters, optional
            Start values; default :attr:`params` (a copy).
        **kws
            Independent variables that replace the previous ones, and options of
            :meth:`Model.fit <paramfit.models.model.Model.fit>`.

        Returns
        -------
        ModelResult
            This result, refitted.
        """
        data = self.data if data is None else data
        if data is None:
            raise FitError("ModelResult.fit: no data to fit; give data (result.fit(data, "
                           "x=...)) or ModelResult(model, params, data=...)")
        weights = self.weights if weights is None else weights
        start = (self.params if params is None else params).copy()
        userkws = {**self.__dict__.get("_fit_options", {}), **self.userkws, **kws}
        refit = self.model.fit(data, start, weights=weights,
                               method=self.method if method is None else method,
                               nan_policy=self.nan_policy if nan_policy is None
                               else nan_policy, **userkws)
        self.__dict__.update(refit.__dict__)
        return self

    def _repr_html_(self, show_correl: bool = True, min_correl: float = 0.1) -> str:
        """HTML for notebooks: the fit report in a ``<pre>`` block."""
        report = self.fit_report(show_correl=show_correl, min_correl=min_correl)
        return (f"<h2>Fit Result</h2> <p>Model: {html.escape(self.model.name)}</p>"
                f"<pre>{html.escape(report)}</pre>")

    def __repr__(self) -> str:
        return (f"<ModelResult {self.model.name}: success={self.success}, "
                f"chisqr={self.chisqr:.6g}, nfev={self.nfev}>")

    # ------------------------------------------------------------------ evaluation
    def _evaluate(self, params: Parameters) -> np.ndarray:
        """The model at ``params`` (ties already evaluated) and the fit's variables."""
        values = {name: params[name]._value for name in self.model.param_names}
        return np.asarray(self.model._evaluate(values, self.userkws))

    def _kws(self, kws: Mapping[str, Any]) -> dict[str, Any]:
        return {**self.userkws, **kws}

    def eval(self, params: Parameters | None = None, **kws: Any) -> np.ndarray:
        """The model at ``params`` (default the best fit); keywords as for ``Model.eval``."""
        return self.model.eval(self.params if params is None else params, **self._kws(kws))

    def eval_components(self, params: Parameters | None = None,
                        **kws: Any) -> dict[str, np.ndarray]:
        """``{prefix: array}`` for each component at the best fit (or ``params``)."""
        return self.model.eval_components(self.params if params is None else params,
                                          **self._kws(kws))

    def eval_uncertainty(self, params: Parameters | None = None, sigma: float = 1,
                         **kws: Any) -> np.ndarray:
        """Uncertainty band of the model, ``scale * sqrt(g C gᵀ)``.

        ``g`` holds the model's derivatives with respect to the varied parameters
        (analytic when the model has them, carried through tie expressions), ``C`` the
        covariance, and ``scale`` the Student-t quantile for the probability of
        ``sigma`` (``sigma < 1`` is a probability, else a number of normal standard
        deviations) with ``nfree`` degrees of freedom, as lmfit does.  Sets ``dely``
        and ``dely_comps`` (per component).

        Examples
        --------
        >>> import numpy as np
        >>> from paramfit.models.builtin import LinearModel
        >>> x = np.arange(10.0)
        >>> y = 2 * x + 1 + np.random.default_rng(0).normal(0, 0.1, 10)
        >>> band = LinearModel().fit(y, x=x).eval_uncertainty(sigma=2)
        >>> band.shape
        (10,)
        """
        params = _current(self.params if params is None else params)
        indep, _ = self.model._split_kws(self._kws(kws), params)
        if self.covar is None:
            warnings.warn("the fit has no covariance (no error bars): the uncertainty band "
                          "is zero", ParamfitWarning, stacklevel=2)
            value = self.model.eval(params, **indep)  # a complex model: a complex band
            self.dely = np.zeros(np.shape(value), dtype=np.result_type(value, float))
            self.dely_predicted = self.dely
            return self.dely
        prob = sigma if sigma < 1 else math.erf(sigma / math.sqrt(2.0))
        # Student-t quantile: scipy.stats.t.ppf(q, df) == special.stdtrit(df, q)
        scale = float(special.stdtrit(max(self.nfree, 1), (prob + 1) / 2.0))
        covar = np.asarray(self.covar)
        gradient = _Gradient(params, self.var_names)
        self.dely_comps = {}
        for comp in self.model.components:
            key = comp._component_key()
            g = gradient(comp, {k: v for k, v in indep.items() if k in comp.independent_vars})
            self.dely_comps[key] = scale * np.sqrt(_variance(g, covar))
        variance = _variance(gradient(self.model, indep), covar)
        self.dely = scale * np.sqrt(variance)
        self.dely_predicted = scale * np.sqrt(variance + self.redchi)
        return self.dely

    # ------------------------------------------------------------------ presentation
    def conf_interval(self, **kws: Any) -> Any:
        """Profile confidence intervals (:func:`paramfit.fitting.confidence.conf_interval`).

        As lmfit's ``ModelResult.conf_interval``, ``sigmas`` defaults to ``(1, 2, 3)``
        standard deviations; other keywords go to that function.
        """
        kws.setdefault("sigmas", (1, 2, 3))
        if self.minimizer is None:
            raise FitError("this result was loaded from JSON and holds no fitter: fit the "
                           "model again (result.model.fit(...)) to compute intervals")
        self.ci_out = conf_interval(self.minimizer, **kws)
        return self.ci_out

    def ci_report(self, with_offset: bool = True, ndigits: int = 5, **kws: Any) -> str:
        """Text table of :meth:`conf_interval` (computed with ``kws``, as lmfit's).

        ``with_offset`` is accepted for lmfit's signature; the table shows the limits
        themselves.
        """
        if self.ci_out is None or kws:
            self.conf_interval(**kws)
        ci = self.ci_out[0] if isinstance(self.ci_out, tuple) else self.ci_out
        return ci_report(ci, ndigits=ndigits)

    def fit_report(self, **kws: Any) -> str:
        """Text report: model, fit statistics, values ± stderr, correlations."""
        return f"[[Model]]\n    {self.model.name}\n" + fit_report(self, **kws)

    def _x(self) -> np.ndarray:
        x = np.asarray(self.userkws.get(self.model.independent_vars[0]), dtype=float)
        if x.shape != self.data.shape or self.data.ndim != 1:
            raise FitError("plots need one 1-D independent variable of the data's length")
        return x

    def _axes(self, ax: Any) -> Any:
        if ax is not None:
            return ax
        plt = require("matplotlib.pyplot", "plot", "ModelResult plots")
        return plt.figure().add_subplot()

    def plot(self, datafmt: str = "o", fitfmt: str = "-", initfmt: str = "--",
             xlabel: str | None = None, ylabel: str | None = None, yerr: Any = None,
             numpoints: int | None = None, fig: Any = None,
             data_kws: Mapping[str, Any] | None = None,
             fit_kws: Mapping[str, Any] | None = None,
             init_kws: Mapping[str, Any] | None = None,
             ax_res_kws: Mapping[str, Any] | None = None,
             ax_fit_kws: Mapping[str, Any] | None = None,
             fig_kws: Mapping[str, Any] | None = None, show_init: bool = False,
             parse_complex: str = "abs", title: str | None = None) -> Any:
        """Residuals above, data and fit below, in one figure (``paramfit[plot]``);
        returns the figure (lmfit 1.3's signature and layout).

        The residual panel carries the title (``title``, else ``ax_res_kws['title']``,
        else the model's name); the other keywords are those of :meth:`plot_residuals`
        and :meth:`plot_fit` (``ax_res_kws``/``ax_fit_kws``: of each panel, ``fig_kws``:
        of a new figure).
        """
        plt = require("matplotlib.pyplot", "plot", "ModelResult.plot()")
        if fig is None:
            fig = plt.figure(**dict(fig_kws or {}))
        grid = fig.add_gridspec(2, 1, height_ratios=[1, 4])
        res_kws = dict(ax_res_kws or {})
        res_title = title if title is not None else res_kws.pop("title", None)
        res_kws.pop("title", None)
        fit_ax_kws = dict(ax_fit_kws or {})
        fit_ax_kws.pop("title", None)
        ax_res = fig.add_subplot(grid[0], **res_kws)
        ax_fit = fig.add_subplot(grid[1], sharex=ax_res, **fit_ax_kws)
        self.plot_residuals(ax=ax_res, datafmt=datafmt, yerr=yerr, data_kws=data_kws,
                            fit_kws=fit_kws, parse_complex=parse_complex, title=res_title)
        self.plot_fit(ax=ax_fit, datafmt=datafmt, fitfmt=fitfmt, initfmt=initfmt,
                      xlabel=xlabel, ylabel=ylabel, yerr=yerr, numpoints=numpoints,
                      data_kws=data_kws, fit_kws=fit_kws, init_kws=init_kws,
                      show_init=show_init, parse_complex=parse_complex, title="")
        return fig

    def plot_fit(self, ax: Any = None, datafmt: str = "o", fitfmt: str = "-",
                 initfmt: str = "--", xlabel: str | None = None, ylabel: str | None = None,
                 yerr: Any = None, numpoints: int | None = None,
                 data_kws: Mapping[str, Any] | None = None,
                 fit_kws: Mapping[str, Any] | None = None,
                 init_kws: Mapping[str, Any] | None = None,
                 ax_kws: Mapping[str, Any] | None = None, show_init: bool = False,
                 parse_complex: str = "abs", title: str | None = None) -> Any:
        """Data and best fit (and the initial fit) on ``ax``; returns the axes.

        lmfit 1.3's signature: ``datafmt``/``fitfmt``/``initfmt`` are matplotlib format
        strings, ``*_kws`` keywords of those plot calls, ``ax_kws`` those of a new axes
        (``ax=None``), ``yerr`` error bars on the data (default ``1/weights`` when there
        are weights), ``numpoints`` evaluates the model on that many points spanning the
        data, ``parse_complex`` reduces complex data and model (``'abs'``, ``'real'``,
        ``'imag'``, ``'angle'``), ``title`` default the model's name.
        """
        reduce = get_reducer(parse_complex)
        if ax is None:
            plt = require("matplotlib.pyplot", "plot", "ModelResult plots")
            ax = plt.figure().add_subplot(**dict(ax_kws or {}))
            title = title if title is not None else (ax_kws or {}).get("title")
        x = self._x()
        if yerr is None and self.weights is not None and np.ndim(self.weights):
            with np.errstate(divide="ignore"):
                yerr = 1.0 / np.asarray(self.weights, dtype=float)
        if yerr is not None:
            ax.errorbar(x, reduce(self.data), yerr=propagate_err(self.data, yerr,
                                                                 parse_complex),
                        fmt=datafmt, label="data", **dict(data_kws or {}))
        else:
            ax.plot(x, reduce(self.data), datafmt, label="data", **dict(data_kws or {}))
        fine = np.linspace(x.min(), x.max(), numpoints) if numpoints else x
        best = self.eval(**{self.model.independent_vars[0]: fine}) if numpoints \
            else self.best_fit
        ax.plot(fine, reduce(best), fitfmt, label="best fit", **dict(fit_kws or {}))
        if show_init:
            init = self.eval(self.init_params, **{self.model.independent_vars[0]: fine}) \
                if numpoints else self.init_fit
            ax.plot(fine, reduce(init), initfmt, label="initial fit",
                    **dict(init_kws or {}))
        ax.set_title(self.model.name if title is None else title)
        ax.set_xlabel(self.model.independent_vars[0] if xlabel is None else xlabel)
        ax.set_ylabel("y" if ylabel is None else ylabel)
        ax.legend()
        return ax

    def plot_residuals(self, ax: Any = None, datafmt: str = "o", yerr: Any = None,
                       data_kws: Mapping[str, Any] | None = None,
                       fit_kws: Mapping[str, Any] | None = None,
                       ax_kws: Mapping[str, Any] | None = None, parse_complex: str = "abs",
                       title: str | None = None) -> Any:
        """Residuals ``data - best_fit`` on ``ax``; returns the axes (lmfit's signature:
        ``fit_kws`` styles the zero line, the others as :meth:`plot_fit`)."""
        reduce = get_reducer(parse_complex)
        if ax is None:
            plt = require("matplotlib.pyplot", "plot", "ModelResult plots")
            ax = plt.figure().add_subplot(**dict(ax_kws or {}))
            title = title if title is not None else (ax_kws or {}).get("title")
        x = self._x()
        ax.axhline(0.0, color="k", linewidth=0.8, **dict(fit_kws or {}))
        residual = reduce(self.data) - reduce(self.best_fit)
        if yerr is not None:
            ax.errorbar(x, residual, yerr=propagate_err(self.data, yerr, parse_complex),
                        fmt=datafmt, **dict(data_kws or {}))
        else:
            ax.plot(x, residual, datafmt, markersize=3, **dict(data_kws or {}))
        ax.set_title(self.model.name if title is None else title)
        ax.set_ylabel("residuals")
        return ax

    def summary(self) -> dict[str, Any]:
        """Everything about the fit as a JSON-serialisable dict (no arrays of data).

        Examples
        --------
        >>> import json, numpy as np
        >>> from paramfit.models.builtin import LinearModel
        >>> r = LinearModel().fit([1.0, 3.0, 5.1], x=[0.0, 1.0, 2.0])
        >>> sorted(json.loads(json.dumps(r.summary()))['params'])
        ['intercept', 'slope']
        """
        scalars = ("method", "nfev", "njev", "niter", "success", "errorbars", "message",
                   "ier", "nvarys", "ndata", "nfree", "chisqr", "redchi", "aic", "bic",
                   "rsquared", "scale_covar", "nan_policy")
        out: dict[str, Any] = {"model": self.model.name}
        out.update({name: _plain(getattr(self, name)) for name in scalars})
        out["var_names"] = list(self.var_names or [])
        # lmfit 1.3's run attributes (JSON-safe: a solver option that is no plain value
        # appears as its repr)
        out.update({name: _jsonable(getattr(self, name)) for name in RUN_DEFAULTS})
        out["user_options"] = None
        out["flatchain"] = None if self.flatchain is None else \
            _jsonable(np.asarray(self.flatchain).tolist())
        # lmfit 1.3's keys: the function arguments at the start and the best fit, the
        # independent variables' names, the ModelResult's own options
        out["init_values"] = {k: _plain(v) for k, v in self.init_values.items()}
        out["best_values"] = {k: _plain(v) for k, v in self.best_values.items()}
        out["lmdif_message"] = _plain(self.lmdif_message)
        out["ci_out"] = None if self.ci_out is None else {
            name: [[_plain(level), _plain(value)] for level, value in rows]
            for name, rows in (self.ci_out[0] if isinstance(self.ci_out, tuple)
                               else self.ci_out).items()}
        out["covar"] = None if self.covar is None else _plain(np.asarray(self.covar).tolist())
        out["params"] = {
            name: {"value": _plain(p.value), "stderr": _plain(p.stderr),
                   "init_value": _plain(self._init_value(name)), "min": _plain(p.min),
                   "max": _plain(p.max), "vary": bool(p.vary), "expr": p.expr,
                   "correl": {k: _plain(v) for k, v in (p.correl or {}).items()}}
            for name, p in self.params.items()
        }
        return out

    def _init_value(self, name: str) -> float | None:
        """Initial value of parameter ``name`` (None for one added after the fit)."""
        par = self.init_params.get(name)
        return None if par is None else par.value

    def to_dataframe(self) -> Any:
        """The parameters as a pandas DataFrame indexed by name (``paramfit[pandas]``)."""
        pd = require("pandas", "pandas", "ModelResult.to_dataframe()")
        rows = [{"name": n, "value": p.value, "stderr": p.stderr,
                 "init_value": self._init_value(n), "min": p.min, "max": p.max,
                 "vary": p.vary, "expr": p.expr, "status": p.status.value}
                for n, p in self.params.items()]
        return pd.DataFrame(rows).set_index("name")

    def params_ufloat(self) -> dict[str, Any]:
        """``{name: ufloat}`` with correlations (``paramfit[uncertainties]``).

        Varied parameters come from ``uncertainties.correlated_values(values, covar)``;
        tied ones are their expressions evaluated on those (so correlated too) where the
        expression uses functions ``uncertainties.umath`` has; fixed ones have zero error.
        """
        unc = require("uncertainties", "uncertainties", "ModelResult.params_ufloat()")
        umath = require("uncertainties.umath", "uncertainties")
        out: dict[str, Any] = {}
        if self.covar is not None and self.var_names:
            values = [self.params[n].value for n in self.var_names]
            out.update(zip(self.var_names, unc.correlated_values(values, self.covar)))
        for name, par in self.params.items():
            if name not in out and not par.expr:
                out[name] = unc.ufloat(par.value, par.stderr or 0.0)
        ns = make_namespace(self.params.symbols.user_symbols())
        ns.update({k: getattr(umath, k) for k in list(ns) if hasattr(umath, k)})
        ns.update(out)
        for name, par in self.params.items():
            if par.expr:
                try:
                    out[name] = ns[name] = par.compiled_expr.evaluate(ns)
                except Exception:  # noqa: BLE001  (function umath lacks: no correlation)
                    out[name] = ns[name] = unc.ufloat(par.value, par.stderr or 0.0)
        return {name: out[name] for name in self.params}

    @property
    def uvars(self) -> dict[str, Any]:
        """Alias of :meth:`params_ufloat` (lmfit 1.3's name)."""
        return self.params_ufloat()

    def dumps(self, **json_kws: Any) -> str:
        """The result as JSON (:func:`paramfit.models.io.load_modelresult` reads it)."""
        return dumps_modelresult(self, **json_kws)


# ---------------------------------------------------------------------- helpers
def _rsquared(data: np.ndarray, best_fit: np.ndarray) -> float:
    """``1 - SS_res/SS_tot`` over all points (any shape; complex: squared moduli)."""
    data = np.asarray(data).ravel()
    fit = np.asarray(best_fit)
    fit = fit.ravel() if fit.size == data.size else \
        np.broadcast_to(fit, data.shape) if fit.size == 1 else np.full(data.size, np.nan)
    total = float(np.sum(np.abs(data - data.mean()) ** 2)) if data.size else 0.0
    return 1.0 - float(np.sum(np.abs(data - fit) ** 2)) / max(total, 1e-300)


def _jsonable(value: Any) -> Any:
    """``value`` as plain JSON data: :func:`_plain` scalars, lists and dicts of them,
    arrays as lists, anything else as its ``repr``."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    value = _plain(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)


def _plain(value: Any) -> Any:
    """JSON-safe scalar: NaN -> None, inf -> 'inf'/'-inf', numpy -> Python."""
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, (np.floating, float)):
        value = float(value)
        if math.isnan(value):
            return None
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return value
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


register_model_class("result", ModelResult)
