"""Evaluating a classifier on a test set: accuracy, loss, confusion matrix, per-class report."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import keras
import numpy as np
from sklearn.metrics import classification_report, confusion_matrix


def predict_probabilities(model: keras.Model, images: np.ndarray, batch_size: int = 1000, flip_tta: bool = False) -> np.ndarray:
    """Return the model's class probabilities, float32 of shape (N, num_classes).

    With flip_tta, average the predictions for each image and its left-right mirror image.
    """
    probabilities = np.asarray(model.predict(images, batch_size=batch_size, verbose=0), dtype=np.float32)
    if flip_tta:
        mirrored = np.asarray(model.predict(images[:, :, ::-1], batch_size=batch_size, verbose=0), dtype=np.float32)
        probabilities = (probabilities + mirrored) / 2
    return probabilities


def cross_entropy(probabilities: np.ndarray, y_true: np.ndarray) -> float:
    """Return the mean sparse categorical cross-entropy, as Keras computes it (clipped at 1e-7)."""
    picked = probabilities[np.arange(len(y_true)), y_true.astype(np.int64)]
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
    model: keras.Model, x_test: np.ndarray, y_test: np.ndarray, class_names: Sequence[str], flip_tta: bool = False
) -> Evaluation:
    """Evaluate `model` on (x_test, y_test) with scikit-learn's metrics (optionally with flip TTA)."""
    probabilities = predict_probabilities(model, x_test, flip_tta=flip_tta)
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
