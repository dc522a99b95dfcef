"""Solvers working on plain arrays (they know nothing of Parameters)."""

from paramfit.core.solvers.levenberg_marquardt import LMSolution, Termination, levenberg_marquardt

__all__ = ["LMSolution", "Termination", "levenberg_marquardt"]
