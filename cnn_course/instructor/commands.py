"""The instructor's sub-commands behind the CLI: `cnn-course grade` and `cnn-course assign --release`."""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path

from cnn_course.course_config import CourseConfig, load_config
from cnn_course.grading.catalog import exercise_catalog
from cnn_course.instructor.batch import GradingPlan, grade_batch
from cnn_course.instructor.export import GRADEBOOK, number, write_exports
from cnn_course.instructor.feedback import write_feedback
from cnn_course.instructor.progress import Progress
from cnn_course.instructor.release import write_release
from cnn_course.instructor.submissions import find_submissions

GRADES_DIR = "grades"


class CommandError(Exception):
    """Bad input to an instructor command; the message says what to do."""


def course_setup(course: Path, config_path: Path | None) -> tuple[Path, CourseConfig, dict[str, str]]:
    """Return the course root, its configuration and its exercise catalog (exercise -> lesson), or raise CommandError."""
    root = course.resolve()
    if not (root / "pyproject.toml").is_file():
        raise CommandError(f"{root} has no pyproject.toml: run this from the course's folder, or name it with --course.")
    config = load_config(root, config_path)
    if config.hidden_tests is not None and not config.hidden_tests.is_dir():
        raise CommandError(f"the hidden tests folder {config.hidden_tests} named by {config.where} does not exist.")
    catalog = exercise_catalog(config.graders, config.hidden_tests)
    if not catalog:
        raise CommandError(f"no graders (test_*.py with exercise markers) in {config.graders}.")
    return root, config, catalog


def output_folder(out: Path | None, force: bool) -> Path:
    """Return a folder for the exports: --out (refused if it holds exports, unless force), else a new timestamped one."""
    if out is None:
        out = Path(GRADES_DIR) / datetime.now().strftime("%Y-%m-%d_%H%M%S")
        if out.exists():
            raise CommandError(f"{out} already exists; wait a second and run again, or name a folder with --out.")
    elif (out / GRADEBOOK).exists() and not force:
        raise CommandError(f"{out} already holds grades; choose another --out, or add --force to overwrite them.")
    elif out.exists() and not out.is_dir():
        raise CommandError(f"--out {out} is a file, not a folder.")
    return out


def run_grade(args: argparse.Namespace) -> int:
    """Grade the submissions, write every export and print where they went."""
    root, config, catalog = course_setup(args.course, args.config)
    submissions = find_submissions(args.submissions)
    out = output_folder(args.out, args.force)
    plan = GradingPlan(
        root=root,
        config=config,
        exercises=config.assigned(catalog),
        lessons=catalog,
        logs=out / "logs",
        time_limit=args.time_limit or config.submission_time_limit,
        memory_limit_gib=args.memory_limit or config.memory_limit_gib,
        exercise_timeout=args.exercise_timeout,
        jobs=min(args.jobs, len(submissions)),
    )
    points = sum(spec.points for spec in plan.exercises)
    print(
        f"grading {len(submissions)} submission{'s' * (len(submissions) != 1)} on {len(plan.exercises)} exercises "
        f"({number(points)} points), {plan.jobs} at a time; limits per submission: {plan.time_limit:g} s, {plan.memory_limit_gib:g} GiB"
    )
    progress = Progress(len(submissions))
    try:
        results = grade_batch(plan, submissions, progress.finished)
    finally:
        progress.close()
    written = write_exports(out, plan, results, datetime.now()) + write_feedback(out, results, args.html)
    print(f"wrote {len(written)} files to {out}/: {GRADEBOOK}, results.csv, grades.json, gradescope/, feedback/, summary.md, score_histogram.png")
    print("(logs/ holds each grading run's output, hidden tests' details included: it is for you, not for learners)")
    return 0


def run_release(args: argparse.Namespace) -> int:
    """Write the learner-ready copy of the course to args.release."""
    root, config, _ = course_setup(Path("."), args.config)
    report = write_release(root, config, args.release, force=args.force)
    print(f"released the course to {report.folder}/ ({report.files} files): lessons/ generated from the masters, "
          "the package, the public graders and a GitHub Classroom workflow; no solutions, no hidden tests.")
    return 0
