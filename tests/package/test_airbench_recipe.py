"""The airbench recipe: its techniques as switches, its network's parts, and one short run end to end."""

import json

import keras
import numpy as np
import pytest

from benchmarks.throughput import training_flops_per_image
from cnn_course import models
from cnn_course.commands import train as train_command
from cnn_course.preparation import PreparedData
from cnn_course.recipes import AIRBENCH_DEFAULTS, AIRBENCH_TECHNIQUES, RECIPES, airbench_network, airbench_recipe

SMOKE_TRAIN_IMAGES = 2000


def random_cifar(count: int, seed: int = 0) -> PreparedData:
    rng = np.random.default_rng(seed)
    images, labels = rng.random((count, 32, 32, 3), dtype=np.float32), np.arange(count) % 10
    return PreparedData(images, labels, images[:200], labels[:200], images[:200], labels[:200], tuple("0123456789"))


def test_the_recipe_is_listed_for_cnn_course_train():
    recipe = RECIPES["cifar10"]["airbench"]
    assert recipe.batch_size == 1024 and recipe.label_smoothing == 0.2 and recipe.ema_momentum is None
    assert recipe.flip_tta and recipe.shift_tta == 2
    averaged = airbench_recipe(ema=True)
    assert averaged.name == "airbench-ema" and averaged.ema_momentum == 0.98
    assert not averaged.keeps_best_epoch, "the best epoch's weights would replace the weights' average"


@pytest.mark.parametrize("technique", AIRBENCH_TECHNIQUES)
def test_each_technique_can_be_switched_by_name(technique):
    default = AIRBENCH_DEFAULTS[technique]
    recipe = airbench_recipe(**{technique: not default})
    assert recipe.name == f"airbench-{'no-' if default else ''}{technique.replace('_', '-')}"
    full = airbench_recipe()
    changed = {
        field
        for field in ("batch_size", "label_smoothing", "ema_momentum", "flip_tta", "shift_tta")
        if getattr(recipe, field) != getattr(full, field)
    }
    expected = {
        "nesterov_sgd": set(),  # the optimiser's fields: see the test below
        "label_smoothing": {"label_smoothing"},
        "large_batch": {"batch_size"},
        "ema": {"ema_momentum"},
        "tta": {"flip_tta", "shift_tta"},
    }
    assert changed == expected.get(technique, set())


def test_airbench_s_optimiser_is_sgd_with_nesterov_momentum_and_faster_batchnorm_offsets():
    recipe = airbench_recipe()
    assert (recipe.optimizer, recipe.momentum, recipe.bias_scale) == ("sgd", 0.85, 64.0)
    assert (recipe.warmup_fraction, recipe.initial_fraction) == (0.23, 0.2)
    optimizer = recipe.compile(airbench_network(random_cifar(300), widths=(8, 16, 16)), None).optimizer
    assert optimizer.nesterov and optimizer.bias_scale == 64.0 and optimizer.weight_decay == recipe.weight_decay
    # A smaller batch steps less far per step: airbench's rate is per 1024 images.
    assert airbench_recipe(large_batch=False).learning_rate == recipe.learning_rate / 4
    adamw = airbench_recipe(nesterov_sgd=False)
    assert (adamw.optimizer, adamw.learning_rate) == ("adamw", 1e-2)


def test_bias_scaled_sgd_moves_batchnorm_offsets_that_many_times_as_far():
    from cnn_course.training import BiasScaledSGD

    def steps(scale):
        keras.utils.set_random_seed(0)
        inputs = keras.Input((6, 6, 3))
        x = keras.layers.Conv2D(4, 3, use_bias=False, name="conv")(inputs)
        x = keras.layers.BatchNormalization(scale=False, name="norm")(x)
        outputs = keras.layers.Dense(2, name="dense")(keras.layers.GlobalMaxPooling2D()(x))
        model = keras.Model(inputs, outputs)
        model.compile(BiasScaledSGD(0.1, momentum=0.85, nesterov=True, bias_scale=scale), "mse")
        before = {w.path: w.numpy().copy() for w in model.trainable_weights}
        images = np.random.default_rng(1).random((8, 6, 6, 3), dtype=np.float32)
        model.fit(images, np.ones((8, 2), np.float32), batch_size=8, epochs=1, verbose=0)
        return {name: w.numpy() - before[name] for name, w in zip(before, model.trainable_weights, strict=True)}

    plain, scaled = steps(1.0), steps(64.0)
    for name, moved in scaled.items():
        factor = 64.0 if name.endswith("beta") else 1.0
        np.testing.assert_allclose(moved, plain[name] * factor, rtol=1e-4, atol=1e-7, err_msg=name)
    assert any(name.endswith("beta") for name in scaled)
    config = BiasScaledSGD(0.5, bias_scale=8.0).get_config()
    assert BiasScaledSGD.from_config(config).bias_scale == 8.0


def test_identity_init_starts_one_filter_per_input_channel_as_the_identity():
    model = airbench_network(random_cifar(300), widths=(8, 16, 16))
    convolutions = [
        layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D) and layer.name != "whitening"
    ]
    assert len(convolutions) == 6
    for layer in convolutions:
        kernel = layer.kernel.numpy()
        inputs, outputs = kernel.shape[2:]
        first = min(inputs, outputs)
        identity = np.zeros((3, 3, inputs, first), np.float32)
        identity[1, 1, np.arange(first), np.arange(first)] = 1.0
        np.testing.assert_array_equal(kernel[..., :first], identity)
        rest = kernel[..., first:]
        assert rest.size == 0 or 0 < np.abs(rest).max() <= 1 / np.sqrt(9 * inputs) + 1e-6
    glorot = airbench_network(random_cifar(300), widths=(8, 16, 16), identity_init=False)
    last = [layer for layer in glorot.layers if isinstance(layer, keras.layers.Conv2D)][-1]
    assert not np.any(last.kernel.numpy()[1, 1] == 1.0)


def test_the_classifier_scales_bias_free_logits_by_a_ninth():
    model = airbench_network(random_cifar(300), widths=(8, 16, 16))
    dense, rescaling, softmax = model.layers[-3:]
    assert not dense.use_bias and rescaling.scale == pytest.approx(1 / 9)
    assert softmax.get_config()["activation"] == "softmax"
    plain = airbench_network(random_cifar(300), widths=(8, 16, 16), logit_scale=None)
    assert plain.layers[-1].use_bias and plain.layers[-1].get_config()["activation"] == "softmax"


@pytest.mark.parametrize(
    ("options", "present", "absent"),
    [
        ({}, {"whitening", "AlternatingFlip", "RandomTranslation"}, {"RandomFlip"}),
        ({"whitening": False}, {"AlternatingFlip"}, {"whitening"}),
        ({"alternating_flips": False}, {"RandomFlip"}, {"AlternatingFlip"}),
        ({"translation": 0}, {"AlternatingFlip"}, {"RandomTranslation"}),
    ],
)
def test_the_network_has_the_parts_its_options_name(options, present, absent):
    model = airbench_network(random_cifar(300), widths=(8, 16, 16), **options)
    names = {layer.name for layer in models.flat_layers(model)} | {
        type(layer).__name__ for layer in models.flat_layers(model)
    }
    assert present <= names and not absent & names
    if "whitening" in names:
        whitening = model.get_layer("whitening")
        assert [w.name for w in whitening.trainable_weights] == ["bias"], "a frozen kernel, a bias that learns"


def test_alternating_flips_mirror_each_image_in_every_other_epoch():
    images = np.random.default_rng(0).random((8, 4, 4, 1), dtype=np.float32)
    layer = models.AlternatingFlip(images_per_epoch=8)
    mirrored = [
        np.all(np.asarray(layer(images, training=True)) == images[:, :, ::-1], axis=(1, 2, 3)) for _ in range(3)
    ]
    assert 0 < mirrored[0].sum() < 8, "a part of the images is mirrored in the first epoch"
    np.testing.assert_array_equal(mirrored[1], ~mirrored[0])
    np.testing.assert_array_equal(mirrored[2], mirrored[0])
    np.testing.assert_array_equal(layer(images, training=False), images)


def test_the_training_flops_per_epoch_are_of_airbench_s_order():
    model = airbench_network(random_cifar(300))
    # airbench trains to 93 % with about 0.18 PFLOP; an epoch of this network on 45,000 images is a sixth of it.
    per_epoch = training_flops_per_image(model) * 45_000 / 1e15
    assert 0.02 < per_epoch < 0.05


@pytest.mark.slow
def test_one_epoch_on_a_small_subset_trains_saves_and_loads_in_float32(monkeypatch, tmp_path):
    prepared = random_cifar(SMOKE_TRAIN_IMAGES)
    monkeypatch.setitem(train_command.PREPARE, "cifar10", lambda *args: prepared)
    metrics = train_command.train_recipe(RECIPES["cifar10"]["airbench"], tmp_path, epochs=1, dtype="float32")
    assert metrics["recipe"] == "airbench" and metrics["epochs"] == 1 and metrics["best_epoch"] == 1
    assert json.loads((tmp_path / "metrics.json").read_text())["dtype_policy"] == "float32"
    loaded = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)
    assert not {type(layer).__name__ for layer in models.flat_layers(loaded)} & {
        "AlternatingFlip",
        "FusedBatchNormalization",
    }
    predictions = loaded.predict(prepared.x_test[:4], verbose=0)
    assert predictions.dtype == np.float32 and predictions.shape == (4, 10)
    np.testing.assert_allclose(predictions.sum(axis=1), 1.0, rtol=1e-5)


def test_batch_statistics_are_recomputed_as_the_average_over_the_images():
    from cnn_course.training import recompute_batch_statistics

    inputs = keras.Input((4, 4, 2))
    norm = keras.layers.BatchNormalization(momentum=0.9)
    model = keras.Model(inputs, norm(keras.layers.Conv2D(2, 1, use_bias=False, kernel_initializer="ones")(inputs)))
    images = np.random.default_rng(0).normal(3.0, 2.0, (96, 4, 4, 2)).astype(np.float32)
    recompute_batch_statistics(model, images, batch_size=32)
    summed = images.sum(axis=-1)  # a 1x1 convolution of ones adds the two channels
    batches = summed.reshape(3, -1)
    np.testing.assert_allclose(norm.moving_mean.numpy(), [batches.mean(axis=1).mean()] * 2, rtol=1e-4)
    np.testing.assert_allclose(norm.moving_variance.numpy(), [batches.var(axis=1).mean()] * 2, rtol=1e-3)
    assert norm.momentum == 0.9


def test_a_recipe_that_averages_its_weights_recomputes_batch_statistics_when_training_ends():
    from cnn_course.training import RecomputeBatchStatistics

    images = np.zeros((5000, 32, 32, 3), np.float32)
    model = airbench_network(random_cifar(300), widths=(8, 16, 16))
    (callback,) = airbench_recipe(ema=True).training_callbacks(model, images)
    assert isinstance(callback, RecomputeBatchStatistics) and len(callback.images) == 2048
    assert RECIPES["cifar10"]["fast"].training_callbacks(model, images) == []
    assert RECIPES["cifar10"]["airbench"].training_callbacks(model, images) == []


def test_translations_shift_by_whole_pixels_without_blurring():
    model = airbench_network(random_cifar(300), widths=(8, 16, 16))
    (shift,) = [layer for layer in model.layers if isinstance(layer, keras.layers.RandomTranslation)]
    images = np.random.default_rng(0).random((8, 32, 32, 3), dtype=np.float32)
    shifted = np.asarray(shift(images, training=True))
    assert not np.array_equal(shifted, images)
    for before, after in zip(images, shifted, strict=True):
        assert np.isin(after, before).all(), "a pixel value that is in no input pixel: the shift interpolated"
