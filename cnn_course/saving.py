"""Saving a classifier with its class names: `model.keras` next to `model.classes.json`.

Every model the course saves carries this sidecar, so `cnn-course predict`, `serve` and `export`
can name the classes they predict; a model saved without one gets the names "0", "1", ...
Saved with its training images, the sidecar also records how bright they were ("training_pixels":
the mean pixel value as a fraction of full scale, and the spread of the images' means), so that
prediction can warn about an image unlike them (`inference.Classifier.classify`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import keras

SIDECAR_SUFFIX = ".classes.json"
# The brightness of the official training splits, measured on them (mean of all pixels, std of the
# images' means, as fractions of 255): what a sidecar written before "training_pixels" existed stands for.
KNOWN_TRAINING_PIXELS = {
    ((28, 28, 1), tuple(str(digit) for digit in range(10))): {"mean": 0.1307, "spread": 0.0433},  # MNIST
    ((32, 32, 3), ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")): {
        "mean": 0.4733,
        "spread": 0.1250,  # CIFAR-10
    },
}


class ClassNamesError(ValueError):
    """A class-names sidecar that cannot be read, or does not fit its model."""


def class_names_path(model_path: str | Path) -> Path:
    """Return the sidecar of a model file: `DIR/name.keras` -> `DIR/name.classes.json`."""
    model_path = Path(model_path)
    return model_path.with_name(model_path.stem + SIDECAR_SUFFIX)


def write_class_names(
    model_path: str | Path, class_names: Sequence[str], training_images: np.ndarray | None = None
) -> Path:
    """Write the class names of the model saved (or to be saved) at `model_path`; return the sidecar's path.

    `class_names[i]` names output i of the model. `training_images` (N, H, W, C), when given, are the
    images it trained on, as it was fed them (uint8 or 0-255, or float in [0, 1]): their brightness is
    recorded too (see `training_pixels`). Raises ValueError for an empty list or repeated names.
    """
    names = [str(name) for name in class_names]
    if not names or len(set(names)) != len(names):
        raise ValueError(f"class_names must be a non-empty list of distinct names, got {names!r}.")
    record: dict = {"class_names": names}
    if training_images is not None:
        record["training_pixels"] = _brightness(training_images)
    path = class_names_path(model_path)
    path.write_text(json.dumps(record, indent=2) + "\n")
    return path


def _brightness(images: np.ndarray) -> dict[str, float]:
    """Mean pixel value and the std of the images' means, as fractions of full scale (255 unless all are in [0, 1])."""
    images = np.asarray(images)
    if images.ndim < 3 or len(images) == 0:
        raise ValueError(f"training_images must be a non-empty batch (N, H, W, C), got shape {images.shape}.")
    per_image = images.reshape(len(images), -1).mean(axis=1, dtype=np.float64)
    scale = 1.0 if images.dtype.kind == "f" and float(images.max()) <= 1.0 else 255.0
    return {"mean": round(float(per_image.mean() / scale), 4), "spread": round(float(per_image.std() / scale), 4)}


def save_model_with_classes(
    model: keras.Model, path: str | Path, class_names: Sequence[str], training_images: np.ndarray | None = None
) -> Path:
    """Save `model` to `path` (a .keras file) and its class names next to it; return the sidecar's path.

    The file holds Keras's own layers only: `models.FusedBatchNormalization` is saved as `BatchNormalization`; and
    every layer in float32 (a model trained in mixed_bfloat16 loads and predicts float32, see `precision.in_float32`).
    `training_images`, when given, records their brightness in the sidecar (see `write_class_names`).

    Raises ValueError if the number of names differs from the model's number of outputs.
    """
    outputs = model.output_shape[-1]
    if outputs != len(class_names):
        raise ValueError(f"the model has {outputs} outputs but {len(class_names)} class names were given.")
    from cnn_course.models import with_keras_batch_normalization
    from cnn_course.precision import in_float32

    in_float32(with_keras_batch_normalization(model)).save(path)
    return write_class_names(path, class_names, training_images)


def read_class_names(model_path: str | Path, num_classes: int) -> tuple[tuple[str, ...], str | None]:
    """Return the class names of the model at `model_path` and a note, or None when the sidecar was used.

    Without a sidecar the names are "0" ... str(num_classes - 1) and the note says so.
    Raises ClassNamesError for a sidecar that is not valid JSON or lists another number of classes.
    """
    path = class_names_path(model_path)
    if not path.is_file():
        note = (
            f"no class names saved with this model ({path.name} not found): classes are shown as numbers. "
            "Save models with cnn_course.saving.save_model_with_classes to keep their names."
        )
        return tuple(str(index) for index in range(num_classes)), note
    try:
        names = json.loads(path.read_text())["class_names"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ClassNamesError(
            f"{path} is not a class-names file ({type(error).__name__}: {error}); "
            f"delete it to use numbered classes, or rewrite it with cnn_course.saving.write_class_names."
        ) from None
    if not isinstance(names, list) or len(names) != num_classes:
        raise ClassNamesError(
            f"{path} lists {len(names) if isinstance(names, list) else 'no'} class names but the model "
            f"has {num_classes} outputs; rewrite it with cnn_course.saving.write_class_names."
        )
    return tuple(str(name) for name in names), None


def training_pixels(
    model_path: str | Path, input_shape: Sequence[int | None], class_names: Sequence[str]
) -> dict[str, float] | None:
    """How bright the images the model at `model_path` trained on were: {"mean", "spread"} as fractions of full scale.

    Read from the sidecar; a sidecar without it (written before it was recorded, or without the images) falls back
    on the official dataset whose input shape and class names the model has (KNOWN_TRAINING_PIXELS); else None.
    """
    try:
        recorded = json.loads(class_names_path(model_path).read_text()).get("training_pixels")
    except (OSError, ValueError, AttributeError):
        recorded = None
    if isinstance(recorded, dict) and all(isinstance(recorded.get(key), (int, float)) for key in ("mean", "spread")):
        return {"mean": float(recorded["mean"]), "spread": float(recorded["spread"])}
    return KNOWN_TRAINING_PIXELS.get((tuple(input_shape), tuple(str(name) for name in class_names)))
