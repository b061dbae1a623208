"""The `cnn-course` command: the training job's outputs, and clear errors instead of tracebacks."""

import json
import subprocess
import sys

import pytest

from cnn_course.cli import main

from .conftest import REPO, needs_data


def cnn_course(*args, env=None):
    """Run `cnn-course ARGS` and return the completed process."""
    return subprocess.run([sys.executable, "-m", "cnn_course.cli", *args], cwd=REPO, capture_output=True, text=True, env=env, timeout=600)


@needs_data()
def test_train_mnist_writes_the_five_outputs(tmp_path):
    completed = cnn_course("train", "mnist", "--epochs", "1", "--out", str(tmp_path))
    assert completed.returncode == 0, completed.stderr
    for name in ("model.keras", "training_history.png", "confusion_matrix.png", "model_metrics.txt", "metrics.json"):
        assert (tmp_path / name).stat().st_size > 0, name
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["epochs"] == 1 and metrics["test_accuracy"] > 0.97
    assert "test accuracy" in completed.stdout
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


def test_doctor_reports_versions_and_data_sources():
    completed = cnn_course("doctor")
    assert completed.returncode == 0, completed.stderr
    for expected in ("keras", "tensorflow", "data:", "mnist"):
        assert expected in completed.stdout


def test_version_and_train_help_list_the_recipes():
    version = cnn_course("--version")
    assert version.returncode == 0 and version.stdout.startswith("cnn-course ")
    help_text = cnn_course("train", "--help").stdout
    for name in ("cnn", "keras-example", "fast", "deeper", "seed", "keras-cifar10-cnn", "tf-tutorial"):
        assert f" {name} " in help_text, name
    assert "(3 epochs, the default)" in help_text
