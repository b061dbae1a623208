"""Training throughput on this machine: the convolution ceiling, and variants of the fast CIFAR-10 network.

    python -m benchmarks.throughput [--rounds 3] [--steps 8] [--variants NAME ...]

Measures, in one process and interleaved round by round so that the machine's load affects every
variant alike: the forward throughput of one 3x3, 64->64 convolution at 32x32 (batch 256), which
is the ceiling the benchmark reports fractions of, and the training images/s of each variant
(batch size, XLA, augmentation, widths, thread settings are what the variants change). Prints
one line per variant with the median over rounds and the achieved GFLOP/s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

CONV_SHAPE = (256, 32, 32, 64)  # batch, height, width, channels of the reference convolution


def conv_flops(model) -> float:
    """Multiply-adds x 2 of one forward pass of one image through the Conv2D and Dense layers of `model`."""
    import keras

    from cnn_course.models import flat_layers

    flops = 0.0
    for layer in flat_layers(model):
        if isinstance(layer, keras.layers.Conv2D):
            _, height, width, filters = layer.output.shape
            kernel_h, kernel_w = layer.kernel_size
            flops += 2.0 * height * width * filters * kernel_h * kernel_w * layer.input.shape[-1]
        elif isinstance(layer, keras.layers.Dense):
            flops += 2.0 * layer.input.shape[-1] * layer.units
    return flops


def training_flops_per_image(model) -> float:
    """FLOPs of one training step per image: the forward pass and a backward pass twice its cost."""
    return 3.0 * conv_flops(model)


def measure_conv_gflops(repeats: int = 10) -> float:
    """Return the best forward GFLOP/s of a 3x3, 64->64, 'same' convolution at 32x32, batch 256, float32."""
    import tensorflow as tf

    batch, height, width, channels = CONV_SHAPE
    images = tf.random.normal(CONV_SHAPE)
    kernel = tf.random.normal((3, 3, channels, channels))
    conv = tf.function(lambda x: tf.nn.conv2d(x, kernel, 1, "SAME"))
    conv(images).numpy()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        conv(images).numpy()
        best = min(best, time.perf_counter() - start)
    flops = 2.0 * batch * height * width * channels * channels * 9
    return flops / best / 1e9


@dataclass
class Variant:
    """A network and training setting whose throughput is measured."""

    name: str
    build: Callable[[], object]  # returns a compiled keras.Model
    batch_size: int = 256


def _fast_net(
    widths=(16, 32, 64, 128),
    convs=(1, 2, 2, 2),
    augmentation=True,
    jit_compile: bool | str = "auto",
    batch_norm=True,
    fused=True,
):
    import keras

    from cnn_course import models
    from cnn_course.recipes import FAST_MAX_SHIFT

    mean, variance = np.full(3, 0.5, np.float32), np.full(3, 0.0625, np.float32)
    model = models.build_cifar10_fast_cnn(
        mean,
        variance,
        models.build_cifar10_augmentation(FAST_MAX_SHIFT) if augmentation else None,
        widths=widths,
        convs_per_stage=convs,
        fused_batch_norm=fused,
    )
    if not batch_norm:
        model = keras.Sequential(
            [layer for layer in model.layers if not isinstance(layer, keras.layers.BatchNormalization)]
        )
    model.compile(
        optimizer=keras.optimizers.AdamW(1e-3), loss="sparse_categorical_crossentropy", jit_compile=jit_compile
    )
    return model


def _mixed_bfloat16_net():
    """The fast network under Keras's mixed_bfloat16 policy (bfloat16 compute, float32 weights)."""
    import keras

    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        return _fast_net()
    finally:
        keras.config.set_dtype_policy(previous)


def _patchify_net(whiten: bool):
    import keras

    from benchmarks.explore_budget import _patchify_net as build
    from cnn_course.preparation import PreparedData

    images = np.random.default_rng(0).random((1000, 32, 32, 3), dtype=np.float32)
    labels = np.arange(1000) % 10
    prepared = PreparedData(images, labels, images[:10], labels[:10], images[:10], labels[:10], tuple("0123456789"))
    model = build(prepared, whiten=whiten)
    model.compile(optimizer=keras.optimizers.AdamW(1e-3), loss="sparse_categorical_crossentropy")
    return model


VARIANTS = {
    "fast": Variant("fast", _fast_net),
    "fast-batch128": Variant("fast-batch128", _fast_net, 128),
    "fast-batch512": Variant("fast-batch512", _fast_net, 512),
    # Keras refuses XLA for a model with augmentation layers inside, so XLA is measured without them.
    "fast-no-augmentation-xla": Variant(
        "fast-no-augmentation-xla", lambda: _fast_net(augmentation=False, jit_compile=True)
    ),
    "fast-no-augmentation": Variant("fast-no-augmentation", lambda: _fast_net(augmentation=False)),
    "fast-no-batchnorm": Variant("fast-no-batchnorm", lambda: _fast_net(batch_norm=False)),
    "fast-keras-batchnorm": Variant("fast-keras-batchnorm", lambda: _fast_net(fused=False)),
    # bfloat16 arithmetic is fast only on CPUs with AVX512_BF16 or AMX (TensorFlow's start-up message lists them).
    "fast-mixed-bfloat16": Variant("fast-mixed-bfloat16", _mixed_bfloat16_net),
    "fast-convs-1221": Variant("fast-convs-1221", lambda: _fast_net(convs=(1, 2, 2, 1))),
    "fast-convs-1223": Variant("fast-convs-1223", lambda: _fast_net(convs=(1, 2, 2, 3))),
    "fast-convs-1232": Variant("fast-convs-1232", lambda: _fast_net(convs=(1, 2, 3, 2))),
    "fast-widths-192": Variant("fast-widths-192", lambda: _fast_net(widths=(16, 32, 64, 192))),
    "fast-widths-24": Variant("fast-widths-24", lambda: _fast_net(widths=(24, 48, 96, 192))),
    "fast-patchify": Variant("fast-patchify", lambda: _patchify_net(whiten=False)),
    "fast-whiten": Variant("fast-whiten", lambda: _patchify_net(whiten=True)),
    "lesson5": Variant("lesson5", lambda: _fast_net(widths=(32, 64, 128, 256), convs=(1, 1, 1, 1), fused=False)),
    "deeper": Variant("deeper", lambda: _fast_net(widths=(32, 64, 128, 256))),
}


def measure(variant: Variant, model, steps: int) -> float:
    """Return the training images/s of `model` over `steps` steps of random CIFAR-sized batches."""
    rng = np.random.default_rng(0)
    x = rng.random((variant.batch_size, 32, 32, 3), dtype=np.float32)
    y = rng.integers(0, 10, variant.batch_size)
    model.train_on_batch(x, y)
    start = time.perf_counter()
    for _ in range(steps):
        model.train_on_batch(x, y)
    return steps * variant.batch_size / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    """Measure the convolution ceiling and each chosen variant's training throughput; print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--variants",
        nargs="+",
        choices=sorted(VARIANTS),
        default=["fast", "fast-batch512", "fast-no-augmentation", "fast-no-augmentation-xla"],
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument(
        "--threads",
        type=int,
        nargs=2,
        metavar=("INTRA", "INTER"),
        help="TensorFlow's intra- and inter-op thread counts",
    )
    args = parser.parse_args(argv)

    import tensorflow as tf

    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads[0])
        tf.config.threading.set_inter_op_parallelism_threads(args.threads[1])
    print(f"load average {os.getloadavg()[0]:.2f}; threads {args.threads or 'default'}", flush=True)
    chosen = [VARIANTS[name] for name in args.variants]
    built = {variant.name: variant.build() for variant in chosen}
    samples: dict[str, list[float]] = {variant.name: [] for variant in chosen}
    ceiling = []
    for _ in range(args.rounds):
        ceiling.append(measure_conv_gflops())
        for variant in chosen:
            samples[variant.name].append(measure(variant, built[variant.name], args.steps))
    conv = statistics.median(ceiling)
    print(f"3x3 conv 64->64 at 32x32, batch 256: {conv:.1f} GFLOP/s (median of {args.rounds})")
    for variant in chosen:
        rate = statistics.median(samples[variant.name])
        gflops = rate * training_flops_per_image(built[variant.name]) / 1e9
        print(
            f"{variant.name:>22}: {rate:7.0f} images/s  {gflops:5.1f} GFLOP/s "
            f"({gflops / conv:.0%} of the convolution)  rounds {[round(s) for s in samples[variant.name]]}",
            flush=True,
        )
    print(f"load average {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
