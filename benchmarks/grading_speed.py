"""How long a learner waits for `pytest` on a fully solved course (every exercise, saved models present).

    python -m benchmarks.grading_speed [--runs N] [--models DIR] [--backends fork,spawn] [--lesson 01]
        [-- PYTEST_ARGS...]

Copies the masters (solutions/) into a temporary folder with their saved models (from `--models`,
default solutions/models/; where a model is missing, an untrained reference model of the same
architecture is saved instead, which costs the same to load and evaluate), then times `pytest
tests/graders --target COPY` as a whole process from the shell, for one lesson and for the whole
course, with each learner-process backend in turn (`fork`: one zygote imports TensorFlow once and
forks a process per lesson; `spawn`: one interpreter imports it once and runs each lesson in a
namespace), N interleaved runs each. It prints each run's wall time with the machine's load average
before it, the processor, and a table of medians with the spawn/fork ratio.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAVED = {"mnist_cnn.keras": "build_mnist_cnn", "cifar10_cnn.keras": "build_cifar10_seed_cnn"}
HISTORIES = ("mnist_cnn_history.json", "cifar10_cnn_history.json")


def solved_copy(destination: Path, models: Path) -> Path:
    """Write the masters and their saved models (or stand-ins) into `destination`; return it."""
    destination.mkdir(parents=True)
    for path in (REPO / "solutions").glob("[0-9][0-9]_*"):
        if path.suffix in (".py", ".ipynb"):
            shutil.copy2(path, destination / path.name)
    (destination / "models").mkdir()
    for path in (
        models.glob("*") if models.is_dir() else ()
    ):  # every model the training lessons saved (lessons 3, 5, 7, 8)
        if path.is_file():
            shutil.copy2(path, destination / "models" / path.name)
    for name, builder in SAVED.items():
        if not (models / name).is_file():
            from cnn_course import models as reference

            getattr(reference, builder)().save(destination / "models" / name)
    for name in HISTORIES:
        source = models / name
        (destination / "models" / name).write_text(
            source.read_text() if source.is_file() else '{"val_accuracy": [0.5]}'
        )
    now = time.time() + 1
    for path in (destination / "models").iterdir():
        os.utime(path, (now, now))
    return destination


def cpu_model() -> str:
    """The processor's name (from /proc/cpuinfo on Linux, else the platform's word for it)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def time_pytest(target: Path, backend: str, pytest_args: list[str]) -> tuple[float, float, int, str]:
    """Time `pytest tests/graders --target TARGET` as a whole process from the shell.

    Return seconds, load before, exit code, summary.
    """
    load = os.getloadavg()[0]
    environment = {**os.environ, "CNN_COURSE_LEARNER_BACKEND": backend}
    start = time.perf_counter()
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "tests/graders",
            "--target",
            str(target),
            "-q",
            "-p",
            "no:cacheprovider",
            *pytest_args,
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=environment,
    )
    seconds = time.perf_counter() - start
    summary = next(
        (
            line
            for line in reversed(completed.stdout.splitlines())
            if " in " in line and ("passed" in line or "failed" in line)
        ),
        completed.stderr[-300:],
    )
    return seconds, load, completed.returncode, summary.strip("= ")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of each (scope, backend), interleaved")
    parser.add_argument("--models", type=Path, default=REPO / "solutions" / "models")
    parser.add_argument("--backends", default="fork,spawn", help="learner-process backends to compare, in one run")
    parser.add_argument("--lesson", default="01", help="the -k expression of the one-lesson scope ('' to skip it)")
    parser.add_argument(
        "pytest_args", nargs="*", help="more pytest arguments for the full-course scope, e.g. -k 'not saved'"
    )
    args = parser.parse_args(argv)
    backends = [name.strip() for name in args.backends.split(",") if name.strip()]
    scopes = ([(f"one lesson (-k {args.lesson})", ["-k", args.lesson])] if args.lesson else []) + [
        ("full course", list(args.pytest_args))
    ]
    stand_ins = [name for name in SAVED if not (args.models / name).is_file()]
    with tempfile.TemporaryDirectory(prefix="cnn-course-grading-speed-") as scratch:
        target = solved_copy(Path(scratch) / "lessons", args.models)
        print(
            f"# pytest on a fully solved course, timed from the shell: {cpu_model()}, {os.cpu_count()} cores, "
            f"{platform.system()}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
        )
        if stand_ins:
            print(
                f"# untrained stand-ins (same architecture, same cost to load and evaluate) for: {', '.join(stand_ins)}"
            )
        results: dict[tuple[str, str], list[float]] = {}
        for run in range(1, args.runs + 1):
            for scope, scope_args in scopes:
                for backend in backends:
                    seconds, load, code, summary = time_pytest(target, backend, scope_args)
                    results.setdefault((scope, backend), []).append(seconds)
                    print(
                        f"run {run}, {scope}, {backend}: {seconds:.1f} s (load average before: {load:.1f}); "
                        f"exit {code}; {summary}",
                        flush=True,
                    )
        print("\n| scope | " + " | ".join(f"{backend} (median of {args.runs})" for backend in backends) + " | ratio |")
        print("|---|" + "---|" * (len(backends) + 1))
        for scope, _ in scopes:
            medians = [statistics.median(results[(scope, backend)]) for backend in backends]
            ratio = f"{medians[-1] / medians[0]:.2f}x" if len(medians) > 1 else ""
            print(f"| {scope} | " + " | ".join(f"{m:.1f} s" for m in medians) + f" | {ratio} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
