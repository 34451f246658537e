"""The ``grader`` command: lab, data, release, autograde, calibrate, bench."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def cmd_data(args) -> int:
    from . import data

    print(f"Course dataset: {data.course_dataset()} (set {data.COURSE_DATASET_ENV} to change it)")
    print(f"Keras cache: {data.keras_datasets_dir()}")
    status = 0
    for name in data.DATASETS:
        try:
            splits = data.load(name, quiet=True)
        except data.DatasetError as error:
            print(f"{name:14} unavailable: {error}")
            status = 1
            continue
        sizes = splits.sizes()
        print(f"{name:14} {sizes['train']:>6,} train / {sizes['test']:>6,} test  from "
              f"{splits.source.describe()}")
    return status


def cmd_release(args) -> int:
    from .grading.pipeline import find_root, release

    root = args.root or find_root()
    for name in release(root, args.assignments or None):
        print(f"released {name}: solutions/{name} -> course/{name}")
    return 0


def cmd_autograde(args) -> int:
    from .grading import gradebook, sandbox
    from .grading.cluster import grade_many
    from .grading.pipeline import (course_settings, feedback, find_root, refused_feedback,
                                   release, submitted)

    root = args.root or find_root()
    pairs = submitted(root, args.assignments or None)
    if args.student:
        pairs = [p for p in pairs if p[1] in args.student]
    if not pairs:
        print(f"No submissions under {root / 'submitted'} (expected "
              "submitted/STUDENT/ASSIGNMENT/NOTEBOOK.ipynb, as `nbgrader collect` leaves them).")
        return 1
    if args.workers < 1:
        print(f"grader autograde: --workers is {args.workers}; give at least 1.")
        return 2
    settings = course_settings(root)
    if settings.sandbox == "bwrap" and not sandbox.bwrap() and not args.scheduler:
        print(f"grader autograde: {sandbox.missing_sandbox_message()}")
        return 2
    # The gradebook learns each assignment's cells from a generation of solutions/; written to a
    # scratch folder so course/ is left as committed.
    release(root, sorted({a for a, _ in pairs}), release_dir="release", unless_current=True)
    notes, models, ok, lost = {}, [], set(), []
    for outcome in grade_many(root, pairs, workers=args.workers, scheduler=args.scheduler,
                              timeout=args.timeout, test_seed=args.test_seed,
                              connect_timeout=args.connect_timeout):
        key, run = (outcome.assignment, outcome.student), outcome.run
        gradebook.record(root, outcome)  # only here is the course's gradebook written
        notes[key] = gradebook.submission_notes(outcome.assignment, run.problems, outcome.notes)
        models += outcome.models
        if run.ok:
            ok.add(key)
        elif outcome.graded:
            refused_feedback(root, *key, run.problems)
        else:
            lost.append(key)
    columns, rows = gradebook.score_table(root, pairs, notes)
    print()
    print(gradebook.format_table(columns, rows))
    gradebook.write_csv(args.csv, columns, rows)
    models_csv = args.csv.with_name(f"{args.csv.stem}-models.csv")
    gradebook.write_models_csv(models_csv, models)
    print(f"\nwrote {args.csv} and {models_csv}")
    for assignment in sorted({a for a, _ in pairs}):
        # nbgrader's feedback for the notebooks it graded (the others have theirs already):
        # every student's at once, or only those graded now when --student picks some
        students = [s for a, s in pairs if a == assignment and (a, s) in ok]
        if students:
            feedback(root, assignment, students if args.student or lost else None)
    if lost:
        print(f"\n{len(lost)} submission(s) were not graded this time (see their notes): "
              + ", ".join(f"{s}/{a}" for a, s in lost))
    return 1 if lost else 0


def cmd_lab(args) -> int:
    import os
    import subprocess

    from .grading.pipeline import find_root
    from .workspace import default_work, describe, update_working_copy

    root = args.root or find_root()
    work = (args.work or default_work()).expanduser().resolve()
    try:
        report = describe(update_working_copy(root / "course", work), work)
    except FileNotFoundError as error:
        print(f"grader lab: {error}", file=sys.stderr)
        return 2
    if report:
        print(report)
    command = [sys.executable, "-m", "jupyterlab", str(work), *args.jupyter_args]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")  # containers and Binder often run as root
    print(f"Opening your copy of the course ({work}) in JupyterLab; stop it with Ctrl+C.",
          flush=True)
    return subprocess.call(command)


def cmd_calibrate(args) -> int:
    from .grading.calibrate import calibrate

    return calibrate(args.root, seeds=args.seeds, datasets=args.datasets, only=args.models,
                     variant_seeds=args.variant_seeds, variants=args.answers)


def cmd_bench(args) -> int:
    from .bench import bench, bench_grading, bench_recipes

    if args.only == "grading":
        return bench_grading(args.root, args.lessons or None)
    if args.only == "class":
        from .class_bench import bench_class

        return bench_class(args.root, args.lessons or None, output=args.table)
    status = 0
    if args.only in (None, "notebooks"):
        status |= bench(args.root, args.lessons or None, runs=args.runs, dataset=args.dataset,
                        output=args.json)
    if args.only in (None, "recipes"):
        print()
        status |= bench_recipes(args.dataset, args.target, args.max_epochs)
    return status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="grader", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("data", help="which source each dataset comes from, and its split sizes")
    p.set_defaults(run=cmd_data)

    p = sub.add_parser("release", help="regenerate course/ from solutions/ with nbgrader")
    p.add_argument("assignments", nargs="*", help="default: every lesson in solutions/")
    p.add_argument("--root", type=Path)
    p.set_defaults(run=cmd_release)

    p = sub.add_parser("autograde", help="grade submitted/STUDENT/LESSON/ and print the scores")
    p.add_argument("assignments", nargs="*", help="default: every lesson submitted")
    p.add_argument("--student", action="append", help="only this student (repeatable)")
    p.add_argument("--csv", type=Path, default=Path("grades.csv"))
    p.add_argument("--timeout", type=float, default=20 * 60, help="seconds per submission")
    p.add_argument("--test-seed", type=int, default=0,
                   help="seed of the random inputs of checks and hidden tests: the same seed, "
                        "the same grade (choose your own to keep the inputs unknown to students)")
    p.add_argument("--workers", type=int, default=1,
                   help="grade this many submissions at once on this machine (each grading "
                        "trains on every core it is given: more workers than cores rarely helps)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="grade on the Dask cluster whose scheduler is here (tcp://HOST:8786) "
                        "instead of on this machine")
    p.add_argument("--connect-timeout", type=float, default=20, metavar="SECONDS",
                   help="how long to wait for --scheduler to answer")
    p.add_argument("--root", type=Path)
    p.set_defaults(run=cmd_autograde)

    p = sub.add_parser("lab", help="open your working copy of the course in JupyterLab (made "
                                   "from course/ on first use, never overwritten)")
    p.add_argument("jupyter_args", nargs="*", help="passed on to jupyter lab (after --)")
    p.add_argument("--work", type=Path, help="your working copy (default: ~/keras-course)")
    p.add_argument("--root", type=Path)
    p.set_defaults(run=cmd_lab)

    p = sub.add_parser("calibrate", help="train the reference models over seeds, set targets")
    p.add_argument("--seeds", type=int, default=5, help="seeds for each reference answer")
    p.add_argument("--variant-seeds", type=int, default=2,
                   help="seeds for each right variant of it (grader/variants.py)")
    p.add_argument("--answers", nargs="*", help="only these: 'reference' and variant names "
                                                "(default: all; the others' runs are kept)")
    p.add_argument("--datasets", nargs="*", help="default: every dataset available here")
    p.add_argument("--models", nargs="*", help="default: every graded model")
    p.add_argument("--root", type=Path)
    p.set_defaults(run=cmd_calibrate)

    p = sub.add_parser("bench", help="time each notebook and graded cell at full size, and "
                                     "LeNet-5's training recipe against the seeds'")
    p.add_argument("lessons", nargs="*", help="default: every lesson in solutions/")
    p.add_argument("--runs", type=int, default=3, help="runs per notebook (the median is shown)")
    p.add_argument("--dataset", help="default: the course's dataset (MNIST unless COURSE_DATASET says otherwise)")
    p.add_argument("--json", type=Path, help="also write every run's cell times here")
    p.add_argument("--only", choices=["notebooks", "recipes", "grading", "class"],
                   help="default: notebooks and recipes; 'grading' grades each solution "
                        "notebook through nbgrader, sealed and confirmed, sealed, and neither; "
                        "'class' grades a made-up class of 31 submissions one at a time, two at "
                        "a time and on a 2-worker Dask cluster, and compares the grades")
    p.add_argument("--table", type=Path, help="with --only class: also write the table here")
    p.add_argument("--target", type=float, help="test accuracy both recipes train to "
                                                "(default: 0.88 on Fashion-MNIST, 0.99 on MNIST)")
    p.add_argument("--max-epochs", type=int, default=15)
    p.add_argument("--root", type=Path)
    p.set_defaults(run=cmd_bench)

    args = parser.parse_args(argv)
    from .grading.pipeline import PipelineError

    try:
        return args.run(args)
    except PipelineError as error:
        print(f"grader {args.command}: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
