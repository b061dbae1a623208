"""Checks for the data exercises: class counts, scaling, channel axis, one-hot labels, validation split."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from cnn_course.checks.calls import call_with_details
from cnn_course.checks.arrays import expect_array, expect_integer_dtype, expect_shape
from cnn_course.checks.feedback import CheckFailed


def _labels(seed: int = 0, size: int = 200, num_classes: int = 10, missing: int | None = 7) -> np.ndarray:
    labels = np.random.default_rng(seed).integers(0, num_classes, size).astype(np.uint8)
    if missing is not None:
        labels[labels == missing] = 0
    return labels


def check_count_per_class(count_per_class: Callable) -> None:
    """count_per_class(labels, num_classes) returns the number of examples of each class."""
    name = "count_per_class"
    hint = "a class with no examples still needs its 0: np.bincount(labels, minlength=num_classes)."
    # A class missing in the middle, then the last classes missing (np.bincount without minlength stops early).
    for labels in (_labels(), _labels(seed=3, num_classes=8, missing=None)):
        counts = expect_array(name, count_per_class(labels, num_classes=10))
        if counts.shape != (10,):
            raise CheckFailed(
                name,
                f"for labels whose largest value is {labels.max()} it returned {counts.shape[0] if counts.ndim == 1 else counts.shape} counts; "
                "num_classes=10 asks for 10.",
                hint,
            )
        expect_integer_dtype(name, counts, "counts are whole numbers: np.bincount returns integers.")
        expected = np.bincount(labels, minlength=10)
        if not np.array_equal(counts, expected):
            raise CheckFailed(name, f"counts {counts.tolist()} differ from the expected {expected.tolist()}.", hint)


def check_scale_images(scale_images: Callable) -> None:
    """scale_images(images) returns float32 pixels in [0, 1], leaving its input untouched."""
    name = "scale_images"
    images = np.random.default_rng(1).integers(0, 256, (5, 28, 28), dtype=np.uint8)
    images[0, 0, 0], images[0, 0, 1] = 0, 255
    original = images.copy()
    call = call_with_details(scale_images, images)
    scaled = expect_array(name, call.value, "an array of scaled images")
    if 0 in call.changed_arguments:
        raise CheckFailed(name, "it changed the array it was given.", "return a new array instead of modifying the input in place.")
    expect_shape(name, scaled, images.shape, "scaling changes values, not the shape.")
    if scaled.max() > 1.0 + 1e-6:
        raise CheckFailed(
            name,
            f"values reach {scaled.max():g}; expected at most 1.",
            "the pixels are 0-255: divide by 255 so the network sees inputs in [0, 1].",
        )
    if np.issubdtype(scaled.dtype, np.integer):
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
    if not np.allclose(scaled, original / 255.0, atol=1e-6):
        raise CheckFailed(name, "the values are not pixel / 255.", "divide every pixel by 255 (not by the image's own maximum).")


def check_add_channel_axis(add_channel_axis: Callable) -> None:
    """add_channel_axis(images) turns (N, H, W) into (N, H, W, 1) without changing values."""
    name = "add_channel_axis"
    images = np.random.default_rng(2).random((3, 28, 28), dtype=np.float32)
    result = expect_array(name, add_channel_axis(images))
    expect_shape(
        name, result, (3, 28, 28, 1), "Keras's Conv2D expects channels last: add the new axis at the end (axis=-1)."
    )
    if not np.array_equal(result[..., 0], images):
        raise CheckFailed(name, "the pixel values changed.", "only add an axis: images[..., np.newaxis] or np.expand_dims(images, -1).")


def check_one_hot(one_hot: Callable) -> None:
    """one_hot(labels, num_classes) returns float rows with a single 1 at each label."""
    name = "one_hot"
    labels = np.array([3, 0, 9, 9, 1], dtype=np.uint8)
    result = expect_array(name, one_hot(labels, num_classes=10))
    expect_shape(name, result, (5, 10), "one row per label and one column per class: pass num_classes to to_categorical.")
    if not np.issubdtype(result.dtype, np.floating):
        raise CheckFailed(name, f"dtype {result.dtype}; expected floats.", "keras.utils.to_categorical returns floats.")
    if not np.array_equal(result, np.eye(10)[labels]):
        raise CheckFailed(name, "the rows are not one-hot vectors of the labels.", "row i should be all zeros except a 1 in column labels[i].")


def check_split_train_validation(split_train_validation: Callable) -> None:
    """split_train_validation(x, y, validation_fraction, seed) is a stratified, disjoint, aligned split."""
    name = "split_train_validation"
    rng = np.random.default_rng(3)
    y = np.repeat(np.arange(10, dtype=np.uint8), 100)
    rng.shuffle(y)
    x = np.arange(len(y), dtype=np.float32)[:, None, None] * np.ones((1, 2, 2), np.float32)
    result = split_train_validation(x, y, validation_fraction=0.2, seed=0)
    try:
        (x_train, y_train), (x_val, y_val) = result
    except (TypeError, ValueError):
        raise CheckFailed(name, f"returned {type(result).__name__}; expected ((x_train, y_train), (x_val, y_val)).") from None
    for part in (x_train, y_train, x_val, y_val):
        expect_array(name, part)
    if len(x_val) != 200 or len(x_train) != 800:
        raise CheckFailed(
            name,
            f"with validation_fraction=0.2 of 1000 examples: {len(x_train)} train / {len(x_val)} validation; expected 800 / 200.",
            "pass test_size=validation_fraction to train_test_split.",
        )
    train_ids, val_ids = x_train[:, 0, 0].astype(int), x_val[:, 0, 0].astype(int)
    if np.intersect1d(train_ids, val_ids).size:
        raise CheckFailed(name, "some examples are in both the training and the validation part.", "each example must go to exactly one side.")
    if not (np.array_equal(y[train_ids], y_train) and np.array_equal(y[val_ids], y_val)):
        raise CheckFailed(name, "images and labels no longer line up.", "split x and y in the same call (train_test_split(x, y, ...)) so they are shuffled together.")
    if not np.all(np.bincount(y_val, minlength=10) == 20):
        raise CheckFailed(
            name,
            f"validation class counts {np.bincount(y_val, minlength=10).tolist()}; a stratified split gives 20 of each.",
            "pass stratify=y so every class keeps its share.",
        )
    (_, again), _ = split_train_validation(x, y, validation_fraction=0.2, seed=0)
    if not np.array_equal(again, y_train):
        raise CheckFailed(name, "two calls with the same seed give different splits.", "pass random_state=seed.")
