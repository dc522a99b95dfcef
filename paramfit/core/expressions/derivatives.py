"""Exact derivatives of safe expressions, compiled with the value into one code object.

:func:`differentiate` turns an expression of the safe language
(:mod:`paramfit.core.expressions.compiler`) and a list of variables into a
:class:`CompiledDerivatives`: ONE code object that computes the value and every partial
derivative, sharing their common subexpressions.  With array inputs (``x`` a numpy
array, the parameters scalars) the partials are the columns of the Jacobian
(:meth:`CompiledDerivatives.jacobian`).  Where a construct has no derivative (a
comparison used as a value, ``factorial``, a user function without a declared
derivative...) the partial of each variable that reaches it is reported unavailable,
with the reason (:attr:`CompiledDerivatives.unavailable`), so that a caller can fall
back to finite differences for those columns only.

How it works
------------
1. The validated syntax tree (:func:`~paramfit.core.expressions.compiler.expression_tree`,
   guarded ``**``/``<<`` in place) becomes a DAG of hash-consed nodes: structurally
   equal subexpressions are one node, so the value and all partials share them by
   construction.  Subtrees of literals are folded with the engine's own operations
   (the result is the one evaluating them would give, bit for bit).
2. Each partial is built by forward differentiation over the DAG, memoized per
   variable, through simplifying constructors (constant folding, ``x*0``, ``x*1``,
   ``x+0``, ``x-0``, ``0/x``, ``x/1``, ``x**1``, ``x**0``, double negation), so its
   size is linear in the size of the DAG.  The value itself is kept exactly as written.
3. Emission: a node needed unconditionally and used more than once (or nested deeply)
   becomes a temporary (``<t0> = ...``); a node needed only in a branch of
   ``a if c else b`` (or after the first operand of ``and``/``or``, or of a chained
   comparison) is written inline, so that branches stay lazy exactly as in the
   expression.  The last statement stores the tuple (value, partial, ...).  Temporaries,
   the engine's functions and the output have reserved names (``'<t0>'``, ``'<f:exp>'``,
   ``'<out>'``) that are not identifiers, so no parameter or user symbol can collide with
   or shadow them.
4. The generated module is checked against the whitelist of the expression language
   (plus plain assignments to reserved names) before it is compiled: no attribute
   access, no subscripts, no builtins; ``**`` and ``<<`` are Python's own operators only
   where the compiler would allow them (a name or a number raised to a small literal),
   the guarded helpers otherwise.  Its size is capped (:data:`MAX_DERIVATIVE_NODES`).

:func:`differentiate_assignments` does the same for a tie mapping: ``name = float(expr)``
for every tied parameter (the values of
:func:`~paramfit.core.expressions.compiler.compile_assignments`, bit for bit) and the
exact partials of every tied value with respect to the free ones, the chain rule through
earlier ties included.

Derivative rules, by construct (``p`` is the value of the node):

* ``+ - * /``, unary ``- +``; ``a ** b`` (constant exponent: ``b*a**(b-1)``; constant
  base: ``p*log(a)``; both: ``p*(b'*log(a) + b*a'/a)``); ``a % b`` (``a' - (a//b)*b'``);
  ``a // b``: 0 almost everywhere.
* ``a if c else b``: the derivative of each branch under the same condition.
* ``exp log(x[, base]) log10 log1p sqrt sin cos tan asin acos atan sinh cosh tanh asinh
  acosh atanh atan2 hypot pow degrees radians erf erfc gamma`` (gamma' = gamma*digamma,
  with :func:`scipy.special.psi`) and the numpy-style aliases; ``abs fabs`` (sign);
  ``copysign fmod ldexp``; ``fsum(a, b, ...)``; ``max min`` of two or more arguments
  (the derivative of the argument chosen, elementwise for arrays); ``sign floor ceil
  trunc``: 0 almost everywhere.
* No derivative (reported): comparisons, ``and``/``or``/``not`` and the bitwise
  operators used as values; ``factorial modf frexp isinf isnan``; ``max``/``min``/``fsum``
  of one argument (reductions); keyword arguments (other than ``log(x, base=b)``); a
  user function not registered as :class:`Differentiable`.

Limits: subexpressions inside a branch of ``a if c else b`` are written inline, so
they are not shared (``if``/``else`` needs scalars anyway, as in the expression).  The
derivative of ``max``/``min`` evaluates the derivatives of all arguments and selects
(``np.where`` for arrays), so an argument whose derivative is singular where it does not
win (``max(sqrt(x), 1)`` at ``x = 0``) makes the evaluation raise; so does a derivative
that is infinite where the value is finite (``sqrt(x)`` at 0).  The caller differences
such points (:meth:`CompiledDerivatives.evaluate_checked` wraps the error).

Examples
--------
>>> d = differentiate('b1*(1 - exp(-b2*x))', ['b1', 'b2'])
>>> ns = d.namespace()
>>> ns.update(b1=2.0, b2=0.5, x=1.0)
>>> value, (d_b1, d_b2) = d.evaluate(ns)
>>> round(value, 12), round(d_b1, 12), round(d_b2, 12)
(0.786938680575, 0.393469340287, 1.213061319425)
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

import numpy as np

from paramfit.core.exceptions import ExpressionError, ExpressionEvaluationError
from paramfit.core.expressions._derivative_engine import (
    OUTPUT_NAME,
    Differentiable,
    _user_symbols,
    derivative_namespace,
    install_derivative_helpers,
)
from paramfit.core.expressions._derivative_rules import (
    NON_DIFFERENTIABLE_FUNCTIONS,
    _Derivative,
    _NoDerivative,
    differentiable_functions,
)
from paramfit.core.expressions._emit import _check_generated, _Emitter, _inline_size
from paramfit.core.expressions._graph import _Builder, _Graph
from paramfit.core.expressions.compiler import (
    CompiledExpression,
    compile_expression,
    expression_tree,
)
from paramfit.core.expressions.symbols import _check_symbol_name

__all__ = [
    "MAX_DERIVATIVE_NODES",
    "CompiledAssignmentDerivatives",
    "CompiledDerivatives",
    "Differentiable",
    "NON_DIFFERENTIABLE_FUNCTIONS",
    "derivative_namespace",
    "install_derivative_helpers",
    "derivative_tree",
    "differentiable_functions",
    "differentiate",
    "differentiate_assignments",
]

MAX_DERIVATIVE_NODES = 20000
"""Largest generated code (syntax nodes, counted as the compiler counts them) that
:func:`differentiate` accepts; 20x the largest expression, far above what the formulas
of the NIST StRD need (under 400)."""


# --------------------------------------------------------------------------- public API
class _DerivativeCode:
    """What both kinds of compiled derivatives share: the code and its namespace."""

    __slots__ = ("variables", "code", "listing", "size", "temporaries", "_symbols",
                 "_max_nodes")

    def __init__(self, label: str, variables: tuple[str, ...], module: ast.Module,
                 temporaries: int, symbols: dict[str, object], max_nodes: int):
        self.variables = variables
        self.listing = ast.unparse(module)
        self.size = sum(1 for node in ast.walk(module) if not isinstance(node, ast.expr_context))
        self.temporaries = temporaries
        self.code = compile(module, f"<derivatives of {label[:60]!r}>", "exec")
        self._symbols = symbols
        self._max_nodes = max_nodes

    def namespace(self, symbols: Mapping[str, object] | None = None) -> dict:
        """A namespace to evaluate in (:func:`derivative_namespace`); by default with the
        user symbols given when building.  Add the variable values to it."""
        return derivative_namespace(self._symbols if symbols is None else symbols)

    def _run(self, namespace: dict) -> tuple:
        exec(self.code, namespace)
        return namespace[OUTPUT_NAME]


class CompiledDerivatives(_DerivativeCode):
    """The value and partial derivatives of an expression, as one code object.

    Build one with :func:`differentiate`.

    Attributes
    ----------
    source : str
        The expression.
    variables : tuple of str
        The variables, in the order of the partials.
    unavailable : mapping of str to str
        Variable -> why its partial has no exact form (the caller differences it).
        Their partials come back as ``None`` from :meth:`evaluate`.
    structural_zeros : frozenset of str
        Variables whose partial is identically 0 (absent from the expression, or only
        in ``floor``, ``sign``, ``//``...).
    code : types.CodeType
        The compiled module (mode ``'exec'``).
    listing : str
        The generated code as Python text (for reading; never evaluated).
    size : int
        Syntax nodes of the generated code, counted as the compiler counts them.
    temporaries : int
        Number of shared temporaries.
    """

    __slots__ = ("source", "unavailable", "structural_zeros")

    def __init__(self, source: str, variables: tuple[str, ...], unavailable: dict[str, str],
                 structural_zeros: frozenset[str], module: ast.Module, temporaries: int,
                 symbols: dict[str, object], max_nodes: int):
        super().__init__(source, variables, module, temporaries, symbols, max_nodes)
        self.source = source
        self.unavailable = MappingProxyType(unavailable)
        self.structural_zeros = structural_zeros

    def evaluate(self, namespace: dict) -> tuple[Any, tuple[Any, ...]]:
        """Run the code: ``(value, partials)``, one partial per variable, ``None`` where
        unavailable.  A partial may be a scalar where the value is an array (a partial
        that does not vary with the data, such as that of an additive constant).

        Errors are not wrapped (for speed; see :meth:`evaluate_checked`).  The
        namespace must come from :meth:`namespace` or :func:`derivative_namespace`.
        """
        out = self._run(namespace)
        return out[0], out[1:]

    def evaluate_checked(self, namespace: dict) -> tuple[Any, tuple[Any, ...]]:
        """:meth:`evaluate`, with arithmetic and name failures raised as
        :class:`~paramfit.core.exceptions.ExpressionEvaluationError`."""
        try:
            return self.evaluate(namespace)
        except (ArithmeticError, ValueError, TypeError, NameError) as exc:
            raise ExpressionEvaluationError(
                f"evaluating the value and derivatives of expression {self.source!r:.120} "
                f"failed: {type(exc).__name__}: {exc}") from exc

    def jacobian(self, namespace: dict) -> tuple[Any, np.ndarray]:
        """``(value, J)`` with ``J[..., j]`` the partial with respect to
        ``variables[j]``, broadcast to the shape of the value (``J`` has shape
        ``value.shape + (len(variables),)``; ``(len(variables),)`` for a scalar value).
        Unavailable columns are NaN.
        """
        value, partials = self.evaluate(namespace)
        present = [p for p in partials if p is not None]
        dtype = np.result_type(value, *present, 1.0)
        if not isinstance(value, np.ndarray):
            return value, np.array([np.nan if p is None else p for p in partials], dtype=dtype)
        jacobian = np.empty(value.shape + (len(partials),), dtype=dtype)
        for column, partial in enumerate(partials):
            jacobian[..., column] = np.nan if partial is None else partial
        return value, jacobian

    def __reduce__(self):
        return (_rebuild, (self.source, self.variables, self._symbols, self._max_nodes))

    def __repr__(self) -> str:
        return (f"CompiledDerivatives({self.source!r}, variables={self.variables!r}, "
                f"unavailable={sorted(self.unavailable)!r}, size={self.size})")


def _source_and_tree(expression: str | CompiledExpression | ast.expr) -> tuple[str, ast.expr]:
    if isinstance(expression, ast.expr):
        return ast.unparse(expression), expression
    compiled = (expression if isinstance(expression, CompiledExpression)
                else compile_expression(expression))
    return compiled.source, expression_tree(compiled)


def _check_variables(variables: Sequence[str]) -> tuple[str, ...]:
    if isinstance(variables, str):
        variables = (variables,)
    variables = tuple(variables)
    for name in variables:
        _check_symbol_name(name)
    if len(set(variables)) != len(variables):
        raise ExpressionError(f"variables to differentiate with respect to repeat a name: "
                              f"{list(variables)!r}")
    return variables


def _derivatives(graph: _Graph, value: int, variables: tuple[str, ...],
                 user: Mapping[str, object]) -> tuple[list[int | None], dict[str, str]]:
    roots: list[int | None] = []
    unavailable: dict[str, str] = {}
    for variable in variables:
        try:
            roots.append(_Derivative(graph, variable, user).of(value))
        except _NoDerivative as exc:
            roots.append(None)
            unavailable[variable] = str(exc)
    return roots, unavailable


def differentiate(
    expression: str | CompiledExpression,
    variables: Sequence[str],
    *,
    symbols: Mapping[str, object] | None = None,
    max_nodes: int = MAX_DERIVATIVE_NODES,
) -> CompiledDerivatives:
    """Compile the value and the partial derivatives of an expression into one code object.

    Parameters
    ----------
    expression : str or CompiledExpression
        An expression of the safe language (validated by
        :func:`~paramfit.core.expressions.compiler.compile_expression`).
    variables : sequence of str
        The names to differentiate with respect to (parameters); every other name is a
        constant (data such as ``x``, fixed parameters, ``pi``).
    symbols : mapping, optional
        The user symbols (a :class:`SymbolTable` or a dict) the expression will be
        evaluated with.  A user symbol shadowing an engine function is a user function;
        a :class:`Differentiable` one is differentiated through its declared
        derivatives.  Build again when the symbols change.
    max_nodes : int, optional
        Largest generated code accepted, in syntax nodes.

    Returns
    -------
    CompiledDerivatives
        The code, the variables, and which partials are unavailable and why.

    Raises
    ------
    ExpressionError
        If the expression is invalid, a variable name is not an identifier or repeats,
        a variable is called as a function, or the generated code would exceed
        ``max_nodes`` syntax nodes.

    Examples
    --------
    >>> d = differentiate('a * (x > a) + b * x', ['a', 'b'])
    >>> dict(d.unavailable)
    {'a': 'a comparison (>) used as a value has no derivative'}
    >>> ns = d.namespace()
    >>> ns.update(a=2.0, b=3.0, x=1.5)
    >>> d.evaluate(ns)
    (4.5, (None, 1.5))
    """
    source, tree = _source_and_tree(expression)
    variables = _check_variables(variables)
    user = _user_symbols(symbols)
    graph = _Graph()
    value = _Builder(graph, frozenset(variables), user).build(tree)
    roots, unavailable = _derivatives(graph, value, variables, user)
    zeros = frozenset(v for v, r in zip(variables, roots, strict=True)
                      if r is not None and graph.is_zero(r))
    emitter = _Emitter(graph, [value, *roots], max_nodes)
    module = emitter.module()
    temporaries = frozenset(emitter.temporary.values())
    _check_generated(module, temporaries)
    return CompiledDerivatives(source, variables, unavailable, zeros, module,
                               len(temporaries), user, max_nodes)


def _rebuild(source: str, variables: tuple[str, ...], symbols: dict[str, object],
             max_nodes: int) -> CompiledDerivatives:
    """Unpickle: differentiate again (code objects do not pickle)."""
    return differentiate(source, variables, symbols=symbols, max_nodes=max_nodes)


def derivative_tree(
    tree: ast.expr | str | CompiledExpression,
    name: str,
    *,
    symbols: Mapping[str, object] | None = None,
    max_nodes: int = MAX_DERIVATIVE_NODES,
) -> ast.expr:
    """The simplified derivative of an expression with respect to one variable, as one
    expression tree (no temporaries; common subexpressions are written out).

    Parameters
    ----------
    tree : ast.expr, str or CompiledExpression
        A validated tree from :func:`~paramfit.core.expressions.compiler.expression_tree`
        (guarded ``**``/``<<`` in place), or an expression to compile.
    name : str
        The variable.
    symbols : mapping, optional
        The user symbols, as for :func:`differentiate`.
    max_nodes : int, optional
        Largest accepted tree, in syntax nodes.

    Returns
    -------
    ast.expr
        Its engine functions have reserved names: evaluate it (``compile(ast.Expression(
        tree), ...)``) in a namespace from :func:`derivative_namespace`.

    Raises
    ------
    ExpressionError
        If the derivative is unavailable (the message says why) or too large.

    Examples
    --------
    >>> ast.unparse(derivative_tree('b1*exp(-b2*x)', 'b2'))
    '-(b1 * (x * <f:exp>(-b2 * x)))'
    """
    source, tree = _source_and_tree(tree)
    (name,) = _check_variables((name,))
    user = _user_symbols(symbols)
    graph = _Graph()
    value = _Builder(graph, frozenset((name,)), user).build(tree)
    roots, unavailable = _derivatives(graph, value, (name,), user)
    if name in unavailable:
        raise ExpressionError(f"the derivative of expression {source!r:.120} with respect to "
                              f"{name!r} is not available: {unavailable[name]}")
    if _inline_size(graph, roots[0]) > max_nodes:
        raise ExpressionError(f"the derivative of expression {source!r:.120} with respect to "
                              f"{name!r} has more than {max_nodes} syntax nodes written out; "
                              "use differentiate(), which shares common subexpressions")
    emitter = _Emitter(graph, roots, max_nodes)
    emitter.temporary.clear()  # one tree: everything inline
    return ast.fix_missing_locations(emitter.expression(roots[0]))


class CompiledAssignmentDerivatives(_DerivativeCode):
    """Tied values and their exact partials with respect to the free variables, as one
    code object: the derivative counterpart of
    :func:`~paramfit.core.expressions.compiler.compile_assignments`.

    Build one with :func:`differentiate_assignments`.  Running it stores
    ``name = float(expression)`` for every item in the namespace, exactly as
    ``compile_assignments`` does (the same values, bit for bit), and returns the partials
    of every item with respect to every variable, the chain rule through earlier items
    included.

    Attributes
    ----------
    names : tuple of str
        The assigned names, in evaluation order (the rows).
    variables : tuple of str
        The free variables (the columns).
    unavailable : mapping of (str, str) to str
        ``(name, variable)`` -> why that partial has no exact form.
    code, listing, size, temporaries
        As for :class:`CompiledDerivatives`.
    """

    __slots__ = ("names", "sources", "unavailable")

    def __init__(self, names: tuple[str, ...], sources: tuple[str, ...],
                 variables: tuple[str, ...], unavailable: dict[tuple[str, str], str],
                 module: ast.Module, temporaries: int, symbols: dict[str, object],
                 max_nodes: int):
        super().__init__(", ".join(names), variables, module, temporaries, symbols, max_nodes)
        self.names = names
        self.sources = sources
        self.unavailable = MappingProxyType(unavailable)

    def evaluate(self, namespace: dict) -> tuple[tuple[float, ...], tuple[tuple, ...]]:
        """Run the code: ``(values, partials)`` with ``partials[i][j]`` the partial of
        ``names[i]`` with respect to ``variables[j]`` (``None`` where unavailable); the
        values are also stored in ``namespace`` under their names."""
        out = self._run(namespace)
        m, k = len(self.names), len(self.variables)
        return out[:m], tuple(out[m + i * k: m + (i + 1) * k] for i in range(m))

    def jacobian(self, namespace: dict) -> tuple[np.ndarray, np.ndarray]:
        """``(values, J)``: arrays of shapes ``(len(names),)`` and
        ``(len(names), len(variables))``; unavailable entries are NaN."""
        out = self._run(namespace)
        m, k = len(self.names), len(self.variables)
        jacobian = np.array([np.nan if p is None else p for p in out[m:]], dtype=float)
        return np.array(out[:m], dtype=float), jacobian.reshape(m, k)

    def __reduce__(self):
        return (_rebuild_assignments, (tuple(zip(self.names, self.sources, strict=True)),
                                       self.variables, self._symbols, self._max_nodes))

    def __repr__(self) -> str:
        return (f"CompiledAssignmentDerivatives(names={self.names!r}, "
                f"variables={self.variables!r}, size={self.size})")


def differentiate_assignments(
    items: Sequence[tuple[str, str | CompiledExpression]],
    variables: Sequence[str],
    *,
    symbols: Mapping[str, object] | None = None,
    max_nodes: int = MAX_DERIVATIVE_NODES,
) -> CompiledAssignmentDerivatives:
    """Compile ``name = float(expression)`` for every item together with the exact
    partials of every item with respect to ``variables``.

    An item may read the names of earlier items: their expressions are substituted
    (shared, not copied), so the partials follow the chain rule exactly.  This is what
    a tie mapping needs: the tied values and ``d tied / d free`` in one call.  Clipping
    to bounds, if the mapping applies it, can be written into the expression
    (``min(max(expr, lo), hi)``: partial 0 where clipped).

    Parameters
    ----------
    items : sequence of (str, str or CompiledExpression)
        Names and expressions, in evaluation order (see
        :func:`~paramfit.core.expressions.compiler.evaluation_order`).
    variables : sequence of str
        The free variables.
    symbols : mapping, optional
        The user symbols, as for :func:`differentiate`.
    max_nodes : int, optional
        Largest generated code accepted, in syntax nodes.

    Returns
    -------
    CompiledAssignmentDerivatives

    Raises
    ------
    ExpressionError
        As :func:`differentiate`; also when a name is assigned twice or is a variable.

    Examples
    --------
    >>> d = differentiate_assignments([('b', '2*a'), ('c', 'b*b + a')], ['a'])
    >>> ns = d.namespace()
    >>> ns['a'] = 1.5
    >>> d.evaluate(ns)
    ((3.0, 10.5), ((2,), (13.0,)))
    >>> ns['c']
    10.5
    """
    items = tuple(items)
    if not symbols and not isinstance(variables, str) \
            and all(type(name) is str and type(source) is str for name, source in items) \
            and all(type(v) is str for v in variables):
        # without user symbols the code is a function of these strings alone: built once
        # per text (a fit's tied standard errors need it once per fit: ~150 us each)
        return _differentiate_text(items, tuple(variables), max_nodes)
    return _differentiate_assignments(items, variables, symbols=symbols, max_nodes=max_nodes)


@functools.lru_cache(maxsize=256)
def _differentiate_text(items: tuple[tuple[str, str], ...], variables: tuple[str, ...],
                        max_nodes: int) -> CompiledAssignmentDerivatives:
    """:func:`differentiate_assignments` of strings without user symbols, remembered as
    ``compiler._compile`` remembers expressions (the result is immutable; a failure is
    not remembered and raises again)."""
    return _differentiate_assignments(items, variables, symbols=None, max_nodes=max_nodes)


def _differentiate_assignments(items: Sequence[tuple[str, str | CompiledExpression]],
                               variables: Sequence[str], *,
                               symbols: Mapping[str, object] | None,
                               max_nodes: int) -> CompiledAssignmentDerivatives:
    """:func:`differentiate_assignments` itself."""
    variables = _check_variables(variables)
    names = tuple(_check_symbol_name(name) for name, _ in items)
    if len(set(names)) != len(names) or set(names) & set(variables):
        raise ExpressionError(f"assigned names must be distinct and not variables: "
                              f"names {list(names)!r}, variables {list(variables)!r}")
    user = _user_symbols(symbols)
    graph = _Graph()
    bindings: dict[str, int] = {}
    sources: list[str] = []
    for name, expression in items:
        source, tree = _source_and_tree(expression)
        sources.append(source)
        value = _Builder(graph, frozenset(variables), user, bindings).build(tree)
        bindings[name] = graph.make("call", ("float", ()), (value,))
    values = [bindings[name] for name in names]
    roots: list[int | None] = []
    unavailable: dict[tuple[str, str], str] = {}
    for name, value in zip(names, values, strict=True):
        partials, reasons = _derivatives(graph, value, variables, user)
        roots += partials
        unavailable.update(((name, variable), reason) for variable, reason in reasons.items())
    emitter = _Emitter(graph, [*values, *roots], max_nodes)
    module = emitter.module(stored=names)
    temporaries = frozenset(emitter.temporary.values())
    _check_generated(module, temporaries, frozenset(names))
    return CompiledAssignmentDerivatives(names, tuple(sources), variables, unavailable,
                                         module, len(temporaries), user, max_nodes)


def _rebuild_assignments(items: tuple[tuple[str, str], ...], variables: tuple[str, ...],
                         symbols: dict[str, object],
                         max_nodes: int) -> CompiledAssignmentDerivatives:
    """Unpickle: differentiate again (code objects do not pickle)."""
    return differentiate_assignments(items, variables, symbols=symbols, max_nodes=max_nodes)
