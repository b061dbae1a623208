"""As root with no sandbox (Gradescope's containers), learner code runs as `nobody`: it cannot change the graders.

A lesson's exercise cell tries to write into the course package (`cnn_course/checks/`), the graders folder and
site-packages, and to change and delete a canary file in a root-owned folder open to every user. The graders
run on that lesson as a learner (or Gradescope's `run_autograder`) runs them as root, with bubblewrap hidden,
with each backend (util-linux `setpriv` drops the privileges; a unit test covers Python doing it where
`setpriv` is missing): every write fails, the lesson's exercises are graded as usual and a correct lesson passes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import uuid
from pathlib import Path

import pytest

import cnn_course
from cnn_course.grading.environment import FolderGuard, Unprivileged, drops_privileges, launcher_for, protection
from cnn_course.runtime.privileges import LEARNER_UID, hand_over, unprivileged_command

from .conftest import REPO, patched_masters, run_graders

pytestmark = pytest.mark.skipif(
    sys.platform != "linux" or os.geteuid() != 0,
    reason="learner processes drop privileges only where the grader is root (Linux)",
)

ATTACK = """
import pathlib as _pl

for _path in {writes!r}:
    try:
        _pl.Path(_path).write_text("forged by lesson code")
    except OSError:
        pass
for _tamper in (lambda: _pl.Path({canary!r}).write_text("forged"), lambda: _pl.Path({canary!r}).unlink()):
    try:
        _tamper()
    except OSError:
        pass


def scale_images("""


@pytest.fixture(scope="module", params=["fork", "spawn"])
def attacked(request, tmp_path_factory):
    """Grade lessons 01 (attacking) and 02 (correct) as root, bubblewrap hidden; return the run and the targets."""
    backend = request.param
    root = tmp_path_factory.mktemp(f"privileges-{backend}")
    token = uuid.uuid4().hex
    writes = [
        Path(cnn_course.__file__).parent / "checks" / f"forged_{token}.py",
        REPO / "tests" / "graders" / f"test_forged_{token}.py",
        Path(sysconfig.get_paths()["purelib"]) / f"forged_{token}.py",
    ]
    shelf = Path(tempfile.mkdtemp(prefix="cnn-course-canary-", dir="/tmp"))  # root's, open to all, like the package
    os.chmod(shelf, 0o755)
    canary = shelf / "graders.py"
    canary.write_text("intact")
    attack = ATTACK.format(writes=[str(path) for path in writes], canary=str(canary))
    target = patched_masters(root / "lessons", [("01_mnist_data", "def scale_images(", attack)])
    tools = root / "tools"  # PATH: setpriv, no bubblewrap
    tools.mkdir()
    (tools / "setpriv").symlink_to(shutil.which("setpriv"))
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("PATH", str(tools))
            run = run_graders(target, "-k", "01_mnist or 02_mnist", "--learner-backend", backend, timeout=600)
        yield run, writes, canary
    finally:
        for path in writes:
            path.unlink(missing_ok=True)
        shutil.rmtree(shelf, ignore_errors=True)


def test_lesson_code_cannot_write_into_the_package_graders_or_site_packages(attacked):
    run, writes, canary = attacked
    assert [path for path in writes if path.exists()] == [], run.output[-3000:]
    assert canary.read_text() == "intact"


def test_the_attacking_lesson_and_a_correct_one_are_graded_as_usual(attacked):
    run, _, _ = attacked
    assert run.results and all(outcome == "passed" for outcome, _ in run.results.values()), run.results
    assert "runs as user nobody" in run.output  # the report header says what protects the graders


def test_without_a_sandbox_as_root_every_launcher_drops_privileges(tmp_path, monkeypatch):
    monkeypatch.setattr(FolderGuard, "status", lambda self: ("none", "bubblewrap cannot create its namespaces here"))
    guard = FolderGuard()
    command = guard(["python", "-c", "pass"], tmp_path, {})
    assert command[-3:] == ["python", "-c", "pass"] and command[:-3] != []
    assert drops_privileges(guard) and "nobody" in protection(guard)[1]
    assert isinstance(launcher_for("none"), Unprivileged)
    assert tmp_path.stat().st_uid == LEARNER_UID  # the scratch root is the learner's


def test_a_learners_own_run_stays_root_where_nobody_cannot_read_the_installation(tmp_path, monkeypatch):
    """A course cloned inside /root (mode 0700) and graded as root with no sandbox: running lesson code as nobody
    would fail every exercise, so the learner's own run keeps root and says why; the instructor's --sandbox none
    still drops (the autograder's installation is readable by all)."""
    from cnn_course.grading import environment

    monkeypatch.setattr(FolderGuard, "status", lambda self: ("none", "bubblewrap cannot create its namespaces here"))
    monkeypatch.setattr(environment, "nobody_can_run", lambda python, package_parent: False)
    guard = FolderGuard()
    assert guard(["python", "-c", "pass"], tmp_path, {}) == ["python", "-c", "pass"]
    assert not drops_privileges(guard)
    assert "runs as root: user nobody cannot read this Python or the course" in protection(guard)[1]
    assert tmp_path.stat().st_uid == os.geteuid()
    assert isinstance(launcher_for("none"), Unprivileged)


def test_without_setpriv_python_drops_privileges_before_running_the_command(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    command = unprivileged_command(["/bin/sh", "-c", "id -u; id -G; grep NoNewPrivs /proc/self/status"])
    assert command[0] == sys.executable
    environment = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(Path(cnn_course.__file__).parent.parent)}
    said = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=60, cwd="/", check=False)
    assert said.stdout.split() == [str(LEARNER_UID), str(LEARNER_UID), "NoNewPrivs:", "1"], said.stderr


def test_handing_a_folder_over_never_gives_away_what_links_lead_to(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "graders.py").write_text("")
    scratch = tmp_path / "scratch"
    (scratch / "lesson").mkdir(parents=True)
    (scratch / "lesson" / "answer.npy").write_bytes(b"")
    (scratch / "lesson" / "link").symlink_to(outside)
    os.link(outside / "graders.py", scratch / "lesson" / "hard-link.py")
    hand_over(scratch)
    assert (scratch / "lesson").stat().st_uid == (scratch / "lesson" / "answer.npy").stat().st_uid == LEARNER_UID
    assert outside.stat().st_uid == (outside / "graders.py").stat().st_uid == 0
