"""Figures the lessons and the training command draw; each function returns a matplotlib Figure."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.textpath import TextPath
from sklearn.metrics import auc, roc_curve

from cnn_course.labels import class_indices

COLUMN_INCHES = 1.4
"""Width of one image's column in `plot_image_grid` (inches), unless a word of a title needs more."""


def _text_inches(text: str, size: float) -> float:
    """The drawn width of one line of `text` at `size` points, in inches (5 % above its outline's: hinting)."""
    return 1.05 * TextPath((0, 0), text, size=size).get_extents().width / 72 if text.strip() else 0.0


def _wrapped(title: str, size: float, inches: float) -> str:
    """`title` with each line broken at spaces so that it fits `inches` at `size` points where its words allow.

    A title with mathtext (`$...$`) is left whole: matplotlib parses maths one line at a time.
    """
    if "$" in title:
        return title
    lines = []
    for line in title.split("\n"):
        current = ""
        for word in line.split(" "):
            candidate = f"{current} {word}" if current else word
            if current and _text_inches(candidate, size) > inches:
                lines.append(current)
                candidate = word
            current = candidate
        lines.append(current)
    return "\n".join(lines)


def _fitted_titles(titles: Sequence[str], margin: float) -> tuple[list[str], float, float]:
    """`titles` broken to fit their column; return them, their font size (points) and the column width (inches)."""
    for size in (12.0, 10.5):  # a second line, anywhere, sets every title a size smaller so that rows stay short
        column = COLUMN_INCHES
        for _ in range(2):  # wrap to the column, widen it for a word wider still, wrap again to the wider column
            lines = [_wrapped(str(title), size, column - margin) for title in titles]
            widest = max((_text_inches(line, size) for title in lines for line in title.split("\n")), default=0.0)
            column = max(column, widest + margin)
        if not any("\n" in title for title in lines):
            break
    return lines, size, column


def plot_image_grid(
    images: np.ndarray, titles: Sequence[str] | None = None, ncols: int = 8, title_colors: Sequence[str] | None = None
) -> Figure:
    """Draw images (N, H, W) or (N, H, W, C) in a grid, each with an optional title.

    Titles are set in 12 points, or 10.5 where any title takes more than one line. A title line wider than its
    image's column is broken at spaces; a word wider still widens every column.
    """
    count = len(images)
    nrows = max(1, -(-count // ncols))
    # Titles stay readable (about 12 px) when the grid is shown at the width of a web page or a notebook.
    # 0.2 inch: what tight_layout's margins take of a column.
    lines, title_size, column_inches = (
        _fitted_titles(list(titles), 0.2) if titles is not None else ([], 12.0, COLUMN_INCHES)
    )
    extra_lines = max((title.count("\n") for title in lines), default=0)
    row_inches = 1.7 + 0.25 * extra_lines + 1.1 * (column_inches - COLUMN_INCHES)  # wider images need more room above
    figure, axes = plt.subplots(nrows, ncols, figsize=(column_inches * ncols, row_inches * nrows), squeeze=False)
    for index, axis in enumerate(axes.flat):
        axis.axis("off")
        if index >= count:
            continue
        image = images[index]
        grey = image.ndim == 2 or image.shape[-1] == 1
        axis.imshow(image.squeeze(-1) if image.ndim == 3 and grey else image, cmap="gray_r" if grey else None)
        if lines:
            color = title_colors[index] if title_colors is not None else "black"
            axis.set_title(lines[index], fontsize=title_size, color=color)
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
    """Draw images titled 'true -> predicted' (with confidence), green when right, red when wrong.

    `y_true` and `y_pred`: one class index per image, (N,) or (N, 1), lists, or one-hot rows; anything else
    raises ValueError saying what to pass (see `labels.class_indices`).
    """
    y_true = class_indices(y_true, count=len(images), num_classes=len(class_names), name="y_true")
    y_pred = class_indices(y_pred, count=len(images), num_classes=len(class_names), name="y_pred")
    # Long class names (CIFAR-10) fit above a small image only on two lines.
    arrow = "\n→ " if max(len(str(name)) for name in class_names) > 3 else " → "
    titles = []
    for i, (true, pred) in enumerate(zip(y_true, y_pred)):
        title = f"{class_names[true]}{arrow}{class_names[pred]}"
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


def plot_histories_compared(histories: dict[str, dict[str, list[float]]]) -> Figure:
    """Draw the accuracy of several runs side by side: training dashed, validation solid, one colour a run."""
    figure, axis = plt.subplots(figsize=(7, 3.8))
    for (name, history), color in zip(histories.items(), plt.rcParams["axes.prop_cycle"].by_key()["color"]):
        epochs = np.arange(1, len(history["accuracy"]) + 1)
        axis.plot(epochs, history["accuracy"], "--", color=color, label=f"{name}: training")
        axis.plot(epochs, history["val_accuracy"], "o-", color=color, label=f"{name}: validation")
        axis.set_xticks(epochs)
    axis.set_xlabel("epoch")
    axis.set_ylabel("accuracy")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
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


def plot_roc_curves(y_true: np.ndarray, probabilities: np.ndarray, class_names: Sequence[str]) -> Figure:
    """Draw one one-vs-rest ROC curve per class (scores: that class's probability column), labelled with its AUC.

    `y_true`: one class index per row of `probabilities` (N, classes), shaped (N,) or (N, 1), a list, or one-hot rows.
    """
    probabilities = np.asarray(probabilities)
    y_true = class_indices(y_true, count=len(probabilities), num_classes=len(class_names), name="y_true")
    figure, axis = plt.subplots(figsize=(6.5, 5.5))
    colors = sns.color_palette("tab10", len(class_names))
    for index, (name, color) in enumerate(zip(class_names, colors)):
        false_positive_rate, true_positive_rate, _ = roc_curve(y_true == index, probabilities[:, index])
        area = auc(false_positive_rate, true_positive_rate)
        axis.plot(false_positive_rate, true_positive_rate, color=color, label=f"{name} (AUC {area:.3f})")
    axis.plot([0, 1], [0, 1], "k--", linewidth=1, label="chance (AUC 0.5)")
    axis.set_xlabel("false positive rate (other classes wrongly flagged)")
    axis.set_ylabel("true positive rate (recall)")
    axis.set_title("One-vs-rest ROC curves")
    axis.grid(alpha=0.3)
    axis.legend(loc="lower right", fontsize=8)
    figure.tight_layout()
    return figure


def plot_top_k(
    image: np.ndarray,
    indices: np.ndarray,
    probabilities: np.ndarray,
    class_names: Sequence[str],
    true_class: int | None = None,
) -> Figure:
    """Draw an image beside a bar chart of its top classes (most probable on top); the true class's bar is green."""
    figure, (image_axis, bar_axis) = plt.subplots(1, 2, figsize=(7, 2.4), gridspec_kw={"width_ratios": [1, 2]})
    grey = image.shape[-1] == 1
    image_axis.imshow(image[..., 0] if grey else image, cmap="gray_r" if grey else None)
    image_axis.axis("off")
    if true_class is not None:
        image_axis.set_title(f"true: {class_names[true_class]}", fontsize=10)
    names = [str(class_names[index]) for index in indices]
    colors = ["tab:green" if index == true_class else "tab:blue" for index in indices]
    bars = bar_axis.barh(names[::-1], probabilities[::-1], color=colors[::-1])
    bar_axis.bar_label(bars, labels=[f"{value:.1%}" for value in probabilities[::-1]], padding=3, fontsize=9)
    bar_axis.set_xlim(0, 1.15)
    bar_axis.set_xlabel("probability")
    bar_axis.spines[["top", "right"]].set_visible(False)
    figure.tight_layout()
    return figure


def plot_arms_compared(arms: dict[str, dict]) -> Figure:
    """Compare training runs ("arms") on one figure: validation accuracy against training time, and test accuracy.

    arms: name -> {"val_accuracy": per-epoch list, "epoch_seconds": per-epoch list (s),
    "test_accuracy": float in [0, 1]}. A run resumed from another (fine-tuning after the frozen
    head) lists all its epochs, so its curve starts where the other's ends.
    """
    figure, (curves, bars) = plt.subplots(1, 2, figsize=(11, 3.8), gridspec_kw={"width_ratios": [3, 2]})
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for index, ((name, arm), color) in enumerate(zip(arms.items(), colors)):
        # Earlier arms on top: a resumed run's curve repeats the one it continues, which must stay visible.
        curves.plot(
            np.cumsum(arm["epoch_seconds"]),
            arm["val_accuracy"],
            ".-",
            color=color,
            label=name,
            zorder=len(arms) - index,
        )
    curves.set_xlabel("training time (s)")
    curves.set_ylabel("validation accuracy")
    curves.grid(alpha=0.3)
    curves.legend(fontsize=8, loc="lower right")
    names = list(arms)
    accuracies = [arms[name]["test_accuracy"] for name in names]
    bars.bar(range(len(names)), accuracies, color=colors[: len(names)])
    for index, name in enumerate(names):
        label = f"{accuracies[index]:.1%}\n{sum(arms[name]['epoch_seconds']):.0f} s"
        bars.text(index, accuracies[index] + 0.01, label, ha="center", va="bottom", fontsize=9)
    bars.set_xticks(range(len(names)), [name.replace(" + ", "\n+ ") for name in names], fontsize=8)
    bars.set_ylim(0, min(1.0, max(accuracies) + 0.2))
    bars.set_ylabel("test accuracy")
    bars.grid(alpha=0.3, axis="y")
    figure.tight_layout()
    return figure
