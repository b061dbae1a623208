"""Small saved classifiers for the tests of predict, serve and export: built in a second, deterministic."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

CLASS_NAMES = ("circle", "square", "triangle")


def tiny_classifier(input_shape=(8, 8, 3), softmax: bool = True, seed: int = 0) -> keras.Model:
    """A classifier of 3 classes whose outputs depend on every pixel: mean pooling, then a dense layer."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input(shape=input_shape)
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(len(CLASS_NAMES), activation="softmax" if softmax else None)(x)
    return keras.Model(inputs, outputs)


def saved_classifier(folder: Path, name: str = "model.keras", class_names=CLASS_NAMES, **options) -> Path:
    """Save `tiny_classifier(**options)` in `folder` with its class names (None: no sidecar); return the path."""
    from cnn_course.saving import save_model_with_classes

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    model = tiny_classifier(**options)
    if class_names is None:
        model.save(path)
    else:
        save_model_with_classes(model, path, class_names)
    return path


def image_bytes(seed: int = 0, size=(8, 8), mode: str = "RGB", format: str = "PNG") -> bytes:  # noqa: A002 - Pillow's name
    """A random image encoded as PNG (or another format)."""
    import io

    from PIL import Image

    pixels = np.random.default_rng(seed).integers(0, 256, (*size[::-1], 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).convert(mode).save(buffer, format=format)
    return buffer.getvalue()
