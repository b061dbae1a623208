"""The arguments of the instructor's commands: `assign` (also --release and --gradescope), `grade`, `merge-grades`."""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def add_instructor_commands(commands: argparse._SubParsersAction) -> None:
    """Add the `assign`, `grade` and `merge-grades` sub-commands to `commands` (the `cnn-course` sub-parsers)."""
    from cnn_course.commands.arguments import positive_float, positive_int

    assign = commands.add_parser(
        "assign",
        help="regenerate lessons/ from the masters in solutions/",
        description="Regenerate the learners' lessons from the instructor's master notebooks.",
    )
    assign.add_argument(
        "--solutions", type=Path, help="folder of master notebooks (default: the configuration's, else solutions)"
    )
    assign.add_argument(
        "--lessons", type=Path, help="folder of learner lessons to write (default: the configuration's, else lessons)"
    )
    assign.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if lessons/ differs from what the masters generate"
    )
    assign.add_argument(
        "--force",
        action="store_true",
        help="overwrite lessons that were edited since they were generated (with --release: replace DIR)",
    )
    assign.add_argument(
        "--release",
        type=Path,
        metavar="DIR",
        help="write a learner-ready copy of the course to DIR: no solutions, no hidden tests",
    )
    assign.add_argument(
        "--gradescope",
        type=Path,
        metavar="OUT.zip",
        help=(
            "write the Gradescope autograder upload: setup.sh, run_autograder, the course, its graders and hidden tests"
        ),
    )
    assign.add_argument(
        "--data-dir",
        type=Path,
        help=(
            "with --gradescope: put the official datasets of this folder (default: $CNN_COURSE_DATA) in the zip, "
            "so grading needs no network"
        ),
    )
    assign.add_argument(
        "--config",
        type=Path,
        help="course configuration file (default: course.toml, else [tool.cnn-course] in pyproject.toml)",
    )

    grade = commands.add_parser(
        "grade",
        help="grade learners' submissions with your graders; export grades and feedback",
        description=(
            "Grade submissions (folders of lessons, or zips of them) with this course's graders and hidden "
            "tests, each in its own process with time and memory limits, and write a gradebook, JSON, "
            "Gradescope results and feedback reports."
        ),
    )
    grade.add_argument(
        "submissions",
        nargs="+",
        type=Path,
        metavar="SUBMISSION",
        help="a learner's folder of lessons (with models/), or a .zip of one",
    )
    grade.add_argument("--out", type=Path, help="folder for the exports (default: a new grades/YYYY-MM-DD_HHMMSS)")
    grade.add_argument("--force", action="store_true", help="start over in --out even if it holds earlier grades")
    grade.add_argument(
        "--resume",
        action="store_true",
        help="finish an interrupted batch in --out: grade only submissions without a result there",
    )
    grade.add_argument(
        "--update",
        action="store_true",
        help="grade these submissions again into --out, keeping the other learners' grades",
    )
    grade.add_argument(
        "--shard",
        metavar="K/N",
        help="grade only the K-th of N deterministic slices of the submissions (merge with `cnn-course merge-grades`)",
    )
    grade.add_argument(
        "--sandbox",
        choices=("auto", "bwrap", "none"),
        default="auto",
        help="run learner code in the bubblewrap sandbox: auto (where it works; the default), bwrap (required), none",
    )
    grade.add_argument(
        "--jobs",
        type=positive_int,
        default=max(1, (os.cpu_count() or 1) // 2),
        help="submissions graded at the same time (default: half the CPU cores)",
    )
    grade.add_argument(
        "--time-limit",
        type=positive_float,
        help="wall-clock seconds for one submission (default: the configuration's, else 600)",
    )
    grade.add_argument(
        "--memory-limit",
        type=positive_float,
        help="GiB of address space for one submission (default: the configuration's, else 6)",
    )
    grade.add_argument(
        "--exercise-timeout",
        type=positive_float,
        help="seconds an exercise may run when the configuration sets no limit for it (default: 60)",
    )
    grade.add_argument(
        "--config",
        type=Path,
        help="course configuration file (default: course.toml, else [tool.cnn-course] in pyproject.toml)",
    )
    grade.add_argument(
        "--course",
        type=Path,
        default=Path("."),
        help="the course folder whose graders grade (default: the current folder)",
    )
    for command in (
        grade,
        merge := commands.add_parser(
            "merge-grades",
            help="combine the grades folders of shards into one",
            description=(
                "Combine the grades folders that `cnn-course grade --shard K/N` wrote into one, "
                "with the exports a single run would write."
            ),
        ),
    ):
        command.add_argument("--html", action="store_true", help="also write each learner's feedback report as HTML")
        command.add_argument(
            "--roster",
            type=Path,
            help=(
                "CSV of the class's learner ids (a `learner` column, else the first): "
                "a learner without a submission gets 0, 'no submission'"
            ),
        )
        command.add_argument(
            "--overrides",
            type=Path,
            help="CSV with columns learner, exercise, points, comment: manual points, shown in the feedback",
        )
        command.add_argument(
            "--deadline",
            help="submissions modified after this local date and time (e.g. 2026-12-01T23:59) are flagged late",
        )
    merge.add_argument("shards", nargs="+", type=Path, metavar="GRADES_DIR", help="the --out folder of each shard")
    merge.add_argument("--out", type=Path, required=True, help="the folder to write the merged grades to")
    merge.add_argument("--force", action="store_true", help="replace grades already in --out")
