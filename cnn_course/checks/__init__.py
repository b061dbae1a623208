"""Checks with hints, shared by the lessons' inline self-checks and the pytest graders.

In a lesson, `self_check(scale_images)` runs the same check the grader runs and prints the verdict.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from cnn_course.checks.calls import call_exercise
from cnn_course.checks.feedback import CheckFailed, ExerciseError, ExerciseTimeout, NotAttempted
from cnn_course.console import printable
from cnn_course.runtime.ipython_cells import cell_in_ipython, explain_refusals, prepare_cell

# Where each check lives. Modules are imported when a check is first used, so that grading a lesson
# whose checks need only NumPy (lesson 1) does not wait for TensorFlow to import.
_LOCATIONS: dict[str, str] = {
    "compare_architecture": "architecture",
    "layer_table": "architecture",
    "check_model_builder": "architecture",
    "check_first_indices_per_class": "colour",
    "check_channel_mean_std": "colour",
    "check_standardize_splits": "colour",
    "check_create_app": "serving_app",
    "check_load_image": "deployment",
    "check_predict_top_k": "deployment",
    "check_most_confused_pairs": "error_analysis",
    "check_precision_recall_f1": "error_analysis",
    "check_roc_auc_one_vs_rest": "error_analysis",
    "check_top_k_classes": "error_analysis",
    "check_confusion_counts": "evaluation",
    "check_most_confident_mistakes": "evaluation",
    "check_predict_labels": "evaluation",
    "check_build_folder_cnn": "folder_models",
    "check_count_images_per_class": "image_folders",
    "check_image_shape": "image_folders",
    "check_load_image_folder": "folder_loading",
    "check_conv2d_param_count": "layers_math",
    "check_conv_output_size": "layers_math",
    "check_add_channel_axis": "preprocessing",
    "check_count_per_class": "preprocessing",
    "check_one_hot": "preprocessing",
    "check_scale_images": "preprocessing",
    "check_split_train_validation": "preprocessing",
    "check_build_augmentation": "regularisation",
    "check_build_seed_cnn": "regularisation",
    "check_training_callbacks": "regularisation",
    "check_compile_classifier": "training",
    "check_train_classifier": "training",
    "check_build_transfer_model": "transfer",
    "check_unfreeze_top_layers": "transfer",
    # The saved-model graders' helpers (they need Keras: a grader module that names them loads it only when it runs).
    "check_model_accuracy": "saved_models",
    "check_saved_history": "saved_models",
    "load_saved_model": "saved_models",
    "check_class_names_sidecar": "folder_models",
    "check_folder_model_accuracy": "folder_models",
    "check_transfer_accuracy": "transfer",
    "check_app_matches_predict_top_k": "serving_app",
}


def __getattr__(name: str) -> Any:
    if name not in _LOCATIONS:
        raise AttributeError(f"module 'cnn_course.checks' has no attribute '{name}'")
    value = getattr(importlib.import_module(f"cnn_course.checks.{_LOCATIONS[name]}"), name)
    globals()[name] = value
    return value


def check_build_mnist_cnn(build_mnist_cnn_fn: Callable) -> None:
    """build_mnist_cnn(input_shape, num_classes) matches the course's reference MNIST CNN."""
    from cnn_course.checks.architecture import check_model_builder
    from cnn_course.models import build_mnist_cnn

    check_model_builder("build_mnist_cnn", build_mnist_cnn_fn, build_mnist_cnn, (28, 28, 1), 10)


EXERCISES: tuple[str, ...] = (
    "count_per_class",
    "scale_images",
    "add_channel_axis",
    "one_hot",
    "split_train_validation",
    "conv_output_size",
    "conv2d_param_count",
    "build_mnist_cnn",
    "compile_classifier",
    "train_classifier",
    "predict_labels",
    "confusion_counts",
    "most_confident_mistakes",
    "first_indices_per_class",
    "channel_mean_std",
    "standardize_splits",
    "build_seed_cnn",
    "build_augmentation",
    "training_callbacks",
    "precision_recall_f1",
    "most_confused_pairs",
    "roc_auc_one_vs_rest",
    "top_k_classes",
    "count_images_per_class",
    "image_shape",
    "load_image_folder",
    "build_folder_cnn",
    "build_transfer_model",
    "unfreeze_top_layers",
    "load_image",
    "predict_top_k",
    "create_app",
)


class _Checks(Mapping[str, Callable[[Callable], None]]):
    """Exercise name -> the check the grader runs on it, imported when first asked for."""

    def __getitem__(self, name: str) -> Callable[[Callable], None]:
        if name not in EXERCISES:
            raise KeyError(name)
        return globals()["check_build_mnist_cnn"] if name == "build_mnist_cnn" else __getattr__(f"check_{name}")

    def __iter__(self) -> Iterator[str]:
        return iter(EXERCISES)

    def __len__(self) -> int:
        return len(EXERCISES)


CHECKS: Mapping[str, Callable[[Callable], None]] = _Checks()


def self_check(function: Callable) -> None:
    """Run the grader's check on a lesson's exercise function and print the verdict.

    Raises CheckFailed (what is wrong, with a hint) or ExerciseError (the function crashed or
    hung), which Jupyter shows as the verdict alone, without a traceback through this package;
    prints a reminder instead when the exercise is not written yet. Raises KeyError, shown the
    same way, for a function that is not one of the course's exercises.
    """
    name = getattr(function, "__name__", repr(function))
    try:
        if name not in CHECKS:
            raise KeyError(
                f"no check is registered for '{name}'; self_check takes one of the exercises: {', '.join(CHECKS)}"
            )
        refused = _refused_lines(function)
        if refused:
            raise ExerciseError(name, refused)
        CHECKS[name](functools.update_wrapper(functools.partial(call_exercise, function), function))
    except NotAttempted:
        print(
            printable(
                f"… {name} is not written yet: replace `raise NotImplementedError(...)` with your code, "
                "then run this cell again."
            )
        )
        return
    except (CheckFailed, ExerciseError, KeyError) as verdict:
        verdict._render_traceback_ = functools.partial(
            _verdict_lines, verdict
        )  # IPython shows these lines instead of a traceback
        raise verdict.with_traceback(None) from None
    print(printable(f"✔ {name} passes every check."))


def _refused_lines(function: Callable) -> str | None:
    """What the grader will say about lines of the function's cell it does not run (`!ls`, `%pip`), or None.

    Only in Jupyter (IPython), and only for the cell the function was defined in: that line has
    run already in the notebook, but the grader refuses the cell, so the self-check says so too.
    """
    cell = cell_in_ipython(function)
    refusals = prepare_cell(cell).refusals if cell is not None else []
    return explain_refusals(refusals, "its cell", "exercise") if refusals else None


def _verdict_lines(verdict: Exception) -> list[str]:
    """The lines Jupyter shows for a failed self-check: the verdict in red, then what to do."""
    text = verdict.args[0] if isinstance(verdict, KeyError) else str(verdict)
    first, *rest = text.splitlines()
    return [
        printable(f"\x1b[1;31m✘ {first}\x1b[0m"),
        *rest,
        "Fix the exercise cell above, run it, then run this self-check again.",
    ]


__all__ = [
    "CHECKS",
    "CheckFailed",
    "ExerciseError",
    "ExerciseTimeout",
    "NotAttempted",
    "call_exercise",
    "compare_architecture",
    "layer_table",
    "self_check",
]
