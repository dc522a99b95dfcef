"""One builder for models and residuals written as formulas.

Four front ends take a model as text: :func:`paramfit.frontends.nls.nlxb` (R formulas
``"weed ~ b1/(1+b2*exp(-b3*ii))"`` over data columns), the command line
(``paramfit fit DATA --model "y ~ a*exp(-x/t) + c"``),
:func:`paramfit.frontends.mpfit.mpfitexpr` (``"p[0] + p[1]*exp(-x/p[2])"``) and
:class:`paramfit.models.expression.ExpressionModel` (``"amp*exp(-x/tau) + c"``).
:func:`build_formula` does for all of them what a formula needs:

1. **parse**: an optional left-hand side ``lhs ~ rhs`` (or the right-hand side alone);
   a syntax error names the column it is at, marked ``>>>`` in the formula;
2. **compile** each side once with the safe expression compiler
   (:func:`paramfit.core.expressions.compiler.compile_expression`: whitelisted syntax,
   no attribute access, bounded size), never Python's ``eval`` of the text;
3. **classify** every name: a *parameter*, *data* (a data column or an independent
   variable) or a *symbol* (a function or constant of
   :data:`~paramfit.core.expressions.compiler.DEFAULT_SYMBOLS` or a user symbol);
4. **evaluate** the right-hand side vectorised over arrays: as a function of the
   parameter vector, of a mapping of values, or as a residual of
   :class:`~paramfit.Parameters`.

Naming rules
------------
A name is, in this order of priority: a parameter when ``parameters`` lists it; data
when ``data`` lists it; a symbol when it is a user symbol or a default one; otherwise a
parameter when ``parameters`` is not given (parameters inferred, in order of first
appearance in the right-hand side), else an error (:class:`UnknownNameError`).  The
left-hand side may read parameters only when they are listed.  A called name
(``f(x)``) must be a symbol (:class:`UnknownFunctionError`).  With
``vector_references=True``, ``p[i]`` and ``p(i)`` (0-based) name ``parameters[i]``
(MPFIT's convention, :func:`paramfit.frontends.parinfo.translate_references`).

This module parses, classifies and builds; the result, :class:`CompiledFormula`, and its
evaluators live in :mod:`paramfit.frontends.formula_compiled`, the errors in
:mod:`paramfit.frontends.formula_errors`.  The parsed and validated syntax tree of the
right-hand side is kept (:attr:`CompiledFormula.tree`), so derivatives of the formula are
built from it in one place: :meth:`CompiledFormula.jacobian_function` (value and exact
Jacobian of the right-hand side, by
:func:`paramfit.core.expressions.derivatives.differentiate`) and
:meth:`CompiledFormula.residual_jacobian` (the Jacobian of
:meth:`CompiledFormula.residual`, what the front ends pass to the fit as ``jac=``).  A
parameter whose partial has no exact form (a comparison used as a value, a user function
without a declared derivative) is differenced, that column only;
:attr:`FormulaJacobian.differenced` says which and why.
"""

from __future__ import annotations

import ast
from collections.abc import Collection, Mapping, Sequence
from typing import Literal

from paramfit.core.exceptions import ExpressionError
from paramfit.core.expressions.compiler import (
    DEFAULT_SYMBOLS,
    MAX_EXPRESSION_LENGTH,
    CompiledExpression,
    compile_expression,
    make_namespace,
)
from paramfit.frontends.formula_compiled import CompiledFormula
from paramfit.frontends.formula_errors import (
    FormulaError,
    FormulaSyntaxError,
    NoParametersError,
    UnknownFunctionError,
    UnknownNameError,
)
from paramfit.frontends.parinfo import ImproperInput, translate_references

__all__ = [
    "build_formula",
    "names_in_order",
]

LhsRule = Literal["required", "optional", "none"]


# ---------------------------------------------------------------------- parsing
def _split(source: str, lhs: LhsRule, default_lhs: str | None,
           formula: str) -> tuple[str | None, str, int, bool]:
    """``(lhs text, rhs text, offset of rhs in source, lhs written in source)``."""
    if lhs == "none":
        return None, source, 0, False
    if "~" in source:
        left, right = source.split("~", 1)
        if "~" in right:
            raise FormulaSyntaxError(source, len(left) + 1 + right.index("~"), "a second '~'")
        return left, right, len(left) + 1, True
    if lhs == "required":
        raise FormulaError(f"formula {formula!r} has no '~'; write it as 'response ~ model "
                           "expression', e.g. 'y ~ a*exp(-b*x)'", formula, "no '~'")
    return default_lhs, source, 0, False


def _parse_side(source: str, side: str, start: int) -> None:
    """Refuse a side that is empty or not valid syntax, pointing into ``source``.

    Texts too long, deep or odd for :func:`ast.parse` are left to the expression
    compiler, which refuses them with its own message.
    """
    stripped = side.strip()
    lead = start + len(side) - len(side.lstrip())
    if not stripped:
        raise FormulaSyntaxError(source, lead, "an expression is missing here")
    if len(stripped) > MAX_EXPRESSION_LENGTH:
        return
    try:
        ast.parse(stripped, mode="eval")
    except SyntaxError as exc:
        column = max((exc.offset or 1) - 1, 0) if (exc.lineno or 1) == 1 else len(stripped)
        raise FormulaSyntaxError(source, lead + min(column, len(stripped)), exc.msg) from None
    except (RecursionError, MemoryError, ValueError):
        return


def _compile(text: str, formula: str) -> CompiledExpression:
    """Compile one side; the compiler's message names the side, and the formula too
    when the side is not all of it."""
    try:
        return compile_expression(text)
    except ExpressionError as exc:
        reason = str(exc).split(" in expression ")[0]
        message = str(exc) if text == formula.strip() else f"in formula {formula!r}: {exc}"
        raise FormulaError(message, formula, reason) from exc


def names_in_order(tree: ast.AST) -> tuple[list[str], set[str]]:
    """The names of a syntax tree in order of first appearance, and the called ones.

    Examples
    --------
    >>> names_in_order(ast.parse("b*exp(a) + b", mode="eval"))
    (['b', 'exp', 'a'], {'exp'})
    """
    nodes = sorted((node for node in ast.walk(tree) if isinstance(node, ast.Name)),
                   key=lambda node: (node.lineno, node.col_offset))
    called = {node.func.id for node in ast.walk(tree)
              if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)}
    return list(dict.fromkeys(node.id for node in nodes)), called


# ---------------------------------------------------------------------- the builder
def build_formula(
    text: str,
    *,
    parameters: Sequence[str] | None = None,
    data: Collection[str] = (),
    symbols: Mapping[str, object] | None = None,
    lhs: LhsRule = "optional",
    default_lhs: str | None = None,
    vector_references: bool = False,
    owner: str | None = None,
) -> CompiledFormula:
    """Parse, validate, classify and compile a formula.

    Parameters
    ----------
    text : str
        ``"lhs ~ rhs"`` or a right-hand side alone, e.g. ``"y ~ a*exp(-x/t) + c"``.
    parameters : sequence of str, optional
        The parameters, in order; names of the formula that are none of parameters,
        data and symbols are then an error.  Without it every such name of the
        right-hand side is a parameter, in order of first appearance.
    data : collection of str
        Names that are data: data columns, independent variables.
    symbols : mapping, optional
        User functions and constants, over the default ones.
    lhs : {'optional', 'required', 'none'}
        ``'required'``: the formula must have ``~``; ``'optional'``: without ``~`` the
        left-hand side is ``default_lhs`` (None: no left-hand side); ``'none'``: the
        text is a right-hand side, and ``~`` in it is Python's operator.
    default_lhs : str, optional
        The left-hand side when the formula has no ``~`` (with ``lhs='optional'``).
    vector_references : bool, default False
        Read ``p[i]`` and ``p(i)`` (0-based) as ``parameters[i]`` (MPFIT).
    owner : str, optional
        Named in evaluation errors and in an out-of-range ``p[i]``.

    Returns
    -------
    CompiledFormula

    Raises
    ------
    FormulaSyntaxError
        A side is empty or not valid syntax, or there is a second ``~``; the message
        marks the position with ``>>>``.
    FormulaError
        Not a string, no ``~`` where required, a construct the expression compiler
        refuses (attribute access, strings, ...), or ``p[i]`` out of range.
    UnknownFunctionError
        A called name is not a function.
    UnknownNameError
        A name is neither a parameter, data nor a symbol.
    NoParametersError
        Parameters were to be inferred and there are none.
    ExpressionError
        A user symbol has an invalid name.

    Examples
    --------
    >>> f = build_formula("weed ~ b1/(1+b2*exp(-b3*ii))", parameters=["b1", "b2", "b3"],
    ...                   data=["weed", "ii"], lhs="required")
    >>> f.data_names, f.response_names
    (('ii',), ('weed',))
    >>> build_formula("p[0] + p(1)*x", parameters=["p0", "p1"], data=["x"], lhs="none",
    ...               vector_references=True).rhs.source
    'p0 + p1*x'
    >>> build_formula("y ~ a*x +* b", data=["x", "y"])
    Traceback (most recent call last):
    ...
    paramfit.frontends.formula_errors.FormulaSyntaxError: cannot parse the formula at column 10
    (marked >>>): invalid syntax: y ~ a*x +>>>* b
    """
    if not isinstance(text, str):
        raise FormulaError(f"formula must be a string like 'y ~ a*exp(-b*x)', "
                           f"got {type(text).__name__}")
    source = text
    if vector_references:
        try:
            source = translate_references(text, list(parameters or ()), owner or "formula")
        except ImproperInput as exc:
            raise FormulaError(str(exc), text) from None
    left, right, right_start, left_written = _split(source, lhs, default_lhs, text)
    if left_written:
        _parse_side(source, left, 0)
    _parse_side(source, right, right_start)
    lhs_compiled = None if left is None else _compile(left.strip(), text)
    rhs_compiled = _compile(right.strip(), text)
    base = make_namespace(symbols)
    tree = ast.parse(rhs_compiled.source, mode="eval")
    return _classify(text, lhs_compiled, rhs_compiled, tree, parameters, data,
                     symbols, base, owner)


def _classify(text: str, lhs: CompiledExpression | None, rhs: CompiledExpression,
              tree: ast.Expression, parameters: Sequence[str] | None, data: Collection[str],
              symbols: Mapping[str, object] | None, base: dict,
              owner: str | None) -> CompiledFormula:
    user_symbols = set(symbols or ())
    explicit = None if parameters is None else tuple(parameters)
    listed = frozenset(explicit or ())
    data_set = frozenset(data)

    def kind(name: str) -> str | None:
        if name in listed:
            return "parameter"
        if name in data_set:
            return "data"
        if name in user_symbols or name in DEFAULT_SYMBOLS:
            return "symbol"
        return None

    rhs_names, rhs_called = names_in_order(tree)
    lhs_names, lhs_called = ([], set()) if lhs is None else names_in_order(
        ast.parse(lhs.source, mode="eval"))
    called = rhs_called | lhs_called
    not_functions = [n for n in dict.fromkeys([*rhs_names, *lhs_names])
                     if n in called and kind(n) != "symbol"]
    if not_functions:
        raise UnknownFunctionError(text, not_functions)
    unknown = [n for n in lhs_names if kind(n) is None]
    if explicit is not None:
        unknown += [n for n in rhs_names if kind(n) is None and n not in unknown]
    if unknown:
        raise _unknown_names(text, unknown, explicit, data, explicit is None)
    if explicit is None:
        explicit = tuple(n for n in rhs_names if kind(n) is None)
        if not explicit:
            raise NoParametersError(text)
    read = set(rhs_names) | set(lhs_names)
    return CompiledFormula(
        text=text, lhs=lhs, rhs=rhs, param_names=explicit,
        data_names=tuple(n for n in rhs_names if kind(n) == "data"),
        response_names=tuple(n for n in lhs_names if kind(n) == "data"),
        unused_parameters=tuple(n for n in explicit if n not in read),
        unused_data=tuple(n for n in data if n not in read),
        tree=tree, owner=owner, _base=base, _symbols=symbols,
        _lhs_reads_parameters=any(kind(n) == "parameter" for n in lhs_names),
    )


def _unknown_names(text: str, unknown: list[str], parameters: Sequence[str] | None,
                   data: Collection[str], in_lhs: bool) -> UnknownNameError:
    listed = ", ".join(map(repr, unknown))
    columns = ", ".join(data) or "none"
    if in_lhs:
        message = (f"the left-hand side of formula {text!r} uses {listed}, which is neither "
                   f"data ({columns}) nor a known function or constant; the left-hand side "
                   "is the response and cannot hold parameters")
    else:
        message = (f"formula {text!r} uses {listed}, which is neither a parameter "
                   f"({', '.join(parameters or ()) or 'none'}) nor data ({columns}) nor a "
                   "known function or constant; add it or correct the spelling")
    return UnknownNameError(message, text, unknown)
