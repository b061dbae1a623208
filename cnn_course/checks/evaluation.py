"""Checks for the evaluation exercises: predicted labels, confusion counts, confident mistakes."""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np
from sklearn.metrics import confusion_matrix

from cnn_course.checks.arrays import expect_array, expect_integer_dtype, expect_shape
from cnn_course.checks.draws import generator
from cnn_course.checks.feedback import CheckFailed


def _tiny_classifier(rng: np.random.Generator, num_classes: int, count: int) -> tuple[keras.Model, np.ndarray]:
    """Return a drawn-weight classifier on 4x4x1 inputs and `count` images it puts in every class, each at least twice.

    The winning class leads the runner-up by a clear margin, so any way of computing the argmax agrees.
    """
    model = keras.Sequential(
        [keras.Input((4, 4, 1)), keras.layers.Flatten(), keras.layers.Dense(num_classes, activation="softmax")]
    )
    while True:
        weights = rng.normal(size=(16, num_classes)).astype(np.float32)
        images = rng.normal(size=(count, 4, 4, 1)).astype(np.float32)
        logits = np.sort(images.reshape(count, 16) @ weights, axis=1)
        labels = np.argmax(images.reshape(count, 16) @ weights, axis=1)
        if np.bincount(labels, minlength=num_classes).min() >= 2 and np.min(logits[:, -1] - logits[:, -2]) > 0.05:
            model.layers[-1].set_weights([weights, np.zeros(num_classes, np.float32)])
            return model, images


def check_predict_labels(predict_labels: Callable) -> None:
    """predict_labels(model, images) returns the most probable class of each image as integers."""
    name = "predict_labels"
    rng = generator(name)
    count = int(rng.integers(9, 15))
    model, images = _tiny_classifier(rng, int(rng.integers(3, 5)), count)
    probabilities = model.predict(images, verbose=0)
    expected = np.argmax(probabilities, axis=1)
    labels = expect_array(name, predict_labels(model, images))
    if labels.shape == (count, 1):
        raise CheckFailed(
            name,
            f"the result has shape {labels.shape}; expected ({count},).",
            "one label per image in a flat array: drop keepdims (or .reshape(-1)).",
        )
    if labels.ndim == 2:
        raise CheckFailed(
            name,
            f"returned probabilities of shape {labels.shape}, not labels.",
            "take the most probable class: np.argmax(probabilities, axis=1).",
        )
    expect_shape(
        name, labels, (count,), "one label per image: argmax over axis=1 (the classes), not axis=0 (the images)."
    )
    if np.issubdtype(labels.dtype, np.floating) and np.allclose(labels, probabilities.max(axis=1), atol=1e-5):
        raise CheckFailed(
            name,
            "it returned the highest probability of each image, not its class.",
            "max gives the probability; argmax gives the class: np.argmax(probabilities, axis=1).",
        )
    expect_integer_dtype(name, labels, "class labels are integers; np.argmax returns them.")
    if np.array_equal(labels, expected + 1):
        raise CheckFailed(
            name,
            f"labels {labels.tolist()} are one more than expected {expected.tolist()}.",
            "classes count from 0: argmax already gives the class, do not add 1.",
        )
    if not np.array_equal(labels, expected):
        raise CheckFailed(
            name,
            f"labels {labels.tolist()}; expected {expected.tolist()}.",
            "argmax over axis=1 of model.predict(images).",
        )


def _confusion_labels(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, int]:
    """Draw (y_true, y_pred, num_classes): last class absent, a (true, predicted) pair repeats, counts asymmetric."""
    num_classes = int(rng.integers(4, 7))
    while True:
        y_true = rng.integers(0, num_classes - 1, int(rng.integers(10, 19)))
        y_pred = np.where(rng.random(len(y_true)) < 0.6, y_true, rng.integers(0, num_classes - 1, len(y_true)))
        counts = confusion_matrix(y_true, y_pred, labels=range(num_classes))
        if counts.max() >= 2 and not np.array_equal(counts, counts.T):
            return y_true, y_pred, num_classes


def check_confusion_counts(confusion_counts: Callable) -> None:
    """confusion_counts(y_true, y_pred, num_classes) counts (true, predicted) pairs as integers, rows = true."""
    name = "confusion_counts"
    y_true, y_pred, num_classes = _confusion_labels(generator(name))
    expected = confusion_matrix(y_true, y_pred, labels=range(num_classes))
    counts = expect_array(name, confusion_counts(y_true.copy(), y_pred.copy(), num_classes=num_classes))
    hint = "one row and one column per class, even a class that never occurs: a (num_classes, num_classes) matrix."
    if counts.ndim == 2 and counts.shape[0] > num_classes:
        hint = "use the num_classes argument, not a fixed number of classes."
    expect_shape(name, counts, (num_classes, num_classes), hint)
    expect_integer_dtype(
        name, counts, "counts are whole numbers: create the matrix with dtype=int (np.zeros((n, n), dtype=int))."
    )
    if np.array_equal(counts, expected.T):
        raise CheckFailed(
            name,
            "the matrix is transposed.",
            "rows are the true classes and columns the predicted ones (scikit-learn's convention).",
        )
    if np.array_equal(counts, (expected > 0).astype(counts.dtype)):
        raise CheckFailed(
            name,
            f"every cell is 0 or 1:\n{counts}\nexpected\n{expected}",
            "counts[y_true, y_pred] += 1 adds 1 only once per repeated (true, predicted) pair: use "
            "np.add.at(counts, (y_true, y_pred), 1) or a loop over the examples.",
        )
    if not np.array_equal(counts, expected):
        raise CheckFailed(
            name, f"counts\n{counts}\nexpected\n{expected}", "add 1 at [true, predicted] for every example."
        )


def _ranked(indices: np.ndarray, scores: np.ndarray) -> list[int]:
    """`indices` ordered by decreasing score."""
    return [int(i) for i in indices[np.argsort(-scores, kind="stable")]]


def _scored_mistakes(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Draw (probabilities, y_true) with 4 to 6 mistakes among right ones; return them and the mistakes, surest first.

    The confidences of the mistakes differ by at least 0.02, ordering them by the probability of their true class
    gives another top 3, and the surest prediction of all is a right one.
    """
    while True:
        count, num_classes = int(rng.integers(8, 12)), int(rng.integers(3, 5))
        probabilities = np.round(rng.dirichlet(np.full(num_classes, 0.7), count), 3)
        probabilities[:, 0] = np.round(1 - probabilities[:, 1:].sum(axis=1), 3)
        predicted = probabilities.argmax(axis=1)
        wrong = rng.permutation(count)[: int(rng.integers(4, 7))]
        y_true = predicted.copy()
        y_true[wrong] = (predicted[wrong] + rng.integers(1, num_classes, len(wrong))) % num_classes
        confidence = probabilities.max(axis=1)
        gaps = np.diff(np.sort(confidence[wrong]))
        if (
            probabilities.min() < 0
            or np.sum(np.sort(probabilities, axis=1)[:, -1] == np.sort(probabilities, axis=1)[:, -2])
            or gaps.min() < 0.02
        ):
            continue
        expected = _ranked(np.sort(wrong), confidence[np.sort(wrong)])
        by_true = _ranked(np.sort(wrong), probabilities[np.sort(wrong), y_true[np.sort(wrong)]])
        right_confidence = np.delete(confidence, wrong)
        if (
            by_true[:3] != expected[:3] and right_confidence.max() > confidence[wrong].max()
        ):  # the surest prediction is right
            return probabilities, y_true, expected


def check_most_confident_mistakes(most_confident_mistakes: Callable) -> None:
    """most_confident_mistakes(probabilities, y_true, k) returns wrong predictions, surest first."""
    name = "most_confident_mistakes"
    probabilities, y_true, expected = _scored_mistakes(generator(name))
    wrong = np.array(sorted(expected))
    right = sorted(set(range(len(y_true))) - set(expected))
    by_true = _ranked(wrong, probabilities[wrong, y_true[wrong]])
    found = expect_array(name, most_confident_mistakes(probabilities.copy(), y_true.copy(), k=3))
    expect_integer_dtype(name, found, "return the indices of the images, not their probabilities.")
    if found.ndim != 1:
        raise CheckFailed(
            name,
            f"the result has shape {found.shape}; expected a flat array of indices.",
            "return a 1-D array of image indices.",
        )
    if np.isin(found, right).any():
        raise CheckFailed(
            name,
            f"indices {found.tolist()} include correct predictions.",
            "keep only rows where the predicted class != the true class.",
        )
    if len(found) > 3:
        raise CheckFailed(name, f"with k=3 it returned {len(found)} indices.", "keep the first k: [:k].")
    hint = "sort the mistakes by the probability of the predicted class, highest first, and keep k."
    if found.tolist() in (by_true[:3], by_true[::-1][:3], expected[::-1][:3]):
        hint = (
            "the order follows the probability of the true class, or puts the least confident mistake first. "
            "The confidence of a mistake is the probability of the class the model predicted "
            "(probabilities.max(axis=1)): sort by it, highest first."
        )
    elif sorted(found.tolist()) == sorted(expected[:3]):
        hint = "the right mistakes, in the wrong order: most confident first (sort by decreasing confidence)."
    if found.tolist() != expected[:3]:
        raise CheckFailed(name, f"indices {found.tolist()}; expected {expected[:3]}.", hint)
    everything = expect_array(name, most_confident_mistakes(probabilities.copy(), y_true.copy(), k=10))
    if everything.tolist() != expected:
        raise CheckFailed(
            name,
            f"with k=10 and only {len(expected)} mistakes it returned {everything.tolist()}.",
            "return all the mistakes when there are fewer than k.",
        )
    one = expect_array(name, most_confident_mistakes(probabilities.copy(), y_true.copy(), k=1))
    if one.tolist() != expected[:1]:
        raise CheckFailed(
            name,
            f"with k=1 it returned {one.tolist()}; expected {expected[:1]}.",
            "use the k argument: keep the first k mistakes, [:k].",
        )
