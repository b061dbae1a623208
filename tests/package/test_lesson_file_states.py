"""Lesson files in unusual states: each gets a message that says what happened and what to do."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import jupytext
import keras
import nbformat
import pytest

from .conftest import LESSONS, REPO, SOLUTIONS, copy_lessons, run_graders


def _cell_defining(notebook, name):
    return next(cell for cell in notebook.cells if f"def {name}(" in cell.source)


@pytest.fixture(scope="module")
def states_run(tmp_path_factory):
    target = copy_lessons(LESSONS, tmp_path_factory.mktemp("states") / "lessons")
    # 01: an exercise defined twice (the later a stub), one turned into Markdown, one needing an untagged
    # cell's import, and one whose signature was changed.
    notebook = jupytext.read(SOLUTIONS / "01_mnist_data.py")
    counting = _cell_defining(notebook, "count_per_class")
    stub = nbformat.v4.new_code_cell(
        "def count_per_class(labels, num_classes=10):\n    raise NotImplementedError", metadata={"tags": ["exercise"]}
    )
    notebook.cells.insert(notebook.cells.index(counting) + 1, stub)
    _cell_defining(notebook, "scale_images").cell_type = "markdown"
    channel = _cell_defining(notebook, "add_channel_axis")
    channel.source = channel.source.replace("np.newaxis", "helper_axis").replace("np.expand_dims", "helper_expand")
    notebook.cells.insert(
        notebook.cells.index(channel), nbformat.v4.new_code_cell("helper_axis = None\nhelper_expand = None")
    )
    one_hot = _cell_defining(notebook, "one_hot")
    one_hot.source = one_hot.source.replace(
        "def one_hot(labels: np.ndarray, num_classes: int = 10)", "def one_hot(labels)"
    )
    jupytext.write(notebook, target / "01_mnist_data.py", fmt="py:percent")
    # 02: the .py (older) holds solutions, the .ipynb (newer) the stubs.
    (target / "02_mnist_cnn.py").write_text((SOLUTIONS / "02_mnist_cnn.py").read_text())
    (target / "02_mnist_cnn.ipynb").write_bytes((LESSONS / "02_mnist_cnn.ipynb").read_bytes())
    later = time.time() + 10
    os.utime(target / "02_mnist_cnn.ipynb", (later, later))
    # 04: the newer .ipynb was saved with a UTF-8 byte-order mark.
    (target / "04_cifar10_data.ipynb").write_bytes(b"\xef\xbb\xbf" + (SOLUTIONS / "04_cifar10_data.ipynb").read_bytes())
    os.utime(target / "04_cifar10_data.ipynb", (later, later))
    # Saved models: an HDF5 file named .keras, and a model holding a Lambda layer.
    models = target / "models"
    models.mkdir()
    (models / "mnist_cnn.keras").write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(100))
    lambda_model = keras.Sequential(
        [
            keras.Input((32, 32, 3)),
            keras.layers.Lambda(lambda x: x / 255.0),
            keras.layers.Flatten(),
            keras.layers.Dense(10),
        ]
    )
    lambda_model.save(models / "cifar10_cnn.keras")
    return run_graders(target, "-k", "01 or 02 or 04 or saved_model", timeout=900)


def message_of(run, test):
    return run.results[test][1]


def test_an_exercise_defined_twice_names_both_cells(states_run):
    message = message_of(states_run, "test_count_per_class")
    assert "defined in 2 exercise cells" in message and "the last one is graded" in message


def test_an_exercise_cell_turned_into_markdown_says_so(states_run):
    assert "is a Markdown cell" in message_of(states_run, "test_scale_images")


def test_a_name_from_an_untagged_cell_is_traced_to_that_cell(states_run):
    message = message_of(states_run, "test_add_channel_axis")
    assert "a cell without the exercise or setup tag" in message and "Move that line" in message


def test_a_changed_signature_is_shown_next_to_the_call(states_run):
    message = message_of(states_run, "test_one_hot")
    assert "your function is `one_hot(labels)" in message and "Keep the signature" in message


def test_a_diverged_pair_names_the_differing_exercises_and_the_fix(states_run):
    outcome, message = states_run.results["test_build_mnist_cnn"]
    assert outcome == "skipped"
    assert "02_mnist_cnn.py holds different code for" in message and "cnn-course sync 02_mnist_cnn" in message
    assert "(graded: 02_mnist_cnn.ipynb)" in states_run.output


def test_a_notebook_saved_with_a_byte_order_mark_is_graded(states_run):
    assert states_run.results["test_channel_mean_std"][0] == "passed"
    assert "(graded: 04_cifar10_data.ipynb)" in states_run.output


def test_a_saved_model_in_the_wrong_format_says_what_to_do(states_run):
    message = message_of(states_run, "test_saved_model_reaches_99_percent_on_the_test_set")
    assert "is an HDF5 file" in message and "model.save('models/mnist_cnn.keras')" in message


def test_a_saved_model_with_a_lambda_layer_says_what_to_use_instead(states_run):
    message = message_of(states_run, "test_saved_model_reaches_75_percent_on_the_test_set")
    assert "Lambda layer" in message and "Rescaling" in message and "safe_mode" not in message


def test_no_message_shows_a_traceback_or_a_path_into_the_package(states_run):
    for _outcome, message in states_run.results.values():
        assert "Traceback" not in message and str(REPO) not in message


def test_an_unknown_exercise_name_is_a_usage_error():
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/graders", "--target", "solutions", "--exercises", "scale_imagez"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.returncode == 4
    assert "no grader for scale_imagez" in completed.stderr and "scale_images" in completed.stderr
