"""A batch's learner zygote, shared by the submissions of one job slot: each submission starts with
no process, file or zygote change left by the one before, with and without the sandbox.

Each test plays the fork server (`LearnerZygotes`) and two grading processes in turn (forked
children that attach with `ForkHost(shared=...)`), the first running hostile learner code.
"""

from __future__ import annotations

import json
import os
import signal
import textwrap
from pathlib import Path

import pytest

from cnn_course.batch.forkserver import LearnerZygotes
from cnn_course.grading import forked
from cnn_course.grading.learner_client import Cell, LearnerProcess
from cnn_course.runtime.sandbox import sandbox_status

MODES = [
    "none",
    pytest.param("bwrap", marks=pytest.mark.skipif(sandbox_status()[0] != "bwrap", reason="no sandbox here")),
]

LEAVE_BEHIND = textwrap.dedent(
    """
    import os, subprocess, pathlib, sys
    pathlib.Path(os.environ["TMPDIR"], "left-by-the-last-submission").write_text("answers")
    pathlib.Path("..", "..", "planted.py").write_text("x = 1")
    subprocess.Popen(["/bin/sh", "-c", "sleep 300; :", "left-by-the-last-submission"], start_new_session=True)
    if os.environ.get("CNN_COURSE_IN_SANDBOX"):  # the sandbox's own /dev/shm (never the host's)
        pathlib.Path("/dev/shm/left-by-the-last-submission").write_text("answers")
        locked = pathlib.Path("/dev/shm/locked")
        locked.mkdir()
        (locked / "inside").write_text("answers")
        locked.chmod(0o500)
    """
)

LOOK_AROUND = textwrap.dedent(
    """
    import json, os, pathlib
    others = []
    for entry in pathlib.Path("/proc").glob("[0-9]*"):
        try:
            others.append(pathlib.Path(entry, "cmdline").read_bytes().replace(b"\\0", b" ").decode())
        except OSError:
            pass
    pathlib.Path("seen.json").write_text(json.dumps({
        "processes": others,
        "tmp": sorted(os.listdir(os.environ["TMPDIR"])),
        "root": sorted(os.listdir(pathlib.Path("..", ".."))),
        "shm": sorted(os.listdir("/dev/shm")) if os.environ.get("CNN_COURSE_IN_SANDBOX") else [],
    }))
    """
)


def session(zygotes: LearnerZygotes, lesson: Path, code: str, kill_zygote: bool = False) -> dict:
    """Grade one 'submission' in a forked grading process that attaches to slot 0; return what it reports."""
    report = lesson.parent / "report.json"
    pid = os.fork()
    if pid == 0:
        code_out = 1
        try:
            zygotes.hand_over(0)
            host = forked.ForkHost(shared=forked.SHARED_ZYGOTE)
            host.warm_up()
            attached = host._attached
            process = LearnerProcess(host, lesson, [Cell("cell 1", code, "setup")], cell_timeout=60)
            problems = process.start()
            seen_file = process._scratch / "lesson" / "seen.json"
            seen = json.loads(seen_file.read_text()) if seen_file.exists() else None
            if kill_zygote:
                os.killpg(forked.SHARED_ZYGOTE.group, signal.SIGKILL)
            process.close()
            host.close()
            report.write_text(json.dumps({"attached": attached, "setup_error": problems.setup_error, "seen": seen}))
            code_out = 0
        finally:
            os._exit(code_out)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    return json.loads(report.read_text())


@pytest.fixture
def lesson(tmp_path: Path) -> Path:
    folder = tmp_path / "lesson"
    folder.mkdir()
    (folder / "01_mnist_data.py").write_text("# a lesson\n")
    return folder


@pytest.mark.parametrize("mode", MODES)
def test_a_submission_starts_with_nothing_of_the_last_one(mode, lesson):
    zygotes = LearnerZygotes(1, mode, 4 * 2**30)
    try:
        first = session(zygotes, lesson, LEAVE_BEHIND)
        assert first["attached"] and first["setup_error"] is None
        second = session(zygotes, lesson, LOOK_AROUND)
        assert second["attached"] and second["setup_error"] is None
        seen = second["seen"]
        # Without the sandbox the learner sees every process of the machine: the marker tells the left one from others.
        assert not [cmdline for cmdline in seen["processes"] if "left-by-the-last-submission" in cmdline]
        assert seen["tmp"] == [] and "planted.py" not in seen["root"] and seen["shm"] == []
    finally:
        os.kill(zygotes.pids[0], signal.SIGKILL)
        os.waitpid(zygotes.pids[0], 0)
        zygotes.remove()


RESPAWNING = textwrap.dedent(
    """
    import subprocess, sys
    # A process that forks a child and exits, for ever: at any moment its pid is a new one.
    runner = "import os\\nwhile True:\\n    if os.fork(): os._exit(0)"
    subprocess.Popen([sys.executable, "-c", runner, "respawning-runner"], start_new_session=True)
    """
)


@pytest.mark.skipif(sandbox_status()[0] != "bwrap", reason="no sandbox here")
def test_a_process_that_respawns_itself_does_not_outlive_its_submission(lesson):
    zygotes = LearnerZygotes(1, "bwrap", 4 * 2**30)
    try:
        assert session(zygotes, lesson, RESPAWNING)["setup_error"] is None
        seen = session(zygotes, lesson, LOOK_AROUND)["seen"]
        assert not [cmdline for cmdline in seen["processes"] if "respawning-runner" in cmdline]
    finally:
        os.kill(zygotes.pids[0], signal.SIGKILL)
        os.waitpid(zygotes.pids[0], 0)
        zygotes.remove()


@pytest.mark.parametrize("mode", MODES)
def test_a_killed_zygote_is_replaced_for_the_next_submission(mode, lesson):
    zygotes = LearnerZygotes(1, mode, 4 * 2**30)
    try:
        first = session(zygotes, lesson, "x = 1", kill_zygote=True)
        assert first["attached"] and first["setup_error"] is None
        dead = zygotes.pids[0]
        os.waitpid(dead, 0)  # what the fork server's loop does, then it starts another
        zygotes.ended(dead)
        zygotes.ready(0)
        assert zygotes.pids[0] not in (None, dead)
        second = session(zygotes, lesson, LOOK_AROUND)
        assert second["attached"] and second["setup_error"] is None and second["seen"]["tmp"] == []
    finally:
        os.kill(zygotes.pids[0], signal.SIGKILL)
        os.waitpid(zygotes.pids[0], 0)
        zygotes.remove()


def test_a_zygote_that_does_not_answer_is_ended_and_the_session_starts_its_own(lesson):
    zygotes = LearnerZygotes(1, "none", 4 * 2**30)
    try:
        os.kill(zygotes.pids[0], signal.SIGSTOP)
        attach_timeout = forked.ATTACH_TIMEOUT_S
        forked.ATTACH_TIMEOUT_S = 5.0  # only the wait for the stopped zygote: the session's own start keeps its time
        try:
            report = session(zygotes, lesson, LOOK_AROUND)
        finally:
            forked.ATTACH_TIMEOUT_S = attach_timeout
        assert report["attached"] is False and report["setup_error"] is None and report["seen"] is not None
        _, status = os.waitpid(zygotes.pids[0], 0)
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    finally:
        zygotes.remove()
