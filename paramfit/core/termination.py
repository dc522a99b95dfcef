"""How a Levenberg-Marquardt fit ends: :class:`Termination`, :class:`LMSolution`, and the
convergence tests shared by the single-fit and the batch solver.

The tests after each trial step are MINPACK's (Moré 1977; Moré, Garbow and Hillstrom
1980, ``lmdif``): ``ftol`` on the actual and predicted relative reductions of the sum of
squares, ``xtol`` on the trust radius ``delta`` relative to ``||D x||``, their stringent
versions at machine precision and the evaluation budget, plus one addition of this
project (the superlinear ``ftol`` test, :data:`FAST_LIMIT`).  They are written once, in
:func:`_conditions`, with nothing but ``abs``, comparisons and ``&``, so that the same
expressions evaluate to Python booleans for one fit (:func:`check_convergence`, called
every iteration of :func:`~paramfit.core.solvers.levenberg_marquardt.levenberg_marquardt`)
and to boolean arrays for B fits (:func:`convergence_codes`, used by
:func:`~paramfit.core.solvers.batch_levenberg_marquardt.batch_levenberg_marquardt`);
:data:`PRIORITY` gives, in the same order, the code of each test, the first that holds
winning.

References
----------
.. [1] J. J. Moré, "The Levenberg-Marquardt algorithm: implementation and
   theory", in Numerical Analysis, ed. G. A. Watson, Lecture Notes in
   Mathematics 630, Springer, 1977, pp. 105-116.
.. [2] J. J. Moré, B. S. Garbow, K. E. Hillstrom, "User Guide for MINPACK-1",
   Argonne National Laboratory Report ANL-80-74, 1980.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Termination", "LMSolution", "PRIORITY", "check_convergence", "convergence_codes",
           "gradient_converged", "FAST_LIMIT", "FAST_FTOL_MAX", "RUNNING"]

EPS = float(np.finfo(float).eps)
#: An accepted step whose relative reduction of the sum of squares, actual and predicted
#: alike, is below this fraction of the previous one shows superlinear convergence: what
#: is still to come is about ``actred**2 / actred_previous``, and the ``ftol`` test passes
#: when that (and the same with the predicted reduction) is below ``ftol`` (the last
#: entry of :data:`PRIORITY`).  The predicted reduction must agree: an accepted step with a
#: small ratio (NIST MGH09 start 2 under another BLAS kernel: ratio 2e-4, actual 2e-15,
#: predicted 9e-12 after 8e-12) is a step the model overrated in linear convergence, and
#: ending there left the values 1e-6 from the minimum.
FAST_LIMIT = 1e-3
#: ... used only with an ``ftol`` at rounding level (the default): looser tolerances keep
#: MINPACK's test alone.
FAST_FTOL_MAX = 1e-13
#: The code :func:`convergence_codes` gives a fit that no test stops.
RUNNING = -99


class Termination(enum.Enum):
    """Why :func:`~paramfit.core.solvers.levenberg_marquardt.levenberg_marquardt` stopped.

    Each member's value is ``(code, message)``; codes 0-8 are MINPACK's
    ``info`` (and MPFIT's ``status``).  ``converged`` is true for 1-4.
    """

    IMPROPER_INPUT = (0, "improper input parameters")
    FTOL = (1, "both actual and predicted relative reductions in the sum of squares "
               "are at most ftol")
    XTOL = (2, "relative error between two consecutive iterates is at most xtol")
    BOTH = (3, "both actual and predicted relative reductions in the sum of squares "
               "are at most ftol, and the relative error between two consecutive "
               "iterates is at most xtol")
    GTOL = (4, "the cosine of the angle between the residual vector and any column of "
               "the Jacobian is at most gtol in absolute value")
    MAX_NFEV = (5, "number of function evaluations has reached max_nfev")
    FTOL_TOO_SMALL = (6, "ftol is too small: no further reduction in the sum of squares "
                         "is possible")
    XTOL_TOO_SMALL = (7, "xtol is too small: no further improvement in the approximate "
                         "solution x is possible")
    GTOL_TOO_SMALL = (8, "gtol is too small: the residual vector is orthogonal to the "
                         "columns of the Jacobian to machine precision")
    NOT_STATIONARY = (9, "the iteration stopped, but the accurate Jacobian at the final "
                         "point shows it is not a minimum: the gradient is not small, or "
                         "a parameter has no effect on the residuals (try another start, "
                         "tighter tolerances or more function evaluations)")
    USER_STOP = (-1, "the fit was stopped by the user (StopFit or a callback)")

    @property
    def code(self) -> int:
        """MINPACK/MPFIT status code."""
        return self.value[0]

    @property
    def message(self) -> str:
        """Human-readable reason."""
        return self.value[1]

    @property
    def converged(self) -> bool:
        """True when a convergence test (codes 1-4) ended the fit."""
        return 1 <= self.value[0] <= 4


@dataclass(frozen=True)
class LMSolution:
    """Result of :func:`~paramfit.core.solvers.levenberg_marquardt.levenberg_marquardt`.

    Attributes
    ----------
    x : ndarray, shape (n,)
        Best point found (the lowest sum of squares evaluated by the iteration).
    fun : ndarray, shape (m,)
        Residual at ``x``.
    jac : ndarray, shape (m, n)
        Jacobian at ``x``: the user's when given, otherwise the accurate
        finite-difference one (NaN where it could not be computed, e.g.
        after a user stop).
    nfev, njev, niter : int
        Residual evaluations (finite differences included), Jacobian
        evaluations, accepted iterations.
    termination : Termination
    user_code : int or None
        ``StopFit.code`` when the user stopped the fit.
    active : ndarray of int8, shape (n,)
        -1 at the lower bound, +1 at the upper bound, 0 interior.
    jac_gram : ndarray, shape (n, n), or None
        ``jac.T @ jac`` when the final phase formed it (a tall Jacobian's Gauss-Newton
        step, :func:`~paramfit.core.linalg.gram_matrix`), for the covariance.
    """

    x: np.ndarray
    fun: np.ndarray
    jac: np.ndarray
    nfev: int
    njev: int
    niter: int
    termination: Termination
    user_code: int | None
    active: np.ndarray
    jac_gram: np.ndarray | None = None

    @property
    def success(self) -> bool:
        """Whether the fit converged (``termination.converged``)."""
        return self.termination.converged

    @property
    def message(self) -> str:
        """``termination.message``."""
        return self.termination.message

    @property
    def cost(self) -> float:
        """Half the sum of squares at ``x``."""
        return 0.5 * float(self.fun @ self.fun)


#: Code of each test of :func:`_conditions`, in the same order (highest priority first).
#: MINPACK's ``lmdif`` sets ``info`` 1 (ftol), 2 (xtol), 3 (both) and stops if set;
#: otherwise it assigns 5 (max_nfev), 6, 7, 8 (the stringent tests) in turn, the last
#: one that holds winning: 8 > 7 > 6 > 5.  The superlinear ``ftol`` test comes last.
PRIORITY = (Termination.BOTH, Termination.XTOL, Termination.FTOL,
            Termination.GTOL_TOO_SMALL, Termination.XTOL_TOO_SMALL,
            Termination.FTOL_TOO_SMALL, Termination.MAX_NFEV, Termination.FTOL)
_PRIORITY_CODES = tuple(member.code for member in PRIORITY)


def _conditions(actred: Any, prered: Any, ratio: Any, delta: Any, xnorm: Any, gnorm: Any,
                nfev: Any, accepted: Any, last_actred: Any, ftol: float, xtol: float,
                max_nfev: int) -> tuple:
    """Whether each test of :data:`PRIORITY` holds, in its order.

    Only ``abs``, arithmetic, comparisons and ``&``: Python floats give Python (or numpy)
    booleans, arrays of B fits give boolean arrays, by the same expressions.  ``actred``
    and ``prered`` are the actual and predicted relative reductions of the sum of squares
    of the step just tried and ``ratio`` theirs, ``delta`` the trust radius after its
    update, ``xnorm`` = ``||D x||`` at the current point, ``gnorm`` MINPACK's scaled
    gradient, ``accepted`` whether the step was taken and ``last_actred`` the ``actred``
    of the previous accepted step.
    """
    f_ok = (abs(actred) <= ftol) & (prered <= ftol) & (0.5 * ratio <= 1.0)
    x_ok = delta <= xtol * xnorm
    # the actual and the predicted reduction alike: a step that the model overrated (a
    # small ratio) is no sign of superlinear convergence (NaN: no sign either)
    superlinear = (accepted & (ftol <= FAST_FTOL_MAX) & (0.0 < actred)
                   & (actred <= FAST_LIMIT * last_actred) & (prered <= FAST_LIMIT * last_actred)
                   & (actred * actred <= ftol * last_actred)
                   & (prered * prered <= ftol * last_actred))
    return (f_ok & x_ok, x_ok, f_ok,
            gnorm <= EPS,
            delta <= EPS * xnorm,
            (abs(actred) <= EPS) & (prered <= EPS) & (0.5 * ratio <= 1.0),
            nfev >= max_nfev,
            superlinear)


def check_convergence(actred: float, prered: float, ratio: float, delta: float, xnorm: float,
                     gnorm: float, nfev: int, accepted: bool, last_actred: float,
                     ftol: float, xtol: float, max_nfev: int) -> Termination | None:
    """The termination after a trial step of one fit (Python floats), or None.

    See :func:`_conditions` for the arguments and :data:`PRIORITY` for the order.

    Examples
    --------
    >>> check_convergence(1e-17, 1e-17, 1.0, 1e-3, 1.0, 1e-6, 10, True, 1e-9,
    ...                  1e-15, 1e-12, 100).name
    'FTOL'
    >>> check_convergence(0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 100, False, 0.0,
    ...                  1e-15, 1e-12, 100).name
    'BOTH'
    """
    holds = _conditions(actred, prered, ratio, delta, xnorm, gnorm, nfev, accepted,
                        last_actred, ftol, xtol, max_nfev)
    if True in holds:
        return PRIORITY[holds.index(True)]
    return None


def convergence_codes(actred: Any, prered: Any, ratio: Any, delta: Any, xnorm: Any,
                      gnorm: Any, nfev: Any, ftol: float, xtol: float, max_nfev: int, *,
                      accepted: Any = False, last_actred: Any = 0.0, xp: Any = np) -> Any:
    """The termination codes after a trial step of B fits (arrays of shape (B,)).

    The tests of :func:`check_convergence`, elementwise: each fit gets the code of the
    first test of :data:`PRIORITY` that holds for it, or :data:`RUNNING`.  The
    superlinear ``ftol`` test needs ``accepted`` and ``last_actred``; without them it
    never holds (the batch solver goes without it: see
    :mod:`paramfit.core.solvers.batch_levenberg_marquardt`).  ``xp`` is the array
    namespace (numpy by default).

    Examples
    --------
    >>> import numpy as np
    >>> convergence_codes(np.array([1e-17, 0.3]), np.array([1e-17, 0.4]),
    ...                   np.array([1.0, 0.75]), np.array([1e-3, 1e-3]), np.ones(2),
    ...                   np.full(2, 1e-6), np.array([10, 100]), 1e-15, 1e-12, 100).tolist()
    [1, 5]
    """
    holds = _conditions(actred, prered, ratio, delta, xnorm, gnorm, nfev, accepted,
                        last_actred, ftol, xtol, max_nfev)
    codes = xp.full(xp.broadcast_arrays(*holds)[0].shape, RUNNING, dtype=xp.int8)
    for condition, code in zip(reversed(holds), reversed(_PRIORITY_CODES)):
        codes = xp.where(condition, xp.asarray(code, dtype=xp.int8), codes)
    return codes


def gradient_converged(gnorm: Any, gtol: float) -> Any:
    """MINPACK's ``gtol`` test (code 4, :attr:`Termination.GTOL`), made before a step:
    the largest cosine between the residual and a column of the Jacobian is at most
    ``gtol``.  Floats or arrays."""
    return gnorm <= gtol
