"""Training to a time budget: durations as people write them, and a schedule that follows the clock.

`TimeBudget` is a Keras callback: it sets the optimiser's learning rate before every training step
from the fraction of the budget already spent (warm-up, then a cosine or linear decay), and ends
training when the budget is spent, so a slow machine completes the whole schedule in fewer steps
and a fast one in more. Validation passes are timed and kept out of the schedule: the budget
covers training and validation together, and training stops early enough for the last
validation pass to fit.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable

import keras

_NUMBER = r"\d+(?:\.\d+)?"
_DURATION = re.compile(rf"(?P<bare>{_NUMBER})|(?:(?P<h>{_NUMBER})h)?(?:(?P<m>{_NUMBER})m)?(?:(?P<s>{_NUMBER})s)?")


def parse_duration(text: str) -> float:
    """Return the seconds (float) a duration stands for: "300", "300s", "5m", "2.5m", "1h30m", "1h2m3s".

    A bare number is seconds; after a unit, every number needs its own unit ("1h30" is refused).

    Raises ValueError, with a message saying how to write one, for anything else and for zero.
    """
    cleaned = str(text).strip().lower()
    match = _DURATION.fullmatch(cleaned)
    if not cleaned or match is None:
        raise ValueError(
            f"'{text}' is not a duration: write seconds (300 or 300s) or hours, minutes and seconds (5m, 1h30m, 2m30s)"
        )
    seconds = sum(float(match[unit] or 0) * scale for unit, scale in (("h", 3600), ("m", 60), ("s", 1), ("bare", 1)))
    if seconds <= 0:
        raise ValueError(f"a time budget must be more than 0 seconds, got '{text}'")
    return seconds


def warmup_cosine(
    progress: float, peak_learning_rate: float, warmup_fraction: float = 0.125, initial_fraction: float = 0.05
) -> float:
    """Return the learning rate at `progress` (0 to 1) of a warm-up + cosine schedule.

    The same shape as `training.warmup_cosine_schedule` over steps: a linear rise from
    `initial_fraction * peak_learning_rate` to the peak during the first `warmup_fraction` of
    training, then a cosine decay to 0 at progress 1.
    """
    progress = min(max(progress, 0.0), 1.0)
    if progress < warmup_fraction:
        start = peak_learning_rate * initial_fraction
        return start + (peak_learning_rate - start) * progress / warmup_fraction
    decayed = (progress - warmup_fraction) / (1.0 - warmup_fraction)
    return 0.5 * peak_learning_rate * (1.0 + math.cos(math.pi * decayed))


def _warmup_linear(progress, peak_learning_rate, warmup_fraction, initial_fraction, final_fraction, where):
    """The warm-up + linear decay at `progress` (already within 0 and 1): Python floats with a Python `where`, or
    tensors with `keras.ops.where`, so that the callback's rate and the Keras schedule are one formula."""
    start = peak_learning_rate * initial_fraction
    rising = start + (peak_learning_rate - start) * progress / warmup_fraction
    decayed = (progress - warmup_fraction) / (1.0 - warmup_fraction)
    falling = peak_learning_rate * (1.0 - decayed * (1.0 - final_fraction))
    return where(progress < warmup_fraction, rising, falling)


def warmup_linear(
    progress: float,
    peak_learning_rate: float,
    warmup_fraction: float = 0.23,
    initial_fraction: float = 0.2,
    final_fraction: float = 0.07,
) -> float:
    """Return the learning rate at `progress` (0 to 1) of a warm-up + linear decay (airbench94's schedule, whose
    defaults these are).

    A linear rise from `initial_fraction * peak_learning_rate` to the peak during the first `warmup_fraction` of
    training, then a linear fall to `final_fraction * peak_learning_rate` at progress 1.
    """
    progress = min(max(progress, 0.0), 1.0)
    return _warmup_linear(
        progress,
        peak_learning_rate,
        warmup_fraction,
        initial_fraction,
        final_fraction,
        lambda warming, rising, falling: rising if warming else falling,
    )


@keras.saving.register_keras_serializable(package="cnn_course")
class WarmupLinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """`warmup_linear` over `total_steps` steps, as a Keras schedule for training without a budget: a linear rise
    from `initial_fraction` x the peak rate over the first `warmup_fraction` of the steps, then a linear fall to
    `final_fraction` x the peak at the last step (airbench94's schedule with its defaults)."""

    def __init__(
        self,
        peak_learning_rate: float,
        total_steps: int,
        warmup_fraction: float = 0.23,
        initial_fraction: float = 0.2,
        final_fraction: float = 0.07,
    ) -> None:
        self.peak_learning_rate = float(peak_learning_rate)
        self.total_steps = max(1, int(total_steps))
        self.warmup_fraction = float(warmup_fraction)
        self.initial_fraction = float(initial_fraction)
        self.final_fraction = float(final_fraction)

    def __call__(self, step):
        progress = keras.ops.minimum(keras.ops.cast(step, "float32") / self.total_steps, 1.0)
        return _warmup_linear(
            progress,
            self.peak_learning_rate,
            self.warmup_fraction,
            self.initial_fraction,
            self.final_fraction,
            keras.ops.where,
        )

    def get_config(self) -> dict:
        return {
            "peak_learning_rate": self.peak_learning_rate,
            "total_steps": self.total_steps,
            "warmup_fraction": self.warmup_fraction,
            "initial_fraction": self.initial_fraction,
            "final_fraction": self.final_fraction,
        }


class TimeBudget(keras.callbacks.Callback):
    """Ends training when `seconds` of fit time are spent; with a peak rate, schedules the rate by time.

    seconds: the budget in wall-clock seconds for the whole `fit` (training steps and validation
    passes); None trains for the `epochs` given to `fit`, with the same schedule over steps.
    peak_learning_rate: the warm-up + decay schedule's peak (`warmup_cosine`, or `warmup_linear` to
    `final_fraction` of it where `decay` is "linear"); the model must be compiled with a
    constant (float) learning rate, which this callback overwrites before each step. None leaves
    the optimiser's rate alone (a constant-rate recipe) and only ends training at the budget.

    Progress is the larger of the time fraction and the step fraction of the epochs passed to
    `fit`, so the schedule completes whichever limit comes first. The time fraction counts
    training time only: the time of validation passes so far, plus an estimate of those still
    to come (the step time measured on the first `calibration_steps` steps after the first, which
    includes tracing, and then on every step; each pass to come at the longest pass so far but the first,
    which traces the model) is set aside from the budget; when a validation pass
    takes what was left of it, training ends with the epoch that pass validated. Training also
    ends, mid-epoch if need be, before a step that at the measured step time would end past the
    budget: the budget is overrun by no more than one step's variation from that time.

    After training: `steps` (training steps run), `elapsed` (seconds of fit), `training_seconds`
    (`elapsed` less the validation passes), `step_seconds` (the measured seconds per training
    step), `stopped_by_budget`.
    """

    def __init__(
        self,
        seconds: float | None,
        peak_learning_rate: float | None = None,
        warmup_fraction: float = 0.125,
        initial_fraction: float = 0.05,
        calibration_steps: int = 10,
        verbose: int = 1,
        clock: Callable[[], float] = time.perf_counter,
        decay: str = "cosine",
        final_fraction: float = 0.0,
    ) -> None:
        super().__init__()
        if seconds is not None and not seconds > 0:
            raise ValueError(f"a time budget must be more than 0 seconds, got {seconds}")
        if decay not in ("cosine", "linear"):
            raise ValueError(f'decay must be "cosine" or "linear", got {decay!r}')
        self.decay = decay
        self.final_fraction = final_fraction
        self.seconds = seconds
        self.peak_learning_rate = peak_learning_rate
        self.warmup_fraction = warmup_fraction
        self.initial_fraction = initial_fraction
        self.calibration_steps = calibration_steps
        self.verbose = verbose
        self.clock = clock

    def on_train_begin(self, logs: dict | None = None) -> None:
        if self.peak_learning_rate is not None and not isinstance(self.model.optimizer._learning_rate, keras.Variable):
            raise TypeError(
                "TimeBudget sets the learning rate itself: compile the model with a number as its learning rate, "
                "not a schedule"
            )
        self._start = self.clock()
        self._validation_passes: list[float] = []
        self._first_step_training_seconds = 0.0
        self._epochs_ended = 0
        self.steps = 0
        self.progress = 0.0
        self.step_seconds: float | None = None
        self.stopped_by_budget = False
        self._set_rate()

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        self._set_rate()

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self.steps += 1
        now = self.clock()
        if self.steps == 1:
            self._first_step_training_seconds = self._training_seconds(now)
        else:
            self.step_seconds = (self._training_seconds(now) - self._first_step_training_seconds) / (self.steps - 1)
            if self.steps == self.calibration_steps + 1 and self.verbose and self.seconds is not None:
                self._report_calibration()
        self.progress = max(self.progress, self._progress(now))
        if self._next_step_overruns(now):
            self.progress, self.stopped_by_budget = 1.0, True
            self.model.stop_training = True
        elif self.progress >= 1.0:
            self.stopped_by_budget = self.seconds is not None and self._time_progress(now) >= 1.0
            self.model.stop_training = True

    def on_test_begin(self, logs: dict | None = None) -> None:
        self._validation_start = self.clock()

    def on_test_end(self, logs: dict | None = None) -> None:
        self._validation_passes.append(self.clock() - self._validation_start)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self._epochs_ended += 1
        # A validation pass slower than estimated can spend what was left: then the epoch just
        # validated is the last, rather than one more step that pays for one more pass.
        now = self.clock()
        if self.seconds is not None and self.steps and self._time_progress(now) >= 1.0:
            self.progress, self.stopped_by_budget = 1.0, True
            self.model.stop_training = True

    def on_train_end(self, logs: dict | None = None) -> None:
        self.elapsed = self.clock() - self._start
        self.training_seconds = self.elapsed - self._validation_seconds
        if self.verbose and self.seconds is not None:
            epochs = self.steps / self._steps_per_epoch() if self._steps_per_epoch() else float("nan")
            print(
                f"time budget {self.seconds:.0f} s: {self.steps} training steps "
                f"({epochs:.1f} epochs) in {self.elapsed:.1f} s"
            )

    @property
    def _validation_seconds(self) -> float:
        return sum(self._validation_passes)

    def _steps_per_epoch(self) -> int | None:
        return (self.params or {}).get("steps")

    def _training_seconds(self, now: float) -> float:
        return now - self._start - self._validation_seconds

    def _reserved_for_validation(self, now: float) -> float:
        """Seconds of the budget the validation passes take: those done and an estimate of those to come."""
        if self.step_seconds is None or (self._epochs_ended and not self._validation_passes):
            return self._validation_seconds  # not calibrated yet, or a fit without validation data
        epoch_seconds = self.step_seconds * (self._steps_per_epoch() or 1)
        # Before the first pass, guess it at a thirtieth of an epoch of training: a tenth of the
        # images, forward only (a third of the work of a training step).
        # After it, at the longest pass so far but the first (which traces the model): the last pass, after
        # training ends, must fit whatever it takes.
        per_pass = max(self._validation_passes[1:] or self._validation_passes or [epoch_seconds / 30])
        remaining = max(0.0, self.seconds - (now - self._start))
        passes_to_come = max(1, math.ceil(remaining / (epoch_seconds + per_pass)))
        # However slow validation is, training keeps at least half of the budget.
        return min(self._validation_seconds + passes_to_come * per_pass, self.seconds / 2)

    def _next_step_overruns(self, now: float) -> bool:
        """True when one more training step, taking the measured step time, would end past the training budget."""
        if self.seconds is None or self.step_seconds is None:
            return False
        training_budget = self.seconds - self._reserved_for_validation(now)
        return self._training_seconds(now) + self.step_seconds > training_budget + 1e-9

    def _time_progress(self, now: float) -> float:
        if self.seconds is None:
            return 0.0
        training_budget = self.seconds - self._reserved_for_validation(now)
        return self._training_seconds(now) / training_budget if training_budget > 0 else 1.0

    def _progress(self, now: float) -> float:
        epochs, steps_per_epoch = (self.params or {}).get("epochs"), self._steps_per_epoch()
        step_progress = self.steps / (epochs * steps_per_epoch) if epochs and steps_per_epoch else 0.0
        return max(self._time_progress(now), step_progress)

    def _set_rate(self) -> None:
        if self.peak_learning_rate is None:
            return
        if self.decay == "linear":
            rate = warmup_linear(
                self.progress, self.peak_learning_rate, self.warmup_fraction, self.initial_fraction, self.final_fraction
            )
        else:
            rate = warmup_cosine(self.progress, self.peak_learning_rate, self.warmup_fraction, self.initial_fraction)
        self.model.optimizer.learning_rate.assign(rate)

    def _report_calibration(self) -> None:
        expected = (self.seconds - (self.clock() - self._start)) / self.step_seconds + self.steps
        per_epoch, epochs = self._steps_per_epoch(), (self.params or {}).get("epochs")
        rate = f"time budget {self.seconds:.0f} s: {self.step_seconds * 1000:.0f} ms per training step"
        if per_epoch and epochs and epochs * per_epoch <= expected:
            print(
                f"{rate}, so the {epochs} epochs given to fit end first, after "
                f"about {epochs * per_epoch * self.step_seconds:.0f} s of training"
            )
        elif per_epoch and epochs:
            print(
                f"{rate}, about {expected:.0f} steps ({expected / per_epoch:.1f} of the {epochs} epochs given to fit) "
                "before the budget ends training"
            )
        else:
            print(f"{rate}, about {expected:.0f} steps")
