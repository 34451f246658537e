"""Every exercise of every registered lesson, whatever the lesson: two hint levels that teach
without the answer, a catalogue of known mistakes, a registry that matches the course, and a
message (never a raw exception) for any answer its checker did not foresee."""
import importlib
import json
import re
from pathlib import Path

import numpy as np
import pytest

from grader.feedback import CheckFailed, Exercise, checker
from grader.lessons import LESSONS
from grader.grading.pipeline import assignments
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


# --- answers no exercise expects: always a CheckFailed with a message, never a raw exception ----

class _Odd:
    """An object of a class no exercise expects."""


def odd_values(keras) -> dict:
    """What a half-done answer cell can leave behind, by label (fresh objects on every call:
    calling a model builds it)."""
    class Subclassed(keras.Model):  # never called: no inputs, no outputs, no weights
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(10, activation="softmax")

        def call(self, x):
            return self.dense(x)

    return {"None": None, "a string": "model", "an int": 42, "nan": float("nan"),
            "an object": _Odd(), "a dict": {"accuracy": [0.5]}, "a list": [1, 2, 3],
            "a pair of Nones": (None, None), "an empty array": np.zeros((0,)),
            "an array of strings": np.array(["a", "b"]), "a built-in function": len,
            "a layer": keras.layers.Dense(10), "a subclassed model": Subclassed(),
            "a Sequential without Input": keras.Sequential([keras.layers.Dense(10)])}


def odd_answers(exercise, keras):
    """(label, answer) pairs, passed as ``Exercise.check`` takes them: each odd value itself;
    for a function exercise also a function returning it; with several names, tuples of those."""
    n = len(exercise.names)
    for label, value in odd_values(keras).items():
        yield label, value
        if exercise.is_function:
            def returning(*args, _value=value, **kwargs):
                return _value
            yield f"a function returning {label}", returning if n == 1 else (returning,) * n
            if n > 1:
                yield f"{n} times {label}", (value,) * n


def what_escaped(check, answer) -> str | None:
    """None if ``check(answer)`` fails as a student should see it, else what went wrong."""
    try:
        check(answer)
    except CheckFailed as failure:
        message, cause = str(failure), failure.__cause__
        if not message.strip() or "Traceback" in message:
            return f"an empty or traceback message {message!r}"
        if cause is not None and type(cause).__name__ not in message:
            return f"a message that hides the {type(cause).__name__} it came from: {message!r}"
        return None
    except Exception as error:
        return f"raw {type(error).__name__}: {str(error)[:150]!r}"
    return "passed"


@pytest.mark.parametrize("lesson, i, exercise", EXERCISES, ids=IDS)
def test_odd_answers_fail_with_a_message(lesson, i, exercise, keras, capsys):
    """Through ``exN.check()`` and through the checker itself (what hidden tests call)."""
    escaped = [f"{how} with {label}: {problem}"
               for how, check in (("check()", exercise.check), ("checker()", exercise.checker))
               for label, answer in odd_answers(exercise, keras)
               if (problem := what_escaped(check, answer))]
    assert not escaped, "\n".join(escaped)


@pytest.mark.parametrize("lesson, i, exercise", EXERCISES, ids=IDS)
def test_each_checker_names_its_exercise(lesson, i, exercise):
    """Hidden tests call checkers directly: each is a `feedback.checker` and names the same
    answer as its exercise, so its messages do too."""
    assert getattr(exercise.checker, "names", None) == exercise.names
    assert len(exercise.checker.expects) > 10


def test_an_unexpected_exception_keeps_its_cause_and_names_it():
    @checker("mlp", expects="a Keras model built with keras.Input")
    def check_mlp(model):
        return model.inputs

    with pytest.raises(CheckFailed) as failure:
        check_mlp(_Odd())
    message = str(failure.value)
    assert message.startswith("`mlp` (found _Odd) is not what this exercise expects: checking it "
                              "raised AttributeError ('_Odd' object has no attribute 'inputs')")
    assert "It should be a Keras model built with keras.Input; re-read" in message
    assert isinstance(failure.value.__cause__, AttributeError)
    # Exercise.check converts too, for a checker that is not decorated
    bare = Exercise("mlp", lambda model: model.inputs, hints=("a nudge here", "the idea here"))
    with pytest.raises(CheckFailed, match=r"`mlp` \(found dict\) .*AttributeError") as failure:
        bare.check({})
    assert isinstance(failure.value.__cause__, AttributeError)
    two = Exercise("pair", lambda fns: None, functions=("f", "g"), hints=("a nudge", "the idea"))
    with pytest.raises(CheckFailed, match="needs two functions, `f`, `g`, checked together"):
        two.check(len)
    with pytest.raises(CheckFailed, match="as a tuple in that order; found 3 values"):
        two.check((len, len, len))
