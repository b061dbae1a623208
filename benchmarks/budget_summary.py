"""One short table per processor kind, from the budget-benchmark runs kept in benchmarks/runs/budget/.

    python -m benchmarks.budget_summary            # print the tables
    python -m benchmarks.budget_summary --write    # put them in README.md and docs/benchmarks.md
    python -m benchmarks.budget_summary --check    # exit 1 if a page's tables differ from the runs

A kept run is the JSON report `python -m benchmarks.budget_benchmark` writes (benchmarks/results/budget_benchmark.json),
copied to benchmarks/runs/budget/ under its date and processor. For each processor (its model name and instruction
sets), the newest run that counts under the yardstick rule is shown, else the newest run, marked as not counting.
The tables go between the markers `<!-- budget-summary:start -->` and `<!-- budget-summary:end -->` of each page.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from benchmarks.budget_goals import airbench_records, goal_rows, training_pflop

REPO = Path(__file__).resolve().parents[1]
RUNS = REPO / "benchmarks" / "runs" / "budget"
PAGES = (REPO / "README.md", REPO / "docs" / "benchmarks.md")
START, END = "<!-- budget-summary:start -->", "<!-- budget-summary:end -->"


def kept_runs(folder: Path = RUNS) -> list[dict]:
    """Every kept, complete, full (not --quick) budget-benchmark report in `folder`, oldest first."""
    reports = [json.loads(path.read_text(encoding="utf-8")) for path in sorted(folder.glob("*.json"))]
    return sorted((r for r in reports if r["complete"] and not r["quick"]), key=lambda report: report["date"])


def shown_runs(reports: list[dict]) -> dict[str, dict]:
    """Processor -> the report shown for it: its newest counting run, else its newest run."""
    shown: dict[str, dict] = {}
    for report in reports:  # oldest first: a newer run replaces an older one unless only the older counts
        current = shown.get(report["processor"])
        if current is None or report["yardstick"]["counts"] or not current["yardstick"]["counts"]:
            shown[report["processor"]] = report
    return shown


def summary_markdown(reports: list[dict]) -> str:
    """The tables: per processor, a heading line, the goals (met, missed, not run) and the airbench runs' work."""
    if not reports:
        return "No budget-benchmark run is kept yet (benchmarks/runs/budget/).\n"
    blocks = []
    for processor, report in shown_runs(reports).items():
        again = next((run["fit_seconds"] for run in report["runs"] if run.get("remeasure")), None)
        counts = "counts" if report["yardstick"]["counts"] else "**does not count** (T moved more than 15 %)"
        load = f"load average {report['load_range'][0]:.1f} to {report['load_range'][1]:.1f}"
        lines = [
            f"**{processor}**, {report['cores']} cores: run of {report['date']}, {load}; "
            f"T = {report['tutorial_seconds']:.0f} s at the start and {again:.0f} s at the end, so the run {counts}.",
            "",
            "| goal | measured | |",
            "|---|---|---|",
        ]
        lines += [f"| {goal} | {measured or '–'} | {verdict} |" for goal, measured, verdict in goal_rows(report)]
        airbench = [run for run in report["runs"] if run["recipe"] == "airbench" and run.get("multiple")]
        if airbench:
            work = "; ".join(
                f"{run['multiple']:g}× T: {training_pflop(run):.3f} PFLOP in {run['dtype_policy']}, "
                f"{run['peak_memory_mb'] / 1024:.1f} GiB peak memory"
                for run in airbench
            )
            lines += ["", f"`airbench`'s training work at {work} (airbench's records: {airbench_records()})."]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def replaced(page: str, tables: str) -> str:
    """`page` with the text between its markers replaced by `tables`. Raises ValueError without the markers."""
    pattern = re.compile(re.escape(START) + r"\n.*?" + re.escape(END), re.S)
    if not pattern.search(page):
        raise ValueError(f"no {START} ... {END} markers")
    return pattern.sub(lambda _: f"{START}\n{tables}{END}", page, count=1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--write", action="store_true", help="put the tables in README.md and docs/benchmarks.md")
    action.add_argument("--check", action="store_true", help="exit 1 if a page's tables differ from the kept runs")
    args = parser.parse_args(argv)
    tables = summary_markdown(kept_runs())
    if not (args.write or args.check):
        print(tables, end="")
        return 0
    stale = []
    for path in PAGES:
        text = path.read_text(encoding="utf-8")
        new = replaced(text, tables)
        if new != text:
            stale.append(path.relative_to(REPO))
            if args.write:
                path.write_text(new, encoding="utf-8")
    if args.check and stale:
        print(
            f"out of date with benchmarks/runs/budget/: {', '.join(map(str, stale))}; run python -m "
            "benchmarks.budget_summary --write",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
