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
    probabilities = model.predict(images, verbose=0)
    expected = np.argmax(probabilities, axis=1)
    labels = expect_array(name, predict_labels(model, images))
    if labels.shape == (7, 1):
        raise CheckFailed(name, "the result has shape (7, 1); expected (7,).", "one label per image in a flat array: drop keepdims (or .reshape(-1)).")
    if labels.ndim == 2:
        raise CheckFailed(name, f"returned probabilities of shape {labels.shape}, not labels.", "take the most probable class: np.argmax(probabilities, axis=1).")
    expect_shape(name, labels, (7,), "one label per image: argmax over axis=1 (the classes), not axis=0 (the images).")
    if np.issubdtype(labels.dtype, np.floating) and np.allclose(labels, probabilities.max(axis=1), atol=1e-5):
        raise CheckFailed(name, "it returned the highest probability of each image, not its class.", "max gives the probability; argmax gives the class: np.argmax(probabilities, axis=1).")
    expect_integer_dtype(name, labels, "class labels are integers; np.argmax returns them.")
    if np.array_equal(labels, expected + 1):
        raise CheckFailed(name, f"labels {labels.tolist()} are one more than expected {expected.tolist()}.", "classes count from 0: argmax already gives the class, do not add 1.")
    if not np.array_equal(labels, expected):
        raise CheckFailed(name, f"labels {labels.tolist()}; expected {expected.tolist()}.", "argmax over axis=1 of model.predict(images).")


def check_confusion_counts(confusion_counts: Callable) -> None:
    """confusion_counts(y_true, y_pred, num_classes) counts (true, predicted) pairs as integers, rows = true."""
    name = "confusion_counts"
    y_true = np.array([0, 0, 1, 2, 2, 2, 1, 0])
    y_pred = np.array([0, 1, 1, 2, 0, 2, 1, 0])
    expected = confusion_matrix(y_true, y_pred, labels=range(4))
    counts = expect_array(name, confusion_counts(y_true.copy(), y_pred.copy(), num_classes=4))
    hint = "one row and one column per class, even a class that never occurs: a (num_classes, num_classes) matrix."
    if counts.ndim == 2 and counts.shape[0] > 4:
        hint = "use the num_classes argument, not a fixed number of classes."
    expect_shape(name, counts, (4, 4), hint)
    expect_integer_dtype(name, counts, "counts are whole numbers: create the matrix with dtype=int (np.zeros((n, n), dtype=int)).")
    if np.array_equal(counts, expected.T):
        raise CheckFailed(name, "the matrix is transposed.", "rows are the true classes and columns the predicted ones (scikit-learn's convention).")
    if np.array_equal(counts, (expected > 0).astype(counts.dtype)):
        raise CheckFailed(
            name,
            f"every cell is 0 or 1:\n{counts}\nexpected\n{expected}",
            "counts[y_true, y_pred] += 1 adds 1 only once per repeated (true, predicted) pair: use "
            "np.add.at(counts, (y_true, y_pred), 1) or a loop over the examples.",
        )
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
    # Sorted by the probability of the true class they would be rows 2 and 5 (tied), 1, 4; least confident first, 5, 2, 1, 4.
    found = expect_array(name, most_confident_mistakes(probabilities.copy(), y_true.copy(), k=3))
    expect_integer_dtype(name, found, "return the indices of the images, not their probabilities.")
    if found.ndim != 1:
        raise CheckFailed(name, f"the result has shape {found.shape}; expected a flat array of indices.", "return a 1-D array of image indices.")
    if np.isin(found, [0, 3]).any():
        raise CheckFailed(name, f"indices {found.tolist()} include correct predictions.", "keep only rows where the predicted class != the true class.")
    if len(found) > 3:
        raise CheckFailed(name, f"with k=3 it returned {len(found)} indices.", "keep the first k: [:k].")
    hint = "sort the mistakes by the probability of the predicted class, highest first, and keep k."
    if found.tolist() in ([2, 5, 1], [5, 2, 1], [2, 1, 4]):
        hint = (
            "the order follows the probability of the true class, or puts the least confident mistake first. The confidence of a "
            "mistake is the probability of the class the model predicted (probabilities.max(axis=1)): sort by it, highest first."
        )
    elif sorted(found.tolist()) == [1, 2, 4]:
        hint = "the right mistakes, in the wrong order: most confident first (sort by decreasing confidence)."
    if found.tolist() != [4, 1, 2]:
        raise CheckFailed(name, f"indices {found.tolist()}; expected [4, 1, 2].", hint)
    everything = expect_array(name, most_confident_mistakes(probabilities.copy(), y_true.copy(), k=10))
    if everything.tolist() != [4, 1, 2, 5]:
        raise CheckFailed(name, f"with k=10 and only 4 mistakes it returned {everything.tolist()}.", "return all the mistakes when there are fewer than k.")
    one = expect_array(name, most_confident_mistakes(probabilities.copy(), y_true.copy(), k=1))
    if one.tolist() != [4]:
        raise CheckFailed(name, f"with k=1 it returned {one.tolist()}; expected [4].", "use the k argument: keep the first k mistakes, [:k].")
