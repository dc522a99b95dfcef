"""AMPGO: Adaptive Memory Programming for Global Optimization (tabu tunnelling).

A global minimiser of a scalar function over a box, written from the published
algorithm:

* L. Lasdon, A. Duarte, F. Glover, M. Laguna, R. Marti, "Adaptive memory programming
  for constrained global optimization", Computers & Operations Research 37 (2010)
  1500-1509;
* A. Gavana's description of AMPGO (the global-optimisation benchmarks at
  http://infinity77.net/global_optimization/), whose interface lmfit 1.3 adopted as
  ``lmfit._ampgo.ampgo`` (the keyword names and the 5-tuple returned follow it).

The method alternates two phases.  A *local search* (a scipy bounded local solver)
descends from a point to a local minimum ``x*``.  A *tunnelling phase* then looks for a
point elsewhere whose value reaches an *aspiration level* slightly below the best
value found, ``f_asp = f_best - eps1 * (1 + |f_best|)``, by minimising the tunnelling
function

    T(x) = (f(x) - f_asp)**2 / prod_{t in tabu} ||x - t||,

which is zero where ``f(x) = f_asp`` and is pushed away from the points in a short
*tabu list* (the recent local minima and tunnelling end points: the "adaptive
memory").  Each tunnelling phase starts from ``x*`` perturbed by ``eps2`` times the
box width (or ``max(1, |x|)`` where a variable is unbounded) in a random direction.
When a tunnelling phase ends on a point no worse than the best value (within
``glbtol``), a new local search starts there; otherwise the phase is repeated (up to
``maxiter`` times per global iteration) from a new perturbation.  The tabu list holds
at most ``tabulistsize`` points; when full, the oldest point or the one farthest from
the latest local minimum is dropped (``tabustrategy``).

The best point over *every* evaluation (local searches and tunnelling alike) is
returned.  The random perturbations come from ``numpy.random.default_rng(seed)``, so a
run is reproducible.

Examples
--------
>>> import numpy as np
>>> def camel(x):  # six-hump camel back, global minimum -1.0316 at (+-0.0898, -+0.7127)
...     a, b = x
...     return (4 - 2.1 * a**2 + a**4 / 3) * a**2 + a * b + (-4 + 4 * b**2) * b**2
>>> out = ampgo(camel, [2.0, 1.5], bounds=[(-3, 3), (-2, 2)])
>>> round(out.fun, 4), out.message
(-1.0316, 'Maximum number of global iterations exceeded')
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np
from scipy.optimize import minimize

from paramfit.core.exceptions import FitError

__all__ = ["LOCAL_SOLVERS", "AmpgoOptionError", "AmpgoResult", "ampgo", "inverse_tunnel",
           "tunnel"]

LOCAL_SOLVERS = ("L-BFGS-B", "Nelder-Mead", "Powell", "TNC", "SLSQP")
"""The scipy local solvers AMPGO may use (all accept bounds)."""
TABU_STRATEGIES = ("farthest", "oldest")

MSG_MAXFUN = "Maximum number of function evaluations exceeded"
MSG_TOTALITER = "Maximum number of global iterations exceeded"
MSG_FMIN = "Known minimum fmin reached within glbtol"


class AmpgoOptionError(FitError, ValueError):
    """An AMPGO option is invalid (local solver, tabu list, bounds)."""


class AmpgoResult(NamedTuple):
    """What :func:`ampgo` returns: a 5-tuple in lmfit 1.3's order, with names.

    ``tunnel_info`` is ``(tunnelling phases run, successful ones)``.
    """

    x: np.ndarray
    fun: float
    nfev: int
    message: str
    tunnel_info: tuple[int, int]


class _BudgetSpent(Exception):  # noqa: N818  (control flow, never escapes ampgo)
    """Raised by the counting wrapper once ``maxfunevals`` evaluations were made."""


def tunnel(x: np.ndarray, *args: Any) -> float:
    """The tunnelling function ``(f(x) - aspiration)**2 / prod ||x - t||``.

    ``args`` are ``(objfun, aspiration, tabulist, *fun_args)``; ``objfun(x, *fun_args)``
    is the objective.  A distance below the smallest normal float is replaced by it,
    so that a point on the tabu list gives a huge value, not a division by zero.

    Examples
    --------
    >>> tunnel(np.array([3.0, 4.0]), lambda x: x @ x, 20.0, [np.zeros(2)])
    5.0
    """
    objfun, aspiration, tabulist, *fun_args = args
    x = np.asarray(x, dtype=float)
    numerator = (float(objfun(x, *fun_args)) - aspiration) ** 2
    denominator = _distance_product(x, tabulist)
    return numerator / denominator if denominator > 0.0 else np.inf


def inverse_tunnel(x: np.ndarray, ytf: float, aspiration: float,
                   tabulist: Sequence[np.ndarray]) -> float:
    """The objective value ``f(x) >= aspiration`` that gives tunnelling value ``ytf`` at ``x``.

    Examples
    --------
    >>> inverse_tunnel(np.array([3.0, 4.0]), 5.0, 20.0, [np.zeros(2)])
    25.0
    """
    x = np.asarray(x, dtype=float)
    return float(aspiration + np.sqrt(ytf * _distance_product(x, tabulist)))


def _distance_product(x: np.ndarray, tabulist: Sequence[Any]) -> float:
    tiny = np.finfo(float).tiny
    product = 1.0
    for point in tabulist:
        product *= max(float(np.sqrt(np.sum((x - point) ** 2))), tiny)
    return product


def _check_options(local: str, tabulistsize: int, tabustrategy: str, n: int,
                   bounds: Sequence[Sequence[float]] | None) -> tuple[np.ndarray, np.ndarray]:
    if local not in LOCAL_SOLVERS:
        raise AmpgoOptionError(f"Invalid local solver selected: {local!r}; choose one of "
                               f"{', '.join(LOCAL_SOLVERS)}")
    if not (isinstance(tabulistsize, (int, np.integer)) and tabulistsize >= 1):
        raise AmpgoOptionError(f"Invalid tabulistsize specified: {tabulistsize!r}; it must "
                               "be an integer >= 1")
    if tabustrategy not in TABU_STRATEGIES:
        raise AmpgoOptionError(f"Invalid tabustrategy specified: {tabustrategy!r}; it must "
                               f"be one of {TABU_STRATEGIES}")
    if bounds is None:
        return np.full(n, -np.inf), np.full(n, np.inf)
    if len(bounds) != n:
        raise AmpgoOptionError(f"length of x0 != length of bounds ({n} values, "
                               f"{len(bounds)} bounds); give one (low, high) pair per value")
    lower = np.array([-np.inf if lo is None else lo for lo, _ in bounds], dtype=float)
    upper = np.array([np.inf if hi is None else hi for _, hi in bounds], dtype=float)
    if np.any(lower > upper):
        raise AmpgoOptionError(f"bounds must have low <= high, got {list(bounds)}")
    return lower, upper


class _Search:
    """The state of one AMPGO run: counted evaluations, the best point, the tabu list."""

    def __init__(self, objfun: Callable[..., float], args: tuple, lower: np.ndarray,
                 upper: np.ndarray, maxfunevals: int | None, local: str,
                 local_opts: dict | None, tabulistsize: int, tabustrategy: str,
                 rng: np.random.Generator) -> None:
        self.objfun, self.args = objfun, args
        self.lower, self.upper = lower, upper
        self.maxfunevals = maxfunevals
        self.local, self.local_opts = local, dict(local_opts or {})
        self.tabulistsize, self.tabustrategy = tabulistsize, tabustrategy
        self.rng = rng
        self.nfev = 0
        self.best_x: np.ndarray | None = None
        self.best_f = np.inf
        self.tabu: list[np.ndarray] = []

    def f(self, x: np.ndarray) -> float:
        """The objective, counted; records the best point; stops at the budget."""
        if self.maxfunevals is not None and self.nfev >= self.maxfunevals:
            raise _BudgetSpent
        x = np.clip(np.asarray(x, dtype=float), self.lower, self.upper)
        value = float(self.objfun(x, *self.args))
        self.nfev += 1
        if value < self.best_f:  # NaN never compares less: a NaN point is never the best
            self.best_f, self.best_x = value, x.copy()
        return value

    def local_search(self, fun: Callable[[np.ndarray], float], start: np.ndarray) -> np.ndarray:
        bounds = list(zip(self.lower, self.upper, strict=True))
        res = minimize(fun, start, method=self.local, bounds=bounds,
                       options=self.local_opts or None)
        return np.clip(np.asarray(res.x, dtype=float), self.lower, self.upper)

    def perturb(self, x: np.ndarray, eps2: float) -> np.ndarray:
        width = self.upper - self.lower
        scale = np.where(np.isfinite(width), width, np.maximum(1.0, np.abs(x)))
        step = eps2 * scale * self.rng.uniform(-1.0, 1.0, size=x.size)
        return np.clip(x + step, self.lower, self.upper)

    def remember(self, x: np.ndarray, latest_minimum: np.ndarray) -> None:
        """Add ``x`` to the tabu list, dropping one point if it is full."""
        self.tabu.append(np.array(x, dtype=float))
        if len(self.tabu) > self.tabulistsize:
            if self.tabustrategy == "oldest":
                self.tabu.pop(0)
            else:
                far = max(range(len(self.tabu)),
                          key=lambda i: float(np.sum((self.tabu[i] - latest_minimum) ** 2)))
                self.tabu.pop(far)


def ampgo(objfun: Callable[..., float], x0: Sequence[float], args: tuple = (),
          local: str = "L-BFGS-B", local_opts: dict | None = None,
          bounds: Sequence[Sequence[float]] | None = None, maxfunevals: int | None = None,
          totaliter: int = 20, maxiter: int = 5, glbtol: float = 1e-5, eps1: float = 0.02,
          eps2: float = 0.1, tabulistsize: int = 5, tabustrategy: str = "farthest",
          fmin: float | None = None, disp: bool = False,
          seed: int | np.random.Generator | None = 0) -> AmpgoResult:
    """Global minimum of ``objfun(x, *args)`` over a box by AMPGO (tabu tunnelling).

    Parameters
    ----------
    objfun : callable
        ``objfun(x, *args) -> float``.
    x0 : sequence of float
        Start point (moved into the bounds if outside).
    args : tuple
        Extra arguments of ``objfun``.
    local : {'L-BFGS-B', 'Nelder-Mead', 'Powell', 'TNC', 'SLSQP'}
        The scipy local solver of the local searches and the tunnelling phases.
    local_opts : dict, optional
        ``options`` for that solver (``scipy.optimize.minimize``).
    bounds : sequence of (low, high), optional
        One pair per variable; None for no bound.
    maxfunevals : int, optional
        Largest number of evaluations of ``objfun`` (never exceeded); None: no limit.
    totaliter : int
        Number of global iterations (each: up to ``maxiter`` tunnelling phases).
    maxiter : int
        Tunnelling phases per global iteration before moving on.
    glbtol : float
        A tunnelling phase succeeds when it ends at
        ``f <= f_best + glbtol * (1 + |f_best|)``; with ``fmin``, the run stops once
        ``f_best <= fmin + glbtol * (1 + |fmin|)``.
    eps1 : float
        Aspiration level ``f_best - eps1 * (1 + |f_best|)``.
    eps2 : float
        Size of the random perturbation that starts a tunnelling phase, as a fraction
        of the box width (or of ``max(1, |x|)`` for an unbounded variable).
    tabulistsize : int
        Size of the tabu list (>= 1).
    tabustrategy : {'farthest', 'oldest'}
        Which point leaves a full tabu list: the one farthest from the latest local
        minimum, or the oldest.
    fmin : float, optional
        A known global minimum value: stop when it is reached (within ``glbtol``).
    disp : bool
        Print one line per local search and tunnelling phase.
    seed : int or numpy Generator, optional
        Seed of the random perturbations (default 0: reproducible runs).

    Returns
    -------
    AmpgoResult
        The named 5-tuple ``(x, fun, nfev, message, (tunnelling phases, successful))``,
        lmfit 1.3's ``(best_x, best_f, evaluations, msg, tunnel_info)``.
    """
    x = np.atleast_1d(np.asarray(x0, dtype=float)).copy()
    lower, upper = _check_options(local, tabulistsize, tabustrategy, x.size, bounds)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    search = _Search(objfun, tuple(args), lower, upper, maxfunevals, local, local_opts,
                     tabulistsize, tabustrategy, rng)
    tunnels = successes = 0
    message = MSG_TOTALITER
    try:
        x_min = _local_phase(search, np.clip(x, lower, upper), disp)
        for _ in range(totaliter):
            if _reached(search.best_f, fmin, glbtol):
                message = MSG_FMIN
                break
            found = None
            for _ in range(maxiter):
                tunnels += 1
                found = _tunnel_phase(search, x_min, eps1, eps2, glbtol, disp)
                if found is not None:
                    successes += 1
                    break
            x_min = _local_phase(search, found, disp) if found is not None \
                else search.best_x.copy()
        else:
            if _reached(search.best_f, fmin, glbtol):
                message = MSG_FMIN
    except _BudgetSpent:
        message = MSG_MAXFUN
    if search.best_x is None:  # maxfunevals=0: nothing evaluated
        search.best_x = np.clip(x, lower, upper)
    return AmpgoResult(search.best_x, float(search.best_f), search.nfev, message,
                       (tunnels, successes))


def _reached(best_f: float, fmin: float | None, glbtol: float) -> bool:
    return fmin is not None and best_f <= fmin + glbtol * (1.0 + abs(fmin))


def _local_phase(search: _Search, start: np.ndarray, disp: bool) -> np.ndarray:
    """A local search from ``start``; its minimum joins the tabu list."""
    x_min = search.local_search(search.f, start)
    search.remember(x_min, x_min)
    if disp:
        print(f"AMPGO local search: f = {search.best_f:.10g} (best), nfev = {search.nfev}")
    return x_min


def _tunnel_phase(search: _Search, x_min: np.ndarray, eps1: float, eps2: float,
                  glbtol: float, disp: bool) -> np.ndarray | None:
    """One tunnelling phase from near ``x_min``: its end point if it succeeded, else None
    (the end point then joins the tabu list)."""
    best = search.best_f
    aspiration = best - eps1 * (1.0 + abs(best))
    start = search.perturb(x_min, eps2)
    with np.errstate(all="ignore"):  # T(x) is huge near tabu points: expected, not a fault
        end = search.local_search(lambda x: tunnel(x, search.f, aspiration, search.tabu),
                                  start)
    value = search.f(end)
    success = value <= best + glbtol * (1.0 + abs(best))
    if disp:
        print(f"AMPGO tunnelling: f = {value:.10g} (aspiration {aspiration:.10g}), "
              f"{'success' if success else 'no success'}")
    if success:
        return end
    search.remember(end, x_min)
    return None
