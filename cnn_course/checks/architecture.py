"""Comparing a learner's model with the reference, layer by layer, with a hint at the first difference."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, replace

import keras
import numpy as np

from cnn_course.checks.draws import generator
from cnn_course.checks.equivalences import computing_layers, standalone_activation
from cnn_course.checks.feedback import CheckFailed
from cnn_course.runtime.protocol import ForeignObject


@dataclass(frozen=True)
class LayerRow:
    """What a grader compares about one layer: its kind, output shape, parameters and settings."""

    kind: str
    output_shape: tuple
    params: int
    activation: str | None = None
    padding: str | None = None
    filters_or_units: int | None = None
    kernel_size: tuple | None = None  # a pooling layer's pool_size
    strides: tuple | None = None
    rate: float | None = None  # Dropout

    def describe(self) -> str:
        """Return e.g. 'Conv2D(32, 3x3, relu) -> (None, 26, 26, 32), 320 params'."""
        settings = [str(self.filters_or_units)] if self.filters_or_units is not None else []
        if self.kernel_size:
            settings.append("x".join(map(str, self.kernel_size)))
        if self.strides and self.kernel_size and self.strides != (1, 1) and self.strides != self.kernel_size:
            settings.append(f"strides={self.strides}")
        if self.rate is not None:
            settings.append(f"{self.rate:g}")
        if self.padding == "same":
            settings.append("padding='same'")
        if self.activation and self.activation != "linear":
            settings.append(self.activation)
        return f"{self.kind}({', '.join(settings)}) -> {self.output_shape}, {self.params:,} params"


def layer_table(model: keras.Model) -> list[LayerRow]:
    """Return one LayerRow per computing layer of `model` (see `equivalences.computing_layers`).

    A layer that only applies an activation right after a Conv2D or Dense without one is folded
    into it (`Conv2D(32, 3)` + `ReLU()` is `Conv2D(32, 3, activation='relu')`); elsewhere
    `Activation('relu')` and `ReLU()` are the same row.
    """
    rows: list[LayerRow] = []
    for layer in computing_layers(model):
        applied = standalone_activation(layer)
        if applied is not None:
            previous = rows[-1] if rows else None
            if previous is not None and previous.filters_or_units is not None and previous.activation == "linear":
                rows[-1] = replace(previous, activation=applied)
                continue
            kind = {"relu": "ReLU", "softmax": "Softmax"}.get(applied, "Activation")
            rows.append(
                LayerRow(kind, tuple(layer.output.shape), 0, activation=applied if kind == "Activation" else None)
            )
            continue
        activation = getattr(layer, "activation", None)
        kernel = getattr(layer, "kernel_size", None) or getattr(layer, "pool_size", None)
        strides = getattr(layer, "strides", None)
        rate = getattr(layer, "rate", None) if isinstance(layer, keras.layers.Dropout) else None
        rows.append(
            LayerRow(
                kind=type(layer).__name__,
                output_shape=tuple(layer.output.shape),
                params=int(layer.count_params()),
                activation=getattr(activation, "__name__", None),
                padding=getattr(layer, "padding", None) if kernel else None,
                filters_or_units=getattr(layer, "filters", None) or getattr(layer, "units", None),
                kernel_size=tuple(kernel) if kernel else None,
                strides=tuple(strides) if kernel and strides else None,
                rate=float(rate) if rate is not None else None,
            )
        )
    return rows


def explain_difference(expected: LayerRow, found: LayerRow, is_last: bool) -> str:
    """Return the likely cause of a difference between two layers at the same position."""
    if expected.kind != found.kind:
        return f"expected a {expected.kind} layer here, found {found.kind}: check the order of your layers."
    if expected.padding != found.padding:
        return (
            f"padding='{found.padding}' here, but the reference uses padding='{expected.padding}'. "
            "'valid' (the default) shrinks each side by kernel_size - 1; 'same' keeps the size."
        )
    if expected.kernel_size != found.kernel_size:
        what = "pool_size" if "Pool" in expected.kind else "kernel_size"
        return f"{what} should be {expected.kernel_size}, not {found.kernel_size}."
    if expected.strides != found.strides:
        return (
            f"strides should be {expected.strides}, not {found.strides}: "
            "a larger stride skips positions and shrinks the output."
        )
    if expected.rate != found.rate:
        return (
            f"the dropout rate should be {expected.rate:g}, not {found.rate:g}: "
            "Dropout(rate) drops that fraction of the values while training."
        )
    if expected.filters_or_units != found.filters_or_units:
        if is_last:
            return (
                f"the output layer has {found.filters_or_units} units; it needs one per class: "
                f"Dense(num_classes) = Dense({expected.filters_or_units})."
            )
        what = "filters" if expected.kind.startswith("Conv") else "units"
        return f"this layer should have {expected.filters_or_units} {what}, not {found.filters_or_units}."
    if expected.filters_or_units and found.params - expected.params == expected.filters_or_units:
        return (
            "it has a bias the reference does not: use use_bias=False, since the BatchNormalization right "
            "after it adds its own learned shift."
        )
    if expected.activation != found.activation:
        if is_last and expected.activation == "softmax":
            return (
                "the output layer needs activation='softmax' so that the model outputs class "
                "probabilities that sum to 1 (the loss expects probabilities)."
            )
        return f"activation should be '{expected.activation}', not '{found.activation}'."
    return "its output shape or parameter count differs from the reference: check its arguments."


def _key(row: LayerRow) -> tuple:
    """What identifies a layer when aligning two models: its kind and settings, not its shapes."""
    return (row.kind, row.filters_or_units, row.kernel_size, row.padding, row.activation)


def compare_architecture(exercise: str, model: object, reference: keras.Model) -> None:
    """Raise CheckFailed naming the first layer where `model` differs from `reference`.

    The two layer lists are aligned first, so an extra or a missing layer is reported as such
    rather than as a difference in every layer after it.
    """
    if not isinstance(model, keras.Model):
        reason = f" ({model.reason})" if isinstance(model, ForeignObject) and model.reason else ""
        raise CheckFailed(
            exercise,
            f"returned {type(model).__name__ if not isinstance(model, ForeignObject) else model.type_name}, "
            f"not a keras.Model{reason}.",
            "build the layers inside keras.Sequential([...]) (or with the Functional API) and `return` the model.",
        )
    if not model.built:
        raise CheckFailed(
            exercise,
            "the model has no input shape, so its layers have no sizes yet (it was never built).",
            "start the model with keras.Input(shape=input_shape), or pass input_shape=input_shape to the first layer.",
        )
    expected, found = layer_table(reference), layer_table(model)
    if expected == found:
        return
    matcher = difflib.SequenceMatcher(a=[_key(r) for r in expected], b=[_key(r) for r in found], autojunk=False)
    for tag, e_start, e_end, f_start, f_end in matcher.get_opcodes():
        if tag == "insert":
            extra = found[f_start]
            where = f"layer {f_start + 1} ({extra.describe()})"
            if e_start == len(expected):
                raise CheckFailed(
                    exercise,
                    f"{where} is extra: the reference stops after {len(expected)} layers.",
                    "remove the layers after the output layer.",
                )
            raise CheckFailed(exercise, f"{where} is not in the reference model.", f"remove this {extra.kind} layer.")
        if tag == "delete":
            missing = expected[e_start]
            if f_start == len(found):
                raise CheckFailed(
                    exercise,
                    f"the model stops after {len(found)} layers; layer {e_start + 1} should be {missing.describe()}.",
                    f"add the missing {missing.kind} layer(s) at the end.",
                )
            hint = f"add a {missing.kind} layer before {found[f_start].kind}."
            if missing.kind == "Flatten":
                hint = (
                    "add layers.Flatten() before the Dense layers: without it, Dense acts on each pixel "
                    "position separately and the output stays 4-D instead of (batch, classes)."
                )
            raise CheckFailed(
                exercise, f"layer {e_start + 1} should be {missing.describe()}, but that layer is missing.", hint
            )
        if tag == "replace" and e_end - e_start != f_end - f_start:
            break
    for index in range(max(len(expected), len(found))):
        want = expected[index] if index < len(expected) else None
        got = found[index] if index < len(found) else None
        if want == got:
            continue
        if want is None or got is None:
            raise CheckFailed(
                exercise,
                f"the model has {len(found)} computing layers; the reference has {len(expected)}.\n    expected: "
                + "\n              ".join(r.describe() for r in expected),
                "build the layers the lesson lists, in order.",
            )
        hint = explain_difference(want, got, is_last=index == len(expected) - 1)
        following = expected[index + 1] if index + 1 < len(expected) else None
        if (
            want.activation == "linear"
            and got.activation not in (None, "linear")
            and following is not None
            and following.kind == "BatchNormalization"
        ):
            hint = (
                f"in the reference, BatchNormalization comes between this {want.kind} and its activation: "
                f"{want.kind}(..., use_bias=False), then BatchNormalization(), then ReLU(). "
                f"Here the activation follows the {want.kind} directly, "
                "so the BatchNormalization is missing or comes too late."
            )
        raise CheckFailed(
            exercise,
            f"layer {index + 1} differs.\n    expected: {want.describe()}\n    found:    {got.describe()}",
            hint,
        )


def check_model_builder(
    exercise: str,
    build: Callable[..., object],
    reference_build: Callable[..., keras.Model],
    input_shape: tuple,
    num_classes: int,
) -> None:
    """Check that build(input_shape, num_classes) matches the reference and outputs probabilities, then that it follows
    another input shape and number of classes, drawn for the run."""
    rng = generator(exercise)
    model = build(input_shape=input_shape, num_classes=num_classes)
    compare_architecture(exercise, model, reference_build(input_shape=input_shape, num_classes=num_classes))
    batch = rng.random((4, *input_shape), dtype=np.float32)
    probabilities = np.asarray(model(batch, training=False))
    if not np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-4):
        raise CheckFailed(exercise, "the outputs do not sum to 1 per image.", "end with activation='softmax'.")
    other_classes = int(rng.choice([n for n in range(2, 10) if n != num_classes]))
    other_shape = tuple(input_shape)
    while other_shape == tuple(input_shape):
        other_shape = (int(rng.integers(20, 37)), int(rng.integers(20, 37)), int(rng.choice([1, 3])))
    smaller = build(input_shape=other_shape, num_classes=other_classes)
    if not isinstance(smaller, keras.Model) or tuple(smaller.output_shape) != (None, other_classes):
        raise CheckFailed(
            exercise,
            f"with num_classes={other_classes} the output shape is {getattr(smaller, 'output_shape', None)}, "
            f"not (None, {other_classes}).",
            "use the num_classes argument for the output layer instead of a fixed number.",
        )
    if tuple(smaller.input_shape) != (None, *other_shape):
        raise CheckFailed(
            exercise,
            f"called with input_shape={other_shape}, the model takes inputs of shape {tuple(smaller.input_shape)}, "
            f"not {(None, *other_shape)}.",
            "use the input_shape argument instead of a fixed shape: keras.Input(shape=input_shape).",
        )
