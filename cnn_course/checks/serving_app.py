"""Checks for lesson 09's web app (`create_app`).

The learner's app lives in the learner process; the check drives it through requests carried
there (`ServedApp`, which behaves as Flask's test client), or through Flask's test client when the
exercise runs in this process (a lesson's `self_check`).
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from cnn_course.checks.calls import call_with_details
from cnn_course.checks.deployment import (
    UPLOAD_LIMIT,
    drawn_classes,
    drawn_pixels,
    expect_pairs,
    expected_top_k,
    reference_model,
    scratch_folder,
    write_image,
)
from cnn_course.checks.feedback import CheckFailed


class AppClient:
    """GET and multipart POST against the learner's app through its test client.

    The app is a Flask app when the exercise ran in this process, or a
    `cnn_course.runtime.protocol.ServedApp` standing for the app that lives in the learner process:
    both answer `test_client()`, whose `get` and `post` return responses with `status_code` and
    `get_data()`.
    """

    def __init__(self, exercise: str, app: object) -> None:
        if not callable(getattr(app, "test_client", None)):
            raise CheckFailed(
                exercise,
                f"returned a {type(app).__name__}, not a Flask app.",
                "create app = Flask(__name__), add the routes, and `return app`.",
            )
        if getattr(app, "logger", None) is not None:
            app.logger.disabled = (
                True  # a route's crash is reported by its status; Flask's traceback would bury the hint
            )
        self.client = app.test_client()

    def get(self, path: str) -> tuple[int, object]:
        """Status and JSON body (None when the body is not JSON) of GET `path`."""
        response = self.client.get(path)
        return response.status_code, _json_or_none(response.get_data())

    def post_file(self, path: str, field: str, filename: str, data: bytes) -> tuple[int, object]:
        """Status and JSON body of a multipart POST with `data` as file field `field`."""
        response = self.client.post(
            path, data={field: (io.BytesIO(data), filename)}, content_type="multipart/form-data"
        )
        return response.status_code, _json_or_none(response.get_data())


def _json_or_none(body: bytes) -> object:
    try:
        return json.loads(body)
    except ValueError:
        return None


def _png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def _files_since(folders: Sequence[Path], since: float, depth: int = 2) -> Iterator[Path]:
    """Files modified at or after `since` under `folders`, at most `depth` folders deep."""
    for folder in folders:
        base = len(folder.parts)
        for root, directories, files in os.walk(folder):
            if len(Path(root).parts) - base >= depth:
                directories.clear()
            for file in files:
                path = Path(root, file)
                try:
                    if path.stat().st_mtime >= since:
                        yield path
                except OSError:
                    continue


def _find_upload_copies(uploads: dict[str, bytes], folders: Sequence[Path], since: float, own: set[Path]) -> list[Path]:
    """Files written since `since` (other than `own`) that hold an upload's bytes or carry its name."""
    sizes = {len(data) for data in uploads.values()}
    copies = []
    for path in _files_since(folders, since):
        if path in own:
            continue
        try:
            if path.name in uploads or (path.stat().st_size in sizes and path.read_bytes() in uploads.values()):
                copies.append(path)
        except OSError:
            continue
    return copies


def _predictions(name: str, status: int, answer: object, what: str) -> list[tuple[str, float]]:
    if status != 200:
        detail = f": {answer['error']}" if isinstance(answer, dict) and "error" in answer else ""
        raise CheckFailed(
            name,
            f"POST /predict with {what} answered status {status}{detail}; expected 200.",
            "read the upload with request.files['file'], predict, and return jsonify(predictions=[...]).",
        )
    if not isinstance(answer, dict) or not isinstance(answer.get("predictions"), list):
        raise CheckFailed(
            name,
            f"POST /predict answered {str(answer)[:200]!r}; expected JSON with a list under 'predictions'.",
            "return jsonify(predictions=[{'class': name, 'probability': p}, ...]).",
        )
    pairs = []
    for item in answer["predictions"]:
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("class"), str)
            or not isinstance(item.get("probability"), int | float)
        ):
            raise CheckFailed(
                name,
                f"a prediction is {item!r}; expected {{'class': name, 'probability': number}}.",
                "build each item as {'class': name, 'probability': float(p)}.",
            )
        pairs.append((item["class"], float(item["probability"])))
    return pairs


def _expect_error(name: str, client: AppClient, status: int, answer: object, wanted: int, what: str, hint: str) -> None:
    if status != wanted:
        raise CheckFailed(name, f"POST /predict with {what} answered status {status}; expected {wanted}.", hint)
    if wanted == 400 and not (isinstance(answer, dict) and isinstance(answer.get("error"), str) and answer["error"]):
        raise CheckFailed(
            name,
            f"the {wanted} answer to {what} is {str(answer)[:200]!r}; expected JSON with a message under 'error'.",
            "return jsonify(error='...what went wrong...'), 400.",
        )


def run_app_checks(create_app: Callable) -> list[tuple[str, float]]:
    """Create the learner's app on a saved model, break the model file, and exercise every route.

    Return the prediction of a known image.
    """
    name = "create_app"
    classes, model_seed, image_seed = drawn_classes(name)
    with scratch_folder() as folder:
        model_path = folder / "model" / "classifier.keras"
        model_path.parent.mkdir()
        model = reference_model(model_seed)
        model.save(model_path)
        image_path = write_image(folder / "image.png", drawn_pixels(image_seed, 16, 16))
        expected = expected_top_k(model, image_path, classes, 3)
        watched = [folder, Path(tempfile.gettempdir()), Path.cwd()]
        started = time.time() - 1  # file times have whole-second resolution on some systems
        call = call_with_details(create_app, model_path, list(classes), max_upload_bytes=UPLOAD_LIMIT)
        if call.started_server:
            raise CheckFailed(
                name,
                "create_app starts a web server (it calls app.run(...)): a server runs until it is stopped, so "
                "create_app would never return its app.",
                "return the app without running it: `cnn-course serve` (or `flask run`) starts the server; app.run() "
                "belongs only under `if __name__ == '__main__':` in a script of its own.",
            )
        app = call.value
        if isinstance(getattr(app, "working_folder", None), Path):
            watched.append(app.working_folder)  # a ServedApp: where the learner process writes relative paths
        client = AppClient(name, app)
        model_path.write_bytes(b"replaced after create_app returned")  # an app that reloads the model now fails

        status, answer = client.get("/health")
        if status != 200:
            raise CheckFailed(
                name,
                f"GET /health answered status {status}; expected 200.",
                "add @app.get('/health') returning jsonify(status='ok').",
            )

        token = uuid.uuid4().hex[:8]
        uploads = {f"upload-{token}.png": image_path.read_bytes()}
        status, answer = client.post_file("/predict", "file", f"upload-{token}.png", uploads[f"upload-{token}.png"])
        if status >= 500:
            raise CheckFailed(
                name,
                f"POST /predict answered status {status} after the model file was replaced, "
                "once create_app had returned.",
                "load the model once, in create_app, before defining the routes; "
                "a route that loads it again reads the file at every request "
                "(slow, and broken when the file changes).",
            )
        found = _predictions(name, status, answer, "a 16x16 PNG")
        if [label for label, _ in found] != [label for label, _ in expected] or not np.allclose(
            [p for _, p in found], [p for _, p in expected], atol=1e-4
        ):
            raise CheckFailed(
                name,
                f"POST /predict answered {[(label, round(p, 4)) for label, p in found]}; "
                f"expected {[(label, round(p, 4)) for label, p in expected]}.",
                "predict with the model loaded in create_app and the same preprocessing as predict_top_k "
                "(top 3, most probable first).",
            )

        photo = io.BytesIO()
        Image.fromarray(drawn_pixels(image_seed + 1, 60, 80, smooth=True)).save(photo, format="JPEG", quality=90)
        uploads[f"photo-{token}.jpg"] = photo.getvalue()
        status, answer = client.post_file("/predict", "file", f"photo-{token}.jpg", photo.getvalue())
        if len(_predictions(name, status, answer, "an 80x60 JPEG")) != 3:
            raise CheckFailed(
                name,
                f"POST /predict answered {len(answer['predictions'])} predictions; expected the top 3.",
                "return the 3 most probable classes.",
            )

        status, answer = client.post_file(
            "/predict", "file", f"broken-{token}.png", _png(drawn_pixels(image_seed + 2, 16, 16))[:60]
        )
        _expect_error(
            name,
            client,
            status,
            answer,
            400,
            "a corrupt PNG",
            "catch the error of decoding the upload (PIL raises OSError or UnidentifiedImageError) and return "
            "jsonify(error=...), 400.",
        )
        status, answer = client.post_file("/predict", "file", f"notes-{token}.txt", b"these are not pixels")
        _expect_error(
            name,
            client,
            status,
            answer,
            400,
            "a text file",
            "catch the error of decoding the upload and return jsonify(error=...), 400.",
        )
        status, answer = client.post_file("/predict", "picture", f"field-{token}.png", uploads[f"upload-{token}.png"])
        _expect_error(
            name,
            client,
            status,
            answer,
            400,
            "the image in a field named 'picture' instead of 'file'",
            "check `'file' in request.files` and answer 400 with a message saying which field to use.",
        )
        status, answer = client.post_file("/predict", "file", f"huge-{token}.png", b"\0" * (UPLOAD_LIMIT + 50_000))
        _expect_error(
            name,
            client,
            status,
            answer,
            413,
            f"an upload of {UPLOAD_LIMIT + 50_000:,} bytes (max_upload_bytes={UPLOAD_LIMIT:,})",
            "set app.config['MAX_CONTENT_LENGTH'] = max_upload_bytes: Flask then answers 413 by itself.",
        )

        copies = _find_upload_copies(uploads, watched, started, own={image_path, model_path})
        if copies:
            raise CheckFailed(
                name,
                f"an upload was written to disk: {copies[0]}.",
                "read the upload in memory (Image.open(request.files['file'].stream)); "
                "a server that saves uploads fills its disk and keeps people's files.",
            )
        return found


def check_create_app(create_app: Callable) -> None:
    """create_app(model_path, class_names, max_upload_bytes) gives a Flask app serving top-3 predictions as JSON."""
    run_app_checks(create_app)


def check_app_matches_predict_top_k(create_app: Callable, predict_top_k: Callable) -> None:
    """The app's answer for an image file equals predict_top_k's for the same file (one preprocessing path)."""
    answered = run_app_checks(create_app)
    classes, model_seed, image_seed = drawn_classes("create_app")
    with scratch_folder() as folder:
        path = write_image(folder / "image.png", drawn_pixels(image_seed, 16, 16))
        found = expect_pairs("predict_top_k", predict_top_k(reference_model(model_seed), path, classes, k=3), 3)
    if [label for label, _ in answered] != [label for label, _ in found] or not np.allclose(
        [p for _, p in answered], [p for _, p in found], atol=1e-5
    ):
        raise CheckFailed(
            "create_app",
            f"the app answers {answered} for an image; predict_top_k returns {found} for the same file.",
            "let the app call predict_top_k (and so load_image) on the upload: "
            "one preprocessing path for the notebook and the server.",
        )
