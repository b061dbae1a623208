"""Class labels in the one form the course's functions compute with: integers of shape (N,)."""

from __future__ import annotations

from typing import Any

import numpy as np


def class_indices(
    labels: Any, count: int | None = None, num_classes: int | None = None, name: str = "labels"
) -> np.ndarray:
    """Return `labels` as class indices, an integer array of shape (N,); refuse anything else with what to do.

    Accepted: a NumPy array, a list or a tensor of whole numbers shaped (N,) or (N, 1) (as
    `keras.datasets.cifar10` returns them), and one-hot rows (N, K) of zeros and a single one, read as the
    position of the one. An integer array keeps its dtype; other labels become int64. `count`, when given, is
    the number of samples the labels must match (e.g. `len(images)`); `num_classes`, the number of classes
    they must lie in (0 to num_classes - 1). `name` is how messages call the argument.

    Raises ValueError, saying what to do, for another shape (probabilities (N, K), a single number), labels
    that are not whole numbers, a count that differs from `count`, or a class outside 0..num_classes - 1.
    Never broadcasts: (N, 1) labels compared with (N,) predictions would silently compare every pair.
    """
    array = np.asarray(labels)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    elif array.ndim == 2 and array.shape[1] > 1:
        if not (np.isin(array, (0, 1)).all() and (array.sum(axis=1) == 1).all()):
            raise ValueError(
                f"{name} have shape {array.shape} but are not one-hot rows: pass one class index per sample, shape "
                f"({array.shape[0]},); for predicted probabilities that is probabilities.argmax(axis=1)."
            )
        array = array.argmax(axis=1)
    elif array.ndim != 1:
        raise ValueError(f"{name} must hold one class index per sample, shape (N,) or (N, 1); got shape {array.shape}.")
    if array.dtype.kind not in "iu":
        if array.size and (
            array.dtype.kind not in "bf" or not np.all(np.isfinite(array)) or np.any(array != np.round(array))
        ):
            raise ValueError(
                f"{name} must be whole class numbers (0, 1, 2, ...); got values such as {array[:3].tolist()}."
            )
        array = array.astype(np.int64)
    if count is not None and len(array) != count:
        raise ValueError(
            f"{name} hold {len(array)} labels for {count} samples: pass one label per sample, in the same order."
        )
    if num_classes is not None and array.size and (array.min() < 0 or array.max() >= num_classes):
        raise ValueError(
            f"{name} must lie between 0 and {num_classes - 1} (one per class); "
            f"got {int(array.min())} to {int(array.max())}."
        )
    return array
