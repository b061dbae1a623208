"""The batch's processes: grading processes started or forked under a wall-clock limit, and nothing left behind.

Every grading process leads its own process group; an interrupted batch kills them all, and processes the batch
adopted (orphans of finished runs) are ended as each submission finishes.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cnn_course.runtime.processes import children_of, end_processes


class Children:
    """The grading processes alive now, so that an interrupted batch can stop them all and strays are found."""

    def __init__(self) -> None:
        self._lock, self._processes, self._stopped = threading.Lock(), set[subprocess.Popen](), False
        self._groups: set[int] = set()
        self.keep: set[int] = set()  # long-lived helpers of the batch (the fork server)
        self._before = set(children_of(os.getpid()))  # not ours to end: started before the batch

    @contextmanager
    def start(self, command: list[str], **popen: Any) -> Iterator[subprocess.Popen]:
        """Start a grading process (registered before any stray search can see it); forget it on exit."""
        with self._lock:
            process = subprocess.Popen(command, **popen)
            self._processes.add(process)
            if self._stopped:
                kill_group(process)
        try:
            yield process
        finally:
            with self._lock:
                self._processes.discard(process)

    def start_helper(self, command: list[str], **popen: Any) -> subprocess.Popen:
        """Start a long-lived helper of the batch, never taken for a stray."""
        with self._lock:
            process = subprocess.Popen(command, **popen)
            self.keep.add(process.pid)
        return process

    @contextmanager
    def forked(self, pid: int) -> Iterator[None]:
        """Count a grading process the fork server started (it leads its own process group) as running."""
        with self._lock:
            self._groups.add(pid)
            if self._stopped:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)
        try:
            yield
        finally:
            with self._lock:
                self._groups.discard(pid)

    def kill_all(self) -> None:
        with self._lock:
            self._stopped = True
            for process in self._processes:
                kill_group(process)
            for pid in self._groups:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)
        self.end_strays()

    def end_strays(self) -> None:
        """End processes the batch adopted (orphans of finished grading runs).

        They are its children that are not a live grading process.
        """
        with self._lock:
            ours = {process.pid for process in self._processes}
            strays = [
                pid for pid in children_of(os.getpid()) if pid not in ours | self.keep and pid not in self._before
            ]
            end_processes(strays)


def kill_group(process: subprocess.Popen) -> None:
    """Kill a grading process and everything it started (it leads its own process group)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


class ForkServer:
    """The batch's fork server (`cnn_course.batch.forkserver`): grading processes forked with
    TensorFlow, pytest and the test sets already loaded. Restarted if it dies."""

    def __init__(self, env: dict[str, str], children: Children, learner_options: list[str], slots: int) -> None:
        self.env, self.children, self.learner_options = env, children, learner_options
        self._slots: queue.Queue[int] = queue.Queue()
        for slot in range(slots):
            self._slots.put(slot)
        self._lock = threading.Lock()
        self._waiting: dict[str, queue.Queue] = {}
        self._ids = itertools.count()
        self.process: subprocess.Popen | None = None

    def _ensure(self) -> subprocess.Popen:
        if self.process is None or self.process.poll() is not None:
            command = [sys.executable, "-m", "cnn_course.batch.forkserver", str(os.getpid()), *self.learner_options]
            popen = {
                "env": self.env,
                "stdin": subprocess.PIPE,
                "stdout": subprocess.PIPE,
                "stderr": subprocess.DEVNULL,
                "start_new_session": True,
            }
            self.process = self.children.start_helper(command, **popen)
            threading.Thread(target=self._read, args=(self.process,), daemon=True).start()
        return self.process

    def _read(self, process: subprocess.Popen) -> None:
        for line in process.stdout:
            message = json.loads(line)
            with self._lock:
                waiting = self._waiting.get(message["id"])
            if waiting is not None:
                waiting.put(message)
        with self._lock:  # the server died: every grading process it forked died with it
            for waiting in self._waiting.values():
                waiting.put({"exit": -signal.SIGKILL, "pid": None})

    def run(self, request: dict[str, Any], time_limit: float, children: Children) -> int | None:
        """Have a grading process run `request`.

        Return its exit code, or None if it ran past `time_limit` and was killed.
        """
        key, replies = str(next(self._ids)), queue.Queue()
        slot = self._slots.get()  # a slot's learner zygote serves one grading process at a time
        with self._lock:
            self._waiting[key] = replies
            server = self._ensure()
            server.stdin.write((json.dumps({**request, "id": key, "slot": slot}) + "\n").encode())
            server.stdin.flush()
        started = time.monotonic()
        try:
            first = replies.get()
            if "exit" in first:
                return first["exit"]
            with children.forked(first["pid"]):
                try:
                    return replies.get(timeout=max(0.0, time_limit - (time.monotonic() - started)))["exit"]
                except queue.Empty:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(first["pid"], signal.SIGKILL)
                    replies.get()
                    return None
        finally:
            with self._lock:
                self._waiting.pop(key, None)
            self._slots.put(slot)

    def close(self) -> None:
        if self.process is not None:
            kill_group(self.process)
            self.process.wait()


def run_limited(
    command: list[str], cwd: Path, env: dict[str, str], log: Path, time_limit: float, children: Children, key: bytes
) -> int | None:
    """Run `command` with output to `log`, `key` on its stdin.

    Return its exit code, or None if it ran past `time_limit`.
    """
    with open(log, "w", encoding="utf-8") as output:
        popen = {
            "cwd": cwd,
            "env": env,
            "stdout": output,
            "stderr": subprocess.STDOUT,
            "stdin": subprocess.PIPE,
            "start_new_session": True,
        }
        with children.start(command, **popen) as process:
            try:
                with contextlib.suppress(BrokenPipeError):
                    process.stdin.write(key.hex().encode() + b"\n")
                    process.stdin.close()
                return process.wait(timeout=time_limit)
            except subprocess.TimeoutExpired:
                return None
            finally:
                kill_group(process)
                process.wait()
