"""Batch fitting: one model, thousands to millions of datasets.

:func:`fit_many` fits a model to every row of a 2-D data array with a vectorized
Levenberg-Marquardt (all datasets advance in lockstep, each with its own damping,
bounds and convergence tests) and returns a :class:`BatchResult` of per-dataset
arrays.  Backends: ``'numpy'`` (this process), ``'processes'`` (a process pool of
single fits, for models that cannot broadcast) and ``'dask'`` (a dask.distributed
cluster: ``fit_many(..., client=Client('tcp://scheduler:8786'))``).

Examples
--------
>>> import numpy as np
>>> from paramfit.batch import fit_many
>>> from paramfit.models.lineshapes import gaussian
>>> x = np.linspace(-4, 4, 81)
>>> res = fit_many(gaussian, gaussian(x, 1.0, np.array([[0.2], [-0.4]]), 1.1), x)
>>> np.round(res.values['center'], 8).tolist()
[0.2, -0.4]
"""

from paramfit.batch.api import default_chunk_size, fit_many
from paramfit.batch.result import BatchResult, termination_message
from paramfit.core.solvers.batch_levenberg_marquardt import (
           BatchLMSolution,
           batch_levenberg_marquardt,
)

__all__ = ["fit_many", "BatchResult", "BatchLMSolution", "batch_levenberg_marquardt",
           "default_chunk_size", "termination_message"]
