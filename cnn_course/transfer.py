"""Transfer learning: the reference transfer model and fine-tuning step, and the optional ImageNet backbone.

The course's own backbone (`cnn_course.pretrained`) works offline; a Keras application pretrained on
ImageNet (MobileNetV3Small) is used only when its weights file is on this machine.
"""

from __future__ import annotations

import os
from pathlib import Path

import keras
import numpy as np
from keras import layers

from cnn_course import models, training
from cnn_course.pretrained import BACKBONE_NAME

HEAD_DROPOUT = 0.2
IMAGENET_WEIGHTS_ENV_VAR = "CNN_COURSE_IMAGENET_WEIGHTS"
MOBILENET_WEIGHTS_FILE = "weights_mobilenet_v3_small_224_1.0_float_no_top_v2.h5"


def build_transfer_model(
    base: keras.Model, num_classes: int, augmentation: keras.layers.Layer | None = None
) -> keras.Model:
    """Freeze `base` and return a functional model: inputs -> augmentation -> base(training=False) ->
    GlobalAveragePooling2D -> Dropout(0.2) -> Dense(num_classes, softmax); uncompiled.

    base: a model taking images of its input shape and returning feature maps (N, h, w, c).
    augmentation: layers applied while training only (default: models.build_cifar10_augmentation()).
    The model takes what the base takes (for the course's backbone: float32 (N, 32, 32, 3) in [0, 1]).
    """
    base.trainable = False
    inputs = keras.Input(shape=base.input_shape[1:], name="images")
    x = (augmentation or models.build_cifar10_augmentation())(inputs)
    x = base(x, training=False)
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    x = layers.Dropout(HEAD_DROPOUT, name="head_dropout")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name="transfer_model")


def unfreeze_top_layers(
    model: keras.Model, num_layers: int, learning_rate: float, base_name: str = BACKBONE_NAME
) -> keras.Model:
    """Make the last `num_layers` layers of the base named `base_name` trainable, except
    BatchNormalization layers, which stay frozen (and so in inference mode); recompile `model`
    with Adam(learning_rate), sparse categorical cross-entropy and accuracy; return it.
    """
    base = model.get_layer(base_name)
    base.trainable = True
    for layer in base.layers[:-num_layers]:
        layer.trainable = False
    for layer in base.layers:
        if isinstance(layer, layers.BatchNormalization):
            layer.trainable = False
    return training.compile_classifier(model, learning_rate)


def keras_honours_training_false() -> bool:
    """Return True if this Keras keeps a trainable base called with base(x, training=False) in inference mode
    when the whole model runs in training mode (as in fit); False if the outer training=True wins.

    Keras 3.15 and earlier let it win (keras-team/keras#23364 changed that), so freezing the
    BatchNormalization layers themselves is what keeps them in inference mode there.
    """
    inputs = keras.Input(shape=(4, 4, 1))
    base = keras.Model(inputs, layers.BatchNormalization()(inputs))
    outer_inputs = keras.Input(shape=(4, 4, 1))
    outer = keras.Model(outer_inputs, base(outer_inputs, training=False))
    base.trainable = True
    images = np.linspace(1, 5, 32, dtype="float32").reshape(2, 4, 4, 1)  # far from the initial moving mean 0
    return bool(np.allclose(outer(images, training=True), outer(images, training=False)))


def imagenet_weights_path() -> Path | None:
    """Return the MobileNetV3Small ImageNet weights file (no top) if this machine has one, else None.

    Looks at $CNN_COURSE_IMAGENET_WEIGHTS, then in Keras's cache ($KERAS_HOME or ~/.keras, models/).
    """
    given = os.environ.get(IMAGENET_WEIGHTS_ENV_VAR)
    if given:
        return Path(given).expanduser() if Path(given).expanduser().is_file() else None
    cache = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "models" / MOBILENET_WEIGHTS_FILE
    return cache if cache.is_file() else None


def imagenet_weights_status() -> str:
    """Describe in one line whether the ImageNet weights are available, and how to get them if not."""
    path = imagenet_weights_path()
    if path is not None:
        return f"available ({path})"
    given = os.environ.get(IMAGENET_WEIGHTS_ENV_VAR)
    if given:
        return f"{IMAGENET_WEIGHTS_ENV_VAR}={given} names no file; point it at {MOBILENET_WEIGHTS_FILE}"
    return (
        f"not found: set {IMAGENET_WEIGHTS_ENV_VAR} to {MOBILENET_WEIGHTS_FILE}, or download it once "
        'online with python -c "import keras; keras.applications.MobileNetV3Small(include_top=False)"'
    )


def load_imagenet_backbone(input_shape: tuple[int, int, int] = (96, 96, 3)) -> keras.Model:
    """Return MobileNetV3Small without its classifier, with ImageNet weights from this machine.

    Takes float32 RGB images (N, *input_shape) with pixel values in [0, 255] (it rescales them
    itself); returns feature maps (N, h, w, 576). Raises FileNotFoundError when
    imagenet_weights_path() finds no weights file.
    """
    path = imagenet_weights_path()
    if path is None:
        raise FileNotFoundError(
            f"no ImageNet weights for MobileNetV3Small on this machine: {imagenet_weights_status()}."
        )
    return keras.applications.MobileNetV3Small(
        input_shape=input_shape, include_top=False, weights=str(path), include_preprocessing=True
    )
