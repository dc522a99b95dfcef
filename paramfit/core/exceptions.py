"""Exceptions and warnings raised by paramfit.

Every error paramfit raises on purpose derives from :class:`ParamfitError`, so
``except paramfit.ParamfitError`` catches them all.  The more specific classes
also derive from the built-in exception a user would expect (``ValueError``,
``RuntimeError``, ``ImportError``) so existing ``except ValueError`` code keeps
working.
"""

from __future__ import annotations

__all__ = [
    "ParamfitError",
    "ParameterError",
    "BoundsError",
    "ExpressionError",
    "ExpressionEvaluationError",
    "FitError",
    "ResidualError",
    "NonFiniteResidualError",
    "MissingDependencyError",
    "StopFit",
    "ParamfitWarning",
    "BoundsWarning",
    "OptionError",
    "UnknownNameError",
    "DuplicateNameError",
    "ParameterKeyError",
]


class ParamfitError(Exception):
    """Base class of every error raised by paramfit."""


class ParameterError(ParamfitError, ValueError):
    """A Parameter or Parameters object was given an invalid name, value or option."""


class BoundsError(ParameterError):
    """Bounds are inadmissible (``min > max``), or a start value is incompatible with them."""


class ExpressionError(ParamfitError, ValueError):
    """A constraint expression is malformed, uses a forbidden construct, names an
    unknown symbol, or is part of a dependency cycle."""


class ExpressionEvaluationError(ExpressionError, ArithmeticError):
    """A constraint expression failed while being evaluated (``log(-1)``, ``1/0``...)."""


class UnknownNameError(ExpressionError, NameError):
    """A constraint expression reads a name that is neither a parameter nor a symbol
    (also a ``NameError``, which code written for lmfit catches)."""


class DuplicateNameError(ParameterError, NameError):
    """Two parts of one model name a parameter alike (two unprefixed Gaussians summed);
    also a ``NameError``, as lmfit raises there."""


class ParameterKeyError(ParameterError, KeyError):
    """``Parameters[key] = ...`` with a key that cannot name a parameter; also a
    ``KeyError``, as lmfit 1.3 raises there."""

    def __str__(self) -> str:
        return Exception.__str__(self)     # KeyError's own would quote the message


class FitError(ParamfitError, RuntimeError):
    """A fit cannot be set up or run (no varied parameters, too few data points...)."""


class OptionError(FitError, ValueError):
    """A fitting option is unknown, has the wrong type or value, or was given twice
    under two names in one call."""


class ResidualError(FitError):
    """The user's residual (or Jacobian) function raised, or returned something unusable:
    a non-numeric value, NaN/inf under ``nan_policy='raise'``, or a length that changed."""


class NonFiniteResidualError(ResidualError, ValueError):
    """The residual contains NaN or inf (``nan_policy='raise'``).

    Solvers catch this at *trial* points of an iteration and treat it as a rejected
    step (the trust region shrinks), so a model that overflows far from the solution
    does not end the fit; at the start point it reaches the user.
    """


class MissingDependencyError(ParamfitError, ImportError):
    """An optional package needed by the requested feature is not installed."""


class StopFit(Exception):  # noqa: N818  (a control-flow signal, not an error)
    """Raise from a residual function or iteration callback to stop a fit early.

    The fit returns the best point found so far with ``success=False``.

    Parameters
    ----------
    code : int, optional
        A user status code carried to the result (MPFIT uses -1 ... -15).
    message : str, optional
        Why the fit was stopped; shown in the result's ``message``.
    """

    def __init__(self, code: int = -1, message: str = "fit stopped by the user"):
        super().__init__(message)
        self.code = int(code)
        self.message = message


class ParamfitWarning(UserWarning):
    """Base class of the warnings paramfit issues."""


class BoundsWarning(ParamfitWarning):
    """A start value was moved onto a bound, or near-equal bounds were treated as fixed."""
