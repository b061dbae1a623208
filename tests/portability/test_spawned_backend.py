"""The portable backend's shared interpreter: one lesson's trouble stays that lesson's.

Several lessons share one interpreter; a request that outlives its limit ends it at once (a late
reply is never read as another lesson's answer), a result that cannot be sent is that exercise's
error (the interpreter serves on), and a lesson whose code ends the interpreter is the only one blamed.
"""

from __future__ import annotations

import pytest

from cnn_course.checks import ExerciseError, ExerciseTimeout
from cnn_course.grading.learner_client import Cell, LearnerProcess, make_host
from cnn_course.grading.messages import death_message

SWALLOWS = (
    "def hang():\n    while True:\n        try:\n            while True:\n                pass\n"
    "        except BaseException:\n            pass\n"
)
CYCLE = "def cycle():\n    x = []\n    x.append(x)\n    return x\n\n\ndef fine():\n    return 41 + 1\n"
EXITS = "def leave():\n    import os\n    os._exit(3)\n"


@pytest.fixture
def host():
    host, _ = make_host("spawn")
    yield host
    host.close()


def lesson(host, tmp_path, name, source):
    folder = tmp_path / name
    folder.mkdir()
    names = tuple(line[4:].split("(")[0] for line in source.splitlines() if line.startswith("def "))
    return LearnerProcess(host, folder, [Cell(f"{name}, cell 1", source, "exercise", names)], cell_timeout=30)


def test_a_request_past_its_limit_ends_the_interpreter_before_anyone_else_asks(host, tmp_path):
    hanging, other = lesson(host, tmp_path, "a", SWALLOWS), lesson(host, tmp_path, "b", CYCLE)
    hanging.start()
    other.start()
    with pytest.raises(ExerciseTimeout, match="stopped from outside"):
        hanging.call("hang", (), {}, timeout=1)
    assert not hanging._connection.interpreter.alive(), "ended while the request still held the interpreter"
    assert other.call("fine", (), {}, timeout=10).value == 42  # a fresh interpreter, the lesson's cells run again
    assert other.problems.setup_error is None and not other.problems.broken


def test_a_result_that_cannot_be_sent_is_that_exercises_error(host, tmp_path):
    learner = lesson(host, tmp_path, "a", CYCLE)
    learner.start()
    generation = host.generation
    with pytest.raises(ExerciseError, match="could not be sent to the grader"):
        learner.call("cycle", (), {}, timeout=10)
    assert learner.call("fine", (), {}, timeout=10).value == 42
    assert host.generation == generation, "the interpreter served on"


def test_only_the_lesson_that_ended_the_interpreter_is_blamed(host, tmp_path):
    leaving, other = lesson(host, tmp_path, "a", EXITS), lesson(host, tmp_path, "b", CYCLE)
    leaving.start()
    other.start()
    with pytest.raises(ExerciseError, match=r"ended its process \(exit status 3\)"):
        leaving.call("leave", (), {}, timeout=10)
    assert other.call("fine", (), {}, timeout=10).value == 42


def test_a_windows_crash_code_reads_as_a_crash():
    message = death_message("running `f`", hung=False, code=0xC00000FD)
    assert "crashed its process (Windows error 0xC00000FD" in message and "os._exit" not in message


KILLS_PARENT = "def strike():\n    import os, signal\n    os.kill(os.getppid(), signal.SIGTERM)\n    return 1\n"


def test_lesson_code_that_kills_its_parent_does_not_kill_the_grader(host, tmp_path):
    import sys

    if not sys.platform.startswith("linux"):
        pytest.skip("the stand-in parent needs fork (Linux)")
    striking, other = lesson(host, tmp_path, "a", KILLS_PARENT), lesson(host, tmp_path, "b", CYCLE)
    striking.start()
    other.start()
    assert (
        striking.call("strike", (), {}, timeout=10).value == 1
    )  # as with the fork backend: the stand-in took the blow
    assert other.call("fine", (), {}, timeout=10).value == 42  # this process, the grader, lives on


CHANGES_DIRECTORY = (
    "def wander():\n    import os\n    os.chdir('/')\n    return 7\n\n\ndef where():\n    import os\n"
    "    return os.getcwd()\n"
)


def test_a_call_that_changes_directory_is_put_back(host, tmp_path):
    learner = lesson(host, tmp_path, "a", CHANGES_DIRECTORY)
    learner.start()
    assert learner.call("wander", (), {}, timeout=30, details=True).value == 7  # no walk of the whole disk
    assert learner.call("where", (), {}, timeout=10).value.endswith("lesson")


KILLS_ITSELF = "def fall():\n    import os, signal\n    os.kill(os.getpid(), signal.SIGKILL)\n"


@pytest.mark.parametrize("sandbox", ["none", "auto", "bwrap"])
def test_a_process_killed_by_a_signal_reads_as_killed_in_every_sandbox(sandbox, tmp_path):
    """bubblewrap ends with 128 + N when its command dies of signal N: the verdict still names the signal."""
    import sys

    from cnn_course.runtime.sandbox import sandbox_status

    if sandbox != "none" and (not sys.platform.startswith("linux") or sandbox_status()[0] != "bwrap"):
        pytest.skip("bubblewrap does not run here")
    host, _ = make_host("spawn", sandbox=sandbox)
    try:
        falling = lesson(host, tmp_path, "a", KILLS_ITSELF)
        falling.start()
        with pytest.raises(ExerciseError, match="killed by SIGKILL") as raised:
            falling.call("fall", (), {}, timeout=30)
        assert "exit status" not in str(raised.value)
    finally:
        host.close()


@pytest.mark.parametrize(
    ("code", "read"), [(0, 0), (3, 3), (128, 128), (129, -1), (137, -9), (143, -15), (192, -64), (193, 193)]
)
def test_bubblewraps_exit_status_reads_as_its_commands(code, read):
    from cnn_course.runtime.sandbox import command_exit_status

    assert command_exit_status(code) == read
