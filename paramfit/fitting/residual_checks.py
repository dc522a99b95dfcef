"""The residual function's output and exceptions, as the fit facade sees them.

:func:`coerce_float64` applies a ``nan_policy`` to a residual (lmfit 1.3's helper);
:func:`_user_exception` finds the user's own exception behind a
:class:`~paramfit.core.exceptions.ResidualError`, and :func:`_add_note` adds the
parameter values to its message, so that :class:`~paramfit.fitting.minimizer.Minimizer`
re-raises it with its type kept.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from paramfit.core.exceptions import NonFiniteResidualError, ParamfitError, ResidualError
from paramfit.core.options import OptionError
from paramfit.core.problem import FitProblem

__all__ = ["coerce_float64", "_user_exception", "_add_note"]


def coerce_float64(arr: Any, nan_policy: str = "raise", handle_inf: bool = True
                   ) -> np.ndarray:
    """A residual as a float64 array under a ``nan_policy`` (lmfit 1.3's helper).

    ``'raise'``: NaN (and, with ``handle_inf``, inf) raise a ValueError
    (:class:`~paramfit.NonFiniteResidualError`); ``'omit'``: they are dropped;
    ``'propagate'``: kept.
    """
    out = np.asarray(arr, dtype=np.float64)
    if nan_policy not in ("raise", "omit", "propagate"):
        raise OptionError(f"nan_policy must be 'propagate', 'omit', or 'raise', got "
                          f"{nan_policy!r}")
    bad = ~np.isfinite(out) if handle_inf else np.isnan(out)
    if nan_policy == "raise" and bad.any():
        raise NonFiniteResidualError(
            "NaN values detected in the residual: fitting algorithms cannot handle them; "
            "use nan_policy='omit' to drop them or 'propagate' to keep them")
    if nan_policy == "omit":
        return out[~bad]
    return out


def _user_exception(exc: ResidualError) -> BaseException | None:
    """The user's own exception behind a ResidualError: one raised inside the call of
    the residual function (the traceback's first frame is
    :meth:`FitProblem.residual_unchecked
    <paramfit.core.problem.FitProblem.residual_unchecked>`, whose ``try`` holds only that
    call), not one of paramfit's checks of its return value."""
    cause = exc.__cause__
    if cause is None or isinstance(cause, ParamfitError) or cause.__traceback__ is None:
        return None
    if type(cause).__module__.startswith("paramfit."):  # a front end's own signal
        return None
    if cause.__traceback__.tb_frame.f_code is not FitProblem.residual_unchecked.__code__:
        return None
    return cause


def _add_note(exc: BaseException, text: str) -> None:
    """Add ``text`` to the exception's message, keeping its type: a note on Python
    3.11+ (shown under the message), else appended to a single string argument."""
    if hasattr(exc, "add_note"):
        exc.add_note(text)
    elif len(exc.args) == 1 and isinstance(exc.args[0], str):
        exc.args = (f"{exc.args[0]} ({text})",)
    else:
        exc.args = (*exc.args, text)
