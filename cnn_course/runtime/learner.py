"""The learner side of a lesson: runs its setup and exercise cells, then answers the grader's calls.

Both backends use it: the fork backend (`zygote`, Linux) forks one learner process per lesson, the
portable backend (`spawned`, every system) keeps one `LearnerSide` per lesson in a single
interpreter. Requests and replies are JSON lines (see `protocol`); arguments and results are files
in a folder per call. Nothing here judges the learner's work: it runs it and reports what it
returned, raised or printed.
"""

from __future__ import annotations

import contextlib
import linecache
import os
import sys
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from cnn_course.runtime.calls import call_with_details
from cnn_course.runtime.decoding import Decoder
from cnn_course.runtime.encoding import Encoder
from cnn_course.runtime.ipython_cells import prepare_cell
from cnn_course.runtime.limits import time_limit
from cnn_course.runtime.protocol import CallDetails, ProtocolError, read_message, write_message
from cnn_course.status import Status

MESSAGE_CHARS = 2000


class _Stopped(BaseException):
    """Raised by the time limit: a cell or call ran past it."""


PRELOADED = (
    "numpy",
    "tensorflow",
    "keras",
    "matplotlib.pyplot",
    "sklearn.metrics",
    "seaborn",
    "cnn_course.data",
    "cnn_course.models",
    "cnn_course.plots",
    "cnn_course.training",
    "cnn_course.evaluation",
    "cnn_course.checks",
    "cnn_course.seeding",
    "flask",
    "PIL.Image",
)


def preload() -> None:
    """Import the libraries lessons use (once per interpreter), with matplotlib drawing off screen."""
    import importlib

    import matplotlib

    matplotlib.use("Agg")
    for module in PRELOADED:
        try:
            importlib.import_module(module)
        except Exception:  # noqa: BLE001 - a library missing here is imported (or not) by the lesson itself
            pass


def die_with_parent(parent: int) -> None:
    """End this process when process `parent` (the grading process) goes away.

    (Linux's PR_SET_PDEATHSIG would fire when the grader's *thread* that started us ends, so watch
    instead: on Windows by waiting on the parent's handle, elsewhere by polling the parent's pid.)
    """

    def watch() -> None:
        if sys.platform == "win32":
            import _winapi

            synchronize, infinite = 0x00100000, 0xFFFFFFFF
            try:
                handle = _winapi.OpenProcess(synchronize, False, parent)
            except OSError:
                os._exit(70)
            _winapi.WaitForSingleObject(handle, infinite)
        else:
            while os.getppid() == parent:
                time.sleep(0.5)
        os._exit(70)

    threading.Thread(target=watch, name="parent watch", daemon=True).start()


def limit_memory(limit: int) -> bool:
    """Cap this process's address space at `limit` bytes where the system can (Linux); True if capped.

    Never raises the cap above one the grader already runs under. Windows has no such limit and
    macOS does not enforce it, so there the learner process has the machine's memory.
    """
    if limit <= 0 or not sys.platform.startswith("linux"):
        return False
    try:
        import resource
    except ImportError:
        return False
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY or limit < soft:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    return True


def describe_exception(error: BaseException) -> dict[str, Any]:
    """Return the type, message and the lesson-code frames of `error` (never the package's frames)."""
    frames = [frame for frame in traceback.extract_tb(error.__traceback__) if frame.filename.startswith("<lesson ")]
    where = "".join(traceback.format_list(frames)).rstrip()
    try:
        message = str(error)
    except BaseException:  # noqa: BLE001 - an exception class of the learner's whose __str__ raises
        message = ""
    return {"type": type(error).__name__, "message": message[:MESSAGE_CHARS], "where": where[-MESSAGE_CHARS:]}


class LearnerSide:
    """The lesson's namespace and the apps it returned, answering one request at a time."""

    def __init__(self, reply: Any) -> None:
        self.reply = reply
        self.folder = Path.cwd()  # the lesson's working folder: a call that changes directory is put back
        self.namespace: dict[str, Any] = {"__name__": "__lesson__"}
        self.apps: dict[int, Any] = {}

    def send(self, message: dict[str, Any]) -> None:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001, S110 - lesson code may have replaced or closed them (sys.stdout = None)
                pass
        self.reply.write(write_message(message))
        self.reply.flush()

    def run_cell(self, request: dict[str, Any]) -> None:
        """Execute one cell's source under a time limit and report how it went."""
        label = f"<lesson {request['label']}>"
        source = request["source"]
        linecache.cache[label] = (len(source), None, source.splitlines(True), label)
        cell = prepare_cell(source)  # IPython's syntax (magics, `!` lines) as Jupyter runs it
        error = cell.syntax_error
        if cell.tree is not None:
            try:
                code = compile(cell.tree, label, "exec")
            except SyntaxError as compile_error:  # e.g. `return` outside a function
                error = compile_error
        if error is not None:
            self.send({"status": "syntax_error", "line": error.lineno, "message": str(error.msg)})
            return
        if cell.refusals:
            self.send(
                {"status": "refused", "refusals": [[found.line, found.text, found.kind] for found in cell.refusals]}
            )
            return
        try:
            with time_limit(float(request["timeout"]), _Stopped), cell.output_captured(self.namespace):
                exec(code, self.namespace)  # noqa: S102 - running the learner's cell is this process's purpose
        except _Stopped:
            self.send({"status": Status.TIMEOUT})
            return
        except BaseException as error:  # noqa: BLE001 - SystemExit and KeyboardInterrupt too: report, go on
            self.send({"status": Status.ERROR, **describe_exception(error)})
            return
        self.send({"status": "ok"})

    def call(self, request: dict[str, Any]) -> None:
        """Call exercise `name` with the arguments in the request's folder; write the result there."""
        folder = Path(request["folder"])
        function = self.namespace.get(request["name"])
        if not callable(function):
            self.send(
                {"status": "missing", "found": type(function).__name__ if request["name"] in self.namespace else None}
            )
            return
        decoder = Decoder(folder, generate=True)
        args = decoder.decode(request["args"])
        kwargs = decoder.decode(request["kwargs"])
        watch = request.get("details", False)
        files_before = _snapshot(self.folder) if watch else {}
        try:
            with time_limit(float(request["timeout"]), _Stopped):
                details = (
                    call_with_details(function, *args, **kwargs) if watch else CallDetails(function(*args, **kwargs))
                )
        except _Stopped:
            self.send({"status": Status.TIMEOUT})
            return
        except NotImplementedError:
            self.send({"status": Status.NOT_ATTEMPTED})
            return
        except BaseException as error:  # noqa: BLE001
            described = describe_exception(error)
            if isinstance(error, TypeError) and not described["where"]:
                described["signature"] = _signature(function)
            self.send({"status": Status.ERROR, **described})
            return
        try:
            with time_limit(float(request["timeout"]), _Stopped):  # encoding runs learner code too (a tf.data pipeline)
                encoder = Encoder(folder, register_app=self._register_app)
                reply: dict[str, Any] = {"status": "ok", "value": encoder.encode(details.value)}
                if watch:
                    reply["returned_argument"] = details.returned_argument
                    reply["changed_arguments"] = list(details.changed_arguments)
                    reply["arguments_after"] = [
                        [key, encoder.encode(argument)] for key, argument in details.arguments_after.items()
                    ]
                    reply["started_server"] = details.started_server
                    reply["written_files"] = sorted(
                        path for path, stamp in _snapshot(self.folder).items() if files_before.get(path) != stamp
                    )
        except _Stopped:
            self.send({"status": Status.TIMEOUT})
            return
        except BaseException as error:  # noqa: BLE001
            described = describe_exception(error)
            described["message"] = f"its result could not be sent to the grader: {described['message']}"
            self.send({"status": Status.ERROR, **described})
            return
        self.send(reply)

    def http(self, request: dict[str, Any]) -> None:
        """Run one or several HTTP requests through an app this process returned earlier."""
        from werkzeug.test import EnvironBuilder, run_wsgi_app

        app = self.apps[int(request["app"])]
        folder = Path(request["folder"])

        def one(files: dict[str, Any], data: dict[str, str], method: str) -> dict[str, Any]:
            payload = {
                **data,
                **{field: (_BytesFile(folder / spec[1]), spec[0], *spec[2:]) for field, spec in files.items()},
            }
            builder = EnvironBuilder(path=request["path"], method=method, data=payload or None)
            try:
                body_iter, status, headers = run_wsgi_app(app, builder.get_environ(), buffered=True)
                body = b"".join(body_iter)
            finally:
                builder.close()
            return {"status": int(status.split()[0]), "headers": dict(headers), "body": body.decode("latin-1")}

        try:
            with time_limit(float(request["timeout"]), _Stopped):
                if "many" in request:
                    with ThreadPoolExecutor(max_workers=int(request["threads"])) as pool:
                        responses = list(pool.map(lambda files: one(files, {}, "POST"), request["many"]))
                else:
                    responses = [one(request.get("files", {}), request.get("data", {}), request["method"])]
        except _Stopped:
            self.send({"status": Status.TIMEOUT})
            return
        except BaseException as error:  # noqa: BLE001
            self.send({"status": Status.ERROR, **describe_exception(error)})
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


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Size and mtime of every file under the lesson's folder and the temporary folder."""
    stamps = {}
    for root in {folder, Path(os.environ.get("TMPDIR", "/tmp"))}:
        try:
            paths = list(root.rglob("*"))
        except OSError:  # lesson code removed the folder
            continue
        for path in paths:
            try:
                if path.is_file() and not path.is_symlink():
                    stat = path.stat()
                    stamps[str(path.relative_to(root))] = (stat.st_size, stat.st_mtime_ns)
            except OSError:
                continue
    return stamps


def answer(side: LearnerSide, operation: str, request: dict[str, Any]) -> None:
    """Answer one request ("cell", "call" or "http"); whatever escapes the handler is reported, never fatal."""
    handler = {"cell": side.run_cell, "call": side.call, "http": side.http}.get(operation)
    try:
        if handler is None:
            side.send({"status": "garbled"})
        else:
            handler(request)
    except BaseException as error:  # noqa: BLE001 - e.g. a result that cannot be encoded, an app that is gone
        try:
            described = describe_exception(error)
        except BaseException:  # noqa: BLE001 - an exception whose str() raises
            described = {"type": type(error).__name__, "message": "", "where": ""}
        side.send({"status": Status.ERROR, **described})
    finally:
        with contextlib.suppress(OSError):
            os.chdir(side.folder)  # the lesson's folder again, after code that changed directory


def serve_one_lesson(requests: Any, replies: Any) -> None:
    """Answer one lesson's requests (JSON lines on `requests`) until 'close' or end of file."""
    side = LearnerSide(replies)
    side.send({"status": "started"})
    for line in requests:
        try:
            request = read_message(line)
        except ProtocolError:
            side.send({"status": "garbled"})
            continue
        if request.get("op") == "close":
            break
        answer(side, request.get("op"), request)
