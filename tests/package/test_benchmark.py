"""The benchmark's reduced mode: every chosen recipe trained in its own process, reported as JSON and Markdown."""

import json
import subprocess
import sys

from .conftest import REPO, needs_data


@needs_data()
def test_quick_benchmark_reports_every_recipe(tmp_path):
    recipes = ["cnn", "keras-example", "tf-tutorial"]
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks.benchmark", "--quick", "--recipes", *recipes, "--out", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    report = json.loads((tmp_path / "benchmark.json").read_text())
    assert report["quick"] is True
    assert [r["recipe"] for r in report["results"]] == recipes
    for result in report["results"]:
        assert 0.0 <= result["test_accuracy"] <= 1.0
        assert result["train_seconds"] > 0 and result["images_per_second"] > 0 and result["peak_memory_mb"] > 100
        assert len(result["curve"]) == result["epochs_run"] == 1
    markdown = (tmp_path / "benchmark.md").read_text()
    assert "| **cnn** |" in markdown and "| keras-example (baseline) |" in markdown and "time to 75% (s)" in markdown
