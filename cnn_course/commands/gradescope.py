"""The Gradescope autograder: `cnn-course assign --gradescope OUT.zip` builds the upload, and the last step of
its `run_autograder` (`python -m cnn_course.commands.gradescope finish GRADES RESULTS`) writes results.json.

The zip holds, at its top, `setup.sh` and `run_autograder` (Gradescope's two required files) and the course
as `cnn-course grade` needs it: the package, the packaging files, the course configuration, the graders and
the hidden tests; with a data folder, the official MNIST and CIFAR-10 files under `data/`, so that grading
needs no network. No solutions, lessons or saved models. Gradescope unpacks it into /autograder/source,
runs `setup.sh` once as root to build the image, then `run_autograder` as root in a fresh container per
submission, with the learner's files in /autograder/submission.

`finish` runs after every learner process has ended: it writes /autograder/results/results.json from the
grades folder's records (themselves made from the grading run's signed results log), replacing whatever is
there under that name, so nothing the submission wrote there reaches Gradescope.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import stat
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from cnn_course.authoring.course_config import COURSE_FILE, PYPROJECT, CourseConfig, load_config
from cnn_course.data import cifar10_files, mnist_files
from cnn_course.gradebook.exports import gradescope_results
from cnn_course.gradebook.records import RecordsError, read_assignment, read_records

DATA_DIR = "data"
COURSE = ("README.md", "LICENSE", "pyproject.toml", "jupytext.toml", "cnn_course", "tests/__init__.py")
_SKIPPED_NAMES = {"__pycache__", ".ipynb_checkpoints", ".pytest_cache"}
_SKIPPED_SUFFIXES = (".pyc", ".egg-info")

SETUP_SH = """\
#!/usr/bin/env bash
# Gradescope autograder setup for cnn-course, written by `cnn-course assign --gradescope`. Gradescope runs it
# once, as root, when it builds the autograder image (choose the Ubuntu 24.04 base image), with this zip
# unpacked in /autograder/source. It installs the course in /autograder/venv and checks the datasets the
# graders evaluate saved models on: the official files in /autograder/source/data when the zip has them
# (grading then needs no network), else a download through keras.datasets into the image, now.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# bubblewrap: the learner sandbox, used where the container lets it create namespaces (run_autograder's output says).
apt-get install -y -qq --no-install-recommends python3 python3-venv python3-pip bubblewrap >/dev/null
python3 -m venv /autograder/venv
/autograder/venv/bin/python -m pip install --quiet --upgrade pip
/autograder/venv/bin/python -m pip install --quiet -e /autograder/source
if [ -d /autograder/source/data ]; then export CNN_COURSE_DATA=/autograder/source/data; fi
/autograder/venv/bin/python -c "from cnn_course import data; data.load_mnist(); data.load_cifar10()"
/autograder/venv/bin/cnn-course doctor
"""

RUN_AUTOGRADER = """\
#!/usr/bin/env bash
# Gradescope autograder for cnn-course, written by `cnn-course assign --gradescope`. Gradescope runs it once per
# submission, as root, in a fresh container, with the learner's files in /autograder/submission: a folder of
# lessons (with models/), or a course clone with lessons/. They are graded by `cnn-course grade` with the
# graders and hidden tests of /autograder/source, never with any the submission brings; its second line says
# whether learner code runs in the bubblewrap sandbox or as a plain process under the same limits. Then
# results.json is written from the grader's own records, after every learner process has ended.
set -uo pipefail
cd /autograder/source
if [ -d data ]; then export CNN_COURSE_DATA=/autograder/source/data; fi
grades=$(mktemp -d /tmp/grades.XXXXXX)
/autograder/venv/bin/cnn-course grade /autograder/submission --out "$grades/out" --jobs 1{config}
exec /autograder/venv/bin/python -m cnn_course.commands.gradescope finish "$grades/out" /autograder/results{config}
"""


class AutograderError(Exception):
    """The autograder cannot be built as asked; the message says why and what to do."""


@dataclass(frozen=True)
class AutograderReport:
    """What went into the autograder zip."""

    path: Path
    files: int
    bytes: int
    datasets: tuple[str, ...]


def _course_files(root: Path, config: CourseConfig) -> list[tuple[str, Path]]:
    """(name in the zip, file) for the course part of the autograder: package, config, graders, hidden tests."""
    folders = [("graders", config.graders)] + ([("hidden tests", config.hidden_tests)] if config.hidden_tests else [])
    names = list(COURSE)
    for what, folder in folders:
        if not folder.resolve().is_relative_to(root):
            raise AutograderError(
                f"the {what} ({folder}) are outside the course folder {root}; "
                "move them inside it to build the autograder."
            )
        names.append(str(folder.resolve().relative_to(root)))
    if config.source is not None:
        if not config.source.resolve().is_relative_to(root):
            raise AutograderError(
                f"the course configuration {config.source} is outside the course folder {root}; move it inside it."
            )
        names.append(str(config.source.resolve().relative_to(root)))
    found: dict[str, Path] = {}
    for name in names:
        source = root / name
        paths = (
            [source]
            if source.is_file()
            else sorted(p for p in source.rglob("*") if p.is_file())
            if source.is_dir()
            else []
        )
        for path in paths:
            parts = path.relative_to(root).parts
            if any(part in _SKIPPED_NAMES or part.endswith(_SKIPPED_SUFFIXES) for part in parts):
                continue
            found["/".join(parts)] = path
    return sorted(found.items())


def _data_files(data_dir: Path) -> list[tuple[str, Path]]:
    """(name in the zip, file) for the official MNIST and CIFAR-10 files found in `data_dir` (DataError if missing)."""
    mnist, cifar10 = mnist_files(data_dir) or [], cifar10_files(data_dir) or []
    return [(f"{DATA_DIR}/mnist/{p.name}", p) for p in mnist] + [
        (f"{DATA_DIR}/cifar-10-batches-py/{p.name}", p) for p in cifar10
    ]


def _config_option(root: Path, config: CourseConfig) -> str:
    """The --config option run_autograder passes, or "" where `cnn-course grade` finds the configuration itself."""
    if config.source is None or config.source.resolve() in (root / COURSE_FILE, root / PYPROJECT):
        return ""
    return f" --config {config.source.resolve().relative_to(root).as_posix()}"


def _add(archive: zipfile.ZipFile, name: str, data: bytes, executable: bool = False, compress: bool = True) -> None:
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
    info.external_attr = ((0o755 if executable else 0o644) | stat.S_IFREG) << 16
    info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    archive.writestr(info, data)


def write_autograder(root: Path, config: CourseConfig, out: Path, data_dir: Path | None) -> AutograderReport:
    """Write the Gradescope autograder zip for the course at `root` to `out` (replaced if it exists).

    With `data_dir` (a folder holding mnist/ and cifar-10-batches-py/, as CNN_COURSE_DATA does), the
    datasets go into the zip under data/; without, setup.sh downloads them when Gradescope builds the image.
    Raises AutograderError when the graders, hidden tests or configuration are outside `root`, DataError
    when `data_dir` lacks a dataset file.
    """
    root = root.resolve()
    out = out.resolve()
    if out.suffix != ".zip":
        raise AutograderError(f"{out}: name a .zip file, e.g. autograder.zip.")
    option = _config_option(root, config)
    files = _course_files(root, config)
    data = _data_files(data_dir) if data_dir is not None else []
    out.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    os.close(handle)
    try:
        with zipfile.ZipFile(temporary, "w") as archive:
            _add(archive, "setup.sh", SETUP_SH.encode(), executable=True)
            _add(archive, "run_autograder", RUN_AUTOGRADER.format(config=option).encode(), executable=True)
            for name, path in files:
                _add(archive, name, path.read_bytes())
            for name, path in data:
                _add(archive, name, path.read_bytes(), compress=False)
        os.replace(temporary, out)
    finally:
        Path(temporary).unlink(missing_ok=True)
    datasets = tuple(sorted({name.split("/")[1] for name, _ in data}))
    return AutograderReport(out, 2 + len(files) + len(data), out.stat().st_size, datasets)


def _unreadable_results(reason: str) -> dict:
    return {
        "score": 0,
        "output": (
            f"The autograder could not grade this submission: {reason}. Ask your instructor, "
            "who can read the autograder's output."
        ),
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": [],
    }


def results_document(grades: Path, hidden_visibility: str) -> dict:
    """Gradescope's results.json for a grades folder's one submission, or a zero score saying it could not be graded."""
    try:
        records = read_records(grades) if read_assignment(grades) is not None else {}
    except RecordsError as error:
        return _unreadable_results(str(error))
    if len(records) != 1:
        return _unreadable_results(
            "grading ended without a result (see the autograder's output)"
            if not records
            else "more than one submission was graded"
        )
    return gradescope_results(next(iter(records.values())), hidden_visibility)


def write_results(document: dict, results: Path) -> Path:
    """Write `document` as results/results.json, replacing whatever holds that name (a file, link or folder)."""
    if results.is_symlink() or (results.exists() and not results.is_dir()):
        results.unlink()
    results.mkdir(parents=True, exist_ok=True)
    target = results / "results.json"
    if target.is_dir() and not target.is_symlink():
        shutil.rmtree(target)
    handle, temporary = tempfile.mkstemp(prefix=".results.", dir=results)
    with os.fdopen(handle, "w", encoding="utf-8") as stream:
        stream.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    os.chmod(temporary, 0o644)
    os.replace(temporary, target)
    return target


def main(argv: list[str] | None = None) -> int:
    """`python -m cnn_course.commands.gradescope finish GRADES RESULTS [--config FILE]`: run_autograder's last step."""
    parser = argparse.ArgumentParser(
        prog="python -m cnn_course.commands.gradescope", description=__doc__.splitlines()[0]
    )
    parser.add_argument("step", choices=["finish"], help="finish: write results.json for the graded submission")
    parser.add_argument("grades", type=Path, help="the grades folder `cnn-course grade --out` wrote")
    parser.add_argument("results", type=Path, help="Gradescope's results folder, /autograder/results")
    parser.add_argument(
        "--config", type=Path, help="course configuration file (default: course.toml, else [tool.cnn-course])"
    )
    args = parser.parse_args(argv)
    visibility = load_config(Path("."), args.config).gradescope_hidden_visibility
    document = results_document(args.grades, visibility)
    path = write_results(document, args.results)
    print(f"wrote {path}: {document.get('output', '')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
