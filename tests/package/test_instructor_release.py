"""`cnn-course assign --release DIR`: a learner-ready course, searched for anything the instructor keeps."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import pytest

from cnn_course.authoring.course_config import load_config
from cnn_course.authoring.release import ReleaseError, write_release

from .conftest import REPO, SOLUTIONS
from .test_instructor_grading import cnn_course

HIDDEN = REPO / "tests" / "hidden"
MARKER_LINE = re.compile(r'^[ \t"]*### (BEGIN|END) SOLUTION', re.MULTILINE)  # in code; prose may name the markers


def master_solution_lines() -> set[str]:
    """Every non-trivial line between solution markers in the masters that the masters do not also
    hold outside their solutions (such a line, e.g. `epochs=epochs,`, is in the learners' lessons too)."""
    lines, outside = set(), []
    for path in SOLUTIONS.glob("[0-9][0-9]_*.py"):
        text = path.read_text()
        for block in re.findall(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", text, re.DOTALL):
            lines |= {line.strip() for line in block.splitlines() if len(line.strip()) > 12}
        outside.append(re.sub(r"### BEGIN SOLUTION\n.*?### END SOLUTION", "", text, flags=re.DOTALL))
    return {line for line in lines if not any(line in text for text in outside)}


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    folder = tmp_path_factory.mktemp("release") / "cnn-course-learners"
    completed = cnn_course("assign", "--release", str(folder))
    assert completed.returncode == 0, completed.stderr
    assert "no solutions, no hidden tests" in completed.stdout
    return folder


def test_the_release_holds_the_learners_course(release):
    for path in (
        "README.md",
        "pyproject.toml",
        "cnn_course/grading/plugin.py",
        "tests/graders/test_01_mnist_data.py",
        "lessons/01_mnist_data.py",
        "lessons/01_mnist_data.ipynb",
        "lessons/.assign-manifest.json",
        ".github/workflows/classroom.yml",
    ):
        assert (release / path).is_file(), path
    for path in ("solutions", "tests/hidden", "tests/package", ".git", ".venv", "docs"):
        assert not (release / path).exists(), path
    assert not list(release.rglob("__pycache__"))
    assert not [path for path in release.rglob("*.keras") if "cnn_course" not in path.relative_to(release).parts], (
        "no learner's model"
    )
    assert "lessons/models" not in (release / ".gitignore").read_text(), "learners commit their saved models"
    assert "backups/" in (release / ".gitignore").read_text(), "cnn-course sync's backups are never committed"


# A path in prose or code (lessons/, tests/graders/, .github/workflows/classroom.yml), a file name (pyproject.toml),
# or a Markdown link's target.
README_PATH = re.compile(r"(?<![\w/.:-])(?:\.?[\w-]+/)+[\w.-]*|\b[\w-]+\.(?:ipynb|py|toml|yml|yaml|md|json|txt)\b")
README_LINK = re.compile(r"\]\(([^)\s]+)\)")


def test_every_path_the_release_readme_names_is_in_the_release(release):
    readme = (release / "README.md").read_text()
    links = README_LINK.findall(readme)
    paths = set(README_PATH.findall(readme)) | {link for link in links if "://" not in link}
    assert links and "lessons/01_mnist_data.ipynb" in paths and ".github/workflows/classroom.yml" in paths
    # .venv/ is made by the README's own install step
    missing = sorted(path for path in paths if not path.startswith(".venv/") and not (release / path).exists())
    assert not missing, f"the release's README names {missing}, which the release does not hold"
    assert "solutions" not in readme and "hidden" not in readme and "maintainer" not in readme.lower()


def test_the_release_holds_no_solution_text_and_no_hidden_test(release):
    secrets = master_solution_lines()
    hidden_files = list(HIDDEN.glob("test_*.py"))
    hidden_texts = {path.read_text() for path in hidden_files}
    hidden_names = {
        name for path in hidden_files for name in re.findall(r"^def (test_\w+)", path.read_text(), re.MULTILINE)
    }
    hidden_docs = {
        doc for path in hidden_files for doc in re.findall(r'^    """(.+?)"""', path.read_text(), re.MULTILINE)
    }
    assert secrets and hidden_names and hidden_docs
    files = [path for path in release.rglob("*") if path.is_file()]
    assert len(files) > 20
    for path in files:
        relative = path.relative_to(release)
        text = path.read_text(errors="ignore")
        assert not MARKER_LINE.search(text), relative
        assert text not in hidden_texts and path.name not in {p.name for p in hidden_files}, relative
        assert not [name for name in hidden_names | hidden_docs if name in text], relative
        if relative.parts[0] != "cnn_course":  # the reference package holds the course's own implementations by design
            leaked = [line for line in secrets if line in text]
            assert not leaked, f"{relative} holds solution lines: {leaked}"


def test_the_release_grades_as_a_learner_would_find_it(release):
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=release,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.returncode == 5, completed.stdout[
        -3000:
    ]  # 5: nothing was graded, as pytest says when it collects nothing
    assert "0 passed, 0 failed" in completed.stdout and "not attempted" in completed.stdout
    assert "no exercise is written yet" in completed.stdout


def test_the_classroom_workflow_has_a_scored_step_per_exercise(release):
    yaml = pytest.importorskip("yaml")
    workflow = yaml.safe_load((release / ".github/workflows/classroom.yml").read_text())
    steps = workflow["jobs"]["autograding"]["steps"]
    graders = [s for s in steps if s.get("uses", "").startswith("classroom-resources/autograding-command-grader")]
    names = [s["name"] for s in graders]
    assert {"scale_images", "trained_mnist_cnn"} <= set(names)
    scale = graders[names.index("scale_images")]["with"]
    assert scale["command"].endswith("--all-must-pass --exercises scale_images") and scale["max-score"] == 1
    reporter = steps[-1]
    assert reporter["with"]["runners"].split(",") == [s["id"] for s in graders]
    assert set(reporter["env"]) == {f"{s['id'].upper()}_RESULTS" for s in graders}


def test_an_existing_release_is_refused_unless_forced(release):
    refused = cnn_course("assign", "--release", str(release))
    assert refused.returncode == 2 and "already exists" in refused.stderr and "Traceback" not in refused.stderr
    (release / "stale.txt").write_text("from an earlier release\n")
    forced = cnn_course("assign", "--release", str(release), "--force")
    assert forced.returncode == 0, forced.stderr
    assert not (release / "stale.txt").exists() and (release / "lessons" / "01_mnist_data.py").is_file()


def test_a_release_that_would_leak_is_refused_and_nothing_is_written(tmp_path):
    course = tmp_path / "course"
    for name in ("pyproject.toml", "LICENSE", "jupytext.toml", "tests/__init__.py"):
        (course / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, course / name)
    shutil.copytree(
        REPO / "tests" / "graders", course / "tests" / "graders", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copytree(HIDDEN, course / "tests" / "hidden", ignore=shutil.ignore_patterns("__pycache__"))
    (course / "solutions").mkdir()
    shutil.copy2(SOLUTIONS / "01_mnist_data.py", course / "solutions" / "01_mnist_data.py")
    (course / "course.toml").write_text('# Scale like this: return images.astype("float32") / 255.0\n')
    shutil.copy2(HIDDEN / "test_hidden_01_mnist_data.py", course / "tests" / "graders" / "test_extra.py")
    with pytest.raises(ReleaseError) as refused:
        write_release(course, load_config(course), tmp_path / "out")
    assert "course.toml: solution lines" in str(refused.value)
    assert "tests/graders/test_extra.py: a hidden test" in str(refused.value)
    assert not (tmp_path / "out").exists() and [p.name for p in tmp_path.iterdir()] == ["course"]
