"""Parsing of the ``paramfit`` command line's values: formulas, built-in model sums,
``NAME=VALUE`` lists, bounds and ties (the grammar is in :mod:`paramfit.cli.app`).

Below both :mod:`paramfit.cli.app` (the argument parser and ``main``) and
:mod:`paramfit.cli.commands` (what the commands do), which import it.
"""

from __future__ import annotations

import ast
import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field

from paramfit.cli.data import UsageError
from paramfit.frontends.formula import build_formula, names_in_order
from paramfit.frontends.formula_compiled import CompiledFormula
from paramfit.frontends.formula_errors import (
    FormulaError,
    FormulaSyntaxError,
    NoParametersError,
    UnknownFunctionError,
    UnknownNameError,
)
from paramfit.models.builtin import BUILTIN_MODELS

__all__ = [
    "PROG",
    "Formula",
    "ModelExpression",
    "builtin_model_names",
    "parse_assignments",
    "parse_bounds",
    "parse_float",
    "parse_formula",
    "parse_model_expression",
    "parse_ties",
]

PROG = "paramfit"


# ---------------------------------------------------------------- formulas
@dataclass(frozen=True)
class Formula:
    """A parsed ``"lhs ~ rhs"`` formula.

    Attributes
    ----------
    text : str
        The formula as written.
    response : str
        The left-hand side (a column name or an expression of columns).
    expression : str
        The right-hand side.
    data_names : tuple of str
        Names in the right-hand side that are data columns.
    param_names : tuple of str
        The fitted parameters, in order of first appearance.
    compiled : CompiledFormula
        The formula built by :func:`paramfit.frontends.formula.build_formula`, with its
        evaluators.
    """

    text: str
    response: str
    expression: str
    data_names: tuple[str, ...]
    param_names: tuple[str, ...]
    compiled: CompiledFormula | None = field(default=None, repr=False, compare=False)


def parse_formula(
    text: str, columns: Sequence[str], *, default_response: str = "y"
) -> Formula:
    """Split ``"lhs ~ rhs"`` into response, model expression, data names and parameters.

    The formula is built by :func:`paramfit.frontends.formula.build_formula`: every name
    of the right-hand side that is a column is data, every function or constant of the
    expression language is that, and every other name is a parameter.

    Parameters
    ----------
    text : str
        ``"y ~ a*exp(-x/t) + c"``, or just the right-hand side.
    columns : sequence of str
        Names usable as data (the file's columns, plus ``x`` when aliased).
    default_response : str
        The response when the formula has no ``~``.

    Returns
    -------
    Formula

    Raises
    ------
    UsageError
        Syntax errors (with the position), a forbidden construct, an unknown function,
        a left-hand side that names something other than columns.

    Examples
    --------
    >>> f = parse_formula("y ~ a*exp(-x/t) + c", ["x", "y"])
    >>> f.param_names, f.data_names
    (('a', 't', 'c'), ('x',))
    """
    try:
        compiled = build_formula(text, data=columns, lhs="optional",
                                 default_lhs=default_response)
    except (FormulaSyntaxError, UnknownFunctionError, NoParametersError) as exc:
        raise UsageError(str(exc)) from None
    except UnknownNameError as exc:  # only the left-hand side cannot infer parameters
        raise UsageError(
            f"no column {exc.names[0]!r} (the left-hand side of the formula) in the data; "
            f"its columns are: {', '.join(columns)}"
        ) from None
    except FormulaError as exc:
        raise UsageError(f"formula {text!r}: {exc.reason}") from None
    response = default_response if compiled.lhs is None else compiled.lhs.source
    return Formula(text, response, compiled.rhs.source, compiled.data_names,
                   compiled.param_names, compiled)


# ---------------------------------------------------------------- built-in models
@dataclass(frozen=True)
class ModelExpression:
    """A sum (or product...) of built-in models, e.g. ``"gaussian + linear"``.

    Attributes
    ----------
    text : str
        As written.
    response : str or None
        The left-hand side of ``"y ~ gaussian + linear"``, if any.
    expression : str
        The right-hand side.
    components : tuple of (str, str)
        ``(model class name, prefix)`` per model name, in order of appearance.
    """

    text: str
    response: str | None
    expression: str
    components: tuple[tuple[str, str], ...]


_MODEL_NODES = (ast.Expression, ast.BinOp, ast.Name, ast.Load, ast.Add, ast.Sub, ast.Mult,
                ast.Div)


def builtin_model_names() -> dict[str, str]:
    """``{"gaussian": "GaussianModel", "gaussianmodel": "GaussianModel", ...}``."""
    names = {}
    for class_name in BUILTIN_MODELS:
        names[class_name.lower()] = class_name
        names[class_name.lower().removesuffix("model")] = class_name
    return names


def _prefix_stems(names: Sequence[str]) -> dict[str, str]:
    """Shortest start of each name that no other distinct name shares."""
    distinct = list(dict.fromkeys(names))
    stems = {}
    for name in distinct:
        others = [other for other in distinct if other != name]
        size = 1
        while size < len(name) and any(other[:size] == name[:size] for other in others):
            size += 1
        stems[name] = name[:size]
    return stems


def parse_model_expression(text: str) -> ModelExpression | None:
    """Parse ``"[y ~] gaussian + gaussian + linear"``; None when ``text`` is not one.

    Prefixes: the shortest start of the model name that tells apart the model names of
    the formula, then a counter: ``g1_, g2_, l1_`` here.

    Raises
    ------
    UsageError
        A formula of only names and ``+ - * /`` that mixes built-in models with other
        names.

    Examples
    --------
    >>> parse_model_expression("linear + lorentzian").components
    (('LinearModel', 'li1_'), ('LorentzianModel', 'lo1_'))
    """
    lhs, sep, rhs = text.rpartition("~")
    try:
        tree = ast.parse(rhs.strip(), mode="eval")
    except SyntaxError:
        return None
    if not all(isinstance(node, _MODEL_NODES) for node in ast.walk(tree)):
        return None
    known = builtin_model_names()
    names, _ = names_in_order(tree)
    listed = sorted(n for n in known if "model" not in n)
    if not any(name.lower() in known for name in names):
        typos = {name: close for name in names
                 if (close := difflib.get_close_matches(name.lower(), listed, n=1,
                                                        cutoff=0.8))}
        if typos:  # '-m gausian' would otherwise fit a constant named 'gausian'
            name, (close,) = next(iter(typos.items()))
            raise UsageError(
                f"model {text!r}: {name!r} is not a built-in model; did you mean "
                f"{close!r}? Built-in models are: {', '.join(listed)}")
        return None
    unknown = [name for name in names if name.lower() not in known]
    if unknown:
        hints = [f"{name!r} (did you mean {close[0]!r}?)" if (close := difflib.get_close_matches(
            name.lower(), listed, n=1, cutoff=0.8)) else repr(name) for name in unknown]
        raise UsageError(
            f"model {text!r}: {', '.join(hints)} is not a built-in model; "
            f"built-in models are: {', '.join(listed)}"
        )
    nodes = sorted((node for node in ast.walk(tree) if isinstance(node, ast.Name)),
                   key=lambda node: node.col_offset)
    short = [known[node.id.lower()].removesuffix("Model").lower() for node in nodes]
    stems = _prefix_stems(short)
    counts: dict[str, int] = {}
    components = []
    for node, name in zip(nodes, short):
        counts[name] = counts.get(name, 0) + 1
        components.append((known[node.id.lower()], f"{stems[name]}{counts[name]}_"))
    return ModelExpression(text, lhs.strip() or None if sep else None, rhs.strip(),
                           tuple(components))


# ---------------------------------------------------------------- NAME=VALUE options
def parse_assignments(
    items: Sequence[str] | None, option: str, *, value_required: bool = True
) -> dict[str, str]:
    """``["a=1,b=2", "c=3"]`` to ``{"a": "1", "b": "2", "c": "3"}`` (``NAME`` alone maps
    to ``""`` when ``value_required`` is false).

    Examples
    --------
    >>> parse_assignments(["a=1,b=2"], "--start")
    {'a': '1', 'b': '2'}
    """
    result: dict[str, str] = {}
    for item in items or ():
        for part in item.split(","):
            part = part.strip()
            if not part:
                continue
            name, sep, value = part.partition("=")
            name = name.strip()
            if not name.isidentifier() or (value_required and not sep):
                form = "NAME=VALUE" if value_required else "NAME or NAME=VALUE"
                raise UsageError(f"{option} expects {form}[,...], got {part!r}")
            result[name] = value.strip()
    return result


def parse_float(text: str, option: str, name: str) -> float:
    """``float(text)`` or a :class:`UsageError` naming the option and parameter."""
    try:
        return float(text)
    except ValueError:
        raise UsageError(f"{option} {name}={text!r}: {text!r} is not a number") from None


def parse_bounds(items: Sequence[str] | None) -> dict[str, tuple[float, float]]:
    """``["a=0:10,b=:5"]`` to ``{"a": (0.0, 10.0), "b": (-inf, 5.0)}``.

    Examples
    --------
    >>> parse_bounds(["a=0:10,b=:5"])
    {'a': (0.0, 10.0), 'b': (-inf, 5.0)}
    """
    bounds = {}
    for name, text in parse_assignments(items, "--bounds").items():
        low, sep, high = text.partition(":")
        if not sep:
            raise UsageError(f"--bounds {name}={text!r}: write LOW:HIGH (either may be empty)")
        lower = parse_float(low, "--bounds", name) if low.strip() else float("-inf")
        upper = parse_float(high, "--bounds", name) if high.strip() else float("inf")
        bounds[name] = (lower, upper)
    return bounds


def parse_ties(items: Sequence[str] | None) -> dict[str, str]:
    """``["w2=2*w1/3"]`` to ``{"w2": "2*w1/3"}`` (one tie per ``--tie``)."""
    ties = {}
    for item in items or ():
        name, sep, expression = item.partition("=")
        if not sep or not name.strip().isidentifier() or not expression.strip():
            raise UsageError(f"--tie expects NAME=EXPRESSION, got {item!r}")
        ties[name.strip()] = expression.strip()
    return ties
