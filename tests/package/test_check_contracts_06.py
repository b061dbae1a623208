"""Lesson 06's checks fail typical slips with a hint naming the cause, and pass other valid ways to write each exercise.

(test_error_analysis_checks.py holds the slips the lesson's text warns about; these are the others.)
"""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support, roc_auc_score

from .conftest import fails_with, passes

# --- precision_recall_f1(y_true, y_pred, num_classes) -> (precision, recall, f1), float arrays (num_classes,)


def _sklearn(**options):
    def precision_recall_f1(y_true, y_pred, num_classes=10):
        settings = {"labels": range(num_classes), "average": None, "zero_division": 0, **options}
        precision, recall, f1, _ = precision_recall_fscore_support(y_true, y_pred, **settings)
        return precision, recall, f1

    return precision_recall_f1


@pytest.mark.parametrize(
    ("precision_recall_f1", "hints"),
    [
        (_sklearn(labels=range(10)), ("expected (5,)", "use the num_classes argument")),
        (_sklearn(labels=None), ("expected (5,)", "labels=range(num_classes)")),
        (_sklearn(average="macro"), ("shape ()", "average=None")),
        (_sklearn(average="micro"), ("shape ()", "average=None")),
    ],
    ids=["fixed-10", "sklearn-without-labels", "macro-average", "micro-average"],
)
def test_precision_recall_f1_slips(precision_recall_f1, hints):
    fails_with("precision_recall_f1", precision_recall_f1, *hints)


def _from_confusion(y_true, y_pred, num_classes=10):
    counts = confusion_matrix(y_true, y_pred, labels=range(num_classes)).astype(float)
    correct = np.diag(counts)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.nan_to_num(correct / counts.sum(axis=0))
        recall = np.nan_to_num(correct / counts.sum(axis=1))
        f1 = np.nan_to_num(2 * precision * recall / (precision + recall))
    return [precision, recall, f1]


def _with_tensorflow(y_true, y_pred, num_classes=10):
    counts = tf.cast(tf.math.confusion_matrix(y_true, y_pred, num_classes=num_classes), tf.float64)
    correct = tf.linalg.diag_part(counts)
    precision = tf.math.divide_no_nan(correct, tf.reduce_sum(counts, axis=0))
    recall = tf.math.divide_no_nan(correct, tf.reduce_sum(counts, axis=1))
    return precision, recall, tf.math.divide_no_nan(2 * precision * recall, precision + recall)


@pytest.mark.parametrize(
    "precision_recall_f1",
    [_sklearn(), _sklearn(zero_division="warn"), _from_confusion, _with_tensorflow],
    ids=["sklearn", "sklearn-warning-zero", "confusion-matrix-as-list", "tensorflow"],
)
def test_precision_recall_f1_alternatives(precision_recall_f1):
    passes("precision_recall_f1", precision_recall_f1)


# --- most_confused_pairs(confusion, k) -> list of (true, predicted, count), largest first, no diagonal, no zeros


def _in_place(confusion, k=5):
    np.fill_diagonal(confusion, 0)
    order = np.argsort(-confusion, axis=None, kind="stable")[:k]
    return [
        (int(t), int(p), int(confusion[t, p]))
        for t, p in zip(*np.unravel_index(order, confusion.shape))
        if confusion[t, p] > 0
    ]


def _all_pairs(confusion, k=5):
    mistakes = confusion.copy()
    np.fill_diagonal(mistakes, 0)
    pairs = [
        (t, p, int(mistakes[t, p])) for t in range(len(mistakes)) for p in range(len(mistakes)) if mistakes[t, p] > 0
    ]
    return sorted(pairs, key=lambda pair: -pair[2])


@pytest.mark.parametrize(
    ("most_confused_pairs", "hints"),
    [
        (_in_place, ("changed the confusion matrix it was given", "confusion.copy()")),
        (_all_pairs, ("with k=3 it returned", "use the k argument")),
        (lambda confusion, k=5: {(t, p): c for t, p, c in _all_pairs(confusion)[:k]}, ("returned a dict",)),
    ],
    ids=["diagonal-zeroed-in-place", "ignores-k", "dict"],
)
def test_most_confused_pairs_slips(most_confused_pairs, hints):
    fails_with("most_confused_pairs", most_confused_pairs, *hints)


def _as_array(confusion, k=5):
    mistakes = np.where(np.eye(len(confusion), dtype=bool), 0, confusion)
    rows, cols = np.nonzero(mistakes)
    order = np.argsort(-mistakes[rows, cols], kind="stable")[:k]
    return np.stack([rows[order], cols[order], mistakes[rows, cols][order]], axis=1)


@pytest.mark.parametrize(
    "most_confused_pairs",
    [
        lambda confusion, k=5: [[t, p, c] for t, p, c in _all_pairs(confusion)[:k]],
        lambda confusion, k=5: [(np.int64(t), np.int64(p), np.int64(c)) for t, p, c in _all_pairs(confusion)][:k],
        _as_array,
    ],
    ids=["lists", "numpy-integers", "array"],
)
def test_most_confused_pairs_alternatives(most_confused_pairs):
    passes("most_confused_pairs", most_confused_pairs)


# --- roc_auc_one_vs_rest(y_true, probabilities) -> float array (C,)


@pytest.mark.parametrize(
    ("roc_auc_one_vs_rest", "hints"),
    [
        (
            lambda y_true, probabilities: roc_auc_score(y_true, probabilities, multi_class="ovr"),
            ("shape ()", "one AUC per class"),
        ),
        (
            lambda y_true, probabilities: [
                roc_auc_score(y_true == c, probabilities[:, c]) for c in range(probabilities.shape[1])
            ],
            ("returned a list",),
        ),
        (
            lambda y_true, probabilities: np.array(
                [roc_auc_score(y_true != c, probabilities[:, c]) for c in range(probabilities.shape[1])]
            ),
            ("1 minus",),
        ),
    ],
    ids=["averaged", "list", "positives-inverted"],
)
def test_roc_auc_one_vs_rest_slips(roc_auc_one_vs_rest, hints):
    fails_with("roc_auc_one_vs_rest", roc_auc_one_vs_rest, *hints)


def _ranks(y_true, probabilities):
    from scipy.stats import rankdata

    areas = []
    for c in range(probabilities.shape[1]):
        ranks = rankdata(probabilities[:, c])
        positives = y_true == c
        count = positives.sum()
        areas.append((ranks[positives].sum() - count * (count + 1) / 2) / (count * (~positives).sum()))
    return np.array(areas)


@pytest.mark.parametrize(
    "roc_auc_one_vs_rest",
    [
        lambda y_true, probabilities: roc_auc_score(y_true, probabilities, multi_class="ovr", average=None),
        lambda y_true, probabilities: np.array(
            [roc_auc_score(y_true == c, probabilities[:, c]) for c in range(probabilities.shape[1])]
        ),
        _ranks,
    ],
    ids=["sklearn-ovr", "sklearn-per-column", "mann-whitney-ranks"],
)
def test_roc_auc_one_vs_rest_alternatives(roc_auc_one_vs_rest):
    passes("roc_auc_one_vs_rest", roc_auc_one_vs_rest)


# --- top_k_classes(probabilities, k) -> (integer array (k,), float array (k,)), most probable first


@pytest.mark.parametrize(
    ("top_k_classes", "hints"),
    [
        (
            lambda probabilities, k=3: (
                np.argpartition(probabilities, -k)[-k:],
                probabilities[np.argpartition(probabilities, -k)[-k:]],
            ),
            ("most probable class comes first",),
        ),
        (
            lambda probabilities, k=3: (np.sort(probabilities)[::-1][:k], np.argsort(probabilities)[::-1][:k]),
            ("expected integers", "the first item holds class numbers"),
        ),
        (
            lambda probabilities, k=3: (np.argsort(probabilities)[::-1][:3], np.sort(probabilities)[::-1][:3]),
            ("expected (2,)", "[:k]"),
        ),
        (lambda probabilities, k=3: (np.argsort(probabilities)[:k], np.sort(probabilities)[:k]), ("highest first",)),
    ],
    ids=["argpartition-unordered", "values-first", "fixed-3", "least-probable"],
)
def test_top_k_classes_slips(top_k_classes, hints):
    fails_with("top_k_classes", top_k_classes, *hints)


def _tf_top_k(probabilities, k=3):
    values, indices = tf.math.top_k(probabilities, k=k)
    return indices, values


@pytest.mark.parametrize(
    "top_k_classes",
    [
        _tf_top_k,
        lambda probabilities, k=3: [np.argsort(-probabilities)[:k], np.sort(probabilities)[::-1][:k]],
        lambda probabilities, k=3: (
            np.array(sorted(range(len(probabilities)), key=lambda c: -probabilities[c])[:k]),
            np.array(sorted(probabilities, reverse=True)[:k]),
        ),
    ],
    ids=["tf-top-k", "negated-argsort-as-list", "python-sorted"],
)
def test_top_k_classes_alternatives(top_k_classes):
    passes("top_k_classes", top_k_classes)


def test_most_confused_pairs_as_a_tensor_passes():
    passes("most_confused_pairs", lambda confusion, k=5: tf.constant(_as_array(confusion, k)))
