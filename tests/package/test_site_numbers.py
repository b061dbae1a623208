"""Every number the prose states about a lesson run agrees with the run it comes from.

The statements checked live in STATEMENTS below: each is found in its page by a pattern (a page
that no longer says it fails the test, so a reworded claim is checked again by whoever rewords
it) and compared with its source: a lesson's full run (`docs/lesson-runs/NN_topic.ipynb`, outputs
and the `cnn_course_run` metadata), the home page's run summary (`docs/assets/mnist-run.md`), a
master's own "**Time:**" line, or the benchmark outputs the benchmarks page quotes.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from .conftest import REPO

RUNS = REPO / "docs" / "lesson-runs"
EPOCH_LINE = re.compile(r"\b(\d+)s\b \d+m?s/step")  # Keras's end-of-epoch line: "422/422 ... 68s 138ms/step"


def text_of(path: str) -> str:
    return (REPO / path).read_text(encoding="utf-8")


def run_record(stem: str) -> dict:
    """The cached full run of lesson `stem`: its metadata and its printed outputs, joined."""
    notebook = json.loads((RUNS / f"{stem}.ipynb").read_text(encoding="utf-8"))
    printed = "".join(
        "".join(output["text"]) if isinstance(output.get("text"), list) else output.get("text", "")
        for cell in notebook["cells"]
        for output in cell.get("outputs", [])
    )
    return {**notebook["metadata"]["cnn_course_run"], "printed": re.sub(r"\x1b\[[0-9;]*m", "", printed)}


def found(path: str, pattern: str) -> re.Match:
    match = re.search(pattern, text_of(path), re.S)
    assert match, f"{path} no longer states {pattern!r}: check the new wording against its run, then update this test"
    return match


def transfer_arms() -> dict[str, tuple[str, str]]:
    """Lesson 8's run: arm -> (test accuracy as printed, training seconds as printed)."""
    printed = run_record("08_transfer_learning")["printed"]
    return {
        arm: re.search(rf"{re.escape(arm)}: test accuracy ([\d.]+)%, training (\d+) s", printed).groups()
        for arm in ("from scratch", "frozen base + new head", "fine-tuned top")
    }


def check_lesson_8_table() -> None:
    rows = {
        "from scratch": "from scratch \\(",
        "frozen base + new head": "frozen backbone",
        "fine-tuned top": "fine-tuning the top",
    }
    for arm, (accuracy, seconds) in transfer_arms().items():
        row = found("README.md", rf"\| {rows[arm]}[^|]*\| ([\d.]+) % \| (\d+) s")
        assert row.groups() == (accuracy, seconds), (
            f"README's {arm} row says {row.groups()}, the run {accuracy} % in {seconds} s"
        )


def check_lesson_8_load() -> None:
    stated = found("README.md", r"compares three arms.*?load average ([\d.]+) at its start")[1]
    assert float(stated) == run_record("08_transfer_learning")["load_1min"]


def check_lesson_3_epoch_seconds() -> None:
    stated = found(
        "solutions/03_mnist_training.py", r"full run below took (\d+) to (\d+) s per epoch at load average ([\d.]+)"
    )
    run = run_record("03_mnist_training")
    epochs = [
        int(s) for s in EPOCH_LINE.findall(run["printed"]) if int(s) > 20
    ]  # the full training's epochs, not the quick demo's
    assert (int(stated[1]), int(stated[2])) == (min(epochs), max(epochs)), f"lesson 3's epochs took {epochs} s"
    assert float(stated[3]) == run["load_1min"]


def check_lesson_times_agree() -> None:
    """The README's time to read and do each lesson is the one its master states."""
    for row in re.finditer(r"^\| `(\d\d_\w+)` \|.*\| (\d+) min[;+ ]", text_of("README.md"), re.M):
        stem, minutes = row.groups()
        master = text_of(f"solutions/{stem}.py")
        assert re.search(rf"\*\*Time:\*\* about {minutes} minutes", master), (
            f"README gives {stem} {minutes} min, its page other"
        )


def check_mnist_accuracy() -> None:
    """The home page's recipe run, the README and the benchmarks page give one accuracy for `cnn-course train mnist`."""
    home_run = found("docs/assets/mnist-run.md", r"Test accuracy \*\*([\d.]+)%\*\*")[1]
    readme = found(
        "README.md", r"cnn-course train mnist\s+# the main job: trains the reference MNIST CNN to ([\d.]+) %"
    )[1]
    home = found("docs/index.md", r"trains the reference MNIST CNN to ([\d.]+) % test accuracy")[1]
    benchmarks = found("docs/benchmarks.md", r"`cnn-course train mnist`[^|]*\| \*\*([\d.]+) %\*\*")[1]
    assert home_run == readme == home == benchmarks, (
        f"mnist-run.md {home_run}, README {readme}, home {home}, benchmarks {benchmarks}"
    )


def check_keras_example_time() -> None:
    """The benchmarks page's keras.io row quotes the benchmark run's table below it."""
    page = text_of("docs/benchmarks.md")
    measured = re.search(r"\| keras-example \(baseline\) \| 15/15 \| ([\d.]+)% \| ([\d.]+) \|", page).groups()
    row = found("docs/benchmarks.md", r"\| keras\.io \[`mnist_convnet`\][^|]*\| ([\d.]+) % \| ([\d.]+) s ")
    assert row.groups() == measured, f"the keras.io row says {row.groups()}, the run {measured}"


def reference_runs() -> dict[str, tuple[str, str]]:
    """airbench94's own code in the kept reference runs: epochs (and images, where not 45,000) -> (test accuracy
    after the last epoch, with its test-time augmentation), as printed."""
    text = text_of("benchmarks/runs/explore/2026-12-07-airbench-reference.txt")
    runs = {}
    for block in text.split("$ python -m benchmarks.airbench_reference")[1:]:
        images = re.search(r"--train-images (\d+)", block.splitlines()[0])
        last = re.findall(r"test accuracy ([\d.]+)%", block)[-1]
        epochs, tta = re.search(r"after ([\d.]+) epochs: ([\d.]+)% with airbench", block).groups()
        runs[epochs + (f" on {int(images[1]):,}" if images and images[1] != "45000" else "")] = (last, tta)
    return runs


def check_airbench_reference() -> None:
    """The benchmarks page, the tuning history and the README quote airbench94's reference runs as printed."""
    runs = reference_runs()
    assert {"2", "6", "10"} <= set(runs), f"reference runs found: {sorted(runs)}"
    for key, (last, tta) in runs.items():
        epochs = key.split(" on ")[0]
        found("docs/benchmarks.md", rf"\| {re.escape(key)}[^|]* \| {last} % \({tta} %\) \|")
        found("docs/tuning-history.md", rf"\| airbench94's code[^|]* \| {epochs} \| {last} % \| {tta} %")
    found("README.md", rf"{runs['6'][1]} % after 6 epochs")
    found("README.md", rf"{runs['10'][1]} %\s+after 10")


JPEG_COPY_RUNS = "benchmarks/runs/explore/2026-12-08-jpeg-copy.txt"
TRAINED_ON = {"exact": "original pixels", "jpeg": "JPEG versions"}


def jpeg_copy_runs() -> dict[tuple[str, str], dict[str, tuple[str, str]]]:
    """The kept --subset runs: (subset, seed) -> test version ("original", "JPEG") -> (accuracy after the last
    epoch, with test-time augmentation), as printed."""
    runs = {}
    for block in text_of(JPEG_COPY_RUNS).split("$ python -m benchmarks.airbench_reference")[1:]:
        command = block.splitlines()[0]
        subset, seed = re.search(r"--subset (\w+)", command)[1], re.search(r"--seed (\d+)", command)[1]
        last_epoch = re.findall(r"original test accuracy ([\d.]+)%, JPEG test accuracy ([\d.]+)%", block)[-1]
        tta = dict(re.findall(r"epochs: (original|JPEG) test ([\d.]+)% with airbench", block))
        runs[subset, seed] = {version: (last, tta[version]) for version, last in zip(("original", "JPEG"), last_epoch)}
    return runs


def check_jpeg_copy() -> None:
    """The benchmarks page and the tuning history quote the JPEG copy's runs as printed; they and the README the
    points it costs."""
    runs = jpeg_copy_runs()
    assert {subset for subset, _ in runs} == {"exact", "jpeg"} and len(runs) >= 4, f"runs found: {sorted(runs)}"
    for (subset, seed), tests in runs.items():
        (original, original_tta), (jpeg, jpeg_tta) = tests["original"], tests["JPEG"]
        row = rf"\| {TRAINED_ON[subset]} \| {seed} \| {original} % \({original_tta} %\) \| {jpeg} % \({jpeg_tta} %\) \|"
        found("docs/benchmarks.md", row)
        found("docs/tuning-history.md", row)
    seeds = sorted({seed for _, seed in runs})
    costs = [  # without and with test-time augmentation, the mean over the seeds
        np.mean([float(runs["exact", s]["original"][i]) - float(runs["jpeg", s]["JPEG"][i]) for s in seeds])
        for i in (0, 1)
    ]
    for page in ("docs/benchmarks.md", "docs/tuning-history.md"):
        found(page, rf"{costs[0]:.1f} points[^.]*\({costs[1]:.1f} points\s+with")
    found("README.md", rf"cost airbench94's own code {costs[0]:.1f} points")
    per_seed = [float(runs["exact", s]["original"][0]) - float(runs["jpeg", s]["JPEG"][0]) for s in seeds]
    for page in ("docs/benchmarks.md", "docs/tuning-history.md"):
        found(page, rf"{min(per_seed):.1f} to {max(per_seed):.1f}(?: points)? across the (?:three )?seeds")


STATEMENTS = {
    "README: lesson 8's three arms, accuracy and training seconds": check_lesson_8_table,
    "README: the load lesson 8's run was made at": check_lesson_8_load,
    "lesson 3: seconds per epoch and load of the site's full run": check_lesson_3_epoch_seconds,
    "README: each lesson's time to read and do, as its page says": check_lesson_times_agree,
    "home page, README, benchmarks, mnist-run.md: the MNIST recipe's test accuracy": check_mnist_accuracy,
    "benchmarks: the keras.io example's accuracy and time": check_keras_example_time,
    "benchmarks, tuning history, README: airbench94's own code on this CPU": check_airbench_reference,
    "benchmarks, tuning history, README: what the JPEG copy of CIFAR-10 costs airbench94's own code": check_jpeg_copy,
}


@pytest.mark.parametrize("check", [pytest.param(check, id=name) for name, check in STATEMENTS.items()])
def test_statement_agrees_with_its_run(check):
    check()


def test_prose_timings_name_their_machine_or_give_a_range():
    """A lesson's training time in its prose names the machine and load, or gives a range."""
    for master in sorted((REPO / "solutions").glob("0*.py")):
        prose = "\n".join(line[2:] for line in master.read_text(encoding="utf-8").splitlines() if line.startswith("# "))
        for match in re.finditer(r"[^.]*\b\d+(?:\.\d+)? ?(?:s|seconds) per epoch[^.]*\.", prose):
            sentence = match[0]
            assert re.search(r"\bto\b|load|idle|busy", sentence), (
                f"{master.name}: {sentence.strip()!r} names no machine or range"
            )


def test_every_statement_finds_its_source_files():
    for path in ("README.md", "docs/index.md", "docs/benchmarks.md", "docs/assets/mnist-run.md"):
        assert Path(REPO / path).is_file()
