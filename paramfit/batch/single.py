"""One dataset of a batch fitted alone with the single-fit core.

:func:`single_fit` is how the ``'processes'`` backend fits its chunks (one dataset at a
time, :func:`paramfit.batch.backends.fit_chunk_single`) and how
:meth:`BatchResult.result <paramfit.batch.result.BatchResult.result>` turns one dataset
of a batch into a full single-fit result.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from paramfit.batch.problem import ModelSpec
from paramfit.core.parameters.parameters import Parameters
from paramfit.fitting.minimizer import minimize

__all__ = ["single_fit"]


def _row(data, independent, weights, i):
    y = np.asarray(data[i], dtype=float)
    indep = {k: (np.asarray(v[i]) if np.ndim(v) == 2 else np.asarray(v))
             for k, v in independent.items()}
    w = None if weights is None else np.asarray(weights[i] if np.ndim(weights) == 2
                                                else weights, dtype=float)
    return y, indep, w


def single_fit(model: Any, template: Parameters, data: Any, independent: dict,
               weights: Any, i: int, *, start: Parameters | None = None,
               fit_kws: Mapping[str, Any] | None = None) -> Any:
    """Fit dataset ``i`` alone with the single-fit core (``Model.fit`` or ``minimize``)."""
    y, indep, w = _row(data, independent, weights, i)
    params = (start if start is not None else template).copy()
    fit_kws = dict(fit_kws or {})
    spec = ModelSpec(model)
    if spec.is_model:
        return model.fit(y, params, weights=w, fit_kws=fit_kws, **indep)
    names = spec.param_names
    func = spec.func

    def residual(p: Parameters) -> np.ndarray:
        resid = np.asarray(func(**indep, **{n: p[n]._value for n in names}),
                           dtype=float) - y
        return resid * w if w is not None else resid

    return minimize(residual, params, **fit_kws)
