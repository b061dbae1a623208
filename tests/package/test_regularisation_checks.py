"""Lesson 05's checks pass the reference solutions and fail typical mistakes with the intended hint."""

from pathlib import Path

import keras
import pytest
from keras import layers

from cnn_course.checks import CheckFailed
from cnn_course.checks.regularisation import check_build_augmentation, check_build_seed_cnn, check_training_callbacks
from cnn_course.models import build_cifar10_augmentation, build_cifar10_seed_cnn


def seed_variant(**conv_changes):
    """A builder of the seed CNN with `conv_changes` applied to every convolution's config."""

    def build(input_shape=(32, 32, 3), num_classes=10):
        reference = build_cifar10_seed_cnn(input_shape, num_classes).layers
        changed = [
            type(layer).from_config(layer.get_config() | (conv_changes if isinstance(layer, layers.Conv2D) else {}))
            for layer in reference
        ]
        return keras.Sequential([keras.Input(shape=input_shape), *changed])

    return build


def test_the_seed_reference_passes():
    check_build_seed_cnn(build_cifar10_seed_cnn)


@pytest.mark.parametrize(
    ("build", "hint"),
    [
        (seed_variant(use_bias=True), "use_bias=False"),
        (seed_variant(padding="valid"), "padding='valid' here, but the reference uses padding='same'"),
    ],
)
def test_seed_mistakes_get_their_hint(build, hint):
    with pytest.raises(CheckFailed, match="build_seed_cnn") as failure:
        check_build_seed_cnn(build)
    assert hint in str(failure.value)


def test_the_augmentation_reference_passes():
    check_build_augmentation(build_cifar10_augmentation)


def fixed_flip(max_shift=0.125):
    """Flips every image, at inference too: not an augmentation layer."""
    return keras.Sequential(
        [
            layers.Lambda(lambda x: x[:, :, ::-1, :]),
            layers.RandomFlip("horizontal"),
            layers.RandomTranslation(max_shift, max_shift),
        ]
    )


@pytest.mark.parametrize(
    ("build", "hint"),
    [
        (
            lambda max_shift=0.125: keras.Sequential(
                [layers.RandomFlip(), layers.RandomTranslation(max_shift, max_shift)]
            ),
            "upside-down",
        ),
        (lambda max_shift=0.125: keras.Sequential([layers.RandomFlip("horizontal")]), "add layers.RandomTranslation"),
        (
            lambda max_shift=0.125: keras.Sequential([layers.RandomTranslation(max_shift, max_shift)]),
            "add layers.RandomFlip('horizontal')",
        ),
        (lambda max_shift=0.125: build_cifar10_augmentation(0.125), "pass max_shift as both"),
        (fixed_flip, "pass them through unchanged"),
        (lambda max_shift=0.125: [layers.RandomFlip("horizontal")], "return keras.Sequential"),
    ],
)
def test_augmentation_mistakes_get_their_hint(build, hint):
    with pytest.raises(CheckFailed, match="build_augmentation") as failure:
        check_build_augmentation(build)
    assert hint in str(failure.value)


def reference_callbacks(checkpoint_path, patience=3, **changes):
    """The expected callbacks, with `changes` applied to EarlyStopping (or 'checkpoint_*' to ModelCheckpoint)."""
    stopping = {"monitor": "val_accuracy", "patience": patience, "restore_best_weights": True}
    checkpoint = {"monitor": "val_accuracy", "save_best_only": True}
    for key, value in changes.items():
        if key.startswith("checkpoint_"):
            checkpoint[key.removeprefix("checkpoint_")] = value
        else:
            stopping[key] = value
    return [keras.callbacks.EarlyStopping(**stopping), keras.callbacks.ModelCheckpoint(checkpoint_path, **checkpoint)]


def test_the_callbacks_reference_passes():
    check_training_callbacks(reference_callbacks)


@pytest.mark.parametrize(
    ("build", "hint"),
    [
        (lambda path, patience=3: reference_callbacks(path, patience, monitor="accuracy"), "monitor 'val_accuracy'"),
        (
            lambda path, patience=3: reference_callbacks(path, patience, checkpoint_monitor="loss"),
            "monitor 'val_accuracy'",
        ),
        (
            lambda path, patience=3: reference_callbacks(path, patience, restore_best_weights=False),
            "restore_best_weights=True",
        ),
        (
            lambda path, patience=3: reference_callbacks(path, patience, checkpoint_save_best_only=False),
            "save_best_only=True",
        ),
        (lambda path, patience=3: reference_callbacks(path, 3), "pass patience=patience"),
        (
            lambda path, patience=3: reference_callbacks(Path(path).with_name("other.keras"), patience),
            "pass checkpoint_path",
        ),
        (lambda path, patience=3: reference_callbacks(path, patience)[:1], "no ModelCheckpoint"),
        (
            lambda path, patience=3: [*reference_callbacks(path, patience), keras.callbacks.ReduceLROnPlateau()],
            "cannot change a scheduled learning rate",
        ),
        (lambda path, patience=3: set(reference_callbacks(path, patience)), "expected a list"),
    ],
)
def test_callback_mistakes_get_their_hint(build, hint):
    with pytest.raises(CheckFailed, match="training_callbacks") as failure:
        check_training_callbacks(build)
    assert hint in str(failure.value)
