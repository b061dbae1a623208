"""A saved classifier ready to predict on image files: loaded safely once, with its class names.

Shared by `cnn-course predict`, `cnn-course serve` (one `Classifier` for every request) and
`cnn-course export`.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cnn_course.images import ImageError, decode_image, load_image, model_input_shape, prepare_image, takes_raw_pixels
from cnn_course.saving import read_class_names, training_pixels

COLOUR_DIFFERENCE = 32  # a pixel is coloured when its RGB channels differ by more (gray, even JPEG'd, does not)
COLOURED_FRACTION = 0.05  # an image has real colour when more than this fraction of its pixels is coloured
BRIGHTNESS_SPREADS = 5  # an image is unlike the training images when its mean brightness is this many spreads away
MIN_BRIGHTNESS_GAP = 0.2  # ... and at least this far (a fraction of full scale) from their mean


class ModelFileError(ValueError):
    """A model file that is missing or cannot be loaded in safe mode."""


def load_keras_model(path: str | Path):
    """Load a `.keras` file in safe mode (no arbitrary code runs), uncompiled; ModelFileError if it cannot be."""
    import keras

    path = Path(path)
    if not path.is_file():
        raise ModelFileError(
            f"{path}: no such model file. Train one first, e.g. `cnn-course train cifar10 --out DIR`, "
            "and pass DIR/model.keras."
        )
    if path.suffix != ".keras":
        raise ModelFileError(f"{path}: expected a Keras 3 model saved as a .keras file (model.save('model.keras')).")
    try:
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as error:  # Keras raises ValueError, TypeError, OSError, zipfile errors...
        raise ModelFileError(
            f"{path}: could not be loaded as a Keras model in safe mode ({type(error).__name__}: {error})."
        ) from None


def as_probabilities(outputs: np.ndarray) -> np.ndarray:
    """Return model outputs (N, classes) as probabilities: unchanged if each row already is one, else softmax.

    A model trained with `from_logits=True` ends without a softmax; its outputs (logits) are
    turned into probabilities here. Returns float32 (N, classes), each row summing to 1.
    """
    outputs = np.asarray(outputs, dtype=np.float64)
    if np.all(outputs >= 0) and np.allclose(outputs.sum(axis=1), 1.0, atol=1e-3):
        return (outputs / outputs.sum(axis=1, keepdims=True)).astype(np.float32)
    shifted = np.exp(outputs - outputs.max(axis=1, keepdims=True))
    return (shifted / shifted.sum(axis=1, keepdims=True)).astype(np.float32)


def top_k(probabilities: np.ndarray, class_names: Sequence[str], k: int = 3) -> list[tuple[str, float]]:
    """Return the k most probable (class name, probability) pairs of one row (classes,), most probable first.

    Ties keep the lower class index first; k is capped at the number of classes.
    """
    order = np.argsort(-np.asarray(probabilities), kind="stable")[: max(1, k)]
    return [(class_names[index], float(probabilities[index])) for index in order]


@dataclass
class Classifier:
    """A Keras image classifier, its class names and input shape; `predict` is safe to call from many threads."""

    model: object
    class_names: tuple[str, ...]
    input_shape: tuple[int | None, int | None, int]
    note: str | None = None
    raw_pixels: bool = False  # the model rescales pixel values 0-255 itself (see images.takes_raw_pixels)
    training_pixels: dict[str, float] | None = None  # brightness of its training images (saving.training_pixels)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def preprocess(self, source: str | Path | bytes, name: str | None = None) -> np.ndarray:
        """Decode an image file (path or bytes) into this model's input: float32 (H, W, C) in [0, 1], or 0-255 for a
        model that rescales its inputs itself; ImageError if not an image."""
        return load_image(source, self.input_shape, name, self.raw_pixels)

    def predict(self, images: np.ndarray) -> np.ndarray:
        """Class probabilities float32 (N, classes) of preprocessed images (N, H, W, C).

        `predict_on_batch` runs the model's compiled predict step (20x faster than an eager call
        for one small image), under a lock: Keras does not promise that a model is thread-safe,
        and one image takes milliseconds, so concurrent requests simply queue.
        """
        with self._lock:
            outputs = self.model.predict_on_batch(np.asarray(images, dtype=np.float32))
        return as_probabilities(np.asarray(outputs))

    def top_k(self, source: str | Path | bytes, k: int = 3, name: str | None = None) -> list[tuple[str, float]]:
        """The k most probable (class name, probability) pairs for one image file; ImageError if not an image."""
        return self.classify(source, k, name).predictions

    def classify(self, source: str | Path | bytes, k: int = 3, name: str | None = None) -> Classification:
        """One image file's k most probable classes, with warnings when it is unlike the training images.

        See `unlike_training` for what is warned about. Raises ImageError if the file is not an image.
        """
        image = decode_image(source, name)
        pixels = prepare_image(image, self.input_shape, self.raw_pixels)
        predictions = top_k(self.predict(pixels[np.newaxis])[0], self.class_names, k)
        warnings = unlike_training(image, pixels, self.input_shape[-1], self.raw_pixels, self.training_pixels)
        return Classification(predictions, warnings)


@dataclass
class Classification:
    """An image's k most probable (class name, probability) pairs, most probable first, and what makes it unlike
    the images the model trained on (sentences for people; empty when nothing does)."""

    predictions: list[tuple[str, float]]
    warnings: list[str]


def unlike_training(
    image, pixels: np.ndarray, channels: int, raw_pixels: bool, training: dict[str, float] | None
) -> list[str]:
    """Say how a decoded image (PIL) and its model input `pixels` (H, W, C) differ from what the model trained on.

    Two signs that the answer may be worthless however confident it looks: real colour sent to a grayscale
    model (more than COLOURED_FRACTION of the pixels with channels apart by COLOUR_DIFFERENCE; gray saved as
    RGB is not colour), and a mean brightness far from the training images' (`training`: {"mean", "spread"}
    as fractions of full scale; None skips this test), e.g. dark digits on light paper for an MNIST model.
    """
    warnings = []
    if channels == 1:
        rgb = np.asarray(image.convert("RGB"), dtype=np.int16)
        coloured = float(np.mean(rgb.max(axis=-1) - rgb.min(axis=-1) > COLOUR_DIFFERENCE))
        if coloured > COLOURED_FRACTION:
            warnings.append(
                f"this is a colour image ({coloured:.0%} of its pixels are coloured) and the model was trained on "
                "grayscale images: it sees only the brightness, and its answer may mean little."
            )
    if training is not None:
        brightness = float(pixels.mean()) / (255.0 if raw_pixels else 1.0)
        gap = max(BRIGHTNESS_SPREADS * training["spread"], MIN_BRIGHTNESS_GAP)
        if abs(brightness - training["mean"]) > gap:
            inverted = abs((1 - brightness) - training["mean"]) <= gap
            advice = (
                "it looks inverted (light background, dark subject) where the training images were the opposite: "
                "invert it (PIL.ImageOps.invert) before predicting."
                if inverted
                else "it may come from elsewhere than the training data (lighting, background, kind of picture)."
            )
            warnings.append(
                f"its mean brightness {brightness:.2f} is far from the training images' ({training['mean']:.2f} "
                f"± {training['spread']:.2f}, on 0-1): the model has not learnt from images like it, and its answer "
                f"may be confident and wrong; {advice}"
            )
    return warnings


def load_classifier(path: str | Path) -> Classifier:
    """Load a saved classifier (safe mode) with its class names (the sidecar, else "0", "1", ...).

    Raises ModelFileError for a missing or unloadable file, ImageError for a model that does not
    take images, ClassNamesError for a sidecar that does not fit the model.
    """
    model = load_keras_model(path)
    input_shape = model_input_shape(model)
    output_shape = model.output_shape
    if isinstance(output_shape, list) or len(output_shape) != 2:
        raise ImageError(f"{path}: the model's output has shape {output_shape}; a classifier outputs (N, classes).")
    class_names, note = read_class_names(path, int(output_shape[-1]))
    brightness = training_pixels(path, input_shape, class_names)
    return Classifier(model, class_names, input_shape, note, takes_raw_pixels(model), brightness)
