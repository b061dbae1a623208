"""Lesson 08's checks pass valid transfer models and fine-tuning steps, and fail typical mistakes with their hint.

Every exercise here is called the way the grader calls a learner's function: the models it takes and
returns go through .keras files, loaded in safe mode, as they cross between the two processes.
"""

import functools
import tempfile
from pathlib import Path

import keras
import numpy as np
import pytest
from keras import layers

from cnn_course import pretrained, training, transfer
from cnn_course.checks import CheckFailed
from cnn_course.checks.transfer import check_build_transfer_model, check_transfer_accuracy, check_unfreeze_top_layers
from cnn_course.pretrained.backbone import build_backbone


def through_keras_files(function):
    """Wrap an exercise so its Keras-model arguments and result travel as .keras files, loaded in safe mode."""

    def roundtrip(value, folder, name):
        if not isinstance(value, keras.Model):
            return value
        path = Path(folder) / f"{name}.keras"
        value.save(path)
        return keras.saving.load_model(path, safe_mode=True)

    @functools.wraps(function)
    def call(*args, **kwargs):
        with tempfile.TemporaryDirectory() as folder:
            args = [roundtrip(value, folder, f"argument{i}") for i, value in enumerate(args)]
            return roundtrip(function(*args, **kwargs), folder, "result")

    return call


def transfer_model(base, num_classes, head=None, call_kwargs=None, before=()):
    """A functional transfer model: inputs -> `before` layers -> base(**call_kwargs) -> head layers."""
    base.trainable = False
    inputs = keras.Input(shape=base.input_shape[1:])
    x = inputs
    for layer in before:
        x = layer(x)
    x = base(x, **({"training": False} if call_kwargs is None else call_kwargs))
    for layer in head or [layers.GlobalAveragePooling2D(), layers.Dense(num_classes, activation="softmax")]:
        x = layer(x)
    return keras.Model(inputs, x)


def flatten_head(base, num_classes):
    return transfer_model(
        base, num_classes, [layers.Flatten(), layers.Dropout(0.3), layers.Dense(num_classes, activation="softmax")]
    )


def sequential_head(base, num_classes):
    head = keras.Sequential(
        [layers.GlobalAveragePooling2D(), layers.Dropout(0.2), layers.Dense(num_classes, activation="softmax")]
    )
    return transfer_model(base, num_classes, [head])


@pytest.mark.parametrize(
    "build",
    [
        transfer.build_transfer_model,
        lambda base, num_classes: transfer_model(base, num_classes),
        flatten_head,
        sequential_head,
        lambda base, num_classes: transfer_model(base, num_classes, before=[layers.RandomFlip("horizontal")]),
    ],
    ids=["reference", "no augmentation or dropout", "Flatten", "Sequential head", "flip only"],
)
def test_valid_transfer_models_pass(build):
    check_build_transfer_model(through_keras_files(build))


def left_trainable(base, num_classes):
    model = transfer_model(base, num_classes)
    base.trainable = True
    return model


def sequential_model(base, num_classes):
    base.trainable = False
    return keras.Sequential([base, layers.GlobalAveragePooling2D(), layers.Dense(num_classes, activation="softmax")])


def rebuilt_base(base, num_classes):
    return transfer_model(build_backbone(np.full(3, 0.5), np.full(3, 0.06)), num_classes)


@pytest.mark.parametrize(
    ("build", "hint"),
    [
        (left_trainable, "the base is left trainable"),
        (
            lambda base, num_classes: transfer_model(base, num_classes, call_kwargs={}),
            "call it as base(x, training=False)",
        ),
        (sequential_model, "build it with the functional API"),
        (
            lambda base, num_classes: transfer_model(base, num_classes, before=[layers.Rescaling(1 / 255)]),
            "Rescaling(1/255)",
        ),
        (lambda base, num_classes: transfer_model(base, 5), "outputs shape (None, 5)"),
        (
            lambda base, num_classes: transfer_model(
                base,
                num_classes,
                [
                    layers.GlobalAveragePooling2D(),
                    layers.Dense(64, activation="relu"),
                    layers.Dense(num_classes, activation="softmax"),
                ],
            ),
            "nothing else trains",
        ),
        (
            lambda base, num_classes: transfer_model(
                base, num_classes, [layers.GlobalAveragePooling2D(), layers.Dense(num_classes)]
            ),
            "activation='softmax'",
        ),
        (rebuilt_base, "starts from random weights"),
    ],
    ids=[
        "base trainable",
        "no training=False",
        "Sequential",
        "rescaled again",
        "hard-coded classes",
        "hidden layer",
        "no softmax",
        "rebuilt base",
    ],
)
def test_transfer_model_mistakes_get_their_hint(build, hint):
    with pytest.raises(CheckFailed, match="build_transfer_model") as failure:
        check_build_transfer_model(through_keras_files(build))
    assert hint in str(failure.value)


def unfreeze(
    model, num_layers, learning_rate, freeze_batch_norm=True, freeze_below=True, recompile=True, unfreeze_base=True
):
    """The fine-tuning step, with one of its parts optionally left out."""
    base = model.get_layer(pretrained.BACKBONE_NAME)
    if unfreeze_base:
        base.trainable = True
    for index, layer in enumerate(base.layers):
        if index < len(base.layers) - num_layers:
            if freeze_below:
                layer.trainable = False
        elif not unfreeze_base:
            layer.trainable = True
        if freeze_batch_norm and isinstance(layer, layers.BatchNormalization):
            layer.trainable = False
    if recompile:
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate),
            loss=keras.losses.SparseCategoricalCrossentropy(),
            metrics=["accuracy"],
        )
    return model


def unfreeze_per_layer(model, num_layers, learning_rate):
    """A valid alternative: one flag per layer, decided in one loop, compiled with the course's helper."""
    base = model.get_layer(pretrained.BACKBONE_NAME)
    base.trainable = True
    for index, layer in enumerate(base.layers):
        layer.trainable = index >= len(base.layers) - num_layers and not isinstance(layer, layers.BatchNormalization)
    return training.compile_classifier(model, learning_rate)


@pytest.mark.parametrize(
    "function",
    [transfer.unfreeze_top_layers, unfreeze, unfreeze_per_layer],
    ids=["reference", "guide order", "per layer"],
)
def test_valid_unfreezing_passes(function):
    check_unfreeze_top_layers(through_keras_files(function))


def only_assigns_the_rate(model, num_layers, learning_rate):
    unfreeze(model, num_layers, learning_rate, recompile=False)
    model.optimizer.learning_rate.assign(learning_rate)
    return model


def reuses_the_optimizer(model, num_layers, learning_rate):
    unfreeze(model, num_layers, learning_rate, recompile=False)
    model.compile(optimizer=model.optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def freezes_the_head(model, num_layers, learning_rate):
    model.get_layer(index=-1).trainable = False
    return unfreeze(model, num_layers, learning_rate)


@pytest.mark.parametrize(
    ("function", "hint"),
    [
        (functools.partial(unfreeze, freeze_batch_norm=False), "keep every BatchNormalization layer frozen"),
        (functools.partial(unfreeze, recompile=False), "not compiled again"),
        (only_assigns_the_rate, "not compiled again"),
        (reuses_the_optimizer, "with a new optimizer"),
        (functools.partial(unfreeze, freeze_below=False), "may be.\n  Hint: freeze the rest"),
        (functools.partial(unfreeze, unfreeze_base=False), "base.trainable is still False"),
        (
            lambda model, num_layers, learning_rate: unfreeze(model, num_layers, 1e-4),
            "the optimizer's learning rate is 0.0001",
        ),
        (freezes_the_head, "leave the head trainable"),
    ],
    ids=[
        "BatchNorm unfrozen",
        "no recompile",
        "rate assigned",
        "old optimizer",
        "whole base",
        "base still frozen",
        "rate ignored",
        "head frozen",
    ],
)
def test_unfreezing_mistakes_get_their_hint(function, hint):
    with pytest.raises(CheckFailed, match="unfreeze_top_layers") as failure:
        check_unfreeze_top_layers(through_keras_files(function))
    assert hint in str(failure.value)


def test_a_frozen_backbone_keeps_its_flags_in_a_keras_file(tmp_path):
    model = transfer.build_transfer_model(pretrained.load_backbone(), 5)
    model.save(tmp_path / "frozen.keras")
    frozen = keras.saving.load_model(tmp_path / "frozen.keras", safe_mode=True).get_layer(pretrained.BACKBONE_NAME)
    assert frozen.trainable is False and not frozen.trainable_weights
    transfer.unfreeze_top_layers(model, 7, 1e-4)
    model.save(tmp_path / "tuned.keras")
    tuned = keras.saving.load_model(tmp_path / "tuned.keras", safe_mode=True).get_layer(pretrained.BACKBONE_NAME)
    expected = [layer.trainable for layer in model.get_layer(pretrained.BACKBONE_NAME).layers if layer.weights]
    assert [layer.trainable for layer in tuned.layers if layer.weights] == expected
    assert [layer.name for layer in tuned.layers if layer.trainable and layer.weights] == [
        "block3_conv2",
        "block4_conv1",
    ]


def test_the_accuracy_check_states_the_margin():
    images = np.random.default_rng(0).random((20, 32, 32, 3), dtype=np.float32)
    labels = np.zeros(20, dtype=np.int64)
    constant = keras.Sequential(
        [keras.Input((32, 32, 3)), layers.Flatten(), layers.Dense(5, activation="softmax", kernel_initializer="zeros")]
    )
    with pytest.raises(CheckFailed, match="transfer must beat it by 10%"):
        check_transfer_accuracy("trained_transfer_cnn", constant, images, labels + 1, 0.5, 0.1)
    assert check_transfer_accuracy("trained_transfer_cnn", constant, images, labels, 0.5, 0.1) == 1.0


def test_the_training_false_probe_matches_this_keras():
    # Keras 3.15 lets fit's training=True override base(x, training=False) in a functional model
    # (keras-team/keras#23364).
    honoured = transfer.keras_honours_training_false()
    version = tuple(int(part) for part in keras.__version__.split(".")[:3])
    assert isinstance(honoured, bool)
    if version <= (3, 15, 1):
        assert honoured is False
