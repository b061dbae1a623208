"""Progress of a batch: one line per graded submission, and a redrawn bar only when stderr is a terminal."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from cnn_course.authoring.course_config import number
from cnn_course.gradebook.results import SubmissionResult
from cnn_course.status import Status


class Progress:
    """Prints each finished submission to `out`; on a terminal, keeps a bar on the last line of `bar`."""

    def __init__(self, total: int, out: TextIO = sys.stdout, bar: TextIO = sys.stderr, width: int = 30) -> None:
        self.total, self.done, self.out, self.bar, self.width = total, 0, out, bar, width
        self.started = time.monotonic()
        self.live = bar.isatty()
        self._draw()

    def _draw(self) -> None:
        if not self.live:
            return
        filled = self.width * self.done // max(1, self.total)
        elapsed = time.monotonic() - self.started
        self.bar.write(
            f"\r[{'#' * filled}{'.' * (self.width - filled)}] {self.done}/{self.total} graded, {elapsed:.0f} s"
        )
        self.bar.flush()

    def finished(self, result: SubmissionResult) -> None:
        """Report one graded submission and advance the bar."""
        self.done += 1
        if self.live:
            self.bar.write("\r" + " " * (self.width + 40) + "\r")
        counts = ", ".join(
            f"{result.count(s)} {s}"
            for s in (Status.FAILED, Status.ERROR, Status.TIMEOUT, Status.NOT_ATTEMPTED)
            if result.count(s)
        )
        detail = f" ({counts})" if counts else ""
        note = f" [{result.run}: {result.note}]" if result.run != "completed" else ""
        width = len(str(self.total))
        self.out.write(
            f"[{self.done:>{width}}/{self.total}] {result.learner}: {number(result.total)}/{number(result.max_total)} "
            f"points{detail}, {result.seconds:.0f} s{note}\n"
        )
        self.out.flush()
        self._draw()

    def close(self) -> None:
        """Remove the bar, leaving the terminal on a fresh line."""
        if self.live:
            self.bar.write("\r" + " " * (self.width + 40) + "\r")
            self.bar.flush()
