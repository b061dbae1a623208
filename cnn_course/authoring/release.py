"""`cnn-course assign --release DIR`: a learner-ready copy of the course, without solutions or hidden tests.

The copy is built from an allow-list (the package, the public graders, the packaging files and
course.toml), gets freshly generated lessons, a GitHub Classroom workflow and a README written for
learners (the course's own README speaks to its maintainers, of folders a release leaves out), and is searched
before it is put in place: a solution marker, a line of a master's solution in the lessons or the top-level files, or
a hidden test stops the release. It is assembled next to DIR and renamed into place in one step.
The reference package itself is released: by design it holds the course's own implementations
(lesson 3 uses them), which is why exercises are graded on what the learner writes in the lesson.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from string import Template

from cnn_course.authoring.assign import BEGIN_SOLUTION, END_SOLUTION, AssignReport, exercise_names, generate_lessons
from cnn_course.authoring.catalog import exercise_catalog
from cnn_course.authoring.classroom import WORKFLOW_PATH, classroom_workflow
from cnn_course.authoring.course_config import CourseConfig, ExerciseSpec, number
from cnn_course.authoring.notebooks import lesson_stems, newest_of_pair, read_notebook

RELEASED = ("LICENSE", "pyproject.toml", "course.toml", "jupytext.toml", "cnn_course", "tests/__init__.py")
PACKAGE = "cnn_course"
_SKIPPED = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints", ".pytest_cache", "*.egg-info")
_SOLUTION_BLOCK = re.compile(rf"{re.escape(BEGIN_SOLUTION)}[^\n]*\n(.*?){re.escape(END_SOLUTION)}", re.DOTALL)
# A marker that starts a line of code (or of a source line in .ipynb JSON), not one named in prose.
_MARKER_LINE = re.compile(rf'^[ \t"]*(?:{re.escape(BEGIN_SOLUTION)}|{re.escape(END_SOLUTION)})', re.MULTILINE)
GITIGNORE = """\
.venv/
__pycache__/
*.egg-info/
.ipynb_checkpoints/
.pytest_cache/
/runs/
/data/
backups/
"""
# The release's README.md: every path it names is in the release (`tests/package/test_instructor_release.py`).
LEARNER_README = Template("""\
# Convolutional neural networks with Keras: your copy of the course

You learn to classify images with convolutional neural networks (Keras 3 on TensorFlow) by doing:
each lesson in [lessons/](lessons/) explains a step, and you write its exercises, small functions,
in place of the lines that raise `NotImplementedError`. After each exercise a self-check cell runs
the grader's own check; `pytest` grades every lesson you wrote and says, for each exercise, what
passed, what is not attempted yet, and for a failure what is wrong with a hint.

## Install

Python 3.11 or 3.12 on Windows, macOS or Linux. In this folder (the one holding
[pyproject.toml](pyproject.toml)):

```bash
python -m venv .venv
source .venv/bin/activate        # Windows: .venv\\Scripts\\activate
pip install -e .                 # Keras, TensorFlow, JupyterLab with Jupytext, pytest and the course's package
cnn-course doctor                # versions, the compute device, and where each dataset loads from
```

The datasets (MNIST, CIFAR-10) download once through Keras the first time a lesson loads them.
Offline, put the official files in a folder and name it with the `CNN_COURSE_DATA` environment
variable; `cnn-course doctor` checks every file and says what is missing.

## The lessons

```bash
jupyter lab lessons/
```

Open each lesson as a notebook (`.ipynb`); the `.py` file beside it is the same notebook as text,
and Jupyter keeps the two in step. Work through them in order:

| lesson | title | graded exercises (points) |
|---|---|---|
$lessons

Exercises marked "(optional, not graded)" in a lesson are for practice. The training lessons save
their models in a `models` folder beside the lessons: run them to the end, since the graders
evaluate those saved models on the official test images.

## Grade yourself

From this folder (not from inside lessons/):

```bash
pytest                     # every lesson; ends with a scoreboard: passed, failed, not attempted, and what to do next
pytest -k 02               # one lesson
pytest -k scale_images     # one exercise
pytest --all-must-pass     # exit 1 unless every graded exercise passes
```

The graders are in [tests/graders/](tests/graders/): they run only your exercise cells (never the
training cells), never change your files, and grade whichever file of a lesson pair you saved last.
If the two files of a pair come to differ (you edited one outside Jupyter), `cnn-course sync
01_mnist_data` shows the differences and brings them back in step; it keeps a copy of every file it
changes in a `backups` folder beside the lesson, which git ignores.

## Handing in

Commit and push your lessons together with the models they saved. Each push runs the course's
graders on GitHub ([.github/workflows/classroom.yml](.github/workflows/classroom.yml)), one scored
test per graded exercise. Your instructor grades the submissions with their own copy of the graders.
""")


class ReleaseError(Exception):
    """The release cannot be written, or would leak instructor material; says what and where."""


@dataclass(frozen=True)
class ReleaseReport:
    """Where the release went and what it holds."""

    folder: Path
    files: int
    lessons: AssignReport


def solution_lines(solutions: Path, min_length: int = 13) -> set[str]:
    """Return every non-trivial stripped line written between solution markers in the masters,
    except lines the masters also hold (whole or within a line) outside their solutions: the
    learners' lessons have those."""
    lines: set[str] = set()
    public: set[str] = set()
    for stem in lesson_stems(solutions):
        text = newest_of_pair(solutions, stem).read_text(encoding="utf-8")
        for block in _SOLUTION_BLOCK.findall(text):
            lines |= {line.strip() for line in block.splitlines() if len(line.strip()) >= min_length}
        public |= {line.strip() for line in _SOLUTION_BLOCK.sub("", text).splitlines()}
    outside = "\n".join(public)
    return {line for line in lines if line not in outside}


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def leaks(folder: Path, config: CourseConfig) -> list[str]:
    """Return every way `folder` would leak instructor material: markers, solution lines, hidden tests."""
    secrets = solution_lines(config.solutions)
    hidden = (
        [p for p in config.hidden_tests.rglob("*.py")] if config.hidden_tests and config.hidden_tests.is_dir() else []
    )
    hidden_digests = {_digest(path): path for path in hidden if path.stat().st_size}
    hidden_names = {path.name for path in hidden if path.name.startswith("test_")}
    found = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        relative = path.relative_to(folder)
        if relative.parts[0] == "solutions":
            found.append(f"{relative}: the solutions folder")
        if path.name in hidden_names or _digest(path) in hidden_digests:
            found.append(f"{relative}: a hidden test")
        text = path.read_text(encoding="utf-8", errors="ignore")
        if _MARKER_LINE.search(text):
            found.append(f"{relative}: a solution marker")
        elif relative.parts[0] != PACKAGE:
            leaked = sorted(line for line in secrets if line in text)
            if leaked:
                found.append(f"{relative}: solution lines such as {leaked[0]!r}")
    return found


def lesson_title(path: Path) -> str:
    """The title of the lesson at `path`: its first Markdown heading, without the '#', or its file's stem."""
    for cell in read_notebook(path).cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return path.stem


def learner_readme(lessons: Path, assigned: list[ExerciseSpec], catalog: dict[str, str]) -> str:
    """The README.md of a release: install, the lessons in `lessons` with their graded exercises and points
    (`assigned`, placed in lessons by `catalog`: exercise -> lesson), how to grade yourself and hand in."""
    rows = []
    for stem in lesson_stems(lessons):
        specs = [spec for spec in assigned if catalog.get(spec.name) == stem]
        graded = ", ".join(f"`{spec.name}` ({number(spec.points)})" for spec in specs) or "none"
        rows.append(f"| [{stem}](lessons/{stem}.ipynb) | {lesson_title(lessons / f'{stem}.ipynb')} | {graded} |")
    return LEARNER_README.substitute(lessons="\n".join(rows))


def _copy_allowed(root: Path, config: CourseConfig, staging: Path) -> None:
    graders = config.graders.relative_to(root) if config.graders.is_relative_to(root) else None
    if graders is None:
        raise ReleaseError(
            f"the graders ({config.graders}) are outside the course folder {root}; they cannot be released."
        )
    hidden = config.hidden_tests.resolve() if config.hidden_tests else None

    def skipped(directory: str, names: list[str]) -> set[str]:
        inside = {name for name in names if hidden is not None and (Path(directory) / name).resolve() == hidden}
        return set(_SKIPPED(directory, names)) | inside

    for name in (*RELEASED, str(graders)):
        source = root / name
        if source.is_dir():
            shutil.copytree(source, staging / name, ignore=skipped)
        elif source.is_file():
            (staging / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, staging / name)


def write_release(root: Path, config: CourseConfig, destination: Path, force: bool = False) -> ReleaseReport:
    """Write the learner-ready course to `destination`; refuse an existing folder unless force=True."""
    destination = destination.resolve()
    if destination == root.resolve() or root.resolve().is_relative_to(destination):
        raise ReleaseError(f"{destination} holds the course itself; release into a new folder.")
    if destination.exists() and not force:
        raise ReleaseError(f"{destination} already exists; choose a new folder, or add --force to replace it.")
    catalog = exercise_catalog(config.graders, config.hidden_tests)
    assigned = config.assigned(catalog)
    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{destination.name}.", dir=destination.parent))
    try:
        _copy_allowed(root, config, staging)
        (staging / ".gitignore").write_text(GITIGNORE, encoding="utf-8")
        lessons = generate_lessons(
            config.solutions, staging / "lessons", optional=config.unassigned(exercise_names(config.solutions))
        )
        public = exercise_catalog(config.graders)
        (staging / "README.md").write_text(learner_readme(staging / "lessons", assigned, catalog), encoding="utf-8")
        workflow = staging / WORKFLOW_PATH
        workflow.parent.mkdir(parents=True)
        workflow.write_text(classroom_workflow([s for s in assigned if s.name in public], catalog), encoding="utf-8")
        problems = leaks(staging, config)
        if problems:
            raise ReleaseError(
                "the release would leak instructor material, so nothing was written:\n  " + "\n  ".join(problems)
            )
        os.chmod(staging, 0o755)
        if destination.exists():
            retired = Path(tempfile.mkdtemp(prefix=f".{destination.name}.old.", dir=destination.parent))
            os.replace(destination, retired / destination.name)
            shutil.rmtree(retired)
        os.replace(staging, destination)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    files = sum(1 for p in destination.rglob("*") if p.is_file())
    return ReleaseReport(destination, files, lessons)
