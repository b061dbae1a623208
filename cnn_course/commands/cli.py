"""The `cnn-course` command: train, predict, serve, export, export-images, assign, grade, doctor."""

from __future__ import annotations

import argparse
import os
import platform
import sys
from pathlib import Path

from cnn_course import quiet
from cnn_course.commands.arguments import build_parser


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
