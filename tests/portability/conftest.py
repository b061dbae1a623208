"""Fixtures of the portability tests: the POSIX-less interpreter, made once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from .posixless import make_posixless_python


@pytest.fixture(scope="session")
def posixless_python(tmp_path_factory) -> Path:
    """An interpreter without the POSIX-only APIs Windows lacks (see `posixless`)."""
    return make_posixless_python(tmp_path_factory.mktemp("posixless") / "venv")
