"""`cnn-course grade` end to end: lessons generated from the masters, a batch of synthetic submissions, every export.

The batch holds a correct submission and one for each way a submission goes wrong; each must get
exactly the marks it earned, the right status and a clear reason for the rest, and the batch must
finish in bounded time. The saved model the correct submissions hand in is trained once, here,
with the reference recipe (`cnn-course train mnist`, about 40 s on two cores).
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import jsonschema
import pytest

from cnn_course.authoring.assign import OPTIONAL

from .conftest import REPO, SOLUTIONS, needs_data
from .test_grader_outcomes import snapshot

pytestmark = needs_data()

MODEL_FILES = ("mnist_cnn.keras", "mnist_cnn_history.json")
POINTS = {
    "count_per_class": 1,
    "scale_images": 1,
    "add_channel_axis": 1,
    "one_hot": 1,
    "split_train_validation": 1,
    "conv_output_size": 1,
    "conv2d_param_count": 1,
    "build_mnist_cnn": 2,
    "compile_classifier": 1,
    "train_classifier": 2,
    "predict_labels": 1,
    "confusion_counts": 1,
    "trained_mnist_cnn": 5,
}  # most_confident_mistakes (and any later lesson's exercises) are left unassigned
FULL = sum(POINTS.values())
LESSON_01 = ["count_per_class", "scale_images", "add_channel_axis", "one_hot", "split_train_validation"]
LESSON_02 = ["conv_output_size", "conv2d_param_count", "build_mnist_cnn", "compile_classifier"]
# The hidden tests' code and expected values (tests/hidden): none of it may reach an export.
HIDDEN_LITERALS = ["[1, 0, 2, 0]", "num_classes=4", "np.full", "allclose", "[[0.0, 1.0, 0.0]", "tolist()", "assert "]
COURSE_TOML = f"""\
solutions = "{SOLUTIONS}"
graders = "{REPO / "tests" / "graders"}"
hidden-tests = "{REPO / "tests" / "hidden"}"
submission-time-limit = 240

[exercises]
""" + "\n".join(
    f"{name} = {{ points = {points}, time-limit = 3 }}" if name == "one_hot" else f"{name} = {points}"
    for name, points in POINTS.items()
)


def cnn_course(*args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    """Run `cnn-course ARGS` from the repository root."""
    return subprocess.run(
        [sys.executable, "-m", "cnn_course.commands.cli", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def edit(path: Path, old: str, new: str) -> None:
    """Replace the exact text `old` (which must be there) by `new` in a lesson file."""
    text = path.read_text()
    assert old in text, f"{path.name} changed: update this test's edit"
    path.write_text(text.replace(old, new, 1))


def lessons_from(source: Path, destination: Path, models: Path | None) -> Path:
    """A learner's lessons folder: the .py notebooks of `source`, and the saved models if given."""
    destination.mkdir(parents=True)
    for path in sorted(source.glob("[0-9][0-9]_*.py")):
        shutil.copy2(path, destination / path.name)
    if models is not None:
        shutil.copytree(models, destination / "models")
    return destination


def zip_folder(folder: Path, archive: Path, prefix: str) -> Path:
    """Zip every file of `folder` under the folder name `prefix`, as a learner's 'compress folder' would."""
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                bundle.write(path, f"{prefix}/{path.relative_to(folder)}")
    return archive


@pytest.fixture(scope="module")
def trained_models(tmp_path_factory) -> Path:
    """A models/ folder as lesson 3 leaves it: the reference recipe's model (>= 99 %) and its history."""
    run = tmp_path_factory.mktemp("train")
    completed = cnn_course("train", "mnist", "--out", str(run))
    assert completed.returncode == 0, completed.stderr[-3000:]
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["test_accuracy"] >= 0.99, f"the reference recipe reached only {metrics['test_accuracy']:.2%}"
    models = run / "models"
    models.mkdir()
    shutil.copy2(run / "model.keras", models / MODEL_FILES[0])
    (models / MODEL_FILES[1]).write_text(json.dumps({"val_accuracy": [metrics["final_val_accuracy"]]}))
    return models


@pytest.fixture(scope="module")
def batch(tmp_path_factory, trained_models):
    """Generate lessons, build the submissions, grade them in one batch; return what the test looks at."""
    root = tmp_path_factory.mktemp("course")
    config = root / "course.toml"
    config.write_text(COURSE_TOML)
    lessons = root / "lessons"
    assigned = cnn_course("assign", "--config", str(config), "--lessons", str(lessons))
    assert assigned.returncode == 0, assigned.stderr

    subs = root / "submissions"
    subs.mkdir()
    lessons_from(SOLUTIONS, subs / "all_correct", trained_models)

    partial = lessons_from(lessons, root / "partial", None)  # lesson 01 done (with a slip), 02 and 03 untouched
    shutil.copy2(SOLUTIONS / "01_mnist_data.py", partial / "01_mnist_data.py")
    edit(
        partial / "01_mnist_data.py", "np.bincount(labels, minlength=num_classes)", "np.bincount(labels, minlength=10)"
    )
    zip_folder(partial, subs / "partial.zip", "partial")

    raising = lessons_from(SOLUTIONS, subs / "raising", trained_models)
    edit(
        raising / "01_mnist_data.py",
        'return images.astype("float32") / 255.0',
        'raise ValueError("pixels must be uint8")',
    )

    looping = lessons_from(SOLUTIONS, subs / "infinite_loop", trained_models)
    edit(
        looping / "01_mnist_data.py",
        "return keras.utils.to_categorical(labels, num_classes=num_classes)",
        "while True:\n        pass",
    )

    corrupt = lessons_from(SOLUTIONS, subs / "corrupt_ipynb", trained_models)
    (corrupt / "02_mnist_cnn.ipynb").write_text('{"cells": [{"cell_type": "code", "sour')  # saved last, so graded

    lessons_from(SOLUTIONS, subs / "missing_model", None)

    tampered = subs / "tampered"  # a whole course clone, whose graders were edited to pass everything
    lessons_from(SOLUTIONS, tampered / "lessons", trained_models)
    edit(
        tampered / "lessons" / "01_mnist_data.py",
        'return images.astype("float32") / 255.0',
        'return images.astype("float32")',
    )
    (tampered / "tests" / "graders").mkdir(parents=True)
    for grader in (REPO / "tests" / "graders").glob("test_*.py"):
        (tampered / "tests" / "graders" / grader.name).write_text("def test_everything():\n    assert True\n")
    (tampered / "conftest.py").write_text(
        "import pytest\n\n@pytest.fixture(autouse=True)\ndef _pass(): pytest.skip('tampered')\n"
    )
    shutil.copy2(tampered / "conftest.py", tampered / "lessons" / "conftest.py")

    submissions = sorted(subs.iterdir())
    before = {path: snapshot(path) for path in submissions if path.is_dir()}
    out = root / "grades"
    started = time.monotonic()
    graded = cnn_course(
        "grade", *map(str, submissions), "--config", str(config), "--out", str(out), "--jobs", "2", "--html"
    )
    seconds = time.monotonic() - started
    assert graded.returncode == 0, graded.stdout + graded.stderr
    return {
        "root": root,
        "lessons": lessons,
        "out": out,
        "seconds": seconds,
        "stdout": graded.stdout,
        "untouched": all(snapshot(path) == files for path, files in before.items()),
        "json": json.loads((out / "grades.json").read_text()),
    }


def by_learner(batch) -> dict[str, dict]:
    """The JSON export's submissions by learner, each with its exercises by name."""
    found = {}
    for submission in batch["json"]["submissions"]:
        found[submission["learner"]] = {**submission, "exercises": {e["exercise"]: e for e in submission["exercises"]}}
    return found


def test_generated_lessons_mark_the_unassigned_exercise_optional(batch):
    text = (batch["lessons"] / "03_mnist_training.py").read_text()
    assert f"The most confident mistakes {OPTIONAL}" in text
    assert f"# {OPTIONAL}: this exercise is not part of the graded assignment.\ndef most_confident_mistakes" in text
    assert text.count(OPTIONAL) == 2
    assert OPTIONAL not in (batch["lessons"] / "01_mnist_data.py").read_text()


def test_every_submission_is_graded_on_the_assigned_exercises_only(batch):
    learners = by_learner(batch)
    assert sorted(learners) == [
        "all_correct",
        "corrupt_ipynb",
        "infinite_loop",
        "missing_model",
        "partial",
        "raising",
        "tampered",
    ]
    for submission in learners.values():
        assert list(submission["exercises"]) == list(POINTS)
        assert submission["max_total"] == FULL
        assert submission["run"] == "completed", submission["note"]
        assert [e["max_points"] for e in submission["exercises"].values()] == list(POINTS.values())


# learner -> (total points, {exercise: (status, text the message must contain)}); every other exercise passes.
EXPECTED = {
    "all_correct": (FULL, {}),
    "partial": (
        4,
        {
            "count_per_class": (
                "failed",
                "count_per_class: fails a hidden test: count_per_class works for any num_classes, not only 10.",
            ),
            **{
                name: ("not attempted", "not attempted yet")
                for name in [*LESSON_02, "train_classifier", "predict_labels", "confusion_counts"]
            },
            "trained_mnist_cnn": ("not attempted", "no saved model at"),
        },
    ),
    "raising": (FULL - 1, {"scale_images": ("error", "scale_images: raised ValueError: pixels must be uint8")}),
    "infinite_loop": (FULL - 1, {"one_hot": ("timeout", "one_hot: did not finish within 3 s and was stopped")}),
    "corrupt_ipynb": (FULL, {}),  # its readable .py twin is graded instead
    "missing_model": (FULL - 5, {"trained_mnist_cnn": ("not attempted", "Run lesson 03_mnist_training to the end")}),
    "tampered": (FULL - 1, {"scale_images": ("failed", "divide by 255")}),
}


@pytest.mark.parametrize("learner", sorted(EXPECTED))
def test_each_submission_gets_exactly_its_marks_status_and_reason(batch, learner):
    total, problems = EXPECTED[learner]
    submission = by_learner(batch)[learner]
    for name, result in submission["exercises"].items():
        status, reason = problems.get(name, ("passed", ""))
        assert (result["status"], result["points"]) == (status, POINTS[name] if status == "passed" else 0), (
            name,
            result,
        )
        assert reason in result["message"], (name, result["message"])
        assert "Traceback" not in result["message"]
    assert submission["total"] == total


def test_the_csv_gradebook_has_one_row_per_learner_with_exact_points(batch):
    with open(batch["out"] / "gradebook.csv", newline="") as handle:
        rows = {row["learner"]: row for row in csv.DictReader(handle)}
    assert sorted(rows) == sorted(EXPECTED)
    for learner, (total, problems) in EXPECTED.items():
        row = rows[learner]
        assert (row["total"], row["max_total"]) == (str(total), str(FULL))
        for name, points in POINTS.items():
            status = problems.get(name, ("passed",))[0]
            assert row[f"{name} status"] == status
            assert row[name] == str(points if status == "passed" else 0)
    with open(batch["out"] / "results.csv", newline="") as handle:
        long_rows = list(csv.DictReader(handle))
    assert len(long_rows) == len(EXPECTED) * len(POINTS)


def test_gradescope_results_follow_the_autograder_format(batch):
    validator = jsonschema.Draft202012Validator(
        json.loads((REPO / "templates" / "gradescope" / "results.schema.json").read_text())
    )
    for learner, (total, problems) in EXPECTED.items():
        results = json.loads((batch["out"] / "gradescope" / learner / "results.json").read_text())
        assert not list(validator.iter_errors(results)) and isinstance(results["execution_time"], int)
        assert sum(test["score"] for test in results["tests"]) == results.get("score", total) == total
        public = {t["name"].split(" · ")[1]: t for t in results["tests"] if t["name"].endswith(" · public tests")}
        graded = [t for t in results["tests"] if not t["name"].endswith(" · public tests")]
        assert [t["name"].split(" · ")[1] for t in graded] == list(POINTS)
        for test in graded:
            name = test["name"].split(" · ")[1]
            passed = name not in problems
            assert test["status"] == ("passed" if passed else "failed")
            assert (test["score"], test["max_score"]) == (POINTS[name] if passed else 0, POINTS[name])
            assert test["visibility"] == ("after_published" if name in public else "visible")
            assert name not in public or (public[name]["visibility"], public[name]["max_score"]) == ("visible", 0)


def test_hidden_tests_name_the_property_and_never_leak_code_or_values(batch):
    exported = [p for p in batch["out"].rglob("*") if p.is_file() and p.suffix != ".png" and "logs" not in p.parts]
    assert len(exported) >= 3 + 7 * 3
    for path in exported:
        text = path.read_text()
        leaked = [literal for literal in HIDDEN_LITERALS if literal in text]
        assert not leaked, f"{path.relative_to(batch['out'])} shows hidden test details: {leaked}"
    scale = by_learner(batch)["tampered"]["exercises"]["scale_images"]["message"]
    assert "fails a hidden test: scale_images scales a single 2-D image as well as a batch." in scale


def test_feedback_reports_and_the_cohort_summary(batch):
    out = batch["out"]
    report = (out / "feedback" / "raising.md").read_text()
    assert "**Score: 18 / 19 points (95%)**" in report
    assert "### `scale_images` (01_mnist_data): error" in report and "pixels must be uint8" in report
    assert "<h1>Feedback for raising</h1>" in (out / "feedback" / "raising.html").read_text()
    summary = (out / "summary.md").read_text()
    assert "7 submissions, out of 19 points" in summary
    assert "| `trained_mnist_cnn` | 71% | 5 | 2 | 0 | 0 | 0 | 0 |" in summary
    assert "- `scale_images`" in summary and "1 × scale_images: raised ValueError: pixels must be uint8" in summary
    assert (out / "score_histogram.png").read_bytes().startswith(b"\x89PNG")


def test_the_batch_reports_progress_finishes_in_bounded_time_and_writes_no_submission(batch):
    lines = [line for line in batch["stdout"].splitlines() if line.startswith("[")]
    assert len(lines) == 7 and lines[-1].startswith("[7/7] ")
    assert "\r" not in batch["stdout"]
    assert batch["seconds"] < 240, f"the batch took {batch['seconds']:.0f} s"
    assert batch["untouched"]
