"""The ways of writing the same thing that every check accepts, written down once.

- Layers: an `InputLayer` computes nothing, so Sequential with `input_shape`, Sequential with
  `keras.Input` and the Functional API give the same layer list (`computing_layers`).
- Activations: `Conv2D(32, 3, activation="relu")` and `Conv2D(32, 3)` followed by `ReLU()` or
  `Activation("relu")` compute the same thing, and so do `ReLU()` and `Activation("relu")` on their
  own (`standalone_activation`; `architecture.layer_table` folds such a layer into the Conv2D or
  Dense before it when that one has no activation of its own).
- Losses and metrics: a string alias, a function and an object compare on what they compute
  (`loss_identity`, `metric_identity`), read from the model's compile config, which is the same
  for a live model and one loaded from a `.keras` file.
"""

from __future__ import annotations

from typing import Any

import keras

_ACCURACY_ALIASES = {"accuracy", "acc", "sparse_categorical_accuracy", "sparsecategoricalaccuracy"}
_LOSS_ALIASES = {
    "sparse_categorical_crossentropy": "sparse_categorical_crossentropy",
    "sparsecategoricalcrossentropy": "sparse_categorical_crossentropy",
    "categorical_crossentropy": "categorical_crossentropy",
    "categoricalcrossentropy": "categorical_crossentropy",
    "binary_crossentropy": "binary_crossentropy",
    "binarycrossentropy": "binary_crossentropy",
    "mse": "mean_squared_error",
    "mean_squared_error": "mean_squared_error",
    "meansquarederror": "mean_squared_error",
}


def computing_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """Return the layers of `model` that compute something, in order, with nested Sequentials unrolled."""
    layers = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        if isinstance(layer, keras.Sequential):
            layers.extend(computing_layers(layer))
        else:
            layers.append(layer)
    return layers


def standalone_activation(layer: keras.layers.Layer) -> str | None:
    """Return the activation a layer only applies ('relu', 'softmax', ...), or None for any other layer.

    `ReLU()` (without a cap, slope or threshold), `Activation(name)` and `Softmax()` (last axis) qualify.
    """
    if isinstance(layer, keras.layers.ReLU):
        config = layer.get_config()
        plain = config.get("max_value") is None and not config.get("negative_slope") and not config.get("threshold")
        return "relu" if plain else None
    if isinstance(layer, keras.layers.Softmax):
        return "softmax" if layer.get_config().get("axis", -1) in (-1, [-1]) else None
    if isinstance(layer, keras.layers.Activation):
        return getattr(layer.activation, "__name__", None)
    return None


def _config_name(entry: Any) -> tuple[str, dict]:
    """Return (lower-case name without underscores kept, config) for a string or a serialised Keras object."""
    if isinstance(entry, str):
        return entry.lower(), {}
    if isinstance(entry, dict):
        if entry.get("class_name") == "function" and isinstance(entry.get("config"), str):
            return entry[
                "config"
            ].lower(), {}  # a loss or metric function such as keras.losses.sparse_categorical_crossentropy
        config = entry.get("config") if isinstance(entry.get("config"), dict) else {}
        return str(entry.get("class_name") or config.get("name") or "").lower(), config
    return type(entry).__name__.lower(), {}


def loss_identity(model: keras.Model) -> tuple[str | None, bool]:
    """Return (canonical loss name, from_logits) of a compiled model, e.g.

    ('sparse_categorical_crossentropy', False).
    """
    config = model.get_compile_config() or {}
    name, settings = _config_name(config.get("loss"))
    return _LOSS_ALIASES.get(name, _LOSS_ALIASES.get(name.replace("_", ""), name or None)), bool(
        settings.get("from_logits", False)
    )


def metric_identities(model: keras.Model) -> list[str]:
    """Return the canonical names of a compiled model's metrics ('accuracy' for every spelling of it).

    'accuracy', 'acc', 'sparse_categorical_accuracy' and SparseCategoricalAccuracy() are 'accuracy';
    keras.metrics.Accuracy() (exact equality of labels and outputs) is 'exact_accuracy';
    CategoricalAccuracy (one-hot labels) is 'categorical_accuracy'.
    """
    config = model.get_compile_config() or {}
    metrics = config.get("metrics") or []
    if isinstance(metrics, dict):  # metrics per output
        metrics = [m for group in metrics.values() for m in (group if isinstance(group, (list, tuple)) else [group])]
    found = []
    for entry in metrics if isinstance(metrics, (list, tuple)) else [metrics]:
        name, _ = _config_name(entry)
        if name == "accuracy" and isinstance(entry, dict):
            found.append("exact_accuracy")  # the object keras.metrics.Accuracy(), not the alias
        elif name in _ACCURACY_ALIASES or name.replace("_", "") in _ACCURACY_ALIASES:
            found.append("accuracy")
        elif name.replace("_", "") == "categoricalaccuracy":
            found.append("categorical_accuracy")
        else:
            found.append(name)
    return found
