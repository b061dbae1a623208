"""A GitHub Classroom autograding workflow for the assigned exercises: one scored test per exercise."""

from __future__ import annotations

import math
from collections.abc import Mapping

from cnn_course.authoring.course_config import ExerciseSpec, number

WORKFLOW_PATH = ".github/workflows/classroom.yml"
_HEADER = """\
# GitHub Classroom autograding for cnn-course, written by `cnn-course assign --release`.
# One test per assigned exercise: it runs the course's graders on lessons/ and scores max-score
# when the exercise passes (not attempted scores 0). Learners must commit lessons/models/ for the
# saved-model exercises. Turn on Classroom's protected paths for .github/ and tests/ so you are told
# when a learner edits the graders; for grades that ignore such edits, run `cnn-course grade` on
# the learners' repositories with your own copy of the graders.
name: Autograding
"on":
  - push
  - workflow_dispatch
permissions:
  checks: write
  actions: read
  contents: read
jobs:
  autograding:
    runs-on: ubuntu-latest
    if: github.actor != 'github-classroom[bot]'
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.12"
          cache: pip
      - name: Install the course
        run: python -m pip install -e .
"""


def step_id(exercise: str) -> str:
    """Return the workflow step id of an exercise (GitHub ids: letters, digits, - and _)."""
    return exercise.replace("_", "-")


def classroom_workflow(exercises: list[ExerciseSpec], lessons: Mapping[str, str]) -> str:
    """Return the workflow YAML: a command-grader step per exercise, then the grading reporter."""
    lines = [_HEADER.rstrip("\n")]
    for spec in exercises:
        minutes = max(
            10, math.ceil((spec.time_limit or 0) / 60) + 5
        )  # room for importing TensorFlow and downloading data
        lines += [
            f"      - name: {spec.name}",
            f"        id: {step_id(spec.name)}",
            "        uses: classroom-resources/autograding-command-grader@v1",
            "        with:",
            f'          test-name: "{lessons[spec.name]} · {spec.name}"',
            f"          command: python -m pytest -p no:cacheprovider --all-must-pass --exercises {spec.name}",
            f"          timeout: {minutes}",
            f"          max-score: {number(spec.points)}",
        ]
    lines += [
        "      - name: Autograding Reporter",
        "        uses: classroom-resources/autograding-grading-reporter@v1",
        "        env:",
    ]
    lines += [
        f'          {step_id(s.name).upper()}_RESULTS: "${{{{steps.{step_id(s.name)}.outputs.result}}}}"'
        for s in exercises
    ]
    lines += ["        with:", f"          runners: {','.join(step_id(s.name) for s in exercises)}"]
    return "\n".join(lines) + "\n"
