"""The learner's first hour: each small slip that used to leave them guessing gets a message that names
what is there and what to do."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import jupytext
import keras
import numpy as np
import pytest

from cnn_course.checks.calls import call_exercise
from cnn_course.checks.feedback import CheckFailed, ExerciseError, NotAttempted, keras_error_hint
from cnn_course.checks.saved_models import check_model_accuracy, load_saved_model
from cnn_course.grading.messages import error_message

from .conftest import LESSONS, REPO, copy_lessons, run_graders

CHANNEL_AXIS = "lesson 1's add_channel_axis turns (N, 28, 28) into (N, 28, 28, 1)"


def conv_without_channel_axis() -> keras.Model:
    return keras.Sequential([keras.Input((28, 28)), keras.layers.Conv2D(8, 3)])


def test_keras_s_missing_channel_axis_error_gets_the_course_s_hint_in_the_lesson_and_in_the_grader():
    with pytest.raises(ValueError, match="expected min_ndim=4, found ndim=3") as raised:
        conv_without_channel_axis()
    assert CHANNEL_AXIS in keras_error_hint(str(raised.value))
    from_learner_process = {"type": "ValueError", "message": str(raised.value)}
    assert CHANNEL_AXIS in error_message(from_learner_process)
    with pytest.raises(ExerciseError, match="add_channel_axis") as failed:  # self_check, in the lesson's own process
        call_exercise(conv_without_channel_axis)
    assert "expected min_ndim=4" in str(failed.value)
    assert keras_error_hint("ValueError: could not broadcast input array from shape (3,) into shape (2,)") == ""


def test_a_saved_model_without_the_channel_axis_is_told_so():
    layers = [keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")]
    model = keras.Sequential([keras.Input((28, 28)), *layers])
    with pytest.raises(CheckFailed, match=r"shape \(28, 28\), without the channel axis") as failed:
        check_model_accuracy("trained_mnist_cnn", model, np.zeros((4, 28, 28, 1), "float32"), np.zeros(4, int), 0.99)
    assert CHANNEL_AXIS in str(failed.value)


def test_a_savedmodel_folder_beside_the_missing_keras_file_is_named(tmp_path):
    (tmp_path / "mnist_cnn").mkdir()
    (tmp_path / "mnist_cnn" / "saved_model.pb").write_bytes(b"")
    with pytest.raises((CheckFailed, NotAttempted)) as failed:  # NotAttempted: the folder went unnoticed
        load_saved_model("trained_mnist_cnn", tmp_path / "mnist_cnn.keras", "03_mnist_training")
    found = "no saved model at models/mnist_cnn.keras, but there is models/mnist_cnn/ (a TensorFlow SavedModel"
    assert found in str(failed.value)
    assert "model.save('models/mnist_cnn.keras')" in str(failed.value)


def test_models_saved_as_h5_or_in_the_course_folder_are_found_and_named(tmp_path):
    course = tmp_path / "course"
    lessons = copy_lessons(LESSONS, course / "lessons")
    (lessons / "models").mkdir()
    (lessons / "models" / "cifar10_cnn.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(100))
    (course / "models").mkdir()  # lesson 3 run with the course folder as its working folder
    (course / "models" / "mnist_cnn.keras").write_bytes(b"PK")

    run = run_graders(lessons, "-k", "saved_model_reaches")

    mnist = next(message for name, (_, message) in run.results.items() if "99_percent" in name)
    cifar = next(message for name, (_, message) in run.results.items() if "75_percent" in name)
    assert f"there is one in {course / 'models'}" in mnist, mnist
    assert "Move it to lessons/models/mnist_cnn.keras" in mnist
    assert "run the lesson from lessons/" in mnist
    assert "no saved model at models/cifar10_cnn.keras, but there is models/cifar10_cnn.h5 (the legacy" in cifar, cifar
    assert "keras.models.load_model('models/cifar10_cnn.h5').save('models/cifar10_cnn.keras')" in cifar


def pytest_in(folder: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_pytest_run_inside_lessons_grades_as_from_the_course_folder():
    completed = pytest_in(LESSONS, "-k", "count_per_class")
    assert "collected 0 items" not in completed.stdout, completed.stdout[-2000:]
    assert "pytest ran inside" in completed.stdout and "count_per_class" in completed.stdout, completed.stdout[-2000:]
    assert "cnn-course scoreboard" in completed.stdout


def test_pytest_run_where_it_finds_no_grader_says_where_to_run_it():
    completed = pytest_in(REPO / "templates")
    assert completed.returncode == 5
    assert f"Run it from the course folder, {REPO}" in completed.stdout, completed.stdout[-2000:]


def test_the_next_step_never_asks_for_work_the_other_file_of_the_pair_holds(tmp_path):
    lessons = copy_lessons(LESSONS, tmp_path / "lessons", (".py", ".ipynb"))
    py, ipynb = lessons / "01_mnist_data.py", lessons / "01_mnist_data.ipynb"
    notebook = jupytext.read(py)
    cell = next(c for c in notebook.cells if c.cell_type == "code" and "def scale_images(" in c.source)
    cell.source = 'def scale_images(images):\n    return images.astype("float32") / 255.0'
    jupytext.write(notebook, py)
    later = time.time() + 5
    os.utime(ipynb, (later, later))  # the stub in the .ipynb, saved last, is what is graded

    run = run_graders(lessons, "-k", "scale_images")

    assert "write `scale_images`" not in run.output, run.output[-2000:]
    differ = "next: the two files of lesson 01_mnist_data (.py and .ipynb) hold different code for `scale_images`"
    assert differ in run.output
    assert "Run `cnn-course sync 01_mnist_data`" in run.output


def test_a_renamed_copy_beside_the_lesson_is_named_in_the_notes(tmp_path):
    from cnn_course.grading.lesson import choose_lesson_file

    for name in ("01_mnist_data.py", "01_mnist_data.ipynb"):
        shutil.copy2(LESSONS / name, tmp_path / name)
    shutil.copy2(LESSONS / "01_mnist_data.ipynb", tmp_path / "01_mnist_data (1).ipynb")
    graded, notes = choose_lesson_file(tmp_path, "01_mnist_data")
    assert graded.path.parent == tmp_path and graded.path.stem == "01_mnist_data"
    [note] = [note for note in notes if "01_mnist_data (1).ipynb is also here" in note]
    assert "rename it to 01_mnist_data.ipynb" in note
