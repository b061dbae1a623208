"""Generated content of the course website: lesson pages with figures, and the home page's pictures.

    python -m cnn_course.site lessons [--quick]   # docs/lessons/: every master, executed, as a site notebook
    python -m cnn_course.site figures             # docs/assets/: curves and confusion matrix of the MNIST recipe

A *site notebook* is a master executed end to end, whose exercise cells show the learner's stub
(as in `lessons/`) followed by the worked solution in a collapsed admonition; every other cell
keeps its outputs, so the page shows the lesson's figures. `--quick` runs the training lessons in
quick mode (one epoch on a small subset: seconds, not minutes); without it the figures and
numbers are those of a full run.
"""

from __future__ import annotations

import argparse
import copy
import shutil
import sys
import tempfile
from pathlib import Path

import nbformat

from cnn_course.assign import BEGIN_SOLUTION, END_SOLUTION, render_pair, strip_solutions
from cnn_course.notebook_runner import QUICK_PARAMETERS, execute_notebook
from cnn_course.notebooks import EXERCISE_TAG, PARAMETERS_TAG, defined_names, has_tag, lesson_stems, newest_of_pair

REPO = Path(__file__).resolve().parents[1]
INJECTED_TAG = "injected-parameters"
HOME_FIGURES = ("training_history.png", "confusion_matrix.png")
HOME_RUN_SNIPPET = "mnist-run.md"

# Notebook markdown is rendered by nbconvert, which knows no `!!!` admonitions: write their HTML.
QUICK_NOTE = (
    '<div class="admonition note"><p class="admonition-title">Built in quick mode</p>'
    "<p>The outputs of this page come from a quick build of the site: the training cells ran one epoch "
    "on a small subset, so the curves, accuracies and mistakes below are far from what the lesson "
    "reaches when you run it. A full build (<code>python -m cnn_course.site lessons</code>) shows a full run.</p></div>"
)
TRACKS = {"mnist": "MNIST: handwritten digits", "cifar10": "CIFAR-10: colour photographs"}
COURSE_MAP_INTRO = """# Course map

Each lesson is a Jupyter notebook in `lessons/`. Read it here, then work through it in Jupyter:
every exercise is a small function you write, checked on the spot by `self_check(...)` and graded
from a terminal with `pytest -k NN`. On these pages the exercise cells show what you start from;
the worked solution sits folded below each one. Try first: the
[learner guide](../learner-guide.md) explains how the exercises and the grader work.
"""


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


def readable_outputs(outputs: list) -> list:
    """Return a cell's outputs as a reader should see them: stdout merged and settled, stderr dropped.

    stderr only carries TensorFlow's start-up logs here; progress bars arrive as many stdout
    chunks full of carriage returns, which a static page would show as hundreds of lines.
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
    return kept


def site_notebook(executed: nbformat.NotebookNode, name: str, quick: bool) -> nbformat.NotebookNode:
    """Turn an executed master into its site version: learner stubs, collapsed solutions, outputs kept.

    `name` (the lesson's stem) is used in error messages.
    """
    site = copy.deepcopy(executed)
    cells, count = [], 0
    for number, cell in enumerate(site.cells, start=1):
        if has_tag(cell, INJECTED_TAG):
            continue
        cell.pop("id", None)
        if cell.cell_type == "code":
            cell.outputs = readable_outputs(cell.outputs)
            if cell.execution_count is not None:  # number the cells as if the injected one never ran
                count += 1
                cell.execution_count = count
                for output in cell.outputs:
                    if "execution_count" in output:
                        output.execution_count = count
        cells.append(cell)
        if cell.cell_type == "code" and has_tag(cell, EXERCISE_TAG):
            solution = cell.source
            cell.source = strip_solutions(solution, f"{name}, cell {number}").rstrip("\n")
            cells.append(worked_solution_cell(solution))
    if quick and any(has_tag(cell, PARAMETERS_TAG) for cell in cells):
        title = next((i for i, c in enumerate(cells) if c.cell_type == "markdown" and c.source.startswith("# ")), -1)
        cells.insert(title + 1, nbformat.v4.new_markdown_cell(QUICK_NOTE))
    site.cells = cells
    return site


def course_map(lessons: dict[str, nbformat.NotebookNode]) -> str:
    """Return the Markdown of the course map: each lesson's title, goal and exercises, by track."""
    parts, track = [COURSE_MAP_INTRO], None
    for stem, notebook in lessons.items():
        number, topic = stem.split("_")[0], stem.split("_")[1]
        if topic != track:
            track = topic
            parts.append(f"## {TRACKS.get(topic, topic)}\n")
        markdown = [cell.source for cell in notebook.cells if cell.cell_type == "markdown"]
        title = next((line[2:] for text in markdown for line in text.splitlines() if line.startswith("# ")), stem)
        goal = next((p for text in markdown for p in text.split("\n\n") if p.startswith("**Goal:**")), "")
        exercises = [name for cell in notebook.cells if has_tag(cell, EXERCISE_TAG) for name in defined_names(cell.source)]
        parts.append(f"### [{title}]({stem}.ipynb)\n\n{goal}\n")
        if exercises:
            parts.append(f"Exercises: {', '.join(f'`{name}`' for name in exercises)}. Grade them with `pytest -k {number}`.\n")
    return "\n".join(parts)


def build_site_lessons(solutions: Path, lessons: Path, out: Path, quick: bool = False) -> list[Path]:
    """Execute every master of `solutions` and write its site notebook to `out`; return the files written.

    `out/downloads/` receives the learners' pairs from `lessons` (what a lesson page offers to
    download) and `out/index.md` the course map. Models a training lesson saves go to a temporary
    folder, never into the repository.
    """
    out.mkdir(parents=True, exist_ok=True)
    downloads = out / "downloads"
    downloads.mkdir(exist_ok=True)
    written, masters = [], {}
    with tempfile.TemporaryDirectory(prefix="cnn-course-site-") as models:
        parameters = {**QUICK_PARAMETERS, "MODEL_DIR": models} if quick else {"MODEL_DIR": models}
        for stem in lesson_stems(solutions):
            print(f"executing {stem} ({'quick' if quick else 'full'} mode) ...", flush=True)
            executed = masters[stem] = execute_notebook(newest_of_pair(solutions, stem), parameters, cwd=Path(models))
            path = out / f"{stem}.ipynb"
            path.write_text(render_pair(site_notebook(executed, stem, quick))[".ipynb"], encoding="utf-8")
            written.append(path)
            for suffix in (".ipynb", ".py"):
                shutil.copyfile(lessons / f"{stem}{suffix}", downloads / f"{stem}{suffix}")
    (out / "index.md").write_text(course_map(masters), encoding="utf-8")
    written.append(out / "index.md")
    return written


def build_home_figures(out: Path, data_dir: Path | None = None) -> dict:
    """Train the reference MNIST recipe, copy its two figures to `out`, write the run's one-line summary."""
    from cnn_course.recipes import DEFAULT_RECIPE, RECIPES
    from cnn_course.train_job import train_recipe

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
        f"{metrics['backend']}, seed {metrics['seed']}). Drawn by `python -m cnn_course.site figures`, which runs the "
        "`cnn-course train mnist` recipe.\n",
        encoding="utf-8",
    )
    return metrics


def main(argv: list[str] | None = None) -> int:
    """Entry point of `python -m cnn_course.site`."""
    parser = argparse.ArgumentParser(prog="python -m cnn_course.site", description="Generate the course website's content.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    lessons = commands.add_parser("lessons", help="execute the masters and write the lesson pages' notebooks")
    lessons.add_argument("--quick", action="store_true", help="run training lessons in quick mode (seconds instead of minutes)")
    lessons.add_argument("--solutions", type=Path, default=REPO / "solutions", help="folder of master notebooks")
    lessons.add_argument("--lessons", type=Path, default=REPO / "lessons", help="folder of learner lessons (offered for download)")
    lessons.add_argument("--out", type=Path, default=REPO / "docs" / "lessons", help="where to write the site notebooks")
    figures = commands.add_parser("figures", help="train the MNIST recipe and copy its figures to the home page's assets")
    figures.add_argument("--out", type=Path, default=REPO / "docs" / "assets", help="where to write the figures")
    figures.add_argument("--data-dir", type=Path, help="folder with the official dataset files (default: $CNN_COURSE_DATA)")
    args = parser.parse_args(argv)

    from cnn_course.data import DataError
    from cnn_course.notebook_runner import NotebookRunError
    from cnn_course.notebooks import NotebookError

    try:
        if args.command == "lessons":
            for path in build_site_lessons(args.solutions, args.lessons, args.out, args.quick):
                print(f"wrote {path}")
        else:
            metrics = build_home_figures(args.out, args.data_dir)
            print(f"test accuracy {metrics['test_accuracy']:.2%}; wrote {', '.join(HOME_FIGURES)} and {HOME_RUN_SNIPPET} to {args.out}/")
    except (DataError, NotebookError, NotebookRunError) as error:
        print(f"python -m cnn_course.site {args.command}: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
