"""The grading side of the learner process: start it, feed it a lesson's cells, call its exercises.

Two backends run learner processes (see `cnn_course.runtime.backends`): the fork backend
(`forked`, Linux) and the portable one (`spawned`, every system). Whichever runs, a lesson's
`LearnerProcess` sends the same requests and turns whatever the lesson's code does (exits, hangs,
floods its output, dies of a signal) into the same verdict: a cell that ends the process is left
out on the next start, a call that outlives its limit is ended from outside, and output is kept
to a bounded head. Only data comes back (see `cnn_course.runtime.protocol`).
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cnn_course.checks.feedback import ExerciseError, ExerciseTimeout, NotAttempted
from cnn_course.grading.connection import Connection
from cnn_course.grading.environment import CELL_TIMEOUT_S, DEFAULT_MEMORY_BYTES, GRACE_S, launcher_for
from cnn_course.grading.forked import ForkHost
from cnn_course.grading.messages import cell_problem, death_message, error_message, printed, timeout_message
from cnn_course.grading.spawned import SpawnHost
from cnn_course.runtime.backends import choose_backend
from cnn_course.runtime.decoding import Decoder
from cnn_course.runtime.encoding import Encoder
from cnn_course.runtime.fs import copy_lesson_folder, remove_tree
from cnn_course.runtime.privileges import hand_over_again
from cnn_course.runtime.protocol import CallDetails, HttpResponse, ProtocolError
from cnn_course.status import Status

LearnerHost = ForkHost | SpawnHost
STALE = -1  # what `_run_cells` returns when the shared interpreter ended for another lesson's sake
STALE_RESTARTS = 3


def make_host(
    backend: str | None = None,
    *,
    sandbox: str = "none",
    memory_bytes: int = DEFAULT_MEMORY_BYTES,
    threads: int = 1,
) -> tuple[LearnerHost, str]:
    """The learner host of one grading session, and its backend described in words.

    Args:
        backend: "auto", "fork" or "spawn" (see `cnn_course.runtime.backends.choose_backend`);
            None reads $CNN_COURSE_LEARNER_BACKEND.
        sandbox: "bwrap" runs learner processes in the instructor's sandbox (Linux), "auto" in a learner's own
            run's (`FolderGuard`: bubblewrap where it runs, else directly), "none" directly.
        memory_bytes: the address-space limit of each learner process, where the system has one (Linux).
        threads: CPU threads each learner process may use.

    Raises:
        ValueError: `backend` names no backend.
    """
    import cnn_course.grading.forked as forked

    chosen, described = choose_backend(backend)
    launcher = launcher_for(sandbox)
    if chosen == "fork":
        return ForkHost(
            memory_bytes=memory_bytes, threads=threads, launcher=launcher, shared=forked.SHARED_ZYGOTE
        ), described
    return SpawnHost(memory_bytes=memory_bytes, threads=threads, launcher=launcher), described


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


class LearnerProcess:
    """One lesson's learner process: started on demand, started again after it died or was ended."""

    def __init__(self, host: LearnerHost, lesson_folder: Path, cells: Sequence[Cell], *, cell_timeout: float) -> None:
        self.host, self.lesson_folder, self.cells = host, lesson_folder, list(cells)
        self.cell_timeout = max(cell_timeout, CELL_TIMEOUT_S)
        self.problems = CellProblems()
        self._connection: Connection | None = None
        self._scratch: Path | None = None
        self._calls = itertools.count(1)
        self._lock = threading.Lock()

    # -- life cycle -------------------------------------------------------------------------

    def start(self) -> CellProblems:
        """Start the process and run the lesson's cells; return what went wrong in them."""
        with self._lock:
            self._start_locked()
        return self.problems

    def _start_locked(self) -> None:
        for _ in range(
            len(self.cells) + STALE_RESTARTS + 1
        ):  # each round leaves out one more cell, or follows a restart
            if not self._spawn():
                return
            failed_cell = self._run_cells()
            if failed_cell is None:
                return
            if failed_cell >= 0:
                self.problems.skipped.add(failed_cell)

    def _spawn(self) -> bool:
        """Start a fresh learner in a fresh scratch folder; False (and a setup error) when it does not start."""
        self._release()
        self._scratch = self.host.new_folder("lesson")
        workdir = self._scratch / "lesson"
        copy_lesson_folder(self.lesson_folder, workdir)
        (self._scratch / "calls").mkdir()
        hand_over_again(self.host.root)
        try:
            self._connection = self.host.open(workdir)
        except OSError as error:
            self.problems.setup_error = str(error)
            return False
        return True

    def _run_cells(self) -> int | None:
        """Run every cell not skipped.

        Return the index of a cell that ended or hung the process (STALE: another lesson's did), else None.
        """
        for index, cell in enumerate(self.cells):
            if index in self.problems.skipped:
                continue
            reply = self._connection.request(
                {"op": "cell", "label": cell.label, "source": cell.source, "timeout": self.cell_timeout},
                self.cell_timeout,
            )
            if reply is None and self._connection.stale:
                return STALE
            if reply is None:
                self._record(
                    cell,
                    self._death_message(f"running {cell.label}") + " The grader skipped this cell and ran the others.",
                )
                return index
            problem = cell_problem(cell, reply, self.cell_timeout)
            if problem:
                self._record(cell, problem)
        return None

    def _record(self, cell: Cell, problem: str) -> None:
        if cell.role == "setup":
            self.problems.setup_error = (
                self.problems.setup_error or f"the setup cell ({cell.label}) fails, so no exercise can run: {problem}"
            )
        for name in cell.names:
            self.problems.broken.setdefault(name, problem)

    def close(self) -> None:
        """Let go of the learner and remove its scratch folder."""
        with self._lock:
            self._release()

    def _alive(self) -> bool:
        return self._connection is not None and self._connection.alive()

    def _release(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        if self._scratch is not None:
            remove_tree(self._scratch)
            self._scratch = None

    def _death_message(self, during: str) -> str:
        """Say why the learner stopped answering while `during`, and make sure it is gone."""
        connection = self._connection
        code = None if connection.hung else connection.exit_status(GRACE_S)
        connection.kill()
        return death_message(during, hung=connection.hung, code=code)

    # -- calls ------------------------------------------------------------------------------

    def call(self, name: str, args: tuple, kwargs: dict, timeout: float, details: bool = False) -> CallDetails:
        """Call exercise `name`; raise NotAttempted, ExerciseTimeout or ExerciseError for those outcomes."""
        with self._lock:
            for _ in range(STALE_RESTARTS):
                if not self._alive():
                    self._start_locked()
                if not self._alive():
                    raise ExerciseError(name, self.problems.setup_error or "the lesson's process could not start.")
                folder = self._scratch / "calls" / str(next(self._calls))
                folder.mkdir()
                encoder = Encoder(folder)
                request = {
                    "op": "call",
                    "name": name,
                    "folder": str(folder),
                    "timeout": timeout,
                    "details": details,
                    "args": encoder.encode(tuple(args)),
                    "kwargs": encoder.encode(dict(kwargs)),
                }
                connection = self._connection
                hand_over_again(self.host.root)  # the arguments, files the checks made for them
                reply = connection.request(request, timeout)
                if reply is not None or not connection.stale:  # stale: another lesson ended the shared interpreter
                    break
            if reply is None:
                if connection.hung:  # the request ended it already
                    raise ExerciseTimeout(name, timeout_message(timeout, hard=True) + printed(connection.printed))
                raise ExerciseError(name, self._death_message(f"running `{name}`") + printed(connection.printed))
            return self._call_outcome(name, reply, folder, timeout, connection.printed)

    def _call_outcome(self, name: str, reply: dict[str, Any], folder: Path, timeout: float, said: str) -> CallDetails:
        status = reply.get("status")
        if status == Status.NOT_ATTEMPTED:
            raise NotAttempted(name)
        if status == Status.TIMEOUT:
            raise ExerciseTimeout(name, timeout_message(timeout, hard=False) + printed(said))
        if status == "missing":
            raise ExerciseError(
                name,
                f"is not defined by the lesson's exercise cells (found {reply['found']} instead of a function)."
                if reply.get("found")
                else "is not defined by the lesson's exercise cells. "
                "The exercise cell must define a function with this name: "
                "did you rename it, or delete or retag its cell?",
            )
        if status == Status.ERROR:
            raise ExerciseError(name, error_message(reply) + printed(said))
        if status != "ok":
            raise ExerciseError(name, "the lesson's process sent an answer the grader cannot read." + printed(said))
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
            started_server=reply.get("started_server") is True,
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

        message = {
            "op": "http",
            "app": app_id,
            "folder": str(folder),
            "path": request["path"],
            "method": request["method"],
            "timeout": 60,
        }
        if "many" in request:
            message.update(many=[store(files) for files in request["many"]], threads=request["threads"])
        else:
            message.update(files=store(request.get("files", {})), data=request.get("data", {}))
        hand_over_again(self.host.root)
        with self._lock:
            reply = self._connection.request(message, 60) if self._alive() else None
        if reply is None or reply.get("status") != "ok":
            detail = (
                error_message(reply) if reply and reply.get("status") == Status.ERROR else "the app did not answer."
            )
            raise ExerciseError("app", f"a request to {request['path']} failed: {detail}")
        responses = [
            HttpResponse(int(r["status"]), dict(r["headers"]), str(r["body"]).encode("latin-1"))
            for r in reply["responses"]
        ]
        return responses if "many" in request else responses[0]
