"""Prediction warns when an image is unlike what the model trained on: colour sent to a grayscale model, and a
brightness far from the training images' (an MNIST digit inverted, dark on light); a real digit gets no warning."""

from __future__ import annotations

import io
import json

import keras
import numpy as np
import pytest
from PIL import Image, ImageOps

from cnn_course.data import MNIST_CLASS_NAMES, load_cifar10, load_mnist
from cnn_course.inference import load_classifier
from cnn_course.saving import class_names_path, save_model_with_classes, training_pixels, write_class_names
from cnn_course.serving import create_app

from .conftest import needs_data

pytestmark = needs_data()


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def images():
    """A real MNIST test digit (light on dark), the same inverted (dark on light), and a CIFAR-10 colour photo."""
    (_, _), (x_mnist, _) = load_mnist()
    (_, _), (x_cifar, _) = load_cifar10()
    digit = Image.fromarray(x_mnist[0])
    return {"digit": png(digit), "inverted": png(ImageOps.invert(digit)), "colour": png(Image.fromarray(x_cifar[0]))}


@pytest.fixture(scope="module")
def mnist_model(tmp_path_factory):
    """An MNIST-shaped classifier saved the way lesson 3 saves it: a sidecar with the digits' names only."""
    path = tmp_path_factory.mktemp("mnist") / "mnist_cnn.keras"
    inputs = keras.Input((28, 28, 1))
    outputs = keras.layers.Dense(10, activation="softmax")(keras.layers.GlobalAveragePooling2D()(inputs))
    save_model_with_classes(keras.Model(inputs, outputs), path, MNIST_CLASS_NAMES)
    return path


def test_a_real_digit_gets_no_warning(mnist_model, images):
    assert load_classifier(mnist_model).classify(images["digit"]).warnings == []


def test_an_inverted_digit_is_warned_about_with_what_to_do(mnist_model, images):
    (warning,) = load_classifier(mnist_model).classify(images["inverted"]).warnings
    assert "far from the training images' (0.13 ± 0.04, on 0-1)" in warning
    assert "looks inverted (light background, dark subject)" in warning and "ImageOps.invert" in warning


def test_a_colour_photo_sent_to_a_grayscale_model_is_warned_about(mnist_model, images):
    warnings = load_classifier(mnist_model).classify(images["colour"]).warnings
    assert any("this is a colour image" in warning and "trained on grayscale images" in warning for warning in warnings)


def test_gray_saved_as_rgb_is_not_colour(mnist_model, images):
    gray_as_rgb = png(Image.open(io.BytesIO(images["digit"])).convert("RGB"))
    assert load_classifier(mnist_model).classify(gray_as_rgb).warnings == []


def test_the_training_brightness_is_recorded_at_save_time_and_read_back(tmp_path):
    bright = np.full((4, 28, 28, 1), 200, dtype=np.uint8)
    path = tmp_path / "bright.keras"
    write_class_names(path, MNIST_CLASS_NAMES, training_images=bright)
    assert json.loads(class_names_path(path).read_text())["training_pixels"] == {
        "mean": round(200 / 255, 4),
        "spread": 0.0,
    }
    assert training_pixels(path, (28, 28, 1), MNIST_CLASS_NAMES) == {"mean": round(200 / 255, 4), "spread": 0.0}
    write_class_names(path, ["a", "b"])  # no images, no known dataset: nothing to compare with
    assert training_pixels(path, (28, 28, 1), ["a", "b"]) is None


def test_serve_answers_warnings_in_json_and_shows_them_on_the_page(mnist_model, images):
    client = create_app(mnist_model).test_client()
    answer = client.post("/predict", data={"file": (io.BytesIO(images["inverted"]), "seven.png")}).get_json()
    assert len(answer["predictions"]) == 3 and "looks inverted" in answer["warnings"][0]
    answer = client.post("/predict", data={"file": (io.BytesIO(images["digit"]), "seven.png")}).get_json()
    assert answer["warnings"] == []
    page = client.get("/").get_data(as_text=True)
    assert '<ul id="warnings" role="status"' in page and "answer.warnings" in page
