"""Grading submissions with the instructor's graders, each in its own limited process, several at a time.

One submission = one `pytest` subprocess (the grading process, `cnn_course.instructor.worker`) run
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

import contextlib
import errno
import fcntl
import hashlib
import hmac
import itertools
import json
import os
import queue
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from cnn_course.course_config import CourseConfig, ExerciseSpec
from cnn_course.runtime.fs import remove_tree
from cnn_course.instructor.hygiene import FeedbackFilter, secret_lines
from cnn_course.runtime.processes import become_subreaper, children_of, end_processes
from cnn_course.instructor.records import Assignment, file_stem
from cnn_course.instructor.results import ExerciseResult, SubmissionResult, worst
from cnn_course.instructor.submissions import (
    Submission,
    SubmissionError,
    copy_folder,
    extract_zip,
    lessons_folder,
    model_file_problem,
    submitted_at,
)

_MEMORY_SIGNS = re.compile(r"MemoryError|bad_alloc|Cannot allocate memory|out of memory|OOM|ResourceExhausted", re.IGNORECASE)
SCRATCH_PARENT = "cnn-course-grading"
_LOCK = ".lock"


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
    sandbox: str = "none"  # how learner processes run: "bwrap" or "none"
    fork_server: bool = True  # fork grading processes from one that loaded TensorFlow and the test sets once
    scratch: Path = field(default_factory=lambda: Path(tempfile.gettempdir()))

    def threads_per_job(self) -> int:
        """CPU threads each grading process may use, so that parallel jobs do not oversubscribe the cores."""
        return max(1, (os.cpu_count() or 1) // self.jobs)

    def assignment(self) -> Assignment:
        """What the grades folder records as graded: exercises, points, limits, configuration."""
        return Assignment(
            tuple((self.lessons[s.name], s.name, float(s.points)) for s in self.exercises),
            self.config.where,
            float(self.time_limit),
            float(self.memory_limit_gib),
            self.exercise_timeout,
        )


def pytest_arguments(plan: GradingPlan, lessons: Path, results_log: Path) -> list[str]:
    """Return pytest's arguments to grade the lessons in `lessons` with the plan's graders, logging to `results_log`."""
    config = plan.config
    hidden = config.hidden_tests if config.hidden_tests and config.hidden_tests.is_dir() else None
    arguments = [
        "-c", str(plan.root / "pyproject.toml"), "--rootdir", str(plan.root),
        "-p", "no:cacheprovider", "-p", "cnn_course.instructor.collect", "-q", "--tb=short",
        "-W", "ignore::pytest.PytestAssertRewriteWarning",  # the fork server imported the plugins before pytest started
        str(config.graders), *([str(hidden), "--hidden-tests", str(hidden)] if hidden else []),
        "--target", str(lessons), "--exercises", ",".join(spec.name for spec in plan.exercises),
        "--results-log", str(results_log),
    ]
    if config.source is not None:
        arguments += ["--course-config", str(config.source)]
    if plan.exercise_timeout is not None:
        arguments += ["--exercise-timeout", f"{plan.exercise_timeout:g}"]
    arguments += ["--learner-memory", f"{plan.memory_limit_gib:g}"]
    if plan.sandbox != "none":
        arguments += ["--learner-sandbox", plan.sandbox]
    return arguments


def pytest_command(plan: GradingPlan, lessons: Path, results_log: Path) -> list[str]:
    """Return the command of a grading process started on its own (`cnn_course.instructor.worker`)."""
    memory = str(int(plan.memory_limit_gib * 2**30))
    return [sys.executable, "-m", "cnn_course.instructor.worker", memory, str(os.getpid()), *pytest_arguments(plan, lessons, results_log)]


def learner_zygote_options(plan: GradingPlan) -> list[str]:
    """The fork server's options to keep one learner zygote per job, in the plan's sandbox."""
    return ["--learner-slots", str(plan.jobs), "--learner-sandbox", plan.sandbox, "--learner-memory", str(int(plan.memory_limit_gib * 2**30))]


def _environment(plan: GradingPlan, temporary: Path) -> dict[str, str]:
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
        "TMPDIR": str(temporary),  # what the grading process and its learner process write goes to the scratch folder
    }


class _Children:
    """The grading processes alive now, so that an interrupted batch can stop them all and strays are found."""

    def __init__(self) -> None:
        self._lock, self._processes, self._stopped = threading.Lock(), set[subprocess.Popen](), False
        self._groups: set[int] = set()
        self.keep: set[int] = set()  # long-lived helpers of the batch (the fork server)
        self._before = set(children_of(os.getpid()))  # not ours to end: started before the batch

    @contextmanager
    def start(self, command: list[str], **popen: Any) -> Iterator[subprocess.Popen]:
        """Start a grading process (registered before any stray search can see it); forget it on exit."""
        with self._lock:
            process = subprocess.Popen(command, **popen)
            self._processes.add(process)
            if self._stopped:
                kill_group(process)
        try:
            yield process
        finally:
            with self._lock:
                self._processes.discard(process)

    def start_helper(self, command: list[str], **popen: Any) -> subprocess.Popen:
        """Start a long-lived helper of the batch, never taken for a stray."""
        with self._lock:
            process = subprocess.Popen(command, **popen)
            self.keep.add(process.pid)
        return process

    @contextmanager
    def forked(self, pid: int) -> Iterator[None]:
        """Count a grading process the fork server started (it leads its own process group) as running."""
        with self._lock:
            self._groups.add(pid)
            if self._stopped:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)
        try:
            yield
        finally:
            with self._lock:
                self._groups.discard(pid)

    def kill_all(self) -> None:
        with self._lock:
            self._stopped = True
            for process in self._processes:
                kill_group(process)
            for pid in self._groups:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)
        self.end_strays()

    def end_strays(self) -> None:
        """End processes the batch adopted (orphans of finished grading runs): children that are not a live grading process."""
        with self._lock:
            ours = {process.pid for process in self._processes}
            strays = [pid for pid in children_of(os.getpid()) if pid not in ours | self.keep and pid not in self._before]
            end_processes(strays)


def kill_group(process: subprocess.Popen) -> None:
    """Kill a grading process and everything it started (it leads its own process group)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


class ForkServer:
    """The batch's fork server (`cnn_course.instructor.forkserver`): grading processes forked with
    TensorFlow, pytest and the test sets already loaded. Restarted if it dies."""

    def __init__(self, env: dict[str, str], children: _Children, learner_options: list[str], slots: int) -> None:
        self.env, self.children, self.learner_options = env, children, learner_options
        self._slots: queue.Queue[int] = queue.Queue()
        for slot in range(slots):
            self._slots.put(slot)
        self._lock = threading.Lock()
        self._waiting: dict[str, queue.Queue] = {}
        self._ids = itertools.count()
        self.process: subprocess.Popen | None = None

    def _ensure(self) -> subprocess.Popen:
        if self.process is None or self.process.poll() is not None:
            command = [sys.executable, "-m", "cnn_course.instructor.forkserver", str(os.getpid()), *self.learner_options]
            popen = {"env": self.env, "stdin": subprocess.PIPE, "stdout": subprocess.PIPE, "stderr": subprocess.DEVNULL, "start_new_session": True}
            self.process = self.children.start_helper(command, **popen)
            threading.Thread(target=self._read, args=(self.process,), daemon=True).start()
        return self.process

    def _read(self, process: subprocess.Popen) -> None:
        for line in process.stdout:
            message = json.loads(line)
            with self._lock:
                waiting = self._waiting.get(message["id"])
            if waiting is not None:
                waiting.put(message)
        with self._lock:  # the server died: every grading process it forked died with it
            for waiting in self._waiting.values():
                waiting.put({"exit": -signal.SIGKILL, "pid": None})

    def run(self, request: dict[str, Any], time_limit: float, children: _Children) -> int | None:
        """Have a grading process run `request`; return its exit code, or None if it ran past `time_limit` and was killed."""
        key, replies = str(next(self._ids)), queue.Queue()
        slot = self._slots.get()  # a slot's learner zygote serves one grading process at a time
        with self._lock:
            self._waiting[key] = replies
            server = self._ensure()
            server.stdin.write((json.dumps({**request, "id": key, "slot": slot}) + "\n").encode())
            server.stdin.flush()
        started = time.monotonic()
        try:
            first = replies.get()
            if "exit" in first:
                return first["exit"]
            with children.forked(first["pid"]):
                try:
                    return replies.get(timeout=max(0.0, time_limit - (time.monotonic() - started)))["exit"]
                except queue.Empty:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(first["pid"], signal.SIGKILL)
                    replies.get()
                    return None
        finally:
            with self._lock:
                self._waiting.pop(key, None)
            self._slots.put(slot)

    def close(self) -> None:
        if self.process is not None:
            kill_group(self.process)
            self.process.wait()


def run_limited(
    command: list[str], cwd: Path, env: dict[str, str], log: Path, time_limit: float, children: _Children, key: bytes
) -> int | None:
    """Run `command` with output to `log`, `key` on its stdin; return its exit code, or None if it ran past `time_limit`."""
    with open(log, "w", encoding="utf-8") as output:
        popen = {"cwd": cwd, "env": env, "stdout": output, "stderr": subprocess.STDOUT, "stdin": subprocess.PIPE, "start_new_session": True}
        with children.start(command, **popen) as process:
            try:
                with contextlib.suppress(BrokenPipeError):
                    process.stdin.write(key.hex().encode() + b"\n")
                    process.stdin.close()
                return process.wait(timeout=time_limit)
            except subprocess.TimeoutExpired:
                return None
            finally:
                kill_group(process)
                process.wait()


# ----- scratch folders: removed at the end, or when the next batch starts -------------------------


@contextmanager
def batch_scratch(parent: Path | None = None) -> Iterator[Path]:
    """A scratch folder for one batch, locked while it runs; left-overs of batches that were killed are removed first."""
    base = (parent or Path(tempfile.gettempdir())) / SCRATCH_PARENT
    base.mkdir(parents=True, exist_ok=True)
    for old in base.iterdir():
        if not old.is_dir():
            continue
        with contextlib.suppress(OSError), open(old / _LOCK, "a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as error:
                if error.errno in (errno.EAGAIN, errno.EACCES):
                    continue  # a batch running now holds it
                raise
            remove_tree(old)
    folder = Path(tempfile.mkdtemp(prefix=f"{os.getpid()}-", dir=base))
    with open(folder / _LOCK, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield folder
        finally:
            remove_tree(folder)


# ----- the results log: signed records, read back ------------------------------------------------


def sign(key: bytes, sequence: int, payload: str) -> str:
    """The tag of record number `sequence` (its JSON text `payload`) under the run's key."""
    return hmac.new(key, f"{sequence}\n{payload}".encode(), hashlib.sha256).hexdigest()


@dataclass
class ResultsLog:
    """What the grading process reported: collected tests, results by test id, the test running when it stopped."""

    collected: list[dict[str, Any]] | None = None
    results: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    running: str | None = None
    finished: bool = False
    foreign_lines: int = 0


def read_results_log(path: Path, key: bytes) -> ResultsLog:
    """Parse the collector's log, keeping only records signed with `key` in sequence; count the other lines."""
    log = ResultsLog()
    running: dict[str, Any] | None = None
    expected = 0
    raw = path.read_bytes() if path.is_file() else b""
    lines = raw.split(b"\n")
    for number, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            envelope = json.loads(line)
            payload, tag, sequence = envelope["record"], envelope["tag"], envelope["seq"]
            valid = sequence == expected and hmac.compare_digest(str(tag), sign(key, sequence, payload))
            record = json.loads(payload) if valid else None
        except (ValueError, KeyError, TypeError):
            valid, record = False, None
        if not valid or not isinstance(record, dict):
            if number < len(lines) - 1 or raw.endswith(b"\n"):  # the last line of a killed process may be cut short
                log.foreign_lines += 1
            continue
        expected += 1
        if record["event"] == "collected":
            log.collected = record["tests"]
        elif record["event"] == "start":
            running = record
        elif record["event"] == "result":
            log.results.setdefault(record["test"], []).append(record)
            if running is not None and running["test"] == record["test"]:
                running = None
        elif record["event"] == "finished":
            log.finished = True
    log.running = running and running["exercise"]
    return log


def describe_exit(code: int, log: Path) -> str:
    """Say in words how a grading process ended early, with a memory hint when its output suggests one."""
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        text = f"the grading process crashed ({name})"
        if name == "SIGKILL":
            text += ": killed by the system for using too much memory, or by the submission's own code"
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


def exercise_results(
    plan: GradingPlan, log: Path, results: ResultsLog, code: int | None, clean: Callable[[str], str]
) -> tuple[list[ExerciseResult], str, str]:
    """Combine the signed per-test records into one result per assigned exercise; return them, the run kind and a note."""
    how = "timeout" if code is None else describe_exit(code, log)
    finished_ok = code in (0, 1) and results.finished
    if code in (0, 1) and not results.finished:
        how = "the grading run ended without its closing record"
    exercises, unfinished = [], False
    for spec in plan.exercises:
        tests = [t["test"] for t in (results.collected or []) if t["exercise"] == spec.name]
        records = [record for test in tests for record in results.results.get(test, [])]
        statuses = [record["status"] for record in records]
        messages = [clean(r["message"]) for r in records if r["status"] != "passed" and r["message"]]
        if results.collected is None or any(test not in results.results for test in tests) or (not tests and not finished_ok):
            unfinished = True
            statuses.append("timeout" if code is None else "error")
            messages.append(_unfinished_message(spec.name, results.running, how, plan))
        elif not tests:
            statuses.append("error")
            messages.append(f"{spec.name}: no grader test ran for it; the instructor should check the graders.")
        status = worst(statuses)
        points = spec.points if status == "passed" else 0.0
        exercises.append(ExerciseResult(plan.lessons[spec.name], spec.name, points, spec.points, status, "\n".join(dict.fromkeys(messages))))
    forged = f"{results.foreign_lines} line(s) of the results log were not written by the grader and were ignored" if results.foreign_lines else ""
    if not unfinished and finished_ok:
        return exercises, "completed", forged
    notes = [forged] if forged else []
    if code is None:
        notes.insert(0, f"stopped at the {plan.time_limit:g} s limit" + (f" while grading {results.running}" if results.running else ""))
        return exercises, "timeout", "; ".join(notes)
    notes.insert(0, how + (f" while grading {results.running}" if results.running else ""))
    return exercises, "crashed", "; ".join(notes)


def rejected(plan: GradingPlan, submission: Submission, reason: str, when: str | None = None) -> SubmissionResult:
    """Return the result of a submission that could not be graded at all: every exercise is an error, with the reason."""
    message = f"the submission could not be graded: {reason}"
    exercises = [ExerciseResult(plan.lessons[s.name], s.name, 0.0, s.points, "error", message) for s in plan.exercises]
    return SubmissionResult(submission.learner, submission.source, exercises, 0.0, "rejected", reason, when)


def feedback_filter(plan: GradingPlan) -> FeedbackFilter:
    """The filter every learner-facing message of this plan goes through."""
    config = plan.config
    public = sorted(config.graders.glob("*.py")) if config.graders.is_dir() else []
    hidden = {config.hidden_tests: "<hidden tests>"} if config.hidden_tests else {}
    paths = {plan.root: "<course>", config.solutions: "<course>/solutions", config.graders: "<graders>", **hidden, plan.scratch: "", Path(tempfile.gettempdir()): "<tmp>"}
    return FeedbackFilter(paths, secret_lines(config.solutions, config.lessons, config.hidden_tests, public))


def _model_notes(lessons: Path) -> dict[str, str]:
    """What is wrong with each saved-model file of a submission, by its name under models/."""
    models = lessons / "models"
    found = {f"models/{path.name}": model_file_problem(path) for path in sorted(models.glob("*.keras"))} if models.is_dir() else {}
    return {name: problem for name, problem in found.items() if problem}


def _with_model_notes(result: ExerciseResult, notes: dict[str, str]) -> ExerciseResult:
    """A saved-model exercise that did not pass, with what is wrong with its file unless its message says so already."""
    if result.status == "passed" or not result.exercise.startswith("trained_"):
        return result
    extra = [note for name, note in notes.items() if name not in result.message]
    return replace(result, message="\n".join([result.message, *extra]).strip()) if extra else result


def grade_submission(
    plan: GradingPlan,
    submission: Submission,
    children: _Children | None = None,
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
        try:
            copy = scratch / "submission"
            if submission.path.is_file():
                copy.mkdir()
                extract_zip(submission.path, copy)
            else:
                copy_folder(submission.path, copy)
            lessons = lessons_folder(copy)
        except SubmissionError as error:
            return rejected(plan, submission, str(error), when)
        work, temporary, results_log = scratch / "work", scratch / "tmp", scratch / "results.jsonl"
        work.mkdir()  # the grading process's working folder: anything written there is thrown away
        temporary.mkdir()
        log = plan.logs / f"{file_stem(submission.learner)}.log"
        key = secrets.token_bytes(32)
        children = children or _Children()
        environment = _environment(plan, temporary)
        if server is not None:
            request = {
                "argv": pytest_arguments(plan, lessons, results_log), "cwd": str(work), "env": environment,
                "log": str(log), "key": key.hex(), "memory": int(plan.memory_limit_gib * 2**30),
            }
            code = server.run(request, plan.time_limit, children)
        else:
            code = run_limited(pytest_command(plan, lessons, results_log), work, environment, log, plan.time_limit, children, key)
        exercises, run, note = exercise_results(plan, log, read_results_log(results_log, key), code, clean.clean)
        exercises = [_with_model_notes(e, _model_notes(lessons)) for e in exercises]
    finally:
        remove_tree(scratch)
    return SubmissionResult(submission.learner, submission.source, exercises, time.monotonic() - started, run, clean.clean(note), when)


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
    children = _Children()
    clean = feedback_filter(plan)
    server = ForkServer(_environment(plan, plan.scratch), children, learner_zygote_options(plan), plan.jobs) if plan.fork_server and submissions else None
    try:
        with ThreadPoolExecutor(max_workers=plan.jobs, thread_name_prefix="grade") as pool:
            futures = [pool.submit(grade_submission, plan, submission, children, clean, server) for submission in submissions]
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
