"""The benchmark's reduced mode: every chosen recipe trained in its own process, reported as JSON and Markdown."""

import json
import subprocess
import sys

import numpy as np

from .conftest import REPO, needs_data


@needs_data()
def test_quick_benchmark_reports_every_recipe(tmp_path):
    recipes = ["cnn", "keras-example", "tf-tutorial"]
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks.benchmark", "--quick", "--recipes", *recipes, "--out", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    report = json.loads((tmp_path / "benchmark.json").read_text())
    assert report["quick"] is True
    assert [r["recipe"] for r in report["results"]] == recipes
    for result in report["results"]:
        assert 0.0 <= result["test_accuracy"] <= 1.0
        assert result["train_seconds"] > 0 and result["images_per_second"] > 0 and result["peak_memory_mb"] > 100
        assert len(result["curve"]) == result["epochs_run"] == 1
    markdown = (tmp_path / "benchmark.md").read_text()
    assert "| **cnn** |" in markdown and "| keras-example (baseline) |" in markdown and "time to 75% (s)" in markdown


@needs_data()
def test_quick_budget_benchmark_trains_every_recipe_to_every_budget(tmp_path):
    command = [
        sys.executable,
        "-m",
        "benchmarks.budget_benchmark",
        "--quick",
        "--recipes",
        "fast",
        "airbench",
        "cnn",
        "--multiples",
        "1",
        "--multiples-for",
        "airbench",
        "2",
        "--seconds",
        "3",
        "--mnist-seconds",
        "3",
        "--out",
        str(tmp_path),
    ]
    completed = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=900)
    assert completed.returncode == 0, completed.stderr[-2000:]
    report = json.loads((tmp_path / "budget_benchmark.json").read_text())
    assert report["quick"] is True and report["conv_gflops"] > 0 and report["tutorial_seconds"] > 0
    runs = [(run["dataset"], run["recipe"], run["multiple"]) for run in report["runs"]]
    # MNIST first; then the tutorial's reference run (always: it sets T), then each chosen recipe at its multiples of
    # T (airbench at its own, 2x) and at 3 s, then the tutorial again, to show how far T moved during the run.
    assert runs == [
        ("mnist", "cnn", None),
        ("cifar10", "tf-tutorial", None),
        ("cifar10", "fast", 1.0),
        ("cifar10", "airbench", 2.0),
        ("cifar10", "fast", None),
        ("cifar10", "airbench", None),
        ("cifar10", "tf-tutorial", None),
    ]
    assert [run["remeasure"] for run in report["runs"]] == [False] * 6 + [True]
    assert report["complete"] is True
    for run in report["runs"]:
        assert 0.0 <= run["test_accuracy"] <= 1.0
        assert run["images_per_second"] > 0 and run["training_gflops"] > 0 and run["mflop_per_training_image"] > 0
        assert (
            0.0 < run["cpu_busy"] <= 1.05
        )  # process CPU over fit time x cores; a little over 1 from clock granularity
    markdown = (tmp_path / "budget_benchmark.md").read_text()
    assert (
        "not a result" in markdown
        and "| **fast** |" in markdown
        and "| as written | tf-tutorial (baseline) |" in markdown
        and "GFLOP/s" in markdown
        and "CPU busy" in markdown
        and "### Goals (this run does not count for them" in markdown
        and "| `airbench` at 10× T: at least 93.0% |  | not run |" in markdown
    )
    assert {run["dtype_policy"] for run in report["runs"]} <= {"float32", "mixed_bfloat16"}
    assert all(run["peak_memory_mb"] > 100 for run in report["runs"])
    assert (
        "| as written, again at the end | tf-tutorial (baseline) |" in markdown
        and "when trained again at the end" in markdown
    )


def test_the_patch_whitening_kernel_whitens_two_by_two_patches():
    from cnn_course.models import patch_whitening_kernel

    rng = np.random.default_rng(0)
    # Correlated channels and neighbouring pixels, as in natural images.
    noise = rng.normal(size=(200, 9, 9, 3)).astype(np.float32)
    images = noise + 0.8 * np.roll(noise, 1, axis=2) + 0.5 * noise[..., :1]
    mean, variance = images.mean((0, 1, 2)), images.var((0, 1, 2))
    kernel = patch_whitening_kernel(images, mean, variance, epsilon=0.0)
    assert kernel.shape == (2, 2, 3, 24)
    np.testing.assert_array_equal(kernel[..., 12:], -kernel[..., :12])
    x = (images - mean) / np.sqrt(variance)
    patches = np.stack([x[:, i : i + 8, j : j + 8] for i in range(2) for j in range(2)], axis=3).reshape(-1, 12)
    outputs = patches @ kernel[..., :12].reshape(12, 12)
    np.testing.assert_allclose(np.cov(outputs.T, bias=True), np.eye(12), atol=1e-3)


def test_tta_view_sets_average_every_view_each_predicted_once():
    from benchmarks.tta_views import view_set_accuracies
    from cnn_course.evaluation import shifted_view as shifted

    class CountingModel:
        calls = 0

        weights = np.random.default_rng(2).random((4, 4, 1, 2))  # a linear score per class, not mirror-symmetric

        def predict(self, views, batch_size, verbose):
            self.calls += 1
            return np.einsum("nhwc,hwck->nk", views, self.weights)

    images = np.random.default_rng(0).random((50, 4, 4, 1)).astype(np.float32)
    labels = np.random.default_rng(1).integers(0, 2, 50)
    model = CountingModel()
    sets = {"plain": [(0, 0)], "two": [(0, 0), (1, 1)], "again": [(1, 1), (0, 0)]}
    accuracies = view_set_accuracies(model, images, labels, sets)
    assert model.calls == 4  # two shifts, each as it is and mirrored
    views = [images, images[:, :, ::-1], shifted(images, 1, 1), shifted(images, 1, 1)[:, :, ::-1]]
    expected = sum(CountingModel().predict(view, 1000, 0) for view in views)
    assert accuracies["two"] == accuracies["again"] == float(np.mean(expected.argmax(1) == labels))


def test_progressive_resizing_trains_at_low_resolution_until_the_switch_then_at_full():
    import keras

    from benchmarks.explore_budget import LowResolutionUntil, ProgressiveResize

    resize = ProgressiveResize(24)
    images = np.random.default_rng(0).random((8, 32, 32, 3), dtype=np.float32)
    assert tuple(resize(images, training=True).shape) == (8, 24, 24, 3)
    np.testing.assert_array_equal(resize(images, training=False), images)
    resize.low_resolution.assign(0.0)
    np.testing.assert_array_equal(resize(images, training=True), images)

    class Progress:  # stands in for a TimeBudget: the fraction of the budget spent
        progress = 0.0

    budget = Progress()
    switch = LowResolutionUntil(resize, budget, until=0.4)
    for progress, expected in ((0.0, 1.0), (0.39, 1.0), (0.4, 0.0), (0.9, 0.0)):
        budget.progress = progress
        switch.on_train_batch_begin(0)
        assert float(resize.low_resolution.numpy()) == expected, progress

    # fit traces one training function, with both branches in it: it trains at either size.
    model = keras.Sequential(
        [
            keras.Input((32, 32, 3)),
            resize,
            keras.layers.Conv2D(4, 3),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(2),
        ]
    )
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))

    class PastTheSwitchAfterOneEpoch(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            budget.progress = 1.0

    budget.progress = 0.0
    labels = np.arange(8) % 2
    history = model.fit(
        images, labels, batch_size=4, epochs=2, verbose=0, callbacks=[switch, PastTheSwitchAfterOneEpoch()]
    )
    assert len(history.history["loss"]) == 2 and np.isfinite(history.history["loss"]).all()
    assert float(resize.low_resolution.numpy()) == 0.0
