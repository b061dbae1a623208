"""Every course function that takes labels reads (N,), (N, 1) (as keras.datasets.cifar10 returns them) and lists
the same way, and refuses labels of another shape with a message that says what to pass: never a silent wrong
number (labels (N, 1) compared with predictions (N,) broadcast to N x N)."""

from __future__ import annotations

import dataclasses

import keras
import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from cnn_course import data, evaluation, plots, recipes, training  # noqa: E402
from cnn_course.labels import class_indices  # noqa: E402
from cnn_course.sample_images import write_sample_images  # noqa: E402

CLASS_NAMES = ("zero", "one", "two")
LABELS = np.array([0, 1, 2, 2, 1, 0, 1, 2, 0, 1, 2, 0], dtype=np.uint8)
IMAGES = np.random.default_rng(0).integers(0, 256, (len(LABELS), 4, 4, 1), dtype=np.uint8)
SHAPES = {
    "(N,)": lambda labels: labels,
    "(N, 1)": lambda labels: labels.reshape(-1, 1),
    "list": lambda labels: labels.tolist(),
    "one-hot": lambda labels: np.eye(3)[labels],
}
PROBABILITIES = np.full((len(LABELS), 3), 1 / 3)  # no valid label: probabilities (N, 3) where class indices belong


@pytest.fixture(scope="module")
def model():
    """A classifier that gets most of LABELS right on IMAGES: it learns them in a few steps."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((4, 4, 1)), keras.layers.Flatten(), keras.layers.Dense(3, activation="softmax")]
    )
    model.compile(keras.optimizers.Adam(0.05), "sparse_categorical_crossentropy")
    model.fit(data.scale_images(IMAGES), LABELS, epochs=60, verbose=0)
    return model


def figure_texts(figure) -> list[tuple[str, tuple]]:
    texts = [(axis.get_title(), axis.title.get_color()) for axis in figure.axes]
    texts += [
        (text.get_text(), ()) for axis in figure.axes if axis.get_legend() for text in axis.get_legend().get_texts()
    ]
    plt.close(figure)
    return texts


def evaluate(model, labels):
    result = evaluation.evaluate_classifier(model, data.scale_images(IMAGES), labels, CLASS_NAMES)
    return result.accuracy, result.loss, result.confusion.tolist()


CALLS = {
    "class_indices": lambda model, labels: class_indices(labels).tolist(),
    "evaluate_classifier": evaluate,
    "cross_entropy": lambda model, labels: evaluation.cross_entropy(np.eye(3)[LABELS] * 0.8 + 0.2 / 3, labels),
    "plot_predictions": lambda model, labels: figure_texts(
        plots.plot_predictions(IMAGES, labels, labels[::-1], CLASS_NAMES)
    ),
    "plot_roc_curves": lambda model, labels: figure_texts(
        plots.plot_roc_curves(labels, np.eye(3)[LABELS[::-1]], CLASS_NAMES)
    ),
    "train_validation_split": lambda model, labels: [
        part[1].tolist() for part in data.train_validation_split(IMAGES, labels, 0.25)
    ],
    "stratified_subset": lambda model, labels: data.stratified_subset(IMAGES, labels, 6)[1].tolist(),
    "select_classes": lambda model, labels: data.select_classes(IMAGES, labels, [2, 0])[1].tolist(),
    "Recipe.targets": lambda model, labels: (
        dataclasses.replace(recipes.MNIST_RECIPES[0], label_smoothing=0.1).targets(labels, 3).tolist()
    ),
    "fit_classifier": lambda model, labels: fit(model, labels),
}


def fit(model, labels) -> list[float]:
    """The losses of one epoch of fit_classifier on a copy of `model`, deterministic."""
    keras.utils.set_random_seed(1)
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    training.compile_classifier(copy)
    images = data.scale_images(IMAGES)
    run = training.fit_classifier(copy, images, labels, images, labels, epochs=1, batch_size=len(LABELS), verbose=0)
    return [round(value, 5) for value in run.history["loss"] + run.history["val_loss"]]


@pytest.mark.parametrize("shape", [shape for shape in SHAPES if shape != "(N,)"])
@pytest.mark.parametrize("name", CALLS)
def test_every_shape_of_labels_gives_the_same_result(name, shape, model, tmp_path):
    expected = CALLS[name](model, LABELS)
    assert CALLS[name](model, SHAPES[shape](LABELS)) == expected


@pytest.mark.parametrize("name", CALLS)
def test_labels_of_a_wrong_shape_are_refused_with_what_to_pass(name, model):
    with pytest.raises(
        ValueError, match=r"must hold one class index per sample, shape \(N,\) or \(N, 1\); got shape \(12, 3, 1\)"
    ):
        CALLS[name](model, PROBABILITIES[..., np.newaxis])
    with pytest.raises(ValueError, match=r"not one-hot rows: pass one class index per sample, shape \(12,\)"):
        CALLS[name](model, PROBABILITIES)


def test_labels_of_another_count_or_class_are_refused(model):
    with pytest.raises(ValueError, match="hold 11 labels for 12 samples"):
        evaluate(model, LABELS[:-1])
    with pytest.raises(ValueError, match="must lie between 0 and 2"):
        evaluate(model, LABELS + 1)
    with pytest.raises(ValueError, match="must be whole class numbers"):
        class_indices([0.5, 1.0])


def test_the_sample_images_are_named_by_their_class(tmp_path):
    images = np.repeat(IMAGES[:5], 3, axis=-1)
    names = [path.name for path in write_sample_images(tmp_path / "a", images, LABELS[:5].reshape(-1, 1), CLASS_NAMES)]
    assert names[:2] == ["0_zero.png", "1_one.jpg"]
    with pytest.raises(ValueError, match="not one-hot rows"):
        write_sample_images(tmp_path / "b", images, PROBABILITIES[:5], CLASS_NAMES)
