"""One source for reference code: every package function that is also an exercise's solution computes what the
master's solution computes (the d2l rule, kept by a test instead of a generator).

Each pair below runs the master's solution (its exercise cell, after the master's setup cell) and the package
function on the same inputs and compares the results exactly: arrays by value and dtype, models by their layers'
classes, configurations (names aside) and parameter counts, compiled models by optimizer, loss and metrics. A
change to either side that changes what it computes fails here, naming the pair.
"""

from __future__ import annotations

import functools
import io
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest
from PIL import Image

from cnn_course import images, inference, models, pretrained, training, transfer
from cnn_course.authoring.notebooks import EXERCISE_TAG, SETUP_TAG, has_tag, read_notebook
from cnn_course.data import preprocessing

MASTERS = Path(__file__).resolve().parents[2] / "solutions"


@functools.cache
def master_namespace(stem: str) -> dict[str, Any]:
    """The names the master `stem` defines in its setup cell and its exercise cells (the solutions)."""
    notebook = read_notebook(MASTERS / f"{stem}.py")
    namespace: dict[str, Any] = {"__name__": f"master_{stem}"}
    for cell in notebook.cells:
        if cell.cell_type == "code" and (has_tag(cell, SETUP_TAG) or has_tag(cell, EXERCISE_TAG)):
            exec(compile(cell.source, f"{stem}.py", "exec"), namespace)
    return namespace


def solution(stem: str, name: str):
    return master_namespace(stem)[name]


def layer_signature(model: keras.Model) -> list[tuple[str, dict[str, Any]]]:
    """Each layer's class and configuration without its name (names are free to differ), nested models expanded."""
    found = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            found.append((type(layer).__name__, {"inputs": [tuple(layer.input_shape[1:])]}))
            found += layer_signature(layer)
            continue
        config = {key: value for key, value in layer.get_config().items() if key not in ("name", "seed")}
        found.append((type(layer).__name__, config))
    return found


def assert_same_model(ours: keras.Model, theirs: keras.Model) -> None:
    assert layer_signature(ours) == layer_signature(theirs)
    assert ours.count_params() == theirs.count_params()
    assert [w.shape for w in ours.trainable_weights] == [w.shape for w in theirs.trainable_weights]
    assert [w.shape for w in ours.non_trainable_weights] == [w.shape for w in theirs.non_trainable_weights]


def assert_same_compilation(ours: keras.Model, theirs: keras.Model) -> None:
    assert type(ours.optimizer) is type(theirs.optimizer)
    assert float(ours.optimizer.learning_rate) == pytest.approx(float(theirs.optimizer.learning_rate))
    assert keras.losses.get(ours.loss).__class__ == keras.losses.get(theirs.loss).__class__ or ours.loss == theirs.loss
    assert [str(m) for m in _metric_names(ours)] == [str(m) for m in _metric_names(theirs)]


def _metric_names(model: keras.Model) -> list[str]:
    return [m if isinstance(m, str) else m.name for m in (model._compile_config.config.get("metrics") or [])]


def assert_same_array(ours: np.ndarray, theirs: np.ndarray) -> None:
    assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
    np.testing.assert_array_equal(ours, theirs)


RNG = np.random.default_rng(7)


def test_scale_images():
    pixels = RNG.integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    assert_same_array(preprocessing.scale_images(pixels), solution("01_mnist_data", "scale_images")(pixels))


def test_add_channel_axis():
    pixels = RNG.random((4, 28, 28), dtype=np.float32)
    assert_same_array(preprocessing.add_channel_axis(pixels), solution("01_mnist_data", "add_channel_axis")(pixels))


def test_train_validation_split():
    x, y = RNG.random((200, 4, 4, 1), dtype=np.float32), np.repeat(np.arange(10), 20)
    ours = preprocessing.train_validation_split(x, y, validation_fraction=0.2, seed=3)
    theirs = solution("01_mnist_data", "split_train_validation")(x, y, validation_fraction=0.2, seed=3)
    for our_part, their_part in zip((*ours[0], *ours[1]), (*theirs[0], *theirs[1])):
        assert_same_array(our_part, their_part)


def test_channel_statistics():
    pixels = RNG.random((6, 8, 8, 3), dtype=np.float32) * 255
    for ours, theirs in zip(
        preprocessing.channel_statistics(pixels), solution("04_cifar10_data", "channel_mean_std")(pixels)
    ):
        assert ours.dtype == theirs.dtype == np.float32
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)


def test_build_mnist_cnn():
    assert_same_model(models.build_mnist_cnn(), solution("02_mnist_cnn", "build_mnist_cnn")())
    assert_same_model(
        models.build_mnist_cnn((20, 24, 3), 4), solution("02_mnist_cnn", "build_mnist_cnn")((20, 24, 3), 4)
    )


def test_compile_classifier():
    ours = training.compile_classifier(models.build_mnist_cnn(), 2e-3)
    theirs = solution("02_mnist_cnn", "compile_classifier")(models.build_mnist_cnn(), 2e-3)
    assert_same_compilation(ours, theirs)


def test_fit_classifier_calls_fit_as_train_classifier_does():
    """fit_classifier adds its epoch timer (and the caller's callbacks) and reads the labels as class indices; every
    other argument of `fit` is the same, with the same values."""
    calls = []

    class Recorder:
        def get_compile_config(self):
            return {"loss": "sparse_categorical_crossentropy"}

        def fit(self, *args, **kwargs):
            calls.append((args, {key: value for key, value in kwargs.items() if key not in ("callbacks", "verbose")}))
            for callback in kwargs.get("callbacks") or []:
                callback.on_train_begin()
            history = keras.callbacks.History()
            history.history = {}
            return history

    x, y, x_val, y_val = RNG.random((4, 2)), np.array([0, 1, 2, 1]), RNG.random((2, 2)), np.array([2, 0])
    training.fit_classifier(Recorder(), x, y, x_val, y_val, epochs=3, batch_size=2)
    solution("03_mnist_training", "train_classifier")(Recorder(), x, y, x_val, y_val, epochs=3, batch_size=2)
    (our_args, our_kwargs), (their_args, their_kwargs) = calls
    assert len(our_args) == len(their_args) and all(np.array_equal(a, b) for a, b in zip(our_args, their_args))
    assert our_kwargs.keys() == their_kwargs.keys()
    assert all(np.array_equal(a, b) for a, b in zip(our_kwargs["validation_data"], their_kwargs["validation_data"]))
    assert (our_kwargs["epochs"], our_kwargs["batch_size"]) == (their_kwargs["epochs"], their_kwargs["batch_size"])


def test_build_cifar10_seed_cnn():
    assert_same_model(models.build_cifar10_seed_cnn(), solution("05_cifar10_cnn", "build_seed_cnn")())


def test_top_k():
    probabilities = RNG.dirichlet(np.ones(10)).astype(np.float32)
    names = [f"class {i}" for i in range(10)]
    indices, values = solution("06_cifar10_evaluation", "top_k_classes")(probabilities, k=3)
    assert inference.top_k(probabilities, names, k=3) == [(names[i], float(v)) for i, v in zip(indices, values)]


def test_build_transfer_model():
    ours = transfer.build_transfer_model(pretrained.load_backbone(), 5)
    theirs = solution("08_transfer_learning", "build_transfer_model")(pretrained.load_backbone(), 5)
    assert_same_model(ours, theirs)
    assert ours.count_params() - sum(int(np.prod(w.shape)) for w in ours.non_trainable_weights) == 128 * 5 + 5


def test_unfreeze_top_layers():
    def trainable_flags(model: keras.Model) -> list[bool]:
        return [layer.trainable for layer in model.get_layer(pretrained.BACKBONE_NAME).layers]

    ours = transfer.unfreeze_top_layers(transfer.build_transfer_model(pretrained.load_backbone(), 5), 6, 1e-4)
    build = solution("08_transfer_learning", "build_transfer_model")
    theirs = solution("08_transfer_learning", "unfreeze_top_layers")(build(pretrained.load_backbone(), 5), 6, 1e-4)
    assert trainable_flags(ours) == trainable_flags(theirs)
    assert len(ours.trainable_weights) == len(theirs.trainable_weights)
    assert_same_compilation(ours, theirs)


def _photo(mode: str, size: tuple[int, int], orientation: int | None = None) -> bytes:
    array = RNG.integers(0, 256, size=(size[1], size[0], 4), dtype=np.uint8)
    image = Image.fromarray(array, "RGBA").convert(mode)
    buffer = io.BytesIO()
    if orientation is None:
        image.save(buffer, format="PNG")
    else:
        exif = Image.Exif()
        exif[0x0112] = orientation  # EXIF orientation: how to turn the stored image upright
        image.save(buffer, format="JPEG", quality=95, exif=exif)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("mode", "size", "input_shape", "orientation"),
    [
        ("RGB", (40, 30), (32, 32, 3), None),
        ("L", (28, 28), (28, 28, 1), None),
        ("RGB", (28, 28), (28, 28, 1), None),
        ("L", (50, 20), (32, 32, 3), None),
        ("RGB", (40, 30), (32, 32, 3), 6),
        ("RGB", (30, 40), (20, 16, 3), 8),
        ("L", (28, 20), (28, 28, 1), 3),
    ],
)
def test_load_image(mode, size, input_shape, orientation):
    """On opaque images, with and without an EXIF orientation: where the exercise's contract and the package's meet
    (the package also composites transparent pixels on white, which the exercise does not ask for)."""
    data = _photo(mode, size, orientation)
    ours = images.load_image(data, input_shape)
    theirs = solution("09_predict_and_serve", "load_image")(io.BytesIO(data), input_shape)
    assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, atol=1 / 255)
