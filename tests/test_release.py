"""solutions/ is the source; course/ is generated from it by nbgrader and must be current."""
import json
import re
from pathlib import Path

import pytest

from grader.lessons import checker_module
from grader.grading.pipeline import assignments, notebooks_with_outputs, stale_course_files

ROOT = Path(__file__).resolve().parents[1]
LESSONS = assignments(ROOT)


def cells(path):
    return json.loads(Path(path).read_text())["cells"]


def meta(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def test_every_accuracy_target_belongs_to_a_graded_cell():
    from grader.targets import graded_models

    for name, entry in graded_models().items():
        notebook = ROOT / "solutions" / entry["assignment"] / f"{entry['assignment']}.ipynb"
        tests = {meta(c).get("grade_id"): "".join(c["source"]) for c in cells(notebook)}
        assert f'"{name}"' in tests.get(entry["grade_id"], ""), (
            f"{entry['grade_id']} in {entry['assignment']} should grade {name}")
        assert set(entry["targets"]) == {"mnist", "fashion_mnist"}, name
        for key, target in entry["targets"].items():
            accuracies = [run["accuracy"] for run in target["runs"]]
            assert target["status"] == "calibrated" and len(accuracies) >= 5, (name, key)
            assert target["target"] <= min(accuracies) - entry["margin"] + 1e-9, (name, key)


def test_a_gap_measured_on_the_first_images_matches_what_the_lesson_trains_on():
    """`train_images: N` makes the grader score the first N training images for the gap: the
    lesson must train on exactly those."""
    from grader.targets import graded_models

    registered = {n: e for n, e in graded_models().items() if "train_images" in e}
    assert registered, "lesson 05 registers the images its dropout model trains on"
    for name, entry in registered.items():
        notebook = ROOT / "solutions" / entry["assignment"] / f"{entry['assignment']}.ipynb"
        source = "".join("".join(c["source"]) for c in cells(notebook))
        assert f"N_FIT = {entry['train_images']:_}" in source, name
        assert "x_fit, y_fit = x_all[:N_FIT], y_train[:N_FIT]" in source, name


def test_source_notebooks_have_no_outputs():
    assert notebooks_with_outputs(ROOT) == []


def test_course_is_a_fresh_generation_of_solutions():
    stale = stale_course_files(ROOT)
    assert stale == [], f"course/ is out of date for {stale}: run `grader release` and commit"


@pytest.mark.parametrize("lesson", LESSONS)
def test_no_solution_text_ships_in_course(lesson):
    course = (ROOT / "course" / lesson / f"{lesson}.ipynb").read_text()
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
        assert marker not in course
    released = "\n".join("".join(c["source"]) for c in cells(ROOT / "course" / lesson /
                                                                 f"{lesson}.ipynb"))
    sources = ["".join(c["source"]) for c in cells(ROOT / "solutions" / lesson / f"{lesson}.ipynb")]
    pattern = r"### BEGIN SOLUTION\n(.*?)### END SOLUTION"
    taught = "\n".join(re.sub(pattern, "", s, flags=re.S) for s in sources)  # worked examples
    for source in sources:
        for block in re.findall(pattern, source, re.S):
            for line in block.splitlines():
                line = line.strip()
                if len(line) > 25 and line not in taught:  # short lines may occur anywhere
                    assert line not in released, f"solution line shipped: {line!r}"


@pytest.mark.parametrize("lesson", LESSONS)
def test_every_graded_exercise_has_fixed_name_check_and_hint(lesson):
    notebook = cells(ROOT / "solutions" / lesson / f"{lesson}.ipynb")
    answers = [meta(c)["grade_id"] for c in notebook if meta(c).get("solution")]
    tests = {meta(c)["grade_id"]: c for c in notebook if meta(c).get("grade")}
    assert len(answers) >= 3, f"{lesson} has {len(answers)} graded exercises, expected at least 3"
    module = checker_module(lesson)
    for grade_id in answers:
        number, name = re.fullmatch(r"(ex\d+)_(\w+)", grade_id).groups()
        exercise = getattr(module, number)
        assert exercise.name == name, f"{grade_id}: {number} checks `{exercise.name}`"
        assert len(exercise.hints) == 2
        test = tests[f"{grade_id}_test"]
        assert meta(test)["points"] > 0 and meta(test)["locked"]
        assert f"{number}.check()" in "".join(test["source"])
        assert "### BEGIN HIDDEN TESTS" in "".join(test["source"])


@pytest.mark.parametrize("lesson", LESSONS)
def test_setup_cell_is_locked_and_quiets_tensorflow(lesson):
    setup = next(c for c in cells(ROOT / "solutions" / lesson / f"{lesson}.ipynb")
                 if meta(c).get("grade_id") == "setup")
    assert meta(setup)["locked"] and "grader.setup(" in "".join(setup["source"])


def test_grading_regenerates_a_lesson_only_when_its_solution_or_settings_changed(tmp_path):
    from grader.grading.pipeline import RELEASED_FROM, release

    (tmp_path / "solutions").mkdir()
    lesson = LESSONS[0]
    source = tmp_path / "solutions" / lesson / f"{lesson}.ipynb"
    source.parent.mkdir()
    source.write_bytes((ROOT / "solutions" / lesson / f"{lesson}.ipynb").read_bytes())
    (tmp_path / "nbgrader_config.py").write_bytes((ROOT / "nbgrader_config.py").read_bytes())
    released = tmp_path / "release" / lesson / RELEASED_FROM

    def generated() -> str:
        release(tmp_path, [lesson], release_dir="release", unless_current=True)
        return released.read_text() + str(released.stat().st_mtime_ns)

    first = generated()
    assert generated() == first  # the same solution, settings and gradebook: not regenerated
    nb = json.loads(source.read_text())
    nb["cells"][0]["source"] = "".join(nb["cells"][0]["source"]) + "\n"
    source.write_text(json.dumps(nb))
    second = generated()
    assert second != first
    (tmp_path / "gradebook.db").unlink()  # a new gradebook must learn the lesson's cells again
    assert generated() != second
