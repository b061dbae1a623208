"""The `cnn-course` command: train, predict, serve, export, export-images, assign, grade, doctor."""

from __future__ import annotations

import argparse
import os
import platform
import sys
from pathlib import Path

from cnn_course import __version__, quiet
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

    assign = commands.add_parser(
        "assign",
        help="regenerate lessons/ from the masters in solutions/",
        description="Regenerate the learners' lessons from the instructor's master notebooks.",
    )
    assign.add_argument(
        "--solutions", type=Path, help="folder of master notebooks (default: the configuration's, else solutions)"
    )
    assign.add_argument(
        "--lessons", type=Path, help="folder of learner lessons to write (default: the configuration's, else lessons)"
    )
    assign.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if lessons/ differs from what the masters generate"
    )
    assign.add_argument(
        "--force",
        action="store_true",
        help="overwrite lessons that were edited since they were generated (with --release: replace DIR)",
    )
    assign.add_argument(
        "--release",
        type=Path,
        metavar="DIR",
        help="write a learner-ready copy of the course to DIR: no solutions, no hidden tests",
    )
    assign.add_argument(
        "--gradescope",
        type=Path,
        metavar="OUT.zip",
        help=(
            "write the Gradescope autograder upload: setup.sh, run_autograder, the course, its graders and hidden tests"
        ),
    )
    assign.add_argument(
        "--data-dir",
        type=Path,
        help=(
            "with --gradescope: put the official datasets of this folder (default: $CNN_COURSE_DATA) in the zip, "
            "so grading needs no network"
        ),
    )
    assign.add_argument(
        "--config",
        type=Path,
        help="course configuration file (default: course.toml, else [tool.cnn-course] in pyproject.toml)",
    )

    grade = commands.add_parser(
        "grade",
        help="grade learners' submissions with your graders; export grades and feedback",
        description=(
            "Grade submissions (folders of lessons, or zips of them) with this course's graders and hidden "
            "tests, each in its own process with time and memory limits, and write a gradebook, JSON, "
            "Gradescope results and feedback reports."
        ),
    )
    grade.add_argument(
        "submissions",
        nargs="+",
        type=Path,
        metavar="SUBMISSION",
        help="a learner's folder of lessons (with models/), or a .zip of one",
    )
    grade.add_argument("--out", type=Path, help="folder for the exports (default: a new grades/YYYY-MM-DD_HHMMSS)")
    grade.add_argument("--force", action="store_true", help="start over in --out even if it holds earlier grades")
    grade.add_argument(
        "--resume",
        action="store_true",
        help="finish an interrupted batch in --out: grade only submissions without a result there",
    )
    grade.add_argument(
        "--update",
        action="store_true",
        help="grade these submissions again into --out, keeping the other learners' grades",
    )
    grade.add_argument(
        "--shard",
        metavar="K/N",
        help="grade only the K-th of N deterministic slices of the submissions (merge with `cnn-course merge-grades`)",
    )
    grade.add_argument(
        "--sandbox",
        choices=("auto", "bwrap", "none"),
        default="auto",
        help="run learner code in the bubblewrap sandbox: auto (where it works; the default), bwrap (required), none",
    )
    grade.add_argument(
        "--jobs",
        type=positive_int,
        default=max(1, (os.cpu_count() or 1) // 2),
        help="submissions graded at the same time (default: half the CPU cores)",
    )
    grade.add_argument(
        "--time-limit",
        type=positive_float,
        help="wall-clock seconds for one submission (default: the configuration's, else 600)",
    )
    grade.add_argument(
        "--memory-limit",
        type=positive_float,
        help="GiB of address space for one submission (default: the configuration's, else 6)",
    )
    grade.add_argument(
        "--exercise-timeout",
        type=positive_float,
        help="seconds an exercise may run when the configuration sets no limit for it (default: 60)",
    )
    grade.add_argument(
        "--config",
        type=Path,
        help="course configuration file (default: course.toml, else [tool.cnn-course] in pyproject.toml)",
    )
    grade.add_argument(
        "--course",
        type=Path,
        default=Path("."),
        help="the course folder whose graders grade (default: the current folder)",
    )
    for command in (
        grade,
        merge := commands.add_parser(
            "merge-grades",
            help="combine the grades folders of shards into one",
            description=(
                "Combine the grades folders that `cnn-course grade --shard K/N` wrote into one, "
                "with the exports a single run would write."
            ),
        ),
    ):
        command.add_argument("--html", action="store_true", help="also write each learner's feedback report as HTML")
        command.add_argument(
            "--roster",
            type=Path,
            help=(
                "CSV of the class's learner ids (a `learner` column, else the first): "
                "a learner without a submission gets 0, 'no submission'"
            ),
        )
        command.add_argument(
            "--overrides",
            type=Path,
            help="CSV with columns learner, exercise, points, comment: manual points, shown in the feedback",
        )
        command.add_argument(
            "--deadline",
            help="submissions modified after this local date and time (e.g. 2026-12-01T23:59) are flagged late",
        )
    merge.add_argument("shards", nargs="+", type=Path, metavar="GRADES_DIR", help="the --out folder of each shard")
    merge.add_argument("--out", type=Path, required=True, help="the folder to write the merged grades to")
    merge.add_argument("--force", action="store_true", help="replace grades already in --out")

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


def run_train(args: argparse.Namespace) -> int:
    """Train the chosen recipe and print where its outputs went."""
    from cnn_course.commands.train import OUTPUT_FILES, train_recipe
    from cnn_course.recipes import DEFAULT_RECIPE, RECIPES
    from cnn_course.seeding import DEFAULT_SEED

    if args.dataset not in RECIPES:
        print(
            f"cnn-course train: unknown dataset '{args.dataset}'; choose one of: {', '.join(RECIPES)}", file=sys.stderr
        )
        return 2
    recipes = RECIPES[args.dataset]
    name = args.recipe or DEFAULT_RECIPE[args.dataset]
    if name not in recipes:
        print(
            f"cnn-course train: no recipe '{name}' for {args.dataset}; choose one of: {', '.join(recipes)}",
            file=sys.stderr,
        )
        return 2
    out = args.out or Path("runs") / args.dataset
    metrics = train_recipe(
        recipes[name],
        out,
        args.data_dir,
        args.epochs,
        DEFAULT_SEED if args.seed is None else args.seed,
        args.budget,
        args.dtype,
    )
    print(
        f"\ntest accuracy {metrics['test_accuracy']:.2%}, test loss {metrics['test_loss']:.4f}, "
        f"training {metrics['train_seconds']:.1f} s"
    )
    print(f"wrote {', '.join(OUTPUT_FILES)} to {out}/")
    return 0


def run_assign(args: argparse.Namespace) -> int:
    """Regenerate lessons (unassigned exercises labelled optional), report drift with --check, or --release."""
    from cnn_course.authoring.assign import exercise_names, generate_lessons
    from cnn_course.authoring.catalog import exercise_catalog
    from cnn_course.authoring.course_config import load_config

    if args.gradescope:
        if args.check or args.release:
            print(
                "cnn-course assign: --gradescope goes with neither --release nor --check; "
                "run them one after the other.",
                file=sys.stderr,
            )
            return 2
        from cnn_course.commands.grade import run_gradescope

        return run_gradescope(args)
    if args.release:
        if args.check:
            print(
                "cnn-course assign: --release and --check do not go together; run them one after the other.",
                file=sys.stderr,
            )
            return 2
        from cnn_course.commands.grade import run_release

        return run_release(args)
    config = load_config(Path("."), args.config)
    if config.exercises is not None:
        config.assigned(exercise_catalog(config.graders, config.hidden_tests))  # refuses unknown exercise names
    solutions = args.solutions or Path(os.path.relpath(config.solutions))
    lessons = args.lessons or Path(os.path.relpath(config.lessons))
    optional = config.unassigned(exercise_names(solutions))
    report = generate_lessons(solutions, lessons, check=args.check, force=args.force, optional=optional)
    if args.check:
        if report.written:
            print(f"{lessons}/ is out of date with the masters; run `cnn-course assign`. Differing files:")
            print("\n".join(f"  {path}" for path in report.written))
        if report.refused:
            print(
                "Edited since `cnn-course assign` wrote them (a learner's work, if this is a learner's copy), "
                "so assign will not overwrite them:"
            )
            print("\n".join(f"  {path}" for path in report.refused))
            print(
                "If the edits are meant, there is nothing to do. To start these lessons over from the masters, "
                "move them aside and run `cnn-course assign`, or run `cnn-course assign --force` to replace them."
            )
        if report.written or report.refused:
            return 1
        print(f"lessons are up to date ({len(report.unchanged)} files).")
        return 0
    if report.refused:
        print(
            "Nothing was written: these lessons were edited since they were generated, and would be overwritten:",
            file=sys.stderr,
        )
        print("\n".join(f"  {path}" for path in report.refused), file=sys.stderr)
        print(
            "Move them aside (or keep them and skip assign), or run `cnn-course assign --force` to replace them.",
            file=sys.stderr,
        )
        return 1
    print(f"wrote {len(report.written)} files, {len(report.unchanged)} unchanged, in {lessons}/")
    return 0


BATCH_NEEDS_LINUX = (
    "grading a class needs Linux: each submission's code runs in a sandbox (bubblewrap) under process "
    "supervision that only Linux offers, and this is {system}. Grade on a Linux machine, in WSL 2 on Windows "
    "(`wsl --install`, then install the course there), in a Linux container (Docker Desktop on macOS or Windows), "
    "or on GitHub Actions with templates/github-actions/grade-class.yml. To look at one submission here, "
    "`pytest --target=FOLDER` grades it as a learner would, without a sandbox: only for code you trust."
)


def run_grade(args: argparse.Namespace) -> int:
    """Grade submissions in a batch and write the exports (Linux only: elsewhere, say where to grade instead)."""
    if not sys.platform.startswith("linux"):
        print(
            f"cnn-course grade: {BATCH_NEEDS_LINUX.format(system=platform.system() or sys.platform)}", file=sys.stderr
        )
        return 2
    from cnn_course.commands.grade import run_grade as grade

    return grade(args)


def run_predict(args: argparse.Namespace) -> int:
    """Classify image files with a saved model."""
    from cnn_course.commands.deploy import run_predict as predict

    return predict(args)


def run_serve(args: argparse.Namespace) -> int:
    """Serve a saved model as a web app."""
    from cnn_course.commands.deploy import run_serve as serve

    return serve(args)


def run_export(args: argparse.Namespace) -> int:
    """Export a saved model to LiteRT and check it."""
    from cnn_course.commands.deploy import run_export as export

    return export(args)


def run_export_images(args: argparse.Namespace) -> int:
    """Export a dataset as a folder of image files and say what was written."""
    from cnn_course.data.image_folders import ImageFolderError, export_cifar10_folder

    if args.dataset != "cifar10":
        print(f"cnn-course export-images: unknown dataset '{args.dataset}'; choose: cifar10", file=sys.stderr)
        return 2
    try:
        summary = export_cifar10_folder(
            args.dir, args.per_class, args.size, args.messy, args.split, args.format, args.data_dir
        )
    except ImageFolderError as error:
        print(f"cnn-course export-images: {error}", file=sys.stderr)
        return 2
    print(
        f"wrote {summary.images:,} images ({args.per_class} per class, {args.size} x {args.size} pixels) into "
        f"{len(summary.class_names)} class folders of {summary.folder}/: {', '.join(summary.class_names)}"
    )
    for path, description in summary.messy.items():
        print(f"  + {path}: {description}")
    return 0


def run_merge(args: argparse.Namespace) -> int:
    """Merge the grades folders of shards and write the exports."""
    from cnn_course.commands.grade import run_merge as merge

    return merge(args)


def run_doctor(args: argparse.Namespace) -> int:
    """Print versions, devices and data sources; exit 1 when a dataset is missing or damaged."""
    from cnn_course.commands.doctor import report_lines

    lines, healthy = report_lines()
    print("\n".join(lines))
    return 0 if healthy else 1


def run_sync(args: argparse.Namespace) -> int:
    """Reconcile a lesson pair; ask before replacing written code, refuse without a terminal."""
    from cnn_course.authoring.sync import SyncRefused, pair_paths, sync_pair

    def confirm(differences: dict[str, str], newer: Path, older: Path) -> bool:
        if not sys.stdin.isatty():
            return False
        for name, diff in differences.items():
            sides = f"'-' lines: {older.name}, '+' lines: {newer.name}"
            print(f"{name}: written in both files, differently ({sides}):\n{diff}\n")
        answer = input(
            f"Keep the code of the newer file, {newer.name}, and replace {older.name}'s (a backup is kept)? [y/N] "
        )
        return answer.strip().lower() in ("y", "yes")

    py, ipynb = pair_paths(args.lesson, Path("lessons"))
    try:
        report = sync_pair(py, ipynb, force=args.force, confirm=confirm)
    except SyncRefused as refusal:
        print(f"cnn-course sync: {refusal}", file=sys.stderr)
        return 1
    if report.diverged:
        print(f"exercises that differed between {py.name} and {ipynb.name}: {', '.join(report.diverged)}")
    if report.kept_older:
        print(
            f"  kept your code from {report.older.name} (still a stub in {report.newer.name}): "
            f"{', '.join(report.kept_older)}"
        )
    if report.replaced:
        print(f"  kept {report.newer.name}'s code, as agreed: {', '.join(report.replaced)}")
    if not report.written:
        print(f"{py.name} and {ipynb.name} are in step; nothing to do.")
        return 0
    kept = ", with the exercises' code kept as above" if report.kept_older or report.replaced else ""
    print(
        f"wrote {', '.join(path.name for path in report.written)}: the text of the newer file, "
        f"{report.newer.name}{kept}"
    )
    if report.backups:
        print(f"backups of the files as they were: {', '.join(str(path) for path in report.backups)}")
    return 0


# The errors that carry a message for the user, where each is defined. None is imported before it is
# needed (`--help` and `--version` import no TensorFlow, Jupytext or Pillow): an error whose module was
# never imported cannot have been raised.
USER_ERRORS = {
    "cnn_course.data.errors": "DataError",
    "cnn_course.authoring.assign": "AssignError",
    "cnn_course.authoring.notebooks": "NotebookError",
    "cnn_course.authoring.course_config": "CourseConfigError",
    "cnn_course.authoring.catalog": "CatalogError",
    "cnn_course.authoring.release": "ReleaseError",
    "cnn_course.inference": "ModelFileError",
    "cnn_course.saving": "ClassNamesError",
    "cnn_course.images": "ImageError",
    "cnn_course.export": "ExportError",
    "cnn_course.commands.grade": "CommandError",
    "cnn_course.commands.gradescope": "AutograderError",
    "cnn_course.batch.submissions": "SubmissionError",
}


def is_user_error(error: Exception) -> bool:
    """True when `error` is one of the course's errors whose message tells the user what to do (USER_ERRORS)."""
    loaded = [getattr(sys.modules[module], name) for module, name in USER_ERRORS.items() if module in sys.modules]
    return isinstance(error, tuple(loaded))


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `cnn-course` console script."""
    args = build_parser().parse_args(argv)
    if args.verbose:
        quiet.make_verbose()
    handlers = {
        "train": run_train,
        "predict": run_predict,
        "serve": run_serve,
        "export": run_export,
        "export-images": run_export_images,
        "assign": run_assign,
        "grade": run_grade,
        "merge-grades": run_merge,
        "doctor": run_doctor,
        "sync": run_sync,
    }
    try:
        return handlers[args.command](args)
    except KeyboardInterrupt:
        print(f"cnn-course {args.command}: interrupted.", file=sys.stderr)
        return 130
    except Exception as error:
        if not is_user_error(error):
            raise
        print(f"cnn-course {args.command}: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
