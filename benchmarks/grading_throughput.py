"""How fast `cnn-course grade` grades a class: submissions per minute, CPU time, peak memory, sandbox overhead.

    python benchmarks/grading_throughput.py --models MODELS [--copies 6] [--jobs 2] [--mixed]
        [--sandbox auto|bwrap|none|both]

MODELS holds the files the training lessons save (`mnist_cnn.keras` and `mnist_cnn_history.json`; for the CIFAR-10 half
and lesson 9 `cifar10_cnn.*`; for lessons 7 and 8 `own_images_cnn.*`, `transfer_cnn.*`). The class is N copies of a
correct submission (the masters of every lesson whose models are there, every exercise of those lessons assigned, one
point each), and with --mixed also a mixed batch: correct, partial, raising, looping and not-attempted submissions. Each
batch is graded by the real command in a subprocess; the script records wall-clock time, the CPU seconds of every
process of the batch, the peak memory of the whole process tree (sum of resident sets, sampled every 0.2 s), and the
machine's load (`uptime`) before and after, since a shared machine's load changes wall-clock times a lot. It prints a
Markdown table and writes JSON next to it with --json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SOLUTIONS, LESSONS = REPO / "solutions", REPO / "lessons"
MNIST = ("01_mnist_data", "02_mnist_cnn", "03_mnist_training")
CIFAR = ("04_cifar10_data", "05_cifar10_cnn", "06_cifar10_evaluation")
SAVED_MODEL = {
    "03_mnist_training": "mnist_cnn",
    "05_cifar10_cnn": "cifar10_cnn",
    "07_own_images": "own_images_cnn",
    "08_transfer_learning": "transfer_cnn",
}


def lessons_for(models: Path) -> list[str]:
    """The lessons a correct submission can hand in with these models: the MNIST half, the CIFAR-10
    half and lesson 9 if the CIFAR-10 model is there, lessons 7 and 8 if theirs are."""
    have = lambda stem: (models / f"{SAVED_MODEL[stem]}.keras").is_file()  # noqa: E731
    cifar = have("05_cifar10_cnn")
    return [
        *MNIST,
        *(CIFAR if cifar else ()),
        *(stem for stem in ("07_own_images", "08_transfer_learning") if have(stem)),
        *(("09_predict_and_serve",) if cifar else ()),
    ]


def correct_submission(folder: Path, lessons: list[str], models: Path) -> Path:
    """A learner folder holding the masters of `lessons` and the files their training lessons save."""
    (folder / "models").mkdir(parents=True)
    for stem in lessons:
        shutil.copy2(SOLUTIONS / f"{stem}.py", folder / f"{stem}.py")
        if stem in SAVED_MODEL:
            name = SAVED_MODEL[stem]
            for saved in (f"{name}.keras", f"{name}_history.json", f"{name}.classes.json"):
                if (models / saved).is_file():
                    shutil.copy2(models / saved, folder / "models" / saved)
    return folder


def mixed_batch(subs: Path, lessons: list[str], models: Path) -> None:
    """Correct, partial (lesson 01 only), raising, looping and untouched submissions."""
    correct_submission(subs / "mixed_correct", lessons, models)
    partial = subs / "mixed_partial"
    partial.mkdir()
    for stem in lessons:
        shutil.copy2((SOLUTIONS if stem == "01_mnist_data" else LESSONS) / f"{stem}.py", partial / f"{stem}.py")
    raising = correct_submission(subs / "mixed_raising", lessons, models) / "01_mnist_data.py"
    raising.write_text(
        raising.read_text().replace('return images.astype("float32") / 255.0', 'raise ValueError("no")', 1)
    )
    looping = correct_submission(subs / "mixed_looping", lessons, models) / "01_mnist_data.py"
    looping.write_text(
        looping.read_text().replace("return np.expand_dims(images, axis=-1)", "while True:\n        pass", 1)
    )
    untouched = subs / "mixed_untouched"
    untouched.mkdir()
    for stem in lessons:
        shutil.copy2(LESSONS / f"{stem}.py", untouched / f"{stem}.py")


def _tree_sample(root: int) -> tuple[int, dict[tuple[int, int], float]]:
    """Resident bytes of `root` and all its descendants, and the CPU seconds each has used so far,
    keyed by (pid, start time) so that a reused pid is a new process."""
    parents: dict[int, int] = {}
    stats: dict[int, list[str]] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        parents[int(entry.name)] = int(fields[1])
        stats[int(entry.name)] = fields
    total, cpu, todo = 0, {}, [root]
    tick = os.sysconf("SC_CLK_TCK")
    while todo:
        pid = todo.pop()
        if pid in stats:
            fields = stats[pid]
            total += int(fields[21]) * resource.getpagesize()
            cpu[(pid, int(fields[19]))] = (int(fields[11]) + int(fields[12])) / tick
        todo += [child for child, parent in parents.items() if parent == pid]
    return total, cpu


def uptime() -> str:
    """The machine's `uptime` line (load averages over 1, 5 and 15 minutes)."""
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def grade(subs: list[Path], config: Path, out: Path, jobs: int, sandbox: str) -> dict:
    """Run `cnn-course grade` on `subs`; return its measurements."""
    command = [
        sys.executable,
        "-m",
        "cnn_course.commands.cli",
        "grade",
        *map(str, subs),
        "--config",
        str(config),
        "--out",
        str(out),
        "--jobs",
        str(jobs),
    ]
    command += ["--sandbox", sandbox] if sandbox != "default" else []  # "default": a version without --sandbox
    load_before = uptime()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak, done, cpu_seen = [0], threading.Event(), {}

    def sample() -> None:
        while not done.is_set():
            rss, cpu = _tree_sample(process.pid)
            peak[0] = max(peak[0], rss)
            cpu_seen.update(cpu)
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output, _ = process.communicate()
    seconds = time.monotonic() - started
    done.set()
    sampler.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if process.returncode != 0:
        raise SystemExit(f"cnn-course grade failed:\n{output[-3000:]}")
    grades = json.loads((out / "grades.json").read_text())
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "submissions": len(subs),
        "jobs": jobs,
        "sandbox": next((line for line in output.splitlines() if "sandbox" in line or "learner code" in line), sandbox),
        "seconds": round(seconds, 1),
        "per_minute": round(len(subs) * 60 / seconds, 2),
        "cpu_seconds_per_submission": round(cpu / len(subs), 1),
        # Sampled every 0.2 s from /proc, which also sees the processes inside the sandbox (their CPU
        # time never reaches getrusage when the sandbox is ended from outside); a process's last 0.2 s are missed.
        "sampled_cpu_seconds_per_submission": round(sum(cpu_seen.values()) / len(subs), 1),
        "peak_memory_gib": round(peak[0] / 2**30, 2),
        "points": {s["learner"]: f"{s['total']}/{s['max_total']}" for s in grades["submissions"]},
        "load_before": load_before,
        "load_after": uptime(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=Path, required=True, help="folder with the training lessons' saved files")
    parser.add_argument("--copies", type=int, default=6, help="copies of the correct submission (default 6)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--mixed", action="store_true", help="also grade a mixed batch")
    parser.add_argument(
        "--sandbox",
        choices=("auto", "bwrap", "none", "both", "default"),
        default="both",
        help="'both': with and without the sandbox, for its overhead",
    )
    parser.add_argument("--json", type=Path, help="also write the measurements here")
    args = parser.parse_args(argv)
    lessons = lessons_for(args.models)
    runs = []
    with tempfile.TemporaryDirectory(prefix="cnn-course-throughput-") as scratch:
        root = Path(scratch)
        config = root / "course.toml"
        config.write_text(
            f'solutions = "{SOLUTIONS}"\nlessons = "{LESSONS}"\ngraders = "{REPO / "tests" / "graders"}"\n'
            f'hidden-tests = "{REPO / "tests" / "hidden"}"\nsubmission-time-limit = 600\n'
        )
        copies = [
            correct_submission(root / "copies" / f"learner_{i:02d}", lessons, args.models) for i in range(args.copies)
        ]
        batches = [("correct copies", copies)]
        if args.mixed:
            mixed_batch(root / "mixed", lessons, args.models)
            batches.append(("mixed", sorted((root / "mixed").iterdir())))
        modes = ("bwrap", "none") if args.sandbox == "both" else (args.sandbox,)
        for name, subs in batches:
            for mode in modes:
                out = root / f"grades-{name.replace(' ', '-')}-{mode}"
                measured = grade(subs, config, out, args.jobs, mode)
                runs.append({"batch": name, "mode": mode, **measured})
                print(f"{name}, sandbox {mode}: {measured['per_minute']} submissions/min", file=sys.stderr)
    report = {
        "date": datetime.now().isoformat(timespec="seconds"),
        "machine": (
            f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores, "
            f"Python {platform.python_version()}"
        ),
        "command": " ".join(
            ["python", "benchmarks/grading_throughput.py", *(argv if argv is not None else sys.argv[1:])]
        ),
        "lessons": lessons,
        "runs": runs,
    }
    print(f"{report['date']}, {report['machine']}; lessons {', '.join(lessons)}; `{report['command']}`\n")
    print(
        "| batch | sandbox | submissions | jobs | wall s | submissions/min | CPU s per submission "
        "(getrusage / sampled) | peak memory GiB | load (1, 5, 15 min) before → after |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for run in runs:
        load = lambda text: text.split("load average:")[-1].strip()  # noqa: E731
        print(
            f"| {run['batch']} | {run['mode']} | {run['submissions']} | {run['jobs']} | {run['seconds']} | "
            f"{run['per_minute']} | {run['cpu_seconds_per_submission']} / "
            f"{run['sampled_cpu_seconds_per_submission']} | {run['peak_memory_gib']} | {load(run['load_before'])} → "
            f"{load(run['load_after'])} |"
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
