"""Time limits inside one process, on every system: stop a block of code that runs too long.

Two mechanisms raise the same exception in the thread that entered the block:

- ``"alarm"`` (Linux, macOS, in the main thread): SIGALRM from an interval timer, which also cuts
  short a blocking ``time.sleep``;
- ``"watchdog"`` (everywhere, Windows included): a thread that raises the exception in the
  limited thread with ``PyThreadState_SetAsyncExc``. It takes effect at the next Python
  instruction, so it cannot cut short a call that blocks inside C code.

Both raise again every second, so code that swallows the first exception is still stopped. Where
neither is enough (a native loop, code that swallows every exception), the process that asked for
the work ends the process from outside: see `cnn_course.grading.learner_client`.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Any

REPEAT_S = 1.0
MECHANISM_VARIABLE = "CNN_COURSE_TIME_LIMIT"  # "alarm" or "watchdog": which mechanism to use where both work


def has_alarm() -> bool:
    """True where this system has SIGALRM and interval timers (not on Windows)."""
    return hasattr(signal, "SIGALRM") and hasattr(signal, "setitimer") and hasattr(signal, "ITIMER_REAL")


def mechanism() -> str:
    """The mechanism `time_limit` uses in the calling thread: "alarm" or "watchdog"."""
    wanted = os.environ.get(MECHANISM_VARIABLE, "").strip().lower()
    if wanted != "watchdog" and has_alarm() and threading.current_thread() is threading.main_thread():
        return "alarm"
    return "watchdog"


@contextlib.contextmanager
def time_limit(seconds: float, error: Callable[[], BaseException]) -> Iterator[None]:
    """Raise `error()` in the calling thread if the block runs longer than `seconds`, then every second.

    Args:
        seconds: the limit in seconds; 0 or less means none.
        error: an exception class that takes no arguments (the watchdog can only raise a class).
    """
    if seconds <= 0:
        yield
        return
    if mechanism() == "alarm":
        with _alarm(seconds, error):
            yield
    else:
        with _watchdog(seconds, error):
            yield


@contextlib.contextmanager
def _alarm(seconds: float, error: Callable[[], BaseException]) -> Iterator[None]:
    def on_alarm(signum: int, frame: Any) -> None:
        raise error()

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, max(seconds, 0.001), REPEAT_S)
    try:
        yield
    finally:
        while True:  # an alarm that fires during the clean-up must not leave the timer armed
            try:
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, previous)
                break
            except BaseException:  # noqa: BLE001, S112 - the block is over: its late interrupt is dropped
                continue


@contextlib.contextmanager
def _watchdog(seconds: float, error: Callable[[], BaseException]) -> Iterator[None]:
    target = threading.get_ident()
    done = threading.Event()
    lock = threading.Lock()
    set_async_exc = ctypes.pythonapi.PyThreadState_SetAsyncExc

    def watch() -> None:
        wait = seconds
        while not done.wait(wait):
            with lock:
                if done.is_set():
                    return
                set_async_exc(ctypes.c_ulong(target), ctypes.py_object(error))
            wait = REPEAT_S

    watcher = threading.Thread(target=watch, name="time limit", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        while True:  # an exception delivered during the clean-up must not leave the watchdog running
            try:
                with lock:
                    done.set()
                    set_async_exc(
                        ctypes.c_ulong(target), None
                    )  # one raised but not delivered yet must not escape the block
                break
            except BaseException:  # noqa: BLE001, S112 - the block is over: its late interrupt is dropped
                continue
