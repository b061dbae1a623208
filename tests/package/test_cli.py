"""The `cnn-course` command: the training job's outputs, and clear errors instead of tracebacks."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cnn_course.commands.cli import main
from cnn_course.commands.doctor import data_source_lines

from .conftest import REPO, needs_data


def cnn_course(*args, env=None):
    """Run `cnn-course ARGS` and return the completed process."""
    return subprocess.run(
        [sys.executable, "-m", "cnn_course.commands.cli", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


@needs_data()
def test_train_mnist_writes_the_five_outputs(tmp_path):
    completed = cnn_course("train", "mnist", "--epochs", "1", "--out", str(tmp_path))
    assert completed.returncode == 0, completed.stderr
    for name in ("model.keras", "training_history.png", "confusion_matrix.png", "model_metrics.txt", "metrics.json"):
        assert (tmp_path / name).stat().st_size > 0, name
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["epochs"] == 1 and metrics["test_accuracy"] > 0.97
    assert "test accuracy" in completed.stdout
    assert not [
        line for line in completed.stderr.splitlines() if re.match(r"[IWE]\d{4} |WARNING: All log messages", line)
    ], completed.stderr
    assert "precision" in (tmp_path / "model_metrics.txt").read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "mnist", "--epochs", "0"], "must be at least 1"),
        (["train", "mnist", "--epochs", "many"], "'many' is not a whole number"),
        (["train", "mnist", "--budget", "5 minutes"], "'5 minutes' is not a duration: write seconds (300 or 300s)"),
        (["train", "mnist", "--budget", "0m"], "more than 0 seconds"),
        (["train", "svhn"], "unknown dataset 'svhn'"),
        (["train", "mnist", "--recipe", "huge"], "no recipe 'huge'"),
        (["train", "mnist", "--data-dir", "/nonexistent/folder"], "/nonexistent/folder"),
    ],
)
def test_bad_arguments_get_a_clear_message(args, message, capsys):
    try:
        status = main(args)
    except SystemExit as exit:  # argparse rejects malformed values itself
        status = exit.code
    stderr = capsys.readouterr().err
    assert status == 2
    assert message in stderr
    assert "Traceback" not in stderr


@needs_data()
def test_doctor_verifies_a_healthy_data_folder_quietly():
    completed = cnn_course("doctor")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    for expected in (
        "keras",
        "tensorflow",
        "md5 sums match the official files",
        "labels match the official batches",
        "no problem found",
    ):
        assert expected in completed.stdout
    assert completed.stderr == ""  # no TensorFlow start-up lines


def test_doctor_exits_non_zero_when_the_data_folder_does_not_exist(tmp_path):
    completed = cnn_course("doctor", env={**os.environ, "CNN_COURSE_DATA": str(tmp_path / "missing")})
    assert completed.returncode == 1
    assert (
        f"PROBLEM: The data folder {tmp_path / 'missing'} (from the CNN_COURSE_DATA environment variable) does not "
        "exist" in completed.stdout
    )


@pytest.fixture
def linked_data(tmp_path):
    """A data folder of links to the real files, to damage or rearrange."""
    data = Path(os.environ["CNN_COURSE_DATA"])
    for sub in ("mnist", "cifar-10-batches-py"):
        (tmp_path / sub).mkdir()
        for path in (data / sub).iterdir():
            (tmp_path / sub / path.name).symlink_to(path)
    return tmp_path


@needs_data()
def test_doctor_reports_a_truncated_file(linked_data, monkeypatch):
    truncated = linked_data / "mnist" / "train-images-idx3-ubyte.gz"
    content = truncated.read_bytes()
    truncated.unlink()
    truncated.write_bytes(content[: len(content) // 2])
    monkeypatch.setenv("CNN_COURSE_DATA", str(linked_data))
    lines, healthy = data_source_lines()
    assert not healthy
    [problem] = [line for line in lines if "PROBLEM" in line]
    assert (
        problem.startswith("    mnist:   PROBLEM: ")
        and f"{truncated} is corrupt or incomplete" in problem
        and "download it again" in problem
    )
    assert any(line.startswith("    cifar10: 6 files in") for line in lines)


@needs_data()
def test_doctor_reports_cifar10_one_folder_too_deep_with_the_fix(linked_data, monkeypatch):
    batches = linked_data / "cifar-10-batches-py"
    batches.rename(linked_data / "inner")
    batches.mkdir()
    (linked_data / "inner").rename(batches / "cifar-10-batches-py")
    monkeypatch.setenv("CNN_COURSE_DATA", str(linked_data))
    lines, healthy = data_source_lines()
    assert not healthy
    [problem] = [line for line in lines if "PROBLEM" in line]
    assert f"mv {batches / 'cifar-10-batches-py'}/* {batches}/" in problem


def test_version_and_train_help_list_the_recipes():
    version = cnn_course("--version")
    assert version.returncode == 0 and version.stdout.startswith("cnn-course ")
    help_text = cnn_course("train", "--help").stdout
    for name in ("cnn", "keras-example", "fast", "deeper", "seed", "keras-cifar10-cnn", "tf-tutorial"):
        assert f" {name} " in help_text, name
    assert "(3 epochs, the default)" in help_text
