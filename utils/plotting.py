"""One house style for the curriculum's figures, and the plots several lessons share.

Figures are kept small (default 6.4 x 4 in at 80 dpi inline) so that notebooks committed with their outputs
stay well under 1 MB.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]


def set_style() -> None:
    """Apply the house style: modest size and dpi, constrained layout (no ``tight_layout()`` needed), light grid,
    a colour-blind-aware cycle."""
    mpl.rcParams.update(
        {
            "figure.figsize": (6.4, 4.0),
            "figure.dpi": 80,
            "figure.constrained_layout.use": True,
            "savefig.dpi": 80,
            "font.size": 10,
            "axes.titlesize": 11,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.prop_cycle": mpl.cycler(color=PALETTE),
            "legend.frameon": False,
            "image.cmap": "viridis",
        }
    )


def contour_with_gradients(
    f: Callable[[np.ndarray, np.ndarray], np.ndarray],
    gradient: Callable[[float, float], Sequence[float]],
    points: Sequence[Sequence[float]],
    xlim: tuple[float, float] = (-3.0, 3.0),
    ylim: tuple[float, float] = (-3.0, 3.0),
    levels: int = 15,
    arrow_scale: float = 0.25,
    ax: plt.Axes | None = None,
) -> plt.Axes:
    """Contour plot of ``f(X, Y)`` with the gradient drawn as an arrow at each point.

    Parameters
    ----------
    f : callable
        Vectorised function of two mesh arrays, ``f(X, Y) -> Z``.
    gradient : callable
        ``gradient(x, y) -> (df/dx, df/dy)`` at one point.
    points : sequence of (x, y)
        Where to draw arrows.
    arrow_scale : float
        Arrow length as a multiple of the gradient (the direction is exact; length is scaled for display).

    Returns
    -------
    matplotlib.axes.Axes
    """
    if arrow_scale <= 0:
        raise ValueError(f"arrow_scale must be positive, got {arrow_scale}")
    if ax is None:
        _, ax = plt.subplots(figsize=(5.0, 4.5))
    grid_x, grid_y = np.meshgrid(np.linspace(*xlim, 200), np.linspace(*ylim, 200))
    contours = ax.contour(grid_x, grid_y, f(grid_x, grid_y), levels=levels, cmap="viridis", linewidths=0.8)
    ax.clabel(contours, inline=True, fontsize=7)
    for px, py in points:
        gx, gy = gradient(px, py)
        ax.annotate(
            "",
            xy=(px + arrow_scale * gx, py + arrow_scale * gy),
            xytext=(px, py),
            arrowprops={"arrowstyle": "->", "color": PALETTE[1], "lw": 1.5},
            annotation_clip=False,  # matplotlib would silently drop an arrow whose tip leaves the axes
        )
        ax.plot(px, py, "ko", markersize=4)
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    return ax


def convergence_plot(
    errors: Mapping[str, Sequence[float]],
    ax: plt.Axes | None = None,
    log: bool = True,
    xlabel: str = "iteration",
    ylabel: str = "error",
) -> plt.Axes:
    """Error against iteration for one or more methods, on a log scale by default.

    On a log axis linear convergence is a straight line and quadratic convergence a curve bending down ever
    more steeply, which is how the lessons tell them apart. Non-positive errors are not drawn on a log axis
    (they mean "converged to machine precision"); pass ``log=False`` to see them.
    """
    if not errors:
        raise ValueError("errors must name at least one method")
    if ax is None:
        _, ax = plt.subplots()
    for label, values in errors.items():
        series = np.asarray(values, dtype=float)
        if series.ndim != 1:
            raise ValueError(f"errors[{label!r}] must be a 1-D sequence, got shape {series.shape}")
        if log:
            series = np.where(series > 0, series, np.nan)
        ax.plot(np.arange(series.size), series, marker="o", markersize=3, label=label)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend()
    return ax


def ma_plot(
    mean_expression: np.ndarray,
    log2_fold_change: np.ndarray,
    highlight: np.ndarray | None = None,
    ax: plt.Axes | None = None,
) -> plt.Axes:
    """MA plot: log2 fold change against mean expression (log scale), one point per gene.

    ``highlight`` is a boolean mask of genes to draw in red (e.g. significant ones).
    """
    mean = np.asarray(mean_expression, dtype=float)
    change = np.asarray(log2_fold_change, dtype=float)
    if mean.shape != change.shape or mean.ndim != 1:
        raise ValueError(
            f"mean_expression and log2_fold_change must be 1-D of one length, got {mean.shape} and {change.shape}"
        )
    mask = np.zeros(mean.shape, dtype=bool) if highlight is None else np.asarray(highlight, dtype=bool)
    if mask.shape != mean.shape:
        raise ValueError(f"highlight must have shape {mean.shape}, got {mask.shape}")
    if ax is None:
        _, ax = plt.subplots()
    ax.scatter(mean[~mask], change[~mask], s=3, alpha=0.4, color="0.4", rasterized=True)
    ax.scatter(mean[mask], change[mask], s=4, alpha=0.7, color=PALETTE[1], rasterized=True)
    ax.set_xscale("log")
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xlabel("mean of normalised counts")
    ax.set_ylabel("log$_2$ fold change")
    return ax
