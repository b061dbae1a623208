"""The grading side of the learner process: start it, feed it a lesson's cells, call its exercises.

The learner process (`cnn_course.grading.learner`) runs in a scratch folder with a clean environment
and a command line that names no grader file. Whatever it does (exits, hangs, floods its output,
dies of a signal) this side turns into a verdict: a cell that ends the process is left out on the
next start, a call that outlives its limit is killed from outside, and output is kept to a bounded
head. Only data comes back (see `protocol`).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import select
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cnn_course
from cnn_course.checks.feedback import ExerciseError, ExerciseTimeout, NotAttempted
from cnn_course.grading.protocol import CallDetails, Decoder, Encoder, HttpResponse, ProtocolError, read_message, write_message

START_TIMEOUT_S = 120.0
CELL_TIMEOUT_S = 120.0  # at least this for running a cell: setup cells import TensorFlow, slow on a busy laptop
GRACE_S = 5.0
OUTPUT_HEAD_BYTES = 2000
COPY_LIMIT_BYTES = 20 * 2**20
DEFAULT_MEMORY_BYTES = 6 * 2**30

Launcher = Callable[[list[str], Path, dict[str, str]], list[str]]


@dataclass(frozen=True)
class Cell:
    """One code cell the learner process runs: its label (file and cell number), source and role."""

    label: str
    source: str
    role: str  # "setup" or "exercise"
    names: tuple[str, ...] = ()


@dataclass
class CellProblems:
    """What went wrong while the lesson's cells ran: the setup's problem, and each broken exercise's."""

    setup_error: str | None = None
    broken: dict[str, str] = field(default_factory=dict)
    skipped: set[int] = field(default_factory=set)


class _Output:
    """Drains the learner's stdout/stderr, keeping the first bytes since the last mark and a count."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self._lock = threading.Lock()
        self._head = bytearray()
        self._total = 0
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._drain, args=(stream.fileno(),), daemon=True)
        self._thread.start()

    def _drain(self, fd: int) -> None:
        # select with a timeout rather than a blocking read: a detached child of the learner can hold
        # the pipe open for ever, and `stop` must end this thread all the same.
        try:
            while not self._stopped.is_set():
                if not select.select([fd], [], [], 0.2)[0]:
                    continue
                chunk = os.read(fd, 65536)
                if not chunk:
                    return
                with self._lock:
                    room = OUTPUT_HEAD_BYTES - len(self._head)
                    if room > 0:
                        self._head += chunk[:room]
                    self._total += len(chunk)
        except (OSError, ValueError):  # the stream was closed under us: the process is gone
            return

    def stop(self) -> None:
        """Stop draining (within 0.2 s, even while a detached child still holds the pipe open)."""
        self._stopped.set()
        self._thread.join(timeout=1.0)

    def mark(self) -> None:
        with self._lock:
            self._head.clear()
            self._total = 0

    def since_mark(self) -> str:
        """Return what was printed since the last mark: its head, with a note when it was cut."""
        time.sleep(0.02)  # the learner flushes before it replies; let the drain thread read that last chunk
        with self._lock:
            text = self._head.decode(errors="replace").rstrip()
            total = self._total
        if total > len(self._head):
            text += f"\n[... output cut: {total:,} bytes printed in all, the first {OUTPUT_HEAD_BYTES:,} shown]"
        return text


def learner_environment(scratch: Path, threads: int) -> dict[str, str]:
    """The learner process's whole environment: nothing of the grader's but the package's location."""
    package_parent = str(Path(cnn_course.__file__).resolve().parent.parent)
    environment = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(scratch),
        "TMPDIR": str(scratch / "tmp"),
        "KERAS_HOME": str(scratch / ".keras"),
        "MPLCONFIGDIR": str(scratch / ".matplotlib"),
        "MPLBACKEND": "Agg",
        "LANG": "C.UTF-8",
        "PYTHONPATH": package_parent,
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "MALLOC_ARENA_MAX": "2",
        "OMP_NUM_THREADS": str(threads),
        "TF_NUM_INTRAOP_THREADS": str(threads),
        "TF_NUM_INTEROP_THREADS": "1",
    }
    if "CNN_COURSE_DATA" in os.environ:
        environment["CNN_COURSE_DATA"] = os.environ["CNN_COURSE_DATA"]
    return environment


def copy_lesson_folder(source: Path, destination: Path) -> None:
    """Copy the regular files at the top of `source` (no links, nothing over 20 MiB) into `destination`."""
    destination.mkdir(parents=True, exist_ok=True)
    for path in source.iterdir():
        try:
            if path.is_file() and not path.is_symlink() and path.stat().st_size <= COPY_LIMIT_BYTES:
                shutil.copyfile(path, destination / path.name)
        except OSError:
            continue


def remove_tree(path: Path) -> None:
    """Remove `path` and everything in it, making folders writable first where learner code locked them."""

    def writable_then_retry(function: Callable[[str], Any], name: str, _: Any) -> None:
        with contextlib.suppress(OSError):
            os.chmod(os.path.dirname(name), 0o700)
            os.chmod(name, 0o700)
            function(name)

    shutil.rmtree(path, onerror=writable_then_retry)


def prepare_scratch_root(root: Path) -> None:
    """Empty a zygote's scratch root (or create it) and make the folders learner processes use: tmp, .keras, .matplotlib."""
    root.mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o700)
    for entry in list(root.iterdir()):
        if entry.is_dir() and not entry.is_symlink():
            remove_tree(entry)
        else:
            with contextlib.suppress(OSError):
                entry.unlink()
    for name in ("tmp", ".keras", ".matplotlib"):
        (root / name).mkdir()


def launcher_for(sandbox: str) -> Launcher | None:
    """The wrapper that runs a zygote's command in the learner sandbox ("bwrap"), or None ("none": run it directly)."""
    if sandbox != "bwrap":
        return None
    from cnn_course.instructor.sandbox import sandboxed_command

    package_dir = Path(cnn_course.__file__).resolve().parent
    return lambda command, scratch, env: sandboxed_command(command, scratch=scratch, package_dir=package_dir, env=env)


def zygote_command(root: Path, memory_bytes: int, threads: int, launcher: Launcher | None, socket_fd: int) -> tuple[list[str], dict[str, str]]:
    """The command line and environment of a zygote whose scratch root is `root`, talking on `socket_fd`."""
    command = [sys.executable, "-s", "-B", "-m", "cnn_course.grading.learner", "zygote", str(socket_fd), str(memory_bytes)]
    environment = learner_environment(root, threads)
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


class LearnerHost:
    """The zygote of one grading session: a process that imported the heavy libraries once and forks
    a learner process per lesson (see `cnn_course.grading.learner.zygote`).

    Its scratch root holds every learner's working folder; `launcher` (the sandbox) wraps its command.
    A zygote that dies (learner code can kill its parent) is replaced at the next fork.

    With `shared`, the session uses the zygote a batch shares between the submissions of one job
    slot instead of starting one: it first has the zygote end every process of the last
    submission and empties the scratch root, and does both again when it closes. If that zygote
    does not answer, the session ends it and starts its own in the same scratch root.
    """

    def __init__(
        self, *, memory_bytes: int = DEFAULT_MEMORY_BYTES, threads: int = 1, launcher: Launcher | None = None,
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
        command, environment = zygote_command(self.root, self.memory_bytes, self.threads, self.launcher, theirs.fileno())
        launched: dict[str, Any] = {}
        started = threading.Event()

        def keeper() -> None:
            # Linux ties a parent-death signal (bwrap --die-with-parent) to the thread that started the
            # process, so the zygote is started by a thread that lives exactly as long as it does.
            try:
                launched["process"] = subprocess.Popen(
                    command, cwd=self.root, env=environment, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT, pass_fds=(theirs.fileno(),), start_new_session=True,
                )
            except OSError as error:
                launched["error"] = error
            started.set()
            if "process" in launched:
                launched["process"].wait()

        threading.Thread(target=keeper, name="zygote keeper", daemon=True).start()
        started.wait()
        theirs.close()
        if "error" in launched:
            self._failure = f"the grader could not start the process that runs lessons ({launched['error']})."
            ours.close()
            return
        self._process = launched["process"]
        self._socket = ours
        self._output = _Output(self._process.stdout)
        self._ready = False
        threading.Thread(target=self._listen, args=(ours,), name="zygote events", daemon=True).start()
        with self._changed:
            self._changed.wait_for(lambda: self._ready or self._socket is not ours, timeout=START_TIMEOUT_S)
        if not self._ready:
            self._failure = "the grader could not start the process that runs lessons." + _printed(self._output.since_mark())
            self._stop_zygote()

    def _attach(self, shared: SharedZygote) -> bool:
        """Take over the shared zygote: reset it and empty its scratch root; False (zygote ended) if it does not answer."""
        sock = socket.socket(fileno=shared.fd)
        self._socket, self._attached, self._group = sock, True, shared.group
        threading.Thread(target=self._listen, args=(sock,), name="zygote events", daemon=True).start()
        if self._reset(START_TIMEOUT_S):  # a zygote just (re)started is still importing the libraries
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
            raise OSError(self._failure or "the process that runs lessons stopped answering.")

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


class LearnerProcess:
    """One lesson's learner process: started on demand, restarted after it dies or is killed."""

    def __init__(self, host: LearnerHost, lesson_folder: Path, cells: Sequence[Cell], *, cell_timeout: float) -> None:
        self.host, self.lesson_folder, self.cells = host, lesson_folder, list(cells)
        self.cell_timeout = max(cell_timeout, CELL_TIMEOUT_S)
        self.problems = CellProblems()
        self._pid: int | None = None
        self._scratch: Path | None = None
        self._calls = itertools.count(1)
        self._lock = threading.Lock()
        self._buffer = b""

    # -- life cycle -------------------------------------------------------------------------

    def start(self) -> CellProblems:
        """Start the process and run the lesson's cells; return what went wrong in them."""
        with self._lock:
            self._start_locked()
        return self.problems

    def _start_locked(self) -> None:
        for _ in range(len(self.cells) + 1):
            if not self._spawn():
                return
            failed_cell = self._run_cells()
            if failed_cell is None:
                return
            self.problems.skipped.add(failed_cell)

    def _spawn(self) -> bool:
        """Start a fresh process in a fresh scratch folder; False (and a setup error) when it does not start."""
        self._kill()
        self._scratch = self.host.new_folder("lesson")
        workdir = self._scratch / "lesson"
        copy_lesson_folder(self.lesson_folder, workdir)
        (self._scratch / "calls").mkdir()
        try:
            self._pid, self._channel, output = self.host.fork(workdir)
        except OSError as error:
            self.problems.setup_error = str(error)
            self._pid = None
            return False
        self._reply_fd = self._channel.fileno()
        self._requests = self._channel.makefile("wb")
        self._buffer = b""
        self._output = _Output(output)
        started = self._receive(START_TIMEOUT_S)
        if started is not None and started.get("status") == "started":
            return True
        self.problems.setup_error = f"the lesson's process could not start: {self._death_message('starting')}" + _printed(self._output.since_mark())
        return False

    def _run_cells(self) -> int | None:
        """Run every cell not skipped; return the index of a cell that ended or hung the process."""
        for index, cell in enumerate(self.cells):
            if index in self.problems.skipped:
                continue
            self._output.mark()
            reply = self._request({"op": "cell", "label": cell.label, "source": cell.source, "timeout": self.cell_timeout}, self.cell_timeout)
            if reply is None:
                self._record(cell, self._death_message(f"running {cell.label}") + " The grader skipped this cell and ran the others.")
                return index
            problem = _cell_problem(cell, reply, self.cell_timeout)
            if problem:
                self._record(cell, problem)
        return None

    def _record(self, cell: Cell, problem: str) -> None:
        if cell.role == "setup":
            self.problems.setup_error = self.problems.setup_error or f"the setup cell ({cell.label}) fails, so no exercise can run: {problem}"
        for name in cell.names:
            self.problems.broken.setdefault(name, problem)

    def close(self) -> None:
        """End the process and remove its scratch folder."""
        with self._lock:
            self._kill()

    def _alive(self) -> bool:
        return self._pid is not None and self.host.exit_status(self._pid, 0) is None

    def _kill(self) -> None:
        if self._pid is not None:
            self.host.kill(self._pid)
            self.host.exit_status(self._pid, GRACE_S)
            self._output.stop()
            for stream in (self._requests, self._channel, self._output.stream):
                try:
                    stream.close()
                except OSError:
                    pass
            self._pid = None
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None

    # -- messages ---------------------------------------------------------------------------

    def _request(self, message: dict[str, Any], timeout: float) -> dict[str, Any] | None:
        """Send `message`; return the reply, or None when the process died or outlived `timeout` + grace."""
        try:
            self._requests.write(write_message(message))
            self._requests.flush()
        except (BrokenPipeError, OSError):
            self._hung = False
            return None
        return self._receive(timeout + GRACE_S)

    def _receive(self, timeout: float) -> dict[str, Any] | None:
        """Return the next reply; None when the process closed its pipe (`_hung` False) or was silent too long."""
        deadline = time.monotonic() + timeout
        self._hung = False
        with selectors.DefaultSelector() as selector:
            selector.register(self._reply_fd, selectors.EVENT_READ)
            while b"\n" not in self._buffer:
                left = deadline - time.monotonic()
                if left <= 0 or not selector.select(left):
                    self._hung = True
                    return None
                try:
                    chunk = os.read(self._reply_fd, 1 << 20)
                except OSError:  # e.g. ECONNRESET: the process died with our request unread
                    chunk = b""
                if not chunk:
                    return None
                self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        try:
            return read_message(line)
        except ProtocolError:
            return {"status": "garbled"}

    def _death_message(self, during: str) -> str:
        """Say why the process stopped answering while `during`, and make sure it is gone."""
        if self._hung:
            self._kill()
            return f"the lesson's code did not finish {during} within its time limit (it may catch the timer's interrupt) and was stopped."
        code = self.host.exit_status(self._pid, GRACE_S) if self._pid is not None else None
        self._kill()
        if code is not None and code < 0:
            name = signal.Signals(-code).name
            cause = " (often: out of memory, or a call that kills processes)" if name == "SIGKILL" else ""
            return f"the lesson's code was killed by {name}{cause} while {during}."
        how = f"ended its process (exit status {code})" if code is not None else "ended its process, or the process that started it,"
        return (
            f"the lesson's code {how} while {during}: remove calls to "
            "os._exit(), sys.exit(), exit() or quit() and anything that kills processes from your cells."
        )

    # -- calls ------------------------------------------------------------------------------

    def call(self, name: str, args: tuple, kwargs: dict, timeout: float, details: bool = False) -> CallDetails:
        """Call exercise `name`; raise NotAttempted, ExerciseTimeout or ExerciseError for those outcomes."""
        with self._lock:
            if not self._alive():
                self._start_locked()
            if self._pid is None:
                raise ExerciseError(name, self.problems.setup_error or "the lesson's process could not start.")
            folder = self._scratch / "calls" / str(next(self._calls))
            folder.mkdir()
            encoder = Encoder(folder)
            request = {
                "op": "call", "name": name, "folder": str(folder), "timeout": timeout, "details": details,
                "args": encoder.encode(tuple(args)), "kwargs": encoder.encode(dict(kwargs)),
            }
            self._output.mark()
            reply = self._request(request, timeout)
            if reply is None:
                printed = self._output.since_mark()
                if self._hung:
                    self._kill()
                    raise ExerciseTimeout(name, _timeout_message(timeout, hard=True) + _printed(printed))
                raise ExerciseError(name, self._death_message(f"running `{name}`") + _printed(printed))
            return self._call_outcome(name, reply, folder, timeout)

    def _call_outcome(self, name: str, reply: dict[str, Any], folder: Path, timeout: float) -> CallDetails:
        status = reply.get("status")
        printed = self._output.since_mark() if status != "ok" else ""
        if status == "not_attempted":
            raise NotAttempted(name)
        if status == "timeout":
            raise ExerciseTimeout(name, _timeout_message(timeout, hard=False) + _printed(printed))
        if status == "missing":
            raise ExerciseError(
                name,
                f"is not defined by the lesson's exercise cells (found {reply['found']} instead of a function)."
                if reply.get("found") else
                "is not defined by the lesson's exercise cells. The exercise cell must define a function with this name: "
                "did you rename it, or delete or retag its cell?",
            )
        if status == "error":
            raise ExerciseError(name, _error_message(reply) + _printed(printed))
        if status != "ok":
            raise ExerciseError(name, "the lesson's process sent an answer the grader cannot read." + _printed(printed))
        decoder = Decoder(folder, send_http=self._http, working_folder=self._scratch / "lesson")
        try:
            value = decoder.decode(reply.get("value"))
            after = {key: decoder.decode(tree) for key, tree in reply.get("arguments_after", [])}
        except ProtocolError as error:
            raise ExerciseError(name, f"its result could not be read: {error}.") from None
        returned = reply.get("returned_argument")
        return CallDetails(
            value=value,
            returned_argument=returned if isinstance(returned, (int, str)) else None,
            changed_arguments=tuple(key for key in reply.get("changed_arguments", []) if isinstance(key, (int, str))),
            arguments_after=after,
            written_files=tuple(str(path) for path in reply.get("written_files", [])),
        )

    def _http(self, app_id: int, request: dict[str, Any]) -> Any:
        """Send HTTP requests to an app the learner process holds; return HttpResponse(s)."""
        folder = self._scratch / "calls" / str(next(self._calls))
        folder.mkdir()
        counter = itertools.count(1)

        def store(files: dict[str, tuple]) -> dict[str, list]:
            stored = {}
            for field_name, (filename, content) in files.items():
                stored_name = f"upload{next(counter)}"
                (folder / stored_name).write_bytes(content)
                stored[field_name] = [filename, stored_name]
            return stored

        message = {"op": "http", "app": app_id, "folder": str(folder), "path": request["path"], "method": request["method"], "timeout": 60}
        if "many" in request:
            message.update(many=[store(files) for files in request["many"]], threads=request["threads"])
        else:
            message.update(files=store(request.get("files", {})), data=request.get("data", {}))
        with self._lock:
            reply = self._request(message, 60)
        if reply is None or reply.get("status") != "ok":
            detail = _error_message(reply) if reply and reply.get("status") == "error" else "the app did not answer."
            raise ExerciseError("app", f"a request to {request['path']} failed: {detail}")
        responses = [HttpResponse(int(r["status"]), dict(r["headers"]), str(r["body"]).encode("latin-1")) for r in reply["responses"]]
        return responses if "many" in request else responses[0]


def _cell_problem(cell: Cell, reply: dict[str, Any], timeout: float) -> str | None:
    status = reply.get("status")
    if status == "ok":
        return None
    if status == "syntax_error":
        return f"its cell does not parse ({cell.label}, line {reply.get('line')}: {reply.get('message')}). Fix the syntax and save."
    if status == "timeout":
        return f"its cell ({cell.label}) did not finish within {timeout:g} s while being defined: move long work out of the exercise cell."
    if status == "error":
        if reply.get("type") == "SystemExit":
            return f"its cell ({cell.label}) calls sys.exit() or exit() while being defined: remove that call."
        return f"its cell raises {reply.get('type')}: {reply.get('message')} while being defined ({cell.label})\n{reply.get('where', '')}".rstrip()
    return f"its cell ({cell.label}) could not be run."


def _error_message(reply: dict[str, Any]) -> str:
    kind, text = str(reply.get("type")), str(reply.get("message", ""))
    if kind == "SystemExit":
        message = "called sys.exit() or exit(), which ends a program; an exercise must `return` its result instead."
    elif kind == "KeyboardInterrupt":
        message = "raised KeyboardInterrupt (an interrupt), so it was stopped before returning a result."
    elif kind == "MemoryError":
        message = "ran out of memory (MemoryError): look for an array far larger than the data, e.g. from broadcasting (N, 1) against (N,)."
    else:
        message = f"raised {kind}: {text}"
    if reply.get("signature"):
        message += (
            f"\nThe grader calls it with the arguments the exercise's docstring names; your function is "
            f"`{reply['signature']}`. Keep the signature given in the lesson."
        )
    if reply.get("where"):
        message += f"\n{reply['where']}"
    return message


def _timeout_message(timeout: float, hard: bool) -> str:
    stopped = "was stopped from outside (it kept running after the timer's interrupt)" if hard else "was stopped"
    return (
        f"did not finish within {timeout:g} s and {stopped}. Look for a loop whose condition never becomes false, "
        "or work that grows with the data (a Python loop over every pixel); the reference solution takes well under a second."
    )


def _printed(text: str) -> str:
    return f"\nIt printed:\n{text}" if text else ""
