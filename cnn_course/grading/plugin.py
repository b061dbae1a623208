"""The pytest plugin behind the graders: --target, the `lesson` fixture, feedback and a scoreboard."""

from __future__ import annotations

import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from cnn_course.authoring.course_config import CourseConfigError, load_config
from cnn_course.checks import draws
from cnn_course.checks.calls import DEFAULT_TIMEOUT_S
from cnn_course.checks.feedback import CheckFailed, ExerciseError, NotAttempted
from cnn_course.grading.environment import DEFAULT_MEMORY_BYTES, protection
from cnn_course.grading.learner_client import LearnerHost, make_host
from cnn_course.grading.saved_models import SavedModels
from cnn_course.grading.scoreboard import write_summary
from cnn_course.grading.snapshot import FolderChanges, FolderSnapshot
from cnn_course.runtime.backends import BACKEND_VARIABLE, BACKENDS
from cnn_course.status import Status

if TYPE_CHECKING:
    from cnn_course.grading.lesson import GradedLesson

# Reading notebooks (jupytext, nbformat: 2 s to import) waits until the learner process has started
# importing TensorFlow: the two imports then overlap, and a learner's `pytest -k 01` waits less.

_RESULTS = pytest.StashKey[dict[tuple[str, str], str]]()
_LIMITS = pytest.StashKey[dict[str, float]]()
_LESSONS = pytest.StashKey[dict[str, "GradedLesson"]]()
_STARTERS = pytest.StashKey[dict[str, threading.Thread]]()
_HOST = pytest.StashKey[LearnerHost]()
_BACKEND = pytest.StashKey[str]()
_MOVED_FROM = pytest.StashKey[Path]()  # where pytest ran (inside the folder graded), grading from the course folder
_GRADING = pytest.StashKey[bool]()  # the run grades lessons (tests/graders or hidden tests named, or no path)
_SYSTEM_TEMPORARY = pytest.StashKey[Path]()  # the system's temporary folder, before checks are pointed elsewhere
_SNAPSHOT = pytest.StashKey[FolderSnapshot | None]()
_CHANGES = pytest.StashKey[FolderChanges | None]()
# The seed of the arguments this run's checks drew (`cnn_course.checks.draws`), for the run's records.
CHECK_SEED = pytest.StashKey[int]()
# The exercise outcome (NotAttempted, CheckFailed, ExerciseError) a test raised, before it became pytest's.
EXERCISE_OUTCOME = pytest.StashKey[Exception]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("cnn-course", "cnn-course grading")
    group.addoption(
        "--target",
        default="lessons",
        help="folder of lesson notebooks to grade: 'lessons' (default), 'solutions', or any path",
    )
    group.addoption(
        "--exercise-timeout",
        type=float,
        default=DEFAULT_TIMEOUT_S,
        help=f"seconds an exercise may run before it is stopped and failed (default {DEFAULT_TIMEOUT_S:g})",
    )
    group.addoption(
        "--execute-lessons",
        action="store_true",
        help="run the target's training lessons end to end first, so the saved models graded are "
        "trained by the target's own code (a lesson whose saved file is newer than the lesson is not rerun)",
    )
    group.addoption(
        "--exercises",
        help="grade only these exercises (comma-separated names, e.g. scale_images,one_hot)",
    )
    group.addoption(
        "--course-config",
        help="course configuration (course.toml or pyproject.toml) whose per-exercise time limits apply "
        "(default: the one at the project root)",
    )
    group.addoption(
        "--learner-sandbox",
        choices=("auto", "none", "bwrap"),
        default="auto",
        help="where learner processes run: 'auto' (default) in a bubblewrap sandbox that hides the course folder "
        "where bubblewrap runs (Linux), else directly; 'bwrap' in the instructors' batch sandbox (no network); "
        "'none' directly. Whichever, the folder graded is compared with its copy afterwards",
    )
    group.addoption(
        "--learner-backend",
        choices=BACKENDS,
        default=None,
        help="how learner processes start: 'fork' (Linux: one interpreter, a fork per lesson), 'spawn' (every "
        "system: one interpreter, a namespace per lesson) or 'auto' "
        f"(fork where possible; default, or ${BACKEND_VARIABLE})",
    )
    group.addoption(
        "--learner-memory",
        type=float,
        default=DEFAULT_MEMORY_BYTES / 2**30,
        help=f"address-space limit of each learner process in GiB (default {DEFAULT_MEMORY_BYTES / 2**30:g})",
    )
    group.addoption(
        "--check-seed",
        default=None,
        help="seed of the arguments the checks draw (default: a new one each run, or $CNN_COURSE_CHECK_SEED); "
        "the run's seed is printed at its top, so a run can be repeated",
    )
    group.addoption(
        "--all-must-pass",
        action="store_true",
        help="exit 1 unless every graded exercise passed (a not-attempted exercise counts as not passed)",
    )


def pytest_configure(config: pytest.Config) -> None:
    _from_inside_the_target(config)
    try:
        config.stash[CHECK_SEED] = draws.set_run_seed(_seed_option(config.getoption("--check-seed")))
    except ValueError as error:
        raise pytest.UsageError(f"--check-seed or ${draws.SEED_VARIABLE}: {error}") from None
    config.stash[_RESULTS] = {}
    config.stash[_LESSONS] = {}
    config.stash[_STARTERS] = {}
    config.stash[_SNAPSHOT] = config.stash[_CHANGES] = None
    config.stash[_SYSTEM_TEMPORARY] = Path(tempfile.gettempdir())
    try:
        config.stash[_HOST], config.stash[_BACKEND] = make_host(
            config.getoption("--learner-backend"),
            sandbox=config.getoption("--learner-sandbox"),
            memory_bytes=int(config.getoption("--learner-memory") * 2**30),
        )
    except ValueError as error:
        raise pytest.UsageError(str(error)) from None
    config.stash[_GRADING] = False
    named = any("graders" in str(arg) or "hidden" in str(arg) for arg in config.args)
    if named or not config.args:  # start the learner host while pytest collects; a broader run starts it later
        _begin_grading(config)
    grading_folder(config)
    explicit = config.getoption("--course-config")
    try:
        course = load_config(config.rootpath, Path(explicit).expanduser() if explicit else None)
    except CourseConfigError as error:
        raise pytest.UsageError(str(error)) from None
    config.stash[_LIMITS] = course.time_limits()


def _begin_grading(config: pytest.Config) -> None:
    """Start the learner host, once, and hand the checks' temporary files to the folder the learner process sees."""
    if config.stash[_GRADING]:
        return
    config.stash[_GRADING] = True
    # Checks make temporary files to hand to exercises: the system's /tmp may be another one inside the sandbox.
    tempfile.tempdir = str(config.stash[_HOST].temporary_folder)
    if config.stash[_HOST].shared:  # its scratch root is emptied on attaching: before any file is put there
        config.stash[_HOST].warm_up()
    else:
        threading.Thread(target=config.stash[_HOST].warm_up, name="learner zygote", daemon=True).start()


def _from_inside_the_target(config: pytest.Config) -> None:
    """`pytest` with no path, run inside the folder graded (lessons/), grades as it would from the course folder.

    pytest reads the course's settings there, but applies `testpaths` only in the course folder itself:
    it would collect nothing (the lessons are no tests) and exit 5 with no word of why.
    """
    invocation, root = config.invocation_params.dir, config.rootpath
    target = Path(config.getoption("--target")).expanduser()
    folder = target if target.is_absolute() else root / target
    testpaths = config.getini("testpaths")
    if config.args_source != pytest.Config.ArgsSource.INVOCATION_DIR or invocation == root or not testpaths:
        return
    if invocation.is_relative_to(folder):
        config.args = [str(root / path) for path in testpaths]
        config.args_source = pytest.Config.ArgsSource.TESTPATHS
        config.stash[_MOVED_FROM] = invocation


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """With --exercises, deselect every test that grades another exercise; then start the lessons' processes."""
    selection = config.getoption("--exercises")
    if selection:
        wanted = {name.strip() for name in selection.split(",") if name.strip()}
        known = {marker.args[0] for item in items for marker in item.iter_markers("exercise")}
        unknown = sorted(wanted - known)
        if unknown:
            raise pytest.UsageError(
                f"--exercises: no grader for {', '.join(unknown)}. Known exercises: {', '.join(sorted(known))}."
            )
        kept, deselected = [], []
        for item in items:
            marker = item.get_closest_marker("exercise")
            (kept if marker is not None and marker.args[0] in wanted else deselected).append(item)
        if deselected:
            config.hook.pytest_deselected(items=deselected)
            items[:] = kept
    stems = []
    for item in items:
        marker = item.get_closest_marker("lesson")
        if marker is not None and "lesson" in getattr(item, "fixturenames", ()) and marker.args[0] not in stems:
            stems.append(marker.args[0])
    if stems:  # `pytest tests` grades too: its paths name no graders folder, its items do
        _begin_grading(config)
    for stem in stems:
        _start_lesson(config, stem)


def _start_lesson(config: pytest.Config, stem: str) -> None:
    """Read lesson `stem` and start its learner process in a background thread (processes start in parallel)."""
    lessons, starters = config.stash[_LESSONS], config.stash[_STARTERS]
    if stem in lessons:
        return
    from cnn_course.grading.lesson import load_lesson

    snapshot = folder_snapshot(config)
    snapshot.repair(stem)  # where no sandbox runs, lesson code started earlier can reach the copy
    lesson = load_lesson(config.stash[_HOST], snapshot.copy, stem, config.getoption("--exercise-timeout"))
    if lesson.setup_error:  # a message about a damaged file names it where the learner keeps it
        lesson.setup_error = lesson.setup_error.replace(str(snapshot.copy), str(snapshot.folder))
    lesson.limits = config.stash[_LIMITS]
    lessons[stem] = lesson
    starters[stem] = threading.Thread(target=lesson.start, name=f"start {stem}", daemon=True)
    starters[stem].start()


def grading_folder(config: pytest.Config) -> Path:
    """Return the folder named by --target, relative to the project root when not absolute."""
    target = Path(config.getoption("--target")).expanduser()
    folder = target if target.is_absolute() else config.rootpath / target
    if not folder.is_dir():
        raise pytest.UsageError(
            f"--target {target}: no such folder. Use --target lessons, --target solutions, "
            "or the path of a folder holding the lesson notebooks."
        )
    return folder


def folder_snapshot(config: pytest.Config) -> FolderSnapshot:
    """The record and copy of the folder graded, taken on first use: before any lesson code runs."""
    if config.stash[_SNAPSHOT] is None:
        try:
            config.stash[_SNAPSHOT] = FolderSnapshot(grading_folder(config), config.stash[_SYSTEM_TEMPORARY])
        except OSError as error:
            target = config.getoption("--target")
            raise pytest.UsageError(f"--target {target}: could not copy the folder to grade it ({error})") from None
    return config.stash[_SNAPSHOT]


@pytest.fixture(scope="session")
def target_folder(pytestconfig: pytest.Config) -> Path:
    """The folder of lesson notebooks being graded, as it was before any lesson code ran (the grader's copy)."""
    return folder_snapshot(pytestconfig).copy


@pytest.fixture
def lesson(request: pytest.FixtureRequest) -> GradedLesson:
    """The lesson named by the module's `lesson` marker, its learner process started once per session."""
    marker = request.node.get_closest_marker("lesson")
    if marker is None:
        raise pytest.UsageError(f"{request.node.nodeid}: mark the grader module with pytest.mark.lesson(stem)")
    stem = marker.args[0]
    config = request.config
    _start_lesson(config, stem)
    config.stash[_STARTERS][stem].join()
    return config.stash[_LESSONS][stem]


@pytest.fixture(scope="session")
def saved_models(pytestconfig: pytest.Config) -> SavedModels:
    """Paths of the models the target's lessons save (trained on demand with --execute-lessons)."""
    return SavedModels(folder_snapshot(pytestconfig), pytestconfig.getoption("--execute-lessons"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    """Turn exercise outcomes into pytest's: not attempted -> skipped, failures -> short messages."""
    try:
        return (yield)
    except NotAttempted as outcome:
        item.stash[EXERCISE_OUTCOME] = outcome
        # Located at the grader's test, not here: the learner needs no path into the package.
        raise pytest.skip.Exception(str(outcome), _use_item_location=True) from None
    except (CheckFailed, ExerciseError) as outcome:
        item.stash[EXERCISE_OUTCOME] = outcome
        # `from None`: the learner needs the message once, not the chain of exceptions behind it.
        raise pytest.fail.Exception(str(outcome), pytrace=False) from None
    except AssertionError:
        raise  # a test's own assertion (hidden tests): a failure, reported by pytest as such
    except Exception as error:
        key = _exercise_key(item)
        if key is None:
            raise
        # A check that could not read the result: say so in a sentence, never with the grader's traceback.
        outcome = ExerciseError(
            key[1],
            f"its result could not be checked ({type(error).__name__}: {str(error)[:300]}). "
            "Compare what it returns with the docstring's contract: types, shapes and dtypes.",
        )
        item.stash[EXERCISE_OUTCOME] = outcome
        raise pytest.fail.Exception(str(outcome), pytrace=False) from None


def _exercise_key(item: pytest.Item) -> tuple[str, str] | None:
    exercise, lesson_marker = item.get_closest_marker("exercise"), item.get_closest_marker("lesson")
    if exercise is None or lesson_marker is None:
        return None
    return lesson_marker.args[0], exercise.args[0]


def _worse(current: str | None, new: str) -> str:
    """Combine outcomes of several tests of one exercise: any failure fails it, any skip leaves it open."""
    rank = {Status.PASSED: 0, Status.NOT_ATTEMPTED: 1, Status.FAILED: 2}
    return new if current is None or rank[new] > rank[current] else current


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    key = _exercise_key(item)
    if key is not None and (report.when == "call" or report.outcome != "passed"):
        outcome = {"passed": Status.PASSED, "failed": Status.FAILED, "skipped": Status.NOT_ATTEMPTED}[report.outcome]
        results = item.config.stash[_RESULTS]
        results[key] = _worse(results.get(key), outcome)
    return report


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """End the learner processes; with --all-must-pass, a run where some exercise did not pass exits 1."""
    lessons = list(session.config.stash[_LESSONS].values())
    if lessons:
        with ThreadPoolExecutor(len(lessons)) as closing:  # each close waits for its process to end
            list(closing.map(lambda lesson: lesson.close(), lessons))
    session.config.stash[_HOST].close()
    snapshot = session.config.stash[_SNAPSHOT]
    if snapshot is not None:  # every learner process has ended: nothing can write into the folder now
        # Where lesson code could not reach the folder, a change there is another program's (a notebook
        # saved in Jupyter, a training run): reported, never undone.
        protected, _ = protection(session.config.stash[_HOST].launcher)
        session.config.stash[_CHANGES] = snapshot.compare(restore=not protected)
        snapshot.close()
    results = session.config.stash[_RESULTS]
    if results and exitstatus == 0 and all(outcome == Status.NOT_ATTEMPTED for outcome in results.values()):
        session.exitstatus = pytest.ExitCode.NO_TESTS_COLLECTED  # nothing was graded: not a success
    if (
        session.config.getoption("--all-must-pass")
        and exitstatus == 0
        and (not results or any(outcome != Status.PASSED for outcome in results.values()))
    ):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    """The folder's changes, the scoreboard and the next step (`scoreboard.write_summary`)."""
    protected, _ = protection(config.stash[_HOST].launcher)
    write_summary(
        terminalreporter,
        config,
        exitstatus,
        config.stash[_RESULTS],
        config.stash[_LESSONS],
        config.stash[CHECK_SEED],
        config.stash[_CHANGES],
        protected,
    )


def _seed_option(text: str | None) -> int | None:
    return None if text is None else draws.parse_seed(text)


def pytest_report_header(config: pytest.Config) -> list[str]:
    """The lines at the top of the run: the learner-process backend and the checks' seed.

    Also what keeps lesson code off the folder graded.
    """
    lines = [
        f"cnn-course learner processes: {config.stash[_BACKEND]}",
        f"cnn-course check seed: {config.stash[CHECK_SEED]} "
        f"(repeat these checks' arguments with --check-seed {config.stash[CHECK_SEED]})",
    ]
    if _MOVED_FROM in config.stash:
        moved = (
            f"pytest ran inside {config.stash[_MOVED_FROM]}, so it grades as from the course folder, {config.rootpath}"
        )
        lines.append(f"cnn-course: {moved}")
    if config.stash[_GRADING]:
        lines.append(f"cnn-course folder protection: {protection(config.stash[_HOST].launcher)[1]}")
    return lines
