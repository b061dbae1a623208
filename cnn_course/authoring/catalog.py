"""Which exercises the graders grade, read from their `lesson` and `exercise` markers without importing them."""

from __future__ import annotations

import ast
from pathlib import Path


class CatalogError(Exception):
    """A grader file cannot be read, or a test names no lesson; says which file."""


def _marker_argument(node: ast.AST, marker: str) -> str | None:
    """Return X for a `pytest.mark.<marker>("X")` call node, else None."""
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == marker
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    ):
        return node.args[0].value
    return None


def grader_exercises(path: Path) -> dict[str, str]:
    """Return exercise -> lesson for the tests of one grader file, in the order they are defined."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (OSError, SyntaxError, UnicodeDecodeError) as error:
        raise CatalogError(f"the grader {path} cannot be read: {error}") from error
    lessons = [found for node in ast.walk(tree) if (found := _marker_argument(node, "lesson"))]
    exercises: dict[str, str] = {}
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for decorator in node.decorator_list:
            name = _marker_argument(decorator, "exercise")
            if name is None:
                continue
            if not lessons:
                raise CatalogError(f"{path}: mark the module with pytestmark = pytest.mark.lesson(stem).")
            exercises.setdefault(name, lessons[0])
    return exercises


def exercise_catalog(*folders: Path | None) -> dict[str, str]:
    """Return exercise -> lesson over the test_*.py files of `folders`, ordered by lesson, then by file."""
    found: dict[str, str] = {}
    for folder in folders:
        if folder is not None and folder.is_dir():
            for path in sorted(folder.rglob("test_*.py")):
                for exercise, lesson in grader_exercises(path).items():
                    found.setdefault(exercise, lesson)
    order = {lesson: index for index, lesson in enumerate(sorted(set(found.values())))}
    return dict(sorted(found.items(), key=lambda item: order[item[1]]))
