"""Model.fit against lmfit's Model.fit: three Gaussians + a linear background.

1,000 points, fixed seed, the same start values for both libraries.  Prints the median
wall time of repeated fits, the number of model evaluations, and the ratios
(goals: paramfit >= 5x faster, <= half of lmfit's evaluations).

Run: ``python bench/bench_model.py [--repeats N]``.
"""

from __future__ import annotations

# The user's environment: no BLAS thread variables are set here (paramfit limits its own
# small linear algebra to one BLAS thread; lmfit's MINPACK does not use BLAS).
import argparse
import statistics
import time
import warnings  # noqa: E402

import numpy as np  # noqa: E402

from paramfit.models.builtin import GaussianModel, LinearModel  # noqa: E402

TRUE = {"g1_amplitude": 30.0, "g1_center": -3.0, "g1_sigma": 0.8,
        "g2_amplitude": 45.0, "g2_center": 0.5, "g2_sigma": 1.2,
        "g3_amplitude": 20.0, "g3_center": 4.0, "g3_sigma": 0.6,
        "bg_slope": 0.3, "bg_intercept": 2.0}
START = {"g1_amplitude": 22.0, "g1_center": -2.7, "g1_sigma": 1.0,
         "g2_amplitude": 35.0, "g2_center": 0.8, "g2_sigma": 1.0,
         "g3_amplitude": 15.0, "g3_center": 3.7, "g3_sigma": 0.8,
         "bg_slope": 0.0, "bg_intercept": 1.0}


def make_data(seed: int = 12345) -> tuple[np.ndarray, np.ndarray]:
    """x on [-8, 8] (1,000 points) and the noisy three-peak spectrum."""
    x = np.linspace(-8.0, 8.0, 1000)
    model = _paramfit_model()
    y = model.eval(model.make_params(**TRUE), x=x)
    return x, y + np.random.default_rng(seed).normal(0.0, 0.2, x.size)


def _paramfit_model():
    return (GaussianModel(prefix="g1_") + GaussianModel(prefix="g2_")
            + GaussianModel(prefix="g3_") + LinearModel(prefix="bg_"))


def _lmfit_model():
    import lmfit

    return (lmfit.models.GaussianModel(prefix="g1_") + lmfit.models.GaussianModel(prefix="g2_")
            + lmfit.models.GaussianModel(prefix="g3_") + lmfit.models.LinearModel(prefix="bg_"))


def _time(fit, repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fit()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    x, y = make_data()

    ours = _paramfit_model()
    ours_params = ours.make_params(**START)
    t_ours, r_ours = _time(lambda: ours.fit(y, ours_params, x=x), args.repeats)

    theirs = _lmfit_model()
    theirs_params = theirs.make_params(**START)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_lmfit, r_lmfit = _time(lambda: theirs.fit(y, theirs_params, x=x), args.repeats)

    worst = max(abs(r_ours.params[n].value - r_lmfit.params[n].value)
                / max(abs(r_lmfit.params[n].value), 1e-12) for n in TRUE)
    print(f"paramfit: {t_ours * 1e3:8.2f} ms  nfev={r_ours.nfev:4d}  chisqr={r_ours.chisqr:.10g}")
    print(f"lmfit:    {t_lmfit * 1e3:8.2f} ms  nfev={r_lmfit.nfev:4d}  "
          f"chisqr={r_lmfit.chisqr:.10g}")
    print(f"time ratio (lmfit/paramfit): {t_lmfit / t_ours:6.2f}x   (goal >= 5x)")
    print(f"nfev ratio (paramfit/lmfit): {r_ours.nfev / r_lmfit.nfev:6.3f}    (goal <= 0.5)")
    print(f"largest relative difference of best-fit values: {worst:.2e}")


if __name__ == "__main__":
    main()
