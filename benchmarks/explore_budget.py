"""Side-by-side runs at one time budget: variants of a recipe trained at the same time, under the same load.

    python -m benchmarks.explore_budget --budget 240 --arms fast fast-ema [--sequential]
    python -m benchmarks.explore_budget --epochs 4 --arms lesson5
    python -m benchmarks.explore_budget --budget 1800 --sequential --arms airbench airbench-no-whitening \
        airbench-no-label-smoothing airbench-no-alternating-flips airbench-no-translation airbench-no-large-batch \
        airbench-no-ema

The `airbench-no-<technique>` arms are the airbench recipe with one technique turned off
(`recipes.airbench_recipe`); test-time augmentation needs no arm of its own, every arm reports
its accuracy with and without it.

With --epochs instead of --budget, the same warm-up + cosine schedule spans that many epochs
(what a budget gives on a machine that runs that many in it, whatever the load).
Each arm trains in its own process to the budget (`TimeBudget`); by default all arms run at once,
so a machine shared with other work slows them alike and their accuracies compare. Reports, per
arm, the test accuracy of the final weights without test-time augmentation, with flips, and with
flips and 2-pixel shifts, the steps and epochs it ran, its images/s, the training PFLOP it spent
(3x the forward FLOPs of its convolution and dense layers per image, next to airbench's 0.18 PFLOP
for 93 %) and the load average; the processor's model and instruction sets head the output. The
test set is used for this report only. The figures in docs/benchmarks.md come from this script.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
from dataclasses import replace

import keras
import numpy as np
from keras import layers

from cnn_course import models
from cnn_course.evaluation import predict_probabilities
from cnn_course.preparation import PreparedData
from cnn_course.recipes import (
    AIRBENCH_DEFAULTS,
    CIFAR10_FAST,
    FAST_MAX_SHIFT,
    RECIPES,
    Recipe,
    airbench_recipe,
    fast_network,
    training_statistics,
)
from cnn_course.time_budget import TimeBudget
from cnn_course.training import fit_classifier, steps_per_epoch


def _patchify_net(prepared: PreparedData, whiten: bool, max_shift: float = FAST_MAX_SHIFT) -> keras.Model:
    """The fast network with a 2x2, stride-2 stem of 24 filters (learnt, or whitening) for its 32x32 stage."""
    mean, variance = training_statistics(prepared)
    stem = layers.Conv2D(24, 2, strides=2, use_bias=not whiten, trainable=not whiten)
    body = []
    for stage, (filters, convs) in enumerate(zip((32, 64, 128), (2, 2, 1), strict=True)):
        if stage:
            body.append(layers.MaxPooling2D(2))
        for _ in range(convs):
            body += [
                layers.Conv2D(filters, 3, padding="same", use_bias=False),
                models.FusedBatchNormalization(),
                layers.ReLU(),
            ]
    model = keras.Sequential(
        [
            keras.Input((32, 32, 3)),
            layers.Normalization(mean=mean, variance=variance),
            models.build_cifar10_augmentation(max_shift),
            stem,
            *([] if whiten else [models.FusedBatchNormalization()]),
            layers.ReLU(),
            *body,
            layers.GlobalAveragePooling2D(),
            layers.Dense(10, activation="softmax"),
        ]
    )
    if whiten:
        stem.set_weights([models.patch_whitening_kernel(prepared.x_train[:5000], mean, variance)])
    return model


AIRBENCH_93_PFLOP = 0.18  # airbench's training work for 93 % on CIFAR-10 (its network at 94 %: about 0.29)
PROGRESSIVE_UNTIL = 0.4  # of the budget's progress: the low-resolution phase of the progressive-resizing arm


class ProgressiveResize(layers.Layer):
    """While training and `low_resolution` is 1, resizes images (bilinear) to `size` x `size`; else passes them on.

    The fast network ends in global average pooling, so it accepts either size.
    """

    def __init__(self, size: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.size = size
        self.low_resolution = self.add_weight(shape=(), initializer="ones", trainable=False, name="low_resolution")

    def call(self, images, training=None):
        import tensorflow as tf

        if not training:
            return images
        return tf.cond(
            self.low_resolution > 0.5,
            lambda: tf.image.resize(images, (self.size, self.size)),
            lambda: tf.identity(images),
        )

    def compute_output_shape(self, input_shape):
        return input_shape


class LowResolutionUntil(keras.callbacks.Callback):
    """Keeps `resize` at low resolution until the `budget`'s progress (0 to 1) reaches `until`."""

    def __init__(self, resize: ProgressiveResize, budget: TimeBudget, until: float) -> None:
        super().__init__()
        self.resize, self.budget, self.until = resize, budget, until

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        self.resize.low_resolution.assign(1.0 if self.budget.progress < self.until else 0.0)


def _progressive_net(prepared: PreparedData, size: int) -> keras.Model:
    """The fast network with a `ProgressiveResize(size)` after its standardisation and augmentation."""
    net = fast_network(prepared)
    return keras.Sequential([keras.Input((32, 32, 3)), *net.layers[:2], ProgressiveResize(size), *net.layers[2:]])


def _residual_net(prepared: PreparedData) -> keras.Model:
    """The fast network with an identity skip around each convolution after a stage's first (same parameters)."""
    mean, variance = training_statistics(prepared)
    inputs = keras.Input((32, 32, 3))
    x = models.build_cifar10_augmentation(FAST_MAX_SHIFT)(layers.Normalization(mean=mean, variance=variance)(inputs))
    for stage, filters in enumerate((16, 32, 64, 128)):
        if stage:
            x = layers.MaxPooling2D(2)(x)
        for conv in range(1 if stage == 0 else 2):
            y = x
            for layer in models._conv_bn_relu(filters, fused_batch_norm=True):
                y = layer(y)
            x = layers.Add()([x, y]) if conv else y
    outputs = layers.Dense(10, activation="softmax")(layers.GlobalAveragePooling2D()(x))
    return keras.Model(inputs, outputs, name="cifar10_fast_residual")


ARMS: dict[str, Recipe] = {
    "lesson5": Recipe(
        name="lesson5",
        dataset="cifar10",
        description="lesson 5's final training: 32-64-128-256 network, 2-pixel shifts, Adam 4e-3, batch 256",
        build=lambda prepared: models.build_cifar10_fast_cnn(
            *training_statistics(prepared), models.build_cifar10_augmentation(0.0625)
        ),
        epochs=8,
        batch_size=256,
        learning_rate=4e-3,
    ),
    "fast": CIFAR10_FAST,
    "fast-ema": replace(CIFAR10_FAST, name="fast-ema", ema_momentum=0.99),
    # The airbench recipe, and with each of its techniques turned off in turn: what each buys on this machine.
    **{
        recipe.name: recipe
        for recipe in [
            airbench_recipe(),
            *(airbench_recipe(**{t: not on}) for t, on in AIRBENCH_DEFAULTS.items()),
            airbench_recipe(identity_init=False, nesterov_sgd=False),  # the recipe before airbench's optimiser
            airbench_recipe(lookahead=True, linear_decay=True, stem_bias_freeze=True),  # all of airbench94's
        ]
    },
    "fast-batch512": replace(
        CIFAR10_FAST, name="fast-batch512", batch_size=512, learning_rate=CIFAR10_FAST.learning_rate * 1.5
    ),
    "fast-batch128": replace(
        CIFAR10_FAST, name="fast-batch128", batch_size=128, learning_rate=CIFAR10_FAST.learning_rate * 0.75
    ),
    "fast-no-smoothing": replace(CIFAR10_FAST, name="fast-no-smoothing", label_smoothing=0.0),
    "fast-shift4": replace(
        CIFAR10_FAST, name="fast-shift4", build=lambda prepared: fast_network(prepared, max_shift=0.125)
    ),
    # The network before a second 4x4 convolution (146k parameters), and other shapes of it.
    "fast-convs-1221": replace(
        CIFAR10_FAST,
        name="fast-convs-1221",
        build=lambda prepared: fast_network(prepared, convs_per_stage=(1, 2, 2, 1)),
    ),
    "fast-convs-1221-widths-256": replace(
        CIFAR10_FAST,
        name="fast-convs-1221-widths-256",
        build=lambda prepared: fast_network(prepared, widths=(16, 32, 64, 256), convs_per_stage=(1, 2, 2, 1)),
    ),
    "fast-convs-1232": replace(
        CIFAR10_FAST,
        name="fast-convs-1232",
        build=lambda prepared: fast_network(prepared, convs_per_stage=(1, 2, 3, 2)),
    ),
    "fast-convs-1223": replace(
        CIFAR10_FAST,
        name="fast-convs-1223",
        build=lambda prepared: fast_network(prepared, convs_per_stage=(1, 2, 2, 3)),
    ),
    "fast-widths-192": replace(
        CIFAR10_FAST, name="fast-widths-192", build=lambda prepared: fast_network(prepared, widths=(16, 32, 64, 192))
    ),
    # The recipe before its learning rate and weight decay were raised (6e-3 and 5e-2), and each change alone.
    "fast-lr4e-3-wd5e-4": replace(CIFAR10_FAST, name="fast-lr4e-3-wd5e-4", learning_rate=4e-3, weight_decay=5e-4),
    "fast-lr4e-3": replace(CIFAR10_FAST, name="fast-lr4e-3", learning_rate=4e-3),
    "fast-lr6e-3": replace(CIFAR10_FAST, name="fast-lr6e-3", learning_rate=6e-3),
    "fast-lr8e-3": replace(CIFAR10_FAST, name="fast-lr8e-3", learning_rate=8e-3),
    "fast-lr1.5e-2": replace(CIFAR10_FAST, name="fast-lr1.5e-2", learning_rate=1.5e-2),
    "fast-lr2e-2": replace(CIFAR10_FAST, name="fast-lr2e-2", learning_rate=2e-2),
    "fast-lr6e-3-wd1e-1": replace(CIFAR10_FAST, name="fast-lr6e-3-wd1e-1", learning_rate=6e-3, weight_decay=1e-1),
    "fast-lr6e-3-wd5e-4": replace(CIFAR10_FAST, name="fast-lr6e-3-wd5e-4", learning_rate=6e-3, weight_decay=5e-4),
    "fast-smoothing-0.2": replace(CIFAR10_FAST, name="fast-smoothing-0.2", label_smoothing=0.2),
    "fast-validation-2pc": replace(CIFAR10_FAST, name="fast-validation-2pc", validation_fraction=0.02),
    "fast-progressive-24": replace(
        CIFAR10_FAST, name="fast-progressive-24", build=lambda prepared: _progressive_net(prepared, 24)
    ),
    # A 2x2, stride-2 stem instead of the 32x32 stage, learnt or fixed to whiten patches (as in airbench).
    "fast-residual": replace(CIFAR10_FAST, name="fast-residual", build=_residual_net),
    "fast-patchify": replace(
        CIFAR10_FAST, name="fast-patchify", build=lambda prepared: _patchify_net(prepared, whiten=False)
    ),
    "fast-whiten": replace(
        CIFAR10_FAST, name="fast-whiten", build=lambda prepared: _patchify_net(prepared, whiten=True)
    ),
    "mnist-cnn": RECIPES["mnist"]["cnn"],
    "mnist-cnn-batch256": replace(
        RECIPES["mnist"]["cnn"], name="mnist-cnn-batch256", batch_size=256, learning_rate=4e-3
    ),
    "mnist-cnn-lr5e-3": replace(RECIPES["mnist"]["cnn"], name="mnist-cnn-lr5e-3", learning_rate=5e-3),
}


def run_arm(
    name: str, budget_seconds: float | None, epochs: int | None, data_dir: str | None, dtype: str = "float32"
) -> dict:
    """Train arm `name` to the budget (None: for `epochs`) in `dtype` ("float32" or "mixed_bfloat16"); return its
    measurements (child process)."""
    from cnn_course.precision import build_with_policy, dtype_policy
    from cnn_course.preparation import PREPARE
    from cnn_course.seeding import DEFAULT_SEED, set_global_seed

    recipe = ARMS[name]
    set_global_seed(DEFAULT_SEED)
    prepared = PREPARE[recipe.dataset](data_dir, recipe.validation_fraction, DEFAULT_SEED)
    model = recipe.compile(build_with_policy(lambda: recipe.build(prepared), dtype), None)
    budget = recipe.time_budget(budget_seconds, verbose=0)
    resizes = [
        LowResolutionUntil(layer, budget, PROGRESSIVE_UNTIL)
        for layer in model.layers
        if isinstance(layer, ProgressiveResize)
    ]
    classes = len(prepared.class_names)
    load = os.getloadavg()[0]
    with dtype_policy(dtype):
        fit_classifier(
            model,
            prepared.x_train,
            recipe.targets(prepared.y_train, classes),
            prepared.x_val,
            recipe.targets(prepared.y_val, classes),
            epochs or 1000,
            recipe.batch_size,
            verbose=0,
            callbacks=[*resizes, budget, *recipe.training_callbacks(model, prepared.x_train, budget)],
        )

    from benchmarks.throughput import training_flops_per_image

    def accuracy(flip_tta: bool = False, shift_tta: int = 0) -> float:
        probabilities = predict_probabilities(model, prepared.x_test, flip_tta=flip_tta, shift_tta=shift_tta)
        return float(np.mean(probabilities.argmax(1) == prepared.y_test))

    return {
        "arm": name,
        "dtype": dtype,
        "steps": budget.steps,
        "epochs": round(budget.steps / steps_per_epoch(len(prepared.x_train), recipe.batch_size), 2),
        "fit_seconds": round(budget.elapsed, 1),
        "images_per_second": round(budget.steps * recipe.batch_size / budget.training_seconds),
        "training_pflop": round(budget.steps * recipe.batch_size * training_flops_per_image(model) / 1e15, 4),
        "accuracy": accuracy(),
        "accuracy_flip": accuracy(flip_tta=True),
        "accuracy_flip_shift": accuracy(flip_tta=True, shift_tta=2) if recipe.dataset == "cifar10" else None,
        "load_average": [round(load, 1), round(os.getloadavg()[0], 1)],
    }


def _child(queue: multiprocessing.Queue, *args: object) -> None:
    queue.put(run_arm(*args))


def _print_result(r: dict) -> None:
    shift = f", flips+shifts {r['accuracy_flip_shift']:.2%}" if r["accuracy_flip_shift"] is not None else ""
    print(
        f"{r['arm']:>20} ({r['dtype']}): {r['accuracy']:.2%} (flips {r['accuracy_flip']:.2%}{shift}) "
        f"after {r['epochs']:.2f} epochs, "
        f"{r['fit_seconds']:.0f} s, {r['images_per_second']} images/s, {r['training_pflop']:.3f} PFLOP of training "
        f"(airbench: {AIRBENCH_93_PFLOP} for 93 %), load {r['load_average'][0]}-{r['load_average'][1]}",
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    """Run the arms (at once, or one after the other) and print one line per arm."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arms", nargs="+", choices=sorted(ARMS), default=["fast", "fast-ema"])
    limit = parser.add_mutually_exclusive_group(required=True)
    limit.add_argument("--budget", type=float, help="seconds of fit per arm")
    limit.add_argument("--epochs", type=int, help="epochs per arm instead of a time budget")
    parser.add_argument("--sequential", action="store_true", help="one arm after the other instead of all at once")
    parser.add_argument(
        "--dtype",
        choices=["float32", "mixed_bfloat16"],
        default="float32",
        help="the dtype policy every arm trains in (default: float32)",
    )
    parser.add_argument(
        "--data-dir", help="folder of official dataset files (default: $CNN_COURSE_DATA or keras.datasets)"
    )
    args = parser.parse_args(argv)

    from benchmarks.budget_benchmark import processor_description

    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    print(f"Processor: {processor_description()}", flush=True)
    print(
        f"{f'budget {args.budget:g} s' if args.budget else f'{args.epochs} epochs'}, arms {args.arms}, "
        f"{'one after the other' if args.sequential else 'side by side'}; load {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    processes = [
        context.Process(target=_child, args=(queue, name, args.budget, args.epochs, args.data_dir, args.dtype))
        for name in args.arms
    ]
    if args.sequential:
        for process in processes:
            process.start()
            _print_result(queue.get())
            process.join()
    else:
        for process in processes:
            process.start()
        results = [queue.get() for _ in processes]
        for process in processes:
            process.join()
        for r in sorted(results, key=lambda r: args.arms.index(r["arm"])):
            _print_result(r)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
