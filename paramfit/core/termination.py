"""How a Levenberg-Marquardt fit ended: :class:`Termination` and :class:`LMSolution`."""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np

__all__ = ["Termination", "LMSolution"]


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
