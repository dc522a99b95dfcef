"""The ordered container of named fit variables, :class:`Parameters`.

:class:`Parameters` is a ``dict`` of :class:`~paramfit.core.parameters.parameter.Parameter` keyed by
name (seed 000 §2.2-2.3), with the bound checks of seed 001 (``bmchk``: inadmissible and
infeasible bounds), constraint evaluation in dependency order, and a JSON round trip.
``Parameter`` and ``ParameterStatus`` are re-exported here for convenience.

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
import json
import math
import numbers
import pickle
import warnings
from collections.abc import Iterable, Mapping
from typing import IO, Any

from paramfit.core.exceptions import (
    BoundsError,
    BoundsWarning,
    ParameterError,
)
from paramfit.core.expressions.compiler import (
    CompiledExpression,
    SymbolTable,
    compile_expression,
    evaluation_error,
    make_namespace,
)
from paramfit.core.mapping import evaluate_tie, update_ties
from paramfit.core.parameters.formats import (
    load_json_document,
    number_from_json,
    parameter_from_json,
    parameters_html,
    parameters_table,
    parameters_to_json,
)
from paramfit.core.parameters.parameter import (
    _TUPLE_FIELDS,
    BOUNDS_TOLERANCE,
    Parameter,
    ParameterStatus,
    check_name,
)

__all__ = ["BOUNDS_TOLERANCE", "Parameter", "ParameterStatus", "Parameters", "check_name"]


class Parameters(dict):
    """An ordered ``dict`` of :class:`Parameter` keyed by name (seed 000 §2.3).

    Keys must be valid identifiers (``[a-zA-Z_][a-zA-Z0-9_]*``), not keywords nor
    dunders; values must be :class:`Parameter` objects (their ``name`` is set to the key).

    Parameters
    ----------
    symbols : mapping, optional
        User functions and constants usable in constraint expressions (seed 000 §5.3);
        also reachable later as ``params.symbols``.

    Examples
    --------
    >>> p = Parameters()
    >>> p.add_many(('amp1', 10, True, None, None, None),
    ...            ('wid1', 0.8, True, 0.1, None, None),
    ...            ('wid2', None, False, None, None, '2*wid1/3'))
    >>> round(p['wid2'].value, 6)
    0.533333
    """

    def __init__(self, *, symbols: Mapping[str, object] | None = None) -> None:
        super().__init__()
        self.symbols = SymbolTable()
        if symbols:
            self.symbols.update(symbols)

    # ---------------------------------------------------------------- filling
    def __setitem__(self, name: str, par: Parameter) -> None:
        check_name(name)
        if not isinstance(par, Parameter):
            raise ParameterError(f"Parameters[{name!r}] must be a Parameter, "
                                 f"got {type(par).__name__}")
        par.name = name
        super().__setitem__(name, par)

    def update(self, *args: Any, **kws: Parameter) -> None:  # type: ignore[override]
        """Add parameters from a mapping (or pairs), checking names and types."""
        for name, par in dict(*args, **kws).items():
            self[name] = par

    def setdefault(self, name: str, par: Parameter) -> Parameter:  # type: ignore[override]
        if name not in self:
            self[name] = par
        return self[name]

    def add(self, name: str | Parameter, value: float | None = None, vary: bool = True,
            min: float | None = None, max: float | None = None,  # noqa: A002
            expr: str | None = None, **options: Any) -> None:
        """Add (or replace) one parameter; ``options`` go to :class:`Parameter`.

        A tied parameter's value is computed at once when every name it reads is known.

        Examples
        --------
        >>> p = Parameters()
        >>> p.add('myvar', value=1, vary=True)
        >>> p.add(Parameter(2.0, name='other'))
        >>> list(p)
        ['myvar', 'other']
        """
        if isinstance(name, Parameter):
            if name.name is None:
                raise ParameterError("add(Parameter) needs a Parameter with a name")
            par = name
        else:
            par = Parameter(value, vary, min, max, check_name(name), expr, **options)
        self[par.name] = par
        if par.compiled_expr is not None:
            self._try_evaluate(par)

    def add_many(self, *entries: tuple | Parameter) -> None:
        """Add several parameters given as Parameter objects or tuples
        ``(name, value, vary, min, max, expr)`` (trailing items may be left out).
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
        for entry in entries:
            if isinstance(entry, Parameter):
                self[check_name(entry.name)] = entry
            elif isinstance(entry, (tuple, list)) and 1 <= len(entry) <= 6:
                fields = dict(zip(_TUPLE_FIELDS, entry, strict=False))
                self[check_name(entry[0])] = Parameter(**fields)
            else:
                raise ParameterError(f"add_many entries must be Parameter objects or tuples "
                                     f"(name, value, vary, min, max, expr); got {entry!r}")
        for par in self.values():
            if par.compiled_expr is not None:
                self._try_evaluate(par)

    def _try_evaluate(self, par: Parameter) -> None:
        names = par.compiled_expr.names
        if any(n not in self and n not in self.symbols for n in names):
            return
        try:
            evaluate_tie(self, par)  # with the ties it reads, which may fail in turn
        except Exception:  # noqa: BLE001  (best effort; update_constraints reports errors)
            return

    # ------------------------------------------------------------------ values
    def valuesdict(self) -> dict[str, float]:
        """``{name: value}`` for every parameter, in order.

        The values as stored: a tied value is the one the last tie evaluation stored
        (:meth:`add`, :meth:`update_constraints` or a fit, which all follow the one
        rule of :mod:`paramfit.core.mapping`: dependency order, then clipped to the
        bounds); it is not re-evaluated here.

        Examples
        --------
        >>> p = Parameters(); p.add('a', 1.5); p.add('b', expr='2*a', max=2.0)
        >>> p.valuesdict()
        {'a': 1.5, 'b': 2.0}
        """
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
        update_ties(self)

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
        * a varying parameter without a start value (NaN): ParameterError.

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
            lo, hi, value = par.min, par.max, par.value
            if lo > hi:
                raise BoundsError(f"parameter {name!r}: inadmissible bounds, min={lo!r} is "
                                  f"greater than max={hi!r}; give min <= max")
            if par.compiled_expr is not None:
                continue
            if math.isnan(value):
                if lo == hi:
                    par.value = lo
                    continue
                if par.vary:
                    raise ParameterError(f"parameter {name!r} has no start value (value is "
                                         "NaN); give it a value")
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
            dict.__setitem__(new, name, _copy.deepcopy(par, memo))
        return new

    def __reduce__(self) -> tuple:
        symbols = self.symbols.user_symbols()
        for key, obj in symbols.items():
            if not isinstance(obj, numbers.Number):
                try:
                    pickle.dumps(obj)
                except Exception as exc:
                    raise ParameterError(
                        f"cannot pickle Parameters: user symbol {key!r} ({obj!r}) is not "
                        "picklable; define it at module level or remove it from "
                        "params.symbols") from exc
        return (self.__class__, (), {"symbols": symbols, "params": list(self.values())})

    def __setstate__(self, state: Mapping[str, Any]) -> None:
        if not hasattr(self, "symbols"):
            self.symbols = SymbolTable()
        self.symbols.update(state["symbols"])
        for par in state["params"]:
            self[par.name] = par

    # -------------------------------------------------------------------- JSON
    def dumps(self, **json_kws: Any) -> str:
        """The parameters as a JSON string (``json_kws`` go to :func:`json.dumps`).

        Everything round-trips through :meth:`loads`: names, values (inf and NaN as the
        strings ``"inf"``, ``"-inf"``, ``"nan"``), vary, bounds, expr, stderr, correl,
        init_value, finite-difference options, the fit status, ``user_data`` when it is
        JSON-serialisable (dropped otherwise), and user symbols that are numbers (bool,
        int, float, complex). User *functions* in ``symbols`` are not saved: add them
        again after loading.

        Examples
        --------
        >>> p = Parameters(); p.add('a', 1.5, min=0)
        >>> Parameters().loads(p.dumps())['a']
        <Parameter 'a', value=1.5, bounds=[0:inf]>
        """
        return json.dumps(parameters_to_json(self), **json_kws)

    def loads(self, s: str | bytes) -> Parameters:
        """Replace the contents with those of a :meth:`dumps` string; returns ``self``.

        User symbols in the string are added to ``self.symbols`` (existing ones stay).

        Examples
        --------
        >>> p = Parameters().loads('{"parameters": [{"name": "a", "value": "inf"}]}')
        >>> p['a'].value
        inf
        """
        data = load_json_document(s, "Parameters.loads")  # untrusted: bounded, no raw errors
        if not isinstance(data, dict) or not isinstance(data.get("parameters"), list) \
                or not isinstance(data.get("symbols", {}), dict):
            raise ParameterError("Parameters.loads: expected a JSON object with a "
                                 "'parameters' list, as written by Parameters.dumps()")
        pars = [parameter_from_json(item) for item in data["parameters"]]
        symbols = {key: number_from_json(encoded, f"symbols.{key}")
                   for key, encoded in data.get("symbols", {}).items()}
        self.clear()
        self.symbols.update(symbols)
        for par in pars:
            self[par.name] = par
        return self

    def dump(self, fp: IO[str], **json_kws: Any) -> None:
        """Write :meth:`dumps` to an open text file."""
        fp.write(self.dumps(**json_kws))

    def load(self, fp: IO[str]) -> Parameters:
        """Read a file written by :meth:`dump` into ``self``; returns ``self``."""
        return self.loads(fp.read())

    # ------------------------------------------------------------ presentation
    def pretty_repr(self, oneline: bool = False, colwidth: int = 8, precision: int = 4,
                    fmt: str = "g", columns: Iterable[str] = (
                        "value", "min", "max", "stderr", "vary", "expr")) -> str:
        """The table :meth:`pretty_print` prints, as a string."""
        if oneline:
            return "Parameters(" + ", ".join(repr(p) for p in self.values()) + ")"
        return parameters_table(self, colwidth=colwidth, precision=precision, fmt=fmt,
                                columns=tuple(columns))

    def pretty_print(self, oneline: bool = False, colwidth: int = 8, precision: int = 4,
                     fmt: str = "g", columns: Iterable[str] = (
                         "value", "min", "max", "stderr", "vary", "expr")) -> None:
        """Print a table of the parameters, one row each.

        Parameters
        ----------
        oneline : bool
            Print the compact one-line form instead.
        colwidth : int
            Width of each column.
        precision : int
            Digits for numbers, with format type ``fmt`` ('g', 'e', 'f').
        columns : sequence of str
            Among value, min, max, stderr, vary, expr, init_value, status, step,
            relative_step, side, max_step.

        Examples
        --------
        >>> p = Parameters(); p.add('amp', 10.0, min=0)
        >>> p.pretty_print()
        Name     Value      Min      Max   Stderr     Vary     Expr
        amp         10        0      inf     None     True     None
        """
        print(self.pretty_repr(oneline, colwidth, precision, fmt, columns))

    def __repr__(self) -> str:
        if not self:
            return "Parameters([])"
        return "Parameters([\n" + "".join(f"    {p!r},\n" for p in self.values()) + "])"

    def _repr_html_(self) -> str:
        return parameters_html(self)
