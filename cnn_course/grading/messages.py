"""The wording of what the learner process did, for the learner: cells, calls, deaths and timeouts."""

from __future__ import annotations

import signal
from typing import Any

from cnn_course.checks.feedback import keras_error_hint
from cnn_course.runtime.ipython_cells import Refusal, explain_refusals
from cnn_course.status import Status

ENVIRONMENT_ADVICE = (
    "This is a problem of this computer's set-up, not of your code. Run `cnn-course doctor` to see what is "
    'missing, and check that `python -c "import tensorflow"` works in the environment you grade from.'
)


def cannot_start(cause: str, *, portable: bool = False) -> str:
    """The message every exercise of a lesson gets when no learner process can be started at all.

    With the fork backend (`portable` False) it also suggests the portable one.
    """
    advice = (
        ENVIRONMENT_ADVICE
        if portable
        else (
            f"{ENVIRONMENT_ADVICE} If it keeps failing, grade with `--learner-backend spawn` "
            "(or set CNN_COURSE_LEARNER_BACKEND=spawn)."
        )
    )
    return f"the grader could not start a learner process to run your lesson ({cause}). {advice}"


def death_message(during: str, *, hung: bool, code: int | None) -> str:
    """Say why the learner process stopped answering while `during` (code: its exit status, negative for a signal)."""
    if hung:
        return (
            f"the lesson's code did not finish {during} within its time limit "
            "(it may catch the timer's interrupt) and was stopped."
        )
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        cause = " (often: out of memory, or a call that kills processes)" if name == "SIGKILL" else ""
        return f"the lesson's code was killed by {name}{cause} while {during}."
    if code is not None and code >= 0xC0000000:  # a Windows exception code: the process crashed
        return (
            f"the lesson's code crashed its process (Windows error 0x{code:08X}: often a stack overflow from deep "
            f"recursion, or a library's native code failing) while {during}."
        )
    how = (
        f"ended its process (exit status {code})"
        if code is not None
        else "ended its process, or the process that started it,"
    )
    return (
        f"the lesson's code {how} while {during}: remove calls to "
        "os._exit(), sys.exit(), exit() or quit() and anything that kills processes from your cells."
    )


def cell_problem(cell: Any, reply: dict[str, Any], timeout: float) -> str | None:
    status = reply.get("status")
    if status == "ok":
        return None
    if status == "syntax_error":
        return (
            f"its cell does not parse ({cell.label}, line {reply.get('line')}: {reply.get('message')}). "
            "Fix the syntax and save."
        )
    if status == "refused":
        try:
            refusals = [Refusal(int(line), str(text), str(kind)) for line, text, kind in reply["refusals"]]
        except (KeyError, TypeError, ValueError):  # not what the learner side sends: fall through to "could not be run"
            refusals = []
        if refusals:
            return explain_refusals(refusals, f"its cell ({cell.label})", cell.role)
    if status == Status.TIMEOUT:
        return (
            f"its cell ({cell.label}) did not finish within {timeout:g} s while being defined: "
            "move long work out of the exercise cell."
        )
    if status == Status.ERROR:
        if reply.get("type") == "SystemExit":
            return f"its cell ({cell.label}) calls sys.exit() or exit() while being defined: remove that call."
        return (
            f"its cell raises {reply.get('type')}: {reply.get('message')} while being defined ({cell.label})\n"
            f"{reply.get('where', '')}"
        ).rstrip()
    return f"its cell ({cell.label}) could not be run."


def error_message(reply: dict[str, Any]) -> str:
    kind, text = str(reply.get("type")), str(reply.get("message", ""))
    if kind == "SystemExit":
        message = "called sys.exit() or exit(), which ends a program; an exercise must `return` its result instead."
    elif kind == "KeyboardInterrupt":
        message = "raised KeyboardInterrupt (an interrupt), so it was stopped before returning a result."
    elif kind == "MemoryError":
        message = (
            "ran out of memory (MemoryError): look for an array far larger than the data, "
            "e.g. from broadcasting (N, 1) against (N,)."
        )
    else:
        message = f"raised {kind}: {text}" + keras_error_hint(text)
    if reply.get("signature"):
        message += (
            f"\nThe grader calls it with the arguments the exercise's docstring names; your function is "
            f"`{reply['signature']}`. Keep the signature given in the lesson."
        )
    if reply.get("where"):
        message += f"\n{reply['where']}"
    return message


def timeout_message(timeout: float, hard: bool) -> str:
    stopped = "was stopped from outside (it kept running after the timer's interrupt)" if hard else "was stopped"
    return (
        f"did not finish within {timeout:g} s and {stopped}. Look for a loop whose condition never becomes false, "
        "or work that grows with the data (a Python loop over every pixel); "
        "the reference solution takes well under a second."
    )


def printed(text: str) -> str:
    return f"\nIt printed:\n{text}" if text else ""
