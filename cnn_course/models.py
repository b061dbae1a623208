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


@keras.saving.register_keras_serializable(package="cnn_course")
class FusedBatchNormalization(layers.BatchNormalization):
    """Keras's `BatchNormalization` whose training step runs TensorFlow's fused kernel.

    Same weights, same arithmetic, same moving statistics, same inference as the Keras layer; on a
    CPU one fused op (and its fused gradient) replaces the ten or so element-wise ops the Keras
    layer builds, which made a training step of the fast CIFAR-10 network 1.3 times faster on 2
    cores (`python -m benchmarks.throughput --variants fast fast-keras-batchnorm`). Used on 4-D
    channels-last inputs while training with the TensorFlow backend; anywhere else it is the Keras
    layer. Save a model with `with_keras_batch_normalization(model)`, so that the file holds only
    Keras's own layers.
    """

    def call(self, inputs, training=None, mask=None):
        fusable = (
            training
            and self.trainable
            and mask is None
            and not self.renorm
            and keras.backend.backend() == "tensorflow"
            and len(inputs.shape) == 4
            and self.axis in (-1, 3)
            and inputs.dtype == "float32"
        )
        if not fusable:
            return super().call(inputs, training=training, mask=mask)
        import tensorflow as tf

        channels = inputs.shape[-1]
        scale = self.gamma if self.scale else tf.ones((channels,))
        offset = self.beta if self.center else tf.zeros((channels,))
        outputs, mean, corrected_variance = tf.compat.v1.nn.fused_batch_norm(
            inputs, scale, offset, epsilon=self.epsilon, data_format="NHWC", is_training=True
        )
        # The fused op returns the unbiased variance; Keras's layer averages the biased one.
        count = tf.cast(tf.reduce_prod(tf.shape(inputs)[:-1]), "float32")
        variance = corrected_variance * (count - 1.0) / count
        self.moving_mean.assign(self.moving_mean * self.momentum + mean * (1.0 - self.momentum))
        self.moving_variance.assign(self.moving_variance * self.momentum + variance * (1.0 - self.momentum))
        return outputs


def with_keras_batch_normalization(model: keras.Model) -> keras.Model:
    """Return a copy of `model` (same weights, uncompiled) whose `FusedBatchNormalization` layers are Keras's own.

    The copy predicts exactly as `model` does, and its saved file loads with Keras alone. Fused
    layers inside nested Sequential or functional sub-models are converted too. A model without
    fused layers, at any depth, is returned unchanged.
    """
    if not any(isinstance(layer, FusedBatchNormalization) for layer in flat_layers(model)):
        return model

    def clone(layer: keras.layers.Layer) -> keras.layers.Layer:
        keras_class = layers.BatchNormalization if isinstance(layer, FusedBatchNormalization) else layer.__class__
        return keras_class.from_config(layer.get_config())

    copy = keras.models.clone_model(model, clone_function=clone, recursive=True)
    copy.set_weights(model.get_weights())
    return copy


def flat_layers(layer: keras.layers.Layer) -> list[keras.layers.Layer]:
    """Return the layers of a model in order, nested Sequential and functional models flattened into theirs.

    [layer] for a layer.
    """
    if isinstance(layer, keras.Model):
        return [inner for child in layer.layers for inner in flat_layers(child)]
    return [layer]


def _conv_bn_relu(filters: int, fused_batch_norm: bool = False) -> list[keras.layers.Layer]:
    batch_norm = FusedBatchNormalization() if fused_batch_norm else layers.BatchNormalization()
    return [layers.Conv2D(filters, 3, padding="same", use_bias=False), batch_norm, layers.ReLU()]


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
    fused_batch_norm: bool = False,
) -> keras.Sequential:
    """Return the fast CIFAR-10 CNN (uncompiled): standardisation and augmentation inside, stages of
    3x3 convolutions with BatchNorm after each, 2x2 max pooling between stages, global average
    pooling instead of a large dense head.

    mean, variance: per-channel statistics of the training split, shape (3,). Inputs are float32
    images in [0, 1]. augmentation: a layer applied after standardisation while training (for
    example build_cifar10_augmentation()); None trains on the images as they are. widths and
    convs_per_stage: the filters and the number of convolutions of each stage. fused_batch_norm:
    train with `FusedBatchNormalization` (faster on a CPU; convert with
    `with_keras_batch_normalization` before saving) instead of Keras's `BatchNormalization`.
    """
    body: list[keras.layers.Layer] = []
    for stage, (filters, convs) in enumerate(zip(widths, convs_per_stage, strict=True)):
        if stage:
            body.append(layers.MaxPooling2D(2))
        for _ in range(convs):
            body.extend(_conv_bn_relu(filters, fused_batch_norm))
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


def build_keras_cifar10_cnn(
    input_shape: tuple[int, int, int] = CIFAR10_INPUT_SHAPE, num_classes: int = 10
) -> keras.Sequential:
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


def build_tf_tutorial_cnn(
    input_shape: tuple[int, int, int] = CIFAR10_INPUT_SHAPE, num_classes: int = 10
) -> keras.Sequential:
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
