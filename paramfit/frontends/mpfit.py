"""MPFIT front end (seed 002): ``mpfit``, ``mpfitfun`` and ``mpfitexpr`` over paramfit's core.

Code written for Markwardt's MPFIT (IDL) or the classic Python ``mpfit``
module runs with little change: the user function returns
``[status, deviates]`` (or ``[status, deviates, pderiv]`` with
``autoderivative=0``), constraints come in ``parinfo``, and the result holds
``status, errmsg, params, perror, covar, niter, nfev, fnorm, dof``.  The fit
itself is paramfit's bounded Levenberg-Marquardt solver
(:mod:`paramfit.core.solvers.levenberg_marquardt`, MINPACK-1 with MPFIT's bound
handling), reached through :class:`paramfit.fitting.minimizer.Minimizer`.

Status codes (``MPFitResult.status``)
-------------------------------------
0
    Improper input: bad ``parinfo``, inconsistent keywords, no free parameter,
    fewer deviates than free parameters, or a malformed return value of the
    user function.  ``errmsg`` says what and names the parameter.  As in
    MPFIT this is *returned*, not raised; Python exceptions raised *by* the
    user's function or iteration function propagate unchanged.
1, 2, 3, 4
    Converged: ``ftol``, ``xtol``, both, ``gtol`` (orthogonality).
5
    ``maxiter`` iterations done (or ``maxfev`` evaluations, when set).
6, 7, 8
    ``ftol``, ``xtol``, ``gtol`` too small: no further progress possible.
9
    paramfit addition: the solver converged, but the accurate Jacobian at the
    end shows a gradient that is not small (the point is not a minimum).
-1 ... -15 (any negative)
    The user function or the iteration function asked to stop; ``params``
    hold the best point found, ``covar`` and ``perror`` are None.

References
----------
.. [1] C. B. Markwardt, "Non-linear least squares fitting in IDL with MPFIT",
   ASP Conference Series 411, 251, 2009.
.. [2] J. J. Moré, "The Levenberg-Marquardt algorithm: implementation and
   theory", Lecture Notes in Mathematics 630, Springer, 1977.
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
from paramfit.frontends.formula import UnknownNameError, build_formula
from paramfit.frontends.parinfo import (
    ImproperInput,
    ImproperReturn,
    ParameterSpec,
    UserFunction,
    build_parameters,
    normalise_entry,
    parse_parinfo,
)

__all__ = ["MPFitResult", "mpfit", "mpfitfun", "mpfitexpr", "default_iterfunct",
           "STATUS_MESSAGES"]

STATUS_MESSAGES: dict[int, str] = {
    0: "improper input parameters",
    **{t.code: t.message for t in Termination if 1 <= t.code <= 9},
    5: "the maximum number of iterations (maxiter) has been reached",
}
"""``errmsg`` of each non-negative status (0 gets the specific reason appended)."""


@dataclass
class MPFitResult:
    """What :func:`mpfit` returns (the attributes of the classic ``mpfit`` object).

    Attributes
    ----------
    status : int
        MPFIT status code, see :mod:`paramfit.frontends.mpfit`.
    errmsg : str
        Why the fit ended, in words (for every status, not only errors).
    params : ndarray, shape (n,) or None
        Best-fit values of *all* parameters (fixed and tied included); None when
        ``status == 0``.
    perror : ndarray, shape (n,) or None
        1-sigma errors from the *unscaled* covariance, as MPFIT reports them:
        correct when ``deviates = (y - model) / err`` with true ``err``.  For
        unweighted data scale them yourself by ``sqrt(fnorm / dof)``.  Fixed,
        tied and pegged parameters get 0.  None with ``nocovar=1``, after a user
        stop, or when the covariance is singular.
    covar : ndarray, shape (n, n) or None
        Unscaled covariance over all parameters (zero rows and columns for
        fixed, tied and pegged ones).
    niter : int
        Completed (accepted) Levenberg-Marquardt iterations.
    nfev : int
        Calls of the user function.
    fnorm : float or None
        Chi-square, ``sum(deviates**2)``, at ``params``.
    dof : int or None
        ``len(deviates) - nfree``.
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
    """

    status: int
    errmsg: str
    params: np.ndarray | None = None
    perror: np.ndarray | None = None
    covar: np.ndarray | None = None
    niter: int = 0
    nfev: int = 0
    fnorm: float | None = None
    dof: int | None = None
    nfree: int = 0
    npegged: int = 0
    names: list[str] = field(default_factory=list)
    parinfo: list | None = None
    parameters: Parameters | None = None
    fit: FitResult | None = None


def default_iterfunct(fcn: Callable, p: np.ndarray, iter: int,  # noqa: A002  (MPFIT name)
                      fnorm: float | None = None, functkw: Mapping | None = None,
                      parinfo: Sequence[Mapping] | None = None, quiet: int = 0,
                      dof: int | None = None, **iterkw: Any) -> None:
    """MPFIT's default iteration function: print chi-square and the parameters.

    Prints ``Iter      N   CHI-SQUARE = ...   DOF = ...`` then one line
    ``   NAME = value`` per parameter whose ``mpprint`` is true, ``NAME`` being the
    ``parname`` or ``P<i>``.  Nothing is printed when ``quiet`` is true.

    Examples
    --------
    >>> default_iterfunct(None, [1.0, 2.5], 3, fnorm=12.0, dof=8,
    ...                   parinfo=[{'parname': 'amp'}, {'mpprint': 0}])
    Iter      3   CHI-SQUARE = 12   DOF = 8
       amp = 1
    """
    if quiet:
        return None
    if fnorm is None:
        _, deviates = fcn(np.asarray(p, dtype=float), fjac=None, **dict(functkw or {}))[:2]
        fnorm = float(np.sum(np.asarray(deviates, dtype=float) ** 2))
    print(f"Iter {iter:6d}   CHI-SQUARE = {fnorm:.10g}   DOF = {dof}")
    for i, value in enumerate(p):
        entry = normalise_entry(parinfo[i], i) if parinfo is not None and i < len(parinfo) else {}
        if not entry.get("mpprint", 1):
            continue
        name = entry.get("parname") or f"P{i}"
        print(f"   {name} = {float(value):.10g}")
    return None


class _IterationControl:
    """``iter_cb`` for the core: ``maxiter`` and the user's ``iterfunct``."""

    def __init__(self, user: UserFunction, maxiter: int, iterfunct: Callable | None,
                 nprint: int, parinfo: Any, quiet: int, iterkw: Mapping[str, Any],
                 nfree: int):
        self.user, self.maxiter, self.iterfunct = user, maxiter, iterfunct
        self.nprint, self.parinfo, self.quiet = nprint, parinfo, quiet
        self.iterkw, self.nfree = dict(iterkw), nfree
        self.maxiter_reached = False
        self.iterfunct_code: int | None = None

    def __call__(self, params: Parameters, niter: int, resid: np.ndarray) -> bool:
        if niter >= self.maxiter:
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


def _check_keywords(xtol: float, ftol: float, gtol: float, maxiter: int, factor: float,
                    maxfev: int) -> None:
    for name, value in (("xtol", xtol), ("ftol", ftol), ("gtol", gtol), ("factor", factor)):
        if not (isinstance(value, (int, float)) and value > 0 and math.isfinite(value)):
            raise ImproperInput(f"input keywords are inconsistent: {name} must be a positive "
                                f"number, got {value!r}")
    for name, value in (("maxiter", maxiter), ("maxfev", maxfev)):
        if not isinstance(value, (int, np.integer)) or value < 0:
            raise ImproperInput(f"input keywords are inconsistent: {name} must be an integer "
                                f">= 0, got {value!r}")


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
                            f"positive scale factors, got {diag!r}")
    return values


def _status(fit: FitResult, control: _IterationControl) -> tuple[int, str]:
    termination = fit.termination
    if termination is Termination.USER_STOP:
        if control.maxiter_reached:
            return 5, STATUS_MESSAGES[5]
        code = fit.user_code if fit.user_code is not None else -1
        if control.iterfunct_code is not None:
            return code, f"the fit was stopped by iterfunct (status {code})"
        return code, f"the fit was stopped by the user function (status {code})"
    code = termination.code
    if termination is Termination.MAX_NFEV:
        return 5, "the maximum number of function evaluations (maxfev) has been reached"
    if code == 0:
        return 0, "improper input: the solver rejected the problem (" + fit.message + ")"
    return code, STATUS_MESSAGES.get(code, fit.message)


def _fill(result: MPFitResult, fit: FitResult, nocovar: int) -> None:
    params = result.parameters
    result.params = np.array([par.value for par in params.values()])
    result.niter, result.fnorm = fit.niter, float(fit.chisqr)
    result.nfree, result.dof = fit.nvarys, fit.ndata - fit.nvarys
    free = [result.names.index(name) for name in fit.var_names]
    pegged = (ParameterStatus.AT_LOWER, ParameterStatus.AT_UPPER)
    result.npegged = sum(params[name].status in pegged for name in fit.var_names)
    if nocovar or result.status < 0 or fit.covar is None:
        return
    covar = np.zeros((len(result.names), len(result.names)))
    covar[np.ix_(free, free)] = fit.covar
    result.covar = covar
    result.perror = np.sqrt(np.clip(np.diag(covar), 0.0, None))


def mpfit(
    fcn: Callable[..., Any],
    p0: Sequence[float] | np.ndarray | None = None,
    parinfo: Sequence[Mapping[str, Any]] | None = None,
    functkw: Mapping[str, Any] | None = None,
    *,
    autoderivative: int = 1,
    xtol: float = 1e-10,
    ftol: float = 1e-10,
    gtol: float = 1e-10,
    maxiter: int = 200,
    factor: float = 100.0,
    nprint: int = 1,
    iterfunct: Callable[..., Any] | str | None = "default",
    iterkw: Mapping[str, Any] | None = None,
    nocovar: int = 0,
    rescale: int = 0,
    diag: Sequence[float] | None = None,
    quiet: int = 0,
    maxfev: int = 0,
    xall: Sequence[float] | None = None,
) -> MPFitResult:
    """Minimise the sum of squares of a user function's deviates, MPFIT style.

    Parameters
    ----------
    fcn : callable
        ``fcn(p, fjac=None, **functkw) -> [status, deviates]``; with
        ``autoderivative=0`` and ``fjac`` not None, ``[status, deviates, pderiv]``.
        ``p`` is the full parameter vector (fixed and tied included), ``deviates``
        any shape (flattened), ``pderiv`` ``(m, n)`` or the data shape with the
        ``n`` parameters last.  ``fjac`` is the mask of parameters whose
        derivatives are needed: 1 for free *and tied* ones (tied columns enter
        the free ones by the chain rule), 0 for fixed.  A negative ``status``
        stops the fit and is returned as ``status``.
    p0 : array_like, shape (n,), optional
        Start values; overrides ``parinfo[i]['value']``.  ``xall=`` is accepted
        as the classic module's name for it.
    parinfo : list of dict, optional
        Per-parameter constraints (keys case-insensitive, unknown keys ignored):
        ``value, fixed, limited, limits, step, relstep, mpside, mpmaxstep, tied,
        parname, mpprint`` (see :mod:`paramfit.frontends.parinfo`).  ``tied`` refers to
        parameters as ``p[i]`` or ``p(i)``, 0-based.
    functkw : dict, optional
        Keyword arguments for ``fcn`` (typically ``x``, ``y``, ``err``).
    autoderivative : int, default 1
        1: finite differences; 0: ``fcn`` returns analytic derivatives.
    xtol, ftol, gtol : float, default 1e-10
        MINPACK's relative tolerances (all must be > 0).
    maxiter : int, default 200
        Most iterations; ``status = 5`` when reached (0: no iteration, only the
        statistics at ``p0``).
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
        1: do not report ``covar`` and ``perror``.
    rescale, diag
        ``rescale=1`` uses the fixed positive scale factors ``diag`` (one per free
        parameter, or one per parameter) instead of the Jacobian column norms.
    quiet : int, default 0
        1 silences the default iteration function.
    maxfev : int, default 0
        Most user-function calls the solver may make (0: no limit); status 5.
    xall : array_like, optional
        Alias of ``p0`` (classic Python ``mpfit``).

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
    >>> m = mpfit(line, [1.0, 1.0], functkw={'x': x, 'y': y}, quiet=1)
    >>> m.status > 0, np.round(m.params, 8).tolist()
    (True, [2.0, 0.5])
    """
    if xall is not None:
        if p0 is not None:
            return MPFitResult(status=0, errmsg="improper input: give p0 or xall, not both",
                               parinfo=parinfo)
        p0 = xall
    try:
        _check_keywords(xtol, ftol, gtol, maxiter, factor, maxfev)
        if isinstance(parinfo, Mapping):
            raise ImproperInput("parinfo must be a list of dicts, got a dict (in the classic "
                                "mpfit module the third positional argument is functkw; "
                                "pass functkw=...)")
        specs = parse_parinfo(p0, parinfo)
        fit_diag = _diag(diag, rescale, specs)
        params = build_parameters(specs)
    except (ImproperInput, ParameterError, ExpressionError) as exc:
        return MPFitResult(status=0, errmsg=f"improper input: {exc}", parinfo=parinfo)
    if iterfunct == "default":
        iterfunct = default_iterfunct
    user = UserFunction(fcn, functkw or {}, specs)
    user.plist = list(params.values())
    nfree = len(_free_indices(specs))
    control = _IterationControl(user, maxiter, iterfunct, nprint, parinfo, quiet,
                                iterkw or {}, nfree)
    fitter = Minimizer(user.residual, params, iteration_cb=control, scale_covar=False,
                       nan_policy="propagate", infeasible="raise",
                       jac=None if autoderivative else user.jacobian)
    result = MPFitResult(status=0, errmsg="", names=list(params), parinfo=parinfo,
                         parameters=params)
    options: dict[str, Any] = {"xtol": xtol, "ftol": ftol, "gtol": gtol, "factor": factor,
                               "max_nfev": maxfev or 2**62}
    if fit_diag is not None:
        options["diag"] = fit_diag
    try:
        fitter.leastsq(**options)
    except StopFit as stop:  # stopped at the very first evaluation
        result.status, result.nfev = stop.code, user.nfev
        result.errmsg = f"the first call of the user function returned status {stop.code}"
        result.params = np.array([s.value for s in specs])
        return result
    except ResidualError as exc:
        if user.user_error is not None:
            raise user.user_error from None
        if isinstance(exc.__cause__, ImproperReturn):
            return _improper(result, str(exc.__cause__), user)
        raise
    except (FitError, ParameterError, ExpressionError) as exc:
        return _improper(result, str(exc), user)
    fit = fitter.result
    result.fit, result.nfev = fit, user.nfev
    result.status, result.errmsg = _status(fit, control)
    _fill(result, fit, nocovar)
    return result


def _improper(result: MPFitResult, message: str, user: UserFunction) -> MPFitResult:
    result.status, result.errmsg, result.nfev = 0, f"improper input: {message}", user.nfev
    result.parameters = None
    return result


def _data_arrays(y: Any, err: Any) -> tuple[np.ndarray, np.ndarray | float]:
    y = np.asarray(y, dtype=float)
    if err is None:
        return y, 1.0
    err = np.asarray(err, dtype=float)
    if not np.all(np.isfinite(err)) or np.any(err <= 0):
        raise ImproperInput("err must be positive and finite everywhere")
    np.broadcast_shapes(err.shape, y.shape)
    return y, err


def _driver(name: str, model: Callable, x: Any, y: Any, err: Any, p0: Any, parinfo: Any,
            kw: dict[str, Any]) -> MPFitResult:
    if not kw.pop("autoderivative", 1):
        return MPFitResult(status=0, errmsg=f"improper input: {name} computes derivatives "
                           "numerically; use mpfit with autoderivative=0 for analytic ones",
                           parinfo=parinfo)
    extra = dict(kw.pop("functkw", None) or {})
    try:
        y, err = _data_arrays(y, err)
    except (ImproperInput, ValueError) as exc:
        return MPFitResult(status=0, errmsg=f"improper input: {exc}", parinfo=parinfo)

    def deviates(p: np.ndarray, fjac: Any = None) -> list:
        return [0, (y - model(x, p, **extra)) / err]

    return mpfit(deviates, p0, parinfo, **kw)


def mpfitfun(model: Callable[..., Any], x: Any, y: Any, err: Any,
             p0: Sequence[float] | None = None, parinfo: Sequence[Mapping] | None = None,
             **kw: Any) -> MPFitResult:
    """Fit ``model(x, p)`` to data ``y`` with 1-sigma errors ``err`` (MPFITFUN).

    Parameters
    ----------
    model : callable
        ``model(x, p, **functkw) -> array`` shaped like ``y``.
    x, y : array_like
        Independent variable (passed through untouched) and data.
    err : array_like or float or None
        1-sigma errors of ``y`` (positive); None means 1 (unweighted: then scale
        ``perror`` by ``sqrt(fnorm / dof)``).
    p0, parinfo
        As in :func:`mpfit`.
    **kw
        Keywords of :func:`mpfit`; ``functkw`` goes to ``model``.

    Returns
    -------
    MPFitResult

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(10.0)
    >>> m = mpfitfun(lambda x, p: p[0] * np.exp(-x / p[1]), x, 3 * np.exp(-x / 2), 0.1,
    ...              [1.0, 1.0], quiet=1)
    >>> np.round(m.params, 6).tolist()
    [3.0, 2.0]
    """
    return _driver("mpfitfun", model, x, y, err, p0, parinfo, dict(kw))


def _expression_model(expr: str, nparams: int, extra: Mapping[str, Any]) -> Callable:
    """``model(x, p)`` of ``expr`` (in ``x``, ``p[i]``, ``functkw`` names), built by
    :func:`paramfit.frontends.formula.build_formula`."""
    if not isinstance(expr, str):
        raise ImproperInput(f"expr must be a string, got {type(expr).__name__}")
    try:
        formula = build_formula(expr, parameters=[f"p{i}" for i in range(nparams)],
                                data=("x",), symbols=extra, lhs="none",
                                vector_references=True, owner="mpfitexpr")
    except UnknownNameError as exc:
        raise ImproperInput(f"expression {expr!r} uses unknown name(s) {sorted(exc.names)}; "
                            f"it may use x, p[0] ... p[{nparams - 1}], functkw names and "
                            "math functions") from None
    # errors in the expression propagate unchanged, as from a user's model function
    return formula.vector_function(argument="x", checked=False)


def mpfitexpr(expr: str, x: Any, y: Any, err: Any, p0: Sequence[float] | None = None,
              parinfo: Sequence[Mapping] | None = None, **kw: Any) -> MPFitResult:
    """Fit a model given as an expression in ``x`` and ``p[i]`` (MPFITEXPR).

    The expression is built by :func:`paramfit.frontends.formula.build_formula` with
    paramfit's safe expression compiler (arithmetic and math functions only, never
    Python ``eval`` of the raw text); ``p[i]`` and
    ``p(i)`` (0-based) are rewritten to names first, since subscripts are not
    allowed there.  Names in ``functkw`` are available as constants.

    Parameters
    ----------
    expr : str
        E.g. ``'p[0] + p[1] * exp(-x / p[2])'``.
    x, y, err, p0, parinfo, **kw
        As in :func:`mpfitfun`.

    Returns
    -------
    MPFitResult

    Examples
    --------
    >>> import numpy as np
    >>> x = np.linspace(0, 1, 20)
    >>> m = mpfitexpr('p[0] + p[1] * x**2', x, 1 + 4 * x**2, None, [0.0, 0.0], quiet=1)
    >>> np.round(m.params, 8).tolist()
    [1.0, 4.0]
    """
    kw = dict(kw)
    extra = dict(kw.pop("functkw", None) or {})
    nparams = len(p0) if p0 is not None else len(parinfo or [])
    try:
        model = _expression_model(expr, nparams, extra)
    except (ImproperInput, ExpressionError) as exc:
        return MPFitResult(status=0, errmsg=f"improper input: {exc}", parinfo=parinfo)
    return _driver("mpfitexpr", model, x, y, err, p0, parinfo, kw)
