"""Plots of confidence regions, profile traces and fits (needs ``paramfit[plot]``).

matplotlib is imported only when a function here is called (through
:func:`paramfit.core.optional.require`), and only its object API is used (``fig``,
``ax`` methods; no current-figure state), so the functions work under any
backend, including the non-interactive Agg one.  Each function returns the
figure and axes it drew on and saves a PNG when given ``filename=``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from paramfit.core.optional import require

__all__ = ["plot_ci_trace", "plot_conf_interval2d", "plot_fit"]


def _pyplot() -> Any:
    return require("matplotlib.pyplot", "plot", "paramfit.report.plots")


def _new_axes(ax: Any | None, **subplot_kws: Any) -> tuple[Any, Any]:
    if ax is not None:
        return ax.figure, ax
    return _pyplot().subplots(**subplot_kws)


def _save(fig: Any, filename: str | os.PathLike | None) -> None:
    if filename is not None:
        fig.savefig(filename, format="png", dpi=fig.dpi)


def plot_conf_interval2d(
    x: np.ndarray,
    y: np.ndarray,
    grid: np.ndarray,
    *,
    x_name: str = "x",
    y_name: str = "y",
    levels: int | Sequence[float] = 11,
    ax: Any | None = None,
    filename: str | os.PathLike | None = None,
) -> tuple[Any, Any]:
    """Filled contours of :func:`paramfit.conf_interval2d`'s probability map.

    Parameters
    ----------
    x : ndarray, shape (nx,)
    y : ndarray, shape (ny,)
    grid : ndarray, shape (ny, nx)
        Probabilities as returned by :func:`paramfit.conf_interval2d`.
    x_name, y_name : str
        Axis labels.
    levels : int or sequence of float, default 11
        Number of evenly spaced levels in [0, 1], or the levels themselves.
    ax : matplotlib Axes, optional
        Draw here instead of on a new figure.
    filename : path, optional
        Save the figure as PNG.

    Returns
    -------
    fig, ax
        The matplotlib Figure and Axes (the colour bar is ``fig.axes[-1]``).

    Examples
    --------
    >>> import numpy as np
    >>> gx, gy = np.linspace(0, 1, 5), np.linspace(0, 2, 4)
    >>> grid = np.hypot(*np.meshgrid(gx - 0.5, gy - 1.0)) / 1.2
    >>> fig, ax = plot_conf_interval2d(gx, gy, grid, x_name='a', y_name='b')
    >>> ax.get_xlabel()
    'a'
    """
    grid = np.asarray(grid, dtype=float)
    if grid.shape != (len(y), len(x)):
        raise ValueError(
            f"grid has shape {grid.shape} but (len(y), len(x)) = {(len(y), len(x))}: pass "
            "the arrays returned by conf_interval2d unchanged"
        )
    if np.isscalar(levels):
        levels = np.linspace(0.0, 1.0, int(levels))
    fig, ax = _new_axes(ax)
    contours = ax.contourf(x, y, grid, levels=levels)
    fig.colorbar(contours, ax=ax, label="probability")
    ax.set_xlabel(x_name)
    ax.set_ylabel(y_name)
    _save(fig, filename)
    return fig, ax


def plot_ci_trace(
    trace: Mapping[str, Mapping[str, np.ndarray]],
    name: str,
    other: str,
    *,
    ax: Any | None = None,
    filename: str | os.PathLike | None = None,
    **scatter_kws: Any,
) -> tuple[Any, Any]:
    """Profile trace: how ``other`` follows ``name`` when ``name`` is held (seed 000 §4.3).

    Parameters
    ----------
    trace : dict
        The trace returned by ``conf_interval(..., trace=True)``.
    name : str
        The profiled (held) parameter, on the x axis.
    other : str
        The re-optimised parameter shown on the y axis.
    ax : matplotlib Axes, optional
        Draw here instead of on a new figure.
    filename : path, optional
        Save the figure as PNG.
    **scatter_kws
        Passed to ``ax.scatter`` (default ``s=30``).

    Returns
    -------
    fig, ax
        Points coloured by probability, with a colour bar.

    Examples
    --------
    >>> import numpy as np
    >>> trace = {'a': {'a': np.array([1.0, 2.0, 3.0]), 'b': np.array([0.5, 0.4, 0.2]),
    ...                'prob': np.array([0.9, 0.0, 0.9])}}
    >>> fig, ax = plot_ci_trace(trace, 'a', 'b')
    >>> ax.get_ylabel()
    'b'
    """
    if name not in trace:
        raise KeyError(f"no trace for {name!r}; traced parameters are {list(trace)}")
    table = trace[name]
    if other not in table:
        raise KeyError(f"the trace of {name!r} has no {other!r}; it has {list(table)}")
    fig, ax = _new_axes(ax)
    scatter_kws.setdefault("s", 30)
    points = ax.scatter(table[name], table[other], c=table["prob"], vmin=0.0, vmax=1.0,
                        **scatter_kws)
    fig.colorbar(points, ax=ax, label="probability")
    ax.set_xlabel(name)
    ax.set_ylabel(other)
    _save(fig, filename)
    return fig, ax


def plot_fit(
    x: np.ndarray,
    data: np.ndarray,
    init: np.ndarray | None,
    best: np.ndarray,
    *,
    title: str | None = None,
    xlabel: str = "x",
    ylabel: str = "y",
    filename: str | os.PathLike | None = None,
) -> tuple[Any, tuple[Any, Any]]:
    """Data, initial and best-fit models, and a residual panel below.

    Parameters
    ----------
    x, data : ndarray, shape (n,)
        Independent variable and data.
    init : ndarray, shape (n,) or None
        Model at the start values (not drawn when None).
    best : ndarray, shape (n,)
        Model at the best fit; the residual panel shows ``data - best``.
    title, xlabel, ylabel : str
        Labels.
    filename : path, optional
        Save the figure as PNG.

    Returns
    -------
    fig, (ax_fit, ax_residual)

    Examples
    --------
    >>> import numpy as np
    >>> x = np.linspace(0, 1, 20)
    >>> fig, (ax, ax_res) = plot_fit(x, 2 * x + 0.1, x, 2 * x)
    >>> len(ax.get_lines())
    3
    """
    fig, (ax, ax_res) = _pyplot().subplots(
        2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    ax.plot(x, data, "o", markersize=3, label="data")
    if init is not None:
        ax.plot(x, init, "--", label="initial")
    ax.plot(x, best, "-", label="best fit")
    ax.set_ylabel(ylabel)
    ax.legend()
    if title:
        ax.set_title(title)
    ax_res.axhline(0.0, color="0.5", linewidth=0.8)
    ax_res.plot(x, np.asarray(data) - np.asarray(best), "o", markersize=3)
    ax_res.set_xlabel(xlabel)
    ax_res.set_ylabel("residual")
    _save(fig, filename)
    return fig, (ax, ax_res)
