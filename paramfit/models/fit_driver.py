"""The fit driver of :meth:`paramfit.Model.fit`: :func:`run_fit`.

It checks and prepares the data, weights and independent variables (NaN policy, masked
arrays refused), builds the residual and, where the model has analytic derivatives, the
Jacobian, runs :class:`~paramfit.Minimizer` and wraps its outcome in a
:class:`~paramfit.models.result.ModelResult`.  Like :mod:`paramfit.models.result` it knows no
model class: it reads the model through the methods every
:class:`~paramfit.models.model.Model` has, so :mod:`paramfit.models.model` imports it, never
the reverse.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from paramfit.core.exceptions import FitError, NonFiniteResidualError, ResidualError
from paramfit.core.parameters.parameters import Parameter, Parameters
from paramfit.core.problem import FitProblem, refuse_masked
from paramfit.fitting.minimizer import Minimizer
from paramfit.models.common import _as_data, check_nan_policy, finite_or_raise
from paramfit.models.reducers import coerce_arraylike
from paramfit.models.result import ModelResult

if TYPE_CHECKING:  # the model being fitted; model.py imports this module
    from paramfit.models.model import Model

__all__ = ["run_fit"]


# ---------------------------------------------------------------------- the fit
def _check_input(what: str, value: Any, *, numeric: bool = True) -> None:
    """Refuse masked arrays (the mask would be ignored) and, for data and weights, text.

    Model.fit, like every paramfit fitter, refuses masked input rather than fit the
    masked values as numbers (issue 20); the message says how to drop or omit them.
    """
    refuse_masked(value, f"Model.fit: {what} is", FitError)
    if numeric and value is not None and not callable(value):
        arr = np.asarray(value.to_numpy() if hasattr(value, "to_numpy") else value)
        if arr.dtype.kind in "USO" and any(isinstance(v, (str, bytes)) for v in arr.ravel()):
            raise FitError(f"Model.fit: {what} holds text (dtype {arr.dtype}); convert it to "
                           "numbers first, e.g. np.asarray(values, dtype=float) after "
                           "checking how the text was read")


def _is_series(value: Any) -> bool:
    """A pandas Series (or anything with its index alignment), without importing pandas."""
    return hasattr(value, "index") and hasattr(value, "reindex_like") and \
        getattr(value, "ndim", None) == 1


def _align_on_index(data: Any, weights: Any, kws: Mapping[str, Any],
                    independent_vars: list[str]) -> tuple[Any, dict[str, Any]]:
    """lmfit's alignment: when the data is a pandas Series, the independent variables and
    weights given as Series are taken at the data's index labels (``reindex_like``; labels
    the data lacks are dropped, as lmfit), so data of 980 points fits against an ``x`` of
    1000 when their indexes say which points belong together."""
    if not _is_series(data):
        return weights, dict(kws)
    out = dict(kws)
    try:
        for name in independent_vars:
            if _is_series(out.get(name)):
                out[name] = out[name].reindex_like(data).dropna()
        if _is_series(weights):
            weights = weights.reindex_like(data)
    except ValueError as exc:  # pandas: duplicate labels cannot be aligned
        raise FitError(f"Model.fit: cannot align the independent variables with the data "
                       f"on their pandas index ({exc}); give arrays of equal length, or "
                       "Series with unique index labels") from None
    return weights, out


def _prepare_data(data: Any, weights: Any, indep: dict[str, Any], policy: str,
                  coerce: bool = True
                  ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    _check_input("data", data)
    _check_input("weights", weights)
    for name, value in indep.items():
        _check_input(f"independent variable {name!r}", value, numeric=False)
        if coerce:  # lmfit's coerce_farray: float64 / complex128 arrays
            indep[name] = coerce_arraylike(value)
    data = np.asarray(coerce_arraylike(_as_data(data)))
    if data.dtype.kind not in "fc":
        data = data.astype(float)
    if weights is not None:
        weights = np.asarray(_as_data(weights), dtype=float)
        try:
            np.broadcast_shapes(weights.shape, data.shape)
        except ValueError:
            raise FitError(f"weights of shape {weights.shape} do not match data of shape "
                           f"{data.shape}") from None
    for name, value in indep.items():
        if isinstance(value, np.ndarray) and value.ndim == 1 and data.ndim == 1 \
                and value.shape[0] != data.shape[0]:
            raise FitError(f"data has {data.shape[0]} points but independent variable "
                           f"{name!r} has {value.shape[0]}; they must have the same length")
    arrays = {n: v for n, v in indep.items() if isinstance(v, np.ndarray)
              and v.shape == data.shape and v.dtype.kind in "fc"}
    if policy == "raise":
        finite_or_raise("data", data, "the data")
        for name, value in arrays.items():
            finite_or_raise(name, value, "independent variable")
        if weights is not None:
            finite_or_raise("weights", weights, "the weights")
        return data, weights, None
    if policy == "propagate":
        return data, weights, None
    mask = np.isfinite(data)
    if weights is not None:
        mask &= np.broadcast_to(np.isfinite(weights), data.shape)
    for value in arrays.values():
        mask &= np.isfinite(value)
    if mask.all():
        return data, weights, None
    for name in arrays:
        indep[name] = indep[name][mask]
    if weights is not None:
        weights = np.broadcast_to(weights, data.shape)[mask]
    return data[mask], weights, mask


def _jacobian(model: Model, indep: dict[str, Any], data: np.ndarray,
              weights: np.ndarray | None) -> Callable[[Parameters], np.ndarray]:
    """Analytic Jacobian of the residual: varied columns, or all columns if a model
    parameter is tied (the core then applies the chain rule)."""
    names = model.param_names
    shape, size = data.shape, data.size
    flat = data.ndim == 1
    layout: dict[str, Any] = {}

    def jac(params: Parameters) -> np.ndarray:
        if not layout:
            if any(params[n].expr for n in names):
                order = list(params)
            else:
                order = [n for n, p in params.items()
                         if not p.expr and p.vary and not p.is_fixed]
            layout["cols"] = {n: i for i, n in enumerate(order)}
            layout["n"] = len(order)
        cols = layout["cols"]
        values = {n: params[n]._value for n in names}
        _, derivs = model._value_and_jacobian(values, indep)
        out = np.zeros((size, layout["n"]), order="F")
        for name, d in derivs.items():
            i = cols.get(name)
            if i is not None:
                if weights is not None:
                    d = d * weights
                out[:, i] = d if flat else np.broadcast_to(d, shape).ravel()
        return out

    return jac


def run_fit(model: Model, data: Any, params: Parameters | None, weights: Any, method: str,
            *, nan_policy: str | None, fit_kws: Mapping[str, Any] | None,
            iter_cb: Callable | None, scale_covar: bool, max_nfev: int | None,
            calc_covar: bool, coerce_farray: bool, kws: Mapping[str, Any]) -> ModelResult:
    """Implementation of :meth:`Model.fit` (see there)."""
    given_data, given_weights = data, weights
    weights, kws = _align_on_index(data, weights, kws, model.independent_vars)
    policy = model.nan_policy if nan_policy is None else nan_policy
    check_nan_policy(policy)
    if params is None:
        params = model.make_params()
    elif not isinstance(params, Parameters):
        raise FitError(f"params must be paramfit.Parameters, got {type(params).__name__}")
    else:
        params = params.copy()
    indep, values = model._split_kws(kws, params, coerce=coerce_farray)
    for name, value in values.items():
        if isinstance(value, Parameter):  # lmfit: a Parameter given by name sets them all
            target = params[name]
            target.set_bounds(value.min, value.max)
            target.expr = value.expr
            target.value = value.value
            target.vary = value.vary
        else:
            params[name].value = value
    model._values(params)
    for name, par in params.items():
        if not par.expr and not math.isfinite(par.value):
            raise FitError(f"parameter {name!r} has no finite initial value ({par.value}); "
                           f"give one, e.g. model.fit(data, ..., {name}=1.0)")
    data, weights, mask = _prepare_data(data, weights, indep, policy, coerce_farray)
    params.update_constraints()
    init_params = params.copy()
    names = model.param_names
    init_fit = np.asarray(model._evaluate({n: params[n]._value for n in names}, indep))
    if init_fit.size != data.size and init_fit.size != 1:
        raise FitError(f"the model returns {init_fit.size} values at the given independent "
                       f"variables but the data has {data.size}")
    evaluate = model._evaluate

    def residual(p: Parameters) -> np.ndarray:
        value = np.asarray(evaluate({n: p[n]._value for n in names}, indep))
        if value.dtype.kind not in "biufc":
            raise ResidualError(f"{model.name} returned values of dtype {value.dtype} "
                                "(strings or objects); the model function must return numbers")
        resid = value - data
        if weights is not None:
            resid = resid * weights
        resid = resid.ravel()
        if resid.dtype.kind == "c":  # lmfit: real and imaginary parts, interleaved
            return np.ascontiguousarray(resid).view(float)
        return resid

    residual.__qualname__ = f"of {model.name}"  # messages name the model, not run_fit
    jac = None
    if model.has_jacobian and data.dtype.kind != "c":
        jac = _jacobian(model, indep, data, weights)
    core_policy = "raise" if policy == "omit" and jac is not None else policy
    options = dict(fit_kws or {})
    # fit()'s own max_nfev / iter_cb win when given; fit_kws may carry them too (lmfit)
    for key, value in (("max_nfev", max_nfev), ("iter_cb", iter_cb)):
        if value is not None or key not in options:
            options[key] = value
    fitter = Minimizer(residual, params, scale_covar=scale_covar, nan_policy=core_policy,
                       calc_covar=calc_covar, jac=jac, **options)
    try:
        fitter.minimize(method=method)
    except NonFiniteResidualError as exc:  # the data are finite here: the model's NaN
        raise NonFiniteResidualError("The model function generated NaN values and the fit "
                                     f"aborted! {exc}") from exc
    result = ModelResult(model, data=data, weights=weights, minimizer=fitter, userkws=indep,
                         init_params=init_params, nan_policy=policy, mask=mask)
    if not coerce_farray:  # lmfit: the data and weights as given, as the model got x
        result.userargs = (given_data, given_weights)
    model.post_fit(result)
    _finish_added_ties(result)
    return result


def _finish_added_ties(result: ModelResult) -> None:
    """Values and standard errors of tie expressions added to ``result.params`` after the
    fit (by ``post_fit``): the covariance carried through the tie, as for the others."""
    params = result.params
    added = [n for n, p in params.items() if p.expr and p.stderr is None]
    if not added:
        return
    params.update_constraints()
    if result.covar is None or not result.var_names:
        return
    problem = FitProblem(lambda p: None, params.copy(), infeasible="warn")
    if list(problem.free_names) != list(result.var_names):
        return
    covar = np.asarray(result.covar)
    grad = problem.tied_jacobian(problem.x0)
    for par, g in zip(problem.tied_params, grad):
        if par.name in added:
            params[par.name].stderr = float(math.sqrt(max(float(g @ covar @ g), 0.0)))
