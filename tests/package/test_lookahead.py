"""airbench94's remaining techniques: Lookahead, the linear decay to 0.07 of the peak, and the stem bias frozen."""

import keras
import numpy as np
import pytest

from cnn_course.recipes import AIRBENCH_STEM_BIAS_FRACTION, airbench_network, airbench_recipe
from cnn_course.time_budget import TimeBudget, WarmupLinearDecay, warmup_linear
from cnn_course.training import FreezeAfter, Lookahead
from tests.package.test_airbench_recipe import random_cifar


class Progress:
    """Stands for a `TimeBudget`: only its `progress` is read."""

    progress = 0.0


def small_model(seed: int = 0) -> keras.Model:
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((3,))
    normed = keras.layers.BatchNormalization()(keras.layers.Dense(4)(inputs))
    return keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(normed))


def float_weights(model: keras.Model) -> list[np.ndarray]:
    return [keras.ops.convert_to_numpy(w) for w in model.weights]


def test_warmup_linear_rises_from_a_fifth_then_falls_to_seven_hundredths_of_the_peak():
    assert warmup_linear(0.0, 2.0) == pytest.approx(0.4)
    assert warmup_linear(0.23, 2.0) == pytest.approx(2.0)
    assert warmup_linear(0.23 + 0.77 / 2, 2.0) == pytest.approx(2.0 * (1 + 0.07) / 2)
    assert warmup_linear(1.0, 2.0) == pytest.approx(0.14)
    assert warmup_linear(3.0, 2.0) == pytest.approx(0.14) and warmup_linear(-1.0, 2.0) == pytest.approx(0.4)


def test_the_keras_schedule_follows_the_same_shape_over_steps_and_saves_its_config():
    schedule = WarmupLinearDecay(1.5, 100)
    for step in (0, 10, 23, 50, 99, 100, 150):
        assert float(schedule(step)) == pytest.approx(warmup_linear(step / 100, 1.5), rel=1e-5)
    again = keras.optimizers.schedules.deserialize(keras.optimizers.schedules.serialize(schedule))
    assert again.get_config() == schedule.get_config()


def test_a_time_budget_decays_linearly_where_asked_and_refuses_another_shape():
    model = small_model()
    model.compile(keras.optimizers.SGD(0.1), "sparse_categorical_crossentropy")
    budget = TimeBudget(None, 1.0, 0.23, 0.2, verbose=0, decay="linear", final_fraction=0.07)
    budget.set_model(model)
    budget.on_train_begin()
    budget.progress = 1.0
    budget._set_rate()
    assert float(model.optimizer.learning_rate) == pytest.approx(0.07)
    with pytest.raises(ValueError, match='"cosine" or "linear"'):
        TimeBudget(10, 1.0, decay="step")


def test_lookahead_pulls_the_weights_toward_the_slow_ones_every_fifth_step_by_progress_cubed():
    model, progress = small_model(), Progress()
    start = float_weights(model)
    lookahead = Lookahead(progress)
    lookahead.set_model(model)
    lookahead.on_train_begin()
    for step in range(1, 5):
        model.set_weights([w + step for w in start])
        lookahead.on_train_batch_end(step)
    np.testing.assert_allclose(model.get_weights()[0], start[0] + 4), "no pull before the fifth step"
    progress.progress = 0.5
    model.set_weights([w + 10 for w in start])
    lookahead.on_train_batch_end(5)
    decay = 0.95**5 * 0.5**3
    for weight, first in zip(model.get_weights(), start, strict=True):
        np.testing.assert_allclose(weight, decay * first + (1 - decay) * (first + 10), rtol=1e-6)
    slow = model.get_weights()
    model.set_weights([w + 100 for w in slow])
    lookahead.on_train_end()
    for weight, kept in zip(model.get_weights(), slow, strict=True):
        np.testing.assert_allclose(weight, kept, rtol=1e-6), "training ends on the slow weights"


def test_lookahead_averages_batchnorm_statistics_and_leaves_integer_weights_alone():
    model = airbench_network(random_cifar(300), widths=(8, 16, 16))
    lookahead = Lookahead(Progress())
    lookahead.set_model(model)
    lookahead.on_train_begin()
    names = {w.path.rsplit("/", 1)[-1] for w in lookahead._weights}
    assert {"moving_mean", "moving_variance", "kernel", "beta"} <= names
    assert "seen" not in names, "the alternating flips' image count is an integer and no weight"


def test_lookahead_in_a_real_fit_ends_on_the_slow_weights_without_a_budget():
    model = small_model()
    model.compile(keras.optimizers.SGD(0.5), "sparse_categorical_crossentropy")
    x = np.random.default_rng(0).normal(size=(64, 3)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    lookahead = Lookahead()
    model.fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[lookahead])
    for weight, slow in zip(lookahead._weights, lookahead._slow, strict=True):
        np.testing.assert_allclose(keras.ops.convert_to_numpy(weight), slow)
    assert lookahead._steps == 16


def test_freeze_after_holds_the_variables_once_the_fraction_is_done():
    model = small_model()
    model.compile(keras.optimizers.SGD(0.5), "sparse_categorical_crossentropy")
    bias = model.layers[1].bias
    x = np.random.default_rng(0).normal(size=(64, 3)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    seen = []

    class Record(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(keras.ops.convert_to_numpy(bias))

    model.fit(x, y, batch_size=8, epochs=4, verbose=0, callbacks=[FreezeAfter([bias], 0.25), Record()])
    assert not np.allclose(seen[0], seen[7]), "the bias learns before a quarter of training"
    for value in seen[8:]:
        np.testing.assert_array_equal(value, seen[7])


def test_the_airbench_switches_add_lookahead_and_the_stem_freeze_and_keep_no_best_epoch():
    recipe = airbench_recipe(lookahead=True, linear_decay=True, stem_bias_freeze=True)
    assert not recipe.keeps_best_epoch, "the best epoch's weights would replace the slow weights"
    assert (recipe.schedule, recipe.final_fraction) == ("warmup_linear", 0.07)
    assert recipe.time_budget(60, verbose=0).decay == "linear"
    model = airbench_network(random_cifar(300), widths=(8, 16, 16))
    lookahead, freeze = recipe.training_callbacks(model, np.zeros((10, 32, 32, 3), np.float32))
    assert isinstance(lookahead, Lookahead) and isinstance(freeze, FreezeAfter)
    assert freeze.variables == [model.get_layer("whitening").bias]
    assert freeze.fraction == pytest.approx(AIRBENCH_STEM_BIAS_FRACTION)
    learnt_stem = airbench_recipe(whitening=False, stem_bias_freeze=True)
    assert learnt_stem.stem_bias_fraction is None, "a learnt stem has no whitening bias to freeze"
    schedule = recipe.learning_rate_for(100)
    assert isinstance(schedule, WarmupLinearDecay) and float(schedule(100)) == pytest.approx(1.5 * 0.07)


def test_the_frozen_stem_bias_ends_at_its_held_value_after_lookahead_s_last_pull():
    recipe = airbench_recipe(lookahead=True, stem_bias_freeze=True, widths=(8, 16, 16))
    prepared = random_cifar(256)
    model = recipe.compile(recipe.build(prepared), 24)
    callbacks = recipe.training_callbacks(model, prepared.x_train)
    model.fit(
        prepared.x_train, recipe.targets(prepared.y_train, 10), batch_size=32, epochs=3, verbose=0, callbacks=callbacks
    )
    freeze = callbacks[-1]
    assert freeze._held is not None
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(model.get_layer("whitening").bias), freeze._held[0])


def test_a_recipe_cannot_average_its_weights_both_ways():
    with pytest.raises(ValueError, match="Lookahead or a moving average"):
        airbench_recipe(lookahead=True, ema=True)
