"""The learner's path under an interpreter without the POSIX-only APIs Windows lacks: the same verdicts as Linux's.

`learner_path` grades the masters of lessons 1 and 2, a copy of them with typical mistakes, and runs
`self_check`; run once with that interpreter (portable backend, watchdog time limits, no memory
limit) and once with this one (fork backend, SIGALRM), every verdict must be the same.
"""

from __future__ import annotations

import json
import subprocess
import sys

from ..package.conftest import REPO


def learner_path(python, out):
    completed = subprocess.run(
        [str(python), "-m", "tests.portability.learner_path", "--out", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-4000:]
    return json.loads((out / "verdicts.json").read_text(encoding="utf-8"))


def test_posixless_verdicts_equal_the_fork_backends(posixless_python, tmp_path, monkeypatch):
    monkeypatch.delenv("CNN_COURSE_LEARNER_BACKEND", raising=False)
    portable = learner_path(posixless_python, tmp_path / "posixless")
    linux = learner_path(sys.executable, tmp_path / "linux")
    assert portable == linux
    assert portable["self_check"]["cp1252"][0] == "OK scale_images passes every check."
