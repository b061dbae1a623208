"""The official test splits the accuracy graders evaluate saved models on, preprocessed as the lessons teach."""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np
import pytest

from cnn_course import data


def _load_test_split(load: Callable[[], tuple], dataset: str) -> tuple[np.ndarray, np.ndarray]:
    """Return the test split of `load()`, or fail the grader with the loader's explanation."""
    try:
        _, (x_test, y_test) = load()
    except data.DataError as error:
        pytest.fail(f"the grader cannot load the {dataset} test set: {error}", pytrace=False)
    return x_test, y_test


@functools.cache
def mnist_test_set() -> tuple[np.ndarray, np.ndarray]:
    """Return the 10,000 official MNIST test images, float32 (N, 28, 28, 1) in [0, 1], and labels (N,)."""
    x_test, y_test = _load_test_split(data.load_mnist, "MNIST")
    return data.add_channel_axis(data.scale_images(x_test)), y_test


@functools.cache
def _cifar10_test_split() -> tuple[np.ndarray, np.ndarray]:
    return _load_test_split(data.load_cifar10, "CIFAR-10")


@functools.cache
def cifar10_test_set() -> tuple[np.ndarray, np.ndarray]:
    """Return the 10,000 official CIFAR-10 test images, float32 (N, 32, 32, 3) in [0, 1], and labels (N,)."""
    x_test, y_test = _cifar10_test_split()
    return data.scale_images(x_test), y_test


@functools.cache
def cifar10_test_images_by_class() -> tuple[np.ndarray, list[str]]:
    """Return the 10,000 official CIFAR-10 test images as an image folder's files hold them, uint8
    (N, 32, 32, 3), and each one's class name.

    They are the pixels `cnn-course export-images cifar10 DIR --split test --per-class 1000` writes
    (PNG is lossless, so reading those files back gives exactly these arrays), without writing and
    decoding 10,000 files for each grading run.
    """
    from cnn_course.data import CIFAR10_CLASS_NAMES

    x_test, y_test = _cifar10_test_split()
    return x_test, [CIFAR10_CLASS_NAMES[int(label)] for label in y_test]


@functools.cache
def cifar10_target_test_set() -> tuple[np.ndarray, np.ndarray]:
    """Return the 5,000 official CIFAR-10 test images of lesson 8's target classes (dog, frog, horse, ship,
    truck), float32 (N, 32, 32, 3) in [0, 1], and labels (N,) relabelled 0-4 in that order."""
    from cnn_course.pretrained import TARGET_CLASSES

    x_test, y_test = cifar10_test_set()
    return data.select_classes(x_test, y_test, TARGET_CLASSES)
