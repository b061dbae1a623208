"""Cells as Jupyter runs them: IPython's syntax (magics, `!` shell lines, `?` help) turned into plain Python.

Jupyter accepts more than Python in a cell. IPython rewrites that syntax before the cell runs
(`%time f()` becomes `get_ipython().run_line_magic('time', 'f()')`); `prepare_cell` asks IPython's own
`TransformerManager` for the same rewrite, then replaces each `get_ipython()` call by what the grader
does with it, keeping the cell's line numbers:

| what | the grader |
|---|---|
| `%time`, `%%time` | runs the statement or the cell, as written |
| `%timeit`, `%%timeit` | runs it once, in a function of its own as IPython does, so what it defines is not kept |
| `%%capture [name]` | runs the cell without showing its output; `name` holds the captured output |
| `%matplotlib`, `%load_ext`, `%autoreload`, `%config`, `x?` help and the others of `IGNORED` | nothing |
| `!cmd`, `%%bash`, `%sx`, `%system` ...; `%pip`, `%conda`; `%run`; any other magic | refuses the cell (`Refusal`) |

The grading process reads cells with it too (so that a magic does not make "does not parse"), and
`self_check` looks for refused lines in the cell that defined an exercise, with the same wording.
"""

from __future__ import annotations

import ast
import contextlib
import io
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

# Line magics that only change how Jupyter shows things or reloads modules: nothing to do in a grader.
IGNORED = frozenset(
    {
        "matplotlib",
        "load_ext",
        "reload_ext",
        "unload_ext",
        "autoreload",
        "aimport",
        "config",
        "xmode",
        "pprint",
        "precision",
        "colors",
        "pinfo",
        "pinfo2",
        "pdoc",
        "pdef",
        "psource",
        "pfile",
        "psearch",
        "who",
        "whos",
        "who_ls",
        "lsmagic",
        "magic",
        "quickref",
        "page",
    }
)
# Cell magics whose body is not Python but something Jupyter displays.
IGNORED_CELLS = frozenset({"html", "markdown", "javascript", "js", "latex", "svg"})
SHELL = frozenset(
    {
        "system",
        "sx",
        "sc",
        "bash",
        "sh",
        "script",
        "perl",
        "ruby",
        "python",
        "python2",
        "python3",
        "pypy",
    }
)
INSTALL = frozenset({"pip", "conda", "mamba", "micromamba", "uv"})

_REASONS = {
    "shell": ("runs a shell command", "Run it in a terminal instead"),
    "install": (
        "installs packages",
        "Install once from a terminal instead (`pip install ...` in the course's environment)",
    ),
    "run": (
        "runs another file",
        "Put the code your cell needs into the cell itself, or import it (`from other import name`)",
    ),
    "magic": ("is an IPython magic the grader does not run", "Remove it"),
}
_TIMEIT_OPTIONS = re.compile(r"\s*(?:(?:-[tcqo]+|-[nrpv]\s*\S+)(?:\s+|$))*")
_TIMEIT_FUNCTION = "_cnn_course_timeit_once"


@dataclass(frozen=True)
class Refusal:
    """A line of a cell the grader does not run: its line number in the cell, as written, and why (`kind`).

    `kind` is "shell", "install", "run" or "magic".
    """

    line: int
    text: str
    kind: str

    def explain(self, tag: str) -> str:
        """Say why the line is refused and what to do, for a cell tagged `tag` ("exercise" or "setup")."""
        reason, advice = _REASONS.get(self.kind, _REASONS["magic"])
        return (
            f"line {self.line}, `{self.text}`, {reason}. {advice}, or move the line to a cell without "
            f"the `{tag}` tag (the grader runs only the tagged cells)."
        )


def explain_refusals(refusals: tuple[Refusal, ...] | list[Refusal], cell: str, tag: str) -> str:
    """One paragraph for the refused lines of `cell` (e.g. "its cell (01_mnist_data.py, cell 7)")."""
    if len(refusals) == 1:
        return f"{cell} has a line the grader does not run: {refusals[0].explain(tag)}"
    lines = "".join(f"\n- {refusal.explain(tag)}" for refusal in refusals)
    return f"{cell} has lines the grader does not run:{lines}"


@dataclass(frozen=True)
class Capture:
    """A `%%capture` cell: which streams to swallow, and the name that gets the captured output (or None)."""

    name: str | None
    stdout: bool = True
    stderr: bool = True


@dataclass
class PreparedCell:
    """A cell made plain Python: its syntax tree (line numbers as in the cell), or why it has none.

    `tree` is None when the cell does not parse (`syntax_error` says where). `refusals` lists the lines
    the grader does not run: a cell with any must not be run. `capture` is set for a `%%capture` cell,
    and `discards_names` for a `%%timeit` cell (what it defines is not kept, as in Jupyter).
    """

    tree: ast.Module | None
    syntax_error: SyntaxError | None = None
    refusals: list[Refusal] = field(default_factory=list)
    capture: Capture | None = None
    discards_names: bool = False

    @contextlib.contextmanager
    def output_captured(self, namespace: dict[str, Any]) -> Iterator[None]:
        """Run the cell's code inside this block: a `%%capture` cell's output is swallowed and kept in its name."""
        if self.capture is None:
            yield
            return
        out, err = io.StringIO(), io.StringIO()
        with contextlib.ExitStack() as stack:
            if self.capture.stdout:
                stack.enter_context(contextlib.redirect_stdout(out))
            if self.capture.stderr:
                stack.enter_context(contextlib.redirect_stderr(err))
            try:
                yield
            finally:
                if self.capture.name:
                    namespace[self.capture.name] = _captured(out.getvalue(), err.getvalue())


def _captured(stdout: str, stderr: str) -> Any:
    """IPython's own CapturedIO (what `%%capture name` binds), holding the captured streams."""
    from IPython.utils.capture import CapturedIO

    return CapturedIO(io.StringIO(stdout), io.StringIO(stderr))


def prepare_cell(source: str) -> PreparedCell:
    """Turn cell `source` into a syntax tree that plain Python runs as Jupyter would run the cell.

    Valid Python is used as it is; anything else first goes through IPython's transformer. The tree's
    line numbers are the cell's. Never raises for the learner's text: a cell that does not parse
    has `syntax_error` set.
    """
    try:
        return _Rewriter().prepare(_parse(source))
    except SyntaxError as error:
        return PreparedCell(None, error)


def _parse(source: str, first_line: int = 1) -> ast.Module:
    """The syntax tree of `source` as IPython reads it, numbered from `first_line`; raises SyntaxError."""
    shift = first_line - 1
    try:
        tree = ast.parse(source)
    except SyntaxError as error:
        transformed = _ipython_transform(source)
        if transformed is None:
            error.lineno = error.lineno + shift if error.lineno is not None else None
            raise
        shift += _blank_lines_before(source)  # IPython drops a cell's leading blank lines
        try:
            tree = ast.parse(transformed)
        except SyntaxError as transformed_error:
            if transformed_error.lineno is not None:
                transformed_error.lineno += shift
            raise transformed_error from None
    return ast.increment_lineno(tree, shift)


def _blank_lines_before(source: str) -> int:
    """How many whitespace-only lines open `source`."""
    count = 0
    for line in source.splitlines():
        if line.strip():
            break
        count += 1
    return count


def _ipython_transform(source: str) -> str | None:
    """IPython's rewrite of a cell into Python, or None where IPython is missing or gives up."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:
        return None
    try:
        return TransformerManager().transform_cell(source)
    except Exception:  # noqa: BLE001 - IPython's transformer failing on odd text: the cell simply does not parse
        return None


def _ipython_call(node: ast.AST) -> tuple[str, list[str]] | None:
    """("run_line_magic", [name, argument]) and the like for `get_ipython().method("...", ...)`, else None."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
        return None
    owner = node.func.value
    if not (isinstance(owner, ast.Call) and isinstance(owner.func, ast.Name) and owner.func.id == "get_ipython"):
        return None
    if not all(isinstance(arg, ast.Constant) and isinstance(arg.value, str) for arg in node.args):
        return None
    return node.func.attr, [arg.value for arg in node.args]


def _written(method: str, args: list[str]) -> str:
    """The line as the learner wrote it, rebuilt from IPython's call (at most 80 characters)."""
    name, argument = (args + ["", ""])[:2]
    if method in ("system", "getoutput"):
        text = f"!{name}"
    elif method == "run_cell_magic":
        text = f"%%{name} {argument}"
    elif method == "run_line_magic" and name in ("pinfo", "pinfo2"):
        text = f"{argument}{'?' if name == 'pinfo' else '??'}"
    elif method == "run_line_magic":
        text = f"%{name} {argument}"
    else:
        text = f"get_ipython().{method}(...)"
    text = text.rstrip()
    return text if len(text) <= 80 else text[:77] + "..."


def _kind(method: str, magic: str) -> str:
    if method in ("system", "getoutput") or magic in SHELL:
        return "shell"
    if magic in INSTALL:
        return "install"
    return "run" if magic == "run" else "magic"


def _timed(argument: str) -> str:
    """The statement of a `%timeit` line, without its options (`-n 10 -r 3 f(x)` gives `f(x)`)."""
    return _TIMEIT_OPTIONS.sub("", argument, count=1).strip()


class _Rewriter(ast.NodeTransformer):
    """Replaces each `get_ipython()` call of a cell by what the grader does with it; collects refusals."""

    def __init__(self) -> None:
        self.refusals: list[Refusal] = []
        self.in_function = 0  # how many functions the visit is inside

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> Any:
        self.in_function += 1
        try:
            return self.generic_visit(node)
        finally:
            self.in_function -= 1

    visit_AsyncFunctionDef = visit_FunctionDef

    def prepare(self, tree: ast.Module) -> PreparedCell:
        cell = PreparedCell(tree)
        if len(tree.body) == 1 and isinstance(tree.body[0], ast.Expr):
            call = _ipython_call(tree.body[0].value)
            if call and call[0] == "run_cell_magic" and len(call[1]) == 3:
                cell = self._cell_magic(tree.body[0].lineno, *call[1])
        cell.tree = ast.fix_missing_locations(self.visit(cell.tree))
        cell.refusals = sorted(self.refusals, key=lambda refusal: refusal.line)
        return cell

    def _cell_magic(self, line: int, magic: str, argument: str, body: str) -> PreparedCell:
        """The cell under `%%magic argument` (on line `line`): its body to run, or nothing."""
        if magic in IGNORED_CELLS:
            return PreparedCell(ast.Module(body=[], type_ignores=[]))
        if magic not in ("time", "timeit", "capture"):
            written = _written("run_cell_magic", [magic, argument])
            self.refusals.append(Refusal(line, written, _kind("run_cell_magic", magic)))
            return PreparedCell(ast.Module(body=[], type_ignores=[]))
        cell = PreparedCell(_parse(body, first_line=line + 1))
        if magic == "capture":
            options = argument.split()
            names = [word for word in options if not word.startswith("-")]
            name = names[0] if names else None
            cell.capture = Capture(name, stdout="--no-stdout" not in options, stderr="--no-stderr" not in options)
        elif magic == "timeit":
            cell.tree.body = _run_once(_statements(_timed(argument), line) + cell.tree.body, line)
            cell.discards_names = True
        return cell

    def visit_Expr(self, node: ast.Expr) -> Any:
        call = _ipython_call(node.value)
        magic, argument = (call[1] + ["", ""])[:2] if call is not None and call[0] == "run_line_magic" else ("", "")
        if magic in ("time", "timeit"):
            body = [self.visit(statement) for statement in _statements(_timed(argument), node.lineno)]
            if magic == "timeit" or self.in_function:  # in a function, IPython runs `%time` on a copy of its locals
                body = _run_once(body, node.lineno)
            return body or ast.copy_location(ast.Pass(), node)
        node = self.generic_visit(node)
        if call is not None and isinstance(node.value, ast.Constant):  # an ignored or refused magic: a statement still
            return ast.copy_location(ast.Pass(), node)
        return node

    def visit_Call(self, node: ast.Call) -> Any:
        call = _ipython_call(node)
        if call is None:
            return self.generic_visit(node)
        method, args = call
        magic = args[0] if method in ("run_line_magic", "run_cell_magic") and args else ""
        if method == "run_line_magic" and len(args) == 2 and magic in ("time", "timeit"):
            expression = _parse(_timed(args[1]), first_line=node.lineno).body
            if len(expression) != 1 or not isinstance(expression[0], ast.Expr):
                raise SyntaxError(f"%{magic} with a statement cannot be used as a value", ("", node.lineno, 0, ""))
            return self.visit(expression[0].value)
        if not (method == "run_line_magic" and magic in IGNORED):
            self.refusals.append(Refusal(node.lineno, _written(method, args), _kind(method, magic)))
        return ast.copy_location(ast.Constant(None), node)


def _statements(source: str, line: int) -> list[ast.stmt]:
    """The statements of one magic's argument (`%time x = f()`), all on the cell's line `line`."""
    tree = _parse(source)
    for node in ast.walk(tree):
        if hasattr(node, "lineno"):
            node.lineno = node.end_lineno = line
    return tree.body


def _run_once(body: list[ast.stmt], line: int) -> list[ast.stmt]:
    """`body` inside a function called once, then deleted: `%timeit` keeps none of the names it binds."""
    wrapper = ast.parse(f"def {_TIMEIT_FUNCTION}():\n    pass\n{_TIMEIT_FUNCTION}()\ndel {_TIMEIT_FUNCTION}\n").body
    for node in (node for statement in wrapper for node in ast.walk(statement)):
        if hasattr(node, "lineno"):
            node.lineno = node.end_lineno = line
    wrapper[0].body = body or wrapper[0].body
    return wrapper


def cell_in_ipython(function: Any) -> str | None:
    """The cell that defined `function`, as the learner typed it, when running in IPython (Jupyter); else None.

    IPython keeps each cell's transformed code under the code's file name; the typed cell is the
    one in the session's input history that transforms to it. None outside IPython, for a
    function not defined in a cell, or one defined under a cell magic (`%%time` runs the cell
    under a file name of its own).
    """
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    code = getattr(function, "__code__", None)
    if shell is None or code is None:
        return None
    import linecache

    cached = linecache.cache.get(code.co_filename)
    if not cached:
        return None
    transformed = [line.rstrip("\n") for line in cached[2]]
    for typed in reversed(getattr(shell.history_manager, "input_hist_raw", [])):
        try:
            if shell.transform_cell(typed).splitlines() == transformed:
                return typed
        except Exception:  # noqa: BLE001, S112 - a history entry IPython cannot transform is not this cell
            continue
    return None
