"""The import rule: the folders say which process a module runs in, and imports only go down.

Layers, lowest first: the learner library (flat modules, `data`, `pretrained`), the learner runtime
(`runtime`: what runs inside the learner process), the checks, course authoring (`authoring`: masters, lessons,
the course configuration, the exercise catalog), the grading process (`grading`), the gradebook (`gradebook`),
the instructor's batch (`batch`), and the commands (`commands`, every `__main__`). A module may import its own
layer and those below. On top of that:

- the runtime never imports the checks, the grading process or the batch (nothing of a grader's
  is in the learner process);
- the checks import from the runtime only its protocol and decoding, its call observation, its time limits and its
  reading of IPython cells;
- the gradebook (records, results, roster, exports, reports, progress) imports nothing about processes.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import cnn_course

PACKAGE = Path(cnn_course.__file__).resolve().parent
LAYERS = ("library", "runtime", "checks", "authoring", "grading", "gradebook", "batch", "commands")
CHECKS_MAY_USE = {
    "cnn_course.runtime.protocol",
    "cnn_course.runtime.decoding",
    "cnn_course.runtime.calls",
    "cnn_course.runtime.limits",
    "cnn_course.runtime.ipython_cells",  # self_check reads a cell as the grader does
}
PROCESS_MODULES = (
    "cnn_course.runtime",
    "cnn_course.grading.forked",
    "cnn_course.grading.spawned",
    "cnn_course.grading.learner_client",
    "cnn_course.batch",
)


def layer_of(module: str) -> str:
    """The layer of a `cnn_course` module by its dotted name."""
    if module.endswith(".__main__"):  # a __main__ is a command too
        return "commands"
    parts = module.split(".")
    if len(parts) > 1 and parts[1] in LAYERS:
        return parts[1]
    return "library"


def module_name(path: Path) -> str:
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(source: str, module: str, is_package: bool) -> set[str]:
    """Every `cnn_course` module `source` imports, at any depth (function-level imports too)."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")[: len(module.split(".")) - node.level + (1 if is_package else 0)]
                stem = ".".join([*base, *([node.module] if node.module else [])])
            else:
                stem = node.module or ""
            found.add(stem)
            found |= {f"{stem}.{alias.name}" for alias in node.names if _is_module(f"{stem}.{alias.name}")}
    return {name for name in found if name == "cnn_course" or name.startswith("cnn_course.")}


def _is_module(name: str) -> bool:
    relative = Path(*name.split("."))
    return (PACKAGE.parent / relative).with_suffix(".py").is_file() or (
        PACKAGE.parent / relative / "__init__.py"
    ).is_file()


def violations(module: str, imports: set[str]) -> list[str]:
    """The imports of `module` that break the rule, each with the reason."""
    found = []
    own = layer_of(module)
    for target in sorted(imports):
        if target == "cnn_course":
            continue
        theirs = layer_of(target)
        if LAYERS.index(theirs) > LAYERS.index(own):
            found.append(f"{module} imports {target}: an upward import ({own} -> {theirs})")
        elif own == "checks" and theirs == "runtime" and target not in CHECKS_MAY_USE:
            found.append(
                f"{module} imports {target}: the checks use only {', '.join(sorted(CHECKS_MAY_USE))} of the runtime"
            )
        elif own == "gradebook" and target.startswith(PROCESS_MODULES):
            found.append(f"{module} imports {target}: the gradebook imports nothing about processes")
    return found


def test_no_module_breaks_the_import_rule():
    broken = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = module_name(path)
        broken += violations(
            module, imported_modules(path.read_text(encoding="utf-8"), module, path.name == "__init__.py")
        )
    assert not broken, "\n".join(broken)


@pytest.mark.parametrize(
    ("module", "source", "reason"),
    [
        ("cnn_course.runtime.learner", "from cnn_course.checks.feedback import CheckFailed", "upward"),
        ("cnn_course.runtime.zygote", "def f():\n    from cnn_course.grading import forked", "upward"),
        ("cnn_course.runtime.fs", "from ..batch import grade", "upward"),
        ("cnn_course.checks.arrays", "from cnn_course.runtime.sandbox import sandbox_status", "the checks use only"),
        (
            "cnn_course.gradebook.results",
            "from cnn_course.runtime.processes import end_processes",
            "nothing about processes",
        ),
        ("cnn_course.models", "import cnn_course.grading.plugin", "upward"),
        ("cnn_course.pretrained", "from cnn_course.commands.cli import main", "upward"),
        ("cnn_course.grading.plugin", "from cnn_course.batch.results_log import sign", "upward"),
        ("cnn_course.authoring.sync", "from cnn_course.grading.lesson import lesson", "upward"),
        ("cnn_course.gradebook.exports", "from cnn_course.batch import supervisor", "upward"),
        ("cnn_course.checks.training", "from cnn_course.authoring import notebooks", "upward"),
        ("cnn_course.gradebook.roster", "from cnn_course.runtime import fs", "nothing about processes"),
    ],
)
def test_the_rule_catches_an_added_import(module, source, reason):
    is_package = module == "cnn_course.pretrained"
    found = violations(module, imported_modules(source, module, is_package))
    assert found and reason in found[0]


def test_allowed_imports_pass():
    assert not violations(
        "cnn_course.checks.colour",
        imported_modules("from cnn_course.runtime.protocol import GeneratedArray", "cnn_course.checks.colour", False),
    )
    assert not violations(
        "cnn_course.grading.plugin",
        imported_modules("from cnn_course.checks.calls import DEFAULT_TIMEOUT_S", "cnn_course.grading.plugin", False),
    )
