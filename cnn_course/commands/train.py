"""`cnn-course train`: train a reference recipe, test it, write the model (with class names) and reports."""

from __future__ import annotations

import json
import platform
import sys
from pathlib import Path

import keras
import matplotlib

matplotlib.use("Agg")  # the job writes PNG files and never opens a window

from cnn_course.evaluation import Evaluation, evaluate_classifier  # noqa: E402
from cnn_course.plots import plot_confusion_matrix, plot_history  # noqa: E402
from cnn_course.precision import PolicyChoice, build_with_policy, dtype_policy  # noqa: E402
from cnn_course.preparation import PREPARE  # noqa: E402
from cnn_course.recipes import Recipe  # noqa: E402
from cnn_course.saving import save_model_with_classes  # noqa: E402
from cnn_course.seeding import DEFAULT_SEED, set_global_seed  # noqa: E402
from cnn_course.training import KeepBestWeights, TrainingRun, fit_classifier, steps_per_epoch  # noqa: E402

BUDGET_EPOCH_LIMIT = 1000  # with a time budget and no --epochs: an upper limit the budget reaches first

DATASET_TITLES = {"mnist": "MNIST", "cifar10": "CIFAR-10"}
OUTPUT_FILES = (
    "model.keras",
    "model.classes.json",
    "training_history.png",
    "confusion_matrix.png",
    "model_metrics.txt",
    "metrics.json",
)


def write_outputs(
    out: Path,
    model: keras.Model,
    recipe: Recipe,
    run: TrainingRun,
    result: Evaluation,
    class_names: tuple[str, ...],
    seed: int,
    budget_seconds: float | None = None,
    best_epoch: int | None = None,
    precision: PolicyChoice | None = None,
) -> dict:
    """Write the model with its class names, the two figures, the text report and metrics.json into `out`.

    Return the metrics.
    """
    out.mkdir(parents=True, exist_ok=True)
    save_model_with_classes(model, out / "model.keras", class_names)
    plot_history(run.history).savefig(out / "training_history.png", dpi=120)
    plot_confusion_matrix(result.confusion, class_names, title=f"{DATASET_TITLES[recipe.dataset]} test set").savefig(
        out / "confusion_matrix.png", dpi=120
    )
    metrics = {
        "dataset": recipe.dataset,
        "recipe": recipe.name,
        "epochs": len(run.epoch_seconds),
        "batch_size": recipe.batch_size,
        "seed": seed,
        "budget_seconds": budget_seconds,
        "best_epoch": best_epoch,
        "train_seconds": round(run.train_seconds, 2),
        "epoch_seconds": [round(s, 2) for s in run.epoch_seconds],
        "flip_tta": recipe.flip_tta,
        "shift_tta": recipe.shift_tta,
        "test_accuracy": round(result.accuracy, 5),
        "test_loss": round(result.loss, 5),
        "final_val_accuracy": round(run.history["val_accuracy"][-1], 5),
        "parameters": int(model.count_params()),
        **(precision.as_metrics() if precision else {}),
        "keras": keras.__version__,
        "backend": keras.backend.backend(),
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}, Python {platform.python_version()}",
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    (out / "model_metrics.txt").write_text(
        f"{recipe.dataset} / recipe '{recipe.name}': {recipe.description}\n"
        f"test accuracy: {result.accuracy:.4f}\n"
        f"test loss:     {result.loss:.4f}\n"
        f"training time: {run.train_seconds:.1f} s over {len(run.epoch_seconds)} epochs"
        + (f" (time budget {budget_seconds:g} s)" if budget_seconds else "")
        + (
            f"; weights of epoch {best_epoch} kept (best validation accuracy)"
            if best_epoch
            else "; the final weights kept"
        )
        + "\n\n"
        f"classification report (official test set, {len(result.probabilities):,} images):\n{result.report_text}"
    )
    return metrics


def train_recipe(
    recipe: Recipe,
    out: Path,
    data_dir: Path | None = None,
    epochs: int | None = None,
    seed: int = DEFAULT_SEED,
    budget_seconds: float | None = None,
    dtype: str = "auto",
) -> dict:
    """Train `recipe` from scratch, evaluate on the official test split, write the outputs; return metrics.

    budget_seconds: train for this many seconds (training and validation), the learning-rate
    schedule following the clock, then keep the weights of the best validation epoch; `epochs`
    is then an upper limit. None trains for `epochs` (default: the recipe's).
    dtype: "float32", "mixed_bfloat16", or "auto" to choose by measuring (`precision.choose_dtype_policy`; float32
    for a recipe that does not measure, `Recipe.measures_precision`); the
    choice is printed and recorded in metrics.json, the model is saved in float32 either way, and Keras's global
    dtype policy is as before on return. Raises ValueError for another `dtype`.
    """
    prepared = PREPARE[recipe.dataset](data_dir, recipe.validation_fraction, seed)
    precision = recipe.choose_dtype_policy(prepared, dtype)
    print(f"Training in {precision.policy}: {precision.reason}.")
    # Seeded after the timed models, so that the seed gives the same model whether they were built or not.
    set_global_seed(seed, deterministic=True)
    model = build_with_policy(lambda: recipe.build(prepared), precision.policy)
    keep_best = KeepBestWeights()
    if budget_seconds is None:
        epochs = epochs or recipe.epochs
        model = recipe.compile(model, epochs * steps_per_epoch(len(prepared.x_train), recipe.batch_size))
        length = f"for {epochs} epochs"
        budget = None
    else:
        epochs = epochs or BUDGET_EPOCH_LIMIT
        model = recipe.compile(model, None)
        budget = recipe.time_budget(budget_seconds)
        length = f"for a time budget of {budget_seconds:g} s"
    callbacks: list[keras.callbacks.Callback] = [budget] if budget else []
    callbacks += [keep_best] if recipe.keeps_best_epoch else []
    callbacks += recipe.training_callbacks(model, prepared.x_train, budget)
    print(
        f"Training {recipe.dataset} recipe '{recipe.name}' ({recipe.summary or recipe.description}) {length} "
        f"on {len(prepared.x_train):,} images, validating on {len(prepared.x_val):,}."
    )
    # One line per epoch when the output is a log file rather than a terminal.
    verbose = 1 if sys.stdout.isatty() else 2
    classes = len(prepared.class_names)
    y_train, y_val = recipe.targets(prepared.y_train, classes), recipe.targets(prepared.y_val, classes)
    with dtype_policy(precision.policy):
        run = fit_classifier(
            model, prepared.x_train, y_train, prepared.x_val, y_val, epochs, recipe.batch_size, verbose, callbacks
        )
    result = evaluate_classifier(
        model, prepared.x_test, prepared.y_test, prepared.class_names, recipe.flip_tta, recipe.shift_tta
    )
    best_epoch = keep_best.best_epoch + 1 if recipe.keeps_best_epoch and keep_best.best_epoch is not None else None
    return write_outputs(
        out, model, recipe, run, result, prepared.class_names, seed, budget_seconds, best_epoch, precision
    )
