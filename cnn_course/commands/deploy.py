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
    lines += [f"  {label:<{width}}  {probability:7.2%}  {'█' * round(probability * 20)}".rstrip() for label, probability in predictions]
    return "\n".join(lines)


def format_table(rows: list[tuple[str, list[tuple[str, float]]]]) -> str:
    """Many images' top-k as a table: one row per image, one column per rank ("cat 87.1%")."""
    k = max(len(predictions) for _, predictions in rows)
    header = ["image"] + [f"top-{rank}" for rank in range(1, k + 1)]
    cells = [[name] + [f"{label} {probability:.1%}" for label, probability in predictions] for name, predictions in rows]
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
    rows, failed = [], 0
    for path in args.images:
        try:
            rows.append((str(path), classifier.top_k(Path(path), k)))
        except ImageError as error:
            print(f"cnn-course predict: {error}", file=sys.stderr)
            failed += 1
    if len(rows) == 1 and len(args.images) == 1:
        print(format_one(*rows[0]))
    elif rows:
        print(format_table(rows))
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
        lines.append("Only this computer can reach it. To let other machines in, run with --host 0.0.0.0 "
                     "(anyone on your network can then use it: put a reverse proxy with HTTPS in front before the internet).")
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
        print(f"cnn-course serve: cannot listen on {args.host}:{args.port} ({error.strerror or error}); "
              "choose another --port, or stop the program using it.", file=sys.stderr)
        return 2
    print(serve_banner(args.model, args.host, server.effective_port, args.threads), flush=True)
    server.run()
    return 0


EXPORT_DATASETS = {(28, 28, 1): "mnist", (32, 32, 3): "cifar10"}
MIN_AGREEMENT = 0.99


def interpreter_name() -> str:
    """Which LiteRT interpreter `export` runs, with its version."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"ai-edge-litert {version('ai-edge-litert')}"
    except PackageNotFoundError:
        return f"tf.lite.Interpreter of tensorflow {version('tensorflow')}"


def run_export(args: argparse.Namespace) -> int:
    """Export to LiteRT, then compare it with the Keras model on test images; 1 if they disagree."""
    import time

    from cnn_course import data
    from cnn_course.export import check_export, export_litert

    classifier = load_classifier(args.model)
    dataset = args.dataset or EXPORT_DATASETS.get(classifier.input_shape)
    if dataset is None:
        print(f"cnn-course export: no test set matches the model's input shape {classifier.input_shape}; "
              "pass --dataset mnist or cifar10 if it was trained on one of them.", file=sys.stderr)
        return 2
    start = time.perf_counter()
    out = export_litert(classifier.model, args.model, args.out)
    export_seconds = time.perf_counter() - start
    loader = data.load_mnist if dataset == "mnist" else data.load_cifar10
    _, (x_test, y_test) = loader(args.data_dir)
    x = data.add_channel_axis(data.scale_images(x_test[: args.test_images]))  # exactly as in training
    result = check_export(classifier.model, args.model, out, x, y_test[: args.test_images])
    title = {"mnist": "MNIST", "cifar10": "CIFAR-10"}[dataset]
    agreeing = round(result.agreement * result.images)
    print(f"exported {args.model} ({result.keras_bytes / 1e6:.2f} MB) to {out} ({result.litert_bytes / 1e6:.2f} MB) in {export_seconds:.1f} s")
    print(f"checked on {result.images:,} {title} test images with {interpreter_name()}:")
    print(f"  top-1 agreement        {result.agreement:.2%} ({agreeing:,} of {result.images:,}); largest probability difference {result.max_probability_difference:.1e}")
    print(f"  test accuracy          Keras {result.keras_accuracy:.2%}   LiteRT {result.litert_accuracy:.2%}")
    print(f"  one image at a time    Keras {result.keras_ms_per_image:.2f} ms   LiteRT {result.litert_ms_per_image:.2f} ms per image")
    print(f"  Keras, batches of 256  {result.keras_batch_ms_per_image:.2f} ms per image")
    if result.agreement < MIN_AGREEMENT:
        print(f"cnn-course export: the LiteRT model agrees with the Keras model on only {result.agreement:.2%} of the images "
              f"(at least {MIN_AGREEMENT:.0%} expected); do not deploy it. A layer may convert differently: check the converter's warnings with --verbose.",
              file=sys.stderr)
        return 1
    return 0
