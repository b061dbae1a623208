"""Training precision per machine: mixed bfloat16 where the processor computes it natively and it is faster.

`choose_dtype_policy` never guesses from the processor alone: where the CPU has native bfloat16
(AVX512_BF16 or AMX on Linux, read from /proc/cpuinfo), it times a few training steps of the
actual model in float32 and in mixed_bfloat16, in turns, and keeps bfloat16 only if it is faster by
`BFLOAT16_MARGIN`. Elsewhere (no such flag, or a system without /proc/cpuinfo) it is float32.
Models trained in mixed_bfloat16 compute their output layer in float32, and are saved with every
layer in float32 (`in_float32`), so they load and predict float32 arrays anywhere.
"""

from __future__ import annotations

import contextlib
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import keras

FLOAT32, MIXED_BFLOAT16 = "float32", "mixed_bfloat16"
POLICIES = (FLOAT32, MIXED_BFLOAT16)
DTYPE_CHOICES = ("auto", *POLICIES)
BFLOAT16_FLAGS = ("avx512_bf16", "amx_bf16")
BFLOAT16_MARGIN = 0.10  # mixed_bfloat16 must train at least this much faster per step to be chosen
CPUINFO = Path("/proc/cpuinfo")


@dataclass(frozen=True)
class PolicyChoice:
    """The dtype policy to train with, why, and the measured seconds per training step (None: not measured)."""

    policy: str
    reason: str
    float32_step_seconds: float | None = None
    bfloat16_step_seconds: float | None = None

    def as_metrics(self) -> dict:
        """The choice as metrics.json records it: policy, reason and the step times in milliseconds."""
        return {
            "dtype_policy": self.policy,
            "dtype_reason": self.reason,
            "float32_step_ms": _milliseconds(self.float32_step_seconds),
            "bfloat16_step_ms": _milliseconds(self.bfloat16_step_seconds),
        }


def _milliseconds(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


def cpu_flags() -> frozenset[str] | None:
    """Return the processor's feature flags from /proc/cpuinfo (Linux), lower case; None where they cannot be read."""
    try:
        text = CPUINFO.read_text()
    except OSError:
        return None
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return frozenset(value.lower().split())
    return None


def native_bfloat16(flags: frozenset[str] | None) -> bool:
    """True when `flags` (from `cpu_flags`) include a native bfloat16 instruction set (AVX512_BF16 or AMX)."""
    return bool(flags) and any(flag in flags for flag in BFLOAT16_FLAGS)


@contextlib.contextmanager
def dtype_policy(policy: str) -> Iterator[None]:
    """Set Keras's global dtype policy to `policy` inside the block, and put the previous one back after it."""
    import keras

    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def build_with_policy(build: Callable[[], keras.Model], policy: str) -> keras.Model:
    """Return `build()` built under `policy`; under a mixed policy its last layer (the softmax) computes in float32.

    The global policy is back to what it was on return. Raises ValueError for a policy other than `POLICIES`.
    """
    if policy not in POLICIES:
        raise ValueError(f"dtype policy '{policy}' is not one of {', '.join(POLICIES)}")
    with dtype_policy(policy):
        model = build()
        if policy == FLOAT32:
            return model
        # Keras's mixed-precision guidance: probabilities and the loss in float32, for their small values.
        output = model.layers[-1]
        return _with_policies(model, lambda layer: FLOAT32 if layer is output else None)


def in_float32(model: keras.Model) -> keras.Model:
    """Return `model` with every layer computing in float32: the model itself when it already does, else a copy
    (uncompiled, same weights) whose saved file loads and predicts float32 under Keras's default policy."""
    from cnn_course.models import flat_layers

    if all(layer.dtype_policy.name == FLOAT32 for layer in flat_layers(model)):
        return model
    with dtype_policy(FLOAT32):
        return _with_policies(model, lambda layer: FLOAT32)


def _with_policies(model: keras.Model, policy_of: Callable[[keras.layers.Layer], str | None]) -> keras.Model:
    """A copy of `model` with its weights, each layer under `policy_of(layer)` (None: the layer's own policy)."""
    import keras

    def clone(layer: keras.layers.Layer) -> keras.layers.Layer:
        config = layer.get_config()
        policy = policy_of(layer)
        if policy is not None:
            config["dtype"] = policy
        return layer.__class__.from_config(config)

    copy = keras.models.clone_model(model, clone_function=clone, recursive=True)
    copy.set_weights(model.get_weights())
    return copy


def interleaved_median_seconds(
    steps: dict[str, Callable[[], object]],
    seconds: float = 2.0,
    max_rounds: int = 10,
    clock: Callable[[], float] = time.perf_counter,
) -> dict[str, float]:
    """Time `steps` in rounds, each called once per round in an order reversed every other round, until `seconds`
    have passed (at least 2 rounds, at most `max_rounds`); return each one's median seconds per call.

    Interleaved, a slow spell of the machine (start-up, another process) falls on every step alike: timed one after
    the other, the first timed absorbed it (a step of `fast` once measured 173 ms in float32, first, against its
    usual 105 ms, and bfloat16 was chosen at 121 ms).
    """
    times: dict[str, list[float]] = {name: [] for name in steps}
    started, rounds = clock(), 0
    while rounds < 2 or (rounds < max_rounds and clock() - started < seconds):
        for name in list(steps) if rounds % 2 == 0 else list(steps)[::-1]:
            start = clock()
            steps[name]()
            times[name].append(clock() - start)
        rounds += 1
    return {name: statistics.median(measured) for name, measured in times.items()}


def training_step_seconds(
    build: Callable[[], keras.Model],
    batch_size: int,
    policies: tuple[str, ...] = POLICIES,
    warmup_steps: int = 2,
) -> dict[str, float]:
    """Return the median seconds of one training step of `build()` under each of `policies`, on random images of
    its input shape (`interleaved_median_seconds`: a few seconds in all).

    One model per policy, compiled with Adam and sparse cross-entropy; `warmup_steps` steps of each (tracing
    included) are not timed.
    """
    import keras
    import numpy as np

    steps = {}
    for policy in policies:
        model = build_with_policy(build, policy)
        with dtype_policy(policy):
            model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
            rng = np.random.default_rng(0)
            images = rng.random((batch_size, *model.input_shape[1:]), dtype=np.float32)
            labels = rng.integers(0, model.output_shape[-1], batch_size)
            for _ in range(warmup_steps):
                model.train_on_batch(images, labels)

        def step(model=model, policy=policy, images=images, labels=labels) -> None:
            with dtype_policy(policy):
                model.train_on_batch(images, labels)

        steps[policy] = step
    return interleaved_median_seconds(steps)


def choose_dtype_policy(
    build: Callable[[], keras.Model],
    batch_size: int,
    requested: str = "auto",
) -> PolicyChoice:
    """Choose the dtype policy to train `build()` (a fresh, uncompiled model per call) with, in batches of `batch_size`.

    requested: "float32" or "mixed_bfloat16" is taken as it is; "auto" is float32 unless the processor has native
    bfloat16 (`cpu_flags`) and a training step (`training_step_seconds`, both timed in turn, a few seconds) is at least
    `BFLOAT16_MARGIN` faster in mixed_bfloat16 than in float32. Raises ValueError for another `requested`.
    """
    if requested not in DTYPE_CHOICES:
        raise ValueError(f"--dtype '{requested}' is not one of {', '.join(DTYPE_CHOICES)}")
    if requested != "auto":
        return PolicyChoice(requested, "asked for with --dtype")
    known = cpu_flags()
    if known is None:
        return PolicyChoice(FLOAT32, "the processor's features are unknown here (no /proc/cpuinfo)")
    if not native_bfloat16(known):
        return PolicyChoice(FLOAT32, "the processor has no native bfloat16 (avx512_bf16 or amx_bf16)")
    measured_seconds = training_step_seconds(build, batch_size)
    float32, bfloat16 = measured_seconds[FLOAT32], measured_seconds[MIXED_BFLOAT16]
    measured = f"a training step took {float32 * 1000:.0f} ms in float32 and {bfloat16 * 1000:.0f} ms in mixed_bfloat16"
    if bfloat16 <= float32 * (1 - BFLOAT16_MARGIN):
        return PolicyChoice(MIXED_BFLOAT16, measured, float32, bfloat16)
    return PolicyChoice(FLOAT32, f"{measured}: not {BFLOAT16_MARGIN:.0%} faster in bfloat16", float32, bfloat16)
