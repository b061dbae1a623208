"""The portable backend of the learner process: one spawned interpreter per grading session.

`cnn_course.grading.spawned` starts `python -m cnn_course.runtime.spawned MEMORY GRADER_PID` in a
scratch folder with a clean environment; it works wherever Python and TensorFlow run (Windows,
macOS, Linux) because it needs no fork, no Unix socket and no signal (on Linux it forks once, at start,
to put a stand-in parent between lesson code and the grader). The interpreter imports the
libraries once, then runs each lesson in a fresh namespace of its own (one `LearnerSide` per lesson):

- requests arrive as JSON lines on standard input, each naming its lesson:
  {"op": "open", "lesson": ID, "cwd": DIR} starts a lesson (answered {"status": "started"}),
  {"op": "cell" | "call" | "http", "lesson": ID, ...} as in `learner`, {"op": "forget", "lesson": ID};
- replies go out as JSON lines on the original standard output;
- whatever the lesson's code prints (standard output and error alike) goes to standard error;
- the lesson's code reads end of file from standard input.

Time limits are raised inside (see `limits`) and enforced from outside: the grading process ends
this interpreter when a request outlives its limit, and starts another for the next one.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from pathlib import Path
from typing import Any

from cnn_course.runtime.learner import LearnerSide, answer, die_with_parent, limit_memory, preload
from cnn_course.runtime.protocol import ProtocolError, read_message, write_message


def _streams() -> tuple[Any, Any]:
    """Keep stdin and stdout for the protocol; give the lesson's code end of file and stderr instead."""
    requests = os.fdopen(os.dup(0), "rb")
    replies = os.fdopen(os.dup(1), "wb")
    empty = os.open(os.devnull, os.O_RDONLY)
    os.dup2(empty, 0)
    os.close(empty)
    os.dup2(2, 1)
    sys.stdin = open(os.devnull)  # noqa: SIM115 - input() in a lesson reads end of file at once
    return requests, replies


def serve(requests: Any, replies: Any) -> None:
    """Answer requests until end of file, each in the namespace and working folder of its lesson."""
    sides: dict[str, LearnerSide] = {}
    folders: dict[str, Path] = {}
    root = Path.cwd()

    def send(message: dict[str, Any]) -> None:
        replies.write(write_message(message))
        replies.flush()

    send({"event": "ready"})
    for line in requests:
        try:
            request = read_message(line)
        except ProtocolError:
            send({"status": "garbled"})
            continue
        lesson = str(request.get("lesson"))
        operation = request.get("op")
        if operation == "open":
            folders[lesson] = Path(request["cwd"])
            os.chdir(folders[lesson])
            sides[lesson] = LearnerSide(replies)
            sides[lesson].send({"status": "started"})
        elif operation == "forget":
            sides.pop(lesson, None)
            folders.pop(lesson, None)
            os.chdir(root)  # Windows cannot remove a folder that is a process's working folder
            send({"status": "ok"})
        elif lesson in sides and operation in ("cell", "call", "http"):
            os.chdir(folders[lesson])
            answer(sides[lesson], operation, request)
        else:
            send({"status": "garbled"})


def _stand_in() -> None:
    """Where the system can fork (before anything heavy is imported): serve from a child, so that the
    lesson code's parent is this stand-in, not the grading process, as with the fork backend's zygote.

    The stand-in waits for the server and ends as it ended (the same exit status or signal), so the
    grader reads the server's fate; lesson code that kills its parent kills only the stand-in, and the
    server, which watches its parent, ends with it. Only on Linux: Windows has no fork, and on macOS
    forking after NumPy loaded its BLAS is unsafe; there the parent is the grader (or the venv's launcher).
    """
    if not sys.platform.startswith("linux") or not hasattr(os, "fork"):  # macOS: no fork once NumPy is loaded
        return
    child = os.fork()
    if child == 0:
        return
    die_with_parent(os.getppid())
    while True:
        try:
            _, status = os.waitpid(child, 0)
            break
        except InterruptedError:
            continue
    code = os.waitstatus_to_exitcode(status)
    if code < 0:  # killed by a signal: end the same way
        with contextlib.suppress(OSError, ValueError):  # SIGKILL and SIGSTOP take no handler
            signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    os._exit(code if code >= 0 else 128 - code)


def main(argv: list[str]) -> int:
    """`MEMORY GRADER_PID`: serve lessons for the grading process GRADER_PID (see the module's docstring)."""
    _stand_in()
    requests, replies = _streams()
    limit_memory(int(argv[0]))
    # On Windows a virtual environment's python.exe is a launcher that starts the real interpreter,
    # so the parent is not the grader: watch the grader itself. Elsewhere the parent is the grader,
    # or inside the sandbox its init, which bubblewrap ends with the grader.
    die_with_parent(int(argv[1]) if sys.platform == "win32" else os.getppid())
    preload()
    serve(requests, replies)
    return 0


if __name__ == "__main__":
    code = main(sys.argv[1:])
    sys.stdout.flush()
    os._exit(code)  # not sys.exit: threads a lesson started must not keep the process alive
