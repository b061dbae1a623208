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
def cifar10_test_set() -> tuple[np.ndarray, np.ndarray]:
    """Return the 10,000 official CIFAR-10 test images, float32 (N, 32, 32, 3) in [0, 1], and labels (N,)."""
    x_test, y_test = _load_test_split(data.load_cifar10, "CIFAR-10")
    return data.scale_images(x_test), y_test
