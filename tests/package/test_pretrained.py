"""The shipped backbone: its provenance, its checksum guard with clear errors, and the command that rebuilds it."""

import json
import shutil

import keras
import numpy as np
import pytest

from cnn_course import data, pretrained, transfer
from cnn_course.commands import doctor
from cnn_course.pretrained import BackboneError
from cnn_course.pretrained.__main__ import main as pretrained_main

from .conftest import needs_data


def test_the_backbone_loads_as_a_frozen_feature_extractor_or_a_classifier():
    base = pretrained.load_backbone()
    assert isinstance(base, keras.Model) and base.name == pretrained.BACKBONE_NAME
    assert base.input_shape == (None, 32, 32, 3) and base.output_shape == (None, 4, 4, 128)
    assert base.layers[1].name == "preprocessing"
    assert pretrained.load_backbone(include_top=True).output_shape == (None, 5)
    assert pretrained.load_backbone() is not base  # a fresh copy each time: learners change its flags


def test_the_provenance_records_how_the_backbone_was_made():
    record = pretrained.read_provenance()
    assert record["sha256"] == pretrained.file_sha256(pretrained.BACKBONE_PATH)
    assert list(record["source_classes"]) == list(pretrained.SOURCE_CLASS_NAMES)
    assert {"seed", "recipe", "created", "machine", "command", "train_seconds"} <= set(record)
    assert record["recipe"]["epochs"] >= 1 and record["accuracy"]["source_test_images"] == 5000
    assert 0.8 <= record["accuracy"]["source_test"] <= 1.0
    assert 100_000 < pretrained.BACKBONE_PATH.stat().st_size < 5_000_000


def copies(tmp_path):
    model, provenance = tmp_path / "backbone.keras", tmp_path / "backbone.json"
    shutil.copy(pretrained.BACKBONE_PATH, model)
    shutil.copy(pretrained.PROVENANCE_PATH, provenance)
    return model, provenance


def test_a_damaged_backbone_is_refused_before_loading(tmp_path):
    model, provenance = copies(tmp_path)
    content = bytearray(model.read_bytes())
    content[len(content) // 2] ^= 0xFF
    model.write_bytes(bytes(content))
    with pytest.raises(
        BackboneError, match="does not match the checksum .* rebuild it with `python -m cnn_course.pretrained build`"
    ):
        pretrained.load_backbone(path=model, provenance_path=provenance)


def test_missing_files_say_how_to_get_them_back(tmp_path):
    model, provenance = copies(tmp_path)
    model.unlink()
    with pytest.raises(BackboneError, match="is missing. Reinstall the course"):
        pretrained.load_backbone(path=model, provenance_path=provenance)
    provenance.unlink()
    with pytest.raises(BackboneError, match="provenance file .* is missing"):
        pretrained.load_backbone(path=model, provenance_path=provenance)


def test_a_file_that_matches_its_checksum_but_is_no_model_is_explained(tmp_path):
    model, provenance = copies(tmp_path)
    model.write_bytes(b"not a keras archive")
    provenance.write_text(json.dumps({"sha256": pretrained.file_sha256(model)}))
    with pytest.raises(BackboneError, match="cannot load it"):
        pretrained.load_backbone(path=model, provenance_path=provenance)


def test_show_verifies_and_prints_the_provenance(capsys):
    assert pretrained_main(["show"]) == 0
    assert json.loads(capsys.readouterr().out)["name"] == pretrained.BACKBONE_NAME


def test_select_classes_relabels_in_the_order_given():
    x, y = np.arange(6), np.array([3, 5, 9, 5, 1, 9])
    x_kept, y_kept = data.select_classes(x, y, [9, 5])
    assert x_kept.tolist() == [1, 2, 3, 5] and y_kept.tolist() == [1, 0, 1, 0]
    with pytest.raises(ValueError, match="no sample has label"):
        data.select_classes(x, y, [2])


@needs_data()
def test_the_build_command_writes_a_loadable_backbone_and_its_provenance(tmp_path, capsys):
    assert pretrained_main(["build", "--out", str(tmp_path), "--epochs", "1", "--train-images", "200"]) == 0
    assert "wrote" in capsys.readouterr().out
    record = json.loads((tmp_path / "cifar5_backbone.json").read_text())
    assert record["command"].endswith("--epochs 1 --train-images 200") and record["training_images"] == 200
    base = pretrained.load_backbone(
        path=tmp_path / "cifar5_backbone.keras", provenance_path=tmp_path / "cifar5_backbone.json"
    )
    assert base.output_shape == (None, 4, 4, 128)


def test_the_doctor_reports_both_backbones(monkeypatch, tmp_path):
    monkeypatch.setenv(transfer.IMAGENET_WEIGHTS_ENV_VAR, str(tmp_path / "absent.h5"))
    backbone, imagenet = doctor.transfer_lines()
    assert "pretrained backbone: ok" in backbone and "sha256" in backbone
    assert "names no file" in imagenet
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.delenv(transfer.IMAGENET_WEIGHTS_ENV_VAR)
    assert "not found: set CNN_COURSE_IMAGENET_WEIGHTS" in doctor.transfer_lines()[1]
    with pytest.raises(FileNotFoundError, match="no ImageNet weights"):
        transfer.load_imagenet_backbone()


def test_imagenet_weights_given_as_a_file_are_used(monkeypatch, tmp_path):
    weights = (
        tmp_path / "mobilenet.weights.h5"
    )  # random weights standing in for ImageNet's, to exercise the path offline
    keras.applications.MobileNetV3Small(input_shape=(96, 96, 3), include_top=False, weights=None).save_weights(weights)
    monkeypatch.setenv(transfer.IMAGENET_WEIGHTS_ENV_VAR, str(weights))
    assert transfer.imagenet_weights_status() == f"available ({weights})"
    assert transfer.load_imagenet_backbone((96, 96, 3)).output_shape == (None, 3, 3, 576)
