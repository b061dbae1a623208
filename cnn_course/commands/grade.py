"""The instructor's sub-commands: `cnn-course grade`, `cnn-course merge-grades` and `cnn-course assign --release`."""

from __future__ import annotations

import argparse
import shutil
from datetime import datetime
from pathlib import Path

from cnn_course.authoring.catalog import exercise_catalog
from cnn_course.authoring.course_config import CourseConfig, load_config, number
from cnn_course.authoring.release import write_release
from cnn_course.batch.submissions import Submission, find_submissions
from cnn_course.gradebook.exports import GRADEBOOK, GRADESCOPE_DIR, write_exports
from cnn_course.gradebook.progress import Progress
from cnn_course.gradebook.records import (
    ASSIGNMENT_FILE,
    RECORDS_DIR,
    Assignment,
    RecordsError,
    read_assignment,
    read_records,
    write_assignment,
    write_record,
)
from cnn_course.gradebook.reports import FEEDBACK_DIR, write_feedback
from cnn_course.gradebook.results import SubmissionResult
from cnn_course.gradebook.roster import RosterError, class_results, parse_deadline, read_overrides, read_roster
from cnn_course.runtime.privileges import must_drop_privileges
from cnn_course.runtime.sandbox import sandbox_status

GRADES_DIR = "grades"


class CommandError(Exception):
    """Bad input to an instructor command; the message says what to do."""


def course_setup(course: Path, config_path: Path | None) -> tuple[Path, CourseConfig, dict[str, str]]:
    """Return the course root, its configuration and exercise catalog (exercise -> lesson), or raise CommandError."""
    root = course.resolve()
    if not (root / "pyproject.toml").is_file():
        raise CommandError(
            f"{root} has no pyproject.toml: run this from the course's folder, or name it with --course."
        )
    config = load_config(root, config_path)
    if config.hidden_tests is not None and not config.hidden_tests.is_dir():
        raise CommandError(f"the hidden tests folder {config.hidden_tests} named by {config.where} does not exist.")
    catalog = exercise_catalog(config.graders, config.hidden_tests)
    if not catalog:
        raise CommandError(f"no graders (test_*.py with exercise markers) in {config.graders}.")
    return root, config, catalog


def output_folder(out: Path | None) -> Path:
    """Return a folder for the exports: --out, else a new timestamped one under grades/."""
    if out is None:
        out = Path(GRADES_DIR) / datetime.now().strftime("%Y-%m-%d_%H%M%S")
        if out.exists():
            raise CommandError(f"{out} already exists; wait a second and run again, or name a folder with --out.")
    elif out.exists() and not out.is_dir():
        raise CommandError(f"--out {out} is a file, not a folder.")
    return out


def parse_shard(text: str) -> tuple[int, int]:
    """Parse --shard K/N (1 <= K <= N) into (K, N); raise CommandError if malformed."""
    try:
        k, n = (int(part) for part in text.split("/"))
    except ValueError:
        raise CommandError(f"--shard {text}: write it as K/N, e.g. 2/4 for the second of four slices.") from None
    if not 1 <= k <= n:
        raise CommandError(f"--shard {text}: K must be between 1 and N.")
    return k, n


def shard(submissions: list[Submission], k: int, n: int) -> list[Submission]:
    """The K-th of N deterministic slices of a class: by learner name, every N-th from the K-th."""
    ordered = sorted(submissions, key=lambda submission: submission.learner)
    return ordered[k - 1 :: n]


def _clear_grades(out: Path) -> None:
    for name in (RECORDS_DIR, "logs", FEEDBACK_DIR, GRADESCOPE_DIR):
        if (out / name).is_dir():
            shutil.rmtree(out / name)
    for name in (ASSIGNMENT_FILE, GRADEBOOK):
        (out / name).unlink(missing_ok=True)


def _check_assignment(out: Path, assignment: Assignment) -> None:
    existing = read_assignment(out)
    if existing is not None and existing != assignment:
        raise CommandError(
            f"{out} holds grades of another assignment (exercises, points or limits differ "
            f"from {assignment.configuration}); choose another --out, or add --force to grade everything again "
            "there."
        )


def _class_settings(args: argparse.Namespace, assignment: Assignment) -> tuple[list[str] | None, list, object]:
    try:
        roster = read_roster(args.roster) if args.roster else None
        overrides = read_overrides(args.overrides, assignment) if args.overrides else []
        deadline = parse_deadline(args.deadline) if args.deadline else None
    except RosterError as error:
        raise CommandError(str(error)) from None
    return roster, overrides, deadline


def export_grades(
    out: Path, assignment: Assignment, args: argparse.Namespace, settings: tuple | None = None
) -> list[Path]:
    """Write every export of a grades folder from its records (with the roster, overrides and deadline of `args`)."""
    roster, overrides, deadline = settings or _class_settings(args, assignment)
    try:
        records = read_records(out)
    except RecordsError as error:
        raise CommandError(str(error)) from None
    results, warnings = class_results(records, assignment, roster, overrides, deadline)
    for warning in warnings:
        print(f"note: {warning}")
    return write_exports(out, assignment, results, datetime.now()) + write_feedback(out, results, args.html)


def sandbox_mode(requested: str) -> tuple[str, str]:
    """The sandbox mode for this batch and a sentence saying it (--sandbox auto, bwrap or none)."""
    mode, reason = sandbox_status()
    nobody = " as user nobody (not root: it cannot change the graders, the course package or Python)"
    nobody = nobody if must_drop_privileges() else ""
    if requested == "none":
        return "none", (
            f"learner code runs without the sandbox (--sandbox none){nobody}, under the same time and memory limits"
        )
    if mode == "bwrap":
        return "bwrap", f"learner code runs in the bubblewrap sandbox ({reason.split(':')[0]})"
    if requested == "bwrap":
        raise CommandError(f"--sandbox bwrap: {reason}.")
    return "none", (
        f"no sandbox: {reason}; learner code runs as a plain process{nobody} under the same time and memory limits"
    )


def run_grade(args: argparse.Namespace) -> int:
    """Grade the submissions into a grades folder (new, resumed or updated), write every export, print where."""
    from cnn_course.batch.grade import grade_batch  # Linux only: see `cli.run_grade`
    from cnn_course.batch.plan import GradingPlan
    from cnn_course.batch.scratch import batch_scratch

    root, config, catalog = course_setup(args.course, args.config)
    submissions = find_submissions(args.submissions)
    if args.shard:
        submissions = shard(submissions, *parse_shard(args.shard))
    out = output_folder(args.out)
    mode, said = sandbox_mode(args.sandbox)
    plan_settings = {
        "root": root,
        "config": config,
        "exercises": config.assigned(catalog),
        "lessons": catalog,
        "logs": out / "logs",
        "time_limit": args.time_limit or config.submission_time_limit,
        "memory_limit_gib": args.memory_limit or config.memory_limit_gib,
        "exercise_timeout": args.exercise_timeout,
        "jobs": min(args.jobs, max(1, len(submissions))),
        "sandbox": mode,
    }
    assignment = GradingPlan(**plan_settings).assignment()
    settings = _class_settings(args, assignment)
    if args.force:
        _clear_grades(out)
    elif (out / RECORDS_DIR).is_dir() or (out / GRADEBOOK).exists():
        if not (args.resume or args.update):
            raise CommandError(
                f"{out} already holds grades: add --resume to finish grading there "
                "(only submissions without a result), --update to grade these submissions again and keep the "
                "others, or --force to start over."
            )
        _check_assignment(out, assignment)
    try:
        graded = read_records(out)
    except RecordsError as error:
        raise CommandError(str(error)) from None
    todo = [s for s in submissions if not (args.resume and s.learner in graded)]
    out.mkdir(parents=True, exist_ok=True)
    write_assignment(out, assignment)
    points = sum(spec.points for spec in plan_settings["exercises"])
    skipped = f" ({len(submissions) - len(todo)} already graded there)" if len(todo) < len(submissions) else ""
    print(
        f"grading {len(todo)} submission{'s' * (len(todo) != 1)}{skipped} on {len(plan_settings['exercises'])} "
        f"exercises ({number(points)} points), {plan_settings['jobs']} at a time; limits per submission: "
        f"{plan_settings['time_limit']:g} s, {plan_settings['memory_limit_gib']:g} GiB"
    )
    print(said)
    progress = Progress(len(todo))

    def finished(result: SubmissionResult) -> None:
        write_record(out, result)
        progress.finished(result)

    with batch_scratch() as scratch:
        plan = GradingPlan(**plan_settings, scratch=scratch)
        try:
            grade_batch(plan, todo, finished)
        finally:
            progress.close()
    written = export_grades(out, assignment, args, settings)
    print(
        f"wrote {len(written)} files to {out}/: {GRADEBOOK}, results.csv, grades.json, gradescope/, feedback/, "
        "summary.md, score_histogram.png"
    )
    print("(logs/ holds each grading run's output, hidden tests' details included: it is for you, not for learners)")
    return 0


def run_merge(args: argparse.Namespace) -> int:
    """Combine the grades folders of shards (`cnn-course grade --shard K/N`) into one, and write its exports."""
    assignments = {}
    for folder in args.shards:
        assignment = read_assignment(folder)
        if assignment is None:
            raise CommandError(
                f"{folder} is not a grades folder (no {ASSIGNMENT_FILE}); name the --out folders of the shards."
            )
        assignments[folder] = assignment
    first = next(iter(assignments.values()))
    differing = [str(folder) for folder, assignment in assignments.items() if assignment != first]
    if differing:
        raise CommandError(
            f"these shards were graded on another assignment than {args.shards[0]}: {', '.join(differing)}."
        )
    out = output_folder(args.out)
    if (out / RECORDS_DIR).is_dir() and not args.force:
        raise CommandError(f"{out} already holds grades; choose another --out, or add --force to replace them.")
    _clear_grades(out)
    seen: dict[str, Path] = {}
    for folder in args.shards:
        try:
            records = read_records(folder)
        except RecordsError as error:
            raise CommandError(str(error)) from None
        for learner, result in records.items():
            if learner in seen:
                raise CommandError(
                    f"{learner} was graded in both {seen[learner]} and {folder}; "
                    "merge shards of one class split with --shard K/N."
                )
            seen[learner] = folder
            write_record(out, result)
        logs = folder / "logs"
        if logs.is_dir():
            shutil.copytree(logs, out / "logs", dirs_exist_ok=True)
    write_assignment(out, first)
    written = export_grades(out, first, args)
    print(f"merged {len(seen)} learners from {len(args.shards)} grades folders; wrote {len(written)} files to {out}/")
    return 0


def run_release(args: argparse.Namespace) -> int:
    """Write the learner-ready copy of the course to args.release."""
    root, config, _ = course_setup(Path("."), args.config)
    report = write_release(root, config, args.release, force=args.force)
    print(
        f"released the course to {report.folder}/ ({report.files} files): lessons/ generated from the masters, "
        "the package, the public graders and a GitHub Classroom workflow; no solutions, no hidden tests."
    )
    return 0


def run_gradescope(args: argparse.Namespace) -> int:
    """Write the Gradescope autograder zip (with the datasets of --data-dir or $CNN_COURSE_DATA, if any)."""
    from cnn_course.commands.gradescope import write_autograder
    from cnn_course.data import resolve_data_dir

    root, config, catalog = course_setup(Path("."), args.config)
    data_dir = resolve_data_dir(args.data_dir)
    report = write_autograder(root, config, args.gradescope, data_dir)
    datasets = (
        f"with the datasets ({', '.join(report.datasets)}) from {data_dir}"
        if report.datasets
        else (
            "without datasets (no --data-dir or CNN_COURSE_DATA): setup.sh downloads them when Gradescope builds the "
            "image"
        )
    )
    hidden = "and hidden tests" if config.hidden_tests else "(no hidden tests)"
    print(
        f"wrote {report.path} ({report.files} files, {report.bytes / 2**20:.0f} MiB): setup.sh, run_autograder, "
        f"the course, its graders {hidden}, {len(config.assigned(catalog))} assigned exercises; {datasets}."
    )
    print(
        f"Upload it as the autograder (Ubuntu 24.04 base image); set the autograder timeout above this course's "
        f"{config.submission_time_limit:g} s per submission (see docs/gradescope.md)."
    )
    return 0
