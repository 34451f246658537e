"""`grader bench` and `grader calibrate` on a tiny course of their own (real kernels, seconds)."""
import json
import re
from pathlib import Path

import nbformat
import pytest

from grader import bench
from grader.grading import calibrate

ROOT = Path(__file__).resolve().parents[1]


def graded(source, grade_id, **flags):
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["nbgrader"] = {"schema_version": 3, "grade_id": grade_id, "locked": False,
                                 "solution": False, "grade": False, **flags}
    return cell


@pytest.fixture
def tiny_course(tmp_path):
    """One lesson: a setup cell, a quick answer, a slow test cell, a slow ungraded cell."""
    (tmp_path / "nbgrader_config.py").write_text(
        "c = get_config()\nc.Execute.timeout = 4\n")
    nb = nbformat.v4.new_notebook()
    nb.cells = [graded("import os, time\nseed = int(os.environ['GRADER_SEED'])", "setup"),
                graded("answer = 42", "ex1_answer", solution=True),
                graded("time.sleep(1.3)\nassert answer == 42", "ex1_answer_test", grade=True),
                nbformat.v4.new_code_cell("time.sleep(0.2)")]
    folder = tmp_path / "solutions" / "99-tiny"
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / "99-tiny.ipynb")
    return tmp_path


def test_bench_times_every_graded_cell_and_flags_those_over_their_budget(tiny_course, capsys):
    out = tiny_course / "bench.json"
    assert bench.bench(tiny_course, runs=2, dataset="mnist", output=out) == 0
    table = capsys.readouterr().out
    assert "cell timeout 4 s, cell budget 1 s" in table
    rows = {line.split()[0]: line for line in table.splitlines() if line.startswith("  ")}
    assert float(rows["ex1_answer_test"].split()[1]) >= 1.3
    assert "OVER the 1 s budget" in rows["ex1_answer_test"]
    assert "OVER" not in rows["ex1_answer"] and "OVER" not in rows["setup"]
    assert "(slowest ungraded: cell 3)" in table
    assert "NO: 99-tiny/ex1_answer_test" in table
    record = json.loads(out.read_text())
    assert len(record["notebooks"]["99-tiny"]) == 2 and record["cell_timeout"] == 4


def test_bench_reports_a_failing_notebook(tiny_course, capsys):
    path = tiny_course / "solutions" / "99-tiny" / "99-tiny.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells[1].source = "answer = 1 / 0"
    nbformat.write(nb, path)
    assert bench.bench(tiny_course, runs=1, dataset="mnist") == 1
    assert "ERRORS: ex1_answer: ZeroDivisionError" in capsys.readouterr().out


def test_the_course_timeout_is_read_from_nbgrader_config(tmp_path):
    written = re.search(r"^c\.Execute\.timeout = (\d+)", (ROOT / "nbgrader_config.py").read_text(),
                        re.MULTILINE)
    assert bench.cell_timeout(ROOT) == float(written.group(1)) == 120
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\nc.Execute.timeout = 7\n")
    assert bench.cell_timeout(tmp_path) == 7
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\n")
    assert bench.cell_timeout(tmp_path) == 30  # nbgrader's own default


def test_the_gradebook_is_where_nbgrader_config_says(tmp_path):
    from grader.grading.pipeline import course_settings

    settings = course_settings(ROOT)
    assert settings.course_id == "keras-course"
    assert settings.db_url == f"sqlite:///{ROOT / 'gradebook.db'}"
    (tmp_path / "nbgrader_config.py").write_text(
        "c = get_config()\nc.CourseDirectory.course_id = 'other'\n"
        "c.CourseDirectory.db_url = 'sqlite:///books/grades.db'\n")
    settings = course_settings(tmp_path)
    assert (settings.course_id, settings.db_url) == ("other", f"sqlite:///{tmp_path}/books/grades.db")


@pytest.fixture
def model_course(tmp_path):
    """A real lesson is too slow for a unit test: a tiny notebook that trains and saves a model
    the way the lessons do stands in for one."""
    course = tmp_path / "course-root"
    (course / "solutions" / "99-model").mkdir(parents=True)
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        graded("import grader, grader.data\ntf, keras = grader.setup()\n"
               "(x, y), _ = grader.data.load()", "setup"),
        graded("model = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(),\n"
               "    keras.layers.Dense(10, activation='softmax')])\n"
               "model.compile('adam', 'sparse_categorical_crossentropy')\n"
               "model.fit(x[:2000] / 255, y[:2000], epochs=1, verbose=0)", "ex1_model",
               solution=True),
        # As in a lesson, the test cell checks the model against its target, which does not
        # exist yet: calibration must set it all the same.
        graded("from grader import checks\nchecks.save_for_grading(model, '99-baseline')\n"
               "checks.assert_accuracy(model, '99-probe')",
               "ex1_model_test", grade=True)]
    nbformat.write(nb, course / "solutions" / "99-model" / "99-model.ipynb")
    return course


def calibrate_with(tmp_path, monkeypatch, model_course, max_gap, seeds, **options):
    entries = {"99-probe": {"assignment": "99-model", "grade_id": "ex1_model_test",
                            "margin": 0.02, "max_gap": max_gap,
                            "baseline_model": "99-baseline", "targets": {}}}
    written = tmp_path / "targets.json"
    source = tmp_path / "source.json"
    source.write_text(json.dumps(entries))
    monkeypatch.setattr(calibrate, "TARGETS_FILE", source)
    status = calibrate.calibrate(model_course, seeds=seeds, datasets=["mnist"], output=written,
                                 **options)
    return status, json.loads(written.read_text())["99-probe"]


@pytest.mark.slow  # two notebook runs
def test_calibrate_sets_targets_below_the_worst_seed_with_evidence(tmp_path, capsys, monkeypatch,
                                                                   model_course):
    status, entry = calibrate_with(tmp_path, monkeypatch, model_course, max_gap=0.5, seeds=2)
    assert status == 0
    mnist = entry["targets"]["mnist"]
    accuracies = [run["accuracy"] for run in mnist["runs"]]
    assert [run["seed"] for run in mnist["runs"]] == [0, 1]
    assert mnist["status"] == "calibrated" and 0.5 < min(accuracies) < 1
    assert mnist["target"] == pytest.approx(min(accuracies) - 0.02, abs=0.001)
    assert mnist["target"] <= min(accuracies) - 0.02
    assert all(-0.1 < run["gap"] < 0.5 and run["training_cell_seconds"] > 0
               for run in mnist["runs"])
    # the baseline (here the same model saved twice) is scored on the same images
    assert all(run["baseline_accuracy"] == run["accuracy"] for run in mnist["runs"])
    assert set(entry["targets"]) == {"mnist"}, "only the datasets asked for"
    assert "99-probe         mnist " in capsys.readouterr().out


WEAKER = """\
model = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(),
    keras.layers.Dense(10, activation='softmax')])
model.compile('sgd', 'sparse_categorical_crossentropy')
model.fit(x[:300] / 255, y[:300], epochs=1, verbose=0)   # a right answer that learns less
"""


@pytest.mark.slow  # three notebook runs
def test_calibrate_sets_the_target_below_every_right_variant(tmp_path, capsys, monkeypatch,
                                                             model_course):
    from grader import variants

    monkeypatch.setitem(variants.VARIANTS, "99-probe",
                        (variants.Variant("weaker", "SGD on 300 images", WEAKER),))
    status, entry = calibrate_with(tmp_path, monkeypatch, model_course, max_gap=0.5, seeds=1,
                                   variant_seeds=1)
    assert status == 0
    runs = entry["targets"]["mnist"]["runs"]
    by_answer = {run["variant"]: run["accuracy"] for run in runs}
    assert set(by_answer) == {"reference", "weaker"}
    assert by_answer["weaker"] < by_answer["reference"], "the variant really ran in its place"
    assert entry["targets"]["mnist"]["target"] <= by_answer["weaker"] - 0.02
    assert "(weaker seed 0)" in entry["targets"]["mnist"]["basis"]
    assert "99-probe         mnist         weaker " in capsys.readouterr().out
    # Re-running only the reference keeps the variant's evidence, and its bound on the target;
    # the runs of a variant no longer declared go.
    entry["targets"]["mnist"]["runs"].append({"variant": "withdrawn", "seed": 0, "accuracy": 0.1})
    (tmp_path / "source.json").write_text(json.dumps({"99-probe": entry}))
    monkeypatch.setattr(calibrate, "TARGETS_FILE", tmp_path / "source.json")
    calibrate.calibrate(model_course, seeds=1, datasets=["mnist"], variants=["reference"],
                        output=tmp_path / "again.json")
    again = json.loads((tmp_path / "again.json").read_text())["99-probe"]["targets"]["mnist"]
    assert [run["variant"] for run in again["runs"]] == ["weaker", "reference"]
    assert again["target"] <= by_answer["weaker"] - 0.02


def test_calibrate_refuses_a_dataset_it_cannot_load(tmp_path, capsys, monkeypatch, model_course):
    monkeypatch.setenv("GRADER_DEBIAN_FASHION_MNIST_DIR", str(tmp_path / "nowhere"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "empty-keras-home"))
    from grader import data

    data._load_cached_in_process.cache_clear()
    try:
        status = calibrate.calibrate(model_course, seeds=1, datasets=["fashion_mnist"],
                                     output=tmp_path / "t.json")
    finally:
        data._load_cached_in_process.cache_clear()
    assert status == 1 and not (tmp_path / "t.json").exists()
    assert "cannot calibrate on fashion_mnist: not available here" in capsys.readouterr().out


@pytest.mark.slow  # a notebook run
def test_calibrate_fails_when_the_reference_overfits_beyond_its_bound(tmp_path, capsys,
                                                                    monkeypatch, model_course):
    status, entry = calibrate_with(tmp_path, monkeypatch, model_course, max_gap=-0.5, seeds=1)
    assert status == 1
    assert "an answer the exercise allows over-fits beyond max_gap -0.5" in capsys.readouterr().out


def test_lenet5_arithmetic_matches_the_hand_count(keras):
    from grader import recipes

    model = recipes.build_lenet5(keras)
    assert model.count_params() == 61_706
    # forward multiply-adds: conv1 28*28*6*25, conv2 10*10*16*150, dense 400*120 + 120*84 + 84*10
    forward = 2 * (117_600 + 240_000 + 48_000 + 10_080 + 840)
    assert recipes.training_flops(model) == 3 * forward - 2 * 117_600 == 2_263_920


def test_recipe_table_reports_time_to_the_same_accuracy_and_the_ratio():
    from grader.recipes import Epoch, RecipeRun

    seeds = RecipeRun("seeds' recipe", [Epoch(14, 48_000, 0.85), Epoch(12, 48_000, 0.87),
                                        Epoch(12, 48_000, 0.885)], target=0.88)
    course = RecipeRun("course recipe", [Epoch(9, 60_000, 0.86), Epoch(6, 60_000, 0.882)],
                       target=0.88)
    assert seeds.reached == 3 and seeds.seconds_to_target == 38
    assert course.reached == 2 and course.seconds_to_target == 15
    assert seeds.seconds_per_epoch == 12 and course.images_per_second == 10_000
    table = bench.format_recipes([seeds, course], 2_263_920, 100e9)
    assert "reaches 88.0% 2.5x faster (38.0 s -> 15.0 s); per epoch 2.0x" in table
    assert "at least 1.4 s" in table and "course recipe         2        15.0" in table
    slow = RecipeRun("course recipe", [Epoch(9, 60_000, 0.5)], target=0.88)
    assert slow.reached is None and "not reached" in bench.format_recipes([seeds, slow], 1, 1e9)


def test_recipe_table_compares_time_to_the_seeds_best_when_they_never_reach_the_target():
    from grader.recipes import Epoch, RecipeRun

    seeds = RecipeRun("seeds' recipe", [Epoch(5, 48_000, 0.980), Epoch(4, 48_000, 0.986),
                                        Epoch(4, 48_000, 0.988), Epoch(4, 48_000, 0.987)],
                      target=0.99)
    course = RecipeRun("course recipe", [Epoch(4, 54_000, 0.985), Epoch(3, 54_000, 0.989),
                                         Epoch(3, 54_000, 0.991)], target=0.99)
    assert seeds.reached is None and seeds.best_accuracy == 0.988
    table = bench.format_recipes([seeds, course], 2_263_920, 100e9)
    assert "never reached 99.0% in 4 epochs (17.0 s)" in table
    assert "its best was 98.80% after 3 epochs (13.0 s)" in table
    assert "passed 98.80% after 2 epochs (7.0 s): 1.9x faster; per epoch 1.3x" in table


@pytest.mark.slow  # grades lesson 01 through nbgrader three times
def test_bench_grading_times_each_mode_and_what_sealing_and_confirming_add(capsys):
    from grader.grading.pipeline import find_root

    assert bench.bench_grading(find_root(), ["01-tensors"]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line for line in out.splitlines()
            if line.startswith(("01-tensors ", "whole course"))}
    numbers = [float(n) for n in re.findall(r"(-?[\d.]+)s", rows["01-tensors"])]
    assert len(numbers) == len(bench.GRADING_MODES) + 1 and all(n > 0 for n in numbers[:-1])
    assert numbers[-1] == pytest.approx(numbers[0] - numbers[-2], abs=0.11)


def class_run(wall, tasks, grades, models=None):
    from grader.class_bench import ModeRun

    header = ["student", "01-tensors/ex1_test", "total", "max", "notes"]
    model_header = ["student", "assignment", "model", "accuracy"]
    return ModeRun(wall, 0, tasks, [header, *grades],
                   [model_header, *(models or [["solution", "02", "pipeline_model", "0.98"]])])


def test_the_class_table_compares_every_grade_and_projects_from_the_busy_cores():
    from grader.class_bench import format_class

    pairs = [("01", "solution"), ("02", "solution"), ("01", "untouched")]
    rows = [["solution", "2", "2", "2", ""], ["untouched", "0", "0", "2", ""]]
    tasks = {("01", "solution"): 30.0, ("02", "solution"): 50.0, ("01", "untouched"): 20.0}
    one = class_run(100.0, {k: v / 2 for k, v in tasks.items()}, rows)
    two = class_run(60.0, tasks, rows)
    moved = class_run(61.0, tasks, [rows[0], ["untouched", "2", "2", "2", "forgiven"]],
                      [["solution", "02", "pipeline_model", "0.97"]])
    table, same = format_class({"one": one, "two": two, "cluster": moved}, pairs)
    assert not same
    lines = {line.split()[0]: line for line in table.splitlines() if line}
    assert "the reference" in lines["one"] and "identical" in lines["two"]
    assert "DIFFERENT: grades of untouched: 01-tensors/ex1_test, total, notes" in lines["cluster"]
    assert "models of solution/02/pipeline_model: accuracy" in lines["cluster"]
    assert "33.3 s on average (100 core-seconds for 3)" in table  # from the busy run's tasks
    assert "whole course, 80 core-seconds" in table  # the solution's two lessons
    # 300 students x 33.3 s / 16 cores; 300 x 80 s / 64 cores
    assert " 16 cores: one lesson each (this mix) 10.4 min" in table
    assert "(600 submissions) 6.2 min" in table
    _, same = format_class({"one": one, "two": two}, pairs)
    assert same
