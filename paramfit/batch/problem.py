"""The batch fit problem: a model, a Parameters template and B datasets as arrays.

:class:`ModelSpec` gives the batch engine one view of whatever the user passed as
``model``: a :class:`paramfit.Model` (through its ``value_and_jacobian``, which
broadcasts over a leading batch axis), a :mod:`paramfit.models.lineshapes` function
(through its fused ``*_value_and_jacobian``) or a plain model function
``f(x, a=1.0, b=2.0)`` (derivatives by vectorised forward differences, one evaluation
per parameter, as the single fits' MINPACK-style ``fdjac2``).

:class:`BatchProblem` compiles the template once: which parameters are free,
fixed or tied, their bounds, and the tie expressions, which are evaluated for a
whole batch at once with numpy arrays in the namespace.  It maps the free
vectors of a batch, shape ``(F, b)``, to the model's parameter values, shape
``(P, b)``, and gives the chain-rule matrix ``C = d(model values)/d(free)``,
shape ``(P, F, b)``, by central differences on the tie expressions; both are the
one map of :mod:`paramfit.core.mapping`, which the single fits use too.

:class:`ChunkEvaluator` is what the solver calls: the sum of squares, ``J^T J``
and ``J^T r`` of the selected datasets at given free vectors, all in one pass
over the data (the model and its Jacobian are computed together; a Gaussian, alone or
on a constant or linear background, by the fused kernel of :mod:`paramfit.batch.kernels`
without any Jacobian column), with the data compacted to the datasets still being
fitted.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from paramfit.batch.kernels import GaussianKernel, fused_kind
from paramfit.core.batch_linalg import batch_dot
from paramfit.core.exceptions import FitError, ParameterError
from paramfit.core.mapping import ParameterMap
from paramfit.core.parameters.parameters import Parameters
from paramfit.models.lineshapes import lineshape_for

__all__ = ["ModelSpec", "BatchProblem", "ChunkEvaluator"]
#: Relative step of the forward differences used for derivatives that the model does
#: not provide: ``sqrt(eps) max(|p|, 1)``, the single fits' (MINPACK ``lmdif``) scale,
#: error ~1e-8 relative -- one evaluation per parameter instead of two (measured 1.2x the
#: fits/s of central differences on the plain-function and 2-D Gaussian benchmarks; the
#: chi-square at the solution does not depend on the Jacobian's error to first order).
#: The chain rule through tie expressions is the one map's
#: (:data:`paramfit.core.mapping.TIE_STEP`).
FD_STEP = float(np.finfo(float).eps) ** 0.5


class ModelSpec:
    """What the batch engine needs to know about a model, whatever its kind.

    Parameters
    ----------
    model : Model, lineshape function or callable
        A :class:`paramfit.Model` (duck-typed: ``param_names``,
        ``independent_vars``, ``value_and_jacobian``), a function of
        :mod:`paramfit.models.lineshapes`, or a model function whose first argument is
        the independent variable and whose other arguments are the parameters.
    """

    def __init__(self, model: Any):
        self.model = model
        self.is_model = hasattr(model, "value_and_jacobian") and hasattr(model, "param_names")
        if self.is_model:
            self.param_names = tuple(model.param_names)
            self.independent_vars = tuple(getattr(model, "independent_vars", ("x",)))
            self.func = getattr(model, "func", None)
            self._fused = model.value_and_jacobian
            self.lineshape = None
        elif callable(model):
            self.func = model
            try:
                self.lineshape = lineshape_for(model)
            except ParameterError:
                self.lineshape = None
            self._fused = None
            sig = inspect.signature(model).parameters
            names = list(sig)
            if not names:
                raise FitError(f"model function {model!r} takes no arguments")
            self.independent_vars = (names[0],)
            if self.lineshape is not None:
                self.param_names = self.lineshape.param_names
            else:
                self.param_names = tuple(
                    n for n in names[1:] if sig[n].kind in (sig[n].POSITIONAL_OR_KEYWORD,
                                                            sig[n].KEYWORD_ONLY))
        else:
            raise FitError(f"fit_many needs a paramfit Model or a model function, got "
                           f"{type(model).__name__}")
        if not self.param_names:
            raise FitError(f"model {self.label} has no parameters to fit")
        # a Gaussian, alone or on a constant or linear background: a fused kernel
        # (paramfit.batch.kernels), fed the model's parameters in its own order
        fused = fused_kind(model)
        self.background = None if fused is None else fused[0]
        self.kernel_order = None if fused is None else np.array(
            [self.param_names.index(n) for n in fused[1]])

    @property
    def label(self) -> str:
        """Name of the model for messages."""
        return getattr(self.model, "name", None) or getattr(self.func, "__name__", None) \
            or repr(self.model)

    def make_params(self) -> Parameters:
        """Template Parameters: the model's own, or one per argument with its default."""
        if self.is_model:
            return self.model.make_params()
        params = Parameters()
        if self.lineshape is not None:
            defaults = self.lineshape.defaults
        else:
            sig = inspect.signature(self.func).parameters
            defaults = tuple(sig[n].default for n in self.param_names)
        for name, default in zip(self.param_names, defaults):
            ok = isinstance(default, (int, float)) and not isinstance(default, bool)
            params.add(name, value=float(default) if ok else 1.0)
        return params

    def value_and_jacobian(self, values: Mapping[str, np.ndarray], independent: dict,
                           need: tuple[bool, ...]) -> tuple[np.ndarray, list]:
        """Model value (b, N) and one derivative (b, N) per parameter flagged in ``need``.

        ``values`` holds arrays of shape (b, 1).  Derivatives the model does not
        provide are computed by forward differences from the value.
        """
        if self._fused is not None:
            value, jac = self._fused(values, **independent)
            derivs = [jac.get(name) if flag and jac else None
                      for name, flag in zip(self.param_names, need)]
        elif self.lineshape is not None:
            args = [values[n] for n in self.param_names]
            x = independent[self.independent_vars[0]]
            if self.lineshape.value_and_jacobian is not None:
                value, jac = self.lineshape.value_and_jacobian(x, *args)
            else:
                value = self.lineshape.function(x, *args)
                jac = self.lineshape.jacobian(x, *args)
            derivs = [d if flag else None for d, flag in zip(jac, need)]
        else:
            value = self.value(values, independent)
            derivs = [None] * len(need)
        value = np.asarray(value, dtype=float)
        for k, (name, flag) in enumerate(zip(self.param_names, need)):
            if flag and derivs[k] is None:
                derivs[k] = self._forward_difference(values, independent, name, value)
            elif flag:
                derivs[k] = np.broadcast_to(np.asarray(derivs[k], dtype=float), value.shape)
        return value, derivs

    def value(self, values: Mapping[str, np.ndarray], independent: dict) -> np.ndarray:
        """Model value (b, N) for parameter arrays of shape (b, 1)."""
        if self._fused is not None:
            return np.asarray(self._fused(values, **independent)[0], dtype=float)
        return np.asarray(self.func(**independent, **values), dtype=float)

    def _forward_difference(self, values, independent, name, value) -> np.ndarray:
        v = values[name]
        h = FD_STEP * np.maximum(np.abs(v), 1.0)
        step = (v + h) - v
        up = self.value({**values, name: v + h}, independent)
        return (up - value) / step


class BatchProblem:
    """A Parameters template compiled for batch evaluation.

    Parameters
    ----------
    spec : ModelSpec
    template : Parameters
        Bounds, fixed flags and tie expressions applying to every dataset.
    infeasible : {'warn', 'raise'}
        A template value outside its bounds: moved to the bound with a warning, or
        BoundsError (:meth:`Parameters.check_bounds`, the single fits' rule).

    Attributes
    ----------
    names : list of str
        Every parameter of the template, in order.
    free_names, fixed_names, tied_names : list of str
        Varied parameters (the solver's unknowns), fixed ones (per-dataset values
        allowed), tied ones (in evaluation order).
    lower, upper, max_step : ndarray, shape (F,)
    """

    def __init__(self, spec: ModelSpec, template: Parameters, infeasible: str = "warn"):
        self.spec = spec
        self.template = template
        missing = [n for n in spec.param_names if n not in template]
        if missing:
            raise ParameterError(f"the Parameters template lacks the model parameter(s) "
                                 f"{missing} of {spec.label}; add them (model.make_params())")
        template.check_bounds(infeasible=infeasible)
        self.names = list(template)
        # the one map of free values to every value, the single fits' (core.mapping)
        self.mapping = ParameterMap(template)
        self.tied_names = self.mapping.tied_names
        self.free_names = self.mapping.free_names
        self.fixed_names = self.mapping.fixed_names
        if not self.free_names:
            raise FitError("no parameter is varied: set vary=True (and no expr) on at least "
                           "one parameter of the template")
        self.lower, self.upper = self.mapping.lower, self.mapping.upper
        self.max_step = np.array([math.nan if p.max_step is None else p.max_step
                                  for p in self.mapping.free_params], dtype=float)
        self.model_index = [self.names.index(n) for n in spec.param_names]
        # ties that no model parameter depends on (a peak's fwhm and height) are derived
        # values for the result only: the fit needs neither their values nor their
        # derivatives
        self._model_tied = [n for n in spec.param_names if n in self.tied_names]
        self._direct = self.free_names == list(spec.param_names)
        # no model parameter tied: each is a free or a fixed value, taken as it is, and the
        # chain rule is a selection of the model's rows (None: through the ties)
        self._sources = None if self._model_tied else [
            (0, self.free_names.index(n)) if n in self.free_names
            else (1, self.fixed_names.index(n)) for n in spec.param_names]
        self._selection = None if self._model_tied or not all(
            n in spec.param_names for n in self.free_names) else np.array(
                [spec.param_names.index(n) for n in self.free_names])

    @property
    def nvarys(self) -> int:
        """Number of free parameters, F."""
        return len(self.free_names)

    def all_values(self, x: np.ndarray, fixed: np.ndarray) -> dict[str, np.ndarray]:
        """Every parameter's values, shape (b,), from free (F, b) and fixed (K, b) arrays."""
        return self.mapping.values(x, fixed)

    def model_values(self, x: np.ndarray, fixed: np.ndarray) -> np.ndarray:
        """The model's parameters, shape (P, b)."""
        if self._direct:
            return x
        if self._sources is not None:
            return np.stack([(x, fixed)[kind][i] for kind, i in self._sources])
        values = self.all_values(x, fixed)
        return np.stack([np.broadcast_to(values[n], x.shape[1:])
                         for n in self.spec.param_names])

    def chain_rule(self, x: np.ndarray, fixed: np.ndarray) -> np.ndarray | None:
        """``C = d(model values)/d(free values)``, shape (P, F, b); None when identity."""
        if self._direct:
            return None
        P, (F, b) = len(self.spec.param_names), x.shape
        out = np.zeros((P, F, b))
        for k, name in enumerate(self.spec.param_names):
            if name in self.free_names:
                out[k, self.free_names.index(name)] = 1.0
        if not self._model_tied:
            return out
        tied = self.tied_jacobian(x, fixed)
        for k, name in enumerate(self.spec.param_names):
            if name in self.tied_names:
                out[k] = tied[self.tied_names.index(name)]
        return out

    def tied_jacobian(self, x: np.ndarray, fixed: np.ndarray) -> np.ndarray:
        """d(tied values)/d(free values), shape (T, F, b): the one map's central
        differences (:meth:`paramfit.core.mapping.ParameterMap.tied_jacobian`)."""
        return self.mapping.tied_jacobian(x, fixed)


class ChunkEvaluator:
    """Sum of squares, ``J^T J`` and ``J^T r`` of a chunk of datasets, the solver's callback.

    The evaluator has *slots*: initially every dataset of the chunk; the solver
    narrows them to a working set (:meth:`select`) and refills slots with other
    datasets of the chunk (:meth:`load`).  Returned arrays are buffers reused by
    the next call.

    Parameters
    ----------
    problem : BatchProblem
    data : ndarray, shape (B, N)
    independent : dict
        Independent variables, each of shape (N,) (shared) or (B, N).
    weights : ndarray, shape (N,) or (B, N), optional
        The residual is ``(model - data) * weights``.
    fixed : ndarray, shape (K, B)
        Values of the fixed parameters per dataset.
    """

    def __init__(self, problem: BatchProblem, data: np.ndarray, independent: dict,
                 weights: np.ndarray | None, fixed: np.ndarray):
        self.problem = problem
        self.spec = problem.spec
        self._full = (data, independent, weights, fixed)
        self.select(None)
        P = len(self.spec.param_names)
        self._need = tuple(
            (n in problem.free_names) or (n in problem.tied_names)
            for n in self.spec.param_names) if not problem._direct else (True,) * P
        spec = self.spec
        self._kernel = None if spec.background is None else GaussianKernel(
            data.shape[1], background=spec.background)
        order = spec.kernel_order
        identity = order is None or np.array_equal(order, np.arange(order.size))
        self._order = None if identity else order
        self._unorder = None if identity else np.argsort(order)

    def select(self, keep: np.ndarray | None) -> None:
        """Keep the slots ``keep`` (mask or indices into the current slots); None: all."""
        if keep is None:
            data, independent, weights, fixed = self._full
            self._owned = False
        elif self._owned and self._move_in_place(np.asarray(keep)):
            return
        else:
            data, independent, weights, fixed = (self.data, self.independent, self.weights,
                                                 self.fixed)
            data = data[keep]
            independent = {k: v[keep] if v.ndim == 2 else v for k, v in independent.items()}
            weights = weights[keep] if weights is not None and weights.ndim == 2 else weights
            fixed = fixed[:, keep]
            self._owned = True
        self.data, self.independent, self.weights, self.fixed = data, independent, weights, \
            fixed

    def _move_in_place(self, keep: np.ndarray) -> bool:
        """Compaction by a few moves: ``keep`` is the identity but for a few slots, which
        take the data of later ones; the arrays become views of their first slots."""
        size = keep.size
        if keep.dtype.kind not in "iu" or size > self.data.shape[0]:
            return False
        moved = np.flatnonzero(keep != np.arange(size))
        if 2 * moved.size > size:
            return False
        source = keep[moved]
        for array in (self.data, *self.independent.values(), self.weights):
            if array is not None and array.ndim == 2:
                array[moved] = array[source]
        self.fixed[:, moved] = self.fixed[:, source]
        self.data, self.fixed = self.data[:size], self.fixed[:, :size]
        self.independent = {k: v[:size] if v.ndim == 2 else v
                            for k, v in self.independent.items()}
        if self.weights is not None and self.weights.ndim == 2:
            self.weights = self.weights[:size]
        return True

    def load(self, slots: np.ndarray, rows: np.ndarray) -> None:
        """Put the chunk's datasets ``rows`` into the slots ``slots``."""
        if not self._owned:
            self.select(np.arange(self.data.shape[0]))
        data, independent, weights, fixed = self._full
        self.data[slots] = data[rows]
        for k, v in independent.items():
            if v.ndim == 2:
                self.independent[k][slots] = v[rows]
        if weights is not None and weights.ndim == 2:
            self.weights[slots] = weights[rows]
        self.fixed[:, slots] = fixed[:, rows]

    def __call__(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(chisq (b,), JtJ (F, F, b), Jtr (F, b))`` at free vectors ``x`` (F, b)."""
        problem = self.problem
        with np.errstate(all="ignore"):
            values = problem.model_values(x, self.fixed)
            if self._kernel is not None:
                xs = next(iter(self.independent.values()))
                if self._order is None:
                    chisq, jtj, jtr = self._kernel(values, xs, self.data, self.weights)
                else:
                    chisq, jtj, jtr = self._kernel(values[self._order], xs, self.data,
                                                   self.weights)
                    back = self._unorder
                    jtj, jtr = jtj[back][:, back], jtr[back]
            else:
                chisq, jtj, jtr = self._generic_moments(values)
            chain = None if problem._selection is not None else \
                problem.chain_rule(x, self.fixed)
            if problem._selection is not None and not problem._direct:
                # the chain rule of a selection: the free parameters' rows, exactly
                select = problem._selection
                jtr = jtr[select]
                jtj = jtj[select][:, select]
            elif chain is not None:
                # C^T (J^T r) and C^T (J^T J) C, summed over the model's parameters in
                # order (batch_dot: the same bits whatever the number of datasets)
                jtr = batch_dot(chain, jtr[:, None])
                inner = batch_dot(chain[:, None], jtj[:, :, None])       # (Q, F, b)
                jtj = batch_dot(inner[:, :, None], chain[:, None])       # (F, G, b)
        return chisq, jtj, jtr

    @property
    def n_residuals(self) -> int:
        """Residuals per dataset, N."""
        return self.data.shape[1]

    def cross(self, x: np.ndarray, probe: np.ndarray, slots: np.ndarray) -> np.ndarray:
        """``J(x)^T r(probe)`` (F, k) of the slots ``slots`` (k indices): the Jacobian (of
        the free parameters) at the free vectors ``x`` (F, k), the residual at ``probe``
        (F, k); a new array.  What the batch's geodesic acceleration needs
        (:mod:`paramfit.core.solvers.batch_geodesic`): at ``probe = x`` it is the ``J^T r``
        of :meth:`__call__`, bit for bit (the same Jacobian, from the same calls, and the
        same sums, each dataset's on its own)."""
        problem = self.problem
        data = self.data[slots]
        independent = {k: v[slots] if v.ndim == 2 else v for k, v in self.independent.items()}
        weights = self.weights
        if weights is not None and weights.ndim == 2:
            weights = weights[slots]
        fixed = self.fixed[:, slots]
        with np.errstate(all="ignore"):
            values = problem.model_values(x, fixed)
            probe_values = problem.model_values(probe, fixed)
            if self._kernel is not None:
                xs = next(iter(independent.values()))
                if self._order is None:
                    jtr = self._kernel.cross(values, probe_values, xs, data, weights)
                else:
                    order = self._order
                    jtr = self._kernel.cross(values[order], probe_values[order], xs, data,
                                             weights)[self._unorder]
            else:
                jtr = self._generic_cross(values, probe_values, data, independent, weights)
            if problem._selection is not None and not problem._direct:
                jtr = jtr[problem._selection]
            elif not problem._direct:
                chain = problem.chain_rule(x, fixed)
                jtr = batch_dot(chain, jtr[:, None])
        return jtr

    def _generic_cross(self, values, probe_values, data, independent, weights):
        """``J^T r`` (P, k) of the model's parameters: the Jacobian of the model's own
        ``value_and_jacobian`` at ``values``, the residual at ``probe_values``."""
        names = self.spec.param_names
        named = {n: v[:, None] for n, v in zip(names, values)}
        _, derivs = self.spec.value_and_jacobian(named, independent, self._need)
        # the residual as the evaluation forms it (the same value, no derivative)
        at_probe = {n: v[:, None] for n, v in zip(names, probe_values)}
        value, _ = self.spec.value_and_jacobian(at_probe, independent, (False,) * len(names))
        resid = np.subtract(value, data)
        if weights is not None:
            resid *= weights
            derivs = [None if d is None else d * weights for d in derivs]
        jtr = np.zeros((len(names), resid.shape[0]))
        for i, deriv in enumerate(derivs):
            if deriv is not None:
                jtr[i] = _row_dot(deriv, resid)
        return jtr

    def residual(self, x: np.ndarray) -> np.ndarray:
        """Residual (b, N) at free vectors ``x`` (F, b)."""
        values = self.problem.model_values(x, self.fixed)
        named = {n: v[:, None] for n, v in zip(self.spec.param_names, values)}
        resid = self.spec.value(named, self.independent) - self.data
        if self.weights is not None:
            resid *= self.weights
        return resid

    def _generic_moments(self, values: np.ndarray):
        names = self.spec.param_names
        named = {n: v[:, None] for n, v in zip(names, values)}
        value, derivs = self.spec.value_and_jacobian(named, self.independent, self._need)
        resid = np.subtract(value, self.data)
        w = self.weights
        if w is not None:
            resid *= w
            derivs = [None if d is None else d * w for d in derivs]
        chisq = _row_dot(resid, resid)
        P, b = len(names), resid.shape[0]
        jtj = np.zeros((P, P, b))
        jtr = np.zeros((P, b))
        for i in range(P):
            if derivs[i] is None:
                continue
            jtr[i] = _row_dot(derivs[i], resid)
            for j in range(i + 1):
                if derivs[j] is not None:
                    jtj[i, j] = jtj[j, i] = _row_dot(derivs[i], derivs[j])
        return chisq, jtj, jtr


def _row_dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``sum(a * b, axis=-1)`` of (b, N) arrays, each row by numpy's own einsum loop over
    the contiguous last axis: no BLAS call, so the order of each row's sum depends on N
    only, not on the rows' number, position or alignment (checked under the Haswell and
    Prescott kernels of OpenBLAS, whose ``ddot`` differs: see
    :class:`~paramfit.batch.kernels.GaussianKernel`)."""
    return np.einsum("ij,ij->i", a, b)


def rows_guess(spec: ModelSpec, data: np.ndarray, x: np.ndarray | None
               ) -> dict[str, np.ndarray] | None:
    """The model's own guess for B datasets at once (its ``guess_rows``: the built-in
    peaks, lines, polynomials, steps, rectangles, exponentials, power laws, sines),
    ``{parameter name: (B,) array}`` with NaN for datasets that cannot be
    guessed; None when the model has no such guess or ``x`` is per dataset."""
    guess_rows = getattr(spec.model, "guess_rows", None) if spec.is_model else None
    if guess_rows is None or x is None or x.ndim != 1:
        return None
    prefix = getattr(spec.model, "prefix", "")
    return {prefix + k: v for k, v in guess_rows(data, x, errors="nan").items()}


def loop_guess(spec: ModelSpec, data: np.ndarray, independent: dict,
               names: list[str]) -> dict[str, np.ndarray]:
    """The model's own ``guess`` called once per dataset (models without a vectorised one)."""
    out = {n: np.empty(data.shape[0]) for n in names}
    for i, row in enumerate(data):
        indep = {k: (v[i] if v.ndim == 2 else v) for k, v in independent.items()}
        guessed = spec.model.guess(row, **indep)
        for n in names:
            if n in guessed:
                out[n][i] = guessed[n].value
    return out


def guess_callable(spec: ModelSpec) -> Callable | None:
    """The model's ``guess`` method, or None."""
    return getattr(spec.model, "guess", None) if spec.is_model else None
