"""Lesson 02's checks fail typical slips with a hint naming the cause, and pass other valid ways to write them."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest
from keras import layers

from .conftest import fails_with, passes

# --- conv_output_size(input_size, kernel_size, stride, padding) -> int


def _same_as_valid(input_size, kernel_size, stride=1, padding="valid"):
    return (input_size - kernel_size) // stride + 1


def _padded_half_kernel(input_size, kernel_size, stride=1, padding="valid"):
    pad = kernel_size // 2 if padding == "same" else 0
    return (input_size + 2 * pad - kernel_size) // stride + 1


def _rounded(input_size, kernel_size, stride=1, padding="valid"):
    if padding == "same":
        return round(input_size / stride)
    return (input_size - kernel_size) // stride + 1


def _true_division(input_size, kernel_size, stride=1, padding="valid"):
    if padding == "same":
        return math.ceil(input_size / stride)
    return (input_size - kernel_size) / stride + 1


def _float_ceil(input_size, kernel_size, stride=1, padding="valid"):
    if padding == "same":
        return np.ceil(input_size / stride)
    return (input_size - kernel_size) // stride + 1


@pytest.mark.parametrize(
    ("conv_output_size", "hints"),
    [
        (
            lambda input_size, kernel_size, stride=1, padding="valid": (input_size - kernel_size) // stride,
            ("the + 1 is missing",),
        ),
        (
            lambda input_size, kernel_size, stride=1, padding="valid": input_size - kernel_size + 1,
            ("the stride is ignored",),
        ),
        (
            lambda input_size, kernel_size, stride=1, padding="valid": (input_size - kernel_size + 1) // stride,
            ("// stride + 1",),
        ),
        (_same_as_valid, ("padding='same'", "ceil(input_size / stride)")),
        (_padded_half_kernel, ("whatever the kernel size",)),
        (_rounded, ("ceil(input_size / stride)",)),
        (_true_division, ("a float; expected an int", "floor division")),
        (_float_ceil, ("a float64", "int(...)")),
    ],
    ids=[
        "missing-plus-one",
        "stride-ignored",
        "stride-before-plus-one",
        "same-as-valid",
        "padding-kernel-half",
        "round",
        "true-division",
        "np-ceil",
    ],
)
def test_conv_output_size_slips(conv_output_size, hints):
    fails_with("conv_output_size", conv_output_size, *hints)


def _keras_computes(input_size, kernel_size, stride=1, padding="valid"):
    layer = layers.Conv2D(1, kernel_size, strides=stride, padding=padding)
    return layer.compute_output_shape((None, input_size, input_size, 1))[1]


@pytest.mark.parametrize(
    "conv_output_size",
    [
        lambda input_size, kernel_size, stride=1, padding="valid": (
            -(-input_size // stride) if padding == "same" else (input_size - kernel_size) // stride + 1
        ),
        lambda input_size, kernel_size, stride=1, padding="valid": math.ceil(
            (input_size - (kernel_size - 1 if padding == "valid" else 0)) / stride
        ),
        lambda input_size, kernel_size, stride=1, padding="valid": (
            int(np.ceil(input_size / stride))
            if padding == "same"
            else int(np.floor((input_size - kernel_size) / stride)) + 1
        ),
        _keras_computes,
    ],
    ids=["negative-floor", "one-ceil", "numpy-cast", "keras"],
)
def test_conv_output_size_alternatives(conv_output_size):
    passes("conv_output_size", conv_output_size)


# --- conv2d_param_count(kernel_size, in_channels, filters) -> int


@pytest.mark.parametrize(
    ("conv2d_param_count", "hints"),
    [
        (
            lambda kernel_size, in_channels, filters: kernel_size * kernel_size * in_channels * filters,
            ("not the biases",),
        ),
        (
            lambda kernel_size, in_channels, filters: (kernel_size * kernel_size + 1) * in_channels * filters,
            ("one bias per filter, not one per filter and input channel",),
        ),
        (
            lambda kernel_size, in_channels, filters: (kernel_size * kernel_size + 1) * filters,
            ("spans every input channel",),
        ),
        (
            lambda kernel_size, in_channels, filters: (kernel_size * in_channels + 1) * filters,
            ("square the kernel size",),
        ),
        (
            lambda kernel_size, in_channels, filters: (math.pow(kernel_size, 2) * in_channels + 1) * filters,
            ("a float", "math.pow"),
        ),
    ],
    ids=["no-bias", "bias-per-channel", "no-input-channels", "kernel-not-squared", "math-pow-float"],
)
def test_conv2d_param_count_slips(conv2d_param_count, hints):
    fails_with("conv2d_param_count", conv2d_param_count, *hints)


def _keras_counts(kernel_size, in_channels, filters):
    layer = layers.Conv2D(filters, kernel_size)
    layer.build((None, 8, 8, in_channels))
    return layer.count_params()


@pytest.mark.parametrize(
    "conv2d_param_count",
    [
        lambda kernel_size, in_channels, filters: filters * kernel_size**2 * in_channels + filters,
        lambda kernel_size, in_channels, filters: (
            int(np.prod([kernel_size, kernel_size, in_channels, filters])) + filters
        ),
        _keras_counts,
    ],
    ids=["expanded", "numpy-product", "keras"],
)
def test_conv2d_param_count_alternatives(conv2d_param_count):
    passes("conv2d_param_count", conv2d_param_count)


# --- build_mnist_cnn(input_shape, num_classes) -> keras.Model


def _mnist(
    input_shape=(28, 28, 1),
    num_classes=10,
    *,
    dropout=0.3,
    strides=1,
    pool=2,
    head_activation="softmax",
    fixed_input=None,
):
    return keras.Sequential(
        [
            keras.Input(fixed_input or input_shape),
            layers.Conv2D(32, 3, strides=strides, activation="relu"),
            layers.MaxPooling2D(pool),
            layers.Conv2D(64, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dropout(dropout),
            layers.Dense(128, activation="relu"),
            layers.Dropout(dropout),
            layers.Dense(num_classes, activation=head_activation),
        ]
    )


@pytest.mark.parametrize(
    ("build_mnist_cnn", "hints"),
    [
        (
            lambda input_shape=(28, 28, 1), num_classes=10: _mnist(input_shape, num_classes, fixed_input=(28, 28, 1)),
            ("called with input_shape=(", "keras.Input(shape=input_shape)"),
        ),
        (
            lambda input_shape=(28, 28, 1), num_classes=10: _mnist(input_shape, 10),
            ("with num_classes=", "instead of a fixed number"),
        ),
        (
            lambda input_shape=(28, 28, 1), num_classes=10: _mnist(input_shape, num_classes, dropout=0.5),
            ("layer 6 differs", "dropout rate should be 0.3, not 0.5"),
        ),
        (
            lambda input_shape=(28, 28, 1), num_classes=10: _mnist(input_shape, num_classes, strides=2),
            ("layer 1 differs", "strides should be (1, 1), not (2, 2)"),
        ),
        (
            lambda input_shape=(28, 28, 1), num_classes=10: _mnist(input_shape, num_classes, pool=3),
            ("layer 2 differs", "pool_size should be (2, 2), not (3, 3)"),
        ),
        (
            lambda input_shape=(28, 28, 1), num_classes=10: _mnist(input_shape, num_classes, head_activation="sigmoid"),
            ("activation='softmax'",),
        ),
    ],
    ids=["fixed-input-shape", "fixed-classes", "dropout-rate", "strides", "pool-size", "sigmoid-output"],
)
def test_build_mnist_cnn_slips(build_mnist_cnn, hints):
    fails_with("build_mnist_cnn", build_mnist_cnn, *hints)


def _functional(input_shape=(28, 28, 1), num_classes=10):
    inputs = keras.Input(shape=input_shape)
    x = layers.Conv2D(32, (3, 3), activation="relu")(inputs)
    x = layers.MaxPooling2D((2, 2))(x)
    x = layers.Conv2D(64, (3, 3), activation="relu")(x)
    x = layers.MaxPooling2D((2, 2))(x)
    x = layers.Dropout(0.3)(layers.Flatten()(x))
    x = layers.Dropout(rate=0.3)(layers.Dense(128, activation="relu")(x))
    return keras.Model(inputs, layers.Dense(num_classes, activation="softmax")(x))


def _separate_activations(input_shape=(28, 28, 1), num_classes=10):
    return keras.Sequential(
        [
            keras.Input(input_shape),
            layers.Conv2D(32, 3),
            layers.ReLU(),
            layers.MaxPooling2D(),
            layers.Conv2D(64, 3),
            layers.Activation("relu"),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dropout(0.3),
            layers.Dense(128),
            layers.Activation(keras.activations.relu),
            layers.Dropout(0.3),
            layers.Dense(num_classes),
            layers.Softmax(),
        ]
    )


def _added_one_by_one(input_shape=(28, 28, 1), num_classes=10):
    model = keras.Sequential()
    model.add(layers.Input(shape=input_shape))
    for layer in _mnist(input_shape, num_classes).layers:
        model.add(layer.__class__.from_config(layer.get_config()))
    return model


@pytest.mark.parametrize(
    "build_mnist_cnn",
    [_functional, _separate_activations, _added_one_by_one],
    ids=["functional", "activation-layers", "model-add"],
)
def test_build_mnist_cnn_alternatives(build_mnist_cnn):
    passes("build_mnist_cnn", build_mnist_cnn)


# --- compile_classifier(model, learning_rate) -> the model, compiled


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


def _new_model(model, learning_rate=1e-3):
    copy = keras.models.clone_model(model)
    copy.compile(
        optimizer=keras.optimizers.Adam(learning_rate), loss="sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    return copy


@pytest.mark.parametrize(
    ("compile_classifier", "hints"),
    [
        (_compile_with(optimizer="adam"), ("0.001", "Adam's default")),
        (_compile_with(optimizer=keras.optimizers.SGD(0.002)), ("SGD", "expected Adam")),
        (_compile_with(loss="mse"), ("the loss is mean_squared_error", "sparse_categorical_crossentropy")),
        (_compile_with(metrics=[]), ("accuracy is missing",)),
        (_compile_with(metrics=["categorical_accuracy"]), ("one-hot labels",)),
        (_new_model, ("return the model it was given",)),
    ],
    ids=["adam-string", "sgd", "mse", "no-metrics", "categorical-accuracy-string", "cloned-model"],
)
def test_compile_classifier_slips(compile_classifier, hints):
    fails_with("compile_classifier", compile_classifier, *hints)


@pytest.mark.parametrize(
    "compile_classifier",
    [
        _compile_with(metrics=("accuracy",)),
        _compile_with(metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")]),
        _compile_with(metrics=["acc"], jit_compile=False),
    ],
    ids=["metrics-tuple", "named-metric-object", "acc-alias-with-options"],
)
def test_compile_classifier_alternatives(compile_classifier):
    passes("compile_classifier", compile_classifier)


def test_a_model_without_an_input_shape_is_explained():
    def unbuilt(input_shape=(28, 28, 1), num_classes=10):
        return keras.Sequential(_mnist(input_shape, num_classes).layers)

    fails_with("build_mnist_cnn", unbuilt, "no input shape", "keras.Input(shape=input_shape)")
