"""`cnn-course export`: a LiteRT file that the CPU interpreter runs and that agrees with the Keras model."""

import numpy as np
import pytest

from cnn_course.commands.cli import main
from cnn_course.export import ExportError, check_export, export_litert
from cnn_course.inference import load_keras_model
from cnn_course.saving import class_names_path

from .conftest import needs_data
from .deploy_models import saved_classifier


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    path = saved_classifier(tmp_path_factory.mktemp("model"), input_shape=(28, 28, 1))
    model = load_keras_model(path)
    return path, model, export_litert(model, path, path.parent / "device" / "classifier.tflite")


def test_the_export_runs_in_the_interpreter_and_agrees(exported):
    path, model, tflite = exported
    images = np.random.default_rng(0).random((40, 28, 28, 1), dtype=np.float32)
    result = check_export(model, path, tflite, images, labels=np.zeros(40, dtype=int), timed=10)
    assert result.agreement == 1.0 and result.max_probability_difference < 1e-4
    assert result.keras_accuracy == result.litert_accuracy
    assert result.litert_bytes > 0 and result.litert_ms_per_image > 0


def test_the_class_names_go_with_the_export(exported):
    path, _, tflite = exported
    assert class_names_path(tflite).read_text() == class_names_path(path).read_text()


def test_a_wrong_suffix_is_refused(exported):
    path, model, _ = exported
    with pytest.raises(ExportError, match="must end in .tflite"):
        export_litert(model, path, path.parent / "model.bin")


@needs_data()
def test_the_command_reports_agreement_and_speed(exported, capsys):
    path, _, _ = exported
    assert main(["export", str(path), "--dataset", "mnist", "--test-images", "100"]) == 0
    out = capsys.readouterr().out
    assert "top-1 agreement        100.00% (100 of 100)" in out
    assert "one image at a time" in out and path.with_suffix(".tflite").is_file()


def test_the_command_needs_a_test_set_for_other_shapes(tmp_path, capsys):
    path = saved_classifier(tmp_path, input_shape=(8, 8, 3))
    assert main(["export", str(path)]) == 2
    assert "no test set matches the model's input shape (8, 8, 3)" in capsys.readouterr().err
