"""Every exercise of every registered lesson, whatever the lesson: two hint levels that teach
without the answer, a catalogue of known mistakes, and a registry that matches the course."""
import importlib
import json
import re
from pathlib import Path

import pytest

from grader.lessons import LESSONS
from grader.pipeline import assignments
from grader.targets import graded_models

ROOT = Path(__file__).resolve().parents[1]
EXERCISES = [(lesson, i, exercise) for lesson in LESSONS
             for i, exercise in enumerate(lesson.exercises(), 1)]
IDS = [f"{lesson.slug}-ex{i}-{exercise.name}" for lesson, i, exercise in EXERCISES]
MIN_LINE = 8  # shorter solution lines ("return x") say nothing a hint could give away


def normalised(code: str) -> str:
    """Code compared as a student would copy it: no whitespace, 1.0 written 1, no leading
    ``return`` or assignment target."""
    code = re.sub(r"\s+", "", code)
    code = re.sub(r"(\d)\.0\b", r"\1", code)
    code = re.sub(r"^return", "", code)
    return re.sub(r"^[A-Za-z_][A-Za-z_0-9.,\[\]]*=(?!=)", "", code)


def solution_lines(lesson, i, exercise) -> list[str]:
    notebook = json.loads((ROOT / "solutions" / lesson.slug / f"{lesson.slug}.ipynb").read_text())
    grade_id = f"ex{i}_{exercise.name}"
    cells = [c for c in notebook["cells"]
             if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id]
    assert cells, f"{lesson.slug}: no answer cell {grade_id} for exercise {i}"
    lines, inside = [], False
    for line in "".join(cells[0]["source"]).splitlines():
        if "### BEGIN SOLUTION" in line:
            inside = True
        elif "### END SOLUTION" in line:
            inside = False
        elif inside and not line.strip().startswith("#"):
            code = normalised(line.split("  #")[0])
            if len(code) >= MIN_LINE:
                lines.append(code)
    assert lines, f"{lesson.slug}: the answer cell {grade_id} has no solution lines"
    return lines


def test_registry_matches_the_course():
    assert [lesson.slug for lesson in LESSONS] == assignments(ROOT)
    registered = {name for lesson in LESSONS for name in lesson.graded_models}
    assert registered == set(graded_models())
    for lesson in LESSONS:
        for name in lesson.graded_models:
            assert graded_models()[name]["assignment"] == lesson.slug
        module, function = lesson.explorer.split(".")
        assert callable(getattr(importlib.import_module(f"grader.explore.{module}"), function))
        assert lesson.checkers().__all__ == [f"ex{i}" for i in range(1, len(lesson.exercises()) + 1)]


@pytest.mark.parametrize("lesson, i, exercise", EXERCISES, ids=IDS)
def test_two_hints_that_differ(lesson, i, exercise, capsys):
    nudge, idea = exercise.hints
    assert len(nudge) > 20 and len(idea) > len(nudge) / 2 and nudge != idea
    exercise.hint()
    exercise.hint(2)
    shown = capsys.readouterr().out
    assert nudge in shown and idea in shown and "hint(2)" in shown


@pytest.mark.parametrize("lesson, i, exercise", EXERCISES, ids=IDS)
def test_no_hint_contains_solution_code(lesson, i, exercise):
    for level, hint in enumerate(exercise.hints, 1):
        text = normalised(hint)
        leaked = [line for line in solution_lines(lesson, i, exercise) if line in text]
        assert not leaked, f"hint({level}) of {exercise.name} gives away {leaked}"


def test_the_leak_test_can_fail():
    line = normalised("    return 1.0 / (1.0 + np.exp(-x))")
    assert line in normalised("Try: 1 / (1 + np.exp(-x)).")
    assert normalised("deep = keras.Sequential([") == "keras.Sequential(["


@pytest.mark.parametrize("lesson, i, exercise", EXERCISES, ids=IDS)
def test_mistakes_have_messages(lesson, i, exercise):
    for mistake in exercise.mistakes:
        assert callable(mistake.computes) and len(mistake.says) > 30, mistake
        assert mistake.part in (None, *exercise.names), mistake


def exercise_text(model: str) -> str:
    """The markdown that states a trained-model exercise: the nearest cell before its answer
    cell that says its goal and budget."""
    entry = graded_models()[model]
    notebook = json.loads((ROOT / "solutions" / entry["assignment"]
                           / f"{entry['assignment']}.ipynb").read_text())
    answer = entry["grade_id"].removesuffix("_test")
    index = next(i for i, c in enumerate(notebook["cells"])
                 if c["metadata"].get("nbgrader", {}).get("grade_id") == answer)
    for cell in reversed(notebook["cells"][:index]):
        if cell["cell_type"] == "markdown" and "**Goal and budget.**" in "".join(cell["source"]):
            return " ".join("".join(cell["source"]).split())
    raise AssertionError(f"{model}: no 'Goal and budget' paragraph before the cell {answer}")


@pytest.mark.parametrize("model", sorted(graded_models()))
def test_each_trained_model_exercise_states_its_calibrated_goal(model):
    targets = graded_models()[model]["targets"]
    goal = (f"at least **{targets['mnist']['target']:.1%}** on MNIST "
            f"(**{targets['fashion_mnist']['target']:.1%}** on Fashion-MNIST)").replace("%", " %")
    text = exercise_text(model)
    assert goal in text, f"{model}: the exercise should say {goal!r} (re-calibrated?)"
    assert re.search(r"under \*\*\d+ s\*\*", text), f"{model}: the exercise states no time budget"


@pytest.mark.parametrize("model", sorted(graded_models()))
def test_each_target_is_calibrated_over_right_variants(model):
    from grader.variants import REFERENCE, variants

    chosen = variants(model)
    assert len(chosen) >= 2, f"{model}: declare right answers other than the reference"
    answer = graded_models()[model]["grade_id"].removesuffix("_test").split("_", 1)[1]
    for variant in chosen:
        assert re.search(rf"^{answer}\s*=", variant.source, re.MULTILINE), (model, variant.name)
    for key, calibrated in graded_models()[model]["targets"].items():
        ran = {run.get("variant", REFERENCE) for run in calibrated["runs"]}
        assert ran == {REFERENCE} | {v.name for v in chosen}, f"{model} {key}: runs of {ran}"
        assert calibrated["target"] < min(run["accuracy"] for run in calibrated["runs"])
