"""The fork backend, grading side (Linux): one zygote per grading session, a forked learner per lesson.

The zygote (`cnn_course.runtime.zygote`) runs in a scratch folder with a clean environment and a
command line that names no grader file, optionally inside the instructor's sandbox. Each lesson's
learner process is forked from it and reached through a `ForkedConnection`: its own socket for
requests and replies, its own pipe for what it prints. A batch can hand one zygote to the grading
processes of a job slot in turn (`SHARED_ZYGOTE`).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
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
from cnn_course.runtime.protocol import read_message, write_message

ATTACH_TIMEOUT_S = START_TIMEOUT_S
"""How long a shared zygote has to answer before the session ends it and starts its own (seconds).

As long as a start: a zygote the fork server has just started again is still importing the libraries.
"""


def zygote_command(
    root: Path, memory_bytes: int, threads: int, launcher: Launcher | None, socket_fd: int
) -> tuple[list[str], dict[str, str]]:
    """The command line and environment of a zygote whose scratch root is `root`, talking on `socket_fd`."""
    command = [sys.executable, "-s", "-B", "-m", "cnn_course.runtime.zygote", str(socket_fd), str(memory_bytes)]
    own_cache = drops_privileges(launcher)
    environment = learner_environment(root, threads, sandboxed=is_strict(launcher), own_cache=own_cache)
    if launcher is not None:
        command = launcher(command, root, environment)
    return command, environment


@dataclass(frozen=True)
class SharedZygote:
    """A zygote a batch's fork server started for one job slot and hands to each of its grading processes in turn.

    fd: the grading process's end of the zygote's socket (AF_UNIX, SOCK_SEQPACKET); root: the
    zygote's scratch root (bound into its sandbox); group: the zygote's process group on this side,
    ended when it stops answering (the fork server then starts another).
    """

    fd: int
    root: Path
    group: int


# Set by the fork server in each grading process it forks: the zygote of that process's job slot.
SHARED_ZYGOTE: SharedZygote | None = None


class ForkHost:
    """The fork backend (Linux): the zygote of one grading session, a process that imported the heavy
    libraries once and forks a learner process per lesson (see `cnn_course.runtime.zygote`).

    Its scratch root holds every learner's working folder; `launcher` (the sandbox) wraps its command.
    A zygote that dies (learner code can kill its parent) is replaced at the next fork.

    With `shared`, the session uses the zygote a batch shares between the submissions of one job
    slot instead of starting one: it first has the zygote end every process of the last
    submission and empties the scratch root, and does both again when it closes. If that zygote
    does not answer, the session ends it and starts its own in the same scratch root.
    """

    def __init__(
        self,
        *,
        memory_bytes: int = DEFAULT_MEMORY_BYTES,
        threads: int = 1,
        launcher: Launcher | None = None,
        shared: SharedZygote | None = None,
    ) -> None:
        self.memory_bytes, self.threads, self.launcher = memory_bytes, threads, launcher
        self._shared, self._attached, self._owns_root = shared, False, shared is None
        if shared is not None:
            self.root = shared.root
        else:
            self.root = Path(tempfile.mkdtemp(prefix="cnn-course-learners-"))
            prepare_scratch_root(self.root)
        self._lock = threading.Lock()
        self._reset_done = False
        self._exits: dict[int, int] = {}
        self._forked: list[tuple[int, list[int]]] = []
        self._changed = threading.Condition()
        self._process: subprocess.Popen | None = None
        self._socket: socket.socket | None = None
        self._failure = ""
        self._sequence = itertools.count(1)

    def warm_up(self) -> None:
        """Start the zygote now (it takes seconds to import the libraries), unless it runs already."""
        with self._lock:
            if self._socket is None:
                self._start()

    @property
    def shared(self) -> bool:
        """True when the session uses (or is to use) a zygote its batch shares."""
        return self._shared is not None or self._attached

    @property
    def temporary_folder(self) -> Path:
        """The learner processes' TMPDIR, readable and writable on both sides (inside the sandbox too)."""
        return self.root / "tmp"

    def new_folder(self, stem: str) -> Path:
        """A fresh folder under the scratch root for one learner process."""
        if self._shared is not None:
            self.warm_up()  # attaching to a shared zygote empties the root: never after handing out a folder
        folder = self.root / f"{stem}-{next(self._sequence)}"
        folder.mkdir()
        return folder

    def _start(self) -> None:
        self._stop_zygote()
        if self._shared is not None:
            shared, self._shared = self._shared, None  # attach once; after a failure the session starts its own
            if self._attach(shared):
                return
            prepare_scratch_root(self.root)
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        command, environment = zygote_command(
            self.root, self.memory_bytes, self.threads, self.launcher, theirs.fileno()
        )
        try:  # started by a thread that lives as long as the zygote (bwrap --die-with-parent: see start_kept)
            process = start_kept(
                command,
                cwd=self.root,
                env=environment,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                pass_fds=(theirs.fileno(),),
                start_new_session=True,
            )
        except OSError as error:
            theirs.close()
            self._failure = cannot_start(f"{type(error).__name__}: {error}")
            ours.close()
            return
        theirs.close()
        self._process = process
        self._socket = ours
        self._output = OutputHead(self._process.stdout)
        self._ready = False
        threading.Thread(target=self._listen, args=(ours,), name="zygote events", daemon=True).start()
        with self._changed:
            self._changed.wait_for(lambda: self._ready or self._socket is not ours, timeout=START_TIMEOUT_S)
        if not self._ready:
            self._failure = cannot_start(f"it did not become ready within {START_TIMEOUT_S:g} s") + printed(
                self._output.since_mark()
            )
            self._stop_zygote()

    def _attach(self, shared: SharedZygote) -> bool:
        """Take over the shared zygote: reset it and empty its scratch root.

        Return False (the zygote ended) if it does not answer.
        """
        sock = socket.socket(fileno=shared.fd)
        self._socket, self._attached, self._group = sock, True, shared.group
        threading.Thread(target=self._listen, args=(sock,), name="zygote events", daemon=True).start()
        if self._reset(ATTACH_TIMEOUT_S):
            prepare_scratch_root(self.root)
            self._ready = True
            return True
        self._stop_zygote()
        return False

    def _reset(self, timeout: float) -> bool:
        """Have the zygote end every process it started or adopted; True once it says none is left."""
        with self._changed:
            sock, self._reset_done = self._socket, False
            if sock is None:
                return False
            try:
                sock.send(write_message({"op": "reset"}))
            except OSError:
                return False
            self._changed.wait_for(lambda: self._reset_done or self._socket is not sock, timeout=timeout)
            return self._reset_done

    def _listen(self, sock: socket.socket) -> None:
        while True:
            try:
                data, fds, _, _ = socket.recv_fds(sock, 65536, 2)
            except OSError:
                data, fds = b"", []
            with self._changed:
                if not data:
                    if self._socket is sock:
                        self._socket = None
                    self._changed.notify_all()
                    return
                message = read_message(data)
                if message.get("event") == "ready":
                    self._ready = True
                elif message.get("event") == "forked":
                    self._forked.append((int(message["pid"]), fds))
                elif message.get("event") == "exit":
                    self._exits[int(message["pid"])] = int(message["status"])
                elif message.get("event") == "reset":  # what came before was about another session's processes
                    self._exits.clear()
                    self._forked.clear()
                    self._reset_done = True
                self._changed.notify_all()

    def fork(self, workdir: Path) -> tuple[int, socket.socket, Any]:
        """Start a learner process in `workdir`; return its pid, its channel and its output stream.

        Raises OSError with a message for the learner when no process can be started.
        """
        with self._lock:
            for _ in range(2):
                if self._socket is None:
                    self._start()
                if self._socket is None:
                    break
                with self._changed:
                    self._forked.clear()
                    try:
                        self._socket.send(write_message({"op": "fork", "cwd": str(workdir)}))
                    except OSError:
                        self._socket = None
                        continue
                    self._changed.wait_for(lambda: self._forked or self._socket is None, timeout=START_TIMEOUT_S)
                    if self._forked:
                        pid, (channel_fd, output_fd) = self._forked.pop()
                        return pid, socket.socket(fileno=channel_fd), os.fdopen(output_fd, "rb")
                self._socket = None
            raise OSError(self._failure or cannot_start("the process that starts them stopped answering"))

    def open(self, workdir: Path) -> ForkedConnection:
        """Start a learner process for one lesson in `workdir`.

        Raises:
            OSError: no process started; its message is for the learner.
        """
        pid, channel, output = self.fork(workdir)
        connection = ForkedConnection(self, pid, channel, output)
        connection.check_started(connection.receive(START_TIMEOUT_S))
        return connection

    def kill(self, pid: int) -> None:
        """Kill learner `pid` and its process group (through the zygote, which sees the pid as it is)."""
        with self._changed:
            if self._socket is not None:
                try:
                    self._socket.send(write_message({"op": "kill", "pid": pid}))
                except OSError:
                    pass

    def exit_status(self, pid: int, timeout: float) -> int | None:
        """The exit status of learner `pid` (negative: killed by that signal), or None if not known within `timeout`."""
        with self._changed:
            self._changed.wait_for(lambda: pid in self._exits or self._socket is None, timeout=timeout)
            return self._exits.get(pid)

    def _stop_zygote(self) -> None:
        if self._attached:  # the shared zygote stopped answering: end it; the fork server starts another
            self._attached = False
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._group, signal.SIGKILL)
        if self._process is not None:
            try:
                os.killpg(self._process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self._process.wait()
            self._process = None
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    def close(self) -> None:
        """Stop the zygote and remove the scratch root; a shared zygote is reset and its root emptied instead."""
        with self._lock:
            if self._attached and self._reset(GRACE_S * 2):
                self._attached = False  # it lives on for the slot's next submission: only our end of its socket closes
            self._stop_zygote()
        if self._owns_root:
            remove_tree(self.root)
        else:  # the shared zygote's sandbox has this folder mounted: empty it, keep it
            prepare_scratch_root(self.root)


class ForkedConnection(Connection):
    """One forked learner process: requests and replies on its socket, its output on a pipe."""

    def __init__(self, host: ForkHost, pid: int, channel: socket.socket, output: Any) -> None:
        super().__init__()
        self.host, self.pid, self.channel = host, pid, channel
        self.output = OutputHead(output)
        self._requests = channel.makefile("wb")
        self._ended = False

    def _write(self, data: bytes) -> None:
        self._requests.write(data)
        self._requests.flush()

    def _read(self, timeout: float) -> bytes | None:
        with selectors.DefaultSelector() as selector:
            selector.register(self.channel.fileno(), selectors.EVENT_READ)
            if not selector.select(timeout):
                return None
        try:
            return os.read(self.channel.fileno(), 1 << 20)
        except OSError:  # e.g. ECONNRESET: the process died with our request unread
            return b""

    def alive(self) -> bool:
        return not self._ended and self.host.exit_status(self.pid, 0) is None

    def exit_status(self, timeout: float) -> int | None:
        return self.host.exit_status(self.pid, timeout)

    def kill(self) -> None:
        if self._ended:
            return
        self._ended = True
        self.host.kill(self.pid)
        self.host.exit_status(self.pid, GRACE_S)
        self.output.stop()
        for stream in (self._requests, self.channel, self.output.stream):
            with contextlib.suppress(OSError):
                stream.close()
