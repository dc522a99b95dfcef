"""Independent reference minima for the fitting tests, and the tolerances they share.

The references use MINPACK (:func:`scipy.optimize.leastsq`) with the *exact* Jacobian,
then Gauss-Newton steps solved by :func:`numpy.linalg.lstsq`.  MINPACK alone is not
accurate enough to compare with at rounding-level tolerances: with its own forward
differences its answer is biased by their ``sqrt(eps)`` error (~1e-9 relative on the
test problems), and even with the exact Jacobian its ``xtol`` test, made on the trust
radius, stops a large-residual fit ~3e-10 relative away from the minimum (the sine-decay
problem of ``test_minimizer``).  Three exact Gauss-Newton steps from there reach the
minimum to rounding (a fourth moves it by ~2e-15 relative).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import leastsq

EPS = float(np.finfo(float).eps)

#: Values of a converged fit against a reference minimum, or against another converged fit
#: of the same problem by another path.  The default final Jacobian (``final_jacobian=
#: 'reuse'``, issue 21) keeps central differences in the columns whose error moves a
#: standard error by <= 1e-7, so the Gauss-Newton polish leaves the values within about
#: ``sqrt(m - n) * 1e-7`` standard errors of the minimum (measured: 1.1e-7 sigma, 1.1e-9
#: relative, on test_minimizer's tied exponential under numpy 1.23/scipy 1.9; 5e-8 sigma
#: with the latest; 'richardson' gives ~1e-12).  1e-8 relative leaves ~10x over the worst
#: seen and is still ~1e-5 of the standard errors of the test problems, so a wrong or
#: unconverged minimum (off by stderrs) fails.
FIT_RTOL = 1e-8

#: A fit of exact (zero-residual) data whose answer is known: convergence is quadratic,
#: so after the last step (<= xtol = 1e-12 relative) only rounding times cond(J) is left
#: (the test answers come out exact to an ulp or two).
EXACT_RTOL = 1e-11

#: Standard errors of a fit against a reference computed with the exact Jacobian: the
#: final Jacobian is chosen so that the standard errors have 7 correct digits
#: (:mod:`paramfit.core.solvers.final_phase`; measured ~1e-10 on the test problems).
STDERR_RTOL = 1e-6


def least_squares_minimum(fun, jac, x0, steps: int = 3):
    """Minimum of ``sum(fun(x)**2)`` from ``x0``: MINPACK with ``jac``, then Gauss-Newton.

    Returns
    -------
    x : numpy.ndarray
        The minimum.
    stderr : numpy.ndarray
        ``sqrt(diag((J^T J)^-1) S / (m - n))`` with the exact Jacobian at ``x``.
    covariance : numpy.ndarray
        ``(J^T J)^-1 S / (m - n)``.
    """
    x = leastsq(fun, x0, Dfun=jac, ftol=1e-14, xtol=1e-14)[0]
    for _ in range(steps):
        x = x - np.linalg.lstsq(jac(x), fun(x), rcond=None)[0]
    f, j = fun(x), jac(x)
    covariance = np.linalg.inv(j.T @ j) * float(f @ f) / (f.size - x.size)
    return x, np.sqrt(np.diag(covariance)), covariance
