"""Safe, compiled constraint expressions (seed 000 §5).

An expression such as ``'cen_1 * wid_2 / max(wid_1, 0.001)'`` is parsed once with
:func:`ast.parse`, checked node by node against a whitelist and compiled to a code
object; evaluating it is a bare ``eval(code, namespace)`` in a namespace from
:func:`make_namespace` (empty ``__builtins__``, :data:`DEFAULT_SYMBOLS`, user symbols,
parameter values).

Allowed: numbers (int, float, complex, bool, None), non-dunder names, the operators
``+ - * / // % ** << >> & | ^ ~ not and or``, all comparisons (the right operand of
``in`` / ``not in`` may be a tuple), ``a if test else b`` and calls ``f(x, key=y)`` of a
plain name.  Everything else is rejected at compile time with the construct named.
No expression can start unbounded work: ``**`` and ``<<`` become calls of guarded
helpers unless the right operand is a small literal and the left one a name or a
number; ``factorial`` refuses ``n > 170``; length, node count and depth are capped.
"""

from __future__ import annotations

import ast
import functools
import types
from collections.abc import Collection, Mapping, Sequence

from paramfit.core.exceptions import ExpressionError, ExpressionEvaluationError, UnknownNameError
from paramfit.core.expressions.functions import LSHIFT_HELPER, POWER_HELPER
from paramfit.core.expressions.symbols import (
    DEFAULT_SYMBOLS,
    FLOAT_HELPER,
    SymbolTable,
    _check_symbol_name,
    _is_dunder,
    make_namespace,
)

__all__ = [
    "MAX_EXPRESSION_LENGTH", "MAX_EXPRESSION_NODES", "MAX_EXPRESSION_DEPTH",
    "MAX_LITERAL_EXPONENT", "MAX_LITERAL_SHIFT", "DEFAULT_SYMBOLS", "CompiledExpression",
    "SymbolTable", "at_line", "compile_assignments", "compile_expression", "evaluation_error",
    "evaluation_order", "expression_tree", "make_namespace", "FLOAT_HELPER",
]

MAX_EXPRESSION_LENGTH = 4000
"""Longest accepted expression, in characters."""
MAX_EXPRESSION_NODES = 1000
"""Largest accepted number of syntax-tree nodes."""
MAX_EXPRESSION_DEPTH = 100
"""Deepest accepted nesting of syntax-tree nodes (``a+b+c`` has depth 4)."""
MAX_LITERAL_EXPONENT = 1024
"""``x ** n`` is compiled to Python's own ``**`` only when ``n`` is a literal with
``|n| <= MAX_LITERAL_EXPONENT`` and ``x`` a float or complex literal; every other power
goes through the guarded helper."""
MAX_LITERAL_SHIFT = 64
"""Kept for compatibility: every ``<<`` now goes through the guarded helper (a name or an
int literal may hold an integer of any size)."""


_HELP = (
    "; an expression may use numbers, parameter names, arithmetic, comparison and "
    "logical operators, 'a if test else b' and calls of functions such as sqrt(x)"
)

_FORBIDDEN = {  # syntax-tree node -> how an error message names it
    "Attribute": "attribute access (.)", "Subscript": "subscripting (a[...])",
    "Slice": "slicing (a[i:j])", "Lambda": "lambda", "ListComp": "a list comprehension",
    "SetComp": "a set comprehension", "DictComp": "a dict comprehension",
    "GeneratorExp": "a generator expression", "JoinedStr": "an f-string",
    "FormattedValue": "an f-string", "NamedExpr": "assignment (:=)",
    "Starred": "unpacking (*)", "Await": "await", "Yield": "yield", "YieldFrom": "yield",
    "Dict": "a dict ({...})", "Set": "a set ({...})", "List": "a list ([...])",
    "Tuple": "a tuple (allowed only after 'in' / 'not in')",
}
_ALLOWED_BINOPS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow,
                   ast.LShift, ast.RShift, ast.BitAnd, ast.BitOr, ast.BitXor)
_NUMBER_TYPES = (int, float, complex)




def _shorten(source: str, limit: int = 120) -> str:
    return source if len(source) <= limit else source[: limit - 3] + "..."


def _where(source: str, owner: str | None) -> str:
    text = f"expression {_shorten(source)!r}"
    return text if owner is None else f"{text} of parameter {owner!r}"


class _Rejected(Exception):
    """Internal: why a source text is not an acceptable expression."""


class CompiledExpression:
    """A validated, compiled constraint expression.

    Build one with :func:`compile_expression`.  Instances are immutable, compare and
    hash by their source text, and pickle as their source text (unpickling compiles it
    again).

    Attributes
    ----------
    source : str
        The expression as written.
    names : frozenset of str
        Every name the expression reads: parameters, functions and constants.
    code : types.CodeType
        The code object compiled (mode ``'eval'``) from the validated syntax tree.
    evaluate : callable
        ``evaluate(namespace)`` is exactly ``eval(code, namespace)``: errors are not
        wrapped, for speed.  ``namespace`` must come from :func:`make_namespace`.

    Examples
    --------
    >>> expr = compile_expression('1 - frac_curve1')
    >>> sorted(expr.names)
    ['frac_curve1']
    >>> namespace = make_namespace()
    >>> namespace['frac_curve1'] = 0.25
    >>> expr.evaluate(namespace)
    0.75
    """

    __slots__ = ("source", "names", "code", "evaluate")

    source: str
    names: frozenset[str]
    code: types.CodeType

    def __init__(self, source: str, names: frozenset[str], code: types.CodeType):
        object.__setattr__(self, "source", source)
        object.__setattr__(self, "names", names)
        object.__setattr__(self, "code", code)
        # A partial of the builtin eval: no Python frame per evaluation.
        object.__setattr__(self, "evaluate", functools.partial(eval, code))

    def evaluate_checked(self, namespace: dict, owner: str | None = None) -> object:
        """Evaluate, turning an arithmetic or name failure into a clear error.

        Parameters
        ----------
        namespace : dict
            A namespace from :func:`make_namespace` holding the parameter values.
        owner : str, optional
            The parameter the expression belongs to, named in the error message.

        Returns
        -------
        object
            The value of the expression.

        Raises
        ------
        ExpressionEvaluationError
            On ``ZeroDivisionError``, ``ArithmeticError``, ``ValueError``,
            ``TypeError`` or ``NameError`` during evaluation (see
            :func:`evaluation_error`).

        Examples
        --------
        >>> expr = compile_expression('log(x)')
        >>> ns = make_namespace()
        >>> ns['x'] = -1.0
        >>> expr.evaluate_checked(ns, owner='a')
        Traceback (most recent call last):
        ...
        paramfit.core.exceptions.ExpressionEvaluationError: evaluating expression 'log(x)' of
        parameter 'a' failed: ValueError: math domain error
        """
        try:
            return eval(self.code, namespace)
        except ExpressionEvaluationError:
            raise
        except (ArithmeticError, ValueError, TypeError, NameError) as exc:
            raise evaluation_error(self, owner, exc) from exc

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"CompiledExpression is immutable (cannot set {name!r})")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"CompiledExpression is immutable (cannot delete {name!r})")

    def __reduce__(self):
        return (compile_expression, (self.source,))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, CompiledExpression):
            return self.source == other.source
        return NotImplemented

    def __hash__(self) -> int:
        return hash((CompiledExpression, self.source))

    def __repr__(self) -> str:
        return f"CompiledExpression({self.source!r})"


def evaluation_error(
    compiled: CompiledExpression, owner: str | None, exc: BaseException
) -> ExpressionEvaluationError:
    """Build the error reported when evaluating ``compiled`` raised ``exc``.

    The fitting hot path calls ``compiled.evaluate`` inside its own ``try`` block and
    raises ``evaluation_error(compiled, owner, exc) from exc`` on failure.

    Parameters
    ----------
    compiled : CompiledExpression
        The expression that failed.
    owner : str or None
        The parameter it belongs to.
    exc : BaseException
        The exception evaluation raised.

    Returns
    -------
    ExpressionEvaluationError
        Its message quotes the expression, names the parameter and the original error.

    Examples
    --------
    >>> expr = compile_expression('1/x')
    >>> str(evaluation_error(expr, 'b', ZeroDivisionError('division by zero')))
    "evaluating expression '1/x' of parameter 'b' failed: ZeroDivisionError: division by zero"
    """
    message = f"evaluating {_where(compiled.source, owner)} failed: {type(exc).__name__}: {exc}"
    if isinstance(exc, NameError):
        message += " (is it a parameter, or a symbol added to the symbol table?)"
    return ExpressionEvaluationError(message)


def _literal_number(node: ast.expr) -> int | float | complex | None:
    """The value of a numeric literal, optionally signed; None for anything else."""
    sign = 1
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        sign = -1 if isinstance(node.op, ast.USub) else 1
        node = node.operand
    if isinstance(node, ast.Constant) and type(node.value) in _NUMBER_TYPES:
        return sign * node.value
    return None


def _simple_operand(node: ast.expr) -> bool:
    """A left operand that cannot be an integer of any size: a float or complex literal.

    A name is not simple: it may hold an integer symbol (``k ** 1024`` of a 4,000-digit
    ``k`` runs for seconds), and an int literal may have 4,000 digits; both go through
    :func:`~paramfit.core.expressions.functions.guarded_power`, which converts integers to
    float first (one function call, ~50 ns, per power).
    """
    value = _literal_number(node)
    return type(value) is float or type(value) is complex


def _native_operator(node: ast.BinOp) -> bool:
    """Whether ``**`` / ``<<`` may be compiled as Python's own operator.

    Only a float or complex literal to a literal power of at most
    :data:`MAX_LITERAL_EXPONENT` (a constant, bounded work); ``<<`` is never native on a
    float, so every shift is guarded.  Whatever the operands' runtime types, no native
    operator can start an unbounded integer computation.
    """
    if not _simple_operand(node.left):
        return False
    exponent = _literal_number(node.right)
    if exponent is None:
        return False
    if isinstance(node.op, ast.Pow):
        return abs(exponent) <= MAX_LITERAL_EXPONENT
    return False


def _check(node: ast.AST, depth: int, names: set[str]) -> None:
    """Validate ``node`` and its children against the whitelist, collecting names."""
    if depth > MAX_EXPRESSION_DEPTH:
        raise _Rejected(f"nesting deeper than {MAX_EXPRESSION_DEPTH} levels is not allowed")
    kind = type(node).__name__
    if isinstance(node, ast.Name):
        if _is_dunder(node.id):
            raise _Rejected(f"the dunder name {node.id!r} is not allowed")
        names.add(node.id)
        return
    if isinstance(node, ast.Constant):
        if type(node.value) not in _NUMBER_TYPES and node.value is not None:
            what = {str: "a string", bytes: "a bytes literal"}.get(type(node.value), "Ellipsis")
            raise _Rejected(f"{what} ({node.value!r:.40}) is not allowed")
        return
    children: list[ast.AST]
    if isinstance(node, ast.BinOp):
        if not isinstance(node.op, _ALLOWED_BINOPS):
            raise _Rejected("the operator @ (matrix multiplication) is not allowed")
        children = [node.left, node.right]
    elif isinstance(node, ast.UnaryOp):
        children = [node.operand]
    elif isinstance(node, ast.BoolOp):
        children = list(node.values)
    elif isinstance(node, ast.IfExp):
        children = [node.test, node.body, node.orelse]
    elif isinstance(node, ast.Compare):
        children = [node.left]
        for op, right in zip(node.ops, node.comparators, strict=True):
            if isinstance(op, (ast.In, ast.NotIn)) and isinstance(right, ast.Tuple):
                children.extend(right.elts)
            else:
                children.append(right)
    elif isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name):
            if not isinstance(node.func, ast.Call):
                _check(node.func, depth + 1, names)  # names the construct: a.b(), a[0]()
            raise _Rejected(
                "calling anything but a plain function name (as in 'sqrt(x)') is not allowed"
            )
        children = [node.func, *node.args]
        for item in node.keywords:
            if item.arg is None:
                raise _Rejected("keyword unpacking (**) is not allowed")
            if _is_dunder(item.arg):
                raise _Rejected(f"the dunder keyword argument name {item.arg!r} is not allowed")
            children.append(item.value)
    else:
        construct = _FORBIDDEN.get(kind, f"the construct {kind}")
        raise _Rejected(f"{construct} is not allowed")
    for child in children:
        _check(child, depth + 1, names)


class _GuardOperators(ast.NodeTransformer):
    """Rewrite ``a ** b`` and ``a << b`` into calls of the guarded helpers."""

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:  # noqa: N802 (ast visitor API)
        self.generic_visit(node)
        if isinstance(node.op, (ast.Pow, ast.LShift)) and not _native_operator(node):
            helper = POWER_HELPER if isinstance(node.op, ast.Pow) else LSHIFT_HELPER
            call = ast.Call(ast.Name(helper, ast.Load()), [node.left, node.right], [])
            return ast.copy_location(call, node)
        return node



def compile_assignments(items: Sequence[tuple[str, CompiledExpression]]) -> types.CodeType:
    """Compile ``name = float(expression)`` for every item into ONE code object.

    Executing it with ``exec(code, namespace)`` evaluates all tied parameters in the
    given order and stores each result in ``namespace`` under its name: one call
    instead of one ``eval`` per expression (the fit's hot path).  Each assignment
    sits on its own line (line ``k + 1`` for item ``k``), so a traceback tells which
    expression failed.  The namespace must come from :func:`make_namespace`.

    Examples
    --------
    >>> code = compile_assignments([('b', compile_expression('2*a')),
    ...                             ('c', compile_expression('b + 1'))])
    >>> ns = make_namespace()
    >>> ns['a'] = 1.5
    >>> exec(code, ns)
    >>> ns['c']
    4.0
    """
    body = []
    for lineno, (name, compiled) in enumerate(items, start=1):
        _check_symbol_name(name)
        call = ast.Call(ast.Name(FLOAT_HELPER, ast.Load()), [expression_tree(compiled)], [])
        body.append(at_line(ast.Assign(targets=[ast.Name(name, ast.Store())], value=call),
                            lineno))
    module = ast.Module(body=body, type_ignores=[])
    return compile(module, "<tied parameters>", "exec")


def expression_tree(compiled: CompiledExpression) -> ast.expr:
    """A fresh syntax tree of a compiled expression, validated and with the guarded
    ``**``/``<<`` helpers in place: a building block for code that evaluates many
    expressions at once (see :func:`compile_assignments`).  Its names must be
    resolved in a namespace from :func:`make_namespace`."""
    tree = ast.parse(compiled.source.strip(), mode="eval")
    return _GuardOperators().visit(tree).body


def at_line(node: ast.stmt, lineno: int) -> ast.stmt:
    """Give every node of a generated statement the line number ``lineno``."""
    for child in ast.walk(node):
        if "lineno" in child._attributes:
            child.lineno = child.end_lineno = lineno
            child.col_offset = child.end_col_offset = 0
    return node


@functools.lru_cache(maxsize=4096)
def _compile(source: str) -> CompiledExpression:
    if len(source) > MAX_EXPRESSION_LENGTH:
        raise _Rejected(
            f"an expression longer than {MAX_EXPRESSION_LENGTH} characters "
            f"({len(source)}) is not allowed"
        )
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        detail = "" if exc.msg == "invalid syntax" else f" ({exc.msg})"
        raise _Rejected(f"invalid syntax{detail}") from None
    except (RecursionError, MemoryError, ValueError) as exc:
        raise _Rejected(f"nesting too deep to parse ({type(exc).__name__}: {exc})") from None
    node_count = sum(1 for node in ast.walk(tree) if not isinstance(node, ast.expr_context))
    if node_count > MAX_EXPRESSION_NODES:
        raise _Rejected(f"more than {MAX_EXPRESSION_NODES} syntax nodes is not allowed")
    names: set[str] = set()
    _check(tree.body, 1, names)
    tree = ast.fix_missing_locations(_GuardOperators().visit(tree))
    try:
        code = compile(tree, "<expression>", "eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        raise _Rejected(f"failure to compile ({type(exc).__name__}: {exc})") from None
    return CompiledExpression(source, frozenset(names), code)


def compile_expression(source: str, *, owner: str | None = None) -> CompiledExpression:
    """Parse, validate and compile a constraint expression.

    Parameters
    ----------
    source : str
        The expression, e.g. ``'cen_1 * wid_2 / max(wid_1, 0.001)'``.
    owner : str, optional
        The parameter the expression belongs to; named in error messages.

    Returns
    -------
    CompiledExpression
        Cached by source text: compiling the same text twice gives the same object.

    Raises
    ------
    ExpressionError
        If ``source`` is not a string, is too long, deep or large, is not valid Python,
        or uses a construct outside the whitelist.  The message quotes the expression,
        names ``owner`` and names the construct at fault.

    Examples
    --------
    >>> expr = compile_expression('sqrt(pi)*wid_1')
    >>> sorted(expr.names)
    ['pi', 'sqrt', 'wid_1']
    >>> compile_expression('x.__class__', owner='a')
    Traceback (most recent call last):
    ...
    paramfit.core.exceptions.ExpressionError: attribute access (.) is not allowed in
    expression 'x.__class__' of parameter 'a'; ...
    """
    if not isinstance(source, str):
        where = "" if owner is None else f" of parameter {owner!r}"
        raise ExpressionError(
            f"an expression{where} must be a string, got {type(source).__name__}: {source!r:.80}"
        )
    try:
        return _compile(source)
    except _Rejected as exc:
        raise ExpressionError(f"{exc} in {_where(source, owner)}{_HELP}") from None



def evaluation_order(
    expressions: Mapping[str, CompiledExpression], known_names: Collection[str]
) -> list[str]:
    """Order tied parameters so that each is evaluated after those it reads.

    Parameters
    ----------
    expressions : mapping of str to CompiledExpression
        The tied parameters and their expressions, in insertion order.
    known_names : collection of str
        Other names an expression may read: untied parameters and user symbols.
        Names in :data:`DEFAULT_SYMBOLS` are always known.

    Returns
    -------
    list of str
        The keys of ``expressions`` in a dependency-respecting order; deterministic,
        with ties broken by insertion order.

    Raises
    ------
    UnknownNameError
        If an expression reads a name that is not known (the message names it, the
        parameter and the expression; also a ``NameError``).
    ExpressionError
        If expressions depend on each other in a
        cycle (the message shows it as ``'a -> b -> a'``).

    Examples
    --------
    >>> exprs = {'c': compile_expression('b + 1'), 'b': compile_expression('2 * a')}
    >>> evaluation_order(exprs, known_names={'a'})
    ['b', 'c']
    """
    position = {name: index for index, name in enumerate(expressions)}
    dependencies: dict[str, list[str]] = {}
    for name, compiled in expressions.items():
        unknown = sorted(
            n for n in compiled.names
            if n not in position and n not in known_names and n not in DEFAULT_SYMBOLS
        )
        if unknown:
            listed = ", ".join(repr(n) for n in unknown)
            raise UnknownNameError(
                f"unknown name{'s' if len(unknown) > 1 else ''} {listed} in "
                f"{_where(compiled.source, name)} (name {listed} is not defined): not a "
                "parameter, a user symbol or a built-in function or constant; add it or "
                "correct the spelling"
            )
        dependencies[name] = sorted((n for n in compiled.names if n in position),
                                    key=position.__getitem__)
    order: list[str] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for root in expressions:
        if state.get(root):
            continue
        path = [root]
        pending = [iter(dependencies[root])]
        state[root] = 1
        while pending:
            for dependency in pending[-1]:
                mark = state.get(dependency)
                if mark == 1:
                    cycle = path[path.index(dependency):] + [dependency]
                    raise ExpressionError(
                        f"circular dependency between expressions: {' -> '.join(cycle)} "
                        f"(parameter {path[-1]!r} has {_where(expressions[path[-1]].source, None)})"
                        "; break the cycle by giving one of them a value instead"
                    )
                if mark is None:
                    state[dependency] = 1
                    path.append(dependency)
                    pending.append(iter(dependencies[dependency]))
                    break
            else:
                pending.pop()
                done = path.pop()
                state[done] = 2
                order.append(done)
    return order
