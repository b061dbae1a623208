"""Datasets for the course: loaders for MNIST and CIFAR-10, and array preprocessing."""

from .cifar_pickle import load_cifar_batch, load_cifar_meta
from .datasets import (
    CIFAR10_CLASS_NAMES,
    DATA_ENV_VAR,
    MNIST_CLASS_NAMES,
    cifar10_files,
    load_cifar10,
    load_mnist,
    mnist_files,
    resolve_data_dir,
)
from .errors import DataError
from .idx import read_idx
from .preprocessing import (
    add_channel_axis,
    channel_statistics,
    scale_images,
    select_classes,
    stratified_subset,
    train_validation_split,
)

__all__ = [
    "CIFAR10_CLASS_NAMES",
    "DATA_ENV_VAR",
    "MNIST_CLASS_NAMES",
    "DataError",
    "add_channel_axis",
    "channel_statistics",
    "cifar10_files",
    "load_cifar10",
    "load_cifar_batch",
    "load_cifar_meta",
    "load_mnist",
    "mnist_files",
    "read_idx",
    "resolve_data_dir",
    "scale_images",
    "select_classes",
    "stratified_subset",
    "train_validation_split",
]
