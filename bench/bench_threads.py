"""BLAS threads and a fit's small linear algebra (issue 13, item 5).

A Gaussian + line (5 free parameters) is fitted at 200, 10,000 and 100,000 points,
through ``paramfit.minimize`` (a residual function, finite-difference Jacobian) and
``Model.fit`` (``GaussianModel() + LinearModel()``, analytic Jacobian), each

* with the BLAS library's default threads ("default": :mod:`paramfit.core.solvers.blas_threads`
  switched off for the run by raising its ``MIN_ELEMENTS`` out of reach),
* with paramfit's limit as shipped ("solver": one BLAS thread inside the solver call),
* with the whole call inside ``sequential_blas`` ("whole call": the start residual and
  the statistics too, as a hook in ``Minimizer`` would do),

on an idle machine and beside two busy processes (``while True: pass``, started by
this script, killed at its end and each bounded to ``--burn-limit`` seconds whatever
happens).  Median [min-max] over repeats, the modes timed in turn in each repeat.

Then: the cost of the mechanism per call; where the time goes (one call of each BLAS or
LAPACK operation the fit makes, at the fit's shapes, default vs one thread, and with
``--profile`` a cProfile of whole fits: the functions whose own time grows with BLAS
threads); and what the limit costs a user model that is itself a large matrix product.

The environment is left alone (this script sets no BLAS or thread variable): run it as
it is, e.g.
``python bench/bench_threads.py [--quick] [--profile]``.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import os
import pstats
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Iterator

import numpy as np
from scipy.linalg import lapack

import paramfit
import paramfit.core.solvers.blas_threads as _blas_threads
from paramfit.core.linalg import TallFactor, gram_matrix
from paramfit.models.builtin import GaussianModel, LinearModel

SIZES = (200, 10_000, 100_000)
START = dict(amp=3.0, cen=0.0, wid=1.0, slope=0.0, icpt=0.5)


def make_data(n: int, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """The same noisy Gaussian + line for a given ``n`` (a fresh generator per call)."""
    x = np.linspace(-5, 5, n)
    y = 4.0 * np.exp(-((x - 0.3) ** 2) / (2 * 0.8**2)) + 0.2 * x + 1.0
    return x, y + np.random.default_rng(seed).normal(scale=0.05, size=n)


def residual(p: paramfit.Parameters, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    v = p.valuesdict()
    return (v["amp"] * np.exp(-((x - v["cen"]) ** 2) / (2 * v["wid"] ** 2))
            + v["slope"] * x + v["icpt"] - y)


def start_params() -> paramfit.Parameters:
    p = paramfit.Parameters()
    for name, value in START.items():
        p.add(name, value=value)
    return p


MODEL = GaussianModel(prefix="g_") + LinearModel(prefix="bg_")
MODEL_START = dict(g_amplitude=5.0, g_center=0.0, g_sigma=1.0, bg_slope=0.0,
                   bg_intercept=0.5)


def fitters(n: int) -> dict[str, Callable[[], object]]:
    x, y = make_data(n)
    return {"minimize": lambda: paramfit.minimize(residual, start_params(), args=(x, y)),
            "Model.fit": lambda: MODEL.fit(y, MODEL.make_params(**MODEL_START), x=x)}


@contextlib.contextmanager
def mechanism(enabled: bool) -> Iterator[None]:
    """paramfit's limit as shipped, or switched off (nothing is limited below
    ``MIN_ELEMENTS``: an unreachable value leaves the BLAS default)."""
    saved = _blas_threads.MIN_ELEMENTS
    if not enabled:
        _blas_threads.MIN_ELEMENTS = sys.maxsize
    try:
        yield
    finally:
        _blas_threads.MIN_ELEMENTS = saved


def interleaved(fns: dict[str, Callable[[], object]], repeats: int
                ) -> dict[str, list[float]]:
    """Seconds of each call of each function, all timed in turn within every repeat."""
    for fn in fns.values():
        fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return times


def modes(fit: Callable[[], object], elements: int) -> dict[str, Callable[[], object]]:
    """The fit with the BLAS default, with paramfit's limit as shipped (the solver
    call), and with the whole call inside ``sequential_blas`` (statistics included)."""
    def default() -> object:
        with mechanism(False):
            return fit()

    def whole() -> object:
        with _blas_threads.sequential_blas(elements):
            return fit()

    return {"default": default, "solver": fit, "whole call": whole}


def summary(seconds: list[float]) -> str:
    return (f"{statistics.median(seconds) * 1e3:8.2f} "
            f"[{min(seconds) * 1e3:7.2f}-{max(seconds) * 1e3:8.2f}]")


@contextlib.contextmanager
def busy_processes(count: int, limit_s: float) -> Iterator[None]:
    """``count`` CPU-burning processes beside this one, each ending by itself after
    ``limit_s`` seconds at most, killed on the way out."""
    code = f"import time\nend = time.monotonic() + {limit_s}\nwhile time.monotonic() < end: pass"
    procs = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(count)]
    try:
        time.sleep(0.5)     # let them reach the loop
        yield
    finally:
        for proc in procs:
            proc.kill()
        for proc in procs:
            proc.wait()


def load_context(load: str, burn_limit: float) -> contextlib.AbstractContextManager:
    return busy_processes(2, burn_limit) if load == "loaded" else contextlib.nullcontext()


class OtherLoad:
    """CPU used by other processes while a block runs, in cores (Linux ``/proc/stat``
    less this process's own CPU time, its BLAS threads included), and the hypervisor's
    steal time in cores: what separates a truly idle row from one that shared the
    machine.  None where ``/proc/stat`` cannot be read."""

    def __init__(self) -> None:
        self.others: float | None = None
        self.steal: float | None = None

    @staticmethod
    def _read() -> tuple[int, int] | None:
        try:
            with open("/proc/stat") as stat:
                fields = [int(v) for v in stat.readline().split()[1:9]]
        except (OSError, ValueError):
            return None
        user, nice, system, _idle, _iowait, irq, softirq, steal = fields
        return user + nice + system + irq + softirq, steal

    def __enter__(self) -> OtherLoad:
        self._start = (self._read(), time.process_time(), time.perf_counter())
        return self

    def __exit__(self, *exc: object) -> None:
        end = self._read()
        start, own0, t0 = self._start
        if start is None or end is None:
            return
        tick = os.sysconf("SC_CLK_TCK")
        elapsed = time.perf_counter() - t0
        own = time.process_time() - own0
        self.others = max(0.0, ((end[0] - start[0]) / tick - own) / elapsed)
        self.steal = (end[1] - start[1]) / tick / elapsed

    def __str__(self) -> str:
        if self.others is None:
            return ""
        return f"others {self.others:4.2f} steal {self.steal:4.2f}"


def repeats_for(n: int, quick: bool) -> int:
    full = {200: 61, 10_000: 21, 100_000: 9}[n]
    return max(3, full // 3) if quick else full


def fit_table(quick: bool, burn_limit: float) -> list[tuple]:
    """Median [min-max] ms of each fit in each mode, idle and loaded."""
    rows = []
    print(f"  {'load':6s} {'points':>7s} {'fit':9s} nfev  " + "  ".join(
        f"{name:>26s}" for name in ("default", "solver (shipped)", "whole call")))
    for load in ("idle", "loaded"):
        with load_context(load, burn_limit):
            for n in SIZES:
                for name, fit in fitters(n).items():
                    with warnings.catch_warnings(), OtherLoad() as other:
                        warnings.simplefilter("ignore")
                        times = interleaved(modes(fit, 5 * n), repeats_for(n, quick))
                        nfev = fit().nfev
                    rows.append((load, n, name, nfev, times))
                    print(f"  {load:6s} {n:7d} {name:9s} {nfev:4d}  " + "  ".join(
                        f"{summary(t):>26s}" for t in times.values()) + f"  {other}",
                        flush=True)
    return rows


def per_call_us(fn: Callable[[], object], calls: int = 2000) -> float:
    fn()
    runs = []
    for _ in range(7):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        runs.append((time.perf_counter() - t0) / calls)
    return statistics.median(runs) * 1e6


def mechanism_cost() -> None:
    """Enter + exit of each way of limiting, in microseconds per call."""
    from threadpoolctl import ThreadpoolController, threadpool_limits

    created = ThreadpoolController()

    def fresh() -> None:
        with threadpool_limits(limits=1, user_api="blas"):
            pass

    def reused() -> None:
        with created.limit(limits=1, user_api="blas"):
            pass

    def shipped() -> None:
        with _blas_threads.sequential_blas(10 ** 9):
            pass

    def gated() -> None:
        with _blas_threads.sequential_blas(1000):
            pass

    print(f"  ThreadpoolController() (inspects the loaded libraries): "
          f"{per_call_us(ThreadpoolController, 50):8.1f} us")
    print(f"  threadpool_limits(1, 'blas') enter+exit (a new controller each time): "
          f"{per_call_us(fresh, 50):8.1f} us")
    print(f"  controller made once, .limit(limits=1, user_api='blas') enter+exit: "
          f"{per_call_us(reused):8.1f} us")
    print(f"  paramfit sequential_blas(large) (cached controller, lock): "
          f"{per_call_us(shipped):8.1f} us")
    print(f"  paramfit sequential_blas(small problem: below MIN_ELEMENTS, nothing done): "
          f"{per_call_us(gated):8.1f} us")


def operations(m: int, n: int = 5) -> dict[str, Callable[[], object]]:
    """One call of each BLAS/LAPACK operation of a fit, at its shapes."""
    rng = np.random.default_rng(1)
    jac = np.asfortranarray(rng.normal(size=(m, n)))
    f = rng.normal(size=m)
    flat = jac.ravel(order="F")
    gram, _ = gram_matrix(jac, f)
    return {
        "f @ f (norms, nan check)": lambda: f @ f,
        "flat J @ flat J (FD finiteness)": lambda: flat @ flat,
        "J.T @ f (gradient)": lambda: jac.T @ f,
        "gram_matrix (column dots)": lambda: gram_matrix(jac, f),
        "TallFactor.from_gram": lambda: TallFactor.from_gram(jac, f),
        "dgeqrf (result, TallFactor)": lambda: lapack.dgeqrf(jac),
        "dgeqp3 (pivoted QR)": lambda: lapack.dgeqp3(jac),
        "J.T @ J (Gram by gemm)": lambda: jac.T @ jac,
        "svd(n x n) (gram_triangle)": lambda: np.linalg.svd(gram, compute_uv=False),
    }


def spaced_call_us(fn: Callable[[], object], calls: int, gap_s: float = 1e-3) -> float:
    """Median microseconds of one call made after ``gap_s`` of other (non-BLAS) work, as
    in a fit, where residual evaluations come between the BLAS calls."""
    fn()
    times = []
    for _ in range(calls):
        end = time.perf_counter() + gap_s
        while time.perf_counter() < end:
            pass
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e6


def operation_table(burn_limit: float) -> None:
    """Each operation back to back and after 1 ms of other work, default vs 1 thread."""
    controller = _blas_threads.blas_controller()
    print(f"  {'load':6s} {'rows':>6s} {'operation':33s} {'back to back':>22s}  "
          f"{'after 1 ms of other work':>26s}")
    print(f"  {'':48s}{'default':>11s} {'1 thread':>10s}  {'default':>13s} {'1 thread':>12s}")
    for load in ("idle", "loaded"):
        with load_context(load, burn_limit):
            for m in (10_000, 100_000):
                for name, op in operations(m).items():
                    calls = 200 if m == 10_000 else 40
                    row = [per_call_us(op, calls), spaced_call_us(op, 15)]
                    with controller.limit(limits=1):
                        row[1:1] = [per_call_us(op, calls)]
                        row.append(spaced_call_us(op, 15))
                    print(f"  {load:6s} {m:6d} {name:33s} {row[0]:10.1f} {row[1]:10.1f}  "
                          f"{row[2]:13.1f} {row[3]:12.1f}  us", flush=True)


def profile_table(n: int, fits: int, burn_limit: float) -> None:
    """cProfile own time per fit of each function, default minus limited, loaded."""
    fit = fitters(n)["minimize"]
    fit()

    def own_times(enabled: bool) -> tuple[dict, dict]:
        profiler = cProfile.Profile()
        with mechanism(enabled):
            profiler.enable()
            for _ in range(fits):
                fit()
            profiler.disable()
        stats = pstats.Stats(profiler).stats
        return ({k: v[2] / fits for k, v in stats.items()},
                {k: v[1] / fits for k, v in stats.items()})

    with busy_processes(2, burn_limit):
        default, calls = own_times(False)
        limited, _ = own_times(True)
    print(f"  n={n}: total own time {sum(default.values()) * 1e3:.1f} ms per fit "
          f"default, {sum(limited.values()) * 1e3:.1f} ms limited")
    for key in sorted(default, key=lambda k: limited.get(k, 0.0) - default[k])[:8]:
        where = f"{os.path.basename(key[0])}:{key[1]} {key[2]}"
        print(f"    {(default[key] - limited.get(key, 0.0)) * 1e3:8.2f} ms  ({calls[key]:5.1f} "
              f"calls/fit)  {where}")


def user_blas_model(quick: bool, burn_limit: float) -> None:
    """A model that is a large matrix product: a Gaussian on a 2000-point grid seen
    through a 2000 x 2000 response matrix (one ``dgemv`` of 4e6 elements a call)."""
    k = 2000
    grid = np.linspace(-5, 5, k)
    response = np.exp(-((grid[:, None] - grid[None, :]) ** 2) / 0.02)
    response /= response.sum(axis=1, keepdims=True)

    def folded(p, y):
        v = p.valuesdict()
        shape = v["amp"] * np.exp(-((grid - v["cen"]) ** 2) / (2 * v["wid"] ** 2))
        return response @ shape + v["slope"] * grid + v["icpt"] - y

    truth = start_params()
    for name, value in dict(amp=4.0, cen=0.3, wid=0.8, slope=0.2, icpt=1.0).items():
        truth[name].value = value
    y = folded(truth, np.zeros(k)) + np.random.default_rng(3).normal(scale=0.05, size=k)

    controller = _blas_threads.blas_controller()
    default_threads = max(info["num_threads"] for info in controller.info())

    def threaded(p, y):
        """The same model taking back the default BLAS threads for its product (inside
        paramfit's limit: how a model that wants threads gets them)."""
        with controller.limit(limits=default_threads):
            return folded(p, y)

    def fit() -> object:
        return paramfit.minimize(folded, start_params(), args=(y,))

    def fit_threaded() -> object:
        return paramfit.minimize(threaded, start_params(), args=(y,))

    for load in ("idle", "loaded"):
        with load_context(load, burn_limit), OtherLoad() as other:
            fns = modes(fit, k * 5)
            fns["model's own limit"] = fit_threaded
            times = interleaved(fns, 5 if quick else 11)
            nfev = fit().nfev
        print(f"  {load:6s} nfev {nfev}, {other}")
        print("    " + "  ".join(f"{name} {summary(t)}" for name, t in times.items()))


def describe_machine() -> None:
    print(f"paramfit {paramfit.__version__}, numpy {np.__version__}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.2f}")
    controller = _blas_threads.blas_controller()
    if controller is None:
        print("threadpoolctl absent: nothing to compare (pip install 'paramfit[threads]')")
        return
    for info in controller.info():
        print(f"  {info['internal_api']} {info['version']} ({info['threading_layer']}, "
              f"{info['architecture']}): {info['num_threads']} threads, "
              f"{os.path.basename(info['filepath'])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument("--profile", action="store_true", help="add cProfile breakdowns")
    parser.add_argument("--burn-limit", type=float, default=900.0,
                        help="seconds after which each busy process ends by itself")
    args = parser.parse_args()
    describe_machine()
    if _blas_threads.blas_controller() is None:
        return
    print("\n(1) fits, median [min-max] ms: the BLAS default threads; paramfit's limit as "
          "shipped (the solver call); the whole minimize / Model.fit call limited")
    fit_table(args.quick, args.burn_limit)
    print("\n(2) the mechanism's cost per call")
    mechanism_cost()
    print("\n(3) one call of each operation at the fit's shapes (n = 5)")
    operation_table(args.burn_limit)
    if args.profile:
        print("\n(4) loaded: own time per fit that BLAS threads add (cProfile, minimize)")
        profile_table(10_000, 10, args.burn_limit)
        profile_table(100_000, 3, args.burn_limit)
    print("\n(5) a user model that is a large matrix product (2000 x 2000 response matrix); "
          "last: the model sets its own BLAS threads inside the fit")
    user_blas_model(args.quick, args.burn_limit)


if __name__ == "__main__":
    main()
