"""Self-grading leaves the learner's folder as it was, and grades the files saved before lesson code ran.

An exercise cell that hunts for the real folder (its ancestors' command lines and environments in /proc,
walking up from its working folder, a path written into the lesson) and, wherever it finds it, plants a
passing history and a model in models/, deletes another lesson and writes stray files. The graders run
on that lesson as a learner runs them, with each backend, with the bubblewrap sandbox that hides the
folder and with bubblewrap missing (then the folder is put back afterwards). The unit tests below take
`FolderSnapshot` through what a run does to a folder.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from cnn_course.grading.connection import start_kept
from cnn_course.grading.environment import FolderGuard
from cnn_course.grading.snapshot import FolderSnapshot
from cnn_course.grading.spawned import end_process_tree
from cnn_course.runtime.sandbox import sandbox_status

from .conftest import patched_masters, run_graders
from .test_grader_outcomes import snapshot as hashes

FAILING_HISTORY = json.dumps({"accuracy": [0.9, 0.95], "loss": [0.3, 0.2]})  # no validation metrics: fails
PASSING_HISTORY = json.dumps({"accuracy": [0.9], "loss": [0.3], "val_accuracy": [0.9], "val_loss": [0.3]})
STRATEGIES = ("cmdline", "environment", "walking", "absolute")
VARIABLE = "MY_LESSONS"  # a learner's own variable naming the folder, in the grader's environment

HUNT = """
import json as _json, os as _os, pathlib as _pl


def _hunt():
    found = {{}}

    def note(folder, how):
        folder = _pl.Path(folder)
        try:
            if (folder / {marker!r}).is_file() and folder.resolve() != _pl.Path.cwd().resolve():
                found.setdefault(folder, set()).add(how)
        except OSError:  # a folder this user may not enter
            pass

    pid = _os.getppid()
    while pid > 1:
        try:
            argv = [a.decode() for a in _pl.Path(f"/proc/{{pid}}/cmdline").read_bytes().split(b"\\0")]
            cwd = _os.readlink(f"/proc/{{pid}}/cwd")
            environ = _pl.Path(f"/proc/{{pid}}/environ").read_bytes().decode(errors="replace").split("\\0")
            parent = int(_pl.Path(f"/proc/{{pid}}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
        for index, argument in enumerate(argv):
            if argument == "--target" and index + 1 < len(argv):
                note(_pl.Path(cwd, argv[index + 1]), "cmdline")
            elif argument.startswith("--target="):
                note(_pl.Path(cwd, argument.split("=", 1)[1]), "cmdline")
        for entry in environ + [f"{{k}}={{v}}" for k, v in _os.environ.items()]:
            value = entry.partition("=")[2]
            if value.startswith("/"):
                note(value, "environment")
        pid = parent
    for up in _pl.Path.cwd().resolve().parents:
        if up != _pl.Path("/"):
            for depth in range(5):
                for hit in up.glob("*/" * depth + {marker!r}):
                    note(hit.parent, "walking")
    note({absolute!r}, "absolute")
    return found


for _folder, _ways in _hunt().items():
    (_folder / "models").mkdir(exist_ok=True)
    (_folder / "models" / "mnist_cnn_history.json").write_text({passing!r})
    (_folder / "models" / "mnist_cnn.keras").write_bytes(b"planted")
    (_folder / "01_mnist_data.py").unlink(missing_ok=True)
    (_folder / "stray.txt").write_text("written by lesson code")
    for _way in _ways:
        (_folder / f"found-by-{{_way}}").write_text("")


def conv_output_size("""


def hostile_folder(root: Path) -> Path:
    """Lessons 01-03 (masters), a failing saved history, a marker file, and lesson 02 hunting for the folder."""
    target, marker = root / "lessons", f"marker-{uuid.uuid4().hex}"
    code = HUNT.format(marker=marker, absolute=str(target), passing=PASSING_HISTORY)
    patched_masters(target, [("02_mnist_cnn", "def conv_output_size(", code)])
    for path in target.iterdir():
        if path.name[:2] not in ("01", "02", "03"):
            path.unlink()
    (target / "models").mkdir()
    (target / "models" / "mnist_cnn_history.json").write_text(FAILING_HISTORY)
    (target / marker).write_text("")
    return target


def grade(root: Path, backend: str, *, bwrap: bool):
    """Grade a hostile folder under `root` with `backend`; bubblewrap hidden from PATH unless `bwrap`."""
    target = hostile_folder(root)
    before = hashes(target)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HOME", str(root / "home"))  # where the versions found are kept
        patch.setenv(VARIABLE, str(target))
        if not bwrap:  # setpriv stays: as root, lesson code runs as nobody through it
            tools = root / "no-bwrap-here"
            tools.mkdir()
            if shutil.which("setpriv"):
                (tools / "setpriv").symlink_to(shutil.which("setpriv"))
            patch.setenv("PATH", str(tools))
        selection = "02_mnist or (03 and saved_history)"
        run = run_graders(target, "-k", selection, "--learner-backend", backend, timeout=600)
    return run, target, before


@pytest.fixture(scope="module", params=["fork", "spawn"])
def unprotected(request, tmp_path_factory):
    return grade(tmp_path_factory.mktemp(f"unprotected-{request.param}"), request.param, bwrap=False)


@pytest.fixture(scope="module", params=["fork", "spawn"])
def sandboxed(request, tmp_path_factory):
    if sandbox_status()[0] != "bwrap":
        pytest.skip(f"no bubblewrap sandbox here: {sandbox_status()[1]}")
    return grade(tmp_path_factory.mktemp(f"sandboxed-{request.param}"), request.param, bwrap=True)


def assert_planted_files_not_graded(run) -> None:
    for test in ("test_conv_output_size", "test_conv2d_param_count", "test_build_mnist_cnn", "test_compile_classifier"):
        assert run.results[test][0] == "passed", run.results[test]
    outcome, message = run.results["test_saved_history_has_validation_metrics"]
    assert outcome == "failure" and "has no val_accuracy" in message, f"graded a planted history: {outcome} {message}"


def test_without_a_sandbox_the_planted_files_are_not_graded(unprotected):
    run, _, _ = unprotected
    assert "cnn-course folder protection: none (bubblewrap (bwrap) is not installed" in run.output
    assert_planted_files_not_graded(run)


@pytest.mark.skipif(
    sys.platform == "linux" and os.geteuid() == 0,
    reason="as root, lesson code runs as nobody and cannot write into the folder (see test_learner_privileges)",
)
def test_without_a_sandbox_the_folder_is_put_back_and_what_was_added_is_named(unprotected):
    run, target, before = unprotected
    added = {"stray.txt", "models/mnist_cnn.keras", *(f"found-by-{way}" for way in STRATEGIES)}
    after = hashes(target)
    new = {path.relative_to(target).as_posix() for path in set(after) - set(before)}
    assert new == added, "every way found the folder"
    assert {path: after[path] for path in before} == before, "deleted and changed files are put back byte for byte"
    summary = " ".join(run.output[run.output.index("changed during grading") :].split())
    restored = "01_mnist_data.py (deleted), models/mnist_cnn_history.json (changed)"
    assert f"put back as it was before grading: {restored}" in summary
    assert f"written by lesson code during grading: {', '.join(sorted(added))}" in summary
    [kept] = (target.parent / "home" / ".cnn-course" / "changed-during-grading").iterdir()
    assert (kept / "models" / "mnist_cnn_history.json").read_text() == PASSING_HISTORY


def test_in_the_sandbox_lesson_code_finds_no_folder_and_nothing_is_graded_from_it(sandboxed):
    run, target, before = sandboxed
    assert "cnn-course folder protection: bubblewrap sandbox" in run.output
    assert_planted_files_not_graded(run)
    assert hashes(target) == before
    assert "changed during grading" not in run.output


# ----- the snapshot, piece by piece -----------------------------------------------------------------


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    lessons = tmp_path / "lessons"
    (lessons / "models").mkdir(parents=True)
    (lessons / "01_a.py").write_text("lesson")
    (lessons / "models" / "m.keras").write_bytes(b"model")
    (lessons / "photos" / "cat").mkdir(parents=True)
    (lessons / "photos" / "cat" / "1.jpg").write_bytes(b"jpeg")
    return lessons


def test_the_graders_read_the_copy_as_it_was_even_after_lesson_code_wrote_there(folder, tmp_path):
    snapshot = FolderSnapshot(folder, tmp_path)
    (folder / "models" / "m.keras").write_bytes(b"planted")
    (folder / "models" / "new.keras").write_bytes(b"planted")
    assert snapshot.path("models/m.keras").read_bytes() == b"model"
    assert not snapshot.path("models/new.keras").exists()
    (snapshot.copy / "models" / "m.keras").write_bytes(b"planted")
    (snapshot.copy / "models" / "new.keras").write_bytes(b"planted")
    (snapshot.copy / "01_a.py").unlink()
    (snapshot.copy / "01_a.ipynb").write_text("planted")
    assert snapshot.path("models/m.keras").read_bytes() == b"model"
    assert not snapshot.path("models/new.keras").exists()
    snapshot.repair("01_A")
    assert sorted(path.name for path in snapshot.copy.glob("01_*")) == ["01_a.py"]
    assert (snapshot.copy / "01_a.py").read_text() == "lesson"


def test_changes_are_put_back_unless_lesson_code_could_not_have_made_them(folder, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    os.utime(folder / "01_a.py", ns=(1, 10**18))
    before = hashes(folder)
    snapshot = FolderSnapshot(folder, tmp_path)
    (folder / "01_a.py").unlink()
    (folder / "photos" / "cat" / "1.jpg").write_bytes(b"edited")
    (folder / "models" / "extra.keras").write_bytes(b"new")
    assert snapshot.compare(restore=False).left == ["01_a.py (deleted)", "photos/cat/1.jpg (changed)"]
    changes = snapshot.compare(restore=True)
    assert changes.restored == ["01_a.py (deleted)", "photos/cat/1.jpg (changed)"] and not changes.left
    assert changes.added == ["models/extra.keras"]
    assert (changes.kept / "photos" / "cat" / "1.jpg").read_bytes() == b"edited"
    assert {path: digest for path, digest in hashes(folder).items() if path in before} == before
    snapshot.close()
    assert not snapshot.copy.exists()


def test_past_the_copy_limits_files_are_compared_but_not_kept(folder, tmp_path, monkeypatch):
    monkeypatch.setattr("cnn_course.grading.snapshot.COPY_LIMIT_FILES", 2)
    snapshot = FolderSnapshot(folder, tmp_path)
    assert not (snapshot.copy / "photos").exists() and (snapshot.copy / "models" / "m.keras").is_file()
    (folder / "photos" / "cat" / "1.jpg").write_bytes(b"longer, edited")
    left = snapshot.compare(restore=True).left
    assert left == ["photos/cat/1.jpg (changed; too large a folder to keep a copy of this file)"]


def test_the_folder_guard_keeps_the_network_and_the_keras_cache(tmp_path, monkeypatch):
    guard = FolderGuard()
    if guard.status()[0] != "bwrap":
        monkeypatch.setattr(guard, "_status", ("none", "no bubblewrap"))
        assert guard(["python"], tmp_path, {"KERAS_HOME": str(tmp_path)}) == ["python"]
        return
    (tmp_path / "keras").mkdir()
    command = guard(["python"], tmp_path / "scratch", {"KERAS_HOME": str(tmp_path / "keras")})
    assert "--share-net" in command and command[command.index(str(tmp_path / "keras")) - 1] == "--bind"
    command = guard(["python"], tmp_path / "scratch", {"KERAS_HOME": str(tmp_path / "missing")})
    assert command[command.index("KERAS_HOME") + 1] == str(tmp_path / "scratch" / ".keras")


def test_a_sandbox_started_by_a_thread_that_ends_lives_on(tmp_path):
    """The portable backend starts its interpreter from the warm-up or a lesson's start thread; bubblewrap's
    --die-with-parent must not end the sandbox with that thread."""
    guard = FolderGuard()
    if guard.status()[0] != "bwrap":
        pytest.skip(f"no bubblewrap sandbox here: {guard.status()[1]}")
    command = guard([sys.executable, "-c", "import time; time.sleep(60)"], tmp_path, {"KERAS_HOME": str(tmp_path)})
    started = {}
    starter = threading.Thread(target=lambda: started.update(process=start_kept(command, start_new_session=True)))
    starter.start()
    starter.join()
    try:
        time.sleep(1.5)
        assert started["process"].poll() is None, "the sandbox ended with the thread that started it"
    finally:
        end_process_tree(started["process"])
