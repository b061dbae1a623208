"""What a grading run prints at its end.

Changes to the folder graded, the scoreboard, the checks' seed, the next step.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

import pytest

from cnn_course.grading.snapshot import FolderChanges
from cnn_course.status import Status

if TYPE_CHECKING:
    from cnn_course.grading.lesson import GradedLesson

OUTCOME_ORDER = (Status.PASSED, Status.FAILED, Status.NOT_ATTEMPTED)


def write_summary(
    terminalreporter,
    config: pytest.Config,
    exitstatus: int,
    results: dict[tuple[str, str], Status],
    lessons: dict[str, GradedLesson],
    seed: int,
    changes: FolderChanges | None,
    protected: bool,
) -> None:
    """Say what grading changed in the folder graded (`changes`, `protected`: lesson code could not reach it); print
    one line per exercise of `results` ((lesson, exercise) -> status), the totals (passed, failed, not attempted),
    the checks' `seed` and what to do next."""
    folder_report(terminalreporter, config.getoption("--target"), changes, protected)
    invocation = config.invocation_params.dir
    if not results and exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED and invocation != config.rootpath:
        terminalreporter.write_line(
            f"cnn-course: pytest found no graders in {invocation}. Run it from the course folder, {config.rootpath} "
            f"(cd {config.rootpath}, then pytest): the graders are in {', '.join(config.getini('testpaths'))}.",
            yellow=True,
        )
    if not results:
        return
    write = terminalreporter.write_line
    terminalreporter.section(f"cnn-course scoreboard (target: {config.getoption('--target')})")
    width = max(len(exercise) for _, exercise in results)
    by_lesson: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for (stem, exercise), outcome in results.items():
        by_lesson[stem].append((exercise, outcome))
    marks = {Status.PASSED: "PASS", Status.FAILED: "FAIL", Status.NOT_ATTEMPTED: "TODO"}
    for stem, rows in by_lesson.items():
        graded = lessons.get(stem)
        write(
            f"{stem}" + (f"  (graded: {graded.path.name})" if graded is not None and graded.process is not None else "")
        )
        for note in graded.notes if graded is not None else ():
            write(f"  note: {note}")
        for exercise, outcome in rows:
            write(f"  {marks[outcome]}  {exercise.ljust(width)}  {outcome}")
    counts = {o: sum(1 for v in results.values() if v == o) for o in OUTCOME_ORDER}
    write(
        f"exercises: {counts[Status.PASSED]} passed, {counts[Status.FAILED]} failed, "
        f"{counts[Status.NOT_ATTEMPTED]} not attempted"
    )
    write(f"check seed: {seed} (--check-seed {seed} repeats the arguments the checks drew)")
    diverged = {stem: lesson.lesson_file.diverged for stem, lesson in lessons.items() if lesson.lesson_file is not None}
    write(next_step(results, diverged))
    if all(outcome == Status.NOT_ATTEMPTED for outcome in results.values()):
        write("(exit status 5: no exercise is written yet, so nothing was graded)")


def folder_report(terminalreporter, target: str, changes: FolderChanges | None, protected: bool) -> None:
    """A section naming what was put back in, changed in or added to the folder graded during the run (if anything)."""
    if not changes:
        return
    write = terminalreporter.write_line
    terminalreporter.section(f"cnn-course: your folder {target} changed during grading", yellow=True)
    if changes.restored:
        write(f"put back as it was before grading: {', '.join(changes.restored)}")
        if changes.kept is not None:
            write(f"  the versions found there are kept in {changes.kept}")
    if changes.left:
        cause = "not put back"
        if protected:
            cause = "by another program (lesson code could not reach the folder), left as they are"
        write(f"changed during grading {cause}: {', '.join(changes.left)}")
    if changes.added:
        author = "by lesson code during grading"
        if protected:
            author = "during grading by another program (lesson code could not reach the folder)"
        write(f"written {author}: {', '.join(changes.added)} (left in place: delete what you did not mean to save)")


def next_step(results: dict[tuple[str, str], str], diverged: dict[str, list[str]] | None = None) -> str:
    """One line saying what to do next: the first failed exercise, else the first not attempted.

    When the other file of that exercise's lesson pair holds different code for it (`diverged`: lesson ->
    exercises), the line says so and how to reconcile the pair, rather than ask for work that file may hold.
    """
    for wanted, advice in ((Status.FAILED, "fix"), (Status.NOT_ATTEMPTED, "write")):
        for (stem, exercise), outcome in results.items():
            if outcome == wanted and exercise in (diverged or {}).get(stem, ()):
                return (
                    f"next: the two files of lesson {stem} (.py and .ipynb) hold different code for `{exercise}`, "
                    f"and the one saved last was graded. Run `cnn-course sync {stem}`: it shows both versions and "
                    f"keeps the one you choose; then run `pytest -k {exercise}`."
                )
            if outcome == wanted:
                return f"next: {advice} `{exercise}` in lesson {stem}, then run `pytest -k {exercise}`."
    return "next: every graded exercise passes. Well done!"
