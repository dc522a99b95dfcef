"""Where the chunks of a batch are fitted: in this process (numpy), a process pool, or Dask.

Every backend fits *chunks*: consecutive slices of the datasets, described by a
:class:`ChunkTask` (model, Parameters template, solver options), and returns
the arrays of :func:`paramfit.batch.result.chunk_statistics`, which
:meth:`BatchResult.from_chunks <paramfit.batch.result.BatchResult.from_chunks>`
joins in order.

* ``'numpy'`` -- the vectorized Levenberg-Marquardt of
  :mod:`paramfit.core.solvers.batch_levenberg_marquardt`, chunks one after the other in this
  process, or on ``n_workers`` threads (numpy releases the GIL in its array
  loops, so two threads use two cores).
* ``'processes'`` -- :class:`concurrent.futures.ProcessPoolExecutor`; each
  worker fits its chunks with the same vectorized engine (results identical to
  ``'numpy'``, bit for bit).  Workers are forked on Linux, so the user's script
  needs no ``if __name__ == '__main__'`` guard there.  :func:`fit_chunk_single`
  fits a chunk one dataset at a time with the single-fit core instead.
* ``'dask'`` -- chunks are fitted by the vectorized engine on the workers of a
  ``dask.distributed`` cluster and gathered.  With no ``client`` a
  ``LocalCluster`` is started for the call; to use a real cluster, start a
  scheduler and workers (``dask scheduler``; ``dask worker tcp://scheduler:8786``)
  and pass ``client=Client('tcp://scheduler:8786')``.  Workers need paramfit
  installed; the model must be picklable (cloudpickle).  Each numpy chunk is
  scattered to a worker (never through the scheduler) and fitted there; a dask
  array is fitted block by block where it lives.  By default the chunks are
  large (about 64 MiB) and their number a multiple of the workers, so the
  scheduling overhead is small and the workers evenly loaded.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any

import numpy as np

from paramfit.batch.problem import BatchProblem, ChunkEvaluator, ModelSpec
from paramfit.batch.result import chunk_statistics
from paramfit.batch.single import single_fit
from paramfit.core.optional import require
from paramfit.core.parameters.parameters import Parameters, ParameterStatus
from paramfit.core.solvers.batch_levenberg_marquardt import batch_levenberg_marquardt
from paramfit.core.solvers.levenberg_marquardt import Termination

__all__ = ["ChunkTask", "BACKENDS", "run_numpy", "run_processes", "run_dask", "single_fit",
           "fit_chunk_single"]

BACKENDS = ("numpy", "processes", "dask")
SOLVER_OPTIONS = ("ftol", "xtol", "gtol", "max_nfev")


class ChunkTask:
    """Model, template and options of a batch: what every chunk fit needs (picklable).

    The compiled :class:`BatchProblem` is rebuilt lazily in each process.
    """

    def __init__(self, model: Any, template: Parameters, options: Mapping[str, Any],
                 scale_covar: bool = True, working_set: int | None = None):
        self.model = model
        self.working_set = working_set
        self.template = template
        self.options = dict(options)
        self.scale_covar = scale_covar
        self._problem: BatchProblem | None = None

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_problem"] = None
        return state

    @property
    def problem(self) -> BatchProblem:
        if self._problem is None:
            self._problem = BatchProblem(ModelSpec(self.model), self.template)
        return self._problem

    def fit(self, data: np.ndarray, independent: dict, weights: np.ndarray | None,
            x0: np.ndarray, fixed: np.ndarray) -> dict[str, Any]:
        """Fit one chunk with the vectorized engine; returns its arrays."""
        problem = self.problem
        data = np.ascontiguousarray(data, dtype=float)
        evaluator = ChunkEvaluator(problem, data, independent, weights, fixed)
        sol = batch_levenberg_marquardt(evaluator, x0, lower=problem.lower,
                                        upper=problem.upper, max_step=problem.max_step,
                                        working_set=self.working_set, **self.options)
        return chunk_statistics(problem, sol, fixed, data.shape[1], self.scale_covar)


Chunk = tuple[np.ndarray, dict, Any, np.ndarray, np.ndarray]


def _progress(total: int, enabled: bool):
    if not enabled:
        return None
    tqdm = require("tqdm", "progress", "fit_many(progress=True)")
    return tqdm.tqdm(total=total, unit="fit", desc="fit_many")


def run_numpy(task: ChunkTask, chunks: Iterator[Chunk], n_datasets: int, *,
              progress: bool = False, n_workers: int = 1) -> list[dict]:
    """Fit chunks in this process, on ``n_workers`` threads; results in chunk order."""
    bar = _progress(n_datasets, progress)
    out = []
    try:
        if n_workers <= 1:
            for chunk in chunks:
                out.append(task.fit(*chunk))
                if bar is not None:
                    bar.update(chunk[0].shape[0])
            return out
        task.problem  # noqa: B018  (compile once, before the threads share it)
        with ThreadPoolExecutor(n_workers) as pool:
            pending = []
            for chunk in chunks:
                pending.append(pool.submit(task.fit, *chunk))
                while len(pending) > 2 * n_workers:
                    out.append(pending.pop(0).result())
                    if bar is not None:
                        bar.update(len(out[-1]["chisqr"]))
            for future in pending:
                out.append(future.result())
                if bar is not None:
                    bar.update(len(out[-1]["chisqr"]))
        return out
    finally:
        if bar is not None:
            bar.close()


# ---------------------------------------------------------------------- single fits
def fit_chunk_single(task: ChunkTask, data: np.ndarray, independent: dict,
                     weights: Any, x0: np.ndarray, fixed: np.ndarray) -> dict[str, Any]:
    """Fit a chunk one dataset at a time with the single-fit core (``'processes'``)."""
    problem = task.problem
    b = data.shape[0]
    names = problem.names
    values = {n: np.full(b, np.nan) for n in names}
    stderr = {n: np.full(b, np.nan) for n in names}
    status = {n: np.full(b, np.nan) for n in names}
    stats = {k: np.full(b, np.nan) for k in ("chisqr", "redchi")}
    nfev, niter = np.zeros(b, np.int64), np.zeros(b, np.int64)
    codes = np.zeros(b, np.int8)
    for i in range(b):
        params = task.template.copy()
        for j, name in enumerate(problem.free_names):
            params[name].value = float(x0[j, i])
        for k, name in enumerate(problem.fixed_names):
            params[name].value = float(fixed[k, i])
        try:
            fit = single_fit(task.model, params, data, independent, weights, i,
                             fit_kws=task.options)
        except Exception:  # noqa: BLE001  (a failed dataset never aborts the batch)
            codes[i] = Termination.IMPROPER_INPUT.code
            for name in names:
                status[name][i] = _template_status(problem, name)
            continue
        best = fit.params
        for name in names:
            values[name][i] = best[name].value
            err = best[name].stderr
            stderr[name][i] = np.nan if err is None else err
            status[name][i] = best[name].status.bdmsk
        stats["chisqr"][i], stats["redchi"][i] = fit.chisqr, fit.redchi
        nfev[i], niter[i] = fit.nfev, fit.niter
        term = getattr(fit, "termination", None)
        codes[i] = term.code if isinstance(term, Termination) else int(fit.ier)
    return {"values": values, "stderr": stderr, "status": status, **stats, "nfev": nfev,
            "niter": niter, "success": (codes >= 1) & (codes <= 4), "termination": codes}


def _template_status(problem: BatchProblem, name: str) -> float:
    if name in problem.tied_names:
        return ParameterStatus.TIED.bdmsk
    if name in problem.fixed_names:
        return ParameterStatus.FIXED.bdmsk
    return ParameterStatus.FREE.bdmsk


def _process_context() -> Any:
    """``fork`` where the platform has it safely (Linux): the workers inherit the loaded
    modules and never re-run the user's script, so no ``if __name__ == '__main__'`` guard
    is needed; ``spawn`` elsewhere (macOS, Windows: there the guard is needed)."""
    import multiprocessing

    methods = multiprocessing.get_all_start_methods()
    fork = "fork" in methods and sys.platform.startswith("linux")
    return multiprocessing.get_context("fork" if fork else "spawn")


def run_processes(task: ChunkTask, chunks: Iterator[Chunk], n_datasets: int, *,
                  progress: bool = False, n_workers: int | None = None) -> list[dict]:
    """Fit chunks in a process pool with the vectorised engine (:meth:`ChunkTask.fit`), so
    the results are those of ``'numpy'``, bit for bit; results in chunk order."""
    bar = _progress(n_datasets, progress)
    workers = n_workers or os.cpu_count() or 1
    try:
        with ProcessPoolExecutor(workers, mp_context=_process_context()) as pool:
            futures = [pool.submit(task.fit, *chunk) for chunk in chunks]
            out = []
            for future in futures:
                out.append(future.result())
                if bar is not None:
                    bar.update(len(out[-1]["chisqr"]))
            return out
    finally:
        if bar is not None:
            bar.close()


# ---------------------------------------------------------------------- dask
def _fit_on_worker(task: ChunkTask, data, independent, weights, x0, fixed):
    return task.fit(np.asarray(data), independent, weights, x0, fixed)


def run_dask(task: ChunkTask, chunks: Iterator[Chunk], n_datasets: int, *,
             progress: bool = False, client: Any = None,
             n_workers: int | None = None) -> list[dict]:
    """Fit chunks on the workers of a dask.distributed ``client`` (a LocalCluster if None)."""
    distributed = require("dask.distributed", "dask", "fit_many(backend='dask')")
    own = None
    if client is None:
        cluster = distributed.LocalCluster(n_workers=n_workers or os.cpu_count() or 1,
                                           threads_per_worker=1, processes=True,
                                           dashboard_address=None)
        own = (cluster, distributed.Client(cluster))
        client = own[1]
    bar = _progress(n_datasets, progress)
    try:
        [task_future] = client.scatter([task], broadcast=True, hash=False)
        chunks = list(chunks)
        local = [k for k, chunk in enumerate(chunks) if isinstance(chunk[0], np.ndarray)]
        # one scatter: the blocks go straight to the workers, round robin, not through
        # the scheduler; a dask array block is computed where it lives
        blocks = dict(zip(local, client.scatter([chunks[k][0] for k in local], hash=False)
                          if local else []))
        futures = []
        for k, (data, *rest) in enumerate(chunks):
            data = blocks[k] if k in blocks else client.compute(data)
            futures.append(client.submit(_fit_on_worker, task_future, data, *rest,
                                         pure=False))
        if bar is not None:
            for future in distributed.as_completed(futures):
                bar.update(len(future.result()["chisqr"]))
        return client.gather(futures)
    finally:
        if bar is not None:
            bar.close()
        if own is not None:
            own[1].close()
            own[0].close()


def default_workers(backend: str, n_chunks: int) -> int:
    """Threads or processes to use: the cores, but no more than there are chunks."""
    return max(1, min(os.cpu_count() or 1, n_chunks))


RUNNERS: dict[str, Callable] = {"numpy": run_numpy, "processes": run_processes,
                                "dask": run_dask}

