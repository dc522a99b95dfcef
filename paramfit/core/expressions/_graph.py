"""The hash-consed expression DAG of derivatives, with its simplifying constructors.

Part of :mod:`paramfit.core.expressions.derivatives` (internal).

:class:`_Graph` stores structurally equal subexpressions as one node (so the value and
all partials share them by construction), folds literal-only subtrees with the engine's
own operations (bit for bit what evaluating them would give), and offers the
simplifying constructors the derivative rules build with (``x*0``, ``x*1``, ``x+0``,
``0/x``, ``x**1``, double negation...).  :class:`_Builder` turns a validated, guarded
expression tree into DAG nodes, the value kept exactly as written.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Mapping

from paramfit.core.exceptions import ExpressionError
from paramfit.core.expressions._derivative_engine import _CANONICAL, _ENGINE_FUNCTIONS
from paramfit.core.expressions.compiler import MAX_LITERAL_EXPONENT
from paramfit.core.expressions.functions import (
    LSHIFT_HELPER,
    POWER_HELPER,
    guarded_lshift,
    guarded_power,
)

__all__ = ["MAX_GRAPH_NODES"]

MAX_GRAPH_NODES = 200000
"""Largest number of DAG nodes built while differentiating (bounds the work before the
generated code is measured)."""


_MAX_FOLDED_BITS = 4096
"""Largest integer constant folding may produce."""
# --------------------------------------------------------------------------- the DAG
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
