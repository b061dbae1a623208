"""What differs between a learner's Windows, macOS or Linux laptop, tested here by forcing the portable paths.

Letter case, spaces, accents and CRLF in lesson files; files that cannot be removed yet; consoles
that cannot print "✔"; quoted data folders; the Keras cache; time limits without SIGALRM; a learner
process that cannot start; `cnn-course grade` off Linux; and modules a learner imports on Windows.
"""

from __future__ import annotations

import io
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cnn_course.checks import ExerciseTimeout, self_check
from cnn_course.checks.calls import call_exercise
from cnn_course.console import printable
from cnn_course.grading.environment import learner_environment, user_keras_home
from cnn_course.grading.learner_client import Cell, LearnerProcess, make_host
from cnn_course.grading.lesson import choose_lesson_file, read_lesson_file
from cnn_course.runtime import backends, fs, limits

from ..package.conftest import REPO, SOLUTIONS, copy_lessons, run_graders

WINDOWS_LIKE = "Lessons of José Núñez"


@pytest.fixture
def odd_lessons(tmp_path):
    """Lesson 1's master saved as a Windows learner might: CRLF, other letter case, a folder with spaces, accents."""
    folder = tmp_path / WINDOWS_LIKE
    folder.mkdir()
    text = (SOLUTIONS / "01_mnist_data.py").read_text(encoding="utf-8")
    (folder / "01_MNIST_Data.py").write_bytes(text.replace("\n", "\r\n").encode("utf-8"))
    return folder


def test_a_lesson_in_other_letter_case_and_crlf_is_read_as_the_master(odd_lessons):
    graded, notes = choose_lesson_file(odd_lessons, "01_mnist_data")
    assert graded.path.name == "01_MNIST_Data.py"
    assert any("letter case" in note and "Rename it to 01_mnist_data.py" in note for note in notes)
    master = read_lesson_file(SOLUTIONS / "01_mnist_data.py")
    assert [cell.source for cell in graded.cells] == [cell.source for cell in master.cells]


@pytest.mark.parametrize("backend", ["fork", "spawn"])
def test_such_a_lesson_grades_like_the_master_on_both_backends(odd_lessons, backend, monkeypatch):
    monkeypatch.setenv(backends.BACKEND_VARIABLE, backend)
    run = run_graders(odd_lessons, "-k", "01", timeout=600)
    assert run.returncode == 0, run.output[-3000:]
    assert len(run.results) == 5 and all(outcome == "passed" for outcome, _ in run.results.values()), run.results
    assert "letter case" in run.output  # the scoreboard's note


def test_removing_a_scratch_folder_never_fails_on_a_file_still_open(tmp_path, monkeypatch):
    folder = tmp_path / "scratch"
    (folder / "sub").mkdir(parents=True)
    held = folder / "sub" / "model.keras"
    held.write_bytes(b"x")
    real_unlink = os.unlink

    def unlink_like_windows(path, *args, **kwargs):
        if Path(path).name == held.name:  # rmtree passes names relative to an open folder
            raise PermissionError(
                13, "The process cannot access the file because it is being used by another process", str(path)
            )
        return real_unlink(path, *args, **kwargs)

    monkeypatch.setattr(os, "unlink", unlink_like_windows)
    assert fs.remove_tree(folder, attempts=2) is False  # no exception: grading goes on
    monkeypatch.setattr(os, "unlink", real_unlink)  # the other process let go of it
    assert fs.remove_tree(folder) is True and not folder.exists()


def test_a_console_without_the_symbols_gets_words():
    cp1252 = io.TextIOWrapper(io.BytesIO(), encoding="cp1252")
    assert printable("✔ scale_images passes every check.", cp1252) == "OK scale_images passes every check."
    assert printable("✘ one_hot: … wrong", cp1252) == "X one_hot: ... wrong"
    utf8 = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    assert printable("✔ done", utf8) == "✔ done"


def test_self_check_prints_on_a_cp1252_console(capsys, monkeypatch):
    def scale_images(images):
        return images.astype("float32") / 255.0

    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(io.BytesIO(), encoding="cp1252"))
    self_check(scale_images)  # would raise UnicodeEncodeError if it printed "✔" as it is
    sys.stdout.seek(0)
    assert sys.stdout.read().startswith("OK scale_images passes every check.")


def test_a_quoted_data_folder_with_spaces_and_accents_is_found(tmp_path, monkeypatch):
    from cnn_course.data import resolve_data_dir

    folder = tmp_path / "Données d'été"
    folder.mkdir()
    monkeypatch.setenv("CNN_COURSE_DATA", f'"{folder}"')  # Windows cmd: set CNN_COURSE_DATA="C:\...\Données d'été"
    assert resolve_data_dir() == folder


def test_the_learner_process_uses_the_users_keras_cache_but_not_in_the_sandbox(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "my keras"))
    assert learner_environment(tmp_path, 1)["KERAS_HOME"] == str(user_keras_home()) == str(tmp_path / "my keras")
    assert learner_environment(tmp_path, 1, sandboxed=True)["KERAS_HOME"] == str(tmp_path / ".keras")
    assert learner_environment(tmp_path, 1)["PYTHONIOENCODING"] == "utf-8"


def test_the_watchdog_stops_a_loop_that_swallows_the_interrupt(monkeypatch):
    monkeypatch.setenv(limits.MECHANISM_VARIABLE, "watchdog")
    assert limits.mechanism() == "watchdog"

    class Stop(BaseException):
        pass

    started = time.monotonic()
    with pytest.raises(Stop), limits.time_limit(0.3, Stop):
        caught = 0
        while True:
            try:
                while True:
                    pass
            except Stop:
                caught += 1
                if caught == 2:
                    raise
    assert time.monotonic() - started < 5
    time.sleep(1.3)  # no exception is left pending after the block


def test_self_check_times_out_without_sigalrm(monkeypatch):
    monkeypatch.setenv(limits.MECHANISM_VARIABLE, "watchdog")

    def one_hot(labels, num_classes):
        while True:
            pass

    with pytest.raises(ExerciseTimeout, match="did not finish within 0.5 s"):
        call_exercise(one_hot, [1, 2], 10, timeout=0.5)


def test_the_backend_is_chosen_from_what_the_system_has(monkeypatch):
    monkeypatch.delenv(backends.BACKEND_VARIABLE, raising=False)
    assert backends.choose_backend("spawn")[0] == "spawn"
    with pytest.raises(ValueError, match="unknown learner backend 'zygote'"):
        backends.choose_backend("zygote")
    monkeypatch.delattr(socket, "SOCK_SEQPACKET")  # as on macOS
    chosen, why = backends.choose_backend("fork")
    assert chosen == "spawn" and "socket.SOCK_SEQPACKET" in why
    monkeypatch.setattr(sys, "platform", "win32")
    assert backends.choose_backend("auto")[0] == "spawn"


@pytest.mark.parametrize(
    ("launcher", "cause"),
    [
        (lambda command, root, env: [str(Path("/nonexistent/python")), *command[1:]], "FileNotFoundError"),
        (lambda command, root, env: [sys.executable, "-c", "import sys; sys.exit(3)"], "exit status 3"),
    ],
)
def test_a_learner_process_that_cannot_start_is_an_environment_problem(launcher, cause, tmp_path):
    host, _ = make_host("spawn")
    host.launcher = launcher
    lesson = tmp_path / "lesson"
    lesson.mkdir()
    process = LearnerProcess(host, lesson, [Cell("cell 1", "x = 1", "setup")], cell_timeout=30)
    try:
        problems = process.start()
    finally:
        process.close()
        host.close()
    assert "could not start a learner process" in problems.setup_error
    assert cause in problems.setup_error and "not of your code" in problems.setup_error
    assert "cnn-course doctor" in problems.setup_error


def test_grade_off_linux_says_where_to_grade_instead(monkeypatch, capsys):
    from cnn_course.commands import cli

    monkeypatch.setattr(sys, "platform", "darwin")
    assert cli.main(["grade", str(SOLUTIONS), "--out", "grades"]) == 2
    said = capsys.readouterr().err
    assert "needs Linux" in said and "WSL 2" in said and "pytest --target=FOLDER" in said


LINUX_ONLY = {
    "cnn_course.batch.grade",
    "cnn_course.batch.collect",
    "cnn_course.batch.scratch",
}  # cnn-course grade's machinery


def test_every_module_a_learner_imports_loads_without_posix_only_apis(posixless_python):
    modules = sorted(
        ".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")
        for path in (REPO / "cnn_course").rglob("*.py")
        if path.name != "__main__.py"
    )
    wanted = [module for module in modules if module not in LINUX_ONLY]
    script = (
        "import importlib, sys\nfor name in sys.argv[1:]:\n    importlib.import_module(name)\n"
        "print('imported', len(sys.argv) - 1)"
    )
    completed = subprocess.run(
        [str(posixless_python), "-c", script, *wanted], cwd=REPO, capture_output=True, text=True, timeout=600
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert f"imported {len(wanted)}" in completed.stdout


def test_doctor_names_the_system_the_backend_and_the_sandbox():
    from cnn_course.commands.doctor import grading_lines

    text = "\n".join(grading_lines())
    assert "system:" in text and "learner processes" in text and "grading sandbox" in text


def test_the_portable_backend_runs_in_the_instructors_sandbox_too(monkeypatch, tmp_path):
    from cnn_course.runtime.sandbox import sandbox_status

    if sandbox_status()[0] != "bwrap":
        pytest.skip(f"no sandbox here: {sandbox_status()[1]}")
    monkeypatch.setenv(backends.BACKEND_VARIABLE, "spawn")
    run = run_graders(
        copy_lessons(SOLUTIONS, tmp_path / "lessons"), "-k", "01", "--learner-sandbox", "bwrap", timeout=600
    )
    assert run.returncode == 0 and all(outcome == "passed" for outcome, _ in run.results.values()), run.output[-3000:]


def test_a_lesson_renamed_by_a_browser_is_named_in_the_message(tmp_path):
    from cnn_course.authoring.notebooks import NotebookError

    shutil.copy2(SOLUTIONS / "01_mnist_data.ipynb", tmp_path / "01_mnist_data (1).ipynb")
    with pytest.raises(NotebookError, match=r"Found 01_mnist_data \(1\)\.ipynb: .* rename it to 01_mnist_data\.ipynb"):
        choose_lesson_file(tmp_path, "01_mnist_data")


def test_a_lesson_saved_in_windows_ansi_is_asked_to_be_saved_as_utf8(tmp_path):
    from cnn_course.authoring.notebooks import NotebookError

    text = (SOLUTIONS / "01_mnist_data.py").read_text(encoding="utf-8").replace("# ## Setup", "# ## Setup: café")
    (tmp_path / "01_mnist_data.py").write_bytes(text.encode("cp1252", errors="replace"))
    with pytest.raises(NotebookError, match=r"not saved as UTF-8 .* Save it again as UTF-8"):
        choose_lesson_file(tmp_path, "01_mnist_data")


def test_a_value_that_could_not_cross_is_named_by_its_own_type():
    from cnn_course.checks import CheckFailed
    from cnn_course.checks.arrays import expect_array
    from cnn_course.runtime.protocol import ForeignObject

    with pytest.raises(CheckFailed, match="returned a generator, not an array"):
        expect_array("count_per_class", ForeignObject("generator"))
