"""``minimize`` and ``Minimizer``: the seed 000 §3 API, a thin facade over the core.

A fit is three steps, each in its own module: compile the problem
(:mod:`paramfit.core.problem`), run a solver (:mod:`paramfit.core.solvers`), compute the
statistics (:mod:`paramfit.core.statistics`).  :class:`Minimizer` strings them together,
keeps the user's :class:`~paramfit.Parameters` intact when anything raises, and
exposes the statistics under the seed's attribute names.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import fields
from typing import Any

import numpy as np

from paramfit.core.exceptions import (
    FitError,
    ResidualError,
    StopFit,
)
from paramfit.core.expressions.compiler import SymbolTable
from paramfit.core.options import FitOptions, OptionError
from paramfit.core.parameters.parameters import Parameters
from paramfit.core.parameters.symbols_view import AstevalView
from paramfit.core.problem import FitProblem, check_fit_size
from paramfit.core.solvers.blas_threads import sequential_blas
from paramfit.core.solvers.final_phase import BudgetSpent, Evaluator
from paramfit.core.solvers.levenberg_marquardt import solve as solve_lm
from paramfit.core.solvers.mcmc import run_emcee
from paramfit.core.solvers.scipy_methods import (
    GLOBAL_METHODS,
    run_global_method,
    run_least_squares,
    run_scalar_method,
)
from paramfit.core.solvers.scipy_methods import (
    SCALAR_METHODS as _SCIPY_SCALAR,
)
from paramfit.core.statistics import (
    FitResult,
    SolverOutcome,
    build_result,
)
from paramfit.core.termination import Termination
from paramfit.fitting.methods import (
    _LEASTSQ_NAMES,
    HAS_EMCEE,
    HAS_PANDAS,
    METHODS,
    SCALAR_METHODS,
)
from paramfit.fitting.outcomes import _final_jacobian, _propagated_nan, _stopped_at_start
from paramfit.fitting.residual_checks import _add_note, _user_exception, coerce_float64
from paramfit.fitting.result import Candidate, MinimizerResult
from paramfit.fitting.writeback import _write_parameters
from paramfit.report.text import fit_report

try:    # written on another branch; until it is merged, 'ampgo' says what is missing
    from paramfit.core.solvers.ampgo import ampgo as _ampgo_function
except ImportError:  # pragma: no cover - depends on the build
    _ampgo_function = None

#: lmfit 1.3's name of the error a fit raises on purpose
MinimizerException = FitError

__all__ = ["Minimizer", "MinimizerResult", "MinimizerException", "Candidate", "minimize",
           "METHODS", "HAS_EMCEE", "HAS_PANDAS",
           "SCALAR_METHODS", "coerce_float64"]

_RESULT_FIELDS = frozenset(f.name for f in fields(FitResult))
#: A solver: ``run(problem, evaluator, options, callback) -> SolverOutcome``.
_Solver = Callable[[FitProblem, Evaluator, FitOptions, Callable | None], SolverOutcome]


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
        Largest number of residual evaluations (for ``leastsq``: of the iteration;
        the final Jacobian's are counted in ``nfev`` on top).
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
        Default options of the fitting method (``maxfev`` is ``max_nfev``).  Options
        given to the method call override every option given here; all of them are
        resolved and checked once per fit by
        :meth:`FitOptions.resolve <paramfit.core.options.FitOptions.resolve>`.

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
    >>> bool(fitter.leastsq())
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
        iter_cb: Callable[..., Any] | None = None,
        scale_covar: bool = True,
        nan_policy: str = "raise",
        reduce_fcn: str | Callable[..., Any] | None = None,
        calc_covar: bool = True,
        max_nfev: int | None = None,
        *,
        infeasible: str = "warn",
        jac: Callable[..., Any] | None = None,
        Dfun: Callable[..., Any] | None = None,  # noqa: N803  (seed 000's name)
        col_deriv: bool = False,
        iteration_cb: Callable[..., Any] | None = None,
        **fit_kws: Any,
    ):
        self.userfcn = fcn
        self.params = params
        self.userargs = tuple(fcn_args or ())
        self.userkws = dict(fcn_kws or {})
        self.iter_cb = iter_cb
        self.iteration_cb = iteration_cb
        self.scale_covar = scale_covar
        self.nan_policy = nan_policy
        self.reduce_fcn = reduce_fcn
        self.calc_covar = calc_covar
        self._max_nfev = max_nfev
        self._last_max_nfev: int | None = None
        self._abort = False
        self.infeasible = infeasible
        if jac is not None and Dfun is not None and jac is not Dfun:
            raise OptionError("Minimizer got jac= and Dfun=, two names of one option (the "
                              "Jacobian function): give one of them")
        self.jacfcn = jac if jac is not None else Dfun
        self.col_deriv = col_deriv
        self.fit_kws = fit_kws
        self._own_symbols = SymbolTable()
        self.result: FitResult | None = None
        self.last_result: MinimizerResult | None = None
        self.problem: FitProblem | None = None

    @property
    def max_nfev(self) -> int | None:
        """The evaluation limit: the one the last fit used when its call gave one
        (lmfit 1.3 reports it so), else the constructor's.  Setting it sets the
        constructor's (a call's own ``max_nfev`` holds for that call only)."""
        return self._last_max_nfev if self._last_max_nfev is not None else self._max_nfev

    @max_nfev.setter
    def max_nfev(self, value: int | None) -> None:
        self._max_nfev = value
        self._last_max_nfev = None

    # ------------------------------------------------------------------ symbols
    @property
    def symbols(self) -> SymbolTable:
        """User functions and constants usable in constraint expressions."""
        if isinstance(self.params, Parameters):
            return self.params.symbols
        return self._own_symbols

    @property
    def asteval(self) -> AstevalView:
        """Seed 000 §5.3 compatibility: ``fitter.asteval.symtable['f'] = f``."""
        return AstevalView(self)

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
    def minimize(self, method: str = "leastsq", params: Parameters | None = None,
                 **kws: Any) -> MinimizerResult:
        """Fit with the named method; the result is true when the fit succeeded.

        Methods (lmfit 1.3's names): ``'leastsq'`` (paramfit's bounded
        Levenberg–Marquardt), ``'least_squares'`` (scipy), the scalar methods of
        scipy.optimize.minimize (``'nelder'``, ``'lbfgsb'``, ``'powell'``, ``'cg'``,
        ``'bfgs'``, ``'newton'``, ``'tnc'``, ``'cobyla'``, ``'slsqp'``, ``'dogleg'``,
        ``'trust-ncg'``, ``'trust-exact'``, ``'trust-krylov'``, ``'trust-constr'``),
        the global searches ``'differential_evolution'``, ``'brute'``,
        ``'basinhopping'``, ``'shgo'``, ``'dual_annealing'`` (seed: ``'anneal'``),
        ``'ampgo'``, and ``'emcee'`` (sampling; optional extra).  Keywords are the
        method's options; they override those given to the constructor
        (:class:`~paramfit.core.options.FitOptions`).
        """
        name = str(method).lower()
        if params is not None:
            self.params = params
        if name in _LEASTSQ_NAMES:
            return self.leastsq(**kws)
        if name == "least_squares":
            return self.least_squares(**kws)
        if name in _SCIPY_SCALAR:
            return self._fit(name, run_scalar_method, kws)
        if name in GLOBAL_METHODS:
            return self._fit(name, self._global_solver, kws)
        if name == "emcee":
            return self._fit("emcee", run_emcee, kws)
        raise OptionError(f"unknown fitting method {method!r}; choose one of "
                          f"{', '.join(METHODS)}")

    def leastsq(self, params: Parameters | None = None, **kws: Any) -> MinimizerResult:
        """Levenberg–Marquardt with native bounds (paramfit's own MINPACK-grade solver).

        Keywords: ``xtol``, ``ftol``, ``gtol``, ``maxfev`` (or ``max_nfev``; 0 or
        None: ``1000 * (nvarys + 1)``), ``factor``, ``diag``, ``epsfcn`` (default
        relative finite-difference step is ``sqrt(epsfcn)``), ``Dfun``/``jac``,
        ``col_deriv``, ``final_jacobian``, ``jacobian_update``.  They override the
        constructor's: ``Minimizer(f, p, max_nfev=1000).leastsq(maxfev=5)`` stops the
        fit at 5 evaluations.  A given ``max_nfev`` caps every evaluation of the fit,
        the final Jacobian's included: a fit that reaches it ends ``aborted`` with no
        error bars.  An unknown keyword or a value of the wrong type raises
        :class:`~paramfit.core.options.OptionError`.
        """
        if params is not None:
            self.params = params
        return self._fit("leastsq", _run_leastsq, kws)

    def least_squares(self, params: Parameters | None = None, **kws: Any
                      ) -> MinimizerResult:
        """scipy.optimize.least_squares with bounds (``method='trf'`` by default)."""
        if params is not None:
            self.params = params
        return self._fit("least_squares", run_least_squares, kws)

    def scalar_minimize(self, method: str = "Nelder-Mead", params: Parameters | None = None,
                        **kws: Any) -> MinimizerResult:
        """A scipy.optimize.minimize method by scipy's name (``'Nelder-Mead'``, ``'BFGS'``...)
        or paramfit's (lmfit 1.3's ``Minimizer.scalar_minimize``)."""
        by_scipy = {v.lower(): k for k, v in SCALAR_METHODS.items()}
        name = by_scipy.get(str(method).lower(), str(method).lower())
        return self.minimize(name, params=params, **kws)

    def lbfgsb(self, **kws: Any) -> MinimizerResult:
        """L-BFGS-B (scipy) on chi-square with native bounds."""
        return self.minimize("lbfgsb", **kws)

    def anneal(self, **kws: Any) -> MinimizerResult:
        """Global search by scipy's dual annealing (scipy dropped ``anneal``); needs
        finite bounds on every varied parameter."""
        return self.minimize("anneal", **kws)

    def dual_annealing(self, params: Parameters | None = None, **kws: Any
                       ) -> MinimizerResult:
        """scipy.optimize.dual_annealing over the parameters' finite bounds (seeded)."""
        return self.minimize("dual_annealing", params=params, **kws)

    def nelder(self, **kws: Any) -> MinimizerResult:
        """Nelder–Mead simplex (scipy) on chi-square."""
        return self.minimize("nelder", **kws)

    def powell(self, **kws: Any) -> MinimizerResult:
        """Powell's method (scipy) on chi-square."""
        return self.minimize("powell", **kws)

    def brute(self, params: Parameters | None = None, Ns: int = 20,  # noqa: N803 (lmfit)
              keep: int | str = 50, workers: int = 1, max_nfev: int | None = None
              ) -> MinimizerResult:
        """Grid search (scipy.optimize.brute) over each varied parameter's range: its
        bounds with ``Ns`` points or ``brute_step`` steps (see
        :func:`~paramfit.core.solvers.scipy_methods.brute_ranges`).  The result has
        ``brute_x0``, ``brute_fval``, ``brute_grid``, ``brute_Jout`` and the ``keep``
        best grid points in ``candidates`` (:meth:`MinimizerResult.show_candidates`)."""
        return self.minimize("brute", params=params, Ns=Ns, keep=keep, workers=workers,
                             max_nfev=max_nfev)

    def basinhopping(self, params: Parameters | None = None, **kws: Any) -> MinimizerResult:
        """scipy.optimize.basinhopping (seeded; bounds through MINUIT's transformation)."""
        return self.minimize("basinhopping", params=params, **kws)

    def shgo(self, params: Parameters | None = None, **kws: Any) -> MinimizerResult:
        """scipy.optimize.shgo over the parameters' finite bounds."""
        return self.minimize("shgo", params=params, **kws)

    def differential_evolution(self, params: Parameters | None = None, **kws: Any
                               ) -> MinimizerResult:
        """scipy.optimize.differential_evolution over the finite bounds (seeded)."""
        return self.minimize("differential_evolution", params=params, **kws)

    def ampgo(self, params: Parameters | None = None, **kws: Any) -> MinimizerResult:
        """Adaptive Memory Programming for Global Optimization (Gavana's AMPGO), paramfit's
        :func:`paramfit.core.solvers.ampgo.ampgo`."""
        return self.minimize("ampgo", params=params, **kws)

    def emcee(self, params: Parameters | None = None, **kws: Any) -> MinimizerResult:
        """Markov-chain Monte Carlo sampling with emcee (``paramfit[emcee]``), see
        :func:`~paramfit.core.solvers.mcmc.run_emcee`: keywords ``steps``, ``nwalkers``,
        ``burn``, ``thin``, ``pos``, ``seed``, ``progress``, ``float_behavior``,
        ``run_mcmc_kwargs``.  The values are the chain's medians, the covariance the
        chain's; the result has ``chain``, ``lnprob``, ``acceptance_fraction``,
        ``acor`` and ``flatchain``."""
        if params is not None:
            self.params = params
        return self._fit("emcee", run_emcee, kws)

    def _global_solver(self, problem: FitProblem, evaluator: Evaluator, options: FitOptions,
                       callback: Callable | None) -> SolverOutcome:
        steps = [getattr(par, "brute_step", None) for par in problem.free_params]
        return run_global_method(problem, evaluator, options, callback,
                                 ampgo=_ampgo_function, brute_steps=steps)

    # ------------------------------------------------------------------ driver
    def _constructor_options(self) -> dict[str, Any]:
        """The constructor's layer of options (read at each fit: the attributes are
        public and may have been changed since)."""
        return {"max_nfev": self._max_nfev, "jac": self.jacfcn, "col_deriv": self.col_deriv,
                **self.fit_kws}

    def _fit(self, method: str, run: _Solver, kws: Mapping[str, Any]) -> MinimizerResult:
        constructor = self._constructor_options()
        if method != "leastsq" and self.reduce_fcn is not None:
            constructor["reduce_fcn"] = self.reduce_fcn
        options = FitOptions.resolve(method, constructor, kws)
        params = self.params
        snapshot = ({name: par.__getstate__() for name, par in params.items()}
                    if isinstance(params, Parameters) else {})
        problem = None
        try:
            problem = self.prepare_fit()
            if method in ("leastsq", "least_squares"):  # the scalar methods take fewer
                check_fit_size(problem)
            init_vals = problem.x0.tolist()
            # the fit's one count of evaluations and one best point; max_nfev caps all
            residual = self._residual(problem)
            evaluator = Evaluator(residual, problem.lower, problem.upper,
                                  limit=math.inf if options.max_nfev is None
                                  else options.max_nfev,
                                  unchecked=problem.residual_unchecked
                                  if residual == problem.residual else None)
            self._evaluator = evaluator
            # the solver and the statistics on one BLAS thread (large problems only)
            self._abort = False
            with sequential_blas(problem.ndata * problem.nvarys):
                try:
                    outcome = run(problem, evaluator, options, self._callback(problem))
                except StopFit:
                    if evaluator.stopped is None:
                        raise
                    outcome = _stopped_at_start(problem, evaluator)
                if evaluator.stopped is None and evaluator.nfev >= evaluator.limit:
                    # the method stopped at the budget itself: nothing left for errors
                    evaluator.stopped = f"number of function evaluations = {evaluator.limit}"
                aborted = evaluator.stopped is not None
                self._abort = aborted and not evaluator.over_budget
                self._last_max_nfev = options.max_nfev
                # fewer residuals than parameters (a scalar objective): no covariance
                # can come from a Jacobian, so none is computed
                if (aborted or not self.calc_covar or method == "emcee"
                        or outcome.residual.size < problem.nvarys
                        or not np.isfinite(outcome.residual).all()):
                    outcome.jac = np.full((outcome.residual.size, problem.nvarys), np.nan)
                    outcome.nfev = evaluator.nfev
                else:
                    _final_jacobian(problem, evaluator, outcome, options)
                if aborted:
                    outcome.success = False
                    outcome.message = f"Fit aborted: {evaluator.stopped}"
                result = build_result(problem, outcome, method=method, init_vals=init_vals,
                                      scale_covar=self.scale_covar,
                                      analytic_jac=options.analytic_jac)
                if "chain_covar" in outcome.extras and not aborted:    # emcee
                    result = dataclasses.replace(
                        result, covar=outcome.extras["chain_covar"], errorbars=True)
            _write_parameters(problem, result)
            if self.result is None:  # seed 000 §4.2: a re-fit keeps the first start values
                for name, value in zip(problem.free_names, init_vals):
                    params[name].init_value = value
        except ResidualError as exc:
            user = _user_exception(exc)
            values = problem.describe_values() if problem is not None else ""
            for name, state in snapshot.items():
                params[name].__setstate__(state)
            if user is None:
                raise
            _add_note(user, f"raised by the residual function at {values}")
            raise user.with_traceback(user.__traceback__) from None
        except BaseException:
            for name, state in snapshot.items():
                params[name].__setstate__(state)
            raise
        self.result = result
        self.last_result = MinimizerResult(result, self, params.copy(), aborted=aborted)
        return self.last_result

    def _residual(self, problem: FitProblem) -> Callable[[np.ndarray], np.ndarray]:
        """The residual the evaluator calls: the problem's, followed by ``iter_cb`` (per
        evaluation, lmfit 1.3's signature) when there is one."""
        if self.iter_cb is None:
            return problem.residual
        iter_cb, args, kws, residual = self.iter_cb, self.userargs, self.userkws, \
            problem.residual

        def with_callback(x: np.ndarray) -> np.ndarray:
            f = residual(x)
            evaluator = self._evaluator
            if iter_cb(problem.params, evaluator.nfev, f, *args, **kws):
                evaluator.close("stopped by the user's iter_cb")
                raise BudgetSpent(-1, "Fit aborted by user callback")
            return f

        return with_callback

    def _callback(self, problem: FitProblem) -> Callable | None:
        """paramfit's per-iteration callback (``iteration_cb``, leastsq's iterations)."""
        if self.iteration_cb is None:
            return None
        iteration_cb, args, kws = self.iteration_cb, self.userargs, self.userkws

        def callback(x: np.ndarray, niter: int, resid: np.ndarray) -> bool:
            problem.set_values(x)
            return bool(iteration_cb(problem.params, niter, resid, *args, **kws))

        return callback

    def _report(self, result: Any, **kws: Any) -> str:
        return fit_report(result, **kws)

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


def _run_leastsq(problem: FitProblem, evaluator: Evaluator, options: FitOptions,
                 callback: Callable | None) -> SolverOutcome:
    """paramfit's Levenberg–Marquardt on the problem, reading the resolved options."""
    relative_step = problem.relative_step
    if options.epsfcn is not None:
        relative_step = np.where(np.isnan(relative_step) & np.isnan(problem.absolute_step),
                                 math.sqrt(options.epsfcn), relative_step)
    if problem.nan_policy == "propagate":
        start = problem.start_residual()
        if not math.isfinite(float(start @ start)):
            return _propagated_nan(problem, evaluator, start)
    jac = (problem.user_jacobian(options.jac, options.col_deriv)
           if options.jac is not None else None)
    sol = solve_lm(
        evaluator, problem.x0, options.lm, jac=jac, absolute_step=problem.absolute_step,
        relative_step=relative_step, side=problem.side, max_step=problem.max_step,
        callback=callback,
        # the start residual the size check computed, unless iter_cb must see it
        f0=problem.start_residual() if evaluator.fun == problem.residual else None,
    )
    if sol.termination is Termination.USER_STOP and evaluator.over_budget:
        # max_nfev was reached inside a Jacobian sweep: MINPACK's status 5 all the same
        sol = dataclasses.replace(sol, termination=Termination.MAX_NFEV, user_code=None)
    code, message = sol.termination.value
    converged = bool(sol.termination.converged)
    return SolverOutcome(
        x=sol.x, residual=sol.fun, jac=sol.jac, nfev=sol.nfev, njev=sol.njev,
        niter=sol.niter, success=converged,
        message=("Fit succeeded: " if converged else "Fit did not succeed: ") + message,
        ier=int(sol.user_code if sol.user_code is not None else code),
        termination=sol.termination, user_code=sol.user_code, active=sol.active,
        jac_gram=sol.jac_gram,
    )


def minimize(
    fcn: Callable[..., Any],
    params: Parameters,
    method: str | Sequence[Any] | None = "leastsq",
    args: Sequence[Any] | Mapping[str, Any] | None = None,
    kws: Mapping[str, Any] | str | None = None,
    iter_cb: Callable[..., Any] | None = None,
    scale_covar: bool = True,
    nan_policy: str = "raise",
    reduce_fcn: str | Callable[..., Any] | None = None,
    calc_covar: bool = True,
    max_nfev: int | None = None,
    *,
    engine: str | None = None,
    infeasible: str = "warn",
    jac: Callable[..., Any] | None = None,
    Dfun: Callable[..., Any] | None = None,  # noqa: N803  (seed 000's name)
    col_deriv: bool = False,
    iteration_cb: Callable[..., Any] | None = None,
    **fit_kws: Any,
) -> MinimizerResult:
    """Fit ``params`` so that the sum of squares of ``fcn(params, *args, **kws)`` is least.

    Both orders of the positional arguments work, told apart by the third one:
    lmfit 1.3's ``minimize(fcn, params, method, args, kws, ...)`` (a string there is
    the method) and seed 000's ``minimize(fcn, params, args, kws, engine)`` (anything
    else there is ``args``).

    Parameters
    ----------
    fcn : callable
        Residual function ``fcn(params, *args, **kws) -> array``.
    params : Parameters
        Updated in place with the best fit (value, stderr, correl, status).
    method : str, default 'leastsq'
        Fitting method, see :meth:`Minimizer.minimize`; ``engine=`` is the seed's
        name for it.
    args, kws : tuple, dict
        Extra arguments for ``fcn``.
    iter_cb, scale_covar, nan_policy, reduce_fcn, calc_covar, max_nfev, infeasible, jac, \
Dfun, col_deriv, iteration_cb
        See :class:`Minimizer`.
    **fit_kws
        Passed to the method (``xtol``, ``ftol``, ``maxfev``... for leastsq).

    Returns
    -------
    MinimizerResult
        The statistics (``chisqr``, ``redchi``, ``nfev``, ``success``, ``covar``...),
        ``params`` (a copy of the best fit) and the Minimizer's methods (seed 000:
        ``out.leastsq()`` re-runs the fit); true exactly when the fit succeeded.

    Raises
    ------
    FitError
        Nothing to vary, fewer residuals than varied parameters, bad options.
    ResidualError
        The residual function returned something unusable.  An exception the residual
        function raised itself is re-raised as it is, with the parameter values added.
    """
    if method is None or not isinstance(method, str):   # seed 000's order
        if not (kws is None or isinstance(kws, str)):
            raise OptionError("minimize(fcn, params, args, kws, engine): the fifth argument "
                              f"is the method name, got {type(kws).__name__}")
        method, args, kws = (kws or "leastsq"), method, args
    if engine is not None:
        method = engine
    fitter = Minimizer(
        fcn, params, fcn_args=args, fcn_kws=kws, iter_cb=iter_cb, scale_covar=scale_covar,
        nan_policy=nan_policy, reduce_fcn=reduce_fcn, calc_covar=calc_covar,
        max_nfev=max_nfev, infeasible=infeasible, jac=jac, Dfun=Dfun, col_deriv=col_deriv,
        iteration_cb=iteration_cb,
    )
    return fitter.minimize(method=method, **fit_kws)
