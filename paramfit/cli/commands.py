"""What the ``paramfit`` commands do; :mod:`paramfit.cli.app` parses the arguments.

Each ``_command_*`` function takes the parsed :class:`argparse.Namespace` and returns the
exit status. paramfit's own modules are imported here at module level (the import rule of
``tests/test_layers.py``); matplotlib, an optional package, only when a plot is asked for.
"""

from __future__ import annotations

import argparse
import ast
import json
import math
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from paramfit.batch import fit_many
from paramfit.cli.data import (
    CertifiedValues,
    DataTable,
    UsageError,
    certified_comparison,
    certified_table,
    finite_or_none,
    parse_table,
    read_matrix,
    read_table,
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
from paramfit.fitting.confidence import conf_interval
from paramfit.fitting.minimizer import minimize
from paramfit.models.builtin import BUILTIN_MODELS
from paramfit.models.expression import ExpressionModel
from paramfit.reference import nist
from paramfit.report.plots import plot_fit
from paramfit.report.text import ci_table as seed_ci_table

__all__ = ["FitOutcome", "run"]

def run(args: argparse.Namespace) -> int:
    """Run the command named by ``args.command``; returns the exit status."""
    commands: dict[str, Callable[[argparse.Namespace], int]] = {
        "fit": _command_fit,
        "demo": _command_demo,
        "nist": _command_nist,
        "batch": _command_batch,
    }
    return commands[args.command](args)


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
                   fallback_source: str | None, *, default_one: bool = True) -> None:
    """Set start values, fixes, bounds and ties of ``params`` from the command line.

    Start values: ``--start``, else ``fallback``, else the value ``params`` already
    holds (a built-in model's guess) unless ``default_one``, else 1.0 with a note.
    """
    names = list(params)
    starts = parse_assignments(args.start, "--start")
    fixes = parse_assignments(args.fix, "--fix", value_required=False)
    bounds = parse_bounds(args.bounds)
    ties = parse_ties(args.tie)
    for given, option in ((starts, "--start"), (fixes, "--fix"), (bounds, "--bounds"),
                          (ties, "--tie")):
        _check_names(given, names, option)
    defaulted = []
    for name in names:
        if name in starts:
            params[name].value = parse_float(starts[name], "--start", name)
        elif name in fallback:
            params[name].value = float(fallback[name])
        elif params[name].value is None or not math.isfinite(params[name].value) \
                or default_one:
            params[name].value = 1.0
            if name not in ties and not fixes.get(name):
                defaulted.append(name)
    if fallback_source and any(n in fallback and n not in starts for n in names):
        note(f"start values from {fallback_source}")
    if defaulted:
        note(f"no start value for {', '.join(defaulted)}: starting at 1.0 "
             f"(give them with --start {defaulted[0]}=...)")
    for name, text in fixes.items():
        if text:
            params[name].value = parse_float(text, "--fix", name)
        params[name].vary = False
    for name, (lower, upper) in bounds.items():
        params[name].min, params[name].max = lower, upper
    for name, expression in ties.items():
        params[name].expr = expression


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
    namespace = compiled.namespace(columns)
    response_name = args.y if args.y is not None else formula.response
    with np.errstate(all="ignore"):
        response = np.asarray(compile_expression(response_name).evaluate(namespace), float)
    weight = 1.0
    err = None
    if args.err is not None:
        err = _errors(table, args.err)
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

    params = Parameters()
    for name in names:
        params.add(name, value=1.0)
    fallback, source = _nist_starts(table.certified, names, nist_start)
    _apply_options(params, args, fallback, source)
    with np.errstate(all="ignore"):
        fitter = minimize(residual, params, method=args.method)
    return FitOutcome(fitter, fitter.params, formula_text,
                      namespace.get(x_name) if x_name else None, response, err, model,
                      x_label=x_name or "x", y_label=response_name)


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
    model = build_model(spec, x_name)
    params, missing = _guess(model, y, x)
    if missing:
        note(f"no guess for {', '.join(missing)}: starting from the model's defaults")
    _apply_options(params, args, {}, None, default_one=False)
    weights = None
    err = None
    if args.err is not None:
        err = _errors(table, args.err)
        weights = 1.0 / err
    result = model.fit(y, params, weights=weights, method=args.method, **{x_name: x})

    def evaluate(p: Any, xx: np.ndarray | None = None) -> np.ndarray:
        return np.asarray(model.eval(p, **{x_name: x if xx is None else xx}), dtype=float)

    return FitOutcome(result, result.params, spec.text, x, y, err, evaluate,
                      x_label=x_name, y_label=response_name)


def _errors(table: DataTable, column: str) -> np.ndarray:
    err = table.column(column, option="--err")
    if np.any(~(err > 0)):
        raise UsageError(f"--err column {column!r} has values that are not > 0; "
                         "the weights are 1/err")
    return err


# ---------------------------------------------------------------- output
def result_json(outcome: FitOutcome, table: DataTable) -> dict[str, Any]:
    """The JSON document of ``paramfit fit --report json`` / ``--out``."""
    fitter, params = outcome.fitter, outcome.params
    payload: dict[str, Any] = {
        "data": table.source, "model": outcome.model_text,
        "method": str(getattr(fitter, "method", "")),
        "success": bool(fitter.success), "message": str(fitter.message),
        "nfev": int(fitter.nfev), "ndata": int(fitter.ndata), "nvarys": int(fitter.nvarys),
        "chisqr": finite_or_none(fitter.chisqr), "redchi": finite_or_none(fitter.redchi),
        "aic": finite_or_none(fitter.aic), "bic": finite_or_none(fitter.bic),
        "values": {name: finite_or_none(par.value) for name, par in params.items()},
        "stderr": {name: finite_or_none(par.stderr) for name, par in params.items()},
        "params": {
            name: {"value": finite_or_none(par.value), "stderr": finite_or_none(par.stderr),
                   "vary": bool(par.vary and par.expr is None), "expr": par.expr,
                   "min": finite_or_none(par.min), "max": finite_or_none(par.max),
                   "init_value": finite_or_none(par.init_value)}
            for name, par in params.items()
        },
    }
    if outcome.ci is not None:
        payload["ci"] = {name: [[float(s), finite_or_none(v)] for s, v in limits]
                         for name, limits in outcome.ci.items()}
    if table.certified is not None and outcome.err is None:
        payload["certified"] = certified_comparison(params, fitter.chisqr, table.certified)
    return payload


def text_report(outcome: FitOutcome, table: DataTable | None) -> str:
    """Fit report (:func:`paramfit.report.text.fit_report`) plus intervals and certified."""
    parts = [outcome.fitter.fit_report()]
    if outcome.ci is not None:
        parts.append(ci_table(outcome.ci))
    if table is not None and table.certified is not None and outcome.err is None:
        comparison = certified_comparison(outcome.params, outcome.fitter.chisqr,
                                          table.certified)
        if comparison is not None:
            parts.append(certified_table(comparison))
    return "\n".join(part.rstrip("\n") for part in parts)


def ci_table(ci: Mapping[str, Sequence[tuple[float, float]]]) -> str:
    """Confidence intervals (the seed's table, :func:`paramfit.report.text.ci_table`) under a
    heading."""
    return "[[Confidence intervals]]\n" + seed_ci_table(ci)


def plot_outcome(outcome: FitOutcome, filename: str, *, title: str | None = None) -> bool:
    """Write the plot of ``outcome`` to ``filename``; False if matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
    except ImportError:
        note("matplotlib is not installed: no plot written "
             "(install it with  pip install 'paramfit[plot]')")
        return False
    if outcome.x is None or np.ndim(outcome.x) != 1:
        note("no single independent variable to plot against: no plot written")
        return False
    order = np.argsort(outcome.x, kind="stable")
    init = outcome.params.copy()
    for par in init.values():
        if par.init_value is not None and par.expr is None:
            par.value = par.init_value
    init.update_constraints()
    with np.errstate(all="ignore"):
        start_curve = np.asarray(outcome.model(init, None), dtype=float)
        best_curve = np.asarray(outcome.model(outcome.params, None), dtype=float)
    fig, _ = plot_fit(outcome.x[order], outcome.y[order], start_curve[order],
                      best_curve[order], title=title, xlabel=outcome.x_label,
                      ylabel=outcome.y_label, filename=filename)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return True


# ---------------------------------------------------------------- commands
def _command_fit(args: argparse.Namespace) -> int:
    table = read_table(args.data)
    outcome = _fit(table, args)
    if args.ci:
        outcome.ci = _confidence_intervals(outcome.fitter)
    payload = result_json(outcome, table)
    if args.out:
        _write_text(args.out, json.dumps(payload, indent=2) + "\n")
    if args.report == "json":
        print(json.dumps(payload, indent=2))
    else:
        print(text_report(outcome, table))
    if args.plot:
        plot_outcome(outcome, args.plot, title=f"{Path(args.data).name}: {outcome.model_text}")
    return 0 if outcome.success else 1


def _confidence_intervals(fitter: Any) -> Any:
    if hasattr(fitter, "conf_interval"):  # a ModelResult
        return fitter.conf_interval()
    return conf_interval(fitter)


def _write_text(path: str, text: str) -> None:
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {path!r}: {exc.strerror or exc}") from None


def _command_demo(args: argparse.Namespace) -> int:
    name = nist.load_nist(args.dataset).name  # validates the name
    table = parse_table(nist.nist_file_text(name), f"{name}.dat (bundled)")
    certified = table.certified
    starts = ",".join(f"{name}={value!r}" for name, value in
                      zip(certified.param_names, certified.starts[args.start - 1].tolist()))
    fit_args = argparse.Namespace(model=certified.formula, start=[starts], fix=None,
                                  bounds=None, tie=None, method="leastsq", x=None, y=None,
                                  err=None)
    print(f"Fitting the NIST StRD problem {name} from NIST start {args.start}: "
          f"{certified.formula}\n")
    outcome = _fit(table, fit_args, nist_start=args.start)
    print(text_report(outcome, table))
    if not args.no_plot and plot_outcome(outcome, args.plot,
                                         title=f"NIST StRD {name}, start {args.start}"):
        print(f"\nplot written to {args.plot}")
    return 0 if outcome.success else 1


def _known_out_of_reach() -> frozenset[tuple[str, int]] | frozenset[str]:
    return frozenset(nist.KNOWN_OUT_OF_REACH)


def _is_known(name: str, start: int, known: frozenset) -> bool:
    return name in known or (name, start) in known or f"{name}:{start}" in known


def _command_nist(args: argparse.Namespace) -> int:
    names = nist.nist_names() if args.all or not args.names else [
        nist.load_nist(name).name for name in args.names]
    starts = (1, 2) if args.start == "both" else (int(args.start),)
    known = _known_out_of_reach()
    print(f"{'problem':<10} {'start':>5} {'values':>7} {'stderr':>7} {'rss':>6} "
          f"{'success':>8} {'nfev':>6}  note")
    cases = []
    for name in names:
        for start in starts:
            case = nist.run_case(name, start, method=args.method)
            digits = min(case.digits_values, case.digits_stderr)
            flag = "known out of reach" if _is_known(name, start, known) else (
                f"BELOW 4 DIGITS: {case.message[:70]}" if digits < 4 else "")
            print(f"{case.name:<10} {start:>5} {case.digits_values:7.1f} "
                  f"{case.digits_stderr:7.1f} {case.digits_rss:6.1f} "
                  f"{'yes' if case.success else 'no':>8} {case.nfev:>6}  {flag}".rstrip())
            cases.append((case, digits, _is_known(name, start, known)))
    total = len(cases)
    print(f"\n{total} cases: values >= 6 digits: "
          f"{sum(c.digits_values >= 6 for c, _, _ in cases)}, >= 4 digits: "
          f"{sum(c.digits_values >= 4 for c, _, _ in cases)}; stderr >= 6 digits: "
          f"{sum(c.digits_stderr >= 6 for c, _, _ in cases)}, >= 4 digits: "
          f"{sum(c.digits_stderr >= 4 for c, _, _ in cases)}; converged: "
          f"{sum(c.success for c, _, _ in cases)}")
    failing = [f"{c.name}/{c.start}" for c, digits, is_known in cases
               if digits < 4 and not is_known]
    if failing:
        print(f"below 4 digits: {', '.join(failing)}", file=sys.stderr)
        return 1
    return 0


def _command_batch(args: argparse.Namespace) -> int:
    if args.model is None:
        raise UsageError("--model is required (a formula \"y ~ a*exp(-x/t)\" in x, or "
                         "built-in models \"gaussian + linear\")")
    _, matrix = read_matrix(args.data)
    if args.x is not None:
        x = np.concatenate([column for column in read_table(args.x).columns.values()])
        data = matrix
    else:
        if matrix.shape[0] < 2:
            raise UsageError(f"{args.data}: the first row is x and there are no datasets "
                             "after it (or give the x values with --x COLFILE)")
        x, data = matrix[0], matrix[1:]
    if x.size != data.shape[1]:
        raise UsageError(f"{x.size} x values but {data.shape[1]} values per dataset in "
                         f"{args.data}")
    model, params, per_dataset = _batch_model(args, data, x)
    starts = parse_assignments(args.start, "--start")
    kws: dict[str, Any] = {}
    if per_dataset and starts:
        kws["starts"] = {name: np.full(data.shape[0], params[name].value) for name in starts
                         if params[name].vary and params[name].expr is None}
    elif not per_dataset:
        kws["starts"] = "params"
    result = fit_many(model, data, x=x, params=params, progress=args.progress, **kws)
    frame = result.to_dataframe()
    try:
        frame.to_csv(args.out, index_label="dataset")
    except OSError as exc:
        raise UsageError(f"cannot write {args.out!r}: {exc.strerror or exc}") from None
    failed = int(np.count_nonzero(~np.asarray(result.success)))
    print(f"{len(frame)} datasets fitted with {args.model}: {len(frame) - failed} converged, "
          f"{failed} did not; results in {args.out}")
    return 0 if failed == 0 else 1


def _batch_model(args: argparse.Namespace, data: np.ndarray,
                 x: np.ndarray) -> tuple[Any, Any, bool]:
    """Model, parameter template, and whether the model guesses per dataset."""
    spec = parse_model_expression(args.model)
    if spec is not None:
        model = build_model(spec, "x")
        params, missing = _guess(model, data[0], x)
        _apply_options(params, args, {}, None, default_one=False)
        return model, params, not missing
    formula = parse_formula(args.model, ["x", "y"])
    if formula.data_names != ("x",):
        raise UsageError(f"formula {args.model!r} must use x (the independent variable of "
                         "'paramfit batch', the row of x values) and no other data")
    model = ExpressionModel(formula.expression, independent_vars=["x"])
    params = model.make_params()
    _apply_options(params, args, {}, None)
    return model, params, False
