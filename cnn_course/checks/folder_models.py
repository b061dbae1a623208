"""Checks for lesson 07's models: a CNN that resizes and rescales raw photos, and the model the lesson saves."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np

from cnn_course.checks.draws import generator
from cnn_course.checks.feedback import CheckFailed, NotAttempted
from cnn_course.data.image_folders import IMAGE_SUFFIXES
from cnn_course.evaluation import predict_probabilities
from cnn_course.models import flat_layers


def check_build_folder_cnn(build_folder_cnn: Callable) -> None:
    """build_folder_cnn(num_classes, image_size) takes raw RGB images of any size: resizing and rescaling inside."""
    name = "build_folder_cnn"
    rng = generator(name)
    num_classes, image_size = int(rng.integers(3, 9)), int(rng.choice([20, 24, 28, 36, 40]))
    model = build_folder_cnn(num_classes=num_classes, image_size=image_size)
    if not isinstance(model, keras.Model):
        raise CheckFailed(
            name,
            f"returned {type(model).__name__}, not a Keras model.",
            "return a keras.Sequential (or a functional keras.Model).",
        )
    input_shape = tuple(model.input_shape)
    if input_shape[1:3] != (None, None):
        raise CheckFailed(
            name,
            f"the model takes images of shape {input_shape[1:]} only: resizing happens outside the model.",
            "start with keras.Input(shape=(None, None, 3)) and a layers.Resizing(image_size, image_size) layer, "
            "so the saved model takes a photo of any size, exactly as it comes from the file.",
        )
    if input_shape[3:] != (3,):
        raise CheckFailed(
            name,
            f"the model's input has {input_shape[3:]} channels.",
            "take RGB images: keras.Input(shape=(None, None, 3)).",
        )
    layers_in_order = flat_layers(model)
    first_conv = next((i for i, layer in enumerate(layers_in_order) if isinstance(layer, keras.layers.Conv2D)), None)
    if first_conv is None:
        raise CheckFailed(
            name, "the model has no Conv2D layer.", "a CNN: add convolution blocks after the resizing and rescaling."
        )
    before = layers_in_order[:first_conv]
    resizing = [layer for layer in before if isinstance(layer, keras.layers.Resizing)]
    if not resizing:
        raise CheckFailed(
            name,
            "there is no Resizing layer before the first convolution.",
            "add layers.Resizing(image_size, image_size) right after the input: "
            "the model must bring any photo to the size it was trained on.",
        )
    if (resizing[0].height, resizing[0].width) != (image_size, image_size):
        raise CheckFailed(
            name,
            f"called with image_size={image_size}, the Resizing layer resizes "
            f"to {resizing[0].height} x {resizing[0].width}.",
            "use Resizing(image_size, image_size).",
        )
    rescaling = [layer for layer in before if isinstance(layer, keras.layers.Rescaling)]
    if not rescaling:
        raise CheckFailed(
            name,
            "there is no Rescaling layer before the first convolution.",
            "add layers.Rescaling(1 / 255): the images arrive as pixel values 0-255, as they are in the files.",
        )
    scale, offset = float(np.squeeze(rescaling[0].scale)), float(np.squeeze(rescaling[0].offset))
    if not (np.isclose(scale, 1 / 255) and np.isclose(offset, 0.0)) and not (
        np.isclose(scale, 1 / 127.5) and np.isclose(offset, -1.0)
    ):
        raise CheckFailed(
            name,
            f"the Rescaling layer multiplies by {scale:.6g} and adds {offset:g}: "
            "pixels 0-255 do not end in [0, 1] (or [-1, 1]).",
            "use layers.Rescaling(1 / 255) (scale=1/255, offset 0).",
        )
    for height, width in (rng.integers(12, 40, 2), rng.integers(41, 80, 2)):
        raw = rng.integers(0, 256, (2, height, width, 3)).astype(np.float32)
        output = np.asarray(model(raw, training=False))
        if output.shape != (2, num_classes):
            raise CheckFailed(
                name,
                f"for 2 images of {height} x {width} pixels and num_classes={num_classes}, "
                f"the output has shape {output.shape}.",
                "end with layers.Dense(num_classes, activation='softmax'), after global average pooling or Flatten.",
            )
        if not np.all(np.isfinite(output)) or not np.allclose(output.sum(axis=1), 1.0, atol=1e-3):
            raise CheckFailed(
                name,
                "the outputs are not class probabilities (each row should sum to 1).",
                "use activation='softmax' on the last layer.",
            )
    if model.count_params() > 1_000_000:
        raise CheckFailed(
            name,
            f"the model has {model.count_params():,} parameters.",
            "keep it under 1,000,000 so it trains in minutes on a CPU: "
            "a few convolution blocks and global average pooling.",
        )


# -- the saved model ---------------------------------------------------------------------------------


def check_class_names_sidecar(exercise: str, path: Path, saved_by: str) -> list[str]:
    """Return the class names saved next to a model (`NAME.classes.json`, see cnn_course.saving).

    Fail with a hint when unusable.
    """
    if not path.is_file():
        raise NotAttempted(exercise, f"{exercise}: no class names at {path} yet. Run lesson {saved_by} to the end.")
    try:
        names = json.loads(path.read_text())["class_names"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise CheckFailed(
            exercise,
            f"{path} is not a class-names file ({type(error).__name__}: {error}).",
            f"run lesson {saved_by} again to rewrite it.",
        ) from None
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise CheckFailed(
            exercise,
            f"{path} holds {names!r}, not a list of class names.",
            "save the model with saving.save_model_with_classes(model, path, train_ds.class_names).",
        )
    return names


def read_folder_images(folder: Path) -> tuple[np.ndarray, list[str]]:
    """Return the images of a folder of equal-size RGB files, uint8 (N, H, W, 3), and each one's class folder.

    Files are read in sorted order of their paths; only files with an image extension are read.
    """
    from PIL import Image

    paths = sorted(path for path in folder.glob("*/*") if path.suffix.lower() in IMAGE_SUFFIXES)
    images = []
    for path in paths:
        with Image.open(path) as image:
            images.append(np.asarray(image.convert("RGB")))
    return np.stack(images), [path.parent.name for path in paths]


def check_folder_model_accuracy(
    exercise: str, model: keras.Model, class_names: list[str], images: np.ndarray, labels: list[str], threshold: float
) -> float:
    """Fail unless `model` classifies the held-out `images` with accuracy >= threshold; return the accuracy.

    `images` are uint8 (N, H, W, 3), the pixels as an image folder's files hold them (0-255; see
    `read_folder_images`); `labels` name each image's class folder; the model's outputs are named by
    `class_names`, which must be the held-out classes.
    """
    if tuple(model.input_shape[1:3]) != (None, None):
        raise CheckFailed(
            exercise,
            f"the saved model takes images of shape {tuple(model.input_shape[1:])} only: "
            "resizing happens outside the model.",
            "start the model with keras.Input(shape=(None, None, 3)) and a Resizing layer, "
            "so it takes a photo of any size.",
        )
    folder_classes = sorted(set(labels))
    if sorted(class_names) != folder_classes:
        raise CheckFailed(
            exercise,
            f"the saved class names are {class_names}; the held-out folder's classes are {folder_classes}.",
            "train on the lesson's CIFAR-10 folder and save train_ds.class_names next to the model.",
        )
    if model.output_shape[-1] != len(class_names):
        raise CheckFailed(
            exercise,
            f"the model has {model.output_shape[-1]} outputs for {len(class_names)} class names.",
            "save the class names of the dataset the model was trained on.",
        )
    predicted = np.argmax(predict_probabilities(model, images.astype(np.float32)), axis=1)
    accuracy = float(np.mean(np.array(class_names)[predicted] == np.array(labels)))
    if accuracy < threshold:
        raise CheckFailed(
            exercise,
            f"accuracy {accuracy:.2%} on the {len(labels):,} images of a held-out folder "
            f"(the official CIFAR-10 test split); at least {threshold:.2%} is required.",
            "the model must take the pixels as they are in the files (0-255: Rescaling(1 / 255) inside the model), "
            "and the class-names file must list the classes in the order of its outputs; "
            "then train with the lesson's settings.",
        )
    return accuracy
