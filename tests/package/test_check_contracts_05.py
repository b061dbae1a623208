"""Lesson 05's checks fail typical slips with a hint naming the cause, and pass other valid ways to write them."""

from __future__ import annotations

from pathlib import Path

import keras
import pytest
from keras import layers

from .conftest import fails_with, passes

# --- build_seed_cnn(input_shape, num_classes) -> keras.Model


def _seed(
    input_shape=(32, 32, 3),
    num_classes=10,
    *,
    relu=lambda: layers.ReLU(),
    relu_before_norm=False,
    conv_dropout=0.25,
    dense_bias=False,
    fixed_input=None,
    with_norm=True,
):
    def block(filters):
        if relu_before_norm:
            return [
                layers.Conv2D(filters, 3, padding="same", use_bias=False, activation="relu"),
                layers.BatchNormalization(),
            ]
        return [
            layers.Conv2D(filters, 3, padding="same", use_bias=False),
            *([layers.BatchNormalization()] if with_norm else []),
            relu(),
        ]

    return keras.Sequential(
        [
            keras.Input(shape=fixed_input or input_shape),
            *block(32),
            *block(32),
            layers.MaxPooling2D(2),
            layers.Dropout(conv_dropout),
            *block(64),
            *block(64),
            layers.MaxPooling2D(2),
            layers.Dropout(conv_dropout),
            layers.Flatten(),
            layers.Dense(512, use_bias=dense_bias),
            layers.BatchNormalization(),
            relu(),
            layers.Dropout(0.5),
            layers.Dense(num_classes, activation="softmax"),
        ]
    )


@pytest.mark.parametrize(
    ("options", "hints"),
    [
        ({"relu_before_norm": True}, ("layer 1 differs", "BatchNormalization comes between")),
        ({"conv_dropout": 0.5}, ("dropout rate should be 0.25, not 0.5",)),
        ({"dense_bias": True}, ("use_bias=False",)),
        ({"fixed_input": (32, 32, 3)}, ("called with input_shape=(", "keras.Input(shape=input_shape)")),
        ({"with_norm": False}, ("layer 1 differs", "BatchNormalization is missing")),
    ],
    ids=["relu-before-batch-norm", "conv-dropout", "dense-bias", "fixed-input-shape", "no-batch-norm"],
)
def test_build_seed_cnn_slips(options, hints):
    fails_with(
        "build_seed_cnn",
        lambda input_shape=(32, 32, 3), num_classes=10: _seed(input_shape, num_classes, **options),
        *hints,
    )


def _functional(input_shape=(32, 32, 3), num_classes=10):
    inputs = keras.Input(shape=input_shape)
    x = inputs
    for filters in (32, 32, "pool", 64, 64, "pool"):
        if filters == "pool":
            x = layers.Dropout(0.25)(layers.MaxPooling2D()(x))
            continue
        x = layers.Activation("relu")(
            layers.BatchNormalization()(layers.Conv2D(filters, (3, 3), padding="same", use_bias=False)(x))
        )
    x = layers.Dense(512, use_bias=False)(layers.Flatten()(x))
    x = layers.Dropout(0.5)(layers.ReLU()(layers.BatchNormalization()(x)))
    return keras.Model(inputs, layers.Dense(num_classes, activation="softmax")(x))


def _input_shape_argument(input_shape=(32, 32, 3), num_classes=10):
    model = _seed(input_shape, num_classes, relu=lambda: layers.Activation("relu"))
    first = layers.Conv2D(32, 3, padding="same", use_bias=False, input_shape=input_shape)
    return keras.Sequential([first, *model.layers[1:]])


@pytest.mark.parametrize(
    "build_seed_cnn",
    [
        lambda input_shape=(32, 32, 3), num_classes=10: _seed(
            input_shape, num_classes, relu=lambda: layers.Activation("relu")
        ),
        _functional,
        _input_shape_argument,
    ],
    ids=["activation-relu-layers", "functional", "input-shape-argument"],
)
def test_build_seed_cnn_alternatives(build_seed_cnn):
    passes("build_seed_cnn", build_seed_cnn)


# --- build_augmentation(max_shift) -> a Keras layer: horizontal flip and shift while training, identity otherwise


@pytest.mark.parametrize(
    ("build_augmentation", "hints"),
    [
        (
            lambda max_shift=0.0625: keras.Sequential(
                [layers.RandomFlip("horizontal_and_vertical"), layers.RandomTranslation(max_shift, max_shift)]
            ),
            ("upside-down",),
        ),
        (
            lambda max_shift=0.0625: keras.Sequential(
                [layers.RandomFlip("vertical"), layers.RandomTranslation(max_shift, max_shift)]
            ),
            ("upside-down",),
        ),
        (
            lambda max_shift=0.0625: keras.Sequential(
                [layers.RandomFlip("horizontal"), layers.RandomTranslation(0.0625, 0.0625)]
            ),
            ("pass max_shift as both",),
        ),
        (
            lambda max_shift=0.0625: keras.Sequential(
                [layers.RandomFlip("horizontal"), layers.RandomTranslation(max_shift, 0.0)]
            ),
            ("pass max_shift as both",),
        ),
        (
            lambda max_shift=0.0625: keras.Sequential(
                [layers.RandomFlip("horizontal"), layers.RandomRotation(max_shift)]
            ),
            ("no RandomTranslation",),
        ),
        (
            lambda max_shift=0.0625: keras.Sequential(
                [
                    layers.RandomFlip("horizontal"),
                    layers.RandomTranslation(max_shift, max_shift),
                    layers.RandomRotation(0.1),
                ]
            ),
            ("also holds RandomRotation",),
        ),
        (
            lambda max_shift=0.0625: keras.Sequential(
                [
                    layers.RandomFlip("horizontal"),
                    layers.RandomTranslation(max_shift, max_shift),
                    layers.Rescaling(1 / 255),
                ]
            ),
            ("changes the images at inference",),
        ),
    ],
    ids=[
        "both-flips",
        "vertical-flip",
        "fixed-shift",
        "height-only",
        "rotation-instead",
        "extra-rotation",
        "rescaling",
    ],
)
def test_build_augmentation_slips(build_augmentation, hints):
    fails_with("build_augmentation", build_augmentation, *hints)


def _functional_augmentation(max_shift=0.0625):
    inputs = keras.Input(shape=(None, None, 3))
    shifted = layers.RandomTranslation(height_factor=(-max_shift, max_shift), width_factor=(-max_shift, max_shift))(
        inputs
    )
    return keras.Model(inputs, layers.RandomFlip(mode="horizontal")(shifted))


@pytest.mark.parametrize(
    "build_augmentation",
    [
        lambda max_shift=0.0625: keras.Sequential(
            [layers.RandomTranslation(max_shift, max_shift), layers.RandomFlip("horizontal")]
        ),
        lambda max_shift=0.0625: keras.Sequential(
            [
                layers.RandomFlip("horizontal", seed=1),
                layers.RandomTranslation((-max_shift, max_shift), (-max_shift, max_shift), fill_mode="nearest", seed=2),
            ]
        ),
        _functional_augmentation,
    ],
    ids=["shift-then-flip", "tuple-factors-and-seeds", "functional"],
)
def test_build_augmentation_alternatives(build_augmentation):
    passes("build_augmentation", build_augmentation)


# --- training_callbacks(checkpoint_path, patience) -> [EarlyStopping, ModelCheckpoint] on validation accuracy


def _callbacks(stopping=None, checkpoint=None):
    def training_callbacks(checkpoint_path, patience=3):
        return [
            keras.callbacks.EarlyStopping(
                **{"monitor": "val_accuracy", "patience": patience, "restore_best_weights": True, **(stopping or {})}
            ),
            keras.callbacks.ModelCheckpoint(
                checkpoint_path, **{"monitor": "val_accuracy", "save_best_only": True, **(checkpoint or {})}
            ),
        ]

    return training_callbacks


@pytest.mark.parametrize(
    ("training_callbacks", "hints"),
    [
        (_callbacks(stopping={"monitor": "val_acc"}), ("'val_acc'", "never acts", "monitor 'val_accuracy'")),
        (_callbacks(stopping={"mode": "min"}), ("mode='min'", "worst epoch")),
        (_callbacks(checkpoint={"monitor": "val_loss", "mode": "max"}), ("mode='max'",)),
        (_callbacks(stopping={"monitor": "accuracy"}), ("a training metric",)),
        (_callbacks(stopping={"patience": 3}), ("EarlyStopping has patience=3", "pass patience=patience")),
        (_callbacks(stopping={"restore_best_weights": False}), ("restore_best_weights=True",)),
        (_callbacks(checkpoint={"save_best_only": False}), ("save_best_only=True",)),
        (lambda checkpoint_path, patience=3: _callbacks()("best.keras", patience), ("pass checkpoint_path",)),
        (
            lambda checkpoint_path, patience=3: _callbacks()(checkpoint_path, patience)[0],
            ("one EarlyStopping", "return [early_stopping, checkpoint]"),
        ),
        (
            lambda checkpoint_path, patience=3: set(_callbacks()(checkpoint_path, patience)),
            ("returned set", "a list of keras callbacks"),
        ),
        (lambda checkpoint_path, patience=3: None, ("returned None", "`return` statement")),
    ],
    ids=[
        "old-metric-name",
        "stopping-mode-min",
        "checkpoint-mode-max",
        "training-metric",
        "fixed-patience",
        "last-weights",
        "every-epoch",
        "fixed-path",
        "single-callback",
        "set",
        "returns-nothing",
    ],
)
def test_training_callbacks_slips(training_callbacks, hints):
    fails_with("training_callbacks", training_callbacks, *hints)


@pytest.mark.parametrize(
    "training_callbacks",
    [
        lambda checkpoint_path, patience=3: list(reversed(_callbacks()(checkpoint_path, patience))),
        _callbacks(stopping={"mode": "max", "verbose": 1}, checkpoint={"mode": "max", "verbose": 1}),
        lambda checkpoint_path, patience=3: _callbacks()(str(Path(checkpoint_path)), patience),
        lambda checkpoint_path, patience=3: tuple(_callbacks()(checkpoint_path, patience)),
    ],
    ids=["checkpoint-first", "explicit-mode-max", "path-as-string", "tuple"],
)
def test_training_callbacks_alternatives(training_callbacks):
    passes("training_callbacks", training_callbacks)
