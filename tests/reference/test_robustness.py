"""Robustness on the Moré-Garbow-Hillstrom problems: paramfit against MINPACK.

Every problem of :mod:`mgh_problems` is started from ``x0``, ``10 x0`` and ``100 x0`` (for
``x0 = 0``: every component 10 or 100, as MINPACK's test driver does) and solved

(a) by :func:`paramfit.minimize` with default settings, and
(b) by MINPACK ``lmdif`` (:func:`scipy.optimize.leastsq`) with ``ftol = xtol = 1e-15`` and
    ``maxfev = 10000 (n + 1)``.

A run *reaches the minimum* when its final sum of squares ``F`` matches one of the minima
the paper lists (several problems list more than one, some reached only at infinity):
``F <= 1e-10`` when ``F* = 0``, else ``|F - F*| <= 1e-6 F* + one unit in the sixth
published digit`` (the paper prints six digits). paramfit must reach every run of
``MUST_REACH`` and at least as many as MINPACK, less ``MINPACK_MARGIN``. ``pytest -s``
prints both counts; :func:`summarize_robustness` is the same measurement for the
benchmarks.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

import _perturb
import numpy as np
import pytest
from mgh_problems import FACTORS, MGH_PROBLEMS, MghProblem, reaches_minimum, scaled_start
from scipy.optimize import leastsq

import paramfit

# ---------------------------------------------------------------------------------------
# Runners: one problem from one start, with paramfit and with MINPACK (scipy.optimize.leastsq).


@dataclass(frozen=True)
class RunOutcome:
    """Result of one run: final sum of squares, whether it reached a published minimum."""

    problem: str
    factor: float
    solver: str
    value: float
    reached: bool
    nfev: int
    error: str | None = None


def _outcome(problem, factor, solver, x, nfev, error=None):
    with np.errstate(all="ignore"):
        value = np.inf if x is None else float(np.sum(problem.residual(np.asarray(x)) ** 2))
    return RunOutcome(
        problem.name, factor, solver, value, reaches_minimum(problem, value), int(nfev), error
    )


def run_minpack(problem: MghProblem, factor: float) -> RunOutcome:
    """MINPACK ``lmdif`` through :func:`scipy.optimize.leastsq`, tight tolerances.

    ``ftol = xtol = 1e-15``, ``maxfev = 10000 * (n + 1)``, forward-difference Jacobian.
    """
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        x, _, info, _, _ = leastsq(
            problem.residual,
            scaled_start(problem, factor),
            full_output=True,
            ftol=1e-15,
            xtol=1e-15,
            maxfev=10000 * (problem.n + 1),
        )
    return _outcome(problem, factor, "minpack", x, info["nfev"])


def run_paramfit(problem: MghProblem, factor: float) -> RunOutcome:
    """:func:`paramfit.minimize` with default settings, parameters ``x1..xn`` unbounded.

    An exception from the fit counts as not reaching a minimum (its text is kept).
    """
    residual = problem.residual
    names = [f"x{i}" for i in range(1, problem.n + 1)]

    def fcn(params):
        return residual(np.array([params[name].value for name in names]))

    params = paramfit.Parameters()
    for name, value in zip(names, scaled_start(problem, factor), strict=True):
        params.add(name, value=float(value))
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            fit = paramfit.minimize(fcn, params)
    except Exception as exc:  # noqa: BLE001 - a failed run is a measurement here
        return _outcome(problem, factor, "paramfit", None, 0, f"{type(exc).__name__}: {exc}")
    x = [fit.params[name].value for name in names]
    return _outcome(problem, factor, "paramfit", x, fit.nfev)


def summarize_robustness(problems: list[MghProblem] | None = None) -> dict:
    """Run every problem from every start with both solvers and count minima reached.

    Returns
    -------
    dict
        ``runs`` (number of problem x start pairs), ``paramfit`` and ``minpack`` (counts
        reaching a published minimum), ``paramfit_nfev`` / ``minpack_nfev`` (totals),
        ``seconds`` (per solver), ``paramfit_only`` / ``minpack_only`` (runs only one of
        them solved, as ``"name x factor"``), ``errors`` (paramfit exceptions), ``outcomes``
        (every :class:`RunOutcome`) and ``line`` (a one-line summary).
    """
    problems = MGH_PROBLEMS if problems is None else problems
    outcomes: dict[str, list[RunOutcome]] = {"paramfit": [], "minpack": []}
    seconds = {}
    for solver, runner in (("paramfit", run_paramfit), ("minpack", run_minpack)):
        start = time.perf_counter()
        outcomes[solver] = [runner(p, f) for p in problems for f in FACTORS]
        seconds[solver] = time.perf_counter() - start
    ours, theirs = outcomes["paramfit"], outcomes["minpack"]
    label = [f"{o.problem} x{o.factor:g}" for o in ours]
    summary = {
        "runs": len(ours),
        "paramfit": sum(o.reached for o in ours),
        "minpack": sum(o.reached for o in theirs),
        "paramfit_nfev": sum(o.nfev for o in ours),
        "minpack_nfev": sum(o.nfev for o in theirs),
        "seconds": seconds,
        "paramfit_only": [
            lab
            for lab, a, b in zip(label, ours, theirs, strict=True)
            if a.reached and not b.reached
        ],
        "minpack_only": [
            lab
            for lab, a, b in zip(label, ours, theirs, strict=True)
            if b.reached and not a.reached
        ],
        "errors": {lab: o.error for lab, o in zip(label, ours, strict=True) if o.error},
        "outcomes": outcomes,
    }
    summary["line"] = (
        f"MGH robustness ({len(problems)} problems x {len(FACTORS)} starts = {len(ours)} runs):"
        f" paramfit {summary['paramfit']}/{len(ours)} (nfev {summary['paramfit_nfev']}),"
        f" MINPACK leastsq {summary['minpack']}/{len(ours)} (nfev {summary['minpack_nfev']})"
    )
    return summary


# ---------------------------------------------------------------------------------------
# Tests

# Known minimizers from the paper, to check the residual functions and the published F*.
KNOWN_MINIMIZERS = {
    "Rosenbrock": ((1.0, 1.0), 0.0),
    "Freudenstein-Roth": ((5.0, 4.0), 0.0),
    "Brown badly scaled": ((1e6, 2e-6), 0.0),
    "Beale": ((3.0, 0.5), 0.0),
    "Helical valley": ((1.0, 0.0, 0.0), 0.0),
    "Box 3-D m=10": ((1.0, 10.0, 1.0), 0.0),
    "Powell singular": ((0.0, 0.0, 0.0, 0.0), 0.0),
    "Wood": ((1.0, 1.0, 1.0, 1.0), 0.0),
    "Biggs EXP6": ((1.0, 10.0, 1.0, 5.0, 4.0, 3.0), 0.0),
    "Extended Rosenbrock n=10": ((1.0,) * 10, 0.0),
    "Variably dimensioned n=10": ((1.0,) * 10, 0.0),
    "Brown almost-linear n=10": ((1.0,) * 10, 0.0),
    "Linear full rank n=5 m=10": ((-1.0,) * 5, 5.0),
}
BY_NAME = {problem.name: problem for problem in MGH_PROBLEMS}


@pytest.mark.parametrize("name", KNOWN_MINIMIZERS)
def test_residuals_vanish_or_match_at_known_minimizers(name):
    problem = BY_NAME[name]
    x, expected = KNOWN_MINIMIZERS[name]
    value = float(np.sum(problem.residual(np.array(x)) ** 2))
    assert value == pytest.approx(expected, abs=1e-20)
    assert reaches_minimum(problem, value)


def test_problem_table():
    assert len(MGH_PROBLEMS) >= 30
    for problem in MGH_PROBLEMS:
        assert problem.residual(np.array(problem.x0)).shape == (problem.m,)
        assert problem.m >= problem.n == len(problem.x0)
    # exact: MINPACK's rule, then the --perturb-ulps nudge (none by default)
    assert scaled_start(BY_NAME["Watson n=6"], 10.0).tolist() == _perturb.nudged(
        [10.0] * 6).tolist()
    assert scaled_start(BY_NAME["Rosenbrock"], 100.0).tolist() == _perturb.nudged(
        [-120.0, 100.0]).tolist()


def test_minimum_criterion():
    bard = BY_NAME["Bard"]
    assert reaches_minimum(bard, 8.214877e-3) and reaches_minimum(bard, 17.42869)
    assert not reaches_minimum(bard, 8.2150e-3) and not reaches_minimum(bard, np.nan)
    assert reaches_minimum(BY_NAME["Penalty I n=4"], 2.249978e-5)  # published truncated
    assert reaches_minimum(BY_NAME["Rosenbrock"], 1e-11)
    assert not reaches_minimum(BY_NAME["Rosenbrock"], 1e-9)


def test_minpack_reaches_published_minima_from_x0():
    """The published F* and the residual functions agree: MINPACK finds F* from x0."""
    missed = [p.name for p in MGH_PROBLEMS if not run_minpack(p, 1.0).reached]
    # From x0 MINPACK stops at other stationary points on these (measured, scipy 1.x):
    # Penalty I is reached once the truncated 6th digit is allowed for.
    assert set(missed) <= {"Watson n=6", "Trigonometric n=10"}, missed


#: The (problem, start) runs paramfit reaches (76 of 93), measured with every start as
#: given and moved by +-2 units in the last place, under three OpenBLAS kernels (Haswell,
#: Prescott, Sandybridge): all 9 runs reach each of these.  Of the other 17, "Biggs EXP6
#: x100" is reached in 1 of the 9 (it ends on a saddle of the sum of squares otherwise),
#: the rest in none.
MUST_REACH = frozenset((
    "Bard x1",
    "Bard x10",
    "Bard x100",
    "Beale x1",
    "Biggs EXP6 x1",
    "Biggs EXP6 x10",
    "Box 3-D m=10 x1",
    "Brown almost-linear n=10 x1",
    "Brown almost-linear n=10 x10",
    "Brown almost-linear n=10 x100",
    "Brown badly scaled x1",
    "Brown badly scaled x10",
    "Brown badly scaled x100",
    "Brown-Dennis m=20 x1",
    "Brown-Dennis m=20 x10",
    "Brown-Dennis m=20 x100",
    "Broyden banded n=10 x1",
    "Broyden banded n=10 x10",
    "Broyden banded n=10 x100",
    "Broyden tridiagonal n=10 x1",
    "Broyden tridiagonal n=10 x10",
    "Broyden tridiagonal n=10 x100",
    "Discrete boundary value n=10 x1",
    "Discrete boundary value n=10 x10",
    "Discrete boundary value n=10 x100",
    "Discrete integral n=10 x1",
    "Discrete integral n=10 x10",
    "Discrete integral n=10 x100",
    "Extended Rosenbrock n=10 x1",
    "Extended Rosenbrock n=10 x10",
    "Extended Rosenbrock n=10 x100",
    "Freudenstein-Roth x1",
    "Freudenstein-Roth x10",
    "Freudenstein-Roth x100",
    "Gaussian x1",
    "Gaussian x10",
    "Helical valley x1",
    "Helical valley x10",
    "Helical valley x100",
    "Jennrich-Sampson m=10 x1",
    "Kowalik-Osborne x1",
    "Kowalik-Osborne x10",
    "Kowalik-Osborne x100",
    "Linear full rank n=5 m=10 x1",
    "Linear full rank n=5 m=10 x10",
    "Linear full rank n=5 m=10 x100",
    "Linear rank 1 n=5 m=10 x1",
    "Linear rank 1 n=5 m=10 x10",
    "Linear rank 1 n=5 m=10 x100",
    "Meyer x1",
    "Meyer x100",
    "Osborne 1 x1",
    "Osborne 1 x10",
    "Osborne 1 x100",
    "Osborne 2 x1",
    "Penalty I n=4 x1",
    "Penalty I n=4 x10",
    "Penalty I n=4 x100",
    "Penalty II n=4 x1",
    "Penalty II n=4 x10",
    "Penalty II n=4 x100",
    "Powell badly scaled x1",
    "Powell singular x1",
    "Powell singular x10",
    "Powell singular x100",
    "Rosenbrock x1",
    "Rosenbrock x10",
    "Rosenbrock x100",
    "Variably dimensioned n=10 x1",
    "Variably dimensioned n=10 x10",
    "Variably dimensioned n=10 x100",
    "Watson n=6 x10",
    "Watson n=6 x100",
    "Wood x1",
    "Wood x10",
    "Wood x100",
))
#: MINPACK's count is not pinned: its path also hinges on rounding (77 on a machine where
#: Biggs EXP6 x100 went its way, 76 here).  paramfit may trail it by at most this many
#: runs, the flaky ones on either side.
MINPACK_MARGIN = 1


def test_paramfit_reaches_the_named_runs_and_keeps_up_with_minpack():
    summary = summarize_robustness()
    print()
    print(summary["line"])
    print("  reached by paramfit only:", summary["paramfit_only"])
    print("  reached by MINPACK only: ", summary["minpack_only"])
    for label, error in summary["errors"].items():
        print(f"  paramfit raised on {label}: {error}")
    reached = {f"{o.problem} x{o.factor:g}" for o in summary["outcomes"]["paramfit"]
               if o.reached}
    assert not MUST_REACH - reached, sorted(MUST_REACH - reached)
    assert summary["paramfit"] >= summary["minpack"] - MINPACK_MARGIN, summary["line"]
