"""A hostile class for `cnn-course grade`: build it, grade it, check what came out.

    python benchmarks/hostile_batch.py build DIR --models MODELS   # DIR/course.toml, DIR/submissions/,
                                                                   # DIR/expected.json
    cnn-course grade DIR/submissions/* --config DIR/course.toml --out DIR/grades --jobs 2
    python benchmarks/hostile_batch.py check DIR DIR/grades         # exits 1 and says why if anything is wrong

MODELS is a folder holding lesson 3's saved files (`mnist_cnn.keras`, `mnist_cnn_history.json`),
e.g. from `cnn-course train mnist`. The class is assigned lesson 1's five exercises (1 point each)
and the trained MNIST model (5 points). Besides a correct and a partial submission it holds one of
each kind of attack: forged results, symlinks into the instructor's solutions and to a model
outside the submission, code that kills its parent, writes outside its scratch folder, leaves a
detached child behind, reads the hidden tests and solutions into its error message, calls
sys.exit(), a zip bomb, a folder name that is not UTF-8, a renamed lesson, a model file that is
not a .keras zip, an untouched copy of the lessons. `check` compares the gradebook with the expected points, the
runs that must not read "completed" (untouched: "not attempted") and words the feedback must hold (a skipped
link is named), and checks that no
file was written outside, no process survived and no feedback file quotes a line of solutions/
or tests/hidden/ (lines the learners' own lessons and the public graders do not have) and no
learner-facing file (feedback/, gradescope/) shows a path of the instructor's machine.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import sys
import textwrap
import uuid
import zipfile
from pathlib import Path

from cnn_course.gradebook.records import read_records

REPO = Path(__file__).resolve().parents[1]
SOLUTIONS, LESSONS = REPO / "solutions", REPO / "lessons"
MODEL_FILES = ("mnist_cnn.keras", "mnist_cnn_history.json")
LESSON_01 = ["count_per_class", "scale_images", "add_channel_axis", "one_hot", "split_train_validation"]
POINTS = {**dict.fromkeys(LESSON_01, 1), "trained_mnist_cnn": 5}
FULL = sum(POINTS.values())
COUNT = "    return np.bincount(labels, minlength=num_classes)"
SCALE = '    return images.astype("float32") / 255.0'
ONE_HOT = "    return keras.utils.to_categorical(labels, num_classes=num_classes)"

# Finds the instructor's files the way learner code could: paths on any ancestor's command line,
# and the folders above its working folder.
FIND_COURSE = """
    import os, pathlib
    def _ancestors():
        pid = os.getpid()
        while pid > 1:
            yield pid
            try:
                pid = int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                return
    def _places():
        for pid in _ancestors():
            try:
                args = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\\0")
            except OSError:
                continue
            for arg in args:
                path = pathlib.Path(os.fsdecode(arg))
                if path.is_absolute():
                    yield from [path, *path.parents]
        yield from pathlib.Path.cwd().parents
"""


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{path.name}: {old!r} not found; update benchmarks/hostile_batch.py"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _lessons(destination: Path, source: Path = SOLUTIONS, models: Path | None = None) -> Path:
    destination.mkdir(parents=True)
    for stem in ("01_mnist_data", "03_mnist_training"):
        shutil.copy2(source / f"{stem}.py", destination / f"{stem}.py")
    if models is not None:
        (destination / "models").mkdir()
        for name in MODEL_FILES:
            shutil.copy2(models / name, destination / "models" / name)
    return destination


def _body(code: str) -> str:
    """Indent `code` as the body of an exercise function."""
    return textwrap.indent(textwrap.dedent(code).strip("\n"), "    ")


def build(folder: Path, models: Path) -> dict:
    """Write the course configuration, the submissions and what to expect; return the expectations."""
    token = uuid.uuid4().hex
    subs = folder / "submissions"
    subs.mkdir(parents=True)
    (folder / "course.toml").write_text(
        f'solutions = "{SOLUTIONS}"\nlessons = "{LESSONS}"\ngraders = "{REPO / "tests" / "graders"}"\n'
        f'hidden-tests = "{REPO / "tests" / "hidden"}"\nsubmission-time-limit = 300\nmemory-limit = 6\n\n[exercises]\n'
        + "".join(f"{name} = {points}\n" for name, points in POINTS.items())
    )
    expected: dict[str, object] = {}
    runs: dict[str, str] = {}  # learner -> how the grading run must end, where it is not "completed"
    said: dict[str, dict[str, str]] = {}  # learner -> exercise -> words its feedback must hold

    _lessons(subs / "correct", models=models)
    expected["correct"] = FULL

    partial = _lessons(subs / "partial", source=LESSONS)
    shutil.copy2(SOLUTIONS / "01_mnist_data.py", partial / "01_mnist_data.py")
    _edit(partial / "01_mnist_data.py", SCALE, "    raise NotImplementedError")
    _edit(partial / "01_mnist_data.py", ONE_HOT, "    raise NotImplementedError")
    expected["partial"] = 3

    # Unchanged learner lessons (nothing solved) whose first exercise cell appends "passed" records to
    # every results log it can find, in the old format and the signed one, then ends the process.
    forger = _lessons(subs / "forger", source=LESSONS)
    forge = (
        FIND_COURSE
        + """
    import json
    tests = [f"{g}::test_{n}"
             for g in ("tests/graders/test_01_mnist_data.py", "tests/graders/test_03_mnist_training.py")
             for n in ("count_per_class", "scale_images", "add_channel_axis", "one_hot", "split_train_validation",
                       "saved_model")]
    records = [{"event": "collected",
                "tests": [{"test": t, "exercise": t.rsplit("test_", 1)[1], "lesson": None} for t in tests]}]
    records += [{"event": "result", "test": t, "exercise": t.rsplit("test_", 1)[1], "lesson": None, "status": "passed",
                 "message": "", "hidden": False} for t in tests]
    records.append({"event": "finished", "exitstatus": 0})
    for place in set(_places()):
        logs = ([place] if place.name.endswith(".jsonl")
                else list(place.glob("results*.jsonl")) if place.is_dir() else [])
        for log in logs:
            try:
                with open(log, "a") as handle:
                    for number, record in enumerate(records):
                        handle.write(json.dumps(record) + "\\n")
                        handle.write(json.dumps({"seq": number, "record": json.dumps(record), "tag": "0" * 64}) + "\\n")
            except OSError:
                pass
    os._exit(0)
"""
    )
    _edit(
        forger / "01_mnist_data.py", "def count_per_class(", "if True:\n" + _body(forge) + "\n\n\ndef count_per_class("
    )
    expected["forger"] = 0

    linked = _lessons(subs / "symlink_solutions", source=LESSONS)
    (linked / "01_mnist_data.py").unlink()
    (linked / "01_mnist_data.py").symlink_to(SOLUTIONS / "01_mnist_data.py")
    expected["symlink_solutions"] = 0
    said["symlink_solutions"] = {"count_per_class": "01_mnist_data.py is a symbolic link"}

    # The link is left out (never followed) and named in the model's feedback; lesson 1 is graded.
    model_link = _lessons(subs / "symlink_model", models=models)
    (model_link / "models" / MODEL_FILES[0]).unlink()
    (model_link / "models" / MODEL_FILES[0]).symlink_to(models / MODEL_FILES[0])
    expected["symlink_model"] = 5
    said["symlink_model"] = {"trained_mnist_cnn": "symbolic link"}

    _lessons(subs / "untouched", source=LESSONS)  # the lessons as handed out: not attempted, not crashed
    expected["untouched"] = 0
    runs["untouched"] = "not attempted"

    # one_hot kills its parent process (the process the grader forks learner processes from), then
    # would answer correctly: that exercise is an error, every other one is graded, the batch goes on.
    killer = _lessons(subs / "parent_killer", models=models)
    _edit(
        killer / "01_mnist_data.py",
        ONE_HOT,
        "    import os, signal, time\n    os.kill(os.getppid(), signal.SIGKILL)\n    time.sleep(5)\n" + ONE_HOT,
    )
    expected["parent_killer"] = FULL - 1

    writer = _lessons(subs / "writes_outside", models=models)
    write = (
        FIND_COURSE
        + f"""
    roots = [place for place in _places() if (place / "pyproject.toml").is_file()]  # the course's folder
    targets = [pathlib.Path.home(), pathlib.Path("/tmp"), pathlib.Path("/var/tmp"), *roots]
    for place in set(targets):
        try:
            (place / "cnn-course-hostile-{token}").write_text("written from a submission")
        except OSError:
            pass
"""
    )
    _edit(writer / "01_mnist_data.py", COUNT, _body(write) + "\n" + COUNT)
    expected["writes_outside"] = FULL

    detached = _lessons(subs / "detached_child", models=models)
    spawn = f"""
    import subprocess, sys
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(900)", "cnn-course-hostile-{token}"],
                     start_new_session=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL)
"""
    _edit(detached / "01_mnist_data.py", COUNT, _body(spawn) + "\n" + COUNT)
    expected["detached_child"] = FULL

    reader = _lessons(subs / "hidden_reader", models=models)
    steal = (
        FIND_COURSE
        + """
    stolen = []
    for place in set(_places()):
        for pattern in ("tests/hidden/*.py", "hidden/*.py", "solutions/*.py", "*.py"):
            for path in sorted(place.glob(pattern)) if place.is_dir() else []:
                try:
                    stolen.append(f"{path}:\\n{path.read_text()}")
                except OSError:
                    pass
    raise RuntimeError("what I could read:\\n" + "\\n".join(stolen) + f"\\nfrom {sorted(map(str, set(_places())))}")
"""
    )
    _edit(reader / "01_mnist_data.py", SCALE, _body(steal))
    expected["hidden_reader"] = FULL - 1

    exiting = _lessons(subs / "sys_exit", models=models)
    _edit(exiting / "01_mnist_data.py", COUNT, "    import sys\n    sys.exit()")
    expected["sys_exit"] = FULL - 1

    renamed = _lessons(subs / "renamed_lesson", models=models)
    (renamed / "01_mnist_data.py").rename(renamed / "01_mnist_data_final.py")
    expected["renamed_lesson"] = 5

    h5 = _lessons(subs / "hdf5_model", models=models)
    (h5 / "models" / MODEL_FILES[0]).write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(4096))
    expected["hdf5_model"] = 5

    name = os.fsdecode(b"caf\xe9_latin1")  # not UTF-8: how a Latin-1 system writes "café"
    _lessons(subs / name, models=models)
    expected["caf\\xe9_latin1"] = FULL

    correct_zip = folder / "correct_zip"
    _lessons(correct_zip / "lessons", models=models)
    with zipfile.ZipFile(subs / "zipped.zip", "w", zipfile.ZIP_DEFLATED) as bundle:
        for path in sorted(correct_zip.rglob("*")):
            if path.is_file():
                bundle.write(path, path.relative_to(correct_zip))
    shutil.rmtree(correct_zip)
    expected["zipped"] = FULL

    with zipfile.ZipFile(subs / "zip_bomb.zip", "w", zipfile.ZIP_DEFLATED, compresslevel=9) as bundle:
        bundle.write(SOLUTIONS / "01_mnist_data.py", "01_mnist_data.py")
        with bundle.open("models/mnist_cnn.keras", "w", force_zip64=True) as entry:
            zeros = bytes(2**24)
            for _ in range(48):  # 768 MiB of zeros, under 1 MiB zipped
                entry.write(zeros)
    expected["zip_bomb"] = 0

    expectations = {"token": token, "points": expected, "full": FULL, "runs": runs, "said": said}
    (folder / "expected.json").write_text(json.dumps(expectations, indent=1) + "\n")
    return expectations


def _secret_lines() -> set[str]:
    """Every line of solutions/ and tests/hidden/ that the learners' lessons and public graders do not hold."""

    def lines(paths):
        return {line.strip() for path in paths for line in path.read_text(encoding="utf-8").splitlines()}

    hidden = sorted((REPO / "tests" / "hidden").rglob("*.py"))
    public = lines(LESSONS.glob("*.py")) | lines((REPO / "tests" / "graders").glob("*.py"))
    descriptions = set()
    for path in hidden:
        text = path.read_text(encoding="utf-8").splitlines()
        descriptions |= {
            line.strip().strip('"') for before, line in zip(text, text[1:]) if before.lstrip().startswith("def test")
        }
    secret = lines(SOLUTIONS.glob("*.py")) | lines(hidden)
    return {line for line in secret - public - descriptions if len(line) >= 12}


def check(folder: Path, grades: Path) -> list[str]:
    """Return every way the graded hostile class differs from what is expected (empty: all good)."""
    expectations = json.loads((folder / "expected.json").read_text())
    problems = []
    with open(grades / "gradebook.csv", newline="", encoding="utf-8") as handle:
        rows = {row["learner"]: row for row in csv.DictReader(handle)}
    for learner, points in expectations["points"].items():
        got = rows.get(learner, {}).get("total")
        if got != str(points):
            problems.append(f"{learner}: {got} points, expected {points}")
    records = {learner: result for learner, result in read_records(grades).items()}
    for learner, run in expectations.get("runs", {}).items():
        got = records[learner].run if learner in records else None
        if got != run:
            problems.append(f"{learner}: grading run {got!r}, expected {run!r}")
    for learner, words in expectations.get("said", {}).items():
        messages = {e.exercise: e.message for e in records[learner].exercises} if learner in records else {}
        for exercise, text in words.items():
            if text not in messages.get(exercise, ""):
                problems.append(
                    f"{learner}: the feedback of {exercise} does not say {text!r}: {messages.get(exercise)!r}"
                )
    token = expectations["token"]
    for place in [Path.home(), Path("/tmp"), Path("/var/tmp"), REPO, REPO.parent, folder, folder / "submissions"]:
        if (place / f"cnn-course-hostile-{token}").exists():
            problems.append(f"a submission wrote {place / f'cnn-course-hostile-{token}'}")
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if token.encode() in (entry / "cmdline").read_bytes():
                problems.append(f"process {entry.name} started by a submission is still running")
        except OSError:
            continue
    secrets = _secret_lines()
    exports = [
        p
        for p in grades.rglob("*")
        if p.is_file() and p.suffix in (".md", ".html", ".json", ".csv") and "logs" not in p.parts
    ]
    learner_facing = {p for p in exports if p.parts[len(grades.parts)] in ("feedback", "gradescope")}
    for path in exports:
        text = path.read_text(encoding="utf-8")
        leaked = sorted(line for line in secrets if line in text)
        if leaked:
            problems.append(f"{path.relative_to(grades)} quotes {len(leaked)} instructor line(s), e.g. {leaked[0]!r}")
        for instructor_path in {str(REPO), str(folder.resolve()), sys.prefix}:
            if path in learner_facing and instructor_path in text:
                problems.append(f"{path.relative_to(grades)} shows the instructor path {instructor_path}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    built = commands.add_parser("build")
    built.add_argument("folder", type=Path)
    built.add_argument("--models", type=Path, required=True)
    checked = commands.add_parser("check")
    checked.add_argument("folder", type=Path)
    checked.add_argument("grades", type=Path)
    args = parser.parse_args(argv)
    if args.command == "build":
        expectations = build(args.folder, args.models)
        print(f"wrote {len(expectations['points'])} submissions to {args.folder / 'submissions'}")
        return 0
    problems = check(args.folder, args.grades)
    print(
        "\n".join(problems)
        if problems
        else (
            "hostile class: every expected grade, nothing written outside, no process left, "
            "no instructor line in the feedback"
        )
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
