"""Learner-facing text, cleaned: no instructor path, no hidden-test or solution line, no package traceback.

Every message a batch stores (and so every gradebook, JSON, Gradescope and feedback file) goes
through `FeedbackFilter.clean`, whatever the grader or the learner's code put in it: paths of the
instructor's machine become relative or a placeholder, traceback frames outside the learner's own
lesson are dropped, a message that quotes a line of the masters (that the learners' lessons do not
have) or of a hidden test keeps only its first line and a note, odd characters are escaped and
length is bounded.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from pathlib import Path

import cnn_course

MAX_MESSAGE_CHARS = 4000
REDACTED = "[the rest of this message quoted the instructor's files (solutions or hidden tests) and was removed]"
_MIN_SECRET_CHARS = 12  # shorter lines ("return x", "import numpy as np") are not worth hiding
_FRAME = re.compile(r'^\s*File "(?P<file>[^"]*)", line \d+')
_PYTEST_FRAME = re.compile(r"^(?P<file>[^\s:]+\.py):\d+: ")
_LEARNER_FILE = re.compile(r"^(?:.*/)?\d\d_[\w-]+\.(?:py|ipynb)(?:, cell \d+)?$|^<(?:cell|string|learner)[^>]*>$")


def printable(text: str) -> str:
    """Return `text` with bytes that are not UTF-8 as \\xNN and control characters (but newline and tab) escaped."""
    text = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return "".join(c if c.isprintable() or c in "\n\t" else ascii(c)[1:-1] for c in text)


def _lines(paths: Iterable[Path]) -> set[str]:
    found: set[str] = set()
    for path in paths:
        try:
            found |= {line.strip() for line in path.read_text(encoding="utf-8", errors="replace").splitlines()}
        except OSError:
            continue
    return found


def _docstring_first_lines(paths: Iterable[Path]) -> set[str]:
    """First lines of the docstrings of hidden tests: the one line a learner is meant to see."""
    found: set[str] = set()
    for path in paths:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        for before, line in zip(lines, lines[1:]):
            if before.lstrip().startswith("def test") and line.strip().startswith(('"""', "'''")):
                found.add(line.strip())
    return found


def secret_lines(
    solutions: Path | None, lessons: Path | None, hidden: Path | None, public: Iterable[Path] = ()
) -> set[str]:
    """Lines the learners must never see: of the masters and hidden tests, minus what the learners already have.

    A line counts when it has at least 12 characters once stripped; lines of the generated lessons, of
    the public graders (`public`) and the hidden tests' one-line descriptions are left out.
    """
    secret: set[str] = set()
    if solutions is not None and solutions.is_dir():
        secret |= _lines(solutions.glob("*.py"))
    hidden_files = sorted(hidden.rglob("*.py")) if hidden is not None and hidden.is_dir() else []
    secret |= _lines(hidden_files)
    allowed = _lines(lessons.glob("*.py")) if lessons is not None and lessons.is_dir() else set()
    allowed |= _lines(public) | {line.strip("\"' ") for line in _docstring_first_lines(hidden_files)}
    return {line for line in secret - allowed if len(line) >= _MIN_SECRET_CHARS}


class FeedbackFilter:
    """Cleans messages for learners; knows the instructor's paths and the lines to hide."""

    def __init__(self, instructor_paths: dict[Path, str], secrets: set[str]) -> None:
        """`instructor_paths` maps a folder to what it is shown as ("" for relative); `secrets` are lines to hide."""
        python = {Path(p): "<python>" for p in {sys.prefix, sys.base_prefix, sys.exec_prefix}}
        package = {Path(cnn_course.__file__).resolve().parent: "<cnn_course>"}
        places: dict[str, str] = {}
        for folder, shown in {**python, **package, **instructor_paths}.items():
            for variant in {str(folder), str(folder.resolve())}:
                places[variant] = shown
        # Longest first, so that a folder inside another is replaced by its own placeholder.
        self._places = sorted(places.items(), key=lambda item: -len(item[0]))
        self._secrets = sorted(secrets, key=len, reverse=True)

    def _unpath(self, text: str) -> str:
        for prefix, shown in self._places:
            text = text.replace(prefix + "/", f"{shown}/" if shown else "").replace(prefix, shown or ".")
        return text

    def _drop_foreign_frames(self, lines: list[str]) -> list[str]:
        kept, skip_indented = [], False
        for line in lines:
            if skip_indented and line.startswith("    ") and not _FRAME.match(line):
                continue
            skip_indented = False
            frame = _FRAME.match(line) or _PYTEST_FRAME.match(line)
            if frame and not _LEARNER_FILE.match(frame["file"]):
                skip_indented = True
                continue
            kept.append(line)
        return kept

    def clean(self, message: str) -> str:
        """Return `message` as a learner may read it (see the module's docstring)."""
        lines = self._drop_foreign_frames(self._unpath(printable(message)).splitlines())
        quoting = [index for index, line in enumerate(lines) if any(secret in line for secret in self._secrets)]
        if quoting:  # the message quotes the instructor's files: keep only what comes before the first quote
            lines = lines[: min(quoting[0], 1)] + [REDACTED]
        text = "\n".join(lines)
        if len(text) > MAX_MESSAGE_CHARS:
            text = (
                text[:MAX_MESSAGE_CHARS].rstrip() + f"\n[… {len(text) - MAX_MESSAGE_CHARS:,} more characters not shown]"
            )
        return text
