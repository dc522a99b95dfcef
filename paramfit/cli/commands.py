"""What the ``paramfit`` commands do; :mod:`paramfit.cli.app` parses the arguments.

Each ``_command_*`` function takes the parsed :class:`argparse.Namespace` and returns the
exit status.  One fit (``fit``, ``demo``) is set up in :mod:`paramfit.cli.fit` and reported
by :mod:`paramfit.cli.output`; ``nist`` and ``batch`` are here.  paramfit's own modules are
imported at module level (the import rule of ``tests/test_layers.py``).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from paramfit.batch import fit_many
from paramfit.cli.data import (
    UsageError,
    parse_table,
    read_matrix,
    read_table,
)
from paramfit.cli.fit import _apply_options, _fit, _guess, build_model
from paramfit.cli.output import plot_outcome, result_json, text_report
from paramfit.cli.parsing import (
    parse_assignments,
    parse_formula,
    parse_model_expression,
)
from paramfit.fitting.confidence import conf_interval
from paramfit.models.expression import ExpressionModel
from paramfit.reference import nist

__all__ = ["run"]


def run(args: argparse.Namespace) -> int:
    """Run the command named by ``args.command``; returns the exit status."""
    commands: dict[str, Callable[[argparse.Namespace], int]] = {
        "fit": _command_fit,
        "demo": _command_demo,
        "nist": _command_nist,
        "batch": _command_batch,
    }
    return commands[args.command](args)



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
            case = nist.run_case(name, start, method=args.method,
                                 derivatives=getattr(args, "derivatives", None))
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


#: ``--method`` values ``paramfit batch`` fits with: the batch engine is the vectorised
#: Levenberg-Marquardt, the single fits' ``leastsq``.
BATCH_METHODS = ("leastsq",)


def _command_batch(args: argparse.Namespace) -> int:
    method = getattr(args, "method", "leastsq")
    if method not in BATCH_METHODS:
        raise UsageError(f"'paramfit batch' fits every dataset with the vectorised "
                         f"Levenberg-Marquardt (--method leastsq); --method {method} is "
                         "not available for batches: drop --method, or fit the datasets "
                         "one by one with 'paramfit fit --method ...'")
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
    _apply_options(params, args, {}, None, columns=["x"])
    return model, params, False
