"""Confidence intervals by profiling chi-square (seed 000 §4).

For a parameter ``p`` the *profile* ``chi2_f(v)`` is the chi-square of the fit
with ``p`` held at ``v`` and every other varied parameter re-optimised.  The
probability that the shift of ``p`` to ``v`` is significant is, by default, the
F-test of seed 000 §4.1,

.. math::  F = \\left(\\frac{\\chi^2_f}{\\chi^2_0} - 1\\right) \\frac{N - P}{P_{fix}},
           \\qquad \\mathrm{prob} = F_{\\mathrm{cdf}}(F; P_{fix}, N - P),

and the confidence limit for a level ``sigma`` is where ``prob == sigma``, found
on each side of the best fit by stepping out in whole multiples of ``stderr``
until the level is bracketed, then by safeguarded inverse interpolation of
``z = sqrt(Δχ²/redchi_0)`` (nearly linear in the value; cubic Hermite with the
profile slope from the envelope theorem), with :func:`scipy.optimize.brentq` on
the remaining bracket as the fallback.  A limit is accepted when ``z`` is within
``1e-6`` of its level, i.e. the probability within ~1e-6 of ``sigma``.

How the work is organised: one :class:`~paramfit.core.problem.FitProblem` per
profiled parameter (or pair, for :func:`conf_interval2d`) is built on a *copy* of
the fitted Parameters with the profiled ones held through ``fixed=``; every trial
value only moves the held value (:meth:`FitProblem.set_held`) and calls the
Levenberg–Marquardt solver directly, warm-started from the solution at the
nearest trial value already computed.  The user's Parameters are never touched.
That machinery (profile re-fits and the root finding) lives in
:mod:`paramfit.fitting.profile`; this module holds the public front ends and statistics.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

import numpy as np
from scipy import special

from paramfit.core.exceptions import FitError, ParameterError, ParamfitWarning
from paramfit.core.optional import require
from paramfit.core.statistics import FitResult
from paramfit.fitting.profile import FitStatistics, ProbFunc, _OneSide, _Profile, _Settings
from paramfit.fitting.result import MinimizerResult

__all__ = [
    "ConfidenceIntervals",
    "FitStatistics",
    "LimitFlag",
    "chi2_prob",
    "conf_interval",
    "conf_interval2d",
    "confidence_intervals",
    "copy_vals",
    "f_compare",
    "probability_map",
    "restore_vals",
]


def f_compare(best: Any, new: Any) -> float:
    """F-test probability that ``new`` (parameters held) is worse than ``best``.

    ``F = (new.chisqr / best.chisqr - 1) * best.nfree / nfix`` with
    ``nfix = best.nvarys - new.nvarys``; returns ``scipy.stats.f.cdf(F, nfix,
    best.nfree)`` (seed 000 §4.1).

    Examples
    --------
    >>> best = FitStatistics(chisqr=10.0, nvarys=3, ndata=103)
    >>> round(f_compare(best, FitStatistics(chisqr=10.1, nvarys=2, ndata=103)), 4)
    0.6803
    """
    nfix, nfree = best.nvarys - new.nvarys, best.nfree
    if best.chisqr <= 0.0:
        return 1.0 if new.chisqr > 0.0 else 0.0
    dchi = new.chisqr / best.chisqr - 1.0
    return float(special.fdtr(nfix, nfree, max(dchi * nfree / nfix, 0.0)))  # = f.cdf


def chi2_prob(best: Any, new: Any) -> float:
    """Likelihood-ratio (MINOS-style) probability: chi-square law of the scaled Δχ².

    The chi-square is first scaled so that the best fit has reduced chi-square 1
    (as ``stderr`` is, with ``scale_covar=True``), then
    ``Δ = (new.chisqr - best.chisqr) / (best.chisqr / best.nfree)`` and the
    probability is ``scipy.stats.chi2.cdf(Δ, nfix)`` with ``nfix = best.nvarys -
    new.nvarys``.  Since ``Δ = nfix * F`` this is the large-``N`` limit of
    :func:`f_compare`; at ``sigma = 0.6827`` it gives MINOS' ``Δχ² = 1`` rule.

    Examples
    --------
    >>> best = FitStatistics(chisqr=100.0, nvarys=3, ndata=103)
    >>> round(chi2_prob(best, FitStatistics(chisqr=101.0, nvarys=2, ndata=103)), 4)
    0.6827
    """
    nfix = best.nvarys - new.nvarys
    if best.chisqr <= 0.0:
        return 1.0 if new.chisqr > 0.0 else 0.0
    delta = (new.chisqr - best.chisqr) * best.nfree / best.chisqr
    return float(special.chdtr(nfix, max(delta, 0.0)))  # = chi2.cdf


def _chi2_target(prob_func: ProbFunc, best: FitStatistics, nfix: int, prob: float) -> float:
    """The chi-square where a built-in ``prob_func`` equals ``prob`` (or NaN if unknown)."""
    if prob_func is f_compare:
        # scipy.stats.f.ppf(prob, nfix, nfree) == special.fdtri(nfix, nfree, prob)
        return best.chisqr * (1.0 + special.fdtri(nfix, best.nfree, prob) * nfix / best.nfree)
    if prob_func is chi2_prob:
        # scipy.stats.chi2.ppf(prob, nfix) == special.chdtri(nfix, 1 - prob)
        return best.chisqr * (1.0 + special.chdtri(nfix, 1.0 - prob) / best.nfree)
    return math.nan


class LimitFlag(NamedTuple):
    """Why a confidence limit is not an ordinary crossing.

    Attributes
    ----------
    sigma : float
        The probability level.
    side : int
        -1 for the lower limit, +1 for the upper limit.
    reason : str
        ``'lower bound'`` / ``'upper bound'``: the parameter reached its bound before
        the probability reached ``sigma``; the reported value *is the bound* and the
        true limit lies beyond it.  ``'not found'``: ``maxiter`` steps of ``stderr``
        did not reach ``sigma``; the reported value is ``-inf`` / ``+inf``.
    value : float
        The value reported in the interval list.
    """

    sigma: float
    side: int
    reason: str
    value: float


class ConfidenceIntervals(dict):
    """``{name: [(sigma, value), ...]}`` as seed 000 §4.4 returns, plus limit flags.

    A plain ``dict`` (lower limits by descending sigma, ``(0.0, best)``, upper limits
    by ascending sigma), so code written for lmfit keeps working.  ``flags`` lists,
    per parameter, the limits that are not ordinary crossings (see
    :class:`LimitFlag`); a parameter with no such limit has no entry.
    """

    def __init__(self, *args: Any, **kws: Any):
        super().__init__(*args, **kws)
        self.flags: dict[str, list[LimitFlag]] = {}

    def flag(self, name: str, sigma: float, side: int) -> LimitFlag | None:
        """The :class:`LimitFlag` of one limit, or None for an ordinary one."""
        for item in self.flags.get(name, ()):
            if item.side == side and item.sigma == sigma:
                return item
        return None


def _fitted(fitter: Any) -> Any:
    result = getattr(fitter, "result", None)
    if result is None:
        raise FitError("confidence intervals need a fitted Minimizer: run minimize() first")
    return result


def _check_fit(fitter: Any) -> Any:
    result = _fitted(fitter)
    if not result.errorbars:
        raise FitError(
            "Cannot determine Confidence Intervals without sensible uncertainty "
            "estimates: confidence intervals need a fit with error bars (errorbars=False): the "
            "covariance matrix could not be estimated; check the fit and its parameters"
        )
    return result


def _varied_names(fitter: Any, result: Any) -> list[str]:
    """The parameters of the fit that are still varied, at least two (lmfit 1.3's call:
    one switched to ``vary=False`` after the fit is not profiled)."""
    names = [n for n in result.var_names if fitter.params[n].vary]
    if len(names) < 2:
        raise FitError(
            f"Cannot determine Confidence Intervals with < 2 variables (varied now: "
            f"{names}) in lmfit 1.3's call conf_interval(minimizer, result); the seed's "
            "call conf_interval(minimizer) also profiles a one-parameter fit")
    return names


def copy_vals(params: Any) -> dict[str, tuple[float, float | None]]:
    """``{name: (value, stderr)}`` of every parameter (lmfit 1.3's helper).

    Examples
    --------
    >>> from paramfit.core.parameters.parameters import Parameters
    >>> p = Parameters(); p.add('a', 1.5)
    >>> copy_vals(p)
    {'a': (1.5, None)}
    """
    return {name: (par.value, par.stderr) for name, par in params.items()}


def restore_vals(tmp_params: dict[str, tuple[float, float | None]], params: Any) -> None:
    """Set value and stderr of every parameter in ``params`` from :func:`copy_vals`'s
    dict (lmfit 1.3's helper); a name missing from it is a ParameterError."""
    missing = [name for name in params if name not in tmp_params]
    if missing:
        raise ParameterError(f"restore_vals: no saved value for {missing}; save them with "
                             "copy_vals(params) first")
    for name, par in params.items():
        par.value, par.stderr = tmp_params[name]


def _check_parameter(fitter: Any, name: str) -> float:
    """The stderr of a varied parameter, or a clear error naming it."""
    params = fitter.params
    if name not in params:
        raise ParameterError(f"unknown parameter {name!r}; parameters are {list(params)}")
    par = params[name]
    if name not in fitter.result.var_names:
        how = f"tied by expr={par.expr!r}" if par.expr else "fixed (vary=False)"
        raise ParameterError(
            f"parameter {name!r} was not varied in the fit ({how}): it has no "
            "confidence interval; leave it out of p_names"
        )
    stderr = par.stderr
    if stderr is None or not math.isfinite(stderr) or stderr <= 0.0:
        reason = par.status_reason or f"stderr = {stderr}"
        raise FitError(
            "Cannot determine Confidence Intervals without sensible uncertainty estimates: "
            f"parameter {name!r} has no usable standard error ({reason}); its confidence "
            "interval cannot be computed: leave it out of p_names or refit"
        )
    return float(stderr)


def _probabilities(sigmas: Iterable[float]) -> list[float]:
    """Sorted probabilities: values < 1 are probabilities, values >= 1 numbers of sigma."""
    probs = []
    for sigma in sigmas:
        sigma = float(sigma)
        if not sigma > 0.0:
            raise ParameterError(f"sigmas must be positive, got {sigma!r}")
        probs.append(sigma if sigma < 1.0 else float(special.erf(sigma / math.sqrt(2.0))))
    return sorted(set(probs))


def _progress(iterable: Iterable, enabled: bool, total: int, desc: str) -> Iterable:
    if not enabled:
        return iterable
    tqdm = require("tqdm", "progress", "progress=True").tqdm
    return tqdm(iterable, total=total, desc=desc)


#: The default levels of the seed's call ``conf_interval(minimizer)`` (probabilities) and
#: of lmfit 1.3's ``conf_interval(minimizer, result)`` (numbers of sigma).
SEED_SIGMAS = (0.674, 0.95, 0.997)
LMFIT_SIGMAS = (1, 2, 3)


def _fitter(minimizer: Any) -> Any:
    """The Minimizer behind a fit: the object itself, or the one a
    :class:`~paramfit.fitting.result.MinimizerResult` came from (its Parameters are the
    ones the fit updated in place), or the one of a ``ModelResult`` (``minimizer``: lmfit
    1.3's ``ModelResult`` is itself a Minimizer, so ``conf_interval(out, out)`` works)."""
    if isinstance(minimizer, FitResult) and getattr(minimizer, "minimizer", None) is not None:
        return minimizer.minimizer
    return getattr(minimizer, "_minimizer", None) or minimizer


class _ResultView:
    """lmfit 1.3's call ``conf_interval(minimizer, result)``: the result's Parameters
    (its values and standard errors, as the caller may have edited them) with the
    minimizer's function and arguments."""

    def __init__(self, minimizer: Any, result: MinimizerResult):
        self._minimizer = _fitter(minimizer)
        self.params = result.params
        self.result = result

    def __getattr__(self, name: str) -> Any:
        return getattr(self.__dict__["_minimizer"], name)


def _is_result(obj: Any) -> bool:
    """A fit's result as lmfit 1.3's second argument: a MinimizerResult or a ModelResult
    (a :class:`~paramfit.core.statistics.FitResult`)."""
    return isinstance(obj, (MinimizerResult, FitResult))


def conf_interval(minimizer: Any, *args: Any, **kws: Any) -> Any:
    """Confidence intervals of fitted parameters by profiling chi-square.

    ``conf_interval(minimizer, p_names=None, sigmas=(0.674, 0.95, 0.997), trace=False,
    maxiter=200, verbose=False, prob_func=None)`` (seed 000) or ``conf_interval(minimizer,
    result, p_names=None, sigmas=(1, 2, 3), ...)`` (lmfit 1.3: the second argument is a
    :class:`~paramfit.fitting.result.MinimizerResult`).  See :func:`confidence_intervals`.
    """
    if (args and _is_result(args[0])) or "result" in kws:
        return confidence_intervals(minimizer, *args, **kws)
    return confidence_intervals(minimizer, None, *args, **kws)


def confidence_intervals(
    minimizer: Any,
    result: Any = None,
    p_names: Sequence[str] | None = None,
    sigmas: Sequence[float] | None = None,
    trace: bool = False,
    maxiter: int = 200,
    verbose: bool = False,
    prob_func: ProbFunc | None = None,
    *,
    progress: bool = False,
) -> ConfidenceIntervals | tuple[ConfidenceIntervals, dict[str, dict[str, np.ndarray]]]:
    """Confidence intervals of fitted parameters by profiling chi-square (seed 000 §4).

    Each parameter in turn is held at trial values while the other varied
    parameters are re-optimised; the probability of the re-fit's chi-square
    (``prob_func``, the F-test by default) is solved for each ``sigma`` on both
    sides of the best fit.  Tied parameters stay tied; bounds are respected.

    Two calls: seed 000's ``conf_interval(minimizer, p_names=None, sigmas=(0.674, 0.95,
    0.997), ...)`` and lmfit 1.3's ``conf_interval(minimizer, result, p_names=None,
    sigmas=(1, 2, 3), ...)``, told apart by the second argument (a
    :class:`~paramfit.fitting.result.MinimizerResult` is lmfit 1.3's ``result``).

    Parameters
    ----------
    minimizer : Minimizer or MinimizerResult
        A fitted :class:`~paramfit.Minimizer` or what :func:`paramfit.minimize`
        returned.  Its Parameters are read, never modified.
    result : MinimizerResult, optional
        lmfit 1.3's second argument: the result of the Minimizer's last fit.
    p_names : sequence of str, optional
        Parameters to profile; default all varied parameters.
    sigmas : sequence of float, optional
        Probability levels ``1 - alpha``.  A value ``>= 1`` is read as a number of
        standard deviations of a normal law (``1 -> 0.6827``), as lmfit 1.x does.
        Default (0.674, 0.95, 0.997) in the seed's call, (1, 2, 3) in lmfit 1.3's.
    trace : bool, default False
        Also return every evaluated point (profile traces).
    maxiter : int, default 200
        Largest number of trial values on each side used to bracket the largest
        ``sigma``; they lie at whole multiples of ``stderr`` from the best fit
        (one more each time, or as many more as the profile's slope predicts).
    verbose : bool, default False
        Print each probability evaluated (and show a progress bar if tqdm is installed).
    prob_func : callable, optional
        ``prob_func(best, new) -> float``, where ``best``/``new`` have ``chisqr``,
        ``nvarys``, ``ndata`` and ``nfree`` (:class:`FitStatistics`); default
        :func:`f_compare`.  :func:`chi2_prob` is the likelihood-ratio alternative.
    progress : bool, default False
        Show a tqdm progress bar over the parameters (needs ``paramfit[progress]``).

    Returns
    -------
    ci : ConfidenceIntervals
        ``{name: [(sigma, value), ...]}``: lower limits by descending sigma,
        ``(0.0, best value)``, upper limits by ascending sigma.  A limit beyond a
        parameter bound is reported *as the bound* and listed in ``ci.flags`` (a
        :class:`~paramfit.ParamfitWarning` is issued too); one not reached within
        ``maxiter`` steps is ``-inf``/``+inf``, also flagged.
    trace : dict, only when ``trace=True``
        ``trace[p][name]`` (every parameter's value, tied ones included) and
        ``trace[p]['prob']``: arrays over the points evaluated while profiling
        ``p``, sorted by the value of ``p`` (the best fit is included with prob 0).

    Raises
    ------
    FitError
        The minimizer was not fitted, has no error bars, a parameter has no stderr, or
        (lmfit 1.3's call only) fewer than two parameters are varied.
    ParameterError
        A name is unknown or names a parameter that was not varied.

    Examples
    --------
    >>> import numpy as np
    >>> from paramfit.fitting.minimizer import minimize
    >>> from paramfit.core.parameters.parameters import Parameters
    >>> x = np.linspace(0.3, 10, 100)
    >>> y = 1 / (0.1 * x) + 2 + 0.1 * np.random.default_rng(0).standard_normal(x.size)
    >>> p = Parameters()
    >>> p.add_many(('a', 0.1), ('b', 1))
    >>> mi = minimize(lambda p: 1 / (p['a'].value * x) + p['b'].value - y, p)
    >>> ci = conf_interval(mi, sigmas=(0.674, 0.95))
    >>> [round(s, 3) for s, _ in ci['a']]
    [0.95, 0.674, 0.0, 0.674, 0.95]
    """
    lmfit_call = result is not None
    if sigmas is None:
        sigmas = LMFIT_SIGMAS if lmfit_call else SEED_SIGMAS
    minimizer = _ResultView(minimizer, result) if lmfit_call else _fitter(minimizer)
    if lmfit_call:  # lmfit 1.3's rules: >= 2 varied (checked first, as lmfit), and a
        # parameter switched to vary=False after the fit is not profiled
        varied = _varied_names(minimizer, _fitted(minimizer))
    result = _check_fit(minimizer)
    if not lmfit_call:  # the seed's call also profiles a one-parameter fit (no re-fits)
        varied = list(result.var_names)
    names = varied if p_names is None else list(p_names)
    stderrs = {name: _check_parameter(minimizer, name) for name in names}
    if maxiter < 1:
        raise ParameterError(f"maxiter must be at least 1, got {maxiter!r}")
    probs = _probabilities(sigmas)
    prob_func = prob_func or f_compare
    best = FitStatistics(float(result.chisqr), int(result.nvarys), int(result.ndata))
    settings = _Settings(
        params=minimizer.params, stderrs=stderrs, maxiter=int(maxiter),
        prob_func=prob_func, verbose=bool(verbose), best=best,
        chi2_target=functools.partial(_chi2_target, prob_func, best, 1),
    )
    show = progress or (verbose and _has_tqdm())
    out = ConfidenceIntervals()
    traces: dict[str, dict[str, np.ndarray]] = {}
    for name in _progress(names, show, len(names), "conf_interval"):
        if verbose:
            print(f"Calculating CI for {name}")
        profile = _Profile(minimizer, [name], [stderrs[name]])
        rows: list[tuple[float, float]] = []
        for side in (-1, 1):
            for prob, value, reason in _OneSide(profile, settings, name, side).limits(probs):
                rows.append((prob, value))
                if reason is not None:
                    out.flags.setdefault(name, []).append(LimitFlag(prob, side, reason, value))
        lower = sorted(rows[: len(probs)], key=lambda r: -r[0])
        out[name] = [*lower, (0.0, float(minimizer.params[name].value)), *rows[len(probs):]]
        if trace:
            traces[name] = _trace_arrays(profile, minimizer.params, name)
    _warn_flags(out)
    return (out, traces) if trace else out


def _has_tqdm() -> bool:
    try:
        require("tqdm", "progress")
    except ImportError:
        return False
    return True


def _trace_arrays(profile: _Profile, params: Any, name: str) -> dict[str, np.ndarray]:
    best = [params[n].value for n in profile.names] + [0.0]
    rows = [[*r[:-2], r[-1]] for r in profile.records if len(r) == len(best) + 1]
    table = np.array([best, *rows], dtype=float)
    table = table[np.argsort(table[:, profile.names.index(name)], kind="stable")]
    out = {n: table[:, i] for i, n in enumerate(profile.names)}
    out["prob"] = table[:, -1]
    return out


def _warn_flags(ci: ConfidenceIntervals) -> None:
    for name, flags in ci.flags.items():
        for flag in flags:
            side = "lower" if flag.side < 0 else "upper"
            if flag.reason == "not found":
                msg = (f"the {side} {flag.sigma:.4g} confidence limit of {name!r} was not "
                       "reached within maxiter steps of stderr: reported as "
                       f"{flag.value}; raise maxiter")
            else:
                msg = (f"Bound reached: the {side} {flag.sigma:.4g} confidence limit of "
                       f"{name!r} lies beyond "
                       f"its {flag.reason} {flag.value!r}: the bound is reported instead")
            warnings.warn(msg, ParamfitWarning, stacklevel=3)


# ---------------------------------------------------------------------- 2-D
def conf_interval2d(minimizer: Any, *args: Any, **kws: Any) -> Any:
    """Probability map over a grid of two held parameters.

    ``conf_interval2d(minimizer, x_name, y_name, nx=10, ny=10, limits=None,
    prob_func=None)`` (seed 000) or ``conf_interval2d(minimizer, result, x_name, ...,
    nsigma=5)`` (lmfit 1.3: the second argument is a MinimizerResult).  See
    :func:`probability_map`.
    """
    if args and _is_result(args[0]):
        args = args[1:]
    kws.pop("result", None)
    return probability_map(minimizer, *args, **kws)


def probability_map(
    minimizer: Any,
    x_name: str,
    y_name: str,
    nx: int = 10,
    ny: int = 10,
    limits: Sequence[Sequence[float]] | None = None,
    prob_func: ProbFunc | None = None,
    nsigma: float = 5.0,
    chi2_out: bool = False,
    *,
    progress: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Probability map over a grid of two held parameters (seed 000 §4.4).

    At every grid point ``x_name`` and ``y_name`` are held and the other varied
    parameters re-optimised; the probability compares the re-fit with the best fit
    (two parameters fixed: ``nfix = 2``).

    Parameters
    ----------
    minimizer : Minimizer
        A fitted :class:`~paramfit.Minimizer`; its Parameters are not modified.
    x_name, y_name : str
        The parameters along x and y.
    nx, ny : int, default 10
        Number of grid points along x and y.
    limits : ((x1, x2), (y1, y2)), optional
        Ranges of the grid, in either order (the seed writes ``(upper, lower)``);
        default ``value ± nsigma stderr``, clipped to the parameters' bounds.
    prob_func : callable, optional
        As in :func:`conf_interval`; default :func:`f_compare`.
    nsigma : float, default 5
        Half-width of the default ranges in standard errors (lmfit 1.3).
    chi2_out : bool, default False
        Return the re-fits' chi-square at each grid point instead of the probability
        (lmfit 1.3).
    progress : bool, default False
        Show a tqdm progress bar over the grid points.

    Returns
    -------
    x : ndarray, shape (nx,)
    y : ndarray, shape (ny,)
    grid : ndarray, shape (ny, nx)
        ``grid[j, i]`` is the probability (or with ``chi2_out`` the chi-square) at
        ``(x[i], y[j])``.  The seed's text says
        ``(nx, ny)``, but its own example ``contourf(x, y, grid)`` needs rows along y,
        which is matplotlib's (and ``numpy.meshgrid``'s) convention, so the grid is
        ``(ny, nx)``.

    Examples
    --------
    >>> import numpy as np
    >>> from paramfit.fitting.minimizer import minimize
    >>> from paramfit.core.parameters.parameters import Parameters
    >>> x = np.linspace(0.3, 10, 100)
    >>> y = 1 / (0.1 * x) + 2 + 0.1 * np.random.default_rng(0).standard_normal(x.size)
    >>> p = Parameters()
    >>> p.add_many(('a', 0.1), ('b', 1))
    >>> mi = minimize(lambda p: 1 / (p['a'].value * x) + p['b'].value - y, p)
    >>> gx, gy, grid = conf_interval2d(mi, 'a', 'b', nx=5, ny=3)
    >>> grid.shape
    (3, 5)
    """
    minimizer = _fitter(minimizer)
    result = _check_fit(minimizer)
    if x_name == y_name:
        raise ParameterError(f"x_name and y_name must differ, both are {x_name!r}")
    sx, sy = _check_parameter(minimizer, x_name), _check_parameter(minimizer, y_name)
    nx, ny = int(nx), int(ny)
    if nx < 1 or ny < 1:
        raise ParameterError(f"nx and ny must be at least 1, got nx={nx}, ny={ny}")
    params = minimizer.params
    if limits is None:
        limits = [_default_range(params[x_name], sx, nsigma),
                  _default_range(params[y_name], sy, nsigma)]
    xs = np.linspace(min(limits[0]), max(limits[0]), nx)
    ys = np.linspace(min(limits[1]), max(limits[1]), ny)
    best = FitStatistics(float(result.chisqr), int(result.nvarys), int(result.ndata))
    prob_func = prob_func or f_compare
    profile = _Profile(minimizer, [x_name, y_name], [sx, sy])
    grid = np.empty((ny, nx))
    order = _outward_order(xs, ys, params[x_name].value, params[y_name].value)
    for j, i in _progress(order, progress, nx * ny, "conf_interval2d"):
        chisqr = profile.chisqr([xs[i], ys[j]])
        grid[j, i] = chisqr if chi2_out else prob_func(
            best, FitStatistics(chisqr, best.nvarys - 2, best.ndata))
    return xs, ys, grid


def _default_range(par: Any, stderr: float, nsigma: float = 5.0) -> tuple[float, float]:
    low, high = par.value - nsigma * stderr, par.value + nsigma * stderr
    return max(low, par.min), min(high, par.max)


def _outward_order(xs: np.ndarray, ys: np.ndarray, x0: float, y0: float) -> list:
    """Grid indices ``(j, i)`` from the best fit outwards, so each point can be
    warm-started from an already computed neighbour nearer the best fit."""
    rows = np.argsort(np.abs(ys - y0), kind="stable")
    cols = np.argsort(np.abs(xs - x0), kind="stable")
    return [(int(j), int(i)) for j in rows for i in cols]
