"""Diagrams of the course's concepts, drawn from the operations themselves; each function returns a Figure.

The Concepts page of the site shows them (`python -m tools.site.build concepts` redraws them into
`docs/assets/concepts/`). Where a diagram shows numbers (pooling, batch normalisation, dropout,
what the network sees), they are computed by NumPy or by the Keras layers the lessons use, not
typed in.
"""

from __future__ import annotations

import keras
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

PAD_COLOUR, WINDOW_COLOUR, OUTPUT_COLOUR = "#e8e8e8", "#ff7043", "#3f51b5"


def conv_output_size(size: int, kernel: int, padding: int, stride: int) -> int:
    """Return the output width (pixels) of a convolution over `size` pixels with explicit zero `padding` on each side."""
    return (size + 2 * padding - kernel) // stride + 1


def _grid(axis, origin: tuple[float, float], size: int, colour: str = "white", padding: int = 0) -> None:
    """Draw a `size`×`size` grid of unit cells at `origin` (bottom left), with `padding` grey cells around it."""
    x0, y0 = origin
    full = size + 2 * padding
    for row in range(full):
        for col in range(full):
            padded = not (padding <= row < padding + size and padding <= col < padding + size)
            axis.add_patch(Rectangle((x0 + col, y0 + full - 1 - row), 1, 1, facecolor=PAD_COLOUR if padded else colour, edgecolor="#888", lw=0.8))


def _highlight(axis, origin: tuple[float, float], full: int, row: int, col: int, span: int, colour: str, label: str = "") -> None:
    """Outline the `span`×`span` block whose top-left cell is (`row`, `col`) of a grid of `full` cells drawn at `origin`."""
    x0, y0 = origin
    axis.add_patch(Rectangle((x0 + col, y0 + full - row - span), span, span, facecolor=colour, alpha=0.35, edgecolor=colour, lw=2.5))
    if label:
        axis.text(x0 + col + span / 2, y0 + full - row - span / 2, label, ha="center", va="center", fontsize=12, color="black")


def draw_convolution(size: int = 5, kernel: int = 3, settings: tuple[tuple[int, int], ...] = ((0, 1), (1, 1), (1, 2))) -> Figure:
    """Draw a `kernel`×`kernel` window sliding over a `size`×`size` input, once per (padding, stride) in `settings`.

    Each panel shows the padded input (zeros in grey) with the window at its first two positions,
    and the output grid, whose size is `conv_output_size`, with the two cells they produce.
    """
    figure, axes = plt.subplots(1, len(settings), figsize=(4.6 * len(settings), 4.4))
    for axis, (padding, stride) in zip(np.atleast_1d(axes), settings):
        out = conv_output_size(size, kernel, padding, stride)
        full = size + 2 * padding
        _grid(axis, (0, 0), size, padding=padding)
        _highlight(axis, (0, 0), full, 0, 0, kernel, WINDOW_COLOUR, "1")
        _highlight(axis, (0, 0), full, 0, stride, kernel, OUTPUT_COLOUR, "2")
        right = full + 1.5
        _grid(axis, (right, (full - out) / 2), out)
        _highlight(axis, (right, (full - out) / 2), out, 0, 0, 1, WINDOW_COLOUR, "1")
        _highlight(axis, (right, (full - out) / 2), out, 0, 1, 1, OUTPUT_COLOUR, "2")
        axis.annotate("", xy=(right - 0.2, full / 2), xytext=(full + 0.2, full / 2), arrowprops={"arrowstyle": "->", "lw": 1.5})
        mode = "valid" if padding == 0 else "same" if out == size else f"padding {padding}"
        axis.set_title(f"{kernel}×{kernel} kernel, {mode}, stride {stride}\n{size}×{size} → {out}×{out}", fontsize=13)
        axis.set_xlim(-0.3, right + out + 0.3)
        axis.set_ylim(-0.3, full + 0.3)
        axis.set_aspect("equal")
        axis.axis("off")
    figure.text(0.5, 0.02, "grey: zero padding · window position 1 and 2 (one stride apart) and the output cell each produces",
                ha="center", fontsize=11)
    figure.tight_layout(rect=(0, 0.06, 1, 1))
    return figure


def draw_max_pooling(seed: int = 3) -> Figure:
    """Draw 2×2 max pooling with stride 2 on a 4×4 feature map of random integers: each block keeps its largest value."""
    values = np.random.default_rng(seed).integers(0, 10, size=(4, 4))
    pooled = values.reshape(2, 2, 2, 2).max(axis=(1, 3))
    colours = [["#ffccbc", "#c5cae9"], ["#c8e6c9", "#fff9c4"]]
    figure, axis = plt.subplots(figsize=(7.5, 3.6))
    for row in range(4):
        for col in range(4):
            block = colours[row // 2][col // 2]
            best = values[row, col] == pooled[row // 2, col // 2]
            axis.add_patch(Rectangle((col, 3 - row), 1, 1, facecolor=block, edgecolor="#666"))
            axis.text(col + 0.5, 3.5 - row, str(values[row, col]), ha="center", va="center", fontsize=15, fontweight="bold" if best else "normal")
    for row in range(2):
        for col in range(2):
            axis.add_patch(Rectangle((6 + col, 2 - row), 1, 1, facecolor=colours[row][col], edgecolor="#666"))
            axis.text(6.5 + col, 2.5 - row, str(pooled[row, col]), ha="center", va="center", fontsize=15, fontweight="bold")
    axis.annotate("", xy=(5.8, 2), xytext=(4.2, 2), arrowprops={"arrowstyle": "->", "lw": 1.5})
    axis.text(5, 2.3, "max of\neach 2×2", ha="center", va="bottom", fontsize=11)
    axis.set_title("MaxPooling2D(pool_size=2): 4×4 → 2×2, nothing to learn", fontsize=13)
    axis.set_xlim(-0.2, 8.2)
    axis.set_ylim(-0.2, 4.2)
    axis.set_aspect("equal")
    axis.axis("off")
    figure.tight_layout()
    return figure


def draw_receptive_field(kernel: int = 3, layers: int = 2) -> Figure:
    """Draw how far one output unit sees: `layers` stacked `kernel`×`kernel` convolutions (stride 1, valid).

    The unit of the top layer depends on a `kernel`-wide block of the layer below, which depends on
    a (2·kernel − 1)-wide block of the input, and so on: the receptive field grows by kernel − 1 per layer.
    """
    sizes = [1 + layers * (kernel - 1) + 2]  # the input, with a margin of one pixel around the field
    for _ in range(layers):
        sizes.append(sizes[-1] - (kernel - 1))
    figure, axes = plt.subplots(1, layers + 1, figsize=(3.6 * (layers + 1), 4.0))
    for depth, (axis, size) in enumerate(zip(axes, sizes)):
        field = 1 + (layers - depth) * (kernel - 1)
        _grid(axis, (0, 0), size)
        start = (size - field) // 2
        _highlight(axis, (0, 0), size, start, start, field, WINDOW_COLOUR if depth < layers else OUTPUT_COLOUR)
        name = "input" if depth == 0 else f"after conv {depth}"
        axis.set_title(f"{name}: {size}×{size}\nthe unit sees {field}×{field}", fontsize=13)
        axis.set_xlim(-0.3, sizes[0] + 0.3)
        axis.set_ylim(-0.3, sizes[0] + 0.3)
        axis.set_aspect("equal")
        axis.axis("off")
    figure.suptitle(f"Receptive field of one unit after {layers} {kernel}×{kernel} convolutions", fontsize=14)
    figure.tight_layout(rect=(0, 0, 1, 0.9))
    return figure


def draw_batchnorm_train_vs_inference(seed: int = 0, steps: int = 200) -> Figure:
    """Draw what a Keras BatchNormalization layer outputs for the same batch in training and in inference.

    A batch of 256 values (mean 5, std 2) goes through a fresh layer: with `training=True` it is
    standardised with the batch's own statistics; with `training=False` the fresh layer uses its
    moving averages (mean 0, variance 1) and changes almost nothing; after `steps` training batches
    the moving averages have learned the data's statistics and inference standardises too.
    """
    rng = np.random.default_rng(seed)
    batch = rng.normal(5.0, 2.0, size=(256, 1)).astype("float32")
    layer = keras.layers.BatchNormalization(momentum=0.95)
    fresh = keras.ops.convert_to_numpy(layer(batch, training=False)).ravel()
    training = keras.ops.convert_to_numpy(layer(batch, training=True)).ravel()
    for _ in range(steps):
        layer(rng.normal(5.0, 2.0, size=(256, 1)).astype("float32"), training=True)
    trained = keras.ops.convert_to_numpy(layer(batch, training=False)).ravel()
    panels = [
        ("input batch", batch.ravel()),
        ("training=True\n(batch statistics)", training),
        ("training=False, fresh layer\n(moving mean 0, variance 1)", fresh),
        (f"training=False after {steps} batches\n(moving averages)", trained),
    ]
    figure, axes = plt.subplots(1, 4, figsize=(14, 3.4), sharey=True)
    for axis, (title, values) in zip(axes, panels):
        axis.hist(values, bins=30, range=(-4, 12), color=OUTPUT_COLOUR, alpha=0.8)
        axis.set_title(f"{title}\nmean {values.mean():.2f}, std {values.std():.2f}", fontsize=11)
        axis.tick_params(labelsize=10)
    figure.suptitle("keras.layers.BatchNormalization on the same batch", fontsize=13)
    figure.tight_layout()
    return figure


def draw_dropout_train_vs_inference(rate: float = 0.5, seed: int = 1) -> Figure:
    """Draw a Keras Dropout layer's output on an 8×8 map of ones: at training time zeros and 1/(1−rate), at inference the input."""
    inputs = np.ones((1, 8, 8, 1), dtype="float32")
    layer = keras.layers.Dropout(rate, seed=seed)
    panels = [
        ("input: all ones", inputs),
        (f"training=True (rate {rate})", keras.ops.convert_to_numpy(layer(inputs, training=True))),
        ("training=False", keras.ops.convert_to_numpy(layer(inputs, training=False))),
    ]
    figure, axes = plt.subplots(1, 3, figsize=(10.5, 3.9))
    for axis, (title, values) in zip(axes, panels):
        grid = values[0, :, :, 0]
        axis.imshow(grid, cmap="Blues", vmin=0, vmax=1 / (1 - rate))
        for (row, col), value in np.ndenumerate(grid):
            axis.text(col, row, f"{value:g}", ha="center", va="center", fontsize=9, color="white" if value > 1 else "black")
        axis.set_title(title, fontsize=12)
        axis.set_xticks([])
        axis.set_yticks([])
    figure.suptitle("keras.layers.Dropout: the kept values are scaled so that the mean stays the same", fontsize=13)
    figure.tight_layout()
    return figure


def first_conv_layer(model: keras.Model) -> keras.layers.Layer:
    """Return the first Conv2D layer of `model`; raise ValueError when it has none."""
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            return layer
    raise ValueError(f"the model {model.name} has no Conv2D layer")


def draw_first_layer_filters(model: keras.Model) -> Figure:
    """Draw the kernels of the first Conv2D layer of a model on greyscale images, one small image per filter."""
    kernels = keras.ops.convert_to_numpy(first_conv_layer(model).kernel)  # (k, k, 1, filters)
    count = kernels.shape[-1]
    ncols = 8
    figure, axes = plt.subplots(-(-count // ncols), ncols, figsize=(1.3 * ncols, 1.3 * -(-count // ncols)), squeeze=False)
    for index, axis in enumerate(axes.flat):
        axis.axis("off")
        if index < count:
            weights = kernels[:, :, 0, index]
            limit = np.abs(weights).max()
            axis.imshow(weights, cmap="RdBu_r", vmin=-limit, vmax=limit)
    figure.suptitle(f"The {count} filters of the first layer ({kernels.shape[0]}×{kernels.shape[1]}): red adds, blue subtracts",
                    fontsize=12)
    figure.tight_layout()
    return figure


def draw_feature_maps(model: keras.Model, image: np.ndarray, count: int = 16) -> Figure:
    """Draw `image` (H, W, 1), float in [0, 1], and the first `count` feature maps the model's first Conv2D layer makes of it."""
    layer = first_conv_layer(model)
    probe = keras.Model(model.inputs, layer.output)
    maps = keras.ops.convert_to_numpy(probe(image[np.newaxis], training=False))[0]  # (H', W', filters)
    ncols = 9
    figure, axes = plt.subplots(2, ncols, figsize=(1.35 * ncols, 3.9))
    for axis in axes.flat:
        axis.axis("off")
    axes[0, 0].imshow(image[:, :, 0], cmap="gray_r")
    axes[0, 0].set_title("input", fontsize=12)
    cells = [axis for axis in axes.flat if axis is not axes[0, 0] and axis is not axes[1, 0]]
    for index, axis in enumerate(cells[:count]):
        axis.imshow(maps[:, :, index], cmap="magma")
        axis.set_title(f"filter {index + 1}", fontsize=10)
    figure.suptitle(f"What the first layer sees: {min(count, maps.shape[-1])} of its {maps.shape[-1]} feature maps (after ReLU)",
                    fontsize=12)
    figure.tight_layout()
    return figure
