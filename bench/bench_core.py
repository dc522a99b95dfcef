"""Fitting-core benchmarks (issue: Fitting core, part 6), lmfit and scipy in the same run.

(a) Gaussian + linear background, 200 points, 5 free parameters, FD Jacobian:
    paramfit.minimize vs raw scipy.optimize.leastsq on the same residual, and lmfit.
(b) the same with two bounded parameters and one tied parameter: paramfit vs lmfit.
(c) 100,000 points: paramfit, scipy.leastsq and lmfit interleaved, and total fit time vs
    nfev x bare-residual time.

Run:  python bench/bench_core.py [--repeats N]
Prints medians and ratios.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import numpy as np
from scipy import optimize

import paramfit

try:
    import lmfit
except ImportError:  # bench-only dependency: pip install 'paramfit[bench]'
    lmfit = None

def make_data(n: int, seed: int = 7):
    """The same data for a given ``n`` whatever ran before (a fresh generator per call)."""
    x = np.linspace(-5, 5, n)
    y = 4.0 * np.exp(-((x - 0.3) ** 2) / (2 * 0.8**2)) + 0.2 * x + 1.0
    return x, y + np.random.default_rng(seed).normal(scale=0.05, size=n)


def model(x, amp, cen, wid, slope, icpt):
    return amp * np.exp(-((x - cen) ** 2) / (2 * wid * wid)) + slope * x + icpt


START = dict(amp=3.0, cen=0.0, wid=1.0, slope=0.0, icpt=0.5)


def resid_params(p, x, y):
    return model(x, p["amp"].value, p["cen"].value, p["wid"].value, p["slope"].value,
                 p["icpt"].value) - y


def resid_array(v, x, y):
    return model(x, v[0], v[1], v[2], v[3], v[4]) - y


def median_time(fn, repeats: int) -> tuple[float, object]:
    out = fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def pf_params(constrained: bool):
    p = paramfit.Parameters()
    for name, value in START.items():
        p.add(name, value=value)
    if constrained:
        p["wid"].min, p["wid"].max = 0.05, 5.0
        p["amp"].min = 0.0
        p["icpt"].expr = "5*slope"  # tied (truth: 1.0 = 5*0.2)
    return p


def lm_params(constrained: bool):
    p = lmfit.Parameters()
    for name, value in START.items():
        p.add(name, value=value)
    if constrained:
        p["wid"].set(min=0.05, max=5.0)
        p["amp"].set(min=0.0)
        p["icpt"].set(expr="5*slope")
    return p


def interleaved_times(fns: dict, repeats: int) -> tuple[dict, dict]:
    """Each function timed in turn within every repeat (a change of load on the shared
    machine hits all of them alike): the times per repeat and the last outputs."""
    outs = {name: fn() for name, fn in fns.items()}
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            outs[name] = fn()
            times[name].append(time.perf_counter() - t0)
    return times, outs


def interleaved_medians(fns: dict, repeats: int) -> dict:
    """Median time of each function, timed interleaved (:func:`interleaved_times`)."""
    times, outs = interleaved_times(fns, repeats)
    return {name: (statistics.median(times[name]), outs[name]) for name in fns}


def bench_small(repeats: int, constrained: bool) -> dict:
    x, y = make_data(200)
    v0 = list(START.values())
    fns = {"paramfit": lambda: paramfit.minimize(resid_params, pf_params(constrained),
                                                 args=(x, y))}
    if not constrained:
        fns["scipy.leastsq"] = lambda: optimize.leastsq(resid_array, v0, args=(x, y),
                                                        full_output=True)
    if lmfit is not None:
        fns["lmfit"] = lambda: lmfit.minimize(resid_params, lm_params(constrained),
                                              args=(x, y))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        timed = interleaved_medians(fns, repeats)
    res = {}
    for name, (t, out) in timed.items():
        if name == "scipy.leastsq":
            r = resid_array(out[0], x, y)
            res[name] = (t, out[2]["nfev"], float(r @ r))
        else:
            res[name] = (t, out.nfev, out.chisqr)
    return res


class TimedResidual:
    """``resid_params`` that adds up the time spent inside it (the user's residual as
    the fit sees it: caches and allocator state as they are during the fit)."""

    def __init__(self):
        self.seconds, self.calls = 0.0, 0

    def __call__(self, p, x, y):
        t0 = time.perf_counter()
        out = resid_params(p, x, y)
        self.seconds += time.perf_counter() - t0
        self.calls += 1
        return out


def bench_large(repeats: int) -> dict:
    """Case (c): paramfit, scipy.leastsq and lmfit on 100,000 points, timed interleaved
    (``repeats // 10``, at least 5, rounds), and paramfit's time per evaluation."""
    x, y = make_data(100_000)
    p = pf_params(False)
    v0 = list(START.values())
    fns = {"paramfit": lambda: paramfit.minimize(resid_params, pf_params(False), args=(x, y)),
           "scipy.leastsq": lambda: optimize.leastsq(resid_array, v0, args=(x, y),
                                                     full_output=True)}
    if lmfit is not None:
        fns["lmfit"] = lambda: lmfit.minimize(resid_params, lm_params(False), args=(x, y))
    fits = max(5, repeats // 10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        times, outs = interleaved_times(fns, fits)
    timed = {name: (statistics.median(times[name]), outs[name]) for name in fns}
    # paramfit / leastsq within each round (paired: the same load), their quartiles
    paired = sorted(a / b for a, b in zip(times["paramfit"], times["scipy.leastsq"]))
    quartiles = statistics.quantiles(paired, n=4) if len(paired) >= 2 else paired * 3
    t_fit, out = timed["paramfit"]
    t_res, _ = median_time(lambda: resid_params(p, x, y), max(20, repeats))
    timed_residual = TimedResidual()
    for _ in range(fits):
        paramfit.minimize(timed_residual, pf_params(False), args=(x, y))
    in_fit = timed_residual.seconds / timed_residual.calls
    others = {name: (t, o[2]["nfev"] if name == "scipy.leastsq" else o.nfev)
              for name, (t, o) in timed.items() if name != "paramfit"}
    return {"fit_s": t_fit, "nfev": out.nfev, "resid_s": t_res, "in_fit_s": in_fit,
            "ratio": t_fit / (out.nfev * t_res), "ratio_in_fit": t_fit / (out.nfev * in_fit),
            "others": others, "rounds": fits, "paired_quartiles": quartiles}


def evaluation_floor(repeats: int) -> dict:
    """Time of one evaluation through paramfit's wrapper (set values, call, checks) and
    through a bare array function, 200 points: the part of (a) no solver work removes."""
    x, y = make_data(200)
    fitter = paramfit.Minimizer(resid_params, pf_params(False), fcn_args=(x, y))
    problem = fitter.prepare_fit()
    v0 = problem.x0
    wrapped, _ = median_time(lambda: [problem.residual(v0) for _ in range(100)], repeats)
    bare, _ = median_time(lambda: [resid_array(v0, x, y) for _ in range(100)], repeats)
    return {"wrapped_s": wrapped / 100, "bare_s": bare / 100}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args()
    print(f"paramfit {paramfit.__version__}, numpy {np.__version__}, "
          f"lmfit {getattr(lmfit, '__version__', 'absent')}")
    goals = []
    for constrained, title in ((False, "(a) Gaussian+line, 200 pts, 5 free, FD Jacobian"),
                               (True, "(b) same, 2 bounded + 1 tied")):
        res = bench_small(args.repeats, constrained)
        if not constrained:
            goals.append(("(a) paramfit / leastsq", res["paramfit"][0]
                          / res["scipy.leastsq"][0], "<= 2.5"))
        elif "lmfit" in res:
            goals.append(("(b) lmfit / paramfit", res["lmfit"][0] / res["paramfit"][0],
                          ">= 3"))
        print(f"\n{title}")
        base = res["paramfit"][0]
        for name, (t, nfev, chisqr) in res.items():
            print(f"  {name:14s} {t * 1e3:8.3f} ms  nfev={nfev:4d}  chisqr={chisqr:.10g}  "
                  f"time/paramfit={t / base:6.2f}x")
        if not constrained:
            floor = evaluation_floor(max(20, args.repeats // 10))
            t_scipy, nfev = res["scipy.leastsq"][0], res["paramfit"][1]
            print(f"  evaluation floor: {nfev} x {floor['wrapped_s'] * 1e6:.2f} us through "
                  f"paramfit's wrapper ({floor['bare_s'] * 1e6:.2f} us bare) = "
                  f"{nfev * floor['wrapped_s'] * 1e3:.3f} ms = "
                  f"{nfev * floor['wrapped_s'] / t_scipy:.2f}x leastsq's whole fit")
    big = bench_large(args.repeats)
    print("\n(c) 100,000 points: fit {:.1f} ms, nfev {}, bare residual {:.3f} ms, "
          "fit / (nfev x residual) = {:.3f}".format(big["fit_s"] * 1e3, big["nfev"],
                                                    big["resid_s"] * 1e3, big["ratio"]))
    print("    the same residual timed inside the fits: {:.3f} ms per call; fit / (nfev x "
          "that) = {:.3f}".format(big["in_fit_s"] * 1e3, big["ratio_in_fit"]))
    for name, (t, nfev) in big["others"].items():
        print(f"    {name:14s} {t * 1e3:8.1f} ms  nfev={nfev:4d}  "
              f"paramfit/{name}={big['fit_s'] / t:5.2f}x")
    low, middle, high = big["paired_quartiles"]
    print(f"    paramfit / leastsq within each of the {big['rounds']} rounds: median "
          f"{middle:.2f}x, quartiles {low:.2f}-{high:.2f}x")
    goals.append(("(c) paramfit / leastsq", big["fit_s"] / big["others"]["scipy.leastsq"][0],
                  "<= 0.9"))
    print("\nissue 21's goals (time ratios, interleaved in this run):")
    for label, ratio, goal in goals:
        print(f"  {label:24s} {ratio:6.2f}x  (goal {goal})")


if __name__ == "__main__":
    main()
