"""The Gradescope autograder, built by `cnn-course assign --gradescope` run in a stand-in for Gradescope's container.

    sudo python -m benchmarks.gradescope_standin [--work DIR] [--memory-mib 768] [--cpus 0.5] [--timeout 600]
        [--only NAME]

Needs root (debootstrap, overlay mounts, cgroups), bubblewrap and network to the Debian mirror and PyPI.
What it does, as Gradescope does it (https://gradescope-autograders.readthedocs.io/en/latest/specs/):

1. a Debian bookworm root file system from debootstrap (minbase), cached in ~/.cache/cnn-course/gradescope-root/base;
2. the image: the zip unpacked into /autograder/source, run_autograder copied to /autograder/run_autograder, then
   setup.sh run as root with the network (apt from the Debian mirror, pip from PyPI); cached per zip (sha256),
   with apt's and pip's download caches kept between builds;
3. per submission, a fresh copy of the image (an overlay), the submission's files in /autograder/submission as
   Gradescope lays out an upload, an empty /autograder/results, then /autograder/run_autograder as root, in
   /autograder, with no network and Docker's default capabilities, no user namespaces (as in a Docker
   container, so the course's bubblewrap sandbox cannot start and learner code runs as a plain process), in a
   cgroup with Gradescope's default limits (768 MiB of memory, half a CPU) and its default 10-minute timeout;
4. each results.json checked against templates/gradescope/results.schema.json (jsonschema) and the expected
   score; the peak memory, CPU time and wall time printed and written to WORK/standin.json.

Submissions: `correct` (the masters and their trained models, solutions/models/), `partial` (lesson 1 solved,
the rest as released), `hostile` (lesson 1 solved but count_per_class, when called, forges results.json,
leaves a process behind to forge it again later, replaces /autograder/results with a link, and exits).
How this differs from Gradescope: Debian 12 (Python 3.11) instead of Ubuntu 24.04 (Python 3.12), bubblewrap and
cgroup v1 instead of Docker, and Gradescope's harness (which uploads results.json) is this script.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CACHE = Path.home() / ".cache" / "cnn-course" / "gradescope-root"
MIRROR = "http://deb.debian.org/debian"
SUITE = "bookworm"
# Docker's default capabilities (moby's oci/caps/defaults.go): no CAP_SYS_ADMIN, so no namespaces of one's own.
DOCKER_CAPS = (
    "CHOWN",
    "DAC_OVERRIDE",
    "FSETID",
    "FOWNER",
    "MKNOD",
    "NET_RAW",
    "SETGID",
    "SETUID",
    "SETFCAP",
    "SETPCAP",
    "NET_BIND_SERVICE",
    "SYS_CHROOT",
    "KILL",
    "AUDIT_WRITE",
)
CGROUP = Path("/sys/fs/cgroup")
HOST_CA = os.environ.get("PIP_CERT", "/etc/ssl/certs/ca-certificates.crt")
FORGED = {"score": 1000, "output": "forged by the submission", "tests": []}
HOSTILE_BODY = f"""\
    import json, os, pathlib, subprocess, sys
    forged = {json.dumps(json.dumps(FORGED))}
    results = pathlib.Path("/autograder/results")
    try:
        (results / "results.json").write_text(forged)
        subprocess.Popen([sys.executable, "-c", "import pathlib, time; time.sleep(20); "
                          "pathlib.Path('/autograder/results/results.json').write_text(" + repr(forged) + ")"],
                         start_new_session=True)
        (results / "extra.json").write_text(forged)
        os.replace(results, "/tmp/results-moved")
        os.symlink("/tmp/results-moved", results)
    except OSError as error:
        print("could not reach /autograder/results:", error)
    os._exit(0)
"""


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    """Run a command, echoing it, and fail loudly if it fails."""
    print("+", " ".join(command[:6]), "..." if len(command) > 6 else "", flush=True)
    return subprocess.run(command, check=True, **kwargs)


def base_root() -> Path:
    """The cached debootstrap root (Debian bookworm, minbase, with CA certificates)."""
    base = CACHE / "base"
    if not (base / "etc" / "os-release").is_file():
        partial = CACHE / "base.tmp"
        shutil.rmtree(partial, ignore_errors=True)
        run(["debootstrap", "--variant=minbase", "--include=ca-certificates", SUITE, str(partial), MIRROR])
        os.replace(partial, base)
    return base


def mount_overlay(lowers: list[Path], upper: Path, merged: Path) -> None:
    """Mount an overlay of `lowers` (top first) with `upper` as the writable layer at `merged`."""
    work = upper.parent / (upper.name + ".work")
    for folder in (upper, work, merged):
        folder.mkdir(parents=True, exist_ok=True)
    options = f"lowerdir={':'.join(map(str, lowers))},upperdir={upper},workdir={work}"
    run(["mount", "-t", "overlay", "overlay", "-o", options, str(merged)])


def bwrap(
    root: Path, script: str, network: bool, binds: dict[Path, str] | None = None, userns: bool = False
) -> list[str]:
    """The bubblewrap command that runs `script` (bash) as root in `root`, as a Docker container would."""
    command = [
        "bwrap",
        "--bind",
        str(root),
        "/",
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--tmpfs",
        "/dev/shm",
        "--unshare-pid",
        "--unshare-ipc",
        "--unshare-uts",
        "--hostname",
        "gradescope",
        "--die-with-parent",
        "--clearenv",
    ]
    if network:
        command += ["--ro-bind", "/etc/resolv.conf", "/etc/resolv.conf"]
        # This machine reaches PyPI through a TLS-intercepting egress proxy: pip inside trusts its CA bundle too.
        if Path(HOST_CA).is_file():
            command += [
                "--ro-bind",
                HOST_CA,
                "/etc/standin-host-ca.crt",
                "--setenv",
                "PIP_CERT",
                "/etc/standin-host-ca.crt",
            ]
    else:
        command += ["--unshare-net"]
    if userns:  # root of its own user namespace, which may create no other: as Docker's seccomp profile forbids
        command += ["--unshare-user", "--uid", "0", "--gid", "0", "--disable-userns"]
    command += ["--cap-drop", "ALL", *(x for cap in DOCKER_CAPS for x in ("--cap-add", f"CAP_{cap}"))]
    for source, target in (binds or {}).items():
        source.mkdir(parents=True, exist_ok=True)
        command += ["--bind", str(source), target]
    environment = {
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": "/root",
        "LANG": "C.UTF-8",
    }
    for name, value in environment.items():
        command += ["--setenv", name, value]
    return command + ["--chdir", "/autograder", "/bin/bash", "-c", script]


def build_image(zip_path: Path) -> tuple[Path, float]:
    """The image for this zip: base root + setup.sh's changes (an overlay's upper layer); cached by the zip's sha256."""
    digest = hashlib.sha256(zip_path.read_bytes()).hexdigest()[:16]
    image = CACHE / f"image-{digest}"
    if (image / "ready").is_file():
        return image / "upper", 0.0
    shutil.rmtree(image, ignore_errors=True)
    merged = image / "merged"
    mount_overlay([base_root()], image / "upper", merged)
    start = time.monotonic()
    try:
        source = merged / "autograder" / "source"
        source.mkdir(parents=True)
        (merged / "autograder" / "results").mkdir()
        with zipfile.ZipFile(zip_path) as archive:
            for info in archive.infolist():
                archive.extract(info, source)
                os.chmod(source / info.filename, (info.external_attr >> 16) & 0o777 or 0o644)
        shutil.copy2(source / "run_autograder", merged / "autograder" / "run_autograder")
        binds = {CACHE / "pip-cache": "/root/.cache/pip", CACHE / "apt-archives": "/var/cache/apt/archives"}
        log = image / "setup.log"
        with open(log, "w") as out:
            completed = subprocess.run(
                bwrap(merged, "cd /autograder/source && bash ./setup.sh", True, binds),
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        if completed.returncode:
            sys.exit(f"setup.sh failed (exit {completed.returncode}); its output: {log}\n" + log.read_text()[-3000:])
    finally:
        run(["umount", str(merged)])
    seconds = time.monotonic() - start
    (image / "ready").write_text(f"setup.sh took {seconds:.0f} s\n")
    print(f"image built in {seconds:.0f} s; setup.sh's output: {image / 'setup.log'}")
    return image / "upper", seconds


def lay_out(name: str, folder: Path) -> None:
    """Write a submission into `folder` as Gradescope lays out an upload of the lesson files and models/."""
    solutions, lessons = REPO / "solutions", REPO / "lessons"
    folder.mkdir(parents=True)
    if name == "correct":
        for path in sorted(solutions.glob("[0-9]*_*.*")):
            shutil.copy2(path, folder / path.name)
        shutil.copytree(solutions / "models", folder / "models")
        return
    for path in sorted(lessons.glob("[0-9]*_*.*")):
        shutil.copy2(path, folder / path.name)
    for path in solutions.glob("01_*.*"):
        shutil.copy2(path, folder / path.name)
    if name == "hostile":
        (folder / "01_mnist_data.ipynb").unlink()
        text = (folder / "01_mnist_data.py").read_text(encoding="utf-8")
        head, rest = text.split("def count_per_class(", 1)
        signature, body = rest.split("\n", 1)
        docstring_end = body.index('"""', body.index('"""') + 3) + 3
        tail = body[docstring_end:]
        next_cell = tail.index("\n# %%")
        text = (
            head
            + "def count_per_class("
            + signature
            + "\n"
            + body[:docstring_end]
            + "\n"
            + HOSTILE_BODY
            + tail[next_cell:]
        )
        (folder / "01_mnist_data.py").write_text(text, encoding="utf-8")


def cgroup_limits(name: str, memory_mib: int, cpus: float) -> list[Path]:
    """Create cgroups (v1: memory and cpu) with Gradescope's limits; return their folders."""
    memory, cpu, cpuacct = CGROUP / "memory" / name, CGROUP / "cpu" / name, CGROUP / "cpuacct" / name
    folders = [memory, cpu] + ([cpuacct] if cpuacct.parent.is_dir() and cpuacct.parent != cpu.parent.resolve() else [])
    for folder in folders:
        if folder.exists():
            folder.rmdir()
        folder.mkdir()
    (memory / "memory.limit_in_bytes").write_text(str(memory_mib * 2**20))
    (memory / "memory.memsw.limit_in_bytes").exists() and (memory / "memory.memsw.limit_in_bytes").write_text(
        str(memory_mib * 2**20)
    )
    (cpu / "cpu.cfs_period_us").write_text("100000")
    (cpu / "cpu.cfs_quota_us").write_text(str(int(cpus * 100000)))
    return folders


def grade(name: str, image: Path, work: Path, memory_mib: int, cpus: float, timeout: float) -> dict:
    """Run run_autograder on one submission in a fresh container; return what Gradescope would read, and the costs."""
    container = work / name
    if container.exists():
        subprocess.run(["umount", str(container / "merged")], stderr=subprocess.DEVNULL)
        shutil.rmtree(container)
    merged = container / "merged"
    mount_overlay([image, base_root()], container / "upper", merged)
    try:
        lay_out(name, merged / "autograder" / "submission")
        results = merged / "autograder" / "results"
        shutil.rmtree(results, ignore_errors=True)
        results.mkdir()
        groups = cgroup_limits(f"cnn-course-standin-{name}", memory_mib, cpus)
        command = bwrap(merged, "/autograder/run_autograder", network=False, userns=True)

        def enter_cgroups() -> None:
            for group in groups:
                (group / "cgroup.procs").write_text(str(os.getpid()))

        start = time.monotonic()
        with open(container / "stdout", "w") as out:
            process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, preexec_fn=enter_cgroups)
            try:
                code = process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                code = "timeout"
        wall = time.monotonic() - start
        time.sleep(25)  # past the hostile submission's late writer, had it survived
        memory, cpu = groups[:2]
        cost = {
            "exit": code,
            "wall_s": round(wall, 1),
            "peak_memory_mib": round(int((memory / "memory.max_usage_in_bytes").read_text()) / 2**20),
            "memory_limit_hits": int((memory / "memory.failcnt").read_text()),
            "oom_kills": _oom_kills(memory),
            "cpu_s": round(_cpu_seconds(cpu), 1),
        }
        results_file = results / "results.json"
        document = json.loads(results_file.read_text()) if results_file.is_file() and not results.is_symlink() else None
        leftovers = sorted(p.name for p in results.iterdir()) if results.is_dir() else [f"{results} is not a folder"]
        shutil.copy2(container / "stdout", work / f"{name}.stdout")
        if document is not None:
            (work / f"{name}.results.json").write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
        for group in groups:
            group.rmdir()
        return {"results": document, "results_folder": leftovers, **cost}
    finally:
        subprocess.run(["umount", "-l", str(merged)])


def _oom_kills(memory: Path) -> int:
    for line in (memory / "memory.oom_control").read_text().splitlines():
        if line.startswith("oom_kill "):
            return int(line.split()[1])
    return 0


def _cpu_seconds(cpu: Path) -> float:
    usage = CGROUP / "cpuacct" / cpu.name / "cpuacct.usage"
    if usage.is_file():
        return int(usage.read_text()) / 1e9
    stat = dict(line.split() for line in (cpu / "cpu.stat").read_text().splitlines())
    return float("nan") if "usage_usec" not in stat else int(stat["usage_usec"]) / 1e6


def check(name: str, outcome: dict, expected: float, schema: dict) -> list[str]:
    """What is wrong with one submission's outcome: schema, score, leftovers in /autograder/results."""
    import jsonschema

    document = outcome["results"]
    if document is None:
        return [f"{name}: no results.json ({outcome['results_folder']})"]
    problems = [
        f"{name}: {error.message} at {'/'.join(map(str, error.path))}"
        for error in jsonschema.Draft202012Validator(schema).iter_errors(document)
    ]
    for index, test in enumerate(document.get("tests", [])):
        missing = {"score", "max_score", "name", "output", "visibility"} - set(test)
        if missing:
            problems.append(f"{name}: test {index} lacks {sorted(missing)}")
    if "execution_time" not in document:
        problems.append(f"{name}: no execution_time")
    score = document.get("score", sum(test.get("score", 0) for test in document.get("tests", [])))
    if score != expected:
        problems.append(f"{name}: score {score}, expected {expected}")
    if document.get("output") == FORGED["output"]:
        problems.append(f"{name}: the forged results.json reached Gradescope")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=CACHE / "runs", help="folder for the zip, containers and outputs")
    parser.add_argument(
        "--memory-mib", type=int, default=768, help="memory limit of a container (Gradescope's default: 768 MB)"
    )
    parser.add_argument("--cpus", type=float, default=0.5, help="CPUs of a container (Gradescope's default: 0.5)")
    parser.add_argument(
        "--timeout", type=float, default=600, help="seconds before run_autograder is killed (default 600, Gradescope's)"
    )
    parser.add_argument(
        "--only", action="append", choices=("correct", "partial", "hostile"), help="grade only these submissions"
    )
    parser.add_argument(
        "--config", type=Path, help="course configuration for the autograder (default: the course's own)"
    )
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        sys.exit("run as root: debootstrap, overlay mounts and cgroups need it")
    args.work.mkdir(parents=True, exist_ok=True)
    zip_path = args.work / "autograder.zip"
    command = [sys.executable, "-m", "cnn_course.commands.cli", "assign", "--gradescope", str(zip_path)]
    run(command + (["--config", str(args.config)] if args.config else []), cwd=REPO)
    image, setup_seconds = build_image(zip_path)
    schema = json.loads((REPO / "templates" / "gradescope" / "results.schema.json").read_text())
    names = args.only or ["correct", "partial", "hostile"]
    points = _points(zip_path)
    expected = {
        "correct": points["all"],
        "partial": points["01_mnist_data"],
        "hostile": points["01_mnist_data"] - points["count_per_class"],
    }
    report, problems = (
        {"setup_s": round(setup_seconds), "limits": vars(args) | {"work": str(args.work), "config": str(args.config)}},
        [],
    )
    for name in names:
        outcome = grade(name, image, args.work, args.memory_mib, args.cpus, args.timeout)
        found = check(name, outcome, expected[name], schema)
        problems += found
        report[name] = {key: value for key, value in outcome.items() if key != "results"} | {
            "expected": expected[name],
            "problems": found,
        }
        print(
            f"{name}: score {outcome['results'] and outcome['results'].get('score')}, expected {expected[name]}; "
            f"{outcome['wall_s']} s wall, {outcome['cpu_s']} s CPU, peak {outcome['peak_memory_mib']} MiB, "
            f"OOM kills {outcome['oom_kills']}, results/ holds {outcome['results_folder']}"
            + "".join(f"\n  PROBLEM {p}" for p in found),
            flush=True,
        )
    (args.work / "standin.json").write_text(json.dumps(report, indent=2) + "\n")
    print(
        textwrap.dedent(f"""\
        outputs in {args.work}: NAME.results.json, NAME.stdout, standin.json""")
    )
    return 1 if problems else 0


def _points(zip_path: Path) -> dict[str, float]:
    """Points per lesson and per exercise of the assignment the zip grades, read with the course's own catalog."""
    code = textwrap.dedent("""\
        import json, sys
        from pathlib import Path
        from cnn_course.authoring.catalog import exercise_catalog
        from cnn_course.authoring.course_config import load_config
        config = load_config(Path(sys.argv[1]))
        catalog = exercise_catalog(config.graders, config.hidden_tests)
        points = {}
        for spec in config.assigned(catalog):
            points[spec.name] = spec.points
            points[catalog[spec.name]] = points.get(catalog[spec.name], 0) + spec.points
        points["all"] = sum(spec.points for spec in config.assigned(catalog))
        print(json.dumps(points))
    """)
    source = CACHE / "points-source"
    shutil.rmtree(source, ignore_errors=True)
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(source, [n for n in archive.namelist() if not n.startswith("data/")])
    output = subprocess.run(
        [sys.executable, "-c", code, str(source)], check=True, capture_output=True, text=True, cwd=source
    ).stdout
    shutil.rmtree(source)
    return json.loads(output)


if __name__ == "__main__":
    sys.exit(main())
