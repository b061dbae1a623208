"""Try one variant of the fast CIFAR-10 network and print its test accuracy after every epoch.

    python -m benchmarks.explore_cifar10 --widths 16 32 64 128 --convs 1 2 2 1 --epochs 12 [--max-shift 0.125]

The tool behind the choice of the `fast` and `deeper` recipes (docs/benchmarks.md lists the runs):
the recipe's optimiser, schedule and label smoothing, with the architecture, augmentation and
budget as arguments. Test accuracy is measured after each epoch for this exploration only;
training seconds exclude that measurement.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import numpy as np

from cnn_course import models
from cnn_course.evaluation import predict_probabilities
from cnn_course.preparation import prepare_cifar10
from cnn_course.recipes import CIFAR10_FAST, training_statistics
from cnn_course.seeding import DEFAULT_SEED, set_global_seed
from cnn_course.training import steps_per_epoch


def main(argv: list[str] | None = None) -> int:
    """Train the variant the arguments describe; print one line per epoch, then the flip-TTA accuracy."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--widths", type=int, nargs="+", default=[16, 32, 64, 128], help="filters of each stage")
    parser.add_argument("--convs", type=int, nargs="+", default=[1, 2, 2, 1], help="convolutions in each stage")
    parser.add_argument("--epochs", type=int, default=CIFAR10_FAST.epochs)
    parser.add_argument(
        "--max-shift", type=float, default=0.125, help="largest random shift, as a fraction of the image size"
    )
    args = parser.parse_args(argv)
    if len(args.widths) != len(args.convs):
        parser.error("--widths and --convs need one number per stage each")

    set_global_seed(DEFAULT_SEED)
    prepared = prepare_cifar10(validation_fraction=CIFAR10_FAST.validation_fraction, seed=DEFAULT_SEED)
    recipe = replace(
        CIFAR10_FAST,
        epochs=args.epochs,
        build=lambda p: models.build_cifar10_fast_cnn(
            *training_statistics(p),
            models.build_cifar10_augmentation(args.max_shift),
            widths=tuple(args.widths),
            convs_per_stage=tuple(args.convs),
        ),
    )
    model = recipe.compile(
        recipe.build(prepared), args.epochs * steps_per_epoch(len(prepared.x_train), recipe.batch_size)
    )
    targets = recipe.targets(prepared.y_train, len(prepared.class_names))
    print(f"{vars(args)}: {model.count_params():,} parameters", flush=True)
    seconds = 0.0
    for epoch in range(args.epochs):
        start = time.perf_counter()
        model.fit(
            prepared.x_train, targets, batch_size=recipe.batch_size, epochs=epoch + 1, initial_epoch=epoch, verbose=0
        )
        seconds += time.perf_counter() - start
        accuracy = np.mean(np.argmax(predict_probabilities(model, prepared.x_test), axis=1) == prepared.y_test)
        print(f"epoch {epoch + 1:2d}  training {seconds:6.0f} s  test accuracy {accuracy:.4f}", flush=True)
    with_flips = np.mean(
        np.argmax(predict_probabilities(model, prepared.x_test, flip_tta=True), axis=1) == prepared.y_test
    )
    print(f"after {args.epochs} epochs, with flip test-time augmentation: {with_flips:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
