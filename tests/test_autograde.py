"""End to end with the real nbgrader: `grader autograde` on the class of made-up students
that ``grader.grading.made_up_class`` describes (solutions, untouched notebooks, one wrong answer
per lesson, a broken file, cheats and model mistakes), which `grader bench --only class` times."""
import csv
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from grader.class_bench import grading_env, local_dask_cluster
from grader.grading.cluster import SCRATCH_PREFIX, _alive
from grader.grading.made_up_class import (ACCURACY_CELL, CHEATS, MODEL_MISTAKES, WRONG,
                                          build_class, notebook, submit, variant_answers)
from grader.grading.pipeline import assignments
from grader.targets import load_targets

pytestmark = pytest.mark.slow  # runs notebooks end to end: `-m "not slow"` skips it

ROOT = Path(__file__).resolve().parents[1]
LESSONS = assignments(ROOT)
class GradedClass:
    """The class's course, graded one lesson at a time when a test first asks for the lesson:
    `pytest tests/test_autograde.py -k 03-` grades lesson 03's submissions and no others."""

    def __init__(self, root):
        self.root = root
        self.env = grading_env()
        self.lessons = {}  # lesson -> (rows by student, maxima, autograde's output)

    def lesson(self, lesson):
        if lesson not in self.lessons:
            # two at a time, as a 2-core machine grades a class; a test below grades again
            # with one, and on a Dask cluster
            done = subprocess.run([sys.executable, "-m", "grader.cli", "autograde", lesson,
                                   "--workers", "2", "--csv", f"grades-{lesson}.csv"],
                                  cwd=self.root, env=self.env, capture_output=True, text=True,
                                  timeout=3600)
            print(done.stdout)  # the score table, shown with `pytest -s` or when a test fails
            assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
            with open(self.root / f"grades-{lesson}.csv") as f:
                rows = list(csv.DictReader(f))
            self.lessons[lesson] = {r["student"]: r for r in rows[1:]}, rows[0], done.stdout
        return self.lessons[lesson]

    def every_lesson(self):
        """Rows and maxima over the whole course, every lesson graded."""
        rows, maxima = {}, {}
        for lesson in LESSONS:
            lesson_rows, lesson_maxima, _ = self.lesson(lesson)
            for student, row in lesson_rows.items():
                rows.setdefault(student, {}).update(row)
            maxima.update(lesson_maxima)
        return rows, maxima

    def models(self, lessons=LESSONS):
        found = {}
        for lesson in lessons:
            self.lesson(lesson)
            found.update(model_accuracies(self.root / f"grades-{lesson}-models.csv"))
        return found


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("class")
    build_class(ROOT, root)
    return GradedClass(root)


def columns(maxima, lesson):
    return [k for k in maxima if k.startswith(f"{lesson}/")]


def points(row, keys):
    return sum(float(row[k]) for k in keys)


@pytest.mark.parametrize("lesson", LESSONS)
def test_solution_scores_full_marks(graded, lesson):
    rows, maxima, _ = graded.lesson(lesson)
    keys = columns(maxima, lesson)
    assert len(keys) >= 3
    assert points(rows["solution"], keys) == points(maxima, keys), rows["solution"]


@pytest.mark.parametrize("lesson", [lesson for lesson in LESSONS if variant_answers(lesson)])
def test_a_right_choice_other_than_the_reference_scores_full_marks(graded, lesson):
    rows, maxima, _ = graded.lesson(lesson)
    for grade_id in variant_answers(lesson):
        key = f"{lesson}/{grade_id}_test"
        assert float(maxima[key]) > 0 and float(rows["one-wrong"][key]) == float(maxima[key]), \
            rows["one-wrong"]["notes"]


@pytest.mark.parametrize("lesson", LESSONS)
def test_untouched_course_notebook_scores_zero(graded, lesson):
    rows, maxima, _ = graded.lesson(lesson)
    assert points(rows["untouched"], columns(maxima, lesson)) == 0


@pytest.mark.parametrize("lesson", LESSONS)
def test_one_wrong_answer_loses_exactly_its_points(graded, lesson):
    rows, maxima, _ = graded.lesson(lesson)
    keys = columns(maxima, lesson)
    wrong = f"{lesson}/{WRONG[lesson][0]}_test"
    assert float(rows["one-wrong"][wrong]) == 0
    assert points(rows["one-wrong"], keys) == points(maxima, keys) - float(maxima[wrong])


def test_broken_notebook_scores_zero_and_batch_goes_on(graded):
    rows, maxima, output = graded.lesson(LESSONS[0])
    assert points(rows["broken"], columns(maxima, LESSONS[0])) == 0
    assert "not a readable notebook" in rows["broken"]["notes"]
    assert "graded solution/" in output and "graded untouched/" in output


@pytest.mark.parametrize("student", CHEATS)
def test_cheating_never_passes_the_accuracy_check(graded, student):
    rows, maxima, _ = graded.lesson(ACCURACY_CELL[0])
    key = f"{ACCURACY_CELL[0]}/{ACCURACY_CELL[1]}_test"
    assert float(maxima[key]) > 0
    assert float(rows[student][key]) == 0, rows[student]["notes"]
    # The other exercises of the same notebook keep their points.
    others = [k for k in columns(maxima, ACCURACY_CELL[0]) if k != key]
    assert points(rows[student], others) == points(maxima, others)


def cell_output(root, student, lesson, grade_id):
    """What the graded notebook shows under one cell: the feedback a student reads."""
    nb = json.loads((root / "autograded" / student / lesson / f"{lesson}.ipynb").read_text())
    cell = next(c for c in nb["cells"]
                if c["metadata"].get("nbgrader", {}).get("grade_id") == grade_id)
    return "\n".join("".join(o.get("text", "")) + str(o.get("evalue", ""))
                     for o in cell.get("outputs", []))


@pytest.mark.parametrize("student", MODEL_MISTAKES)
def test_model_mistakes_score_zero_with_feedback_naming_them(graded, student):
    lesson, grade_id, _, phrase = MODEL_MISTAKES[student]
    rows, maxima, _ = graded.lesson(lesson)
    root = graded.root
    key = f"{lesson}/{grade_id}_test"
    assert float(maxima[key]) > 0 and float(rows[student][key]) == 0
    assert phrase in cell_output(root, student, lesson, f"{grade_id}_test")
    # The instructor's note names the same reason, not "no saved model".
    note = f"{lesson.split('-')[0]}:{grade_id}: "
    assert any(n.startswith(note) and phrase in n for n in rows[student]["notes"].split(" | ")), \
        rows[student]["notes"]
    others = [k for k in columns(maxima, lesson) if k != key]
    assert points(rows[student], others) == points(maxima, others)


@pytest.mark.parametrize("student", ["patcher", "faker"])
def test_fooled_kernel_is_overridden_by_the_out_of_kernel_recheck(graded, student):
    """These two fool the check inside their own kernel; the grader's re-check catches them."""
    rows, *_ = graded.lesson(ACCURACY_CELL[0])
    assert "overridden to 0" in rows[student]["notes"], rows[student]["notes"]


def model_accuracies(path):
    with open(path) as f:
        return {(r["student"], r["model"]): (r["accuracy"], r["train_accuracy"])
                for r in csv.DictReader(f)}


def kill_a_busy_worker(nannies, after_s=10):
    """Kill (SIGKILL) a worker process, and everything it started, once it has been grading
    for ``after_s`` seconds: a machine that dies mid-task. Returns when it has done so."""
    import psutil

    deadline = time.time() + 1800
    while time.time() < deadline:
        for nanny in nannies:
            try:
                for worker in psutil.Process(nanny.pid).children():
                    busy = [p for p in worker.children(recursive=True)
                            if "autograde" in " ".join(p.cmdline())
                            and time.time() - p.create_time() > after_s]
                    if busy:
                        for process in [*worker.children(recursive=True), worker]:
                            process.kill()
                        return
            except psutil.Error:  # a process ended while it was looked at
                pass
        time.sleep(0.5)


def test_the_same_submission_graded_three_times_gets_the_same_grade(graded):
    """The solutions graded twice more: every lesson one at a time, then three lessons through a
    Dask cluster of two workers, one of which dies mid-task. The same points, and every graded
    model measured at exactly the same accuracy (the record keeps full precision) as when the
    class was graded two at a time."""
    rows, maxima = graded.every_lesson()
    root, env = graded.root, graded.env
    models = {k: v for k, v in graded.models().items() if k[0] == "solution"}
    assert len(models) == len(load_targets()) - sum(k.startswith("_") for k in load_targets())
    assert all(accuracy for accuracy, _ in models.values())
    lesson_of = {name: entry["assignment"] for name, entry in load_targets().items()
                 if not name.startswith("_")}

    def regrade(name, lessons, *how):
        done = subprocess.run([sys.executable, "-m", "grader.cli", "autograde", *lessons,
                               "--student", "solution", "--csv", f"{name}.csv", *how],
                              cwd=root, env=env, capture_output=True, text=True, timeout=3600)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        with open(root / f"{name}.csv") as f:
            regraded = list(csv.DictReader(f))[1]
        keys = [k for k in maxima if k.split("/")[0] in lessons]
        assert keys and {k: regraded[k] for k in keys} == {k: rows["solution"][k] for k in keys}
        assert model_accuracies(root / f"{name}-models.csv") == {
            k: v for k, v in models.items() if lesson_of[k[1]] in lessons}
        return done.stdout

    regrade("one-at-a-time", LESSONS, "--workers", "1")
    (root.parent / "dask").mkdir(exist_ok=True)
    on_cluster = ["01-tensors", "02-data-formats", "04-activations"]  # the quickest, two models
    with local_dask_cluster(root.parent / "dask", env) as (address, nannies):
        killer = threading.Thread(target=kill_a_busy_worker, args=(nannies,), daemon=True)
        killer.start()
        shown = regrade("on-a-cluster", on_cluster, "--scheduler", address)
        assert not killer.is_alive(), "no worker was killed while grading"
    # the killed task's scratch course was removed when the task was tried again
    assert not [folder for folder in Path(tempfile.gettempdir()).glob(f"{SCRATCH_PREFIX}*-*")
                if not _alive(int(folder.name.removeprefix(SCRATCH_PREFIX).split("-")[0]))]
    assert shown.count("graded solution/") == len(on_cluster)
    assert " on " in shown  # each line names the worker's machine


def test_models_are_scored_on_the_graders_own_copy_of_the_test_images(graded):
    """The copy is drawn from the seed in the course's nbgrader_config.py, which no notebook
    sees: the recorded accuracy is exactly what that copy gives, and the published images and
    the probe copy are recorded beside it."""
    from grader.grading.confirm import confirmed_models
    from grader.grading.pipeline import course_settings
    from grader.grading.verdicts import evaluate_saved_model

    lesson = ACCURACY_CELL[0]
    graded.lesson(lesson)
    root = graded.root
    with open(root / f"grades-{lesson}-models.csv") as f:
        row = next(r for r in csv.DictReader(f)
                   if r["student"] == "solution" and r["assignment"] == lesson)
    path = confirmed_models(root / "autograded" / "solution" / lesson, lesson) / f"{row['model']}.keras"
    seed = course_settings(root).check_seed
    assert seed is not None
    graders = evaluate_saved_model(path, copy_seed=seed)
    assert graders.copy == "the grader's"
    assert repr(graders.accuracy) == row["accuracy"]
    assert repr(graders.published_accuracy) == row["published_accuracy"]
    assert repr(graders.probe_accuracy) == row["probe_accuracy"]
    assert float(row["probe_accuracy"]) < float(row["published_accuracy"])


def test_regrading_a_fixed_submission_lifts_the_override(graded):
    """Runs last: the patcher resubmits the real solution; the grader's own override goes."""
    lesson, answer = ACCURACY_CELL
    graded.lesson(lesson)
    root, env = graded.root, graded.env
    submit(root, "patcher", lesson, notebook(ROOT, "solution", lesson))
    done = subprocess.run([sys.executable, "-m", "grader.cli", "autograde", lesson,
                           "--student", "patcher", "--csv", "regrade.csv"], cwd=root, env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    with open(root / "regrade.csv") as f:
        rows = list(csv.DictReader(f))
    key = f"{lesson}/{answer}_test"
    assert float(rows[1][key]) == float(rows[0][key]) > 0, rows[1]["notes"]
