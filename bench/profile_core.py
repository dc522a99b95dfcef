"""Where the time of one small fit goes: section timers around paramfit's own calls.

Case (a) of bench_core.py (Gaussian + line, 200 points, 5 free parameters, FD Jacobian;
with ``--constrained`` case (b): two bounded parameters and one tied) is fitted many
times with timers wrapped around the stages of ``Minimizer._fit``:
set-up (``prepare_fit``), the size check (which evaluates the start residual), the
solver (``levenberg_marquardt``), its final phase (``polish``: accurate Jacobian,
Gauss-Newton polish, stationarity check), the statistics (``build_result``), the
options (``FitOptions.resolve``), the result's copy of the Parameters
(``Parameters.copy``) and the bench's own Parameters table built for each fit (the
user's cost too: a fit's call site builds one), and every residual evaluation is timed
and charged to the stage that made it.  The timers
add about 0.3 us per evaluation; each row is the median over the fits, printed next to
an untimed median of the whole fit.

Run:  python bench/profile_core.py [--fits N] [--constrained]
"""

from __future__ import annotations

import argparse
import collections
import statistics
import sys
import time

from bench_core import make_data, pf_params, resid_params

import paramfit
import paramfit.core.problem as problem_module
import paramfit.fitting.minimizer as minimizer_module
from paramfit.core.options import FitOptions
from paramfit.core.parameters.parameters import Parameters

SOLVER_MODULE = sys.modules["paramfit.core.solvers.levenberg_marquardt"]


class SectionTimers:
    """Wraps functions so that their time (and the evaluations made inside) add up."""

    def __init__(self):
        self.seconds = collections.defaultdict(float)
        self.calls = collections.defaultdict(int)
        self.stack: list[str] = []

    def wrap(self, owner, name: str, label: str) -> None:
        setattr(owner, name, self.timed(getattr(owner, name), label))

    def timed(self, original, label: str):
        """``original`` with its time (and evaluations) charged to ``label``."""

        def timed(*args, **kws):
            self.stack.append(label)
            start = time.perf_counter()
            try:
                return original(*args, **kws)
            finally:
                self.seconds[label] += time.perf_counter() - start
                self.stack.pop()

        return timed

    def wrap_residual(self) -> None:
        # every evaluation goes through residual_unchecked (FitProblem.residual adds its
        # finiteness check around it; the LM iteration calls it directly)
        original = problem_module.FitProblem.residual_unchecked

        def residual(problem, x):
            start = time.perf_counter()
            out = original(problem, x)
            label = "evaluations in " + (self.stack[-1] if self.stack else "other")
            self.seconds[label] += time.perf_counter() - start
            self.calls[label] += 1
            return out

        problem_module.FitProblem.residual_unchecked = residual


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fits", type=int, default=1000)
    parser.add_argument("--constrained", action="store_true",
                        help="case (b): two bounded parameters and one tied")
    args = parser.parse_args()
    x, y = make_data(200)

    table = [pf_params]   # timed through this list once the timers are on

    def fit():
        return paramfit.minimize(resid_params, table[0](args.constrained), args=(x, y))

    for _ in range(100):
        fit()
    untimed = []
    for _ in range(args.fits):
        start = time.perf_counter()
        fit()
        untimed.append(time.perf_counter() - start)

    timers = SectionTimers()
    timers.wrap(minimizer_module.Minimizer, "prepare_fit", "set-up (prepare_fit)")
    timers.wrap(minimizer_module, "check_fit_size", "size check (start residual)")
    timers.wrap(minimizer_module, "solve_lm", "solver")
    timers.wrap(SOLVER_MODULE, "polish", "final phase")
    timers.wrap(minimizer_module, "build_result", "statistics (build_result)")
    timers.wrap(minimizer_module, "_write_parameters", "statistics (build_result)")
    timers.wrap(FitOptions, "resolve", "options")
    timers.wrap(Parameters, "copy", "result copy")
    table[0] = timers.timed(pf_params, "Parameters table")
    timers.wrap_residual()
    for _ in range(100):
        fit()
    timers.seconds.clear()
    timers.calls.clear()
    # every row is a median over the fits (a busy shared machine inflates a mean)
    per_fit: list[dict[str, float]] = []
    totals = []
    for _ in range(args.fits):
        timers.seconds.clear()
        start = time.perf_counter()
        fit()
        totals.append(time.perf_counter() - start)
        per_fit.append(_rows(timers.seconds, totals[-1]))
    n = args.fits
    case = "b" if args.constrained else "a"
    print(f"case ({case}), {n} fits: untimed median {statistics.median(untimed) * 1e6:.0f} us, "
          f"timed median {statistics.median(totals) * 1e6:.0f} us (each row: its median)")
    calls = sum(timers.calls.values()) / n
    for label in per_fit[0]:
        micro = statistics.median(row[label] for row in per_fit) * 1e6
        shown = f"{calls:.0f} evaluations" if label == "evaluations" else label
        print(f"  {shown:58s} {micro:7.1f} us")
    for label in sorted(timers.calls):
        print(f"    {label:56s} {timers.calls[label] / n:5.1f} calls")


def _rows(sec: dict[str, float], total: float) -> dict[str, float]:
    """One fit's seconds by stage, from the section timers' sums."""
    evals = sum(v for k, v in sec.items() if k.startswith("evaluations"))
    rows = {
        "evaluations": evals,
        "iteration, Python/numpy": sec["solver"] - sec["final phase"]
        - sec.get("evaluations in solver", 0.0),
        "final phase, Python/numpy": sec["final phase"]
        - sec.get("evaluations in final phase", 0.0),
        "statistics and Parameters update": sec["statistics (build_result)"],
        "set-up and size check (without its evaluation)":
            sec["set-up (prepare_fit)"] + sec["size check (start residual)"]
            - sec.get("evaluations in size check (start residual)", 0.0),
        "options (FitOptions.resolve)": sec["options"],
        "result's copy of the Parameters": sec["result copy"],
        "the bench's Parameters table (5 x Parameters.add)": sec["Parameters table"],
    }
    rows["the rest (minimize, Minimizer, snapshot, result object)"] = \
        total - sum(rows.values())
    return rows

if __name__ == "__main__":
    main()
