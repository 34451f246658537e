"""Lesson 01 (tensors): right answers pass each checker; every catalogued mistake, and other
known-wrong answers, fail with the message that names the mistake (the seed articles' among them);
the explorer responds to its controls and stays inert while grading."""
from __future__ import annotations

import re

import numpy as np
import pytest

import grader
from grader.feedback import CheckFailed
from grader.lessons import tensors as lesson
from lesson_helpers import inert_while_grading

tf, keras = grader.setup(seed=0)


def test_all_exercises_exported():
    assert lesson.__all__ == ["ex1", "ex2", "ex3", "ex4", "ex5", "ex6"]
    names = [getattr(lesson, ex).name for ex in lesson.__all__]
    assert names == ["describe_tensor", "flatten_images", "normalise_images", "one_hot_labels",
                     "labels_from_probabilities", "to_float32_tensor"]
    for ex in lesson.__all__:
        assert getattr(lesson, ex).hint_text


CATALOGUE = [(ex, mistake) for ex in lesson.__all__ for mistake in getattr(lesson, ex).mistakes]


@pytest.mark.parametrize("ex, mistake", CATALOGUE,
                         ids=[f"{ex}-{i}-{m.label}" for i, (ex, m) in enumerate(CATALOGUE)])
def test_each_catalogued_mistake_fails_with_its_message(ex, mistake):
    with pytest.raises(CheckFailed, match=re.escape(mistake.says.split("{")[0])):
        getattr(lesson, ex).check(mistake.computes)


def test_every_exercise_has_a_catalogue():
    assert all(getattr(lesson, ex).mistakes for ex in lesson.__all__)


def test_stub_fails_every_exercise():
    def stub(*args, **kwargs):
        raise NotImplementedError()

    for ex in lesson.__all__:
        with pytest.raises(CheckFailed, match="NotImplementedError"):
            getattr(lesson, ex).check(stub)


# ---- ex1 describe_tensor ---------------------------------------------------------------------
def test_ex1_right_answers_pass():
    lesson.ex1.check(lambda t: (t.ndim, tuple(t.shape), t.dtype.name))
    lesson.ex1.check(lambda t: (len(t.shape), tuple(int(d) for d in t.shape), t.dtype.name))


@pytest.mark.parametrize("wrong, message", [
    (lambda t: (len(t), tuple(t.shape), t.dtype.name), "len"),  # crashes on a rank-0 scalar
    (lambda t: (t.ndim, tuple(t.shape)), r"`\(rank, shape, dtype_name\)`"),
    (lambda t: (np.size(t), tuple(t.shape), t.dtype.name), r"the number of axes \(`t.ndim`"),
    (lambda t: (t.ndim, list(t.shape), t.dtype.name), "the shape as a tuple of ints"),
    (lambda t: (t.ndim, tuple(float(d) for d in t.shape), t.dtype.name), "tuple of ints"),
])
def test_ex1_wrong_answers_fail(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        lesson.ex1.check(wrong)


# ---- ex2 flatten_images ----------------------------------------------------------------------
def test_ex2_right_answers_pass():
    lesson.ex2.check(lambda x: x.reshape(-1, 784))
    lesson.ex2.check(lambda x: x.reshape(len(x), -1))
    lesson.ex2.check(lambda x: np.reshape(x, (x.shape[0], 28 * 28)))


@pytest.mark.parametrize("wrong, message", [
    (lambda x: x.reshape(60000, 784), "hard-code|number of images"),  # the seeds' reshape
    (lambda x: x.reshape(-1, 784).astype("float32"), "expected dtype uint8, found float32"),
    (lambda x: x.reshape(-1, 28, 28)[:, ::-1].reshape(-1, 784), "row-by-row order"),
    (lambda x: keras.layers.Flatten()(x), "NumPy array"),
])
def test_ex2_wrong_answers_fail(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        lesson.ex2.check(wrong)


# ---- ex3 normalise_images --------------------------------------------------------------------
def _guarded(convert):
    def normalise_images(x):
        if x.dtype != np.uint8:
            raise ValueError(f"expected raw uint8 pixels, got {x.dtype}")
        return convert(x)

    return normalise_images


def test_ex3_right_answers_pass():
    lesson.ex3.check(_guarded(lambda x: x.astype(np.float32) / 255))
    lesson.ex3.check(_guarded(lambda x: (x / 255.0).astype("float32")))


def _in_place(x):
    if x.dtype != np.uint8:
        raise ValueError("expected raw uint8 pixels")
    x[...] = 0
    return x.astype(np.float32)


def _by_value(x):
    if x.max() <= 1:
        raise ValueError("these pixels already look normalised")
    return x.astype(np.float32) / 255


def _asserts(x):
    assert x.dtype == np.uint8, "already normalised"
    return x.astype(np.float32) / 255


def _silent_refusal(x):
    if x.dtype != np.uint8:
        raise ValueError()
    return x.astype(np.float32) / 255


@pytest.mark.parametrize("wrong, message", [
    (_guarded(lambda x: x / 255), "float64"),
    (_guarded(lambda x: x.astype(np.float32) / 255 / 255), "divided by 255 twice"),
    (_guarded(lambda x: x.astype(np.float32)), "still go up to 255"),
    (_guarded(lambda x: x.astype(np.float16) / 255), "expected dtype float32, found float16"),
    (_in_place, "changed the array it was given"),
    (_by_value, "Decide by the dtype"),
    (_asserts, "raise ValueError instead"),
    (_silent_refusal, "no explanation"),
])
def test_ex3_wrong_answers_fail(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        lesson.ex3.check(wrong)


# ---- ex4 one_hot_labels ----------------------------------------------------------------------
def test_ex4_right_answers_pass():
    lesson.ex4.check(lambda y, num_classes=10: np.eye(num_classes, dtype=np.float32)[y])
    lesson.ex4.check(lambda y, num_classes=10:
                     keras.utils.to_categorical(y, num_classes).astype("float32"))
    lesson.ex4.check(lambda y, num_classes=10: keras.ops.one_hot(y, num_classes).numpy())


@pytest.mark.parametrize("wrong, message", [
    (lambda y, num_classes=10: np.eye(num_classes)[y], "found float64"),
    (lambda y, num_classes=10: np.eye(int(y.max()) + 1, dtype=np.float32)[y], "use `num_classes`"),
    (lambda y, num_classes=10: keras.ops.one_hot(y, num_classes), "NumPy array"),
    (lambda y, num_classes=10: np.eye(num_classes, dtype=np.float32)[(y + 1) % num_classes],
     "label's column"),
    (lambda y: np.eye(10, dtype=np.float32)[y], "TypeError"),  # no num_classes parameter
])
def test_ex4_wrong_answers_fail(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        lesson.ex4.check(wrong)


# ---- ex5 labels_from_probabilities -----------------------------------------------------------
def test_ex5_right_answers_pass():
    lesson.ex5.check(lambda p: np.argmax(p, axis=1))
    lesson.ex5.check(lambda p: p.argmax(axis=-1))
    lesson.ex5.check(lambda p: keras.ops.argmax(p, axis=1).numpy())


@pytest.mark.parametrize("wrong, message", [
    (lambda p: np.argwhere(p == 1)[:, 1], "Testing `== 1`"),  # seed 004's test, vectorised
    (lambda p: np.max(p, axis=1), "index of the row's largest probability"),
    (lambda p: np.argmax(p, axis=1).astype(np.float32), "integers"),
    (lambda p: np.argmin(p, axis=1), "largest probability"),
])
def test_ex5_wrong_answers_fail(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        lesson.ex5.check(wrong)


# ---- ex6 to_float32_tensor -------------------------------------------------------------------
def test_ex6_right_answers_pass():
    lesson.ex6.check(lambda x: tf.cast(tf.convert_to_tensor(x), tf.float32))
    lesson.ex6.check(lambda x: tf.convert_to_tensor(np.asarray(x, dtype=np.float32)))


@pytest.mark.parametrize("wrong, message", [
    (lambda x: tf.convert_to_tensor(x, dtype=tf.float32), "tf.cast"),  # fails on int tensors
    (lambda x: np.asarray(x, dtype=np.float32), "NumPy array"),
    (lambda x: tf.Variable(tf.cast(x, tf.float32)), "Variable"),
    (lambda x: tf.cast(x, tf.float32) / 255, "do not rescale"),
    (lambda x: tf.cast(x, tf.float16), "expected dtype float32, found float16"),
])
def test_ex6_wrong_answers_fail(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        lesson.ex6.check(wrong)


# ---- explorer --------------------------------------------------------------------------------
@pytest.fixture
def batch():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (40, 28, 28), dtype=np.uint8), rng.integers(0, 10, 40)


def test_explorer_responds_to_its_controls(batch, monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    from grader.explore import tensors as explore

    images, labels = batch
    e = explore.shape_explorer(images, labels, [f"class {k}" for k in range(10)])
    assert e.controls["count"].max == 32  # at most MAX_IMAGES of the batch
    assert "<code>(8, 28, 28)</code>" in e.html.value and e.image.value
    seen = {bytes(e.image.value)}

    expected = {"batch": ("(5, 28, 28)", "3"), "rows": ("(5, 784)", "2"),
                "channels": ("(5, 28, 28, 1)", "4"), "image": ("(28, 28)", "2"),
                "row": ("(784,)", "1"), "line": ("(28,)", "1"), "pixel": ("()", "0"),
                "all": ("(3920,)", "1")}
    e.controls["count"].value = 5
    for view, (shape, rank) in expected.items():
        e.controls["view"].value = view
        assert f"<code>{shape}</code>" in e.html.value, view
        assert f"<b>rank (ndim)</b></td><td>{rank}</td>" in e.html.value, view
        assert e.image.value and bytes(e.image.value) not in seen, view
        seen.add(bytes(e.image.value))

    e.controls["view"].value = "rows"
    assert "uint8" in e.html.value and "3,920 bytes" in e.html.value
    before = bytes(e.image.value)
    e.controls["dtype"].value = "float32"
    assert "float32" in e.html.value and "15,680 bytes" in e.html.value
    assert bytes(e.image.value) != before

    e.controls["view"].value = "image"
    e.controls["index"].value = 20  # past the 5-image batch: clipped, and said so
    assert "showing image 4" in e.html.value
    e.controls["index"].value = 2
    assert "i = 2" in e.html.value and "showing image" not in e.html.value


def test_explorer_loads_the_course_data_by_default(monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.setenv("GRADER_NO_DOWNLOAD", "1")
    from grader.explore import tensors as explore

    e = explore.shape_explorer()
    assert "<code>(8, 28, 28)</code>" in e.html.value and e.image.value


def test_explorer_is_inert_while_grading(monkeypatch):
    from grader import data
    from grader.explore import tensors as explore

    inert_while_grading(monkeypatch, explore.shape_explorer, data, "load")
