"""The Gradescope autograder: the zip `cnn-course assign --gradescope` builds, results.json against Gradescope's
documented format (templates/gradescope/results.schema.json), and run_autograder's last step, which a
submission's files in /autograder/results cannot change. The zip run in a stand-in of Gradescope's container:
benchmarks/gradescope_standin.py (root, debootstrap, minutes)."""

from __future__ import annotations

import json
import stat
import zipfile
from pathlib import Path

import jsonschema
import pytest

from cnn_course.authoring.course_config import CourseConfigError, load_config, parse_config
from cnn_course.commands.cli import main
from cnn_course.commands.gradescope import RUN_AUTOGRADER, SETUP_SH, results_document, write_autograder, write_results
from cnn_course.gradebook.exports import gradescope_results
from cnn_course.gradebook.records import Assignment, write_assignment, write_record
from cnn_course.gradebook.results import ExerciseResult, SubmissionResult
from cnn_course.status import Status

REPO = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((REPO / "templates" / "gradescope" / "results.schema.json").read_text(encoding="utf-8"))
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
HIDDEN_FAILURE = "one_hot: fails a hidden test: one_hot works for any num_classes, not only 10."


def _result(hidden: str | None = None) -> SubmissionResult:
    message = "\n".join(filter(None, ["one_hot: a public check's message.", hidden]))
    return SubmissionResult(
        "submission",
        "/autograder/submission",
        [
            ExerciseResult("01_mnist_data", "scale_images", 1.0, 1.0, Status.PASSED),
            ExerciseResult("01_mnist_data", "one_hot", 0.0, 2.0, Status.FAILED, message, hidden=hidden),
        ],
        seconds=41.6,
    )


def test_the_templates_are_what_the_builder_writes():
    folder = REPO / "templates" / "gradescope"
    assert (folder / "setup.sh").read_text(encoding="utf-8") == SETUP_SH
    assert (folder / "run_autograder").read_text(encoding="utf-8") == RUN_AUTOGRADER.format(config="")
    assert all((folder / name).stat().st_mode & stat.S_IXUSR for name in ("setup.sh", "run_autograder"))


def test_the_zip_holds_the_course_graders_hidden_tests_and_data_but_no_solutions(tmp_path):
    data = tmp_path / "data"
    (data / "mnist").mkdir(parents=True)
    (data / "cifar-10-batches-py").mkdir()
    for name in (
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    ):
        (data / "mnist" / name).write_bytes(b"x")
    for name in ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch"):
        (data / "cifar-10-batches-py" / name).write_bytes(b"x")
    report = write_autograder(REPO, load_config(REPO), tmp_path / "autograder.zip", data)
    with zipfile.ZipFile(report.path) as archive:
        names = set(archive.namelist())
        modes = {info.filename: info.external_attr >> 16 for info in archive.infolist()}
    assert {"setup.sh", "run_autograder", "pyproject.toml", "README.md", "cnn_course/commands/gradescope.py"} <= names
    assert modes["run_autograder"] & stat.S_IXUSR and modes["setup.sh"] & stat.S_IXUSR
    assert {
        "tests/graders/test_01_mnist_data.py",
        "tests/hidden/test_hidden_01_mnist_data.py",
        "data/mnist/t10k-images-idx3-ubyte.gz",
        "data/cifar-10-batches-py/test_batch",
    } <= names
    assert not [n for n in names if n.startswith(("solutions/", "lessons/", "tests/package/")) or "__pycache__" in n]
    assert report.datasets == ("cifar-10-batches-py", "mnist")


def test_assign_gradescope_without_data_says_setup_downloads_them(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(REPO)
    monkeypatch.delenv("CNN_COURSE_DATA", raising=False)
    assert main(["assign", "--gradescope", str(tmp_path / "autograder.zip")]) == 0
    out = capsys.readouterr().out
    assert "setup.sh downloads them" in out and "hidden tests" in out
    with zipfile.ZipFile(tmp_path / "autograder.zip") as archive:
        assert not [n for n in archive.namelist() if n.startswith("data/")]
    assert main(["assign", "--gradescope", str(tmp_path / "autograder.tar")]) == 2
    assert "name a .zip file" in capsys.readouterr().err


@pytest.mark.parametrize("hidden", [None, "", HIDDEN_FAILURE])
def test_results_json_follows_gradescopes_format(hidden):
    document = gradescope_results(_result(hidden))
    assert not list(VALIDATOR.iter_errors(document))
    assert document["execution_time"] == 42
    for test in document["tests"]:
        assert {"score", "max_score", "name", "output", "visibility", "status"} <= set(test)


def test_hidden_tests_are_shown_as_configured_and_the_public_part_keeps_no_hidden_feedback():
    document = gradescope_results(_result(HIDDEN_FAILURE), hidden_visibility="hidden")
    public, whole = document["tests"][1], document["tests"][2]
    assert public["visibility"] == "visible" and public["max_score"] == 0 and "hidden test" not in public["output"]
    assert public["output"] == "failed\none_hot: a public check's message."
    assert whole["visibility"] == "hidden" and whole["max_score"] == 2 and HIDDEN_FAILURE in whole["output"]
    assert "score" not in document and "of 3 points" not in document["output"]
    shown = gradescope_results(_result(None))
    assert shown["score"] == 1 and shown["output"].startswith("1 of 3 points") and len(shown["tests"]) == 2


def test_the_course_configuration_names_the_hidden_tests_visibility(tmp_path):
    assert load_config(REPO).gradescope_hidden_visibility == "after_published"
    config = parse_config({"gradescope-hidden-visibility": "hidden"}, tmp_path, None, "course.toml")
    assert config.gradescope_hidden_visibility == "hidden"
    with pytest.raises(CourseConfigError, match="one of hidden, after_due_date, after_published, visible"):
        parse_config({"gradescope-hidden-visibility": "later"}, tmp_path, None, "course.toml")


def _grades(folder: Path) -> Path:
    write_assignment(
        folder,
        Assignment(
            (("01_mnist_data", "scale_images", 1.0), ("01_mnist_data", "one_hot", 2.0)), "course.toml", 600, 6, None
        ),
    )
    write_record(folder, _result())
    return folder


@pytest.mark.parametrize("planted", ["file", "folder", "link", "results-link"])
def test_finish_replaces_whatever_the_submission_left_in_results(tmp_path, planted):
    results, elsewhere = tmp_path / "results", tmp_path / "elsewhere"
    elsewhere.mkdir()
    forged = json.dumps({"score": 1000, "output": "forged"})
    if planted == "results-link":
        (elsewhere / "results.json").write_text(forged)
        results.symlink_to(elsewhere)
    else:
        results.mkdir()
        if planted == "file":
            (results / "results.json").write_text(forged)
        elif planted == "folder":
            (results / "results.json").mkdir()
        else:
            (elsewhere / "forged.json").write_text(forged)
            (results / "results.json").symlink_to(elsewhere / "forged.json")
    path = write_results(results_document(_grades(tmp_path / "grades"), "after_published"), results)
    document = json.loads(path.read_text())
    assert not results.is_symlink() and not path.is_symlink() and document["score"] == 1
    assert not list(VALIDATOR.iter_errors(document))
    if planted.endswith("link"):
        assert forged in {p.read_text() for p in elsewhere.iterdir()}  # no link was followed to write


def test_finish_without_a_record_gives_a_zero_score_that_says_so(tmp_path):
    document = results_document(tmp_path / "no-grades", "after_published")
    assert document["score"] == 0 and "could not grade this submission" in document["output"]
    assert not list(VALIDATOR.iter_errors(document))
