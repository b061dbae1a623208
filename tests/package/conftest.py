"""Shared helpers of the package's own tests: the repository paths and a subprocess grader run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SOLUTIONS = REPO / "solutions"
LESSONS = REPO / "lessons"


def needs_data() -> pytest.MarkDecorator:
    """Skip a test unless the datasets folder is configured (CI stages it)."""
    return pytest.mark.skipif(
        not os.environ.get("CNN_COURSE_DATA"),
        reason="set CNN_COURSE_DATA to a staged data folder (python ../shared/datasets/stage.py --out DIR)",
    )


@dataclass
class GraderRun:
    """The outcome of running the graders in a subprocess: exit code, output, and per-test results."""

    returncode: int
    output: str
    results: dict[str, tuple[str, str]]  # test name -> (outcome, message)


def run_graders(target: Path, *args: str, timeout: float = 300) -> GraderRun:
    """Run `pytest tests/graders --target TARGET ARGS` from the repository root; parse its JUnit XML."""
    results_folder = Path(tempfile.mkdtemp(prefix="cnn-course-junit-"))  # never beside the target: it may be solutions/
    junit = results_folder / f"{target.name}-junit.xml"
    command = [
        sys.executable,
        "-m",
        "pytest",
        "tests/graders",
        "--target",
        str(target),
        f"--junitxml={junit}",
        "-p",
        "no:cacheprovider",
        *args,
    ]
    completed = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=timeout)
    results = {}
    cases = list(ET.parse(junit).getroot().iter("testcase"))
    shutil.rmtree(results_folder, ignore_errors=True)
    for case in cases:
        outcome, message = "passed", ""
        for kind in ("failure", "error", "skipped"):
            element = case.find(kind)
            if element is not None:
                # A skip's text is only pytest's "file:line: reason"; its reason is the message.
                details = "" if kind == "skipped" else "\n" + (element.text or "")
                outcome, message = kind, (element.get("message") or "") + details
        results[case.get("name")] = (outcome, message)
    return GraderRun(completed.returncode, completed.stdout + completed.stderr, results)


def fails_with(name: str, function, *hints: str) -> str:
    """Run the check of exercise `name` on a plain function; assert it fails with every hint in its message.

    Return the message.
    """
    from cnn_course.checks import CHECKS, CheckFailed

    with pytest.raises(CheckFailed) as failure:
        CHECKS[name](function)
    message = str(failure.value)
    assert message.startswith(f"{name}: "), message
    for hint in hints:
        assert hint in message, message
    return message


def passes(name: str, function) -> None:
    """Run the check of exercise `name` on a plain function; it must pass."""
    from cnn_course.checks import CHECKS

    CHECKS[name](function)


def master_namespace(stem: str) -> dict:
    """Run a master's setup and exercise cells here, in the test process (our own code, not a learner's)."""
    from cnn_course.grading.lesson import read_lesson_file

    namespace: dict = {"__name__": f"master_{stem}"}
    for cell in read_lesson_file(SOLUTIONS / f"{stem}.py").cells:
        exec(compile(cell.source, cell.label, "exec"), namespace)  # noqa: S102 - the course's own master
    return namespace


def patched_masters(destination: Path, replacements: list[tuple[str, str, str]]) -> Path:
    """Copy the masters' .py files into `destination`, applying each (lesson, old text, new text) once; return it."""
    target = copy_lessons(SOLUTIONS, destination)
    for stem, old, new in replacements:
        path = target / f"{stem}.py"
        text = path.read_text()
        assert old in text, f"the master {stem} changed: update the replacement of {old[:60]!r}"
        path.write_text(text.replace(old, new, 1))
    return target


def copy_lessons(source: Path, destination: Path, suffixes: tuple[str, ...] = (".py",)) -> Path:
    """Copy the notebook files of `source` with the given suffixes into `destination`; return it."""
    destination.mkdir(parents=True, exist_ok=True)
    for path in sorted(source.glob("[0-9][0-9]_*")):
        if path.suffix in suffixes:
            shutil.copy2(path, destination / path.name)
    return destination


@pytest.fixture(autouse=True)
def system_temporary_folder(monkeypatch):
    """The system's temporary folder, as a learner's session has it: in a run that also grades (tests/graders), the
    grading plugin points `tempfile` at its own learner processes' folder, and a host these tests start would
    otherwise nest its scratch folders inside another host's."""
    monkeypatch.setattr(tempfile, "tempdir", None)
