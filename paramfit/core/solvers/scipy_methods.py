"""Adapters that run scipy's optimizers on a compiled :class:`~paramfit.core.problem.FitProblem`.

Each adapter takes the problem, the fit's
:class:`~paramfit.core.solvers.final_phase.Evaluator` and its resolved
:class:`~paramfit.core.options.FitOptions`, runs one scipy method on the free vector
with native bounds, and returns a :class:`~paramfit.core.statistics.SolverOutcome`.
The evaluator counts every call and keeps the best point ever evaluated, so a
:class:`~paramfit.StopFit` raised by the residual function or the iteration callback
returns it rather than losing the work done.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import optimize, stats

from paramfit.core.bounds import active_bounds
from paramfit.core.differentiation.finite_differences import finite_difference_jacobian
from paramfit.core.exceptions import FitError, OptionError, StopFit
from paramfit.core.options import FitOptions
from paramfit.core.problem import FitProblem
from paramfit.core.solvers.final_phase import Evaluator
from paramfit.core.statistics import SolverOutcome

__all__ = ["SolverOptionError", "dense_jacobian", "SCALAR_METHODS", "GLOBAL_METHODS",
           "REDUCE_FUNCTIONS",
           "run_least_squares",
           "run_scalar_method", "run_global_method", "reduce_negentropy",
           "reduce_neglogcauchy"]

class SolverOptionError(OptionError, TypeError):
    """scipy rejected a keyword given for its method (a TypeError there, as in lmfit)."""


#: paramfit / lmfit 1.3 method name -> scipy.optimize.minimize method name
SCALAR_METHODS = {
    "lbfgsb": "L-BFGS-B",
    "l-bfgs-b": "L-BFGS-B",
    "l-bfgsb": "L-BFGS-B",
    "nelder": "Nelder-Mead",
    "nelder-mead": "Nelder-Mead",
    "powell": "Powell",
    "cg": "CG",
    "bfgs": "BFGS",
    "newton": "Newton-CG",
    "newton-cg": "Newton-CG",
    "tnc": "TNC",
    "cobyla": "COBYLA",
    "slsqp": "SLSQP",
    "dogleg": "dogleg",
    "trust-ncg": "trust-ncg",
    "trust-exact": "trust-exact",
    "trust-krylov": "trust-krylov",
    "trust-constr": "trust-constr",
    "anneal": "dual_annealing",
    "dual_annealing": "dual_annealing",
}
#: global searches over a box (each its own adapter below)
GLOBAL_METHODS = ("differential_evolution", "brute", "basinhopping", "shgo", "ampgo")
#: scipy.optimize.minimize methods that take ``bounds`` themselves; the others get the
#: MINUIT transformation of a bounded parameter (F. James, MINUIT reference manual,
#: CERN D506, section 1.3.1): ``x = lo + (hi - lo) (sin u + 1) / 2`` for two bounds,
#: ``x = lo - 1 + sqrt(u^2 + 1)`` (``hi + 1 - sqrt(u^2 + 1)``) for one.
#: Not Nelder-Mead (scipy clips its simplex onto a bound, where it can collapse: a fit
#: of ``a (x - b)`` from b = 3.0 near its bound 3.1 ended at b's other bound 0.01 with a
#: chi-square 100x the minimum's, reported as success) nor COBYLA (bounds only since
#: scipy 1.11, ignored with a warning before): both take the transformation, as in lmfit.
_NATIVE_BOUNDS = frozenset({"L-BFGS-B", "Powell", "TNC", "SLSQP", "trust-constr"})
#: methods whose scipy implementation needs a gradient / a Hessian
_NEEDS_GRADIENT = frozenset({"Newton-CG", "dogleg", "trust-ncg", "trust-exact",
                             "trust-krylov"})
_NEEDS_HESSIAN = frozenset({"dogleg", "trust-ncg", "trust-exact", "trust-krylov"})
#: methods whose scipy implementation uses a gradient when given one
_USES_GRADIENT = _NEEDS_GRADIENT | {"CG", "BFGS", "L-BFGS-B", "TNC", "SLSQP", "trust-constr"}


def reduce_negentropy(r: np.ndarray) -> float:
    """Negative entropy of the residuals under a unit normal law:
    ``sum(pdf(r) * logpdf(r))`` (lmfit 1.3's ``reduce_fcn='negentropy'``)."""
    return float(np.sum(stats.norm.pdf(r) * stats.norm.logpdf(r)))


def reduce_neglogcauchy(r: np.ndarray) -> float:
    """Negative log-likelihood of the residuals under a unit Cauchy law,
    ``-sum(cauchy.logpdf(r))`` (lmfit 1.3's ``reduce_fcn='neglogcauchy'``): outliers
    weigh far less than in the sum of squares."""
    return float(-np.sum(stats.cauchy.logpdf(r)))


REDUCE_FUNCTIONS = {"negentropy": reduce_negentropy, "neglogcauchy": reduce_neglogcauchy}


def _reducer(reduce_fcn: Any) -> Callable[[np.ndarray], float] | None:
    """The scalar objective of the residual; None: the sum of squares."""
    if reduce_fcn is None or reduce_fcn == "chisqr":
        return None
    if callable(reduce_fcn):
        return reduce_fcn
    if reduce_fcn in REDUCE_FUNCTIONS:
        return REDUCE_FUNCTIONS[reduce_fcn]
    raise FitError(f"reduce_fcn must be a function of the residual array or one of "
                   f"{sorted(REDUCE_FUNCTIONS)}, got {reduce_fcn!r}")


class _Transform:
    """MINUIT's bounded <-> unbounded variables (see :data:`_NATIVE_BOUNDS`)."""

    def __init__(self, lower: np.ndarray, upper: np.ndarray):
        self.lower, self.upper = lower, upper
        lo, hi = np.isfinite(lower), np.isfinite(upper)
        self.both, self.low, self.high = lo & hi, lo & ~hi, hi & ~lo

    def external(self, u: np.ndarray) -> np.ndarray:
        x = np.array(u, dtype=float)
        lo, hi = self.lower, self.upper
        b, m, n = self.both, self.low, self.high
        x[b] = lo[b] + (hi[b] - lo[b]) * (np.sin(u[b]) + 1.0) / 2.0
        x[m] = lo[m] - 1.0 + np.sqrt(u[m] * u[m] + 1.0)
        x[n] = hi[n] + 1.0 - np.sqrt(u[n] * u[n] + 1.0)
        return x

    def derivative(self, u: np.ndarray) -> np.ndarray:
        """``d external / d internal`` at ``u``, elementwise (the chain rule's factor)."""
        d = np.ones(u.shape)
        lo, hi = self.lower, self.upper
        b, m, n = self.both, self.low, self.high
        d[b] = (hi[b] - lo[b]) * np.cos(u[b]) / 2.0
        d[m] = u[m] / np.sqrt(u[m] * u[m] + 1.0)
        d[n] = -u[n] / np.sqrt(u[n] * u[n] + 1.0)
        return d

    def internal(self, x: np.ndarray) -> np.ndarray:
        u = np.array(x, dtype=float)
        lo, hi = self.lower, self.upper
        b, m, n = self.both, self.low, self.high
        u[b] = np.arcsin(np.clip(2.0 * (x[b] - lo[b]) / (hi[b] - lo[b]) - 1.0, -1.0, 1.0))
        u[m] = np.sqrt(np.maximum((x[m] - lo[m] + 1.0) ** 2 - 1.0, 0.0))
        u[n] = np.sqrt(np.maximum((hi[n] - x[n] + 1.0) ** 2 - 1.0, 0.0))
        return u


class _Objective:
    """The functions scipy calls, every evaluation through the fit's one
    :class:`~paramfit.core.solvers.final_phase.Evaluator` (count, best point), and the
    iteration callback."""

    def __init__(self, problem: FitProblem, evaluator: Evaluator, callback: Callable | None,
                 reduce_fcn: Any = None, transform: _Transform | None = None):
        self.problem = problem
        self.ev = evaluator
        self.callback = callback
        self.reduce = _reducer(reduce_fcn)
        self.transform = transform
        #: the least objective value evaluated, its point and residual
        self.best: tuple[float, np.ndarray, np.ndarray] | None = None
        self._last = np.inf

    def value(self, r: np.ndarray) -> float:
        """The objective of a residual: the sum of squares, ``reduce_fcn(r)``, or a
        scalar residual itself (minimized as it is, lmfit 1.3)."""
        if r.size == 1:
            return float(r[0])
        return float(r @ r) if self.reduce is None else float(self.reduce(r))

    def residual(self, x: np.ndarray) -> np.ndarray:
        x = np.array(x, dtype=float).reshape(-1)     # a copy: scipy reuses its arrays
        if self.transform is not None:
            x = self.transform.external(x)
        f = self.ev.raw(x)
        self.ev.record(x, f.copy())
        value = self.value(f)
        self._last = value
        if np.isfinite(value) and (self.best is None or value < self.best[0]):
            self.best = (value, x, f.copy())
        if self.callback is not None and self.callback(x, self.ev.nfev, f):
            raise StopFit(-1, "fit stopped by the iteration callback")
        return f

    def chisqr(self, x: np.ndarray) -> float:
        """Sum of squares (or ``reduce_fcn``).  A non-finite residual raises under
        ``nan_policy='raise'`` (as lmfit 1.3); passed on (``'propagate'``) it is a very
        large value, so the method steps away from it instead of ending the fit."""
        self.residual(x)
        c = self._last
        return c if np.isfinite(c) else 1e300

    def outcome(self, *, success: bool, message: str, ier: int, niter: int,
                termination: Any = None, user_code: int | None = None,
                njev: int = 0, extras: dict | None = None) -> SolverOutcome:
        ev = self.ev
        if self.best is not None:   # the least objective (not the sum of squares with
            ev.adopt(self.best[1], self.best[2])    # reduce_fcn or a scalar objective)
        if ev.best_x is None:       # nothing evaluated: the start point
            x = self.problem.x0.copy()
            ev.adopt(x, self.problem.start_residual())
        x = ev.best_x
        return SolverOutcome(
            x=x, residual=ev.best_f, jac=None, nfev=ev.nfev, njev=njev, niter=niter,
            success=success, message=message, ier=ier, termination=termination,
            user_code=user_code, active=active_bounds(x, ev.lower, ev.upper),
            extras=extras or {},
        )

    def stopped(self, stop: StopFit) -> SolverOutcome:
        return self.outcome(success=False, message=stop.message, ier=stop.code,
                            niter=self.ev.nfev, user_code=stop.code)


def _bounds(problem: FitProblem) -> list[tuple[float | None, float | None]]:
    return [
        (None if not np.isfinite(lo) else lo, None if not np.isfinite(hi) else hi)
        for lo, hi in zip(problem.lower, problem.upper)
    ]


def dense_jacobian(jac: Callable[..., Any]) -> Callable[..., Any]:
    """The user's Jacobian function, its sparse matrix or LinearOperator results made
    dense arrays (scipy.optimize.least_squares accepts all three, as lmfit 1.3 does)."""

    def dense(*args: Any, **kws: Any) -> Any:
        out = jac(*args, **kws)
        if hasattr(out, "toarray"):                 # scipy.sparse matrix or array
            return out.toarray()
        if hasattr(out, "matmat") and hasattr(out, "shape"):   # LinearOperator
            return out.matmat(np.eye(out.shape[1]))
        return out

    return dense


def run_least_squares(problem: FitProblem, evaluator: Evaluator, options: FitOptions,
                      callback: Callable | None = None) -> SolverOutcome:
    """scipy.optimize.least_squares (trust-region reflective by default, ``loss=`` allowed).

    ``options.solver_kws`` go to scipy as given; ``options.max_nfev`` is its ``max_nfev``.
    """
    objective = _Objective(problem, evaluator, callback)
    kws = {"method": "trf", **options.solver_kws}
    if options.max_nfev is not None:
        kws["max_nfev"] = options.max_nfev
    if options.jac is not None and "jac" not in kws:     # the user's, in the iteration too
        kws["jac"] = problem.user_jacobian(dense_jacobian(options.jac), options.col_deriv)
    try:
        res = optimize.least_squares(
            objective.residual, problem.x0, bounds=(problem.lower, problem.upper), **kws
        )
    except StopFit as stop:
        return objective.outcome(success=False, message=stop.message, ier=stop.code,
                               niter=evaluator.nfev, user_code=stop.code)
    except TypeError as exc:
        raise SolverOptionError(f"least_squares: {exc}") from exc
    # the solver's answer, not the least sum of squares seen: with a robust ``loss``
    # the objective is not the sum of squares
    x = np.array(res.x, dtype=float)
    try:
        evaluator.adopt(x, evaluator.raw(x))
    except StopFit as stop:     # max_nfev spent: the least sum of squares seen
        return objective.stopped(stop)
    objective.best = None
    return objective.outcome(success=bool(res.success), message=str(res.message),
                           ier=int(res.status), niter=int(res.nfev),
                           njev=int(res.njev or 0))


def run_scalar_method(problem: FitProblem, evaluator: Evaluator, options: FitOptions,
                      callback: Callable | None = None) -> SolverOutcome:
    """Minimize ``chisqr = sum(residual**2)`` (or ``reduce_fcn(residual)``) with a scalar
    scipy method.

    ``'lbfgsb'`` uses the gradient ``2 Jᵀ r`` from paramfit's finite-difference
    Jacobian, as do the methods that need one (``newton``, ``dogleg``, ``trust-*``),
    which get the Gauss-Newton Hessian ``2 JᵀJ`` too; ``'anneal'`` is scipy's dual
    annealing (scipy removed ``anneal``), which needs finite bounds and is seeded
    (``seed=0`` unless given) so that the same inputs give the same result.  Methods
    without bounds of their own see bounded parameters through MINUIT's transformation.
    ``options.solver_kws`` go to scipy as given (``reduce_fcn`` excepted);
    ``options.max_nfev`` becomes the method's own limit (``maxfun`` or ``maxfev``).
    """
    method = options.method
    scipy_method = SCALAR_METHODS[method]
    kws = dict(options.solver_kws)
    reduce_fcn = kws.pop("reduce_fcn", None)
    bounded = bool(np.isfinite(problem.lower).any() or np.isfinite(problem.upper).any())
    transform = (_Transform(problem.lower, problem.upper)
                 if bounded and scipy_method not in _NATIVE_BOUNDS
                 and scipy_method != "dual_annealing" else None)
    objective = _Objective(problem, evaluator, callback, reduce_fcn, transform)
    if options.jac is not None and "jac" not in kws and reduce_fcn is None \
            and scipy_method in _USES_GRADIENT:
        kws["jac"] = _user_gradient(problem, objective, options)
    max_nfev = options.max_nfev
    try:
        if scipy_method == "dual_annealing":
            res = _dual_annealing(problem, objective, max_nfev, kws,
                                  x0=problem.x0 if method == "anneal" else None)
        else:
            res = _minimize(problem, objective, scipy_method, max_nfev, kws)
    except StopFit as stop:
        return objective.stopped(stop)
    except TypeError as exc:
        raise SolverOptionError(f"{method}: {exc}") from exc
    return objective.outcome(success=bool(res.success), message=str(res.message),
                             ier=int(getattr(res, "status", 0) or 0),
                             niter=int(getattr(res, "nit", evaluator.nfev) or 0),
                             extras=_scipy_extras(res, kws, method))


#: scipy result keys that are the fit's own fields (never copied over them)
_OWN_KEYS = frozenset({"x", "nfev", "success", "message", "status", "jac", "method"})
#: lmfit 1.3's prefixes of the scipy result attributes of some methods
_PREFIX = {"shgo": "shgo_", "dual_annealing": "da_"}


def _scipy_extras(res: Any, kws: dict, method: str = "") -> dict:
    """The scipy result's own attributes, under lmfit 1.3's names (``fun``, ``nit``...;
    ``shgo_<key>`` for shgo, ``da_<key>`` for dual annealing, every key there)."""
    extras: dict[str, Any] = {"call_kws": dict(kws)}
    prefix = _PREFIX.get(method)
    for key in res:
        if prefix is not None:
            if key not in ("success", "message"):
                extras[prefix + key] = res[key]
        elif key not in _OWN_KEYS:
            extras[key] = res[key]
    return extras


def _minimize(problem: FitProblem, objective: _Objective, scipy_method: str,
              max_nfev: int | None, kws: dict) -> Any:
    scipy_options = dict(kws.pop("options", {}))
    if max_nfev is not None:
        key = {"L-BFGS-B": "maxfun", "TNC": "maxfun", "COBYLA": "maxiter"}.get(
            scipy_method, "maxfev")
        if scipy_method in ("Nelder-Mead", "Powell", "L-BFGS-B", "TNC", "COBYLA"):
            scipy_options[key] = int(max_nfev)
    x0 = problem.x0 if objective.transform is None else objective.transform.internal(
        problem.x0)
    chisqr = objective.reduce is None
    if "jac" not in kws and (scipy_method == "L-BFGS-B" and chisqr
                             or scipy_method in _NEEDS_GRADIENT):
        kws["jac"] = _gradient(problem, objective) if chisqr else _scalar_gradient(objective)
    if "hess" not in kws and scipy_method in _NEEDS_HESSIAN:
        kws["hess"] = (_gauss_newton_hessian(problem, objective) if chisqr
                       else _scalar_hessian(objective))
    bounds = _bounds(problem) if scipy_method in _NATIVE_BOUNDS else None
    return optimize.minimize(objective.chisqr, x0, method=scipy_method, bounds=bounds,
                             options=scipy_options, **kws)


def _residual_jacobian(problem: FitProblem, objective: _Objective, x: np.ndarray
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Residual and its finite-difference Jacobian in the solver's variables (internal
    ones under a transformation: steps of the parameters' own size there)."""
    x = np.asarray(x, dtype=float)
    r = objective.residual(x)
    if objective.transform is None:
        jac, _ = finite_difference_jacobian(
            objective.residual, x, r, lower=problem.lower, upper=problem.upper,
            absolute_step=problem.absolute_step, relative_step=problem.relative_step,
            side=problem.side,
        )
    else:
        free = np.full(x.size, -np.inf), np.full(x.size, np.inf)
        jac, _ = finite_difference_jacobian(
            objective.residual, x, r, lower=free[0], upper=free[1],
            absolute_step=np.full(x.size, np.nan), relative_step=problem.relative_step,
            side=problem.side,
        )
    return r, jac


def _gauss_newton_hessian(problem: FitProblem, objective: _Objective) -> Callable:
    def hess(x: np.ndarray) -> np.ndarray:
        _, jac = _residual_jacobian(problem, objective, x)
        return 2.0 * (jac.T @ jac)

    return hess


def _scalar_gradient(objective: _Objective) -> Callable:
    def grad(x: np.ndarray) -> np.ndarray:
        return optimize.approx_fprime(np.asarray(x, dtype=float), objective.chisqr)

    return grad


def _scalar_hessian(objective: _Objective) -> Callable:
    grad = _scalar_gradient(objective)

    def hess(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        h = np.column_stack([optimize.approx_fprime(x, lambda y, i=i: grad(y)[i])
                             for i in range(x.size)]).T
        return 0.5 * (h + h.T)

    return hess


def _user_gradient(problem: FitProblem, objective: _Objective, options: FitOptions
                   ) -> Callable:
    """The gradient of the sum of squares from the user's ``Dfun`` (lmfit 1.3's meaning
    for the scalar methods): its result of shape (nvarys,) is that gradient; one of shape
    (ndata, nvarys) is the residual's Jacobian, giving ``2 J^T r``.  In the solver's
    variables (chained through MINUIT's transformation where one is used)."""
    user = problem.user_jacobian(dense_jacobian(options.jac), options.col_deriv,
                                 allow_gradient=True)

    def grad(u: np.ndarray) -> np.ndarray:
        u = np.array(u, dtype=float).reshape(-1)
        transform = objective.transform
        out = user(u if transform is None else transform.external(u))
        if out.ndim == 2:
            out = 2.0 * (out.T @ objective.residual(u))
        return out if transform is None else out * transform.derivative(u)

    return grad


def _gradient(problem: FitProblem, objective: _Objective) -> Callable:
    def grad(x: np.ndarray) -> np.ndarray:
        r, jac = _residual_jacobian(problem, objective, x)
        return 2.0 * (jac.T @ r)

    return grad


def _dual_annealing(problem: FitProblem, objective: _Objective, max_nfev: int | None,
                    kws: dict, x0: np.ndarray | None) -> Any:
    """scipy's dual annealing over the finite box; the seed's ``'anneal'`` starts from the
    start values, lmfit 1.3's ``'dual_annealing'`` from scipy's random start (``x0`` may
    be given as a keyword)."""
    missing = [name for name, lo, hi in zip(problem.free_names, problem.lower, problem.upper)
               if not (np.isfinite(lo) and np.isfinite(hi))]
    if missing:
        raise FitError(
            "method 'anneal' (dual annealing) searches a finite box: give finite min and max "
            f"to the varied parameter(s) {', '.join(missing)}"
        )
    if max_nfev is not None:
        kws.setdefault("maxfun", int(max_nfev))
    _seeded(optimize.dual_annealing, kws)
    kws.setdefault("x0", x0)
    return optimize.dual_annealing(
        objective.chisqr, bounds=list(zip(problem.lower, problem.upper)), **kws
    )


# ---------------------------------------------------------------------- global methods
def _finite_box(problem: FitProblem, method: str) -> list[tuple[float, float]]:
    missing = [name for name, lo, hi in zip(problem.free_names, problem.lower, problem.upper)
               if not (np.isfinite(lo) and np.isfinite(hi))]
    if missing:
        raise OptionError(f"method {method!r} searches a finite box: give finite min and "
                          f"max to the varied parameter(s) {', '.join(missing)}")
    return list(zip(problem.lower.tolist(), problem.upper.tolist()))


def _seeded(function: Callable, kws: dict) -> dict:
    """``rng=0`` (scipy's older ``seed=0``) unless a seed is given: the same inputs give
    the same result (paramfit's determinism rule)."""
    names = inspect.signature(function).parameters
    seed_kw = "rng" if "rng" in names else "seed"
    # a given seed= is passed as it is: scipy keeps its legacy stream for it (the same
    # numbers as scipy called with seed=, as lmfit 1.3 does)
    if "seed" not in kws and "rng" not in kws and seed_kw in names:
        kws[seed_kw] = 0
    return kws


def brute_ranges(problem: FitProblem, steps: list[float | None], ns: int) -> list:
    """lmfit 1.3's grid of ``brute`` for each varied parameter: ``(min, max)`` with ``Ns``
    points, or ``slice(min, max, brute_step)``; with one bound or none a ``brute_step``
    is needed: ``Ns`` steps up from ``min``, down from ``max``, or ``Ns // 2`` steps each
    side of the value."""
    ranges: list = []
    for name, lo, hi, x, step in zip(problem.free_names, problem.lower, problem.upper,
                                     problem.x0, steps):
        if np.isfinite(lo) and np.isfinite(hi):
            ranges.append(slice(lo, hi, step) if step else (lo, hi))
        elif np.isfinite(lo) and step:
            ranges.append(slice(lo, lo + ns * step, step))
        elif np.isfinite(hi) and step:
            ranges.append(slice(hi - ns * step, hi, step))
        elif step:
            ranges.append(slice(x - (ns // 2) * step, x + (ns // 2) * step, step))
        else:
            raise OptionError(f"Not enough information provided for the brute force method: "
                              f"give finite min and max, or a brute_step, to the varied "
                              f"parameter {name!r}")
    return ranges


def run_global_method(problem: FitProblem, evaluator: Evaluator, options: FitOptions,
                      callback: Callable | None = None, *, ampgo: Callable | None = None,
                      brute_steps: list[float | None] | None = None) -> SolverOutcome:
    """A global search of scipy (``differential_evolution``, ``brute``,
    ``basinhopping``, ``shgo``) or paramfit's ``ampgo``, on the sum of squares (or
    ``reduce_fcn``), every evaluation through the fit's evaluator.

    ``options.solver_kws`` go to the method as given (``reduce_fcn`` excepted; for
    brute ``Ns`` (default 20) and ``keep`` (50) too).  The stochastic ones are seeded
    (``seed=0``) unless a seed is given.
    """
    method = options.method
    kws = dict(options.solver_kws)
    reduce_fcn = kws.pop("reduce_fcn", None)
    transform = None
    if method == "basinhopping" and (np.isfinite(problem.lower).any()
                                     or np.isfinite(problem.upper).any()):
        transform = _Transform(problem.lower, problem.upper)
    objective = _Objective(problem, evaluator, callback, reduce_fcn, transform)
    extras: dict[str, Any] = {"call_kws": dict(kws)}
    try:
        if method == "differential_evolution":
            box = _finite_box(problem, method)
            res = optimize.differential_evolution(
                objective.chisqr, box, **_seeded(optimize.differential_evolution, kws))
        elif method == "shgo":
            res = optimize.shgo(objective.chisqr, _finite_box(problem, method), **kws)
        elif method == "basinhopping":
            x0 = problem.x0 if transform is None else transform.internal(problem.x0)
            res = optimize.basinhopping(objective.chisqr, x0,
                                        **_seeded(optimize.basinhopping, kws))
            res.success = bool(res.lowest_optimization_result.success)
        elif method == "brute":
            return _brute(problem, objective, kws, brute_steps or [None] * problem.nvarys,
                          extras)
        elif method == "ampgo":
            if ampgo is None:
                raise FitError("method 'ampgo' needs paramfit.core.solvers.ampgo.ampgo, "
                               "which this build of paramfit does not have")
            return _ampgo(problem, objective, ampgo, kws, extras)
        else:
            raise FitError(f"unknown global method {method!r}")
    except StopFit as stop:
        return objective.stopped(stop)
    except TypeError as exc:
        raise SolverOptionError(f"{method}: {exc}") from exc
    extras.update(_scipy_extras(res, kws, method))
    return objective.outcome(success=bool(res.success), message=str(res.message),
                             ier=int(getattr(res, "status", 0) or 0),
                             niter=int(getattr(res, "nit", evaluator.nfev) or 0),
                             extras=extras)


def _brute(problem: FitProblem, objective: _Objective, kws: dict, steps: list,
           extras: dict) -> SolverOutcome:
    ns = int(kws.pop("Ns", 20))
    keep = kws.pop("keep", 50)
    workers = kws.pop("workers", 1)
    if kws:
        raise FitError(f"brute got unknown keyword(s) {sorted(kws)}; it accepts Ns, keep, "
                       "workers, max_nfev")
    ranges = brute_ranges(problem, steps, ns)
    extras["call_kws"] = {"Ns": ns, "full_output": 1, "finish": None, "workers": workers}
    if not (callable(workers) or workers == 1):
        raise SolverOptionError(
            f"brute: workers={workers!r} would evaluate the grid in other processes, but "
            "the fit's objective (its evaluation counter, best point and compiled ties) "
            "lives in this one; use workers=1 or a map-like callable f(func, iterable) "
            "that calls func here (e.g. workers=map)")
    x0, fval, grid, jout = optimize.brute(objective.chisqr, tuple(ranges), Ns=ns,
                                          full_output=True, finish=None, disp=False,
                                          workers=workers)
    x0 = np.atleast_1d(np.asarray(x0, dtype=float))
    grid = np.asarray(grid)
    points = grid.reshape(problem.nvarys, -1).T if problem.nvarys > 1 else grid.reshape(-1, 1)
    scores = np.asarray(jout).reshape(-1)
    order = np.argsort(scores, kind="stable")
    count = order.size if keep == "all" else min(order.size, int(keep))
    extras.update(brute_x0=x0 if problem.nvarys > 1 else x0[0], brute_fval=float(fval),
                  brute_grid=grid, brute_Jout=np.asarray(jout),
                  brute_candidates=[(points[i].copy(), float(scores[i]))
                                    for i in order[:count]])
    ev, best = objective.ev, objective.best
    if best is not None and np.array_equal(best[1], x0):   # the least objective seen
        ev.adopt(x0, best[2])       # (a scalar objective is minimized as it is, not its
    elif ev.best_x is not None and np.array_equal(ev.best_x, x0):   # square): no call
        ev.adopt(x0, ev.best_f)
    else:
        ev.adopt(x0, objective.residual(x0))
    return objective.outcome(success=True, message="brute force grid search completed",
                             ier=0, niter=int(scores.size), extras=extras)


def _ampgo(problem: FitProblem, objective: _Objective, ampgo: Callable, kws: dict,
           extras: dict) -> SolverOutcome:
    kws.setdefault("bounds", _finite_box(problem, "ampgo"))
    out = ampgo(objective.chisqr, problem.x0, **kws)
    # lmfit 1.3's names of AMPGO's (x, fun, nfev, message, tunnel_info)
    for key, value in zip(("ampgo_x0", "ampgo_fval", "ampgo_eval", "ampgo_msg",
                           "ampgo_tunnel"), tuple(out)):
        extras[key] = value
    return objective.outcome(success=True, message=str(extras.get("ampgo_msg", "")),
                             ier=0, niter=objective.ev.nfev, extras=extras)
