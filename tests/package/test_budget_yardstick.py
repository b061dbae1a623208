"""The budget benchmark's yardstick rule and processor record (no training)."""

import pytest

from benchmarks import budget_benchmark
from cnn_course import precision


@pytest.mark.parametrize(
    ("start", "end", "counts"),
    [(100, 100, True), (100, 115, True), (115, 100, True), (100, 115.5, False), (115.5, 100, False), (218, 172, False)],
)
def test_a_run_counts_only_when_the_two_tutorial_times_differ_by_at_most_15_percent(start, end, counts):
    verdict = budget_benchmark.yardstick(start, end)
    assert verdict["counts"] is counts
    assert ("the run counts for the goals" in verdict["note"]) is counts


@pytest.mark.parametrize(("start", "end"), [(185, None), (None, None)])
def test_a_run_without_both_tutorial_times_does_not_count(start, end):
    verdict = budget_benchmark.yardstick(start, end)
    assert verdict["counts"] is False and "does not count" in verdict["note"]


def report(again: float | None) -> dict:
    runs = [
        {"dataset": "cifar10", "recipe": "tf-tutorial", "baseline": True, "budget_seconds": None, "fit_seconds": 200.0},
        {
            "dataset": "cifar10",
            "recipe": "fast",
            "baseline": False,
            "budget_seconds": 200.0,
            "multiple": 1.0,
            "fit_seconds": 200.0,
        },
    ]
    if again is not None:
        runs.append(runs[0] | {"fit_seconds": again, "remeasure": True})
    for run in runs:
        run |= {"test_accuracy": 0.8, "epochs": 5, "images_per_second": 1000, "training_gflops": 50.0}
        run |= {"cpu_busy": 0.8, "load_average": [1.0, 1.0]}
    return {
        "machine": "Some CPU, 2 cores, Python 3.11",
        "processor": "Some CPU; has avx2 avx512f avx512_bf16; lacks amx_bf16 amx_tile",
        "versions": "TensorFlow, Keras",
        "date": "today",
        "quick": False,
        "complete": again is not None,
        "conv_gflops": 100.0,
        "conv_measurements": [{}],
        "load_range": [1.0, 1.0],
        "cores": 2,
        "tutorial_seconds": 200.0,
        "runs": runs,
    }


@pytest.mark.parametrize(
    ("again", "said"),
    [
        (210.0, "T was 200 s at the start and 210 s at the end, 5% apart (within 15%): the run counts for the goals"),
        (240.0, "T was 200 s at the start and 240 s at the end, 20% apart (more than 15%): the run does not count"),
        (None, "T was not measured at both ends: the run does not count"),
    ],
)
def test_the_report_says_whether_the_run_counts_and_names_the_processor(again, said):
    markdown = budget_benchmark.markdown(report(again))
    assert f"Yardstick: {said}" in markdown
    assert "Processor: Some CPU; has avx2 avx512f avx512_bf16; lacks amx_bf16 amx_tile." in markdown


def test_the_processor_record_names_the_instruction_sets(monkeypatch):
    monkeypatch.setattr(budget_benchmark, "cpu_model_name", lambda: "Intel Xeon")
    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset({"sse2", "avx2", "avx512f", "amx_bf16", "amx_tile"}))
    assert (
        budget_benchmark.processor_description() == "Intel Xeon; has avx2 avx512f amx_bf16 amx_tile; lacks avx512_bf16"
    )
    monkeypatch.setattr(precision, "cpu_flags", lambda: None)
    assert "instruction sets unknown" in budget_benchmark.processor_description()
