"""The course's own pretrained backbone: a small CNN pretrained on five CIFAR-10 classes, shipped with the package.

Lesson 8 transfers it to the other five classes. The weights file sits next to this module with
its provenance (recipe, seed, classes, accuracy, sha256 checksum, date, machine); `load_backbone`
verifies the checksum before loading, and `python -m cnn_course.pretrained build` rebuilds both.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cnn_course.data import CIFAR10_CLASS_NAMES

if TYPE_CHECKING:
    import keras

BACKBONE_NAME = "cifar5_backbone"
FOLDER = Path(__file__).resolve().parent
BACKBONE_PATH = FOLDER / f"{BACKBONE_NAME}.keras"
PROVENANCE_PATH = FOLDER / f"{BACKBONE_NAME}.json"
BUILD_COMMAND = "python -m cnn_course.pretrained build"

# Pretrained on the first five CIFAR-10 classes; transferred to the other five. Each target class has a
# relative among the sources (automobile -> truck, airplane -> ship, cat -> dog, deer -> horse), frogs none.
SOURCE_CLASSES = (0, 1, 2, 3, 4)
TARGET_CLASSES = (5, 6, 7, 8, 9)
SOURCE_CLASS_NAMES = tuple(CIFAR10_CLASS_NAMES[i] for i in SOURCE_CLASSES)
TARGET_CLASS_NAMES = tuple(CIFAR10_CLASS_NAMES[i] for i in TARGET_CLASSES)


class BackboneError(Exception):
    """The pretrained backbone's file or provenance is missing, damaged or does not match; says what to do."""


def file_sha256(path: Path) -> str:
    """Return the hex sha256 digest of the file at `path`."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_provenance(provenance_path: Path = PROVENANCE_PATH) -> dict[str, Any]:
    """Return the backbone's provenance record (a dict read from its JSON file).

    Raises BackboneError if the file is missing or is not a JSON object with a sha256 field.
    """
    remedy = (
        f"restore it (`git checkout {provenance_path.name}` in {provenance_path.parent}) or rebuild both files "
        f"with `{BUILD_COMMAND}`"
    )
    try:
        record = json.loads(provenance_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BackboneError(f"the backbone's provenance file {provenance_path} is missing: {remedy}.") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BackboneError(
            f"the backbone's provenance file {provenance_path} cannot be read ({error}): {remedy}."
        ) from None
    if not isinstance(record, dict) or not isinstance(record.get("sha256"), str):
        raise BackboneError(f"{provenance_path} records no sha256 checksum: {remedy}.")
    return record


def verify_backbone(path: Path = BACKBONE_PATH, provenance_path: Path = PROVENANCE_PATH) -> dict[str, Any]:
    """Check the backbone file against the checksum in its provenance; return the provenance.

    Raises BackboneError when either file is missing or the checksums differ.
    """
    record = read_provenance(provenance_path)
    if not path.is_file():
        raise BackboneError(
            f"the pretrained backbone {path} is missing. Reinstall the course (`pip install -e .` from a full clone) "
            f"or rebuild it with `{BUILD_COMMAND}` (a few minutes on a laptop CPU; needs CIFAR-10)."
        )
    found = file_sha256(path)
    if found != record["sha256"]:
        raise BackboneError(
            f"the pretrained backbone {path} does not match the checksum in {provenance_path.name} "
            f"(sha256 {found[:12]}…, expected {record['sha256'][:12]}…): the file is damaged or was replaced. "
            f"Restore it with `git checkout` or rebuild it with `{BUILD_COMMAND}`."
        )
    return record


def load_backbone(
    include_top: bool = False, path: Path = BACKBONE_PATH, provenance_path: Path = PROVENANCE_PATH
) -> keras.Model:
    """Return a fresh copy of the course's pretrained backbone, after verifying its checksum.

    include_top=False (the default) returns the feature extractor, a functional keras.Model named
    "cifar5_backbone": float32 RGB images (N, 32, 32, 3) in [0, 1] in (it standardises them
    itself, with the statistics of its pretraining images), feature maps (N, 4, 4, 128) out.
    include_top=True returns the whole source classifier: the backbone, global average pooling
    and Dense(5, softmax) over SOURCE_CLASS_NAMES.

    Raises BackboneError when the file is missing, damaged or cannot be loaded.
    """
    import keras  # here: importing it takes seconds, and the doctor only reads the provenance

    verify_backbone(path, provenance_path)
    try:
        classifier = keras.saving.load_model(path, safe_mode=True, compile=False)
        return classifier if include_top else classifier.get_layer(BACKBONE_NAME)
    except Exception as error:
        raise BackboneError(
            f"the pretrained backbone {path} matches its checksum but Keras {keras.__version__} cannot load it "
            f"({type(error).__name__}: {error}). Rebuild it for this Keras with `{BUILD_COMMAND}`."
        ) from None


__all__ = [
    "BACKBONE_NAME",
    "BACKBONE_PATH",
    "PROVENANCE_PATH",
    "SOURCE_CLASSES",
    "SOURCE_CLASS_NAMES",
    "TARGET_CLASSES",
    "TARGET_CLASS_NAMES",
    "BackboneError",
    "file_sha256",
    "load_backbone",
    "read_provenance",
    "verify_backbone",
]
