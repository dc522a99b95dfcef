"""fit_many on a dask.distributed LocalCluster equals the numpy backend, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from paramfit.batch import fit_many
from paramfit.models.lineshapes import gaussian

distributed = pytest.importorskip("dask.distributed")
da = pytest.importorskip("dask.array")

X = np.linspace(-5.0, 5.0, 128)


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None, host="127.0.0.1")
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


def make_data(n, seed):
    rng = np.random.default_rng(seed)
    y = gaussian(X, rng.uniform(1, 5, (n, 1)), rng.uniform(-1, 1, (n, 1)),
                 rng.uniform(0.5, 1.5, (n, 1)))
    return y + rng.normal(0, 0.02, y.shape)


def assert_identical(a, b):
    # fit_many promises the same bits on every backend and chunking: exact equality
    for key in ("values", "stderr", "status"):
        for name in a.param_names:
            np.testing.assert_array_equal(getattr(a, key)[name], getattr(b, key)[name])
    for key in ("chisqr", "redchi", "nfev", "niter", "success", "termination"):
        np.testing.assert_array_equal(getattr(a, key), getattr(b, key))


@pytest.mark.slow
def test_dask_backend_equals_numpy(client):
    data = make_data(500, seed=1)
    data[17] = np.nan
    reference = fit_many(gaussian, data, X, chunk_size=64)
    on_cluster = fit_many(gaussian, data, X, chunk_size=64, client=client)
    assert on_cluster.backend == "dask"
    assert_identical(on_cluster, reference)
    assert on_cluster.failed.tolist() == [17]
    lazy = fit_many(gaussian, da.from_array(data, chunks=(100, 128)), X, chunk_size=64,
                    client=client)
    assert_identical(lazy, reference)


@pytest.mark.slow
def test_dask_default_chunks_balanced_and_equal(client):
    """Default chunking on a cluster: a multiple of the workers, scattered, same bits."""
    data = make_data(3000, seed=2)
    reference = fit_many(gaussian, data, X, working_set=3000)
    on_cluster = fit_many(gaussian, data, X, client=client)
    assert_identical(on_cluster, reference)
