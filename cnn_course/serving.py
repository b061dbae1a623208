"""A trained classifier as a web app: an upload page and a JSON API, built by the factory `create_app`.

    GET  /          the page: choose or drop an image, see it with its top-3 classes as bars
    POST /predict   multipart form with the image in field "file" (optional ?k=N): JSON top-k, with
                    "warnings": sentences saying how the image is unlike the training images (or [])
    GET  /health    JSON: the model is loaded and answering
    GET  /classes   JSON: the class names, in the model's output order

The model is loaded once, when the app is created, and shared by every request (predictions take
a lock: see `Classifier.predict`). Uploads are read into memory only, never written to disk, and
limited in size (413). Anything that is not a readable image gets a 400 saying so.

Development server: `cnn-course serve MODEL`. Production: any WSGI server, e.g.
`waitress-serve --threads 8 --call cnn_course.serving:create_app_from_env` with CNN_COURSE_MODEL
set, or `gunicorn -w 2 --threads 4 'cnn_course.serving:create_app("model.keras")'`.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

from flask import Flask, Request, jsonify, request
from werkzeug.exceptions import HTTPException

from cnn_course.images import ImageError
from cnn_course.inference import Classifier, load_classifier

DEFAULT_MAX_UPLOAD_BYTES = 8 * 1024 * 1024
MODEL_ENV_VAR = "CNN_COURSE_MODEL"
FILE_FIELD = "file"


class InMemoryRequest(Request):
    """A request whose uploaded files stay in memory (Werkzeug spools large ones to a temporary file)."""

    def _get_file_stream(self, total_content_length, content_type, filename=None, content_length=None):  # noqa: ANN001 - Werkzeug's signature
        return io.BytesIO()


def error_response(status: int, message: str):
    """A JSON error `{"error": message}` with HTTP `status`."""
    response = jsonify(error=message)
    response.status_code = status
    return response


def create_app(
    model_path: str | Path, max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES, classifier: Classifier | None = None
) -> Flask:
    """Return the Flask app serving the classifier saved at `model_path` (loaded now, in safe mode, once).

    `max_upload_bytes` caps a request's size (larger: 413). Pass `classifier` to serve one already
    loaded. Raises ModelFileError, ClassNamesError or ImageError (from `load_classifier`) for a
    model that cannot be served.
    """
    classifier = classifier or load_classifier(model_path)
    app = Flask(__name__)
    app.request_class = InMemoryRequest
    app.config["MAX_CONTENT_LENGTH"] = max_upload_bytes
    app.json.sort_keys = False
    model_name = Path(model_path).name

    @app.get("/")
    def page():
        return PAGE.replace("{{model}}", model_name).replace("{{limit}}", f"{max_upload_bytes / 1024**2:g} MiB")

    @app.get("/health")
    def health():
        return jsonify(status="ok", model=model_name, classes=len(classifier.class_names))

    @app.get("/classes")
    def classes():
        return jsonify(class_names=list(classifier.class_names))

    @app.post("/predict")
    def predict():
        upload = request.files.get(FILE_FIELD)
        if upload is None:
            fields = sorted(set(request.files) | set(request.form))
            found = f" (this request has {', '.join(repr(f) for f in fields)})" if fields else ""
            return error_response(
                400,
                f"no image: send it as the multipart form field '{FILE_FIELD}'{found}, "
                f"e.g. curl -F {FILE_FIELD}=@cat.png http://HOST/predict",
            )
        try:
            k = int(request.args.get("k", 3))
        except ValueError:
            return error_response(400, "k must be a whole number, e.g. /predict?k=5")
        name = upload.filename or "the upload"
        try:
            result = classifier.classify(upload.read(), max(1, min(k, len(classifier.class_names))), name)
        except ImageError as error:
            return error_response(400, str(error))
        predictions = [{"class": label, "probability": probability} for label, probability in result.predictions]
        return jsonify(file=name, predictions=predictions, warnings=result.warnings)

    @app.errorhandler(413)
    def too_large(error: HTTPException):
        return error_response(413, f"upload too large: at most {max_upload_bytes:,} bytes.")

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        return error_response(error.code or 500, f"{error.name}: {error.description}")

    return app


def create_app_from_env() -> Flask:
    """The app for the model named by $CNN_COURSE_MODEL (for WSGI servers whose factories take no arguments)."""
    path = os.environ.get(MODEL_ENV_VAR)
    if not path:
        raise RuntimeError(
            f"set {MODEL_ENV_VAR} to the .keras file to serve, e.g. {MODEL_ENV_VAR}=runs/cifar10/model.keras"
        )
    return create_app(path)


PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>cnn-course · {{model}}</title>
<style>
  body { font-family: system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
  h1 { font-size: 1.4rem; }
  #drop { border: 2px dashed #3f51b5; border-radius: 8px; padding: 2rem; text-align: center; cursor: pointer; }
  #drop.over { background: #e8eaf6; }
  #result { display: flex; gap: 1.5rem; margin-top: 1.5rem; align-items: flex-start; }
  #preview { width: 160px; height: 160px; object-fit: contain; image-rendering: pixelated; background: #eee; border-radius: 4px; }
  #predictions { flex: 1; list-style: none; padding: 0; margin: 0; }
  .prediction { margin-bottom: 0.8rem; }
  .bar { background: #3f51b5; height: 0.9rem; border-radius: 3px; min-width: 2px; }
  #error { color: #b00020; }
  #warnings { background: #fff4e5; border-left: 4px solid #b35c00; color: #5c2e00; padding: 0.5rem 0.8rem;
              margin: 1rem 0 0; }
  #warnings:empty { display: none; }
  .hidden { display: none !important; }
</style>
</head>
<body>
<h1>Image classifier <small>({{model}})</small></h1>
<div id="drop">Drop an image here, or click to choose one (PNG or JPEG, up to {{limit}})
  <input id="file" type="file" accept="image/*" class="hidden">
</div>
<p id="error" role="alert"></p>
<ul id="warnings" role="status" aria-label="warnings about this image"></ul>
<div id="result" class="hidden">
  <img id="preview" alt="the uploaded image">
  <ol id="predictions"></ol>
</div>
<script>
const drop = document.getElementById("drop"), input = document.getElementById("file");
drop.addEventListener("click", () => input.click());
drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (event) => {
  event.preventDefault(); drop.classList.remove("over");
  if (event.dataTransfer.files.length) classify(event.dataTransfer.files[0]);
});
input.addEventListener("change", () => { if (input.files.length) classify(input.files[0]); });

async function classify(file) {
  const error = document.getElementById("error"), result = document.getElementById("result");
  error.textContent = "";
  document.getElementById("warnings").replaceChildren();
  const form = new FormData();
  form.append("file", file);
  const response = await fetch("predict", { method: "POST", body: form });
  const answer = await response.json().catch(() => ({ error: "the server answered " + response.status }));
  if (!response.ok) { result.classList.add("hidden"); error.textContent = answer.error; return; }
  document.getElementById("preview").src = URL.createObjectURL(file);
  const list = document.getElementById("predictions");
  list.replaceChildren(...answer.predictions.map(({ class: label, probability }) => {
    const item = document.createElement("li"), text = document.createElement("div"), bar = document.createElement("div");
    item.className = "prediction";
    text.className = "label";
    text.textContent = label + " " + (100 * probability).toFixed(1) + " %";
    bar.className = "bar";
    bar.style.width = (100 * probability).toFixed(1) + "%";
    item.append(text, bar);
    return item;
  }));
  document.getElementById("warnings").replaceChildren(...(answer.warnings || []).map((warning) => {
    const item = document.createElement("li");
    item.textContent = "Warning: " + warning;
    return item;
  }));
  result.classList.remove("hidden");
}
</script>
</body>
</html>
"""  # noqa: E501 (the page as served; splitting its lines would change it)
