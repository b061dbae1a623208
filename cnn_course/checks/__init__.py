"""Checks with hints, shared by the lessons' inline self-checks and the pytest graders.

In a lesson, `self_check(scale_images)` runs the same check the grader runs and prints the verdict.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from cnn_course.checks.architecture import check_model_builder, compare_architecture, layer_table
from cnn_course.checks.calls import call_exercise
from cnn_course.checks.colour import check_channel_mean_std, check_first_indices_per_class, check_standardize_splits
from cnn_course.checks.deployment import check_create_app, check_load_image, check_predict_top_k
from cnn_course.checks.error_analysis import (
    check_most_confused_pairs,
    check_precision_recall_f1,
    check_roc_auc_one_vs_rest,
    check_top_k_classes,
)
from cnn_course.checks.evaluation import check_confusion_counts, check_most_confident_mistakes, check_predict_labels
from cnn_course.checks.feedback import CheckFailed, ExerciseError, ExerciseTimeout, NotAttempted
from cnn_course.checks.image_folders import (
    check_build_folder_cnn,
    check_count_images_per_class,
    check_image_shape,
    check_load_image_folder,
)
from cnn_course.checks.layers_math import check_conv2d_param_count, check_conv_output_size
from cnn_course.checks.preprocessing import (
    check_add_channel_axis,
    check_count_per_class,
    check_one_hot,
    check_scale_images,
    check_split_train_validation,
)
from cnn_course.checks.regularisation import check_build_augmentation, check_build_seed_cnn, check_training_callbacks
from cnn_course.checks.training import check_compile_classifier, check_train_classifier
from cnn_course.checks.transfer import check_build_transfer_model, check_unfreeze_top_layers
from cnn_course.models import build_mnist_cnn


def check_build_mnist_cnn(build_mnist_cnn_fn: Callable) -> None:
    """build_mnist_cnn(input_shape, num_classes) matches the course's reference MNIST CNN."""
    check_model_builder("build_mnist_cnn", build_mnist_cnn_fn, build_mnist_cnn, (28, 28, 1), 10)


CHECKS: dict[str, Callable[[Callable], None]] = {
    "count_per_class": check_count_per_class,
    "scale_images": check_scale_images,
    "add_channel_axis": check_add_channel_axis,
    "one_hot": check_one_hot,
    "split_train_validation": check_split_train_validation,
    "conv_output_size": check_conv_output_size,
    "conv2d_param_count": check_conv2d_param_count,
    "build_mnist_cnn": check_build_mnist_cnn,
    "compile_classifier": check_compile_classifier,
    "train_classifier": check_train_classifier,
    "predict_labels": check_predict_labels,
    "confusion_counts": check_confusion_counts,
    "most_confident_mistakes": check_most_confident_mistakes,
    "first_indices_per_class": check_first_indices_per_class,
    "channel_mean_std": check_channel_mean_std,
    "standardize_splits": check_standardize_splits,
    "build_seed_cnn": check_build_seed_cnn,
    "build_augmentation": check_build_augmentation,
    "training_callbacks": check_training_callbacks,
    "precision_recall_f1": check_precision_recall_f1,
    "most_confused_pairs": check_most_confused_pairs,
    "roc_auc_one_vs_rest": check_roc_auc_one_vs_rest,
    "top_k_classes": check_top_k_classes,
    "count_images_per_class": check_count_images_per_class,
    "image_shape": check_image_shape,
    "load_image_folder": check_load_image_folder,
    "build_folder_cnn": check_build_folder_cnn,
    "build_transfer_model": check_build_transfer_model,
    "unfreeze_top_layers": check_unfreeze_top_layers,
    "load_image": check_load_image,
    "predict_top_k": check_predict_top_k,
    "create_app": check_create_app,
}


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
            raise KeyError(f"no check is registered for '{name}'; self_check takes one of the exercises: {', '.join(CHECKS)}")
        CHECKS[name](functools.update_wrapper(functools.partial(call_exercise, function), function))
    except NotAttempted:
        print(f"… {name} is not written yet: replace `raise NotImplementedError(...)` with your code, then run this cell again.")
        return
    except (CheckFailed, ExerciseError, KeyError) as verdict:
        verdict._render_traceback_ = functools.partial(_verdict_lines, verdict)  # IPython shows these lines instead of a traceback
        raise verdict.with_traceback(None) from None
    print(f"✔ {name} passes every check.")


def _verdict_lines(verdict: Exception) -> list[str]:
    """The lines Jupyter shows for a failed self-check: the verdict in red, then what to do."""
    text = verdict.args[0] if isinstance(verdict, KeyError) else str(verdict)
    first, *rest = text.splitlines()
    return [f"\x1b[1;31m✘ {first}\x1b[0m", *rest, "Fix the exercise cell above, run it, then run this self-check again."]


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
