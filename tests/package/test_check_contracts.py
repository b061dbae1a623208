"""The checks fail the mistakes the lessons warn about, naming the cause, and pass valid alternatives.

Run in this process on plain functions (as a lesson's self-check runs them); the same checks run on
the learner process's results when grading (see test_hostile_lessons and test_valid_alternatives).
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import layers

from cnn_course.checks import CHECKS

from .conftest import fails_with, master_namespace


def test_counts_without_minlength_miss_the_last_classes():
    fails_with(
        "count_per_class", lambda labels, num_classes=10: np.bincount(labels), "num_classes=10 asks for 10", "minlength"
    )


def test_channel_statistics_accumulated_in_float32_are_caught():
    def float32_sums(images):
        return images.mean(axis=(0, 1, 2)).astype("float32"), images.std(axis=(0, 1, 2)).astype("float32")

    fails_with("channel_mean_std", float32_sums, "8 million values per channel", "dtype=np.float64")


def test_channel_statistics_in_float64_break_the_contract():
    def float64_result(images):
        return images.mean(axis=(0, 1, 2), dtype=np.float64), images.std(axis=(0, 1, 2), dtype=np.float64)

    fails_with("channel_mean_std", float64_result, "dtype float64", "float32")


def test_the_channel_statistics_master_passes():
    CHECKS["channel_mean_std"](master_namespace("04_cifar10_data")["channel_mean_std"])


def _mnist_layers(num_classes: int, extra: list | None = None, skip_first_dropout: bool = False) -> list:
    head = [
        layers.Dense(128, activation="relu"),
        layers.Dropout(0.3),
        *(extra or []),
        layers.Dense(num_classes, activation="softmax"),
    ]
    body = [
        layers.Conv2D(32, 3, activation="relu"),
        layers.MaxPooling2D(),
        layers.Conv2D(64, 3, activation="relu"),
        layers.MaxPooling2D(),
        layers.Flatten(),
    ]
    return body + ([] if skip_first_dropout else [layers.Dropout(0.3)]) + head


def test_an_extra_dense_layer_is_reported_as_extra_not_as_a_wrong_output():
    def with_extra_dense(input_shape=(28, 28, 1), num_classes=10):
        return keras.Sequential(
            [keras.Input(input_shape), *_mnist_layers(num_classes, extra=[layers.Dense(64, activation="relu")])]
        )

    message = fails_with(
        "build_mnist_cnn", with_extra_dense, "is not in the reference model", "remove this Dense layer"
    )
    assert "output layer has 64 units" not in message


def test_a_missing_layer_is_reported_as_missing():
    def without_dropout(input_shape=(28, 28, 1), num_classes=10):
        return keras.Sequential([keras.Input(input_shape), *_mnist_layers(num_classes, skip_first_dropout=True)])

    fails_with("build_mnist_cnn", without_dropout, "that layer is missing", "add a Dropout layer")


def test_sequential_with_input_shape_and_functional_models_pass():
    def with_input_shape(input_shape=(28, 28, 1), num_classes=10):
        return keras.Sequential(
            [
                layers.Conv2D(32, 3, activation="relu", input_shape=input_shape),
                layers.MaxPooling2D(),
                layers.Conv2D(64, 3, activation="relu"),
                layers.MaxPooling2D(),
                layers.Flatten(),
                layers.Dropout(0.3),
                layers.Dense(128, activation="relu"),
                layers.Dropout(0.3),
                layers.Dense(num_classes, activation="softmax"),
            ]
        )

    CHECKS["build_mnist_cnn"](with_input_shape)


def _compile_with(**settings):
    def compile_classifier(model, learning_rate=1e-3):
        model.compile(
            **{
                "optimizer": keras.optimizers.Adam(learning_rate),
                "loss": "sparse_categorical_crossentropy",
                "metrics": ["accuracy"],
                **settings,
            }
        )
        return model

    return compile_classifier


@pytest.mark.parametrize(
    "settings",
    [
        {"metrics": [keras.metrics.SparseCategoricalAccuracy()]},
        {"metrics": ["sparse_categorical_accuracy"]},
        {"loss": keras.losses.SparseCategoricalCrossentropy()},
        {"loss": keras.losses.sparse_categorical_crossentropy},
    ],
)
def test_losses_and_metrics_compare_on_what_they_compute(settings):
    CHECKS["compile_classifier"](_compile_with(**settings))


@pytest.mark.parametrize(
    ("settings", "hint"),
    [
        ({"metrics": [keras.metrics.Accuracy()]}, "probabilities never are"),
        ({"metrics": [keras.metrics.CategoricalAccuracy()]}, "one-hot labels"),
        ({"loss": keras.losses.SparseCategoricalCrossentropy(from_logits=True)}, "from_logits"),
        ({"loss": "categorical_crossentropy"}, "one-hot labels"),
        ({"optimizer": keras.optimizers.Adam()}, "Adam's default"),
    ],
)
def test_metric_and_loss_slips_get_a_hint_naming_them(settings, hint):
    fails_with("compile_classifier", _compile_with(**settings), hint)


def test_a_compile_that_does_not_return_the_model_fails():
    def no_return(model, learning_rate=1e-3):
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate), loss="sparse_categorical_crossentropy", metrics=["accuracy"]
        )

    fails_with("compile_classifier", no_return, "return model")


def test_training_that_ignores_the_validation_data_fails():
    def validation_split(model, x_train, y_train, x_val, y_val, epochs, batch_size):
        return model.fit(x_train, y_train, validation_split=0.2, epochs=epochs, batch_size=batch_size, verbose=0)

    fails_with("train_classifier", validation_split, "validation_split")

    def no_validation(model, x_train, y_train, x_val, y_val, epochs, batch_size):
        return model.fit(x_train, y_train, epochs=epochs, batch_size=batch_size, verbose=0)

    fails_with("train_classifier", no_validation, "validation_data=(x_val, y_val)")


def test_precision_for_the_wrong_classes_is_named():
    namespace = master_namespace("06_cifar10_evaluation")

    def shifted(y_true, y_pred, num_classes=10):
        precision, recall, f1 = namespace["precision_recall_f1"](y_true, y_pred, num_classes)
        return np.roll(precision, 1), recall, f1

    fails_with("precision_recall_f1", shifted, "right values for the wrong classes")
