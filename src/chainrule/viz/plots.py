"""Training pictures as PNG files: loss and accuracy per epoch, and a classifier's decision regions in 2-D.

Drawn with matplotlib's Agg canvas directly (no pyplot, no display), so it works headless and in threads.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backend_bases import FigureCanvasBase
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from ..autodiff import Tensor, no_grad
from ..files import printable, write_atomically

DPI = 100
HISTORY_INCHES = (11.0, 4.2)
BOUNDARY_INCHES = (7.0, 5.6)
HISTORY_PIXELS = (int(HISTORY_INCHES[0] * DPI), int(HISTORY_INCHES[1] * DPI))  # (width, height)
BOUNDARY_PIXELS = (int(BOUNDARY_INCHES[0] * DPI), int(BOUNDARY_INCHES[1] * DPI))
TRAIN_COLOUR, TEST_COLOUR = "#1f5fa8", "#d9731a"
CLASS_COLOURS = ["#2166ac", "#b2182b", "#1b7837", "#762a83", "#e08214", "#35978f", "#8c510a", "#4d4d4d",
                 "#c51b7d", "#01665e"]


def save_figure(figure: Figure, path: str | os.PathLike, dpi: int = DPI, format: str = "png") -> Path:
    """Render `figure` (headless, Agg unless it has a canvas) and write it to `path` atomically: whole or not at all."""
    if type(figure.canvas) is FigureCanvasBase:
        FigureCanvasAgg(figure)
    return write_atomically(path, lambda file: figure.savefig(file, dpi=dpi, format=format))


_save = save_figure


def plot_history(history: Any, path: str | os.PathLike, title: str = "Training", loss_name: str = "cost C") -> Path:
    """Two panels, loss and accuracy against epochs, for the training set and (when measured) the test set."""
    title, loss_name = printable(title), printable(loss_name)  # a caller's text: no control character or surrogate
    figure = Figure(figsize=HISTORY_INCHES, layout="constrained")
    loss_axes, accuracy_axes = figure.subplots(1, 2)
    epochs = np.arange(len(history.train_loss))
    loss_axes.plot(epochs, history.train_loss, color=TRAIN_COLOUR, label="train")
    accuracy_axes.plot(epochs, 100 * np.asarray(history.train_acc), color=TRAIN_COLOUR, label="train")
    if history.test_loss:
        loss_axes.plot(epochs[: len(history.test_loss)], history.test_loss, color=TEST_COLOUR, label="test")
        accuracy_axes.plot(epochs[: len(history.test_acc)], 100 * np.asarray(history.test_acc),
                           color=TEST_COLOUR, label="test")
    losses = np.asarray(history.train_loss + history.test_loss, dtype=float)
    if losses.size and np.all(losses > 0) and losses.max() / losses.min() > 20:
        loss_axes.set_yscale("log")
    loss_axes.set(title=f"{loss_name} per epoch", xlabel="epoch", ylabel=loss_name)
    accuracy_title = "accuracy per epoch"
    if history.train_acc:
        accuracy_title += f" (final: train {history.train_acc[-1]:.1%}"
        accuracy_title += f", test {history.test_acc[-1]:.1%})" if history.test_acc else ")"
    accuracy_axes.set(title=accuracy_title, xlabel="epoch", ylabel="accuracy (%)", ylim=(-2, 102))
    for axes in (loss_axes, accuracy_axes):
        axes.grid(alpha=0.3)
        axes.legend(loc="best")
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        if len(epochs) > 1:
            axes.set_xlim(0, epochs[-1])
    figure.suptitle(title)
    return _save(figure, path)


def _grid(X: np.ndarray, steps: int) -> tuple[np.ndarray, np.ndarray]:
    low, high = X.min(axis=0), X.max(axis=0)
    margin = np.maximum(0.15 * (high - low), 0.25)
    xs = np.linspace(low[0] - margin[0], high[0] + margin[0], steps)
    ys = np.linspace(low[1] - margin[1], high[1] + margin[1], steps)
    return np.meshgrid(xs, ys)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -500, 500)))


def plot_decision_boundary(model: Any, X: np.ndarray, y: np.ndarray, path: str | os.PathLike,
                           threshold: float = 0.5, title: str = "Decision regions", steps: int = 250) -> Path:
    """The classes the model assigns over the plane (shaded), its boundary, and the data points on top."""
    title = printable(title)
    X, y = np.asarray(X, dtype=float), np.asarray(y).astype(int)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"plot_decision_boundary: needs 2-D inputs, got X of shape {X.shape}")
    grid_x, grid_y = _grid(X, steps)
    with no_grad():
        output = model(np.column_stack([grid_x.ravel(), grid_y.ravel()]))
    output = np.asarray(output.data if isinstance(output, Tensor) else output)
    figure = Figure(figsize=BOUNDARY_INCHES, layout="constrained")
    axes = figure.subplots()
    output = output.reshape(len(output), -1)
    classes = int(max(y.max() + 1, output.shape[1], 2))
    if output.shape[1] <= 2:
        if output.shape[1] == 2:  # two scores: class 1 wins where z₁ − z₀ > 0 (softmax probability > ½)
            score = _sigmoid(output[:, 1] - output[:, 0])
        elif threshold == 0.0:  # one logit: show σ(z), the probability of class 1
            score = _sigmoid(output[:, 0])
        else:
            score = output[:, 0]
        score = score.reshape(grid_x.shape)
        shading = axes.pcolormesh(grid_x, grid_y, np.clip(score, 0, 1), cmap="RdBu_r", vmin=0, vmax=1,
                                  alpha=0.45, shading="auto", rasterized=True)
        colourbar = figure.colorbar(shading, ax=axes)
        colourbar.set_label("network output: probability of class 1")
        axes.contour(grid_x, grid_y, score, levels=[0.5], colors="black", linewidths=1.5)
    else:
        from matplotlib.colors import ListedColormap

        regions = output.argmax(axis=1).reshape(grid_x.shape)
        palette = ListedColormap(CLASS_COLOURS[:classes])
        axes.pcolormesh(grid_x, grid_y, regions, cmap=palette, vmin=-0.5, vmax=classes - 0.5, alpha=0.3,
                        shading="auto", rasterized=True)
        for k in range(output.shape[1]):  # the edge of region k: where z_k equals the best other score
            others = np.delete(output, k, axis=1).max(axis=1)
            margin = (output[:, k] - others).reshape(grid_x.shape)
            if margin.min() < 0 < margin.max():
                axes.contour(grid_x, grid_y, margin, levels=[0.0], colors="black", linewidths=1.2)
    handles = []
    size = 110 if len(y) <= 50 else 40 if len(y) <= 500 else 16
    for label in range(classes):
        chosen = y == label
        if chosen.any():
            handles.append(axes.scatter(X[chosen, 0], X[chosen, 1], s=size, color=CLASS_COLOURS[label % 10],
                                        edgecolors="black", linewidths=0.7,
                                        label=f"class {label} ({chosen.sum()} points)"))
    handles.append(Line2D([], [], color="black", linewidth=1.5, label="decision boundary"))
    axes.legend(handles=handles, loc="best", framealpha=0.9, fontsize="small")
    axes.set_title(title, fontsize="medium")
    axes.set(xlabel="$x_1$", ylabel="$x_2$")
    axes.set_xlim(grid_x.min(), grid_x.max())
    axes.set_ylim(grid_y.min(), grid_y.max())
    return _save(figure, path)


def plot_sweep_curves(panels: list[tuple[str, list[tuple[str, np.ndarray]]]], path: str | os.PathLike,
                      title: str = "sweep", loss_name: str = "cost C") -> Path:
    """A grid of cost-per-epoch panels on a log axis, one per setting, each with its seeds' curves overlaid.

    `panels` holds (panel title, [(seed label, costs after k = 0..epochs epochs), ...]) per setting.
    """
    title, loss_name = printable(title), printable(loss_name)
    panels = [(printable(name), [(printable(label), costs) for label, costs in curves]) for name, curves in panels]
    columns = min(4, len(panels))
    rows = -(-len(panels) // columns)
    figure = Figure(figsize=(3.6 * columns, 2.8 * rows + 0.6), layout="constrained")
    grid = np.atleast_1d(figure.subplots(rows, columns, sharex=True, squeeze=False)).ravel()
    for axes, (panel_title, curves) in zip(grid, panels):
        for index, (label, costs) in enumerate(curves):
            costs = np.asarray(costs, dtype=float)
            shown = np.where(costs > 0, costs, np.nan)
            axes.plot(np.arange(len(costs)), shown, lw=1, color=CLASS_COLOURS[index % len(CLASS_COLOURS)],
                      label=label)
        axes.set_yscale("log")
        axes.set_title(panel_title, fontsize=9)
        axes.grid(alpha=0.3)
        axes.set_xlabel("epoch", fontsize=8)
        axes.set_ylabel(loss_name, fontsize=8)
    if panels and len(panels[0][1]) <= 12:
        grid[0].legend(fontsize=6, ncol=2, loc="best")
    for axes in grid[len(panels):]:
        axes.set_visible(False)
    figure.suptitle(title)
    return _save(figure, path)
