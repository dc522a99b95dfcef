"""BatchResult: the per-dataset answers of :func:`paramfit.batch.api` as arrays.

:func:`chunk_statistics` turns the vectorized solver's answer for one chunk into
plain arrays (values, standard errors, bdmsk status codes, chi-square...), the
form chunks travel in between processes and Dask workers;
:meth:`BatchResult.from_chunks` joins them.  The statistics are those of
:mod:`paramfit.core.statistics` (covariance scaled by the reduced chi-square, parameters
held at a bound get no standard error, tied parameters get ``g C g^T``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from paramfit.batch.single import single_fit
from paramfit.core.batch_linalg import SpdSystem, batch_dot
from paramfit.core.optional import require
from paramfit.core.parameters.parameters import Parameters, ParameterStatus
from paramfit.core.solvers.batch_levenberg_marquardt import BatchLMSolution
from paramfit.core.solvers.levenberg_marquardt import Termination

__all__ = ["BatchResult", "chunk_statistics", "CHUNK_FIELDS", "termination_message",
           "termination_name"]

#: Per-dataset arrays carried by a chunk (besides the per-parameter dicts).
CHUNK_FIELDS = ("chisqr", "redchi", "nfev", "niter", "success", "termination")
_BY_CODE = {member.code: member for member in Termination}


def termination_message(code: int) -> str:
    """The text of a :class:`Termination` code."""
    member = _BY_CODE.get(int(code))
    return member.message if member is not None else f"unknown termination code {code}"


def termination_name(code: int) -> str:
    """The name of a :class:`Termination` code (``'FTOL'``), ``'UNKNOWN_<code>'`` if none."""
    member = _BY_CODE.get(int(code))
    return member.name if member is not None else f"UNKNOWN_{int(code)}"


_STATUS_BY_BDMSK = {}
for _member in ParameterStatus:       # FIXED and TIED share bdmsk 0: the first, 'fixed'
    _STATUS_BY_BDMSK.setdefault(_member.bdmsk, _member.value)


def _status_names(codes: np.ndarray, tied: bool) -> np.ndarray:
    """Status codes (bdmsk) as the :class:`ParameterStatus` texts ('tied' for a tied
    parameter, whose code 0 is also 'fixed'); '' for NaN."""
    if tied:
        return np.full(codes.shape, ParameterStatus.TIED.value, dtype=object)
    return np.array([_STATUS_BY_BDMSK.get(float(c), "") for c in codes], dtype=object)


def _covariance(jtj: np.ndarray, active: np.ndarray) -> np.ndarray:
    """``inv(J^T J)`` over the parameters not held at a bound, shape (F, F, b); NaN if singular."""
    F, _, b = jtj.shape
    held = active != 0
    matrix = jtj.copy()
    for i in range(F):
        matrix[i, :, :][:, held[i]] = 0.0
        matrix[:, i, :][:, held[i]] = 0.0
        matrix[i, i][held[i]] = 1.0
    scale = np.sqrt(np.einsum("iib->ib", matrix))
    singular = (scale == 0.0).any(axis=0) | ~np.isfinite(matrix).all(axis=(0, 1))
    scale[scale == 0.0] = 1.0
    with np.errstate(all="ignore"):
        unit = matrix / scale[:, None] / scale[None, :]
    unit[:, :, singular] = np.eye(F)[:, :, None]
    cov = np.empty((F, F, b))
    system = SpdSystem(unit, adjugate=False)      # Cholesky, factorised once
    singular |= ~system.ok
    for k in range(F):
        cov[:, k] = system.solve(np.broadcast_to(np.eye(F)[:, k:k + 1], (F, b)))
    cov /= scale[:, None] * scale[None, :]
    cov[:, :, singular] = np.nan
    for i in range(F):
        cov[i][:, held[i]] = 0.0
        cov[:, i][:, held[i]] = 0.0
    return cov


def chunk_statistics(problem: Any, sol: BatchLMSolution, fixed: np.ndarray, ndata: int,
                     scale_covar: bool = True) -> dict[str, Any]:
    """Arrays of one fitted chunk: values, stderr, status per parameter, and statistics.

    Parameters
    ----------
    problem : BatchProblem
    sol : BatchLMSolution
    fixed : ndarray, shape (K, b)
        Values of the fixed parameters.
    ndata : int
        Points per dataset.
    scale_covar : bool
        Scale the covariance by the reduced chi-square.
    """
    F, b = sol.x.shape
    nfree = ndata - F
    improper = sol.termination == Termination.IMPROPER_INPUT.code
    x = sol.x.copy()
    x[:, improper] = np.nan
    with np.errstate(all="ignore"):
        redchi = sol.chisq / nfree if nfree > 0 else np.full(b, np.nan)
        cov = _covariance(sol.jtj, sol.active)
        if scale_covar and nfree > 0:
            cov *= redchi
        values = problem.all_values(x, fixed)
        std = np.sqrt(np.clip(np.einsum("iib->ib", cov), 0.0, None))
        std[sol.active != 0] = np.nan
        stderr = {n: np.full(b, np.nan) for n in problem.names}
        for i, name in enumerate(problem.free_names):
            stderr[name] = std[i]
        if problem.tied_names:
            grad = problem.tied_jacobian(np.nan_to_num(x), fixed)
            # g C g^T per tied parameter, summed in order (batch_dot: independent of b)
            grad_f = grad.transpose(1, 0, 2)                          # (F, T, b)
            g_cov = batch_dot(grad_f[:, :, None], cov[:, None])       # (T, G, b)
            var = batch_dot(g_cov.transpose(1, 0, 2), grad_f)         # (T, b)
            for t, name in enumerate(problem.tied_names):
                stderr[name] = np.sqrt(np.clip(var[t], 0.0, None))
    status = {}
    for name in problem.names:
        code = ParameterStatus.TIED if name in problem.tied_names else ParameterStatus.FIXED
        status[name] = np.full(b, code.bdmsk)
    for i, name in enumerate(problem.free_names):
        status[name] = np.where(sol.active[i] < 0, ParameterStatus.AT_LOWER.bdmsk,
                                np.where(sol.active[i] > 0, ParameterStatus.AT_UPPER.bdmsk,
                                         ParameterStatus.FREE.bdmsk))
    codes = sol.termination.astype(np.int8)
    return {
        "values": {n: np.broadcast_to(values[n], (b,)).astype(float) for n in problem.names},
        "stderr": stderr, "status": status, "chisqr": sol.chisq, "redchi": redchi,
        "nfev": sol.nfev, "niter": sol.niter, "success": (codes >= 1) & (codes <= 4),
        "termination": codes,
    }


@dataclass
class BatchResult:
    """Results of fitting one model to many datasets (:func:`paramfit.batch.api`).

    Attributes
    ----------
    param_names : list of str
        Every parameter of the template, in order.
    var_names : list of str
        The varied parameters.
    values, stderr : dict of str to ndarray, shape (n,)
        Best-fit values and standard errors per parameter (NaN where there is
        none: a failed dataset, a parameter at a bound or fixed).
    status : dict of str to ndarray, shape (n,)
        :class:`~paramfit.ParameterStatus` ``bdmsk`` codes: 1 free, 0 fixed or
        tied, -3 at the lower bound, -1 at the upper bound.
    chisqr, redchi : ndarray, shape (n,)
    nfev, niter : ndarray of int, shape (n,)
    success : ndarray of bool, shape (n,)
    termination : ndarray of int8, shape (n,)
        :class:`~paramfit.core.solvers.levenberg_marquardt.Termination` codes
        (``termination_message(code)`` gives the text; 0 for a dataset that
        could not be evaluated, e.g. NaN data).
    ndata : int
        Points per dataset.
    backend : str
    source : dict
        What :meth:`result` needs to refit one dataset (model, template, data,
        independent variables, weights); not part of the comparison.

    Examples
    --------
    >>> import numpy as np
    >>> from paramfit.batch import fit_many
    >>> from paramfit.models.lineshapes import gaussian
    >>> x = np.linspace(-5, 5, 64)
    >>> data = gaussian(x, np.array([[1.0], [2.0]]), 0.5, np.array([[1.0], [0.8]]))
    >>> res = fit_many(gaussian, data, x)
    >>> len(res), np.round(res.values['sigma'], 8).tolist()
    (2, [1.0, 0.8])
    """

    param_names: list[str]
    var_names: list[str]
    values: dict[str, np.ndarray]
    stderr: dict[str, np.ndarray]
    status: dict[str, np.ndarray]
    chisqr: np.ndarray
    redchi: np.ndarray
    nfev: np.ndarray
    niter: np.ndarray
    success: np.ndarray
    termination: np.ndarray
    ndata: int
    backend: str = "numpy"
    source: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_chunks(cls, chunks: Sequence[Mapping[str, Any]], *, param_names: list[str],
                    var_names: list[str], ndata: int, backend: str,
                    source: dict[str, Any] | None = None) -> BatchResult:
        """Join the arrays of consecutive chunks (see :func:`chunk_statistics`)."""
        def join(key, name=None):
            parts = [c[key] if name is None else c[key][name] for c in chunks]
            return np.concatenate(parts) if parts else np.empty(0)

        return cls(
            param_names=list(param_names), var_names=list(var_names),
            values={n: join("values", n) for n in param_names},
            stderr={n: join("stderr", n) for n in param_names},
            status={n: join("status", n) for n in param_names},
            chisqr=join("chisqr"), redchi=join("redchi"),
            nfev=join("nfev").astype(np.int64), niter=join("niter").astype(np.int64),
            success=join("success").astype(bool), termination=join("termination").astype(
                np.int8), ndata=ndata, backend=backend, source=dict(source or {}))

    def __len__(self) -> int:
        return int(self.chisqr.size)

    @property
    def failed(self) -> np.ndarray:
        """Indices of the datasets whose fit did not converge (or could not start)."""
        return np.flatnonzero(~self.success)

    def message(self, i: int) -> str:
        """Why the fit of dataset ``i`` ended, in words."""
        return termination_message(self.termination[i])

    def reasons(self) -> np.ndarray:
        """Why each dataset failed, in words (:meth:`message`, naming non-finite data where
        that is why it could not be fitted); ``''`` where it converged."""
        out = np.array(["" if ok else termination_message(code)
                        for ok, code in zip(self.success, self.termination)], dtype=object)
        data = self.source.get("data")
        improper = np.flatnonzero(self.termination == Termination.IMPROPER_INPUT.code)
        if isinstance(data, np.ndarray) and improper.size:
            bad = ~np.isfinite(data[improper]).all(axis=1)
            for i in improper[bad]:
                out[i] = f"{out[i]}: the data has non-finite values (NaN or inf)"
        return out

    def to_dataframe(self) -> Any:
        """A pandas DataFrame: one row per dataset, ``<name>``, ``<name>_stderr`` and
        ``<name>_status`` columns per parameter (the status by name: ``'free'``, ``'at
        lower bound'``, ...), then chisqr, redchi, nfev, niter, success, termination (the
        :class:`Termination` member's name, e.g. ``'FTOL'``) and reason (why a failed
        dataset failed, in words; empty where it converged)."""
        pd = require("pandas", "pandas", "BatchResult.to_dataframe()")
        columns: dict[str, np.ndarray] = {}
        template = self.source.get("template") or {}
        for name in self.param_names:
            columns[name] = self.values[name]
            columns[f"{name}_stderr"] = self.stderr[name]
            tied = name in template and bool(template[name].expr)
            columns[f"{name}_status"] = _status_names(self.status[name], tied)
        for key in CHUNK_FIELDS:
            columns[key] = getattr(self, key)
        columns["termination"] = np.array([termination_name(c) for c in self.termination],
                                          dtype=object)
        columns["reason"] = self.reasons()
        return pd.DataFrame(columns)

    def params(self, i: int) -> Parameters:
        """The template with dataset ``i``'s best-fit values (and stderr) filled in."""
        template: Parameters = self.source["template"]
        params = template.copy()
        for name in self.param_names:
            par = params[name]
            if not par.expr:
                par.value = float(self.values[name][i])
        params.update_constraints()
        for name in self.param_names:
            err = float(self.stderr[name][i])
            params[name].stderr = None if np.isnan(err) else err
        return params

    def result(self, i: int) -> Any:
        """A full single-fit result for dataset ``i``, refitted from the batch solution.

        For a :class:`paramfit.Model` this is ``model.fit(...)``'s ModelResult, for a
        model function a :class:`paramfit.Minimizer` (``minimize``) whose attributes
        hold the statistics.  Starting at the batch optimum, the refit only confirms it.
        """
        if not -len(self) <= i < len(self):
            raise IndexError(f"dataset index {i} out of range for {len(self)} datasets")
        i = int(i) % len(self)
        src = self.source
        start = self.params(i) if self.success[i] else None
        return single_fit(src["model"], src["template"], src["data"], src["independent"],
                          src["weights"], i, start=start, fit_kws=src.get("fit_kws", {}))
