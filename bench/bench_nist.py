"""NIST StRD nonlinear regression: paramfit against lmfit and scipy, all 54 cases.

For each of the 27 problems x 2 NIST starting points, three fitters with their defaults:

* paramfit -- :func:`paramfit.reference.nist.run_case` (``paramfit.minimize``, default settings);
* lmfit 1.3 -- ``lmfit.minimize`` with its default ``leastsq`` (MINPACK lmdif);
* scipy -- ``scipy.optimize.least_squares(method='lm', xtol=ftol=gtol=1e-15)``, standard
  errors from the final finite-difference Jacobian, ``sqrt(diag((J^T J)^-1) * RSS/dof)``.

Scores: digits (log relative error against the certified values, min over parameters) of
values and standard errors; counts at >= 6 and >= 4 digits (values and standard errors
both); false successes (success reported, fewer than 4 digits in the values); total
function evaluations (residual calls counted by the bench for lmfit and scipy, Jacobian
differences included -- scipy's own ``nfev`` leaves those out; paramfit's reported ``nfev``)
and wall time. Run::

    python bench/bench_nist.py            # table + summary
    python bench/bench_nist.py --mgh      # also the Moré-Garbow-Hillstrom robustness line
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.optimize import least_squares

from paramfit.reference.nist import load_nist, log_relative_error, nist_names, run_case

__all__ = ["CaseScore", "main", "run_lmfit", "run_paramfit", "run_scipy"]

FITTERS = ("paramfit", "lmfit", "scipy")


@dataclass(frozen=True)
class CaseScore:
    """One fitter on one case."""

    digits_values: float
    digits_stderr: float
    success: bool
    nfev: int
    seconds: float

    @property
    def digits(self) -> float:
        """Digits of values and standard errors together (the smaller)."""
        return min(self.digits_values, self.digits_stderr)

    @property
    def false_success(self) -> bool:
        """Success reported with fewer than 4 correct digits in the values."""
        return self.success and self.digits_values < 4


def _score(problem, values, stderr, success, nfev, seconds) -> CaseScore:
    cap = problem.certified_digits

    def digits(estimates, certified):
        return min(
            log_relative_error(e, c, max_digits=cap)
            for e, c in zip(estimates, certified, strict=True)
        )

    return CaseScore(
        digits(values, problem.certified_values),
        digits(stderr, problem.certified_stderr),
        bool(success),
        int(nfev),
        seconds,
    )


def run_paramfit(name: str, start: int) -> CaseScore:
    """paramfit through :func:`paramfit.reference.nist.run_case` (default settings)."""
    begin = time.perf_counter()
    result = run_case(name, start)
    seconds = time.perf_counter() - begin
    return _score(
        load_nist(name), result.values, result.stderr, result.success, result.nfev, seconds
    )


def run_lmfit(name: str, start: int) -> CaseScore:
    """``lmfit.minimize`` with its default method (leastsq) and settings."""
    import lmfit

    problem = load_nist(name)
    names, response, x = problem.param_names, problem.response, problem.x

    calls = [0]

    def residual(params):
        calls[0] += 1
        return response - problem.model([params[p].value for p in names], x)

    params = lmfit.Parameters()
    for param_name, value in zip(names, problem.starts[start - 1], strict=True):
        params.add(param_name, value=float(value))
    begin = time.perf_counter()
    try:
        fit = lmfit.minimize(residual, params)
    except Exception:  # noqa: BLE001 - a crash (lmfit raises on NaN) is a failed case
        nan = [np.nan] * problem.k
        return _score(problem, nan, nan, False, calls[0], time.perf_counter() - begin)
    seconds = time.perf_counter() - begin
    values = [fit.params[p].value for p in names]
    stderr = [np.nan if fit.params[p].stderr is None else fit.params[p].stderr for p in names]
    return _score(problem, values, stderr, fit.success, calls[0], seconds)


def run_scipy(name: str, start: int) -> CaseScore:
    """``scipy.optimize.least_squares(method='lm')`` with tolerances 1e-15."""
    problem = load_nist(name)
    calls = [0]

    def residual(b):
        calls[0] += 1
        return problem.residual(b)

    begin = time.perf_counter()
    fit = least_squares(
        residual,
        problem.starts[start - 1],
        method="lm",
        xtol=1e-15,
        ftol=1e-15,
        gtol=1e-15,
    )
    seconds = time.perf_counter() - begin
    rss = float(fit.fun @ fit.fun)
    try:
        covariance = np.linalg.inv(fit.jac.T @ fit.jac) * rss / (problem.n - problem.k)
        stderr = np.sqrt(np.diag(covariance))
    except np.linalg.LinAlgError:
        stderr = np.full(problem.k, np.nan)
    return _score(problem, fit.x, stderr, fit.success, calls[0], seconds)


RUNNERS = {"paramfit": run_paramfit, "lmfit": run_lmfit, "scipy": run_scipy}


def _print_table(scores: dict) -> None:
    head = "".join(f" {f:>20s}" for f in FITTERS)
    sub = "".join(f" {'val':>5s} {'se':>5s} {'ok':>2s} {'nfev':>5s}" for _ in FITTERS)
    print(f"{'case':18s}{head}\n{'':18s}{sub}")
    for case, row in scores.items():
        cells = "".join(
            f" {s.digits_values:5.1f} {s.digits_stderr:5.1f} {'y' if s.success else 'n':>2s}"
            f" {s.nfev:5d}"
            for s in (row[f] for f in FITTERS)
        )
        print(f"{case[0]:>9s}-start{case[1]}  {cells}")


def _summary(scores: dict) -> dict[str, dict[str, float]]:
    summary = {}
    for fitter in FITTERS:
        column = [row[fitter] for row in scores.values()]
        summary[fitter] = {
            "at_6": sum(s.digits >= 6 for s in column),
            "at_4": sum(s.digits >= 4 for s in column),
            "values_at_6": sum(s.digits_values >= 6 for s in column),
            "false_success": sum(s.false_success for s in column),
            "nfev": sum(s.nfev for s in column),
            "seconds": sum(s.seconds for s in column),
        }
    return summary


def _print_summary(summary: dict, cases: int) -> None:
    print(f"\nsummary over {cases} cases (digits = min of values and standard errors)")
    print(
        f"{'fitter':10s} {'>=6':>5s} {'>=4':>5s} {'val>=6':>7s} {'false ok':>9s}"
        f" {'nfev':>8s} {'seconds':>8s}"
    )
    for fitter, row in summary.items():
        print(
            f"{fitter:10s} {row['at_6']:5d} {row['at_4']:5d} {row['values_at_6']:7d}"
            f" {row['false_success']:9d} {row['nfev']:8d} {row['seconds']:8.3f}"
        )
    ours = summary["paramfit"]
    for other in FITTERS[1:]:
        theirs = summary[other]
        print(
            f"paramfit / {other}: nfev x{ours['nfev'] / max(theirs['nfev'], 1):.2f},"
            f" time x{ours['seconds'] / max(theirs['seconds'], 1e-12):.2f},"
            f" cases at >=6 digits {ours['at_6']} vs {theirs['at_6']}"
        )


def _mgh_line() -> str:
    tests = Path(__file__).resolve().parents[1] / "tests"
    sys.path[:0] = [str(tests), str(tests / "reference")]      # _perturb, test_robustness
    from test_robustness import summarize_robustness

    return summarize_robustness()["line"]


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark, print the table and summary; return the summary dict."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mgh", action="store_true", help="also run the MGH robustness set")
    parser.add_argument("--quiet", action="store_true", help="summary only, no per-case table")
    args = parser.parse_args(argv)

    scores = {}
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        for name in nist_names():
            for start in (1, 2):
                scores[(name, start)] = {f: RUNNERS[f](name, start) for f in FITTERS}
    if not args.quiet:
        _print_table(scores)
    summary = _summary(scores)
    _print_summary(summary, len(scores))
    if args.mgh:
        print("\n" + _mgh_line())
    return summary


if __name__ == "__main__":
    main()
