"""assign: learner lessons generated from the masters, never clobbering a learner's edits."""

import re
import subprocess
import sys

import pytest

from cnn_course.authoring.assign import BEGIN_SOLUTION, AssignError, generate_lessons, strip_solutions
from cnn_course.authoring.notebooks import EXERCISE_TAG, has_tag, lesson_stems, read_notebook

from .conftest import REPO, SOLUTIONS


def test_strip_solutions_keeps_signature_docstring_and_indentation():
    source = 'def f(x):\n    """Doc."""\n    ### BEGIN SOLUTION\n    return x + 1\n    ### END SOLUTION\n'
    assert strip_solutions(source, "cell") == (
        'def f(x):\n    """Doc."""\n    # YOUR CODE HERE\n'
        '    raise NotImplementedError("f is not written yet: write your code in its exercise cell in place of this '
        'line, and run that cell")\n'
    )


def test_the_stub_names_the_method_and_its_class():
    source = (
        "class Block:\n    def call(self, x):\n        ### BEGIN SOLUTION\n        return x\n"
        "        ### END SOLUTION\n\n    def other(self):\n        ### BEGIN SOLUTION\n        pass\n"
        "        ### END SOLUTION\n"
    )
    stripped = strip_solutions(source, "cell")
    assert 'NotImplementedError("Block.call is not written yet' in stripped
    assert 'NotImplementedError("Block.other is not written yet' in stripped


@pytest.mark.parametrize(
    "source",
    [
        "    ### BEGIN SOLUTION\n    return 1\n",
        "    return 1\n    ### END SOLUTION\n",
        "### END SOLUTION\n### BEGIN SOLUTION\n",
    ],
)
def test_unpaired_markers_are_refused_with_the_cell_named(source):
    with pytest.raises(AssignError, match="02_x, cell 4"):
        strip_solutions(source, "02_x, cell 4")


def solution_lines(stem: str) -> set[str]:
    """Every non-trivial line written between solution markers in a master."""
    text = (SOLUTIONS / f"{stem}.py").read_text()
    blocks = re.findall(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", text, re.DOTALL)
    return {line.strip() for block in blocks for line in block.splitlines() if len(line.strip()) > 12}


def test_generated_lessons_hold_no_solution_and_keep_every_exercise(tmp_path):
    report = generate_lessons(SOLUTIONS, tmp_path)
    assert not report.refused
    for stem in lesson_stems(SOLUTIONS):
        for suffix in (".py", ".ipynb"):
            text = (tmp_path / f"{stem}{suffix}").read_text()
            assert BEGIN_SOLUTION not in text
            leaked = [line for line in solution_lines(stem) if line in text]
            assert not leaked, f"{stem}{suffix} leaks solution lines: {leaked}"
        master, lesson = read_notebook(SOLUTIONS / f"{stem}.py"), read_notebook(tmp_path / f"{stem}.ipynb")
        exercises = [c for c in lesson.cells if has_tag(c, EXERCISE_TAG)]
        assert len(exercises) == sum(has_tag(c, EXERCISE_TAG) for c in master.cells) > 0
        assert all("raise NotImplementedError" in c.source for c in exercises)
        assert all(not c.get("outputs") for c in lesson.cells if c.cell_type == "code")


def test_the_repository_lessons_are_up_to_date_with_the_masters():
    completed = subprocess.run(
        [sys.executable, "-m", "cnn_course.commands.cli", "assign", "--check"], cwd=REPO, capture_output=True, text=True
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_master_pairs_agree():
    for stem in lesson_stems(SOLUTIONS):
        text, notebook = read_notebook(SOLUTIONS / f"{stem}.py"), read_notebook(SOLUTIONS / f"{stem}.ipynb")
        assert [c.source for c in text.cells] == [c.source for c in notebook.cells], (
            f"run `jupytext --sync solutions/{stem}.py`"
        )


def test_check_reports_drift_without_writing(tmp_path):
    generate_lessons(SOLUTIONS, tmp_path)
    lesson = tmp_path / "01_mnist_data.py"
    lesson.unlink()
    report = generate_lessons(SOLUTIONS, tmp_path, check=True)
    assert report.written == [lesson]
    assert not lesson.exists()


def test_an_edited_lesson_is_refused_and_nothing_is_written_until_forced(tmp_path):
    generate_lessons(SOLUTIONS, tmp_path)
    edited = tmp_path / "02_mnist_cnn.py"
    work = edited.read_text().replace("raise NotImplementedError", "return 42  # my work", 1)
    edited.write_text(work)
    (tmp_path / "01_mnist_data.ipynb").unlink()

    report = generate_lessons(SOLUTIONS, tmp_path)
    assert report.refused == [edited]
    assert edited.read_text() == work
    assert not (tmp_path / "01_mnist_data.ipynb").exists(), "nothing is written while a lesson is refused"

    report = generate_lessons(SOLUTIONS, tmp_path, force=True)
    assert edited in report.written and "my work" not in edited.read_text()


def test_check_on_an_edited_lesson_gives_advice_that_works(tmp_path):
    generate_lessons(SOLUTIONS, tmp_path)
    edited = tmp_path / "01_mnist_data.py"
    edited.write_text(edited.read_text().replace("raise NotImplementedError", "return 42  # my work", 1))
    completed = subprocess.run(
        [sys.executable, "-m", "cnn_course.commands.cli", "assign", "--lessons", str(tmp_path), "--check"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert completed.returncode == 1
    assert "Edited since `cnn-course assign` wrote them" in completed.stdout and str(edited) in completed.stdout
    assert "run `cnn-course assign`. Differing" not in completed.stdout
    assert "`cnn-course assign --force`" in completed.stdout


def test_assign_cli_explains_a_refusal(tmp_path):
    generate_lessons(SOLUTIONS, tmp_path)
    (tmp_path / "03_mnist_training.py").write_text("# my notes\n")
    completed = subprocess.run(
        [sys.executable, "-m", "cnn_course.commands.cli", "assign", "--lessons", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert completed.returncode == 1
    assert "03_mnist_training.py" in completed.stderr and "--force" in completed.stderr
    assert "Traceback" not in completed.stderr
    assert (tmp_path / "03_mnist_training.py").read_text() == "# my notes\n"
