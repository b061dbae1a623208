"""Fixtures of the portability tests: the POSIX-less interpreter, made once per session."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from .posixless import make_posixless_python


@pytest.fixture(scope="session")
def posixless_python(tmp_path_factory) -> Path:
    """An interpreter without the POSIX-only APIs Windows lacks (see `posixless`)."""
    return make_posixless_python(tmp_path_factory.mktemp("posixless") / "venv")


@pytest.fixture(autouse=True)
def system_temporary_folder(monkeypatch):
    """The system's temporary folder, as a learner's session has it: in a run that also grades (tests/graders), the
    grading plugin points `tempfile` at its own learner processes' folder, and a host these tests start would
    otherwise nest its scratch folders inside another host's."""
    monkeypatch.setattr(tempfile, "tempdir", None)
