"""Lesson pairs: telling which exercises differ between the two files, and reconciling them without losing work."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import jupytext

from cnn_course.authoring.notebooks import diverged_exercises
from tests.package.conftest import LESSONS

LESSON = "02_mnist_cnn"
WRITTEN = (
    'def conv_output_size(size, kernel_size, stride=1, padding="valid"):\n'
    "    return (size - kernel_size) // stride + 1\n"
)


def copy_pair(folder: Path, stem: str = LESSON) -> tuple[Path, Path]:
    """Copy a lesson pair into `folder`; return its (.py, .ipynb) paths."""
    for suffix in (".py", ".ipynb"):
        shutil.copy(LESSONS / f"{stem}{suffix}", folder / f"{stem}{suffix}")
    return folder / f"{stem}.py", folder / f"{stem}.ipynb"


def write_exercise(path: Path, name: str, source: str) -> None:
    """Replace the exercise cell that defines `name` in the notebook at `path` with `source`, through Jupytext."""
    notebook = jupytext.read(path)
    cell = next(c for c in notebook.cells if c.cell_type == "code" and f"def {name}(" in c.source)
    cell.source = source
    jupytext.write(notebook, path)


def test_a_pair_as_generated_has_no_diverged_exercise(tmp_path):
    py, ipynb = copy_pair(tmp_path)
    assert diverged_exercises(py, ipynb) == []


def test_an_exercise_written_in_one_file_only_is_named(tmp_path):
    py, ipynb = copy_pair(tmp_path)
    write_exercise(ipynb, "conv_output_size", WRITTEN)
    assert diverged_exercises(py, ipynb) == ["conv_output_size"]


def test_blank_lines_and_trailing_spaces_do_not_count_as_a_difference(tmp_path):
    py, ipynb = copy_pair(tmp_path)
    notebook = jupytext.read(ipynb)
    cell = next(c for c in notebook.cells if c.cell_type == "code" and "def conv_output_size(" in c.source)
    cell.source = "\n" + cell.source.replace("\n", "  \n", 1) + "\n\n"
    jupytext.write(notebook, ipynb)
    assert diverged_exercises(py, ipynb) == []


def cnn_course_sync(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """Run `cnn-course sync ARGS` with no terminal on stdin, as a script or an IDE would."""
    return subprocess.run(
        [sys.executable, "-m", "cnn_course.commands.cli", "sync", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=300,
    )


def make_newer(path: Path) -> None:
    later = time.time() + 5
    os.utime(path, (later, later))


def test_sync_keeps_an_exercise_written_in_the_older_file_and_backs_up_the_newer(tmp_path):
    py, ipynb = copy_pair(tmp_path)
    write_exercise(py, "conv_output_size", WRITTEN)
    stubbed = ipynb.read_text()
    make_newer(ipynb)  # the case: JupyterLab saved the .ipynb, with its stub, after the .py was written

    completed = cnn_course_sync(str(py), cwd=tmp_path)

    assert completed.returncode == 0, completed.stderr
    assert "conv_output_size" in completed.stdout and "kept your code" in completed.stdout
    for path in (py, ipynb):
        assert "return (size - kernel_size) // stride + 1" in path.read_text()
    assert diverged_exercises(py, ipynb) == []
    assert py.stat().st_mtime >= ipynb.stat().st_mtime, "Jupytext would refuse a pair whose .py is older"
    [backup] = (tmp_path / "backups").glob(f"{LESSON}.*.ipynb")
    assert backup.read_text() == stubbed
    lessons = tmp_path / "lessons"
    lessons.mkdir()
    for path in (py, ipynb):
        path.rename(lessons / path.name)
    again = cnn_course_sync(LESSON, cwd=tmp_path)  # a bare lesson name is looked up in lessons/
    assert again.returncode == 0 and "in step" in again.stdout, again.stderr


def test_sync_without_a_terminal_refuses_to_replace_written_code_and_force_keeps_a_backup(tmp_path):
    py, ipynb = copy_pair(tmp_path)
    write_exercise(py, "conv_output_size", WRITTEN)
    mine = WRITTEN.replace("+ 1", "+ 1  # the older version")
    write_exercise(ipynb, "conv_output_size", mine)
    make_newer(py)
    before = {path: path.read_bytes() for path in (py, ipynb)}

    refused = cnn_course_sync(str(ipynb), cwd=tmp_path)

    assert refused.returncode == 1
    assert "conv_output_size" in refused.stderr and "--force" in refused.stderr and "Traceback" not in refused.stderr
    assert {path: path.read_bytes() for path in (py, ipynb)} == before
    assert not (tmp_path / "backups").exists()

    forced = cnn_course_sync(str(ipynb), "--force", cwd=tmp_path)

    assert forced.returncode == 0, forced.stderr
    assert diverged_exercises(py, ipynb) == []
    assert "# the older version" not in ipynb.read_text()
    [backup] = (tmp_path / "backups").glob(f"{LESSON}.*.ipynb")
    assert backup.read_bytes() == before[ipynb]


def test_sync_shows_both_versions_of_each_exercise_written_differently_before_it_asks(tmp_path, monkeypatch, capsys):
    from cnn_course.commands.cli import main

    py, ipynb = copy_pair(tmp_path)
    write_exercise(py, "conv_output_size", WRITTEN.replace("+ 1", "+ 1  # the newer version"))
    write_exercise(ipynb, "conv_output_size", WRITTEN.replace("+ 1", "+ 1  # the older version"))
    make_newer(py)
    prompts = []
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda prompt: prompts.append((prompt, capsys.readouterr().out)) or "n")

    assert main(["sync", str(py)]) == 1

    [(prompt, shown)] = prompts
    assert "[y/N]" in prompt
    assert f"--- {LESSON}.ipynb (older, saved " in shown and f"+++ {LESSON}.py (newer, saved " in shown, shown
    assert "-    return (size - kernel_size) // stride + 1  # the older version" in shown
    assert "+    return (size - kernel_size) // stride + 1  # the newer version" in shown
    refused = capsys.readouterr().err  # without a terminal the refusal shows the same differences
    assert "# the older version" in refused and "# the newer version" in refused


def test_backups_are_ignored_by_git_in_any_repository_and_in_the_course(tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    py, ipynb = copy_pair(tmp_path)
    write_exercise(py, "conv_output_size", WRITTEN)
    make_newer(ipynb)
    assert cnn_course_sync(str(py), cwd=tmp_path).returncode == 0
    assert list((tmp_path / "backups").glob(f"{LESSON}.*.ipynb"))

    git_status = ["git", "status", "--porcelain", "--untracked-files=all"]
    status = subprocess.run(git_status, cwd=tmp_path, capture_output=True, text=True, check=True)

    assert "backups" not in status.stdout, status.stdout
    backup = "lessons/backups/01_mnist_data.20250101-120000.ipynb"
    course = subprocess.run(["git", "check-ignore", "--no-index", backup], cwd=LESSONS.parent)
    assert course.returncode == 0, "the course's .gitignore does not ignore lessons/backups/"
