"""The instructor's inputs: the course configuration, submissions (folders and zips), and the CLI's refusals."""

from __future__ import annotations

import stat
import zipfile

import pytest

from cnn_course.authoring.catalog import exercise_catalog
from cnn_course.authoring.course_config import CourseConfigError, ExerciseSpec, load_config
from cnn_course.batch.submissions import SubmissionError, extract_zip, find_submissions, lessons_folder

from .conftest import LESSONS, REPO, SOLUTIONS, copy_lessons, run_graders
from .test_instructor_grading import cnn_course

GRADERS = REPO / "tests" / "graders"


def test_the_catalog_reads_exercises_and_lessons_from_the_grader_markers():
    catalog = exercise_catalog(GRADERS, REPO / "tests" / "hidden")
    assert catalog["scale_images"] == "01_mnist_data" and catalog["trained_mnist_cnn"] == "03_mnist_training"
    assert list(catalog)[:2] == ["count_per_class", "scale_images"]


def test_a_configuration_lists_assigned_exercises_with_points_and_time_limits(tmp_path):
    (tmp_path / "course.toml").write_text(
        f'graders = "{GRADERS}"\nsubmission-time-limit = 90\n\n[exercises]\none_hot = 2\n'
        "scale_images = { points = 1.5, time-limit = 4 }\n"
    )
    config = load_config(tmp_path)
    catalog = exercise_catalog(config.graders)
    assert config.assigned(catalog) == [ExerciseSpec("scale_images", 1.5, 4.0), ExerciseSpec("one_hot", 2.0)]
    assert config.time_limits() == {"scale_images": 4.0} and config.submission_time_limit == 90
    assert config.unassigned(["one_hot", "count_per_class"]) == {"count_per_class"}


def test_without_an_exercises_table_every_exercise_is_assigned_for_one_point(tmp_path):
    config = load_config(REPO)
    assert config.exercises is None and config.hidden_tests == REPO / "tests" / "hidden"
    assert all(spec.points == 1 for spec in config.assigned(exercise_catalog(config.graders)))
    assert load_config(tmp_path).where.startswith("the defaults")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[exercises]\nnonsense = 1\n", "assigns nonsense, which no grader tests"),
        ("time-limit = 5\n", "unknown keys ['time-limit']"),
        ("[exercises]\none_hot = -1\n", "one_hot must be a number of at least 0"),
        ("[exercises]\none_hot = { points = 1, timeout = 3 }\n", "unknown keys ['timeout']"),
        ("memory-limit = 'lots'\n", "memory-limit must be a number"),
        ("graders = [\n", "cannot be read as TOML"),
    ],
)
def test_a_bad_configuration_is_refused_with_the_reason(tmp_path, text, message):
    (tmp_path / "course.toml").write_text(f'graders = "{GRADERS}"\n' + text if "graders" not in text else text)
    with pytest.raises(CourseConfigError, match=message.replace("[", r"\[").replace("(", r"\(")):
        load_config(tmp_path).assigned(exercise_catalog(GRADERS))


def test_course_toml_and_tool_cnn_course_together_are_ambiguous(tmp_path):
    (tmp_path / "course.toml").write_text("")
    (tmp_path / "pyproject.toml").write_text('[tool.cnn-course]\nhidden-tests = "hidden"\n')
    with pytest.raises(CourseConfigError, match="keep one of them"):
        load_config(tmp_path)


def zip_with(path, entries: dict[str, str], link: str | None = None):
    with zipfile.ZipFile(path, "w") as bundle:
        for name, text in entries.items():
            bundle.writestr(name, text)
        if link:
            info = zipfile.ZipInfo(link)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            bundle.writestr(info, "/etc/passwd")
    return path


@pytest.mark.parametrize(
    ("entries", "link", "message"),
    [
        ({"/etc/cron.d/x": "boom"}, None, "outside its own folder"),
        ({"a/../../x.py": "boom"}, None, "outside its own folder"),
        ({"big.bin": "x" * 5000}, None, "expands to"),
    ],
)
def test_unsafe_or_oversized_zips_are_refused_before_anything_is_written(tmp_path, entries, link, message):
    archive = zip_with(tmp_path / "s.zip", entries, link)
    target = tmp_path / "out"
    target.mkdir()
    with pytest.raises(SubmissionError, match=message):
        extract_zip(archive, target, max_bytes=4096)
    assert not list(target.iterdir())


def test_a_zip_s_symlink_is_left_out_and_named_and_the_rest_is_extracted(tmp_path):
    archive = zip_with(tmp_path / "s.zip", {"bo/01_mnist_data.py": "x = 1\n"}, link="bo/models/mnist_cnn.keras")
    target = tmp_path / "out"
    target.mkdir()
    assert extract_zip(archive, target) == ["bo/models/mnist_cnn.keras"]
    assert (target / "bo" / "01_mnist_data.py").read_text() == "x = 1\n"
    assert not (target / "bo" / "models" / "mnist_cnn.keras").exists()


def test_lessons_are_found_at_the_top_in_lessons_or_one_folder_down(tmp_path):
    flat = copy_lessons(SOLUTIONS, tmp_path / "flat")
    nested = copy_lessons(SOLUTIONS, tmp_path / "clone" / "lessons")
    wrapped = copy_lessons(SOLUTIONS, tmp_path / "zip" / "course-main" / "lessons")
    (tmp_path / "zip" / "__MACOSX").mkdir()
    assert lessons_folder(flat) == flat
    assert lessons_folder(tmp_path / "clone") == nested
    assert lessons_folder(tmp_path / "zip") == wrapped
    (tmp_path / "nothing").mkdir()
    with pytest.raises(SubmissionError, match="no lesson notebooks"):
        lessons_folder(tmp_path / "nothing")


def test_submissions_are_named_after_their_folder_or_zip_and_must_be_distinct(tmp_path):
    (tmp_path / "a" / "ada").mkdir(parents=True)
    zip_with(tmp_path / "grace.zip", {"01_mnist_data.py": ""})
    assert [s.learner for s in find_submissions([tmp_path / "a" / "ada", tmp_path / "grace.zip"])] == ["ada", "grace"]
    (tmp_path / "b" / "ada").mkdir(parents=True)
    with pytest.raises(SubmissionError, match="would both be graded as 'ada'"):
        find_submissions([tmp_path / "a" / "ada", tmp_path / "b" / "ada"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["grade", "/nonexistent/alice"], "/nonexistent/alice: no such file or folder"),
        (["grade", "README.md"], "README.md: not a zip file"),
        (["grade", "lessons", "--jobs", "0"], "must be at least 1"),
        (["grade", "lessons", "--time-limit", "-3"], "must be more than 0"),
        (
            ["grade", "lessons", "--config", "/nonexistent/course.toml"],
            "no course configuration at /nonexistent/course.toml",
        ),
        (["assign", "--release", "/tmp/x", "--check"], "--release and --check do not go together"),
    ],
)
def test_bad_instructor_input_gets_a_clear_message(args, message):
    completed = cnn_course(*args, timeout=120)
    assert completed.returncode == 2
    assert message in completed.stderr
    assert "Traceback" not in completed.stderr


def test_grade_refuses_to_overwrite_earlier_exports(tmp_path):
    (tmp_path / "gradebook.csv").write_text("learner,total\nada,3\n")
    completed = cnn_course("grade", "lessons", "--out", str(tmp_path), timeout=120)
    assert completed.returncode == 2 and "already holds grades" in completed.stderr and "--force" in completed.stderr
    assert (tmp_path / "gradebook.csv").read_text() == "learner,total\nada,3\n"


def test_assign_cli_refuses_an_edited_lesson_until_forced(tmp_path):
    lessons = tmp_path / "lessons"
    assert cnn_course("assign", "--lessons", str(lessons)).returncode == 0
    edited = lessons / "01_mnist_data.ipynb"
    edited.write_text(edited.read_text().replace("raise NotImplementedError", "return 42", 1))
    refused = cnn_course("assign", "--lessons", str(lessons))
    assert refused.returncode == 1 and "01_mnist_data.ipynb" in refused.stderr and "return 42" in edited.read_text()
    forced = cnn_course("assign", "--lessons", str(lessons), "--force")
    assert forced.returncode == 0 and "return 42" not in edited.read_text()


def test_exercises_selects_tests_and_all_must_pass_fails_a_run_with_open_exercises(tmp_path):
    fresh = copy_lessons(LESSONS, tmp_path / "fresh")
    run = run_graders(fresh, "--exercises", "scale_images,one_hot", "--all-must-pass")
    assert run.returncode == 1, run.output
    assert sorted(run.results) == ["test_one_hot", "test_scale_images"]
    done = copy_lessons(SOLUTIONS, tmp_path / "done")
    run = run_graders(done, "--exercises", "scale_images", "--all-must-pass")
    assert run.returncode == 0 and list(run.results) == ["test_scale_images"], run.output
