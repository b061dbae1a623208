"""Checks for the evaluation exercises: predicted labels, confusion counts, confident mistakes."""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np
from sklearn.metrics import confusion_matrix

from cnn_course.checks.arrays import expect_array, expect_integer_dtype, expect_shape
from cnn_course.checks.feedback import CheckFailed


def _tiny_classifier() -> keras.Model:
    """Return a fixed-weight 3-class model on 4x4x1 inputs, so predictions are known in advance."""
    model = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten(), keras.layers.Dense(3, activation="softmax")])
    weights = np.random.default_rng(4).normal(size=(16, 3)).astype(np.float32)
    model.layers[-1].set_weights([weights, np.zeros(3, np.float32)])
    return model


def check_predict_labels(predict_labels: Callable) -> None:
    """predict_labels(model, images) returns the most probable class of each image as integers."""
    name = "predict_labels"
    model = _tiny_classifier()
    images = np.random.default_rng(5).random((7, 4, 4, 1), dtype=np.float32)
    expected = np.argmax(model.predict(images, verbose=0), axis=1)
    labels = expect_array(name, predict_labels(model, images))
    if labels.ndim == 2:
        raise CheckFailed(name, f"returned probabilities of shape {labels.shape}, not labels.", "take the most probable class: np.argmax(probabilities, axis=1).")
    expect_shape(name, labels, (7,), "one label per image: argmax over axis=1 (the classes), not axis=0 (the images).")
    expect_integer_dtype(name, labels, "class labels are integers; np.argmax returns them.")
    if not np.array_equal(labels, expected):
        raise CheckFailed(name, f"labels {labels.tolist()}; expected {expected.tolist()}.", "argmax over axis=1 of model.predict(images).")


def check_confusion_counts(confusion_counts: Callable) -> None:
    """confusion_counts(y_true, y_pred, num_classes) counts (true, predicted) pairs, rows = true."""
    name = "confusion_counts"
    y_true = np.array([0, 0, 1, 2, 2, 2, 1, 0])
    y_pred = np.array([0, 1, 1, 2, 0, 2, 1, 0])
    expected = confusion_matrix(y_true, y_pred, labels=range(4))
    counts = expect_array(name, confusion_counts(y_true, y_pred, num_classes=4))
    expect_shape(name, counts, (4, 4), "one row and one column per class, even a class that never occurs.")
    if np.array_equal(counts, expected.T):
        raise CheckFailed(name, "the matrix is transposed.", "rows are the true classes and columns the predicted ones (scikit-learn's convention).")
    if not np.array_equal(counts, expected):
        raise CheckFailed(name, f"counts\n{counts}\nexpected\n{expected}", "add 1 at [true, predicted] for every example.")


def check_most_confident_mistakes(most_confident_mistakes: Callable) -> None:
    """most_confident_mistakes(probabilities, y_true, k) returns wrong predictions, surest first."""
    name = "most_confident_mistakes"
    probabilities = np.array(
        [[0.9, 0.1, 0.0], [0.2, 0.7, 0.1], [0.6, 0.3, 0.1], [0.1, 0.1, 0.8], [0.05, 0.95, 0.0], [0.3, 0.3, 0.4]]
    )
    y_true = np.array([0, 0, 1, 2, 2, 0])
    # Mistakes: row 4 (0.95), row 1 (0.7), row 2 (0.6), row 5 (0.4); rows 0 and 3 are right.
    found = expect_array(name, most_confident_mistakes(probabilities, y_true, k=3))
    expect_integer_dtype(name, found, "return the indices of the images, not their probabilities.")
    if np.isin(found, [0, 3]).any():
        raise CheckFailed(name, f"indices {found.tolist()} include correct predictions.", "keep only rows where the predicted class != the true class.")
    if found.tolist() != [4, 1, 2]:
        raise CheckFailed(name, f"indices {found.tolist()}; expected [4, 1, 2].", "sort the mistakes by the probability of the predicted class, highest first, and keep k.")
    everything = expect_array(name, most_confident_mistakes(probabilities, y_true, k=10))
    if everything.tolist() != [4, 1, 2, 5]:
        raise CheckFailed(name, f"with k=10 and only 4 mistakes it returned {everything.tolist()}.", "return all the mistakes when there are fewer than k.")
