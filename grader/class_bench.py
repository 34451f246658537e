"""``grader bench --only class``: a whole class graded three ways, timed, and the grades compared.

The class is ``grading.made_up_class`` (solutions, untouched notebooks, one wrong answer per
lesson, a broken file, cheats and model mistakes), in a scratch copy of the course. It is graded
by ``grader autograde`` as an instructor runs it, once per mode (``MODES``): one at a time, two at
a time on this machine (a Dask LocalCluster), and through a Dask cluster of two workers started
by hand (``dask scheduler`` and ``dask worker``). The gradebook starts empty each time. The
table gives each mode's wall time and its cost per submission; the grades and the model
accuracies of the three must be identical. The cost measured with every core busy projects what
a larger class takes on more cores.
"""
from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

# mode -> how `grader autograde` is told to grade; "cluster" grades through the scheduler of a
# cluster started for the run, with as many workers as this machine has cores.
MODES = {
    "one at a time (--workers 1)": ["--workers", "1"],
    "two at a time (--workers 2)": ["--workers", "2"],
    "Dask cluster, 2 workers (--scheduler)": "cluster",
}
PROJECTED_STUDENTS = 300
PROJECTED_CORES = (16, 64)
# `grader autograde`'s line for each submission, graded or refused (a broken file)
GRADED_LINE = re.compile(r"^(?:graded|could not grade) (\S+)/(\S+) (?:in |\()(\d+) s",
                         re.MULTILINE)


@dataclass
class ModeRun:
    wall: float
    returncode: int
    task_seconds: dict[tuple[str, str], float] = field(default_factory=dict)  # (lesson, student)
    grades: list[list[str]] = field(default_factory=list)  # grades.csv, header first
    models: list[list[str]] = field(default_factory=list)  # grades-models.csv
    tail: str = ""  # the end of its output, shown when it failed


@contextmanager
def local_dask_cluster(folder: Path, env: dict, workers: int = 2):
    """A real Dask cluster on localhost, started as an instructor would: ``dask scheduler`` and
    ``workers`` ``dask worker`` processes of one thread (each with its nanny, which restarts a
    worker that dies). Yields the scheduler's address and the worker (nanny) processes."""
    from distributed import Client

    dask = str(Path(sys.executable).parent / "dask")
    address_file = folder / "scheduler.json"
    started = [subprocess.Popen([dask, "scheduler", "--port", "0", "--no-dashboard",
                                 "--scheduler-file", str(address_file)], env=env, cwd=folder,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        for _ in range(workers):
            started.append(subprocess.Popen(
                [dask, "worker", "--scheduler-file", str(address_file), "--nthreads", "1",
                 "--no-dashboard"], env=env, cwd=folder,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        with Client(scheduler_file=str(address_file), timeout="60s") as client:
            client.wait_for_workers(workers, timeout=120)
            yield client.scheduler.address, started[1:]
    finally:
        for process in reversed(started):
            process.terminate()
        for process in started:
            process.wait(timeout=60)


def grading_env() -> dict:
    env = dict(os.environ, GRADER_NO_DOWNLOAD="1")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    return env


def grade_class(course: Path, how: list[str], env: dict, name: str) -> ModeRun:
    """``grader autograde`` on the whole class, from an empty gradebook; timed."""
    for item in ("gradebook.db", "autograded", "feedback"):
        path = course / item
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "grader.cli", "autograde", "--csv",
                           f"{name}.csv", *how], cwd=course, env=env, capture_output=True,
                          text=True)
    run = ModeRun(round(time.perf_counter() - started, 1), done.returncode,
                  tail=done.stdout[-2000:] + done.stderr[-2000:])
    run.task_seconds = {(lesson, student): float(seconds)
                        for student, lesson, seconds in GRADED_LINE.findall(done.stdout)}
    for attribute, path in (("grades", f"{name}.csv"), ("models", f"{name}-models.csv")):
        if (course / path).is_file():
            with open(course / path, newline="") as f:
                setattr(run, attribute, list(csv.reader(f)))
    return run


def differences(reference: ModeRun, other: ModeRun) -> list[str]:
    """Where ``other``'s grades or model accuracies differ from ``reference``'s (a grades row
    is keyed by student, a model row by student, lesson and model)."""
    found = []
    for what, key_width in (("grades", 1), ("models", 3)):
        ours, theirs = getattr(reference, what), getattr(other, what)
        if not theirs or ours[0] != theirs[0]:
            found.append(f"{what}: not written, or other columns")
            continue
        mine = {tuple(row[:key_width]): row for row in ours[1:]}
        yours = {tuple(row[:key_width]): row for row in theirs[1:]}
        for key in sorted(mine.keys() | yours.keys()):
            a, b = mine.get(key), yours.get(key)
            if a != b:
                where = ("the whole row" if a is None or b is None else
                         ", ".join(h for h, x, y in zip(ours[0], a, b) if x != y))
                found.append(f"{what} of {'/'.join(key)}: {where}")
    return found


def bench_class(root: Path | None = None, lessons: list[str] | None = None,
                output: Path | None = None) -> int:
    from .grading.cluster import course_files
    from .grading.made_up_class import build_class
    from .grading.pipeline import find_root, release

    root = root or find_root()
    env = grading_env()
    with tempfile.TemporaryDirectory(prefix="class-bench-") as scratch:
        course = Path(scratch) / "course"
        pairs = build_class(root, course, lessons)
        lessons = sorted({lesson for lesson, _ in pairs})
        print(f"grader bench --only class: {len(pairs)} submissions of "
              f"{len({s for _, s in pairs})} made-up students over {len(lessons)} lessons, "
              f"graded {len(MODES)} ways on {os.cpu_count()} cores", flush=True)
        # what every mode shares and an instructor makes once: the release and its gradebooks
        release(course, lessons, release_dir="release", unless_current=True)
        course_files(course, lessons)
        runs = {}
        for index, (mode, how) in enumerate(MODES.items()):
            cluster = (local_dask_cluster(Path(scratch), env) if how == "cluster"
                       else nullcontext())
            with cluster as started:
                args = ["--scheduler", started[0]] if how == "cluster" else how
                runs[mode] = run = grade_class(course, args, env, f"mode{index}")
            print(f"  {mode}: {run.wall:.1f} s, {len(run.task_seconds)} submissions"
                  + ("" if run.returncode == 0 else f"  FAILED (exit {run.returncode}):\n"
                     + run.tail), flush=True)
    print()
    table, same = format_class(runs, pairs)
    print(table)
    if output:
        output.write_text(table + "\n")
        print(f"\nwrote {output}")
    return 0 if same and all(r.returncode == 0 for r in runs.values()) else 1


def format_class(runs: dict[str, ModeRun], pairs: list[tuple[str, str]]) -> tuple[str, bool]:
    n = len(pairs)
    modes = list(runs)
    reference = runs[modes[0]]
    lines = [f"{'mode':40} {'wall':>8} {'per submission':>15}  grades and model accuracies"]
    same = True
    for mode, run in runs.items():
        found = [] if run is reference else differences(reference, run)
        same &= not found
        verdict = ("the reference" if run is reference else
                   "identical" if not found else "DIFFERENT: " + "; ".join(found[:5]))
        lines.append(f"{mode:40} {run.wall:7.1f}s {run.wall / n:14.1f}s  {verdict}")
    # With every core busy, each task holds one core for the seconds it reports: their sum is
    # the core-seconds the class costs.
    busy, cores = runs[modes[1]], 2
    core_seconds = sum(busy.task_seconds.values())
    per_submission = core_seconds / max(1, len(busy.task_seconds))
    course = sum(s for (_, student), s in busy.task_seconds.items() if student == "solution")
    n_lessons = len({lesson for lesson, _ in pairs})
    lines += ["", f"with {cores} workers on {cores} cores each submission held a core for "
              f"{per_submission:.1f} s on average ({core_seconds:.0f} core-seconds for "
              f"{len(busy.task_seconds)}); the solutions of the {n_lessons} lesson(s), one "
              f"student's whole course, {course:.0f} core-seconds",
              f"speed-up of {modes[1]} over {modes[0]}: {reference.wall / busy.wall:.2f}x", "",
              f"projected for {PROJECTED_STUDENTS} students, one worker per core, every core "
              "kept busy (add the longest single grading for the last one):"]
    for cores_there in PROJECTED_CORES:
        one = PROJECTED_STUDENTS * per_submission / cores_there
        whole = PROJECTED_STUDENTS * course / cores_there
        lines.append(f"  {cores_there:3} cores: one lesson each (this mix) {duration(one)}; "
                     f"the whole course each ({PROJECTED_STUDENTS * n_lessons:,} submissions) "
                     f"{duration(whole)}")
    return "\n".join(lines), same


def duration(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds < 7200 else f"{seconds / 3600:.1f} h"
