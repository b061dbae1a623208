"""Training precision: mixed bfloat16 only where measured faster on a native-bfloat16 CPU; float32 models on disk."""

import json

import keras
import numpy as np
import pytest

from cnn_course import precision
from cnn_course.commands import cli
from cnn_course.commands import train as train_command
from cnn_course.precision import FLOAT32, MIXED_BFLOAT16, build_with_policy, choose_dtype_policy, dtype_policy
from cnn_course.preparation import PreparedData
from cnn_course.recipes import Recipe
from cnn_course.saving import save_model_with_classes

BF16_CPU = frozenset({"sse2", "avx2", "avx512f", "avx512_bf16"})
AVX2_CPU = frozenset({"sse2", "avx2", "fma"})


def tiny_model() -> keras.Model:
    return keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(4, 3, padding="same", activation="relu"),
            keras.layers.BatchNormalization(),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )


def fake_step_seconds(float32: float, bfloat16: float):
    """A stand-in for `training_step_seconds` that records the policies it was asked to time."""
    timed: list[str] = []

    def step_seconds(build, batch_size):
        timed.extend([FLOAT32, MIXED_BFLOAT16])
        return {FLOAT32: float32, MIXED_BFLOAT16: bfloat16}

    step_seconds.timed = timed
    return step_seconds


@pytest.fixture(autouse=True)
def float32_after_every_test():
    yield
    assert keras.config.dtype_policy().name == FLOAT32, "a test left Keras's global dtype policy changed"


def test_without_native_bfloat16_the_choice_is_float32_and_nothing_is_timed(monkeypatch):
    monkeypatch.setattr(precision, "cpu_flags", lambda: AVX2_CPU)
    timing = fake_step_seconds(1.0, 0.1)
    monkeypatch.setattr(precision, "training_step_seconds", timing)
    choice = choose_dtype_policy(tiny_model, 32)
    assert choice.policy == FLOAT32 and "no native bfloat16" in choice.reason
    assert timing.timed == []


def test_where_the_processor_is_unknown_the_choice_is_float32(monkeypatch, tmp_path):
    monkeypatch.setattr(precision, "CPUINFO", tmp_path / "no-cpuinfo")
    monkeypatch.setattr(precision, "training_step_seconds", fake_step_seconds(1.0, 0.1))
    assert precision.cpu_flags() is None
    assert choose_dtype_policy(tiny_model, 32).policy == FLOAT32


def test_the_flags_are_read_from_cpuinfo(monkeypatch, tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nmodel name\t: Some CPU\nflags\t\t: fpu SSE2 avx512_bf16 amx_tile\n")
    monkeypatch.setattr(precision, "CPUINFO", cpuinfo)
    assert precision.cpu_flags() == {"fpu", "sse2", "avx512_bf16", "amx_tile"}
    assert precision.native_bfloat16(precision.cpu_flags())
    assert not precision.native_bfloat16(AVX2_CPU)


@pytest.mark.parametrize(
    ("float32", "bfloat16", "chosen"),
    [(1.0, 1.4, FLOAT32), (1.0, 0.95, FLOAT32), (1.0, 0.7, MIXED_BFLOAT16)],
    ids=["bfloat16-slower", "bfloat16-faster-by-less-than-the-margin", "bfloat16-faster"],
)
def test_with_native_bfloat16_the_measured_step_times_decide(monkeypatch, float32, bfloat16, chosen):
    monkeypatch.setattr(precision, "cpu_flags", lambda: BF16_CPU)
    timing = fake_step_seconds(float32, bfloat16)
    monkeypatch.setattr(precision, "training_step_seconds", timing)
    choice = choose_dtype_policy(tiny_model, 32)
    assert choice.policy == chosen
    assert sorted(timing.timed) == [FLOAT32, MIXED_BFLOAT16]
    assert f"{float32 * 1000:.0f} ms in float32 and {bfloat16 * 1000:.0f} ms in mixed_bfloat16" in choice.reason
    assert choice.as_metrics()["float32_step_ms"] == float32 * 1000


@pytest.mark.parametrize(("cpu", "requested"), [(BF16_CPU, FLOAT32), (AVX2_CPU, MIXED_BFLOAT16)])
def test_an_explicit_dtype_is_honoured_without_measuring(monkeypatch, cpu, requested):
    monkeypatch.setattr(precision, "cpu_flags", lambda: cpu)
    timing = fake_step_seconds(1.0, 0.1)
    monkeypatch.setattr(precision, "training_step_seconds", timing)
    choice = choose_dtype_policy(tiny_model, 32, requested)
    assert choice.policy == requested and timing.timed == []


def test_an_unknown_dtype_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="not one of auto, float32, mixed_bfloat16"):
        choose_dtype_policy(tiny_model, 32, "float16")


@pytest.mark.parametrize(("argv", "expected"), [([], "auto"), (["--dtype", "mixed_bfloat16"], MIXED_BFLOAT16)])
def test_the_train_command_passes_its_dtype_on(monkeypatch, tmp_path, argv, expected):
    received = {}

    def train_recipe(recipe, out, data_dir, epochs, seed, budget, dtype):
        received["dtype"] = dtype
        return {"test_accuracy": 0.5, "test_loss": 1.0, "train_seconds": 1.0}

    monkeypatch.setattr(train_command, "train_recipe", train_recipe)
    args = cli.build_parser().parse_args(["train", "mnist", "--out", str(tmp_path), *argv])
    assert cli.run_train(args) == 0
    assert received["dtype"] == expected


def test_the_train_command_refuses_an_unknown_dtype(capsys):
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["train", "mnist", "--dtype", "float16"])
    assert "invalid choice: 'float16'" in capsys.readouterr().err


def test_a_mixed_bfloat16_model_computes_its_output_in_float32():
    model = build_with_policy(tiny_model, MIXED_BFLOAT16)
    assert keras.config.dtype_policy().name == FLOAT32
    assert model.layers[0].dtype_policy.name == MIXED_BFLOAT16
    assert model.layers[-1].dtype_policy.name == FLOAT32
    assert model.predict(np.zeros((2, 8, 8, 1), np.float32), verbose=0).dtype == np.float32


def test_a_model_trained_in_mixed_bfloat16_saves_loads_and_predicts_in_float32(tmp_path):
    keras.utils.set_random_seed(0)
    model = build_with_policy(tiny_model, MIXED_BFLOAT16)
    images = np.random.default_rng(0).random((64, 8, 8, 1), dtype=np.float32)
    labels = np.arange(64) % 3
    with dtype_policy(MIXED_BFLOAT16):
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        model.fit(images, labels, batch_size=16, epochs=1, verbose=0)
    path = tmp_path / "model.keras"
    save_model_with_classes(model, path, ("a", "b", "c"))
    loaded = keras.saving.load_model(path)
    assert {layer.dtype_policy.name for layer in loaded.layers} == {FLOAT32}
    predictions = loaded.predict(images[:8], verbose=0)
    assert predictions.dtype == np.float32
    # The same weights: only bfloat16 rounding separates the two.
    np.testing.assert_allclose(predictions, model.predict(images[:8], verbose=0), atol=0.02)


def test_train_recipe_records_the_choice_and_leaves_the_policy_as_it_was(monkeypatch, tmp_path, capsys):
    rng = np.random.default_rng(0)
    images, labels = rng.random((60, 28, 28, 1), dtype=np.float32), np.arange(60) % 10
    prepared = PreparedData(images, labels, images[:20], labels[:20], images[:20], labels[:20], tuple("0123456789"))
    monkeypatch.setitem(train_command.PREPARE, "mnist", lambda *args: prepared)
    recipe = Recipe(
        name="tiny",
        dataset="mnist",
        description="a tiny test network",
        build=lambda prepared: keras.Sequential(
            [
                keras.Input((28, 28, 1)),
                keras.layers.Conv2D(2, 3, strides=4),
                keras.layers.Flatten(),
                keras.layers.Dense(10, activation="softmax"),
            ]
        ),
        epochs=1,
        batch_size=20,
        learning_rate=1e-3,
    )
    metrics = train_command.train_recipe(recipe, tmp_path, dtype=MIXED_BFLOAT16)
    assert "Training in mixed_bfloat16: asked for with --dtype." in capsys.readouterr().out
    assert metrics["dtype_policy"] == MIXED_BFLOAT16
    assert json.loads((tmp_path / "metrics.json").read_text())["dtype_policy"] == MIXED_BFLOAT16
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    assert {layer.dtype_policy.name for layer in loaded.layers} == {FLOAT32}


def test_the_mnist_recipe_trains_in_float32_under_auto_without_measuring(monkeypatch, tmp_path, capsys):
    """MNIST's 99.09 % is stated as the same on every run and machine: `auto` keeps it in float32, untimed."""
    from cnn_course.recipes import RECIPES

    recipe = RECIPES["mnist"]["cnn"]
    assert not recipe.measures_precision
    assert all(not r.measures_precision for recipes in RECIPES.values() for r in recipes.values() if r.baseline)

    def no_timing(*args, **kwargs):
        raise AssertionError("a recipe that does not measure was timed")

    monkeypatch.setattr(precision, "choose_dtype_policy", no_timing)
    rng = np.random.default_rng(0)
    images, labels = rng.random((40, 28, 28, 1), dtype=np.float32), np.arange(40) % 10
    prepared = PreparedData(images, labels, images[:20], labels[:20], images[:20], labels[:20], tuple("0123456789"))
    monkeypatch.setitem(train_command.PREPARE, "mnist", lambda *args: prepared)
    metrics = train_command.train_recipe(recipe, tmp_path, epochs=1, dtype="auto")
    assert "Training in float32: the cnn recipe trains in float32" in capsys.readouterr().out
    assert metrics["dtype_policy"] == FLOAT32


class SlowStartClock:
    """A fake clock and two fake training steps: `step_seconds` each, plus `extra` for the first `slow_calls`
    calls in all (the machine's slow spell at start-up), whichever step makes them."""

    def __init__(self, step_seconds: dict[str, float], slow_calls: int = 4, extra: float = 0.07) -> None:
        self.now, self.calls = 0.0, 0
        self.step_seconds, self.slow_calls, self.extra = step_seconds, slow_calls, extra

    def __call__(self) -> float:
        return self.now

    def step(self, name: str):
        def run() -> None:
            self.calls += 1
            self.now += self.step_seconds[name] + (self.extra if self.calls <= self.slow_calls else 0.0)

        return run


def test_a_slow_spell_at_the_start_falls_on_both_precisions_alike():
    # float32 truly faster (105 ms against 120 ms): measured one after the other, float32 would take the whole
    # slow start (four steps of 175 ms, then 105 ms: a median of 175 ms) and bfloat16 would be chosen.
    clock = SlowStartClock({FLOAT32: 0.105, MIXED_BFLOAT16: 0.120})
    measured = precision.interleaved_median_seconds(
        {name: clock.step(name) for name in (FLOAT32, MIXED_BFLOAT16)}, seconds=2.0, max_rounds=10, clock=clock
    )
    assert measured[FLOAT32] == pytest.approx(0.105)
    assert measured[MIXED_BFLOAT16] == pytest.approx(0.120)


def test_interleaved_timing_runs_at_least_two_and_at_most_max_rounds():
    order: list[str] = []
    clock = SlowStartClock({"a": 1.0, "b": 1.0}, slow_calls=0)

    def step(name):
        run = clock.step(name)
        return lambda: (order.append(name), run())

    precision.interleaved_median_seconds({"a": step("a"), "b": step("b")}, seconds=0.1, max_rounds=10, clock=clock)
    assert order == ["a", "b", "b", "a"], "two rounds even past the time, each in the other order"
    order.clear()
    precision.interleaved_median_seconds({"a": step("a"), "b": step("b")}, seconds=1e9, max_rounds=3, clock=clock)
    assert order == ["a", "b", "b", "a", "a", "b"]


def test_both_precisions_of_a_real_model_are_timed():
    measured = precision.training_step_seconds(tiny_model, 8)
    assert set(measured) == {FLOAT32, MIXED_BFLOAT16} and all(seconds > 0 for seconds in measured.values())
