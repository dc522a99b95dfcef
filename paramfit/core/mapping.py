"""The one map between the free vector and every parameter value.

A fit varies the *free* parameters only; every other value follows from them: a
fixed (or held) parameter keeps its value, a tied one is its ``expr``.  This module
is the only place paramfit evaluates ties, for every caller:

* :meth:`ParameterMap.set_values`, the fit's hot path (``FitProblem.set_values`` *is*
  this method): one generated code object writes a free vector of shape ``(n,)``
  and every tied value into the Parameter slots and the expression namespace;
* :meth:`ParameterMap.values`, every value as a dict without touching the
  Parameters, for ``x`` of shape ``(n,)`` (floats) or ``(n, B)`` (arrays over B
  datasets: the batch);
* :meth:`ParameterMap.tied_jacobian`, the exact ``d(tied)/d(free)`` for the chain rule
  (:func:`~paramfit.core.expressions.derivatives.differentiate_assignments`, the clipping
  of the tie rule written in; finite differences, :meth:`ParameterMap.tied_differences`,
  only for partials with no exact form);
* :func:`update_ties` and :func:`evaluate_tie`, the same rule applied to a Parameters
  object's current values (``Parameters.update_constraints``, ``Parameters.add``);
  ``Parameters.valuesdict`` reports what they, or a fit, stored.

The tie rule
------------
1. Tied parameters are evaluated in :func:`~paramfit.core.expressions.compiler.evaluation_order`,
   each as ``float(expr)`` (in the batch: a float64 array of the batch's shape) in a
   namespace from :func:`~paramfit.core.expressions.compiler.make_namespace` holding the
   user symbols and every parameter value.
2. Each tied value outside its ``[min, max]`` is set to the nearest bound (NaN stays
   NaN) as soon as it is evaluated, so an expression that reads another tied parameter
   sees the value that parameter has (``b = 2*a`` with ``max=3`` and ``c = b + 1`` give
   ``b = 3, c = 4``: the relation ``c = b + 1`` holds, as in lmfit 1.3).  Before issue 14
   the fit clipped after all ties (``c = 11``) while ``update_constraints`` did not clip
   at all; every evaluation now follows this one rule (NIST and MGH have no bounded
   ties: their results are unchanged).

The code is generated once per structure (free names, ties, bounds) and cached:
fits that repeat the same parameters (loops, profiles, models) reuse it.  Only
paramfit writes the generated statements; the expressions in them are the
validated, guarded trees of :func:`~paramfit.core.expressions.compiler.expression_tree`,
and the names the generated code adds to a namespace (``<x>``, ``<par:NAME>``,
``<float>``, ``<array>``, ``<clip>``, ``<shape>``) cannot be spelt by an expression.
"""

from __future__ import annotations

import ast
import functools
import math
import sys
import types
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from paramfit.core.exceptions import ExpressionError, ExpressionEvaluationError
from paramfit.core.expressions.compiler import (
    FLOAT_HELPER,
    CompiledExpression,
    at_line,
    evaluation_error,
    evaluation_order,
    expression_tree,
    make_namespace,
)
from paramfit.core.expressions.derivatives import (
    CompiledAssignmentDerivatives,
    differentiate_assignments,
)
from paramfit.core.expressions.symbols import CHANGES

if TYPE_CHECKING:
    from paramfit.core.parameters.parameter import Parameter
    from paramfit.core.parameters.parameters import Parameters

__all__ = [
    "EVALUATION_ERRORS", "TIE_STEP", "ParameterMap", "Tie", "array_code", "evaluate_tie",
    "ordered_ties", "scalar_code", "tie_steps", "ties_of", "update_ties",
]

TIE_STEP = 1e-6
"""Relative step of the central differences through ties: ``h = TIE_STEP * max(|x|, 1)``.

Error of ``(t(x + h) - t(x - h)) / 2h`` for a tie ``t`` of one free value ``x``, with
``s = max(|x|, 1)``:

* rounding of the two evaluations of ``t``: about ``k eps |t| / h = k 2.2e-10 |t| / s``,
  ``k`` the roundings of one evaluation (a few units);
* rounding of ``x +- h`` (the quotient divides by ``2h``, not by the step taken):
  at most ``eps |x| |t'| / h <= 2.2e-10 |t'|``;
* truncation: ``h**2 |t'''| / 6 = 1.7e-13 s**2 |t'''|``.

For smooth expressions of moderate curvature the rounding dominates: about
``2e-10 (|t| / s + |t'|)``, not the ~1e-12 once claimed for this step.  (A step of
``eps**(1/3)`` would balance rounding and truncation at ~5e-11; the step keeps its
historical value so that tied standard errors and batch fits stay bit-identical.)"""

EVALUATION_ERRORS = (ArithmeticError, ValueError, TypeError, NameError)
"""What an expression's evaluation may raise and is reported as an
:class:`~paramfit.core.exceptions.ExpressionEvaluationError` naming the tie; anything
else (a user function's own exception, StopFit) propagates unchanged."""

_X = "<x>"
_ARRAY = "<array>"
_CLIP = "<clip>"
_SHAPE = "<shape>"
_SCALAR_FILE = "<parameter update>"
_ARRAY_FILE = "<parameter update, batch>"


class Tie(NamedTuple):
    """One tied parameter: its name, compiled expression and bounds."""

    name: str
    expr: CompiledExpression
    lower: float
    upper: float


class _Sink:
    """Where generated code writes ``<par:NAME>._value`` when no Parameter may change
    (:meth:`ParameterMap.values`)."""

    __slots__ = ("_value",)


_SINK = _Sink()  # written, never read: harmless to share between threads


def _slot(name: str) -> str:
    return f"<par:{name}>"


# ---------------------------------------------------------------------- structure
def _tie(name: str, par: Parameter) -> Tie:
    return Tie(name, par.compiled_expr, par.min, par.max)


def _in_order(params: Parameters, ties: tuple[Tie, ...]) -> tuple[Tie, ...]:
    """``ties`` of ``params`` in evaluation order.  The other names an expression may
    read: the parameters not among ``ties`` (whose values are given, held ones
    included), the user symbols and the default symbols."""
    if not ties:
        return ()
    tied = {tie.name for tie in ties}
    known = frozenset(n for n in params if n not in tied).union(params.symbols.user_symbols())
    return ordered_ties(ties, known)


def ties_of(params: Parameters) -> tuple[Tie, ...]:
    """The ties of ``params`` in evaluation order (empty when nothing is tied).

    Raises
    ------
    ExpressionError
        For an unknown name or a cycle (see ``evaluation_order``).
    """
    return _in_order(params, tuple(_tie(name, par) for name, par in params.items()
                                   if par.compiled_expr is not None))


@functools.lru_cache(maxsize=256)
def ordered_ties(ties: tuple[Tie, ...], known: frozenset[str]) -> tuple[Tie, ...]:
    """``ties`` (in insertion order) put in dependency order; ``known``: the other names
    an expression may read (untied parameters, user symbols).  Cached by structure."""
    by_name = {tie.name: tie for tie in ties}
    return tuple(by_name[name] for name in
                 evaluation_order({tie.name: tie.expr for tie in ties}, known))


# ---------------------------------------------------------------------- code
def _store(name: str, value: ast.expr, slot: bool) -> ast.Assign:
    """``name = <par:name>._value = value`` (``slot``) or ``name = value``."""
    targets: list[ast.expr] = [ast.Name(name, ast.Store())]
    if slot:
        targets.append(ast.Attribute(ast.Name(_slot(name), ast.Load()), "_value", ast.Store()))
    return ast.Assign(targets=targets, value=value)


def _clip_statements(tie: Tie) -> list[ast.stmt]:
    """``if t > max: t = <par:t>._value = max`` and the same for ``min``: with
    ``min <= max``, exactly ``min(max(t, lo), hi)`` where ``t`` is outside (NaN stays)."""
    out = []
    for bound, op in ((tie.upper, ast.Gt()), (tie.lower, ast.Lt())):
        if math.isfinite(bound):
            test = ast.Compare(ast.Name(tie.name, ast.Load()), [op], [ast.Constant(bound)])
            out.append(ast.If(test, [_store(tie.name, ast.Constant(bound), True)], []))
    return out


def _bounded(tie: Tie) -> bool:
    return math.isfinite(tie.lower) or math.isfinite(tie.upper)


@functools.lru_cache(maxsize=256)
def scalar_code(free_names: tuple[str, ...], ties: tuple[Tie, ...]) -> types.CodeType:
    """The code of :meth:`ParameterMap.set_values`: for free ``a`` at position ``i`` and
    tied ``d``, on lines ``i + 1`` and ``n_free + k + 1`` (tie ``k``)::

        a = <par:a>._value = <x>[i]
        d = <par:d>._value = <float>(<expression of d>)
        if d > <max of d>: d = <par:d>._value = <max of d>     # same line as d
        if d < <min of d>: d = <par:d>._value = <min of d>

    ``<x>`` is the free vector as a list, ``<par:a>`` the Parameter (or a sink).  With
    no free names it is the tie rule alone, run on values already in the namespace.
    """
    body: list[tuple[int, ast.stmt]] = []
    for i, name in enumerate(free_names):
        item = ast.Subscript(ast.Name(_X, ast.Load()), ast.Constant(i), ast.Load())
        body.append((i + 1, _store(name, item, True)))
    for k, tie in enumerate(ties, start=len(free_names) + 1):
        value = ast.Call(ast.Name(FLOAT_HELPER, ast.Load()), [expression_tree(tie.expr)], [])
        body.append((k, _store(tie.name, value, True)))
        body.extend((k, statement) for statement in _clip_statements(tie))
    return _compile(body, _SCALAR_FILE)


@functools.lru_cache(maxsize=256)
def array_code(ties: tuple[Tie, ...]) -> types.CodeType:
    """The tie rule for arrays (the batch): tie ``k`` on line ``k + 1``::

        d = <array>(<expression of d>, <shape>)
        d = <clip>(d, <min of d>, <max of d>)      # bounded ties only, same line as d
    """
    body: list[tuple[int, ast.stmt]] = []
    for k, tie in enumerate(ties, start=1):
        value = ast.Call(ast.Name(_ARRAY, ast.Load()),
                         [expression_tree(tie.expr), ast.Name(_SHAPE, ast.Load())], [])
        body.append((k, _store(tie.name, value, False)))
        if _bounded(tie):
            value = ast.Call(ast.Name(_CLIP, ast.Load()), [
                ast.Name(tie.name, ast.Load()), ast.Constant(tie.lower),
                ast.Constant(tie.upper)], [])
            body.append((k, _store(tie.name, value, False)))
    return _compile(body, _ARRAY_FILE)


def _compile(body: list[tuple[int, ast.stmt]], filename: str) -> types.CodeType:
    """Compile ``(line, statement)`` pairs; a failing statement's line names its tie."""
    for line, statement in body:
        at_line(statement, line)
    return compile(ast.Module(body=[statement for _, statement in body], type_ignores=[]),
                   filename, "exec")


def _as_batch(value: Any, shape: tuple[int, ...]) -> np.ndarray:
    """A tied value as a float64 array of the batch's shape."""
    value = np.asarray(value, dtype=float)
    if value.shape != shape:
        value = np.broadcast_to(value, shape).copy()
    return value


def _run(code: types.CodeType, ns: dict, ties: tuple[Tie, ...], first_tie_line: int) -> None:
    """``exec(code, ns)``; an evaluation failure becomes an error naming the tie."""
    try:
        exec(code, ns)  # noqa: S102  (generated from validated trees)
    except EVALUATION_ERRORS as exc:
        raise _tie_error(exc, code, ties, first_tie_line) from exc


def _tie_error(exc: BaseException, code: types.CodeType, ties: tuple[Tie, ...],
               first_tie_line: int) -> ExpressionEvaluationError:
    """The error naming the tie whose statement raised ``exc`` (from its line)."""
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code is code:
            line = tb.tb_lineno
        tb = tb.tb_next
    index = 0 if line is None else min(max(line - first_tie_line, 0), len(ties) - 1)
    tie = ties[index]
    return evaluation_error(tie.expr, tie.name, exc)


def _namespace(params: Parameters) -> dict:
    """User symbols and every stored value (``_value``: reading ``value`` of a tied
    parameter would evaluate its tie, which is what the caller is about to do)."""
    ns = make_namespace(params.symbols.user_symbols())
    for name, par in params.items():
        ns[name] = par._value
    return ns


# ---------------------------------------------------------------------- Parameters
def update_ties(params: Parameters) -> tuple[Tie, ...]:
    """Evaluate every tie of ``params`` from the current values and store the results
    (``Parameters.update_constraints``); returns the ties evaluated, in order.

    Raises
    ------
    ExpressionError
        For unknown names and cycles.
    ExpressionEvaluationError
        When an evaluation fails; the message names the tie.
    """
    ties = _in_order(params, tuple(_tie(name, par) for name, par in params.items()
                                   if _live(params, par)))
    if ties:
        _store_ties(params, ties)
    return ties


def _live(params: Parameters, par: Parameter) -> bool:
    """Whether ``par`` is a tie evaluated from ``params``: tied and not held (a profile
    fit's :class:`ParameterMap` detaches a held tied parameter, whose held value is
    then a given value for the ties reading it)."""
    return par.compiled_expr is not None and getattr(par, "_owner", params) is params


def _store_ties(params: Parameters, ties: tuple[Tie, ...]) -> None:
    ns = _namespace(params)
    for tie in ties:
        ns[_slot(tie.name)] = params[tie.name]
    _run(scalar_code((), ties), ns, ties, 1)


def evaluate_tie(params: Parameters, par: Parameter) -> tuple[Tie, ...]:
    """Evaluate the tie ``par`` and the ties it reads, from the current values of
    ``params``, and store them (``Parameters.add``, reading a tied value: the other ties
    may not all be evaluable); returns the ties evaluated, in order.  The ties ``par``
    reads are evaluated again, each clipped as it is evaluated, as in :func:`update_ties`.

    Raises
    ------
    ExpressionError, ExpressionEvaluationError
        As :func:`update_ties`, for ``par`` and the ties it reads.
    """
    tied = {name: p for name, p in params.items() if _live(params, p)}
    needed, pending = set(), [par.name]
    while pending:
        name = pending.pop()
        if name not in needed:
            needed.add(name)
            pending.extend(n for n in tied[name].compiled_expr.names if n in tied)
    ties = _in_order(params, tuple(_tie(n, p) for n, p in tied.items() if n in needed))
    _store_ties(params, ties)
    return ties


# ---------------------------------------------------------------------- the map
#: Keys of every namespace :func:`make_namespace` builds that are interned strings
_INTERNED_DEFAULT_KEYS = frozenset(key for key in make_namespace() if sys.intern(key) is key)


class ParameterMap:
    """The map from a free vector to every parameter value of one Parameters object.

    Parameters
    ----------
    params : Parameters
        Classified once: free (``vary``, not fixed by equal bounds, no ``expr``), tied
        (``expr``; in evaluation order) and fixed (the rest, and ``held``).
    held : mapping, optional
        ``{name: value}`` of parameters held at ``value`` here only (profile fits, on a
        copy of the user's Parameters): their ``_value`` is set, the Parameter objects
        keep ``vary``; a held tied parameter stops evaluating its ``expr`` when read
        (it is detached from its Parameters' live tied values).

    Attributes
    ----------
    free_params, tied_params : list of Parameter
    free_names, tied_names, fixed_names : list of str
        ``fixed_names``: neither free nor tied, in Parameters order (held ones included).
    held_names : tuple of str
    ties : tuple of Tie
    x0, lower, upper : ndarray, shape (n,)
        Start values and bounds of the free parameters.
    """

    def __init__(self, params: Parameters, *, held: Mapping[str, float] | None = None):
        held = dict(held or {})
        free: list[Parameter] = []
        tied: dict[str, Parameter] = {}
        fixed: list[str] = []
        for name, par in params.items():
            if name in held:
                par._value = float(held[name])
                if par.compiled_expr is not None:
                    par._owner = None  # a held tie reads its held value, not its expr
                fixed.append(name)
            elif par.compiled_expr is not None:
                tied[name] = par
            elif par.vary and not par.is_fixed:
                free.append(par)
            else:
                fixed.append(name)
        self.params = params
        self.held_names = tuple(held)
        self.free_params = free
        self.free_names = [p.name for p in free]
        self.fixed_names = fixed
        self.ties = _in_order(params, tuple(_tie(n, p) for n, p in tied.items()))
        self.tied_params = [tied[tie.name] for tie in self.ties]
        self.tied_names = [tie.name for tie in self.ties]
        self.x0 = np.array([p._value for p in free], dtype=float)
        self.lower = np.array([p.min for p in free], dtype=float)
        self.upper = np.array([p.max for p in free], dtype=float)
        ns = _namespace(params)
        for par in (*free, *self.tied_params):
            ns[_slot(par.name)] = par
        ns[_X] = []
        self._code = scalar_code(tuple(self.free_names), self.ties)
        # Interned keys: the code's names are interned, so every name it reads or
        # writes is then found by identity (equal strings made elsewhere, say by an
        # earlier Parameters with the same names, would need a comparison each time).
        # The default symbols' keys are interned already (a key equal to one of them
        # keeps that key object): only the others need sys.intern.
        self._ns = {key if key in _INTERNED_DEFAULT_KEYS else sys.intern(key): value
                    for key, value in ns.items()}
        self._first_tie_line = len(free) + 1
        self._exact: CompiledAssignmentDerivatives | None = None
        self._exact_ns: dict = {}

    @property
    def nvarys(self) -> int:
        """Number of free parameters, n."""
        return len(self.free_params)

    # ------------------------------------------------------------------ hot path
    def set_values(self, x: np.ndarray) -> None:
        """Write the free vector ``x`` (n,) and every tied value into the Parameters.

        Raises
        ------
        ExpressionEvaluationError
            Naming the tie whose evaluation failed.
        """
        ns = self._ns
        ns["<x>"] = x.tolist()  # a literal: no global lookup on the hot path (== _X)
        try:
            exec(self._code, ns)  # noqa: S102  (generated from validated trees)
        except EVALUATION_ERRORS as exc:
            raise _tie_error(exc, self._code, self.ties, self._first_tie_line) from exc

    def set_start(self) -> None:
        """:meth:`set_values` at :attr:`x0`, the free values of the Parameters: every tie
        is then its expression at the current values, so the live tied parameters are
        marked current (``_seen``, issue 15) and a read of ``value`` before anything
        changes does not evaluate them again (the user's first residual call would)."""
        self.set_values(self.x0)
        stamp = CHANGES[0]
        for par in self.tied_params:
            if par._owner is self.params:
                par._seen = stamp

    def set_held(self, name: str, value: float) -> None:
        """Change the value of a held (or fixed) parameter ``name``."""
        value = float(value)
        self.params[name]._value = value
        self._ns[name] = value

    # ------------------------------------------------------------------ values
    def values(self, x: np.ndarray, fixed: np.ndarray | None = None) -> dict[str, Any]:
        """Every parameter's value at free vector ``x``; the Parameters are not changed.

        Parameters
        ----------
        x : ndarray, shape (n,) or (n, B)
            Free values (for B datasets: one column each).
        fixed : ndarray, shape (K,) or (K, B), optional
            Values of the :attr:`fixed_names` parameters; by default those the map
            was built with (or last given by :meth:`set_held`).

        Returns
        -------
        dict
            ``{name: value}`` in Parameters order: floats for ``x`` of shape (n,),
            arrays of shape (B,) for ``x`` of shape (n, B) (a fixed value given as a
            scalar stays one).
        """
        x = np.asarray(x, dtype=float)
        ns = dict(self._ns)
        if x.ndim == 1:
            for par in (*self.free_params, *self.tied_params):
                ns[_slot(par.name)] = _SINK
            if fixed is not None:
                ns.update(zip(self.fixed_names, np.asarray(fixed, dtype=float).tolist()))
            ns[_X] = x.tolist()
            _run(self._code, ns, self.ties, self._first_tie_line)
        else:
            ns.update(zip(self.free_names, x))
            if fixed is not None:
                ns.update(zip(self.fixed_names, fixed))
            ns[_ARRAY], ns[_CLIP], ns[_SHAPE] = _as_batch, np.clip, x.shape[1:]
            with np.errstate(all="ignore"):
                _run(array_code(self.ties), ns, self.ties, 1)
        return {name: ns[name] for name in self.params}

    def tied_values(self, x: np.ndarray, fixed: np.ndarray | None = None) -> np.ndarray:
        """The tied values at ``x``, shape (T,) or (T, B), in :attr:`tied_names` order."""
        values = self.values(x, fixed)
        return np.array([values[name] for name in self.tied_names], dtype=float)

    # ------------------------------------------------------------------ chain rule
    def tied_jacobian(self, x: np.ndarray, fixed: np.ndarray | None = None) -> np.ndarray:
        """``d(tied values)/d(free values)``, exact; the Parameters are not changed.

        Shape (T, n) for ``x`` of shape (n,), (T, n, B) for (n, B).  The partials are
        those of the tie expressions by the chain rule through earlier ties
        (:func:`~paramfit.core.expressions.derivatives.differentiate_assignments`), with
        the tie rule's clipping written in (``min(max(expr, min), max)``): a row is 0
        where its tie is clipped.  A partial with no exact form (a user function
        without a declared derivative, a comparison used as a value), or one that is
        not finite or cannot be evaluated at ``x``, is a central difference
        (:meth:`tied_differences`), that entry only.
        """
        x = np.asarray(x, dtype=float)
        out = np.zeros((len(self.ties), *x.shape))
        if not self.ties:
            return out
        exact = self._tie_derivatives()
        if exact is None:
            return self.tied_differences(x, fixed)
        ns = dict(self._exact_ns)
        ns.update((name, self._ns[name]) for name in self.fixed_names)
        ns.update(zip(self.free_names, x.tolist() if x.ndim == 1 else x))
        if fixed is not None:
            ns.update(zip(self.fixed_names, fixed.tolist() if np.ndim(fixed) == 1
                          else fixed))
        try:
            with np.errstate(all="ignore"):
                _, partials = exact.evaluate(ns)
        except EVALUATION_ERRORS:
            return self.tied_differences(x, fixed)
        missing = np.zeros(out.shape[:2], dtype=bool)
        for i, row in enumerate(partials):
            for j, partial in enumerate(row):
                if partial is None:
                    missing[i, j] = True
                else:
                    out[i, j] = partial
        bad = missing | ~np.isfinite(out).reshape(*missing.shape, -1).all(axis=-1)
        if bad.any():
            out[bad] = self.tied_differences(x, fixed)[bad]
        return out

    def _tie_derivatives(self) -> CompiledAssignmentDerivatives | None:
        """The tie rule and its exact partials as one code object, built at first use;
        None where the derivative code cannot be built (then every entry is a
        difference)."""
        if self._exact is None and not self._exact_ns:
            user = self.params.symbols.user_symbols()
            items = [(tie.name, _clipped_source(tie)) for tie in self.ties]
            try:
                self._exact = differentiate_assignments(items, self.free_names,
                                                        symbols=user)
            except ExpressionError:
                # e.g. code the derivative engine refuses to emit (a ``**`` on a tie
                # substituted into another tie); differences remain correct
                self._exact_ns = {"<unavailable>": True}
                return None
            ns = self._exact.namespace(user)
            ns[_ENGINE_FLOAT] = _as_float
            self._exact_ns = ns
        return self._exact

    def tied_differences(self, x: np.ndarray, fixed: np.ndarray | None = None) -> np.ndarray:
        """``d(tied values)/d(free values)`` by central differences of the tie rule
        (shapes as :meth:`tied_jacobian`).

        The step is :func:`tie_steps` (``TIE_STEP * max(|x|, 1)``); the error is about
        ``2e-10 (|t| / max(|x|, 1) + |dt/dx|)`` (see :data:`TIE_STEP`).  A tie clipped
        to a bound on both sides of the step has derivative 0; within a step of a
        bound the quotient is that of the clipped values.
        """
        x = np.asarray(x, dtype=float)
        out = np.zeros((len(self.ties), *x.shape))
        if not self.ties:
            return out
        h = tie_steps(x)
        for j in range(x.shape[0]):
            xp = x.copy()
            xp[j] = x[j] + h[j]
            up = self.tied_values(xp, fixed)
            xp[j] = x[j] - h[j]
            down = self.tied_values(xp, fixed)
            out[:, j] = (up - down) / (2.0 * h[j])
        return out


_ENGINE_FLOAT = "<f:float>"
"""The name under which derivative code calls ``float`` (the tie rule's ``float(expr)``)."""


def _as_float(value: Any) -> Any:
    """``float`` for the derivative code of the ties, elementwise for the batch's arrays
    (as the tie rule's ``<array>`` there)."""
    if isinstance(value, np.ndarray):
        return np.asarray(value, dtype=float)
    return float(value)


def _clipped_source(tie: Tie) -> str:
    """The tie's expression with the tie rule's clipping written in:
    ``min(max(expr, lower), upper)`` (finite bounds only)."""
    source = tie.expr.source
    if math.isfinite(tie.lower):
        source = f"max({source}, {tie.lower!r})"
    if math.isfinite(tie.upper):
        source = f"min({source}, {tie.upper!r})"
    return source


def tie_steps(x: np.ndarray) -> np.ndarray:
    """Central-difference steps through ties, ``TIE_STEP * max(|x|, 1)`` (see :data:`TIE_STEP`)."""
    return TIE_STEP * np.maximum(np.abs(x), 1.0)
