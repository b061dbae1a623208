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
    """Return a copy of `model` (same weights, uncompiled) whose `FusedBatchNormalization` layers are Keras's own,
    and whose `AlternatingFlip` layers (training only) are Keras's `Identity`.

    The copy predicts exactly as `model` does, and its saved file loads with Keras alone. Layers
    inside nested Sequential or functional sub-models are converted too. A model without such
    layers, at any depth, is returned unchanged.
    """
    if not any(isinstance(layer, FusedBatchNormalization | AlternatingFlip) for layer in flat_layers(model)):
        return model

    def clone(layer: keras.layers.Layer) -> keras.layers.Layer:
        if isinstance(layer, AlternatingFlip):
            return layers.Identity(name=layer.name, dtype=layer.dtype_policy.name)
        keras_class = layers.BatchNormalization if isinstance(layer, FusedBatchNormalization) else layer.__class__
        return keras_class.from_config(layer.get_config())

    copy = keras.models.clone_model(model, clone_function=clone, recursive=True)
    for original, cloned in zip(flat_layers(model), flat_layers(copy), strict=True):
        if cloned.weights:
            cloned.set_weights(original.get_weights())
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


@keras.saving.register_keras_serializable(package="cnn_course")
class AlternatingFlip(layers.Layer):
    """Training only: mirrors each image left-right in every other epoch (airbench's alternating flips).

    A random half of the images is mirrored in the first epoch and the other half in the next, and so on, so
    that every image is seen both ways within any two epochs (random flips leave some unseen one way for
    several). The layer tells an image by a bit of its own pixel sum and the epoch by counting the images
    it has trained on: `images_per_epoch` is the size of the training split. Inputs (N, H, W, C) float images;
    same shape and dtype out. At inference (and in saved files, see `with_keras_batch_normalization`) it
    passes images through.
    """

    def __init__(self, images_per_epoch: int, **kwargs) -> None:
        super().__init__(**kwargs)
        if images_per_epoch < 1:
            raise ValueError(f"images_per_epoch must be at least 1 (the training images), got {images_per_epoch}")
        self.images_per_epoch = int(images_per_epoch)
        self.seen = self.add_weight(shape=(), initializer="zeros", trainable=False, name="seen", dtype="int64")

    def call(self, images, training=None):
        if not training:
            return images
        from keras import ops

        batch = ops.shape(images)[0]
        epoch = ops.floor_divide(self.seen, self.images_per_epoch)
        self.seen.assign_add(ops.cast(batch, "int64"))
        # A bit that belongs to the image: its pixel sum's parity at a fine scale.
        sums = ops.sum(ops.cast(images, "float32"), axis=(1, 2, 3))
        image_bit = ops.cast(ops.floor(sums * 997.0), "int64") % 2
        flip = ops.reshape(ops.equal((image_bit + epoch) % 2, 1), (-1, 1, 1, 1))
        return ops.where(flip, ops.flip(images, axis=2), images)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "images_per_epoch": self.images_per_epoch}


def patch_whitening_kernel(
    images: np.ndarray, mean: np.ndarray, variance: np.ndarray, size: int = 2, epsilon: float = 5e-4
) -> np.ndarray:
    """Return a (size, size, C, 2*size*size*C) float32 convolution kernel whose filters whiten size x size patches.

    images: (N, H, W, C) float32 in [0, 1], standardised with the per-channel `mean` and `variance`
    (shape (C,)) first. The filters are the covariance's eigenvectors scaled by 1/sqrt(eigenvalue +
    epsilon), followed by their negations (so that a ReLU after them keeps both signs).
    """
    x = (images - mean) / np.sqrt(variance)
    height, width = x.shape[1] - size + 1, x.shape[2] - size + 1
    patches = np.stack([x[:, i : i + height, j : j + width] for i in range(size) for j in range(size)], axis=3)
    patches = patches.reshape(-1, size * size * x.shape[-1]).astype(np.float64)
    patches -= patches.mean(0)
    eigenvalues, eigenvectors = np.linalg.eigh(patches.T @ patches / len(patches))
    kernel = (eigenvectors / np.sqrt(eigenvalues + epsilon)).reshape(size, size, x.shape[-1], -1)
    return np.concatenate([kernel, -kernel], axis=-1).astype(np.float32)


def build_cifar10_airbench(
    mean: np.ndarray,
    variance: np.ndarray,
    augmentation: list[keras.layers.Layer],
    whitening_kernel: np.ndarray | None = None,
    widths: tuple[int, ...] = (64, 256, 256),
    input_shape: tuple[int, int, int] = CIFAR10_INPUT_SHAPE,
    num_classes: int = 10,
    identity_init: bool = True,
    logit_scale: float | None = 1 / 9,
) -> keras.Sequential:
    """Return airbench's CIFAR-10 network (uncompiled) in Keras: a 2x2 patch stem, then per width a block of
    conv 3x3 - max pool 2 - BatchNorm - GELU - conv 3x3 - BatchNorm - GELU, global max pooling and a softmax.

    mean, variance: per-channel statistics of the training split, shape (3,); inputs are float32 images in
    [0, 1]. augmentation: layers applied first while training (flips before standardisation). whitening_kernel:
    a frozen stem from `patch_whitening_kernel` (shape (2, 2, 3, F)) whose bias learns; None learns a 2x2 stem of
    24 filters with BatchNorm instead. The BatchNorm layers are `FusedBatchNormalization` (convert before saving with
    `with_keras_batch_normalization`; `saving.save_model_with_classes` does). identity_init: the first filters of
    each 3x3 convolution, one per input channel, start as the identity (airbench's Dirac initialisation), the others
    uniform within 1/sqrt(fan-in). logit_scale: the classifier is a bias-free Dense layer whose logits are
    multiplied by this (airbench: 1/9) before the softmax; None: a Dense layer with a bias and a softmax.
    """
    if whitening_kernel is not None:
        stem = [layers.Conv2D(whitening_kernel.shape[-1], 2, name="whitening")]
    else:
        stem = [layers.Conv2D(24, 2, use_bias=False), FusedBatchNormalization(momentum=0.6)]
    body: list[keras.layers.Layer] = []
    # Within 1/sqrt(fan-in), as PyTorch's default (airbench's) draws them; Keras's default, Glorot's, draws wider.
    uniform = keras.initializers.VarianceScaling(1 / 3, "fan_in", "uniform") if identity_init else "glorot_uniform"
    for filters in widths:
        body += [
            layers.Conv2D(filters, 3, padding="same", use_bias=False, kernel_initializer=uniform),
            layers.MaxPooling2D(2),
            FusedBatchNormalization(momentum=0.6, scale=False),
            layers.Activation("gelu"),
            layers.Conv2D(filters, 3, padding="same", use_bias=False, kernel_initializer=uniform),
            FusedBatchNormalization(momentum=0.6, scale=False),
            layers.Activation("gelu"),
        ]
    head = (
        [layers.Dense(num_classes, activation="softmax")]
        if logit_scale is None
        else [
            layers.Dense(num_classes, use_bias=False, kernel_initializer=uniform),
            layers.Rescaling(logit_scale),
            layers.Activation("softmax"),
        ]
    )
    model = keras.Sequential(
        [
            keras.Input(shape=input_shape),
            *augmentation,
            layers.Normalization(mean=mean, variance=variance),
            *stem,
            layers.Activation("gelu"),
            *body,
            layers.GlobalMaxPooling2D(),
            *head,
        ],
        name="cifar10_airbench",
    )
    if whitening_kernel is not None:
        whitening = model.get_layer("whitening")
        whitening.set_weights([whitening_kernel, np.zeros(whitening_kernel.shape[-1], np.float32)])
        whitening.kernel.trainable = False  # the bias learns, as airbench's does
    if identity_init:
        for layer in body:
            if isinstance(layer, layers.Conv2D):
                kernel = keras.ops.convert_to_numpy(layer.kernel).copy()
                _, _, inputs, outputs = kernel.shape
                first = min(inputs, outputs)
                kernel[..., :first] = 0.0
                kernel[1, 1, np.arange(first), np.arange(first)] = 1.0
                layer.kernel.assign(kernel)
    return model
