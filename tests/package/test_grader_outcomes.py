"""The graders, run as a learner runs them, on correct, unattempted, broken and damaged lessons."""

import hashlib
import os
import re
import subprocess
import sys
import time

import pytest

from .conftest import LESSONS, REPO, SOLUTIONS, copy_lessons, patched_masters, run_graders

# (lesson, exact text in the master, replacement): one deliberate mistake per exercise.
BREAKAGES = [
    ("01_mnist_data", 'return images.astype("float32") / 255.0', 'return images.astype("float32")'),
    (
        "01_mnist_data",
        "return np.bincount(labels, minlength=num_classes)",
        "return np.bincount(labels, minlength=num_clases)",
    ),
    (
        "01_mnist_data",
        "return keras.utils.to_categorical(labels, num_classes=num_classes)",
        "while True:\n        pass",
    ),
    ("02_mnist_cnn", "            layers.Flatten(),\n", ""),
    (
        "02_mnist_cnn",
        "return (kernel_size * kernel_size * in_channels + 1) * filters",
        "return (kernel_size * kernel_size * in_channels + 1 * filters",
    ),
    (
        "04_cifar10_data",
        "    mean, std = channel_mean_std(x_train)\n    return tuple(((x - mean) / std)",
        "    return tuple(((x - channel_mean_std(x)[0]) / channel_mean_std(x)[1])",
    ),
    (
        "05_cifar10_cnn",
        'layers.RandomFlip("horizontal"), layers.RandomTranslation',
        "layers.RandomFlip(), layers.RandomTranslation",
    ),
    (
        "05_cifar10_cnn",
        'EarlyStopping(monitor="val_accuracy", patience=patience',
        'EarlyStopping(monitor="accuracy", patience=patience',
    ),
    (
        "06_cifar10_evaluation",
        "indices = np.argsort(probabilities)[::-1][:k]",
        "indices = np.argsort(probabilities)[-k:]",
    ),
    ("06_cifar10_evaluation", "    np.fill_diagonal(mistakes, 0)\n", ""),
    ("08_transfer_learning", "    base.trainable = False\n    inputs = keras.Input", "    inputs = keras.Input"),
    (
        "08_transfer_learning",
        '    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="sparse_categorical_crossentropy", '
        'metrics=["accuracy"])\n',
        "",
    ),
    (
        "02_mnist_cnn",
        '    if padding == "same":\n        return math.ceil(input_size / stride)\n'
        "    return (input_size - kernel_size) // stride + 1",
        "    raise NotImplementedError",
    ),
]


def snapshot(folder):
    """Map every file below `folder` to its content hash and modification time."""
    return {
        path: (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns)
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="module")
def broken_run(tmp_path_factory):
    target = patched_masters(tmp_path_factory.mktemp("broken") / "lessons", BREAKAGES)
    before = snapshot(target)
    run = run_graders(target, "-k", "01 or 02 or 04 or 05 or 06 or 08", "--exercise-timeout", "3")
    return run, before, snapshot(target)


@pytest.mark.parametrize(
    ("test", "outcome", "expected"),
    [
        ("test_scale_images", "failure", "divide by 255"),
        ("test_count_per_class", "failure", "count_per_class: raised NameError: name 'num_clases' is not defined"),
        ("test_one_hot", "failure", "one_hot: did not finish within 3 s"),
        ("test_build_mnist_cnn", "failure", "add layers.Flatten()"),
        ("test_conv2d_param_count", "failure", "its cell does not parse"),
        ("test_conv_output_size", "skipped", "conv_output_size: not attempted yet"),
        (
            "test_standardize_splits_uses_training_statistics_only",
            "failure",
            "compute mean and std on the training images only",
        ),
        ("test_augmentation_is_active_only_while_training", "failure", "upside-down ships"),
        ("test_training_callbacks_watch_the_validation_set", "failure", "monitor 'val_accuracy'"),
        ("test_build_seed_cnn", "passed", ""),
        ("test_saved_model_reaches_75_percent_on_the_test_set", "skipped", "Run lesson 05_cifar10_cnn to the end"),
        ("test_top_k_classes", "failure", "reverse it ([::-1])"),
        ("test_most_confused_pairs", "failure", "which includes the diagonal"),
        ("test_precision_recall_f1", "passed", ""),
        ("test_roc_auc_one_vs_rest", "passed", ""),
        ("test_channel_mean_std", "passed", ""),
        ("test_add_channel_axis", "passed", ""),
        ("test_split_train_validation", "passed", ""),
        ("test_compile_classifier", "passed", ""),
        ("test_build_transfer_model", "failure", "the base is left trainable"),
        ("test_unfreeze_top_layers", "failure", "not compiled again"),
        ("test_saved_model_beats_training_from_scratch", "skipped", "Run lesson 08_transfer_learning to the end"),
    ],
)
def test_each_broken_exercise_fails_with_its_cause_and_the_rest_pass(broken_run, test, outcome, expected):
    run, _, _ = broken_run
    found, message = run.results[test]
    assert found == outcome, f"{test}: {found}\n{message}"
    assert expected in message
    assert "Traceback" not in message and "def check_" not in message


def test_a_broken_run_ends_with_a_scoreboard_and_fails(broken_run):
    run, _, _ = broken_run
    assert run.returncode == 1
    assert "exercises: 8 passed, 12 failed, 3 not attempted" in run.output
    failures = run.output.split("short test summary info")[0]  # the summary repeats messages (in full under CI)
    assert failures.count("divide by 255") == 1, "each failure is reported once, without an exception chain"
    assert "During handling" not in run.output


def test_graders_never_write_to_the_lessons_they_grade(broken_run):
    _, before, after = broken_run
    assert before == after


def test_fresh_lessons_are_all_not_attempted_and_pytest_says_nothing_was_graded(tmp_path):
    target = copy_lessons(LESSONS, tmp_path / "lessons", suffixes=(".py", ".ipynb"))
    run = run_graders(target)
    assert run.returncode == 5, run.output
    assert "next: write `count_per_class` in lesson 01_mnist_data" in run.output
    assert {outcome for outcome, _ in run.results.values()} == {"skipped"}
    assert re.search(r"exercises: 0 passed, 0 failed, \d+ not attempted", run.output), run.output[-2000:]
    model_message = run.results["test_saved_model_reaches_99_percent_on_the_test_set"][1]
    assert "Run lesson 03_mnist_training to the end" in model_message


def test_the_newer_file_of_a_pair_is_graded_and_a_damaged_one_is_explained(tmp_path):
    target = copy_lessons(LESSONS, tmp_path / "lessons", suffixes=(".py",))
    notebook = target / "01_mnist_data.ipynb"
    notebook.write_bytes((SOLUTIONS / "01_mnist_data.ipynb").read_bytes())
    later = time.time() + 5
    os.utime(notebook, (later, later))
    run = run_graders(target, "-k", "01")
    assert run.returncode == 0, run.output
    assert {outcome for outcome, _ in run.results.values()} == {"passed"}

    notebook.write_text('{"cells": [ {"cell_type": "code", "sour')
    os.utime(notebook, (later, later))
    run = run_graders(target, "-k", "01")
    assert run.returncode == 5, run.output  # the readable .py twin holds only stubs
    assert "01_mnist_data  (graded: 01_mnist_data.py)" in run.output
    assert (
        "01_mnist_data.ipynb could not be read" in run.output and "its twin 01_mnist_data.py was graded" in run.output
    )


def test_an_unknown_target_is_a_usage_error(tmp_path):
    run_dir = tmp_path / "nowhere"
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/graders", "--target", str(run_dir)],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert completed.returncode == 4
    assert "no such folder" in completed.stderr
