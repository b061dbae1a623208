"""The budget benchmark's goals (met, missed, not run) and the short per-processor tables built from kept runs."""

from __future__ import annotations

import json

import pytest

from benchmarks import budget_summary
from benchmarks.budget_goals import goal_rows, goals_markdown, training_pflop

from .conftest import REPO


def run(dataset: str, recipe: str, accuracy: float, **fields) -> dict:
    return {
        "dataset": dataset,
        "recipe": recipe,
        "baseline": False,
        "test_accuracy": accuracy,
        "budget_seconds": 100.0,
        "multiple": None,
        "fit_seconds": 100.0,
        "training_seconds": 90.0,
        "images_per_second": 1000.0,
        "mflop_per_training_image": 100.0,
        "training_gflops": 100.0,
        "step_seconds": 0.2,
        "dtype_policy": "float32",
        "peak_memory_mb": 2048,
    } | fields


def report(runs: list[dict], counts: bool = True, date: str = "2026-12-07 11:03 UTC", processor: str = "CPU A") -> dict:
    tutorial = run("cifar10", "tf-tutorial", 0.67, budget_seconds=None, fit_seconds=200.0)
    again = tutorial | {"fit_seconds": 205.0 if counts else 260.0, "remeasure": True}
    return {
        "date": date,
        "processor": processor,
        "cores": 2,
        "quick": False,
        "complete": True,
        "conv_gflops": 180.0,
        "load_range": [1.0, 2.0],
        "tutorial_seconds": 200.0,
        "yardstick": {"counts": counts},
        "runs": [tutorial, *runs, again],
    }


def test_each_goal_is_met_missed_or_not_run():
    runs = [
        run("mnist", "cnn", 0.9906, budget_seconds=45.0, fit_seconds=45.1),
        run("cifar10", "fast", 0.8182, multiple=1.0),
        run("cifar10", "fast", 0.8490, multiple=2.5),
        run("cifar10", "airbench", 0.9012, multiple=5.0),
    ]
    verdicts = {goal: verdict for goal, _, verdict in goal_rows(report(runs))}
    assert verdicts == {
        "`fast` at 1× T: at least 80.0%": "met",
        "`fast` at 2.5× T: at least 85.0%": "missed",
        "`airbench` at 5× T: at least 90.0%": "met",
        "`airbench` at 10× T: at least 93.0%": "not run",
        "`cnn` at 45 s, ending on time: at least 99.0%": "met",
        "`fast` at 50% of the convolution's throughput, in every run": "met",
    }


def test_mnist_misses_its_goal_when_fit_overruns_the_budget_by_more_than_one_step():
    late = run("mnist", "cnn", 0.995, budget_seconds=45.0, fit_seconds=45.3, step_seconds=0.2)
    rows = {goal: (measured, verdict) for goal, measured, verdict in goal_rows(report([late]))}
    measured, verdict = rows["`cnn` at 45 s, ending on time: at least 99.0%"]
    assert verdict == "missed" and "over 45.2 s" in measured


def test_the_throughput_goal_takes_the_slowest_fast_run():
    runs = [
        run("cifar10", "fast", 0.81, multiple=1.0),
        run("cifar10", "fast", 0.85, multiple=2.5, training_gflops=80.0),
    ]
    measured, verdict = goal_rows(report(runs))[-1][1:]
    assert verdict == "missed" and measured.startswith("56%, 44% of 180.0 GFLOP/s")


@pytest.mark.parametrize(
    ("counts", "quick", "said"),
    [(True, False, "the run counts"), (False, False, "see the yardstick"), (True, True, "--quick")],
)
def test_the_goals_heading_says_whether_the_run_counts(counts, quick, said):
    assert said in goals_markdown(report([], counts=counts) | {"quick": quick})[0]


def test_training_work_is_images_times_flops_per_image():
    assert training_pflop(run("cifar10", "airbench", 0.9)) == pytest.approx(1000 * 90 * 100e6 / 1e15)


def test_the_summary_shows_each_processor_s_newest_counting_run(tmp_path):
    reports = [
        report([run("cifar10", "fast", 0.80, multiple=1.0)], date="2026-12-01 10:00 UTC"),
        report([run("cifar10", "fast", 0.70, multiple=1.0)], counts=False, date="2026-12-02 10:00 UTC"),
        report([run("cifar10", "fast", 0.82, multiple=1.0)], date="2026-12-03 10:00 UTC", processor="CPU B"),
    ]
    for index, item in enumerate(reports):
        (tmp_path / f"{index}.json").write_text(json.dumps(item))
    (tmp_path / "quick.json").write_text(json.dumps(reports[0] | {"quick": True, "date": "2026-12-09 10:00 UTC"}))
    shown = budget_summary.shown_runs(budget_summary.kept_runs(tmp_path))
    assert {processor: item["date"] for processor, item in shown.items()} == {
        "CPU A": "2026-12-01 10:00 UTC",
        "CPU B": "2026-12-03 10:00 UTC",
    }
    tables = budget_summary.summary_markdown(budget_summary.kept_runs(tmp_path))
    assert "**CPU A**" in tables and "**CPU B**" in tables and "80.00%" in tables and "70.00%" not in tables


def test_a_processor_whose_runs_never_count_is_shown_marked():
    tables = budget_summary.summary_markdown([report([], counts=False)])
    assert "**does not count**" in tables


def test_the_pages_show_the_tables_of_the_kept_runs():
    """README.md and docs/benchmarks.md hold what `python -m benchmarks.budget_summary --write` writes."""
    tables = budget_summary.summary_markdown(budget_summary.kept_runs())
    for path in budget_summary.PAGES:
        text = path.read_text(encoding="utf-8")
        assert budget_summary.replaced(text, tables) == text, (
            f"{path.relative_to(REPO)}: run python -m benchmarks.budget_summary --write"
        )


def test_a_page_without_markers_is_refused():
    with pytest.raises(ValueError, match="markers"):
        budget_summary.replaced("# A page\n", "| table |\n")
