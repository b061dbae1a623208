"""The web app of `cnn-course serve`: its JSON API through Flask's test client, then a real waitress
server on 127.0.0.1 answering 50 concurrent requests, then the page in Debian's chromium."""

from __future__ import annotations

import concurrent.futures
import io
import json
import os
import shutil
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path

import numpy as np
import pytest
import waitress
from PIL import Image

from cnn_course.inference import load_classifier
from cnn_course.serving import create_app

from .deploy_models import CLASS_NAMES, image_bytes, saved_classifier

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "site-screenshots"


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    return saved_classifier(tmp_path_factory.mktemp("model"))


@pytest.fixture(scope="module")
def client(model_path):
    return create_app(model_path, max_upload_bytes=1_000_000).test_client()


def post(client, data: bytes, field: str = "file", filename: str = "x.png", query: str = ""):
    return client.post(
        f"/predict{query}", data={field: (io.BytesIO(data), filename)}, content_type="multipart/form-data"
    )


def assert_same_predictions(answered: list[dict], expected: list[tuple[str, float]]) -> None:
    assert [p["class"] for p in answered] == [label for label, _ in expected]
    assert [p["probability"] for p in answered] == pytest.approx([probability for _, probability in expected], abs=1e-6)


def test_health_and_classes(client):
    assert client.get("/health").get_json() == {"status": "ok", "model": "model.keras", "classes": 3}
    assert client.get("/classes").get_json() == {"class_names": list(CLASS_NAMES)}


def test_predict_answers_the_top_3_as_predict_does(client, model_path):
    response = post(client, image_bytes(1, (40, 30), "L"), filename="gray.png")
    assert response.status_code == 200
    answer = response.get_json()
    expected = load_classifier(model_path).top_k(image_bytes(1, (40, 30), "L"), 3)
    assert answer["file"] == "gray.png"
    assert_same_predictions(answer["predictions"], expected)
    assert sum(p["probability"] for p in answer["predictions"]) == pytest.approx(1, abs=1e-5)  # 3 classes


def test_predict_k(client):
    assert len(post(client, image_bytes(), query="?k=1").get_json()["predictions"]) == 1
    assert post(client, image_bytes(), query="?k=two").status_code == 400


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (b"GIF89a but not really", "file", "x.png: not an image file"),
        (image_bytes(format="JPEG")[:150], "file", "x.png: corrupt or truncated image"),
        (image_bytes(), "image", "send it as the multipart form field 'file' (this request has 'image')"),
    ],
)
def test_bad_requests_get_a_400_saying_why(client, data, field, message):
    response = post(client, data, field)
    assert response.status_code == 400
    assert message in response.get_json()["error"]


def test_an_empty_post_gets_a_400(client):
    response = client.post("/predict")
    assert response.status_code == 400 and "no image" in response.get_json()["error"]


def test_an_oversized_upload_gets_a_413(client):
    response = post(client, b"\0" * 1_100_000)
    assert response.status_code == 413
    assert response.get_json() == {"error": "upload too large: at most 1,000,000 bytes."}


def test_unknown_paths_and_methods_answer_json(client):
    assert client.get("/nowhere").status_code == 404 and "error" in client.get("/nowhere").get_json()
    assert client.get("/predict").status_code == 405


def test_the_page_has_the_upload_form(client):
    page = client.get("/").get_data(as_text=True)
    assert '<input id="file" type="file"' in page and "model.keras" in page


def test_uploads_never_touch_the_disk(model_path, monkeypatch):
    """Werkzeug spools uploads over 500 kB to a temporary file by default; the app keeps them in memory."""

    def refuse(*args, **kwargs):
        raise AssertionError("an upload was about to be written to a temporary file")

    monkeypatch.setattr(tempfile, "SpooledTemporaryFile", refuse)
    monkeypatch.setattr(tempfile, "TemporaryFile", refuse)
    monkeypatch.setattr(tempfile, "NamedTemporaryFile", refuse)
    noise = np.random.default_rng(0).integers(0, 256, (600, 600, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(noise).save(buffer, format="PNG")
    assert len(buffer.getvalue()) > 1_000_000
    response = post(create_app(model_path, max_upload_bytes=4_000_000).test_client(), buffer.getvalue())
    assert response.status_code == 200


def test_the_model_is_loaded_once_when_the_app_is_created(tmp_path):
    path = saved_classifier(tmp_path)
    client = create_app(path).test_client()
    before = post(client, image_bytes(3)).get_json()
    path.unlink()
    assert post(client, image_bytes(3)).get_json() == before


@pytest.fixture(scope="module")
def server_url(model_path):
    """The app on waitress, on a free port of 127.0.0.1, as `cnn-course serve` runs it."""
    server = waitress.create_server(create_app(model_path), host="127.0.0.1", port=0, threads=8)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.effective_port}/"
    server.close()


def multipart(data: bytes, filename: str) -> tuple[bytes, str]:
    """A multipart/form-data body holding `data` as field "file", and its content type."""
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            f"Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def post_over_http(url: str, data: bytes, filename: str) -> tuple[int, dict]:
    body, content_type = multipart(data, filename)
    request = urllib.request.Request(url + "predict", data=body, headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def test_50_concurrent_requests_are_all_answered_correctly(server_url, model_path):
    classifier = load_classifier(model_path)
    images = [image_bytes(seed, (8 + seed % 5, 8 + seed % 7), ("RGB", "L", "RGBA")[seed % 3]) for seed in range(50)]
    expected = [classifier.top_k(data, 3) for data in images]
    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=50) as pool:
        answers = list(pool.map(lambda item: post_over_http(server_url, item[1], f"{item[0]}.png"), enumerate(images)))
    seconds = time.perf_counter() - start
    assert [status for status, _ in answers] == [200] * 50
    for (_, answer), want, index in zip(answers, expected, range(50)):
        assert answer["file"] == f"{index}.png"
        assert_same_predictions(answer["predictions"], want)
    print(f"50 concurrent requests answered in {seconds:.2f} s")


def test_a_corrupt_file_over_http_is_a_400(server_url):
    status, answer = post_over_http(server_url, b"\x89PNG\r\n\x1a\n broken", "broken.png")
    assert status == 400 and answer["error"].startswith("broken.png: ")


def chromium_or_skip() -> str:
    path = os.environ.get("CHROMIUM") or shutil.which("chromium")
    if not path:
        if os.environ.get("CNN_COURSE_REQUIRE_SITE_TEST") == "1":
            pytest.fail("no chromium: install Debian's package (apt-get install chromium)")
        pytest.skip("no chromium: install Debian's package (apt-get install chromium) or set CHROMIUM to its path")
    return path


def test_a_person_uploads_an_image_and_sees_three_labels(server_url, tmp_path):
    from playwright.sync_api import sync_playwright

    from tests.site.test_site_browser import CHROMIUM_ARGS

    image = tmp_path / "upload.png"
    Image.open(io.BytesIO(image_bytes(7, (64, 48)))).save(image)
    SCREENSHOTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_or_skip(), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 900, "height": 600})
        page.goto(server_url)
        page.screenshot(path=SCREENSHOTS / "serve-empty.png")
        page.set_input_files("#file", str(image))
        page.wait_for_selector("#predictions .prediction >> nth=2")
        labels = page.locator("#predictions .label").all_inner_texts()
        page.screenshot(path=SCREENSHOTS / "serve-prediction.png")
        page.set_input_files("#file", files=[{"name": "notes.png", "mimeType": "image/png", "buffer": b"not an image"}])
        page.wait_for_function("document.getElementById('error').textContent.length > 0")
        error = page.locator("#error").inner_text()
        page.screenshot(path=SCREENSHOTS / "serve-error.png")
        browser.close()
    assert len(labels) == 3
    assert all(label.split()[0] in CLASS_NAMES and label.endswith("%") for label in labels)
    assert error.startswith("notes.png: not an image file")


def test_serve_says_when_the_port_is_taken(model_path, capsys):
    import socket

    from cnn_course.commands.cli import main

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        assert main(["serve", str(model_path), "--port", str(busy.getsockname()[1])]) == 2
    assert "choose another --port" in capsys.readouterr().err


def test_the_banner_says_who_can_reach_the_app():
    from cnn_course.commands.deploy import serve_banner

    local = serve_banner(Path("m.keras"), "127.0.0.1", 5000, 8)
    assert "http://localhost:5000/" in local and "--host 0.0.0.0" in local
    assert "every machine that can reach this one" in serve_banner(Path("m.keras"), "0.0.0.0", 5000, 8)
