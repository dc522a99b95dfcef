"""The ordered container of named fit variables, :class:`Parameters`.

:class:`Parameters` is a ``dict`` of :class:`~paramfit.core.parameters.parameter.Parameter` keyed by
name (seed 000 §2.2-2.3), with the bound checks of seed 001 (``bmchk``: inadmissible and
infeasible bounds), constraint evaluation in dependency order, and a JSON round trip.
``Parameter`` and ``ParameterStatus`` are re-exported here for convenience.
What ``add``/``set`` accept is in :mod:`paramfit.core.parameters.entries`, lmfit's
``_asteval`` view in :mod:`paramfit.core.parameters.symbols_view`.

Examples
--------
>>> params = Parameters()
>>> params.add('amp', value=10, vary=False)
>>> params.add('decay', value=0.007, min=0.0)
>>> params.add('half', expr='amp/2')
>>> params['half'].value
5.0
"""

from __future__ import annotations

import copy as _copy
import math
import warnings
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from paramfit.core.exceptions import (
    BoundsError,
    BoundsWarning,
    ParameterError,
    ParameterKeyError,
    UnknownNameError,
)
from paramfit.core.expressions.compiler import (
    CompiledExpression,
    SymbolTable,
    compile_expression,
    evaluation_error,
    make_namespace,
)
from paramfit.core.expressions.symbols import CHANGES, mark_changed
from paramfit.core.mapping import evaluate_tie, update_ties
from paramfit.core.parameters.entries import _SET_KEYS, _fill_unset
from paramfit.core.parameters.parameter import (
    _TUPLE_FIELDS,
    BOUNDS_TOLERANCE,
    Parameter,
    ParameterStatus,
    check_name,
)
from paramfit.core.parameters.persistence import ParametersPersistence
from paramfit.core.parameters.presentation import ParametersPresentation
from paramfit.core.parameters.symbols_view import SymbolsView

__all__ = ["BOUNDS_TOLERANCE", "Parameter", "ParameterStatus", "Parameters", "check_name",
           "create_params"]


def _require_parameters(other: Any) -> None:
    if not isinstance(other, Parameters):
        raise ParameterError(f"{other!r} is not a Parameters object: only Parameters can be "
                             "added to Parameters")


def create_params(**kws: float | Mapping[str, Any]) -> Parameters:
    """A new :class:`Parameters` from keywords (lmfit 1.3): ``name=value`` or
    ``name={'value': ..., 'min': ..., 'max': ..., 'vary': ..., 'expr': ...,
    'brute_step': ...}``; see :meth:`Parameters.set`.

    Examples
    --------
    >>> p = create_params(amp=2, cen={'value': 3, 'min': 0}, fwhm={'expr': '2*cen'})
    >>> p['fwhm'].value, p['fwhm'].vary
    (6.0, False)
    """
    params = Parameters()
    params.set(**kws)
    return params


class Parameters(ParametersPersistence, ParametersPresentation, dict):
    """An ordered ``dict`` of :class:`Parameter` keyed by name (seed 000 §2.3).

    Keys must be valid identifiers (``[a-zA-Z_][a-zA-Z0-9_]*``), not keywords nor
    dunders; values must be :class:`Parameter` objects (their ``name`` is set to the key).

    Parameters
    ----------
    usersyms : mapping, optional
        User functions and constants usable in constraint expressions (seed 000 §5.3;
        lmfit 1.3's name, also accepted positionally); also reachable later as
        ``params.symbols``.
    symbols : mapping, optional
        The same, by paramfit's keyword (both may be given; ``symbols`` wins a clash).

    Examples
    --------
    >>> p = Parameters()
    >>> p.add_many(('amp1', 10, True, None, None, None),
    ...            ('wid1', 0.8, True, 0.1, None, None),
    ...            ('wid2', None, False, None, None, '2*wid1/3'))
    >>> round(p['wid2'].value, 6)
    0.533333
    """

    def __init__(self, usersyms: Mapping[str, object] | None = None, *,
                 symbols: Mapping[str, object] | None = None) -> None:
        super().__init__()
        self._current = -1  # the change count at which every tie was last current
        self.symbols = SymbolTable()
        for table in (usersyms, symbols):
            if table:
                self.symbols.update(table)

    @property
    def _asteval(self) -> SymbolsView:
        """lmfit 1.3's spelling for the symbol table: ``params._asteval.symtable``."""
        return SymbolsView(self)

    # ---------------------------------------------------------------- filling
    def __setitem__(self, name: str, par: Parameter) -> None:
        try:
            check_name(name)
        except ParameterError as exc:
            raise ParameterKeyError(f"{name!r} is not a valid Parameters name ({exc})"
                                    ) from None
        if not isinstance(par, Parameter):
            raise ParameterError(f"{par!r} is not a Parameter: Parameters[{name!r}] must be "
                                 f"a Parameter, got {type(par).__name__}")
        par.name = name
        par._owner = self
        super().__setitem__(name, par)
        mark_changed()

    def __delitem__(self, name: str) -> None:
        self._release(super().pop(name))

    def pop(self, name: str, *default: Any) -> Any:
        """Remove the parameter ``name`` and return it (``default`` if given and absent)."""
        if name not in self and default:
            return default[0]
        par = super().pop(name)
        self._release(par)
        return par

    def popitem(self) -> tuple[str, Parameter]:
        name, par = super().popitem()
        self._release(par)
        return name, par

    def clear(self) -> None:
        pars = list(self.values())
        super().clear()
        for par in pars:
            self._release(par)

    def _release(self, par: Any) -> None:
        """A parameter removed from ``self`` no longer evaluates its tie here."""
        if getattr(par, "_owner", None) is self:
            par._owner = None
        mark_changed()

    # ------------------------------------------------------------------ ties
    def _refresh_tie(self, par: Parameter) -> None:
        """Evaluate the tie ``par`` (and the ties it reads) from the current values and
        store them; called when ``par.value`` is read after a change (lmfit 1.3's live
        tied values)."""
        if dict.get(self, par.name) is not par:  # stored elsewhere since: not ours
            par._owner = None
            return
        stamp = CHANGES[0]
        for tie in evaluate_tie(self, par):
            dict.__getitem__(self, tie.name)._seen = stamp

    def _refresh_ties(self) -> None:
        """Evaluate every tie from the current values and store them (all or none is
        marked current)."""
        stamp = CHANGES[0]
        for tie in update_ties(self):
            dict.__getitem__(self, tie.name)._seen = stamp

    def _check_tie(self, par: Parameter, expr: str, compiled: CompiledExpression) -> None:
        """Refuse ``compiled`` as the new ``expr`` of ``par`` (stored here) as
        :meth:`_evaluate_new_tie` does; ``par`` and the other values are left as they
        were on an error."""
        if dict.get(self, par.name) is not par:
            return
        saved = par._expr, par._compiled, par._value
        par._expr, par._compiled = expr, compiled
        try:
            self._evaluate_new_tie(par)
        except BaseException:
            par._expr, par._compiled, par._value = saved
            raise
        par._expr, par._compiled = saved[:2]

    def _evaluate_new_tie(self, par: Parameter) -> None:
        """Evaluate a tie being added or changed, raising what lmfit 1.3 raises at
        ``add()`` when every name it reads is known: a cycle, an evaluation that fails
        (``9**1024``, ``sqrt(cos)``). A name that is neither a parameter nor a symbol
        *yet* is allowed, as in the seed (000 §5 adds ``cen_2``, reading ``wid_2``,
        before ``wid_2``; §5.3 adds functions to ``Minimizer.asteval.symtable`` after
        the parameters): that tie is evaluated when read, and a name still unknown then
        is an :class:`UnknownNameError` (also a ``NameError``) naming it."""
        try:
            self._refresh_tie(par)
        except UnknownNameError:
            return  # a parameter or symbol still to come (seed 000 §5)

    def _store_checked(self, pars: list[Parameter]) -> None:
        """Store ``pars`` and evaluate the ties among them (:meth:`_evaluate_new_tie`);
        on any error ``self`` is restored as it was and the error (naming the tie)
        raised."""
        before = list(self.items())
        try:
            for par in pars:
                self[par.name] = par
            for par in pars:
                if par.compiled_expr is not None:
                    self._evaluate_new_tie(par)
        except BaseException:
            for par in pars:
                if dict.get(self, par.name) is par:
                    par._owner = None
            dict.clear(self)
            for name, par in before:
                self[name] = par
            raise

    def update(self, *args: Any, **kws: Parameter) -> Parameters:  # type: ignore[override]
        """Add parameters from a mapping (or pairs), checking names and types; returns self.

        From another :class:`Parameters`, copies of its parameters come (each object
        belongs to one Parameters: its ties are evaluated there), with its user symbols
        that ``self`` lacks (lmfit 1.3).
        """
        sources = []
        for other in args:
            if isinstance(other, Parameters):
                self._merge_symbols(other)
                other = other.copy()
            elif isinstance(other, (str, bytes)) or not isinstance(other, (Mapping, Iterable)):
                raise ParameterError(f"{other!r} is not a Parameters object (nor a mapping "
                                     "or pairs of name and Parameter)")
            sources.append(other)
        for name, par in dict(*sources, **kws).items():
            self[name] = par
        return self

    def _merge_symbols(self, other: Parameters) -> None:
        for key, obj in other.symbols.user_symbols().items():
            if key not in self.symbols:
                self.symbols[key] = obj

    def __add__(self, other: Parameters) -> Parameters:
        """A new Parameters: copies of ``self``'s parameters, then of ``other``'s (which
        win on equal names), and the user symbols of both (``self``'s win).

        Examples
        --------
        >>> p, q = Parameters(), Parameters()
        >>> p.add('a', 1.0); q.add('b', expr='2*a')
        >>> r = p + q
        >>> list(r), r['b'].value
        (['a', 'b'], 2.0)
        """
        _require_parameters(other)
        out = self.copy()
        out += other
        return out

    def __iadd__(self, other: Parameters) -> Parameters:
        """Add copies of ``other``'s parameters (and symbols ``self`` lacks) to ``self``."""
        _require_parameters(other)
        self._merge_symbols(other)
        self.add_many(*other.copy().values())
        return self

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> Any:
        """The values, in order, as a numpy array (lmfit 1.3)."""
        return np.array([par.value for par in self.values()], dtype=dtype)

    def setdefault(self, name: str, par: Parameter) -> Parameter:  # type: ignore[override]
        if name not in self:
            self[name] = par
        return self[name]

    def add(self, name: str | Parameter, value: float | Parameter | None = None,
            vary: bool | None = None, min: float | None = None,  # noqa: A002
            max: float | None = None, expr: str | None = None,  # noqa: A002
            brute_step: float | None = None, user_data: Any = None,
            **options: Any) -> None:
        """Add (or replace) one parameter; ``options`` go to :class:`Parameter`.

        ``add(Parameter)`` stores that object (under its name); ``add(name, Parameter)``
        stores a copy renamed ``name`` (lmfit 1.3). In both the other arguments given
        fill attributes the Parameter leaves unset (no bound, no expr, ...), and ``vary``
        given overrides. A tied parameter's value is computed at once when every name
        it reads is known.

        Examples
        --------
        >>> p = Parameters()
        >>> p.add('myvar', value=1, vary=True)
        >>> p.add(Parameter(2.0, name='other'))
        >>> p.add('copy', p['other'], min=0)
        >>> list(p), p['copy'].min
        (['myvar', 'other', 'copy'], 0.0)
        """
        if isinstance(name, Parameter) or isinstance(value, Parameter):
            given = {"min": min, "max": max, "expr": expr, "brute_step": brute_step,
                     "user_data": user_data, "vary": vary}
            if isinstance(name, Parameter):
                if name.name is None:
                    raise ParameterError("add(Parameter) needs a Parameter with a name")
                par = _fill_unset(name, value, given)
            else:
                par = _copy.deepcopy(value)
                par.name = check_name(name)
                par = _fill_unset(par, None, given)
        else:
            par = Parameter(value, True if vary is None else vary, min, max,
                            check_name(name), expr, brute_step=brute_step,
                            user_data=user_data, **options)
        if par.compiled_expr is None:
            self[par.name] = par    # nothing to evaluate: storing it changes nothing else
        else:
            self._store_checked([par])

    def add_many(self, *entries: tuple | Parameter) -> None:
        """Add several parameters given as Parameter objects or tuples
        ``(name, value, vary, min, max, expr, brute_step, user_data)`` (seed 000 §2.3's
        six fields, then lmfit 1.3's; trailing items may be left out).
        A single list of such entries is accepted too.

        Examples
        --------
        >>> p = Parameters()
        >>> p.add_many(('cen1', 1.2, True, 0.5, 2.0), ('amp1', 10), Parameter(1, name='c'))
        >>> p['cen1'].max
        2.0
        """
        if len(entries) == 1 and isinstance(entries[0], list) and all(
                isinstance(e, (tuple, list, Parameter)) for e in entries[0]):
            entries = tuple(entries[0])
        pars = []
        for entry in entries:
            if isinstance(entry, Parameter):
                check_name(entry.name)
                pars.append(entry)
            elif isinstance(entry, (tuple, list)) and 1 <= len(entry) <= len(_TUPLE_FIELDS):
                fields = dict(zip(_TUPLE_FIELDS, entry, strict=False))
                if fields.get("vary") is None:
                    fields["vary"] = True
                check_name(entry[0])
                pars.append(Parameter(**fields))
            else:
                raise ParameterError(
                    "add_many entries must be Parameter objects or tuples "
                    f"({', '.join(_TUPLE_FIELDS)}) of 1 to {len(_TUPLE_FIELDS)} items; "
                    f"got {entry!r}")
        self._store_checked(pars)  # ties may read parameters added after them

    def set(self, **kws: float | Mapping[str, Any]) -> None:
        """Set values and attributes by name, adding parameters that are missing (lmfit 1.3).

        Each keyword is a parameter name; its value is a number (the new value) or a
        dict of :meth:`Parameter.set` arguments (``value``, ``vary``, ``min``, ``max``,
        ``expr``, ``brute_step``, ``is_init_value``).

        Examples
        --------
        >>> p = Parameters()
        >>> p.set(x=0.8, y={'value': 3, 'min': 0})
        >>> p['x'].value, p['y'].min
        (0.8, 0.0)
        """
        for name, spec in kws.items():
            if isinstance(spec, Mapping):
                bad = sorted(set(spec) - _SET_KEYS)
                if bad:
                    raise ParameterError(f"Parameters.set: unknown attribute(s) {bad} for "
                                         f"parameter {name!r}; use {sorted(_SET_KEYS)}")
            if name in self:
                par = self[name]
                par.set(**spec) if isinstance(spec, Mapping) else par.set(value=spec)
            else:  # a new parameter: set up alone, then stored and checked as by add()
                par = Parameter(name=check_name(name))
                par.set(**spec) if isinstance(spec, Mapping) else par.set(value=spec)
                self._store_checked([par])

    # ------------------------------------------------------------------ values
    def valuesdict(self) -> dict[str, float]:
        """``{name: value}`` for every parameter, in order.

        Tied values are current (lmfit 1.3): when anything changed since the ties were
        last evaluated, every tie is evaluated again here, by the one rule of
        :mod:`paramfit.core.mapping` (dependency order, each clipped to its bounds);
        otherwise (inside a fit, say) the stored values are returned as they are.

        Examples
        --------
        >>> p = Parameters(); p.add('a', 1.5); p.add('b', expr='2*a', max=2.0)
        >>> p.valuesdict()
        {'a': 1.5, 'b': 2.0}
        >>> p['a'].value = 0.25
        >>> p.valuesdict()
        {'a': 0.25, 'b': 0.5}
        """
        stamp = CHANGES[0]
        if self._current != stamp:  # something changed since every tie was current
            for par in self.values():
                if par._compiled is not None and par._seen != stamp:
                    self._refresh_ties()
                    break
            self._current = stamp
        return {name: par._value for name, par in self.items()}

    def _namespace(self) -> dict:
        ns = make_namespace(self.symbols.user_symbols())
        ns.update(self.valuesdict())
        return ns

    def update_constraints(self) -> None:
        """Evaluate every ``expr`` in dependency order, clip to the bounds, store the values.

        The rule of every tie evaluation, the fit's included (:mod:`paramfit.core.mapping`):
        each tied value is ``float(expr)``, evaluated after the parameters it reads;
        then values outside ``[min, max]`` are set to the nearest bound.

        Raises ExpressionError naming the parameter for unknown names and cycles, and
        ExpressionEvaluationError naming it when an evaluation fails.

        Examples
        --------
        >>> p = Parameters(); p.add('a', 2.0); p.add('b', expr='a**2', max=10.0)
        >>> p['a'].value = 3.0
        >>> p.update_constraints(); p['b'].value
        9.0
        >>> p['a'].value = 5.0
        >>> p.update_constraints(); p['b'].value
        10.0
        """
        self._refresh_ties()

    @staticmethod
    def _evaluate(compiled: CompiledExpression, ns: dict, owner: str | None) -> Any:
        try:
            return compiled.evaluate(ns)
        except Exception as exc:
            raise evaluation_error(compiled, owner, exc) from exc

    def eval(self, expression: str) -> Any:
        """Evaluate an expression against the current parameter values and symbols.

        Examples
        --------
        >>> p = Parameters(); p.add('a', 2.0)
        >>> p.eval('sqrt(a*8)')
        4.0
        """
        return self._evaluate(compile_expression(expression), self._namespace(), None)

    # ----------------------------------------------------------------- bounds
    def check_bounds(self, *, infeasible: str = "warn") -> None:
        """Check bound admissibility and start feasibility (seed 001's ``bmchk``).

        * ``min > max``: inadmissible, BoundsError.
        * ``min == max``: the parameter is fixed there; a start value that differs is a
          BoundsError (a missing start is set to the bound).
        * bounds equal within :data:`BOUNDS_TOLERANCE`: treated as fixed, BoundsWarning.
        * start outside the bounds (infeasible): ``infeasible='warn'`` moves it to the
          nearest bound with a BoundsWarning naming it; ``'raise'`` raises BoundsError.
        * a varying parameter without a finite start value (never given one: ``-inf``):
          ParameterError naming it.

        Tied parameters are only checked for admissibility (their value is computed).

        Examples
        --------
        >>> import warnings
        >>> p = Parameters(); p.add('a', 5.0, max=1.0)
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter('ignore')
        ...     p.check_bounds()
        >>> p['a'].value
        1.0
        """
        if infeasible not in ("warn", "raise"):
            raise ParameterError(f"infeasible must be 'warn' or 'raise', got {infeasible!r}")
        for name, par in self.items():
            lo, hi, value = par.min, par.max, par._value  # tied: not evaluated here
            if lo > hi:
                raise BoundsError(f"parameter {name!r}: inadmissible bounds, min={lo!r} is "
                                  f"greater than max={hi!r}; give min <= max")
            if par.compiled_expr is not None:
                continue
            if not math.isfinite(value):  # never given a value (-inf), or given inf/NaN
                if lo == hi:
                    par.value = lo
                    continue
                if par.vary:
                    raise ParameterError(f"parameter {name!r} has no finite start value "
                                         f"(value is {value!r}); give it a value")
                continue
            if lo == hi:
                if value != lo:
                    raise BoundsError(
                        f"parameter {name!r}: min == max == {lo!r} fixes it at {lo!r}, but its "
                        f"start value is {value!r}; set value={lo!r} or widen the bounds")
                continue
            if par.vary and par.is_fixed:
                warnings.warn(
                    f"parameter {name!r}: bounds [{lo!r}, {hi!r}] are equal within "
                    f"BOUNDS_TOLERANCE={BOUNDS_TOLERANCE:g}; it is treated as fixed",
                    BoundsWarning, stacklevel=2)
            if lo <= value <= hi:
                continue
            nearest = lo if value < lo else hi
            side = "lower" if value < lo else "upper"
            if infeasible == "raise":
                raise BoundsError(f"parameter {name!r}: start value {value!r} is outside its "
                                  f"bounds [{lo!r}, {hi!r}] (infeasible); change the value or "
                                  "the bounds")
            warnings.warn(f"parameter {name!r}: start value {value!r} is outside its bounds "
                          f"[{lo!r}, {hi!r}]; moved to the {side} bound {nearest!r}",
                          BoundsWarning, stacklevel=2)
            par.value = nearest

    # ---------------------------------------------------------- copy / pickle
    def copy(self) -> Parameters:
        """An independent copy: new Parameter objects, same user symbols.

        Examples
        --------
        >>> p = Parameters(); p.add('a', 1.0)
        >>> q = p.copy(); q['a'].value = 2.0
        >>> p['a'].value
        1.0
        """
        return self.__deepcopy__({})

    __copy__ = copy

    def __deepcopy__(self, memo: dict) -> Parameters:
        new = self.__class__()
        memo[id(self)] = new
        new.symbols.update(self.symbols.user_symbols())
        for name, par in self.items():
            copied = _copy_parameter(par, memo)
            copied._owner = new
            dict.__setitem__(new, name, copied)
        return new


def _copy_parameter(par: Parameter, memo: dict) -> Parameter:
    """``copy.deepcopy(par, memo)``: the state ``__getstate__`` / ``__setstate__`` carry
    (:meth:`Parameter._clone` makes it slot by slot unless a subclass defines its own
    state), ``user_data`` deep-copied."""
    if id(par) in memo:
        return memo[id(par)]
    cls = par.__class__
    if cls.__getstate__ is Parameter.__getstate__ and cls.__setstate__ is Parameter.__setstate__:
        clone = memo[id(par)] = par._clone()
    else:
        clone = memo[id(par)] = cls.__new__(cls)
        clone.__setstate__(par.__getstate__())
    if clone.user_data is not None:
        clone.user_data = _copy.deepcopy(clone.user_data, memo)
    return clone
