"""Lesson 03's checks fail typical slips with a hint naming the cause, and pass other valid ways to write them."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
from sklearn.metrics import confusion_matrix

from .conftest import fails_with, passes

# --- train_classifier(model, x_train, y_train, x_val, y_val, epochs, batch_size) -> History


def _validated_on_training_data(model, x_train, y_train, x_val, y_val, epochs, batch_size):
    return model.fit(
        x_train, y_train, validation_data=(x_train, y_train), epochs=epochs, batch_size=batch_size, verbose=0
    )


def _trained_on_everything(model, x_train, y_train, x_val, y_val, epochs, batch_size):
    x, y = np.concatenate([x_train, x_val]), np.concatenate([y_train, y_val])
    return model.fit(x, y, validation_data=(x_val, y_val), epochs=epochs, batch_size=batch_size, verbose=0)


def _fixed_batch_size(model, x_train, y_train, x_val, y_val, epochs, batch_size):
    return model.fit(x_train, y_train, validation_data=(x_val, y_val), epochs=epochs, batch_size=32, verbose=0)


def _one_epoch_per_call(model, x_train, y_train, x_val, y_val, epochs, batch_size):
    for _ in range(epochs):
        history = model.fit(
            x_train, y_train, validation_data=(x_val, y_val), epochs=1, batch_size=batch_size, verbose=0
        )
    return history


def _returns_the_model(model, x_train, y_train, x_val, y_val, epochs, batch_size):
    model.fit(x_train, y_train, validation_data=(x_val, y_val), epochs=epochs, batch_size=batch_size, verbose=0)
    return model


@pytest.mark.parametrize(
    ("train_classifier", "hints"),
    [
        (
            _validated_on_training_data,
            ("not the trained model's on the (x_val, y_val)", "validation_data=(x_val, y_val)"),
        ),
        (_trained_on_everything, ("5 steps per epoch", "validation images must not be trained on")),
        (_fixed_batch_size, ("8 steps per epoch", "batch_size=batch_size")),
        (_one_epoch_per_call, ("trained for 1 epochs", "epochs=epochs")),
        (_returns_the_model, ("expected the History", "return model.fit")),
    ],
    ids=["validated-on-training-data", "trained-on-validation-too", "fixed-batch-size", "epoch-loop", "returns-model"],
)
def test_train_classifier_slips(train_classifier, hints):
    fails_with("train_classifier", train_classifier, *hints)


def _datasets(model, x_train, y_train, x_val, y_val, epochs, batch_size):
    train = tf.data.Dataset.from_tensor_slices((x_train, y_train)).batch(batch_size)
    val = tf.data.Dataset.from_tensor_slices((x_val, y_val)).batch(batch_size)
    return model.fit(train, validation_data=val, epochs=epochs, verbose=0)


def _keywords_and_callbacks(model, x_train, y_train, x_val, y_val, epochs, batch_size):
    return model.fit(
        x=x_train,
        y=y_train,
        batch_size=batch_size,
        epochs=epochs,
        validation_data=[x_val, y_val],
        callbacks=[keras.callbacks.TerminateOnNaN()],
        verbose=2,
    )


@pytest.mark.parametrize(
    "train_classifier", [_datasets, _keywords_and_callbacks], ids=["tf-data", "keywords-list-callbacks"]
)
def test_train_classifier_alternatives(train_classifier):
    passes("train_classifier", train_classifier)


# --- predict_labels(model, images, batch_size) -> integer array (N,)


@pytest.mark.parametrize(
    ("predict_labels", "hints"),
    [
        (
            lambda model, images, batch_size=1000: model.predict(images, verbose=0),
            ("returned probabilities of shape", "np.argmax"),
        ),
        (lambda model, images, batch_size=1000: np.argmax(model.predict(images, verbose=0), axis=0), ("axis=0",)),
        (
            lambda model, images, batch_size=1000: model.predict(images, verbose=0).max(axis=1),
            ("highest probability", "argmax gives the class"),
        ),
        (
            lambda model, images, batch_size=1000: np.argmax(model.predict(images, verbose=0), axis=1, keepdims=True),
            ("keepdims",),
        ),
        (
            lambda model, images, batch_size=1000: np.argmax(model.predict(images, verbose=0), axis=1) + 1,
            ("one more", "do not add 1"),
        ),
        (
            lambda model, images, batch_size=1000: np.argmax(model.predict(images, verbose=0), axis=1).astype(
                "float32"
            ),
            ("expected integers",),
        ),
        (
            lambda model, images, batch_size=1000: np.argmin(model.predict(images, verbose=0), axis=1),
            ("argmax over axis=1",),
        ),
    ],
    ids=["probabilities", "axis-0", "max-not-argmax", "keepdims", "one-based", "float-labels", "argmin"],
)
def test_predict_labels_slips(predict_labels, hints):
    fails_with("predict_labels", predict_labels, *hints)


@pytest.mark.parametrize(
    "predict_labels",
    [
        lambda model, images, batch_size=1000: model.predict(images, batch_size=batch_size, verbose=0).argmax(axis=-1),
        lambda model, images, batch_size=1000: keras.ops.argmax(model(images, training=False), axis=-1),
        lambda model, images, batch_size=1000: tf.argmax(model.predict_on_batch(images), axis=1),
    ],
    ids=["argmax-method", "keras-ops-on-call", "tf-argmax"],
)
def test_predict_labels_alternatives(predict_labels):
    passes("predict_labels", predict_labels)


# --- confusion_counts(y_true, y_pred, num_classes) -> integer array (C, C), rows = true


def _fancy_index_increment(y_true, y_pred, num_classes=10):
    counts = np.zeros((num_classes, num_classes), dtype=int)
    counts[y_true, y_pred] += 1
    return counts


def _float_counts(y_true, y_pred, num_classes=10):
    counts = np.zeros((num_classes, num_classes))
    for t, p in zip(y_true, y_pred):
        counts[t, p] += 1
    return counts


@pytest.mark.parametrize(
    ("confusion_counts", "hints"),
    [
        (
            lambda y_true, y_pred, num_classes=10: confusion_matrix(y_pred, y_true, labels=range(num_classes)),
            ("transposed",),
        ),
        (lambda y_true, y_pred, num_classes=10: confusion_matrix(y_true, y_pred), ("even a class that never occurs",)),
        (
            lambda y_true, y_pred, num_classes=10: confusion_matrix(y_true, y_pred, labels=range(10)),
            ("(10, 10)", "use the num_classes argument"),
        ),
        (_fancy_index_increment, ("every cell is 0 or 1", "np.add.at")),
        (_float_counts, ("expected integers", "dtype=int")),
    ],
    ids=["transposed", "classes-seen-only", "fixed-10", "fancy-index-increment", "float-counts"],
)
def test_confusion_counts_slips(confusion_counts, hints):
    fails_with("confusion_counts", confusion_counts, *hints)


@pytest.mark.parametrize(
    "confusion_counts",
    [
        lambda y_true, y_pred, num_classes=10: confusion_matrix(y_true, y_pred, labels=list(range(num_classes))),
        lambda y_true, y_pred, num_classes=10: np.bincount(
            y_true * num_classes + y_pred, minlength=num_classes**2
        ).reshape(num_classes, num_classes),
        lambda y_true, y_pred, num_classes=10: tf.math.confusion_matrix(y_true, y_pred, num_classes=num_classes),
    ],
    ids=["sklearn-labels", "bincount", "tensorflow"],
)
def test_confusion_counts_alternatives(confusion_counts):
    passes("confusion_counts", confusion_counts)


# --- most_confident_mistakes(probabilities, y_true, k) -> integer array of at most k indices


def _mistakes_and_confidence(probabilities, y_true):
    predicted = np.argmax(probabilities, axis=1)
    wrong = np.flatnonzero(predicted != y_true)
    return wrong, probabilities[wrong, predicted[wrong]]


def _least_confident_first(probabilities, y_true, k=9):
    wrong, confidence = _mistakes_and_confidence(probabilities, y_true)
    return wrong[np.argsort(confidence)][:k]


def _by_true_class(probabilities, y_true, k=9):
    wrong, _ = _mistakes_and_confidence(probabilities, y_true)
    return wrong[np.argsort(-probabilities[wrong, y_true[wrong]], kind="stable")][:k]


def _ignores_k(probabilities, y_true, k=9):
    wrong, confidence = _mistakes_and_confidence(probabilities, y_true)
    return wrong[np.argsort(-confidence)]


def _top_k_overall(probabilities, y_true, k=9):
    return np.argsort(-probabilities.max(axis=1))[:k]


def _returns_confidences(probabilities, y_true, k=9):
    _, confidence = _mistakes_and_confidence(probabilities, y_true)
    return np.sort(confidence)[::-1][:k]


def _fixed_nine(probabilities, y_true, k=9):
    wrong, confidence = _mistakes_and_confidence(probabilities, y_true)
    return wrong[np.argsort(-confidence)][:9]


@pytest.mark.parametrize(
    ("most_confident_mistakes", "hints"),
    [
        (_least_confident_first, ("least confident mistake first", "highest first")),
        (_by_true_class, ("probability of the true class",)),
        (_ignores_k, ("with k=3 it returned", "[:k]")),
        (_top_k_overall, ("include correct predictions",)),
        (_returns_confidences, ("expected integers", "indices of the images")),
        (_fixed_nine, ("with k=3 it returned", "[:k]")),
    ],
    ids=[
        "least-confident-first",
        "sorted-by-true-class",
        "ignores-k",
        "top-k-overall",
        "returns-confidences",
        "fixed-nine",
    ],
)
def test_most_confident_mistakes_slips(most_confident_mistakes, hints):
    fails_with("most_confident_mistakes", most_confident_mistakes, *hints)


def _python_sorted(probabilities, y_true, k=9):
    mistakes = [(float(row.max()), index) for index, row in enumerate(probabilities) if row.argmax() != y_true[index]]
    return np.array([index for _, index in sorted(mistakes, reverse=True)[:k]], dtype=int)


def _tf_top_k(probabilities, y_true, k=9):
    wrong, confidence = _mistakes_and_confidence(probabilities, y_true)
    top = tf.math.top_k(confidence, k=min(k, len(wrong)))
    return tf.gather(wrong, top.indices)


@pytest.mark.parametrize(
    "most_confident_mistakes",
    [
        _python_sorted,
        _tf_top_k,
        lambda probabilities, y_true, k=9: np.flatnonzero(probabilities.argmax(1) != y_true)[
            np.argsort(probabilities.max(1)[probabilities.argmax(1) != y_true])[::-1]
        ][:k],
    ],
    ids=["python-sorted", "tf-top-k", "reversed-argsort"],
)
def test_most_confident_mistakes_alternatives(most_confident_mistakes):
    passes("most_confident_mistakes", most_confident_mistakes)
