"""The docs' predict / serve / export transcript, produced by running the real commands.

    python -m benchmarks.deploy_run [--out DIR] [--epochs N] [--docs docs/assets]

From scratch: `cnn-course train cifar10 --epochs N --out DIR`; ten CIFAR-10 test images written as
files of five kinds plus a corrupt one; `cnn-course predict` on all of them; `cnn-course serve`
started as its own process, then queried with curl (health, classes, a JPEG, a corrupt file, a
wrong field, an oversized upload), 50 concurrent API requests checked against `predict`'s answers,
the upload page driven in Debian's chromium (screenshots); `cnn-course export`. Writes
DOCS/deploy-run.md (included by docs/deploy.md) and DOCS/serve-page.png.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime
import json
import os
import platform
import shlex
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "cnn_course.commands.cli"]


def run(command: list[str], cwd: Path, shown: str) -> tuple[str, int]:
    """Run a command; return the transcript block `$ shown` + its output, and its exit status."""
    started = time.perf_counter()
    completed = subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)}
    )
    seconds = time.perf_counter() - started
    output = (completed.stdout + completed.stderr).rstrip()
    print(f"$ {shown}  ({seconds:.0f} s, exit {completed.returncode})\n{output}\n", flush=True)
    return f"$ {shown}\n{output}\n", completed.returncode


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_up(url: str, server: subprocess.Popen, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"cnn-course serve exited with status {server.returncode}")
        try:
            with urllib.request.urlopen(url + "health", timeout=5):
                return
        except OSError:
            time.sleep(1)
    raise RuntimeError(f"cnn-course serve did not answer within {timeout:.0f} s")


def concurrent_requests(url: str, paths: list[Path], expected: dict[str, list], count: int = 50) -> str:
    """POST `count` images at once (cycling through `paths`); return a summary line."""
    from tests.package.test_serving import post_over_http

    chosen = [paths[i % len(paths)] for i in range(count)]
    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=count) as pool:
        answers = list(pool.map(lambda path: post_over_http(url, path.read_bytes(), path.name), chosen))
    seconds = time.perf_counter() - started
    correct = sum(
        status == 200
        and [(p["class"], round(p["probability"], 4)) for p in answer["predictions"]] == expected[path.name]
        for (status, answer), path in zip(answers, chosen)
    )
    return (
        f"{count} concurrent POST /predict requests ({len(paths)} different files): {correct} of {count} answered 200 "
        f"with exactly the classes and probabilities of `cnn-course predict`, in {seconds:.2f} s in all."
    )


def screenshots(url: str, image: Path, docs: Path) -> None:
    """Upload `image` on the page in chromium; save the page with its three bars."""
    from playwright.sync_api import sync_playwright

    from tests.site.test_site_browser import CHROMIUM_ARGS

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=os.environ.get("CHROMIUM") or shutil.which("chromium"), args=CHROMIUM_ARGS
        )
        page = browser.new_page(viewport={"width": 760, "height": 420})
        page.goto(url)
        page.set_input_files("#file", str(image))
        page.wait_for_selector("#predictions .prediction >> nth=2")
        page.screenshot(path=docs / "serve-page.png")
        browser.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "runs" / "deploy")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--docs", type=Path, default=REPO / "docs" / "assets")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO))
    from cnn_course import data
    from cnn_course.inference import load_classifier
    from cnn_course.sample_images import write_sample_images

    work = args.out.resolve()
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    blocks = []
    text, status = run(
        [*CLI, "train", "cifar10", "--epochs", str(args.epochs), "--out", "run"],
        work,
        f"cnn-course train cifar10 --epochs {args.epochs} --out run",
    )
    if status:
        return status
    blocks.append(("Train", text))

    _, (x_test, y_test) = data.load_cifar10()
    paths = write_sample_images(work / "images", x_test[:10], y_test[:10], data.CIFAR10_CLASS_NAMES)
    relative = [str(path.relative_to(work)) for path in paths]
    listing = "\n".join(f"{path.name:<28} {path.stat().st_size:>6} bytes" for path in paths)
    blocks.append(
        (
            "Image files written from the first ten test images (the name says the true class)",
            f"$ ls -l images/\n{listing}\n",
        )
    )
    text, _ = run([*CLI, "predict", "run/model.keras", *relative], work, "cnn-course predict run/model.keras images/*")
    blocks.append(("Predict", text))
    text, _ = run(
        [*CLI, "predict", "run/model.keras", relative[1], "--top", "5"],
        work,
        f"cnn-course predict run/model.keras {relative[1]} --top 5",
    )
    blocks.append(("One image, top 5", text))

    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    log = (work / "serve.log").open("w")
    server = subprocess.Popen(
        [*CLI, "serve", "run/model.keras", "--port", str(port)],
        cwd=work,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        wait_until_up(url, server)
        banner = (work / "serve.log").read_text().strip()
        blocks.append(("Serve", f"$ cnn-course serve run/model.keras --port {port}\n{banner}\n"))
        (work / "big.bin").write_bytes(os.urandom(9 * 1024 * 1024))
        curls = [
            ["curl", "-s", url + "health"],
            ["curl", "-s", url + "classes"],
            ["curl", "-s", "-F", f"file=@{relative[1]}", url + "predict"],
            ["curl", "-s", "-F", f"file=@{relative[3]}", url + "predict?k=2"],
            ["curl", "-s", "-w", r" (HTTP %{http_code})", "-F", f"file=@{relative[-1]}", url + "predict"],
            ["curl", "-s", "-w", r" (HTTP %{http_code})", "-F", f"image=@{relative[0]}", url + "predict"],
            ["curl", "-s", "-w", r" (HTTP %{http_code})", "-F", "file=@big.bin", url + "predict"],
        ]
        transcript = ""
        for command in curls:
            text, _ = run(command, work, shlex.join(command))
            transcript += text
        blocks.append(("The JSON API through curl", transcript))
        classifier = load_classifier(work / "run" / "model.keras")
        readable = [path for path in paths if path.name != "corrupt.jpg"]
        expected = {path.name: [(label, round(p, 4)) for label, p in classifier.top_k(path, 3)] for path in readable}
        blocks.append(("50 concurrent requests", concurrent_requests(url, readable, expected) + "\n"))
        screenshots(url, paths[2], args.docs)
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()

    text, status = run([*CLI, "export", "run/model.keras"], work, "cnn-course export run/model.keras")
    blocks.append(("Export for devices", text))

    when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    load = os.getloadavg()[1]
    machine = (
        f"{platform.machine()}, {os.cpu_count()} CPU cores shared with other work (load average {load:.1f} over the "
        f"last 5 minutes, so every time here is slower than on an idle machine), Python {platform.python_version()}"
    )
    page = [
        "<!-- written by `python -m benchmarks.deploy_run`; do not edit -->\n",
        f"Run on {when}, {machine}. The model is trained for {args.epochs} epoch(s) only, so its "
        "accuracy is far from the recipe's: this run shows the tools, not the model.\n",
    ]
    for title, text in blocks:
        page.append(f"**{title}**\n\n```text\n{text.rstrip()}\n```\n")
    (args.docs / "deploy-run.md").write_text("\n".join(page))
    (args.docs / "deploy-run.json").write_text(
        json.dumps({"when": when, "machine": machine, "epochs": args.epochs}, indent=2) + "\n"
    )
    print(f"wrote {args.docs / 'deploy-run.md'} and {args.docs / 'serve-page.png'}")
    return status


if __name__ == "__main__":
    sys.exit(main())
