"""fit_many / BatchResult: agreement with one-at-a-time fits, chunking, backends, errors."""

from __future__ import annotations

import math
import subprocess
import sys
import warnings

import numpy as np
import pytest
from _reference import STDERR_RTOL

from paramfit.batch import BatchResult, fit_many
from paramfit.core.batch_linalg import cholesky_solve
from paramfit.core.exceptions import BoundsError, BoundsWarning, FitError, ParameterError
from paramfit.models.lineshapes import gaussian
from paramfit.models.model import Model

NAMES = ("amplitude", "center", "sigma")
X = np.linspace(-5.0, 5.0, 128)
EPS = float(np.finfo(float).eps)


def flat_stderrs(ndata, nfree):
    """How far (in standard errors) from the minimum chisqr is flat to rounding.

    Moving ``dx`` from the minimum raises chisqr by ``(dx/stderr)**2 chisqr/nfree``; the
    rounding of a sum of m squares is at most ``m eps chisqr``, so no test on chisqr (the
    batch fit's ftol) can place the optimum better than ``sqrt(m eps nfree)`` stderr:
    1.9e-6 for 128 points (measured up to 3e-7 between batch and single fits).
    """
    return math.sqrt(ndata * EPS * nfree)


#: ... for the datasets of X with the three Gaussian parameters varied
FLAT = flat_stderrs(X.size, X.size - 3)


def make_data(n, seed, noise=0.02, x=X):
    rng = np.random.default_rng(seed)
    amp = rng.uniform(1.0, 5.0, n)
    cen = rng.uniform(-1.0, 1.0, n)
    sig = rng.uniform(0.5, 1.5, n)
    y = gaussian(x, amp[:, None], cen[:, None], sig[:, None])
    return y + rng.normal(0.0, noise, y.shape)


def assert_agrees(batch, i, single, names=NAMES):
    """Batch dataset ``i`` against a single ModelResult.

    Values: the batch fit stops on chisqr (ftol=1e-15, no final Gauss-Newton step), so
    it is only as close to the minimum as chisqr can tell: :func:`flat_stderrs` standard
    errors (1.9e-6), plus 1e-8 relative.  Standard errors: :data:`STDERR_RTOL` (both
    from the covariance at points that close; measured 9e-9).  chisqr is stationary: the
    values' distance changes it by ~(2e-6)**2 / nfree, below the rounding of the sums
    (measured 2e-15), so 1e-10.
    """
    allowed = flat_stderrs(single.ndata, single.nfree)
    for name in names:
        par = single.params[name]
        err = par.stderr if par.stderr is not None else 0.0
        np.testing.assert_allclose(batch.values[name][i], par.value, rtol=1e-8,
                                   atol=allowed * err, err_msg=f"{name} of dataset {i}")
        if par.stderr is None:
            assert np.isnan(batch.stderr[name][i]), (name, i)
        else:
            np.testing.assert_allclose(batch.stderr[name][i], par.stderr, rtol=STDERR_RTOL,
                                       err_msg=f"stderr of {name}, dataset {i}")
        assert batch.status[name][i] == par.status.bdmsk, (name, i)
    np.testing.assert_allclose(batch.chisqr[i], single.chisqr, rtol=1e-10)
    np.testing.assert_allclose(batch.redchi[i], single.redchi, rtol=1e-10)
    assert bool(batch.success[i]) == bool(single.success)


def test_agrees_with_single_fits_bounds_and_failures():
    n = 200
    data = make_data(n, seed=1)
    nan_rows = [3, 77, 150]
    data[nan_rows, 10] = np.nan
    model = Model(gaussian)
    params = model.make_params(amplitude=2.0, center=0.0, sigma=1.0)
    params["sigma"].min = 0.9          # about half the datasets end on this bound
    params["center"].max = 0.8
    res = fit_many(model, data, X, params=params, starts="params")
    assert isinstance(res, BatchResult) and len(res) == n
    assert sorted(res.failed.tolist()) == nan_rows
    assert (res.termination[nan_rows] == 0).all()
    at_bound = 0
    for i in range(n):
        if i in nan_rows:
            with pytest.raises(FitError):
                model.fit(data[i], params, x=X)
            continue
        single = model.fit(data[i], params, x=X)
        assert_agrees(res, i, single)
        at_bound += res.status["sigma"][i] == -3 or res.status["center"][i] == -1
    assert 20 < at_bound < n - 20


def test_agrees_with_single_fits_from_guess():
    data = make_data(60, seed=2)
    model = Model(gaussian)
    res = fit_many(model, data, X, starts={"amplitude": np.full(60, 2.0),
                                           "center": np.zeros(60), "sigma": np.ones(60)})
    for i in range(60):
        params = res.source["template"].copy()
        params["amplitude"].value, params["center"].value, params["sigma"].value = 2, 0, 1
        assert_agrees(res, i, model.fit(data[i], params, x=X))


def test_tied_and_fixed_parameters():
    n = 40
    data = make_data(n, seed=3)
    model = Model(gaussian)
    params = model.make_params(amplitude=2.0, center=0.0, sigma=1.0)
    params.add("width", value=2.0, min=0.2)
    params["sigma"].expr = "width / 2"
    params["center"].vary = False
    centers = np.linspace(-0.5, 0.5, n)
    res = fit_many(model, data, X, params=params,
                   starts={"center": centers, "amplitude": np.full(n, 2.0)})
    assert res.var_names == ["amplitude", "width"]
    np.testing.assert_array_equal(res.values["center"], centers)  # fixed: the given values
    assert (res.status["center"] == 0).all() and (res.status["sigma"] == 0).all()
    for i in range(n):
        p = params.copy()
        p["center"].value = centers[i]
        single = model.fit(data[i], p, x=X)
        assert_agrees(res, i, single, names=("amplitude", "width", "sigma", "center"))


def test_per_dataset_weights():
    n = 30
    data = make_data(n, seed=4)
    rng = np.random.default_rng(5)
    weights = rng.uniform(0.5, 2.0, data.shape)
    model = Model(gaussian)
    params = model.make_params(amplitude=2.0, center=0.0, sigma=1.0)
    res = fit_many(model, data, X, params=params, weights=weights, starts="params")
    for i in range(n):
        assert_agrees(res, i, model.fit(data[i], params, x=X, weights=weights[i]))
    shared = fit_many(model, data, X, params=params, weights=weights[0], starts="params")
    assert_agrees(shared, 7, model.fit(data[7], params, x=X, weights=weights[0]))


def test_per_dataset_x_and_plain_function():
    n = 12
    xs = np.stack([np.linspace(-5 + 0.1 * i, 5 + 0.1 * i, 128) for i in range(n)])
    rng = np.random.default_rng(6)
    data = gaussian(xs, 2.0, rng.uniform(-1, 1, (n, 1)), 1.0) + rng.normal(0, 0.01, xs.shape)
    res = fit_many(gaussian, data, xs)
    model = Model(gaussian)
    for i in range(n):
        start = res.params(i)
        single = model.fit(data[i], start, x=xs[i])
        assert_agrees(res, i, single)


def generic_gaussian(x, amplitude=1.0, center=0.0, sigma=1.0):
    """A Gaussian written by a user: no analytic derivatives, scalar-safe numpy."""
    return amplitude / (np.sqrt(2 * np.pi) * sigma) * np.exp(-((x - center) ** 2)
                                                              / (2 * sigma ** 2))


def test_generic_model_finite_differences_agree_with_fused_kernel():
    data = make_data(50, seed=7)
    start = {"amplitude": np.full(50, 2.0), "center": np.zeros(50), "sigma": np.ones(50)}
    fused = fit_many(gaussian, data, X, starts=start)
    generic = fit_many(Model(generic_gaussian), data, X, starts=start)
    for name in NAMES:  # both stop on chisqr: as in assert_agrees
        diff = np.abs(generic.values[name] - fused.values[name])
        assert np.all(diff <= 1e-8 * np.abs(fused.values[name]) + FLAT * fused.stderr[name])
        np.testing.assert_allclose(generic.stderr[name], fused.stderr[name], rtol=STDERR_RTOL)


def test_chunked_equals_unchunked_bit_for_bit():
    data = make_data(300, seed=8)
    data[5] = np.nan
    params = Model(gaussian).make_params(amplitude=2.0, center=0.0, sigma=1.0)
    params["sigma"].min = 0.8
    whole = fit_many(gaussian, data, X, params=params, chunk_size=300)
    # fit_many promises results independent of chunking, bit for bit: exact equality
    for size in (1, 7, 64):
        part = fit_many(gaussian, data, X, params=params, chunk_size=size)
        assert_identical(part, whole)
    threaded = fit_many(gaussian, data, X, params=params, chunk_size=50, n_workers=2)
    assert_identical(threaded, whole)


def assert_identical(a, b):
    """Every per-dataset array of two BatchResults equal bit for bit (NaN == NaN)."""
    assert a.param_names == b.param_names and len(a) == len(b)
    for key in ("values", "stderr", "status"):
        for name in a.param_names:
            np.testing.assert_array_equal(getattr(a, key)[name], getattr(b, key)[name],
                                          err_msg=f"{key}[{name}]")
    for key in ("chisqr", "redchi", "nfev", "niter", "success", "termination"):
        np.testing.assert_array_equal(getattr(a, key), getattr(b, key), err_msg=key)


def test_processes_backend_equal():
    n = 16
    data = make_data(n, seed=9)
    data[4, 0] = np.nan
    model = Model(gaussian)
    params = model.make_params(amplitude=2.0, center=0.0, sigma=1.0)
    proc = fit_many(model, data, X, params=params, starts="params", backend="processes",
                    chunk_size=5, n_workers=2)
    vec = fit_many(model, data, X, params=params, starts="params")
    assert proc.failed.tolist() == vec.failed.tolist() == [4]
    for name in NAMES:      # the same vectorised engine in other processes: exact
        np.testing.assert_array_equal(proc.values[name], vec.values[name])
        np.testing.assert_array_equal(proc.stderr[name], vec.stderr[name])
    np.testing.assert_array_equal(proc.nfev, vec.nfev)
    np.testing.assert_array_equal(proc.termination, vec.termination)
    for i in range(n):
        if i == 4:
            continue
        assert_agrees(vec, i, model.fit(data[i], params, x=X))


def test_processes_backend_needs_no_main_guard(tmp_path):
    # a script without ``if __name__ == '__main__'``: the workers must not re-run it
    # (forked on Linux); with spawn it would fail with BrokenProcessPool
    if not sys.platform.startswith("linux"):
        pytest.skip("workers are spawned (guard needed) off Linux")
    script = tmp_path / "unguarded.py"
    script.write_text(
        "import numpy as np\n"
        "from paramfit.batch import fit_many\n"
        "from paramfit.models.lineshapes import gaussian\n"
        "x = np.linspace(-5, 5, 64)\n"
        "y = gaussian(x, 2.0, np.linspace(-1, 1, 40)[:, None], 1.0)\n"
        "r = fit_many(gaussian, y, x, backend='processes', n_workers=2, chunk_size=10)\n"
        "print('OK', int(r.success.sum()))\n")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["OK", "40"]


def test_result_dataframe_and_messages():
    data = make_data(5, seed=10)
    data[2, 3] = np.inf
    res = fit_many(Model(gaussian), data, X)
    single = res.result(0)  # refitted from the batch optimum: as in assert_agrees
    np.testing.assert_allclose(single.params["center"].value, res.values["center"][0],
                               rtol=1e-8, atol=FLAT * res.stderr["center"][0])
    assert res.failed.tolist() == [2]
    assert "improper" in res.message(2)
    pytest.importorskip("pandas")
    frame = res.to_dataframe()
    assert len(frame) == 5 and "center_stderr" in frame and "termination" in frame
    # statuses and terminations by name, a reason for the failed dataset only
    assert frame["termination"][2] == "IMPROPER_INPUT"
    assert set(frame["termination"].drop(2)) <= {"FTOL", "XTOL", "BOTH", "GTOL"}
    assert frame["reason"][2].startswith(res.message(2)) and "non-finite" in frame["reason"][2]
    assert (frame["reason"].drop(2) == "").all()
    assert set(frame["center_status"].drop(2)) == {"free"}


def test_start_outside_bounds_single_fit_rule():
    # a dataset's start outside the bounds is moved to the nearest bound with a warning,
    # as in a single fit (Parameters.check_bounds): the same fit as a start at the bound,
    # bit for bit; infeasible='raise' raises instead; the template's own value likewise
    data = make_data(3, seed=30)
    params = Model(gaussian).make_params(amplitude=2.0, center=0.0, sigma=1.0)
    params["sigma"].min, params["sigma"].max = 0.1, 2.0
    outside = {"sigma": np.array([0.5, 5.0, 1.0])}
    at_bound = {"sigma": np.array([0.5, 2.0, 1.0])}
    with pytest.warns(BoundsWarning, match=r"1 dataset\(s\) \(the first: 1\).*sigma"):
        moved = fit_many(gaussian, data, X, params=params, starts=outside)
    direct = fit_many(gaussian, data, X, params=params, starts=at_bound)
    assert moved.success.all()
    for name in NAMES:
        np.testing.assert_array_equal(moved.values[name], direct.values[name])
    with pytest.raises(BoundsError, match="first: 1"):
        fit_many(gaussian, data, X, params=params, starts=outside, infeasible="raise")
    # an infeasible template: a value is clipped when assigned (lmfit 1.3), bounds set
    # after it do not move it
    params["sigma"].max = np.inf
    params["sigma"].value = 5.0
    params["sigma"].max = 2.0
    with pytest.raises(BoundsError):
        fit_many(gaussian, data, X, params=params, starts="params", infeasible="raise")


def test_guess_vectorized_matches_model_guess():
    models = pytest.importorskip("paramfit.models.builtin")
    data = make_data(20, seed=11)
    model = models.GaussianModel()
    res = fit_many(model, data, X)
    for i in range(20):
        single = model.fit(data[i], model.guess(data[i], x=X), x=X)
        assert_agrees(res, i, single)


def test_default_starts_are_model_guess_of_each_dataset():
    # fit_many's default starts for a built-in peak model are Model.guess of each dataset
    # (one guess algorithm for 1 or B rows): the same fit as starts given explicitly from
    # a Python loop of Model.guess, bit for bit, whatever the chunking
    models = pytest.importorskip("paramfit.models.builtin")
    data = make_data(30, seed=21)
    model = models.LorentzianModel()
    looped = [model.guess(row, x=X) for row in data]
    starts = {n: np.array([p[n].value for p in looped]) for n in NAMES}
    given = fit_many(model, data, x=X, starts=starts)
    default = fit_many(model, data, x=X, chunk_size=7)
    for name in NAMES:
        np.testing.assert_array_equal(default.values[name], given.values[name])
    np.testing.assert_array_equal(default.chisqr, given.chisqr)


def test_bad_input_clear_errors():
    data = make_data(4, seed=12)
    with pytest.raises(FitError, match="ragged"):
        fit_many(gaussian, [[1.0, 2.0, 3.0], [1.0, 2.0]], np.arange(3.0))
    with pytest.raises(FitError, match="shape"):
        fit_many(gaussian, data, X[:-1])
    with pytest.raises(FitError, match="n_datasets = 0"):
        fit_many(gaussian, np.empty((0, 128)), X)
    with pytest.raises(ParameterError, match="unknown parameter 'centre'"):
        fit_many(gaussian, data, X, starts={"centre": np.zeros(4)})
    with pytest.raises(FitError, match="one start per dataset"):
        fit_many(gaussian, data, X, starts={"center": np.zeros(3)})
    with pytest.raises(FitError, match="weights"):
        fit_many(gaussian, data, X, weights=np.ones(5))
    with pytest.raises(FitError, match="backend"):
        fit_many(gaussian, data, X, backend="gpu")
    with pytest.raises(FitError, match="unknown keyword"):
        fit_many(gaussian, data, X, tolerance=1e-3)
    with pytest.raises(FitError, match="2-D"):
        fit_many(gaussian, data[0], X)


def test_cholesky_solve_matches_numpy():
    rng = np.random.default_rng(13)
    a = rng.normal(size=(50, 4, 4))
    spd = a @ a.transpose(0, 2, 1) + 0.1 * np.eye(4)
    rhs = rng.normal(size=(50, 4))
    y, ok = cholesky_solve(spd.transpose(1, 2, 0), rhs.T)
    assert ok.all()
    # both backward stable: the solutions differ by ~cond(spd) eps relative; the 50
    # random matrices here have cond < 1e4 (asserted), so 1e-10 covers 1e-12
    assert np.linalg.cond(spd).max() < 1e4
    np.testing.assert_allclose(y.T, np.linalg.solve(spd, rhs[..., None])[..., 0], rtol=1e-10)


def test_starts_outside_bounds_warn():
    data = make_data(3, seed=14)
    params = Model(gaussian).make_params(amplitude=2.0, center=0.0, sigma=1.0)
    params["sigma"].min = 0.5
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = fit_many(gaussian, data, X, params=params,
                       starts={"sigma": np.array([0.1, 1.0, 1.0])})
    assert any("outside the bounds" in str(w.message) for w in caught)
    assert res.success.all()


def test_refilled_working_set_equals_whole_bit_for_bit():
    """Slots refilled as datasets finish (per-dataset x, weights and fixed values loaded
    with them) give the same bits as every dataset in one working set."""
    n = 300
    rng = np.random.default_rng(15)
    xs = X + rng.uniform(-0.05, 0.05, (n, 1))
    data = make_data(n, seed=15, x=xs)
    data[[0, 9, 200]] = np.nan
    weights = rng.uniform(0.5, 2.0, data.shape)
    model = Model(gaussian)
    params = model.make_params(amplitude=2.0, center=0.0, sigma=1.0)
    params["sigma"].min = 0.8
    params["center"].vary = False
    starts = {"center": rng.uniform(-1.0, 1.0, n), "amplitude": np.full(n, 2.0),
              "sigma": np.ones(n)}
    whole = fit_many(model, data, xs, params=params, weights=weights, starts=starts,
                     working_set=n)
    assert sorted(whole.failed.tolist()) == [0, 9, 200]
    for size, chunk in ((1, 300), (7, 300), (64, 100), (200, 300)):
        refilled = fit_many(model, data, xs, params=params, weights=weights, starts=starts,
                            working_set=size, chunk_size=chunk)
        assert_identical(refilled, whole)
    plain = make_data(500, seed=16)
    assert_identical(fit_many(gaussian, plain, X, working_set=37, n_workers=2),
                     fit_many(gaussian, plain, X, working_set=500))


def test_gaussian_kernel_matches_jacobian():
    from paramfit.batch.kernels import GaussianKernel
    from paramfit.models.lineshapes import gaussian_value_and_jacobian

    rng = np.random.default_rng(17)
    b = 50
    values = np.stack([rng.uniform(1, 5, b), rng.uniform(-1, 1, b), rng.uniform(0.3, 2, b)])
    data = make_data(b, seed=17)
    weights = rng.uniform(0.5, 2.0, data.shape)
    for w in (None, weights):
        chisq, jtj, jtr = GaussianKernel(X.size, block=16)(values, X, data, w)
        value, jac = gaussian_value_and_jacobian(X, *(v[:, None] for v in values))
        jac = np.stack(jac)
        resid = value - data
        if w is not None:
            resid, jac = resid * w, jac * w
        # sums of 128 products in other orders, the kernel's built from moments: chisqr
        # and J^T J are sums of squares (rounding ~sqrt(m) eps = 2.5e-15 relative); J^T r
        # cancels (r changes sign), so its entries are compared to 1e-13 of the largest
        np.testing.assert_allclose(chisq, (resid ** 2).sum(1), rtol=1e-13)
        np.testing.assert_allclose(jtj, np.einsum("pbn,qbn->pqb", jac, jac), rtol=1e-12,
                                   atol=1e-14 * np.abs(jtj).max())
        np.testing.assert_allclose(jtr, np.einsum("pbn,bn->pb", jac, resid), rtol=1e-10,
                                   atol=1e-13 * np.abs(jtr).max())


def test_default_chunk_size_balanced_and_bounded():
    from paramfit.batch import default_chunk_size

    assert default_chunk_size(128, 3, 2000, 2) == 1000
    largest = default_chunk_size(128, 3)
    for n, workers in ((100_000, 1), (100_000, 2), (1_000_000, 2), (7, 3)):
        size = default_chunk_size(128, 3, n, workers)
        chunks = -(-n // size)
        assert size <= largest and (chunks % workers == 0 or n < workers)


def gaussian_on_offset(x, amplitude=1.0, center=0.0, sigma=1.0, offset=0.0):
    """Four parameters: the solver's per-dataset sums run over four terms."""
    return gaussian(x, amplitude, center, sigma) + offset


def test_chunking_bit_for_bit_with_four_parameters_and_odd_points():
    """Per-dataset sums over the parameters (step norms, p^T J^T J p, the 3x3 and FxF
    solves) and over the points (the Gaussian kernel's dot products) do not depend on
    how many datasets are computed together.  Before, a BLAS dot over the parameter
    axis had the batch size as its stride: with four parameters a dataset fitted alone
    took another OpenBLAS kernel (unit stride) than in a batch, and its last bits, nfev
    and sometimes its termination changed; odd N put rows of the kernel's buffers
    off 16-byte boundaries, which some OpenBLAS kernels (OPENBLAS_CORETYPE=Prescott) sum
    in another order."""
    x = np.linspace(-5.0, 5.0, 101)
    n = 200
    data = make_data(n, seed=18, x=x) + 0.3
    four = Model(gaussian_on_offset).make_params(amplitude=2.0, center=0.0, sigma=1.0,
                                                 offset=0.0)
    three = Model(gaussian).make_params(amplitude=2.0, center=0.3, sigma=1.0)
    three["sigma"].min = 0.8
    for model, params in ((gaussian_on_offset, four), (gaussian, three)):
        whole = fit_many(model, data, x, params=params, chunk_size=n)
        for size in (1, 7):
            assert_identical(fit_many(model, data, x, params=params, chunk_size=size), whole)
        assert_identical(fit_many(model, data, x, params=params, working_set=5), whole)


def test_progress_bar_moves_per_chunk(monkeypatch):
    # progress=True cuts the default chunks so the bar advances several times, and the
    # results are those without a bar, bit for bit (chunking never changes them)
    import paramfit.batch.backends as backends

    steps = []

    class Bar:
        def update(self, k):
            steps.append(k)

        def close(self):
            pass

    monkeypatch.setattr(backends, "_progress", lambda total, enabled: Bar() if enabled
                        else None)
    data = make_data(3000, seed=40)
    with_bar = fit_many(gaussian, data, X, progress=True)
    plain = fit_many(gaussian, data, X)
    assert len(steps) >= 3 and sum(steps) == 3000
    for name in NAMES:
        np.testing.assert_array_equal(with_bar.values[name], plain.values[name])
