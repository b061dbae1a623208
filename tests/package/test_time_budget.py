"""Training to a time budget: duration parsing, and the schedule that follows a (fake) clock."""

import keras
import numpy as np
import pytest

from cnn_course.time_budget import TimeBudget, parse_duration, warmup_cosine
from cnn_course.training import warmup_cosine_schedule

PEAK = 0.01
STEPS_PER_EPOCH = 10


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("300", 300),
        ("300s", 300),
        ("5m", 300),
        ("2.5m", 150),
        ("1h30m", 5400),
        ("1h", 3600),
        ("1h2m3s", 3723),
        (" 90S ", 90),
        ("0.5", 0.5),
    ],
)
def test_durations_parse_to_seconds(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "5 minutes", "five", "-5", "1h30", "m", "5x", "3m2h", "1.2.3"])
def test_malformed_durations_say_how_to_write_one(text):
    with pytest.raises(ValueError, match="is not a duration: write seconds"):
        parse_duration(text)


@pytest.mark.parametrize("text", ["0", "0s", "0m0s"])
def test_a_zero_budget_is_refused(text):
    with pytest.raises(ValueError, match="more than 0 seconds"):
        parse_duration(text)


class FakeClock:
    """A clock the test advances: `step_seconds` per training step, `validation_seconds` per validation pass."""

    def __init__(self, step_seconds: float, validation_seconds: float = 0.0) -> None:
        self.now, self.step_seconds, self.validation_seconds = 0.0, step_seconds, validation_seconds

    def __call__(self) -> float:
        return self.now


class AdvanceClock(keras.callbacks.Callback):
    """Listed before the TimeBudget: advances the fake clock as if each step and pass took time."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__()
        self.clock = clock

    def on_train_batch_end(self, batch, logs=None):
        self.clock.now += self.clock.step_seconds

    def on_test_end(self, logs=None):
        self.clock.now += self.clock.validation_seconds


class RecordRates(keras.callbacks.Callback):
    """Listed after the TimeBudget: the learning rate each training step uses."""

    def on_train_begin(self, logs=None):
        self.rates = []

    def on_train_batch_begin(self, batch, logs=None):
        self.rates.append(float(self.model.optimizer.learning_rate.numpy()))


def fit(
    budget: TimeBudget, clock: FakeClock, epochs: int = 1000, validation: bool = True, learning_rate=PEAK
) -> RecordRates:
    """Fit a tiny model on STEPS_PER_EPOCH batches per epoch under `budget`; return the recorded rates."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate), loss="sparse_categorical_crossentropy")
    x, y = (
        np.random.default_rng(0).random((STEPS_PER_EPOCH * 2, 4), dtype=np.float32),
        np.arange(STEPS_PER_EPOCH * 2) % 2,
    )
    recorder = RecordRates()
    model.fit(
        x,
        y,
        batch_size=2,
        epochs=epochs,
        verbose=0,
        validation_data=(x[:4], y[:4]) if validation else None,
        callbacks=[AdvanceClock(clock), budget, recorder],
    )
    return recorder


def assert_warmup_then_cosine(rates: list[float]) -> None:
    peak = int(np.argmax(rates))
    assert 0 < peak < len(rates) - 1
    assert rates[0] == pytest.approx(0.05 * PEAK)
    assert np.all(np.diff(rates[: peak + 1]) > 0), "the warm-up rises"
    assert np.all(np.diff(rates[peak:]) <= 0), "the cosine decays"
    assert max(rates) == pytest.approx(PEAK, rel=0.05)
    assert rates[-1] < 0.02 * PEAK, "the schedule completes by the last step"


def test_training_ends_at_the_budget_with_the_schedule_completed():
    clock = FakeClock(step_seconds=1.0, validation_seconds=3.0)
    budget = TimeBudget(100, PEAK, verbose=0, clock=clock)
    recorder = fit(budget, clock)
    assert budget.stopped_by_budget
    # 13 s per epoch of 10 steps and a pass: 100 s hold 8 passes and 76 training steps.
    assert clock.now == pytest.approx(100, abs=1.5)
    assert budget.steps == len(recorder.rates) == pytest.approx(76, abs=1)
    assert budget.step_seconds == pytest.approx(1.0)
    assert_warmup_then_cosine(recorder.rates)


def test_a_budget_shorter_than_an_epoch_still_trains_most_of_it():
    clock = FakeClock(step_seconds=1.0, validation_seconds=0.5)
    budget = TimeBudget(6, PEAK, verbose=0, clock=clock)
    recorder = fit(budget, clock)
    assert budget.stopped_by_budget and budget.steps == len(recorder.rates) >= 5
    assert clock.now <= 6.5
    assert recorder.rates[-1] < 0.5 * PEAK


def test_a_validation_pass_that_spends_the_rest_of_the_budget_ends_training_at_that_epoch():
    # The first pass is estimated at a thirtieth of an epoch; it takes 8 s and leaves no time.
    clock = FakeClock(step_seconds=1.0, validation_seconds=8.0)
    budget = TimeBudget(15, PEAK, verbose=0, clock=clock)
    fit(budget, clock)
    assert budget.stopped_by_budget
    assert budget.steps == STEPS_PER_EPOCH, "no epoch of one step and one more validation pass"
    assert clock.now == pytest.approx(STEPS_PER_EPOCH + 8.0)


def test_training_keeps_at_least_half_the_budget_however_slow_validation_is():
    clock = FakeClock(step_seconds=1.0, validation_seconds=30.0)
    budget = TimeBudget(100, PEAK, verbose=0, clock=clock)
    fit(budget, clock)
    assert budget.steps >= 50


@pytest.mark.parametrize("step_seconds", [0.25, 4.0])
def test_a_slower_machine_takes_fewer_steps_and_still_completes_the_schedule(step_seconds):
    clock = FakeClock(step_seconds)
    budget = TimeBudget(200, PEAK, verbose=0, clock=clock)
    recorder = fit(budget, clock, validation=False)
    assert budget.steps == pytest.approx(200 / step_seconds, abs=1)
    assert clock.now == pytest.approx(200, abs=step_seconds)
    assert_warmup_then_cosine(recorder.rates)


def test_the_epoch_limit_ends_the_schedule_when_it_comes_first():
    clock = FakeClock(step_seconds=1.0)
    budget = TimeBudget(10_000, PEAK, verbose=0, clock=clock)
    recorder = fit(budget, clock, epochs=3)
    assert budget.steps == 3 * STEPS_PER_EPOCH and not budget.stopped_by_budget
    assert_warmup_then_cosine(recorder.rates)


def test_without_a_budget_the_schedule_follows_the_steps_as_the_keras_schedule_does():
    clock = FakeClock(step_seconds=1.0)
    recorder = fit(TimeBudget(None, PEAK, verbose=0, clock=clock), clock, epochs=4)
    steps = 4 * STEPS_PER_EPOCH
    schedule = warmup_cosine_schedule(PEAK, steps)
    expected = [float(schedule(step)) for step in range(steps)]
    np.testing.assert_allclose(recorder.rates, expected, rtol=1e-5, atol=1e-9)


def test_without_a_peak_rate_the_rate_is_left_alone_and_training_ends_at_the_budget():
    clock = FakeClock(step_seconds=2.0)
    budget = TimeBudget(30, verbose=0, clock=clock)
    recorder = fit(budget, clock, validation=False, learning_rate=0.003)
    assert budget.steps == 15 and budget.stopped_by_budget
    np.testing.assert_allclose(recorder.rates, 0.003)


def test_a_scheduled_learning_rate_is_refused_with_what_to_do():
    clock = FakeClock(step_seconds=1.0)
    with pytest.raises(TypeError, match="compile the model with a number as its learning rate"):
        fit(TimeBudget(10, PEAK, verbose=0, clock=clock), clock, learning_rate=warmup_cosine_schedule(PEAK, 100))


@pytest.mark.parametrize("seconds", [0, -5])
def test_a_budget_of_no_time_is_refused(seconds):
    with pytest.raises(ValueError, match="more than 0 seconds"):
        TimeBudget(seconds, PEAK)


def test_warmup_cosine_shape():
    assert warmup_cosine(0.0, 1.0) == pytest.approx(0.05)
    assert warmup_cosine(0.125, 1.0) == pytest.approx(1.0)
    assert warmup_cosine(1.0, 1.0) == pytest.approx(0.0)
    assert warmup_cosine(2.0, 1.0) == pytest.approx(0.0)


@pytest.mark.parametrize(
    ("seconds", "epochs", "said"),
    [
        (10_000, 3, "so the 3 epochs given to fit end first, after about 30 s of training"),
        (100, 1000, "of the 1000 epochs given to fit) before the budget ends training"),
    ],
)
def test_the_calibration_says_which_limit_ends_training(capsys, seconds, epochs, said):
    clock = FakeClock(step_seconds=1.0)
    fit(TimeBudget(seconds, PEAK, clock=clock), clock, epochs=epochs, validation=False)
    printed = capsys.readouterr().out
    assert "time budget" in printed and "1000 ms per training step" in printed and said in printed, printed


@pytest.mark.parametrize(("budget_seconds", "steps"), [(33.5, 33), (33.999, 33), (34.0, 34)])
def test_training_ends_mid_epoch_before_a_step_that_would_overrun_the_budget(budget_seconds, steps):
    clock = FakeClock(step_seconds=1.0)
    budget = TimeBudget(budget_seconds, PEAK, verbose=0, clock=clock)
    fit(budget, clock, validation=False)
    assert budget.stopped_by_budget
    assert budget.steps == steps, "as many whole steps as the budget holds, and no step past it"
    assert clock.now <= budget_seconds
    assert budget.steps % STEPS_PER_EPOCH, "the budget ended training inside an epoch"


def test_with_validation_no_step_ends_past_the_budget():
    # 10 steps of 1.7 s and a pass of 0.5 s per epoch: 30 s hold one epoch, and 7 steps and a pass.
    clock = FakeClock(step_seconds=1.7, validation_seconds=0.5)
    budget = TimeBudget(30, PEAK, verbose=0, clock=clock)
    fit(budget, clock)
    assert budget.stopped_by_budget
    assert clock.now <= 30
    assert budget.steps == STEPS_PER_EPOCH + 7


class UnevenPasses(FakeClock):
    """Validation passes of uneven length: a slow first one (tracing), then one slow pass in every three."""

    def __init__(self, step_seconds: float) -> None:
        super().__init__(step_seconds)
        self.passes = 0

    @property
    def validation_seconds(self) -> float:
        self.passes += 1
        return 5.0 if self.passes == 1 else (3.0 if self.passes % 3 == 0 else 0.5)

    @validation_seconds.setter
    def validation_seconds(self, seconds: float) -> None:
        pass


@pytest.mark.parametrize("budget_seconds", [60, 70, 80, 90, 100, 110])
def test_uneven_validation_passes_still_end_within_one_step_of_the_budget(budget_seconds):
    # A pass slower than the one before it (the machine's load, a partial batch) must not carry the last
    # pass past the budget: the passes to come are set aside at the longest so far but the traced first.
    clock = UnevenPasses(step_seconds=1.0)
    budget = TimeBudget(budget_seconds, PEAK, verbose=0, clock=clock)
    fit(budget, clock)
    assert clock.now <= budget_seconds + clock.step_seconds
