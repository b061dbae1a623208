"""Every master notebook runs end to end in a real Jupyter kernel, in quick mode, so none can rot."""

import keras
import pytest

from cnn_course.authoring.notebook_runner import QUICK_PARAMETERS, NotebookRunError, execute_notebook, inject_parameters
from cnn_course.authoring.notebooks import lesson_stems, read_notebook

from .conftest import SOLUTIONS, needs_data

# The lessons that train and save a model into MODEL_DIR (here a temporary folder, never the repository),
# and the lessons that load a model another lesson saved.
SAVED_MODELS = {
    "03_mnist_training": "mnist_cnn",
    "05_cifar10_cnn": "cifar10_cnn",
    "07_own_images": "own_images_cnn",
    "08_transfer_learning": "transfer_cnn",
}
OUTPUT_CLASSES = {"08_transfer_learning": 5}  # the others classify all 10 classes
NEEDS_MODEL_FROM = {"06_cifar10_evaluation": "05_cifar10_cnn", "09_predict_and_serve": "05_cifar10_cnn"}


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    """Execute a master in quick mode once (after the lesson whose model it loads), sharing one MODEL_DIR."""
    model_dir = tmp_path_factory.mktemp("models")
    runs = {}

    def run(stem):
        if stem in NEEDS_MODEL_FROM:
            run(NEEDS_MODEL_FROM[stem])
        if stem not in runs:
            runs[stem] = execute_notebook(
                SOLUTIONS / f"{stem}.ipynb", {**QUICK_PARAMETERS, "MODEL_DIR": str(model_dir)}
            )
        return runs[stem], model_dir

    return run


@needs_data()
@pytest.mark.parametrize("stem", lesson_stems(SOLUTIONS))
def test_master_notebook_runs_in_quick_mode(stem, quick_run):
    notebook, model_dir = quick_run(stem)
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    printed = "".join(o.get("text", "") for o in outputs)
    assert "passes every check" in printed
    assert "not written yet" not in printed
    if stem in SAVED_MODELS:
        model = keras.saving.load_model(model_dir / f"{SAVED_MODELS[stem]}.keras", safe_mode=True)
        assert model.output_shape == (None, OUTPUT_CLASSES.get(stem, 10))
        assert (model_dir / f"{SAVED_MODELS[stem]}_history.json").is_file()


def test_parameters_are_injected_after_the_parameters_cell():
    notebook = read_notebook(SOLUTIONS / "03_mnist_training.py")
    inject_parameters(notebook, {"QUICK_RUN": True})
    index = next(i for i, c in enumerate(notebook.cells) if "parameters" in c.metadata.get("tags", []))
    assert notebook.cells[index + 1].source == "QUICK_RUN = True"


def test_a_failing_notebook_names_the_cell(tmp_path):
    broken = tmp_path / "01_broken.py"
    broken.write_text("# %%\nx = 1\n\n# %%\nraise ValueError('boom in cell two')\n")
    with pytest.raises(NotebookRunError, match="boom in cell two"):
        execute_notebook(broken)
