"""Accuracy at a time budget: the course's recipes and the baselines, each trained to the same budgets.

    python -m benchmarks.budget_benchmark [--quick] [--datasets cifar10 mnist] [--recipes NAME ...]
        [--multiples 1 2.5] [--seconds 360] [--mnist-seconds 45] [--out DIR]

In one run on this machine: the convolution throughput (one 3x3, 64->64 convolution at 32x32, batch 256, float32,
forward), then TensorFlow's CIFAR-10 tutorial trained as its authors wrote it (10 epochs): its training time T sets the
budgets given as `--multiples` of it, so that machines compare; `--seconds` adds budgets in seconds. Every chosen recipe
is then trained to every budget (`TimeBudget`: its learning-rate schedule, if it has one, follows the clock;
constant-rate baselines keep their rate), each in its own process, and the weights of its best validation epoch are
measured once on the official test set. Last, the tutorial is trained as written once more, and its time reported beside
T: on a machine whose speed drifts, the budgets in multiples of T are only as steady as T, and the two measurements show
how far it moved during the run. MNIST recipes train to `--mnist-seconds`, first. The reports are rewritten after every
run, so an interrupted benchmark keeps its runs. The yardstick rule: a run counts for the goals only when the tutorial's
two times differ by at most 15 % (of the shorter); the report says whether it counts. Every report records the
processor: its model name and which of AVX2, AVX-512F, AVX512_BF16 and AMX it has.

Reported per run: test accuracy, epochs, images/s (training steps only), the training GFLOP/s
that throughput means (3x the forward FLOPs of the convolution and dense layers) and its
fraction of the measured convolution throughput, the share of the machine's cores the run kept
busy (its process's CPU seconds over the fit's seconds times the cores: a network that cannot use
every core, or a virtual machine paused by its host, scores less) and the load average (the
machine may be shared). Writes DIR/budget_benchmark.md and DIR/budget_benchmark.json.
"""

from __future__ import annotations

import argparse
import datetime
import json
import multiprocessing
import os
import platform
import sys
import time
from pathlib import Path

from benchmarks.budget_goals import airbench_records, goals_markdown, training_pflop

QUICK_TRAIN_IMAGES, QUICK_TEST_IMAGES = 2000, 1000
TUTORIAL = "tf-tutorial"
YARDSTICK_TOLERANCE = 0.15  # a run counts for the goals only if T at the end is within this of T at the start


def yardstick(start_seconds: float | None, end_seconds: float | None, tolerance: float = YARDSTICK_TOLERANCE) -> dict:
    """Whether a run counts for the goals: T, measured at the start and at the end, moved by at most `tolerance`.

    The difference is taken relative to the shorter of the two times (so the rule is the same whichever came
    first). Returns {"counts": bool, "difference": fraction or None, "note": a sentence for the report}; a run
    missing either measurement (interrupted, or no CIFAR-10) does not count.
    """
    if not start_seconds or not end_seconds:
        return {"counts": False, "difference": None, "note": "T was not measured at both ends: the run does not count"}
    difference = abs(end_seconds - start_seconds) / min(start_seconds, end_seconds)
    counts = difference <= tolerance + 1e-12
    verdict = "the run counts for the goals" if counts else "the run does not count for the goals"
    return {
        "counts": counts,
        "difference": round(difference, 4),
        "note": f"T was {start_seconds:.0f} s at the start and {end_seconds:.0f} s at the end, {difference:.0%} apart "
        f"({'within' if counts else 'more than'} {tolerance:.0%}): {verdict}",
    }


def train_to_budget(
    dataset: str, recipe_name: str, budget_seconds: float | None, quick: bool, data_dir: str | None, dtype: str = "auto"
) -> dict:
    """Train one recipe to `budget_seconds` (None: its own epochs) and return its measurements (child process).

    dtype: the training precision, as `cnn-course train --dtype` takes it ("auto": `Recipe.choose_dtype_policy`).
    """
    import resource

    import numpy as np

    from benchmarks.throughput import training_flops_per_image
    from cnn_course import data
    from cnn_course.evaluation import predict_probabilities
    from cnn_course.precision import build_with_policy, dtype_policy
    from cnn_course.preparation import PREPARE
    from cnn_course.recipes import RECIPES
    from cnn_course.seeding import DEFAULT_SEED, set_global_seed
    from cnn_course.time_budget import TimeBudget
    from cnn_course.training import KeepBestWeights, fit_classifier, steps_per_epoch

    recipe = RECIPES[dataset][recipe_name]
    set_global_seed(DEFAULT_SEED)
    prepared = PREPARE[dataset](Path(data_dir) if data_dir else None, recipe.validation_fraction, DEFAULT_SEED)
    x_train, y_train, x_val, y_val, x_test, y_test = (
        prepared.x_train,
        prepared.y_train,
        prepared.x_val,
        prepared.y_val,
        prepared.x_test,
        prepared.y_test,
    )
    if quick:
        x_train, y_train = data.stratified_subset(x_train, y_train, QUICK_TRAIN_IMAGES, seed=DEFAULT_SEED)
        x_val, y_val = data.stratified_subset(x_val, y_val, QUICK_TEST_IMAGES, seed=DEFAULT_SEED)
        x_test, y_test = x_test[:QUICK_TEST_IMAGES], y_test[:QUICK_TEST_IMAGES]
    epochs = (1 if quick else recipe.epochs) if budget_seconds is None else 1000
    total_steps = epochs * steps_per_epoch(len(x_train), recipe.batch_size) if budget_seconds is None else None
    precision = recipe.choose_dtype_policy(prepared, dtype)
    set_global_seed(DEFAULT_SEED)
    model = recipe.compile(build_with_policy(lambda: recipe.build(prepared), precision.policy), total_steps)
    # As written, the recipe's step schedule is compiled in and the callback only measures.
    budget = TimeBudget(None, verbose=0) if budget_seconds is None else recipe.time_budget(budget_seconds, verbose=0)
    keep_best = KeepBestWeights()
    classes = len(prepared.class_names)
    load_before = os.getloadavg()[0]
    cpu_before, wall_before = time.process_time(), time.perf_counter()
    with dtype_policy(precision.policy):
        fit_classifier(
            model,
            x_train,
            recipe.targets(y_train, classes),
            x_val,
            recipe.targets(y_val, classes),
            epochs,
            recipe.batch_size,
            verbose=0,
            callbacks=[
                budget,
                *([keep_best] if recipe.keeps_best_epoch else []),
                *recipe.training_callbacks(model, x_train, budget),
            ],
        )
    cpu_seconds, wall_seconds = time.process_time() - cpu_before, time.perf_counter() - wall_before
    load_after = os.getloadavg()[0]
    probabilities = predict_probabilities(model, x_test, flip_tta=recipe.flip_tta, shift_tta=recipe.shift_tta)
    images_per_second = budget.steps * recipe.batch_size / budget.training_seconds
    gflops = images_per_second * training_flops_per_image(model) / 1e9
    return {
        "dataset": dataset,
        "recipe": recipe.name,
        "baseline": recipe.baseline,
        "budget_seconds": budget_seconds,
        "fit_seconds": round(budget.elapsed, 2),
        "training_seconds": round(budget.training_seconds, 2),
        "step_seconds": None if budget.step_seconds is None else round(budget.step_seconds, 4),
        "epochs": round(budget.steps / steps_per_epoch(len(x_train), recipe.batch_size), 2),
        "best_epoch": keep_best.best_epoch + 1
        if recipe.keeps_best_epoch and keep_best.best_epoch is not None
        else None,
        "test_accuracy": float(np.mean(probabilities.argmax(1) == y_test)),
        "flip_tta": recipe.flip_tta,
        "shift_tta": recipe.shift_tta,
        "images_per_second": round(images_per_second, 1),
        "training_gflops": round(gflops, 2),
        "mflop_per_training_image": round(training_flops_per_image(model) / 1e6, 2),
        "cpu_busy": round(cpu_seconds / (wall_seconds * (os.cpu_count() or 1)), 3),
        "load_average": [round(load_before, 2), round(load_after, 2)],
        "peak_memory_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    } | precision.as_metrics()


def conv_throughput() -> dict:
    """Measure the reference convolution's GFLOP/s and the load average before it (in this process, between runs)."""
    from benchmarks.throughput import measure_conv_gflops

    load = os.getloadavg()[0]
    return {"conv_gflops": round(measure_conv_gflops(), 1), "load_average": round(load, 2)}


def _child(queue: multiprocessing.Queue, function, *args: object) -> None:
    queue.put(function(*args))


def run_isolated(function, *args: object) -> dict:
    """Run `function(*args)` in a fresh process (its own memory and TensorFlow threads); return its result."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_child, args=(queue, function, *args))
    process.start()
    result = queue.get()
    process.join()
    return result


def budget_label(run: dict, tutorial_seconds: float | None) -> str:
    """'360 s' or '1.0x T (352 s)' for a budget.

    'as written' for a recipe's own epochs, 'as written, again at the end' for T's second measurement.
    """
    if run["budget_seconds"] is None:
        return "as written, again at the end" if run.get("remeasure") else "as written"
    if run.get("multiple") is not None:
        return f"{run['multiple']:g}× T ({run['budget_seconds']:.0f} s)"
    return f"{run['budget_seconds']:.0f} s"


def markdown(report: dict) -> str:
    """Return the benchmark report as Markdown: the machine, then one table per dataset."""
    conv = report["conv_gflops"]
    lines = [
        f"Machine: {report['machine']}; {report['versions']}; {report['date']}"
        + (" (--quick: a check of the machinery, not a result)" if report["quick"] else "")
        + ("" if report["complete"] else " (interrupted: the runs finished so far)"),
        f"Processor: {report['processor']}.",
        f"Convolution throughput (3×3, 64→64, 32×32, batch 256, forward): {conv:.1f} GFLOP/s "
        f"(median of {len(report['conv_measurements'])} measurements across the run). Load average "
        f"(1 min) from {report['load_range'][0]:.1f} to {report['load_range'][1]:.1f} on {report['cores']} cores.",
        "",
    ]
    tutorial = report.get("tutorial_seconds")
    for dataset in dict.fromkeys(run["dataset"] for run in report["runs"]):
        if dataset == "cifar10" and tutorial:
            again = next((r["fit_seconds"] for r in report["runs"] if r.get("remeasure")), None)
            at_end = f"; {again:.0f} s when trained again at the end" if again is not None else ""
            lines += [
                f"### CIFAR-10 (T = the TensorFlow tutorial's 10 epochs: {tutorial:.0f} s of training{at_end})",
                "",
                f"Yardstick: {yardstick(tutorial, again)['note']}.",
                "",
            ]
        else:
            lines += [f"### {'MNIST' if dataset == 'mnist' else dataset}", ""]
        lines += [
            "| budget | recipe | precision | test accuracy | epochs | fit s | images/s | training GFLOP/s | of the "
            "convolution's | training PFLOP | peak memory | CPU busy | load |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for run in (r for r in report["runs"] if r["dataset"] == dataset):
            name = f"{run['recipe']} (baseline)" if run["baseline"] else f"**{run['recipe']}**"
            memory = f"{run['peak_memory_mb'] / 1024:.1f} GiB" if run.get("peak_memory_mb") else "–"
            pflop = f"{training_pflop(run):.3f}" if "training_seconds" in run else "–"
            lines.append(
                f"| {budget_label(run, tutorial)} | {name} | {run.get('dtype_policy', 'float32')} | "
                f"{run['test_accuracy']:.2%} | {run['epochs']:.1f} | "
                f"{run['fit_seconds']:.0f} | {run['images_per_second']:.0f} | {run['training_gflops']:.1f} | "
                f"{run['training_gflops'] / conv:.0%} | {pflop} | {memory} | {run['cpu_busy']:.0%} | "
                f"{run['load_average'][0]:.1f}–{run['load_average'][1]:.1f} |"
            )
        lines.append("")
    lines += [
        "Training PFLOP: the training steps' work (3× the forward FLOPs per image); "
        f"airbench's records: {airbench_records()}."
    ]
    lines += ["The convolution's throughput is measured in float32; a mixed_bfloat16 run can exceed it.", ""]
    return "\n".join([*lines, *goals_markdown(report)])


def processor_description() -> str:
    """The processor's model name and which of the instruction sets that set training speed it has."""
    from cnn_course.precision import cpu_flags

    flags = cpu_flags()
    if flags is None:
        return f"{cpu_model_name()}; instruction sets unknown (no /proc/cpuinfo)"
    wanted = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile")
    present = [flag for flag in wanted if flag in flags]
    absent = [flag for flag in wanted if flag not in flags]
    return f"{cpu_model_name()}; has {' '.join(present) or 'none of ' + ' '.join(wanted)}" + (
        f"; lacks {' '.join(absent)}" if present and absent else ""
    )


def cpu_model_name() -> str:
    """The processor's model name (/proc/cpuinfo on Linux; what `platform` knows elsewhere)."""
    try:
        return next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def machine_description() -> str:
    """CPU model and core count of this machine, and the Python version."""
    return f"{cpu_model_name()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; write budget_benchmark.md and budget_benchmark.json."""
    from cnn_course.precision import DTYPE_CHOICES
    from cnn_course.recipes import RECIPES

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", choices=sorted(RECIPES), default=["cifar10", "mnist"])
    parser.add_argument(
        "--recipes",
        nargs="+",
        help="only these recipes (default: all of each dataset); the tutorial's reference run always happens",
    )
    parser.add_argument(
        "--multiples",
        type=float,
        nargs="*",
        default=[1.0, 2.5],
        help="CIFAR-10 budgets as multiples of the tutorial's training time",
    )
    parser.add_argument(
        "--multiples-for",
        nargs="+",
        action="append",
        default=[],
        metavar=("RECIPE", "MULTIPLE"),
        help="RECIPE M [M ...]: train this CIFAR-10 recipe at these multiples of T instead of --multiples "
        "(repeatable; e.g. --multiples-for airbench 5 10)",
    )
    parser.add_argument("--seconds", type=float, nargs="*", default=[], help="CIFAR-10 budgets in seconds")
    parser.add_argument(
        "--dtype",
        choices=DTYPE_CHOICES,
        default="auto",
        help="training precision, as `cnn-course train --dtype` (default: auto, chosen per recipe by measuring)",
    )
    parser.add_argument("--mnist-seconds", type=float, nargs="*", default=[45.0], help="MNIST budgets in seconds")
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"{QUICK_TRAIN_IMAGES} training images, budgets of a few seconds: checks the machinery",
    )
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"), help="folder for the reports")
    parser.add_argument(
        "--data-dir", help="folder of official dataset files (default: $CNN_COURSE_DATA or keras.datasets)"
    )
    args = parser.parse_args(argv)
    own_multiples: dict[str, list[float]] = {}
    for name, *multiples in args.multiples_for:
        try:
            own_multiples[name] = [float(multiple) for multiple in multiples]
        except ValueError:
            parser.error(f"--multiples-for {name}: multiples must be numbers, got {' '.join(multiples)}")
        if not multiples or name not in RECIPES["cifar10"]:
            parser.error(f"--multiples-for {name}: name a CIFAR-10 recipe, then one or more multiples of T")

    import keras
    import tensorflow as tf

    started = datetime.datetime.now(datetime.UTC)
    conv = [conv_throughput()]
    runs: list[dict] = []
    tutorial_seconds = None

    def write_report(final: bool) -> None:
        """Write both reports; after every run too, so an interrupted benchmark keeps what it measured."""
        loads = [load for run in runs for load in run["load_average"]] + [c["load_average"] for c in conv]
        gflops = sorted(c["conv_gflops"] for c in conv)
        report = {
            "date": f"{started:%Y-%m-%d %H:%M} UTC",
            "machine": machine_description(),
            "processor": processor_description(),
            "cores": os.cpu_count(),
            "versions": f"TensorFlow {tf.__version__}, Keras {keras.__version__}",
            "quick": args.quick,
            "complete": final,
            "command": "python -m benchmarks.budget_benchmark " + " ".join(argv if argv is not None else sys.argv[1:]),
            "conv_measurements": conv,
            "conv_gflops": gflops[len(gflops) // 2],
            "load_range": [min(loads), max(loads)],
            "tutorial_seconds": tutorial_seconds,
            "yardstick": yardstick(
                tutorial_seconds, next((run["fit_seconds"] for run in runs if run.get("remeasure")), None)
            ),
            "runs": runs,
        }
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "budget_benchmark.json").write_text(json.dumps(report, indent=2) + "\n")
        (args.out / "budget_benchmark.md").write_text(markdown(report))
        if final:
            print(markdown(report))

    def train(
        dataset: str, name: str, seconds: float | None, multiple: float | None = None, remeasure: bool = False
    ) -> dict:
        label = "its own epochs" if seconds is None else f"{seconds:.1f} s"
        print(f"[budget benchmark] {dataset}/{name} for {label} (load {os.getloadavg()[0]:.1f}) ...", flush=True)
        run = run_isolated(train_to_budget, dataset, name, seconds, args.quick, args.data_dir, args.dtype) | {
            "multiple": multiple,
            "remeasure": remeasure,
        }
        print(
            f"[budget benchmark] {dataset}/{name}: {run['test_accuracy']:.2%} after {run['fit_seconds']:.1f} s, "
            f"{run['images_per_second']:.0f} images/s",
            flush=True,
        )
        runs.append(run)
        write_report(final=False)
        return run

    def chosen(dataset: str) -> list[str]:
        return [name for name in RECIPES[dataset] if not args.recipes or name in args.recipes]

    # MNIST first: its runs are short, so an interrupted run still has them.
    if "mnist" in args.datasets:
        for seconds in args.mnist_seconds:
            for name in chosen("mnist"):
                train("mnist", name, min(seconds, 5.0) if args.quick else seconds)
        conv.append(conv_throughput())
    if "cifar10" in args.datasets:
        reference = train("cifar10", TUTORIAL, None)
        tutorial_seconds = reference["fit_seconds"]
        multiples = sorted({*args.multiples, *(m for ms in own_multiples.values() for m in ms)})
        budgets = [(multiple * tutorial_seconds, multiple) for multiple in multiples]
        budgets += [(seconds, None) for seconds in args.seconds]
        if args.quick:
            budgets = [(min(seconds, 5.0), multiple) for seconds, multiple in budgets]
        for seconds, multiple in budgets:
            for name in chosen("cifar10"):
                if name == TUTORIAL and multiple == 1.0:
                    continue  # the reference run is the tutorial at 1x T
                if multiple is not None and multiple not in own_multiples.get(name, args.multiples):
                    continue
                train("cifar10", name, seconds, multiple)
        train("cifar10", TUTORIAL, None, remeasure=True)
        conv.append(conv_throughput())
    write_report(final=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
