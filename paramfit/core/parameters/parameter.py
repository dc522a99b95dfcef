"""A single named fit variable: :class:`Parameter`, and its fit status.

A :class:`Parameter` is a number with the attributes a fit needs: whether it varies,
its bounds, an optional constraint expression tying it to other parameters, finite-
difference options, and, after a fit, its standard error, correlations and status
(:class:`ParameterStatus`, with seed 001's ``bdmsk`` codes).  The container,
:class:`~paramfit.core.parameters.parameters.Parameters`, lives in
:mod:`paramfit.core.parameters.parameters`; the Parameter's numeric protocol
(arithmetic, comparisons, conversions) is the mixin
:class:`~paramfit.core.parameters.numeric.NumericValue`.

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
from collections.abc import Mapping, Sequence
from typing import Any

from paramfit.core.exceptions import BoundsError, ParameterError
from paramfit.core.expressions.compiler import CompiledExpression, compile_expression
from paramfit.core.expressions.symbols import CHANGES as _CHANGES
from paramfit.core.parameters.numeric import NumericValue

__all__ = ["BOUNDS_TOLERANCE", "SIDES", "UNSET", "Parameter", "ParameterStatus", "check_name"]

UNSET = -math.inf
"""The value of a Parameter that was never given one (lmfit 1.3's ``-inf``; the seed's
``value=None``). A fit refuses a varied parameter whose value is not finite, naming it."""


BOUNDS_TOLERANCE = 1e-10
"""Relative width below which bounds count as equal: ``max - min <= tol * max(1, |min|, |max|)``."""

_TUPLE_FIELDS = ("name", "value", "vary", "min", "max", "expr", "brute_step", "user_data")
"""Fields of an ``add_many`` tuple, in order (lmfit 1.3; the seed's six come first)."""
SIDES = ("auto", "forward", "backward", "central")
LMFIT_DEFAULT_SYMBOLS = frozenset((
    "True", "False", "None", "inf", "nan", "pi", "e", "little_endian",  # asteval's
    "NAN", "Inf", "infty", "newaxis",  # older asteval's (in files lmfit 1.0-1.2 wrote)
    "gamfcn", "loggammafcn", "betalnfnc", "erf", "erfc", "wofz"))  # lmfit's scipy functions
"""Symbols every lmfit 1.3 Parameters has and writes into its JSON ``unique_symbols``
(with the parameters' own values): not user symbols, so not read back."""

DEFAULT_COLUMNS = ("value", "min", "max", "stderr", "vary", "expr", "brute_step")
"""The columns :meth:`Parameters.pretty_print` shows by default (lmfit 1.3's)."""
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


_SEED_ORDER = ("value", "vary", "min", "max", "name", "expr")
_LMFIT_ORDER = ("name", "value", "vary", "min", "max", "expr", "brute_step", "user_data")
_POSITIVE_OPTIONS = ("brute_step", "step", "relative_step", "max_step")
_KEYWORDS = frozenset((*_LMFIT_ORDER, "step", "relative_step", "side", "max_step"))
_STATE_FIELDS = ("name", "value", "vary", "expr", "min", "max", "brute_step", "stderr",
                 "correl", "init_value", "user_data")
"""lmfit 1.3's pickle / JSON state of a Parameter, in its order (an 11-tuple)."""
_EXTRA_DEFAULTS = {"step": None, "relative_step": None, "side": "auto", "max_step": None,
                   "fit_status": None, "status_reason": None}
"""paramfit's own Parameter attributes beyond lmfit's state, with their defaults."""


def _bind(args: tuple, kws: Mapping[str, Any]) -> dict[str, Any]:
    """Map ``Parameter(*args, **kws)`` onto field names.

    A string in first place is lmfit 1.3's order ``(name, value, vary, min, max, expr,
    brute_step, user_data)``; anything else is the seed's ``(value, vary, min, max, name,
    expr)`` (a value is never a string, so the call tells the two apart).
    """
    order = _LMFIT_ORDER if args and isinstance(args[0], str) else _SEED_ORDER
    if len(args) > len(order):
        raise TypeError(f"Parameter() takes at most {len(order)} positional arguments in "
                        f"the order {order} ({len(args)} given)")
    bound = dict(zip(order, args, strict=False))
    for key, value in kws.items():
        if key not in _KEYWORDS:
            raise TypeError(f"Parameter() got an unexpected keyword argument {key!r}")
        if key in bound:
            raise TypeError(f"Parameter() got multiple values for argument {key!r}")
        bound[key] = value
    return bound


def _real(value: Any, name: str | None) -> float:
    """``value`` as a float (:data:`UNSET` for None), or ParameterError."""
    if value is None:
        return UNSET
    if isinstance(value, (str, bytes)):
        raise ParameterError(f"{_label(name)}: value must be a number, got {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"{_label(name)}: value must be a real number, "
                             f"got {value!r}") from exc


class Parameter(NumericValue):
    """One named fit variable (seed 000 §2.2, lmfit 1.3).

    Two positional orders are accepted, told apart by the first argument: the seed's
    ``Parameter(value, vary, min, max, name, expr)`` and lmfit 1.3's
    ``Parameter(name, value, vary, min, max, expr, brute_step, user_data)`` (a string
    first is a name: values are never strings). Everything may be given by keyword.

    A Parameter behaves as its value in arithmetic and comparisons (``2 * p``,
    ``p > 0``, ``float(p)``, ``np.asarray(p)``), as in lmfit 1.3; like lmfit's it is
    therefore not hashable (it compares equal to its value).

    Parameters
    ----------
    value : float, optional
        Start value (``-inf``, :data:`UNSET`, when None, as lmfit 1.3: tied parameters get
        theirs from ``expr``; a fit refuses a varied parameter without a finite value). A value
        outside ``[min, max]`` is clipped to the nearest bound, here and on every later
        assignment to ``value``. ``init_value`` is set to it.
    vary : bool, default True
        Whether a fit adjusts it. Setting ``vary = True`` on a tied parameter removes
        its ``expr`` (lmfit 1.3).
    min, max : float, optional
        Bounds; None means none (stored as ``-inf`` / ``inf``). ``min > max`` raises
        :class:`~paramfit.BoundsError`.
    name : str, optional
        Set by :class:`Parameters` when the parameter is stored in it.
    expr : str, optional
        Constraint expression over other parameters; compiled at once. Setting it
        makes the parameter *tied* and sets ``vary`` to False; ``''`` removes it.
    brute_step : float, optional
        Grid step of the ``brute`` method (> 0).
    user_data : object, optional
        Anything the user wants to carry along.
    step, relative_step : float, optional (keyword only)
        Absolute / relative (to ``|value|``) finite-difference step (> 0).
    side : {'auto', 'forward', 'backward', 'central'} (keyword only)
        Finite-difference side; 'auto' is one-sided forward unless a bound is in the way.
    max_step : float, optional (keyword only)
        Largest change per Levenberg-Marquardt iteration (MPFIT ``mpmaxstep``), > 0.

    Examples
    --------
    >>> p = Parameter(10, min=0, name='amp')
    >>> p
    <Parameter 'amp', value=10.0, bounds=[0.0:inf]>
    >>> q = Parameter('amp', 50, True, 0, 20)   # lmfit 1.3 order; clipped to max
    >>> q.value, 2 * q
    (20.0, 40.0)
    """

    __slots__ = (
        "name", "_value", "_vary", "_min", "_max", "_expr", "_compiled", "stderr",
        "correl", "init_value", "_step", "_relative_step", "_side", "_max_step",
        "user_data", "_fit_status", "status_reason", "_brute_step", "_owner", "_seen",
    )
    __hash__ = None  # type: ignore[assignment]  # equal to its value, as in lmfit

    def __init__(self, *args: Any, **kws: Any) -> None:
        if not args and not kws:
            raise TypeError("Parameter() missing 1 required positional argument: 'name' "
                            "(give at least a name or a value)")
        fields = _bind(args, kws)
        self._owner: Any = None
        self._seen = -1
        self.name = fields.get("name")
        self._fit_status: ParameterStatus | None = None
        self.status_reason: str | None = None
        self._min = -math.inf
        self._max = math.inf
        self._expr: str | None = None
        self._compiled: CompiledExpression | None = None
        self.set_bounds(fields.get("min"), fields.get("max"))
        value = fields.get("value")
        self.value = value
        self.init_value: float | None = None if value is None else self._value
        self._vary = bool(fields.get("vary", True))
        # an option not given keeps its default without its setter's checks (a table
        # of parameters is built at every fit's call site)
        expr = fields.get("expr")
        if expr is not None:
            self.expr = expr
        self._brute_step = self._step = self._relative_step = self._max_step = None
        for option in _POSITIVE_OPTIONS:
            given = fields.get(option)
            if given is not None:
                setattr(self, option, given)
        self._side = "auto"
        if "side" in fields:
            self.side = fields["side"]
        self.user_data = fields.get("user_data")
        self.stderr: float | None = None
        self.correl: dict[str, float] | None = None

    # ------------------------------------------------------------------ value
    @property
    def value(self) -> float:
        """The current value (a float; ``-inf`` when never set), within ``[min, max]``.

        A tied parameter stored in a :class:`Parameters` reads its ``expr`` evaluated
        from the current values (lmfit 1.3): after ``p['a'].value = 5``, ``b = 2*a``
        reads 10. It is evaluated again only when something changed since it was last
        evaluated (a fit's own updates keep it current), so reading is as cheap as
        reading a free value. Assigning a value outside the bounds stores the nearest
        bound (lmfit 1.3).  The fit itself writes ``_value`` directly (it keeps its
        iterates inside the bounds).

        Raises
        ------
        ExpressionError
            For a tied parameter whose ``expr`` cannot be evaluated any more (a name it
            reads was removed, a value makes it fail); the message names it.
        """
        if self._compiled is not None and self._seen != _CHANGES[0] \
                and self._owner is not None:
            self._owner._refresh_tie(self)
        return self._value

    @value.setter
    def value(self, value: float | None) -> None:
        v = _real(value, self.name)
        if v < self._min:
            v = self._min
        elif v > self._max:
            v = self._max
        self._value = v
        self._fit_status = None
        _CHANGES[0] += 1

    @property
    def _val(self) -> float:
        """lmfit 1.3's name of the stored value (read by code written for lmfit)."""
        return self._value

    @property
    def vary(self) -> bool:
        """Whether a fit adjusts this parameter; False while ``expr`` is set."""
        return self._vary

    @vary.setter
    def vary(self, vary: bool) -> None:
        self._vary = bool(vary)
        if self._vary and self._expr is not None:
            self.expr = None
        self._fit_status = None

    def set(self, value: float | None = None, vary: bool | None = None,
            min: float | None = None, max: float | None = None,  # noqa: A002
            expr: str | None = None, brute_step: float | None = None,
            is_init_value: bool = True) -> None:
        """Change several attributes at once; None leaves an attribute as it is (lmfit 1.3).

        Parameters
        ----------
        value : float, optional
            New value (clipped to the bounds, which are set first); removes ``expr``.
            Also becomes ``init_value`` when ``is_init_value`` is True or the value
            was never set.
        vary : bool, optional
            ``vary=True`` also removes ``expr``.
        min, max : float, optional
            New bounds; use ``-inf`` / ``inf`` (not None) to remove one.
        expr : str, optional
            New constraint; ``''`` removes it.
        brute_step : float, optional
            New grid step; ``0`` removes it.
        is_init_value : bool, default True
            Whether a new ``value`` is also the new ``init_value``.

        Examples
        --------
        >>> p = Parameter('a', 10.0, min=0, max=100)
        >>> p.set(value=500.0, min=400, max=600)
        >>> p.value, p.min, p.max, p.init_value
        (500.0, 400.0, 600.0, 500.0)
        >>> p.set(expr='2*b'); p.vary
        False
        """
        if vary is not None:
            self.vary = vary
        if min is not None or max is not None:
            self.set_bounds(self._min if min is None else min,
                            self._max if max is None else max)
        if value is not None:
            was_unset = not math.isfinite(self._value)
            self.value = value
            if is_init_value or was_unset:
                self.init_value = self._value  # the value stored, after clipping
            self.expr = None
        if expr is not None:
            self.expr = expr
        if brute_step is not None:
            self.brute_step = None if brute_step == 0 else brute_step

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

        The value is not moved: a value left outside new bounds is infeasible, which
        :meth:`Parameters.check_bounds` (run by every fit) reports and resolves.

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
        _CHANGES[0] += 1

    # ------------------------------------------------------------- expression
    @property
    def expr(self) -> str | None:
        """Constraint expression (None when the parameter is not tied).

        Setting a non-empty expression sets ``vary`` to False (lmfit 1.3); None or
        ``''`` removes the expression and leaves ``vary`` as it is.
        """
        return self._expr

    @expr.setter
    def expr(self, expr: str | None) -> None:
        if expr is not None and not isinstance(expr, str):
            raise ParameterError(f"{_label(self.name)}: expr must be a string or None, "
                                 f"got {expr!r}")
        expr = expr.strip() if expr else None
        compiled = compile_expression(expr, owner=self.name) if expr else None
        if compiled is not None and self._owner is not None:
            # in a Parameters: unknown names, cycles and failing evaluations are refused
            # here, naming this parameter, and leave everything as it was (lmfit 1.3)
            self._owner._check_tie(self, expr, compiled)
        self._expr, self._compiled = expr, compiled
        if compiled is not None:
            self._vary = False
        self._fit_status = None
        _CHANGES[0] += 1

    @property
    def compiled_expr(self) -> CompiledExpression | None:
        """The compiled ``expr`` (read-only), or None."""
        return self._compiled

    # ------------------------------------------------ finite-difference options
    step = _PositiveOption("absolute finite-difference step")
    relative_step = _PositiveOption("finite-difference step relative to ``|value|``")
    max_step = _PositiveOption("largest change per iteration")
    brute_step = _PositiveOption("grid step of the brute method")

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
    def _extras(self) -> dict[str, Any]:
        """paramfit's attributes beyond lmfit's state that differ from their defaults."""
        if (self._step is None and self._relative_step is None and self._side == "auto"
                and self._max_step is None and self.status_reason is None
                and self._fit_status is None):
            return {}   # the common case (every fit snapshots the user's Parameters)
        now = {"step": self._step, "relative_step": self._relative_step, "side": self._side,
               "max_step": self._max_step, "status_reason": self.status_reason,
               "fit_status": None if self._fit_status is None else self._fit_status.name}
        return {k: v for k, v in now.items() if v != _EXTRA_DEFAULTS[k]}

    def __getstate__(self) -> tuple:
        """lmfit 1.3's 11-tuple ``(name, value, vary, expr, min, max, brute_step, stderr,
        correl, init_value, user_data)``, plus a dict of paramfit's own attributes (step,
        side, fit status, ...) when any differs from its default."""
        state = (self.name, self._value, self._vary, self._expr, self._min, self._max,
                 self._brute_step, self.stderr, self.correl, self.init_value, self.user_data)
        extras = self._extras()
        return (*state, extras) if extras else state

    def __setstate__(self, state: Sequence[Any] | Mapping[str, Any]) -> None:
        """Restore from :meth:`__getstate__`'s tuple, lmfit 1.3's 11-tuple (also as a JSON
        list) or the slot dict of earlier paramfit pickles."""
        if isinstance(state, Mapping):
            state = _state_from_slots(state)
        state = list(state)
        if len(state) not in (11, 12):
            raise ParameterError(f"cannot restore a Parameter from a state of {len(state)} "
                                 "items; expected lmfit's 11 fields (name, value, vary, "
                                 "expr, min, max, brute_step, stderr, correl, init_value, "
                                 "user_data), optionally followed by a dict of extras")
        fields = dict(zip(_STATE_FIELDS, state[:11], strict=True))
        extras = {**_EXTRA_DEFAULTS, **(state[11] if len(state) == 12 else {})}
        _CHANGES[0] += 1
        # restored in place (a failed fit restores the user's Parameters): it stays in
        # its Parameters; unpickled or copied: in none until stored
        self._owner, self._seen = getattr(self, "_owner", None), -1
        self.name = fields["name"]
        self._fit_status = None
        self._expr, self._compiled = None, None
        self._min, self._max = -math.inf, math.inf
        self.set_bounds(fields["min"], fields["max"])
        self._value = _real(fields["value"], self.name)
        self._vary = bool(fields["vary"])
        expr = fields["expr"] or None
        self._expr = expr
        self._compiled = compile_expression(expr, owner=self.name) if expr else None
        self.brute_step = fields["brute_step"]
        self.stderr = None if fields["stderr"] is None else float(fields["stderr"])
        correl = fields["correl"]
        self.correl = None if correl is None else {k: float(v) for k, v in correl.items()}
        init = fields["init_value"]
        self.init_value = None if init is None else float(init)
        self.user_data = fields["user_data"]
        self.step = extras["step"]
        self.relative_step = extras["relative_step"]
        self.side = extras["side"]
        self.max_step = extras["max_step"]
        self.status_reason = extras["status_reason"]
        if extras["fit_status"] is not None:
            self._fit_status = ParameterStatus[extras["fit_status"]]

    def _clone(self) -> Parameter:
        """The copy ``__setstate__(self.__getstate__())`` makes on a new object, made
        slot by slot: what was checked when it was set is not checked again (the
        result's copy of every fit: ~1 us instead of ~5 per parameter).  ``user_data``
        is shared (:meth:`Parameters.copy` deep-copies it); the clone is in no
        Parameters until stored."""
        clone = self.__class__.__new__(self.__class__)
        _CHANGES[0] += 1
        clone._owner, clone._seen = None, -1
        clone.name = self.name
        clone._min, clone._max = self._min, self._max
        clone._value = float(self._value)
        clone._vary = self._vary
        clone._expr, clone._compiled = self._expr, self._compiled
        clone._brute_step = self._brute_step
        stderr, correl, init = self.stderr, self.correl, self.init_value
        clone.stderr = None if stderr is None else float(stderr)
        clone.correl = None if correl is None else {k: float(v) for k, v in correl.items()}
        clone.init_value = None if init is None else float(init)
        clone.user_data = self.user_data
        clone._step, clone._relative_step = self._step, self._relative_step
        clone._side, clone._max_step = self._side, self._max_step
        clone.status_reason, clone._fit_status = self.status_reason, self._fit_status
        return clone

    def __repr__(self) -> str:
        text = f"<Parameter {self.name!r}, value={self._value!r}"
        if self._compiled is None and self.is_fixed:
            text += " (fixed)"
        elif self.stderr is not None:
            text += f" +/- {self.stderr:.3g}"
        text += f", bounds=[{self._min!r}:{self._max!r}]"
        if self._expr is not None:
            text += f", expr={self._expr!r}"
        if self._brute_step is not None:
            text += f", brute_step={self._brute_step!r}"
        return text + ">"


def _state_from_slots(state: Mapping[str, Any]) -> tuple:
    """The tuple state of a Parameter pickled as a slot dict (paramfit before lmfit's layout)."""
    status = state.get("_fit_status")
    extras = {"step": state.get("_step"), "relative_step": state.get("_relative_step"),
              "side": state.get("_side", "auto"), "max_step": state.get("_max_step"),
              "status_reason": state.get("status_reason"),
              "fit_status": None if status is None else ParameterStatus(status).name}
    return (state["name"], state["_value"], state["_vary"], state["_expr"], state["_min"],
            state["_max"], state.get("_brute_step"), state.get("stderr"),
            state.get("correl"), state.get("init_value"), state.get("user_data"), extras)


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
