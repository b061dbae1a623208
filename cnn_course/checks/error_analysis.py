"""Checks for the error-analysis exercises: per-class metrics, confused pairs, ROC AUC, top-k classes."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sklearn.metrics import precision_recall_fscore_support, roc_auc_score

from cnn_course.checks.arrays import (
    expect_array,
    expect_float_dtype,
    expect_integer_dtype,
    expect_shape,
    expect_tuple,
    is_tensor,
)
from cnn_course.checks.calls import call_with_details
from cnn_course.checks.draws import generator
from cnn_course.checks.feedback import CheckFailed


def _metric_labels(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Draw (y_true, y_pred) for 5 classes: class 3 is never predicted (precision 0 / 0), class 4 never occurs at all.

    Precision differs from recall for some class, and the harmonic mean from the plain one.
    """
    while True:
        y_true = rng.permutation(np.repeat(np.arange(4), rng.integers(2, 6, 4)))
        y_pred = np.where(rng.random(len(y_true)) < 0.55, y_true, rng.integers(0, 3, len(y_true)))
        y_pred[y_pred == 3] = rng.integers(0, 3)
        precision, recall, _, _ = precision_recall_fscore_support(
            y_true, y_pred, labels=range(5), average=None, zero_division=0
        )
        if not np.allclose(precision, recall) and np.any((precision != recall) & (precision > 0) & (recall > 0)):
            return y_true, y_pred


def check_precision_recall_f1(precision_recall_f1: Callable) -> None:
    """precision_recall_f1(y_true, y_pred, num_classes) matches scikit-learn's, 0 where a ratio is 0 / 0."""
    name = "precision_recall_f1"
    y_true, y_pred = _metric_labels(generator(name))
    precision, recall, f1, _ = precision_recall_fscore_support(
        y_true, y_pred, labels=range(5), average=None, zero_division=0
    )
    names = ("precision", "recall", "f1")
    result = expect_tuple(name, precision_recall_f1(y_true, y_pred, num_classes=5), names)
    found = [expect_array(name, value, f"an array of {label}") for value, label in zip(result, names)]
    for array, label in zip(found, names):
        hint = (
            f"one {label} per class, also for a class that never occurs: np.bincount(..., minlength=num_classes) "
            "(with scikit-learn, labels=range(num_classes))."
        )
        if array.ndim == 1 and len(array) > 5:
            hint = "use the num_classes argument, not a fixed number of classes."
        elif array.ndim == 0:
            hint = f"one {label} per class, not one number for all classes: no averaging (scikit-learn: average=None)."
        expect_shape(name, array, (5,), hint)
        expect_float_dtype(name, array, label)
    if any(np.isnan(array).any() for array in found):
        raise CheckFailed(
            name,
            "the result holds NaN: class 3 is never predicted, so its precision is 0 / 0 "
            "(and class 4 never occurs at all).",
            "define a ratio whose denominator is 0 as 0, as scikit-learn's zero_division=0 does: "
            "np.divide(a, b, out=np.zeros(num_classes), where=b > 0).",
        )
    found_precision, found_recall, found_f1 = found
    if np.allclose(found_precision, recall) and np.allclose(found_recall, precision):
        raise CheckFailed(
            name,
            "precision and recall are swapped.",
            "precision divides the correct predictions of a class by how often the class was *predicted*; "
            "recall divides them by how often it is the *true* class.",
        )
    for found_values, expected_values, label in (
        (found_precision, precision, "precision"),
        (found_recall, recall, "recall"),
    ):
        if not np.allclose(found_values, expected_values) and np.allclose(
            np.sort(found_values), np.sort(expected_values)
        ):
            raise CheckFailed(
                name,
                f"{label} {found_values.round(3).tolist()} holds the right values for the wrong classes; "
                f"expected {expected_values.round(3).tolist()}.",
                f"position c must hold the {label} of class c. Counting with np.unique skips classes that never occur "
                "and shifts the rest; np.bincount(..., minlength=num_classes) keeps one slot per class.",
            )
    if not np.allclose(found_precision, precision):
        raise CheckFailed(
            name,
            f"precision {found_precision.round(3).tolist()}; expected {precision.round(3).tolist()}.",
            "precision of class c: the count of (y_pred == c) & (y_true == c), divided by the count of y_pred == c.",
        )
    if not np.allclose(found_recall, recall):
        raise CheckFailed(
            name,
            f"recall {found_recall.round(3).tolist()}; expected {recall.round(3).tolist()}.",
            "recall of class c: the count of (y_pred == c) & (y_true == c), divided by the count of y_true == c.",
        )
    if np.allclose(found_f1, (precision + recall) / 2):
        raise CheckFailed(
            name, "F1 is the plain average of precision and recall.", "F1 is their harmonic mean: 2 * P * R / (P + R)."
        )
    if not np.allclose(found_f1, f1):
        raise CheckFailed(
            name,
            f"F1 {found_f1.round(3).tolist()}; expected {f1.round(3).tolist()}.",
            "F1 = 2 * P * R / (P + R), and 0 where P + R is 0.",
        )


def _pairs(exercise: str, value: object) -> list[tuple[int, int, int]]:
    """Return `value` as a list of (true, predicted, count) int triples, or fail saying why it is not one."""
    if is_tensor(value):
        value = np.asarray(value)
    if not isinstance(value, list | tuple | np.ndarray):
        raise CheckFailed(
            exercise,
            f"returned a {type(value).__name__}; expected a list of (true_class, predicted_class, count) tuples.",
            "return a list such as [(3, 5, 120), (5, 3, 98)].",
        )
    triples = []
    for item in value:
        if np.ndim(item) != 1 or len(item) != 3:
            raise CheckFailed(
                exercise,
                f"an item of the result is {item!r}; expected (true_class, predicted_class, count).",
                "make each item a tuple of three integers.",
            )
        triples.append(tuple(int(number) for number in item))
    return triples


def _confusion(rng: np.random.Generator) -> np.ndarray:
    """Draw a 4x4 to 6x6 confusion matrix: large diagonal, off-diagonal counts distinct, some 0, 4 to 9 above it."""
    size = int(rng.integers(4, 7))
    confusion = np.zeros((size, size), dtype=int)
    cells = [(t, p) for t in range(size) for p in range(size) if t != p]
    chosen = rng.permutation(len(cells))[: int(rng.integers(4, 10))]
    for (t, p), count in zip((cells[i] for i in chosen), rng.permutation(np.arange(1, 30))):
        confusion[t, p] = count
    np.fill_diagonal(confusion, rng.integers(40, 90, size))
    return confusion


def check_most_confused_pairs(most_confused_pairs: Callable) -> None:
    """most_confused_pairs(confusion, k) lists off-diagonal (true, predicted, count), largest count first."""
    name = "most_confused_pairs"
    confusion = _confusion(generator(name))
    off_diagonal = [
        (t, p, int(confusion[t, p]))
        for t in range(len(confusion))
        for p in range(len(confusion))
        if t != p and confusion[t, p]
    ]
    ranked = sorted(off_diagonal, key=lambda pair: -pair[2])
    expected = ranked[:3]
    call = call_with_details(most_confused_pairs, confusion.copy(), k=3)
    if 0 in call.changed_arguments:
        raise CheckFailed(
            name,
            "it changed the confusion matrix it was given (its diagonal is now 0).",
            "work on a copy: mistakes = confusion.copy(), then np.fill_diagonal(mistakes, 0); "
            "the caller still needs the diagonal.",
        )
    found = _pairs(name, call.value)
    if any(true == predicted for true, predicted, _ in found):
        raise CheckFailed(
            name,
            f"returned {found}, which includes the diagonal.",
            "the diagonal holds the correct predictions, not confusions: "
            "set it to 0 on a copy first (np.fill_diagonal).",
        )
    if found == [(predicted, true, count) for true, predicted, count in expected]:
        raise CheckFailed(
            name,
            f"returned {found}: true and predicted classes are swapped.",
            "rows are the true classes and columns the predicted ones: entry [t, p] is the pair (t, p).",
        )
    if len(found) > 3 and found[:3] == expected:
        raise CheckFailed(
            name, f"with k=3 it returned {len(found)} pairs.", "use the k argument: keep the first k pairs, [:k]."
        )
    counts = [count for _, _, count in found]
    if len(counts) > 1 and counts == sorted(counts) and counts != sorted(counts, reverse=True):
        raise CheckFailed(
            name,
            f"returned {found}, smallest count first.",
            "sort by decreasing count: the most frequent confusion comes first.",
        )
    if found != expected:
        raise CheckFailed(
            name,
            f"returned {found}; expected {expected}.",
            "take the k largest off-diagonal entries, largest first, each as (row, column, count).",
        )
    everything = _pairs(name, most_confused_pairs(confusion.copy(), k=20))
    if everything != ranked:
        raise CheckFailed(
            name,
            f"with k=20 it returned {len(everything)} pairs; the matrix has {len(ranked)} off-diagonal entries "
            "above 0.",
            "leave out pairs with a count of 0 (they are not confusions), "
            "and return fewer than k when there are fewer.",
        )


def _scored_examples(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Draw 30 labels of 3 classes and probabilities rounded to 0.1 (rows summing to 1): scores tie across images."""
    y_true = np.repeat(np.arange(3), [10, 12, 8])
    rng.shuffle(y_true)
    logits = rng.normal(size=(30, 3)) + 1.2 * np.eye(3)[y_true]
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    rounded = np.round(probabilities, 1)
    rows = np.arange(len(rounded))
    top = np.argmax(rounded, axis=1)
    rounded[rows, top] = np.round(
        1 - (rounded.sum(axis=1) - rounded[rows, top]), 1
    )  # rows sum to 1, as scikit-learn's multiclass AUC requires
    return y_true, rounded


def _auc(y_true: np.ndarray, scores: np.ndarray, positive: int, tie: float = 0.5) -> float:
    """Return the share of (positive, negative) pairs ordered right by `scores`, a tie counting `tie`."""
    above = scores[y_true == positive][:, None]
    below = scores[y_true != positive][None, :]
    return float(np.mean(above > below) + tie * np.mean(above == below))


def check_roc_auc_one_vs_rest(roc_auc_one_vs_rest: Callable) -> None:
    """roc_auc_one_vs_rest(y_true, probabilities) matches scikit-learn's roc_auc_score per class, ties included."""
    name = "roc_auc_one_vs_rest"
    y_true, probabilities = _scored_examples(generator(name))
    classes = range(probabilities.shape[1])
    expected = np.array([roc_auc_score(y_true == c, probabilities[:, c]) for c in classes])
    found = expect_array(name, roc_auc_one_vs_rest(y_true, probabilities.copy()), "an array of AUCs")
    expect_shape(name, found, (3,), "one AUC per class, that is per column of probabilities (probabilities.shape[1]).")
    if np.allclose(found, expected):
        return
    predicted = np.argmax(probabilities, axis=1)
    by_label = np.array([roc_auc_score(y_true == c, predicted == c) for c in classes])
    column_aucs = np.array([[roc_auc_score(y_true == c, probabilities[:, j]) for j in classes] for c in classes])
    if np.allclose(found, by_label):
        raise CheckFailed(
            name,
            "these are the AUCs of the predicted labels, not of the probabilities.",
            "score the images with the probability of class c, probabilities[:, c]: the ROC curve sweeps a "
            "threshold over these scores, while a yes/no label allows a single threshold.",
        )
    if np.allclose(found, 1 - expected):
        raise CheckFailed(
            name,
            f"AUCs {found.round(3).tolist()} are 1 minus the expected ones.",
            "count the pairs where the image of class c has the *higher* probability of class c.",
        )
    for tie, advice in ((0.0, "counts ties as wrong"), (1.0, "counts ties as right")):
        if np.allclose(found, [_auc(y_true, probabilities[:, c], c, tie) for c in classes]):
            raise CheckFailed(
                name,
                f"AUCs {found.round(3).tolist()}: the computation {advice}.",
                "a tie between an image of class c and another image counts half: add 0.5 for each tied pair.",
            )
    wrong_column = [
        c
        for c in classes
        if not np.isclose(found[c], expected[c]) and np.isclose(np.delete(column_aucs[c], c), found[c]).any()
    ]
    if wrong_column:
        raise CheckFailed(
            name,
            f"the AUC of class {wrong_column[0]} is computed from another class's column.",
            "for class c, the scores are column c: probabilities[:, c].",
        )
    raise CheckFailed(
        name,
        f"AUCs {found.round(3).tolist()}; expected {expected.round(3).tolist()}.",
        "the AUC of class c is the share of (image of class c, image of another class) pairs in which the first "
        "has the higher probabilities[:, c]; a tie counts 0.5.",
    )


def check_top_k_classes(top_k_classes: Callable) -> None:
    """top_k_classes(probabilities, k) returns the k most probable classes and their probabilities, highest first."""
    name = "top_k_classes"
    rng = generator(name)
    probabilities = rng.permutation(np.sort(rng.choice(np.arange(1, 40), int(rng.integers(6, 10)), replace=False)))
    probabilities = probabilities / probabilities.sum()
    for k in (3, 2):
        expected = [int(i) for i in np.argsort(-probabilities)[:k]]
        indices, values = expect_tuple(name, top_k_classes(probabilities.copy(), k=k), ("indices", "probabilities"))
        indices = expect_array(name, indices, "an array of class indices")
        values = expect_array(name, values, "an array of probabilities")
        expect_shape(name, indices, (k,), "return k classes: slice the sorted indices with [:k].")
        expect_integer_dtype(
            name, indices, "the first item holds class numbers (integers), the second their probabilities."
        )
        if indices.tolist() == expected[::-1]:
            raise CheckFailed(
                name,
                f"classes {indices.tolist()}: the top {k}, but the least probable first.",
                "np.argsort sorts in increasing order: reverse it ([::-1]) so the most probable class comes first.",
            )
        if indices.tolist() != expected:
            raise CheckFailed(
                name,
                f"classes {indices.tolist()}; expected {expected} for probabilities {probabilities.tolist()} and "
                f"k={k}.",
                "take the k classes with the highest probability, highest first: np.argsort(probabilities)[::-1][:k].",
            )
        if values.shape != (k,) or not np.allclose(values, probabilities[expected]):
            raise CheckFailed(
                name,
                f"probabilities {values.tolist()}; expected {probabilities[expected].tolist()}.",
                "return the probability of each class returned: probabilities[indices].",
            )
