"""--execute-lessons reruns a training lesson only when its saved model is missing or older than the lesson."""

import os
import time

import pytest

from cnn_course.checks import ExerciseError
from cnn_course.grading.saved_models import SavedModels
from cnn_course.grading.snapshot import FolderSnapshot

LESSON = """# %%
from pathlib import Path
Path("models").mkdir(exist_ok=True)
runs = Path("runs.txt")
runs.write_text(runs.read_text() + "x" if runs.exists() else "x")
Path("models/model.keras").write_text("weights")
"""


@pytest.fixture
def course(tmp_path):
    (tmp_path / "course").mkdir()
    return tmp_path / "course"


def saved(folder, execute):
    """SavedModels reading the grader's copy of `folder`, made next to it."""
    return SavedModels(FolderSnapshot(folder, folder.parent), execute=execute)


def runs(folder):
    return len((folder / "runs.txt").read_text()) if (folder / "runs.txt").exists() else 0


def test_a_missing_model_is_trained_and_a_fresh_one_is_reused(course):
    (course / "05_train.py").write_text(LESSON)
    models = saved(course, execute=True)
    assert models.path("model.keras", saved_by="05_train") == models.snapshot.copy / "models" / "model.keras"
    assert (models.snapshot.copy / "models" / "model.keras").read_text() == "weights", "what the run saved is graded"
    assert runs(course) == 1
    saved(course, execute=True).path("model.keras", saved_by="05_train")
    assert runs(course) == 1, "a model newer than its lesson is graded as it is"


def test_a_model_older_than_its_lesson_is_trained_again(course):
    (course / "05_train.py").write_text(LESSON)
    saved(course, execute=True).path("model.keras", saved_by="05_train")
    later = time.time() + 5
    os.utime(course / "05_train.py", (later, later))
    saved(course, execute=True).path("model.keras", saved_by="05_train")
    assert runs(course) == 2


def test_without_execute_nothing_runs(course):
    (course / "05_train.py").write_text(LESSON)
    saved(course, execute=False).path("model.keras", saved_by="05_train")
    assert runs(course) == 0


def test_a_lesson_that_fails_is_reported_once_per_grader(course):
    (course / "05_train.py").write_text("# %%\nraise RuntimeError('out of memory in cell one')\n")
    models = saved(course, execute=True)
    for _ in range(2):
        with pytest.raises(ExerciseError, match="out of memory in cell one"):
            models.path("model.keras", saved_by="05_train")
