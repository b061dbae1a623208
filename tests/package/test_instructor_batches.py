"""Batches that survive: `cnn-course grade` killed half-way and `--resume`d, sharded and merged, one
learner regraded into an existing grades folder; each gives the gradebook of one plain run, byte for byte.
Submissions that look odd but are no error: a symbolic link in one, an untouched course.

Only lesson 01 is assigned, so each grading run is short.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from .conftest import LESSONS, REPO, SOLUTIONS, needs_data
from .test_instructor_grading import cnn_course, edit, lessons_from

pytestmark = needs_data()

COURSE_TOML = f"""\
graders = "{REPO / "tests" / "graders"}"
hidden-tests = "{REPO / "tests" / "hidden"}"
submission-time-limit = 120

[exercises]
count_per_class = 1
scale_images = 1
add_channel_axis = 1
one_hot = 2
split_train_validation = 1
"""


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("batches")
    (root / "course.toml").write_text(COURSE_TOML)
    subs = root / "submissions"
    subs.mkdir()
    lessons_from(SOLUTIONS, subs / "ada", None)
    edit(
        lessons_from(SOLUTIONS, subs / "bob", None) / "01_mnist_data.py",
        'return images.astype("float32") / 255.0',
        "return images",
    )
    edit(
        lessons_from(SOLUTIONS, subs / "cyd", None) / "01_mnist_data.py",
        "np.bincount(labels, minlength=num_classes)",
        "np.bincount(labels)",
    )
    lessons_from(SOLUTIONS, subs / os.fsdecode(b"d\xe9"), None)
    return root


def grade(course: Path, out: str, *args: str) -> subprocess.CompletedProcess:
    subs = sorted(str(path) for path in (course / "submissions").iterdir())
    completed = cnn_course("grade", *subs, "--config", str(course / "course.toml"), "--out", str(course / out), *args)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return completed


@pytest.fixture(scope="module")
def single(course) -> bytes:
    grade(course, "single", "--jobs", "2")
    return (course / "single" / "gradebook.csv").read_bytes()


def test_one_run_grades_every_learner_in_name_order(single):
    rows = single.decode().splitlines()
    assert [row.split(",")[:2] for row in rows[1:]] == [["ada", "6"], ["bob", "5"], ["cyd", "5"], ["d\\xe9", "6"]]


def test_shards_merged_give_the_same_gradebook(course, single):
    grade(course, "shard1", "--shard", "1/2", "--jobs", "2")
    grade(course, "shard2", "--shard", "2/2", "--jobs", "2")
    merged = cnn_course("merge-grades", str(course / "shard1"), str(course / "shard2"), "--out", str(course / "merged"))
    assert merged.returncode == 0, merged.stderr
    assert len((course / "shard1" / "gradebook.csv").read_text().splitlines()) == 3
    assert (course / "merged" / "gradebook.csv").read_bytes() == single


def worker_processes(batch: int) -> list[int]:
    """Grading processes (and the fork server) started by the batch with pid `batch` that are still alive."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        started = b"cnn_course.batch.worker" in args or b"cnn_course.batch.forkserver" in args
        if started and str(batch).encode() in args:
            found.append(int(entry.name))
    return found


def test_a_killed_batch_leaves_no_process_and_resumes_to_the_same_gradebook(course, single):
    out = course / "killed"
    subs = sorted(str(path) for path in (course / "submissions").iterdir())
    command = [
        sys.executable,
        "-m",
        "cnn_course.commands.cli",
        "grade",
        *subs,
        "--config",
        str(course / "course.toml"),
        "--out",
        str(out),
        "--jobs",
        "1",
    ]
    batch = subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.monotonic() + 600
    while not list((out / "records").glob("*.json")) and time.monotonic() < deadline:
        assert batch.poll() is None, "the batch ended before it was killed"
        time.sleep(0.5)
    while not worker_processes(batch.pid) and time.monotonic() < deadline:
        time.sleep(0.2)  # the second submission's grading process is running
    os.kill(batch.pid, signal.SIGKILL)
    batch.wait()
    deadline = time.monotonic() + 60  # one just started may take a while to reach its parent-death check
    while worker_processes(batch.pid) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert worker_processes(batch.pid) == [], "grading processes outlived the batch"
    graded = len(list((out / "records").glob("*.json")))
    assert 1 <= graded < 4
    resumed = grade(course, "killed", "--resume", "--jobs", "2")
    assert f"({graded} already graded there)" in resumed.stdout
    assert (out / "gradebook.csv").read_bytes() == single
    left = [p for p in Path(os.environ.get("TMPDIR", "/tmp"), "cnn-course-grading").glob(f"{batch.pid}-*")]
    assert left == [], "the killed batch's scratch folder was not removed by the next one"


def test_regrading_one_learner_updates_an_existing_grades_folder(course, single):
    subs = sorted(str(path) for path in (course / "submissions").iterdir())
    refused = cnn_course("grade", *subs, "--config", str(course / "course.toml"), "--out", str(course / "single"))
    assert refused.returncode == 2 and "already holds grades: add --resume" in refused.stderr
    fixed = course / "fixed" / "bob"
    lessons_from(SOLUTIONS, fixed, None)
    completed = cnn_course(
        "grade", str(fixed), "--config", str(course / "course.toml"), "--out", str(course / "single"), "--update"
    )
    assert completed.returncode == 0, completed.stderr
    rows = (course / "single" / "gradebook.csv").read_text().splitlines()
    assert [row.split(",")[:2] for row in rows[1:]] == [["ada", "6"], ["bob", "6"], ["cyd", "5"], ["d\\xe9", "6"]]


@pytest.fixture(scope="module")
def odd_submissions(tmp_path_factory) -> dict[str, dict]:
    """Graded in one batch: a folder whose saved model is a symbolic link, a zip holding one, an untouched course."""
    root = tmp_path_factory.mktemp("odd")
    (root / "course.toml").write_text(COURSE_TOML + "trained_mnist_cnn = 3\n")
    subs = root / "submissions"
    linked = lessons_from(SOLUTIONS, subs / "linked", None)
    (linked / "models").mkdir()
    (linked / "models" / "mnist_cnn.keras").symlink_to(SOLUTIONS / "01_mnist_data.py")
    with zipfile.ZipFile(subs / "zipped.zip", "w") as bundle:
        for path in sorted(linked.glob("*.py")):
            bundle.write(path, f"zipped/{path.name}")
        link = zipfile.ZipInfo("zipped/models/mnist_cnn.keras")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        bundle.writestr(link, "/etc/passwd")
    lessons_from(LESSONS, subs / "untouched", None)
    submissions = sorted(map(str, subs.iterdir()))
    graded = cnn_course("grade", *submissions, "--config", str(root / "course.toml"), "--out", str(root / "out"))
    assert graded.returncode == 0, graded.stdout + graded.stderr
    found = json.loads((root / "out" / "grades.json").read_text())["submissions"]
    return {s["learner"]: {**s, "exercises": {e["exercise"]: e for e in s["exercises"]}} for s in found}


@pytest.mark.parametrize("learner", ["linked", "zipped"])
def test_a_symbolic_link_is_ignored_and_named_and_the_rest_is_graded(odd_submissions, learner):
    result = odd_submissions[learner]
    assert result["run"] == "completed", result["note"]
    lesson_01 = {name: e["status"] for name, e in result["exercises"].items() if name != "trained_mnist_cnn"}
    assert set(lesson_01.values()) == {"passed"}, lesson_01
    model = result["exercises"]["trained_mnist_cnn"]
    assert model["status"] == "not attempted" and model["points"] == 0
    ignored = "models/mnist_cnn.keras is a symbolic link; the grader ignored it: hand in the file itself"
    assert ignored in model["message"]


def test_an_untouched_submission_is_not_attempted_not_crashed(odd_submissions):
    result = odd_submissions["untouched"]
    assert result["run"] == "not attempted", (result["run"], result["note"])
    assert {e["status"] for e in result["exercises"].values()} == {"not attempted"}
    assert "crash" not in result["note"] and "exit code" not in result["note"]
    assert "no exercise is written" in result["note"]
