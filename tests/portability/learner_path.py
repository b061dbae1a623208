"""The learner's path on this system: grade solved lessons, a broken copy, and run `self_check`.

Run from the repository root, with the interpreter to test:

    python -m tests.portability.learner_path --lessons 01_mnist_data,02_mnist_cnn --out DIR

It grades the masters of the given lessons with pytest (every exercise must pass), then a copy of
them with one typical mistake per exercise (each must fail, with its hint), then runs `self_check`
in a fresh interpreter on a correct and a wrong function, once with an output encoding that has no
"✔" (cp1252, a Windows console's). It writes every verdict to DIR/verdicts.json, so that runs on
two systems or two backends can be compared, and exits 1 when an expectation is not met.

The GitHub Actions workflow `.github/workflows/learner-path.yml` runs it on Windows, macOS and
Linux; `tests/portability/test_posixless.py` runs it here under an interpreter without the POSIX-only
APIs Windows lacks, and compares its verdicts with the fork backend's.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

# One seed for the checks' drawn arguments: the same messages on every system, so verdicts compare.
CHECK_SEED = "2024"
REPO = Path(__file__).resolve().parents[2]

# (lesson, exact text in the master, replacement, the exercise's test, a phrase its verdict must hold)
MISTAKES = [
    (
        "01_mnist_data",
        'return images.astype("float32") / 255.0',
        'return images.astype("float32")',
        "test_scale_images",
        "[0, 1]",
    ),
    (
        "01_mnist_data",
        "return np.bincount(labels, minlength=num_classes)",
        "return np.bincount(labels)",
        "test_count_per_class",
        "count_per_class",
    ),
    (
        "01_mnist_data",
        "return keras.utils.to_categorical(labels, num_classes=num_classes)",
        "while True:\n        pass",
        "test_one_hot",
        "did not finish within",
    ),
    ("02_mnist_cnn", "            layers.Flatten(),\n", "", "test_build_mnist_cnn", "build_mnist_cnn"),
    (
        "02_mnist_cnn",
        "return (kernel_size * kernel_size * in_channels + 1) * filters",
        "return kernel_size * kernel_size * in_channels * filters",
        "test_conv2d_param_count",
        "bias",
    ),
]

SELF_CHECK = """
import numpy as np
from cnn_course.checks import self_check, CheckFailed

def scale_images(images):
    return images.astype("float32") / 255.0

self_check(scale_images)

def scale_images(images):
    return images.astype("float32")

try:
    self_check(scale_images)
except CheckFailed as verdict:
    print("verdict:", str(verdict).splitlines()[0])
"""


def grade(
    python: str, target: Path, lessons: list[str], junit: Path, extra: list[str]
) -> tuple[int, dict[str, list[str]], str]:
    """Run the graders of `lessons` on `target`.

    Return pytest's exit code, {test: [outcome, message]} and its output.
    """
    command = [
        python,
        "-m",
        "pytest",
        "tests/graders",
        "--target",
        str(target),
        "-p",
        "no:cacheprovider",
        f"--junitxml={junit}",
        "--check-seed",
        CHECK_SEED,
        "-k",
        " or ".join(lessons),
        *extra,
    ]
    completed = subprocess.run(
        command, cwd=REPO, capture_output=True, text=True, encoding="utf-8", errors="replace", timeout=1800
    )
    results = {}
    if junit.is_file():
        for case in ET.parse(junit).getroot().iter("testcase"):
            outcome, message = "passed", ""
            for kind in ("failure", "error", "skipped"):
                element = case.find(kind)
                if element is not None:
                    outcome, message = kind, element.get("message") or ""
            results[case.get("name")] = [outcome, message]
    return completed.returncode, results, completed.stdout + completed.stderr


def broken_copy(lessons: list[str], folder: Path) -> Path:
    """Copy the masters of `lessons` into `folder` with the mistakes of MISTAKES; return the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for stem in lessons:
        shutil.copy2(REPO / "solutions" / f"{stem}.py", folder / f"{stem}.py")
    for stem, old, new, _, _ in MISTAKES:
        if stem in lessons:
            path = folder / f"{stem}.py"
            text = path.read_text(encoding="utf-8")
            if old not in text:
                raise SystemExit(f"the master {stem} changed: update the mistake replacing {old[:60]!r}")
            path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return folder


def self_check_run(python: str, encoding: str) -> str:
    """Run SELF_CHECK in a fresh interpreter whose standard output encodes with `encoding`; return what it printed."""
    environment = {**os.environ, "PYTHONIOENCODING": encoding}
    completed = subprocess.run([python, "-c", SELF_CHECK], cwd=REPO, capture_output=True, env=environment, timeout=600)
    return completed.stdout.decode(encoding, errors="replace") + completed.stderr.decode(encoding, errors="replace")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lessons", default="01_mnist_data,02_mnist_cnn", help="comma-separated lesson stems")
    parser.add_argument("--out", type=Path, required=True, help="folder for the broken copy and verdicts.json")
    parser.add_argument("--python", default=sys.executable, help="the interpreter to test (default: this one)")
    parser.add_argument(
        "--exercise-timeout", default="10", help="seconds per exercise (the endless loop waits this long)"
    )
    args = parser.parse_args(argv)
    lessons = [stem.strip() for stem in args.lessons.split(",") if stem.strip()]
    args.out.mkdir(parents=True, exist_ok=True)
    extra = ["--exercise-timeout", args.exercise_timeout]
    problems: list[str] = []

    code, solved, output = grade(args.python, REPO / "solutions", lessons, args.out / "solved.xml", extra)
    if code != 0 or not solved or any(outcome != "passed" for outcome, _ in solved.values()):
        problems.append(f"the solved lessons do not all pass (exit {code}):\n{output[-4000:]}")
    code, broken, output = grade(
        args.python, broken_copy(lessons, args.out / "broken lessons (José)"), lessons, args.out / "broken.xml", extra
    )
    for stem, _, _, test, phrase in MISTAKES:
        if stem in lessons:
            outcome, message = broken.get(test, ["missing", ""])
            if outcome != "failure" or phrase not in message:
                problems.append(f"{test}: expected a failure saying {phrase!r}, got {outcome}: {message[:500]}")

    checked = {encoding: self_check_run(args.python, encoding) for encoding in ("utf-8", "cp1252")}
    if "✔ scale_images passes every check." not in checked["utf-8"] or "verdict: scale_images" not in checked["utf-8"]:
        problems.append(f"self_check (UTF-8 output) said:\n{checked['utf-8'][-2000:]}")
    if "OK scale_images passes every check." not in checked["cp1252"] or "Traceback" in checked["cp1252"]:
        problems.append(f"self_check (cp1252 output) said:\n{checked['cp1252'][-2000:]}")

    verdicts = {"solved": solved, "broken": broken, "self_check": {k: v.splitlines()[-2:] for k, v in checked.items()}}
    (args.out / "verdicts.json").write_text(json.dumps(verdicts, indent=1, ensure_ascii=False), encoding="utf-8")
    for problem in problems:
        print(f"PROBLEM: {problem}", file=sys.stderr)
    print(
        f"learner path: {len(solved)} solved tests, {len(broken)} broken-copy tests, self_check; "
        f"{'every expectation met' if not problems else f'{len(problems)} problems'} "
        f"(verdicts in {args.out / 'verdicts.json'})"
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
