"""Datasets ready for training: scaled to [0, 1], channels last, a validation split from the training set."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cnn_course import data


@dataclass
class PreparedData:
    """float32 images in [0, 1] shaped (N, H, W, C), integer labels (N,), and the class names.

    The validation split is carved from the official training set; the test split is the
    official one, used only for the final evaluation.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]


def prepare_mnist(data_dir: Path | None = None, validation_fraction: float = 0.1, seed: int = 0) -> PreparedData:
    """Load MNIST, scale it, add the channel axis, and split off a stratified validation set."""
    (x_train, y_train), (x_test, y_test) = data.load_mnist(data_dir)
    x_train = data.add_channel_axis(data.scale_images(x_train))
    x_test = data.add_channel_axis(data.scale_images(x_test))
    (x_train, y_train), (x_val, y_val) = data.train_validation_split(x_train, y_train, validation_fraction, seed)
    return PreparedData(x_train, y_train, x_val, y_val, x_test, y_test, data.MNIST_CLASS_NAMES)


def prepare_cifar10(data_dir: Path | None = None, validation_fraction: float = 0.1, seed: int = 0) -> PreparedData:
    """Load CIFAR-10, scale it, and split off a stratified validation set."""
    (x_train, y_train), (x_test, y_test) = data.load_cifar10(data_dir)
    x_train, x_test = data.scale_images(x_train), data.scale_images(x_test)
    (x_train, y_train), (x_val, y_val) = data.train_validation_split(x_train, y_train, validation_fraction, seed)
    return PreparedData(x_train, y_train, x_val, y_val, x_test, y_test, data.CIFAR10_CLASS_NAMES)


PREPARE = {"mnist": prepare_mnist, "cifar10": prepare_cifar10}
