"""What :meth:`Parameters.add <paramfit.core.parameters.parameters.Parameters.add>` and
:meth:`Parameters.set <paramfit.core.parameters.parameters.Parameters.set>` accept.

``_SET_KEYS`` are the attributes ``Parameters.set`` / ``create_params`` take in a dict;
:func:`_fill_unset` gives a Parameter passed to ``add`` the attributes it leaves unset
(lmfit 1.3's rule).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from paramfit.core.parameters.parameter import Parameter

__all__ = ["_SET_KEYS", "_fill_unset"]

_SET_KEYS = frozenset(("value", "vary", "min", "max", "expr", "brute_step", "is_init_value"))
"""The attributes ``Parameters.set`` / ``create_params`` accept in a dict (lmfit 1.3)."""


def _fill_unset(par: Parameter, value: Any, given: Mapping[str, Any]) -> Parameter:
    """Give ``par`` the attributes in ``given`` it leaves unset (lmfit 1.3's ``add``).

    Unset means: no finite value (never given one reads ``-inf``), no bound, no expr,
    no brute_step, no user_data; ``vary``, when given, always applies.
    """
    if value is not None and not math.isfinite(par.value):
        par.value = value
    lo = par.min if given["min"] is None or par.min != -math.inf else given["min"]
    hi = par.max if given["max"] is None or par.max != math.inf else given["max"]
    par.set_bounds(lo, hi)
    for attr in ("expr", "brute_step", "user_data"):
        if given[attr] is not None and getattr(par, attr) is None:
            setattr(par, attr, given[attr])
    if given["vary"] is not None:
        par.vary = given["vary"]
    return par
