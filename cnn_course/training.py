"""Training helpers: the learning-rate schedule, compiling, and a timed fit with validation."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import keras
import numpy as np

from cnn_course.labels import class_indices
from cnn_course.time_budget import TimeBudget

if TYPE_CHECKING:
    import tensorflow as tf


def warmup_cosine_schedule(
    peak_learning_rate: float, total_steps: int, warmup_fraction: float = 0.125, initial_fraction: float = 0.05
) -> keras.optimizers.schedules.LearningRateSchedule:
    """Return a schedule rising linearly to `peak_learning_rate`, then decaying to 0 on a cosine.

    The warm-up lasts `warmup_fraction` of `total_steps` and starts at
    `initial_fraction * peak_learning_rate`.
    """
    warmup_steps = max(1, int(total_steps * warmup_fraction))
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=peak_learning_rate * initial_fraction,
        decay_steps=max(1, total_steps - warmup_steps),
        warmup_target=peak_learning_rate,
        warmup_steps=warmup_steps,
    )


@keras.saving.register_keras_serializable(package="cnn_course")
class BiasScaledSGD(keras.optimizers.SGD):
    """SGD (with Nesterov momentum where asked) whose BatchNorm offsets learn `bias_scale` times faster.

    airbench trains its BatchNorm offsets (``beta``; the layers have no trainable scale) at 64 times the rate of
    the other weights; each weight still decays by the same fraction per step (Keras's decoupled weight decay,
    at the base rate). Arguments as `keras.optimizers.SGD`, plus `bias_scale` (a float, 1.0: plain SGD).
    """

    def __init__(self, *args, bias_scale: float = 1.0, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.bias_scale = float(bias_scale)
        self._offsets: set = set()

    def build(self, variables) -> None:
        super().build(variables)
        # The backend hands `update_step` its own variables, which carry no Keras path: know them by key.
        self._offsets = {self._var_key(v) for v in variables if v.path.endswith("/beta")}

    def update_step(self, gradient, variable, learning_rate):
        if self.bias_scale != 1.0 and self._var_key(variable) in self._offsets:
            learning_rate = learning_rate * self.bias_scale
        super().update_step(gradient, variable, learning_rate)

    def get_config(self) -> dict:
        return {**super().get_config(), "bias_scale": self.bias_scale}


def steps_per_epoch(num_examples: int, batch_size: int) -> int:
    """Return the number of batches in one pass over `num_examples`."""
    return math.ceil(num_examples / batch_size)


def compile_classifier(
    model: keras.Model, learning_rate: float | keras.optimizers.schedules.LearningRateSchedule = 1e-3
) -> keras.Model:
    """Compile `model` in place with Adam, sparse categorical cross-entropy and accuracy; return it."""
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


class KeepBestWeights(keras.callbacks.Callback):
    """Remember the weights of the epoch with the highest `monitor` value; put them back when training ends."""

    def __init__(self, monitor: str = "val_accuracy") -> None:
        super().__init__()
        self.monitor = monitor

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.best, self.best_epoch, self._weights = -math.inf, None, None

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        value = (logs or {}).get(self.monitor)
        if value is not None and value > self.best:
            self.best, self.best_epoch, self._weights = float(value), epoch, self.model.get_weights()

    def on_train_end(self, logs: dict | None = None) -> None:
        if self._weights is not None:
            self.model.set_weights(self._weights)


class RecomputeBatchStatistics(keras.callbacks.Callback):
    """When training ends, recompute every BatchNormalization layer's moving mean and variance for the final weights.

    For training with a moving average of the weights (an optimizer's `use_ema`): Keras writes the average into the
    model when `fit` ends, but the layers' statistics were gathered under the weights of each step, not their
    average; inference with them can predict one class. images: (N, H, W, C) training images as the model takes
    them (a few thousand suffice); batch_size: images per forward pass.
    """

    def __init__(self, images: np.ndarray, batch_size: int = 512) -> None:
        super().__init__()
        self.images, self.batch_size = images, batch_size

    def on_train_end(self, logs: dict | None = None) -> None:
        recompute_batch_statistics(self.model, self.images, self.batch_size)


def recompute_batch_statistics(model: keras.Model, images: np.ndarray, batch_size: int = 512) -> None:
    """Set every BatchNormalization layer's moving statistics of `model` to their average over `images`.

    Each batch of `batch_size` images passes through the model in training mode (augmentation layers included, as
    in training), the layers' momentum set so that every batch weighs the same; their momentum is restored after.
    images: (N, H, W, C) float32, as the model takes them. A model without BatchNormalization is left unchanged.
    """
    from cnn_course.models import flat_layers

    norms = [layer for layer in flat_layers(model) if isinstance(layer, keras.layers.BatchNormalization)]
    if not norms:
        return
    momenta = [layer.momentum for layer in norms]
    try:
        for index, start in enumerate(range(0, len(images), batch_size)):
            for layer in norms:
                layer.momentum = index / (index + 1)  # the running average of the batches' statistics
            model(images[start : start + batch_size], training=True)
    finally:
        for layer, momentum in zip(norms, momenta, strict=True):
            layer.momentum = momentum


def _fit_progress(callback: keras.callbacks.Callback, steps: int, budget: TimeBudget | None) -> float:
    """The fraction (0 to 1) of training done after `steps` steps: the budget's progress, else the steps' share of
    the epochs given to `fit`."""
    if budget is not None:
        return budget.progress
    params = callback.params or {}
    total = (params.get("epochs") or 0) * (params.get("steps") or 0)
    return min(1.0, steps / total) if total else 0.0


class Lookahead(keras.callbacks.Callback):
    """airbench94's Lookahead: every `every` training steps, the slow weights move toward the model's weights and the
    model takes them, `slow = decay * slow + (1 - decay) * weights` with `decay = base_decay * progress**power`; when
    training ends the model keeps the slow weights.

    Progress is the fraction of training done (`budget.progress` under a `TimeBudget`, else the steps' share of the
    epochs given to `fit`), so the pull is nil at first and strongest at the end. Every floating-point weight moves,
    BatchNorm statistics included (airbench averages its whole state). Defaults are airbench94's (every 5 steps,
    0.95**5, cube of progress). Source: KellerJordan/cifar10-airbench, legacy/airbench94.py, `LookaheadState`.
    """

    def __init__(
        self, budget: TimeBudget | None = None, every: int = 5, base_decay: float = 0.95**5, power: float = 3.0
    ) -> None:
        super().__init__()
        self.budget, self.every, self.base_decay, self.power = budget, every, base_decay, power

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._weights = [w for w in self.model.weights if "float" in str(w.dtype)]
        self._slow = [keras.ops.convert_to_numpy(w).copy() for w in self._weights]
        self._steps = 0

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._steps += 1
        if self._steps % self.every == 0:
            progress = _fit_progress(self, self._steps, self.budget)
            self._pull(self.base_decay * progress**self.power)

    def on_train_end(self, logs: dict | None = None) -> None:
        self._pull(1.0)

    def _pull(self, decay: float) -> None:
        for slow, weight in zip(self._slow, self._weights, strict=True):
            slow *= decay
            slow += (1.0 - decay) * keras.ops.convert_to_numpy(weight)
            weight.assign(slow)


class FreezeAfter(keras.callbacks.Callback):
    """Hold `variables` at their values once `fraction` of training is done (airbench94 trains its whitening
    layer's bias for 3 of its 9.9 epochs, then freezes it).

    Progress as `Lookahead`'s. The variables keep learning in the compiled step; after each later step, and when
    training ends, they are put back, so the model need not be compiled again. Pass it after `Lookahead`.
    """

    def __init__(self, variables: list, fraction: float, budget: TimeBudget | None = None) -> None:
        super().__init__()
        self.variables, self.fraction, self.budget = list(variables), fraction, budget

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._steps, self._held = 0, None

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._steps += 1
        if self._held is not None:
            self._restore()
        elif _fit_progress(self, self._steps, self.budget) >= self.fraction:
            self._held = [keras.ops.convert_to_numpy(variable).copy() for variable in self.variables]

    def on_train_end(self, logs: dict | None = None) -> None:
        # After the callbacks before it (Lookahead's last pull, a moving average written in by Keras).
        if self._held is not None:
            self._restore()

    def _restore(self) -> None:
        for variable, value in zip(self.variables, self._held, strict=True):
            variable.assign(value)


class EpochTimer(keras.callbacks.Callback):
    """Record the wall-clock time of each training epoch (validation included)."""

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.epoch_seconds: list[float] = []

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.epoch_seconds.append(time.perf_counter() - self._start)


@dataclass
class TrainingRun:
    """A finished fit: the per-epoch metrics, and the seconds each epoch took."""

    history: dict[str, list[float]]
    epoch_seconds: list[float]

    @property
    def train_seconds(self) -> float:
        """Total training time in seconds."""
        return float(sum(self.epoch_seconds))


def fit_classifier(
    model: keras.Model,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    epochs: int,
    batch_size: int,
    verbose: int | str = "auto",
    callbacks: list[keras.callbacks.Callback] | None = None,
) -> TrainingRun:
    """Fit a compiled `model`, validating after every epoch on (x_val, y_val); return the run.

    `callbacks` run after the epoch timer (a `time_budget.TimeBudget` ends training early). Training to a time
    budget (a `TimeBudget` with seconds among them) reads its batches through `steady_batches`, so that no epoch
    waits on tf.data's tuning thread; otherwise Keras slices the arrays itself, in the order a seed fixes.
    `y_train`, `y_val`: class indices (N,) or (N, 1), lists of them, or one-hot rows (read as indices for a sparse
    loss); one-hot or smoothed rows (N, classes) for a categorical loss (e.g. `Recipe.targets`). Raises ValueError,
    saying what to pass, for labels that are neither or do not match their images in number.
    """
    y_train = _training_targets(model, y_train, len(x_train), "y_train")
    y_val = _training_targets(model, y_val, len(x_val), "y_val")
    timer = EpochTimer()
    callbacks = [timer, *(callbacks or [])]
    budgeted = any(isinstance(callback, TimeBudget) and callback.seconds is not None for callback in callbacks)
    if budgeted and keras.backend.backend() == "tensorflow":
        # The batches shuffle themselves: Keras's own shuffling does not apply to a dataset (and warns if asked).
        data = (steady_batches(x_train, y_train, batch_size, shuffle=True),)
        validation = steady_batches(x_val, y_val, batch_size, shuffle=False)
        batching = {"shuffle": False}
    else:
        data, validation, batching = (x_train, y_train), (x_val, y_val), {"batch_size": batch_size}
    history = model.fit(
        *data, validation_data=validation, epochs=epochs, callbacks=callbacks, verbose=verbose, **batching
    )
    return TrainingRun(
        history={key: [float(v) for v in values] for key, values in history.history.items()},
        epoch_seconds=timer.epoch_seconds,
    )


def steady_batches(x: np.ndarray, y: np.ndarray, batch_size: int, shuffle: bool = True) -> tf.data.Dataset:
    """Return a `tf.data.Dataset` of (x, y) batches, reshuffled every epoch where `shuffle`, without autotuning.

    x: (N, ...) and y: (N, ...) arrays of the same length; each batch holds `batch_size` rows (the last one fewer).
    Keras's own slicing of arrays tunes its pipeline in a background thread, and an epoch's old iterator waits
    for that thread's next wake-up before the new epoch can start: 7 to 10 s at one random epoch boundary of each
    fit of the MNIST recipe on 2 cores, enough to carry a 45 s budget to 54 s. Here the batches are gathered one
    at a time, one batch ahead of training, with tf.data's autotuning off, by NumPy indexing of the arrays
    themselves: no copy of them is made (a TensorFlow copy of CIFAR-10's training split is 553 MB). The order
    follows TensorFlow's global seed, not Keras's.
    """
    import tensorflow as tf

    x, y = np.asarray(x), np.asarray(y)

    def gather(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return x[rows], y[rows]

    def typed(rows):
        images, labels = tf.numpy_function(gather, [rows], (tf.as_dtype(x.dtype), tf.as_dtype(y.dtype)))
        images.set_shape((None, *x.shape[1:]))
        labels.set_shape((None, *y.shape[1:]))
        return images, labels

    order = tf.data.Dataset.range(len(x))
    if shuffle:
        order = order.shuffle(len(x), reshuffle_each_iteration=True)
    batches = order.batch(batch_size).map(typed)
    options = tf.data.Options()
    options.autotune.enabled = False
    return batches.prefetch(1).with_options(options)


def _training_targets(model: keras.Model, labels: np.ndarray, count: int, name: str) -> np.ndarray:
    """Labels as `model`'s loss takes them: rows (N, classes) as they are for a categorical loss, else indices (N,)."""
    array = np.asarray(labels)
    loss = (model.get_compile_config() or {}).get("loss")
    # The loss is a name, or a config dict that names it.
    if array.ndim == 2 and array.shape[1] > 1 and "sparse" not in str(loss).lower():
        if len(array) != count:
            raise ValueError(
                f"{name} hold {len(array)} rows for {count} samples: pass one label per sample, in the same order."
            )
        return array
    return class_indices(array, count=count, name=name)
