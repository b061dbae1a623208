"""The `cnn-course` command: train, assign, doctor."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path



def positive_int(text: str) -> int:
    """Parse a whole number of at least 1 (argparse type)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of every sub-command."""
    parser = argparse.ArgumentParser(prog="cnn-course", description="Convolutional neural networks with Keras: the course's tools.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = commands.add_parser("train", help="train and evaluate a reference model", description="Train a reference recipe from scratch, evaluate it on the official test split and write model.keras, training_history.png, confusion_matrix.png, model_metrics.txt and metrics.json.")
    train.add_argument("dataset", help="which dataset: mnist or cifar10")
    train.add_argument("--recipe", help="recipe name (default: the dataset's default recipe)")
    train.add_argument("--epochs", type=positive_int, help="override the recipe's number of epochs")
    train.add_argument("--out", type=Path, help="output folder (default: runs/DATASET)")
    train.add_argument("--data-dir", type=Path, help="folder with the official dataset files (default: $CNN_COURSE_DATA, else download through keras.datasets)")
    train.add_argument("--seed", type=int, default=None, help="random seed (default: 42)")

    assign = commands.add_parser("assign", help="regenerate lessons/ from the masters in solutions/", description="Regenerate the learners' lessons from the instructor's master notebooks.")
    assign.add_argument("--solutions", type=Path, default=Path("solutions"), help="folder of master notebooks (default: solutions)")
    assign.add_argument("--lessons", type=Path, default=Path("lessons"), help="folder of learner lessons to write (default: lessons)")
    assign.add_argument("--check", action="store_true", help="write nothing; exit 1 if lessons/ differs from what the masters generate")
    assign.add_argument("--force", action="store_true", help="overwrite lessons that were edited since they were generated")

    commands.add_parser("doctor", help="report versions, the compute device and where each dataset would load from")
    return parser


def run_train(args: argparse.Namespace) -> int:
    """Train the chosen recipe and print where its outputs went."""
    from cnn_course.recipes import DEFAULT_RECIPE, RECIPES
    from cnn_course.seeding import DEFAULT_SEED
    from cnn_course.train_job import OUTPUT_FILES, train_recipe

    if args.dataset not in RECIPES:
        print(f"cnn-course train: unknown dataset '{args.dataset}'; choose one of: {', '.join(RECIPES)}", file=sys.stderr)
        return 2
    recipes = RECIPES[args.dataset]
    name = args.recipe or DEFAULT_RECIPE[args.dataset]
    if name not in recipes:
        print(f"cnn-course train: no recipe '{name}' for {args.dataset}; choose one of: {', '.join(recipes)}", file=sys.stderr)
        return 2
    out = args.out or Path("runs") / args.dataset
    metrics = train_recipe(recipes[name], out, args.data_dir, args.epochs, DEFAULT_SEED if args.seed is None else args.seed)
    print(f"\ntest accuracy {metrics['test_accuracy']:.2%}, test loss {metrics['test_loss']:.4f}, "
          f"training {metrics['train_seconds']:.1f} s")
    print(f"wrote {', '.join(OUTPUT_FILES)} to {out}/")
    return 0


def run_assign(args: argparse.Namespace) -> int:
    """Regenerate lessons, or with --check report drift; return the exit status."""
    from cnn_course.assign import generate_lessons

    report = generate_lessons(args.solutions, args.lessons, check=args.check, force=args.force)
    if args.check:
        if report.written:
            print("lessons/ is out of date with the masters; run `cnn-course assign`. Differing files:")
            print("\n".join(f"  {path}" for path in report.written))
            return 1
        print(f"lessons are up to date ({len(report.unchanged)} files).")
        return 0
    if report.refused:
        print("Nothing was written: these lessons were edited since they were generated, and would be overwritten:", file=sys.stderr)
        print("\n".join(f"  {path}" for path in report.refused), file=sys.stderr)
        print("Move them aside (or keep them and skip assign), or run `cnn-course assign --force` to replace them.", file=sys.stderr)
        return 1
    print(f"wrote {len(report.written)} files, {len(report.unchanged)} unchanged, in {args.lessons}/")
    return 0


def run_doctor(args: argparse.Namespace) -> int:
    """Print versions, devices and data sources."""
    from cnn_course.doctor import report_lines

    print("\n".join(report_lines()))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `cnn-course` console script."""
    from cnn_course.assign import AssignError
    from cnn_course.data import DataError
    from cnn_course.notebooks import NotebookError

    args = build_parser().parse_args(argv)
    handlers = {"train": run_train, "assign": run_assign, "doctor": run_doctor}
    try:
        return handlers[args.command](args)
    except (DataError, AssignError, NotebookError) as error:
        print(f"cnn-course {args.command}: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"cnn-course {args.command}: interrupted.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
