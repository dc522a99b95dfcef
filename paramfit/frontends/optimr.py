"""Bounds, masks and scalar minimisation of the R-style front end: ``bmchk``, ``optimr``.

:func:`bmchk` checks start values against bounds and masks as optimx's ``bmchk``
does, returning the ``bdmsk`` codes of seed 001; :func:`optimr` minimises a scalar
function with parameters fixed by masks or equal bounds (R's ``optimr`` /
``Rvmmin``), on the free subvector, with scipy.  The start-value and bound
normalisation shared with :func:`~paramfit.frontends.nls.nlxb` and
:func:`~paramfit.frontends.nls.nlfb`
lives here too.

Private module: the public names are re-exported from :mod:`paramfit.frontends.nls`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from scipy import optimize

from paramfit.core.exceptions import BoundsError, BoundsWarning, FitError, ParameterError
from paramfit.core.parameters.parameters import BOUNDS_TOLERANCE
from paramfit.frontends.nls_report import BoundsCheck, OptimrResult

__all__ = ["bmchk", "optimr"]


# ---------------------------------------------------------------- normalisation
def _start_items(start: Any) -> tuple[list[str], np.ndarray]:
    """Names and values of a dict / pandas Series / sequence start."""
    if hasattr(start, "items") and not isinstance(start, np.ndarray):
        items = list(start.items())
        names = [str(k) for k, _ in items]
        values = [v for _, v in items]
    else:
        values = list(np.atleast_1d(np.asarray(start, dtype=float)))
        names = [f"p_{i + 1}" for i in range(len(values))]
    if not names:
        raise ParameterError("start is empty: give at least one parameter start value")
    try:
        arr = np.array(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"start values must be numbers, got {values!r}") from exc
    return names, arr


def _expand_bounds(bound: Any, names: Sequence[str], default: float,
                   what: str) -> np.ndarray:
    """A scalar, dict (by name) or sequence (start order) -> array, None -> default."""
    n = len(names)
    if bound is None:
        return np.full(n, default)
    if hasattr(bound, "items") and not isinstance(bound, np.ndarray):
        unknown = [k for k in bound if k not in names]
        if unknown:
            raise ParameterError(f"{what} bounds name unknown parameter(s) {unknown}; "
                                 f"the parameters are {list(names)}")
        return np.array([default if bound.get(k) is None else float(bound[k])
                         for k in names])
    arr = np.atleast_1d(np.asarray(bound, dtype=float))
    if arr.size == 1:
        return np.full(n, float(arr[0]))
    if arr.size != n:
        raise ParameterError(f"{what} has {arr.size} values but there are {n} parameters "
                             f"{list(names)}; give one value, one per parameter, or a dict")
    return arr.astype(float)


# ----------------------------------------------------------------------- bmchk
def bmchk(par: Any, lower: Any = None, upper: Any = None, tol: float | None = None, *,
          bdmsk: Any = None, shift_to_bound: bool = True) -> BoundsCheck:
    """Check bounds and masks, as optimx's ``bmchk`` does (seed 001).

    * inadmissible: a lower bound above its upper bound (masked parameters
      excepted); nothing else is checked then;
    * bounds closer than the tolerance: the parameter is masked (``maskadded``);
    * infeasible: a free value outside its bounds; with ``shift_to_bound`` it is
      moved to the nearest bound (``parchanged``), masked values are never moved;
    * ``onbound``: some value equals a bound.

    Parameters
    ----------
    par : array_like, shape (n,)
        Start values.
    lower, upper : float or array_like, optional
        Bounds (a scalar applies to every parameter; None for none).
    tol : float, optional
        Absolute width below which bounds mask a parameter (R's rule
        ``upper - lower < tol``).  By default the core's rule: ``upper - lower <=
        BOUNDS_TOLERANCE * max(1, |lower|, |upper|)`` (:data:`BOUNDS_TOLERANCE`).
    bdmsk : array_like, shape (n,), optional
        Input masks: 0 for masked, 1 for free (default all free).
    shift_to_bound : bool, default True
        Move infeasible free values to the nearest bound.

    Returns
    -------
    BoundsCheck

    Examples
    --------
    >>> chk = bmchk([0.3, 4.0], lower=[0.3, 0.0], upper=[0.3, 3.0])
    >>> chk.maskadded, chk.parchanged, chk.bvec.tolist(), chk.bdmsk.tolist()
    (True, True, [0.3, 3.0], [0.0, -1.0])
    >>> bmchk([1.0], lower=2.0, upper=1.0).admissible
    False
    """
    bvec = np.atleast_1d(np.asarray(par, dtype=float)).copy()
    n = bvec.size
    if np.any(np.isnan(bvec)):
        raise ParameterError("par holds NaN; give every parameter a start value")
    names = [f"par[{i}]" for i in range(n)]
    lo = _expand_bounds(lower, names, -math.inf, "lower")
    hi = _expand_bounds(upper, names, math.inf, "upper")
    mask = np.ones(n) if bdmsk is None else np.atleast_1d(np.asarray(bdmsk, dtype=float))
    if mask.size != n:
        raise ParameterError(f"bdmsk has {mask.size} values for {n} parameters")
    mask = np.where(mask == 0, 0.0, 1.0)
    check = BoundsCheck(admissible=True, feasible=True, maskadded=False, parchanged=False,
                        onbound=False, bvec=bvec, bdmsk=mask, bchar=["F"] * n, lower=lo,
                        upper=hi)
    bad = [i for i in range(n) if mask[i] != 0 and lo[i] > hi[i]]
    if bad:
        check.admissible = False
        check.messages.extend(f"{names[i]}: inadmissible bounds, lower {float(lo[i])!r} > upper "
                              f"{float(hi[i])!r}" for i in bad)
    else:
        finite = np.isfinite(lo) & np.isfinite(hi)
        width = np.where(finite, hi - lo, math.inf)
        if tol is None:
            scale = np.where(finite, np.maximum(1.0, np.maximum(abs(lo), abs(hi))), 1.0)
            near = width <= BOUNDS_TOLERANCE * scale
        else:
            near = width < tol
        for i in np.flatnonzero(near & (mask != 0)):
            mask[i] = 0.0
            check.maskadded = True
            check.messages.append(f"{names[i]}: bounds [{float(lo[i])!r}, "
                                  f"{float(hi[i])!r}] are (nearly) equal; masked (fixed)")
        for i in range(n):
            _check_one(check, i, names[i], shift_to_bound)
    check.onbound = bool(np.any(bvec == lo) or np.any(bvec == hi))
    return check


def _check_one(check: BoundsCheck, i: int, name: str, shift: bool) -> None:
    value, lo, hi = check.bvec[i], check.lower[i], check.upper[i]
    if check.bdmsk[i] == 0:
        check.bchar[i] = "M"
        if value < lo or value > hi:
            check.feasible = False
            check.messages.append(f"{name}: masked value {float(value)!r} is outside its bounds "
                                  f"[{lo!r}, {hi!r}] (left unchanged)")
        return
    for outside, bound, at, out, code_at, code_out, word in (
        (value < lo, lo, "L", "-", -3.0, -3.5, "lower"),
        (value > hi, hi, "U", "+", -1.0, -0.5, "upper"),
    ):
        if outside:
            check.feasible = False
            if shift:
                check.parchanged = True
                check.bvec[i] = bound
                check.bdmsk[i], check.bchar[i] = code_at, at
                check.messages.append(f"{name}: value {float(value)!r} is outside its {word} bound "
                                      f"{float(bound)!r}; moved to the bound")
            else:
                check.bdmsk[i], check.bchar[i] = code_out, out
                check.messages.append(f"{name}: value {float(value)!r} is outside its {word} bound "
                                      f"{float(bound)!r} (infeasible)")
        elif value == bound:
            check.bdmsk[i], check.bchar[i] = code_at, at


# ---------------------------------------------------------------------- optimr
_OPTIMR_METHODS = {"l-bfgs-b": "L-BFGS-B", "nelder-mead": "Nelder-Mead", "bfgs": "BFGS"}


def _convergence_code(res: Any) -> int:
    if res.success:
        return 0
    text = str(res.message).lower()
    if "maximum" in text or "limit" in text or "exceed" in text:
        return 1
    if "precision" in text:
        return 51
    return 52


def optimr(par: Any, fn: Callable[..., float], gr: Callable[..., Any] | None = None,
           lower: Any = None, upper: Any = None, method: str = "L-BFGS-B",
           bdmsk: Any = None, *, control: Mapping[str, Any] | None = None,
           **kw: Any) -> OptimrResult:
    """Minimise a scalar function with masks and bounds (R's ``optimr`` / ``Rvmmin``).

    A parameter is fixed (masked) by ``bdmsk[i] = 0`` or by equal bounds
    ``lower[i] == upper[i]``; with equal bounds the start value must equal them,
    else :class:`~paramfit.BoundsError` (the vignette author's preferred rule, seed
    001).  Bounds closer than the core's tolerance also mask the parameter, with a
    :class:`~paramfit.BoundsWarning`; a free start outside its bounds is moved to
    the nearest bound with a warning.  The free subvector is optimised by scipy.

    Parameters
    ----------
    par : array_like or dict, shape (n,)
        Start values.
    fn : callable
        ``fn(par, **kw) -> float``, ``par`` a float ndarray (n,).
    gr : callable, optional
        ``gr(par, **kw) -> (n,)`` gradient; masked entries are ignored.  Finite
        differences (scipy's) when omitted.
    lower, upper : float or array_like, optional
        Bounds; a scalar applies to every parameter.
    method : {'L-BFGS-B', 'Nelder-Mead', 'BFGS'}, default 'L-BFGS-B'
        scipy method; 'BFGS' accepts no bounds on free parameters.
    bdmsk : array_like, shape (n,), optional
        1 free, 0 masked (Rvmmin's input convention).
    control : dict, optional
        scipy ``options`` (e.g. ``{'maxiter': 500}``).
    **kw
        Passed to ``fn`` and ``gr`` (R's ``...``).

    Returns
    -------
    OptimrResult
        ``par, value, counts, convergence, message, bdmsk`` (see the class for the
        convergence codes).

    Examples
    --------
    >>> import numpy as np
    >>> sq = lambda x: float(np.sum((np.arange(1, x.size + 1) - x) ** 2))
    >>> sq_g = lambda x: 2 * (x - np.arange(1, x.size + 1))
    >>> ans = optimr([0.3, 4.0], sq, sq_g, bdmsk=[0, 1])
    >>> ans.par.tolist(), round(ans.value, 10), ans.bdmsk.tolist(), ans.convergence
    ([0.3, 2.0], 0.49, [0.0, 1.0], 0)
    """
    names = None
    if hasattr(par, "items") and not isinstance(par, np.ndarray):
        names, x0 = _start_items(par)
    else:
        x0 = np.atleast_1d(np.asarray(par, dtype=float)).copy()
    scipy_method = _OPTIMR_METHODS.get(str(method).lower())
    if scipy_method is None:
        raise FitError(f"optimr method {method!r} is not available; choose one of "
                       f"{sorted(_OPTIMR_METHODS.values())}")
    labels = names or [f"par[{i}]" for i in range(x0.size)]
    lo = _expand_bounds(lower, labels, -math.inf, "lower")
    hi = _expand_bounds(upper, labels, math.inf, "upper")
    equal = lo == hi
    for i in np.flatnonzero(equal):
        if x0[i] != lo[i]:
            fixed_at = float(lo[i])
            raise BoundsError(f"{labels[i]}: lower == upper == {fixed_at!r} fixes it, but its "
                              f"start value is {float(x0[i])!r}; set the start to {fixed_at!r} "
                              "or widen the bounds")
    mask = np.ones(x0.size) if bdmsk is None else np.atleast_1d(np.asarray(bdmsk, float))
    if mask.size != x0.size:
        raise ParameterError(f"bdmsk has {mask.size} values for {x0.size} parameters")
    # equal bounds are the documented way to fix a parameter: masked without a warning
    check = bmchk(x0, lo, hi, bdmsk=np.where(equal, 0.0, mask))
    if not check.admissible:
        raise BoundsError("inadmissible bounds: " + "; ".join(check.messages))
    for message in check.messages:
        warnings.warn(message, BoundsWarning, stacklevel=2)
    return _run_optimr(fn, gr, check, scipy_method, dict(control or {}), kw, names)


def _run_optimr(fn: Callable, gr: Callable | None, check: BoundsCheck, method: str,
                options: dict, kw: dict, names: list[str] | None) -> OptimrResult:
    full = check.bvec.copy()
    free = np.flatnonzero(check.bdmsk != 0)
    counts: dict[str, int | None] = {"function": 0, "gradient": 0 if gr is not None else None}

    def expand(x: np.ndarray) -> np.ndarray:
        point = full.copy()
        point[free] = x
        return point

    def objective(x: np.ndarray) -> float:
        counts["function"] += 1
        return float(fn(expand(x), **kw))

    def gradient(x: np.ndarray) -> np.ndarray:
        counts["gradient"] += 1
        return np.asarray(gr(expand(x), **kw), dtype=float).ravel()[free]

    if free.size == 0:
        value = objective(np.zeros(0))
        return OptimrResult(par=full, value=value, counts=counts, convergence=0,
                            message="every parameter is masked: nothing to optimise",
                            bdmsk=check.bdmsk.copy(), method=method, names=names)
    bounds = list(zip(check.lower[free], check.upper[free], strict=True))
    bounded = bool(np.any(np.isfinite(check.lower[free]) | np.isfinite(check.upper[free])))
    if method == "BFGS" and bounded:
        raise FitError("method 'BFGS' does not accept bounds on free parameters; use "
                       "'L-BFGS-B' or 'Nelder-Mead'")
    res = optimize.minimize(
        objective, full[free], jac=gradient if gr is not None and method != "Nelder-Mead"
        else None, method=method, bounds=bounds if bounded or method == "L-BFGS-B" else None,
        options=options,
    )
    par = expand(np.asarray(res.x, dtype=float))
    codes = check.bdmsk.copy()
    codes[free] = 1.0
    codes[free[par[free] <= check.lower[free]]] = -3.0
    codes[free[par[free] >= check.upper[free]]] = -1.0
    return OptimrResult(par=par, value=float(fn(par, **kw)), counts=counts,
                        convergence=_convergence_code(res), message=str(res.message),
                        bdmsk=codes, method=method, names=names)
