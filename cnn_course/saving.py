"""Saving a classifier with its class names: `model.keras` next to `model.classes.json`.

Every model the course saves carries this sidecar, so `cnn-course predict`, `serve` and `export`
can name the classes they predict; a model saved without one gets the names "0", "1", ...
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import keras

SIDECAR_SUFFIX = ".classes.json"


class ClassNamesError(ValueError):
    """A class-names sidecar that cannot be read, or does not fit its model."""


def class_names_path(model_path: str | Path) -> Path:
    """Return the sidecar of a model file: `DIR/name.keras` -> `DIR/name.classes.json`."""
    model_path = Path(model_path)
    return model_path.with_name(model_path.stem + SIDECAR_SUFFIX)


def write_class_names(model_path: str | Path, class_names: Sequence[str]) -> Path:
    """Write the class names of the model saved (or to be saved) at `model_path`; return the sidecar's path.

    `class_names[i]` names output i of the model. Raises ValueError for an empty list or repeated names.
    """
    names = [str(name) for name in class_names]
    if not names or len(set(names)) != len(names):
        raise ValueError(f"class_names must be a non-empty list of distinct names, got {names!r}.")
    path = class_names_path(model_path)
    path.write_text(json.dumps({"class_names": names}, indent=2) + "\n")
    return path


def save_model_with_classes(model: keras.Model, path: str | Path, class_names: Sequence[str]) -> Path:
    """Save `model` to `path` (a .keras file) and its class names next to it; return the sidecar's path.

    The file holds Keras's own layers only: `models.FusedBatchNormalization` is saved as `BatchNormalization`.

    Raises ValueError if the number of names differs from the model's number of outputs.
    """
    outputs = model.output_shape[-1]
    if outputs != len(class_names):
        raise ValueError(f"the model has {outputs} outputs but {len(class_names)} class names were given.")
    from cnn_course.models import with_keras_batch_normalization

    with_keras_batch_normalization(model).save(path)
    return write_class_names(path, class_names)


def read_class_names(model_path: str | Path, num_classes: int) -> tuple[tuple[str, ...], str | None]:
    """Return the class names of the model at `model_path` and a note, or None when the sidecar was used.

    Without a sidecar the names are "0" ... str(num_classes - 1) and the note says so.
    Raises ClassNamesError for a sidecar that is not valid JSON or lists another number of classes.
    """
    path = class_names_path(model_path)
    if not path.is_file():
        note = (f"no class names saved with this model ({path.name} not found): classes are shown as numbers. "
                "Save models with cnn_course.saving.save_model_with_classes to keep their names.")
        return tuple(str(index) for index in range(num_classes)), note
    try:
        names = json.loads(path.read_text())["class_names"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ClassNamesError(f"{path} is not a class-names file ({type(error).__name__}: {error}); "
                              f"delete it to use numbered classes, or rewrite it with cnn_course.saving.write_class_names.") from None
    if not isinstance(names, list) or len(names) != num_classes:
        raise ClassNamesError(f"{path} lists {len(names) if isinstance(names, list) else 'no'} class names but the model "
                              f"has {num_classes} outputs; rewrite it with cnn_course.saving.write_class_names.")
    return tuple(str(name) for name in names), None
