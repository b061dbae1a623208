"""One lesson's line to its learner process, whichever backend runs it: requests out, replies back.

A `Connection` sends one JSON request at a time and waits for its reply under a time limit. A reply
that does not come means the process died (`hung` False) or outlived the limit (`hung` True, and the
request has ended it from outside, so that no late reply answers the next request). A request that
finds the process already gone (the portable backend's interpreter, ended while serving another
lesson) is not sent, and `stale` says so. What the lesson's code printed during a request that did
not end well is kept in `printed`.
"""

from __future__ import annotations

import subprocess
import threading
import time
from typing import Any

from cnn_course.grading.environment import GRACE_S
from cnn_course.grading.messages import death_message, printed
from cnn_course.grading.output import OutputHead
from cnn_course.runtime.protocol import ProtocolError, read_message, write_message


class Connection:
    """The grading side of one lesson's learner: subclasses say how bytes travel and how the process ends."""

    output: OutputHead

    def __init__(self) -> None:
        self.hung = False
        self.stale = False  # the request was not sent: the process had ended before (for another lesson's sake)
        self.printed = ""
        self._buffer = b""

    # -- what a backend provides ------------------------------------------------------------

    def _write(self, data: bytes) -> None:
        raise NotImplementedError

    def _read(self, timeout: float) -> bytes | None:
        """The next bytes of replies; b"" at end of file; None when nothing came within `timeout`."""
        raise NotImplementedError

    def alive(self) -> bool:
        """True while the process serving this lesson still runs (and still holds its namespace)."""
        raise NotImplementedError

    def kill(self) -> None:
        """End the process from outside and release what this side holds; safe to call twice."""
        raise NotImplementedError

    def exit_status(self, timeout: float) -> int | None:
        """The process's exit status (negative: the signal that killed it), or None if not known within `timeout`."""
        raise NotImplementedError

    def close(self) -> None:
        """Release this lesson's learner when grading is done with it (by default: end its process)."""
        self.kill()

    def check_started(self, reply: dict[str, Any] | None) -> None:
        """Raise OSError (a message for the learner) and end the process unless `reply` says the lesson started."""
        if reply is not None and reply.get("status") == "started":
            return
        message = "the lesson's process could not start: " + death_message(
            "starting", hung=self.hung, code=self.exit_status(GRACE_S)
        )
        said = printed(self.printed or self.output.since_mark())
        self.kill()
        raise OSError(message + said)

    # -- requests -----------------------------------------------------------------------------

    def request(self, message: dict[str, Any], timeout: float) -> dict[str, Any] | None:
        """Send `message`; return its reply, or None when the process died or outlived `timeout` + grace."""
        self.output.mark()
        self.printed = ""
        try:
            self._write(write_message(message))
        except (BrokenPipeError, OSError, ValueError):
            self.hung = False
            reply = None
        else:
            reply = self.receive(timeout + GRACE_S)
        if reply is None or reply.get("status") != "ok":
            self.printed = self.output.since_mark()
        if (reply is None and self.hung) or (reply is not None and reply.get("status") == "garbled"):
            # Ended now, not later: a late reply must never be read as the answer to the next request.
            self.kill()
        return reply

    def receive(self, timeout: float) -> dict[str, Any] | None:
        """Return the next reply; None when the process closed its end (`hung` False) or was silent too long."""
        deadline = time.monotonic() + timeout
        self.hung = False
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            chunk = self._read(left) if left > 0 else None
            if chunk is None:
                self.hung = True
                return None
            if not chunk:
                return None
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        try:
            return read_message(line)
        except ProtocolError:
            return {"status": "garbled"}


def start_kept(command: list[str], **options: Any) -> subprocess.Popen:
    """`subprocess.Popen(command, **options)`, started by a thread that lives as long as the process.

    Linux ties a parent-death signal (bubblewrap's --die-with-parent) to the *thread* that started the
    process: started from a thread that ends (a lesson's start, the warm-up), the sandbox would die with it.
    Raises OSError when the process cannot start.
    """
    launched: dict[str, Any] = {}
    started = threading.Event()

    def keeper() -> None:
        try:
            launched["process"] = subprocess.Popen(command, **options)
        except OSError as error:
            launched["error"] = error
        started.set()
        if "process" in launched:
            launched["process"].wait()

    threading.Thread(target=keeper, name="learner keeper", daemon=True).start()
    started.wait()
    if "error" in launched:
        raise launched["error"]
    return launched["process"]
