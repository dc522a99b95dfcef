"""The compiled fit problem: free vector <-> Parameter values, ties, and the user function.

:class:`FitProblem` is built once per fit from a residual function and a
:class:`~paramfit.core.parameters.parameters.Parameters` object.  It owns the *hot path* of every
fit, :meth:`FitProblem.residual`, which runs thousands of times: it writes the
free values into the Parameter slots and the expression namespace, evaluates
the tied parameters in dependency order with their pre-compiled code, calls the
user's function and checks what it returned.  Nothing is parsed, rebuilt or
looked up by name there.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from paramfit.core.exceptions import FitError, NonFiniteResidualError, ResidualError, StopFit
from paramfit.core.mapping import ParameterMap
from paramfit.core.parameters.parameters import Parameters

__all__ = ["FitProblem", "NAN_POLICIES", "SIDE_CODES", "check_fit_size", "check_numeric_dtype",
           "refuse_masked"]

NAN_POLICIES = ("raise", "omit", "propagate")
_NDARRAY = np.ndarray
_FLOAT64 = np.dtype(np.float64)
SIDE_CODES = {"auto": 0, "forward": 1, "backward": -1, "central": 2}


class FitProblem:
    """A residual function and Parameters compiled into a function of the free vector.

    Parameters
    ----------
    fcn : callable
        ``fcn(params, *args, **kws) -> residual``; any array shape (flattened),
        real or complex (real and imaginary parts are stacked).
    params : Parameters
        The parameters; their ``_value`` slots are written during the fit.
    args, kws : tuple, dict
        Extra arguments for ``fcn``.
    nan_policy : {'raise', 'omit', 'propagate'}
        What to do with NaN/inf in the residual.
    infeasible : {'warn', 'raise'}
        What to do with a start value outside its bounds (see
        :meth:`Parameters.check_bounds`).
    fixed : mapping, optional
        ``{name: value}`` of free parameters to hold fixed at ``value`` in this
        problem only (profile fits for confidence intervals).  The Parameter
        objects keep ``vary=True``.
    """

    def __init__(
        self,
        fcn: Callable[..., Any],
        params: Parameters,
        args: Sequence[Any] = (),
        kws: Mapping[str, Any] | None = None,
        *,
        nan_policy: str = "raise",
        infeasible: str = "warn",
        fixed: Mapping[str, float] | None = None,
    ):
        if not callable(fcn):
            raise FitError(f"the residual function must be callable, got {type(fcn).__name__}")
        if not isinstance(params, Parameters):
            raise FitError(
                f"params must be a paramfit.Parameters object, got {type(params).__name__}"
            )
        if nan_policy not in NAN_POLICIES:
            raise FitError(f"nan_policy must be one of {NAN_POLICIES}, got {nan_policy!r}")
        self.fcn = fcn
        self.params = params
        self.args = tuple(args or ())
        self.kws = dict(kws or {})
        self.nan_policy = nan_policy
        params.check_bounds(infeasible=infeasible)
        fixed = dict(fixed or {})
        for name in fixed:
            if name not in params:
                raise FitError(f"cannot hold unknown parameter {name!r} fixed")
        self._build_map(fixed)
        self._ndata: int | None = None
        self._start_residual: np.ndarray | None = None
        self._omit_mask: np.ndarray | None = None
        self._complex: bool | None = None
        self._dot_checks = False        # the first check is made without BLAS
        self.nfev = 0

    # ------------------------------------------------------------------ set-up
    def _build_map(self, fixed: dict[str, float]) -> None:
        """Free vector, ties and bounds from the one map (:mod:`paramfit.core.mapping`),
        the finite-difference options of the free parameters, and the hot path."""
        mapping = ParameterMap(self.params, held=fixed)
        self.mapping = mapping
        free = mapping.free_params
        self.free_params = free
        self.free_names = mapping.free_names
        self.tied_params = mapping.tied_params
        self.held_names = mapping.held_names
        self.x0, self.lower, self.upper = mapping.x0, mapping.lower, mapping.upper
        nan = math.nan
        self.absolute_step = np.array([nan if p.step is None else p.step for p in free])
        self.relative_step = np.array(
            [nan if p.relative_step is None else p.relative_step for p in free]
        )
        self.side = np.array([SIDE_CODES[p.side] for p in free], dtype=np.int8)
        self.max_step = np.array([nan if p.max_step is None else p.max_step for p in free])
        self.nvarys = len(free)
        # The hot path is the map's own method: no extra call per evaluation.
        self.set_values = mapping.set_values
        # evaluate once now so a broken expression fails before any user evaluation
        mapping.set_start()

    def set_held(self, name: str, value: float) -> None:
        """Change the value of a parameter held fixed through ``fixed=`` (profile fits)."""
        if name not in self.held_names:
            raise FitError(f"parameter {name!r} is not held fixed in this problem")
        self.mapping.set_held(name, value)
        self._start_residual = None     # it was computed with the old held value

    # ------------------------------------------------------------------ hot path
    set_values: Callable[[np.ndarray], None]
    """``set_values(x)``: write the free vector ``x`` (n,) into the Parameters and
    evaluate the ties (:meth:`paramfit.core.mapping.ParameterMap.set_values`: one
    generated code object, executed once per call)."""

    def residual(self, x: np.ndarray) -> np.ndarray:
        """The residual vector (m,) at free vector ``x`` (n,): the solvers' ``fun``.

        With ``nan_policy='raise'`` a residual that is not finite raises
        :class:`~paramfit.core.exceptions.NonFiniteResidualError` naming the values.
        """
        out = self.residual_unchecked(x)
        if self.nan_policy == "raise":
            if self._dot_checks:
                # one BLAS dot: the solver calls this under its one-BLAS-thread limit
                if not math.isfinite(out.dot(out)):
                    self._raise_nonfinite(out)
            else:
                # the first call sizes the problem before the solver limits BLAS threads
                # (paramfit.core.solvers.blas_threads): no BLAS call here, since a
                # threaded dot of 1e5 residuals took 10 ms beside busy cores (10 us on
                # one thread)
                self._dot_checks = True
                if not np.isfinite(out).all():
                    self._raise_nonfinite(out)
        return out

    def residual_unchecked(self, x: np.ndarray) -> np.ndarray:
        """:meth:`residual` without the finiteness check of ``nan_policy='raise'``: for a
        caller that tests the values itself (the Levenberg-Marquardt iteration: its
        finite differences test each Jacobian, its trial points their norms, and both
        treat a value that is not finite as :meth:`residual` raising would make them)."""
        self.set_values(x)
        self.nfev += 1
        try:
            out = self.fcn(self.params, *self.args, **self.kws)
        except StopFit:
            raise
        except Exception as exc:
            raise ResidualError(
                f"the residual function {_name_of(self.fcn)} raised "
                f"{type(exc).__name__}: {exc}\n  at {self.describe_values()}"
            ) from exc
        if type(out) is _NDARRAY and out.dtype is _FLOAT64 and out.ndim == 1 \
                and out.size == self._ndata and self._omit_mask is None:
            return out
        return self._coerce(out)

    # ------------------------------------------------------------------ checks
    def _coerce(self, out: Any) -> np.ndarray:
        if out is None:
            raise ResidualError(
                f"the residual function {_name_of(self.fcn)} returned None; it must return "
                "an array of residuals (data - model)"
            )
        refuse_masked(out, f"the residual function {_name_of(self.fcn)} returned")
        try:
            arr = np.asarray(out)
            check_numeric_dtype(arr, f"the value returned by the residual function "
                                     f"{_name_of(self.fcn)}")
            if arr.dtype.kind == "c":
                self._complex = True
                arr = np.concatenate([arr.real.ravel(), arr.imag.ravel()])
            arr = np.asarray(arr, dtype=np.float64).ravel()
        except (TypeError, ValueError) as exc:
            raise ResidualError(
                f"the residual function {_name_of(self.fcn)} returned a non-numeric "
                f"{type(out).__name__}; it must return an array of numbers"
            ) from exc
        if self.nan_policy == "omit":
            arr = self._omit(arr)
        if self._ndata is None:
            if arr.size == 0:
                raise ResidualError(
                    f"the residual function {_name_of(self.fcn)} returned an empty array"
                )
            self._ndata = arr.size
        elif arr.size != self._ndata:
            raise ResidualError(
                f"the residual function {_name_of(self.fcn)} returned {arr.size} values, "
                f"but {self._ndata} on its first call; its length must not change between "
                f"calls (at {self.describe_values()})"
            )
        return arr

    def _omit(self, arr: np.ndarray) -> np.ndarray:
        finite = np.isfinite(arr)
        if self._omit_mask is None:
            self._omit_mask = finite
        elif not np.array_equal(finite, self._omit_mask):
            raise ResidualError(
                "with nan_policy='omit' the non-finite residuals must stay at the same "
                f"positions, but they moved at {self.describe_values()}"
            )
        return arr[finite]

    def _raise_nonfinite(self, resid: np.ndarray) -> None:
        bad = np.flatnonzero(~np.isfinite(resid))
        if bad.size == 0:
            return  # the sum of squares overflowed, the values are finite
        raise NonFiniteResidualError(
            f"the residual function {_name_of(self.fcn)} returned {bad.size} NaN/inf "
            f"value(s) (first at index {bad[0]}) at {self.describe_values()}. Use "
            "nan_policy='omit' to drop them or 'propagate' to let the solver see them"
        )

    def describe_values(self) -> str:
        """``'a=1.5, b=2'`` for every parameter: used in error messages."""
        return "parameter values " + ", ".join(
            f"{name}={par._value!r}" for name, par in self.params.items()
        )

    @property
    def ndata(self) -> int:
        """Number of residuals (after omitting NaN); known after the first evaluation."""
        if self._ndata is None:
            self.start_residual()
        return self._ndata

    def start_residual(self) -> np.ndarray:
        """The residual at the start vector ``x0``, evaluated once per problem.

        :attr:`ndata` needs it before any solver runs; the solver then starts from
        it instead of calling the residual function a second time at the same point.
        """
        if self._start_residual is None:
            self._start_residual = self.residual(self.x0)
        return self._start_residual

    # ------------------------------------------------------------------ derivatives
    def tied_jacobian(self, x: np.ndarray) -> np.ndarray:
        """d(tied values)/d(free values), shape (n_tied, n_free), at ``x``; the
        Parameters are left at ``x``.

        Central differences in the one map
        (:meth:`paramfit.core.mapping.ParameterMap.tied_jacobian`): step
        ``1e-6 * max(|x|, 1)``, error about ``2e-10 (|t| / max(|x|, 1) + |dt/dx|)``
        for a tie ``t`` (rounding dominates; see :data:`paramfit.core.mapping.TIE_STEP`).
        """
        out = self.mapping.tied_jacobian(x)
        self.set_values(x)
        return out

    def user_jacobian(self, jac: Callable[..., Any], col_deriv: bool = False,
                      allow_gradient: bool = False):
        """Wrap a user Jacobian ``jac(params, *args, **kws)`` into ``J(x) -> (m, n)``.

        The user may return derivatives with respect to the varied parameters
        (columns in ``var_names`` order) or with respect to *all* parameters
        (columns in Parameters order); in the latter case the columns of tied
        parameters are carried to the free ones by the chain rule and the columns
        of fixed parameters are ignored.  ``col_deriv=True`` means the user returns
        the transpose.  ``allow_gradient``: a 1-D result of length n (the gradient of a
        scalar method's objective, lmfit 1.3's ``Dfun`` there) is returned as it is.
        """
        names = list(self.params)
        free_idx = [names.index(n) for n in self.free_names]
        tied_idx = [names.index(p.name) for p in self.tied_params]
        nall, n = len(names), self.nvarys

        def wrapped(x: np.ndarray) -> np.ndarray:
            self.set_values(x)
            try:
                out = jac(self.params, *self.args, **self.kws)
            except StopFit:
                raise
            except Exception as exc:
                raise ResidualError(
                    f"the Jacobian function {_name_of(jac)} raised {type(exc).__name__}: "
                    f"{exc}\n  at {self.describe_values()}"
                ) from exc
            refuse_masked(out, f"the Jacobian function {_name_of(jac)} returned")
            J = np.asarray(out)
            check_numeric_dtype(J, f"the value returned by the Jacobian function {_name_of(jac)}")
            J = np.asarray(J, dtype=float)
            if allow_gradient and J.shape == (n,):
                return J
            if col_deriv:
                J = J.T
            J = J.reshape(-1, J.shape[-1]) if J.ndim > 2 else J
            if J.ndim != 2 or J.shape[1] not in (n, nall):
                raise ResidualError(
                    f"the Jacobian function {_name_of(jac)} returned shape {J.shape}; expected "
                    f"(ndata, {n}) for the varied parameters {self.free_names} or "
                    f"(ndata, {nall}) for all parameters {names}"
                )
            if J.shape[1] == n and (n != nall or not tied_idx):
                return J
            Jfree = J[:, free_idx]
            if tied_idx:
                Jfree = Jfree + J[:, tied_idx] @ self.tied_jacobian(x)
            return Jfree

        return wrapped


def check_numeric_dtype(arr: np.ndarray, who: str) -> None:
    """Refuse strings, bytes, dates and objects that are not numbers (issue 20).

    ``np.asarray(['1', '2']).astype(float)`` silently parses text: a residual or Jacobian
    returning strings is a bug in the user's function, never data.

    Raises
    ------
    ResidualError
        Naming ``who`` and the dtype.
    """
    kind = arr.dtype.kind
    if kind in "biufc":
        return
    if kind == "O" and not any(isinstance(v, (str, bytes)) for v in arr.ravel()):
        return  # numbers held as objects (Fraction, Decimal, mpmath): converted below
    raise ResidualError(
        f"{who} is a non-numeric array of dtype {arr.dtype} ({_dtype_words(kind)}); "
        "numbers are needed, e.g. a float ndarray")


def _dtype_words(kind: str) -> str:
    return {"U": "text", "S": "bytes", "O": "Python objects including text",
            "M": "dates", "m": "time differences", "V": "raw records"}.get(kind, "not numbers")


def refuse_masked(value: Any, who: str, error: type[FitError] = ResidualError) -> None:
    """Refuse a numpy masked array: its mask would be silently ignored by the solver.

    paramfit's fitters refuse masked input (issue 20) rather than guess what the mask
    means: select the unmasked points (``data.compressed()`` or ``data[~data.mask]``),
    or fill the masked points with NaN (``data.filled(np.nan)``) and fit with
    ``nan_policy='omit'``.
    """
    if isinstance(value, np.ma.MaskedArray):
        raise error(
            f"{who} a numpy masked array; paramfit does not use masks (the masked values "
            "would be fitted as numbers): select the unmasked points (a[~a.mask], and the "
            "same points of every other array), or fill the masked "
            "points with NaN (data.filled(np.nan)) and use nan_policy='omit'")


def _name_of(fcn: Any) -> str:
    return getattr(fcn, "__qualname__", None) or getattr(fcn, "__name__", None) or repr(fcn)


def check_fit_size(problem: FitProblem) -> None:
    """Raise FitError when nothing varies or there are fewer residuals than variables."""
    if problem.nvarys == 0:
        raise FitError(
            "no parameter is varied: set vary=True (and no expr) on at least one parameter"
        )
    m = problem.ndata
    if m < problem.nvarys:
        raise FitError(
            f"the fit has {problem.nvarys} varied parameters ({', '.join(problem.free_names)}) "
            f"but only {m} residuals; fix some parameters or provide more data"
        )

