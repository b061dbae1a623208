"""Play templates/github-actions/grade-class.yml here: its matrix of N grading jobs, then its merge, for N = 1, 2, 4.

    python -m benchmarks.play_grade_class [--work DIR] [--shards 1 2 4] [--submissions DIR]

Each job runs in a fresh copy of the course at the same path (what `actions/checkout` gives), and each `run:` step of
the workflow file is run as GitHub runs it (`bash --noprofile --norc -eo pipefail`), with the workflow's expressions
(`${{ matrix.shard }}`, `${{ env.SHARDS }}`, `${{ inputs.* }}`) filled in and SHARDS and the matrix set to N. Only what
needs GitHub is played by stand-ins, and named in the output: `actions/checkout` (a copy of the course),
`actions/setup-python` (this interpreter), `actions/upload-artifact` and `actions/download-artifact` (folders under
WORK/artifacts), `gh release download` (files of a local release folder), `sudo apt-get` and `sysctl` (skipped:
bubblewrap is already installed here), `pip install -e .` (skipped: the course is already installed in this
interpreter). The gradebooks the merge job writes for each N must be byte-identical (gradebook.csv; results.csv's points
and statuses too); the script exits 1 if they are not.

Without --submissions it grades a small class it writes itself: lesson 1 solved, not attempted, one exercise
wrong, a zip, and one exercise left; the assignment is lesson 1's five exercises (WORK/course.toml).
"""

from __future__ import annotations

import argparse
import csv
import filecmp
import os
import re
import shutil
import stat
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
WORKFLOW = REPO / "templates" / "github-actions" / "grade-class.yml"
COURSE = ("pyproject.toml", "README.md", "LICENSE", "jupytext.toml", "cnn_course", "tests")
LESSON_01 = ("count_per_class", "scale_images", "add_channel_axis", "one_hot", "split_train_validation")
STUBS = {
    "sudo": 'echo "(played here: sudo $* skipped; bubblewrap is installed on this machine)" >&2',
    "pip": 'echo "(played here: pip $* skipped; the course is installed in this interpreter)" >&2',
    "gh": """\
[ "$1 $2" = "release download" ] || { echo "gh $*: only 'gh release download' is played here" >&2; exit 2; }
shift 3; pattern=""; dir=.
while [ $# -gt 0 ]; do case "$1" in --pattern) pattern=$2; shift 2;; --dir) dir=$2; shift 2;; *) shift;; esac; done
[ -f "$RELEASE_DIR/$pattern" ] || { echo "release has no asset matching $pattern" >&2; exit 1; }
cp "$RELEASE_DIR/$pattern" "$dir/"
""",
    "cnn-course": f'exec "{sys.executable}" -m cnn_course.commands.cli "$@"',
}


def write_class(work: Path) -> Path:
    """A small class of lesson-1 submissions, and course.toml assigning lesson 1's five exercises."""
    submissions = work / "class"
    shutil.rmtree(submissions, ignore_errors=True)
    solved = (REPO / "solutions" / "01_mnist_data.py").read_text(encoding="utf-8")
    stub = (REPO / "lessons" / "01_mnist_data.py").read_text(encoding="utf-8")
    wrong = solved.replace("return np.bincount(labels, minlength=num_classes)", "return np.bincount(labels)")
    one_left = solved.replace('    return images.astype("float32") / 255.0', "    raise NotImplementedError")
    assert wrong != solved and one_left != solved, "lesson 1's master no longer holds the lines this class changes"
    for learner, text in {"ada": solved, "bruno": stub, "chen": wrong, "eve": one_left}.items():
        (submissions / learner).mkdir(parents=True)
        (submissions / learner / "01_mnist_data.py").write_text(text, encoding="utf-8")
    with zipfile.ZipFile(submissions / "dara.zip", "w") as archive:
        archive.writestr("dara/01_mnist_data.py", solved)
    (work / "course.toml").write_text(
        "[exercises]\n" + "".join(f"{name} = 1\n" for name in LESSON_01), encoding="utf-8"
    )
    return submissions


def checkout(job: Path, course_toml: Path | None) -> None:
    """A fresh copy of the course, as actions/checkout would give one."""
    shutil.rmtree(job, ignore_errors=True)
    job.mkdir(parents=True)
    for name in COURSE:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, job / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache"))
        elif source.is_file():
            shutil.copy2(source, job / name)
    if course_toml is not None:
        shutil.copy2(course_toml, job / "course.toml")


def expand(text: str, values: dict[str, str]) -> str:
    """Replace the workflow's ${{ ... }} expressions with their values here; an unknown one stops the play."""

    def value(match: re.Match) -> str:
        expression = match.group(1).strip()
        if expression not in values:
            raise SystemExit(f"the workflow uses ${{{{ {expression} }}}}, which this play does not know")
        return values[expression]

    return re.sub(r"\$\{\{(.*?)\}\}", value, text)


def play_job(
    name: str, job: dict, workspace: Path, artifacts: Path, values: dict[str, str], env: dict[str, str], log
) -> None:
    """Run one job's steps in `workspace`: `run:` steps for real, `uses:` steps by their stand-ins."""
    for step in job["steps"]:
        title = expand(step.get("name") or step.get("uses") or step.get("run", "").splitlines()[0], values)
        print(f"  [{name}] {title}", file=log, flush=True)
        action = step.get("uses", "")
        inputs = {key: expand(str(value), values) for key, value in (step.get("with") or {}).items()}
        if action.startswith("actions/upload-artifact@"):
            shutil.copytree(workspace / inputs["path"], artifacts / inputs["name"], dirs_exist_ok=True)
        elif action.startswith("actions/download-artifact@"):
            pattern = re.compile(inputs["pattern"].replace("*", ".*") + "$")
            for artifact in sorted(artifacts.iterdir()):
                if pattern.match(artifact.name):
                    shutil.copytree(artifact, workspace / artifact.name)
        elif action:
            print(f"    played by a stand-in: {action}", file=log)
        else:
            step_env = env | {key: expand(str(value), values) for key, value in (step.get("env") or {}).items()}
            script = expand(step["run"], values)
            completed = subprocess.run(
                ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
                cwd=workspace,
                env=step_env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            if completed.returncode:
                raise SystemExit(f"[{name}] step '{title}' failed (exit {completed.returncode}); see {log.name}")


def play(n: int, work: Path, release: Path, course_toml: Path | None, workflow: dict) -> Path:
    """Play the whole workflow with N shards; return the merge job's grades artifact."""
    root = work / f"n{n}"
    shutil.rmtree(root, ignore_errors=True)
    artifacts, stubs = root / "artifacts", root / "bin"
    artifacts.mkdir(parents=True)
    stubs.mkdir()
    for command, body in STUBS.items():
        (stubs / command).write_text("#!/usr/bin/env bash\n" + body + "\n")
        (stubs / command).chmod(stat.S_IRWXU)
    env = {
        **os.environ,
        **{key: str(value) for key, value in workflow.get("env", {}).items()},
        "SHARDS": str(n),
        "PATH": f"{stubs}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "RELEASE_DIR": str(release),
    }
    inputs = {"inputs.release": "class-1", "inputs.deadline": "", "github.token": "(token)", "env.SHARDS": str(n)}
    with open(root / "play.log", "w") as log:
        workspace = root / "workspace"  # every job of a GitHub run checks out to the same path
        for shard in range(1, n + 1):
            checkout(workspace, course_toml)
            play_job(
                f"grade {shard}/{n}",
                workflow["jobs"]["grade"],
                workspace,
                artifacts,
                inputs | {"matrix.shard": str(shard)},
                env,
                log,
            )
        checkout(workspace, course_toml)
        play_job("merge", workflow["jobs"]["merge"], workspace, artifacts, inputs, env, log)
    return artifacts / "grades"


def same(first: Path, other: Path) -> list[str]:
    """What differs between two merged grades folders: gradebook.csv byte for byte, and results.csv's points and
    statuses (its messages may quote inputs a check draws afresh each run; records hold timings and paths)."""
    differing = (
        [] if filecmp.cmp(first / "gradebook.csv", other / "gradebook.csv", shallow=False) else ["gradebook.csv"]
    )

    def points(folder: Path) -> list[list[str]]:
        with open(folder / "results.csv", encoding="utf-8", newline="") as handle:
            return [row[:6] for row in csv.reader(handle)]

    return differing + ([] if points(first) == points(other) else ["results.csv (points or statuses)"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--work", type=Path, default=Path("/tmp/play-grade-class"), help="folder for the jobs, artifacts and logs"
    )
    parser.add_argument(
        "--shards", type=int, nargs="+", default=[1, 2, 4], help="the values of N to play (default: 1 2 4)"
    )
    parser.add_argument(
        "--submissions", type=Path, help="a folder of submissions (folders or zips); default: a small class of lesson 1"
    )
    args = parser.parse_args(argv)
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    declared = workflow["jobs"]["grade"]["strategy"]["matrix"]["shard"]
    if int(workflow["env"]["SHARDS"]) != len(declared) or declared != list(range(1, len(declared) + 1)):
        print(f"{WORKFLOW.name}: env.SHARDS ({workflow['env']['SHARDS']}) and matrix.shard ({declared}) disagree")
        return 1
    args.work.mkdir(parents=True, exist_ok=True)
    submissions, course_toml = (
        (args.submissions, None) if args.submissions else (write_class(args.work), args.work / "course.toml")
    )
    release = args.work / "release"
    shutil.rmtree(release, ignore_errors=True)
    release.mkdir()
    with zipfile.ZipFile(release / "submissions.zip", "w") as archive:
        for path in sorted(submissions.rglob("*")):
            archive.write(path, path.relative_to(submissions).as_posix())
    grades = {}
    for n in args.shards:
        start = time.monotonic()
        grades[n] = play(n, args.work, release, course_toml, workflow)
        print(
            f"N = {n}: {n} grading job{'s' * (n > 1)} and the merge in {time.monotonic() - start:.0f} s; "
            f"gradebook {grades[n] / 'gradebook.csv'}"
        )
    first = args.shards[0]
    print(f"\ngradebook.csv (N = {first}):\n" + (grades[first] / "gradebook.csv").read_text(encoding="utf-8"))
    problems = {n: same(grades[first], grades[n]) for n in args.shards[1:]}
    for n, differing in problems.items():
        print(
            f"N = {n} against N = {first}: "
            + (
                f"DIFFERENT: {', '.join(differing)}"
                if differing
                else "gradebook.csv byte-identical, results.csv's points and statuses identical"
            )
        )
    return 1 if any(problems.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
