"""The website's generated lesson pages: learner stubs, folded worked solutions, readable outputs, every lesson in the nav."""

import nbformat
import pytest

from cnn_course.assign import BEGIN_SOLUTION, END_SOLUTION, learner_notebook
from cnn_course.notebooks import EXERCISE_TAG, has_tag, lesson_stems, read_notebook
from cnn_course.site import course_map, readable_outputs, site_notebook, terminal_text

from .conftest import REPO, SOLUTIONS


def executed_master(stem: str) -> nbformat.NotebookNode:
    """A master as execute_notebook returns it: an injected parameters cell, outputs with noise."""
    notebook = read_notebook(SOLUTIONS / f"{stem}.py")
    notebook.cells.insert(0, nbformat.v4.new_code_cell("QUICK_RUN = True", metadata={"tags": ["injected-parameters"]}))
    for count, cell in enumerate((c for c in notebook.cells if c.cell_type == "code"), start=1):
        cell.execution_count = count
        cell.outputs = [
            nbformat.v4.new_output("stream", name="stderr", text="I0000 oneDNN custom operations are on.\n"),
            nbformat.v4.new_output("stream", name="stdout", text="Epoch 1/1\n\r1/4 ━━━"),
            nbformat.v4.new_output("stream", name="stdout", text="\b\b\b\r4/4 ━━━━━━ accuracy: 0.9\n"),
        ]
    return notebook


@pytest.mark.parametrize("stem", lesson_stems(SOLUTIONS))
def test_exercises_show_the_learners_stub_then_the_folded_solution(stem):
    site = site_notebook(executed_master(stem), stem, quick=False)
    lesson = learner_notebook(read_notebook(SOLUTIONS / f"{stem}.py"), stem)  # what assign gives learners
    learner = [c.source.rstrip("\n") for c in lesson.cells if has_tag(c, EXERCISE_TAG)]
    exercises = [i for i, c in enumerate(site.cells) if has_tag(c, EXERCISE_TAG)]
    assert [site.cells[i].source for i in exercises] == learner
    for i in exercises:
        solution = site.cells[i + 1]
        assert solution.cell_type == "markdown"
        assert solution.source.startswith('<details class="tip" data-search-exclude>\n<summary>Worked solution</summary>')
        assert "NotImplementedError" not in solution.source
        assert BEGIN_SOLUTION not in solution.source and END_SOLUTION not in solution.source
    assert not any(has_tag(c, "injected-parameters") for c in site.cells)


def test_outputs_are_kept_and_cleaned_and_cells_numbered_from_one():
    site = site_notebook(executed_master("03_mnist_training"), "03_mnist_training", quick=True)
    code = [c for c in site.cells if c.cell_type == "code"]
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1))
    assert code[0].outputs == [nbformat.v4.new_output("stream", name="stdout", text="Epoch 1/1\n4/4 ━━━━━━ accuracy: 0.9\n")]
    assert "Built in quick mode" in site.cells[1].source


def test_quick_mode_is_only_announced_where_it_changes_something():
    site = site_notebook(executed_master("01_mnist_data"), "01_mnist_data", quick=True)
    assert not any("Built in quick mode" in c.source for c in site.cells)


def test_terminal_text_keeps_what_a_terminal_would_show():
    assert terminal_text("a\rb\rc\nd\r\n") == "c\nd\n"
    images = nbformat.v4.new_output("display_data", data={"image/png": "iVBOR"})
    assert readable_outputs([images]) == [images]


def test_course_map_links_every_lesson_with_its_goal_and_exercises():
    masters = {stem: read_notebook(SOLUTIONS / f"{stem}.py") for stem in lesson_stems(SOLUTIONS)}
    text = course_map(masters)
    for stem in masters:
        assert f"]({stem}.ipynb)" in text
        assert f"pytest -k {stem[:2]}" in text
    assert "`scale_images`" in text and "**Goal:**" in text


def test_every_lesson_is_a_page_of_the_site():
    nav = (REPO / "mkdocs.yml").read_text(encoding="utf-8")
    missing = [stem for stem in lesson_stems(SOLUTIONS) if f"lessons/{stem}.ipynb" not in nav]
    assert not missing, f"add these lessons to the nav of mkdocs.yml (section Lessons): {missing}"


def test_every_module_of_the_package_is_in_the_api_reference():
    """Each module and subpackage of cnn_course has a `::: cnn_course.NAME` block on a page of docs/api/."""
    import pkgutil

    import cnn_course

    documented = {
        line.split()[1].split(".")[1]
        for page in (REPO / "docs" / "api").glob("*.md")
        for line in page.read_text(encoding="utf-8").splitlines()
        if line.startswith("::: cnn_course.")
    }
    modules = {module.name for module in pkgutil.iter_modules(cnn_course.__path__)}
    missing = sorted(modules - documented)
    assert not missing, f"add `::: cnn_course.NAME` for these modules to a page of docs/api/: {missing}"
