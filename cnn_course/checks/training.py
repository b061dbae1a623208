"""Checks for compiling and fitting a classifier, on tiny synthetic data so they run in seconds."""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np

from cnn_course.checks.feedback import CheckFailed
from cnn_course.models import build_mnist_cnn


def _loss_name(loss: object) -> str:
    """Return the snake_case name of a loss given as a string, function or Loss object."""
    if isinstance(loss, str):
        return loss
    return getattr(loss, "name", None) or getattr(getattr(loss, "fn", loss), "__name__", type(loss).__name__)


def check_compile_classifier(compile_classifier: Callable) -> None:
    """compile_classifier(model, learning_rate) compiles with Adam, sparse cross-entropy and accuracy."""
    name = "compile_classifier"
    model = build_mnist_cnn()
    returned = compile_classifier(model, learning_rate=0.002)
    if returned is not model:
        raise CheckFailed(name, "it should return the model it was given, compiled.", "end with `return model`.")
    if model.optimizer is None or not getattr(model, "compiled", False):
        raise CheckFailed(name, "the model is not compiled.", "call model.compile(optimizer=..., loss=..., metrics=[...]).")
    if not isinstance(model.optimizer, keras.optimizers.Adam):
        raise CheckFailed(name, f"the optimizer is {type(model.optimizer).__name__}; expected Adam.", "optimizer=keras.optimizers.Adam(learning_rate).")
    learning_rate = model.optimizer.get_config()["learning_rate"]
    if isinstance(learning_rate, float) and not np.isclose(learning_rate, 0.002):
        raise CheckFailed(
            name, f"the learning rate is {learning_rate:g}; it was called with 0.002.", "pass it on: Adam(learning_rate=learning_rate)."
        )
    loss = _loss_name(model.loss)
    if loss != "sparse_categorical_crossentropy":
        hint = "the labels are class numbers (0-9), so use loss='sparse_categorical_crossentropy'."
        if loss == "categorical_crossentropy":
            hint = "categorical_crossentropy expects one-hot labels; ours are integers: use 'sparse_categorical_crossentropy'."
        raise CheckFailed(name, f"the loss is {loss}.", hint)
    metrics = [m if isinstance(m, str) else getattr(m, "name", "") for m in model.get_compile_config().get("metrics") or []]
    if not any(m in ("accuracy", "acc", "sparse_categorical_accuracy") for m in metrics):
        raise CheckFailed(name, f"metrics are {metrics}; accuracy is missing.", "add metrics=['accuracy'] to see accuracy while training.")


def _synthetic_digits(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Return `count` 28x28x1 images whose class is a bright row band: learnable in one epoch."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, count).astype(np.uint8)
    images = rng.random((count, 28, 28, 1), dtype=np.float32) * 0.2
    for i, label in enumerate(labels):
        images[i, 2 + 2 * label : 4 + 2 * label, :, 0] = 1.0
    return images, labels


def check_train_classifier(train_classifier: Callable) -> None:
    """train_classifier(model, x_train, y_train, x_val, y_val, epochs, batch_size) fits with validation."""
    name = "train_classifier"
    keras.utils.set_random_seed(0)
    x_train, y_train = _synthetic_digits(256, seed=0)
    x_val, y_val = _synthetic_digits(64, seed=1)
    model = build_mnist_cnn()
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = train_classifier(model, x_train, y_train, x_val, y_val, epochs=2, batch_size=64)
    if not isinstance(history, keras.callbacks.History):
        raise CheckFailed(name, f"returned {type(history).__name__}; expected the History that model.fit returns.", "return model.fit(...).")
    logs = history.history
    if len(logs.get("loss", [])) != 2:
        raise CheckFailed(name, f"trained for {len(logs.get('loss', []))} epochs; it was asked for 2.", "pass epochs=epochs to fit.")
    if history.params.get("steps") != 4:
        raise CheckFailed(
            name, f"{history.params.get('steps')} steps per epoch for 256 images; batch_size=64 gives 4.", "pass batch_size=batch_size to fit."
        )
    if "val_loss" not in logs or "val_accuracy" not in logs:
        raise CheckFailed(
            name,
            "the history has no val_loss / val_accuracy: the model was not validated while training.",
            "pass validation_data=(x_val, y_val) to fit (never the test set: it is kept for the final evaluation).",
        )
