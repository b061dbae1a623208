"""The learner sandbox: a sandboxed Python cannot read or write the instructor's files, reach the network,
touch the grader's processes or leave a process behind.

Each test runs a small hostile program with `sandboxed_command`, as the learner process would be
run, and checks from outside what it could and could not do.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest

import cnn_course
from cnn_course.runtime.sandbox import _tmpfs_size_supported, python_folders, sandbox_status, sandboxed_command

PACKAGE = Path(cnn_course.__file__).resolve().parent
MODE, REASON = sandbox_status()
pytestmark = pytest.mark.skipif(MODE != "bwrap", reason=f"no sandbox here: {REASON}")


@pytest.fixture
def instructor(tmp_path: Path) -> Path:
    """An instructor's project next to the learner's scratch folder: solutions, hidden tests, results."""
    project = tmp_path / "course"
    (project / "solutions").mkdir(parents=True)
    (project / "solutions" / "01_mnist_data.py").write_text("### BEGIN SOLUTION\nsecret = 42\n")
    (project / "tests" / "hidden").mkdir(parents=True)
    (project / "tests" / "hidden" / "test_hidden.py").write_text("EXPECTED = 'hidden'\n")
    (project / "course.toml").write_text("[exercises]\n")
    (tmp_path / "results.jsonl").write_text("")
    return project


def run_sandboxed(scratch: Path, program: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    scratch.mkdir(exist_ok=True)
    command = sandboxed_command(
        [sys.executable, "-c", textwrap.dedent(program), *args],
        scratch=scratch,
        package_dir=PACKAGE,
        env={"PATH": "/usr/bin:/bin"},
    )
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def processes_with(token: str) -> list[int]:
    """Host pids whose command line holds `token`."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if token.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def wait_until_gone(token: str, seconds: float = 10) -> list[int]:
    deadline = time.monotonic() + seconds
    while (left := processes_with(token)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def test_the_instructors_files_are_not_there(tmp_path, instructor):
    probe = """
        import os, sys
        for path in sys.argv[1:]:
            print(path, os.path.exists(path))
    """
    paths = [
        instructor / "solutions" / "01_mnist_data.py",
        instructor / "tests" / "hidden",
        instructor / "course.toml",
        tmp_path / "results.jsonl",
        PACKAGE.parent / "pyproject.toml",
    ]
    completed = run_sandboxed(tmp_path / "scratch", probe, *map(str, paths))
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.split() == [word for path in paths for word in (str(path), "False")]


def test_the_package_and_python_are_readable_and_the_scratch_folder_is_the_only_writable_place(tmp_path, instructor):
    probe = """
        import os, sys, cnn_course
        print("package", cnn_course.__file__)
        for path in sys.argv[1:]:
            try:
                with open(path, "w") as handle:
                    handle.write("x")
                print("wrote", path)
            except OSError as error:
                print("refused", path, type(error).__name__)
    """
    targets = [
        tmp_path / "scratch" / "ok.txt",
        tmp_path / "outside.txt",
        instructor / "course.toml",
        PACKAGE / "planted.py",
        python_folders()[0] / "planted.pth",
        Path("/tmp/planted"),
        Path("/planted"),
    ]
    completed = run_sandboxed(tmp_path / "scratch", probe, *map(str, targets))
    assert completed.returncode == 0, completed.stderr
    assert f"package {PACKAGE / '__init__.py'}" in completed.stdout
    assert f"wrote {targets[0]}" in completed.stdout
    for target in targets[1:]:
        assert f"refused {target}" in completed.stdout
    assert (
        not (tmp_path / "outside.txt").exists()
        and not (PACKAGE / "planted.py").exists()
        and not Path("/tmp/planted").exists()
    )
    assert (instructor / "course.toml").read_text() == "[exercises]\n"


def test_no_network(tmp_path):
    server = socket.create_server(("127.0.0.1", 0))
    try:
        probe = """
            import socket, sys
            try:
                socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
                print("connected")
            except OSError as error:
                print("no network", type(error).__name__)
        """
        completed = run_sandboxed(tmp_path / "scratch", probe, str(server.getsockname()[1]))
    finally:
        server.close()
    assert completed.stdout.startswith("no network"), completed.stdout + completed.stderr


def test_a_detached_child_dies_with_the_sandbox(tmp_path):
    token = f"cnn-course-detached-{uuid.uuid4().hex}"
    probe = """
        import subprocess, sys
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)", sys.argv[1]], start_new_session=True,
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        print("started")
    """
    completed = run_sandboxed(tmp_path / "scratch", probe, token)
    assert completed.stdout.strip() == "started", completed.stderr
    assert wait_until_gone(token) == []


def test_the_learner_cannot_signal_the_grader(tmp_path):
    probe = """
        import os, signal, sys
        for pid in (os.getppid(), int(sys.argv[1])):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError as error:
                print("cannot kill", type(error).__name__)
        os.kill(-1, signal.SIGKILL)
    """
    launcher = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        run_sandboxed(tmp_path / "scratch", probe, str(launcher.pid))
        time.sleep(0.2)
        assert launcher.poll() is None, "a process outside the sandbox was killed"
    finally:
        launcher.kill()
        launcher.wait()


def test_the_sandbox_dies_with_the_process_that_started_it(tmp_path):
    token = f"cnn-course-orphan-{uuid.uuid4().hex}"
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    inner = sandboxed_command(
        [sys.executable, "-c", "import time; time.sleep(600)", token], scratch=scratch, package_dir=PACKAGE, env={}
    )
    launcher = subprocess.Popen(
        [sys.executable, "-c", f"import subprocess, time; subprocess.Popen({inner!r}); time.sleep(600)"]
    )
    try:
        deadline = time.monotonic() + 30
        while not processes_with(token) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert processes_with(token), "the sandboxed process did not start"
    finally:
        os.kill(launcher.pid, signal.SIGKILL)
        launcher.wait()
    assert wait_until_gone(token) == []


def test_the_environment_is_only_what_the_caller_gives(tmp_path, monkeypatch):
    monkeypatch.setenv("CNN_COURSE_SECRET", "do-not-leak")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    command = sandboxed_command(
        [sys.executable, "-c", "import os; print(sorted(os.environ))"],
        scratch=scratch,
        package_dir=PACKAGE,
        env={"LANG": "C.UTF-8"},
    )
    output = subprocess.run(command, capture_output=True, text=True, timeout=60).stdout
    assert "CNN_COURSE_SECRET" not in output and "'LANG'" in output and "'HOME'" in output


def test_dev_is_read_only_and_its_shared_memory_small(tmp_path):
    probe = """
        import errno, multiprocessing.pool
        with multiprocessing.pool.ThreadPool(2) as pool:  # keras lists image folders this way: it needs /dev/shm
            print("pool", pool.map(abs, [-1, 2]))
        for path, size in (("/dev/planted", 1), ("/dev/shm/big", 200 * 2**20)):
            try:
                with open(path, "wb") as file:
                    file.write(bytes(size))
                print(path, "written")
            except OSError as error:
                print(path, errno.errorcode[error.errno])
    """
    completed = run_sandboxed(tmp_path / "scratch", probe)
    assert completed.returncode == 0, completed.stderr
    sized = "ENOSPC" if _tmpfs_size_supported() else "written"  # bubblewrap before 0.8 cannot size a tmpfs
    assert completed.stdout.split("\n")[:3] == ["pool [1, 2]", "/dev/planted EROFS", f"/dev/shm/big {sized}"]
