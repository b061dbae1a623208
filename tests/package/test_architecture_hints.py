"""The model comparison names the first differing layer and its likely cause, for typical mistakes."""

import keras
import pytest
from keras import layers

from cnn_course.checks import CheckFailed, compare_architecture
from cnn_course.checks.architecture import check_model_builder
from cnn_course.models import build_mnist_cnn


def variant(**changes) -> keras.Sequential:
    """The reference MNIST CNN with one deliberate mistake."""
    padding = changes.get("padding", "valid")
    stack = [
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(32, 3, activation="relu", padding=padding),
        layers.MaxPooling2D(2),
        layers.Conv2D(changes.get("filters", 64), changes.get("kernel", 3), activation="relu"),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dropout(0.3),
        layers.Dense(128, activation="relu"),
        layers.Dropout(0.3),
        layers.Dense(changes.get("units", 10), activation=changes.get("activation", "softmax")),
    ]
    if changes.get("no_flatten"):
        stack.remove(stack[5])
    if changes.get("extra"):
        stack.insert(8, layers.Dense(64, activation="relu"))
    return keras.Sequential(stack)


def test_the_reference_passes():
    compare_architecture("build_mnist_cnn", build_mnist_cnn(), build_mnist_cnn())


@pytest.mark.parametrize(
    ("mistake", "problem", "hint"),
    [
        ({"padding": "same"}, "layer 1 differs", "padding='same'"),
        ({"no_flatten": True}, "layer 5 should be Flatten", "add layers.Flatten()"),
        ({"units": 9}, "layer 9 differs", "one per class"),
        ({"activation": None}, "layer 9 differs", "activation='softmax'"),
        ({"filters": 48}, "layer 3 differs", "64 filters"),
        ({"kernel": 5}, "layer 3 differs", "kernel_size should be (3, 3)"),
        ({"extra": True}, "is not in the reference", "remove this Dense layer"),
    ],
)
def test_a_mistake_is_located_and_explained(mistake, problem, hint):
    with pytest.raises(CheckFailed) as failure:
        compare_architecture("build_mnist_cnn", variant(**mistake), build_mnist_cnn())
    assert problem in failure.value.problem
    assert hint in failure.value.hint
    assert str(failure.value).startswith("build_mnist_cnn: ")


def test_returning_something_else_than_a_model_is_explained():
    with pytest.raises(CheckFailed, match="returned NoneType, not a keras.Model"):
        compare_architecture("build_mnist_cnn", None, build_mnist_cnn())


def test_a_builder_that_ignores_num_classes_fails():
    def fixed_ten(input_shape=(28, 28, 1), num_classes=10):
        return build_mnist_cnn(input_shape, 10)

    with pytest.raises(CheckFailed) as failure:
        check_model_builder("build_mnist_cnn", fixed_ten, build_mnist_cnn, (28, 28, 1), 10)
    assert "num_classes" in failure.value.hint
