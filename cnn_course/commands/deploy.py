"""`cnn-course predict`, `serve` and `export`: a trained model used after the course."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cnn_course.images import ImageError
from cnn_course.inference import load_classifier


def format_one(name: str, predictions: list[tuple[str, float]]) -> str:
    """One image's top-k as an indented list: class name, probability in percent, a bar."""
    width = max(len(label) for label, _ in predictions)
    lines = [name]
    lines += [
        f"  {label:<{width}}  {probability:7.2%}  {'█' * round(probability * 20)}".rstrip()
        for label, probability in predictions
    ]
    return "\n".join(lines)


def format_table(rows: list[tuple[str, list[tuple[str, float]]]]) -> str:
    """Many images' top-k as a table: one row per image, one column per rank ("cat 87.1%")."""
    k = max(len(predictions) for _, predictions in rows)
    header = ["image"] + [f"top-{rank}" for rank in range(1, k + 1)]
    cells = [
        [name] + [f"{label} {probability:.1%}" for label, probability in predictions] for name, predictions in rows
    ]
    widths = [max(len(row[column]) for row in [header, *cells] if column < len(row)) for column in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in [header, *cells]]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def run_predict(args: argparse.Namespace) -> int:
    """Print the top-k classes of each image; a bad file gets one line on stderr and the rest go on.

    Returns 0 when every image was classified, 1 when any failed.
    """
    classifier = load_classifier(args.model)
    if classifier.note:
        print(f"note: {classifier.note}", file=sys.stderr)
    k = min(args.top, len(classifier.class_names))
    rows, warnings, failed = [], [], 0
    for path in args.images:
        try:
            result = classifier.classify(Path(path), k)
        except ImageError as error:
            print(f"cnn-course predict: {error}", file=sys.stderr)
            failed += 1
            continue
        rows.append((str(path), result.predictions))
        warnings += [f"warning: {path}: {warning}" for warning in result.warnings]
    if len(rows) == 1 and len(args.images) == 1:
        print(format_one(*rows[0]))
    elif rows:
        print(format_table(rows))
    for warning in warnings:
        print(warning)
    if failed:
        print(f"{failed} of {len(args.images)} files could not be classified.", file=sys.stderr)
    return 1 if failed else 0


def serve_banner(model: Path, host: str, port: int, threads: int) -> str:
    """What `serve` prints at start: where the app is, who can reach it, how to go further."""
    shown = "localhost" if host in ("127.0.0.1", "localhost", "::1") else host
    lines = [
        f"Serving {model} at http://{shown}:{port}/  (JSON API: POST /predict, GET /health, GET /classes)",
        f"waitress, {threads} threads; Ctrl+C stops it.",
    ]
    if shown == "localhost":
        lines.append(
            "Only this computer can reach it. To let other machines in, run with --host 0.0.0.0 "
            "(anyone on your network can then use it: put a reverse proxy with HTTPS in front before the internet)."
        )
    else:
        lines.append(f"Listening on {host}: every machine that can reach this one can use the app; it has no login.")
    return "\n".join(lines)


def run_serve(args: argparse.Namespace) -> int:
    """Load the model once and serve the app with waitress until interrupted."""
    import waitress

    from cnn_course.serving import create_app

    app = create_app(args.model, max_upload_bytes=int(args.max_upload_mb * 1024 * 1024))
    try:
        server = waitress.create_server(app, host=args.host, port=args.port, threads=args.threads, ident="cnn-course")
    except OSError as error:
        print(
            f"cnn-course serve: cannot listen on {args.host}:{args.port} ({error.strerror or error}); "
            "choose another --port, or stop the program using it.",
            file=sys.stderr,
        )
        return 2
    print(serve_banner(args.model, args.host, server.effective_port, args.threads), flush=True)
    server.run()
    return 0


def run_export(args: argparse.Namespace) -> int:
    """Export to LiteRT and check it against the Keras model (`export.export_and_check`); 1 if they disagree."""
    from cnn_course.export import MIN_AGREEMENT, export_and_check

    report = export_and_check(args.model, args.out, args.dataset, args.image_size, args.test_images, args.data_dir)
    print("\n".join(report.lines()))
    if not report.passed:
        print(
            f"cnn-course export: the LiteRT model agrees with the Keras model on only {report.check.agreement:.2%} of "
            f"the images (at least {MIN_AGREEMENT:.0%} expected), so it was not kept. "
            "A layer may convert differently: check the converter's warnings with --verbose.",
            file=sys.stderr,
        )
        return 1
    return 0
