"""`python -m cnn_course.pretrained build|show`: rebuild the pretrained backbone, or show its provenance."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from cnn_course.pretrained import FOLDER, BackboneError, verify_backbone


def build_parser() -> argparse.ArgumentParser:
    from cnn_course.commands.arguments import positive_int

    parser = argparse.ArgumentParser(prog="python -m cnn_course.pretrained", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser(
        "build", help="pretrain the backbone on five CIFAR-10 classes and write it with its provenance"
    )
    build.add_argument(
        "--out",
        type=Path,
        default=FOLDER,
        help="folder to write cifar5_backbone.keras and .json to (default: the package)",
    )
    build.add_argument("--epochs", type=positive_int, default=None, help="training epochs (default: the recipe's)")
    build.add_argument("--seed", type=int, default=None, help="random seed (default: the recipe's)")
    build.add_argument(
        "--train-images",
        type=positive_int,
        default=None,
        help="train on a stratified subset of this size, to try the recipe quickly",
    )
    build.add_argument(
        "--data-dir",
        default=None,
        help="folder holding cifar-10-batches-py/ (default: $CNN_COURSE_DATA, else keras.datasets)",
    )
    commands.add_parser("show", help="verify the shipped backbone's checksum and print its provenance")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "show":
        try:
            print(json.dumps(verify_backbone(), indent=2))
        except BackboneError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        return 0
    from cnn_course.data import DataError
    from cnn_course.pretrained import backbone

    options = {key: value for key, value in (("epochs", args.epochs), ("seed", args.seed)) if value is not None}
    try:
        record = backbone.pretrain(args.out, train_images=args.train_images, data_dir=args.data_dir, **options)
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(
        f"wrote {args.out / record['file']} ({record['size_bytes'] / 1e6:.2f} MB, sha256 {record['sha256'][:12]}…) and "
        f"its provenance: {record['accuracy']['source_test']:.2%} on "
        f"the {record['accuracy']['source_test_images']:,} test images of {', '.join(record['source_classes'])}, "
        f"after {record['train_seconds']:.0f} s of training"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
