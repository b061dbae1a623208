"""Lesson 04's checks fail typical slips with a hint naming the cause, and pass other valid ways to write them."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from .conftest import fails_with, passes

# --- first_indices_per_class(labels, per_class, num_classes) -> integer array (num_classes, per_class)


def _unstable_argsort(labels, per_class=8, num_classes=10):
    order = np.argsort(labels)
    return np.stack([order[labels[order] == c][:per_class] for c in range(num_classes)])


@pytest.mark.parametrize(
    ("first_indices_per_class", "hints"),
    [
        (
            lambda labels, per_class=8, num_classes=10: np.stack(
                [np.flatnonzero(labels == c)[:8] for c in range(num_classes)]
            ),
            ("expected (3, 2)", "`per_class` indices"),
        ),
        (
            lambda labels, per_class=8, num_classes=10: (
                np.stack([np.flatnonzero(labels == c)[:per_class] for c in range(num_classes)]).T
            ),
            ("transposed",),
        ),
        (
            lambda labels, per_class=8, num_classes=10: np.stack(
                [np.flatnonzero(labels == c)[-per_class:] for c in range(num_classes)]
            ),
            ("not the first ones",),
        ),
        (
            lambda labels, per_class=8, num_classes=10: np.stack(
                [labels[labels == c][:per_class] for c in range(num_classes)]
            ),
            ("np.flatnonzero(labels == c)[:per_class]",),
        ),
        (_unstable_argsort, ("kind='stable'",)),
        (
            lambda labels, per_class=8, num_classes=10: np.stack(
                [np.flatnonzero(labels == c)[:per_class] for c in range(num_classes)]
            ).astype(float),
            ("expected integers",),
        ),
    ],
    ids=[
        "fixed-per-class",
        "transposed",
        "last-positions",
        "labels-not-positions",
        "unstable-argsort",
        "float-indices",
    ],
)
def test_first_indices_per_class_slips(first_indices_per_class, hints):
    fails_with("first_indices_per_class", first_indices_per_class, *hints)


def _loop(labels, per_class=8, num_classes=10):
    rows = [[] for _ in range(num_classes)]
    for index, label in enumerate(labels):
        if len(rows[label]) < per_class:
            rows[label].append(index)
    return np.array(rows)


@pytest.mark.parametrize(
    "first_indices_per_class",
    [
        _loop,
        lambda labels, per_class=8, num_classes=10: np.array(
            [np.where(labels == c)[0][:per_class] for c in range(num_classes)]
        ),
        lambda labels, per_class=8, num_classes=10: np.stack(
            [
                np.argsort(labels, kind="stable")[np.sort(labels, kind="stable") == c][:per_class]
                for c in range(num_classes)
            ]
        ),
    ],
    ids=["python-loop", "np-where", "stable-argsort"],
)
def test_first_indices_per_class_alternatives(first_indices_per_class):
    passes("first_indices_per_class", first_indices_per_class)


# --- channel_mean_std(images) -> (mean, std), float32 arrays (C,)


@pytest.mark.parametrize(
    ("channel_mean_std", "hints"),
    [
        (
            lambda images: (images.mean(axis=(0, 1)).astype("float32"), images.std(axis=(0, 1)).astype("float32")),
            ("axis=(0, 1, 2)",),
        ),
        (lambda images: (np.float32(images.mean()), np.float32(images.std())), ("shape ()", "one value per channel")),
        (
            lambda images: (
                images.mean(axis=(0, 1, 2), dtype=np.float64).astype("float32"),
                images.var(axis=(0, 1, 2), dtype=np.float64).astype("float32"),
            ),
            ("variance", "square root"),
        ),
        (
            lambda images: (
                images.reshape(-1, 3).mean(axis=0, dtype=np.float64).astype("float32"),
                images.reshape(-1, 3).std(axis=0, dtype=np.float64).astype("float32"),
            ),
            ("2 channels", "do not assume 3 channels"),
        ),
        (
            lambda images: np.stack(
                [images.mean(axis=(0, 1, 2), dtype=np.float64), images.std(axis=(0, 1, 2), dtype=np.float64)]
            ).astype("float32"),
            ("returned a ndarray", "return mean, std"),
        ),
        (
            lambda images: (
                images.reshape(-1, images.shape[-1]).mean(axis=0).astype("float32"),
                images.reshape(-1, images.shape[-1]).std(axis=0).astype("float32"),
            ),
            ("8 million values per channel",),
        ),
    ],
    ids=[
        "axes-0-1",
        "one-number",
        "variance",
        "three-channels-assumed",
        "stacked-array",
        "float32-accumulation-reshaped",
    ],
)
def test_channel_mean_std_slips(channel_mean_std, hints):
    fails_with("channel_mean_std", channel_mean_std, *hints)


def _with_tensorflow(images):
    pixels = tf.cast(images, tf.float64)
    return tf.cast(tf.reduce_mean(pixels, axis=[0, 1, 2]), tf.float32), tf.cast(
        tf.math.reduce_std(pixels, axis=[0, 1, 2]), tf.float32
    )


def _two_passes(images):
    count = images.shape[0] * images.shape[1] * images.shape[2]
    mean = images.sum(axis=(0, 1, 2), dtype=np.float64) / count
    std = np.sqrt(((images - mean) ** 2).sum(axis=(0, 1, 2), dtype=np.float64) / count)
    return [mean.astype(np.float32), std.astype(np.float32)]


@pytest.mark.parametrize(
    "channel_mean_std",
    [
        _with_tensorflow,
        _two_passes,
        lambda images: tuple(
            np.array(
                [
                    np.std(images[..., c], dtype=np.float64) if which else np.mean(images[..., c], dtype=np.float64)
                    for c in range(images.shape[-1])
                ],
                np.float32,
            )
            for which in (0, 1)
        ),
    ],
    ids=["tensorflow", "sums-as-list", "per-channel-loop"],
)
def test_channel_mean_std_alternatives(channel_mean_std):
    passes("channel_mean_std", channel_mean_std)


# --- standardize_splits(x_train, x_val, x_test) -> three float32 arrays, standardised with x_train's statistics


def _stats(images):
    return images.mean(axis=(0, 1, 2), dtype=np.float64).astype("float32"), images.std(
        axis=(0, 1, 2), dtype=np.float64
    ).astype("float32")


def _own_statistics(x_train, x_val, x_test):
    return tuple(((x - _stats(x)[0]) / _stats(x)[1]).astype("float32") for x in (x_train, x_val, x_test))


def _pooled_statistics(x_train, x_val, x_test):
    mean, std = _stats(np.concatenate([x_train, x_val, x_test]))
    return tuple(((x - mean) / std).astype("float32") for x in (x_train, x_val, x_test))


def _in_place(x_train, x_val, x_test):
    mean, std = _stats(x_train)
    for x in (x_train, x_val, x_test):
        x -= mean
        x /= std
    return x_train, x_val, x_test


def _float64(x_train, x_val, x_test):
    mean, std = x_train.mean(axis=(0, 1, 2), dtype=np.float64), x_train.std(axis=(0, 1, 2), dtype=np.float64)
    return tuple((x - mean) / std for x in (x_train, x_val, x_test))


def _one_mean_for_all_channels(x_train, x_val, x_test):
    mean, std = x_train.mean(), x_train.std()
    return tuple(((x - mean) / std).astype("float32") for x in (x_train, x_val, x_test))


def _divided_by_variance(x_train, x_val, x_test):
    mean, std = _stats(x_train)
    return tuple(((x - mean) / std**2).astype("float32") for x in (x_train, x_val, x_test))


@pytest.mark.parametrize(
    ("standardize_splits", "hints"),
    [
        (_own_statistics, ("its own statistics", "training images only")),
        (_pooled_statistics, ("all three splits together", "training images only")),
        (_in_place, ("changed the training, validation, test images", "in place")),
        (_float64, ("dtype float64", "float32")),
        (_one_mean_for_all_channels, ("per channel", "axis=(0, 1, 2)")),
        (_divided_by_variance, ("not the variance",)),
    ],
    ids=["own-statistics", "pooled-statistics", "in-place", "float64", "one-mean", "variance"],
)
def test_standardize_splits_slips(standardize_splits, hints):
    fails_with("standardize_splits", standardize_splits, *hints)


def _normalization_layer(x_train, x_val, x_test):
    layer = keras.layers.Normalization(axis=-1)
    layer.adapt(x_train)
    return layer(x_train), layer(x_val), layer(x_test)


def _as_list(x_train, x_val, x_test):
    mean, std = _stats(x_train)
    return [np.asarray((x - mean) / std, dtype=np.float32) for x in (x_train, x_val, x_test)]


@pytest.mark.parametrize(
    "standardize_splits",
    [
        _normalization_layer,
        _as_list,
        lambda x_train, x_val, x_test: tuple(
            ((x - x_train.mean(axis=(0, 1, 2), keepdims=True)) / x_train.std(axis=(0, 1, 2), keepdims=True)).astype(
                np.float32
            )
            for x in (x_train, x_val, x_test)
        ),
    ],
    ids=["keras-normalization", "list", "keepdims"],
)
def test_standardize_splits_alternatives(standardize_splits):
    passes("standardize_splits", standardize_splits)
