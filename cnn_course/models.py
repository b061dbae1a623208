"""Reference model builders: the CNNs the lessons teach, and the baselines they are compared with."""

from __future__ import annotations

import keras
import numpy as np
from keras import layers

MNIST_INPUT_SHAPE = (28, 28, 1)
CIFAR10_INPUT_SHAPE = (32, 32, 3)


def build_mnist_cnn(input_shape: tuple[int, int, int] = MNIST_INPUT_SHAPE, num_classes: int = 10) -> keras.Sequential:
    """Return the course's MNIST CNN (uncompiled): two conv/pool blocks, a Dense(128) head, softmax.

    Input: float32 images of `input_shape` scaled to [0, 1]. Output: (batch, num_classes)
    class probabilities. 225,034 parameters for the defaults.
    """
    return keras.Sequential(
        [
            keras.Input(shape=input_shape),
            layers.Conv2D(32, kernel_size=3, activation="relu"),
            layers.MaxPooling2D(pool_size=2),
            layers.Conv2D(64, kernel_size=3, activation="relu"),
            layers.MaxPooling2D(pool_size=2),
            layers.Flatten(),
            layers.Dropout(0.3),
            layers.Dense(128, activation="relu"),
            layers.Dropout(0.3),
            layers.Dense(num_classes, activation="softmax"),
        ],
        name="mnist_cnn",
    )


def build_keras_mnist_convnet(
    input_shape: tuple[int, int, int] = MNIST_INPUT_SHAPE, num_classes: int = 10
) -> keras.Sequential:
    """Return the keras.io `mnist_convnet` example model (uncompiled), the baseline we compare with."""
    return keras.Sequential(
        [
            keras.Input(shape=input_shape),
            layers.Conv2D(32, kernel_size=3, activation="relu"),
            layers.MaxPooling2D(pool_size=2),
            layers.Conv2D(64, kernel_size=3, activation="relu"),
            layers.MaxPooling2D(pool_size=2),
            layers.Flatten(),
            layers.Dropout(0.5),
            layers.Dense(num_classes, activation="softmax"),
        ],
        name="keras_mnist_convnet",
    )


def _conv_bn_relu(filters: int) -> list[keras.layers.Layer]:
    return [layers.Conv2D(filters, 3, padding="same", use_bias=False), layers.BatchNormalization(), layers.ReLU()]


def build_cifar10_seed_cnn(
    input_shape: tuple[int, int, int] = CIFAR10_INPUT_SHAPE, num_classes: int = 10
) -> keras.Sequential:
    """Return the seed CIFAR-10 CNN (uncompiled): two BatchNorm conv blocks (32, 64) and a Dense(512) head."""
    return keras.Sequential(
        [
            keras.Input(shape=input_shape),
            *_conv_bn_relu(32),
            *_conv_bn_relu(32),
            layers.MaxPooling2D(2),
            layers.Dropout(0.25),
            *_conv_bn_relu(64),
            *_conv_bn_relu(64),
            layers.MaxPooling2D(2),
            layers.Dropout(0.25),
            layers.Flatten(),
            layers.Dense(512, use_bias=False),
            layers.BatchNormalization(),
            layers.ReLU(),
            layers.Dropout(0.5),
            layers.Dense(num_classes, activation="softmax"),
        ],
        name="cifar10_seed_cnn",
    )


def build_cifar10_three_conv_cnn(
    input_shape: tuple[int, int, int] = CIFAR10_INPUT_SHAPE, num_classes: int = 10
) -> keras.Sequential:
    """Return the second seed CIFAR-10 CNN (uncompiled): conv 32/64/128 with pooling, Dense(128) + Dropout."""
    return keras.Sequential(
        [
            keras.Input(shape=input_shape),
            layers.Conv2D(32, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(64, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(128, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dense(128, activation="relu"),
            layers.Dropout(0.5),
            layers.Dense(num_classes, activation="softmax"),
        ],
        name="cifar10_three_conv_cnn",
    )


def build_cifar10_augmentation(max_shift: float = 0.0625) -> keras.Sequential:
    """Return the CIFAR-10 augmentation: a random horizontal flip and a shift of up to `max_shift`
    of the height and width (reflecting the border). Active only while training."""
    return keras.Sequential(
        [layers.RandomFlip("horizontal"), layers.RandomTranslation(max_shift, max_shift, fill_mode="reflect")],
        name="augmentation",
    )


def build_cifar10_fast_cnn(
    mean: np.ndarray,
    variance: np.ndarray,
    augmentation: keras.layers.Layer | None = None,
    input_shape: tuple[int, int, int] = CIFAR10_INPUT_SHAPE,
    num_classes: int = 10,
    widths: tuple[int, ...] = (32, 64, 128, 256),
    convs_per_stage: tuple[int, ...] = (1, 1, 1, 1),
) -> keras.Sequential:
    """Return the fast CIFAR-10 CNN (uncompiled): standardisation and augmentation inside, stages of
    3x3 convolutions with BatchNorm after each, 2x2 max pooling between stages, global average
    pooling instead of a large dense head.

    mean, variance: per-channel statistics of the training split, shape (3,). Inputs are float32
    images in [0, 1]. augmentation: a layer applied after standardisation while training (for
    example build_cifar10_augmentation()); None trains on the images as they are. widths and
    convs_per_stage: the filters and the number of convolutions of each stage.
    """
    body: list[keras.layers.Layer] = []
    for stage, (filters, convs) in enumerate(zip(widths, convs_per_stage, strict=True)):
        if stage:
            body.append(layers.MaxPooling2D(2))
        for _ in range(convs):
            body.extend(_conv_bn_relu(filters))
    return keras.Sequential(
        [
            keras.Input(shape=input_shape),
            layers.Normalization(mean=mean, variance=variance),
            *([augmentation] if augmentation is not None else []),
            *body,
            layers.GlobalAveragePooling2D(),
            layers.Dense(num_classes, activation="softmax"),
        ],
        name="cifar10_fast_cnn",
    )


def build_keras_cifar10_cnn(input_shape: tuple[int, int, int] = CIFAR10_INPUT_SHAPE, num_classes: int = 10) -> keras.Sequential:
    """Return the classic Keras `cifar10_cnn` example model (uncompiled), a baseline."""
    return keras.Sequential(
        [
            keras.Input(shape=input_shape),
            layers.Conv2D(32, 3, padding="same", activation="relu"),
            layers.Conv2D(32, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Dropout(0.25),
            layers.Conv2D(64, 3, padding="same", activation="relu"),
            layers.Conv2D(64, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Dropout(0.25),
            layers.Flatten(),
            layers.Dense(512, activation="relu"),
            layers.Dropout(0.5),
            layers.Dense(num_classes, activation="softmax"),
        ],
        name="keras_cifar10_cnn",
    )


def build_tf_tutorial_cnn(input_shape: tuple[int, int, int] = CIFAR10_INPUT_SHAPE, num_classes: int = 10) -> keras.Sequential:
    """Return the model of TensorFlow's "Convolutional Neural Network" tutorial (uncompiled), a baseline."""
    return keras.Sequential(
        [
            keras.Input(shape=input_shape),
            layers.Conv2D(32, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(64, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(64, 3, activation="relu"),
            layers.Flatten(),
            layers.Dense(64, activation="relu"),
            layers.Dense(num_classes, activation="softmax"),
        ],
        name="tf_tutorial_cnn",
    )
