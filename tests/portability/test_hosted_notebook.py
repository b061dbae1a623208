"""A lesson notebook on its own (Colab, Binder, downloaded alone): it installs the course, then runs.

Every lesson's first code cell (tagged `install`) installs the course from its repository, the one
`pyproject.toml` names and the site's Colab and Binder links open, when the package is missing,
and does nothing where it is installed. A solved notebook copied alone into an empty folder runs
from top to bottom in a real kernel, `self_check` included.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import tomllib

import pytest
import yaml

from cnn_course.authoring.notebook_runner import execute_notebook
from cnn_course.authoring.notebooks import INSTALL_TAG, has_tag, lesson_stems, read_notebook

from ..package.conftest import LESSONS, REPO, SOLUTIONS, needs_data

REPOSITORY = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["urls"]["Repository"]


def install_cell(path):
    code = [cell for cell in read_notebook(path).cells if cell.cell_type == "code"]
    assert has_tag(code[0], INSTALL_TAG), f"{path.name}: the first code cell must be the install cell"
    assert sum(has_tag(cell, INSTALL_TAG) for cell in code) == 1
    return code[0].source


@pytest.mark.parametrize("folder", [SOLUTIONS, LESSONS], ids=["solutions", "lessons"])
def test_every_lesson_installs_the_course_from_its_repository_first(folder):
    for stem in lesson_stems(folder):
        for suffix in (".py", ".ipynb"):
            assert f'"cnn-course @ git+{REPOSITORY}"' in install_cell(folder / f"{stem}{suffix}")


def test_the_site_links_to_the_same_repository():
    """The site's repo_url (Binder, Colab, the header link) comes from the same pyproject entry as the install cell's
    URL, through docs/hooks/repository.py, and mkdocs.yml does not name another."""

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor(
        "tag:yaml.org,2002:python/", lambda loader, suffix, node: None
    )  # mkdocs.yml's !!python/name tags
    config = yaml.load((REPO / "mkdocs.yml").read_text(encoding="utf-8"), Loader=Loader)
    assert "docs/hooks/repository.py" in config["hooks"]
    assert config.get("repo_url") in (None, REPOSITORY)
    spec = importlib.util.spec_from_file_location("repository_hook", REPO / "docs" / "hooks" / "repository.py")
    hook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hook)
    assert hook.repository_url(REPO / "pyproject.toml") == REPOSITORY


@pytest.mark.parametrize("installed", [True, False])
def test_the_install_cell_installs_only_where_the_course_is_missing(installed, monkeypatch):
    calls = []
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: object() if installed else None)
    monkeypatch.setattr(subprocess, "check_call", lambda command, *a, **k: calls.append(command))
    exec(compile(install_cell(SOLUTIONS / "01_mnist_data.py"), "install cell", "exec"), {})  # noqa: S102 - the course's own cell
    assert calls == (
        [] if installed else [[calls[0][0], "-m", "pip", "install", "--quiet", f"cnn-course @ git+{REPOSITORY}"]]
    )


@needs_data()
def test_a_solved_notebook_alone_in_a_folder_runs_top_to_bottom(tmp_path):
    alone = tmp_path / "Downloads (José)"
    alone.mkdir()
    shutil.copy2(SOLUTIONS / "01_mnist_data.ipynb", alone / "01_mnist_data.ipynb")
    executed = execute_notebook(alone / "01_mnist_data.ipynb", cwd=alone)
    printed = "".join(
        output.get("text", "")
        for cell in executed.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
    )
    assert printed.count("✔") == 5 and "passes every check" in printed
