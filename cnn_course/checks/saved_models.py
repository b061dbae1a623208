"""Grading a trained model the learner saved: load it safely, evaluate it on the official test set."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import keras
import numpy as np

from cnn_course.checks.feedback import CHANNEL_AXIS_HINT, CheckFailed, NotAttempted
from cnn_course.evaluation import predict_probabilities
from cnn_course.runtime.decoding import load_learner_model, unloadable_model_reason


def describe_model_file(path: Path) -> str | None:
    """Say what `path` holds when it is not a `.keras` zip (HDF5, text, empty...), or None when it is one."""
    with path.open("rb") as stream:
        head = stream.read(8)
    if zipfile.is_zipfile(path):
        return None
    if not head:
        return "is empty (0 bytes): the save was interrupted or never written"
    if head.startswith(b"\x89HDF"):
        return "is an HDF5 file (the legacy .h5 format), not the .keras format"
    if head.startswith((b"\x80", b"PK")):
        return "is not a complete .keras file (a truncated zip or a pickle)"
    return "is not a .keras file (it does not start like a zip archive)"


def saved_in_another_format(path: Path) -> tuple[str, str] | None:
    """Name the model saved beside the missing `path` (models/mnist_cnn.keras) in another format, mnist_cnn.h5 or
    .hdf5 (legacy HDF5) or a mnist_cnn/ folder (a TensorFlow SavedModel, from model.export), with how to turn it into
    the .keras file; None when there is none."""
    for sibling in (path.with_suffix(".h5"), path.with_suffix(".hdf5")):
        if sibling.is_file():
            convert = f"keras.models.load_model('models/{sibling.name}').save('models/{path.name}') converts it"
            return f"models/{sibling.name} (the legacy HDF5 format)", convert
    folder = path.with_suffix("")
    if folder.is_dir():
        saved_model = (folder / "saved_model.pb").is_file()
        kind = "a TensorFlow SavedModel, as model.export writes" if saved_model else "a folder"
        return f"models/{folder.name}/ ({kind})", "Keras cannot load a SavedModel back as a model"
    return None


def misplaced_save(folder: Path, filename: str) -> str | None:
    """Say where a file the lessons in `folder` save into models/ was found instead, outside `folder`: in the
    course folder's models/ (the lesson ran with the course folder as its working folder); None when it is not."""
    found = folder.parent / "models" / filename
    if (folder / "models" / filename).exists() or not found.is_file():
        return None
    return (
        f"no {filename} in {folder.name}/models/, where the grader reads it, but there is one in {found.parent}: "
        f"the lesson ran with the course folder as its working folder, so it saved there. Move it to "
        f"{folder.name}/models/{filename} (with the other files of that models folder), or open and run the lesson "
        f"from {folder.name}/ so that it saves there."
    )


def load_saved_model(exercise: str, path: Path, saved_by: str) -> keras.Model:
    """Load a .keras file in safe mode, layers and weights only (its compile settings play no part in what it
    computes); a missing file is "not attempted", a bad one (or one with layers of the lesson's own) a failure that
    says what to do."""
    if not path.is_file():
        other = saved_in_another_format(path)
        if other:
            found, convert = other
            raise CheckFailed(
                exercise,
                f"no saved model at models/{path.name}, but there is {found}: the grader reads the .keras format only.",
                f"save the trained model with model.save('models/{path.name}'): run lesson {saved_by}'s last cells "
                f"again with that line ({convert}).",
            )
        raise NotAttempted(
            exercise,
            f"{exercise}: no saved model at models/{path.name} yet. Run lesson {saved_by} to the end: "
            "its last cells train and save it.",
        )
    resave = f"run lesson {saved_by} again so that it saves with model.save('models/{path.name}')."
    problem = describe_model_file(path)
    if problem:
        raise CheckFailed(exercise, f"models/{path.name} {problem}.", resave)
    try:
        return load_learner_model(path, compiled=False)  # the grader predicts: the loss and metrics play no part
    except Exception as error:  # noqa: BLE001 - whatever Keras raises, the learner needs one sentence
        raise CheckFailed(
            exercise, f"models/{path.name} could not be loaded: {unloadable_model_reason(error)}", resave
        ) from None


def check_model_accuracy(
    exercise: str, model: keras.Model, x_test: np.ndarray, y_test: np.ndarray, threshold: float
) -> float:
    """Fail unless `model` classifies (x_test, y_test) with accuracy >= threshold; return the accuracy."""
    expected_input = tuple(x_test.shape[1:])
    model_input = tuple(model.input_shape[1:])
    if model_input != expected_input:
        if model_input + (1,) == expected_input:
            raise CheckFailed(
                exercise,
                f"the saved model takes inputs of shape {model_input}, without the channel axis; "
                f"the test images have shape {expected_input}.",
                CHANNEL_AXIS_HINT,
            )
        raise CheckFailed(
            exercise,
            f"the saved model takes inputs of shape {model_input}; the test images have shape {expected_input}.",
            "build the model with keras.Input(shape=...) matching the preprocessed images.",
        )
    predictions = np.argmax(predict_probabilities(model, x_test), axis=1)
    accuracy = float(np.mean(predictions == y_test))
    if accuracy < threshold:
        raise CheckFailed(
            exercise,
            f"test accuracy {accuracy:.2%} on the {len(y_test):,} official test images; "
            f"at least {threshold:.2%} is required.",
            "train with the lesson's settings (epochs, learning-rate schedule) on images scaled to [0, 1], and check "
            "that the validation accuracy was still rising; a model trained on unscaled pixels scores far lower.",
        )
    return accuracy


def check_saved_history(exercise: str, path: Path, saved_by: str) -> None:
    """Fail unless the saved training history (JSON) records validation metrics for each epoch."""
    if not path.is_file():
        raise NotAttempted(
            exercise, f"{exercise}: no training history at models/{path.name} yet. Run lesson {saved_by} to the end."
        )
    try:
        history = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise CheckFailed(
            exercise, f"models/{path.name} is not valid JSON ({error}).", f"run lesson {saved_by} again to rewrite it."
        ) from None
    if not isinstance(history, dict) or not history.get("val_accuracy"):
        raise CheckFailed(
            exercise,
            f"models/{path.name} has no val_accuracy: the model was trained without a validation set.",
            "train with validation_data=(x_val, y_val), carved from the training set.",
        )
