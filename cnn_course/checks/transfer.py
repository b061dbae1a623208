"""Checks for lesson 08: building a transfer model on a frozen base, and unfreezing its top for fine-tuning.

The models arrive as the learner's process saved them (.keras, loaded in safe mode), so every
check reads what survives saving: `trainable` flags, the arguments each layer was called with
(in the model's config), the compile configuration and the optimizer's state.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np
from keras import layers

from cnn_course import pretrained, transfer
from cnn_course.checks.draws import generator
from cnn_course.checks.feedback import CheckFailed
from cnn_course.checks.saved_models import check_model_accuracy

GRADER_LEARNING_RATE = 1e-3  # what the model passed to unfreeze_top_layers was compiled with,
GRADER_OPTIMIZER_NAME = "head_training_adam"  # by an optimizer of this name: if it comes back, there was no recompile


def _parameter_count(weights: list) -> int:
    return int(sum(np.prod(w.shape) for w in weights))


def _leaf_layers(model: keras.Model, skip: keras.layers.Layer) -> list[keras.layers.Layer]:
    """The layers of `model`, nested models unpacked, except `skip` (the base)."""
    found = []
    for layer in model.layers:
        if layer is skip:
            continue
        if isinstance(layer, keras.Model):
            found.extend(_leaf_layers(layer, skip))
        else:
            found.append(layer)
    return found


def _find_base(name: str, model: keras.Model, base_name: str, base_params: int) -> keras.Model:
    """Return the base inside `model`: the nested model named `base_name` (or with the base's parameter count)."""
    nested = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    for layer in nested:
        if layer.name == base_name:
            return layer
    for layer in nested:
        if layer.count_params() == base_params:
            return layer
    raise CheckFailed(
        name,
        f"the returned model has no layer that is the base ({base_name}, {base_params:,} parameters); its layers are "
        f"{', '.join(layer.name for layer in model.layers)}.",
        "use the base you are given as one layer: x = base(x, training=False); copying its layers into a new model "
        "loses the pretrained structure the lesson relies on.",
    )


def _call_kwargs(model: keras.Model, layer_name: str) -> dict | None:
    """Return the keyword arguments `layer_name` was called with in a functional `model` (None if not functional)."""
    config = model.get_config()
    if not isinstance(config, dict) or "layers" not in config or "input_layers" not in config:
        return None
    for entry in config["layers"]:
        if entry.get("name") == layer_name and entry.get("inbound_nodes"):
            node = entry["inbound_nodes"][0]
            return node.get("kwargs", {}) if isinstance(node, dict) else {}
    return None


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def check_build_transfer_model(build_transfer_model: Callable) -> None:
    """build_transfer_model(base, num_classes) freezes the base, calls it with training=False, adds a Dense head."""
    name = "build_transfer_model"
    rng = generator(name)
    num_classes = int(rng.choice([2, 3, 4, 6, 7]))  # not the lesson's 5, so a hard-coded class count shows
    base = pretrained.load_backbone()
    base_params = base.count_params()
    model = build_transfer_model(base, num_classes)
    if not isinstance(model, keras.Model):
        raise CheckFailed(
            name, f"returned {type(model).__name__}, not a Keras model.", "return keras.Model(inputs, outputs)."
        )
    inner = _find_base(name, model, base.name, base_params)
    expected, found = base.get_weights(), inner.get_weights()
    if len(expected) != len(found) or any(e.shape != f.shape or not np.allclose(e, f) for e, f in zip(expected, found)):
        raise CheckFailed(
            name,
            "the base inside the model does not hold the pretrained weights.",
            "use the `base` argument as it is: building a new backbone (or calling build on it again) starts from "
            "random weights, and there is nothing left to transfer.",
        )
    unfrozen = _parameter_count(inner.trainable_weights)
    if unfrozen:
        raise CheckFailed(
            name,
            f"the base is left trainable: {unfrozen:,} of its {base_params:,} parameters would be trained.",
            "set base.trainable = False before building the head: the large gradients of a new, random head would "
            "wreck the pretrained features in the first steps.",
        )
    kwargs = _call_kwargs(model, inner.name)
    if kwargs is None:
        raise CheckFailed(
            name,
            f"returned a {type(model).__name__} model, in which the base cannot be called with training=False.",
            "build it with the functional API: inputs = keras.Input(shape=base.input_shape[1:]); "
            "x = base(inputs, training=False); ...; return keras.Model(inputs, outputs).",
        )
    if kwargs.get("training") is not False:
        raise CheckFailed(
            name,
            "the base is called with "
            f"{'training=' + repr(kwargs['training']) if 'training' in kwargs else 'no training argument'}.",
            "call it as base(x, training=False), so that its BatchNormalization layers stay in inference mode, "
            "also after you unfreeze it for fine-tuning.",
        )
    if model.output_shape != (None, num_classes):
        raise CheckFailed(
            name,
            f"called with num_classes={num_classes}, the model outputs shape {model.output_shape}.",
            "end with layers.Dense(num_classes, activation='softmax'): one probability per class, "
            f"(None, {num_classes}).",
        )
    head = [layer for layer in _leaf_layers(model, inner) if layer.weights]
    dense = [layer for layer in head if isinstance(layer, layers.Dense)]
    trainable = _parameter_count(model.trainable_weights)
    channels = int(base.output_shape[-1])
    spatial = int(np.prod(base.output_shape[1:-1]))
    expected = {
        "GlobalAveragePooling2D": channels * num_classes + num_classes,
        "Flatten": spatial * channels * num_classes + num_classes,
    }
    if len(head) != 1 or len(dense) != 1 or trainable not in expected.values():
        raise CheckFailed(
            name,
            f"the model has {trainable:,} trainable parameters in "
            f"{', '.join(layer.name for layer in head) or 'no layer'}; with {num_classes} classes, "
            f"one Dense layer on the pooled features has {expected['GlobalAveragePooling2D']:,} "
            f"(after GlobalAveragePooling2D) or {expected['Flatten']:,} (after Flatten).",
            "the new head is pooling, optionally Dropout, then layers.Dense(num_classes, activation='softmax'); "
            "nothing else trains.",
        )
    non_trainable = _parameter_count(model.non_trainable_weights)
    if non_trainable != base_params:
        raise CheckFailed(
            name,
            f"the model has {non_trainable:,} non-trainable parameters; the frozen base has {base_params:,}.",
            "only the base is frozen: the head's layers must stay trainable.",
        )
    images = rng.random((8, *base.input_shape[1:]), dtype=np.float32)
    probabilities = np.asarray(model(images, training=False))
    if not np.allclose(probabilities.sum(axis=1), 1, atol=1e-4) or probabilities.min() < 0:
        raise CheckFailed(
            name,
            "the outputs are not probabilities (rows do not sum to 1).",
            "give the last Dense layer activation='softmax'.",
        )
    features = np.asarray(base(images, training=False))
    kernel, bias = (np.asarray(w) for w in dense[0].get_weights())
    pooled = features.mean(axis=(1, 2)) if kernel.shape[0] == channels else features.reshape(len(images), -1)
    if not np.allclose(probabilities, _softmax(pooled @ kernel + bias), atol=1e-4):
        raise CheckFailed(
            name,
            "at inference, the model's predictions differ from the head applied to the base's features of the same "
            "images.",
            "feed the inputs to the base as they come (float RGB in [0, 1]): the backbone standardises them itself, so "
            "a Rescaling(1/255) or a second Normalization in front gives it images it was never trained on. Only "
            "augmentation layers (active while training only) may come before it.",
        )


def _frozen_transfer_model(rng: np.random.Generator) -> keras.Model:
    """The reference transfer model after one training step with its base frozen (so its optimizer has state)."""
    model = transfer.build_transfer_model(pretrained.load_backbone(), 5)
    optimizer = keras.optimizers.Adam(GRADER_LEARNING_RATE, name=GRADER_OPTIMIZER_NAME)
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    images = rng.random((8, *model.input_shape[1:]), dtype=np.float32)
    model.fit(images, np.arange(8) % 5, batch_size=8, epochs=1, verbose=0)
    return model


def _fine_tuning_rate(rng: np.random.Generator) -> float:
    """Draw a learning rate from about 3e-6 to 3e-4, 2 significant digits, never a power of ten code could hard-wire."""
    while True:
        rate = float(f"{10 ** rng.uniform(-5.5, -3.5):.2g}")
        if not any(np.isclose(rate, round_rate) for round_rate in (1e-5, 1e-4, GRADER_LEARNING_RATE)):
            return rate


def _loss_name(loss: object) -> str:
    if isinstance(loss, str):
        return loss
    return getattr(loss, "name", None) or getattr(loss, "__name__", None) or type(loss).__name__


def check_unfreeze_top_layers(unfreeze_top_layers: Callable) -> None:
    """unfreeze_top_layers(model, num_layers, learning_rate) unfreezes the base's top layers, not BatchNorm; recompiles.

    The model it gets was compiled with an Adam optimizer named GRADER_OPTIMIZER_NAME and trained one
    step: a model that comes back with that optimizer (by name, learning rate or step count) was not
    compiled again with a new one.
    """
    name = "unfreeze_top_layers"
    rng = generator(name)
    num_layers, learning_rate = int(rng.integers(4, 16)), _fine_tuning_rate(rng)
    given = _frozen_transfer_model(rng)
    base_params = given.get_layer(pretrained.BACKBONE_NAME).count_params()
    model = unfreeze_top_layers(given, num_layers, learning_rate)
    if not isinstance(model, keras.Model):
        raise CheckFailed(
            name,
            f"returned {type(model).__name__}, not a Keras model.",
            "return the model you were given, after changing it.",
        )
    base = _find_base(name, model, pretrained.BACKBONE_NAME, base_params)
    if not base.trainable:
        raise CheckFailed(
            name,
            "base.trainable is still False, so none of its layers can train, whatever their own flags say.",
            "set base.trainable = True first (it unfreezes every layer inside), then freeze the layers below the top "
            "`num_layers` and every BatchNormalization layer again.",
        )
    top = len(base.layers) - num_layers
    for index, layer in enumerate(base.layers):
        if not layer.weights:
            continue
        is_batch_norm = isinstance(layer, layers.BatchNormalization)
        if is_batch_norm and layer.trainable:
            raise CheckFailed(
                name,
                f"the BatchNormalization layer '{layer.name}' is trainable.",
                "keep every BatchNormalization layer frozen (layer.trainable = False) while fine-tuning: a trainable "
                "BatchNormalization runs in training mode, so it normalises with the statistics of each small batch of "
                "new images and overwrites the ones the pretrained layers after it expect.",
            )
        if index < top and layer.trainable:
            raise CheckFailed(
                name,
                f"'{layer.name}', {len(base.layers) - index} layers from the top of the base, is trainable; "
                f"with num_layers={num_layers} only base.layers[-{num_layers}:] may be.",
                "freeze the rest: for layer in base.layers[:-num_layers]: layer.trainable = False.",
            )
        if index >= top and not is_batch_norm and not layer.trainable:
            raise CheckFailed(
                name,
                f"'{layer.name}' is among the top {num_layers} layers of the base but still frozen.",
                "unfreeze the base (base.trainable = True), then freeze only the layers below the top num_layers.",
            )
    frozen_head = [layer.name for layer in _leaf_layers(model, base) if layer.weights and not layer.trainable]
    if frozen_head:
        raise CheckFailed(
            name,
            f"head layer(s) {', '.join(frozen_head)} are frozen.",
            "leave the head trainable: fine-tuning trains it with the top of the base.",
        )
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        raise CheckFailed(
            name,
            "the returned model is not compiled.",
            f"recompile it: model.compile(optimizer=keras.optimizers.Adam({learning_rate}), ...).",
        )
    rate = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
    steps = int(keras.ops.convert_to_numpy(optimizer.iterations))
    # The optimizer's name survives saving; its state does not once the trainable weights have changed.
    if optimizer.name == GRADER_OPTIMIZER_NAME or np.isclose(rate, GRADER_LEARNING_RATE) or steps > 0:
        raise CheckFailed(
            name,
            "the model was not compiled again after its trainable flags changed: "
            "it still has the optimizer it was trained with while frozen "
            f"('{optimizer.name}', learning rate {rate:g}).",
            "call model.compile(...) with a new optimizer after changing `trainable`: "
            "Keras builds the training step at compile time for the weights that were trainable then, "
            "so without it the unfrozen layers do not train.",
        )
    if not np.isclose(rate, learning_rate, rtol=1e-3):
        raise CheckFailed(
            name,
            f"called with learning_rate={learning_rate:g}, the optimizer's learning rate is {rate:g}.",
            "pass learning_rate to the new optimizer: fine-tuning needs a rate 10 to 100 times lower than training the "
            "head, or the first steps undo what the base learnt.",
        )
    if "sparse_categorical_crossentropy" not in _loss_name(model.loss):
        raise CheckFailed(
            name,
            f"the model is compiled with the loss {_loss_name(model.loss)}.",
            "keep loss='sparse_categorical_crossentropy': the labels are class indices.",
        )


def check_transfer_accuracy(
    exercise: str, model: keras.Model, x_test: np.ndarray, y_test: np.ndarray, scratch_accuracy: float, margin: float
) -> float:
    """Fail unless `model` beats training from scratch (`scratch_accuracy`) by `margin` on (x_test, y_test).

    Return its accuracy.
    """
    accuracy = check_model_accuracy(exercise, model, x_test, y_test, 0.0)  # checks the input shape, measures
    if accuracy < scratch_accuracy + margin:
        raise CheckFailed(
            exercise,
            f"test accuracy {accuracy:.2%} on the {len(y_test):,} test images of the target classes; "
            f"training from scratch reaches {scratch_accuracy:.0%}, and transfer must beat it by {margin:.0%}: "
            f"at least {scratch_accuracy + margin:.0%}.",
            "start from pretrained.load_backbone(), train the new head with the base frozen, "
            "then fine-tune the top with BatchNormalization frozen and a low learning rate (1e-4): "
            "a high rate or trainable BatchNorm layers destroy the pretrained features, "
            "and a fresh backbone has none.",
        )
    return accuracy
