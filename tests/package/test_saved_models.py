"""--execute-lessons reruns a training lesson only when its saved model is missing or older than the lesson."""

import os
import time

import pytest

from cnn_course.checks import ExerciseError
from cnn_course.grading.plugin import SavedModels

LESSON = """# %%
from pathlib import Path
Path("models").mkdir(exist_ok=True)
runs = Path("runs.txt")
runs.write_text(runs.read_text() + "x" if runs.exists() else "x")
Path("models/model.keras").write_text("weights")
"""


def runs(folder):
    return len((folder / "runs.txt").read_text()) if (folder / "runs.txt").exists() else 0


def test_a_missing_model_is_trained_and_a_fresh_one_is_reused(tmp_path):
    (tmp_path / "05_train.py").write_text(LESSON)
    assert SavedModels(tmp_path, execute=True).path("model.keras", saved_by="05_train") == tmp_path / "models" / "model.keras"
    assert runs(tmp_path) == 1
    SavedModels(tmp_path, execute=True).path("model.keras", saved_by="05_train")
    assert runs(tmp_path) == 1, "a model newer than its lesson is graded as it is"


def test_a_model_older_than_its_lesson_is_trained_again(tmp_path):
    (tmp_path / "05_train.py").write_text(LESSON)
    SavedModels(tmp_path, execute=True).path("model.keras", saved_by="05_train")
    later = time.time() + 5
    os.utime(tmp_path / "05_train.py", (later, later))
    SavedModels(tmp_path, execute=True).path("model.keras", saved_by="05_train")
    assert runs(tmp_path) == 2


def test_without_execute_nothing_runs(tmp_path):
    (tmp_path / "05_train.py").write_text(LESSON)
    SavedModels(tmp_path, execute=False).path("model.keras", saved_by="05_train")
    assert runs(tmp_path) == 0


def test_a_lesson_that_fails_is_reported_once_per_grader(tmp_path):
    (tmp_path / "05_train.py").write_text("# %%\nraise RuntimeError('out of memory in cell one')\n")
    models = SavedModels(tmp_path, execute=True)
    for _ in range(2):
        with pytest.raises(ExerciseError, match="out of memory in cell one"):
            models.path("model.keras", saved_by="05_train")
