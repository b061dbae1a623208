"""FusedBatchNormalization trains exactly like Keras's BatchNormalization, and saved models hold only Keras's layers."""

from __future__ import annotations

import json
import zipfile

import keras
import numpy as np
import pytest
import tensorflow as tf

from cnn_course import models
from cnn_course.preparation import PreparedData
from cnn_course.recipes import RECIPES
from cnn_course.saving import save_model_with_classes


def _pair(shape: tuple[int, ...], **options) -> tuple[keras.layers.Layer, keras.layers.Layer]:
    rng = np.random.default_rng(1)
    keras_layer, fused = keras.layers.BatchNormalization(**options), models.FusedBatchNormalization(**options)
    keras_layer.build(shape)
    fused.build(shape)
    weights = [rng.normal(size=w.shape).astype("float32") for w in keras_layer.get_weights()]
    weights = [np.abs(w) + 0.5 if "variance" in v.path else w for w, v in zip(weights, keras_layer.weights)]
    keras_layer.set_weights(weights)
    fused.set_weights(weights)
    return keras_layer, fused


def _step(layer: keras.layers.Layer, x: tf.Tensor, training: bool) -> tuple[np.ndarray, list[np.ndarray]]:
    with tf.GradientTape() as tape:
        tape.watch(x)
        outputs = layer(x, training=training)
        loss = tf.reduce_sum(outputs**3) / tf.cast(tf.size(outputs), "float32")
    gradients = tape.gradient(loss, [x, *layer.trainable_weights])
    return outputs.numpy(), [g.numpy() for g in gradients]


@pytest.mark.parametrize("options", [{}, {"center": False}, {"scale": False, "momentum": 0.9}])
def test_training_steps_match_keras_batch_normalization(options):
    keras_layer, fused = _pair((8, 6, 5, 4), **options)
    rng = np.random.default_rng(2)
    for _ in range(3):
        x = tf.constant(rng.normal(2.0, 3.0, size=(8, 6, 5, 4)).astype("float32"))
        expected, expected_gradients = _step(keras_layer, x, training=True)
        outputs, gradients = _step(fused, x, training=True)
        np.testing.assert_allclose(outputs, expected, rtol=1e-4, atol=1e-5)
        for got, want in zip(gradients, expected_gradients, strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(fused.moving_mean.numpy(), keras_layer.moving_mean.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(fused.moving_variance.numpy(), keras_layer.moving_variance.numpy(), rtol=1e-5, atol=1e-6)
    inference = tf.constant(rng.normal(size=(3, 6, 5, 4)).astype("float32"))
    np.testing.assert_allclose(
        fused(inference, training=False), keras_layer(inference, training=False), rtol=1e-6, atol=1e-6
    )


def test_inputs_the_fused_kernel_cannot_take_use_the_keras_computation():
    keras_layer, fused = _pair((16, 4))
    x = tf.constant(np.random.default_rng(3).normal(size=(16, 4)).astype("float32"))
    np.testing.assert_allclose(fused(x, training=True), keras_layer(x, training=True), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(fused.moving_variance.numpy(), keras_layer.moving_variance.numpy(), rtol=1e-6)


def test_the_fast_recipes_train_with_the_fused_layer():
    for name in ("fast", "deeper"):
        model = RECIPES["cifar10"][name].build(_fast_recipe_model_data())
        assert any(isinstance(layer, models.FusedBatchNormalization) for layer in model.layers), name


def _fast_recipe_model_data() -> PreparedData:
    images = np.random.default_rng(4).random((64, 32, 32, 3), dtype=np.float32)
    return PreparedData(
        images, np.arange(64) % 10, images[:8], np.arange(8), images[:8], np.arange(8), tuple("abcdefghij")
    )


def test_a_saved_model_holds_keras_layers_only_and_predicts_the_same(tmp_path):
    model = RECIPES["cifar10"]["fast"].build(_fast_recipe_model_data())
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    images = np.random.default_rng(5).random((32, 32, 32, 3), dtype=np.float32)
    model.fit(images, np.arange(32) % 10, epochs=2, batch_size=16, verbose=0)

    fused = sum(isinstance(layer, models.FusedBatchNormalization) for layer in model.layers)
    assert fused == 7  # one after each of the fast network's seven convolutions
    copy = models.with_keras_batch_normalization(model)
    assert not any(isinstance(layer, models.FusedBatchNormalization) for layer in copy.layers)
    assert sum(type(layer) is keras.layers.BatchNormalization for layer in copy.layers) == fused
    np.testing.assert_array_equal(copy.predict(images, verbose=0), model.predict(images, verbose=0))

    path = tmp_path / "model.keras"
    save_model_with_classes(model, path, [str(i) for i in range(10)])
    with zipfile.ZipFile(path) as archive:
        config = archive.read("config.json").decode()
    assert "FusedBatchNormalization" not in config and "cnn_course" not in config
    assert json.loads(config)["class_name"] == "Sequential"
    loaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_array_equal(loaded.predict(images, verbose=0), model.predict(images, verbose=0))


def test_a_model_without_fused_layers_is_returned_as_it_is():
    model = models.build_cifar10_fast_cnn(np.full(3, 0.5, np.float32), np.full(3, 0.1, np.float32))
    assert models.with_keras_batch_normalization(model) is model


def test_fused_layers_inside_a_nested_sub_model_are_converted_too(tmp_path):
    block = keras.Sequential(
        [keras.layers.Conv2D(4, 3, padding="same"), models.FusedBatchNormalization(), keras.layers.ReLU()], name="block"
    )
    model = keras.Sequential(
        [
            keras.Input((8, 8, 3)),
            block,
            models.FusedBatchNormalization(),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(2),
        ]
    )
    model.compile(optimizer="adam", loss="mse")
    images = np.random.default_rng(6).random((16, 8, 8, 3), dtype=np.float32)
    model.fit(images, np.zeros((16, 2), np.float32), epochs=1, batch_size=8, verbose=0)

    copy = models.with_keras_batch_normalization(model)
    layers_of_copy = models.flat_layers(copy)
    assert not any(isinstance(layer, models.FusedBatchNormalization) for layer in layers_of_copy)
    assert sum(type(layer) is keras.layers.BatchNormalization for layer in layers_of_copy) == 2
    np.testing.assert_array_equal(copy.predict(images, verbose=0), model.predict(images, verbose=0))
    path = tmp_path / "model.keras"
    save_model_with_classes(model, path, ["a", "b"])
    with zipfile.ZipFile(path) as archive:
        assert "FusedBatchNormalization" not in archive.read("config.json").decode()
    np.testing.assert_array_equal(
        keras.saving.load_model(path, safe_mode=True).predict(images, verbose=0), model.predict(images, verbose=0)
    )
