"""Evaluating a classifier on a test set: accuracy, loss, confusion matrix, per-class report."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import keras
import numpy as np
from sklearn.metrics import classification_report, confusion_matrix

from cnn_course.labels import class_indices


def shifted_view(images: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """Return images (N, H, W, C) moved down by `dy` and right by `dx` pixels (negative: up, left), the
    border reflected; same shape and dtype."""
    pad = max(abs(dy), abs(dx))
    height, width = images.shape[1:3]
    padded = np.pad(images, ((0, 0), (pad, pad), (pad, pad), (0, 0)), mode="reflect")
    return padded[:, pad - dy : pad - dy + height, pad - dx : pad - dx + width]


def shifted_views(images: np.ndarray, shift: int) -> list[np.ndarray]:
    """Return three views of images (N, H, W, C): as they are, and shifted by `shift` pixels down-right
    and up-left (the border reflected), each of shape (N, H, W, C) and the dtype of `images`."""
    return [images, shifted_view(images, shift, shift), shifted_view(images, -shift, -shift)]


def predict_probabilities(
    model: keras.Model, images: np.ndarray, batch_size: int = 1000, flip_tta: bool = False, shift_tta: int = 0
) -> np.ndarray:
    """Return the model's class probabilities, float32 of shape (N, num_classes).

    Test-time augmentation: with flip_tta, average the predictions for each image and its left-right
    mirror image; with shift_tta > 0, also for the image shifted by that many pixels down-right and
    up-left (see `shifted_views`), each mirrored too when flip_tta is set (6 views in all).
    """
    views = shifted_views(images, shift_tta) if shift_tta > 0 else [images]
    if flip_tta:
        views += [view[:, :, ::-1] for view in views]
    total = np.zeros((len(images), model.output_shape[-1]), dtype=np.float32)
    for view in views:
        total += np.asarray(model.predict(view, batch_size=batch_size, verbose=0), dtype=np.float32)
    return total / len(views)


def cross_entropy(probabilities: np.ndarray, y_true: np.ndarray) -> float:
    """Return the mean sparse categorical cross-entropy, as Keras computes it (clipped at 1e-7).

    `probabilities` float (N, classes); `y_true` class indices (N,), (N, 1), a list or one-hot rows
    (see `labels.class_indices`, which raises ValueError for anything else).
    """
    probabilities = np.asarray(probabilities)
    y_true = class_indices(y_true, count=len(probabilities), num_classes=probabilities.shape[-1], name="y_true")
    picked = probabilities[np.arange(len(y_true)), y_true]
    return float(-np.mean(np.log(np.clip(picked, 1e-7, 1.0))))


@dataclass
class Evaluation:
    """A classifier's results on a labelled test set."""

    accuracy: float
    loss: float
    confusion: np.ndarray
    report_text: str
    probabilities: np.ndarray


def evaluate_classifier(
    model: keras.Model,
    x_test: np.ndarray,
    y_test: np.ndarray,
    class_names: Sequence[str],
    flip_tta: bool = False,
    shift_tta: int = 0,
) -> Evaluation:
    """Evaluate `model` on (x_test, y_test) with scikit-learn's metrics (optionally with test-time flips and shifts).

    `y_test`: one class index per image, shaped (N,) or (N, 1) (as keras.datasets.cifar10 returns them), a list,
    or one-hot rows; anything else raises ValueError saying what to pass (see `labels.class_indices`).
    """
    y_test = class_indices(y_test, count=len(x_test), num_classes=len(class_names), name="y_test")
    probabilities = predict_probabilities(model, x_test, flip_tta=flip_tta, shift_tta=shift_tta)
    predicted = np.argmax(probabilities, axis=1)
    labels = list(range(len(class_names)))
    names = [str(name) for name in class_names]
    return Evaluation(
        accuracy=float(np.mean(predicted == y_test)),
        loss=cross_entropy(probabilities, y_test),
        confusion=confusion_matrix(y_test, predicted, labels=labels),
        report_text=classification_report(y_test, predicted, labels=labels, target_names=names, digits=4),
        probabilities=probabilities,
    )
