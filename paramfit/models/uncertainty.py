"""The pieces of :meth:`ModelResult.eval_uncertainty
<paramfit.models.result.ModelResult.eval_uncertainty>`: the model's gradient with respect
to the varied parameters (:class:`_Gradient`: analytic when the model has derivatives,
carried through tie expressions, else central differences) and the variance ``g C gᵀ``
per point (:func:`_variance`, lmfit's definition for a complex model).  Knows no model
class: it reads the model through the methods every
:class:`~paramfit.models.model.Model` has.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from paramfit.core.exceptions import FitError
from paramfit.core.parameters.parameters import Parameters
from paramfit.core.problem import FitProblem

if TYPE_CHECKING:  # the model differentiated; model.py imports result.py, which imports this
    from paramfit.models.model import Model

__all__ = ["_Gradient", "_variance"]


def _variance(g: np.ndarray, covar: np.ndarray) -> np.ndarray:
    """``g C gᵀ`` per point, clipped at 0; for a complex model, lmfit's definition:
    ``var(Re) + i var(Im)`` (whose square root ``eval_uncertainty`` returns)."""
    if np.iscomplexobj(g):
        return (np.clip(_quadratic(g.real, covar), 0, None)
                + 1j * np.clip(_quadratic(g.imag, covar), 0, None))
    return np.clip(_quadratic(g, covar), 0, None)


def _quadratic(g: np.ndarray, covar: np.ndarray) -> np.ndarray:
    """Row-wise ``g C gᵀ`` for ``g`` of shape (..., nvar)."""
    return np.einsum("...i,ij,...j->...", g, covar, g)


class _Gradient:
    """d(model)/d(varied parameters) at ``params``, analytic when available."""

    def __init__(self, params: Parameters, var_names: list[str]):
        self.params = params.copy()
        self.problem = FitProblem(lambda p: None, self.params, infeasible="warn")
        if list(self.problem.free_names) != list(var_names):
            raise FitError(f"the varied parameters {self.problem.free_names} differ from "
                           f"those of the fit {var_names}")
        self.x = self.problem.x0.copy()
        self.tied = [p.name for p in self.problem.tied_params]
        self.tied_jac = self.problem.tied_jacobian(self.x) if self.tied else None

    def __call__(self, model: Model, indep: Mapping[str, Any]) -> np.ndarray:
        free = self.problem.free_names
        values = {n: p._value for n, p in self.params.items()}
        complex_input = any(np.iscomplexobj(v) for v in indep.values())
        value, derivs = model._value_and_jacobian(values, indep) \
            if model.has_jacobian and not complex_input else (None, None)
        if derivs is None or np.iscomplexobj(value):
            return self._finite_difference(model, indep)
        value = np.asarray(value, dtype=float)
        g = np.zeros((*value.shape, len(free)))
        for i, name in enumerate(free):
            if name in derivs:
                g[..., i] = derivs[name]
        for k, name in enumerate(self.tied):
            if name in derivs:
                g += np.asarray(derivs[name])[..., None] * self.tied_jac[k]
        return g

    def _finite_difference(self, model: Model, indep: Mapping[str, Any]) -> np.ndarray:
        columns = []
        for i, par in enumerate(self.problem.free_params):
            h = 1e-6 * max(abs(self.x[i]), par.stderr or 0.0, 1e-8)
            sides = []
            for step in (h, -h):
                x = self.x.copy()
                x[i] += step
                self.problem.set_values(x)
                values = {n: p._value for n, p in self.params.items()}
                sides.append(np.asarray(model._evaluate(values, indep)))  # complex stays
            columns.append((sides[0] - sides[1]) / (2 * h))
        self.problem.set_values(self.x)
        return np.stack(columns, axis=-1)
