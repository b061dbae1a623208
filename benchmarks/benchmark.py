"""Time-to-accuracy benchmark: the course's recipes against the Keras and TensorFlow examples.

    python -m benchmarks.benchmark [--quick] [--datasets mnist cifar10] [--out DIR] [--time-limit S]

Trains every recipe of the chosen datasets in one run on this machine, each in its own process
(so peak memory is its own), and reports per recipe: test accuracy, training wall time,
images/second, the training time at which test accuracy first reached each threshold, and peak
memory, as DIR/benchmark.md and DIR/benchmark.json, with the ratio of our time-to-accuracy to
each baseline's. Test accuracy is measured after every epoch for this report only (its time is
not counted as training); no recipe uses the test set for any decision.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import platform
import resource
from pathlib import Path

THRESHOLDS = {"mnist": (0.99,), "cifar10": (0.75, 0.80, 0.85)}
QUICK_TRAIN_IMAGES, QUICK_TEST_IMAGES = 2000, 1000


def train_one(dataset: str, recipe_name: str, quick: bool, time_limit: float, data_dir: str | None) -> dict:
    """Train one recipe and return its measurements (runs in a child process)."""
    import numpy as np

    from cnn_course import data
    from cnn_course.evaluation import predict_probabilities
    from cnn_course.preparation import PREPARE
    from cnn_course.recipes import RECIPES
    from cnn_course.seeding import DEFAULT_SEED, set_global_seed
    from cnn_course.training import EpochTimer, steps_per_epoch

    recipe = RECIPES[dataset][recipe_name]
    set_global_seed(DEFAULT_SEED)
    prepared = PREPARE[dataset](Path(data_dir) if data_dir else None, recipe.validation_fraction, DEFAULT_SEED)
    x_train, y_train, x_test, y_test = prepared.x_train, prepared.y_train, prepared.x_test, prepared.y_test
    epochs = recipe.epochs
    if quick:
        x_train, y_train = data.stratified_subset(x_train, y_train, QUICK_TRAIN_IMAGES, seed=DEFAULT_SEED)
        x_test, y_test = x_test[:QUICK_TEST_IMAGES], y_test[:QUICK_TEST_IMAGES]
        epochs = 1
    classes = len(prepared.class_names)
    model = recipe.compile(recipe.build(prepared), epochs * steps_per_epoch(len(x_train), recipe.batch_size))

    class Measure(EpochTimer):
        """Per epoch: training seconds (the test evaluation below is not counted) and test accuracy."""

        def on_train_begin(self, logs=None):
            super().on_train_begin(logs)
            self.curve = []

        def on_epoch_end(self, epoch, logs=None):
            super().on_epoch_end(epoch, logs)
            train_seconds = sum(self.epoch_seconds)
            probabilities = predict_probabilities(
                self.model, x_test, flip_tta=recipe.flip_tta, shift_tta=recipe.shift_tta
            )
            self.curve.append((round(train_seconds, 2), float(np.mean(probabilities.argmax(1) == y_test))))
            if train_seconds >= time_limit:
                self.model.stop_training = True

    measure = Measure()
    model.fit(
        x_train,
        recipe.targets(y_train, classes),
        validation_data=(prepared.x_val, recipe.targets(prepared.y_val, classes)),
        epochs=epochs,
        batch_size=recipe.batch_size,
        callbacks=[measure],
        verbose=0,
    )
    epochs_run = len(measure.curve)
    train_seconds = sum(measure.epoch_seconds)
    return {
        "dataset": dataset,
        "recipe": recipe.name,
        "baseline": recipe.baseline,
        "description": recipe.description,
        "epochs_planned": epochs,
        "epochs_run": epochs_run,
        "stopped_at_time_limit": epochs_run < epochs,
        "test_accuracy": measure.curve[-1][1],
        "train_seconds": round(train_seconds, 2),
        "images_per_second": round(epochs_run * len(x_train) / train_seconds, 1),
        "time_to_accuracy": {
            f"{threshold:.2f}": next((seconds for seconds, accuracy in measure.curve if accuracy >= threshold), None)
            for threshold in THRESHOLDS[dataset]
        },
        "curve": measure.curve,
        "peak_memory_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def _child(queue: multiprocessing.Queue, *args: object) -> None:
    queue.put(train_one(*args))


def run_isolated(*args: object) -> dict:
    """Run train_one in a fresh process and return its result."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_child, args=(queue, *args))
    process.start()
    result = queue.get()
    process.join()
    return result


def ratios(results: list[dict]) -> list[dict]:
    """Return, per dataset and threshold, our best time-to-accuracy divided by each baseline's."""
    rows = []
    for dataset in {r["dataset"] for r in results}:
        ours = [r for r in results if r["dataset"] == dataset and not r["baseline"]]
        for threshold in THRESHOLDS[dataset]:
            key = f"{threshold:.2f}"
            reached = [
                (r["time_to_accuracy"][key], r["recipe"]) for r in ours if r["time_to_accuracy"][key] is not None
            ]
            if not reached:
                continue
            best_time, best = min(reached)
            for baseline in (r for r in results if r["dataset"] == dataset and r["baseline"]):
                theirs = baseline["time_to_accuracy"][key]
                rows.append(
                    {
                        "dataset": dataset,
                        "threshold": key,
                        "ours": best,
                        "baseline": baseline["recipe"],
                        "ratio": round(best_time / theirs, 3) if theirs else None,
                        "note": "" if theirs else f"{baseline['recipe']} never reached {threshold:.0%} in its run",
                    }
                )
    return rows


def markdown(results: list[dict], ratio_rows: list[dict], machine: str) -> str:
    """Return the benchmark as a Markdown report."""
    lines = [f"Machine: {machine}", ""]
    for dataset in dict.fromkeys(r["dataset"] for r in results):
        thresholds = THRESHOLDS[dataset]
        header = [
            "recipe",
            "epochs",
            "test accuracy",
            "training s",
            "images/s",
            *[f"time to {t:.0%} (s)" for t in thresholds],
            "peak memory (MB)",
        ]
        lines += [f"### {dataset}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for r in (r for r in results if r["dataset"] == dataset):
            name = f"{r['recipe']} (baseline)" if r["baseline"] else f"**{r['recipe']}**"
            epochs = f"{r['epochs_run']}/{r['epochs_planned']}" + (
                " (time limit)" if r["stopped_at_time_limit"] else ""
            )
            reach = [str(r["time_to_accuracy"][f"{t:.2f}"] or "not reached") for t in thresholds]
            lines.append(
                f"| {name} | {epochs} | {r['test_accuracy']:.2%} | {r['train_seconds']:.1f} | "
                f"{r['images_per_second']:.0f} | " + " | ".join(reach) + f" | {r['peak_memory_mb']:.0f} |"
            )
        lines.append("")
    if ratio_rows:
        lines += [
            "### Time-to-accuracy ratios (ours / baseline; below 1 means faster)",
            "",
            "| dataset | threshold | ours | baseline | ratio |",
            "|---|---|---|---|---|",
        ]
        for row in ratio_rows:
            lines.append(
                f"| {row['dataset']} | {float(row['threshold']):.0%} | {row['ours']} | {row['baseline']} | "
                f"{row['ratio'] if row['ratio'] is not None else row['note']} |"
            )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and write benchmark.md and benchmark.json."""
    from cnn_course.recipes import RECIPES

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", choices=sorted(RECIPES), default=sorted(RECIPES, reverse=True))
    parser.add_argument("--recipes", nargs="+", help="only these recipe names")
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"one epoch on {QUICK_TRAIN_IMAGES} images each: checks the machinery in minutes",
    )
    parser.add_argument(
        "--time-limit",
        type=float,
        default=1800.0,
        help="stop a recipe after this many seconds of training (default 1800)",
    )
    parser.add_argument(
        "--out", type=Path, default=Path("benchmarks/results"), help="folder for benchmark.md and benchmark.json"
    )
    parser.add_argument(
        "--data-dir", help="folder of official dataset files (default: $CNN_COURSE_DATA or keras.datasets)"
    )
    args = parser.parse_args(argv)

    results = []
    for dataset in args.datasets:
        for name in RECIPES[dataset]:
            if args.recipes and name not in args.recipes:
                continue
            print(f"[benchmark] {dataset}/{name} ...", flush=True)
            result = run_isolated(dataset, name, args.quick, args.time_limit, args.data_dir)
            print(
                f"[benchmark] {dataset}/{name}: {result['test_accuracy']:.2%} after {result['train_seconds']:.1f} s",
                flush=True,
            )
            results.append(result)
    machine = f"{platform.machine()}, {multiprocessing.cpu_count()} CPU cores, Python {platform.python_version()}" + (
        " (--quick)" if args.quick else ""
    )
    ratio_rows = ratios(results)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "benchmark.json").write_text(
        json.dumps({"machine": machine, "quick": args.quick, "results": results, "ratios": ratio_rows}, indent=2) + "\n"
    )
    report = markdown(results, ratio_rows, machine)
    (args.out / "benchmark.md").write_text(report)
    print(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
