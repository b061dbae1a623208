"""Class names saved with models, `load_classifier`, and `cnn-course predict` on image files."""

import json

import numpy as np
import pytest

from cnn_course.commands.cli import main
from cnn_course.images import load_image
from cnn_course.inference import as_probabilities, load_classifier
from cnn_course.saving import ClassNamesError, class_names_path, save_model_with_classes

from .deploy_models import CLASS_NAMES, image_bytes, saved_classifier, tiny_classifier


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    return saved_classifier(tmp_path_factory.mktemp("model"))


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    folder = tmp_path_factory.mktemp("images")
    paths = []
    for index, (size, mode, fmt) in enumerate(
        [((8, 8), "RGB", "PNG"), ((40, 30), "RGB", "JPEG"), ((8, 8), "L", "PNG"), ((16, 16), "RGBA", "PNG")]
    ):
        path = folder / f"image{index}.{fmt.lower()}"
        path.write_bytes(image_bytes(index, size, mode, fmt))
        paths.append(path)
    return paths


def test_the_sidecar_sits_next_to_the_model_and_holds_the_names(model_path):
    sidecar = class_names_path(model_path)
    assert sidecar.name == "model.classes.json"
    assert json.loads(sidecar.read_text()) == {"class_names": list(CLASS_NAMES)}


def test_saving_refuses_a_wrong_number_of_names(tmp_path):
    with pytest.raises(ValueError, match="3 outputs but 2 class names"):
        save_model_with_classes(tiny_classifier(), tmp_path / "m.keras", ["a", "b"])


def test_the_classifier_predicts_like_the_model_on_the_training_preprocessing(model_path, images):
    classifier = load_classifier(model_path)
    assert classifier.class_names == CLASS_NAMES and classifier.note is None
    x = load_image(images[0], (8, 8, 3))[np.newaxis]
    np.testing.assert_allclose(classifier.predict(x), classifier.model.predict(x, verbose=0), atol=1e-6)


def test_a_model_without_sidecar_gets_numbered_classes_and_a_note(tmp_path):
    classifier = load_classifier(saved_classifier(tmp_path, class_names=None))
    assert classifier.class_names == ("0", "1", "2")
    assert "no class names saved" in classifier.note


def test_a_sidecar_that_does_not_fit_is_an_error(tmp_path):
    path = saved_classifier(tmp_path)
    class_names_path(path).write_text('{"class_names": ["a", "b"]}')
    with pytest.raises(ClassNamesError, match="lists 2 class names but the model has 3 outputs"):
        load_classifier(path)


def test_logits_become_probabilities():
    logits = np.array([[2.0, -1.0, 0.5], [0.0, 0.0, 0.0]])
    probabilities = as_probabilities(logits)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=1e-6)
    assert probabilities[0].argmax() == 0
    already = np.array([[0.2, 0.5, 0.3]])
    np.testing.assert_allclose(as_probabilities(already), already, rtol=1e-6)


def test_predict_prints_the_top_k_of_one_image(model_path, images, capsys):
    assert main(["predict", str(model_path), str(images[0]), "--top", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == str(images[0])
    assert len(lines) == 3 and all(line.split()[0] in CLASS_NAMES for line in lines[1:])


def test_predict_prints_a_table_and_goes_on_past_a_bad_file(model_path, images, tmp_path, capsys):
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(image_bytes(format="JPEG")[:100])
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    status = main(
        [
            "predict",
            str(model_path),
            str(images[0]),
            str(corrupt),
            *map(str, images[1:]),
            str(text),
            str(tmp_path / "missing.png"),
        ]
    )
    captured = capsys.readouterr()
    assert status == 1
    rows = captured.out.splitlines()
    assert rows[0].split() == ["image", "top-1", "top-2", "top-3"]
    assert [row.split()[0] for row in rows[2:]] == [str(path) for path in images]
    errors = captured.err.splitlines()
    assert errors[0] == f"cnn-course predict: {corrupt}: corrupt or truncated image (Truncated File Read)."
    assert errors[1].startswith(f"cnn-course predict: {text}: not an image file")
    assert errors[2].startswith(f"cnn-course predict: {tmp_path / 'missing.png'}: cannot be read")
    assert errors[3] == "3 of 7 files could not be classified."


def test_predict_on_a_missing_model_says_what_to_do(tmp_path, images, capsys):
    assert main(["predict", str(tmp_path / "nope.keras"), str(images[0])]) == 2
    assert "no such model file. Train one first" in capsys.readouterr().err


def test_predict_on_a_file_that_is_not_a_model(tmp_path, images, capsys):
    fake = tmp_path / "fake.keras"
    fake.write_bytes(b"PK\x03\x04 not really")
    assert main(["predict", str(fake), str(images[0])]) == 2
    assert "could not be loaded as a Keras model in safe mode" in capsys.readouterr().err
