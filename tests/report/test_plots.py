"""paramfit.report.plots draws and saves PNGs under matplotlib's Agg backend."""

from __future__ import annotations

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

from paramfit.core.parameters.parameters import Parameters  # noqa: E402
from paramfit.fitting.confidence import conf_interval, conf_interval2d  # noqa: E402
from paramfit.fitting.minimizer import minimize  # noqa: E402
from paramfit.report.plots import plot_ci_trace, plot_conf_interval2d, plot_fit  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
X = np.linspace(0.3, 10, 60)
Y = 3 * np.exp(-X / 2.0) + 0.05 * np.random.default_rng(0).standard_normal(X.size)


def model(p):
    return p["amp"].value * np.exp(-X / p["tau"].value)


@pytest.fixture(scope="module")
def fitter():
    params = Parameters()
    params.add_many(("amp", 1.0), ("tau", 1.0))
    return minimize(lambda p: model(p) - Y, params)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


def is_png(path) -> bool:
    return path.read_bytes()[:8] == PNG_MAGIC


def test_plot_conf_interval2d_png(fitter, tmp_path):
    x, y, grid = conf_interval2d(fitter, "amp", "tau", nx=6, ny=4)
    out = tmp_path / "region.png"
    fig, ax = plot_conf_interval2d(x, y, grid, x_name="amp", y_name="tau", filename=out)
    assert is_png(out)
    assert ax.get_xlabel() == "amp" and ax.get_ylabel() == "tau"
    assert len(fig.axes) == 2  # plot and colour bar


def test_plot_conf_interval2d_rejects_transposed_grid(fitter):
    x, y, grid = conf_interval2d(fitter, "amp", "tau", nx=3, ny=2)
    with pytest.raises(ValueError, match="grid has shape"):
        plot_conf_interval2d(x, y, grid.T)


def test_plot_ci_trace_png(fitter, tmp_path):
    _, trace = conf_interval(fitter, sigmas=(0.68,), trace=True)
    out = tmp_path / "trace.png"
    fig, ax = plot_ci_trace(trace, "amp", "tau", filename=out)
    assert is_png(out)
    assert ax.collections[0].get_offsets().shape == (len(trace["amp"]["prob"]), 2)
    with pytest.raises(KeyError, match="no trace"):
        plot_ci_trace(trace, "nope", "tau")


def test_plot_fit_png(fitter, tmp_path):
    init = 1.0 * np.exp(-X / 1.0)
    out = tmp_path / "fit.png"
    fig, (ax, ax_res) = plot_fit(X, Y, init, model(fitter.params), title="decay",
                                 filename=out)
    assert is_png(out)
    assert [line.get_label() for line in ax.get_lines()] == ["data", "initial", "best fit"]
    assert ax_res.get_ylabel() == "residual"


def test_existing_axes_are_used(fitter):
    import matplotlib.pyplot as plt

    x, y, grid = conf_interval2d(fitter, "amp", "tau", nx=3, ny=3)
    fig, ax = plt.subplots()
    got_fig, got_ax = plot_conf_interval2d(x, y, grid, ax=ax)
    assert got_fig is fig and got_ax is ax
