"""Figures the lessons and the training command draw; each function returns a matplotlib Figure."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from matplotlib.figure import Figure


def plot_image_grid(
    images: np.ndarray, titles: Sequence[str] | None = None, ncols: int = 8, title_colors: Sequence[str] | None = None
) -> Figure:
    """Draw images (N, H, W) or (N, H, W, C) in a grid, each with an optional title."""
    count = len(images)
    nrows = max(1, -(-count // ncols))
    figure, axes = plt.subplots(nrows, ncols, figsize=(1.4 * ncols, 1.6 * nrows), squeeze=False)
    for index, axis in enumerate(axes.flat):
        axis.axis("off")
        if index >= count:
            continue
        image = images[index]
        grey = image.ndim == 2 or image.shape[-1] == 1
        axis.imshow(image.squeeze(-1) if image.ndim == 3 and grey else image, cmap="gray_r" if grey else None)
        if titles is not None:
            color = title_colors[index] if title_colors is not None else "black"
            axis.set_title(titles[index], fontsize=9, color=color)
    figure.tight_layout()
    return figure


def plot_predictions(
    images: np.ndarray,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    class_names: Sequence[str],
    confidence: np.ndarray | None = None,
    ncols: int = 8,
) -> Figure:
    """Draw images titled 'true -> predicted' (with confidence), green when right, red when wrong."""
    titles = []
    for i, (true, pred) in enumerate(zip(y_true, y_pred)):
        title = f"{class_names[true]} → {class_names[pred]}"
        if confidence is not None:
            title += f" ({confidence[i]:.0%})"
        titles.append(title)
    colors = ["tab:green" if t == p else "tab:red" for t, p in zip(y_true, y_pred)]
    return plot_image_grid(images, titles, ncols=ncols, title_colors=colors)


def plot_class_counts(counts: np.ndarray, class_names: Sequence[str]) -> Figure:
    """Draw a bar chart of examples per class."""
    figure, axis = plt.subplots(figsize=(7, 3))
    names = [str(name) for name in class_names]
    sns.barplot(x=names, y=counts, color="tab:blue", ax=axis)
    if max(map(len, names)) > 3:
        axis.tick_params(axis="x", rotation=35)
    axis.set_xlabel("class")
    axis.set_ylabel("examples")
    figure.tight_layout()
    return figure


def plot_history(history: dict[str, list[float]]) -> Figure:
    """Draw loss and accuracy per epoch, training against validation, side by side."""
    figure, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    epochs = np.arange(1, len(history["loss"]) + 1)
    for axis, metric in zip(axes, ("loss", "accuracy")):
        axis.plot(epochs, history[metric], "o-", label="training")
        if f"val_{metric}" in history:
            axis.plot(epochs, history[f"val_{metric}"], "o-", label="validation")
        axis.set_xlabel("epoch")
        axis.set_ylabel(metric)
        axis.set_xticks(epochs)
        axis.grid(alpha=0.3)
        axis.legend()
    figure.tight_layout()
    return figure


def plot_confusion_matrix(confusion: np.ndarray, class_names: Sequence[str], title: str = "Confusion matrix") -> Figure:
    """Draw a confusion-matrix heatmap: rows are true classes, columns predicted, counts annotated."""
    size = max(5.0, 0.6 * len(class_names) + 2)
    figure, axis = plt.subplots(figsize=(size, size * 0.85))
    sns.heatmap(
        confusion,
        annot=True,
        fmt="d",
        cmap="Blues",
        cbar=False,
        xticklabels=class_names,
        yticklabels=class_names,
        ax=axis,
    )
    axis.set_xlabel("predicted class")
    axis.set_ylabel("true class")
    axis.set_title(title)
    figure.tight_layout()
    return figure
