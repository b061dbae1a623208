"""How long a learner waits for `pytest` on a fully solved course (every exercise, saved models present).

    python -m benchmarks.grading_speed [--runs N] [--models DIR] [-- PYTEST_ARGS...]

Copies the masters (solutions/) into a temporary folder with their saved models (from `--models`,
default solutions/models/; where a model is missing, an untrained reference model of the same
architecture is saved instead, which costs the same to load and evaluate), then times `pytest
tests/graders --target COPY` as a whole process, N times, and prints each run's wall time with the
machine's load average before it. The learner processes, one per lesson, fork from one zygote
that imports TensorFlow once.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
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
    for name, builder in SAVED.items():
        if (models / name).is_file():
            shutil.copy2(models / name, destination / "models" / name)
        else:
            from cnn_course import models as reference

            getattr(reference, builder)().save(destination / "models" / name)
    for name in HISTORIES:
        source = models / name
        (destination / "models" / name).write_text(source.read_text() if source.is_file() else '{"val_accuracy": [0.5]}')
    now = time.time() + 1
    for path in (destination / "models").iterdir():
        os.utime(path, (now, now))
    return destination


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--models", type=Path, default=REPO / "solutions" / "models")
    parser.add_argument("pytest_args", nargs="*", help="more pytest arguments, e.g. -k '01 or 02'")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="cnn-course-grading-speed-") as scratch:
        target = solved_copy(Path(scratch) / "lessons", args.models)
        print(f"# pytest on a fully solved course: {platform.machine()}, {os.cpu_count()} cores, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC")
        for run in range(1, args.runs + 1):
            load = os.getloadavg()[0]
            start = time.perf_counter()
            completed = subprocess.run(
                [sys.executable, "-m", "pytest", "tests/graders", "--target", str(target), "-q", "-p", "no:cacheprovider", *args.pytest_args],
                cwd=REPO, capture_output=True, text=True,
            )
            seconds = time.perf_counter() - start
            summary = completed.stdout.strip().splitlines()[-1] if completed.stdout.strip() else completed.stderr[-300:]
            print(f"run {run}: {seconds:.1f} s (load average before: {load:.1f}); exit {completed.returncode}; {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
