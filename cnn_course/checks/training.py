"""Checks for compiling and fitting a classifier, on tiny synthetic data so they run in seconds."""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np

from cnn_course.checks.calls import call_with_details
from cnn_course.checks.draws import generator
from cnn_course.checks.equivalences import loss_identity, metric_identities
from cnn_course.checks.feedback import CheckFailed
from cnn_course.models import build_mnist_cnn


def check_compile_classifier(compile_classifier: Callable) -> None:
    """compile_classifier(model, learning_rate) compiles (Adam, sparse cross-entropy, accuracy), returns the model."""
    name = "compile_classifier"
    asked = round(float(generator(name).uniform(0.0015, 0.009)), 5)  # never Adam's default, 0.001
    call = call_with_details(compile_classifier, build_mnist_cnn(), learning_rate=asked)
    if call.returned_argument != 0:
        raise CheckFailed(name, "it should return the model it was given, compiled.", "end with `return model`.")
    model = call.value
    if getattr(model, "optimizer", None) is None or not getattr(model, "compiled", False):
        raise CheckFailed(
            name, "the model is not compiled.", "call model.compile(optimizer=..., loss=..., metrics=[...])."
        )
    if not isinstance(model.optimizer, keras.optimizers.Adam):
        raise CheckFailed(
            name,
            f"the optimizer is {type(model.optimizer).__name__}; expected Adam.",
            "optimizer=keras.optimizers.Adam(learning_rate).",
        )
    learning_rate = model.optimizer.get_config()["learning_rate"]
    if isinstance(learning_rate, float) and not np.isclose(learning_rate, asked):
        hint = "pass it on: Adam(learning_rate=learning_rate)."
        if np.isclose(learning_rate, 0.001):
            hint = "0.001 is Adam's default: the learning_rate argument was not passed on. " + hint
        raise CheckFailed(name, f"the learning rate is {learning_rate:g}; it was called with {asked:g}.", hint)
    loss, from_logits = loss_identity(model)
    if loss != "sparse_categorical_crossentropy":
        hint = "the labels are class numbers (0-9), so use loss='sparse_categorical_crossentropy'."
        if loss == "categorical_crossentropy":
            hint = (
                "categorical_crossentropy expects one-hot labels; ours are integers: "
                "use 'sparse_categorical_crossentropy'."
            )
        raise CheckFailed(name, f"the loss is {loss}.", hint)
    if from_logits:
        raise CheckFailed(
            name,
            "the loss is told the outputs are logits (from_logits=True), but the model ends with softmax: "
            "they are probabilities.",
            "leave from_logits at its default, False.",
        )
    metrics = metric_identities(model)
    if "accuracy" not in metrics:
        hint = "add metrics=['accuracy'] (or keras.metrics.SparseCategoricalAccuracy()) to see accuracy while training."
        if "exact_accuracy" in metrics:
            hint = (
                "keras.metrics.Accuracy() counts outputs exactly equal to the labels, and probabilities never are: "
                "use the string 'accuracy' or keras.metrics.SparseCategoricalAccuracy()."
            )
        elif "categorical_accuracy" in metrics:
            hint = (
                "CategoricalAccuracy expects one-hot labels; ours are integers: "
                "use SparseCategoricalAccuracy() or 'accuracy'."
            )
        raise CheckFailed(name, f"metrics are {metrics}; accuracy is missing.", hint)


def _synthetic_digits(count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Draw `count` 28x28x1 images whose class is a bright row band: learnable in one epoch."""
    labels = rng.integers(0, 10, count).astype(np.uint8)
    images = rng.random((count, 28, 28, 1), dtype=np.float32) * 0.2
    for i, label in enumerate(labels):
        images[i, 2 + 2 * label : 4 + 2 * label, :, 0] = 1.0
    return images, labels


def check_train_classifier(train_classifier: Callable) -> None:
    """train_classifier(model, x_train, y_train, x_val, y_val, epochs, batch_size) fits, validating on the data."""
    name = "train_classifier"
    rng = generator(name)
    keras.utils.set_random_seed(int(rng.integers(2**31)))
    x_train, y_train = _synthetic_digits(256, rng)
    x_val, y_val = _synthetic_digits(64, rng)
    model = build_mnist_cnn()
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    call = call_with_details(train_classifier, model, x_train, y_train, x_val, y_val, epochs=2, batch_size=64)
    history = call.value
    if not isinstance(history, keras.callbacks.History):
        raise CheckFailed(
            name,
            f"returned {type(history).__name__}; expected the History that model.fit returns.",
            "return model.fit(...).",
        )
    logs = history.history
    if len(logs.get("loss", [])) != 2:
        raise CheckFailed(
            name, f"trained for {len(logs.get('loss', []))} epochs; it was asked for 2.", "pass epochs=epochs to fit."
        )
    steps = history.params.get("steps")
    if steps != 4:
        hint = "pass batch_size=batch_size to fit."
        if steps == 5:
            hint = "fit on (x_train, y_train) only: the validation images must not be trained on."
        raise CheckFailed(name, f"{steps} steps per epoch for 256 training images; batch_size=64 gives 4.", hint)
    if "val_loss" not in logs or "val_accuracy" not in logs:
        raise CheckFailed(
            name,
            "the history has no val_loss / val_accuracy: the model was not validated while training.",
            "pass validation_data=(x_val, y_val) to fit (never the test set: it is kept for the final evaluation).",
        )
    trained = call.arguments_after.get(0)
    if isinstance(trained, keras.Model):
        val_loss, val_accuracy = trained.evaluate(x_val, y_val, verbose=0, batch_size=64)[:2]
        if not (
            np.isclose(logs["val_loss"][-1], val_loss, rtol=1e-3, atol=1e-4)
            and np.isclose(logs["val_accuracy"][-1], val_accuracy, atol=1e-6)
        ):
            raise CheckFailed(
                name,
                f"the last val_loss/val_accuracy ({logs['val_loss'][-1]:.4f}, {logs['val_accuracy'][-1]:.4f}) are not "
                f"the trained model's on the (x_val, y_val) it was given ({val_loss:.4f}, {val_accuracy:.4f}).",
                "validate on the arrays passed in: validation_data=(x_val, y_val), "
                "not validation_split (which carves its own set out of the training images).",
            )
