"""A save in Jupyter of an unchanged lesson or master changes no byte of either file of the pair.

The files are saved as JupyterLab saves them: through a real `jupyter server` (with Jupytext's
contents manager and the project's jupytext.toml), GET then PUT of each notebook over the REST
contents API, in a git repository holding copies of lessons/, solutions/ and jupytext.toml; then
`git status` must show nothing.
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import jupytext
import pytest
import requests

from .conftest import LESSONS, REPO, SOLUTIONS


@contextlib.contextmanager
def jupyter_server(root: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """Run `jupyter server` on a free localhost port serving `root`; yield its contents API URL and auth header."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    token = secrets.token_hex(16)
    command = [
        sys.executable,
        "-m",
        "jupyter_server",
        "--no-browser",
        "--allow-root",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        f"--ServerApp.root_dir={root}",
        f"--IdentityProvider.token={token}",
    ]
    log = root.parent / "jupyter-server.log"
    with log.open("w") as output:
        server = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
    url, headers = f"http://127.0.0.1:{port}/api/contents/", {"Authorization": f"token {token}"}
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None and time.monotonic() < deadline, (
                f"jupyter server did not start:\n{log.read_text()}"
            )
            with contextlib.suppress(requests.ConnectionError):
                if requests.get(url, headers=headers, timeout=5).ok:
                    break
            time.sleep(0.5)
        yield url, headers
    finally:
        server.terminate()
        server.wait(timeout=30)


def save_through_jupyter(root: Path, paths: list[str]) -> None:
    """GET each notebook (path relative to `root`) from a Jupyter server and PUT it back unchanged, as a save does."""
    with jupyter_server(root) as (url, headers):
        for path in paths:
            model = requests.get(url + path, headers=headers, params={"type": "notebook", "content": 1}, timeout=60)
            assert model.ok, f"GET {path}: {model.status_code} {model.text}"
            saved = requests.put(
                url + path,
                headers=headers,
                json={"type": "notebook", "format": "json", "content": model.json()["content"]},
                timeout=60,
            )
            assert saved.ok, f"PUT {path}: {saved.status_code} {saved.text}"


def git(folder: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=folder, capture_output=True, text=True, check=True).stdout


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_saving_unchanged_notebooks_in_jupyter_leaves_git_diff_empty(tmp_path):
    course = tmp_path / "course"
    for folder in (LESSONS, SOLUTIONS):
        shutil.copytree(folder, course / folder.name, ignore=shutil.ignore_patterns("models", ".*"))
    shutil.copy(REPO / "jupytext.toml", course)
    git(course, "init", "-q")
    git(course, "add", "-A")
    git(course, "-c", "user.name=course", "-c", "user.email=course@example.org", "commit", "-q", "-m", "as committed")
    notebooks = sorted(
        str(p.relative_to(course))
        for folder in ("lessons", "solutions")
        for p in (course / folder).glob("[0-9][0-9]_*.*")
    )
    assert notebooks

    save_through_jupyter(course, notebooks)

    assert git(course, "status", "--porcelain", "--untracked-files=no") == ""


def test_jupyter_opens_a_diverged_pair_again_after_cnn_course_sync(tmp_path):
    course = tmp_path / "course"
    (course / "lessons").mkdir(parents=True)
    shutil.copy(REPO / "jupytext.toml", course)
    for suffix in (".py", ".ipynb"):
        shutil.copy(LESSONS / f"02_mnist_cnn{suffix}", course / "lessons")
    py, ipynb = course / "lessons" / "02_mnist_cnn.py", course / "lessons" / "02_mnist_cnn.ipynb"
    for path, body in (
        (py, "    return 1"),
        (ipynb, "    return 2"),
    ):  # both written, differently; the .ipynb saved last
        notebook = jupytext.read(path)
        cell = next(c for c in notebook.cells if "def conv_output_size(" in c.source)
        cell.source = cell.source.split("    # YOUR CODE HERE")[0] + body
        jupytext.write(notebook, path)
        time.sleep(1.1)

    def open_status() -> list[int]:
        with jupyter_server(course) as (url, headers):
            return [
                requests.get(
                    url + f"lessons/{p.name}", headers=headers, params={"type": "notebook"}, timeout=60
                ).status_code
                for p in (ipynb, py)
            ]

    assert open_status() == [400, 400]  # "02_mnist_cnn.ipynb is more recent than 02_mnist_cnn.py"
    synced = subprocess.run(
        [sys.executable, "-m", "cnn_course.commands.cli", "sync", "lessons/02_mnist_cnn", "--force"],
        cwd=course,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert synced.returncode == 0, synced.stderr
    assert open_status() == [200, 200]
    assert "return 2" in py.read_text() and list((course / "lessons" / "backups").glob("02_mnist_cnn.*.py"))
