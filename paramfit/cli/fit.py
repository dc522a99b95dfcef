"""One fit of ``paramfit fit`` and ``paramfit demo``: the model, the parameters, the fit.

:func:`_fit` reads the ``--model`` (a formula such as ``"y ~ a*exp(-x/t) + c"`` or built-in
models such as ``"gaussian + linear"``), sets up the parameters from ``--start``,
``--fix``, ``--bounds`` and ``--tie``, checks the data, fits, and returns a
:class:`FitOutcome`; :mod:`paramfit.cli.output` reports it and :mod:`paramfit.cli.commands`
runs the commands.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import math
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from paramfit.cli.data import (
    CertifiedValues,
    DataTable,
    UsageError,
)
from paramfit.cli.parsing import (
    PROG,
    Formula,
    ModelExpression,
    parse_assignments,
    parse_bounds,
    parse_float,
    parse_formula,
    parse_model_expression,
    parse_ties,
)
from paramfit.core.expressions.compiler import compile_expression
from paramfit.core.parameters.parameters import Parameters
from paramfit.fitting.minimizer import minimize
from paramfit.models.builtin import BUILTIN_MODELS

__all__ = ["FitOutcome", "build_model", "note"]


def note(message: str) -> None:
    """Print ``paramfit: note: message`` on stderr."""
    print(f"{PROG}: note: {message}", file=sys.stderr)


# ---------------------------------------------------------------- one fit
@dataclass
class FitOutcome:
    """A finished fit, with what the report, the JSON and the plot need.

    Attributes
    ----------
    fitter : object
        The :class:`~paramfit.Minimizer` (formula fits) or the Model layer's result.
    params : Parameters
        Best-fit parameters.
    model_text : str
        The formula or model expression as given.
    x : ndarray or None
        Independent variable for plotting, shape (n,).
    y : ndarray
        Fitted response, shape (n,).
    err : ndarray or None
        Uncertainties, shape (n,), when ``--err`` was given.
    model : callable
        ``model(params, x) -> ndarray``: the model at any ``x`` (for smooth plot curves);
        ``x=None`` means the data's own predictors.
    x_label, y_label : str
        Axis labels of the plot.
    ci : dict or None
        Confidence intervals, when asked for.
    """

    fitter: Any
    params: Any
    model_text: str
    x: np.ndarray | None
    y: np.ndarray
    err: np.ndarray | None
    model: Callable[[Any, np.ndarray | None], np.ndarray]
    x_label: str = "x"
    y_label: str = "y"
    ci: Any = None

    @property
    def success(self) -> bool:
        """Whether the fit converged."""
        return bool(self.fitter.success)


def _check_names(given: Mapping[str, object], names: Sequence[str], option: str) -> None:
    for name in given:
        if name not in names:
            raise UsageError(
                f"unknown parameter {name!r} in {option}; the model's parameters are: "
                f"{', '.join(names)}"
            )


def _apply_options(params: Any, args: argparse.Namespace, fallback: Mapping[str, float],
                   fallback_source: str | None, *, default_one: bool = True,
                   columns: Sequence[str] = ()) -> None:
    """Set start values, fixes, bounds and ties of ``params`` from the command line.

    Start values: ``--start``, else ``fallback``, else the value ``params`` already
    holds (a built-in model's guess) unless ``default_one``.  A formula parameter with
    none of these is refused, as R's ``nls`` does (it is often a misspelt column: the
    message suggests the close column name), unless ``--default-start VALUE`` is given.
    """
    names = list(params)
    starts = parse_assignments(args.start, "--start")
    fixes = parse_assignments(args.fix, "--fix", value_required=False)
    bounds = parse_bounds(args.bounds)
    ties = parse_ties(args.tie)
    for given, option in ((starts, "--start"), (fixes, "--fix"), (bounds, "--bounds"),
                          (ties, "--tie")):
        _check_names(given, names, option)
    both = [name for name in ties if name in fixes]
    if both:
        raise UsageError(f"{', '.join(map(repr, both))} is given both --fix and --tie; a "
                         "parameter is either held at a value or computed from others: "
                         "drop one of them")
    default_start = getattr(args, "default_start", None)
    defaulted = []
    for name in names:
        if name in starts:
            params[name].value = parse_float(starts[name], "--start", name)
        elif name in fallback:
            params[name].value = float(fallback[name])
        elif params[name].value is None or not math.isfinite(params[name].value) \
                or default_one:
            params[name].value = 1.0 if default_start is None else default_start
            if name not in ties and not fixes.get(name):
                defaulted.append(name)
    if fallback_source and any(n in fallback and n not in starts for n in names):
        note(f"start values from {fallback_source}")
    if defaulted and default_start is None:
        raise UsageError(_unstarted_message(defaulted, columns))
    if defaulted:
        note(f"no start value for {', '.join(defaulted)}: starting at {default_start:g} "
             "(--default-start)")
    for name, text in fixes.items():
        if text:
            params[name].value = parse_float(text, "--fix", name)
        params[name].vary = False
    for name, (lower, upper) in bounds.items():
        params[name].min, params[name].max = lower, upper
    for name, expression in ties.items():
        params[name].expr = expression


def _unstarted_message(names: Sequence[str], columns: Sequence[str]) -> str:
    """Why parameters without start values are refused, with close column names."""
    hints = []
    for name in names:
        close = difflib.get_close_matches(name, list(columns), n=1, cutoff=0.6)
        if close:
            hints.append(f"{name!r} is not a column: did you mean the column {close[0]!r}?")
    listed = ", ".join(map(repr, names))
    return (f"no start value for {listed} (a name of the formula that is not a column is a "
            f"parameter, and R's nls likewise refuses one without a start value). "
            + " ".join(hints) + (" " if hints else "")
            + f"Give --start {names[0]}=VALUE, or --default-start 1 to start every such "
            f"parameter at 1; the columns are: {', '.join(columns) or 'none'}")


def _check_missing(table: DataTable, used: Sequence[str], policy: str) -> np.ndarray | None:
    """Rows with an empty or NaN value in a used column: refused (with their file line
    numbers) under ``--nan-policy raise``; a mask of the complete rows under ``omit``."""
    bad = np.zeros(len(next(iter(table.columns.values()))), bool)
    where = {}
    for name in dict.fromkeys(used):
        if name in table.columns:
            missing = ~np.isfinite(table.columns[name])
            if missing.any():
                where[name] = np.flatnonzero(missing)
                bad |= missing
    if not bad.any():
        return None
    if policy == "omit":
        note(f"--nan-policy omit: {int(bad.sum())} row(s) with an empty or NaN value left "
             "out of the fit")
        return ~bad
    parts = []
    for name, rows in where.items():
        shown = ", ".join(table.line_of(int(r)) for r in rows[:5])
        more = f" and {rows.size - 5} more" if rows.size > 5 else ""
        parts.append(f"column {name!r} at {shown}{more}")
    raise UsageError(f"{table.source}: empty or NaN values in {'; '.join(parts)}. Fill them "
                     "in, or pass --nan-policy omit to leave those rows out of the fit")


def _check_model_finite(table: DataTable, residual: Callable[[Any], np.ndarray],
                        params: Any, formula_text: str) -> None:
    """NaN or inf of the model at the start values, by file line, before the fit (the
    solver's own message would give 0-based indices and a Python option name)."""
    trial = params.copy()
    try:
        trial.update_constraints()
        with np.errstate(all="ignore"):
            values = np.asarray(residual(trial), dtype=float).ravel()
    except Exception:  # noqa: BLE001  (the fit reports it, with its own message)
        return
    rows = len(next(iter(table.columns.values())))
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size == 0 or values.size != rows:
        return
    shown = ", ".join(table.line_of(int(r)) for r in bad[:5])
    more = f" and {bad.size - 5} more" if bad.size > 5 else ""
    raise UsageError(
        f"{table.source}: the formula {formula_text!r} is NaN or infinite at the start "
        f"values at {shown}{more}; change the formula or the start values (--start), or pass "
        "--nan-policy omit to leave those rows out of the fit")


def _columns_for(table: DataTable, args: argparse.Namespace) -> dict[str, np.ndarray]:
    columns = dict(table.columns)
    if args.x is not None:
        x = table.column(args.x, option="--x")
        columns.setdefault("x", x)
    for option in ("y", "err"):
        if getattr(args, option, None) is not None:
            table.column(getattr(args, option), option=f"--{option}")
    return columns


def _fit_formula(table: DataTable, formula_text: str, args: argparse.Namespace,
                 *, nist_start: int = 1) -> FitOutcome:
    """Fit ``lhs ~ rhs`` by :func:`paramfit.minimize` with the formula's residual."""
    columns = _columns_for(table, args)
    formula = parse_formula(formula_text, list(columns), default_response=args.y or "y")
    compiled = formula.compiled
    policy = getattr(args, "nan_policy", "raise")
    used = [*formula.data_names, args.y or formula.response, *([args.err] if args.err else [])]
    if "x" in used and args.x is not None:
        used.append(args.x)
    _check_missing(table, used, policy)
    namespace = compiled.namespace(columns)
    response_name = args.y if args.y is not None else formula.response
    with np.errstate(all="ignore"):
        response = np.asarray(compile_expression(response_name).evaluate(namespace), float)
    weight = 1.0
    err = None
    if args.err is not None:
        err = _errors(table, args.err, policy)
        weight = 1.0 / err
    names = formula.param_names
    x_name = _x_name(formula, args)
    evaluate = compiled.vector_function(columns, checked=False)
    evaluate_at = compiled.mapping_function(columns, checked=False)
    deviation, _ = compiled.residual(columns, observed=response, data_minus_model=True,
                                     checked=False)

    def model(params: Any, x: np.ndarray | None = None) -> np.ndarray:
        values = [params[name].value for name in names]
        if x is None:
            return np.broadcast_to(np.asarray(evaluate(values), dtype=float), response.shape)
        at = {x_name: x} if x_name is not None else {}
        value = evaluate_at(**dict(zip(names, values, strict=True)), **at)
        return np.broadcast_to(np.asarray(value, dtype=float), np.shape(x))

    def residual(params: Any) -> np.ndarray:
        return deviation(params) * weight

    residual.__qualname__ = f"of the formula {formula_text!r}"  # messages name no internals
    params = Parameters()
    for name in names:
        params.add(name, value=1.0)
    fallback, source = _nist_starts(table.certified, names, nist_start)
    _apply_options(params, args, fallback, source, columns=list(columns))
    if policy == "raise":
        _check_model_finite(table, residual, params, formula_text)
    # the exact Jacobian has a row per point: with nan_policy='omit' (rows dropped by the
    # fit) finite differences are used instead
    jacobian = (_formula_jacobian(compiled, columns, response.shape, weight)
                if policy != "omit" else None)
    with np.errstate(all="ignore"):
        fitter = minimize(residual, params, method=args.method, jac=jacobian,
                          nan_policy="omit" if policy == "omit" else "raise")
    return FitOutcome(fitter, fitter.params, formula_text,
                      namespace.get(x_name) if x_name else None, response, err, model,
                      x_label=x_name or "x", y_label=response_name)


def _formula_jacobian(compiled: Any, columns: Mapping[str, Any], shape: tuple[int, ...],
                      weight: Any) -> Callable[[Any], np.ndarray] | None:
    """The exact Jacobian of the weighted residual ``(data - model) * weight``; a note
    names the parameters whose columns are finite differences."""
    exact = compiled.residual_jacobian(columns, shape, data_minus_model=True)
    if exact is None:
        return None
    differenced = exact.formula_jacobian.differenced
    if differenced:
        note("finite differences for the Jacobian column(s) of " + "; ".join(
            f"{name} ({why})" for name, why in differenced.items()))
    rows = np.broadcast_to(np.asarray(weight, dtype=float), shape).reshape(-1, 1)

    def jacobian(params: Any) -> np.ndarray:
        return exact(params) * rows

    return jacobian


def _x_name(formula: Formula, args: argparse.Namespace) -> str | None:
    if getattr(args, "x", None) is not None:
        return args.x
    if "x" in formula.data_names:
        return "x"
    return formula.data_names[0] if formula.data_names else None


def _nist_starts(certified: CertifiedValues | None, names: Sequence[str],
                 start: int) -> tuple[dict[str, float], str | None]:
    if certified is None or not set(names) <= set(certified.param_names):
        return {}, None
    values = dict(zip(certified.param_names, certified.starts[start - 1].tolist()))
    return values, f"NIST {certified.name} start {start}"


def _fit(table: DataTable, args: argparse.Namespace, *, nist_start: int = 1) -> FitOutcome:
    text = args.model
    if text is None:
        if table.certified is None or table.certified.formula is None:
            raise UsageError("--model is required (a formula \"y ~ a*exp(-x/t)\" or built-in "
                             "models \"gaussian + linear\")")
        text = table.certified.formula
        note(f"model from the NIST file: {text}")
    spec = parse_model_expression(text)
    if spec is not None:
        return _fit_models(table, spec, args)
    return _fit_formula(table, text, args, nist_start=nist_start)


def build_model(spec: ModelExpression, x_name: str = "x") -> Any:
    """The composite :class:`~paramfit.Model` of ``"gaussian + linear"`` with prefixes."""
    operators = {ast.Add: "__add__", ast.Sub: "__sub__", ast.Mult: "__mul__",
                 ast.Div: "__truediv__"}
    tree = ast.parse(spec.expression, mode="eval")
    leaves = sorted((node for node in ast.walk(tree) if isinstance(node, ast.Name)),
                    key=lambda node: node.col_offset)
    models = {id(node): BUILTIN_MODELS[class_name](independent_vars=(x_name,), prefix=prefix)
              for node, (class_name, prefix) in zip(leaves, spec.components)}

    def combine(node: ast.AST) -> Any:
        if isinstance(node, ast.Name):
            return models[id(node)]
        left, right = combine(node.left), combine(node.right)
        return getattr(left, operators[type(node.op)])(right)

    return combine(tree.body)


def _guess(model: Any, y: np.ndarray, x: np.ndarray) -> tuple[Any, list[str]]:
    """Start values from each component's ``guess``, fitted to what the others leave.

    Components are guessed in order on the data minus the components guessed before
    (so ``gaussian + gaussian`` finds the two largest peaks). Returns the Parameters and
    the components that have no ``guess``.
    """
    params = model.make_params()
    remainder = np.asarray(y, dtype=float).copy()
    missing = []
    for component in model.components:
        try:
            guessed = component.guess(remainder, x=x)
        except (NotImplementedError, ValueError, ArithmeticError):
            missing.append(component.prefix.rstrip("_"))
            continue
        for name, par in guessed.items():
            if name in params and par.expr is None and params[name].expr is None:
                params[name].value = par.value
        with np.errstate(all="ignore"):
            remainder = remainder - component.eval(guessed, **{component.independent_vars[0]: x})
    return params, missing


def _fit_models(table: DataTable, spec: ModelExpression, args: argparse.Namespace) -> FitOutcome:
    """Fit built-in models with :meth:`Model.fit`, starting from their ``guess``."""
    response_name = args.y or spec.response or "y"
    y = table.column(response_name, option="--y" if args.y else None)
    others = [name for name in table.names if name != response_name]
    x_name = args.x or ("x" if "x" in table.columns else (others[0] if others else None))
    if x_name is None:
        raise UsageError(f"{table.source} has no column for x besides {response_name!r}")
    x = table.column(x_name, option="--x" if args.x else None)
    policy = getattr(args, "nan_policy", "raise")
    keep = _check_missing(table, [response_name, x_name, *([args.err] if args.err else [])],
                          policy)
    if keep is not None:  # the guess needs complete rows too
        x, y = x[keep], y[keep]
    model = build_model(spec, x_name)
    params, missing = _guess(model, y, x)
    if missing:
        note(f"no guess for {', '.join(missing)}: starting from the model's defaults")
    _apply_options(params, args, {}, None, default_one=False)
    weights = None
    err = None
    if args.err is not None:
        err = _errors(table, args.err, policy)
        err = err if keep is None else err[keep]
        weights = 1.0 / err
    result = model.fit(y, params, weights=weights, method=args.method, **{x_name: x})

    def evaluate(p: Any, xx: np.ndarray | None = None) -> np.ndarray:
        return np.asarray(model.eval(p, **{x_name: x if xx is None else xx}), dtype=float)

    return FitOutcome(result, result.params, spec.text, x, y, err, evaluate,
                      x_label=x_name, y_label=response_name)


def _errors(table: DataTable, column: str, policy: str = "raise") -> np.ndarray:
    err = table.column(column, option="--err")
    checked = err[np.isfinite(err)] if policy == "omit" else err
    if np.any(~(checked > 0)):
        raise UsageError(f"--err column {column!r} has values that are not > 0; "
                         "the weights are 1/err")
    return err
