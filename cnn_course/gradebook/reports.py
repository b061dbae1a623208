"""Feedback for people: a report per learner (Markdown, optionally HTML) and a summary of the cohort."""

from __future__ import annotations

import html
import statistics
from collections import Counter
from pathlib import Path

from cnn_course.authoring.course_config import number
from cnn_course.gradebook.records import file_stem
from cnn_course.gradebook.results import STATUSES, ExerciseResult, SubmissionResult
from cnn_course.status import Status

FEEDBACK_DIR, SUMMARY, HISTOGRAM = "feedback", "summary.md", "score_histogram.png"
MARKS = {
    Status.PASSED: "✅",
    Status.NOT_ATTEMPTED: "⬜",
    Status.FAILED: "❌",
    Status.ERROR: "💥",
    Status.TIMEOUT: "⏱️",
    Status.NOT_SUBMITTED: "📭",
}


def _score_line(result: SubmissionResult) -> str:
    share = f" ({result.total / result.max_total:.0%})" if result.max_total else ""
    return f"**Score: {number(result.total)} / {number(result.max_total)} points{share}**"


def _notes(result: SubmissionResult) -> list[str]:
    notes = [f"Grading note: {result.note}."] if result.note else []
    if result.submitted_at:
        notes.append(f"Submitted {result.submitted_at}" + (", after the deadline (late)." if result.late else "."))
    return notes


def _points(e: ExerciseResult) -> str:
    return f"{number(e.points)} / {number(e.max_points)}" + (" (override)" if e.override else "")


def _details(e: ExerciseResult) -> str:
    return "\n".join(filter(None, [e.override, e.message or (e.status if not e.override else "")]))


def learner_markdown(result: SubmissionResult) -> str:
    """Return a learner's report: score, one table row per exercise, then what to fix for each exercise not passed."""
    lines = [f"# Feedback for {_markdown_text(result.learner)}", "", _score_line(result), ""]
    for note in _notes(result):
        lines += [f"> {_markdown_text(note)}", ""]
    lines += ["| | lesson | exercise | result | points |", "|---|---|---|---|---|"]
    for e in result.exercises:
        lines.append(f"| {MARKS[e.status]} | {e.lesson} | `{e.exercise}` | {e.status} | {_points(e)} |")
    open_items = [e for e in result.exercises if e.status != Status.PASSED or e.override]
    if open_items:
        lines += ["", "## What to do next", ""]
        for e in open_items:
            lines += [
                f"### `{e.exercise}` ({e.lesson}): {e.status}",
                "",
                "````text",
                _details(e).replace("````", "` ` ` `"),
                "````",
                "",
            ]
    return "\n".join(lines).rstrip() + "\n"


def learner_html(result: SubmissionResult) -> str:
    """Return the same report as a self-contained HTML page."""
    rows = "".join(
        f"<tr class='{e.status.replace(' ', '-')}'><td>{MARKS[e.status]}</td><td>{html.escape(e.lesson)}</td>"
        f"<td><code>{html.escape(e.exercise)}</code></td><td>{e.status}</td><td>{html.escape(_points(e))}</td></tr>"
        for e in result.exercises
    )
    details = "".join(
        f"<h3><code>{html.escape(e.exercise)}</code> ({html.escape(e.lesson)}): "
        f"{e.status}</h3><pre>{html.escape(_details(e))}</pre>"
        for e in result.exercises
        if e.status != Status.PASSED or e.override
    )
    note = "".join(f"<p><em>{html.escape(note)}</em></p>" for note in _notes(result))
    share = f" ({result.total / result.max_total:.0%})" if result.max_total else ""
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>Feedback for {html.escape(result.learner)}</title><style>"
        "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.5}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}"
        "pre{background:#f6f8fa;padding:.8rem;white-space:pre-wrap}.passed td{background:#eefbea}"
        "</style></head><body>"
        f"<h1>Feedback for {html.escape(result.learner)}</h1>"
        f"<p><strong>Score: {number(result.total)} / {number(result.max_total)} points{share}</strong></p>{note}"
        f"<table><tr><th></th><th>lesson</th><th>exercise</th><th>result</th><th>points</th></tr>{rows}</table>"
        + (f"<h2>What to do next</h2>{details}" if details else "")
        + "</body></html>\n"
    )


def _markdown_text(text: str) -> str:
    """Text shown as Markdown prose: characters that would start markup or HTML are escaped."""
    return "".join("\\" + c if c in "\\`*_[]<>#|!" else c for c in text)


def _headline(message: str, status: str, width: int = 140) -> str:
    line = message.splitlines()[0] if message else status
    return line if len(line) <= width else line[: width - 1].rstrip() + "…"


def common_failures(results: list[SubmissionResult], top: int = 3) -> dict[str, list[tuple[str, int]]]:
    """Return, per exercise in course order, its most frequent feedback first lines among submissions that failed it."""
    found: dict[str, Counter] = {e.exercise: Counter() for e in (results[0].exercises if results else [])}
    for result in results:
        for e in result.exercises:
            if e.status not in (Status.PASSED, Status.NOT_ATTEMPTED):
                found[e.exercise][_headline(e.message, e.status)] += 1
    return {exercise: counter.most_common(top) for exercise, counter in found.items() if counter}


def plot_histogram(results: list[SubmissionResult], path: Path) -> None:
    """Save a histogram of the submissions' total scores as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    totals = [result.total for result in results]
    maximum = max((result.max_total for result in results), default=1.0) or 1.0
    bins = [edge - 0.5 for edge in range(int(maximum) + 2)] if maximum <= 40 else 20  # one bar per point when few
    figure, axes = plt.subplots(figsize=(6, 3.5), dpi=120)
    axes.hist(totals, bins=bins, range=(0, maximum), color="#3f51b5", edgecolor="white")
    axes.set(xlabel="total points", ylabel="submissions", title=f"Score distribution ({len(totals)} submissions)")
    axes.xaxis.get_major_locator().set_params(integer=True)
    axes.yaxis.get_major_locator().set_params(integer=True)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def cohort_markdown(results: list[SubmissionResult]) -> str:
    """Return the cohort summary: score statistics, pass rate and status counts per exercise, common failures."""
    totals = [result.total for result in results]
    maximum = max((result.max_total for result in results), default=0.0)
    lines = ["# Cohort summary", ""]
    if totals:
        lines += [
            f"{len(totals)} submissions, out of {number(maximum)} points: mean {statistics.mean(totals):.1f}, "
            f"median {number(statistics.median(totals))}, lowest {number(min(totals))}, highest {number(max(totals))}.",
            "",
            f"![Score distribution]({HISTOGRAM})",
            "",
        ]
    lines += ["| exercise | pass rate | " + " | ".join(STATUSES) + " |", "|---|---|" + "---|" * len(STATUSES)]
    exercises = results[0].exercises if results else []
    for index, exercise in enumerate(exercises):
        statuses = Counter(result.exercises[index].status for result in results)
        rate = statuses[Status.PASSED] / len(results)
        lines.append(f"| `{exercise.exercise}` | {rate:.0%} | " + " | ".join(str(statuses[s]) for s in STATUSES) + " |")
    failures = common_failures(results)
    if failures:
        lines += ["", "## Most common problems", ""]
        for exercise, messages in failures.items():
            lines.append(f"- `{exercise}`")
            lines += [f"    - {count} × {message}" for message, count in messages]
    unusual = [result for result in results if result.run != "completed"]
    if unusual:
        lines += ["", "## Submissions whose grading did not complete", ""]
        lines += [
            f"- {_markdown_text(result.learner)}: {result.run}: {_markdown_text(result.note)}" for result in unusual
        ]
    return "\n".join(lines) + "\n"


def write_feedback(folder: Path, results: list[SubmissionResult], with_html: bool = False) -> list[Path]:
    """Write feedback/LEARNER.md (and .html), summary.md and the score histogram; return their paths."""
    reports = folder / FEEDBACK_DIR
    reports.mkdir(parents=True, exist_ok=True)
    written = []
    for result in results:
        written.append(reports / f"{file_stem(result.learner)}.md")
        written[-1].write_text(learner_markdown(result), encoding="utf-8", errors="backslashreplace")
        if with_html:
            written.append(reports / f"{file_stem(result.learner)}.html")
            written[-1].write_text(learner_html(result), encoding="utf-8", errors="backslashreplace")
    (folder / SUMMARY).write_text(cohort_markdown(results), encoding="utf-8", errors="backslashreplace")
    plot_histogram(results, folder / HISTOGRAM)
    return written + [folder / SUMMARY, folder / HISTOGRAM]
