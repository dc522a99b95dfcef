"""``fit_many``: one model, many datasets -- validate once, then fit by chunks.

The front function checks and normalises every argument once (data, independent
variables, weights, template, start values, options), decides how start values
are made (user ``starts``, the model's ``guess`` -- vectorised for the peak
models -- or the template), cuts the datasets into memory-bounded chunks and
hands them to a backend (:mod:`paramfit.batch.backends`).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from paramfit.batch.backends import (
    BACKENDS,
    SOLVER_OPTIONS,
    ChunkTask,
    default_workers,
    run_dask,
    run_numpy,
    run_processes,
)
from paramfit.batch.problem import (
    BatchProblem,
    ModelSpec,
    guess_callable,
    loop_guess,
    rows_guess,
)
from paramfit.batch.result import BatchResult
from paramfit.core.exceptions import BoundsError, BoundsWarning, FitError, ParameterError
from paramfit.core.parameters.parameters import Parameters
from paramfit.core.problem import refuse_masked

__all__ = ["fit_many", "default_chunk_size"]

#: Largest default chunk: its per-dataset arrays (start points, results, the data
#: block itself when it must be copied, e.g. from a dask array) stay near 64 MiB.  Each
#: chunk ends with a tail of iterations on its few slowest datasets (at 2,000 Gaussian +
#: line fits, 1% of them take 55-70 evaluations, the median 11), so fewer, larger chunks
#: pay it fewer times: 20,000 such fits in one chunk instead of three of 16 MiB ran at
#: 31-32k instead of 25-27k fits/s (CPU time); 10**6 Gaussians peak at the same RSS
#: (1,403 against 1,400 MiB).
CHUNK_BYTES = 64 << 20
#: With ``progress=True`` the default chunks are cut to about this many (the bar moves
#: once per chunk), but to no fewer than PROGRESS_CHUNK datasets each (a chunk's fixed
#: cost stays small); chunking never changes the results.
PROGRESS_STEPS, PROGRESS_CHUNK = 50, 1000
_EXTRA_OPTIONS = ("scale_covar", "n_workers", "working_set", "infeasible")


def default_chunk_size(n_points: int, n_params: int, n_datasets: int | None = None,
                       n_workers: int = 1) -> int:
    """Datasets per chunk: memory-bounded, and balanced over ``n_workers``.

    A chunk is fitted through a working set of a few thousand datasets
    (:data:`paramfit.core.solvers.batch_levenberg_marquardt.WORKING_SET`) whose slots are refilled
    as datasets converge, so large chunks cost no more per dataset than small
    ones; the bound is on the chunk's own arrays (about 64 MiB, so 1e6 datasets
    stream in constant memory).  Given ``n_datasets``, the chunks are made of
    equal size and their number a multiple of ``n_workers``, so every worker
    gets the same work.

    Examples
    --------
    >>> default_chunk_size(128, 3, n_datasets=2000, n_workers=2)
    1000
    """
    per_dataset = 8 * (max(1, n_points) + 4 * n_params * n_params + 16)
    largest = int(max(256, CHUNK_BYTES // per_dataset))
    if n_datasets is None:
        return largest
    workers = max(1, int(n_workers))
    rounds = -(-n_datasets // (workers * largest))
    return max(1, -(-n_datasets // (workers * rounds)))


def _parallelism(backend: str, client: Any, n_workers: Any) -> int:
    """Workers that will fit chunks side by side (threads, processes or Dask workers)."""
    if n_workers is not None:
        return max(1, int(n_workers))
    if backend == "dask" and client is not None:
        try:
            return max(1, len(client.scheduler_info()["workers"]))
        except (AttributeError, KeyError, TypeError):
            return 1
    return 1 if backend == "numpy" else (os.cpu_count() or 1)


def _is_dask(obj: Any) -> bool:
    return type(obj).__module__.split(".")[0] == "dask" and hasattr(obj, "chunks")


def _refuse_careless(what: str, value: Any) -> None:
    """Refuse masked arrays (the mask would be ignored) and text parsed as numbers
    (``np.asarray(['1', '2'], dtype=float)`` succeeds silently)."""
    refuse_masked(value, f"fit_many: {what} is", FitError)
    if isinstance(value, (list, tuple)):
        try:
            value = np.asarray(value)
        except ValueError:
            return  # ragged: the float conversion reports it
    if isinstance(value, (str, bytes)) or isinstance(value, np.ndarray) and (
            value.dtype.kind in "USV" or value.dtype.kind == "O"
            and any(isinstance(v, (str, bytes)) for v in value.ravel())):
        raise FitError(f"fit_many: {what} holds text or non-numbers "
                       f"({type(value).__name__}); convert it to a float array first")


def _as_data(data: Any) -> Any:
    _refuse_careless("data", data)
    if _is_dask(data):
        if data.ndim != 2:
            raise FitError(f"data must be 2-D (n_datasets, n_points), got a {data.ndim}-D "
                           "dask array")
        return data
    try:
        arr = np.asarray(data, dtype=float)
    except (ValueError, TypeError) as exc:
        raise FitError("data must be a 2-D array (n_datasets, n_points) of numbers; ragged "
                       f"rows (datasets of different lengths) are not supported: {exc}") \
            from exc
    if arr.ndim != 2:
        raise FitError(f"data must be 2-D (n_datasets, n_points), got shape {arr.shape}")
    return arr


def _as_independent(name: str, value: Any, shape: tuple[int, int]) -> np.ndarray:
    _refuse_careless(f"independent variable {name!r}", value)
    try:
        arr = np.asarray(value, dtype=float)
    except (ValueError, TypeError) as exc:
        raise FitError(f"independent variable {name!r} must be an array of numbers, "
                       f"(n_points,) or (n_datasets, n_points): {exc}") from exc
    n, m = shape
    if arr.shape not in ((m,), (n, m)):
        raise FitError(f"independent variable {name!r} has shape {arr.shape}, but the data "
                       f"is {shape}: give ({m},) shared by all datasets or {shape}")
    return arr


def _as_weights(weights: Any, shape: tuple[int, int]) -> np.ndarray | None:
    if weights is None:
        return None
    _refuse_careless("weights", weights)
    arr = np.asarray(weights, dtype=float)
    if arr.shape not in ((shape[1],), shape):
        raise FitError(f"weights have shape {arr.shape}, but the data is {shape}: give "
                       f"({shape[1]},) or {shape}")
    return arr


def _as_starts(starts: Any, problem: BatchProblem, n: int) -> dict[str, np.ndarray]:
    if starts is None:
        return {}
    if isinstance(starts, np.ndarray) and starts.dtype.names:
        starts = {name: starts[name] for name in starts.dtype.names}
    elif not isinstance(starts, Mapping):
        arr = np.asarray(starts, dtype=float)
        if arr.ndim != 2 or arr.shape[1] != problem.nvarys:
            raise FitError(f"starts as an array must be (n_datasets, {problem.nvarys}) with "
                           f"columns {problem.free_names}; got shape {arr.shape}")
        starts = dict(zip(problem.free_names, arr.T))
    out = {}
    for name, values in starts.items():
        if name not in problem.names:
            raise ParameterError(f"starts names an unknown parameter {name!r}; the "
                                 f"parameters are {problem.names}")
        if name in problem.tied_names:
            raise ParameterError(f"starts gives values for {name!r}, which is tied by an "
                                 "expression: its value is computed, not started")
        arr = np.asarray(values, dtype=float)
        if arr.ndim == 0:
            arr = np.full(n, float(arr))
        if arr.shape != (n,):
            raise FitError(f"starts[{name!r}] has shape {arr.shape}; expected ({n},), one "
                           "start per dataset")
        out[name] = arr
    return out


class _Starts:
    """Makes each chunk's start points: template values, the model's guess, user starts."""

    def __init__(self, problem: BatchProblem, starts: dict, guess: str | None,
                 infeasible: str = "warn"):
        self.problem = problem
        self.infeasible = infeasible
        self.starts = starts
        self.guess = guess
        self.base = np.array([problem.template[n].value for n in problem.names])

    def __call__(self, data: np.ndarray, independent: dict, lo: int, hi: int
                 ) -> tuple[np.ndarray, np.ndarray]:
        p = self.problem
        b = hi - lo
        values = {n: np.full(b, v) for n, v in zip(p.names, self.base)}
        if self.guess is not None:
            x = independent.get(p.spec.independent_vars[0])
            with np.errstate(all="ignore"):
                guessed = rows_guess(p.spec, data, x) if self.guess == "rows" \
                    else loop_guess(p.spec, data, independent, p.free_names)
            for name in p.free_names:
                if name in guessed:
                    values[name] = np.where(np.isfinite(guessed[name]), guessed[name],
                                            values[name])
        for name, arr in self.starts.items():
            values[name] = arr[lo:hi]
        x0 = np.stack([values[n] for n in p.free_names]) if p.free_names else np.empty((0, b))
        clipped = np.clip(x0, p.lower[:, None], p.upper[:, None])
        moved = (clipped != x0) & np.isfinite(x0)
        if moved.any():
            # the single fits' rule (Parameters.check_bounds): moved to the nearest bound
            # with a warning, or an error with infeasible='raise'
            names = [p.free_names[i] for i in np.flatnonzero(moved.any(axis=1))]
            rows = np.flatnonzero(moved.any(axis=0))
            where = (f"{rows.size} dataset(s) (the first: {lo + int(rows[0])}) start outside "
                     f"the bounds of {names}")
            if self.infeasible == "raise":
                raise BoundsError(f"{where}; give starts within the bounds, or "
                                  "infeasible='warn' to move them to the nearest bound")
            warnings.warn(f"{where}: moved to the nearest bound", BoundsWarning,
                          stacklevel=4)
        fixed = np.stack([values[n] for n in p.fixed_names]) if p.fixed_names \
            else np.empty((0, b))
        return clipped, fixed


def _guess_mode(spec: ModelSpec, data: Any, independent: dict, starts: dict,
                problem: BatchProblem) -> str | None:
    """'rows', 'loop' or None: how the model's guess fills the missing starts -- its
    ``guess_rows`` on a chunk at once (the same guess as ``Model.guess`` on each row, bit
    for bit), its ``guess`` once per dataset, or not at all (no guess, every start given)."""
    if all(n in starts for n in problem.free_names) or guess_callable(spec) is None:
        return None
    x = independent.get(spec.independent_vars[0])
    if rows_guess(spec, np.asarray(data[:1], dtype=float), x) is not None:
        return "rows"
    row = np.asarray(data[0], dtype=float)
    indep0 = {k: (v[0] if v.ndim == 2 else v) for k, v in independent.items()}
    try:
        spec.model.guess(row, **indep0)
    except NotImplementedError:
        return None
    return "loop"


def _chunks(data, independent, weights, starts: _Starts, chunk_size: int,
            local: bool) -> Iterator[tuple]:
    n = data.shape[0]
    for lo in range(0, n, chunk_size):
        hi = min(n, lo + chunk_size)
        block = np.asarray(data[lo:hi], dtype=float) if local or not _is_dask(data) \
            else data[lo:hi]
        indep = {k: (v[lo:hi] if v.ndim == 2 else v) for k, v in independent.items()}
        w = weights[lo:hi] if weights is not None and weights.ndim == 2 else weights
        local_block = block if isinstance(block, np.ndarray) else np.asarray(block)
        x0, fixed = starts(local_block, indep, lo, hi)
        yield block, indep, w, x0, fixed


def fit_many(model: Any, data: Any, x: Any = None, params: Parameters | None = None,
             weights: Any = None, starts: Any = None, chunk_size: int | None = None,
             progress: bool = False, backend: str = "numpy", *, client: Any = None,
             **fit_kws: Any) -> BatchResult:
    """Fit one model to many datasets at once.

    Parameters
    ----------
    model : Model or callable
        A :class:`paramfit.Model` (fitted through its broadcasting
        ``value_and_jacobian``), a :mod:`paramfit.models.lineshapes` function, or a model
        function ``f(x, p1=..., p2=...)``.
    data : array_like or dask array, shape (n_datasets, n_points)
    x : array_like, shape (n_points,) or (n_datasets, n_points), optional
        The first independent variable; others by name in ``**fit_kws``.
    params : Parameters, optional
        Template: bounds, fixed parameters and tie expressions applied to every
        dataset; default the model's ``guess`` on the first dataset (bounds
        included) or ``make_params()``.
    weights : array_like, shape (n_points,) or (n_datasets, n_points), optional
        The residual is ``(model - data) * weights``.
    starts : mapping, structured or 2-D array, or 'params', optional
        Per-dataset start values ``{name: (n_datasets,)}`` (fixed parameters too:
        per-dataset fixed values), or an array ``(n_datasets, n_varied)``.  Missing
        ones come from the model's ``guess`` per dataset (for a chunk at once through
        ``guess_rows``: the built-in models), else from the template; ``'params'`` uses the
        template's values for every dataset.
    chunk_size : int, optional
        Datasets handed to a worker at a time; default :func:`default_chunk_size`
        (balanced over the workers).  A chunk is fitted through a working set of
        ``working_set`` datasets (keyword, default
        :data:`~paramfit.core.solvers.batch_levenberg_marquardt.WORKING_SET`) refilled as datasets
        converge.  Neither changes the results, bit for bit.
    progress : bool
        Show a tqdm progress bar (needs ``tqdm``), advanced per chunk (by default the
        chunks are then cut to about :data:`PROGRESS_STEPS`).
    backend : {'numpy', 'processes', 'dask'}
        See :mod:`paramfit.batch.backends`.  ``client=`` implies ``'dask'``.
    client : dask.distributed.Client, optional
        Cluster to fit on, e.g. ``Client('tcp://scheduler:8786')``.
    **fit_kws
        ``ftol``, ``xtol``, ``gtol``, ``max_nfev`` (as the single-fit
        ``leastsq``, same defaults), ``scale_covar`` (default True), ``infeasible``
        (``'warn'``, the default: a start outside its bounds -- template, guess or
        ``starts`` -- is moved to the nearest bound with a BoundsWarning, as in a single
        fit; ``'raise'``: BoundsError),
        ``n_workers`` (threads for 'numpy', default 1; processes or LocalCluster
        workers otherwise), ``working_set``, and independent variables by name.

    Returns
    -------
    BatchResult

    Raises
    ------
    FitError
        Data not 2-D (ragged), no datasets, shapes of ``x``/weights not matching,
        unknown options or backend.
    ParameterError
        ``starts`` names an unknown or tied parameter; the template lacks a model
        parameter.

    Notes
    -----
    Datasets whose data is not finite, or whose fit fails, are flagged
    (``success`` False, termination code 0 for "could not be evaluated") and never
    stop the batch.

    Examples
    --------
    >>> import numpy as np
    >>> from paramfit.models.lineshapes import gaussian
    >>> x = np.linspace(-5, 5, 101)
    >>> centers = np.array([[-1.0], [0.0], [1.5]])
    >>> res = fit_many(gaussian, gaussian(x, 2.0, centers, 0.7), x)
    >>> (np.round(res.values['center'], 6) + 0.0).tolist(), bool(res.success.all())
    ([-1.0, 0.0, 1.5], True)
    """
    if client is not None:
        backend = "dask"
    if backend not in BACKENDS:
        raise FitError(f"unknown backend {backend!r}; choose one of {BACKENDS}")
    spec = ModelSpec(model)
    data = _as_data(data)
    n, m = data.shape
    if n == 0:
        raise FitError("data has no datasets (n_datasets = 0): nothing to fit")
    if m == 0:
        raise FitError("the datasets have no points (n_points = 0)")
    independent_kws = {k: fit_kws.pop(k) for k in list(fit_kws) if k in spec.independent_vars}
    unknown = set(fit_kws) - set(SOLVER_OPTIONS) - set(_EXTRA_OPTIONS)
    if unknown:
        raise FitError(f"fit_many got unknown keyword(s) {sorted(unknown)}; it accepts "
                       f"{sorted(SOLVER_OPTIONS + _EXTRA_OPTIONS)} and the independent "
                       f"variables {list(spec.independent_vars)}")
    if x is not None:
        independent_kws.setdefault(spec.independent_vars[0], x)
    missing = [v for v in spec.independent_vars if v not in independent_kws]
    if missing:
        raise FitError(f"missing independent variable(s) {missing} for {spec.label}")
    independent = {k: _as_independent(k, v, (n, m)) for k, v in independent_kws.items()}
    weights = _as_weights(weights, (n, m))
    scale_covar = bool(fit_kws.pop("scale_covar", True))
    n_workers = fit_kws.pop("n_workers", None)
    use_template = isinstance(starts, str)
    if use_template and starts != "params":
        raise FitError(f"starts must be a mapping, an array or 'params', got {starts!r}")
    infeasible = fit_kws.pop("infeasible", "warn")
    if infeasible not in ("warn", "raise"):
        raise FitError(f"infeasible must be 'warn' or 'raise', got {infeasible!r}")
    template = _template(spec, params, data, independent, use_template)
    problem = BatchProblem(spec, template, infeasible)
    start_values = {} if use_template else _as_starts(starts, problem, n)
    guess = None if use_template else _guess_mode(spec, data, independent, start_values,
                                                  problem)
    working_set = fit_kws.pop("working_set", None)
    if chunk_size is None:
        chunk_size = default_chunk_size(m, problem.nvarys, n,
                                        _parallelism(backend, client, n_workers))
        if progress:      # a bar that moves: about PROGRESS_STEPS chunks (same results)
            chunk_size = min(chunk_size, max(PROGRESS_CHUNK, -(-n // PROGRESS_STEPS)))
    chunk_size = int(chunk_size)
    if chunk_size < 1:
        raise FitError(f"chunk_size must be a positive integer, got {chunk_size}")
    task = ChunkTask(model, template, fit_kws, scale_covar, working_set)
    task._problem = problem
    make_starts = _Starts(problem, start_values, guess, infeasible)
    chunks = _chunks(data, independent, weights, make_starts, chunk_size,
                     local=backend != "dask")
    n_chunks = -(-n // chunk_size)
    if backend == "numpy":
        workers = 1 if n_workers is None else int(n_workers)
        parts = run_numpy(task, chunks, n, progress=progress, n_workers=workers)
    elif backend == "processes":
        parts = run_processes(task, chunks, n, progress=progress,
                              n_workers=n_workers or default_workers(backend, n_chunks))
    else:
        parts = run_dask(task, chunks, n, progress=progress, client=client,
                         n_workers=n_workers)
    source = {"model": model, "template": template, "data": data,
              "independent": independent, "weights": weights, "fit_kws": dict(fit_kws)}
    return BatchResult.from_chunks(parts, param_names=problem.names,
                                   var_names=problem.free_names, ndata=m, backend=backend,
                                   source=source)


def _template(spec: ModelSpec, params: Parameters | None, data: Any, independent: dict,
              use_template: bool) -> Parameters:
    if params is not None:
        if not isinstance(params, Parameters):
            raise FitError(f"params must be a paramfit.Parameters template, got "
                           f"{type(params).__name__}")
        return params.copy()
    if not use_template and guess_callable(spec) is not None:
        row = np.asarray(data[0], dtype=float)
        indep0 = {k: (v[0] if v.ndim == 2 else v) for k, v in independent.items()}
        try:
            with np.errstate(all="ignore"):
                return spec.model.guess(row, **indep0)
        except (NotImplementedError, ValueError, ArithmeticError):
            pass
    return spec.make_params()



