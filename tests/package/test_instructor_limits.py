"""`cnn-course grade` under its limits: a hang no exercise timer can stop, a crash, a memory hog, bad zips.

Each submission keeps the marks it earned before things went wrong and gets a reason for the rest;
the batch goes on and stays within its wall-clock bound. Only lesson 01 is assigned, so each
grading run is short.
"""

from __future__ import annotations

import json
import time
import zipfile

import pytest

from .conftest import REPO, SOLUTIONS, needs_data
from .test_instructor_grading import LESSON_01, cnn_course, edit, lessons_from, zip_folder

pytestmark = needs_data()

TIME_LIMIT_S = 40
COURSE_TOML = f"""\
graders = "{REPO / "tests" / "graders"}"
hidden-tests = "{REPO / "tests" / "hidden"}"
submission-time-limit = {TIME_LIMIT_S}
memory-limit = 4

[exercises]
count_per_class = 1
scale_images = {{ points = 1, time-limit = 3 }}
add_channel_axis = 1
one_hot = 1
split_train_validation = 1
"""
SCALE = 'return images.astype("float32") / 255.0'
# Catches the timer's exception each time it fires, so only the wall-clock limit can stop it.
STUBBORN_LOOP = (
    "while True:\n        try:\n            while True:\n                pass\n"
    "        except BaseException:\n            pass"
)


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    root = tmp_path_factory.mktemp("limits")
    (root / "course.toml").write_text(COURSE_TOML)
    subs = root / "submissions"
    subs.mkdir()
    edit(lessons_from(SOLUTIONS, subs / "hangs", None) / "01_mnist_data.py", SCALE, STUBBORN_LOOP)
    edit(
        lessons_from(SOLUTIONS, subs / "segfault", None) / "01_mnist_data.py",
        "return keras.utils.to_categorical(labels, num_classes=num_classes)",
        "import ctypes\n    return ctypes.string_at(0)",
    )
    edit(
        lessons_from(SOLUTIONS, subs / "memory_hog", None) / "01_mnist_data.py",
        "return np.expand_dims(images, axis=-1)",
        "pairs = np.ones((6 * 2**30 // 8,))  # 6 GiB, over the 4 GiB limit\n    return np.expand_dims(images, axis=-1)",
    )
    course = lessons_from(SOLUTIONS, root / "course-main" / "lessons", None).parent
    zip_folder(course, subs / "nested.zip", "course-main")
    with zipfile.ZipFile(subs / "unsafe.zip", "w") as bundle:
        bundle.writestr("01_mnist_data.py", (SOLUTIONS / "01_mnist_data.py").read_text())
        bundle.writestr("../outside.py", "print('escaped')\n")
    (subs / "empty").mkdir()
    started = time.monotonic()
    graded = cnn_course(
        "grade",
        *map(str, sorted(subs.iterdir())),
        "--config",
        str(root / "course.toml"),
        "--out",
        str(root / "out"),
        "--jobs",
        "2",
    )
    seconds = time.monotonic() - started
    assert graded.returncode == 0, graded.stdout + graded.stderr
    document = json.loads((root / "out" / "grades.json").read_text())
    results = {
        s["learner"]: {**s, "exercises": {e["exercise"]: e for e in s["exercises"]}} for s in document["submissions"]
    }
    return results, seconds, root


def statuses(submission: dict) -> dict[str, str]:
    return {name: result["status"] for name, result in submission["exercises"].items()}


def test_a_hang_that_swallows_the_exercise_timer_is_stopped_from_outside_and_the_rest_graded(batch):
    results, _, _ = batch
    hangs = results["hangs"]
    assert hangs["run"] == "completed" and hangs["total"] == 4
    assert statuses(hangs) == {**{name: "passed" for name in LESSON_01}, "scale_images": "timeout"}
    assert "stopped from outside" in hangs["exercises"]["scale_images"]["message"]


def test_a_crash_costs_only_the_exercise_that_crashed(batch):
    results, _, _ = batch
    crashed = results["segfault"]
    assert crashed["run"] == "completed" and crashed["total"] == 4
    assert statuses(crashed) == {**{name: "passed" for name in LESSON_01}, "one_hot": "error"}
    assert "killed by SIGSEGV" in crashed["exercises"]["one_hot"]["message"]


def test_the_memory_limit_stops_a_memory_hog_with_a_reason(batch):
    results, _, _ = batch
    hog = results["memory_hog"]
    assert hog["run"] == "completed" and hog["total"] == 4
    assert hog["exercises"]["add_channel_axis"]["status"] == "error"
    assert "ran out of memory (MemoryError)" in hog["exercises"]["add_channel_axis"]["message"]


def test_zips_are_accepted_nested_and_refused_when_unsafe(batch):
    results, _, root = batch
    assert results["nested"]["total"] == 5 and results["nested"]["run"] == "completed"
    unsafe = results["unsafe"]
    assert unsafe["run"] == "rejected" and unsafe["total"] == 0
    assert set(statuses(unsafe).values()) == {"error"}
    assert "an entry outside its own folder (../outside.py)" in unsafe["exercises"]["one_hot"]["message"]
    assert not (root / "outside.py").exists() and not (root / "submissions" / "outside.py").exists()
    assert "no lesson notebooks" in results["empty"]["note"]


def test_the_batch_stays_within_its_bound(batch):
    _, seconds, _ = batch
    # six submissions, two at a time; only one of them may use the whole limit
    assert seconds < TIME_LIMIT_S + 120, f"the batch took {seconds:.0f} s"
