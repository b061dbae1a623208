"""Lesson 01's checks fail typical slips with a hint naming the cause, and pass other valid ways to write them."""

from __future__ import annotations

import collections

import keras
import numpy as np
import pytest
import tensorflow as tf
from sklearn.model_selection import StratifiedShuffleSplit, train_test_split

from .conftest import fails_with, passes

# --- count_per_class(labels, num_classes) -> integer array (num_classes,)


@pytest.mark.parametrize(
    ("count_per_class", "hints"),
    [
        (lambda labels, num_classes=10: np.bincount(labels), ("num_classes=10 asks for 10", "minlength")),
        (lambda labels, num_classes=10: np.unique(labels, return_counts=True)[1], ("minlength",)),
        (
            lambda labels, num_classes=10: np.bincount(labels, minlength=10),
            ("it returned 10 counts", "use the num_classes argument"),
        ),
        (
            lambda labels, num_classes=10: np.bincount(labels, minlength=num_classes) / len(labels),
            ("expected integers", "whole numbers"),
        ),
        (
            lambda labels, num_classes=10: np.array([np.sum(labels == c) for c in range(1, num_classes + 1)]),
            ("differ from the expected",),
        ),
        (
            lambda labels, num_classes=10: [int(np.sum(labels == c)) for c in range(num_classes)],
            ("returned a list", "np.asarray"),
        ),
    ],
    ids=["no-minlength", "np-unique", "fixed-10", "fractions", "one-based", "list"],
)
def test_count_per_class_slips(count_per_class, hints):
    fails_with("count_per_class", count_per_class, *hints)


@pytest.mark.parametrize(
    "count_per_class",
    [
        lambda labels, num_classes=10: np.histogram(labels, bins=num_classes, range=(0, num_classes))[0],
        lambda labels, num_classes=10: (labels[:, None] == np.arange(num_classes)).sum(axis=0),
        lambda labels, num_classes=10: np.array([collections.Counter(labels.tolist())[c] for c in range(num_classes)]),
        lambda labels, num_classes=10: tf.math.bincount(
            tf.constant(labels, tf.int32), minlength=num_classes, maxlength=num_classes
        ),
    ],
    ids=["histogram", "broadcast", "counter", "tensorflow"],
)
def test_count_per_class_alternatives(count_per_class):
    passes("count_per_class", count_per_class)


# --- scale_images(images) -> float32 images / 255, any shape, input untouched


def _in_place(images):
    np.divide(images, 255, out=images, casting="unsafe")
    return images.astype("float32")


@pytest.mark.parametrize(
    ("scale_images", "hints"),
    [
        (lambda images: images / 255, ("dtype float64", "astype('float32')")),
        (lambda images: images // 255, ("integer dtype", "//")),
        (lambda images: images.astype("float32"), ("values reach 255", "divide by 255")),
        (
            lambda images: images.astype("float32") / images.max(axis=(1, 2), keepdims=True),
            ("not pixel / 255", "own maximum"),
        ),
        (lambda images: (images.astype("float32") - 127.5) / 127.5, ("go down to -1", "do not subtract")),
        (_in_place, ("changed the array it was given", "in place")),
        (lambda images: (images / 255).astype("float16"), ("float16", "float32")),
    ],
    ids=["float64", "floor-division", "not-divided", "own-maximum", "centred", "in-place", "float16"],
)
def test_scale_images_slips(scale_images, hints):
    fails_with("scale_images", scale_images, *hints)


@pytest.mark.parametrize(
    "scale_images",
    [
        lambda images: (images / 255).astype(np.float32),
        lambda images: np.multiply(images, 1 / 255, dtype=np.float32),
        lambda images: tf.cast(images, tf.float32) / 255.0,
        lambda images: keras.layers.Rescaling(1 / 255)(images.astype("float32")),
    ],
    ids=["astype-after", "multiply", "tensorflow", "rescaling-layer"],
)
def test_scale_images_alternatives(scale_images):
    passes("scale_images", scale_images)


# --- add_channel_axis(images) -> (N, H, W, 1), same values


@pytest.mark.parametrize(
    ("add_channel_axis", "hints"),
    [
        (lambda images: np.expand_dims(images, 0), ("expected (3, 28, 28, 1)", "wrong order")),
        (lambda images: np.expand_dims(images, 1), ("expected (3, 28, 28, 1)", "wrong order")),
        (lambda images: images.reshape(images.shape[0], images.shape[2], images.shape[1], 1), ("wrong order",)),
        (lambda images: np.repeat(images[..., None], 3, axis=-1), ("length 1", "do not repeat")),
        (lambda images: images[..., None] / 255, ("pixel values changed",)),
    ],
    ids=["axis-0", "axis-1", "height-width-swapped", "three-channels", "rescaled"],
)
def test_add_channel_axis_slips(add_channel_axis, hints):
    fails_with("add_channel_axis", add_channel_axis, *hints)


@pytest.mark.parametrize(
    ("name", "function"),
    [
        ("scale_images", lambda images: images.reshape(-1, 28, 28).astype("float32") / 255),
        ("add_channel_axis", lambda images: images.reshape(-1, 28, 28, 1)),
    ],
)
def test_a_fixed_28x28_shape_fails_on_other_images(name, function):
    """The checks call with images of another size too.

    The reshape raises (graded: reported with the learner's line).
    """
    with pytest.raises(ValueError, match="cannot reshape"):
        passes(name, function)


@pytest.mark.parametrize(
    "add_channel_axis",
    [
        lambda images: images[..., np.newaxis],
        lambda images: images.reshape(*images.shape, 1),
        lambda images: np.stack([images], axis=-1),
        lambda images: tf.expand_dims(images, -1),
    ],
    ids=["newaxis", "reshape", "stack", "tensorflow"],
)
def test_add_channel_axis_alternatives(add_channel_axis):
    passes("add_channel_axis", add_channel_axis)


# --- one_hot(labels, num_classes) -> float (N, num_classes)


@pytest.mark.parametrize(
    ("one_hot", "hints"),
    [
        (lambda labels, num_classes=10: keras.utils.to_categorical(labels), ("pass num_classes",)),
        (lambda labels, num_classes=10: np.eye(10)[labels], ("use the num_classes argument",)),
        (lambda labels, num_classes=10: (labels[:, None] == np.arange(num_classes)).astype(int), ("expected floats",)),
        (lambda labels, num_classes=10: np.eye(num_classes)[:, labels], ("transposed",)),
        (lambda labels, num_classes=10: np.eye(num_classes)[labels.astype(int) - 1], ("not one-hot vectors",)),
        (lambda labels, num_classes=10: np.eye(num_classes)[labels].tolist(), ("returned a list",)),
    ],
    ids=["no-num-classes", "fixed-10", "integers", "transposed", "shifted", "list"],
)
def test_one_hot_slips(one_hot, hints):
    fails_with("one_hot", one_hot, *hints)


@pytest.mark.parametrize(
    "one_hot",
    [
        lambda labels, num_classes=10: np.eye(num_classes)[labels],
        lambda labels, num_classes=10: tf.one_hot(labels, num_classes),
        lambda labels, num_classes=10: keras.ops.one_hot(labels, num_classes),
        lambda labels, num_classes=10: (np.arange(num_classes) == labels[:, None]).astype("float32"),
    ],
    ids=["eye", "tf-one-hot", "keras-ops", "broadcast"],
)
def test_one_hot_alternatives(one_hot):
    passes("one_hot", one_hot)


# --- split_train_validation(x, y, validation_fraction, seed) -> ((x_train, y_train), (x_val, y_val))


def _split(**options):
    def split_train_validation(x, y, validation_fraction=0.1, seed=0):
        settings = {"test_size": validation_fraction, "stratify": y, "random_state": seed, **options}
        x_train, x_val, y_train, y_val = train_test_split(x, y, **settings)
        return (x_train, y_train), (x_val, y_val)

    return split_train_validation


def _wrong_unpacking(x, y, validation_fraction=0.1, seed=0):
    x_train, y_train, x_val, y_val = train_test_split(
        x, y, test_size=validation_fraction, stratify=y, random_state=seed
    )
    return (x_train, y_train), (x_val, y_val)


def _swapped(x, y, validation_fraction=0.1, seed=0):
    (x_train, y_train), (x_val, y_val) = _split()(x, y, validation_fraction, seed)
    return (x_val, y_val), (x_train, y_train)


def _separately_shuffled(x, y, validation_fraction=0.1, seed=0):
    (x_train, y_train), (x_val, y_val) = _split()(x, y, validation_fraction, seed)
    return (x_train, np.random.default_rng(seed).permutation(y_train)), (x_val, y_val)


def _first_rows(x, y, validation_fraction=0.1, seed=0):
    cut = int(len(x) * (1 - validation_fraction))
    return (x[:cut], y[:cut]), (x[cut:], y[cut:])


@pytest.mark.parametrize(
    ("split_train_validation", "hints"),
    [
        (_split(stratify=None), ("stratified split", "stratify=y")),
        (_split(random_state=None), ("same seed give different splits", "random_state=seed")),
        (_split(random_state=42), ("seed argument is ignored", "random_state=seed")),
        (_split(test_size=0.2), ("validation_fraction=0.1", "not a fixed fraction")),
        (_split(test_size=0.1), ("expected 800 / 200", "test_size=validation_fraction")),
        (_wrong_unpacking, ("both x parts first",)),
        (_swapped, ("swapped",)),
        (_separately_shuffled, ("no longer line up",)),
        (_first_rows, ("stratify=y",)),
    ],
    ids=[
        "not-stratified",
        "unseeded",
        "fixed-seed",
        "fixed-fraction",
        "default-fraction",
        "unpacking-order",
        "parts-swapped",
        "labels-shuffled-alone",
        "first-rows",
    ],
)
def test_split_train_validation_slips(split_train_validation, hints):
    fails_with("split_train_validation", split_train_validation, *hints)


def _shuffle_split(x, y, validation_fraction=0.1, seed=0):
    splitter = StratifiedShuffleSplit(n_splits=1, test_size=validation_fraction, random_state=seed)
    train, val = next(splitter.split(x, y))
    return [(x[train], y[train]), (x[val], y[val])]


def _by_hand(x, y, validation_fraction=0.1, seed=0):
    rng = np.random.default_rng(seed)
    val = np.concatenate(
        [rng.permutation(np.flatnonzero(y == c))[: round(validation_fraction * np.sum(y == c))] for c in np.unique(y)]
    )
    train = np.setdiff1d(np.arange(len(y)), val)
    return (x[train], y[train]), (x[val], y[val])


@pytest.mark.parametrize(
    "split_train_validation",
    [_split(), _shuffle_split, _by_hand],
    ids=["train-test-split", "stratified-shuffle-split-as-list", "numpy"],
)
def test_split_train_validation_alternatives(split_train_validation):
    passes("split_train_validation", split_train_validation)
