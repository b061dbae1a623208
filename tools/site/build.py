"""Generated content of the course website: lesson pages with real outputs, and the site's pictures.

    python -m tools.site.build lessons           # docs/lessons/: every master as a page, outputs from the run cache
    python -m tools.site.build lessons --full    # first run in full the masters whose cached run is missing or stale
    python -m tools.site.build status            # which lessons have an up-to-date full run in the cache
    python -m tools.site.build figures           # docs/assets/: curves and confusion matrix of the MNIST recipe
    python -m tools.site.build concepts          # docs/assets/concepts/: the Concepts page's diagrams

The **run cache** (`docs/lesson-runs/NN_topic.ipynb`, committed) holds each master as executed
end to end in full, keyed by a fingerprint of the master's code cells and the package version:
editing a lesson's text keeps its run, editing its code makes the run stale. A page is the
master's current text with the outputs of its cached run. A lesson with no up-to-date run is
executed on the spot in quick mode (training lessons run one epoch on a small subset) and its
page carries a visible "quick mode" banner: quick outputs are never shown as the course's results.

A *site notebook* is what a page shows: exercise cells hold the learner's stub (as in
`lessons/`) followed by the worked solution in a collapsed admonition; the self-check after a
stub shows no output (on the page, the stub was never checked); every other cell keeps its
outputs, so the page shows the lesson's figures.
"""

from __future__ import annotations

import argparse
import copy
import datetime
import hashlib
import json
import os
import platform
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat

import cnn_course
from cnn_course.authoring.assign import BEGIN_SOLUTION, END_SOLUTION, render_pair, strip_solutions
from cnn_course.authoring.notebook_runner import QUICK_PARAMETERS, NotebookRunError, execute_notebook
from cnn_course.authoring.notebooks import (
    EXERCISE_TAG,
    INSTALL_TAG,
    PARAMETERS_TAG,
    defined_names,
    has_tag,
    lesson_stems,
    newest_of_pair,
    read_notebook,
)

REPO = Path(__file__).resolve().parents[2]
RUN_CACHE = REPO / "docs" / "lesson-runs"
RUN_FOLDER = REPO / ".cache" / "site-runs"  # where full runs work: lesson 6 reads the model lesson 5 saved there
RUN_METADATA = "cnn_course_run"  # notebook metadata of a cached run: fingerprint, machine, date, duration
INJECTED_TAG = "injected-parameters"
HOME_FIGURES = ("training_history.png", "confusion_matrix.png")
HOME_RUN_SNIPPET = "mnist-run.md"
CONCEPT_MODEL = RUN_FOLDER / "models" / "mnist_cnn.keras"  # saved by the full run of lesson 3
QUICK_BANNER_CLASS = "quick-mode-banner"
TEMPORARY_FOLDER = re.compile(re.escape(tempfile.gettempdir()) + r"/[^/\s'\"]+")  # a lesson's own tempfile.mkdtemp()
VERDICT_LINE = re.compile(r"^[✔✘✗].*(?:\n|$)", re.MULTILINE)  # what self_check prints about an exercise

# Notebook markdown is rendered by nbconvert, which knows no `!!!` admonitions: write their HTML.
QUICK_NOTE = (
    f'<div class="admonition warning {QUICK_BANNER_CLASS}"><p class="admonition-title">Quick mode: these are not the lesson\'s results</p>'
    "<p>This page was built without an up-to-date full run of the lesson, so its training cells ran in quick mode "
    "(one epoch on a small subset, <code>QUICK_RUN = True</code>): the curves, accuracies and mistakes below are far "
    "from what the lesson reaches when you run it. A maintainer publishes the real ones with "
    "<code>python -m tools.site.build lessons --full</code>.</p></div>"
)
TRACKS = {  # the course map's sections (as in the nav of mkdocs.yml), by the second word of a lesson's stem
    "mnist": "MNIST: handwritten digits",
    "cifar10": "CIFAR-10: colour photographs",
    "own": "Your own images",
    "transfer": "Transfer learning",
    "predict": "After the course",
}
COURSE_MAP_INTRO = """# Course map

Each lesson is a Jupyter notebook in `lessons/`. Read it here, then work through it in Jupyter:
every exercise is a small function you write, checked on the spot by `self_check(...)` and graded
from a terminal with `pytest -k NN`. On these pages the exercise cells show what you start from;
the worked solution sits folded below each one. Try first: the
[learner guide](../learner-guide.md) explains how the exercises and the grader work.
"""


def code_fingerprint(notebook: nbformat.NotebookNode) -> str:
    """Return the sha256 (hex) of what decides a lesson's outputs: its code cells and the package version.

    Markdown is left out, so editing a lesson's text keeps its cached run; so is the cell tagged
    `install`, which does nothing where the course is installed (every run is made there). Any
    change to another code cell's source or tags, or a new `cnn_course.__version__`, makes the run stale.
    """
    code = [[cell.source.strip(), sorted(cell.metadata.get("tags", []))] for cell in run_cells(notebook)]
    return hashlib.sha256(json.dumps([cnn_course.__version__, code]).encode()).hexdigest()


def run_cells(notebook: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    """The code cells whose outputs a run records: every code cell but the `install` one."""
    return [cell for cell in notebook.cells if cell.cell_type == "code" and not has_tag(cell, INSTALL_TAG)]


def cached_run(cache: Path, stem: str, master: nbformat.NotebookNode) -> nbformat.NotebookNode | None:
    """Return the cached full run of lesson `stem` if it was made from `master`'s code, else None."""
    path = cache / f"{stem}.ipynb"
    if not path.is_file():
        return None
    run = nbformat.read(path, as_version=4)
    fresh = run.metadata.get(RUN_METADATA, {}).get("fingerprint") == code_fingerprint(master)
    return run if fresh else None


def with_outputs_of(master: nbformat.NotebookNode, run: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Return `master` (its current text) with the outputs of `run`, a run of the same code cells."""
    merged = copy.deepcopy(master)
    ran = [cell for cell in run_cells(run) if not has_tag(cell, INJECTED_TAG)]
    code = run_cells(merged)
    if [c.source.strip() for c in ran] != [c.source.strip() for c in code]:
        raise ValueError("the run's code cells differ from the master's: the cached run is stale")
    for cell, executed in zip(code, ran):
        cell.outputs, cell.execution_count = executed.outputs, executed.execution_count
    merged.metadata[RUN_METADATA] = {**run.metadata.get(RUN_METADATA, {}), "mode": "full"}
    return merged


def shown_parameters(source: str, parameters: dict) -> str:
    """Return a parameters cell's source with `parameters` assigned as they were for the run.

    Each `NAME = ...` line of a given name shows the injected value; names the cell lacks are
    appended. The page then shows exactly what ran, with no separate injected cell.
    """
    lines, missing = source.splitlines(), dict(parameters)
    for i, line in enumerate(lines):
        name = line.split("=")[0].strip()
        if "=" in line and name in missing:
            lines[i] = f"{name} = {missing.pop(name)!r}"
    lines += [f"{name} = {value!r}" for name, value in missing.items()]
    return "\n".join(lines)


def solution_source(source: str) -> str:
    """Return an exercise cell's source with its solution markers removed (the worked solution)."""
    lines = source.splitlines()
    kept = [line for line in lines if not line.strip().startswith((BEGIN_SOLUTION, END_SOLUTION))]
    return "\n".join(kept).strip("\n")


def worked_solution_cell(source: str) -> nbformat.NotebookNode:
    """Return a markdown cell holding the worked solution in a collapsed tip.

    Notebook markdown is rendered by nbconvert (mistune), which knows no `??? tip` syntax, so the
    collapsed admonition is written as the HTML that pymdownx.details produces and Material styles.
    It is left out of the search index, whose previews would otherwise show the solution.
    """
    body = (
        '<details class="tip" data-search-exclude>\n<summary>Worked solution</summary>\n\n'
        f"```python\n{solution_source(source)}\n```\n\n</details>"
    )
    return nbformat.v4.new_markdown_cell(body, metadata={"tags": ["worked-solution"]})


def terminal_text(text: str) -> str:
    """Return what a terminal shows for `text`: a carriage return starts its line over (progress bars)."""
    lines = [next((part for part in reversed(line.split("\r")) if part), "") for line in text.split("\n")]
    return "\n".join(lines).replace("\b", "")


def readable_outputs(outputs: list, hidden_paths: tuple[str, ...] = ()) -> list:
    """Return a cell's outputs as a reader should see them: stdout merged and settled, stderr dropped.

    stderr only carries TensorFlow's start-up logs here; progress bars arrive as many stdout
    chunks full of carriage returns, which a static page would show as hundreds of lines.
    Each of `hidden_paths` (the folder a notebook ran in) is removed from text outputs, so a
    page shows `models/x.keras`, never a build machine's path; a temporary folder a lesson makes
    itself is shown as `<temporary folder>`.
    """
    kept: list = []
    for output in outputs:
        if output.output_type == "stream" and output.name == "stderr":
            continue
        if output.output_type == "stream" and kept and kept[-1].output_type == "stream":
            kept[-1].text += output.text
        else:
            kept.append(output)
    for output in kept:
        if output.output_type == "stream":
            output.text = terminal_text(output.text)
        for path in hidden_paths:
            if output.output_type == "stream":
                output.text = output.text.replace(path.rstrip("/") + "/", "").replace(path, ".")
            elif "text/plain" in output.get("data", {}):
                output.data["text/plain"] = output.data["text/plain"].replace(path.rstrip("/") + "/", "").replace(path, ".")
        if output.output_type == "stream":
            output.text = TEMPORARY_FOLDER.sub("<temporary folder>", output.text)
    return kept


def without_verdicts(outputs: list) -> list:
    """Return a self-check cell's outputs without self_check's verdict lines (other printed lines stay)."""
    kept = []
    for output in outputs:
        if output.output_type == "stream":
            output.text = VERDICT_LINE.sub("", output.text)
            if not output.text.strip():
                continue
        kept.append(output)
    return kept


def site_notebook(executed: nbformat.NotebookNode, name: str, quick: bool) -> nbformat.NotebookNode:
    """Turn an executed master into its site version: learner stubs, collapsed solutions, outputs kept.

    `name` (the lesson's stem) is used in error messages. `quick`: the master ran in quick mode,
    so a lesson with a parameters cell gets the quick-mode banner under its title.
    """
    site = copy.deepcopy(executed)
    cells, count, after_exercise = [], 0, False
    for number, cell in enumerate(site.cells, start=1):
        if has_tag(cell, INJECTED_TAG):
            continue
        cell.pop("id", None)
        if cell.cell_type == "code":
            cell.outputs = readable_outputs(cell.outputs)
            if after_exercise and cell.source.startswith("self_check("):
                cell.outputs = without_verdicts(cell.outputs)  # the check ran on the worked solution, not on the stub above
            if cell.execution_count is not None:  # number the cells as if the injected one never ran
                count += 1
                cell.execution_count = count
                for output in cell.outputs:
                    if "execution_count" in output:
                        output.execution_count = count
        after_exercise = has_tag(cell, EXERCISE_TAG)
        cells.append(cell)
        if cell.cell_type == "code" and has_tag(cell, EXERCISE_TAG):
            solution = cell.source
            cell.source = strip_solutions(solution, f"{name}, cell {number}").rstrip("\n")
            cells.append(worked_solution_cell(solution))
    if quick and any(has_tag(cell, PARAMETERS_TAG) for cell in cells):
        title = next((i for i, c in enumerate(cells) if c.cell_type == "markdown" and c.source.startswith("# ")), -1)
        banner = [nbformat.v4.new_markdown_cell(QUICK_NOTE, metadata={"tags": ["quick-mode"]})]
        if title >= 0 and "\n" in cells[title].source.strip():  # right under the H1, before the lesson's introduction
            heading, rest = cells[title].source.split("\n", 1)
            cells[title].source = heading
            banner.append(nbformat.v4.new_markdown_cell(rest.strip("\n")))
        cells[title + 1 : title + 1] = banner
    site.cells = cells
    return site


def run_summary(run: dict) -> str:
    """Return how long a cached full run took, where and when (e.g. '4.6 min on 2 CPU cores, 2026-11-29')."""
    minutes = run["duration_s"] / 60
    took = f"{minutes:.1f} min" if minutes >= 2 else f"{run['duration_s']:.0f} s"
    return f"{took} on {run['cpus']} CPU cores, {run['date']}"


def course_map(lessons: dict[str, nbformat.NotebookNode]) -> str:
    """Return the Markdown of the course map: each lesson's title, goal, time and exercises, by track."""
    parts, track = [COURSE_MAP_INTRO], None
    for stem, notebook in lessons.items():
        number, topic = stem.split("_")[0], stem.split("_")[1]
        if topic != track:
            track = topic
            parts.append(f"## {TRACKS.get(topic, topic)}\n")
        markdown = [cell.source for cell in notebook.cells if cell.cell_type == "markdown"]
        paragraphs = [p for text in markdown for p in text.split("\n\n")]
        title = next((line[2:] for text in markdown for line in text.splitlines() if line.startswith("# ")), stem)
        goal = next((p for p in paragraphs if p.startswith("**Goal:**")), "")
        needs = next((p for p in paragraphs if p.startswith("**Before you start:**")), "")
        budget = next((p for p in paragraphs if p.startswith("**Time:**")), "")
        run = notebook.metadata.get(RUN_METADATA, {})
        if budget and "duration_s" in run:
            budget += f" *The full run of this notebook for the site took {run_summary(run)}.*"
        exercises = [name for cell in notebook.cells if has_tag(cell, EXERCISE_TAG) for name in defined_names(cell.source)]
        parts.append(f"### [{title}]({stem}.ipynb)\n")
        parts += [f"{text}\n" for text in (goal, needs, budget) if text]
        if exercises:
            parts.append(f"Exercises: {', '.join(f'`{name}`' for name in exercises)}. Grade them with `pytest -k {number}`.\n")
    return "\n".join(parts)


def machine() -> dict:
    """Return what a cached run records about where it ran."""
    return {
        "cpus": os.cpu_count(),
        "load_1min": round(os.getloadavg()[0], 1),
        "platform": f"{platform.system()} {platform.machine()}",
        "python": platform.python_version(),
    }


def run_in_full(solutions: Path, stem: str, folder: Path) -> nbformat.NotebookNode:
    """Execute master `stem` end to end as written (no parameter injected) in `folder`; return it.

    Saved models land in `folder/models/`, where a later lesson of the same run finds them. The
    result carries RUN_METADATA: the master's fingerprint, the package version, the date, the
    machine and the run's duration.
    """
    master = read_notebook(newest_of_pair(solutions, stem))
    folder.mkdir(parents=True, exist_ok=True)
    start = time.monotonic(), machine()
    executed = execute_notebook(newest_of_pair(solutions, stem), {}, cwd=folder)
    for cell in executed.cells:
        if cell.cell_type == "code":
            cell.outputs = readable_outputs(cell.outputs, hidden_paths=(str(folder.resolve()),))
    executed.metadata[RUN_METADATA] = {
        "mode": "full",
        "fingerprint": code_fingerprint(master),
        "package_version": cnn_course.__version__,
        "date": datetime.date.today().isoformat(),
        "duration_s": round(time.monotonic() - start[0], 1),
        **start[1],
    }
    return executed


def prerequisites(master: nbformat.NotebookNode) -> list[str]:
    """Return the lessons (stems) a master links to in its "**Before you start:**" paragraph."""
    text = "\n\n".join(cell.source for cell in master.cells if cell.cell_type == "markdown")
    before = next((p for p in text.split("\n\n") if p.startswith("**Before you start:**")), "")
    return re.findall(r"\]\((\d\d_\w+)\.ipynb", before)


def build_site_lessons(
    solutions: Path, lessons: Path, out: Path, cache: Path = RUN_CACHE, full: bool = False, only: list[str] | None = None
) -> tuple[list[Path], list[str]]:
    """Write every master's site notebook to `out`; return the files written and the quick-mode lessons.

    A lesson's outputs come from its run in `cache` when that run is up to date. Otherwise, with
    `full`, the master runs in full (in RUN_FOLDER) and its run is written to `cache`; without,
    it runs in quick mode in a temporary folder, after the training lessons (those with a
    parameters cell) its "Before you start" links to, whose saved models it may load; its page
    says so. `only` limits `full` to the
    named lessons. `out/downloads/` receives the learners' pairs from `lessons`, `out/index.md`
    the course map.
    """
    out.mkdir(parents=True, exist_ok=True)
    downloads = out / "downloads"
    downloads.mkdir(exist_ok=True)
    stems = lesson_stems(solutions)
    masters = {stem: read_notebook(newest_of_pair(solutions, stem)) for stem in stems}
    runs = {stem: cached_run(cache, stem, masters[stem]) for stem in stems}
    if full:
        cache.mkdir(parents=True, exist_ok=True)
        for stem in stems:
            if (only and stem in only) or (not only and runs[stem] is None):
                print(f"running {stem} in full ...", flush=True)
                try:
                    runs[stem] = run_in_full(solutions, stem, RUN_FOLDER)
                except NotebookRunError as error:  # the other lessons still run; this one stays stale (quick mode)
                    print(f"  {stem} failed, its page will be built in quick mode: {error}", flush=True)
                    continue
                (cache / f"{stem}.ipynb").write_text(nbformat.writes(runs[stem]) + "\n", encoding="utf-8")
                print(f"  {runs[stem].metadata[RUN_METADATA]['duration_s']:.0f} s; cached in {cache / (stem + '.ipynb')}", flush=True)
    stale = [stem for stem in stems if runs[stem] is None]
    quick: list[str] = []
    training = {stem: any(has_tag(cell, PARAMETERS_TAG) for cell in masters[stem].cells) for stem in stems}
    needed = {before for stem in stale for before in prerequisites(masters[stem]) if training.get(before)}
    with tempfile.TemporaryDirectory(prefix="cnn-course-site-") as folder:
        for stem in stems:
            if stem not in stale and stem not in needed:
                continue  # up to date, and no quick run needs the models it saves
            print(f"executing {stem} in quick mode{'' if stem in stale else ' (for the models later lessons load)'} ...", flush=True)
            executed = execute_notebook(newest_of_pair(solutions, stem), QUICK_PARAMETERS, cwd=Path(folder))
            if stem in stale:
                for cell in executed.cells:
                    if cell.cell_type == "code":
                        cell.outputs = readable_outputs(cell.outputs, hidden_paths=(str(Path(folder).resolve()), folder))
                        if has_tag(cell, PARAMETERS_TAG):
                            cell.source = shown_parameters(cell.source, QUICK_PARAMETERS)
                executed.metadata[RUN_METADATA] = {"mode": "quick" if training[stem] else "full"}
                runs[stem] = executed
                quick += [stem] if training[stem] else []
    written = []
    pages = {}
    for stem in stems:
        executed = runs[stem] if stem in stale else with_outputs_of(masters[stem], runs[stem])
        pages[stem] = executed
        path = out / f"{stem}.ipynb"
        path.write_text(render_pair(site_notebook(executed, stem, stem in quick))[".ipynb"], encoding="utf-8")
        written.append(path)
        for suffix in (".ipynb", ".py"):
            shutil.copyfile(lessons / f"{stem}{suffix}", downloads / f"{stem}{suffix}")
    (out / "index.md").write_text(course_map(pages), encoding="utf-8")
    written.append(out / "index.md")
    return written, quick


def run_status(solutions: Path, cache: Path = RUN_CACHE) -> dict[str, str]:
    """Return, for each lesson, 'up to date (...)', 'stale' or 'missing' for its cached full run."""
    status = {}
    for stem in lesson_stems(solutions):
        master = read_notebook(newest_of_pair(solutions, stem))
        run = cached_run(cache, stem, master)
        if run is not None:
            status[stem] = f"up to date (full run: {run_summary(run.metadata[RUN_METADATA])})"
        else:
            status[stem] = "stale: the master's code changed since its run" if (cache / f"{stem}.ipynb").is_file() else "missing"
    return status


def build_home_figures(out: Path, data_dir: Path | None = None) -> dict:
    """Train the reference MNIST recipe, copy its two figures to `out`, write the run's one-line summary."""
    from cnn_course.recipes import DEFAULT_RECIPE, RECIPES
    from cnn_course.commands.train import train_recipe

    recipe = RECIPES["mnist"][DEFAULT_RECIPE["mnist"]]
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="cnn-course-home-") as run:
        metrics = train_recipe(recipe, Path(run), data_dir)
        for name in HOME_FIGURES:
            shutil.copyfile(Path(run) / name, out / name)
    # Accuracy, not time: how long training takes depends on the machine (see the benchmarks page).
    (out / HOME_RUN_SNIPPET).write_text(
        f"Test accuracy **{metrics['test_accuracy']:.2%}** on the 10,000 official MNIST test images after "
        f"{metrics['epochs']} epochs ({metrics['parameters']:,} parameters, Keras {metrics['keras']} on "
        f"{metrics['backend']}, seed {metrics['seed']}). Drawn by `python -m tools.site.build figures`, which runs the "
        "`cnn-course train mnist` recipe.\n",
        encoding="utf-8",
    )
    return metrics


def build_concept_diagrams(out: Path, model_path: Path = CONCEPT_MODEL, data_dir: Path | None = None) -> list[Path]:
    """Draw the Concepts page's diagrams into `out` (PNG, 110 dpi); return the files written.

    "What the network sees" reads the MNIST model at `model_path` (by default the one the full
    run of lesson 3 saved) and the first test image of MNIST. Raises FileNotFoundError, naming
    the command that makes the model, when it is missing.
    """
    import keras
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from cnn_course import data
    from tools.site import diagrams

    if not model_path.is_file():
        raise FileNotFoundError(
            f"no trained MNIST model at {model_path}: run `python -m tools.site.build lessons --full --only 03_mnist_training` "
            "first, or pass --model PATH to a model lesson 3 saved"
        )
    model = keras.saving.load_model(model_path, safe_mode=True)
    (_, _), (x_test, _) = data.load_mnist(data_dir)
    image = data.add_channel_axis(data.scale_images(x_test[:1]))[0]
    figures = {
        "convolution.png": diagrams.draw_convolution(),
        "max_pooling.png": diagrams.draw_max_pooling(),
        "receptive_field.png": diagrams.draw_receptive_field(),
        "batchnorm.png": diagrams.draw_batchnorm_train_vs_inference(),
        "dropout.png": diagrams.draw_dropout_train_vs_inference(),
        "first_layer_filters.png": diagrams.draw_first_layer_filters(model),
        "feature_maps.png": diagrams.draw_feature_maps(model, image),
    }
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, figure in figures.items():
        figure.savefig(out / name, dpi=110, bbox_inches="tight", metadata={"Software": None})
        plt.close(figure)
        written.append(out / name)
    return written


def main(argv: list[str] | None = None) -> int:
    """Entry point of `python -m tools.site.build`."""
    parser = argparse.ArgumentParser(prog="python -m tools.site.build", description="Generate the course website's content.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    lessons = commands.add_parser("lessons", help="write the lesson pages' notebooks (outputs from the run cache)")
    lessons.add_argument("--full", action="store_true", help="first run in full (minutes) the masters whose cached run is missing or stale")
    lessons.add_argument("--only", nargs="+", metavar="STEM", help="with --full: run these lessons (e.g. 05_cifar10_cnn) even if up to date")
    lessons.add_argument("--solutions", type=Path, default=REPO / "solutions", help="folder of master notebooks")
    lessons.add_argument("--lessons", type=Path, default=REPO / "lessons", help="folder of learner lessons (offered for download)")
    lessons.add_argument("--out", type=Path, default=REPO / "docs" / "lessons", help="where to write the site notebooks")
    status = commands.add_parser("status", help="say which lessons have an up-to-date full run in the cache; exit 1 if any has not")
    status.add_argument("--solutions", type=Path, default=REPO / "solutions", help="folder of master notebooks")
    figures = commands.add_parser("figures", help="train the MNIST recipe and copy its figures to the home page's assets")
    figures.add_argument("--out", type=Path, default=REPO / "docs" / "assets", help="where to write the figures")
    figures.add_argument("--data-dir", type=Path, help="folder with the official dataset files (default: $CNN_COURSE_DATA)")
    concepts = commands.add_parser("concepts", help="draw the Concepts page's diagrams (needs lesson 3's model from a full run)")
    concepts.add_argument("--out", type=Path, default=REPO / "docs" / "assets" / "concepts", help="where to write the diagrams")
    concepts.add_argument("--model", type=Path, default=CONCEPT_MODEL, help="the trained MNIST model (.keras) whose first layer is shown")
    concepts.add_argument("--data-dir", type=Path, help="folder with the official dataset files (default: $CNN_COURSE_DATA)")
    args = parser.parse_args(argv)

    from cnn_course.data import DataError
    from cnn_course.authoring.notebooks import NotebookError

    try:
        if args.command == "lessons":
            written, quick = build_site_lessons(args.solutions, args.lessons, args.out, full=args.full, only=args.only)
            for path in written:
                print(f"wrote {path}")
            if quick:
                print(f"quick mode (no up-to-date full run; the pages say so): {', '.join(quick)}. "
                      "Publish real outputs with: python -m tools.site.build lessons --full")
        elif args.command == "status":
            status = run_status(args.solutions)
            for stem, state in status.items():
                print(f"{stem}: {state}")
            return 0 if all(state.startswith("up to date") for state in status.values()) else 1
        elif args.command == "concepts":
            for path in build_concept_diagrams(args.out, args.model, args.data_dir):
                print(f"wrote {path}")
        else:
            metrics = build_home_figures(args.out, args.data_dir)
            print(f"test accuracy {metrics['test_accuracy']:.2%}; wrote {', '.join(HOME_FIGURES)} and {HOME_RUN_SNIPPET} to {args.out}/")
    except (DataError, NotebookError, NotebookRunError, FileNotFoundError) as error:
        print(f"python -m tools.site.build {args.command}: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
