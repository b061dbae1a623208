"""The official test splits the accuracy graders evaluate saved models on, preprocessed as the lessons teach."""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from cnn_course import data
from cnn_course.data.image_folders import export_cifar10_folder


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


@functools.cache
def cifar10_test_folder() -> Path:
    """Return a folder of the 10,000 official CIFAR-10 test images as PNG files (32 x 32 RGB), one subfolder per class.

    The folder is temporary: written on first use, removed when the grading process exits.
    """
    folder = Path(tempfile.mkdtemp(prefix="cnn-course-cifar10-test-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    try:
        export_cifar10_folder(folder / "images", per_class=1000, split="test")
    except data.DataError as error:
        pytest.fail(f"the grader cannot load the CIFAR-10 test set: {error}", pytrace=False)
    return folder / "images"


@functools.cache
def cifar10_target_test_set() -> tuple[np.ndarray, np.ndarray]:
    """Return the 5,000 official CIFAR-10 test images of lesson 8's target classes (dog, frog, horse, ship,
    truck), float32 (N, 32, 32, 3) in [0, 1], and labels (N,) relabelled 0-4 in that order."""
    from cnn_course.pretrained import TARGET_CLASSES

    x_test, y_test = cifar10_test_set()
    return data.select_classes(x_test, y_test, TARGET_CLASSES)
