"""What a batch grades every submission against, and the grading process's command, arguments and environment."""

from __future__ import annotations

import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from cnn_course.authoring.course_config import CourseConfig, ExerciseSpec
from cnn_course.gradebook.hygiene import FeedbackFilter, secret_lines
from cnn_course.gradebook.records import Assignment


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
        "-c",
        str(plan.root / "pyproject.toml"),
        "--rootdir",
        str(plan.root),
        "-p",
        "no:cacheprovider",
        "-p",
        "cnn_course.batch.collect",
        "-q",
        "--tb=short",
        "-W",
        "ignore::pytest.PytestAssertRewriteWarning",  # the fork server imported the plugins before pytest started
        str(config.graders),
        *([str(hidden), "--hidden-tests", str(hidden)] if hidden else []),
        "--target",
        str(lessons),
        "--exercises",
        ",".join(spec.name for spec in plan.exercises),
        "--results-log",
        str(results_log),
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
    """Return the command of a grading process started on its own (`cnn_course.batch.worker`)."""
    memory = str(int(plan.memory_limit_gib * 2**30))
    return [
        sys.executable,
        "-m",
        "cnn_course.batch.worker",
        memory,
        str(os.getpid()),
        *pytest_arguments(plan, lessons, results_log),
    ]


def learner_zygote_options(plan: GradingPlan) -> list[str]:
    """The fork server's options to keep one learner zygote per job, in the plan's sandbox."""
    return [
        "--learner-slots",
        str(plan.jobs),
        "--learner-sandbox",
        plan.sandbox,
        "--learner-memory",
        str(int(plan.memory_limit_gib * 2**30)),
    ]


def grading_environment(plan: GradingPlan, temporary: Path) -> dict[str, str]:
    """The grading process's environment.

    Its share of the CPU threads, quiet TensorFlow, temporary files in `temporary`.
    """
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


def feedback_filter(plan: GradingPlan) -> FeedbackFilter:
    """The filter every learner-facing message of this plan goes through."""
    config = plan.config
    public = sorted(config.graders.glob("*.py")) if config.graders.is_dir() else []
    hidden = {config.hidden_tests: "<hidden tests>"} if config.hidden_tests else {}
    paths = {
        plan.root: "<course>",
        config.solutions: "<course>/solutions",
        config.graders: "<graders>",
        **hidden,
        plan.scratch: "",
        Path(tempfile.gettempdir()): "<tmp>",
    }
    return FeedbackFilter(paths, secret_lines(config.solutions, config.lessons, config.hidden_tests, public))
