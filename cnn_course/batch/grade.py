"""Grading submissions with the instructor's graders, each in its own limited process, several at a time.

One submission = one `pytest` subprocess (the grading process, `cnn_course.batch.worker`) run
from the course root on the instructor's graders and hidden tests, with `--target` pointing at a
checked copy of the submission's lessons in a scratch folder, so nothing the submission ships
(its own tests, conftest.py or pyproject.toml) takes part. The learner's code runs in a learner
process that the grading process starts, inside the sandbox where there is one
(`cnn_course.runtime.sandbox`).

The verdict comes only from the grading process: it signs each record of its results log with a
per-run key it reads from a pipe (never on a command line or in an environment), so a line the
learner's code writes there is ignored, and a run without the signed closing record is "crashed"
or "timeout" with its reason, never "completed". A wall-clock and an address-space limit bound
each run; whatever it finished before it was stopped keeps its marks. No process outlives its
submission: the grading process dies with the batch, leads its own process group, adopts its
orphans and ends them; the batch adopts and ends whatever escapes. Scratch folders of a batch
that was killed are removed when the next batch starts.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed

from cnn_course.batch.plan import (
    GradingPlan,
    feedback_filter,
    grading_environment,
    learner_zygote_options,
    pytest_arguments,
    pytest_command,
)
from cnn_course.batch.results_log import read_results_log
from cnn_course.batch.submissions import (
    Submission,
    SubmissionError,
    copy_folder,
    extract_zip,
    lessons_folder,
    submitted_at,
)
from cnn_course.batch.supervisor import Children, ForkServer, run_limited
from cnn_course.batch.verdicts import (
    exercise_results,
    link_notes,
    model_notes,
    rejected,
    with_link_notes,
    with_model_notes,
)
from cnn_course.gradebook.hygiene import FeedbackFilter, printable
from cnn_course.gradebook.records import file_stem
from cnn_course.gradebook.results import SubmissionResult
from cnn_course.runtime.fs import remove_tree
from cnn_course.runtime.processes import become_subreaper


def grade_submission(
    plan: GradingPlan,
    submission: Submission,
    children: Children | None = None,
    clean: FeedbackFilter | None = None,
    server: ForkServer | None = None,
) -> SubmissionResult:
    """Grade one submission in a fresh subprocess under the plan's limits; never raises for a bad submission."""
    started = time.monotonic()
    clean = clean or feedback_filter(plan)
    scratch = plan.scratch / file_stem(submission.learner)
    if scratch.exists():
        remove_tree(scratch)
    scratch.mkdir(parents=True)
    try:
        try:
            when = submitted_at(submission.path)
        except OSError:
            when = None
        links: list[str] = []
        try:
            copy = scratch / "submission"
            if submission.path.is_file():
                copy.mkdir()
                links = extract_zip(submission.path, copy)
            else:
                links = copy_folder(submission.path, copy)
            lessons = lessons_folder(copy)
        except SubmissionError as error:
            names = ", ".join(map(printable, links))
            ignored = f" It holds symbolic links, which the grader ignores: {names}." if links else ""
            return rejected(plan, submission, str(error) + ignored, when)
        work, temporary, results_log = scratch / "work", scratch / "tmp", scratch / "results.jsonl"
        work.mkdir()  # the grading process's working folder: anything written there is thrown away
        temporary.mkdir()
        log = plan.logs / f"{file_stem(submission.learner)}.log"
        key = secrets.token_bytes(32)
        children = children or Children()
        environment = grading_environment(plan, temporary)
        if server is not None:
            request = {
                "argv": pytest_arguments(plan, lessons, results_log),
                "cwd": str(work),
                "env": environment,
                "log": str(log),
                "key": key.hex(),
                "memory": int(plan.memory_limit_gib * 2**30),
            }
            code = server.run(request, plan.time_limit, children)
        else:
            code = run_limited(
                pytest_command(plan, lessons, results_log), work, environment, log, plan.time_limit, children, key
            )
        exercises, run, note = exercise_results(plan, log, read_results_log(results_log, key), code, clean.clean)
        exercises = [with_model_notes(e, model_notes(lessons)) for e in exercises]
        exercises, unplaced = with_link_notes(exercises, link_notes(links, copy, lessons))
        note = "; ".join(filter(None, [note, *unplaced]))
    finally:
        remove_tree(scratch)
    return SubmissionResult(
        submission.learner, submission.source, exercises, time.monotonic() - started, run, clean.clean(note), when
    )


def grade_batch(
    plan: GradingPlan, submissions: list[Submission], on_done: Callable[[SubmissionResult], None] = lambda result: None
) -> list[SubmissionResult]:
    """Grade every submission, plan.jobs at a time; call on_done as each finishes; return results in input order.

    The calling process adopts orphans of the grading processes (Linux) and ends them as each
    submission finishes; an interrupted batch (KeyboardInterrupt, an exception in `on_done`) kills
    every grading process before it re-raises.
    """
    plan.logs.mkdir(parents=True, exist_ok=True)
    become_subreaper()
    results: dict[str, SubmissionResult] = {}
    children = Children()
    clean = feedback_filter(plan)
    server = (
        ForkServer(grading_environment(plan, plan.scratch), children, learner_zygote_options(plan), plan.jobs)
        if plan.fork_server and submissions
        else None
    )
    try:
        with ThreadPoolExecutor(max_workers=plan.jobs, thread_name_prefix="grade") as pool:
            futures = [
                pool.submit(grade_submission, plan, submission, children, clean, server) for submission in submissions
            ]
            try:
                for future in as_completed(futures):
                    result = future.result()
                    children.end_strays()
                    results[result.learner] = result
                    on_done(result)
            except BaseException:
                for future in futures:
                    future.cancel()
                children.kill_all()
                raise
    finally:
        if server is not None:
            server.close()
    children.end_strays()
    return [results[submission.learner] for submission in submissions]
