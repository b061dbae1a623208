"""Where a CIFAR-10 recipe's training time goes between the model's own step and `fit`: a profile by arms.

    python -m benchmarks.fit_overhead [--recipe fast] [--steps 40] [--rounds 3] [--arms NAME ...]

Each arm trains the recipe's network (compiled as the recipe compiles it) for `--steps` steps on random
CIFAR-sized images, in one process, interleaved round by round so that the machine's load falls on every arm alike:

- `train_on_batch`: one fixed batch, stepped from Python (the model's compute, nothing else);
- `fit`: `model.fit` on NumPy arrays, as `training.fit_classifier` calls it;
- `fit+batch_callback`: the same with a callback whose `on_train_batch_end` does nothing (Keras then hands it each
  step's logs, so it waits for each step to finish before it starts the next);
- `fit+budget`: the same with the recipe's `TimeBudget` callback (a clock read and a learning-rate write per step);
- `fit+budget,steps_per_execution=N`: Keras runs N steps per call into TensorFlow;
- `fit,tf.data`: `fit` on a batched, prefetched `tf.data.Dataset` instead of arrays.

Prints, per arm, the median images/s over the rounds and the share of the cores the process kept busy, with the
processor (model name and instruction sets) and the load average: a profile is only compared within one run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

ARMS = (
    "train_on_batch",
    "fit",
    "fit+batch_callback",
    "fit+budget",
    "fit+budget,steps_per_execution=4",
    "fit,tf.data",
)


def _batch_callback():
    import keras

    class EveryBatch(keras.callbacks.Callback):
        def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
            pass

    return EveryBatch()


def _compiled(recipe, prepared, steps_per_execution: int = 1):
    model = recipe.compile(recipe.build(prepared), None)
    if steps_per_execution > 1:  # compile again, with the recipe's optimizer and loss
        model.compile(
            optimizer=model.optimizer, loss=model.loss, metrics=["accuracy"], steps_per_execution=steps_per_execution
        )
    return model


def measure_arm(arm: str, recipe, prepared, steps: int) -> tuple[float, float]:
    """Train `steps` steps in `arm`'s way; return (images/s, share of the cores busy). The first step (tracing)
    and, for `fit`, a first call of one epoch are not timed."""
    import tensorflow as tf

    batch = recipe.batch_size
    x = prepared.x_train[: steps * batch]
    y = recipe.targets(prepared.y_train[: steps * batch], len(prepared.class_names))
    spe = 4 if "steps_per_execution" in arm else 1
    model = _compiled(recipe, prepared, spe)
    callbacks = []
    if "budget" in arm:
        callbacks.append(recipe.time_budget(3600.0, verbose=0))
    if "batch_callback" in arm:
        callbacks.append(_batch_callback())

    def run() -> None:
        if arm == "train_on_batch":
            for _ in range(steps):
                model.train_on_batch(x[:batch], y[:batch])
        elif arm == "fit,tf.data":
            dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(batch).prefetch(tf.data.AUTOTUNE)
            model.fit(dataset, epochs=1, verbose=0)
        else:
            model.fit(x, y, batch_size=batch, epochs=1, verbose=0, callbacks=callbacks)

    if arm == "train_on_batch":
        model.train_on_batch(x[:batch], y[:batch])
    else:
        model.fit(x[: 2 * batch * spe], y[: 2 * batch * spe], batch_size=batch, epochs=1, verbose=0)
    cpu, wall = time.process_time(), time.perf_counter()
    run()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return steps * batch / wall, cpu / (wall * (os.cpu_count() or 1))


def main(argv: list[str] | None = None) -> int:
    from benchmarks.budget_benchmark import processor_description
    from cnn_course.preparation import PreparedData
    from cnn_course.recipes import RECIPES

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipe", default="fast", choices=sorted(RECIPES["cifar10"]))
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--arms", nargs="+", choices=ARMS, default=list(ARMS))
    args = parser.parse_args(argv)

    recipe = RECIPES["cifar10"][args.recipe]
    count = args.steps * recipe.batch_size
    rng = np.random.default_rng(0)
    images = rng.random((count, 32, 32, 3), dtype=np.float32)
    labels = np.arange(count) % 10
    prepared = PreparedData(images, labels, images[:500], labels[:500], images[:500], labels[:500], tuple("0123456789"))
    load = os.getloadavg()[0]
    results: dict[str, list[tuple[float, float]]] = {arm: [] for arm in args.arms}
    for _ in range(args.rounds):
        for arm in args.arms:
            results[arm].append(measure_arm(arm, recipe, prepared, args.steps))
    print(
        f"Processor: {processor_description()}; load average {load:.1f} at the start, "
        f"{os.getloadavg()[0]:.1f} at the end"
    )
    print(
        f"recipe {recipe.name}, batch {recipe.batch_size}, {args.steps} steps per arm, median of {args.rounds} rounds"
    )
    print("| arm | images/s | CPU busy |")
    print("|---|---|---|")
    for arm, measured in results.items():
        speed = statistics.median(speed for speed, _ in measured)
        busy = statistics.median(busy for _, busy in measured)
        print(f"| {arm} | {speed:,.0f} | {busy:.0%} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
