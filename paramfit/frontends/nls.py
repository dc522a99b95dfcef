"""R-style front end (seed 001): ``nlxb``, ``nlfb``, ``optimr``, ``bmchk`` and ``bdmsk``.

This module follows R's nlsr / optimr / Rvmmin conventions over paramfit's core:

* :func:`nlxb` fits a formula ``"lhs ~ expression"`` to data columns, with
  ``masked=[names]`` to hold parameters at their start values;
* :func:`nlfb` fits a residual function of a parameter vector, with ``maskidx``;
* :func:`optimr` minimises a scalar function, fixing parameters by equal bounds
  (the start must equal them) or by a ``bdmsk`` vector with 0 for masked ones;
* :func:`bmchk` checks bounds and masks as optimx's ``bmchk`` does.

Every way of fixing a parameter (``masked``, ``maskidx``, equal bounds, ``bdmsk``,
``vary=False`` in :class:`~paramfit.Parameters`) gives the same fit.  The ``bdmsk``
codes (seed 001) are: 1 free, 0 masked or fixed, -1 at the upper bound, -3 at the
lower bound, -0.5 above the upper bound, -3.5 below the lower bound.

The least-squares fits use the core's bounded Levenberg-Marquardt solver; the
residual sign is nlsr's, ``model - data``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from paramfit.core.exceptions import (
    ExpressionError,
    FitError,
    ParameterError,
    ResidualError,
)
from paramfit.core.parameters.parameters import Parameters, ParameterStatus
from paramfit.core.problem import check_numeric_dtype, refuse_masked
from paramfit.fitting.minimizer import Minimizer
from paramfit.frontends.formula import build_formula
from paramfit.frontends.formula_errors import UnknownNameError
from paramfit.frontends.nls_report import BoundsCheck, NlsResult, OptimrResult
from paramfit.frontends.optimr import _expand_bounds, _start_items, bmchk, optimr

__all__ = ["NlsResult", "OptimrResult", "BoundsCheck", "nlxb", "nlfb", "optimr", "bmchk"]

_FLAGS = {ParameterStatus.AT_LOWER: "L", ParameterStatus.AT_UPPER: "U",
          ParameterStatus.BELOW_LOWER: "-", ParameterStatus.ABOVE_UPPER: "+"}


# ---------------------------------------------------------------- normalisation
def _numbers(value: Any, who: str, error: type[FitError] = ResidualError) -> np.ndarray:
    """``np.asarray(value, dtype=float)`` that refuses masked arrays and text (issue 20):
    a mask would be ignored, and ``'1'`` would be parsed as 1.0 without a word."""
    refuse_masked(value, f"{who} is" if error is not ResidualError else f"{who} returned",
                  error)
    arr = np.asarray(value)
    try:
        check_numeric_dtype(arr, who if error is not ResidualError else
                            f"the value returned by {who}")
    except ResidualError as exc:
        raise error(str(exc)) from None
    return np.asarray(arr, dtype=float)


def _weights(weights: Any, m: int) -> np.ndarray | None:
    if weights is None:
        return None
    w = _numbers(weights, "weights", FitError).ravel()
    if w.size == 1:
        w = np.full(m, float(w[0]))
    if w.size != m:
        raise FitError(f"weights has {w.size} values but there are {m} observations")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise FitError("weights must be finite and non-negative")
    return w


def _build_parameters(names: Sequence[str], values: np.ndarray, lower: np.ndarray,
                      upper: np.ndarray, fixed: Iterable[str]) -> Parameters:
    params = Parameters()
    fixed = set(fixed)
    for name, value, lo, hi in zip(names, values, lower, upper, strict=True):
        params.add(name, value=float(value), vary=name not in fixed)
        # bounds after the value: an infeasible start stays for bmchk to report (seed 001)
        params[name].set_bounds(lo, hi)
    return params


def _weighted(fun: Callable[[Any], np.ndarray], weights: np.ndarray | None,
              rows: int) -> Callable[[Any], np.ndarray]:
    """Wrap ``fun`` so its rows (residuals or Jacobian rows) get ``sqrt(w)``."""
    if weights is None:
        return fun
    keep = weights > 0
    root = np.sqrt(weights[keep])

    def wrapped(params: Any) -> np.ndarray:
        out = np.asarray(fun(params), dtype=float)
        if out.shape[:1] != (rows,):
            return out  # let the core report the wrong length
        out = out[keep]
        return out * (root if out.ndim == 1 else root[:, None])

    wrapped.__qualname__ = getattr(fun, "__qualname__", "residual")
    return wrapped


# ------------------------------------------------------------------------ fits
def _fit(fcn: Callable, params: Parameters, *, jac: Callable | None = None,
         formula: str | None = None, infeasible: str = "warn") -> NlsResult:
    fitter = Minimizer(fcn, params, jac=jac, infeasible=infeasible)
    fitter.leastsq()
    fit = fitter.result
    names = list(params)
    n = len(names)
    free = [names.index(v) for v in fit.var_names]
    gradient = np.zeros(n)
    gradient[free] = fit.gradient
    singular = np.zeros(n)
    singular[: fit.jac_singular_values.size] = fit.jac_singular_values
    jacobian = np.zeros((fit.ndata, n))
    jacobian[:, free] = fit.jac
    statuses = [params[k].status for k in names]
    return NlsResult(
        names=names,
        coefficients={k: params[k].value for k in names},
        std_errors={k: params[k].stderr for k in names},
        tvalues={k: fit.tvalues.get(k) for k in names},
        pvalues={k: fit.pvalues.get(k) for k in names},
        gradient=gradient, jac_singular_values=singular,
        masked=[k for k in names if k not in fit.var_names and not params[k].expr],
        bdmsk=np.array([s.bdmsk for s in statuses]),
        bound_flags=[_FLAGS.get(s, " ") for s in statuses],
        ssquares=fit.chisqr, nobs=fit.ndata, njev=fit.njev, nfev=fit.nfev,
        residuals=fit.residual, jacobian=jacobian,
        lower=np.array([params[k].min for k in names]),
        upper=np.array([params[k].max for k in names]),
        formula=formula, success=fit.success, message=fit.message, params=params, fit=fit,
    )


def _column_names(data: Any) -> list[str]:
    if data is None:
        return []
    if not hasattr(data, "keys"):
        raise FitError(f"data must be a dict of columns or a pandas DataFrame, "
                       f"got {type(data).__name__}")
    return [str(k) for k in data.keys()]


def nlxb(formula: str, data: Any, start: Any, lower: Any = None, upper: Any = None,
         masked: Sequence[str] | str | None = None, weights: Any = None, *,
         infeasible: str = "warn") -> NlsResult:
    """Fit a formula ``"lhs ~ expression"`` to data columns (nlsr's ``nlxb``).

    The formula is built once by :func:`paramfit.frontends.formula.build_formula`
    (the safe expression compiler, no raw ``eval``) and evaluated vectorised over the
    data columns, and differentiated exactly (as nlsr does, symbolically): the fit
    uses that Jacobian, so ``nfev`` counts no finite differences (a parameter whose
    partial has no exact form -- a comparison used as a value -- is differenced, that
    column only; ``message`` names it and ``nfev`` includes those evaluations); residuals are
    ``sqrt(weights) * (rhs - lhs)`` (model minus data, as nlsr).  Names in the
    formula are resolved as parameters (keys of ``start``), then data columns,
    then the functions and constants of :data:`paramfit.core.expressions.compiler.DEFAULT_SYMBOLS`.

    Parameters
    ----------
    formula : str
        E.g. ``"weed ~ b1/(1+b2*exp(-b3*ii))"``.
    data : dict of array_like or pandas.DataFrame
        The columns the formula reads (scalars are broadcast).
    start : dict or pandas.Series
        Parameter name -> start value; also fixes the parameter order.
    lower, upper : float, dict or sequence, optional
        Bounds: one value for all, ``{name: value}``, or one per parameter in start
        order.  ``lower == upper`` fixes a parameter (its start must equal them).
    masked : list of str, optional
        Parameters held at their start values (marked ``M`` in the table).
    weights : array_like, optional
        Per-observation weights; residuals are multiplied by ``sqrt(weights)`` and
        observations with weight 0 are left out.
    infeasible : {'warn', 'raise'}, default 'warn'
        A start outside its bounds is moved to the nearest bound with a warning, or
        raises :class:`~paramfit.BoundsError`.

    Returns
    -------
    NlsResult
        Prints as nlsr's table; see :class:`NlsResult` for the standard errors of
        masked fits (computed from the reduced problem where nlsr prints NA).

    Raises
    ------
    ExpressionError
        The formula has no ``~``, uses a forbidden construct, or names something
        that is neither a parameter, a column nor a known function.
    BoundsError
        Inadmissible bounds, or equal bounds with a different start value.

    Examples
    --------
    >>> import numpy as np
    >>> weed = [5.308, 7.24, 9.638, 12.866, 17.069, 23.192, 31.443, 38.558,
    ...         50.156, 62.948, 75.995, 91.972]
    >>> data = {'weed': weed, 'ii': np.arange(1, 13)}
    >>> fit = nlxb('weed ~ b1/(1+b2*exp(-b3*ii))', data, {'b1': 200, 'b2': 50, 'b3': 0.3})
    >>> round(fit.ssquares, 4), round(fit.coefficients['b1'], 3)
    (2.5873, 196.186)
    >>> fit = nlxb('weed ~ b1/(1+b2*exp(-b3*ii))', data, {'b1': 200, 'b2': 50, 'b3': 0.3},
    ...            masked=['b1'])
    >>> round(fit.ssquares, 4), fit.masked, fit.bdmsk.tolist()
    (2.6182, ['b1'], [0.0, 1.0, 1.0])
    """
    names, values = _start_items(start)
    columns = _column_names(data)
    try:
        compiled = build_formula(formula, parameters=names, data=columns, lhs="required")
    except UnknownNameError as exc:
        raise ExpressionError(
            f"formula {formula!r} uses {', '.join(map(repr, sorted(exc.names)))}, which is "
            f"neither a parameter in start ({', '.join(names)}) nor a data column "
            f"({', '.join(columns) or 'no columns'}); add it to start or to data") from None
    if compiled.unused_parameters:
        raise ParameterError(f"start names parameter(s) {list(compiled.unused_parameters)} "
                             f"that formula {formula!r} does not use; remove them from start")
    arrays = {key: _numeric_column(data, key, formula)
              for key in dict.fromkeys(compiled.response_names + compiled.data_names)}
    fixed = _masked_names(masked, names)
    lower_arr = _expand_bounds(lower, names, -math.inf, "lower")
    upper_arr = _expand_bounds(upper, names, math.inf, "upper")
    params = _build_parameters(names, values, lower_arr, upper_arr, fixed)
    residual, shape = compiled.residual(arrays, start=values.tolist())
    rows = int(np.prod(shape)) if shape else 1
    residual.__qualname__ = f"nlxb formula {formula!r}"
    w = _weights(weights, rows)
    fcn = _weighted(residual, w, rows)
    jacobian = compiled.residual_jacobian(arrays, shape)
    if jacobian is None:  # a left-hand side with parameters: finite differences
        return _fit(fcn, params, formula=formula, infeasible=infeasible)
    result = _fit(fcn, params, jac=_weighted(jacobian, w, rows), formula=formula,
                  infeasible=infeasible)
    return _count_differences(result, jacobian.formula_jacobian)


def _count_differences(result: NlsResult, jacobian: Any) -> NlsResult:
    """Add the model evaluations spent on differenced Jacobian columns to ``nfev`` and
    name those columns in ``message``."""
    result.nfev += jacobian.difference_evaluations
    if jacobian.differenced:
        reasons = "; ".join(f"{k}: {why}" for k, why in jacobian.differenced.items())
        result.message += f" (finite differences for the Jacobian column(s) of {reasons})"
    return result


def _numeric_column(data: Any, key: str, formula: str) -> np.ndarray:
    try:
        return _numbers(data[key], f"data column {key!r}", FitError)
    except (TypeError, ValueError) as exc:
        raise FitError(f"data column {key!r} used in formula {formula!r} is not "
                       "numeric") from exc


def _masked_names(masked: Sequence[str] | str | None, names: Sequence[str]) -> list[str]:
    if masked is None:
        return []
    masked = [masked] if isinstance(masked, str) else list(masked)
    unknown = [k for k in masked if k not in names]
    if unknown:
        raise ParameterError(f"masked names unknown parameter(s) {unknown}; the parameters "
                             f"are {list(names)}")
    return masked


def nlfb(start: Any, resfn: Callable[..., Any], jacfn: Callable[..., Any] | None = None,
         lower: Any = None, upper: Any = None, maskidx: Sequence[int] | None = None,
         weights: Any = None, *, one_based: bool = False, infeasible: str = "warn",
         **data: Any) -> NlsResult:
    """Fit a residual function of a parameter vector (nlsr's ``nlfb``).

    Parameters
    ----------
    start : dict, pandas.Series or sequence of float
        Start values; names come from a dict or Series, else ``p_1, p_2, ...``.
    resfn : callable
        ``resfn(params_vector, **data) -> residuals`` of shape (m,), with
        ``params_vector`` a float ndarray (n,) in start order.  nlsr's sign is
        ``model - data`` (the fit does not depend on it).
    jacfn : callable, optional
        ``jacfn(params_vector, **data) -> (m, n)`` Jacobian of ``resfn``; finite
        differences when omitted.
    lower, upper : float, dict or sequence, optional
        Bounds as in :func:`nlxb`.
    maskidx : sequence of int, optional
        Indices of the parameters held at their start values, **0-based** (Python);
        pass ``one_based=True`` to use R's 1-based indices unchanged.
    weights : array_like, optional
        Per-observation weights (residual rows multiplied by ``sqrt(weights)``).
    one_based : bool, default False
        Read ``maskidx`` as R's 1-based indices.
    infeasible : {'warn', 'raise'}, default 'warn'
        See :func:`nlxb`.
    **data
        Passed to ``resfn`` and ``jacfn``.

    Returns
    -------
    NlsResult
        As for :func:`nlxb` (``formula`` is None).

    Examples
    --------
    >>> import numpy as np
    >>> weed = np.array([5.308, 7.24, 9.638, 12.866, 17.069, 23.192, 31.443, 38.558,
    ...                  50.156, 62.948, 75.995, 91.972])
    >>> def rfn(b, weed, ii):
    ...     return b[0] / (1 + b[1] * np.exp(-b[2] * ii)) - weed
    >>> fit = nlfb([200, 50, 0.3], rfn, weed=weed, ii=np.arange(1, 13), maskidx=[0])
    >>> fit.names, fit.masked, round(fit.coefficients['p_2'], 4)
    (['p_1', 'p_2', 'p_3'], ['p_1'], 49.5108)
    """
    if not callable(resfn):
        raise FitError(f"resfn must be callable, got {type(resfn).__name__}")
    names, values = _start_items(start)
    fixed = [names[i] for i in _mask_indices(maskidx, len(names), one_based)]
    params = _build_parameters(names, values, _expand_bounds(lower, names, -math.inf, "lower"),
                               _expand_bounds(upper, names, math.inf, "upper"), fixed)

    def vector(pars: Parameters) -> np.ndarray:
        return np.array([pars[k]._value for k in names])

    def residual(pars: Parameters) -> np.ndarray:
        return _numbers(resfn(vector(pars), **data), f"resfn {_name(resfn)}").ravel()

    residual.__qualname__ = getattr(resfn, "__qualname__", "resfn")
    try:
        rows = _numbers(resfn(values.copy(), **data), f"resfn {_name(resfn)}").size
    except ResidualError:
        raise
    except Exception as exc:
        raise ResidualError(f"resfn {residual.__qualname__} raised {type(exc).__name__}: "
                            f"{exc}\n  at the start values {values.tolist()}") from exc
    w = _weights(weights, rows)
    jac = None
    if jacfn is not None:
        def jacobian(pars: Parameters) -> np.ndarray:
            return _numbers(jacfn(vector(pars), **data), f"jacfn {_name(jacfn)}")

        jacobian.__qualname__ = getattr(jacfn, "__qualname__", "jacfn")
        jac = _weighted(jacobian, w, rows)
    return _fit(_weighted(residual, w, rows), params, jac=jac, infeasible=infeasible)


def _name(func: Any) -> str:
    return getattr(func, "__qualname__", None) or type(func).__name__


def _mask_indices(maskidx: Sequence[int] | None, n: int, one_based: bool) -> list[int]:
    if maskidx is None:
        return []
    out = []
    for raw in np.atleast_1d(np.asarray(maskidx)).tolist():
        if not float(raw).is_integer():
            raise ParameterError(f"maskidx must hold integer indices, got {raw!r}")
        i = int(raw) - (1 if one_based else 0)
        if not 0 <= i < n:
            base = "1-based (one_based=True)" if one_based else "0-based"
            raise ParameterError(f"maskidx {int(raw)} is out of range for {n} parameters "
                                 f"({base} indices)")
        out.append(i)
    return out
