"""A single named fit variable: :class:`Parameter`, and its fit status.

A :class:`Parameter` is a number with the attributes a fit needs: whether it varies,
its bounds, an optional constraint expression tying it to other parameters, finite-
difference options, and, after a fit, its standard error, correlations and status
(:class:`ParameterStatus`, with seed 001's ``bdmsk`` codes).  The container,
:class:`~paramfit.core.parameters.parameters.Parameters`, lives in
:mod:`paramfit.core.parameters.parameters`.

Examples
--------
>>> p = Parameter(value=2.0, min=0.0, name='tau')
>>> p.status.value
'free'
"""

from __future__ import annotations

import enum
import keyword
import math
import re
from collections.abc import Mapping
from typing import Any

from paramfit.core.exceptions import BoundsError, ParameterError
from paramfit.core.expressions.compiler import CompiledExpression, compile_expression

__all__ = ["BOUNDS_TOLERANCE", "SIDES", "Parameter", "ParameterStatus", "check_name"]

BOUNDS_TOLERANCE = 1e-10
"""Relative width below which bounds count as equal: ``max - min <= tol * max(1, |min|, |max|)``."""

_TUPLE_FIELDS = ("name", "value", "vary", "min", "max", "expr")
SIDES = ("auto", "forward", "backward", "central")
_NAME_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


class ParameterStatus(enum.Enum):
    """What a parameter is doing: before a fit, free/fixed/tied; after it, what the fit found.

    ``member.value`` is the human-readable text; ``member.bdmsk`` is the code used by
    R's Rvmmin/Rcgmin ``bdmsk`` vector (seed 001): 1 free, 0 fixed or masked (and tied),
    -3 at the lower bound, -1 at the upper bound, -3.5 below the lower bound, -0.5 above
    the upper bound.

    Examples
    --------
    >>> ParameterStatus.AT_LOWER.value, ParameterStatus.AT_LOWER.bdmsk
    ('at lower bound', -3.0)
    """

    FREE = ("free", 1)
    FIXED = ("fixed", 0)
    TIED = ("tied", 0)
    AT_LOWER = ("at lower bound", -3)
    AT_UPPER = ("at upper bound", -1)
    BELOW_LOWER = ("below lower bound", -3.5)
    ABOVE_UPPER = ("above upper bound", -0.5)

    def __new__(cls, text: str, bdmsk: float) -> ParameterStatus:
        member = object.__new__(cls)
        member._value_ = text
        member.bdmsk = float(bdmsk)
        return member


def _bound(value: Any, default: float, what: str, name: str | None) -> float:
    if value is None:
        return default
    try:
        out = float(value)
    except (TypeError, ValueError) as exc:
        raise BoundsError(f"{_label(name)}: {what} bound must be a number or None, "
                          f"got {value!r}") from exc
    if math.isnan(out):
        raise BoundsError(f"{_label(name)}: {what} bound is NaN; use None for no bound")
    return out


def _label(name: str | None) -> str:
    return "parameter" if name is None else f"parameter {name!r}"


def _positive(value: Any, what: str, name: str | None) -> float | None:
    if value is None:
        return None
    try:
        out = float(value)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"{_label(name)}: {what} must be a number or None, "
                             f"got {value!r}") from exc
    if not (out > 0 and math.isfinite(out)):
        raise ParameterError(f"{_label(name)}: {what} must be positive and finite, got {out!r}")
    return out


class _PositiveOption:
    """A Parameter option that is None or a positive finite float (stored in ``_<name>``)."""

    def __init__(self, what: str) -> None:
        self.__doc__ = f"The {what} (> 0), or None for the default."

    def __set_name__(self, owner: type, name: str) -> None:
        self.name, self.slot = name, "_" + name

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        return self if obj is None else getattr(obj, self.slot)

    def __set__(self, obj: Any, value: float | None) -> None:
        setattr(obj, self.slot, _positive(value, self.name, obj.name))


def _fmt(x: float | None) -> str:
    return "None" if x is None else format(x, "g")


class Parameter:
    """One named fit variable (seed 000 §2.2).

    Parameters
    ----------
    value : float, optional
        Start value (NaN when None: tied parameters get theirs from ``expr``).
    vary : bool, default True
        Whether a fit adjusts it.
    min, max : float, optional
        Bounds; None means none (stored as ``-inf`` / ``inf``). ``min > max`` raises
        :class:`~paramfit.BoundsError`.
    name : str, optional
        Set by :class:`Parameters` when the parameter is stored in it.
    expr : str, optional
        Constraint expression over other parameters; compiled at once. While set, the
        parameter is *tied* and ``vary`` is ignored.
    step, relative_step : float, optional
        Absolute / relative (to ``|value|``) finite-difference step (> 0).
    side : {'auto', 'forward', 'backward', 'central'}
        Finite-difference side; 'auto' is one-sided forward unless a bound is in the way.
    max_step : float, optional
        Largest change per Levenberg-Marquardt iteration (MPFIT ``mpmaxstep``), > 0.
    user_data : object, optional
        Anything the user wants to carry along.

    Examples
    --------
    >>> p = Parameter(10, min=0, name='amp')
    >>> p
    <Parameter 'amp', value=10.0, bounds=[0:inf]>
    >>> p.max = 100
    >>> p.status.value, p.status.bdmsk
    ('free', 1.0)
    """

    __slots__ = (
        "name", "_value", "_vary", "_min", "_max", "_expr", "_compiled", "stderr",
        "correl", "init_value", "_step", "_relative_step", "_side", "_max_step",
        "user_data", "_fit_status", "status_reason",
    )

    def __init__(self, value: float | None = None, vary: bool = True,
                 min: float | None = None, max: float | None = None,  # noqa: A002
                 name: str | None = None, expr: str | None = None, *,
                 step: float | None = None, relative_step: float | None = None,
                 side: str = "auto", max_step: float | None = None,
                 user_data: Any = None) -> None:
        self.name = name
        self._fit_status: ParameterStatus | None = None
        self.status_reason: str | None = None
        self._min = -math.inf
        self._max = math.inf
        self.set_bounds(min, max)
        self.value = value
        self.vary = vary
        self._expr: str | None = None
        self._compiled: CompiledExpression | None = None
        self.expr = expr
        self.step = step
        self.relative_step = relative_step
        self.side = side
        self.max_step = max_step
        self.user_data = user_data
        self.stderr: float | None = None
        self.correl: dict[str, float] | None = None
        self.init_value: float | None = None

    # ------------------------------------------------------------------ value
    @property
    def value(self) -> float:
        """The current value (a float; NaN when never set)."""
        return self._value

    @value.setter
    def value(self, value: float | None) -> None:
        if value is None:
            self._value = math.nan
        elif isinstance(value, (str, bytes)):
            raise ParameterError(f"{_label(self.name)}: value must be a number, got {value!r}")
        else:
            try:
                self._value = float(value)
            except (TypeError, ValueError) as exc:
                raise ParameterError(f"{_label(self.name)}: value must be a real number, "
                                     f"got {value!r}") from exc
        self._fit_status = None

    @property
    def vary(self) -> bool:
        """Whether a fit adjusts this parameter (ignored while ``expr`` is set)."""
        return self._vary

    @vary.setter
    def vary(self, vary: bool) -> None:
        self._vary = bool(vary)
        self._fit_status = None

    # ----------------------------------------------------------------- bounds
    @property
    def min(self) -> float:
        """Lower bound (``-inf`` for none)."""
        return self._min

    @min.setter
    def min(self, value: float | None) -> None:
        self.set_bounds(value, self._max)

    @property
    def max(self) -> float:
        """Upper bound (``inf`` for none)."""
        return self._max

    @max.setter
    def max(self, value: float | None) -> None:
        self.set_bounds(self._min, value)

    def set_bounds(self, min: float | None, max: float | None) -> None:  # noqa: A002
        """Set both bounds at once (None for none); raises BoundsError if ``min > max``.

        Examples
        --------
        >>> p = Parameter(1.0, name='a')
        >>> p.set_bounds(0, 2)
        >>> p.min, p.max
        (0.0, 2.0)
        """
        lo = _bound(min, -math.inf, "lower", self.name)
        hi = _bound(max, math.inf, "upper", self.name)
        if lo > hi:
            raise BoundsError(f"{_label(self.name)}: inadmissible bounds, min={lo!r} is "
                              f"greater than max={hi!r}; give min <= max")
        self._min, self._max = lo, hi
        self._fit_status = None

    # ------------------------------------------------------------- expression
    @property
    def expr(self) -> str | None:
        """Constraint expression (None when the parameter is not tied)."""
        return self._expr

    @expr.setter
    def expr(self, expr: str | None) -> None:
        if expr is not None and not isinstance(expr, str):
            raise ParameterError(f"{_label(self.name)}: expr must be a string or None, "
                                 f"got {expr!r}")
        expr = expr.strip() if expr else None
        compiled = compile_expression(expr, owner=self.name) if expr else None
        self._expr, self._compiled = expr, compiled
        self._fit_status = None

    @property
    def compiled_expr(self) -> CompiledExpression | None:
        """The compiled ``expr`` (read-only), or None."""
        return self._compiled

    # ------------------------------------------------ finite-difference options
    step = _PositiveOption("absolute finite-difference step")
    relative_step = _PositiveOption("finite-difference step relative to ``|value|``")
    max_step = _PositiveOption("largest change per iteration")

    @property
    def side(self) -> str:
        """Finite-difference side: 'auto', 'forward', 'backward' or 'central'."""
        return self._side

    @side.setter
    def side(self, value: str) -> None:
        if value not in SIDES:
            raise ParameterError(f"{_label(self.name)}: side must be one of {SIDES}, "
                                 f"got {value!r}")
        self._side = value

    # ----------------------------------------------------------------- status
    @property
    def is_fixed(self) -> bool:
        """True when ``vary`` is False or the bounds are equal (within BOUNDS_TOLERANCE)."""
        if not self._vary:
            return True
        lo, hi = self._min, self._max
        if lo == hi:
            return True
        width = hi - lo
        return width < math.inf and width <= BOUNDS_TOLERANCE * max(1.0, abs(lo), abs(hi))

    @property
    def status(self) -> ParameterStatus:
        """The fit's finding if a fit set one, else FREE / FIXED / TIED from the settings."""
        if self._fit_status is not None:
            return self._fit_status
        if self._compiled is not None:
            return ParameterStatus.TIED
        return ParameterStatus.FIXED if self.is_fixed else ParameterStatus.FREE

    def _set_fit_status(self, status: ParameterStatus, reason: str | None = None) -> None:
        """Record what a fit found (internal: used by the result code)."""
        self._fit_status = ParameterStatus(status)
        self.status_reason = reason

    # ---------------------------------------------------------- copy / pickle
    def __getstate__(self) -> dict[str, Any]:
        state = {slot: getattr(self, slot) for slot in self.__slots__ if slot != "_compiled"}
        return state

    def __setstate__(self, state: Mapping[str, Any]) -> None:
        for slot in self.__slots__:
            if slot != "_compiled":
                object.__setattr__(self, slot, state[slot])
        expr = state["_expr"]
        self._compiled = compile_expression(expr, owner=self.name) if expr else None

    def __repr__(self) -> str:
        text = f"<Parameter {self.name!r}, value={self._value!r}"
        if self.stderr is not None:
            text += f" +/- {self.stderr:.3g}"
        if self._compiled is None and self.is_fixed:
            text += " (fixed)"
        text += f", bounds=[{_fmt(self._min)}:{_fmt(self._max)}]"
        if self._expr is not None:
            text += f", expr={self._expr!r}"
        return text + ">"


def check_name(name: Any) -> str:
    """Return ``name`` if it can name a parameter, else raise ParameterError.

    Examples
    --------
    >>> check_name('amp_1')
    'amp_1'
    """
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise ParameterError(f"invalid parameter name {name!r}: names must match "
                             "[a-zA-Z_][a-zA-Z0-9_]*")
    if keyword.iskeyword(name):
        raise ParameterError(f"invalid parameter name {name!r}: it is a Python keyword")
    if name.startswith("__") and name.endswith("__"):
        raise ParameterError(f"invalid parameter name {name!r}: dunder names are reserved")
    return name
