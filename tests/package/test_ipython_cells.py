"""IPython syntax in lessons, as Jupyter runs it: magics the grader runs, ignores or refuses, the same in self_check.

Lessons with `%matplotlib inline`, `%%time`, `%time`, `?` help, `!ls`, `%pip install` and `%run` are
written as Jupyter saves them (through Jupytext) and graded in a pytest subprocess with each learner
backend; the self-check runs in an IPython shell, as in a notebook, and must agree with the grader.
"""

from __future__ import annotations

import ast

import jupytext
import pytest

from cnn_course.runtime.ipython_cells import explain_refusals, prepare_cell

from .conftest import SOLUTIONS, passes, run_graders


def _cell_defining(notebook, name):
    return next(cell for cell in notebook.cells if cell.cell_type == "code" and f"def {name}(" in cell.source)


def _setup_cell(notebook):
    return next(cell for cell in notebook.cells if "setup" in cell.metadata.get("tags", []))


def _write(target, stem, edits):
    """Copy master `stem` into `target` with `edits` (name or "setup" -> function of the cell's source)."""
    notebook = jupytext.read(SOLUTIONS / f"{stem}.py")
    for name, edit in edits.items():
        cell = _setup_cell(notebook) if name == "setup" else _cell_defining(notebook, name)
        cell.source = edit(cell.source)
    jupytext.write(notebook, target / f"{stem}.py", fmt="py:percent")


SETUP_MAGICS = (
    "%matplotlib inline\n%load_ext autoreload\n%autoreload 2\n%config InlineBackend.figure_format = 'retina'\n"
)


@pytest.fixture(scope="module", params=["fork", "spawn"])
def magic_run(request, tmp_path_factory):
    target = tmp_path_factory.mktemp(f"magics-{request.param}") / "lessons"
    target.mkdir(parents=True)
    _write(
        target,
        "01_mnist_data",
        {
            "setup": lambda source: source.replace("import keras\n", "import keras\n" + SETUP_MAGICS, 1),
            "count_per_class": lambda source: "%%time\n" + source,
            "scale_images": lambda source: (
                "%time example = np.zeros(3)\n"
                + source.replace(
                    '    return images.astype("float32") / 255.0',
                    '    %time scaled = images.astype("float32") / 255.0\n    return images.astype("float32") / 255.0',
                )
            ),
            "add_channel_axis": lambda source: source.replace("    return np.", "    !ls\n    return np."),
            "one_hot": lambda source: "keras.utils.to_categorical?\n" + source,
            "split_train_validation": lambda source: "%run other.py\n" + source,
        },
    )
    _write(
        target,
        "02_mnist_cnn",
        {
            "setup": lambda source: source.replace("import math\n", "import math\n%matplotlib inline\n", 1),
            "conv_output_size": lambda source: "%%timeit -n1 -r1\n" + source,
            "conv2d_param_count": lambda source: "%%capture captured\nprint('hidden')\n" + source,
        },
    )
    _write(
        target,
        "03_mnist_training",
        {
            "setup": lambda source: source.replace("import json\n", "import json\n%pip install foo\n", 1),
        },
    )
    (target / "other.py").write_text("print('other')\n")
    selection = "(test_01_mnist_data or test_02_mnist_cnn or test_03_mnist_training) and not saved"
    return run_graders(target, "-k", selection, "--learner-backend", request.param, timeout=600)


@pytest.mark.parametrize(
    "test",
    [
        "test_count_per_class",
        "test_scale_images",
        "test_one_hot",
        "test_conv2d_param_count",
        "test_build_mnist_cnn",
    ],
)
def test_harmless_magics_and_help_lines_pass(magic_run, test):
    assert magic_run.results[test][0] == "passed", magic_run.results[test]


def test_a_shell_escape_fails_only_its_exercise_and_names_the_line(magic_run):
    outcome, message = magic_run.results["test_add_channel_axis"]
    assert outcome == "failure", message
    assert "01_mnist_data.py, cell" in message and "line 8, `!ls`, runs a shell command" in message, message
    assert "Run it in a terminal instead, or move the line to a cell without the `exercise` tag" in message, message
    assert "does not parse" not in message and "Traceback" not in message


def test_run_is_refused_and_not_run(magic_run):
    outcome, message = magic_run.results["test_split_train_validation"]
    assert outcome == "failure", message
    assert "line 1, `%run other.py`, runs another file" in message, message
    assert "other\n" not in message


def test_timeit_keeps_no_definition_and_says_so(magic_run):
    outcome, message = magic_run.results["test_conv_output_size"]
    assert outcome == "failure", message
    assert "starts with %%timeit" in message and "Remove the %%timeit line" in message, message


def test_pip_install_in_the_setup_cell_names_the_line_for_every_exercise(magic_run):
    for test in ("test_train_classifier", "test_predict_labels", "test_confusion_counts"):
        outcome, message = magic_run.results[test]
        assert outcome == "failure", message
        assert "the setup cell (03_mnist_training.py, cell" in message, message
        assert "line 3, `%pip install foo`, installs packages" in message, message
        assert "without the `setup` tag" in message, message


def test_no_lesson_fails_with_does_not_parse(magic_run):
    assert "does not parse" not in magic_run.output
    assert "invalid syntax" not in magic_run.output


# -- the transformation itself ------------------------------------------------------------------------------------


def _run(source):
    cell = prepare_cell(source)
    namespace = {}
    with cell.output_captured(namespace):
        exec(compile(cell.tree, "<cell>", "exec"), namespace)  # noqa: S102 - the test's own text
    return cell, namespace


def test_time_binds_at_the_top_level_but_not_inside_a_function_as_in_ipython():
    _, namespace = _run("%time x = 6 * 7\ndef f():\n    %time y = 1\n    return y\n")
    assert namespace["x"] == 42
    with pytest.raises(NameError):
        namespace["f"]()


def test_timeit_runs_once_and_keeps_nothing():
    runs = []
    cell = prepare_cell("%%timeit -n 3 -r 2 counter = []\ncounter.append(1)\nruns.append(len(counter))\n")
    namespace = {"runs": runs}
    exec(compile(cell.tree, "<cell>", "exec"), namespace)  # noqa: S102 - the test's own text
    assert runs == [1] and cell.discards_names and "counter" not in namespace


@pytest.mark.parametrize("line", ["%%timeit -n1 -r1", "%%timeit", "%%timeit -q -o"])
def test_timeit_options_are_not_taken_for_setup_code(line):
    runs = []
    exec(compile(prepare_cell(f"{line}\nruns.append(1)\n").tree, "<cell>", "exec"), {"runs": runs})  # noqa: S102
    assert runs == [1]


def test_capture_swallows_the_output_and_binds_it(capsys):
    _, namespace = _run("%%capture out\nprint('hidden')\nvalue = 1\n")
    assert capsys.readouterr().out == ""
    assert namespace["out"].stdout == "hidden\n" and namespace["value"] == 1


@pytest.mark.parametrize(
    ("source", "line", "text", "kind"),
    [
        ("\n\n!ls -l\n", 3, "!ls -l", "shell"),
        ("files = !ls\n", 1, "!ls", "shell"),
        ("%%bash\nls\n", 1, "%%bash", "shell"),
        ("%sx ls\n", 1, "%sx ls", "shell"),
        ("%system ls\n", 1, "%system ls", "shell"),
        ("%%time\nx = 1\n%conda install numpy\n", 3, "%conda install numpy", "install"),
        ("%run other.py\n", 1, "%run other.py", "run"),
        ("%cd ..\n", 1, "%cd ..", "magic"),
    ],
)
def test_refused_lines_are_named_with_their_line(source, line, text, kind):
    refusals = prepare_cell(source).refusals
    assert [(refusal.line, refusal.text, refusal.kind) for refusal in refusals] == [(line, text, kind)]


@pytest.mark.parametrize(
    "source",
    [
        "%matplotlib inline\n",
        "%load_ext autoreload\n%autoreload 2\n",
        "np.zeros?\n",
        "np.zeros??\n",
        "%%html\n<b>x</b>\n",
        "%config InlineBackend.figure_format = 'retina'\n",
    ],
)
def test_ignored_magics_do_nothing(source):
    cell, namespace = _run(source)
    assert not cell.refusals and set(namespace) == {"__builtins__"}


def test_a_syntax_error_after_a_magic_keeps_the_cells_line_number():
    error = prepare_cell("%%time\n\ndef f(:\n    pass\n").syntax_error
    assert error is not None and error.lineno == 3


def test_line_numbers_of_an_error_are_the_cells():
    cell = prepare_cell("\n%matplotlib inline\n\ndef f():\n    return 1 / 0\n")
    function = next(node for node in cell.tree.body if isinstance(node, ast.FunctionDef))
    assert function.body[0].lineno == 5


# -- self_check in a notebook agrees with the grader ------------------------------------------------------------


@pytest.fixture
def shell():
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    instance = InteractiveShell.instance(config=config)
    instance.run_cell("import numpy as np\nfrom cnn_course.checks import self_check", store_history=True)
    yield instance
    InteractiveShell.clear_instance()


def _self_check(shell, cell, name):
    """Run `cell` then `self_check(name)` as a notebook does; return (passed, verdict or printed text)."""
    assert shell.run_cell(cell, store_history=True).success
    result = shell.run_cell(f"self_check({name})", store_history=True)
    return result.success, str(result.error_in_exec) if result.error_in_exec else ""


def test_self_check_passes_a_time_cell_as_the_grader_does(shell, capsys):
    cell = "%%time\ndef count_per_class(labels, num_classes=10):\n    return np.bincount(labels, minlength=num_classes)"
    passed, _ = _self_check(shell, cell, "count_per_class")
    assert passed and "✔ count_per_class passes every check." in capsys.readouterr().out
    _, namespace = _run(cell.replace("np.", "__import__('numpy')."))
    passes("count_per_class", namespace["count_per_class"])


def test_self_check_refuses_a_shell_escape_with_the_graders_words(shell):
    cell = "def add_channel_axis(images):\n    !ls\n    return np.expand_dims(images, -1)\n"
    passed, verdict = _self_check(shell, cell, "add_channel_axis")
    assert not passed
    graders = explain_refusals(prepare_cell("def f():\n    !ls\n").refusals, "its cell", "exercise")
    assert verdict == f"add_channel_axis: {graders}"
    assert "line 2, `!ls`, runs a shell command" in verdict


def test_self_check_and_the_grader_agree_on_time_inside_a_function(shell):
    cell = "def scale_images(images):\n    %time scaled = images.astype('float32') / 255.0\n    return scaled\n"
    passed, verdict = _self_check(shell, cell, "scale_images")
    assert not passed and "NameError" in verdict
    _, namespace = _run(cell)
    with pytest.raises(NameError):
        namespace["scale_images"](__import__("numpy").zeros((1, 2), "uint8"))


def test_an_untagged_cell_with_a_magic_still_names_what_it_defines(tmp_path):
    import nbformat

    from cnn_course.grading.lesson import read_lesson_file

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell("%matplotlib inline\nimport numpy as np", metadata={"tags": ["setup"]}),
        nbformat.v4.new_code_cell("%%time\nhelper = np.arange(3)"),
        nbformat.v4.new_code_cell("def count_per_class(labels):\n    return helper", metadata={"tags": ["exercise"]}),
    ]
    jupytext.write(notebook, tmp_path / "01_mnist_data.py", fmt="py:percent")
    lesson = read_lesson_file(tmp_path / "01_mnist_data.py")
    assert lesson.untagged_names == {"helper": "01_mnist_data.py, cell 2"}
