"""Run `cnn-course train mnist` several times and print its test accuracies and times, with the machine's load.

    python -m benchmarks.mnist_repeatability [--runs 2] [--modes default,nondeterministic]

Each run is a fresh process, as a learner runs the command; the whole command's wall time (start-up,
data loading, training, evaluation, writing the outputs) is reported apart from the training time
the command itself measures. Mode "default" is the command as shipped; "nondeterministic" turns
TensorFlow's op determinism off again (CNN_COURSE_NONDETERMINISTIC=1), to measure what determinism
costs. The 1-minute load average is read before and after each run: on a shared machine the times
depend on it, the accuracies should not.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MODES = {"default": {}, "nondeterministic": {"CNN_COURSE_NONDETERMINISTIC": "1"}}


def run_once(mode: str, out: Path) -> dict:
    """Run `cnn-course train mnist --out OUT` in a new process; return its metrics, wall time and load."""
    load_before = os.getloadavg()[0]
    start = time.monotonic()
    command = [sys.executable, "-m", "cnn_course.commands.cli", "train", "mnist", "--out", str(out)]
    completed = subprocess.run(command, capture_output=True, text=True, env={**os.environ, **MODES[mode]})
    wall = time.monotonic() - start
    if completed.returncode != 0:
        raise SystemExit(f"cnn-course train mnist failed ({mode}):\n{completed.stdout}\n{completed.stderr}")
    metrics = json.loads((out / "metrics.json").read_text())
    return {
        "mode": mode,
        "accuracy": metrics["test_accuracy"],
        "train_s": metrics["train_seconds"],
        "wall_s": wall,
        "load_before": load_before,
        "load_after": os.getloadavg()[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=2, help="runs per mode (default 2)")
    parser.add_argument(
        "--modes", default="default", help=f"comma-separated, of: {', '.join(MODES)} (default: default)"
    )
    args = parser.parse_args()
    modes = args.modes.split(",")
    print(
        f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()} {platform.processor() or ''}, "
        f"{os.cpu_count()} CPU cores, Python {platform.python_version()}"
    )
    results = []
    with tempfile.TemporaryDirectory() as scratch:
        for index in range(args.runs):
            for mode in modes:
                result = run_once(mode, Path(scratch) / f"{mode}-{index}")
                results.append(result)
                print(
                    f"{mode:<17} test accuracy {result['accuracy']:.2%}  training {result['train_s']:6.1f} s  whole "
                    f"command {result['wall_s']:6.1f} s  load {result['load_before']:.1f} -> "
                    f"{result['load_after']:.1f}",
                    flush=True,
                )
    for mode in modes:
        runs = [r for r in results if r["mode"] == mode]
        accuracies = sorted({f"{r['accuracy']:.2%}" for r in runs})
        print(
            f"{mode}: {len(runs)} runs, test accuracy {' / '.join(accuracies)}, training "
            f"{min(r['train_s'] for r in runs):.1f}-{max(r['train_s'] for r in runs):.1f} s, whole command "
            f"{min(r['wall_s'] for r in runs):.1f}-{max(r['wall_s'] for r in runs):.1f} s"
        )


if __name__ == "__main__":
    main()
