"""Benchmark: paramfit.conf_interval against lmfit 1.3's on seed 000 §4.3's example.

The model ``a1*exp(-x/t1) + a2*exp(-x/t2)`` is fitted to
``3*exp(-x/2) - 5*exp(-x/10) + 0.2*noise`` (x = linspace(0.3, 10, 100), fixed
noise seed) from ``a1=5, a2=-5, t1=2, t2=5`` by both libraries; then both compute
the 0.68 and 0.95 confidence intervals of every parameter.  Printed: the median
time of each (over ``--repeats`` runs), their ratio (goal: paramfit >= 5x
faster; the fits themselves are timed apart) and the largest relative
difference between the interval end points
(goal <= 1e-3; lmfit's own root finder stops at a relative 5e-5).

Run: ``python bench/bench_confidence.py [--repeats N] [--seed S]``.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import numpy as np

import paramfit.core.parameters.parameters
import paramfit.fitting.confidence
import paramfit.fitting.minimizer

SIGMAS = (0.68, 0.95)
START = (("a1", 5.0), ("a2", -5.0), ("t1", 2.0), ("t2", 5.0))


def make_data(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The seed's data with a reproducible noise draw."""
    x = np.linspace(0.3, 10, 100)
    noise = np.random.default_rng(seed).standard_normal(x.size)
    return x, 3 * np.exp(-x / 2.0) - 5 * np.exp(-x / 10.0) + 0.2 * noise


def residual(p, x, y):
    """Works for paramfit and lmfit Parameters alike."""
    a1, a2, t1, t2 = p["a1"].value, p["a2"].value, p["t1"].value, p["t2"].value
    return a1 * np.exp(-x / t1) + a2 * np.exp(-x / t2) - y


def fit_paramfit(x: np.ndarray, y: np.ndarray):
    params = paramfit.core.parameters.parameters.Parameters()
    params.add_many(*START)
    return paramfit.fitting.minimizer.minimize(residual, params, args=(x, y))


def fit_lmfit(x: np.ndarray, y: np.ndarray):
    import lmfit

    params = lmfit.Parameters()
    params.add_many(*START)
    mini = lmfit.Minimizer(residual, params, fcn_args=(x, y))
    return mini, mini.minimize(method="leastsq")


def ci_paramfit(fitter) -> dict:
    return paramfit.fitting.confidence.conf_interval(fitter, sigmas=SIGMAS)


def ci_lmfit(mini, result) -> dict:
    import lmfit

    return lmfit.conf_interval(mini, result, sigmas=SIGMAS)


def timed(repeats: int, *jobs) -> list[tuple[float, float, object]]:
    """Run the jobs interleaved ``repeats`` times (so a change of machine load hits
    both alike); per job the median wall time, median CPU time and last output."""
    wall: list[list[float]] = [[] for _ in jobs]
    cpu: list[list[float]] = [[] for _ in jobs]
    outs: list[object] = [None] * len(jobs)
    for _ in range(repeats):
        for i, (fn, args) in enumerate(jobs):
            start, start_cpu = time.perf_counter(), time.process_time()
            outs[i] = fn(*args)
            cpu[i].append(time.process_time() - start_cpu)
            wall[i].append(time.perf_counter() - start)
    return [(statistics.median(w), statistics.median(c), o)
            for w, c, o in zip(wall, cpu, outs, strict=True)]


def max_relative_difference(ours: dict, theirs: dict) -> float:
    worst = 0.0
    for name, rows in ours.items():
        for (_, a), (_, b) in zip(rows, theirs[name], strict=True):
            worst = max(worst, abs(a - b) / max(abs(b), 1e-300))
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--seed", type=int, default=2)
    args = parser.parse_args()
    x, y = make_data(args.seed)
    warnings.simplefilter("ignore")
    fitter = fit_paramfit(x, y)
    mini, result = fit_lmfit(x, y)
    (t_ours, c_ours, ours), (t_theirs, c_theirs, theirs) = timed(
        args.repeats, (ci_paramfit, (fitter,)), (ci_lmfit, (mini, result)))
    (t_fit, _, _), (t_fit_lm, _, _) = timed(
        args.repeats, (fit_paramfit, (x, y)), (fit_lmfit, (x, y)))
    print(f"{'':6s}" + "".join(f"{'%.2f%%' % (s * 100):>12s}" for s, _ in ours["a1"]))
    for name in ours:
        print(f"{name:6s}" + "".join(f"{v:12.5f}" for _, v in ours[name]), " paramfit")
        print(f"{'':6s}" + "".join(f"{v:12.5f}" for _, v in theirs[name]), " lmfit")
    print(f"conf_interval  paramfit {t_ours * 1e3:7.1f} ms wall {c_ours * 1e3:7.1f} ms CPU | "
          f"lmfit {t_theirs * 1e3:7.1f} ms wall {c_theirs * 1e3:7.1f} ms CPU "
          f"(medians of {args.repeats}, interleaved)")
    print(f"speed-up: {t_theirs / t_ours:.1f}x wall, {c_theirs / c_ours:.1f}x CPU   (goal >= 5x)")
    print(f"(the fits alone: paramfit {t_fit * 1e3:.1f} ms, lmfit {t_fit_lm * 1e3:.1f} ms)")
    print(f"max relative difference of the limits: {max_relative_difference(ours, theirs):.2e}"
          "   (goal <= 1e-3)")


if __name__ == "__main__":
    main()
