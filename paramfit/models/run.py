"""A fit's *run* attributes, as lmfit 1.3's ``ModelResult`` has them (not statistics):
whether it was aborted, the evaluation limit it ran under, the options it ran with
(:data:`RUN_DEFAULTS`), those a saved result keeps (:data:`SAVED_RUN_ATTRIBUTES`), and the
options ``ModelResult(model, params, ..., **options)`` keeps for a later fit
(:data:`FIT_CALL_OPTIONS`).  Used by :mod:`paramfit.models.result` and
:mod:`paramfit.models.io`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from paramfit.fitting.minimizer import Minimizer

__all__ = ["FIT_CALL_OPTIONS", "RUN_DEFAULTS", "SAVED_RUN_ATTRIBUTES", "run_attributes",
           "run_defaults"]

#: Options of ``Model.fit`` that ``ModelResult(model, params, ..., **options)`` keeps for
#: :meth:`ModelResult.fit` (any other keyword is a solver option, lmfit's ``fit_kws``).
FIT_CALL_OPTIONS = ("iter_cb", "scale_covar", "calc_covar", "max_nfev", "fit_kws",
                    "coerce_farray")

#: lmfit 1.3's attributes of a fit's run (not statistics): whether it was aborted, the
#: evaluation limit it ran under, its options (saved: :data:`SAVED_RUN_ATTRIBUTES`).
RUN_DEFAULTS: Mapping[str, Any] = {"aborted": False, "max_nfev": None, "calc_covar": True,
                                   "col_deriv": False, "call_kws": {}, "kws": {}}


def run_attributes(minimizer: Minimizer) -> dict[str, Any]:
    """The run attributes (:data:`RUN_DEFAULTS`) of the fit ``minimizer`` just ran."""
    last = minimizer.last_result
    return {"aborted": bool(last is not None and last.aborted),
            "max_nfev": minimizer.max_nfev, "calc_covar": bool(minimizer.calc_covar),
            "col_deriv": bool(minimizer.col_deriv),
            "call_kws": {} if last is None else dict(last.call_kws),
            "kws": dict(minimizer.fit_kws)}


def run_defaults(run: Mapping[str, Any] | None) -> dict[str, Any]:
    """:data:`RUN_DEFAULTS` updated by ``run`` (copies of the dicts)."""
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in RUN_DEFAULTS.items()}
    out.update(run or {})
    return out


#: The run attributes a saved ModelResult keeps (``"run"``; files without them load with
#: the defaults): all but ``call_kws`` (the solver's own call, not always JSON).
SAVED_RUN_ATTRIBUTES = tuple(name for name in RUN_DEFAULTS if name != "call_kws")
