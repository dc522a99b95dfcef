"""Benchmark: updating tied parameters from a vector of free values.

Issue target: <= 2 us per tied expression, and >= 20x faster than lmfit 1.3's
``Parameters.update_constraints()`` (what lmfit runs on every residual call) on the
same set of 20 parameters, 8 of them tied.

Run: ``python bench/bench_expressions.py [--repeat N]``. Figures are medians over
``repeat`` timeit runs.
"""

from __future__ import annotations

import argparse
import statistics
import timeit
from collections.abc import Sequence

import numpy as np

from paramfit.core.expressions.compiler import evaluation_order, make_namespace
from paramfit.core.parameters.parameters import Parameters
from paramfit.core.problem import FitProblem

__all__ = ["FREE", "TIED", "build_paramfit", "make_tie_updater", "main"]

# 12 free parameters: (name, value, min, max)
FREE = [
    ("amp_1", 0.5, 0, 1), ("cen_1", 2.2, None, None), ("wid_1", 0.2, 0, None),
    ("amp1", 10.0, None, None), ("cen1", 1.2, 0.5, 2.0), ("wid1", 0.8, 0.1, None),
    ("frac", 0.3, 0, 1), ("decay", 0.007, 0, None), ("phase", 0.2, None, None),
    ("omega", 3.0, None, 10), ("offset", 0.1, None, None), ("slope", -0.02, None, None),
]
# 8 tied parameters with realistic constraint expressions (seed 000 §5)
TIED = [
    ("wid2", "2*wid1/3"),
    ("wid_2", "sqrt(pi)*wid_1"),
    ("cen_2", "cen_1 * wid_2 / max(wid_1, 0.001)"),
    ("amp_2", "(2.0 - amp_1**2)"),
    ("frac2", "1-frac"),
    ("amp2", "amp1 * frac2 / frac"),
    ("period", "2*pi/omega"),
    ("lifetime", "1/decay if decay > 0 else inf"),
]


def build_paramfit() -> Parameters:
    """The 20-parameter set as paramfit Parameters."""
    params = Parameters()
    for name, value, lo, hi in FREE:
        params.add(name, value=value, min=lo, max=hi)
    for name, expr in TIED:
        params.add(name, expr=expr)
    return params


def build_lmfit():
    """The same set as lmfit Parameters."""
    import lmfit

    params = lmfit.Parameters()
    for name, value, lo, hi in FREE:
        params.add(name, value=value, min=-np.inf if lo is None else lo,
                   max=np.inf if hi is None else hi)
    for name, expr in TIED:
        params.add(name, expr=expr)
    return params


def make_tie_updater(params: Parameters, free_names: Sequence[str]):
    """Compile the tie update the fit loop performs; returns ``update(x)``.

    ``update(x)`` writes the free values ``x`` (a 1-D float array, ordered as
    ``free_names``) into the namespace and the ``_value`` slots, then evaluates every
    tied parameter in dependency order, writing each result back to the namespace and
    to its Parameter.
    """
    tied = {n: p.compiled_expr for n, p in params.items() if p.compiled_expr is not None}
    order = evaluation_order(tied, set(params) | set(params.symbols))
    ns = make_namespace(params.symbols.user_symbols())
    ns.update(params.valuesdict())
    steps = [(name, tied[name].code, params[name]) for name in order]
    free = [params[name] for name in free_names]
    names = list(free_names)
    _eval = eval  # a local name: no global lookup per expression

    def update(x: np.ndarray) -> None:
        values = x.tolist()
        ns.update(zip(names, values, strict=True))
        for par, value in zip(free, values, strict=True):
            par._value = value
        for name, code, par in steps:
            # == compiled.evaluate(ns): validated, builtins-free code
            ns[name] = par._value = _eval(code, ns)

    return update


def _interleaved_medians_us(funcs, numbers, repeat: int) -> list[float]:
    """Median time per call (us) of each function, timing them in turn within each repeat
    so that a change of machine load affects all of them alike."""
    timers = [timeit.Timer(f) for f in funcs]
    samples: list[list[float]] = [[] for _ in funcs]
    for _ in range(repeat):
        for timer, number, out in zip(timers, numbers, samples, strict=True):
            out.append(timer.timeit(number) / number * 1e6)
    return [statistics.median(out) for out in samples]


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=51)
    parser.add_argument("--number", type=int, default=2000)
    args = parser.parse_args(argv)

    free_names = [f[0] for f in FREE]
    x = np.array([f[1] for f in FREE]) * 1.01
    ntied = len(TIED)

    params = build_paramfit()
    # the fit's real hot path: FitProblem.set_values (one exec for all ties)
    problem = FitProblem(lambda p: np.zeros(1), params)
    assert problem.free_names == free_names
    update = problem.set_values
    update(x)
    per_eval = make_tie_updater(build_paramfit(), free_names)  # one eval per tie

    lm = build_lmfit()
    values = x.tolist()

    def lmfit_update() -> None:
        for name, value in zip(free_names, values, strict=True):
            lm[name].value = value
        lm.update_constraints()

    lmfit_update()
    for name, _ in TIED:  # both give the same tied values
        assert np.isclose(lm[name].value, params[name].value), name
    ours, theirs, simple = _interleaved_medians_us(
        [lambda: update(x), lmfit_update, lambda: per_eval(x)],
        [args.number, max(args.number // 20, 10), args.number], args.repeat)

    figures = {"paramfit_us": ours, "paramfit_us_per_tied": ours / ntied,
               "lmfit_us": theirs, "lmfit_us_per_tied": theirs / ntied,
               "speedup": theirs / ours}
    print(f"{len(FREE) + ntied} parameters, {ntied} tied; medians of {args.repeat} repeats")
    print(f"paramfit update : {ours:8.2f} us  ({ours / ntied:.3f} us per tied expression)")
    print(f"  (one eval per tie instead of one exec: {simple:.2f} us)")
    print(f"lmfit 1.3 update: {theirs:8.2f} us  ({theirs / ntied:.3f} us per tied expression)")
    print(f"speed-up        : {theirs / ours:8.1f} x   (targets: <= 2 us per tie, >= 20x)")
    return figures


if __name__ == "__main__":
    main()
