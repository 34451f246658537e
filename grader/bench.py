"""``grader bench``: how long each lesson takes, run as nbgrader would run it, and how much
faster the course trains LeNet-5 than the seed articles did.

Each solution notebook runs ``runs`` times in a fresh kernel on the course's dataset (MNIST,
bundled whole: 60,000 training images; ``--dataset fashion_mnist`` for the other one). The table gives each notebook's
total time and each graded cell's time (median and worst), against the per-cell timeout in
``nbgrader_config.py``: every cell is budgeted to finish within a quarter of it (30 s of the
course's 120 s), the rest being headroom for slower or busier machines.

The recipe comparison (``grader.recipes``) trains LeNet-5 with the seeds' recipe and with the
course's on the same 60,000 training images, each to the same test accuracy, and prints the
ratio, seconds per epoch, images per second and the arithmetic floor.
"""
from __future__ import annotations

import json
from pathlib import Path
from statistics import median

from .data import course_dataset
from .grading.pipeline import assignments, find_root
from .grading.runs import NotebookRun, run_notebook, scratch_copy, solution_notebook


BUDGET_FRACTION = 0.25  # of nbgrader's cell timeout: the time a cell is budgeted to take


def cell_timeout(root: Path) -> float:
    """``c.Execute.timeout`` from the course's nbgrader_config.py (nbgrader's default: 30 s)."""
    from .grading.pipeline import course_settings

    return course_settings(root).cell_timeout


def describe_dataset(name: str) -> str:
    """``name: N training images``, or a clear exit when the dataset cannot be loaded here."""
    from . import data

    try:
        splits = data.load(name, quiet=True)
    except data.DatasetError as error:
        raise SystemExit(f"grader bench: {error}") from error
    return f"{name}: {splits.sizes()['train']:,} training images"


def bench(root: Path | None = None, lessons: list[str] | None = None, runs: int = 3,
          dataset: str | None = None, output: Path | None = None) -> int:
    root = root or find_root()
    limit = cell_timeout(root)
    dataset = dataset or course_dataset()
    described = describe_dataset(dataset)
    lessons = lessons or assignments(root)
    print(f"grader bench: {len(lessons)} notebook(s) x {runs} run(s) on {described}; "
          f"cell timeout {limit:g} s, cell budget {limit * BUDGET_FRACTION:g} s", flush=True)
    results, failed = {}, False
    for lesson in lessons:
        notebook = solution_notebook(root, lesson)
        lesson_runs = []
        for index in range(runs):
            with scratch_copy(notebook) as workdir:
                run = run_notebook(notebook, workdir, seed=0, dataset=dataset)
            print(f"  {lesson} run {index + 1}: {run.seconds} s"
                  + (f"  ERRORS: {'; '.join(run.errors)}" if run.errors else ""), flush=True)
            failed |= bool(run.errors)
            lesson_runs.append(run)
        results[lesson] = lesson_runs
    print()
    print(format_table(results, limit))
    if output:
        output.write_text(json.dumps(as_json(results, dataset, limit), indent=2) + "\n")
        print(f"\nwrote {output}")
    return 1 if failed else 0


def format_table(results: dict[str, list[NotebookRun]], limit: float) -> str:
    """Median and worst seconds per notebook and per graded cell (plus the slowest ungraded
    cell: nbgrader's timeout binds every cell), each flagged when over its budget."""
    budget = limit * BUDGET_FRACTION
    lines = [f"{'notebook / graded cell':44} {'median':>6} {'worst':>6}  (seconds)"]
    over = []

    def row(label: str, times: list[float], where: str) -> str:
        flag = ""
        if max(times) > budget:
            flag = f"  OVER the {budget:g} s budget"
            over.append(where)
        return f"{label:44} {median(times):6.1f} {max(times):6.1f}{flag}"

    for lesson, runs in results.items():
        lines.append(f"{lesson:44} {median(r.seconds for r in runs):6.1f} "
                     f"{max(r.seconds for r in runs):6.1f}  whole notebook")
        cells = runs[0].cells
        times = [[r.cells[i].seconds for r in runs] for i in range(len(cells))]
        for cell, cell_times in zip(cells, times):
            if cell.graded:
                lines.append(row(f"  {cell.label}", cell_times, f"{lesson}/{cell.label}"))
        ungraded = [i for i, cell in enumerate(cells) if not cell.graded]
        if ungraded:
            slowest = max(ungraded, key=lambda i: median(times[i]))
            label = cells[slowest].label
            lines.append(row(f"  (slowest ungraded: {label})", times[slowest],
                             f"{lesson}/{label}"))
    lines.append("")
    lines.append(f"every cell within {budget:g} s (a quarter of the {limit:g} s timeout): "
                 + ("yes" if not over else "NO: " + ", ".join(over)))
    return "\n".join(lines)


def as_json(results: dict[str, list[NotebookRun]], dataset: str, limit: float) -> dict:
    return {"dataset": dataset, "cell_timeout": limit,
            "notebooks": {lesson: [{"seconds": r.seconds,
                                    "cells": {c.label: round(c.seconds, 2) for c in r.cells},
                                    "errors": r.errors} for r in runs]
                          for lesson, runs in results.items()}}


# Test accuracy both recipes must reach, per dataset: what LeNet-5 gets to in a few epochs.
RECIPE_TARGETS = {"fashion_mnist": 0.88, "mnist": 0.99}


def bench_recipes(dataset: str | None = None, target: float | None = None,
                  max_epochs: int = 15) -> int:
    from . import data, recipes
    from .quiet import import_tensorflow

    dataset = dataset or course_dataset()
    import_tensorflow()
    splits = data.load(dataset, quiet=True)
    (x, y), (x_test, y_test) = splits
    x = (x.astype("float32") / 255)[..., None]
    x_test = (x_test.astype("float32") / 255)[..., None]
    target = target or RECIPE_TARGETS.get(dataset, 0.97)
    print(f"LeNet-5 on {dataset} ({len(x):,} training images) to {target:.1%} test accuracy, "
          f"at most {max_epochs} epochs each", flush=True)
    runs = []
    for train in (recipes.seeds_recipe, recipes.course_recipe):
        run = train(x, y, x_test, y_test, target, max_epochs)
        print(f"  {run.name}: " + ", ".join(f"{e.seconds:.1f} s -> {e.test_accuracy:.4f}"
                                             for e in run.epochs), flush=True)
        runs.append(run)
    flops = recipes.training_flops(recipes.build_lenet5(import_tensorflow()[1]))
    print()
    print(format_recipes(runs, flops, recipes.matmul_flops_per_second()))
    return 0 if runs[1].reached else 1  # the course's recipe must reach it; the seeds' may not


def format_recipes(runs, flops_per_image: int, machine_flops: float) -> str:
    lines = [f"{'recipe':16} {'epochs':>6} {'s to target':>11} {'s/epoch':>8} "
             f"{'images/s':>9} {'last test acc':>13}"]
    for run in runs:
        reached = run.seconds_to_target
        lines.append(f"{run.name:16} {run.reached or '-':>6} "
                     f"{(f'{reached:.1f}' if reached else 'not reached'):>11} "
                     f"{run.seconds_per_epoch:8.1f} {run.images_per_second:9,.0f} "
                     f"{run.epochs[-1].test_accuracy:13.4f}")
    seeds, course = runs
    if seeds.seconds_to_target and course.seconds_to_target:
        lines.append(f"\nthe course's recipe reaches {course.target:.1%} "
                     f"{seeds.seconds_to_target / course.seconds_to_target:.1f}x faster "
                     f"({seeds.seconds_to_target:.1f} s -> {course.seconds_to_target:.1f} s); "
                     f"per epoch {seeds.seconds_per_epoch / course.seconds_per_epoch:.1f}x")
    elif course.seconds_to_target:
        # The seeds' recipe never got there: compare the time to the best it did reach.
        best = seeds.best_accuracy
        seeds_time, course_time = seeds.seconds_to(best), course.seconds_to(best)
        lines.append(f"\nthe seeds' recipe never reached {course.target:.1%} in "
                     f"{len(seeds.epochs)} epochs ({sum(e.seconds for e in seeds.epochs):.1f} s); "
                     f"its best was {best:.2%} after {seeds.epochs_to(best)} epochs "
                     f"({seeds_time:.1f} s). The course's recipe passed {best:.2%} after "
                     f"{course.epochs_to(best)} epochs ({course_time:.1f} s): "
                     f"{seeds_time / course_time:.1f}x faster; per epoch "
                     f"{seeds.seconds_per_epoch / course.seconds_per_epoch:.1f}x")
    floor = course.epochs[-1].images * flops_per_image / machine_flops
    lines.append(f"arithmetic floor: {flops_per_image / 1e6:.2f} MFLOP per training image; at "
                 f"this machine's float32 matmul rate ({machine_flops / 1e9:.0f} GFLOP/s) an "
                 f"epoch of {course.epochs[-1].images:,} images needs at least {floor:.1f} s "
                 f"(the course's recipe: {course.seconds_per_epoch:.1f} s, "
                 f"{floor / course.seconds_per_epoch:.0%} of the floor's speed)")
    return "\n".join(lines)


# How `grader bench --only grading` grades: nbgrader_config.py as the course has it, then with
# the grader's own confirmation off, then with the kernel not sealed either (what grading was
# before both). Each line is applied after the course's own settings.
GRADING_MODES = {
    "sealed, confirmed": "",
    "sealed": "c.Execute.confirm = False\n",
    "neither": "c.Execute.confirm = False\nc.SealedKernelManager.sandbox = 'none'\n",
}


def bench_grading(root: Path | None = None, lessons: list[str] | None = None) -> int:
    """Grade every solution notebook as one student's submission, through nbgrader, once per
    grading mode (``GRADING_MODES``), in a scratch course; print each lesson's seconds per mode
    and what sealing and confirming add."""
    import shutil
    import tempfile

    from .grading.pipeline import autograde_one, course_settings, release

    root = root or find_root()
    lessons = lessons or assignments(root)
    print(f"grader bench --only grading: {len(lessons)} solution notebook(s) graded as one "
          f"submission, in {len(GRADING_MODES)} modes", flush=True)
    seconds: dict[str, dict[str, float]] = {}
    failed = False
    for mode, extra in GRADING_MODES.items():
        with tempfile.TemporaryDirectory(prefix="grading-bench-") as scratch:
            course = Path(scratch)
            shutil.copytree(root / "solutions", course / "solutions",
                            ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
            (course / "nbgrader_config.py").write_text(
                (root / "nbgrader_config.py").read_text() + "\n" + extra)
            for lesson in lessons:
                folder = course / "submitted" / "bench" / lesson
                folder.mkdir(parents=True)
                shutil.copy(solution_notebook(root, lesson), folder / f"{lesson}.ipynb")
            release(course, lessons, release_dir="release")
            settings = course_settings(course)
            for lesson in lessons:
                run = autograde_one(course, lesson, "bench", settings=settings)
                seconds.setdefault(lesson, {})[mode] = run.seconds
                failed |= not run.ok
                print(f"  {mode:18} {lesson:28} {run.seconds:6.1f} s"
                      + ("" if run.ok else f"  NOT GRADED: {'; '.join(run.problems)}"), flush=True)
    print()
    print(format_grading(seconds))
    return 1 if failed else 0


def format_grading(seconds: dict[str, dict[str, float]]) -> str:
    modes = list(GRADING_MODES)
    lines = [f"{'lesson':28}" + "".join(f"{m:>20}" for m in modes) + f"{'added':>10}"]
    totals = {m: sum(s[m] for s in seconds.values()) for m in modes}
    for lesson, times in [*seconds.items(), ("whole course", totals)]:
        added = times[modes[0]] - times[modes[-1]]
        lines.append(f"{lesson:28}" + "".join(f"{times[m]:19.1f}s" for m in modes)
                     + f"{added:+9.1f}s")
    lines.append(f"(seconds per lesson; 'added' is what sealing and confirming cost: "
                 f"{modes[0]!r} minus {modes[-1]!r})")
    return "\n".join(lines)
