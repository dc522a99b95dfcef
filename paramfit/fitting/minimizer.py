"""``minimize`` and ``Minimizer``: the seed 000 §3 API, a thin facade over the core.

A fit is three steps, each in its own module: compile the problem
(:mod:`paramfit.core.problem`), run a solver (:mod:`paramfit.core.solvers`), compute the
statistics (:mod:`paramfit.core.statistics`).  :class:`Minimizer` strings them together,
keeps the user's :class:`~paramfit.Parameters` intact when anything raises, and
exposes the statistics under the seed's attribute names.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import fields
from typing import Any

import numpy as np

from paramfit.core.differentiation.solution import accurate_jacobian
from paramfit.core.exceptions import FitError, StopFit
from paramfit.core.expressions.compiler import SymbolTable
from paramfit.core.parameters.parameters import Parameters
from paramfit.core.problem import FitProblem, check_fit_size
from paramfit.core.solvers.blas_threads import sequential_blas
from paramfit.core.solvers.levenberg_marquardt import levenberg_marquardt
from paramfit.core.solvers.scipy_methods import SCALAR_METHODS, run_least_squares, run_scalar_method
from paramfit.core.statistics import FitResult, SolverOutcome, build_result
from paramfit.report.text import fit_report

__all__ = ["Minimizer", "minimize", "METHODS"]

_LEASTSQ_NAMES = ("leastsq", "lm", "levenberg_marquardt")
METHODS = (*_LEASTSQ_NAMES, "least_squares", *SCALAR_METHODS)
_LEASTSQ_KWS = {"xtol", "ftol", "gtol", "maxfev", "max_nfev", "factor", "diag", "epsfcn",
                "Dfun", "jac", "col_deriv", "final_jacobian", "jacobian_update"}
_RESULT_FIELDS = frozenset(f.name for f in fields(FitResult))


class _AstevalView:
    """``Minimizer.asteval.symtable``: the user-symbol table of seed 000 §5.3."""

    def __init__(self, minimizer: Minimizer):
        self._minimizer = minimizer

    @property
    def symtable(self) -> SymbolTable:
        return self._minimizer.symbols


class Minimizer:
    """Fit a residual function of :class:`~paramfit.Parameters` (seed 000 §3.5).

    Parameters
    ----------
    fcn : callable
        ``fcn(params, *fcn_args, **fcn_kws) -> residual array``; any shape
        (flattened), real or complex (real and imaginary parts are stacked).
    params : Parameters
        Start values, bounds, fixed flags and tie expressions.  Updated in place
        with the best fit (``value``, ``stderr``, ``correl``, ``status``).
    fcn_args : tuple, optional
        Positional arguments for ``fcn``.
    fcn_kws : dict, optional
        Keyword arguments for ``fcn``.
    iter_cb : callable, optional
        ``iter_cb(params, iter, resid, *fcn_args, **fcn_kws)`` called every
        iteration; returning True stops the fit at the best point so far.
    scale_covar : bool, default True
        Scale the covariance (and so ``stderr``) by the reduced chi-square.
    nan_policy : {'raise', 'omit', 'propagate'}, default 'raise'
        NaN/inf in the residual: raise an error naming the evaluation, drop them,
        or pass them on to the solver.
    max_nfev : int, optional
        Largest number of residual evaluations.
    infeasible : {'warn', 'raise'}, default 'warn'
        A start value outside its bounds is moved to the nearest bound with a
        warning, or raises :class:`~paramfit.BoundsError`.
    jac, Dfun : callable, optional
        Analytic Jacobian ``jac(params, *fcn_args, **fcn_kws)``: shape
        ``(ndata, nvarys)`` (columns in ``var_names`` order) or ``(ndata,
        nparams)`` (all parameters in order; tied columns enter by the chain
        rule).  ``Dfun`` is the seed's name for the same thing.
    col_deriv : bool, default False
        The Jacobian is returned transposed.
    **fit_kws
        Default keyword arguments for the fitting method.

    Examples
    --------
    >>> import numpy as np
    >>> from paramfit import Minimizer, Parameters
    >>> x = np.linspace(0, 5, 50)
    >>> y = 3.0 * np.exp(-x / 1.5)
    >>> params = Parameters()
    >>> params.add('amp', value=1.0)
    >>> params.add('tau', value=1.0, min=0)
    >>> fitter = Minimizer(lambda p: p['amp'].value * np.exp(-x / p['tau'].value) - y, params)
    >>> fitter.leastsq()
    True
    >>> round(params['tau'].value, 6)
    1.5
    """

    def __init__(
        self,
        fcn: Callable[..., Any] | None = None,
        params: Parameters | None = None,
        fcn_args: Sequence[Any] | None = None,
        fcn_kws: Mapping[str, Any] | None = None,
        *,
        iter_cb: Callable[..., Any] | None = None,
        scale_covar: bool = True,
        nan_policy: str = "raise",
        max_nfev: int | None = None,
        infeasible: str = "warn",
        jac: Callable[..., Any] | None = None,
        Dfun: Callable[..., Any] | None = None,  # noqa: N803  (seed 000's name)
        col_deriv: bool = False,
        **fit_kws: Any,
    ):
        self.userfcn = fcn
        self.params = params
        self.userargs = tuple(fcn_args or ())
        self.userkws = dict(fcn_kws or {})
        self.iter_cb = iter_cb
        self.scale_covar = scale_covar
        self.nan_policy = nan_policy
        self.max_nfev = max_nfev
        self.infeasible = infeasible
        self.jacfcn = jac if jac is not None else Dfun
        self.col_deriv = col_deriv
        self.fit_kws = fit_kws
        self._own_symbols = SymbolTable()
        self.result: FitResult | None = None
        self.problem: FitProblem | None = None

    # ------------------------------------------------------------------ symbols
    @property
    def symbols(self) -> SymbolTable:
        """User functions and constants usable in constraint expressions."""
        if isinstance(self.params, Parameters):
            return self.params.symbols
        return self._own_symbols

    @property
    def asteval(self) -> _AstevalView:
        """Seed 000 §5.3 compatibility: ``fitter.asteval.symtable['f'] = f``."""
        return _AstevalView(self)

    # ------------------------------------------------------------------ set-up
    def prepare_fit(self, params: Parameters | None = None) -> FitProblem:
        """Check the Parameters, compile the tie expressions and build the problem.

        Called by every fitting method; call it yourself to evaluate the residual
        function at the start values before fitting (seed 000 §3.5).  Errors in
        bounds or expressions (cycles, unknown names, syntax) are raised here.
        """
        if params is not None:
            self.params = params
        if self.userfcn is None:
            raise FitError("Minimizer has no residual function: pass fcn to Minimizer(...)")
        if not isinstance(self.params, Parameters):
            raise FitError(
                "params must be a paramfit.Parameters object, got "
                f"{type(self.params).__name__}"
            )
        for name, value in self._own_symbols.user_symbols().items():
            self.params.symbols.setdefault(name, value)
        self.problem = FitProblem(
            self.userfcn, self.params, self.userargs, self.userkws,
            nan_policy=self.nan_policy, infeasible=self.infeasible,
        )
        return self.problem

    # ------------------------------------------------------------------ methods
    def minimize(self, method: str = "leastsq", **kws: Any) -> bool:
        """Fit with the named method; returns True when it converged.

        Methods: ``'leastsq'`` (paramfit's bounded Levenberg–Marquardt),
        ``'least_squares'`` (scipy trust-region reflective, ``loss=``),
        ``'lbfgsb'``, ``'nelder'``, ``'powell'``, ``'anneal'`` (dual annealing).
        """
        name = str(method).lower()
        if name in _LEASTSQ_NAMES:
            return self.leastsq(**kws)
        if name == "least_squares":
            return self.least_squares(**kws)
        if name in SCALAR_METHODS:
            return self._fit(name, lambda problem, cb, options: run_scalar_method(
                problem, name, cb, **options), kws)
        raise FitError(f"unknown fitting method {method!r}; choose one of {', '.join(METHODS)}")

    def leastsq(self, **kws: Any) -> bool:
        """Levenberg–Marquardt with native bounds (paramfit's own MINPACK-grade solver).

        Keywords: ``xtol``, ``ftol``, ``gtol``, ``maxfev`` (or ``max_nfev``),
        ``factor``, ``diag``, ``epsfcn`` (default relative finite-difference step is
        ``sqrt(epsfcn)``), ``Dfun``/``jac``, ``col_deriv``.
        """
        unknown = set(kws) - _LEASTSQ_KWS
        if unknown:
            raise FitError(
                f"leastsq got unknown keyword(s) {sorted(unknown)}; it accepts "
                f"{sorted(_LEASTSQ_KWS)}"
            )
        return self._fit("leastsq", self._run_leastsq, kws)

    def least_squares(self, **kws: Any) -> bool:
        """scipy.optimize.least_squares with bounds (``method='trf'`` by default)."""
        return self._fit("least_squares", lambda problem, cb, options: run_least_squares(
            problem, cb, **options), kws)

    def lbfgsb(self, **kws: Any) -> bool:
        """L-BFGS-B (scipy) on chi-square with native bounds."""
        return self.minimize("lbfgsb", **kws)

    def anneal(self, **kws: Any) -> bool:
        """Global search by scipy's dual annealing (scipy dropped ``anneal``); needs
        finite bounds on every varied parameter."""
        return self.minimize("anneal", **kws)

    def nelder(self, **kws: Any) -> bool:
        """Nelder–Mead simplex (scipy) on chi-square."""
        return self.minimize("nelder", **kws)

    def powell(self, **kws: Any) -> bool:
        """Powell's method (scipy) on chi-square."""
        return self.minimize("powell", **kws)

    # ------------------------------------------------------------------ driver
    def _fit(self, method: str, run: Callable, kws: dict) -> bool:
        options = {**self.fit_kws, **kws}
        if self.max_nfev is not None:
            options.setdefault("max_nfev", self.max_nfev)
        params = self.params
        snapshot = ({name: par.__getstate__() for name, par in params.items()}
                    if isinstance(params, Parameters) else {})
        try:
            problem = self.prepare_fit()
            check_fit_size(problem)
            init_vals = problem.x0.tolist()
            # the solver and the statistics on one BLAS thread (large problems only)
            with sequential_blas(problem.ndata * problem.nvarys):
                outcome = run(problem, self._callback(problem), options)
                outcome.analytic_jac = self.jacfcn is not None or "jac" in options \
                    or "Dfun" in options
                if outcome.jac is None or not np.all(np.isfinite(outcome.jac)):
                    try:
                        outcome.jac, extra = self._accurate_jacobian(problem, outcome)
                        outcome.nfev += extra
                    except StopFit:  # the user stops every evaluation now: no error bars
                        outcome.jac = np.full((outcome.fun.size, problem.nvarys), np.nan)
                result = build_result(problem, outcome, method=method,
                                      init_vals=init_vals, scale_covar=self.scale_covar)
            if self.result is None:  # seed 000 §4.2: a re-fit keeps the first start values
                for name, value in zip(problem.free_names, init_vals):
                    params[name].init_value = value
        except BaseException:
            for name, state in snapshot.items():
                params[name].__setstate__(state)
            raise
        self.result = result
        return result.success

    def _callback(self, problem: FitProblem) -> Callable | None:
        if self.iter_cb is None:
            return None
        iter_cb, args, kws = self.iter_cb, self.userargs, self.userkws

        def callback(x: np.ndarray, niter: int, resid: np.ndarray) -> bool:
            problem.set_values(x)
            return bool(iter_cb(problem.params, niter, resid, *args, **kws))

        return callback

    def _accurate_jacobian(self, problem: FitProblem,
                           outcome: SolverOutcome) -> tuple[np.ndarray, int]:
        if self.jacfcn is not None:
            return problem.user_jacobian(self.jacfcn, self.col_deriv)(outcome.x), 0
        return accurate_jacobian(
            problem.residual, outcome.x, outcome.fun, lower=problem.lower, upper=problem.upper
        )

    def _run_leastsq(self, problem: FitProblem, callback: Callable | None,
                     options: dict) -> SolverOutcome:
        opts = dict(options)
        maxfev = opts.pop("maxfev", None)
        max_nfev = opts.pop("max_nfev", None) or maxfev
        epsfcn = opts.pop("epsfcn", None)
        jac_fn = opts.pop("jac", None) or opts.pop("Dfun", None) or self.jacfcn
        opts.pop("Dfun", None)
        col_deriv = opts.pop("col_deriv", self.col_deriv)
        relative_step = problem.relative_step
        if epsfcn is not None:
            relative_step = np.where(np.isnan(relative_step) & np.isnan(problem.absolute_step),
                                     math.sqrt(epsfcn), relative_step)
        jac = problem.user_jacobian(jac_fn, col_deriv) if jac_fn is not None else None
        sol = levenberg_marquardt(
            problem.residual, problem.x0, jac=jac, lower=problem.lower, upper=problem.upper,
            absolute_step=problem.absolute_step, relative_step=relative_step,
            side=problem.side, max_step=problem.max_step, max_nfev=max_nfev,
            callback=callback, f0=problem.start_residual(), **opts,
        )
        code, message = sol.termination.value
        converged = bool(sol.termination.converged)
        return SolverOutcome(
            x=sol.x, fun=sol.fun, jac=sol.jac, nfev=sol.nfev, njev=sol.njev,
            niter=sol.niter, success=converged,
            message=("Fit succeeded: " if converged else "Fit did not succeed: ") + message,
            ier=int(sol.user_code if sol.user_code is not None else code),
            termination=sol.termination, user_code=sol.user_code, active=sol.active,
        )

    # ------------------------------------------------------------------ results
    def __getattr__(self, name: str) -> Any:
        if name in _RESULT_FIELDS:
            result = self.__dict__.get("result")
            if result is None:
                raise AttributeError(
                    f"Minimizer has no {name!r} yet: run a fit (e.g. .leastsq()) first"
                )
            return getattr(result, name)
        raise AttributeError(f"'Minimizer' object has no attribute {name!r}")

    def fit_report(self, **kws: Any) -> str:
        """Text report of the fit: statistics, values ± stderr, correlations."""
        return fit_report(self, **kws)


def minimize(
    fcn: Callable[..., Any],
    params: Parameters,
    args: Sequence[Any] = (),
    kws: Mapping[str, Any] | None = None,
    method: str = "leastsq",
    *,
    engine: str | None = None,
    iter_cb: Callable[..., Any] | None = None,
    scale_covar: bool = True,
    nan_policy: str = "raise",
    max_nfev: int | None = None,
    infeasible: str = "warn",
    jac: Callable[..., Any] | None = None,
    Dfun: Callable[..., Any] | None = None,  # noqa: N803  (seed 000's name)
    col_deriv: bool = False,
    **fit_kws: Any,
) -> Minimizer:
    """Fit ``params`` so that the sum of squares of ``fcn(params, *args, **kws)`` is least.

    Parameters
    ----------
    fcn : callable
        Residual function ``fcn(params, *args, **kws) -> array``.
    params : Parameters
        Updated in place with the best fit (value, stderr, correl, status).
    args, kws : tuple, dict
        Extra arguments for ``fcn``.
    method : str, default 'leastsq'
        Fitting method, see :meth:`Minimizer.minimize`; ``engine=`` is the seed's
        name for it.
    iter_cb, scale_covar, nan_policy, max_nfev, infeasible, jac, Dfun, col_deriv
        See :class:`Minimizer`.
    **fit_kws
        Passed to the method (``xtol``, ``ftol``, ``maxfev``... for leastsq).

    Returns
    -------
    Minimizer
        Holds the fit statistics (``chisqr``, ``redchi``, ``nfev``, ``success``,
        ``covar``...) as attributes; ``.result`` is the :class:`FitResult`.

    Raises
    ------
    FitError
        Nothing to vary, fewer residuals than varied parameters, bad options.
    ResidualError
        The residual function raised or returned something unusable.
    """
    fitter = Minimizer(
        fcn, params, fcn_args=args, fcn_kws=kws, iter_cb=iter_cb, scale_covar=scale_covar,
        nan_policy=nan_policy, max_nfev=max_nfev, infeasible=infeasible, jac=jac, Dfun=Dfun,
        col_deriv=col_deriv,
    )
    fitter.minimize(method=engine if engine is not None else method, **fit_kws)
    return fitter


