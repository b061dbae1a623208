"""Test-time augmentation: which set of shifted and mirrored views a trained CIFAR-10 model predicts best with.

    python -m benchmarks.tta_views --model runs/cifar10/model.keras [--data-dir DIR]

Loads a model saved by `cnn-course train cifar10`, predicts every view of every image once (each
shift, each mirrored), and prints the accuracy of each view set on the validation split (the
split to choose on) and on the test set. The recipes' set is "diagonal 2 px" (`shift_tta=2`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from cnn_course.evaluation import shifted_view

VIEW_SETS: dict[str, list[tuple[int, int]]] = {
    "no shift": [(0, 0)],
    "diagonal 2 px": [(0, 0), (2, 2), (-2, -2)],
    "4 diagonals 2 px": [(0, 0), (2, 2), (-2, -2), (2, -2), (-2, 2)],
    "4 axes 2 px": [(0, 0), (2, 0), (-2, 0), (0, 2), (0, -2)],
    "diagonal 1 px": [(0, 0), (1, 1), (-1, -1)],
    "4 diagonals 1 px": [(0, 0), (1, 1), (-1, -1), (1, -1), (-1, 1)],
    "8 neighbours 1 px": [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)],
    "8 neighbours 2 px": [(dy, dx) for dy in (-2, 0, 2) for dx in (-2, 0, 2)],
}


def view_set_accuracies(
    model, images: np.ndarray, labels: np.ndarray, view_sets: dict[str, list[tuple[int, int]]]
) -> dict[str, float]:
    """Return the accuracy (0 to 1) of averaging the model's probabilities over each set's shifts, each also mirrored.

    images: (N, H, W, C) float32; labels: (N,) integers; view_sets: name -> list of (dy, dx) pixel shifts.
    Each distinct view is predicted once.
    """
    predictions: dict[tuple[int, int, bool], np.ndarray] = {}
    accuracies = {}
    for name, shifts in view_sets.items():
        total = 0.0
        for dy, dx in shifts:
            for mirrored in (False, True):
                if (dy, dx, mirrored) not in predictions:
                    view = shifted_view(images, dy, dx)
                    predictions[dy, dx, mirrored] = model.predict(
                        view[:, :, ::-1] if mirrored else view, batch_size=1000, verbose=0
                    )
                total = total + predictions[dy, dx, mirrored]
        accuracies[name] = float(np.mean(np.argmax(total, axis=1) == labels))
    return accuracies


def main(argv: list[str] | None = None) -> int:
    """Print each view set's validation and test accuracy for the saved model."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="a model.keras written by `cnn-course train cifar10`")
    parser.add_argument(
        "--data-dir", help="folder of official dataset files (default: $CNN_COURSE_DATA or keras.datasets)"
    )
    args = parser.parse_args(argv)

    import keras

    from cnn_course.preparation import PREPARE
    from cnn_course.recipes import CIFAR10_FAST
    from cnn_course.seeding import DEFAULT_SEED

    prepared = PREPARE["cifar10"](
        Path(args.data_dir) if args.data_dir else None, CIFAR10_FAST.validation_fraction, DEFAULT_SEED
    )
    model = keras.saving.load_model(args.model)
    validation = view_set_accuracies(model, prepared.x_val, prepared.y_val, VIEW_SETS)
    test = view_set_accuracies(model, prepared.x_test, prepared.y_test, VIEW_SETS)
    for name, shifts in VIEW_SETS.items():
        print(
            f"{name:>18} ({2 * len(shifts):2d} views): validation {validation[name]:.2%}  test {test[name]:.2%}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
