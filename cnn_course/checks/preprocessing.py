"""Checks for the data exercises: class counts, scaling, channel axis, one-hot labels, validation split."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from cnn_course.checks.arrays import expect_array, expect_integer_dtype, expect_shape
from cnn_course.checks.calls import call_with_details
from cnn_course.checks.draws import generator
from cnn_course.checks.feedback import CheckFailed


def _labels(rng: np.random.Generator, size: int = 200, num_classes: int = 10, missing: int | None = None) -> np.ndarray:
    labels = rng.integers(0, num_classes, size).astype(np.uint8)
    if missing is not None:
        labels[labels == missing] = 0
    return labels


def check_count_per_class(count_per_class: Callable) -> None:
    """count_per_class(labels, num_classes) returns the number of examples of each class."""
    name = "count_per_class"
    hint = "a class with no examples still needs its 0: np.bincount(labels, minlength=num_classes)."
    # A class missing in the middle, the last classes missing (np.bincount without minlength stops
    # early), and another num_classes (a fixed 10 ignores the argument).
    rng = generator(name)
    cases = (
        (_labels(rng, missing=int(rng.integers(1, 9))), 10),
        (_labels(rng, num_classes=int(rng.integers(5, 9))), 10),
        (_labels(rng, size=int(rng.integers(20, 40)), num_classes=4), int(rng.integers(6, 9))),
    )
    for labels, num_classes in cases:
        counts = expect_array(name, count_per_class(labels, num_classes=num_classes))
        if counts.shape != (num_classes,):
            found = counts.shape[0] if counts.ndim == 1 else counts.shape
            raise CheckFailed(
                name,
                f"for labels whose largest value is {labels.max()} it returned {found} counts; "
                f"num_classes={num_classes} asks for {num_classes}.",
                "use the num_classes argument, not a fixed number of classes: "
                "np.bincount(labels, minlength=num_classes)."
                if counts.ndim == 1 and counts.shape[0] > num_classes
                else hint,
            )
        expect_integer_dtype(name, counts, "counts are whole numbers: np.bincount returns integers.")
        expected = np.bincount(labels, minlength=num_classes)
        if not np.array_equal(counts, expected):
            raise CheckFailed(
                name,
                f"counts {counts.tolist()} differ from the expected {expected.tolist()}.",
                "entry c counts the labels equal to c: np.bincount(labels, minlength=num_classes).",
            )


def check_scale_images(scale_images: Callable) -> None:
    """scale_images(images) returns float32 pixels in [0, 1], leaving its input untouched, for images of any shape."""
    name = "scale_images"
    rng = generator(name)
    images = rng.integers(0, 256, (5, 28, 28), dtype=np.uint8)
    images[0, 0, 0], images[0, 0, 1] = 0, 255
    images[1] //= 3  # a dark image: its own maximum is not 255
    original = images.copy()
    call = call_with_details(scale_images, images)
    scaled = expect_array(name, call.value, "an array of scaled images")
    if 0 in call.changed_arguments:
        raise CheckFailed(
            name, "it changed the array it was given.", "return a new array instead of modifying the input in place."
        )
    _expect_scaled(name, scaled, original)
    colour = rng.integers(0, 256, (2, *rng.integers(3, 9, 2), 3), dtype=np.uint8)
    _expect_scaled(name, expect_array(name, scale_images(colour.copy()), "an array of scaled images"), colour)


def _expect_scaled(name: str, scaled: np.ndarray, original: np.ndarray) -> None:
    """Fail unless `scaled` is float32 original / 255 with the original's shape."""
    expect_shape(
        name, scaled, original.shape, "scaling changes values, not the shape (any shape: do not assume 28x28 images)."
    )
    if scaled.max() > 1.0 + 1e-6:
        raise CheckFailed(
            name,
            f"values reach {scaled.max():g}; expected at most 1.",
            "the pixels are 0-255: divide by 255 so the network sees inputs in [0, 1].",
        )
    if np.issubdtype(scaled.dtype, np.integer) or scaled.dtype == bool:
        raise CheckFailed(
            name,
            f"the result has integer dtype {scaled.dtype}, so the pixels can only be 0 or 1.",
            "convert to float first: images.astype('float32') / 255 (integer division // truncates).",
        )
    if scaled.dtype != np.float32:
        raise CheckFailed(
            name,
            f"the result has dtype {scaled.dtype}; expected float32.",
            "Keras computes in float32; float64 doubles the memory for nothing: use astype('float32').",
        )
    if scaled.min() < -1e-6:
        raise CheckFailed(
            name,
            f"values go down to {scaled.min():g}; expected at least 0.",
            "only divide by 255: do not subtract a mean or centre on 0.",
        )
    if not np.allclose(scaled, original / 255.0, atol=1e-6):
        raise CheckFailed(
            name, "the values are not pixel / 255.", "divide every pixel by 255 (not by the image's own maximum)."
        )


def check_add_channel_axis(add_channel_axis: Callable) -> None:
    """add_channel_axis(images) turns (N, H, W) into (N, H, W, 1) without changing values, for any N, H and W."""
    name = "add_channel_axis"
    rng = generator(name)
    height, width = (int(n) for n in rng.choice(np.arange(3, 12), 2, replace=False))
    for images in (rng.random((3, 28, 28), dtype=np.float32), rng.integers(0, 256, (2, height, width), dtype=np.uint8)):
        result = expect_array(name, add_channel_axis(images.copy()))
        expected = (*images.shape, 1)
        hint = "Keras's Conv2D expects channels last: add the new axis at the end (axis=-1)."
        if result.shape != expected and result.size == images.size and sorted(result.shape) == sorted(expected):
            hint = (
                "the axes are in the wrong order: keep (N, H, W) as they are and add the new axis at the end (axis=-1)."
            )
        elif result.shape != expected and result.ndim == 4 and result.shape[:3] == images.shape:
            hint = (
                "the new channel axis has length 1: add an axis (np.expand_dims(images, -1)), do not repeat the pixels."
            )
        expect_shape(
            name,
            result,
            expected,
            hint if images.shape[1:] == (28, 28) else hint + " Any image size: use images.shape, not 28.",
        )
        if not np.array_equal(result[..., 0], images):
            raise CheckFailed(
                name,
                "the pixel values changed.",
                "only add an axis: images[..., np.newaxis] or np.expand_dims(images, -1).",
            )


def check_one_hot(one_hot: Callable) -> None:
    """one_hot(labels, num_classes) returns float rows with a single 1 at each label."""
    name = "one_hot"
    rng = generator(name)
    # The second case's largest label is below num_classes - 1: to_categorical without num_classes makes too few
    # columns.
    first = np.concatenate([[9], rng.integers(0, 10, int(rng.integers(4, 8)))]).astype(np.uint8)
    second_classes = int(rng.integers(4, 7))
    second = np.concatenate(
        [[0, second_classes - 2], rng.integers(0, second_classes - 1, int(rng.integers(2, 6)))]
    ).astype(np.int64)
    for labels, num_classes in ((rng.permutation(first), 10), (rng.permutation(second), second_classes)):
        result = expect_array(name, one_hot(labels.copy(), num_classes=num_classes))
        expected = np.eye(num_classes)[labels]
        if result.shape == expected.T.shape and result.shape != expected.shape:
            raise CheckFailed(
                name,
                f"the result has shape {result.shape}; expected {expected.shape}.",
                "one row per label and one column per class: the matrix is transposed.",
            )
        hint = "one row per label and one column per class: pass num_classes to to_categorical."
        if result.ndim == 2 and result.shape[1] > num_classes:
            hint = "use the num_classes argument, not a fixed number of columns."
        expect_shape(name, result, expected.shape, hint)
        if not np.issubdtype(result.dtype, np.floating):
            raise CheckFailed(
                name,
                f"dtype {result.dtype}; expected floats.",
                "keras.utils.to_categorical returns floats (or cast with .astype('float32')).",
            )
        if not np.array_equal(result, expected):
            raise CheckFailed(
                name,
                "the rows are not one-hot vectors of the labels.",
                "row i should be all zeros except a 1 in column labels[i].",
            )


def _split_parts(name: str, result: object) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return (x_train, y_train, x_val, y_val) from a result shaped ((x_train, y_train), (x_val, y_val))."""
    try:
        (x_train, y_train), (x_val, y_val) = result
    except (TypeError, ValueError):
        raise CheckFailed(
            name,
            f"returned {type(result).__name__}; expected ((x_train, y_train), (x_val, y_val)).",
            "end with `return (x_train, y_train), (x_val, y_val)`.",
        ) from None
    parts = tuple(expect_array(name, part) for part in (x_train, y_train, x_val, y_val))
    if parts[1].ndim != 1 or parts[3].ndim != 1:
        raise CheckFailed(
            name,
            f"the labels parts have shapes {parts[1].shape} and {parts[3].shape}; labels have one value per example.",
            "train_test_split(x, y, ...) returns x_train, x_val, y_train, y_val (both x parts first): "
            "unpack in that order, then return (x_train, y_train), (x_val, y_val).",
        )
    return parts


def check_split_train_validation(split_train_validation: Callable) -> None:
    """split_train_validation(x, y, validation_fraction, seed) splits stratified, disjoint, aligned, as asked."""
    name = "split_train_validation"
    rng = generator(name)
    y = np.repeat(np.arange(10, dtype=np.uint8), 100)
    rng.shuffle(y)
    x = np.arange(len(y), dtype=np.float32)[:, None, None] * np.ones((1, 2, 2), np.float32)
    seed, other_seed = (int(n) for n in rng.choice(1000, 2, replace=False))
    x_train, y_train, x_val, y_val = _split_parts(
        name, split_train_validation(x.copy(), y.copy(), validation_fraction=0.2, seed=seed)
    )
    if len(x_val) == 800 and len(x_train) == 200:
        raise CheckFailed(
            name,
            "the training part holds 200 examples and the validation part 800: they are swapped.",
            "return (x_train, y_train), (x_val, y_val), the training part first.",
        )
    if len(x_val) != 200 or len(x_train) != 800 or len(y_val) != 200 or len(y_train) != 800:
        raise CheckFailed(
            name,
            f"with validation_fraction=0.2 of 1000 examples: {len(x_train)} train / {len(x_val)} validation; "
            "expected 800 / 200.",
            "pass test_size=validation_fraction to train_test_split.",
        )
    train_ids, val_ids = x_train[:, 0, 0].astype(int), x_val[:, 0, 0].astype(int)
    if np.intersect1d(train_ids, val_ids).size:
        raise CheckFailed(
            name,
            "some examples are in both the training and the validation part.",
            "each example must go to exactly one side.",
        )
    if not (np.array_equal(y[train_ids], y_train) and np.array_equal(y[val_ids], y_val)):
        raise CheckFailed(
            name,
            "images and labels no longer line up.",
            "split x and y in the same call (train_test_split(x, y, ...)) so they are shuffled together.",
        )
    if not np.all(np.bincount(y_val, minlength=10) == 20):
        raise CheckFailed(
            name,
            f"validation class counts {np.bincount(y_val, minlength=10).tolist()}; "
            "a stratified split gives 20 of each.",
            "pass stratify=y so every class keeps its share.",
        )
    _, again, _, _ = _split_parts(name, split_train_validation(x.copy(), y.copy(), validation_fraction=0.2, seed=seed))
    if not np.array_equal(again, y_train):
        raise CheckFailed(name, "two calls with the same seed give different splits.", "pass random_state=seed.")
    _, _, other_x_val, _ = _split_parts(
        name, split_train_validation(x.copy(), y.copy(), validation_fraction=0.2, seed=other_seed)
    )
    if np.array_equal(other_x_val, x_val):
        raise CheckFailed(
            name,
            f"seed={seed} and seed={other_seed} give the same split: the seed argument is ignored.",
            "pass random_state=seed (not a fixed number).",
        )
    _, small_y_train, _, small_y_val = _split_parts(
        name, split_train_validation(x.copy(), y.copy(), validation_fraction=0.1, seed=seed)
    )
    if len(small_y_val) != 100 or len(small_y_train) != 900:
        raise CheckFailed(
            name,
            f"with validation_fraction=0.1 of 1000 examples: {len(small_y_train)} train / {len(small_y_val)} "
            "validation; expected 900 / 100.",
            "pass test_size=validation_fraction (not a fixed fraction) to train_test_split.",
        )
