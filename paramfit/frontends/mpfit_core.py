"""The classic ``mpfit()`` call over paramfit's core: options, status codes and results.

:func:`mpfit` checks the classic keywords, builds
:class:`~paramfit.core.parameters.parameters.Parameters` from ``parinfo``, runs
:class:`paramfit.fitting.minimizer.Minimizer` and fills an :class:`MPFitResult` with the
classic's status codes and messages (listed in :mod:`paramfit.frontends.mpfit`, which
re-exports this module's public names); :func:`default_iterfunct` is MPFIT's
per-iteration printout.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from paramfit.core.exceptions import (
    ExpressionError,
    FitError,
    ParameterError,
    ResidualError,
    StopFit,
)
from paramfit.core.parameters.parameters import Parameters, ParameterStatus
from paramfit.core.solvers.levenberg_marquardt import Termination
from paramfit.core.statistics import FitResult
from paramfit.fitting.minimizer import Minimizer
from paramfit.frontends.parinfo import (
    ImproperInput,
    ImproperReturn,
    NonFiniteStart,
    ParameterSpec,
    UserFunction,
    build_parameters,
    normalise_entry,
    parse_parinfo,
)

__all__ = ["MPFitResult", "mpfit", "default_iterfunct", "STATUS_MESSAGES"]

STATUS_MESSAGES: dict[int, str] = {
    0: "improper input parameters",
    **{t.code: t.message for t in Termination if 1 <= t.code <= 9},
    5: "the maximum number of iterations (maxiter) has been reached",
}
"""What each non-negative status means, in words (``MPFitResult.message``)."""

NON_FINITE = ("ERROR: parameter or function value(s) have become infinite; check model "
              "function for over- and underflow")
"""``errmsg`` of status -16 (the classic means this text but returns ``''``)."""


@dataclass
class MPFitResult:
    """What :func:`mpfit` returns (the attributes of the classic ``mpfit`` object).

    Attributes
    ----------
    status : int
        MPFIT status code, see :mod:`paramfit.frontends.mpfit`.
    errmsg : str
        ``''`` after a successful fit (status 1-8, as the classic), else the
        classic's error or warning message (with paramfit's detail after it).
    message : str
        paramfit addition: why the fit ended, in words, for every status.
    params : ndarray, shape (n,) or None
        Best-fit values of *all* parameters (fixed and tied included); the start
        after improper input (None only when no start can be read).
    perror : ndarray, shape (n,) or None
        1-sigma errors from the *unscaled* covariance, as MPFIT reports them:
        correct when ``deviates = (y - model) / err`` with true ``err``.  For
        unweighted data scale them yourself by ``sqrt(fnorm / dof)``.  Fixed,
        tied and pegged parameters get 0.  An array whenever ``params`` is one:
        NaN where no error was computed (``nocovar=1``, a stop, improper input, a
        singular covariance).
    covar : ndarray, shape (n, n) or None
        Unscaled covariance over all parameters (zero rows and columns for
        fixed, tied and pegged ones); None when not computed.
    niter : int
        The classic's count: 1 + the accepted Levenberg-Marquardt steps (0 after
        improper input).
    nfev : int
        Calls of the user function.
    fnorm : float
        Chi-square, ``sum(deviates**2)``, at ``params``; -1 after improper input.
    dof : int
        ``len(deviates) - nfree``; 0 after improper input.
    nfree, npegged : int
        Free parameters, and free parameters that ended on a limit.
    names : list of str
        The :class:`~paramfit.Parameters` names used for each parameter (``parname``
        where it is a usable identifier, else ``p<i>``).
    parinfo : list or None
        The ``parinfo`` that was passed in.
    parameters : Parameters or None
        The equivalent paramfit Parameters, holding the best fit.
    fit : FitResult or None
        The core's full result (``chisqr``, ``jac``, ``residual``...).
    damp, debug
        The keywords of the call (attributes of the classic object).
    """

    status: int
    errmsg: str
    params: np.ndarray | None = None
    perror: np.ndarray | None = None
    covar: np.ndarray | None = None
    niter: int = 0
    nfev: int = 0
    fnorm: float = -1.0
    dof: int = 0
    nfree: int = 0
    npegged: int = 0
    names: list[str] = field(default_factory=list)
    parinfo: list | None = None
    parameters: Parameters | None = None
    fit: FitResult | None = None
    message: str = ""
    damp: float = 0.0
    debug: int = 0


def default_iterfunct(fcn: Callable, p: np.ndarray, iter: int,  # noqa: A002  (MPFIT name)
                      fnorm: float | None = None, functkw: Mapping | None = None,
                      parinfo: Sequence[Mapping] | None = None, quiet: int = 0,
                      dof: int | None = None, **iterkw: Any) -> int | None:
    """MPFIT's default iteration function: print chi-square and the parameters.

    Prints, spaced as the classic module does, ``Iter      N    CHI-SQUARE =  ...
    DOF =  ...`` then one line ``   NAME = value  `` per parameter whose ``mpprint``
    is true, ``NAME`` being the ``parname`` or ``P<i>``.  Nothing is printed when
    ``quiet`` is true.

    Examples
    --------
    >>> status = default_iterfunct(None, [1.0, 2.5], 3, fnorm=12.0, dof=8,
    ...                            parinfo=[{'parname': 'amp'}, {'mpprint': 0}])
    Iter       3    CHI-SQUARE =  12  DOF =  8
       amp = 1
    """
    if quiet:
        return None
    if fnorm is None:
        _, deviates = fcn(np.asarray(p, dtype=float), fjac=None, **dict(functkw or {}))[:2]
        fnorm = float(np.sum(np.asarray(deviates, dtype=float) ** 2))
    print(f"Iter  {iter:6d}    CHI-SQUARE =  {fnorm:.10g}  DOF =  {int(dof or 0)}")
    for i, value in enumerate(p):
        entry = normalise_entry(parinfo[i], i) if parinfo is not None and i < len(parinfo) else {}
        if not entry.get("mpprint", 1):
            continue
        name = entry.get("parname") or f"P{i}"
        print(f"   {name} = {float(value):.10g}  ")
    return 0


class _IterationControl:
    """``iter_cb`` for the core: ``maxiter`` and the user's ``iterfunct``.

    The classic counts ``niter`` from 1 and stops with status 5 once it reaches
    ``maxiter`` after an accepted step: ``maxiter = N`` allows ``max(N - 1, 1)``
    accepted steps (``N = 0``: none).
    """

    def __init__(self, user: UserFunction, maxiter: int, iterfunct: Callable | None,
                 nprint: int, parinfo: Any, quiet: int, iterkw: Mapping[str, Any],
                 nfree: int):
        self.user, self.iterfunct = user, iterfunct
        self.steps = 0 if maxiter == 0 else max(maxiter - 1, 1)
        self.nprint, self.parinfo, self.quiet = nprint, parinfo, quiet
        self.iterkw, self.nfree = dict(iterkw), nfree
        self.maxiter_reached = False
        self.iterfunct_code: int | None = None

    def __call__(self, params: Parameters, niter: int, resid: np.ndarray) -> bool:
        if niter >= self.steps:
            self.maxiter_reached = True
            raise StopFit(5, STATUS_MESSAGES[5])
        if self.iterfunct is None or self.nprint <= 0 or niter % self.nprint:
            return False
        user = self.user
        status = self.iterfunct(user.fcn, user.vector(), niter + 1, float(resid @ resid),
                                functkw=user.functkw, parinfo=self.parinfo, quiet=self.quiet,
                                dof=max(resid.size - self.nfree, 0), **self.iterkw)
        if status is not None and int(status) < 0:
            self.iterfunct_code = user.stop_code = int(status)
            raise StopFit(int(status), f"iterfunct returned status {int(status)}")
        return False


KEYWORDS = "ERROR: input keywords are inconsistent"


def _check_keywords(xtol: float, ftol: float, gtol: float, maxiter: int, factor: float,
                    maxfev: int, damp: float, epsfcn: float | None) -> None:
    for name, value in (("xtol", xtol), ("ftol", ftol), ("gtol", gtol), ("factor", factor)):
        if not (isinstance(value, (int, float)) and value > 0 and math.isfinite(value)):
            raise ImproperInput(f"{name} must be a positive number, got {value!r}", KEYWORDS)
    for name, value in (("maxiter", maxiter), ("maxfev", maxfev)):
        if not isinstance(value, (int, np.integer)) or value < 0:
            raise ImproperInput(f"{name} must be an integer >= 0, got {value!r}", KEYWORDS)
    for name, value in (("damp", damp), ("epsfcn", 0.0 if epsfcn is None else epsfcn)):
        if not (isinstance(value, (int, float)) and value >= 0 and math.isfinite(value)):
            raise ImproperInput(f"{name} must be a number >= 0, got {value!r}", KEYWORDS)


def _free_indices(specs: list[ParameterSpec]) -> list[int]:
    """Indices of the parameters the solver varies (not fixed, tied or pinned)."""
    return [i for i, s in enumerate(specs) if not s.fixed and not s.tied
            and not (s.lower is not None and s.lower == s.upper)]


def _diag(diag: Any, rescale: int, specs: list[ParameterSpec]) -> np.ndarray | None:
    if not rescale:
        return None
    free = _free_indices(specs)
    try:
        values = np.asarray(diag, dtype=float).ravel()
    except (TypeError, ValueError):
        values = np.full(0, np.nan)
    if values.size == len(specs):
        values = values[free]
    if diag is None or values.size != len(free) or not np.all(values > 0):
        raise ImproperInput(f"rescale=1 needs diag: {len(free)} (free) or {len(specs)} (all) "
                            f"positive scale factors, got {diag!r}",
                            "ERROR: DIAG parameter scales are inconsistent")
    return values


def _status(fit: FitResult, control: _IterationControl, fcn: Callable,
            iterfunct: Callable | None) -> tuple[int, str, str]:
    """``(status, errmsg, message)`` of a fit that ran."""
    termination = fit.termination
    if termination is Termination.USER_STOP:
        if control.maxiter_reached:
            return 5, "", STATUS_MESSAGES[5]
        code = fit.user_code if fit.user_code is not None else -1
        if control.iterfunct_code is not None:
            return (code, f"WARNING: premature termination by {iterfunct}",
                    f"the fit was stopped by iterfunct (status {code})")
        return (code, f'WARNING: premature termination by "{fcn}"',
                f"the fit was stopped by the user function (status {code})")
    code = termination.code
    if termination is Termination.MAX_NFEV:
        return 5, "", "the maximum number of function evaluations (maxfev) has been reached"
    if code == 0:
        message = f"the solver rejected the problem ({fit.message})"
        return 0, "ERROR: improper input: " + message, message
    message = STATUS_MESSAGES.get(code, fit.message)
    return code, ("WARNING: " + message if code == 9 else ""), message


def _fill(result: MPFitResult, fit: FitResult, nocovar: int) -> None:
    params = result.parameters
    result.params = np.array([par.value for par in params.values()])
    result.niter, result.fnorm = fit.niter + 1, float(fit.chisqr)
    result.nfree, result.dof = fit.nvarys, fit.ndata - fit.nvarys
    free = [result.names.index(name) for name in fit.var_names]
    pegged = (ParameterStatus.AT_LOWER, ParameterStatus.AT_UPPER)
    result.npegged = sum(params[name].status in pegged for name in fit.var_names)
    result.perror = np.full(len(result.names), np.nan)
    if nocovar or result.status < 0:
        return
    if fit.covar is None:  # singular: errors of the moving parameters undetermined
        moving = [result.names.index(n) for n in fit.var_names if params[n].status not in pegged]
        result.perror[[i for i in range(len(result.names)) if i not in moving]] = 0.0
        return
    covar = np.zeros((len(result.names), len(result.names)))
    covar[np.ix_(free, free)] = fit.covar
    result.covar = covar
    result.perror = np.sqrt(np.clip(np.diag(covar), 0.0, None))


def _start_vector(xall: Any, parinfo: Any) -> np.ndarray | None:
    """The start as the classic copies it into ``params`` after improper input."""
    try:
        if xall is not None:
            return np.array(xall, dtype=float).ravel()
        return np.array([normalise_entry(e, i)["value"] for i, e in enumerate(parinfo)],
                        dtype=float)
    except (TypeError, ValueError, KeyError, ImproperInput):
        return None


# The classic finds these before it copies the start into ``params`` (None then).
_BEFORE_PARAMS = (
    "ERROR: keywords DAMP and AUTODERIVATIVE are mutually exclusive",
    "ERROR: must pass parameters in P or PARINFO",
    "ERROR: PARINFO must be a list of dictionaries.",
    "ERROR: number of elements in PARINFO and P must agree",
    'ERROR: either P or PARINFO(*)["value"] must be supplied.',
    "ERROR: no free parameters",
)


def _improper_input(classic: str, detail: str, start: np.ndarray | None, parinfo: Any,
                    nfev: int = 0) -> MPFitResult:
    """The classic's result after improper input: status 0, fnorm -1, dof 0, ``params`` a
    copy of the start (None for the conditions the classic checks before copying it)."""
    if classic in _BEFORE_PARAMS:
        start = None
    return MPFitResult(status=0, errmsg=f"{classic}: {detail}" if detail else classic,
                       message=f"improper input: {detail or classic}",
                       params=None if start is None else start.copy(),
                       perror=None if start is None else np.full(start.size, np.nan),
                       nfev=nfev, fnorm=-1.0, dof=0, parinfo=parinfo)


def mpfit(
    fcn: Callable[..., Any],
    xall: Sequence[float] | np.ndarray | None = None,
    functkw: Mapping[str, Any] | None = None,
    parinfo: Sequence[Mapping[str, Any]] | None = None,
    ftol: float = 1e-10,
    xtol: float = 1e-10,
    gtol: float = 1e-10,
    damp: float = 0.0,
    maxiter: int = 200,
    factor: float = 100.0,
    nprint: int = 1,
    iterfunct: Callable[..., Any] | str | None = "default",
    iterkw: Mapping[str, Any] | None = None,
    nocovar: int = 0,
    rescale: int = 0,
    autoderivative: int = 1,
    quiet: int = 0,
    diag: Sequence[float] | None = None,
    epsfcn: float | None = None,
    debug: int = 0,
    *,
    maxfev: int = 0,
    p0: Sequence[float] | np.ndarray | None = None,
) -> MPFitResult:
    """Minimise the sum of squares of a user function's deviates, MPFIT style.

    The positional order and the keywords are the classic Python module's.

    Parameters
    ----------
    fcn : callable
        ``fcn(p, fjac=None, **functkw) -> [status, deviates]``; with
        ``autoderivative=0`` and ``fjac`` not None, ``[status, deviates, pderiv]``.
        ``p`` is the full parameter vector (fixed and tied included), ``deviates``
        any shape (flattened).  ``pderiv`` (``(m, n)``, or the data shape with the
        ``n`` parameters last) is, as in the classic module and seed 002, the
        derivative of the *model*: for ``deviates = (y - model) / err`` return
        ``dmodel/dp / err``, which is ``-d(deviates)/dp``.  ``fjac`` is the mask of
        parameters whose derivatives are needed: 1 for free *and tied* ones (tied
        columns enter the free ones by the chain rule), 0 for fixed.  A negative
        ``status`` stops the fit and is returned as ``status``.
    xall : array_like, shape (n,), optional
        Start values; overrides ``parinfo[i]['value']``.  ``p0=`` is accepted as a
        keyword alias.
    functkw : dict, optional
        Keyword arguments for ``fcn`` (typically ``x``, ``y``, ``err``).
    parinfo : list of dict, optional
        Per-parameter constraints (keys case-insensitive, unknown keys ignored):
        ``value, fixed, limited, limits, step, relstep, mpside, mpmaxstep, tied,
        parname, mpprint`` (see :mod:`paramfit.frontends.parinfo`).  ``tied`` refers to
        parameters as ``p[i]`` or ``p(i)``, 0-based.
    ftol, xtol, gtol : float, default 1e-10
        MINPACK's relative tolerances (all must be > 0).
    damp : float, default 0
        > 0 replaces the deviates by ``tanh(deviates / damp)`` (residuals much
        larger than ``damp`` are clipped); not with ``autoderivative=0``.
    maxiter : int, default 200
        The classic's limit on ``niter`` (1 + accepted steps): status 5 when
        reached (0: no step, only the statistics at the start).
    factor : float, default 100
        Initial trust-region radius factor.
    nprint : int, default 1
        Call ``iterfunct`` every ``nprint`` iterations.
    iterfunct : callable, 'default' or None
        ``iterfunct(fcn, p, iter, fnorm, functkw=None, parinfo=None, quiet=0,
        dof=None, **iterkw)``, called at the start of iteration ``iter``
        (1-based); a negative return value stops the fit with that status.
        'default' prints like MPFIT (:func:`default_iterfunct`); None disables.
    iterkw : dict, optional
        Extra keywords for ``iterfunct``.
    nocovar : int, default 0
        1: do not compute ``covar`` (None) and ``perror`` (NaN).
    rescale, diag
        ``rescale=1`` uses the fixed positive scale factors ``diag`` (one per free
        parameter, or one per parameter) instead of the Jacobian column norms.
    autoderivative : int, default 1
        1: finite differences; 0: ``fcn`` returns analytic derivatives.
    quiet : int, default 0
        1 silences the default iteration function.
    epsfcn : float, optional
        Finite-difference relative step ``sqrt(max(epsfcn, eps))`` (MINPACK).
    debug : int, default 0
        With ``autoderivative=0``: print the user's derivatives beside forward
        differences at every derivative evaluation (those calls count in ``nfev``).
    maxfev : int, default 0
        paramfit addition: most user-function calls (0: no limit); status 5.
    p0 : array_like, optional
        Keyword alias of ``xall``.

    Returns
    -------
    MPFitResult
        ``status, errmsg, params, perror, covar, niter, nfev, fnorm, dof``...
        Improper input gives ``status = 0`` and ``errmsg`` (not an exception);
        exceptions raised by ``fcn`` or ``iterfunct`` propagate.

    Notes
    -----
    ``perror`` is ``sqrt(diag(covar))`` of the *unscaled* covariance
    ``inv(J^T J)``, as in MPFIT; for unweighted data multiply by
    ``sqrt(fnorm / dof)``.  Limits of fixed and tied parameters are not used.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.linspace(0, 4, 40)
    >>> y = 2.0 + 0.5 * x
    >>> def line(p, fjac=None, x=None, y=None):
    ...     return [0, y - (p[0] + p[1] * x)]
    >>> m = mpfit(line, [1.0, 1.0], {'x': x, 'y': y}, quiet=1)
    >>> m.status > 0, m.errmsg, np.round(m.params, 8).tolist()
    (True, '', [2.0, 0.5])
    """
    if p0 is not None:
        if xall is not None:
            return _improper_input(KEYWORDS, "give xall or p0, not both",
                                   _start_vector(xall, parinfo), parinfo)
        xall = p0
    start = _start_vector(xall, parinfo) if (xall is not None or parinfo is not None) else None
    if functkw is not None and not isinstance(functkw, Mapping):
        return _improper_input(KEYWORDS, "functkw (the third positional argument, as in the "
                               "classic mpfit module) must be a dict; pass parinfo=...",
                               start, parinfo)
    if damp != 0 and not autoderivative:
        return _improper_input("ERROR: keywords DAMP and AUTODERIVATIVE are mutually "
                               "exclusive", "", start, parinfo)
    try:
        _check_keywords(xtol, ftol, gtol, maxiter, factor, maxfev, damp, epsfcn)
        if isinstance(parinfo, Mapping):
            raise ImproperInput("parinfo must be a list of dicts, got a dict",
                                "ERROR: PARINFO must be a list of dictionaries.")
        specs = parse_parinfo(xall, parinfo)
        if not _free_indices(specs):
            raise ImproperInput("every parameter is fixed, tied or pinned",
                                "ERROR: no free parameters")
        fit_diag = _diag(diag, rescale, specs)
        params = build_parameters(specs)
    except ImproperInput as exc:
        return _improper_input(exc.classic, str(exc), start, parinfo)
    except (ParameterError, ExpressionError) as exc:
        return _improper_input("ERROR: improper PARINFO", str(exc), start, parinfo)
    start = np.array([s.value for s in specs])
    if iterfunct == "default":
        iterfunct = default_iterfunct
    user = UserFunction(fcn, functkw or {}, specs, damp=damp, debug=bool(debug))
    user.plist = list(params.values())
    nfree = len(_free_indices(specs))
    control = _IterationControl(user, maxiter, iterfunct, nprint, parinfo, quiet,
                                iterkw or {}, nfree)
    fitter = Minimizer(user.residual, params, iteration_cb=control, scale_covar=False,
                       nan_policy="propagate", infeasible="raise",
                       jac=None if autoderivative else user.jacobian)
    result = MPFitResult(status=0, errmsg="", names=list(params), parinfo=parinfo,
                         parameters=params, damp=damp, debug=debug)
    options: dict[str, Any] = {"xtol": xtol, "ftol": ftol, "gtol": gtol, "factor": factor,
                               "max_nfev": maxfev or 2**62}
    if epsfcn is not None:
        options["epsfcn"] = max(float(epsfcn), float(np.finfo(float).eps))
    if fit_diag is not None:
        options["diag"] = fit_diag
    try:
        fitter.leastsq(**options)
    except StopFit as stop:  # stopped at the very first evaluation
        return _first_call_stopped(result, stop.code, fcn, user, start)
    except ResidualError as exc:
        if user.user_error is not None:
            raise user.user_error from None
        cause = exc.__cause__
        if isinstance(cause, NonFiniteStart):
            return _non_finite_start(result, cause, user, start, nfree)
        if isinstance(cause, ImproperReturn):
            return _improper(result, str(cause), user, start, nfree)
        raise
    except (FitError, ParameterError, ExpressionError) as exc:
        return _improper(result, str(exc), user, start, nfree)
    fit = fitter.result
    result.fit, result.nfev = fit, user.nfev
    result.status, result.errmsg, result.message = _status(fit, control, fcn, iterfunct)
    if result.status == 9 and user.nonfinite:  # the classic: -16
        result.status, result.errmsg = -16, NON_FINITE
        result.message = ("the user function returned non-finite values during the fit and "
                          "the solver could not reach a stationary point (best point kept)")
    _fill(result, fit, nocovar)
    return result


def _first_call_stopped(result: MPFitResult, code: int, fcn: Callable, user: UserFunction,
                        start: np.ndarray) -> MPFitResult:
    result.status, result.nfev = code, user.nfev
    result.errmsg = f'ERROR: first call to "{fcn}" failed'
    result.message = f"the first call of the user function returned status {code}"
    result.params, result.perror = start.copy(), np.full(start.size, np.nan)
    result.parameters = None
    return result


def _non_finite_start(result: MPFitResult, cause: NonFiniteStart, user: UserFunction,
                      start: np.ndarray, nfree: int) -> MPFitResult:
    result.status, result.errmsg, result.nfev = -16, NON_FINITE, user.nfev
    result.message = str(cause)
    result.params, result.perror = start.copy(), np.full(start.size, np.nan)
    with np.errstate(all="ignore"):
        result.fnorm = float(np.sum(cause.deviates ** 2))
    result.dof, result.niter, result.nfree = cause.deviates.size - nfree, 1, nfree
    result.parameters = None
    return result


def _improper(result: MPFitResult, message: str, user: UserFunction, start: np.ndarray,
              nfree: int) -> MPFitResult:
    classic = "ERROR: improper input"
    if user.ndata is not None and user.ndata < nfree:
        classic = "ERROR: number of parameters must not exceed data"
    elif user.nfev <= 1:
        classic = f'ERROR: first call to "{user.fcn}" failed'
    out = _improper_input(classic, message, start, result.parinfo, user.nfev)
    out.damp, out.debug, out.names = result.damp, result.debug, result.names
    return out
