"""Saved models are judged on what they compute: the learner's own loss or metric does not stop a grader;
layers of the lesson's own still get the message that says to build from Keras's layers."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from cnn_course.checks.equivalences import loss_identity, metric_identities
from cnn_course.checks.feedback import CheckFailed
from cnn_course.checks.saved_models import check_model_accuracy, load_saved_model
from cnn_course.models import build_mnist_cnn
from cnn_course.runtime.decoding import load_learner_model


def lesson_loss(y_true, y_pred):
    return keras.losses.sparse_categorical_crossentropy(y_true, y_pred)


def lesson_metric(y_true, y_pred):
    return keras.metrics.sparse_categorical_accuracy(y_true, y_pred)


class LessonScale(keras.layers.Layer):
    def call(self, inputs):
        return inputs * 2.0


@pytest.fixture(scope="module")
def custom_compiled(tmp_path_factory):
    """The reference network compiled with a loss and a metric written as functions in the lesson, saved."""
    model = build_mnist_cnn()
    model.compile(optimizer=keras.optimizers.Adam(0.002), loss=lesson_loss, metrics=[lesson_metric])
    path = tmp_path_factory.mktemp("models") / "mnist_cnn.keras"
    model.save(path)
    return model, path


def test_a_model_compiled_with_the_lessons_loss_and_metric_is_graded_on_its_predictions(custom_compiled):
    model, path = custom_compiled
    loaded = load_saved_model("trained_mnist_cnn", path, "03")
    images = np.random.default_rng(0).random((64, 28, 28, 1), dtype=np.float32)
    labels = np.argmax(model.predict(images, verbose=0), axis=1)
    assert check_model_accuracy("trained_mnist_cnn", loaded, images, labels, 1.0) == 1.0


def test_crossing_from_the_learner_such_a_model_keeps_its_optimizer_and_names_its_loss(custom_compiled):
    _, path = custom_compiled
    model = load_learner_model(path)
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    assert np.isclose(model.optimizer.get_config()["learning_rate"], 0.002)
    assert loss_identity(model) == ("lesson_loss", False) and metric_identities(model) == ["lesson_metric"]


def test_a_layer_of_the_lessons_own_still_gets_the_clear_message(tmp_path):
    inputs = keras.Input((28, 28, 1))
    x = LessonScale()(inputs)
    model = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(keras.layers.Flatten()(x)))
    model.save(tmp_path / "mnist_cnn.keras")
    with pytest.raises(CheckFailed, match="it uses a class defined in your lesson, which the grader cannot load"):
        load_saved_model("trained_mnist_cnn", tmp_path / "mnist_cnn.keras", "03")
