"""The grader's own confirmation of every graded cell (grader/grading): what crosses from a
student's kernel is plain data, and the lesson's checker decides on it.

Here the "kernel" is a namespace in this process, asked through the same files and the same
``wire.serve`` a sealed kernel runs; cheats that patch the kernel's own libraries need a process
of their own and are in test_grading_notes.py, through `grader autograde`.
"""
import json
import os
import re
from pathlib import Path

import numpy as np
import pytest

from grader.grading import confirm, wire
from grader.lessons import LESSONS
from grader.quiet import import_tensorflow

ROOT = Path(__file__).resolve().parents[1]
tf, keras = import_tensorflow()


def round_trip(value, tmp_path):
    wire.write(value, tmp_path / "v")
    return wire.read(tmp_path / "v")


@pytest.mark.parametrize("value", [
    None, True, 3, 2.5, float("nan"), "uint8", (1, (28, 28), "uint8"), [1, [2.0]],
    {"accuracy": [0.5, 0.75], 3: "x"}, np.arange(6, dtype=np.uint8).reshape(2, 3),
    np.float32(0.25), np.int64(7), np.array("text"),
], ids=repr)
def test_plain_data_crosses_unchanged(value, tmp_path):
    back = round_trip(value, tmp_path)
    assert type(back) is type(value) and repr(back) == repr(value)
    if isinstance(value, np.ndarray):
        assert back.dtype == value.dtype and np.array_equal(back, value)


def test_tensors_generators_histories_and_models_cross_as_what_they_are(tmp_path):
    generator = np.random.default_rng(5)
    history = keras.callbacks.History()
    history.history = {"accuracy": [0.5]}
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    values = (tf.constant([1, 2], tf.int32), tf.Variable([0.5]), generator, history, model)
    tensor, variable, generator_back, history_back, model_back = round_trip(values, tmp_path)
    assert isinstance(tensor, tf.Tensor) and tensor.dtype == tf.int32
    assert isinstance(variable, tf.Variable) and variable.numpy().tolist() == [0.5]
    assert generator_back.random() == generator.random()
    assert isinstance(history_back, keras.callbacks.History) and history_back.history == history.history
    assert isinstance(model_back, keras.Model) and model_back.loss == model.loss
    x = np.ones((1, 3), np.float32)
    assert np.allclose(model_back(x), model(x))


def test_a_dataset_crosses_as_two_passes_with_its_pipeline_recorded(tmp_path):
    dataset = tf.data.Dataset.range(6).shuffle(6, seed=1).batch(4).prefetch(1)
    back = round_trip(dataset, tmp_path)
    first, second = ([b.numpy().tolist() for b in back] for _ in range(2))
    assert [len(b) for b in first] == [4, 2] and sorted(sum(first, [])) == list(range(6))
    assert second != first and sorted(sum(second, [])) == list(range(6))  # reshuffled each pass
    assert back.element_spec == dataset.element_spec
    assert "Prefetch" in back.recorded_stages[0] and any("Shuffle" in op for op in back.recorded_ops)


class Anything(tuple):
    __hash__ = tuple.__hash__

    def __eq__(self, other):
        return True


class Number(int):
    pass


@pytest.mark.parametrize("value", [Anything((1, 2)), Number(3), lambda x: x, object(),
                                   np.array([object()]), {"key": Number(1)}],
                         ids=["equal-to-anything", "int-subclass", "function", "object",
                              "object-array", "nested"])
def test_anything_but_plain_data_is_refused(value, tmp_path):
    with pytest.raises(wire.Unsupported):
        wire.write(value, tmp_path / "v")


def test_an_array_subclass_arrives_as_the_plain_array(tmp_path):
    class Looks(np.ndarray):
        def numpy(self):
            return self

    back = round_trip(np.zeros(3).view(Looks), tmp_path)
    assert type(back) is np.ndarray


def test_a_linked_or_foreign_file_is_refused(tmp_path):
    wire.write(np.zeros(2), tmp_path / "v")
    secret = tmp_path / "gradebook.db"
    secret.write_bytes(b"not for the kernel")
    (tmp_path / "v" / "1.npy").unlink()
    (tmp_path / "v" / "1.npy").symlink_to(secret)
    with pytest.raises(wire.Unsupported):
        wire.read(tmp_path / "v")
    (tmp_path / "v" / "value.json").write_text(json.dumps({"t": "array", "file": "../gradebook.db"}))
    with pytest.raises(wire.Unsupported):
        wire.read(tmp_path / "v")


# --- confirming a lesson on a namespace that plays the kernel ---------------------------------

def answers(slug):
    """The solution notebook's code cells, run in a fresh namespace (the setup's data loading
    and the worked examples are left out where they are not needed: answer cells only)."""
    notebook = json.loads((ROOT / "solutions" / slug / f"{slug}.ipynb").read_text())
    namespace = {"np": np, "tf": tf, "keras": keras}
    for cell in notebook["cells"]:
        meta = cell["metadata"].get("nbgrader", {})
        if cell["cell_type"] == "code" and meta.get("solution"):
            exec("".join(cell["source"]), namespace)
    return namespace


def confirm_on(namespace, slug, tmp_path, monkeypatch, run=None):
    monkeypatch.setattr(wire, "_namespace", lambda: namespace)
    kernel = tmp_path / "autograded" / "student" / slug
    kernel.mkdir(parents=True)

    def execute(code, timeout):
        exec(code, {})
        return True

    return confirm.confirm_lesson(slug, kernel, run or execute, seed=11, timeout=30)


def test_right_answers_are_confirmed_and_wrong_ones_are_not(tmp_path, monkeypatch):
    namespace = answers("01-tensors")
    verdicts = confirm_on(namespace, "01-tensors", tmp_path, monkeypatch)
    assert all(v["confirmed"] for v in verdicts.values()), verdicts
    assert set(verdicts) == {f"ex{i}_{e.name}_test" for i, e in
                             enumerate(LESSONS[0].exercises(), 1)}

    namespace["flatten_images"] = lambda x: x.reshape(len(x), 784)[:, ::-1]
    namespace["describe_tensor"] = lambda t: Anything((0, (), ""))
    del namespace["one_hot_labels"]
    verdicts = confirm_on(namespace, "01-tensors", tmp_path / "again", monkeypatch)
    assert not verdicts["ex2_flatten_images_test"]["confirmed"]
    assert "expected" in verdicts["ex2_flatten_images_test"]["message"]
    assert "which the grader cannot take from the notebook" in verdicts["ex1_describe_tensor_test"]["message"]
    assert "is not defined in the notebook" in verdicts["ex4_one_hot_labels_test"]["message"]
    assert verdicts["ex3_normalise_images_test"]["confirmed"]


def test_the_students_exception_arrives_as_its_kind(tmp_path, monkeypatch):
    """normalise_images must raise ValueError for float input: the checker sees a ValueError."""
    namespace = answers("01-tensors")
    verdicts = confirm_on(namespace, "01-tensors", tmp_path, monkeypatch)
    assert verdicts["ex3_normalise_images_test"]["confirmed"]

    def refuses_with_assert(x):
        assert x.dtype == np.uint8, "raw pixels only"
        return x.astype(np.float32) / 255

    namespace["normalise_images"] = refuses_with_assert
    verdicts = confirm_on(namespace, "01-tensors", tmp_path / "again", monkeypatch)
    assert "raised AssertionError" in verdicts["ex3_normalise_images_test"]["message"]


def test_a_kernel_that_stops_answering_confirms_nothing_after_it(tmp_path, monkeypatch):
    asked = []

    def hangs_after_three(code, timeout):
        asked.append(code)
        if len(asked) > 3:
            return False
        exec(code, {})
        return True

    verdicts = confirm_on(answers("01-tensors"), "01-tensors", tmp_path, monkeypatch,
                          run=hangs_after_three)
    unconfirmed = [cell for cell, v in verdicts.items() if not v["confirmed"]]
    assert unconfirmed and all("did not answer the grader within 30 s" in verdicts[c]["message"]
                               for c in unconfirmed)


def test_the_same_answers_draw_the_same_inputs(tmp_path, monkeypatch):
    namespace = answers("01-tensors")
    seen = []
    namespace["flatten_images"] = lambda x: seen.append(x.shape) or x.reshape(len(x), 784)
    confirm_on(namespace, "01-tensors", tmp_path / "a", monkeypatch)
    first, seen[:] = list(seen), []
    confirm_on(namespace, "01-tensors", tmp_path / "b", monkeypatch)
    assert first and seen == first


def test_every_graded_cell_of_every_lesson_has_a_check_of_its_own():
    for lesson in LESSONS:
        notebook = json.loads((ROOT / "solutions" / lesson.slug / f"{lesson.slug}.ipynb")
                              .read_text())
        graded = {c["metadata"]["nbgrader"]["grade_id"] for c in notebook["cells"]
                  if c["metadata"].get("nbgrader", {}).get("grade")}
        module = lesson.checkers()
        assert graded == {confirm.grade_id(v, getattr(module, v)) for v in module.__all__}


def test_no_notebook_imports_the_grading_core():
    for notebook in sorted((ROOT / "solutions").glob("*/*.ipynb")):
        text = "".join("".join(c["source"]) for c in json.loads(notebook.read_text())["cells"])
        assert not re.search(r"grader\.grading|from grader import grading", text), notebook.name
    assert "grader.grading" not in os.environ.get("PYTHONPATH", "")
