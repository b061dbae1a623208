"""The learner process: runs a lesson's setup and exercise cells, then answers the grader's calls.

`cnn_course.grading.learner_client` starts `python -m cnn_course.grading.learner zygote FD MEMORY`
once per grading session, in a scratch folder with a clean environment: the zygote imports the
heavy libraries, then forks one learner process per lesson. Requests and replies are JSON lines on
each learner's socket (see `protocol`); arguments and results are files in a folder per call. Nothing here judges the
learner's work: it runs it and reports what it returned, raised or printed.
"""

from __future__ import annotations

import contextlib
import linecache
import os
import resource
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from cnn_course.checks.calls import call_with_details
from cnn_course.grading.protocol import CallDetails, Decoder, Encoder, read_message, write_message

MESSAGE_CHARS = 2000


class _Stopped(BaseException):
    """Raised by the alarm: a cell or call ran past its time limit."""


def _die_with_parent() -> None:
    """End this process when the grading process that started it goes away.

    (PR_SET_PDEATHSIG would fire when the grader's *thread* that started us ends, so poll instead.)
    """
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(70)

    threading.Thread(target=watch, name="parent watch", daemon=True).start()


def _on_alarm(signum: int, frame: Any) -> None:
    raise _Stopped()


def _limit(seconds: float) -> None:
    """Raise _Stopped after `seconds`, then again every second (for code that swallows the first)."""
    signal.setitimer(signal.ITIMER_REAL, max(seconds, 0.001), 1.0)


def _unlimit() -> None:
    signal.setitimer(signal.ITIMER_REAL, 0)


def describe_exception(error: BaseException) -> dict[str, Any]:
    """Return the type, message and the lesson-code frames of `error` (never the package's frames)."""
    frames = [frame for frame in traceback.extract_tb(error.__traceback__) if frame.filename.startswith("<lesson ")]
    where = "".join(traceback.format_list(frames)).rstrip()
    return {"type": type(error).__name__, "message": str(error)[:MESSAGE_CHARS], "where": where[-MESSAGE_CHARS:]}


class LearnerSide:
    """The lesson's namespace and the apps it returned, answering one request at a time."""

    def __init__(self, reply: Any) -> None:
        self.reply = reply
        self.namespace: dict[str, Any] = {"__name__": "__lesson__"}
        self.apps: dict[int, Any] = {}

    def send(self, message: dict[str, Any]) -> None:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        self.reply.write(write_message(message))
        self.reply.flush()

    def run_cell(self, request: dict[str, Any]) -> None:
        """Execute one cell's source under a time limit and report how it went."""
        label = f"<lesson {request['label']}>"
        source = request["source"]
        linecache.cache[label] = (len(source), None, source.splitlines(True), label)
        try:
            code = compile(source, label, "exec")
        except SyntaxError as error:
            self.send({"status": "syntax_error", "line": error.lineno, "message": str(error.msg)})
            return
        try:
            _limit(float(request["timeout"]))
            exec(code, self.namespace)  # noqa: S102 - running the learner's cell is this process's purpose
            _unlimit()
        except _Stopped:
            _unlimit()
            self.send({"status": "timeout"})
            return
        except BaseException as error:  # noqa: BLE001 - SystemExit and KeyboardInterrupt too: report, go on
            _unlimit()
            self.send({"status": "error", **describe_exception(error)})
            return
        self.send({"status": "ok"})

    def call(self, request: dict[str, Any]) -> None:
        """Call exercise `name` with the arguments in the request's folder; write the result there."""
        folder = Path(request["folder"])
        function = self.namespace.get(request["name"])
        if not callable(function):
            self.send({"status": "missing", "found": type(function).__name__ if request["name"] in self.namespace else None})
            return
        decoder = Decoder(folder, generate=True)
        args = decoder.decode(request["args"])
        kwargs = decoder.decode(request["kwargs"])
        watch = request.get("details", False)
        files_before = _snapshot() if watch else {}
        try:
            _limit(float(request["timeout"]))
            details = call_with_details(function, *args, **kwargs) if watch else CallDetails(function(*args, **kwargs))
            _unlimit()
        except _Stopped:
            _unlimit()
            self.send({"status": "timeout"})
            return
        except NotImplementedError:
            _unlimit()
            self.send({"status": "not_attempted"})
            return
        except BaseException as error:  # noqa: BLE001
            _unlimit()
            described = describe_exception(error)
            if isinstance(error, TypeError) and not described["where"]:
                described["signature"] = _signature(function)
            self.send({"status": "error", **described})
            return
        encoder = Encoder(folder, register_app=self._register_app)
        reply: dict[str, Any] = {"status": "ok", "value": encoder.encode(details.value)}
        if watch:
            reply["returned_argument"] = details.returned_argument
            reply["changed_arguments"] = list(details.changed_arguments)
            reply["arguments_after"] = [[key, encoder.encode(argument)] for key, argument in details.arguments_after.items()]
            reply["written_files"] = sorted(path for path, stamp in _snapshot().items() if files_before.get(path) != stamp)
        self.send(reply)

    def http(self, request: dict[str, Any]) -> None:
        """Run one or several HTTP requests through an app this process returned earlier."""
        from werkzeug.test import EnvironBuilder, run_wsgi_app

        app = self.apps[int(request["app"])]
        folder = Path(request["folder"])

        def one(files: dict[str, Any], data: dict[str, str], method: str) -> dict[str, Any]:
            payload = {**data, **{field: (_BytesFile(folder / spec[1]), spec[0], *spec[2:]) for field, spec in files.items()}}
            builder = EnvironBuilder(path=request["path"], method=method, data=payload or None)
            try:
                body_iter, status, headers = run_wsgi_app(app, builder.get_environ(), buffered=True)
                body = b"".join(body_iter)
            finally:
                builder.close()
            return {"status": int(status.split()[0]), "headers": dict(headers), "body": body.decode("latin-1")}

        try:
            _limit(float(request["timeout"]))
            if "many" in request:
                with ThreadPoolExecutor(max_workers=int(request["threads"])) as pool:
                    responses = list(pool.map(lambda files: one(files, {}, "POST"), request["many"]))
            else:
                responses = [one(request.get("files", {}), request.get("data", {}), request["method"])]
            _unlimit()
        except _Stopped:
            _unlimit()
            self.send({"status": "timeout"})
            return
        except BaseException as error:  # noqa: BLE001
            _unlimit()
            self.send({"status": "error", **describe_exception(error)})
            return
        self.send({"status": "ok", "responses": responses})

    def _register_app(self, app: Any) -> int:
        self.apps[len(self.apps) + 1] = app
        return len(self.apps)


class _BytesFile:
    """A file upload read from the call folder (werkzeug accepts any object with read())."""

    def __init__(self, path: Path) -> None:
        self._data = path.read_bytes()
        self._offset = 0

    def read(self, size: int = -1) -> bytes:
        end = len(self._data) if size < 0 else self._offset + size
        chunk = self._data[self._offset : end]
        self._offset += len(chunk)
        return chunk


def _signature(function: Any) -> str:
    import inspect

    try:
        return f"{function.__name__}{inspect.signature(function)}"
    except (TypeError, ValueError):
        return ""


def _snapshot() -> dict[str, tuple[int, int]]:
    """Size and mtime of every file under the working folder and the temporary folder."""
    stamps = {}
    for root in {Path.cwd(), Path(os.environ.get("TMPDIR", "/tmp"))}:
        for path in root.rglob("*"):
            try:
                if path.is_file() and not path.is_symlink():
                    stat = path.stat()
                    stamps[str(path.relative_to(root))] = (stat.st_size, stat.st_mtime_ns)
            except OSError:
                continue
    return stamps


PRELOADED = ("numpy", "tensorflow", "keras", "matplotlib.pyplot", "sklearn.metrics", "seaborn", "cnn_course.data",
             "cnn_course.models", "cnn_course.plots", "cnn_course.training", "cnn_course.evaluation", "cnn_course.checks",
             "cnn_course.seeding", "flask", "PIL.Image")


def serve(channel: socket.socket, memory: int) -> None:
    """Run as one lesson's learner process: answer requests on `channel` until 'close' or its end."""
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if memory > 0 and (soft == resource.RLIM_INFINITY or memory < soft):  # never above a limit the grader runs under
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    _die_with_parent()
    signal.signal(signal.SIGALRM, _on_alarm)
    sys.stdin = open(os.devnull)  # noqa: SIM115 - a lesson that asks for input() reads end of file at once
    requests = channel.makefile("rb")
    side = LearnerSide(channel.makefile("wb"))
    handlers = {"cell": side.run_cell, "call": side.call, "http": side.http}
    side.send({"status": "started"})
    for line in requests:
        request = read_message(line)
        if request.get("op") == "close":
            break
        handlers[request["op"]](request)


def zygote(host: socket.socket, memory: int) -> None:
    """Import the heavy libraries once, then fork one learner process per lesson on request.

    Requests and events are datagrams on `host` (AF_UNIX, SOCK_SEQPACKET): {"op": "fork", "cwd": DIR}
    is answered with {"event": "forked", "pid": N} and two descriptors (the learner's channel and the
    read end of its output); {"op": "kill", "pid": N} kills learner N and everything it started;
    {"event": "exit", "pid": N, "status": S} reports each learner that ended (S < 0: killed by signal
    -S); {"op": "reset"} ends every process the zygote started or adopted and is answered with
    {"event": "reset"} once none is left, so that a zygote a batch shares between submissions
    starts each one with no process of the last. Pids are the zygote's own (inside a sandbox they
    differ from the grader's view), so only the zygote signals them. The zygote stays
    single-threaded, so forking it is safe; it adopts its learners' orphans (a subreaper), and no
    learner can trace it or read its memory (it is not dumpable).
    """
    from cnn_course.instructor.processes import PR_SET_DUMPABLE, become_subreaper, end_descendants, prctl
    from cnn_course.instructor.sandbox import SANDBOX_MARK

    become_subreaper()
    prctl(PR_SET_DUMPABLE, 0)
    sandboxed = os.environ.get(SANDBOX_MARK) == "1" and os.getppid() == 1  # the sandbox's init is our parent: our own pid namespace
    import importlib

    import matplotlib

    matplotlib.use("Agg")
    for module in PRELOADED:
        try:
            importlib.import_module(module)
        except Exception:  # noqa: BLE001 - a library missing here is imported (or not) by the lesson itself
            pass
    parent = os.getppid()
    host.send(write_message({"event": "ready"}))
    while os.getppid() == parent:
        _report_exits(host)
        readable, _, _ = select.select([host], [], [], 0.25)
        if not readable:
            continue
        data = host.recv(65536)
        if not data:
            return
        request = read_message(data)
        if request.get("op") == "fork":
            _fork(host, Path(request["cwd"]), memory)
        elif request.get("op") == "reset":
            if sandboxed:  # every process of the sandbox but its init and this one, in one step no fork can outrun
                with contextlib.suppress(ProcessLookupError):
                    os.kill(-1, signal.SIGKILL)
            end_descendants()
            _report_exits(host)
            if sandboxed:  # the sandbox's own /dev/shm and System V IPC objects: what outlives a process there
                _empty_shared_memory()
            host.send(write_message({"event": "reset"}))
        elif request.get("op") == "kill":
            try:
                os.killpg(int(request["pid"]), signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


def _empty_shared_memory() -> None:
    """Inside the sandbox: empty its /dev/shm (folders a learner locked included) and remove its System V IPC objects."""
    from cnn_course.grading.learner_client import remove_tree

    for entry in Path("/dev/shm").iterdir():
        with contextlib.suppress(OSError):
            if entry.is_dir() and not entry.is_symlink():
                remove_tree(entry)
            else:
                entry.unlink()
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        subprocess.run(["ipcrm", "--all"], stdin=subprocess.DEVNULL, capture_output=True, timeout=10)


def _fork(host: socket.socket, cwd: Path, memory: int) -> None:
    ours, theirs = socket.socketpair()
    output_read, output_write = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        try:
            from cnn_course.instructor.processes import PR_SET_DUMPABLE, prctl

            prctl(PR_SET_DUMPABLE, 1)  # the zygote is not dumpable; a learner process need not hide
            host.close()
            ours.close()
            os.close(output_read)
            os.setsid()
            os.dup2(output_write, 1)
            os.dup2(output_write, 2)
            os.close(output_write)
            os.chdir(cwd)
            serve(theirs, memory)
        finally:
            os._exit(0)
    theirs.close()
    os.close(output_write)
    socket.send_fds(host, [write_message({"event": "forked", "pid": pid})], [ours.fileno(), output_read])
    ours.close()
    os.close(output_read)


def _report_exits(host: socket.socket) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        host.send(write_message({"event": "exit", "pid": pid, "status": code}))


def main(argv: list[str]) -> int:
    """`zygote FD MEMORY`: run the zygote on the socket FD (see `zygote`)."""
    host = socket.socket(fileno=int(argv[1]))
    zygote(host, int(argv[2]))
    return 0


if __name__ == "__main__":
    os._exit(main(sys.argv[1:]))  # not sys.exit: threads a lesson started must not keep a process alive
