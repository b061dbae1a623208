"""The `cnn-course` command's arguments: every sub-command's parser and the argument types.

Reading arguments imports nothing heavy (no TensorFlow, Keras, Jupytext or Pillow): `--help` and `--version` answer
at once, and a command imports what it needs only when it runs.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from cnn_course import __version__, quiet
from cnn_course.commands.instructor_arguments import add_instructor_commands
from cnn_course.precision import DTYPE_CHOICES


def positive_int(text: str) -> int:
    """Parse a whole number of at least 1 (argparse type)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def positive_float(text: str) -> float:
    """Parse a number greater than 0 (argparse type)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, got {text}")
    return value


class RecipeListFormatter(argparse.HelpFormatter):
    """Help formatter of `cnn-course train`: appends the recipes, imported only when help is shown."""

    def format_help(self) -> str:
        from cnn_course.recipes import DEFAULT_RECIPE, RECIPES

        lines = ["recipes (choose one with --recipe NAME):"]
        for dataset, recipes in RECIPES.items():
            for name, recipe in recipes.items():
                default = ", the default" if name == DEFAULT_RECIPE[dataset] else ""
                lines.append(f"  {dataset:<8} {name:<18} {recipe.summary} ({recipe.epochs} epochs{default})")
        return super().format_help() + "\n" + "\n".join(lines) + "\n"


def duration(text: str) -> float:
    """Parse a time budget such as 300, 300s, 5m or 1h30m into seconds (argparse type)."""
    from cnn_course.time_budget import parse_duration

    try:
        return parse_duration(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of every sub-command."""
    parser = argparse.ArgumentParser(
        prog="cnn-course", description="Convolutional neural networks with Keras: the course's tools."
    )
    parser.add_argument("--version", action="version", version=f"cnn-course {__version__}")
    parser.add_argument(
        "--verbose", action="store_true", help=f"show TensorFlow's start-up logs (as {quiet.VERBOSE_ENV_VAR}=1 does)"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = commands.add_parser(
        "train",
        help="train and evaluate a reference model",
        formatter_class=RecipeListFormatter,
        description=(
            "Train a reference recipe from scratch, evaluate it on the official test split and write "
            "model.keras (with its class names in model.classes.json), training_history.png, confusion_matrix.png, "
            "model_metrics.txt and metrics.json."
        ),
    )
    train.add_argument("dataset", help="which dataset: mnist or cifar10")
    train.add_argument("--recipe", help="recipe name (default: the dataset's default recipe)")
    train.add_argument(
        "--epochs", type=positive_int, help="override the recipe's number of epochs (with --budget: at most this many)"
    )
    train.add_argument(
        "--budget",
        type=duration,
        metavar="TIME",
        help=(
            "train for this long (300, 300s, 5m, 1h30m): the learning-rate schedule follows the clock, "
            "and the best epoch's model is kept"
        ),
    )
    train.add_argument(
        "--dtype",
        choices=DTYPE_CHOICES,
        default="auto",
        help=(
            "training precision (default: auto, mixed_bfloat16 where the processor computes bfloat16 natively and a "
            "few timed steps of the model train at least 10%% faster in it, float32 elsewhere); the saved model is "
            "float32 either way"
        ),
    )
    train.add_argument("--out", type=Path, help="output folder (default: runs/DATASET)")
    train.add_argument(
        "--data-dir",
        type=Path,
        help="folder with the official dataset files (default: $CNN_COURSE_DATA, else download through keras.datasets)",
    )
    train.add_argument("--seed", type=int, default=None, help="random seed (default: 42)")

    add_instructor_commands(commands)

    predict = commands.add_parser(
        "predict",
        help="classify image files with a saved model",
        description=(
            "Print the most probable classes of each image (PNG, JPEG, any size, grayscale or colour), "
            "preprocessed exactly as in training. A file that is not a readable image gets a one-line error and the "
            "others go on; the exit status is 1 if any failed."
        ),
    )
    predict.add_argument(
        "model",
        type=Path,
        metavar="MODEL",
        help="a .keras file (its class names are read from MODEL.classes.json next to it)",
    )
    predict.add_argument("images", nargs="+", type=Path, metavar="IMAGE", help="image files to classify")
    predict.add_argument(
        "--top", type=positive_int, default=3, metavar="K", help="how many classes to show per image (default: 3)"
    )

    serve = commands.add_parser(
        "serve",
        help="serve a saved model as a web app and JSON API",
        description=(
            "Serve a saved classifier: a page to upload or drop an image and see its top-3 classes, "
            "and a JSON API (POST /predict with the image in form field 'file', GET /health, GET /classes). "
            "Runs on waitress, a multi-threaded production WSGI server; "
            "binds to this computer only unless --host says otherwise."
        ),
    )
    serve.add_argument(
        "model",
        type=Path,
        metavar="MODEL",
        help="a .keras file (its class names are read from MODEL.classes.json next to it)",
    )
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default: 127.0.0.1, this computer only; 0.0.0.0: every network interface)",
    )
    serve.add_argument("--port", type=positive_int, default=5000, help="port (default: 5000)")
    serve.add_argument("--threads", type=positive_int, default=8, help="requests handled at the same time (default: 8)")
    serve.add_argument(
        "--max-upload-mb",
        type=positive_float,
        default=8,
        metavar="MB",
        help="largest upload accepted, in MiB (default: 8)",
    )

    export = commands.add_parser(
        "export",
        help="export a saved model for devices (LiteRT) and check it",
        description=(
            "Export a saved classifier as a LiteRT (TensorFlow Lite) flatbuffer with Keras's model.export, "
            "run it in the LiteRT CPU interpreter on test images, and report its top-1 agreement with the Keras "
            "model and the speed of both. Exits 1 if fewer than 99 % of the top-1 classes agree."
        ),
    )
    export.add_argument("model", type=Path, metavar="MODEL", help="a .keras file")
    export.add_argument(
        "--format",
        choices=["litert", "tflite"],
        default="litert",
        help="litert (tflite is its former name); the only format this stack exports and runs",
    )
    export.add_argument("--out", type=Path, help="the .tflite file to write (default: MODEL with the suffix .tflite)")
    export.add_argument(
        "--dataset",
        choices=["mnist", "cifar10"],
        help=(
            "test set to check on (default: the one whose classes or input shape the model has; "
            "else CIFAR-10 for colour models, MNIST for grayscale ones, agreement only)"
        ),
    )
    export.add_argument(
        "--image-size",
        type=positive_int,
        metavar="N",
        help=(
            "for a model that takes images of any size: the side in pixels of the images the export takes "
            "(default: the size of the model's first Resizing layer)"
        ),
    )
    export.add_argument(
        "--test-images", type=positive_int, default=1000, metavar="N", help="test images to compare on (default: 1000)"
    )
    export.add_argument(
        "--data-dir",
        type=Path,
        help="folder with the official dataset files (default: $CNN_COURSE_DATA, else download through keras.datasets)",
    )

    export_images = commands.add_parser(
        "export-images",
        help="write a dataset as image files, one subfolder per class",
        description=(
            "Write CIFAR-10 images as files in DIR/<class>/, a stand-in for a folder of your own photos. "
            "Deterministic: the first N images of each class."
        ),
    )
    export_images.add_argument("dataset", help="which dataset: cifar10")
    export_images.add_argument("dir", type=Path, metavar="DIR", help="folder to create (must not exist, or be empty)")
    export_images.add_argument("--per-class", type=positive_int, default=100, help="images per class (default: 100)")
    export_images.add_argument(
        "--size",
        type=positive_int,
        default=32,
        help="side of the square images in pixels (default: 32, CIFAR-10's own)",
    )
    export_images.add_argument("--format", choices=("png", "jpeg"), default="png", help="file format (default: png)")
    export_images.add_argument(
        "--split",
        choices=("train", "test"),
        default="train",
        help="official split to take images from (default: train)",
    )
    export_images.add_argument(
        "--messy",
        action="store_true",
        help=(
            "add what real folders hold: a corrupt file, grayscale and RGBA images, other sizes, hidden files, "
            ".ipynb_checkpoints"
        ),
    )
    export_images.add_argument(
        "--data-dir",
        type=Path,
        help="folder with the official dataset files (default: $CNN_COURSE_DATA, else download through keras.datasets)",
    )

    commands.add_parser(
        "doctor",
        help=(
            "report versions, the compute device and where each dataset loads from, "
            "checking every dataset file (exit 1 if one is missing or damaged)"
        ),
    )

    sync = commands.add_parser(
        "sync",
        help="bring the two files of a lesson (.py and .ipynb) back in step, losing no work",
        description=(
            "Reconcile a lesson pair whose files differ: the newer file gives the text, "
            "an exercise written in the older file but a stub in the newer keeps its code, "
            "and an exercise written differently in both is only replaced if you agree. "
            "Every file that changes is first copied to backups/ beside it."
        ),
    )
    sync.add_argument(
        "lesson", help="a lesson name such as 01_mnist_data (in lessons/), or the path of either file of the pair"
    )
    sync.add_argument(
        "--force",
        action="store_true",
        help=(
            "where both files hold different written code, keep the newer file's without asking "
            "(the other is backed up)"
        ),
    )
    return parser
