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
import math
import operator
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

import numpy as np

from paramfit.core.exceptions import ExpressionError, ExpressionEvaluationError
from paramfit.core.expressions.compiler import (
    MAX_LITERAL_EXPONENT,
    MAX_LITERAL_SHIFT,
    CompiledExpression,
    compile_expression,
    expression_tree,
)
from paramfit.core.expressions.functions import (
    _SCALAR_TYPES,
    FUNCTIONS,
    LSHIFT_HELPER,
    POWER_HELPER,
    _lazy,
    _special,
    _unary,
    guarded_lshift,
    guarded_power,
)
from paramfit.core.expressions.symbols import (
    SymbolTable,
    _check_symbol_name,
    _is_dunder,
    make_namespace,
)

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
MAX_GRAPH_NODES = 200000
"""Largest number of DAG nodes built while differentiating (bounds the work before the
generated code is measured)."""
_MAX_INLINE_DEPTH = 24
"""An unconditional subexpression nested deeper than this becomes a temporary."""
_MAX_GENERATED_DEPTH = 200
"""Deepest generated expression (only inlined branches of ``if``/``else`` can get deep)."""

_MAX_FOLDED_BITS = 4096
"""Largest integer constant folding may produce."""

OUTPUT_NAME = "<out>"
_TEMP = "<t{}>"
_ENGINE = "<f:{}>"
_USER_DERIVATIVE = "<d{}:{}>"

_LN10 = math.log(10.0)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_DEGREES = math.degrees(1.0)
_RADIANS = math.radians(1.0)


# --------------------------------------------------------------------------- helpers
def _digamma_scalar(x):
    return float(_special("psi")(x))


_DIGAMMA = _unary(
    "digamma", _digamma_scalar, _lazy("psi"),
    "digamma(x): the logarithmic derivative of gamma (scipy.special.psi); derivative code "
    "only, as gamma' = gamma*digamma.",
)


def _select(condition, if_true, if_false):
    """``if_true if condition else if_false``; elementwise (``np.where``) for an array
    condition.  Both branches are already evaluated (derivatives of ``max``/``min``)."""
    if isinstance(condition, np.ndarray):
        return np.where(condition, if_true, if_false)
    return if_true if condition else if_false


def _power_log(power, base):
    """``power * log(base)``, the derivative of ``base ** b`` with respect to ``b``
    (``power = base ** b``), with its limit 0 where ``power == 0`` (``base = 0 < b``):
    a power law ``x**b`` with data ``x = 0`` gets the exact 0, not NaN."""
    if type(power) in _SCALAR_TYPES and type(base) in _SCALAR_TYPES:
        return 0.0 if power == 0 else power * math.log(base)
    # log(1) = 0 where power == 0: no log(0), no warning, no NaN
    return power * np.log(np.where(power == 0, 1, base))


def _pack(*values):
    return values


def _canonical_names() -> dict[str, str]:
    """Each function name (aliases included) -> the shortest name of the same function."""
    by_function: dict[int, list[str]] = {}
    for name, function in FUNCTIONS.items():
        by_function.setdefault(id(function), []).append(name)
    return {name: min(names, key=lambda n: (len(n), n))
            for names in by_function.values() for name in names}


_CANONICAL = _canonical_names()
_ENGINE_FUNCTIONS: Mapping[str, Callable] = MappingProxyType({
    **{name: FUNCTIONS[name] for name in set(_CANONICAL.values())},
    "digamma": _DIGAMMA, "select": _select, "pack": _pack, "float": float,
    "power_log": _power_log,
})
_ENGINE_NAMESPACE = MappingProxyType(
    {_ENGINE.format(name): function for name, function in _ENGINE_FUNCTIONS.items()})


class Differentiable:
    """A user function together with its partial derivatives, for expressions.

    Store it as a user symbol (``params.symbols['f'] = Differentiable(f, (df_dx, df_dy))``,
    or in the ``symbols`` given to :func:`differentiate`): expressions call it like
    ``f``, and :func:`differentiate` uses ``derivatives[i](*args)`` as the partial of
    ``f`` with respect to its ``i``-th argument (chain rule through the arguments).

    Parameters
    ----------
    function : callable
        The function, called with positional arguments.
    derivatives : callable or sequence of (callable or None)
        The partial derivative with respect to each positional argument, each called
        with the same arguments as ``function``; one callable for a function of one
        argument.  ``None`` marks a partial as unknown: a variable reaching ``f`` through
        that argument gets no exact derivative (and the caller differences it).

    Examples
    --------
    >>> cube = Differentiable(lambda x: x**3, lambda x: 3 * x**2)
    >>> d = differentiate('cube(2*a)', ['a'], symbols={'cube': cube})
    >>> ns = d.namespace({'cube': cube})
    >>> ns['a'] = 1.0
    >>> d.evaluate(ns)
    (8.0, (24.0,))
    """

    __slots__ = ("function", "derivatives")

    function: Callable
    derivatives: tuple[Callable | None, ...]

    def __init__(self, function: Callable, derivatives: Callable | Sequence[Callable | None]):
        if not callable(function):
            raise ExpressionError(
                f"Differentiable needs a callable function, got {type(function).__name__}")
        if callable(derivatives):
            derivatives = (derivatives,)
        derivatives = tuple(derivatives)
        for index, derivative in enumerate(derivatives):
            if derivative is not None and not callable(derivative):
                raise ExpressionError(
                    f"derivative {index} given to Differentiable is not callable "
                    f"({type(derivative).__name__}); give a function or None")
        self.function = function
        self.derivatives = derivatives

    def __call__(self, *args, **kwargs):
        return self.function(*args, **kwargs)

    def __repr__(self) -> str:
        return f"Differentiable({self.function!r}, {self.derivatives!r})"


def _user_symbols(symbols: Mapping[str, object] | None) -> dict[str, object]:
    if not symbols:
        return {}
    if isinstance(symbols, SymbolTable):
        return symbols.user_symbols()
    return dict(symbols)


def derivative_namespace(symbols: Mapping[str, object] | None = None) -> dict:
    """The namespace derivative code runs in: :func:`make_namespace` plus the engine's
    functions under reserved names and the declared derivatives of the user symbols.

    Parameters
    ----------
    symbols : mapping, optional
        The user symbols (a :class:`SymbolTable` or a dict), as given to
        :func:`differentiate`.

    Returns
    -------
    dict
        Add the values of the variables (and of every other name) before evaluating.
    """
    user = _user_symbols(symbols)
    return install_derivative_helpers(make_namespace(user), user)


def install_derivative_helpers(namespace: dict,
                               symbols: Mapping[str, object] | None = None) -> dict:
    """Add what derivative code needs to an existing namespace from :func:`make_namespace`
    (the engine's functions under reserved names, the declared derivatives of the user
    symbols), so that one namespace serves the expression and its derivatives.

    Returns
    -------
    dict
        ``namespace`` itself.  Only reserved (non-identifier) names are added.
    """
    namespace.update(_ENGINE_NAMESPACE)
    for name, value in _user_symbols(symbols).items():
        if isinstance(value, Differentiable):
            for index, derivative in enumerate(value.derivatives):
                if derivative is not None:
                    namespace[_USER_DERIVATIVE.format(index, name)] = derivative
    return namespace


# --------------------------------------------------------------------------- the DAG
class _NoDerivative(Exception):
    """Internal: why a node has no derivative with respect to the current variable."""


_BINARY_OPS = {
    ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//",
    ast.Mod: "%", ast.LShift: "<<", ast.RShift: ">>", ast.BitAnd: "&", ast.BitOr: "|",
    ast.BitXor: "^",
}
_BINARY_AST = {symbol: node for node, symbol in _BINARY_OPS.items()}
_UNARY_OPS = {ast.USub: "-", ast.UAdd: "+", ast.Invert: "~", ast.Not: "not"}
_UNARY_AST = {symbol: node for node, symbol in _UNARY_OPS.items()}
_COMPARE_OPS = {
    ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
    ast.Is: "is", ast.IsNot: "is not", ast.In: "in", ast.NotIn: "not in",
}
_COMPARE_AST = {symbol: node for node, symbol in _COMPARE_OPS.items()}
_BINARY_FOLD = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
    "//": operator.floordiv, "%": operator.mod, "<<": operator.lshift,
    "<<!": guarded_lshift, ">>": operator.rshift, "&": operator.and_, "|": operator.or_,
    "^": operator.xor,
}
_UNARY_FOLD = {"-": operator.neg, "+": operator.pos, "~": operator.invert,
               "not": operator.not_}
_NUMBER_TYPES = (int, float, complex, bool)


class _Graph:
    """Hash-consed expression DAG: node ``i`` has ``keys[i] = (kind, attr, kids)``.

    Kinds: ``num`` (attr: type name and repr; the value in ``values``), ``name``
    (attr: the identifier), ``bin`` (attr: the operator; ``'<<!'`` is the guarded
    shift), ``pow`` (attr: guarded?), ``un``, ``bool``, ``cmp`` (attr: the operators),
    ``tuple``, ``if`` (kids: test, body, orelse), ``call`` (an engine function; attr:
    canonical name and keyword names), ``ucall`` (a user function; attr: its name and
    keyword names) and ``dcall`` (attr: user function name, argument index).
    Children are created before their parents, so ids are a topological order.
    """

    def __init__(self, limit: int = MAX_GRAPH_NODES):
        self.keys: list[tuple] = []
        self.values: dict[int, object] = {}
        self.free: list[frozenset[str]] = []
        self._ids: dict[tuple, int] = {}
        self._limit = limit
        self.zero = self.num(0)
        self.one = self.num(1)

    # ---- raw nodes
    def _node(self, kind: str, attr: object, kids: tuple[int, ...], free=None) -> int:
        key = (kind, attr, kids)
        found = self._ids.get(key)
        if found is not None:
            return found
        if len(self.keys) >= self._limit:
            raise ExpressionError(
                f"differentiating needs more than {self._limit} intermediate nodes; "
                "the expression is too large to differentiate exactly (use finite "
                "differences, or split it into tied parameters)")
        index = len(self.keys)
        self.keys.append(key)
        if free is None:
            free = frozenset().union(*(self.free[k] for k in kids)) if kids else frozenset()
        self.free.append(free)
        self._ids[key] = index
        return index

    def num(self, value: object) -> int:
        # ints by value (no repr of huge ints); floats by repr (-0.0 is not 0.0, nan is nan)
        exact = value if type(value) in (int, bool) else repr(value)
        index = self._node("num", (type(value).__name__, exact), ())
        self.values[index] = value
        return index

    def name(self, ident: str) -> int:
        return self._node("name", ident, (), frozenset((ident,)))

    def kind(self, n: int) -> str:
        return self.keys[n][0]

    def is_num(self, n: int) -> bool:
        return self.keys[n][0] == "num"

    def value(self, n: int) -> object:
        return self.values[n]

    def is_const(self, n: int, constant: float) -> bool:
        if self.keys[n][0] != "num":
            return False
        value = self.values[n]
        return type(value) in (int, float) and value == constant

    def is_zero(self, n: int) -> bool:
        return self.is_const(n, 0)

    def make(self, kind: str, attr: object, kids: tuple[int, ...]) -> int:
        """A node exactly as written, with literal-only operands folded."""
        if kids and all(self.keys[k][0] == "num" for k in kids):
            folded = self._fold(kind, attr, [self.values[k] for k in kids])
            if folded is not None:
                return self.num(folded[0])
        if kind == "if" and self.is_num(kids[0]):
            return kids[1] if self.values[kids[0]] else kids[2]
        return self._node(kind, attr, kids)

    @staticmethod
    def _fold(kind: str, attr: object, values: list) -> tuple[object] | None:
        try:
            if kind == "bin":
                result = _BINARY_FOLD[attr](*values)
            elif kind == "pow":
                result = guarded_power(*values) if attr else operator.pow(*values)
            elif kind == "un":
                result = _UNARY_FOLD[attr](values[0])
            elif kind == "call":
                name, keywords = attr
                npos = len(values) - len(keywords)
                result = _ENGINE_FUNCTIONS[name](
                    *values[:npos], **dict(zip(keywords, values[npos:], strict=True)))
            else:
                return None
        except (ArithmeticError, ValueError, TypeError):
            return None  # left to run time, where it fails as the expression does
        if type(result) not in _NUMBER_TYPES:
            return None
        if type(result) is int and result.bit_length() > _MAX_FOLDED_BITS:
            return None  # computed at run time, as in the expression; keeps literals small
        return (result,)

    # ---- simplifying constructors (derivatives only)
    def add(self, a: int, b: int) -> int:
        if self.is_zero(a):
            return b
        if self.is_zero(b):
            return a
        if a == b:
            return self.mul(self.num(2), a)  # x + x == 2*x exactly
        if self.kind(b) == "un" and self.keys[b][1] == "-":
            return self.sub(a, self.keys[b][2][0])
        if self.kind(a) == "un" and self.keys[a][1] == "-":
            return self.sub(b, self.keys[a][2][0])
        return self.make("bin", "+", (a, b))

    def sub(self, a: int, b: int) -> int:
        if self.is_zero(b):
            return a
        if self.is_zero(a):
            return self.neg(b)
        if self.kind(b) == "un" and self.keys[b][1] == "-":
            return self.add(a, self.keys[b][2][0])
        return self.make("bin", "-", (a, b))

    def neg(self, a: int) -> int:
        if self.kind(a) == "un" and self.keys[a][1] == "-":
            return self.keys[a][2][0]
        return self.make("un", "-", (a,))

    def _split_sign(self, a: int) -> tuple[bool, int]:
        if self.kind(a) == "un" and self.keys[a][1] == "-":
            return True, self.keys[a][2][0]
        return False, a

    def mul(self, a: int, b: int) -> int:
        if self.is_zero(a) or self.is_zero(b):
            return self.zero
        if self.is_const(a, 1):
            return b
        if self.is_const(b, 1):
            return a
        if self.is_const(a, -1):
            return self.neg(b)
        if self.is_const(b, -1):
            return self.neg(a)
        negative_a, a = self._split_sign(a)
        negative_b, b = self._split_sign(b)
        # constants first, else the older node first (so a*b and b*a are one node):
        # IEEE multiplication commutes exactly
        if self.is_num(b) != self.is_num(a) and self.is_num(b) or (
                not self.is_num(a) and not self.is_num(b) and b < a):
            a, b = b, a
        product = self.make("bin", "*", (a, b))
        return self.neg(product) if negative_a != negative_b else product

    def div(self, a: int, b: int) -> int:
        if self.is_zero(a):
            return self.zero
        if self.is_const(b, 1):
            return a
        if self.is_const(b, -1):
            return self.neg(a)
        negative_a, a = self._split_sign(a)
        negative_b, b = self._split_sign(b)
        quotient = self.make("bin", "/", (a, b))
        return self.neg(quotient) if negative_a != negative_b else quotient

    def pw(self, a: int, b: int) -> int:
        if self.is_const(b, 0):
            return self.one
        if self.is_const(b, 1):
            return a
        native = (  # the compiler's rule: only a float/complex literal base is native
            self.kind(a) == "num" and type(self.values[a]) in (float, complex)
            and self.is_num(b)
            and type(self.values[b]) in (int, float)
            and abs(self.values[b]) <= MAX_LITERAL_EXPONENT
        )
        return self.make("pow", not native, (a, b))

    def call(self, name: str, *args: int) -> int:
        return self.make("call", (name, ()), args)


# --------------------------------------------------------------------------- source -> DAG
class _Builder:
    """Convert a validated, guarded expression tree into DAG nodes (values as written)."""

    def __init__(self, graph: _Graph, variables: frozenset[str], user: Mapping[str, object],
                 bindings: Mapping[str, int] | None = None):
        self.graph = graph
        self.variables = variables
        self.user = user
        self.bindings = bindings or {}

    def build(self, node: ast.expr) -> int:
        method = getattr(self, "_" + type(node).__name__, None)
        if method is None:  # the compiler's whitelist makes this unreachable
            raise ExpressionError(f"cannot differentiate the construct {type(node).__name__}")
        return method(node)

    def _Constant(self, node: ast.Constant) -> int:  # noqa: N802 (ast class names)
        return self.graph.num(node.value)

    def _Name(self, node: ast.Name) -> int:  # noqa: N802
        bound = self.bindings.get(node.id)
        return self.graph.name(node.id) if bound is None else bound

    def _BinOp(self, node: ast.BinOp) -> int:  # noqa: N802
        kids = (self.build(node.left), self.build(node.right))
        if isinstance(node.op, ast.Pow):
            # the compiler left this ``**`` native (a name or number to a small literal);
            # a tie substituted for the name makes the base compound: guard it then
            g, (a, b) = self.graph, kids
            native = (g.kind(a) in ("name", "num") and g.is_num(b)
                      and type(g.values[b]) in (int, float)
                      and abs(g.values[b]) <= MAX_LITERAL_EXPONENT)
            return g.make("pow", not native, kids)
        return self.graph.make("bin", _BINARY_OPS[type(node.op)], kids)

    def _UnaryOp(self, node: ast.UnaryOp) -> int:  # noqa: N802
        return self.graph.make("un", _UNARY_OPS[type(node.op)], (self.build(node.operand),))

    def _BoolOp(self, node: ast.BoolOp) -> int:  # noqa: N802
        attr = "and" if isinstance(node.op, ast.And) else "or"
        return self.graph.make("bool", attr, tuple(self.build(v) for v in node.values))

    def _Compare(self, node: ast.Compare) -> int:  # noqa: N802
        ops = tuple(_COMPARE_OPS[type(op)] for op in node.ops)
        kids = [self.build(node.left)]
        for right in node.comparators:
            if isinstance(right, ast.Tuple):
                elements = tuple(self.build(e) for e in right.elts)
                kids.append(self.graph._node("tuple", None, elements))
            else:
                kids.append(self.build(right))
        return self.graph._node("cmp", ops, tuple(kids))

    def _IfExp(self, node: ast.IfExp) -> int:  # noqa: N802
        kids = (self.build(node.test), self.build(node.body), self.build(node.orelse))
        return self.graph.make("if", None, kids)

    def _Call(self, node: ast.Call) -> int:  # noqa: N802
        name = node.func.id
        args = [self.build(a) for a in node.args]
        keywords = tuple(k.arg for k in node.keywords)
        args.extend(self.build(k.value) for k in node.keywords)
        if name == POWER_HELPER:
            return self.graph.make("pow", True, tuple(args))
        if name == LSHIFT_HELPER:
            return self.graph.make("bin", "<<!", tuple(args))
        if name in self.variables:
            raise ExpressionError(
                f"{name!r} is called as a function but is also a variable to differentiate "
                "with respect to; rename one of them")
        if name in _CANONICAL and name not in self.user:
            return self.graph.make("call", (_CANONICAL[name], keywords), tuple(args))
        return self.graph._node("ucall", (name, keywords), tuple(args))


# --------------------------------------------------------------------------- derivative rules
def _unary_rule(partial: Callable[[_Graph, int, int], int]) -> Callable:
    """A rule for ``f(x)`` from ``partial(graph, x, p)`` = f'(x) (p is the value node)."""
    def rule(d: _Derivative, n: int, args: tuple[int, ...]) -> int:
        return d.graph.mul(partial(d.graph, args[0], n), d.of(args[0]))
    rule.arity = (1,)
    return rule


def _partials_rule(partial: Callable[[_Graph, tuple[int, ...], int, int], int],
                   arity: tuple[int, ...] | None = None) -> Callable:
    """A rule from ``partial(graph, args, p, i)`` = df/d(args[i]), summed by the chain
    rule over the arguments that depend on the variable (the others are never built)."""
    def rule(d: _Derivative, n: int, args: tuple[int, ...]) -> int:
        g = d.graph
        total = g.zero
        for index, arg in enumerate(args):
            darg = d.of(arg)
            if not g.is_zero(darg):
                total = g.add(total, g.mul(partial(g, args, n, index), darg))
        return total
    rule.arity = arity
    return rule


def _zero_rule(d: _Derivative, n: int, args: tuple[int, ...]) -> int:
    return d.graph.zero


def _log_partial(g: _Graph, args: tuple[int, ...], p: int, i: int) -> int:
    if len(args) == 1:
        return g.div(g.one, args[0])
    x, base = args
    log_base = g.call("log", base)
    if i == 0:
        return g.div(g.one, g.mul(x, log_base))
    return g.neg(g.div(p, g.mul(base, log_base)))


def _atan2_partial(g: _Graph, args: tuple[int, ...], p: int, i: int) -> int:
    y, x = args
    denominator = g.add(g.mul(x, x), g.mul(y, y))
    return g.div(x, denominator) if i == 0 else g.neg(g.div(y, denominator))


def _hypot_partial(g: _Graph, args: tuple[int, ...], p: int, i: int) -> int:
    return g.div(args[i], p)


def _exponent_partial(g: _Graph, p: int, base: int) -> int:
    """d(base**b)/db = p*log(base): folded for a literal base, else with the limit 0 at
    base = 0 (see ``_power_log``)."""
    if g.is_num(base):
        return g.mul(p, g.call("log", base))
    return g.call("power_log", p, base)


def _pow_partial(g: _Graph, args: tuple[int, ...], p: int, i: int) -> int:
    x, y = args
    if i == 0:
        return g.mul(y, g.call("pow", x, g.sub(y, g.one)))
    return _exponent_partial(g, p, x)


def _copysign_partial(g: _Graph, args: tuple[int, ...], p: int, i: int) -> int:
    x, y = args
    return g.mul(g.call("sign", x), g.call("copysign", g.num(1.0), y)) if i == 0 else g.zero


def _fmod_partial(g: _Graph, args: tuple[int, ...], p: int, i: int) -> int:
    x, y = args
    return g.one if i == 0 else g.neg(g.call("trunc", g.div(x, y)))


def _ldexp_partial(g: _Graph, args: tuple[int, ...], p: int, i: int) -> int:
    return g.call("ldexp", g.num(1.0), args[1]) if i == 0 else g.zero


def _fsum_rule(d: _Derivative, n: int, args: tuple[int, ...]) -> int:
    if len(args) < 2:
        raise _NoDerivative("fsum of one argument is a reduction over an array, which has "
                            "no elementwise derivative")
    total = d.graph.zero
    for arg in args:
        total = d.graph.add(total, d.of(arg))
    return total


def _extreme_rule(greater: bool) -> Callable:
    def rule(d: _Derivative, n: int, args: tuple[int, ...]) -> int:
        name = "max" if greater else "min"
        if len(args) < 2:
            raise _NoDerivative(f"{name} of one argument is a reduction over an array, "
                                "which has no elementwise derivative")
        g = d.graph
        # Python (and the engine) keep the first extreme argument: b wins only if
        # b > a (max) or b < a (min); several arguments reduce pairwise.
        current, derivative = args[0], d.of(args[0])
        for index, arg in enumerate(args[1:], start=2):
            darg = d.of(arg)
            wins = g._node("cmp", (">" if greater else "<",), (arg, current))
            if darg != derivative:
                derivative = g.call("select", wins, darg, derivative)
            if index < len(args):
                current = g.call(name, current, arg)
        return derivative
    return rule


def _call_rules() -> dict[str, Callable]:
    u = _unary_rule
    rules: dict[str, Callable] = {
        "exp": u(lambda g, x, p: p),
        "log10": u(lambda g, x, p: g.div(g.one, g.mul(x, g.num(_LN10)))),
        "log1p": u(lambda g, x, p: g.div(g.one, g.add(g.one, x))),
        "sqrt": u(lambda g, x, p: g.div(g.num(0.5), p)),
        "sin": u(lambda g, x, p: g.call("cos", x)),
        "cos": u(lambda g, x, p: g.neg(g.call("sin", x))),
        "tan": u(lambda g, x, p: g.add(g.one, g.mul(p, p))),
        "asin": u(lambda g, x, p: g.div(g.one, g.call("sqrt", g.sub(g.one, g.mul(x, x))))),
        "acos": u(lambda g, x, p: g.neg(
            g.div(g.one, g.call("sqrt", g.sub(g.one, g.mul(x, x)))))),
        "atan": u(lambda g, x, p: g.div(g.one, g.add(g.one, g.mul(x, x)))),
        "sinh": u(lambda g, x, p: g.call("cosh", x)),
        "cosh": u(lambda g, x, p: g.call("sinh", x)),
        "tanh": u(lambda g, x, p: g.sub(g.one, g.mul(p, p))),
        "asinh": u(lambda g, x, p: g.div(g.one, g.call("sqrt", g.add(g.mul(x, x), g.one)))),
        "acosh": u(lambda g, x, p: g.div(g.one, g.mul(g.call("sqrt", g.sub(x, g.one)),
                                                       g.call("sqrt", g.add(x, g.one))))),
        "atanh": u(lambda g, x, p: g.div(g.one, g.sub(g.one, g.mul(x, x)))),
        "degrees": u(lambda g, x, p: g.num(_DEGREES)),
        "radians": u(lambda g, x, p: g.num(_RADIANS)),
        "erf": u(lambda g, x, p: g.mul(g.num(_TWO_OVER_SQRT_PI),
                                       g.call("exp", g.neg(g.mul(x, x))))),
        "erfc": u(lambda g, x, p: g.neg(g.mul(g.num(_TWO_OVER_SQRT_PI),
                                              g.call("exp", g.neg(g.mul(x, x)))))),
        "gamma": u(lambda g, x, p: g.mul(p, g.call("digamma", x))),
        "float": u(lambda g, x, p: g.one),  # the tie mapping's float(); not user-callable
        "abs": u(lambda g, x, p: g.call("sign", x)),
        "fabs": u(lambda g, x, p: g.call("sign", x)),
        "log": _partials_rule(_log_partial, (1, 2)),
        "atan2": _partials_rule(_atan2_partial, (2,)),
        "hypot": _partials_rule(_hypot_partial),
        "pow": _partials_rule(_pow_partial, (2,)),
        "copysign": _partials_rule(_copysign_partial, (2,)),
        "fmod": _partials_rule(_fmod_partial, (2,)),
        "ldexp": _partials_rule(_ldexp_partial, (2,)),
        "fsum": _fsum_rule,
        "max": _extreme_rule(True),
        "min": _extreme_rule(False),
    }
    for name in ("sign", "floor", "ceil", "trunc"):
        rules[name] = _zero_rule
    return rules


_CALL_RULES = _call_rules()

NON_DIFFERENTIABLE_FUNCTIONS: Mapping[str, str] = MappingProxyType({
    "factorial": "factorial is defined on integers only",
    "modf": "modf returns a pair (fraction, integer part), not a number",
    "frexp": "frexp returns a pair (mantissa, exponent), not a number",
    "isinf": "isinf is a test (True/False) used as a value",
    "isnan": "isnan is a test (True/False) used as a value",
})
"""Engine functions without a derivative, with the reason reported."""


def differentiable_functions() -> frozenset[str]:
    """The names (aliases included) of the engine functions :func:`differentiate` can
    differentiate; every other name of the function table is in
    :data:`NON_DIFFERENTIABLE_FUNCTIONS`."""
    return frozenset(name for name, canonical in _CANONICAL.items() if canonical in _CALL_RULES)


class _Derivative:
    """Forward differentiation of DAG nodes with respect to one variable (memoized)."""

    def __init__(self, graph: _Graph, variable: str, user: Mapping[str, object]):
        self.graph = graph
        self.variable = variable
        self.user = user
        self._memo: dict[int, int] = {}

    def of(self, n: int) -> int:
        g = self.graph
        if self.variable not in g.free[n]:
            return g.zero
        found = self._memo.get(n)
        if found is None:
            kind, attr, kids = g.keys[n]
            found = getattr(self, "_" + kind)(n, attr, kids)
            self._memo[n] = found
        return found

    def _name(self, n: int, attr: str, kids: tuple) -> int:
        return self.graph.one

    def _bin(self, n: int, op: str, kids: tuple[int, int]) -> int:
        g = self.graph
        a, b = kids
        if op == "+":
            return g.add(self.of(a), self.of(b))
        if op == "-":
            return g.sub(self.of(a), self.of(b))
        if op == "*":
            return g.add(g.mul(self.of(a), b), g.mul(a, self.of(b)))
        if op == "/":
            da, db = self.of(a), self.of(b)
            if g.is_zero(db):
                return g.div(da, b)
            return g.div(g.sub(da, g.mul(n, db)), b)  # (a' - (a/b)*b') / b
        if op == "//":
            return g.zero
        if op == "%":  # a % b = a - b*(a//b), with a//b piecewise constant
            return g.sub(self.of(a), g.mul(g.make("bin", "//", (a, b)), self.of(b)))
        raise _NoDerivative(f"the bitwise operator {op.rstrip('!')} is defined on integers only")

    def _pow(self, n: int, guarded: bool, kids: tuple[int, int]) -> int:
        g = self.graph
        a, b = kids
        da, db = self.of(a), self.of(b)
        if g.is_zero(db):
            return g.mul(g.mul(b, g.pw(a, g.sub(b, g.one))), da)
        log_a = g.call("log", a)
        if g.is_zero(da):
            return g.mul(_exponent_partial(g, n, a), db)
        return g.mul(n, g.add(g.mul(db, log_a), g.div(g.mul(b, da), a)))

    def _un(self, n: int, op: str, kids: tuple[int]) -> int:
        if op == "-":
            return self.graph.neg(self.of(kids[0]))
        if op == "+":
            return self.of(kids[0])
        what = "'not'" if op == "not" else "the bitwise operator ~"
        raise _NoDerivative(f"{what} used as a value has no derivative")

    def _bool(self, n: int, op: str, kids: tuple) -> int:
        raise _NoDerivative(f"the boolean operator '{op}' used as a value has no derivative")

    def _cmp(self, n: int, ops: tuple, kids: tuple) -> int:
        raise _NoDerivative(f"a comparison ({' '.join(ops)}) used as a value has no derivative")

    def _if(self, n: int, attr: None, kids: tuple[int, int, int]) -> int:
        g = self.graph
        test, body, orelse = kids
        dbody, dorelse = self.of(body), self.of(orelse)
        if dbody == dorelse and g.is_num(dbody):
            return dbody
        return g.make("if", None, (test, dbody, dorelse))

    def _call(self, n: int, attr: tuple[str, tuple[str, ...]], kids: tuple[int, ...]) -> int:
        name, keywords = attr
        args = kids
        if keywords:
            if name == "log" and keywords == ("base",) and len(kids) == 2:
                pass  # log(x, base=b) is log(x, b)
            else:
                raise _NoDerivative(f"{name}() called with keyword arguments "
                                    f"({', '.join(keywords)}) has no derivative rule")
        rule = _CALL_RULES.get(name)
        if rule is None:
            reason = NON_DIFFERENTIABLE_FUNCTIONS.get(name, f"{name} has no derivative rule")
            raise _NoDerivative(reason)
        arity = getattr(rule, "arity", None)
        if arity is not None and len(args) not in arity:
            raise _NoDerivative(f"{name}() called with {len(args)} arguments has no "
                                "derivative rule")
        return rule(self, n, args)

    def _ucall(self, n: int, attr: tuple[str, tuple[str, ...]], kids: tuple[int, ...]) -> int:
        name, keywords = attr
        symbol = self.user.get(name)
        if not isinstance(symbol, Differentiable):
            raise _NoDerivative(
                f"the user function {name!r} has no declared derivative; register it as "
                f"Differentiable({name}, derivatives=(...)) to differentiate through it")
        if keywords:
            raise _NoDerivative(f"the user function {name!r} is called with keyword "
                                "arguments; its derivatives are declared by position")
        g = self.graph
        total = g.zero
        for index, arg in enumerate(kids):
            darg = self.of(arg)
            if g.is_zero(darg):
                continue
            if index >= len(symbol.derivatives) or symbol.derivatives[index] is None:
                raise _NoDerivative(
                    f"the user function {name!r} declares no derivative with respect to "
                    f"its argument {index}")
            partial = g._node("dcall", (name, index), kids)
            total = g.add(total, g.mul(partial, darg))
        return total

    def _dcall(self, n: int, attr: tuple, kids: tuple) -> int:
        raise _NoDerivative("second derivatives of user functions are not available")

    def _tuple(self, n: int, attr: None, kids: tuple) -> int:
        raise _NoDerivative("a tuple used as a value has no derivative")


# --------------------------------------------------------------------------- emission
def _edges(graph: _Graph, n: int) -> list[tuple[int, bool]]:
    """The children of ``n`` and whether each is evaluated lazily (only sometimes)."""
    kind, attr, kids = graph.keys[n]
    if kind == "if":
        return [(kids[0], False), (kids[1], True), (kids[2], True)]
    if kind == "bool":
        return [(kids[0], False)] + [(k, True) for k in kids[1:]]
    if kind == "cmp":
        return [(k, i >= 2) for i, k in enumerate(kids)]
    return [(k, False) for k in kids]


def _own_size(graph: _Graph, n: int) -> int:
    """Syntax nodes of ``n`` itself, counted as the compiler counts them."""
    kind, attr, kids = graph.keys[n]
    if kind in ("num", "name", "tuple", "if"):
        return 1
    if kind == "cmp":
        return 1 + len(attr)
    if kind in ("call", "ucall"):
        return 2 + len(attr[1])
    if kind == "dcall":
        return 2
    return 2  # bin, pow (BinOp + operator or Call + Name), un, bool


def _refuse_size(limit: int) -> None:
    raise ExpressionError(
        f"the code for the value and derivatives would have more than {limit} syntax "
        "nodes; the expression is too large to differentiate exactly (use finite "
        "differences, fewer variables, or split it into tied parameters)")


def _inline_size(graph: _Graph, root: int) -> int:
    """Syntax nodes of ``root`` written out as one tree (shared nodes counted each time)."""
    size: dict[int, int] = {}
    for n in sorted(_Emitter.reachable(graph, [root])):
        size[n] = _own_size(graph, n) + sum(size[k] for k in graph.keys[n][2])
    return size[root]


class _Emitter:
    """Schedule temporaries and write the module ``<t..> = ...; <out> = pack(...)``."""

    def __init__(self, graph: _Graph, roots: Sequence[int | None], size_limit: int):
        self.graph = graph
        self.roots = roots
        order = sorted(self.reachable(graph, [r for r in roots if r is not None]))
        unconditional, references = self._contexts(order)
        self.temporary: dict[int, str] = {}
        self.size = self._schedule(order, unconditional, references, size_limit)
        self.order = order

    @staticmethod
    def reachable(graph: _Graph, roots: list[int]) -> set[int]:
        seen = set(roots)
        stack = list(roots)
        while stack:
            for kid in graph.keys[stack.pop()][2]:
                if kid not in seen:
                    seen.add(kid)
                    stack.append(kid)
        return seen

    def _contexts(self, order: list[int]) -> tuple[set[int], dict[int, int]]:
        unconditional = {r for r in self.roots if r is not None}
        references = dict.fromkeys(order, 0)
        for root in self.roots:
            if root is not None:
                references[root] += 1
        for n in reversed(order):  # parents before children
            for kid, lazy in _edges(self.graph, n):
                references[kid] += 1
                if n in unconditional and not lazy:
                    unconditional.add(kid)
        return unconditional, references

    def _schedule(self, order: list[int], unconditional: set[int],
                  references: dict[int, int], size_limit: int) -> int:
        g = self.graph
        depth: dict[int, int] = {}
        size: dict[int, int] = {}
        total = 0
        for n in order:
            kind = g.kind(n)
            if kind in ("num", "name"):
                depth[n] = size[n] = 1
                continue
            kids = g.keys[n][2]
            depth[n] = 1 + max((depth[k] for k in kids), default=0)
            size[n] = _own_size(g, n) + sum(size[k] for k in kids)
            if kind != "tuple" and n in unconditional and (
                    references[n] >= 2 or depth[n] > _MAX_INLINE_DEPTH):
                self.temporary[n] = _TEMP.format(len(self.temporary))
                total += 2 + size[n]  # Assign + target Name
                depth[n] = size[n] = 1
            elif depth[n] > _MAX_GENERATED_DEPTH:
                raise ExpressionError(
                    f"the derivative code would nest deeper than {_MAX_GENERATED_DEPTH} "
                    "levels inside 'if'/'else' branches; simplify the expression")
            if total > size_limit:
                _refuse_size(size_limit)
        total += 4 + sum(size[r] if r is not None else 1 for r in self.roots) + 1  # Module
        if total > size_limit:
            _refuse_size(size_limit)
        return total

    def expression(self, n: int) -> ast.expr:
        name = self.temporary.get(n)
        return ast.Name(name, ast.Load()) if name is not None else self._inline(n)

    def _inline(self, n: int) -> ast.expr:
        g = self.graph
        kind, attr, kids = g.keys[n]
        sub = [self.expression(k) for k in kids]
        if kind == "num":
            return ast.Constant(g.value(n))
        if kind == "name":
            return ast.Name(attr, ast.Load())
        if kind == "bin":
            if attr == "<<!":
                return ast.Call(ast.Name(LSHIFT_HELPER, ast.Load()), sub, [])
            return ast.BinOp(sub[0], _BINARY_AST[attr](), sub[1])
        if kind == "pow":
            if attr:
                return ast.Call(ast.Name(POWER_HELPER, ast.Load()), sub, [])
            return ast.BinOp(sub[0], ast.Pow(), sub[1])
        if kind == "un":
            return ast.UnaryOp(_UNARY_AST[attr](), sub[0])
        if kind == "bool":
            return ast.BoolOp(ast.And() if attr == "and" else ast.Or(), sub)
        if kind == "cmp":
            return ast.Compare(sub[0], [_COMPARE_AST[op]() for op in attr], sub[1:])
        if kind == "tuple":
            return ast.Tuple(sub, ast.Load())
        if kind == "if":
            return ast.IfExp(sub[0], sub[1], sub[2])
        if kind == "dcall":
            return ast.Call(ast.Name(_USER_DERIVATIVE.format(attr[1], attr[0]), ast.Load()),
                            sub, [])
        name, keywords = attr
        function = _ENGINE.format(name) if kind == "call" else name
        npos = len(sub) - len(keywords)
        return ast.Call(ast.Name(function, ast.Load()), sub[:npos],
                        [ast.keyword(k, v) for k, v in zip(keywords, sub[npos:], strict=True)])

    def module(self, stored: Sequence[str] = ()) -> ast.Module:
        """The module; the first roots are also assigned to the names ``stored``."""
        body: list[ast.stmt] = []
        for n in self.order:
            if n in self.temporary:
                body.append(ast.Assign([ast.Name(self.temporary[n], ast.Store())],
                                       self._inline(n)))
        for name, root in zip(stored, self.roots):
            body.append(ast.Assign([ast.Name(name, ast.Store())], self.expression(root)))
        values = [ast.Name(name, ast.Load()) for name in stored]
        values += [self.expression(r) if r is not None else ast.Constant(None)
                   for r in self.roots[len(stored):]]
        pack = ast.Call(ast.Name(_ENGINE.format("pack"), ast.Load()), values, [])
        body.append(ast.Assign([ast.Name(OUTPUT_NAME, ast.Store())], pack))
        module = ast.Module(body=body, type_ignores=[])
        for lineno, statement in enumerate(body, start=1):
            for child in ast.walk(statement):
                if "lineno" in child._attributes:
                    child.lineno = child.end_lineno = lineno
                    child.col_offset = child.end_col_offset = 0
        return module


# --------------------------------------------------------------------------- whitelist
_ALLOWED_GENERATED = (
    ast.Module, ast.Assign, ast.Name, ast.Constant, ast.BinOp, ast.UnaryOp, ast.BoolOp,
    ast.Compare, ast.IfExp, ast.Call, ast.keyword, ast.Tuple, ast.Load, ast.Store,
    ast.operator, ast.unaryop, ast.boolop, ast.cmpop,
)


def _is_reserved_name(name: str, temporaries: frozenset[str]) -> bool:
    if name in temporaries or name in (POWER_HELPER, LSHIFT_HELPER):
        return True
    if name.startswith("<f:") and name.endswith(">"):
        return name[3:-1] in _ENGINE_FUNCTIONS
    if name.startswith("<d") and name.endswith(">") and ":" in name:
        index, _, function = name[2:-1].partition(":")
        return index.isdigit() and function.isidentifier()
    return False


def _check_generated(module: ast.Module, temporaries: frozenset[str],
                     stored: frozenset[str] = frozenset()) -> None:
    """Refuse generated code outside the expression whitelist (a safety net: the
    emitter writes only these constructs)."""
    def refuse(what: str) -> None:
        raise ExpressionError(f"internal error: generated derivative code contains {what}")

    for statement in module.body:
        if not (isinstance(statement, ast.Assign) and len(statement.targets) == 1
                and isinstance(statement.targets[0], ast.Name)
                and (statement.targets[0].id in temporaries
                     or statement.targets[0].id == OUTPUT_NAME
                     or statement.targets[0].id in stored)):
            refuse("a statement other than an assignment to a reserved name")
    allowed_tuples: set[int] = set()
    for node in ast.walk(module):
        if not isinstance(node, _ALLOWED_GENERATED):
            refuse(f"the construct {type(node).__name__}")
        if isinstance(node, ast.Name):
            if _is_dunder(node.id) or not (
                    node.id.isidentifier() or _is_reserved_name(node.id, temporaries)
                    or node.id == OUTPUT_NAME):
                refuse(f"the name {node.id!r}")
        elif isinstance(node, ast.Constant):
            if type(node.value) not in _NUMBER_TYPES and node.value is not None:
                refuse(f"the constant {node.value!r:.40}")
        elif isinstance(node, ast.Compare):
            for op, right in zip(node.ops, node.comparators, strict=True):
                if isinstance(op, (ast.In, ast.NotIn)) and isinstance(right, ast.Tuple):
                    allowed_tuples.add(id(right))
        elif isinstance(node, ast.Tuple) and id(node) not in allowed_tuples:
            refuse("a tuple outside 'in (...)'")
        elif isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or any(
                    k.arg is None or k.arg.startswith("__") for k in node.keywords):
                refuse("a call of something other than a plain name")
        elif isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Pow, ast.LShift)):
            _check_native_operator(node, refuse)


def _check_native_operator(node: ast.BinOp, refuse: Callable[[str], None]) -> None:
    """``**`` and ``<<`` only as the compiler allows them natively."""
    left, right = node.left, node.right
    simple = isinstance(left, ast.Constant) and type(left.value) in (float, complex)
    if not simple or not isinstance(right, ast.Constant):
        refuse("an unguarded ** or << on a compound operand")
    value = right.value
    if isinstance(node.op, ast.Pow):
        if type(value) not in _NUMBER_TYPES or abs(value) > MAX_LITERAL_EXPONENT:
            refuse(f"an unguarded ** with exponent {value!r}")
    elif type(value) is not int or not 0 <= value <= MAX_LITERAL_SHIFT:
        refuse(f"an unguarded << by {value!r}")


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
