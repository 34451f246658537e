"""Grading on workers: what a worker sends back is written into the course's gradebook by the
coordinator alone, with the same rule ``decide`` applies, and a task no worker finishes changes
nothing. (Grading through a LocalCluster and a real `dask scheduler`/`dask worker` cluster, with
a worker killed mid-task, is in test_autograde.py.)"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader.grading import gradebook
from grader.grading.cluster import (Outcome, Sealed, course_files, gradebook_template,
                                    not_graded, seal)
from grader.grading.pipeline import SubmissionRun, release

ROOT = Path(__file__).resolve().parents[1]
LESSON = "01-tensors"


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    """A course whose gradebook knows lesson 01 (nbgrader generates it once for the module)."""
    root = tmp_path_factory.mktemp("released")
    (root / "solutions" / LESSON).mkdir(parents=True)
    shutil.copy(ROOT / "solutions" / LESSON / f"{LESSON}.ipynb", root / "solutions" / LESSON)
    shutil.copy(ROOT / "nbgrader_config.py", root)
    release(root, [LESSON], release_dir="release")
    return root


@pytest.fixture
def course(released, tmp_path):
    shutil.copytree(released, tmp_path / "course")
    return tmp_path / "course"


def cells(root):
    with gradebook._open(root) as gb:
        return [c.name for c in gb.find_assignment(LESSON).notebooks[0].grade_cells]


def grades(root, student):
    """grade id -> (auto_score, manual_score, needs_manual_grade)"""
    with gradebook._open(root) as gb:
        return {g.name: (g.auto_score, g.manual_score, g.needs_manual_grade)
                for g in gb.find_submission_notebook(LESSON, LESSON, student).grades}


def outcome(root, student, unconfirmed=(), files=None):
    """What a worker reports for a notebook whose tests all passed in its kernel."""
    names = cells(root)
    return Outcome(LESSON, student, SubmissionRun(student, LESSON, ok=True, seconds=1.0),
                   auto_scores={(LESSON, name): 1.0 for name in names},
                   judged={name: name not in unconfirmed for name in names},
                   files=files or {f"{LESSON}/{LESSON}.ipynb": b"{}"})


def test_the_coordinator_records_what_a_worker_found_as_decide_would(course):
    first, second = cells(course)[:2]
    gradebook.record(course, outcome(course, "ada", unconfirmed=[first]))
    recorded = grades(course, "ada")
    assert recorded[first] == (1.0, 0.0, False)  # not confirmed: overridden to 0
    assert recorded[second] == (1.0, None, False)
    assert (course / "autograded" / "ada" / LESSON / f"{LESSON}.ipynb").read_bytes() == b"{}"

    with gradebook._open(course) as gb:  # the instructor grades one cell by hand
        gb.find_grade(second, LESSON, LESSON, "ada").manual_score = 0.5
        gb.db.commit()
    gradebook.record(course, outcome(course, "ada"))  # graded again, everything confirmed
    recorded = grades(course, "ada")
    assert recorded[first] == (1.0, None, False)  # the grader's own override is lifted
    assert recorded[second] == (1.0, 0.5, True)  # the instructor's grade stays, flagged


def test_a_task_no_worker_finished_changes_nothing(course):
    from distributed import KilledWorker

    gradebook.record(course, outcome(course, "ada"))
    before = grades(course, "ada")
    lost = not_graded(Sealed(LESSON, "ada", {}),
                      KilledWorker("grade-ada", "tcp://w:1", 3))
    gradebook.record(course, lost)
    assert grades(course, "ada") == before
    assert (course / "autograded" / "ada" / LESSON / f"{LESSON}.ipynb").is_file()
    [problem] = lost.run.problems
    assert "not graded this time" in problem and "died" in problem
    assert f"grader autograde {LESSON} --student ada" in problem


def test_a_notebook_nbgrader_refused_leaves_no_earlier_grade(course):
    gradebook.record(course, outcome(course, "ada"))
    refused = Outcome(LESSON, "ada", SubmissionRun("ada", LESSON, ok=False, seconds=1.0))
    gradebook.record(course, refused)
    from nbgrader.api import MissingEntry

    with pytest.raises(MissingEntry):
        grades(course, "ada")


def test_a_lesson_gradebook_holds_its_cells_and_no_student(course, tmp_path_factory):
    from nbgrader.api import Gradebook

    copy = tmp_path_factory.mktemp("template") / "gradebook.db"
    copy.write_bytes(gradebook_template(course, LESSON))
    with Gradebook(f"sqlite:///{copy}", "keras-course") as gb:
        assert [c.name for c in gb.find_assignment(LESSON).notebooks[0].grade_cells] == cells(course)
        assert gb.students == []
    stamp = course / "release" / ".gradebooks" / f"{LESSON}.digest"
    made = stamp.stat().st_mtime_ns
    gradebook_template(course, LESSON)
    assert stamp.stat().st_mtime_ns == made  # kept until the solution changes


def test_a_submission_is_sealed_with_everything_beside_it(course):
    folder = course / "submitted" / "ada" / LESSON
    folder.mkdir(parents=True)
    (folder / f"{LESSON}.ipynb").write_text("{}")
    (folder / "data" / "notes.txt").parent.mkdir()
    (folder / "data" / "notes.txt").write_text("mine")
    sealed = seal(course, LESSON, "ada", timeout=5, test_seed=3)
    assert sealed.submitted == {f"{LESSON}.ipynb": b"{}", "data/notes.txt": b"mine"}
    assert (sealed.timeout, sealed.test_seed) == (5, 3)
    shared = course_files(course, [LESSON])
    assert shared.config == (course / "nbgrader_config.py").read_text()
    assert list(shared.solutions) == [f"{LESSON}/{LESSON}.ipynb"]  # names a misfiled notebook
    assert shared.gradebooks == {LESSON: gradebook_template(course, LESSON)}


@pytest.mark.parametrize("workers", ["0", "-2"])
def test_fewer_than_one_worker_is_refused_with_what_to_give(course, workers):
    folder = course / "submitted" / "ada" / LESSON
    folder.mkdir(parents=True)
    (folder / f"{LESSON}.ipynb").write_text("{}")
    done = subprocess.run([sys.executable, "-m", "grader.cli", "autograde", "--workers", workers],
                          cwd=course, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert f"--workers is {workers}; give at least 1" in done.stdout


def test_a_scheduler_that_does_not_answer_is_named_with_what_to_start(course):
    import socket

    folder = course / "submitted" / "ada" / LESSON
    folder.mkdir(parents=True)
    (folder / f"{LESSON}.ipynb").write_text("{}")
    with socket.socket() as unused:  # a port nothing listens on
        unused.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{unused.getsockname()[1]}"
    done = subprocess.run([sys.executable, "-m", "grader.cli", "autograde", "--scheduler",
                           address, "--connect-timeout", "2"], cwd=course, capture_output=True,
                          text=True, timeout=180)
    assert done.returncode == 2, done.stderr[-2000:]
    assert f"no Dask scheduler answered at {address} within 2 s" in done.stderr
    assert "dask scheduler" in done.stderr and "leave out --scheduler" in done.stderr


def test_a_killed_workers_scratch_course_is_removed_and_a_live_ones_kept(tmp_path, monkeypatch):
    import tempfile

    from grader.grading.cluster import SCRATCH_PREFIX, remove_orphaned_scratch

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    orphan = tmp_path / f"{SCRATCH_PREFIX}{gone}-abc123"
    live = tmp_path / f"{SCRATCH_PREFIX}{os.getpid()}-def456"
    other = tmp_path / "grader-tasks-of-someone-else"
    for folder in (orphan, live, other):
        (folder / "submitted").mkdir(parents=True)
    assert remove_orphaned_scratch() == [orphan]
    assert not orphan.exists() and live.exists() and other.exists()
