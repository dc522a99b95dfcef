"""Emission of derivative code, and the whitelist check of what is emitted.

Part of :mod:`paramfit.core.expressions.derivatives` (internal).

:class:`_Emitter` schedules temporaries over the DAG (:mod:`paramfit.core.expressions._graph`):
a node needed unconditionally and used more than once (or nested deeply) becomes a
temporary, a node needed only in a lazy branch is written inline, and the last
statement stores the tuple (value, partial, ...).  :func:`_check_generated` then checks
the generated module against the whitelist of the expression language (plus plain
assignments to reserved names) before it is compiled.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Sequence

from paramfit.core.exceptions import ExpressionError
from paramfit.core.expressions._derivative_engine import (
    _ENGINE,
    _ENGINE_FUNCTIONS,
    _TEMP,
    _USER_DERIVATIVE,
    OUTPUT_NAME,
)
from paramfit.core.expressions._graph import (
    _BINARY_AST,
    _COMPARE_AST,
    _NUMBER_TYPES,
    _UNARY_AST,
    _Graph,
)
from paramfit.core.expressions.compiler import MAX_LITERAL_EXPONENT, MAX_LITERAL_SHIFT
from paramfit.core.expressions.functions import LSHIFT_HELPER, POWER_HELPER
from paramfit.core.expressions.symbols import _is_dunder

__all__: list[str] = []

_MAX_INLINE_DEPTH = 24
"""An unconditional subexpression nested deeper than this becomes a temporary."""
_MAX_GENERATED_DEPTH = 200
"""Deepest generated expression (only inlined branches of ``if``/``else`` can get deep)."""

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
