"""`training.steady_batches`: the input pipeline of training to a time budget, and when `fit_classifier` uses it."""

import warnings

import keras
import numpy as np
import pytest

from cnn_course import training
from cnn_course.time_budget import TimeBudget


def epoch_rows(dataset) -> tuple[list[int], list[int]]:
    """The row numbers (stored in x) of one pass over `dataset`, and its batch sizes."""
    rows, sizes = [], []
    for x, y in dataset:
        x, y = np.asarray(x), np.asarray(y)
        np.testing.assert_array_equal(x[:, 0].astype(int), y.argmax(1) if y.ndim == 2 else y)
        rows += x[:, 0].astype(int).tolist()
        sizes.append(len(x))
    return rows, sizes


@pytest.mark.parametrize("one_hot", [False, True])
def test_every_row_once_per_epoch_in_batches_reshuffled_each_epoch(one_hot):
    count, batch_size = 103, 16
    x = np.repeat(np.arange(count, dtype=np.float32)[:, None], 3, axis=1)
    y = np.eye(count, dtype=np.float32) if one_hot else np.arange(count)
    dataset = training.steady_batches(x, y, batch_size)
    first, sizes = epoch_rows(dataset)
    second, _ = epoch_rows(dataset)
    assert sorted(first) == sorted(second) == list(range(count))
    assert sizes == [16] * 6 + [7]
    assert first != second, "each epoch is shuffled anew"
    assert first != list(range(count))


def test_without_shuffling_the_rows_keep_their_order():
    x = np.arange(10, dtype=np.float32)[:, None]
    rows, sizes = epoch_rows(training.steady_batches(x, np.arange(10), 4, shuffle=False))
    assert rows == list(range(10)) and sizes == [4, 4, 2]


def test_the_batches_are_read_from_the_arrays_themselves_not_a_copy():
    # A copy of CIFAR-10's training split is 553 MB more at the peak: a change made to the array after the dataset
    # was built shows in its batches.
    x = np.zeros((6, 2), np.float32)
    dataset = training.steady_batches(x, np.arange(6), 6, shuffle=False)
    x[:, 0] = np.arange(6)
    assert epoch_rows(dataset)[0] == list(range(6))


def test_the_pipeline_does_not_autotune():
    # tf.data's autotuning thread is what held up epochs: its options must stay off.
    dataset = training.steady_batches(np.zeros((8, 2), np.float32), np.zeros(8), 4)
    assert dataset.options().autotune.enabled is False


def tiny_fit(monkeypatch, callbacks) -> list:
    calls = []
    real = training.steady_batches

    def spy(*args, **kwargs):
        calls.append(kwargs.get("shuffle", True))
        return real(*args, **kwargs)

    monkeypatch.setattr(training, "steady_batches", spy)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x, y = np.random.default_rng(0).random((40, 4), dtype=np.float32), np.arange(40) % 3
    run = training.fit_classifier(model, x, y, x[:8], y[:8], epochs=2, batch_size=8, verbose=0, callbacks=callbacks)
    assert len(run.history["val_accuracy"]) == 2
    return calls


def test_training_to_a_time_budget_reads_steady_batches(monkeypatch):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert tiny_fit(monkeypatch, [TimeBudget(600, 0.01, verbose=0)]) == [True, False]
    assert not [str(w.message) for w in caught if "shuffle" in str(w.message)], "no warning about shuffling"


@pytest.mark.parametrize("callbacks", [None, [TimeBudget(None, 0.01, verbose=0)]])
def test_training_for_a_number_of_epochs_keeps_keras_slicing_and_its_seeded_order(monkeypatch, callbacks):
    assert tiny_fit(monkeypatch, callbacks) == []
