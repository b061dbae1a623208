"""Reference training recipes: a model builder with the hyperparameters that train it fast on a CPU."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import keras

from cnn_course.models import build_mnist_cnn


@dataclass(frozen=True)
class Recipe:
    """How to train one reference model: architecture, epochs, batch size, peak learning rate."""

    name: str
    dataset: str
    description: str
    build: Callable[[], keras.Model]
    epochs: int
    batch_size: int
    peak_learning_rate: float
    validation_fraction: float = 0.1


MNIST_RECIPE = Recipe(
    name="cnn",
    dataset="mnist",
    description="two conv/pool blocks + Dense(128), Adam with warm-up and cosine decay, 3 epochs",
    build=build_mnist_cnn,
    epochs=3,
    batch_size=128,
    peak_learning_rate=3e-3,
)

RECIPES: dict[str, dict[str, Recipe]] = {"mnist": {MNIST_RECIPE.name: MNIST_RECIPE}}
DEFAULT_RECIPE = {"mnist": MNIST_RECIPE.name}
