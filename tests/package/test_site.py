"""The website's generated lesson pages: learner stubs, folded worked solutions, readable outputs,
the run cache and its quick-mode fallback, the lessons' scaffolding, every lesson in the nav."""

import copy
import re

import nbformat
import pytest

from cnn_course.authoring.assign import BEGIN_SOLUTION, END_SOLUTION, learner_notebook
from cnn_course.authoring.notebooks import (
    EXERCISE_TAG,
    INSTALL_TAG,
    PARAMETERS_TAG,
    has_tag,
    lesson_stems,
    read_notebook,
)
from tools.site.build import (
    QUICK_BANNER_CLASS,
    RUN_METADATA,
    cached_run,
    code_fingerprint,
    course_map,
    readable_outputs,
    run_status,
    shown_parameters,
    site_notebook,
    terminal_text,
    with_outputs_of,
)

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
        assert solution.source.startswith(
            '<details class="tip" data-search-exclude>\n<summary>Worked solution</summary>'
        )
        assert "NotImplementedError" not in solution.source
        assert BEGIN_SOLUTION not in solution.source and END_SOLUTION not in solution.source
    assert not any(has_tag(c, "injected-parameters") for c in site.cells)


def test_outputs_are_kept_and_cleaned_and_cells_numbered_from_one():
    site = site_notebook(executed_master("03_mnist_training"), "03_mnist_training", quick=True)
    code = [c for c in site.cells if c.cell_type == "code"]
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1))
    assert code[0].outputs == [
        nbformat.v4.new_output("stream", name="stdout", text="Epoch 1/1\n4/4 ━━━━━━ accuracy: 0.9\n")
    ]
    assert site.cells[0].source == "# Lesson 3 · Train, evaluate, and save the MNIST CNN"
    assert QUICK_BANNER_CLASS in site.cells[1].source, "the banner sits right under the title"
    assert site.cells[2].source.startswith("**Goal:**")


def test_quick_mode_is_only_announced_where_it_changes_something():
    site = site_notebook(executed_master("01_mnist_data"), "01_mnist_data", quick=True)
    assert not any(QUICK_BANNER_CLASS in c.source for c in site.cells)


def test_the_self_check_under_a_stub_shows_no_verdict():
    """On the page the exercise cell shows the stub: the check that passed on the solution would contradict it."""
    executed = executed_master("01_mnist_data")
    for cell in executed.cells:
        if cell.source.startswith("self_check("):
            name = cell.source[len("self_check(") :].split(")")[0]
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"✔ {name} passes every check.\n")]
            if "\n" in cell.source:  # a check followed by a demo: the demo's output stays
                cell.outputs[0].text += "[5 0 4] ->\n"
    site = site_notebook(executed, "01_mnist_data", quick=False)
    checks = [c for c in site.cells if c.cell_type == "code" and c.source.startswith("self_check(")]
    assert len(checks) == 5
    assert [c.outputs[0].text if c.outputs else "" for c in checks] == ["", "", "", "[5 0 4] ->\n", ""]
    others = [c for c in site.cells if c.cell_type == "code" and not c.source.startswith("self_check(")]
    assert all(c.outputs for c in others)


def test_outputs_never_show_the_folder_a_notebook_ran_in():
    output = nbformat.v4.new_output(
        "stream", name="stdout", text="loaded /tmp/cnn-course-site-x1/models/cifar10_cnn.keras\n"
    )
    assert (
        readable_outputs([output], hidden_paths=("/tmp/cnn-course-site-x1",))[0].text
        == "loaded models/cifar10_cnn.keras\n"
    )
    own = nbformat.v4.new_output(
        "stream", name="stdout", text="wrote 10 images into /tmp/cnn-course-lesson07-ab12/photos\n"
    )
    assert readable_outputs([own])[0].text == "wrote 10 images into <temporary folder>/photos\n"


def test_the_parameters_cell_shows_the_values_that_ran():
    assert (
        shown_parameters('QUICK_RUN = False\nMODEL_DIR = "models"', {"QUICK_RUN": True})
        == 'QUICK_RUN = True\nMODEL_DIR = "models"'
    )
    assert shown_parameters("QUICK_RUN = False", {"SEED": 1}) == "QUICK_RUN = False\nSEED = 1"


def test_the_run_fingerprint_follows_the_code_not_the_text():
    master = read_notebook(SOLUTIONS / "03_mnist_training.py")
    edited = copy.deepcopy(master)
    next(c for c in edited.cells if c.cell_type == "markdown").source += "\n\nA new sentence."
    assert code_fingerprint(edited) == code_fingerprint(master)
    next(c for c in edited.cells if has_tag(c, INSTALL_TAG)).source += "\n# where the course is missing"
    assert code_fingerprint(edited) == code_fingerprint(master), "the install cell does nothing where runs are made"
    next(c for c in edited.cells if has_tag(c, PARAMETERS_TAG)).source += "\nEXTRA = 1"
    assert code_fingerprint(edited) != code_fingerprint(master)


def cache_with_run_of(tmp_path, stem):
    """A run cache holding a (pretend) full run of master `stem`: its code cells with one output each."""
    master = read_notebook(SOLUTIONS / f"{stem}.py")
    run = copy.deepcopy(master)
    for cell in run.cells:
        if cell.cell_type == "code":
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"ran {len(cell.source)}\n")]
    run.metadata[RUN_METADATA] = {
        "mode": "full",
        "fingerprint": code_fingerprint(master),
        "date": "2026-11-29",
        "duration_s": 185.0,
        "cpus": 2,
    }
    tmp_path.joinpath(f"{stem}.ipynb").write_text(nbformat.writes(run), encoding="utf-8")
    return master


def test_a_cached_run_gives_the_page_its_outputs_under_the_current_text(tmp_path):
    master = cache_with_run_of(tmp_path, "03_mnist_training")
    master.cells[0].source += "\n\n**Time:** edited after the run."
    run = cached_run(tmp_path, "03_mnist_training", master)
    assert run is not None, "a text edit does not make the run stale"
    page = with_outputs_of(master, run)
    assert "edited after the run" in page.cells[0].source
    assert all(
        c.outputs[0].text.startswith("ran ")
        for c in page.cells
        if c.cell_type == "code" and not has_tag(c, INSTALL_TAG)
    )
    assert all(not c.outputs for c in page.cells if has_tag(c, INSTALL_TAG))  # it installs nothing where runs are made
    assert page.metadata[RUN_METADATA]["mode"] == "full"
    status = run_status(SOLUTIONS, cache=tmp_path)
    assert status["03_mnist_training"] == "up to date (full run: 3.1 min on 2 CPU cores, 2026-11-29)"
    assert status["01_mnist_data"] == "missing"


def test_a_code_change_makes_the_cached_run_stale(tmp_path):
    master = cache_with_run_of(tmp_path, "03_mnist_training")
    next(c for c in master.cells if has_tag(c, PARAMETERS_TAG)).source = "QUICK_RUN = False\nMODEL_DIR = 'elsewhere'"
    assert cached_run(tmp_path, "03_mnist_training", master) is None


def test_a_lessons_prerequisites_are_the_lessons_its_before_you_start_links():
    from tools.site.build import prerequisites

    assert prerequisites(read_notebook(SOLUTIONS / "06_cifar10_evaluation.py"))[0] == "05_cifar10_cnn"
    assert prerequisites(read_notebook(SOLUTIONS / "01_mnist_data.py")) == []


LABELS = ("**Goal:**", "**You will learn to:**", "**Before you start:**", "**Time:**", "## Questions to think about")


@pytest.mark.parametrize("stem", lesson_stems(SOLUTIONS))
def test_every_lesson_states_goals_prerequisites_time_questions_and_links_the_next(stem):
    master = read_notebook(SOLUTIONS / f"{stem}.py")
    text = "\n\n".join(c.source for c in master.cells if c.cell_type == "markdown")
    missing = [label for label in LABELS if label not in text]
    assert not missing, f"add to the markdown of solutions/{stem}.py: {missing} (see the other lessons)"
    questions = text.split("## Questions to think about")[1]
    assert 2 <= len(re.findall(r"^\d\. ", questions, re.MULTILINE)) <= 4, "two or three open questions"
    stems = lesson_stems(SOLUTIONS)
    later = stems[stems.index(stem) + 1 :]
    if later:
        assert "**Next:** [Lesson" in text and f"]({later[0]}.ipynb)" in text, (
            f"a linked next step: [Lesson ...]({later[0]}.ipynb)"
        )


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
    assert "`scale_images`" in text and "**Goal:**" in text and "**Time:**" in text


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


def test_concept_diagrams_follow_the_operations_they_draw():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from tools.site import diagrams

    assert [diagrams.conv_output_size(5, 3, padding, stride) for padding, stride in ((0, 1), (1, 1), (1, 2))] == [
        3,
        5,
        3,
    ]
    figure = diagrams.draw_convolution()
    titles = [axis.get_title() for axis in figure.axes]
    assert titles == [
        "3×3 kernel, valid, stride 1\n5×5 → 3×3",
        "3×3 kernel, same, stride 1\n5×5 → 5×5",
        "3×3 kernel, padding 1, stride 2\n5×5 → 3×3",
    ]
    batchnorm = diagrams.draw_batchnorm_train_vs_inference(steps=50)
    stats = [axis.get_title().splitlines()[-1] for axis in batchnorm.axes]
    assert stats[1] == "mean 0.00, std 1.00", "training=True standardises with the batch's statistics"
    assert stats[2].startswith("mean 4.") or stats[2].startswith("mean 5."), (
        "a fresh layer at inference leaves the batch almost as it is"
    )
    plt.close("all")


def test_transcripts_on_the_site_show_no_tensorflow_log_lines():
    """The transcripts the pages include (docs/assets/*.md) show what the course prints, not TensorFlow's C++ log."""
    log_line = re.compile(r"^[IWE]\d{4} [\d:.]+ +\d+ \S+:\d+\] ", re.MULTILINE)
    noisy = [
        path.name
        for path in sorted((REPO / "docs" / "assets").glob("*.md"))
        if log_line.search(path.read_text(encoding="utf-8"))
    ]
    assert not noisy, (
        f"TensorFlow log lines in {noisy}: rerun the script named at the top of each (cnn_course.quiet hides them now)"
    )
