"""The batch's defences, piece by piece and without grading runs: signed results, durable records,
escaped names, clean feedback, submissions checked as data, scratch folders cleaned, the roster,
overrides and deadline, deterministic shards.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import zipfile
from datetime import datetime
from pathlib import Path

import pytest

from cnn_course.batch.results_log import read_results_log, sign
from cnn_course.batch.scratch import SCRATCH_PARENT, batch_scratch
from cnn_course.batch.submissions import (
    Submission,
    SubmissionError,
    copy_folder,
    extract_zip,
    find_submissions,
    learner_name,
    model_file_problem,
)
from cnn_course.commands.grade import CommandError, parse_shard, shard
from cnn_course.gradebook.exports import write_exports
from cnn_course.gradebook.hygiene import REDACTED, FeedbackFilter, printable, secret_lines
from cnn_course.gradebook.records import Assignment, file_stem, read_records, write_record
from cnn_course.gradebook.reports import learner_html, learner_markdown, write_feedback
from cnn_course.gradebook.results import ExerciseResult, SubmissionResult
from cnn_course.gradebook.roster import RosterError, class_results, parse_deadline, read_overrides, read_roster

from .conftest import LESSONS, REPO, SOLUTIONS

ASSIGNMENT = Assignment(
    (("01_mnist_data", "scale_images", 1.0), ("01_mnist_data", "one_hot", 2.0)), "course.toml", 60.0, 4.0, None
)
KEY = b"k" * 32


def result(
    learner: str, scale: str = "passed", one_hot: str = "failed", when: str | None = "2026-11-20T10:00:00"
) -> SubmissionResult:
    exercises = [
        ExerciseResult(
            "01_mnist_data",
            "scale_images",
            1.0 if scale == "passed" else 0.0,
            1.0,
            scale,
            "" if scale == "passed" else "scale: wrong",
        ),
        ExerciseResult(
            "01_mnist_data",
            "one_hot",
            2.0 if one_hot == "passed" else 0.0,
            2.0,
            one_hot,
            "" if one_hot == "passed" else "one_hot: wrong",
        ),
    ]
    return SubmissionResult(learner, f"/subs/{learner}", exercises, 3.0, "completed", "", when)


def signed_log(path: Path, records: list[dict], key: bytes = KEY) -> None:
    with open(path, "a") as handle:
        for number, record in enumerate(records):
            payload = json.dumps(record)
            handle.write(json.dumps({"seq": number, "record": payload, "tag": sign(key, number, payload)}) + "\n")


# ----- the verdict comes only from the grading process ---------------------------------------------


def test_forged_results_lines_are_ignored_and_counted(tmp_path):
    log = tmp_path / "results.jsonl"
    test = {"test": "t::test_scale", "exercise": "scale_images", "lesson": "01"}
    signed_log(log, [{"event": "collected", "tests": [test]}, {"event": "start", **test}])
    forged = {"event": "result", **test, "status": "passed", "message": "", "hidden": False}
    with open(log, "a") as handle:
        handle.write(json.dumps(forged) + "\n")  # the old, unsigned format
        handle.write(
            json.dumps({"seq": 2, "record": json.dumps(forged), "tag": sign(b"guess" * 8, 2, json.dumps(forged))})
            + "\n"
        )
        handle.write(
            json.dumps({"seq": 9, "record": json.dumps({"event": "finished", "exitstatus": 0}), "tag": "0" * 64}) + "\n"
        )
    parsed = read_results_log(log, KEY)
    assert parsed.results == {} and not parsed.finished and parsed.running == "scale_images"
    assert parsed.foreign_lines == 3


def test_a_replayed_valid_line_is_out_of_sequence(tmp_path):
    log = tmp_path / "results.jsonl"
    test = {"test": "t::test_scale", "exercise": "scale_images", "lesson": "01"}
    signed_log(log, [{"event": "collected", "tests": [test]}])
    signed_log(log, [{"event": "collected", "tests": []}])  # a valid tag, but for record number 0 again
    parsed = read_results_log(log, KEY)
    assert parsed.collected == [test] and parsed.foreign_lines == 1


def test_a_cut_short_last_line_is_not_counted_as_forged(tmp_path):
    log = tmp_path / "results.jsonl"
    signed_log(log, [{"event": "collected", "tests": []}])
    with open(log, "a") as handle:
        handle.write('{"seq": 1, "rec')
    assert read_results_log(log, KEY).foreign_lines == 0


# ----- records, names and exports -----------------------------------------------------------------


def test_records_are_written_one_per_submission_and_read_back(tmp_path):
    first, second = result("ada"), result("bob", one_hot="passed")
    write_record(tmp_path, first)
    write_record(tmp_path, second)
    (tmp_path / "records" / ".bob.json.123.tmp").write_text("{half a record")  # a write that was killed
    assert read_records(tmp_path) == {"ada": first, "bob": second}
    assert not list((tmp_path / "records").glob("*.tmp.*"))


def test_any_byte_sequence_in_a_name_is_escaped_and_every_export_is_written(tmp_path):
    odd = os.fsdecode(b"caf\xe9\n<b>*x*")
    folder = tmp_path / odd
    folder.mkdir()
    (folder / "01_mnist_data.py").write_text("")
    [submission] = find_submissions([folder])
    assert submission.learner == "caf\\xe9\\n<b>*x*"
    assert learner_name(Path(os.fsdecode(b"\xff\xfe.zip"))) == "\\xff\\xfe"
    results = [result(submission.learner), result("ada")]
    results[0].note = printable(os.fsdecode(b"crashed in \xff"))
    written = write_exports(tmp_path / "out", ASSIGNMENT, results, datetime(2026, 11, 29)) + write_feedback(
        tmp_path / "out", results, with_html=True
    )
    for path in written:
        if path.suffix != ".png":
            path.read_text(encoding="utf-8")  # all valid UTF-8
    assert "<b>" not in learner_html(results[0]) and "# Feedback for caf\\\\xe9\\\\n\\<b\\>\\*x\\*" in learner_markdown(
        results[0]
    )
    assert file_stem("x" * 300) != file_stem("x" * 299 + "y") and len(file_stem("x" * 300).encode()) <= 200


# ----- feedback hygiene ---------------------------------------------------------------------------


def test_feedback_loses_instructor_paths_package_frames_and_instructor_lines(tmp_path):
    course, scratch = tmp_path / "course", tmp_path / "scratch"
    solution_line = 'return images.astype("float32") / 255.0'
    message = "\n".join(
        [
            "scale_images: raised RuntimeError: see below",
            "Traceback (most recent call last):",
            f'  File "{scratch}/alice/submission/01_mnist_data.py", line 12, in scale_images',
            "    open(path)",
            f'  File "{sys.prefix}/lib/python3.11/site-packages/keras/src/ops.py", line 3, in f',
            "    return internal()",
            f"{course}/tests/hidden/test_hidden_01.py:",
            f"    {solution_line}",
            "what I read: assert scaled.shape == (3, 4) and np.allclose(scaled, 0.2)",
        ]
    )
    secrets = secret_lines(SOLUTIONS, LESSONS, REPO / "tests" / "hidden", (REPO / "tests" / "graders").glob("*.py"))
    cleaned = FeedbackFilter(
        {course: "<course>", course / "tests" / "hidden": "<hidden tests>", scratch: ""}, secrets
    ).clean(message)
    assert str(tmp_path) not in cleaned and sys.prefix not in cleaned and "keras/src" not in cleaned
    assert cleaned == "scale_images: raised RuntimeError: see below\n" + REDACTED
    framed = FeedbackFilter({scratch: ""}, secrets).clean("\n".join(message.splitlines()[:6]))
    assert 'File "alice/submission/01_mnist_data.py", line 12, in scale_images\n    open(path)' in framed
    assert "keras" not in framed and "return internal()" not in framed


def test_a_hidden_tests_description_is_not_a_secret():
    secrets = secret_lines(SOLUTIONS, LESSONS, REPO / "tests" / "hidden", (REPO / "tests" / "graders").glob("*.py"))
    assert "count_per_class works for any num_classes, not only 10" not in secrets
    assert any("np.allclose(scaled, 0.2)" in line for line in secrets)
    assert "return np.bincount(labels, minlength=num_classes)" in secrets


def test_long_messages_are_cut_with_a_note():
    cleaned = FeedbackFilter({}, set()).clean("x" * 10_000)
    assert len(cleaned) < 4100 and cleaned.endswith("more characters not shown]")


# ----- submissions are data -----------------------------------------------------------------------


def test_a_folder_s_symlinks_are_left_out_and_named_and_the_rest_is_copied(tmp_path):
    folder = tmp_path / "alice"
    (folder / "models").mkdir(parents=True)
    (folder / "01_mnist_data.py").write_text("x = 1\n")
    (folder / "models" / "mnist_cnn.keras").symlink_to(SOLUTIONS / "01_mnist_data.py")
    (folder / "elsewhere").symlink_to(SOLUTIONS, target_is_directory=True)
    links = copy_folder(folder, tmp_path / "copy")
    assert sorted(links) == ["elsewhere", "models/mnist_cnn.keras"]
    assert (tmp_path / "copy" / "01_mnist_data.py").read_text() == "x = 1\n"
    assert not (tmp_path / "copy" / "models" / "mnist_cnn.keras").exists()
    assert not (tmp_path / "copy" / "elsewhere").exists()


def test_a_folder_is_copied_with_its_times(tmp_path):
    folder = tmp_path / "alice"
    (folder / "models").mkdir(parents=True)
    (folder / "models" / "m.keras").write_bytes(b"PK")
    os.utime(folder / "models" / "m.keras", (1_000_000, 1_000_000))
    copy_folder(folder, tmp_path / "copy")
    assert (tmp_path / "copy" / "models" / "m.keras").stat().st_mtime == 1_000_000


def test_a_zip_bomb_is_refused_before_extraction(tmp_path):
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as bundle, bundle.open("zeros.bin", "w") as entry:
        for _ in range(8):
            entry.write(bytes(2**20))
    with pytest.raises(SubmissionError, match="expands .* times"):
        extract_zip(bomb, tmp_path / "out")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_model_files_are_checked_for_what_they_are(tmp_path):
    keras_zip, h5, text, empty = (tmp_path / name for name in ("a.keras", "b.keras", "c.keras", "d.keras"))
    with zipfile.ZipFile(keras_zip, "w") as bundle:
        bundle.writestr("config.json", "{}")
    h5.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(100))
    text.write_text("not a model")
    empty.write_bytes(b"")
    assert model_file_problem(keras_zip) is None
    assert "HDF5 file (the legacy .h5 format)" in model_file_problem(
        h5
    ) and "model.save('models/b.keras')" in model_file_problem(h5)
    assert "is not a Keras model file" in model_file_problem(text)
    assert "is empty" in model_file_problem(empty)


# ----- scratch folders ----------------------------------------------------------------------------


def test_scratch_folders_of_a_killed_batch_are_removed_at_the_next_start(tmp_path):
    left = tmp_path / SCRATCH_PARENT / "4242-dead"
    (left / "alice" / "work").mkdir(parents=True)
    (left / "alice" / "work" / "locked").mkdir(mode=0o500)
    busy = tmp_path / "busy"
    held = subprocess.Popen(  # another batch, still running, holds its lock
        [
            sys.executable,
            "-c",
            "from cnn_course.batch.scratch import batch_scratch\nfrom pathlib import Path\nimport time\n"
            f"with batch_scratch(Path({str(tmp_path)!r})) as f:\n    open({str(busy)!r}, 'w').write(str(f))\n"
            "    time.sleep(60)",
        ],
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        while not busy.exists() or not busy.read_text():
            assert held.poll() is None
        running = Path(busy.read_text())
        with batch_scratch(tmp_path) as mine:
            assert mine.is_dir() and not left.exists() and running.is_dir()
        assert not mine.exists()
    finally:
        held.kill()
        held.wait()


# ----- class administration -----------------------------------------------------------------------


def test_roster_overrides_and_deadline_shape_the_class_results(tmp_path):
    roster, overrides = tmp_path / "roster.csv", tmp_path / "overrides.csv"
    roster.write_text("learner,email\nbob,b@x\nada,a@x\ncyd,c@x\n")
    overrides.write_text("learner,exercise,points,comment\nada,one_hot,1.5,partial credit: right idea\n")
    records = {
        "ada": result("ada", when="2026-11-20T10:00:00"),
        "bob": result("bob", when="2026-11-21T09:00:00"),
        "eve": result("eve"),
    }
    results, warnings = class_results(
        records,
        ASSIGNMENT,
        read_roster(roster),
        read_overrides(overrides, ASSIGNMENT),
        parse_deadline("2026-11-20T23:59"),
    )
    assert [r.learner for r in results] == ["bob", "ada", "cyd", "eve"]
    assert warnings == ["graded but not on the roster: eve"]
    bob, ada, cyd, _ = results
    assert bob.late and not ada.late
    assert cyd.run == "missing" and cyd.total == 0 and {e.status for e in cyd.exercises} == {"not submitted"}
    assert (
        ada.total == 2.5
        and "instructor override: 1.5 / 2 points (the graders gave 0): partial credit: right idea"
        in ada.exercises[1].override
    )
    assert "partial credit" in learner_markdown(ada) and "after the deadline (late)" in learner_markdown(bob)
    write_exports(tmp_path / "out", ASSIGNMENT, results, datetime(2026, 11, 29))
    with open(tmp_path / "out" / "gradebook.csv", newline="") as handle:
        rows = {row["learner"]: row for row in csv.DictReader(handle)}
    assert rows["cyd"]["scale_images status"] == "not submitted" and rows["cyd"]["total"] == "0"
    assert (
        rows["bob"]["late"] == "late"
        and rows["ada"]["one_hot status"] == "failed (override)"
        and rows["ada"]["total"] == "2.5"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("learner,exercise,points\nada,nope,1\n", "'nope' is not an assigned exercise"),
        ("learner,exercise,points\nada,one_hot,3\n", "one_hot is worth 0 to 2 points, got 3"),
        ("learner,exercise,points\nada,one_hot,lots\n", "points must be a number"),
        ("ada,one_hot,1\n", "needs a header row"),
    ],
)
def test_a_bad_overrides_file_is_refused_with_the_line(tmp_path, text, message):
    path = tmp_path / "overrides.csv"
    path.write_text(text)
    with pytest.raises(RosterError, match=message):
        read_overrides(path, ASSIGNMENT)


def test_a_bad_deadline_or_roster_says_what_to_write(tmp_path):
    with pytest.raises(RosterError, match="write it as 2026-12-01T23:59"):
        parse_deadline("next friday")
    (tmp_path / "r.csv").write_text("ada\nada\n")
    with pytest.raises(RosterError, match="lists ada more than once"):
        read_roster(tmp_path / "r.csv")


# ----- shards -------------------------------------------------------------------------------------


def test_shards_partition_the_class_deterministically():
    subs = [Submission(name, Path(name)) for name in ["e", "a", "d", "b", "c", "f", "g"]]
    slices = [shard(subs, k, 3) for k in (1, 2, 3)]
    assert sorted(s.learner for part in slices for s in part) == sorted(s.learner for s in subs)
    assert [s.learner for s in slices[0]] == ["a", "d", "g"]
    assert shard(list(reversed(subs)), 1, 3) == slices[0]
    assert parse_shard("2/4") == (2, 4)
    for bad in ("0/2", "3/2", "1-2", "x/y"):
        with pytest.raises(CommandError):
            parse_shard(bad)
