"""paramfit.core.compat: the ``np.vecdot`` stand-in used on numpy < 2.0.

It is tested on every numpy (it is importable everywhere), against exactly rounded sums
(``math.fsum``) and against itself one element at a time.
"""

import math

import numpy as np
import pytest

from paramfit.core.compat import _vecdot, vecdot

EPS = np.finfo(float).eps


def test_is_numpys_own_where_numpy_has_it():
    if hasattr(np, "vecdot"):
        assert vecdot is np.vecdot
    else:
        assert vecdot is _vecdot


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_sums_of_products_within_the_rounding_bound(axis):
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(2, 37, 41))
    got = _vecdot(a, b, axis=axis)
    a, b = np.moveaxis(a, axis, -1), np.moveaxis(b, axis, -1)
    assert got.shape == a.shape[:-1]
    n = a.shape[-1]
    for index in np.ndindex(got.shape):
        products = a[index] * b[index]
        exact = math.fsum(products)
        # any summation order of n products: |error| <= n eps sum|a_i b_i| (Higham, 3.1)
        assert abs(got[index] - exact) <= n * EPS * np.abs(products).sum()


def test_each_element_independent_of_the_others_bit_for_bit():
    # what keeps fit_many's results independent of its chunk size
    rng = np.random.default_rng(4)
    rows = rng.normal(size=(2, 40, 257))
    together = _vecdot(rows[0], rows[1], axis=-1)
    alone = [_vecdot(rows[0][i:i + 1], rows[1][i:i + 1], axis=-1)[0] for i in range(40)]
    np.testing.assert_array_equal(together, alone)
    columns = rng.normal(size=(2, 3, 40))
    together = _vecdot(columns[0], columns[1], axis=0)
    alone = [_vecdot(columns[0][:, j:j + 1], columns[1][:, j:j + 1], axis=0)[0]
             for j in range(40)]
    np.testing.assert_array_equal(together, alone)


def test_broadcasts_the_other_axes_and_writes_out():
    rng = np.random.default_rng(5)
    matrices, vectors = rng.normal(size=(3, 3, 8)), rng.normal(size=(1, 3, 8))
    out = np.empty((3, 8))
    assert _vecdot(matrices, vectors, axis=1, out=out) is out
    expected = np.array([[math.fsum(matrices[i, :, k] * vectors[0, :, k]) for k in range(8)]
                         for i in range(3)])
    bound = 3 * EPS * np.abs(matrices * vectors).sum(axis=1)  # three products, as above
    assert np.all(np.abs(out - expected) <= bound)
