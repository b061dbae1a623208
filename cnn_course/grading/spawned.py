"""The portable backend, grading side (every system): one spawned interpreter per grading session.

The interpreter (`cnn_course.runtime.spawned`) is started once, imports the libraries once, and runs
each lesson in a fresh namespace of its own. It needs no fork, no Unix socket and no signal: requests
go to its standard input, replies come from its standard output, and what lesson code prints comes
from its standard error. Exchanges are one at a time. When a request outlives its limit, or lesson
code ends the interpreter, it is ended from outside; the next request starts a fresh one, and each
lesson runs its cells again there before it is served.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from cnn_course.grading.connection import Connection, start_kept
from cnn_course.grading.environment import (
    DEFAULT_MEMORY_BYTES,
    GRACE_S,
    START_TIMEOUT_S,
    Launcher,
    drops_privileges,
    is_strict,
    learner_environment,
)
from cnn_course.grading.messages import cannot_start, printed
from cnn_course.grading.output import OutputHead
from cnn_course.runtime.fs import prepare_scratch_root, remove_tree
from cnn_course.runtime.sandbox import command_exit_status, is_sandboxed


class _Interpreter(Connection):
    """The spawned interpreter's standard streams, read by a thread (Windows cannot select on pipes)."""

    def __init__(self, process: subprocess.Popen, *, sandboxed: bool = False) -> None:
        super().__init__()
        self.process, self.sandboxed = process, sandboxed
        self.output = OutputHead(process.stderr)
        self._chunks: queue.Queue[bytes] = queue.Queue()
        threading.Thread(target=self._pump, name="learner replies", daemon=True).start()

    def _pump(self) -> None:
        fd = self.process.stdout.fileno()
        while True:
            try:
                chunk = os.read(fd, 1 << 20)
            except (OSError, ValueError):
                chunk = b""
            self._chunks.put(chunk)
            if not chunk:
                return

    def _write(self, data: bytes) -> None:
        self.process.stdin.write(data)
        self.process.stdin.flush()

    def _read(self, timeout: float) -> bytes | None:
        try:
            chunk = self._chunks.get(timeout=max(timeout, 0))
        except queue.Empty:
            return None
        if not chunk:
            self._chunks.put(b"")  # end of file stays end of file for the next reader
        return chunk

    def alive(self) -> bool:
        return self.process.poll() is None

    def exit_status(self, timeout: float) -> int | None:
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        return command_exit_status(code) if self.sandboxed else code

    def kill(self) -> None:
        end_process_tree(self.process)
        self.output.stop()
        # On Windows a close waits for a read blocked on the same pipe: leave the read ends to the
        # reader threads, which end at end of file.
        for stream in (
            (self.process.stdin,) if os.name == "nt" else (self.process.stdin, self.process.stdout, self.process.stderr)
        ):
            with contextlib.suppress(OSError):
                stream.close()


def end_process_tree(process: subprocess.Popen) -> None:
    """End `process` and what it started.

    On POSIX that is its process group (even after it ended itself), on Windows its tree (taskkill /T).
    """
    if hasattr(os, "killpg"):  # the group outlives its leader while a child of the lesson's code runs on
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
    if process.poll() is not None:
        return
    if os.name == "nt":
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            subprocess.run(["taskkill", "/F", "/T", "/PID", str(process.pid)], capture_output=True, timeout=30)
    with contextlib.suppress(OSError):
        process.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(GRACE_S)


class SpawnHost:
    """The portable backend: one spawned interpreter for the session, a namespace in it per lesson.

    `open` gives each lesson a `SpawnedConnection`; exchanges with the interpreter are one at a time.
    After the interpreter ended (lesson code, a time limit), the next `open` starts another.
    """

    shared = False

    def __init__(
        self, *, memory_bytes: int = DEFAULT_MEMORY_BYTES, threads: int = 1, launcher: Launcher | None = None
    ) -> None:
        self.memory_bytes, self.threads, self.launcher = memory_bytes, threads, launcher
        self.root = Path(tempfile.mkdtemp(prefix="cnn-course-learners-"))
        prepare_scratch_root(self.root)
        self.lock = threading.RLock()
        self.generation = 0
        self.interpreter: _Interpreter | None = None
        self._failure = ""
        self._folders = itertools.count(1)
        self._lessons = itertools.count(1)

    @property
    def temporary_folder(self) -> Path:
        """The learner processes' temporary folder, readable and writable on both sides."""
        return self.root / "tmp"

    def new_folder(self, stem: str) -> Path:
        """A fresh folder under the scratch root for one lesson."""
        folder = self.root / f"{stem}-{next(self._folders)}"
        folder.mkdir()
        return folder

    def warm_up(self) -> None:
        """Start the interpreter now (it takes seconds to import the libraries), unless it runs already."""
        with self.lock:
            if self.interpreter is None or not self.interpreter.alive():
                self._start()

    def _start(self) -> None:
        if self.interpreter is not None:
            self.interpreter.kill()
            self.interpreter = None
        command = [
            sys.executable,
            "-s",
            "-B",
            "-m",
            "cnn_course.runtime.spawned",
            str(self.memory_bytes),
            str(os.getpid()),
        ]
        environment = learner_environment(
            self.root,
            self.threads,
            sandboxed=is_strict(self.launcher),
            own_cache=drops_privileges(self.launcher),
        )
        if self.launcher is not None:
            command = self.launcher(command, self.root, environment)
        if os.name == "nt":
            detached: dict[str, Any] = {
                "creationflags": subprocess.CREATE_NEW_PROCESS_GROUP | subprocess.CREATE_NO_WINDOW
            }
        else:
            detached = {"start_new_session": True}
        try:
            process = start_kept(
                command,
                cwd=self.root,
                env=environment,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                bufsize=0,
                **detached,
            )
        except OSError as error:
            self._failure = cannot_start(f"{type(error).__name__}: {error}", portable=True)
            return
        interpreter = _Interpreter(process, sandboxed=is_sandboxed(command))
        ready = interpreter.receive(START_TIMEOUT_S)
        if ready is None or ready.get("event") != "ready":
            said = printed(interpreter.output.since_mark())
            code = interpreter.exit_status(0)
            interpreter.kill()
            cause = (
                f"it did not become ready within {START_TIMEOUT_S:g} s"
                if interpreter.hung
                else f"it ended at start, exit status {code}"
            )
            self._failure = cannot_start(cause, portable=True) + said
            return
        self.interpreter = interpreter
        self.generation += 1

    def open(self, workdir: Path) -> SpawnedConnection:
        """Start a lesson in `workdir`, in a fresh namespace.

        Raises:
            OSError: it cannot start; the message is for the learner.
        """
        with self.lock:
            self.warm_up()
            if self.interpreter is None:
                raise OSError(self._failure)
            connection = SpawnedConnection(self, f"{workdir.parent.name}/{next(self._lessons)}")
            connection.check_started(connection.request({"op": "open", "cwd": str(workdir)}, START_TIMEOUT_S))
            return connection

    def close(self) -> None:
        """End the interpreter and remove the scratch root."""
        with self.lock:
            if self.interpreter is not None:
                self.interpreter.kill()
                self.interpreter = None
        remove_tree(self.root)


class SpawnedConnection(Connection):
    """One lesson's namespace in the session's interpreter; stale once that interpreter has ended."""

    def __init__(self, host: SpawnHost, lesson: str) -> None:
        super().__init__()
        self.host, self.lesson = host, lesson
        self.generation = host.generation
        self.interpreter = host.interpreter
        self.output = self.interpreter.output

    def request(self, message: dict[str, Any], timeout: float) -> dict[str, Any] | None:
        with self.host.lock:
            if not self.alive():
                self.hung, self.stale, self.printed = False, True, ""
                return None
            self.stale = False
            reply = self.interpreter.request({**message, "lesson": self.lesson}, timeout)
            self.hung, self.printed = self.interpreter.hung, self.interpreter.printed
            return reply

    def alive(self) -> bool:
        return self.generation == self.host.generation and self.interpreter.alive()

    def exit_status(self, timeout: float) -> int | None:
        return self.interpreter.exit_status(timeout)

    def kill(self) -> None:
        """End the interpreter (every lesson in it runs its cells again in the next one)."""
        with self.host.lock:
            self.interpreter.kill()

    def close(self) -> None:
        """Forget this lesson's namespace; the interpreter serves the other lessons on."""
        with self.host.lock:
            if self.alive():
                self.interpreter.request({"op": "forget", "lesson": self.lesson}, GRACE_S)
