"""Grading submissions with the instructor's graders, each in its own limited process, several at a time.

One submission = one `pytest` subprocess run from the course root on the instructor's graders (and
hidden tests) with `--target` pointing at the submission's lessons, so nothing the submission
ships (its own tests, conftest.py or pyproject.toml) takes part. The process gets a wall-clock
limit and an address-space limit; whatever it finished before it was stopped or crashed keeps its
marks, and every other exercise gets a status and a reason. One submission's failure never stops
the batch.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cnn_course.course_config import CourseConfig, ExerciseSpec
from cnn_course.instructor.results import ExerciseResult, SubmissionResult, worst
from cnn_course.instructor.submissions import Submission, SubmissionError, extract_zip, lessons_folder

_MEMORY_SIGNS = re.compile(r"MemoryError|bad_alloc|Cannot allocate memory|out of memory|OOM|ResourceExhausted", re.IGNORECASE)


@dataclass(frozen=True)
class GradingPlan:
    """What every submission is graded against: the course root, graders, assigned exercises and limits."""

    root: Path
    config: CourseConfig
    exercises: list[ExerciseSpec]
    lessons: dict[str, str]  # exercise -> lesson
    logs: Path
    time_limit: float
    memory_limit_gib: float
    exercise_timeout: float | None = None
    jobs: int = 1

    def threads_per_job(self) -> int:
        """CPU threads each grading process may use, so that parallel jobs do not oversubscribe the cores."""
        return max(1, (os.cpu_count() or 1) // self.jobs)


def pytest_command(plan: GradingPlan, lessons: Path, results_log: Path) -> list[str]:
    """Return the command that grades the lessons in `lessons` with the plan's graders, logging to `results_log`."""
    config = plan.config
    hidden = config.hidden_tests if config.hidden_tests and config.hidden_tests.is_dir() else None
    command = [
        sys.executable, "-m", "cnn_course.instructor.worker", str(int(plan.memory_limit_gib * 2**30)),
        "-c", str(plan.root / "pyproject.toml"), "--rootdir", str(plan.root),
        "-p", "no:cacheprovider", "-p", "cnn_course.instructor.collect", "-q", "--tb=short",
        str(config.graders), *([str(hidden), "--hidden-tests", str(hidden)] if hidden else []),
        "--target", str(lessons), "--exercises", ",".join(spec.name for spec in plan.exercises),
        "--results-log", str(results_log),
    ]
    if config.source is not None:
        command += ["--course-config", str(config.source)]
    if plan.exercise_timeout is not None:
        command += ["--exercise-timeout", f"{plan.exercise_timeout:g}"]
    return command


def _environment(plan: GradingPlan) -> dict[str, str]:
    threads = str(plan.threads_per_job())
    return {
        **os.environ,
        "MALLOC_ARENA_MAX": "2",  # glibc's per-thread arenas would otherwise reserve ~1 GiB of address space
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "TF_NUM_INTRAOP_THREADS": threads,
        "TF_NUM_INTEROP_THREADS": threads,
        "OMP_NUM_THREADS": threads,
        "MPLBACKEND": "Agg",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


class _Children:
    """The grading processes alive now, so that an interrupted batch can stop them all."""

    def __init__(self) -> None:
        self._lock, self._processes, self._stopped = threading.Lock(), set[subprocess.Popen](), False

    @contextmanager
    def running(self, process: subprocess.Popen) -> Iterator[None]:
        with self._lock:
            self._processes.add(process)
            if self._stopped:
                kill_group(process)
        try:
            yield
        finally:
            with self._lock:
                self._processes.discard(process)

    def kill_all(self) -> None:
        with self._lock:
            self._stopped = True
            for process in self._processes:
                kill_group(process)


def kill_group(process: subprocess.Popen) -> None:
    """Kill a grading process and everything it started (it leads its own process group)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def run_limited(command: list[str], cwd: Path, env: dict[str, str], log: Path, time_limit: float, children: _Children) -> int | None:
    """Run `command` with output to `log`; return its exit code, or None if it ran past `time_limit` and was killed."""
    with open(log, "w", encoding="utf-8") as output:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        with children.running(process):
            try:
                return process.wait(timeout=time_limit)
            except subprocess.TimeoutExpired:
                return None
            finally:
                kill_group(process)
                process.wait()


def read_results_log(path: Path) -> tuple[list[dict[str, Any]] | None, dict[str, list[dict[str, Any]]], str | None]:
    """Parse the collector's log: (collected tests or None, results by test id, the test running when it stopped)."""
    collected, results, running = None, {}, None
    lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
    for line in lines:
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue  # the last line of a killed process may be cut short
        if record["event"] == "collected":
            collected = record["tests"]
        elif record["event"] == "start":
            running = record
        elif record["event"] == "result":
            results.setdefault(record["test"], []).append(record)
            if running is not None and running["test"] == record["test"]:
                running = None
    return collected, results, running and running["exercise"]


def describe_exit(code: int, log: Path) -> str:
    """Say in words how a grading process ended early, with a memory hint when its output suggests one."""
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        text = f"the grading process crashed ({name})"
        if name == "SIGKILL":
            text += ", most likely killed by the system for using too much memory"
    elif code in (2, 3, 4):
        text = f"pytest stopped with exit code {code} (interrupted, internal or usage error; see the log)"
    else:
        text = f"the grading process exited early (exit code {code})"
    output = log.read_text(encoding="utf-8", errors="replace")[-20_000:] if log.is_file() else ""
    if _MEMORY_SIGNS.search(output):
        text += "; it ran out of memory"
    return text


def _unfinished_message(exercise: str, running: str | None, how: str, plan: GradingPlan) -> str:
    if how == "timeout":
        limit = f"the {plan.time_limit:g} s limit for grading a whole submission"
        if exercise == running:
            per_exercise = plan.config.time_limits().get(exercise, plan.exercise_timeout)
            stop = f"the {per_exercise:g} s limit per exercise" if per_exercise else "the limit per exercise"
            return (
                f"{exercise}: still running when grading stopped at {limit}. Look for a loop that never ends, "
                f"or code that catches every exception (a bare `except:`) and carries on, so that {stop} cannot stop it."
            )
        during = f"while {running} was running" if running else "before this exercise's turn"
        return f"{exercise}: not graded: grading stopped at {limit}, {during}."
    if exercise == running:
        return f"{exercise}: {how} while grading this exercise."
    return f"{exercise}: not graded: {how}" + (f", while {running} was running." if running else ".")


def _relative_paths(message: str, lessons: Path) -> str:
    """Show paths inside the submission relative to its lessons folder: the learner's view, not the grader's."""
    for prefix in {str(lessons), str(lessons.resolve())}:
        message = message.replace(prefix + os.sep, "")
    return message


def exercise_results(
    plan: GradingPlan, lessons: Path, log: Path, results_log: Path, code: int | None
) -> tuple[list[ExerciseResult], str, str]:
    """Combine the per-test records into one result per assigned exercise; return them, the run kind and a note."""
    collected, results, running = read_results_log(results_log)
    how = "timeout" if code is None else describe_exit(code, log)
    finished_ok = code in (0, 1)
    exercises, unfinished = [], False
    for spec in plan.exercises:
        tests = [t["test"] for t in (collected or []) if t["exercise"] == spec.name]
        records = [record for test in tests for record in results.get(test, [])]
        statuses = [record["status"] for record in records]
        messages = [_relative_paths(r["message"], lessons) for r in records if r["status"] != "passed" and r["message"]]
        if collected is None or any(test not in results for test in tests) or (not tests and not finished_ok):
            unfinished = True
            statuses.append("timeout" if code is None else "error")
            messages.append(_unfinished_message(spec.name, running, how, plan))
        elif not tests:
            statuses.append("error")
            messages.append(f"{spec.name}: no grader test ran for it; the instructor should check the graders.")
        status = worst(statuses)
        points = spec.points if status == "passed" else 0.0
        exercises.append(ExerciseResult(plan.lessons[spec.name], spec.name, points, spec.points, status, "\n".join(dict.fromkeys(messages))))
    if not unfinished:
        return exercises, "completed", ""
    if code is None:
        return exercises, "timeout", f"stopped at the {plan.time_limit:g} s limit" + (f" while grading {running}" if running else "")
    return exercises, "crashed", how + (f" while grading {running}" if running else "")


def rejected(plan: GradingPlan, submission: Submission, reason: str) -> SubmissionResult:
    """Return the result of a submission that could not be graded at all: every exercise is an error, with the reason."""
    message = f"the submission could not be graded: {reason}"
    exercises = [ExerciseResult(plan.lessons[s.name], s.name, 0.0, s.points, "error", message) for s in plan.exercises]
    return SubmissionResult(submission.learner, str(submission.path), exercises, 0.0, "rejected", reason)


def grade_submission(plan: GradingPlan, submission: Submission, children: _Children | None = None) -> SubmissionResult:
    """Grade one submission in a fresh subprocess under the plan's limits; never raises for a bad submission."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="cnn-course-grade-") as scratch:
        scratch_path = Path(scratch)
        try:
            root = submission.path
            if root.is_file():
                root = scratch_path / "submission"
                root.mkdir()
                extract_zip(submission.path, root)
            lessons = lessons_folder(root)
        except SubmissionError as error:
            return rejected(plan, submission, str(error))
        work, results_log = scratch_path / "work", scratch_path / "results.jsonl"
        work.mkdir()  # the learner's code runs here: anything it writes is thrown away
        log = plan.logs / f"{submission.learner}.log"
        command = pytest_command(plan, lessons, results_log)
        code = run_limited(command, work, _environment(plan), log, plan.time_limit, children or _Children())
        exercises, run, note = exercise_results(plan, lessons, log, results_log, code)
    return SubmissionResult(submission.learner, str(submission.path), exercises, time.monotonic() - started, run, note)


def grade_batch(
    plan: GradingPlan, submissions: list[Submission], on_done: Callable[[SubmissionResult], None] = lambda result: None
) -> list[SubmissionResult]:
    """Grade every submission, plan.jobs at a time; call on_done as each finishes; return results in input order."""
    plan.logs.mkdir(parents=True, exist_ok=True)
    results: dict[str, SubmissionResult] = {}
    children = _Children()
    with ThreadPoolExecutor(max_workers=plan.jobs, thread_name_prefix="grade") as pool:
        futures = [pool.submit(grade_submission, plan, submission, children) for submission in submissions]
        try:
            for future in as_completed(futures):
                result = future.result()
                results[result.learner] = result
                on_done(result)
        except BaseException:
            for future in futures:
                future.cancel()
            children.kill_all()
            raise
    return [results[submission.learner] for submission in submissions]
