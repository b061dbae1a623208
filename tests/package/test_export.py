"""`cnn-course export`: a LiteRT file that the CPU interpreter runs and that agrees with the Keras model."""

import numpy as np
import pytest

from cnn_course import export as export_module
from cnn_course.commands.cli import main
from cnn_course.export import ExportError, check_export, export_and_check, export_litert, litert_interpreter
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


@needs_data()
def test_a_model_of_other_classes_and_shape_is_checked_for_agreement_only(tmp_path, capsys):
    path = saved_classifier(tmp_path, input_shape=(8, 8, 3))
    assert main(["export", str(path), "--test-images", "50"]) == 0
    said = capsys.readouterr().out
    assert "checked on 50 CIFAR-10 test images" in said and "top-1 agreement" in said
    assert "test accuracy          not measured: the model's classes are not CIFAR-10's" in said
    assert (tmp_path / "model.tflite").is_file()


def any_size_classifier(folder, resizing: bool = True, name: str = "any_size.keras"):
    """Lesson 7's kind of model, small: images of any size, resized (or pooled) and rescaled from 0-255 inside."""
    import keras

    from cnn_course.data import CIFAR10_CLASS_NAMES
    from cnn_course.saving import save_model_with_classes

    keras.utils.set_random_seed(0)
    inputs = keras.Input((None, None, 3))
    x = keras.layers.Resizing(8, 8)(inputs) if resizing else inputs
    x = keras.layers.Rescaling(1 / 255)(x)
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu")(x)
    outputs = keras.layers.Dense(10, activation="softmax")(keras.layers.GlobalAveragePooling2D()(x))
    folder.mkdir(parents=True, exist_ok=True)
    save_model_with_classes(keras.Model(inputs, outputs), folder / name, CIFAR10_CLASS_NAMES)
    return folder / name


def test_a_model_of_any_size_exports_at_the_size_of_its_resizing_layer(tmp_path):
    path = any_size_classifier(tmp_path)
    tflite = export_litert(load_keras_model(path), path)
    assert tuple(litert_interpreter(tflite).get_input_details()[0]["shape"]) == (1, 8, 8, 3)


def test_a_model_of_any_size_without_resizing_needs_a_size(tmp_path):
    path = any_size_classifier(tmp_path, resizing=False)
    model = load_keras_model(path)
    with pytest.raises(ExportError, match="any size, and a LiteRT model takes one: say which with --image-size N"):
        export_litert(model, path)
    tflite = export_litert(model, path, image_size=12)
    assert tuple(litert_interpreter(tflite).get_input_details()[0]["shape"]) == (1, 12, 12, 3)


def test_images_of_another_size_are_refused_with_what_to_do(exported):
    path, model, tflite = exported
    with pytest.raises(ExportError, match=r"takes images of shape \(28, 28, 1\).*the check was given \(32, 32, 1\)"):
        check_export(model, path, tflite, np.zeros((2, 32, 32, 1), dtype=np.float32))


@needs_data()
def test_a_model_that_rescales_itself_is_checked_on_pixels_0_255(tmp_path, monkeypatch):
    seen = []
    real_check = export_module.check_export

    def spy(model, model_path, tflite_path, images, labels=None, timed=200):
        seen.append(float(images.max()))
        return real_check(model, model_path, tflite_path, images, labels, timed=5)

    monkeypatch.setattr(export_module, "check_export", spy)
    report = export_and_check(any_size_classifier(tmp_path), test_images=20)
    assert report.passed and report.check.agreement == 1.0 and report.labelled and seen[0] > 200
    lines = "\n".join(report.lines())
    assert "8 x 8 x 3 (the model's first Resizing layer, the size it trained at); pixels 0-255" in lines
    assert "top-1 agreement        100.00% (20 of 20)" in lines and "test accuracy          Keras" in lines
    assert sorted(p.name for p in tmp_path.iterdir()) == ["any_size.classes.json", "any_size.keras", "any_size.tflite"]

    path = saved_classifier(tmp_path / "mnist", input_shape=(28, 28, 1))
    report = export_and_check(path, test_images=20)
    assert seen[1] <= 1.0 and "pixels scaled to [0, 1]" in "\n".join(report.lines())
    assert "not measured: the model's classes are not MNIST's" in "\n".join(report.lines())


@needs_data()
def test_an_export_that_fails_its_check_leaves_no_file(tmp_path, monkeypatch):
    path = any_size_classifier(tmp_path)
    monkeypatch.setattr(export_module, "MIN_AGREEMENT", 1.01)
    report = export_and_check(path, test_images=5)
    assert not report.passed and report.tflite_path is None and "file not kept" in report.lines()[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["any_size.classes.json", "any_size.keras"]

    def broken(*args, **kwargs):
        raise RuntimeError("Cannot set tensor: Dimension mismatch")

    monkeypatch.setattr(export_module, "check_export", broken)
    with pytest.raises(ExportError, match="could not be checked in .*Dimension mismatch"):
        export_and_check(path, test_images=5)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["any_size.classes.json", "any_size.keras"]
