"""Checks for lesson 05: the seed CIFAR-10 CNN, data augmentation layers, and training callbacks."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np

from cnn_course.checks.architecture import check_model_builder
from cnn_course.checks.draws import generator
from cnn_course.checks.feedback import CheckFailed
from cnn_course.models import CIFAR10_INPUT_SHAPE, build_cifar10_seed_cnn


def check_build_seed_cnn(build_seed_cnn: Callable) -> None:
    """build_seed_cnn(input_shape, num_classes) matches the seed CIFAR-10 CNN layer by layer."""
    check_model_builder("build_seed_cnn", build_seed_cnn, build_cifar10_seed_cnn, CIFAR10_INPUT_SHAPE, 10)


def _sublayers(layer: keras.layers.Layer) -> list[keras.layers.Layer]:
    """Return the layers inside a Sequential or Functional model (recursively, no inputs), or [layer] for a layer."""
    if isinstance(layer, keras.Model):
        return [
            inner
            for child in layer.layers
            if not isinstance(child, keras.layers.InputLayer)
            for inner in _sublayers(child)
        ]
    return [layer]


def check_build_augmentation(build_augmentation: Callable) -> None:
    """build_augmentation(max_shift) flips horizontally and shifts while training, and is the identity at inference."""
    name = "build_augmentation"
    rng = generator(name)
    max_shift = round(float(rng.uniform(0.05, 0.3)), 3)
    augmentation = build_augmentation(max_shift=max_shift)
    if not isinstance(augmentation, keras.layers.Layer):
        raise CheckFailed(
            name,
            f"returned {type(augmentation).__name__}, not a Keras layer.",
            "return keras.Sequential([layers.RandomFlip(...), layers.RandomTranslation(...)]).",
        )
    inner = _sublayers(augmentation)
    flips = [layer for layer in inner if isinstance(layer, keras.layers.RandomFlip)]
    shifts = [layer for layer in inner if isinstance(layer, keras.layers.RandomTranslation)]
    if not flips:
        raise CheckFailed(
            name, "there is no RandomFlip layer.", "add layers.RandomFlip('horizontal'): a mirrored cat is still a cat."
        )
    if flips[0].mode != "horizontal":
        raise CheckFailed(
            name,
            f"RandomFlip mode is '{flips[0].mode}'.",
            "use RandomFlip('horizontal'): vertical flips make upside-down ships and trucks that never occur in the "
            "test photos, so they teach the model the wrong invariance.",
        )
    if not shifts:
        raise CheckFailed(
            name, "there is no RandomTranslation layer.", "add layers.RandomTranslation(max_shift, max_shift)."
        )
    factors = (shifts[0].height_factor, shifts[0].width_factor)
    if any(not np.isclose(np.max(np.abs(factor)), max_shift) for factor in factors):
        raise CheckFailed(
            name,
            f"called with max_shift={max_shift:g}, the RandomTranslation factors are {factors}.",
            "pass max_shift as both the height and the width factor: RandomTranslation(max_shift, max_shift).",
        )
    images = rng.random((8, *CIFAR10_INPUT_SHAPE), dtype=np.float32)
    at_inference = np.asarray(augmentation(images, training=False))
    if at_inference.shape != images.shape:
        raise CheckFailed(
            name,
            f"the output has shape {at_inference.shape}; the input had {images.shape}.",
            "augmentation must keep the image size.",
        )
    if not np.allclose(at_inference, images, atol=1e-6):
        raise CheckFailed(
            name,
            "it changes the images at inference (training=False).",
            "use only Keras Random* layers: they transform images while training and pass them through unchanged "
            "when the model predicts, so the test images are seen as they are.",
        )
    if np.allclose(np.asarray(augmentation(images, training=True)), images):
        raise CheckFailed(
            name, "it leaves the images unchanged while training.", "check the layers' factors: 0 means no change."
        )
    others = [
        layer for layer in inner if not isinstance(layer, (keras.layers.RandomFlip, keras.layers.RandomTranslation))
    ]
    if others:
        raise CheckFailed(
            name,
            f"it also holds {type(others[0]).__name__}, which the exercise does not ask for.",
            "keep exactly the two transformations asked for, a horizontal flip and a shift: "
            "other changes (rotations, zooms, colour changes) alter what the model is trained on and how it "
            "compares with the reference.",
        )


def _find(callbacks: list, kind: type) -> keras.callbacks.Callback | None:
    """Return the first callback of type `kind`, or None."""
    return next((callback for callback in callbacks if isinstance(callback, kind)), None)


# What a model compiled with metrics=["accuracy"] logs after each epoch, and which way is better.
_VALIDATION_LOGS = {"val_accuracy": "max", "val_loss": "min"}


def _expect_validation_monitor(name: str, callback: keras.callbacks.Callback) -> None:
    """Fail unless the callback monitors a validation metric that the training logs hold, in the right direction."""
    kind = type(callback).__name__
    if not callback.monitor.startswith("val_"):
        raise CheckFailed(
            name,
            f"{kind} monitors '{callback.monitor}', a training metric.",
            "monitor 'val_accuracy' (or 'val_loss'): the training metrics keep improving while the model overfits, "
            "only the validation metrics show when it stops generalising.",
        )
    if callback.monitor not in _VALIDATION_LOGS:
        raise CheckFailed(
            name,
            f"{kind} monitors '{callback.monitor}', which the training logs do not hold, so it never acts.",
            "with metrics=['accuracy'] Keras logs 'val_accuracy' and 'val_loss' (older versions said 'val_acc'): "
            "monitor 'val_accuracy'.",
        )
    mode = getattr(callback, "mode", "auto")
    if mode in ("min", "max") and mode != _VALIDATION_LOGS[callback.monitor]:
        raise CheckFailed(
            name,
            f"{kind} monitors '{callback.monitor}' with mode='{mode}', so it treats the worst epoch as the best.",
            f"'{callback.monitor}' improves when it goes "
            f"{'up' if _VALIDATION_LOGS[callback.monitor] == 'max' else 'down'}: "
            "leave mode at 'auto' (Keras infers it from the name) or set it to match.",
        )


def check_training_callbacks(training_callbacks: Callable) -> None:
    """training_callbacks(checkpoint_path, patience) returns EarlyStopping and ModelCheckpoint on validation."""
    name = "training_callbacks"
    patience, other_patience = (int(n) for n in generator(name).choice(np.arange(3, 12), 2, replace=False))
    with tempfile.TemporaryDirectory(
        ignore_cleanup_errors=True
    ) as folder:  # learner code may create the checkpoint folder: keep it out of the target
        path = Path(folder) / "best.keras"
        callbacks = training_callbacks(path, patience=patience)
        # fit(callbacks=...) takes a list or a tuple; a set has no order and a single callback is not a sequence.
        if callbacks is None:
            raise CheckFailed(
                name, "returned None.", "did you forget the `return` statement? return [early_stopping, checkpoint]."
            )
        if isinstance(callbacks, keras.callbacks.Callback):
            raise CheckFailed(
                name,
                f"returned one {type(callbacks).__name__}, not a list of callbacks.",
                "return [early_stopping, checkpoint].",
            )
        if not isinstance(callbacks, (list, tuple)) or not all(
            isinstance(c, keras.callbacks.Callback) for c in callbacks
        ):
            raise CheckFailed(
                name,
                f"returned {type(callbacks).__name__}; expected a list of keras callbacks.",
                "return [early_stopping, checkpoint].",
            )
        stopping = _find(callbacks, keras.callbacks.EarlyStopping)
        checkpoint = _find(callbacks, keras.callbacks.ModelCheckpoint)
        if stopping is None:
            raise CheckFailed(
                name,
                "there is no EarlyStopping callback.",
                "add keras.callbacks.EarlyStopping(monitor='val_accuracy', ...).",
            )
        if checkpoint is None:
            raise CheckFailed(
                name,
                "there is no ModelCheckpoint callback.",
                "add keras.callbacks.ModelCheckpoint(checkpoint_path, ...).",
            )
        if _find(callbacks, keras.callbacks.ReduceLROnPlateau) is not None:
            raise CheckFailed(
                name,
                "it includes ReduceLROnPlateau, but this lesson's learning rate already follows a schedule.",
                "leave it out: Keras cannot change a scheduled learning rate, and the two would fight over it.",
            )
        _expect_validation_monitor(name, stopping)
        _expect_validation_monitor(name, checkpoint)
        if stopping.patience != patience:
            raise CheckFailed(
                name,
                f"called with patience={patience}, EarlyStopping has patience={stopping.patience}.",
                "pass patience=patience.",
            )
        if not stopping.restore_best_weights:
            raise CheckFailed(
                name,
                "EarlyStopping keeps the weights of the last epoch, not of the best one.",
                "set restore_best_weights=True: training stops `patience` epochs after the best epoch, which is worse.",
            )
        if Path(checkpoint.filepath) != path:
            raise CheckFailed(
                name,
                f"ModelCheckpoint writes to {checkpoint.filepath}; it was asked for {path}.",
                "pass checkpoint_path as its filepath.",
            )
        if not checkpoint.save_best_only:
            raise CheckFailed(
                name,
                "ModelCheckpoint saves after every epoch, so the file ends up holding the last model.",
                "set save_best_only=True.",
            )
        others = training_callbacks(path, patience=other_patience)
        again = _find(others, keras.callbacks.EarlyStopping) if isinstance(others, (list, tuple)) else None
        if again is None or again.patience != other_patience:
            raise CheckFailed(
                name,
                f"called with patience={other_patience}, EarlyStopping has "
                f"patience={getattr(again, 'patience', None)}.",
                "pass patience=patience, whatever its value.",
            )
