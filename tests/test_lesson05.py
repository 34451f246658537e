"""Lesson 05 (dropout): right answers pass, known-wrong answers fail with a message naming the
mistake, and the explorer responds to its controls."""
import re

import numpy as np
import pytest

from grader.feedback import CheckFailed
from grader.lessons import dropout as lesson
from lesson_helpers import fails, inert_while_grading, says, stub


def test_exports():
    assert lesson.__all__ == ["ex1", "ex2", "ex3"]
    names = [getattr(lesson, e).name for e in lesson.__all__]
    assert names == ["dropout", "generalisation_gap", "dropout_model"]
    for e in lesson.__all__:
        nudge, idea = getattr(lesson, e).hints
        assert nudge and idea and nudge != idea


def mistake_id(mistake):
    return re.sub(r"\W+", "-", mistake.says[:40]).strip("-")


# --- exercise 1 --------------------------------------------------------------------------------

def inverted(x, rate, training, rng):
    if not training or rate == 0:
        return x
    return x * (rng.random(x.shape) >= rate) / (1 - rate)


def inverted_binomial(x, rate, training, rng):
    if not training:
        return x.copy()
    return x * rng.binomial(1, 1 - rate, size=x.shape) / (1 - rate)


def inverted_where(x, rate, training, rng):
    if not training:
        return x
    keep = rng.uniform(size=x.shape) < 1 - rate
    return np.where(keep, x / (1 - rate), 0).astype(x.dtype)


def dropout_with(*, scale="inverted", keep_prob=False, infer="identity", in_place=False,
                 shared_mask=False, global_rng=False, fixed_mask=False, flat_only=False):
    """A dropout with one knob turned: the right one with the defaults."""

    def fn(x, rate, training, rng):
        if not training:
            if infer == "identity":
                return x
            if infer == "active":
                return x * (rng.random(x.shape) >= rate) / (1 - rate)
            return x * (1 - rate)
        p_drop = 1 - rate if keep_prob else rate
        shape = x.shape[-1:] if shared_mask else x.shape
        if flat_only:
            shape = (x.shape[0], x.shape[1])
        if global_rng:
            u = np.random.random(shape)
        elif fixed_mask:
            u = np.random.default_rng(0).random(shape)
        else:
            u = rng.random(shape)
        keep = u >= p_drop
        factor = {"inverted": 1 / (1 - rate), "none": 1.0, "times": 1 - rate}[scale]
        if in_place:
            x *= keep * factor
            return x
        return x * keep * factor

    return fn


@pytest.mark.parametrize("right", [inverted, inverted_binomial, inverted_where, dropout_with()])
def test_ex1_right(right):
    lesson.ex1.check(right)  # raises CheckFailed if wrong


@pytest.mark.parametrize("seed", range(5))
def test_ex1_right_never_flakes(seed):
    lesson.check_dropout(inverted, seed=seed)


def test_ex1_rate_zero_and_inference_may_return_x_itself():
    # The identity at inference (and for rate 0) may hand back x itself or a copy of it.
    lesson.ex1.check(inverted)
    x = np.ones((3, 4), dtype="float32")
    assert inverted(x, 0.5, False, np.random.default_rng(0)) is x


@pytest.mark.parametrize("mistake", lesson.ex1.mistakes, ids=mistake_id)
def test_ex1_every_catalogued_mistake_fails_with_its_message(mistake):
    fails(lesson.ex1, mistake.computes, says(mistake))


@pytest.mark.parametrize("wrong, match", [
    (stub, "NotImplementedError"),
    (dropout_with(scale="none"), "kept values are unchanged"),
    (dropout_with(scale="times"), "multiplied by 1 - rate"),
    (dropout_with(keep_prob=True), "probability of KEEPING"),
    (dropout_with(infer="active"), "still active at inference"),
    (dropout_with(infer="scaled"), "non-inverted"),
    (dropout_with(in_place=True), "changed the array it was given"),
    (dropout_with(shared_mask=True), "same units|shared"),
    (dropout_with(global_rng=True), "does not come from `rng`"),
    (dropout_with(fixed_mask=True), "different seeds gave the same mask"),
    (dropout_with(flat_only=True), "Calling `dropout` raised|shape"),
    (lambda x, rate, training, rng: list(x), "numpy array"),
    (lambda x, rate, training, rng: x, "Nothing was zeroed"),
    (lambda x, rate, training, rng: x * (rng.random(x.shape) >= rate / 2) / (1 - rate),
     "zeroed \\(expected about 25%\\)"),
])
def test_ex1_wrong(wrong, match):
    fails(lesson.ex1, wrong, match)


def test_ex1_non_inverted_training_names_the_old_variant():
    # Old-style dropout: no scaling while training, (1 - rate) at inference.
    fn = dropout_with(scale="none", infer="scaled")
    with pytest.raises(CheckFailed, match="non-inverted"):
        lesson.ex1.check(fn)


# --- exercise 2 --------------------------------------------------------------------------------

def gap_right(history):
    logs = getattr(history, "history", history)
    return float(logs["accuracy"][-1] - logs["val_accuracy"][-1])


def gap_numpy(history):
    logs = history.history if hasattr(history, "history") else history
    return np.float32(logs["accuracy"][-1]) - np.float32(logs["val_accuracy"][-1])


@pytest.mark.parametrize("right", [gap_right])
def test_ex2_right(right):
    lesson.ex2.check(right)  # raises CheckFailed if wrong


def test_ex2_float32_rounding_is_tolerated_or_named():
    # float32 subtraction is off by ~1e-8: within the checker's tolerance.
    lesson.ex2.check(lambda h: float(gap_numpy(h)))


@pytest.mark.parametrize("wrong, match", [
    (stub, "NotImplementedError"),
    (lambda h: h.history["acc"][-1] - h.history["val_acc"][-1], "'accuracy' and 'val_accuracy'"),
    (lambda h: h["acc"][-1] - h["val_acc"][-1], "'accuracy' and 'val_accuracy'"),
    (lambda h: h.history["accuracy"][-1] - h.history["val_accuracy"][-1], "History .* dict"),
    (lambda h: h["accuracy"][-1] - h["val_accuracy"][-1], "History .* dict"),
    (lambda h: (lambda l: l["loss"][-1] - l["val_loss"][-1])(getattr(h, "history", h)),
     "the gap is"),
    (lambda h: "0.1", "the gap is|one number"),
    (lambda h: None, "one number"),
])
def test_ex2_wrong(wrong, match):
    fails(lesson.ex2, wrong, match)


@pytest.mark.parametrize("mistake", lesson.ex2.mistakes, ids=mistake_id)
def test_ex2_every_catalogued_mistake_fails_with_its_message(mistake):
    fails(lesson.ex2, mistake.computes, says(mistake))


def test_ex2_acc_message_states_the_rule():
    fails(lesson.ex2, lambda h: h.history["acc"][-1] - h.history["val_acc"][-1],
          "named after the metrics as compiled")


# --- exercise 3 --------------------------------------------------------------------------------

def mlp(keras, rates=(0.2, 0.5), train=True, activation="softmax", functional_training=None,
        input_shape=(28, 28), loss="sparse_categorical_crossentropy", compile=True,
        last_dropout=False):
    inputs = keras.Input(shape=input_shape)
    h = keras.layers.Flatten()(inputs)
    for rate in rates:
        h = keras.layers.Dense(32, activation="relu")(h)
        h = keras.layers.Dropout(rate)(h, training=functional_training)
    outputs = keras.layers.Dense(10, activation=activation)(h)
    if last_dropout:
        outputs = keras.layers.Dropout(0.3)(outputs)
    model = keras.Model(inputs, outputs)
    if compile:
        model.compile(optimizer="adam", loss=loss)
    if train and compile:
        rng = np.random.default_rng(0)
        x = rng.random((64, *input_shape), dtype=np.float32)
        model.fit(x, rng.integers(0, 10, 64), epochs=1, batch_size=32, verbose=0)
    return model


def test_ex3_right(keras):
    lesson.ex3.check(mlp(keras))  # raises CheckFailed if wrong


def test_ex3_flat_input_passes(keras):
    lesson.ex3.check(mlp(keras, input_shape=(784,)))  # raises CheckFailed if wrong


def test_ex3_sequential_with_nested_dropout_block_passes(keras):
    layers = keras.layers
    block = keras.Sequential([layers.Dense(32, activation="relu"), layers.Dropout(0.3)])
    model = keras.Sequential([keras.Input((28, 28)), layers.Flatten(), layers.Dropout(0.1), block,
                              layers.Dense(10, activation="softmax")])
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy")
    model.fit(np.zeros((32, 28, 28)), np.zeros(32), verbose=0)
    lesson.ex3.check(model)  # raises CheckFailed if wrong


def test_ex3_subclassed_model_says_why_it_cannot_be_graded(keras):
    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.flat, self.drop = keras.layers.Flatten(), keras.layers.Dropout(0.5)
            self.out = keras.layers.Dense(10, activation="softmax")

        def call(self, x, training=False):
            return self.out(self.drop(self.flat(x), training=training))

    model = Net()
    model(np.zeros((1, 28, 28), dtype="float32"))
    fails(lesson.ex3, model, "subclassed model")


@pytest.mark.parametrize("kwargs, match", [
    (dict(rates=()), "no Dropout layer"),
    (dict(rates=(0.0,)), "rate of 0 drops nothing"),
    (dict(train=False), "not been trained"),
    (dict(compile=False), "not been compiled"),
    (dict(loss="mse", train=False), "sparse_categorical_crossentropy"),
    (dict(activation=None), "softmax"),
    (dict(functional_training=True), "with training=True: hard-wired, dropout is still active"),
    (dict(last_dropout=True), "after the output"),
    (dict(input_shape=(28, 28, 3)), "28x28 images"),
])
def test_ex3_wrong(keras, kwargs, match):
    fails(lesson.ex3, mlp(keras, **kwargs), match)


def test_ex3_not_a_model():
    fails(lesson.ex3, "dropout_model", "should be a Keras model")


# --- explorer ----------------------------------------------------------------------------------

@pytest.fixture
def explorer(monkeypatch):
    from grader.explore import dropout

    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.setattr(dropout, "_RESULTS", {})
    trained = []

    def fake_fit(rate, n_train):  # instant: a gap that shrinks with the rate
        trained.append((rate, n_train))
        return {"history": {}, "train": 1.0 - 0.05 * rate, "val": 0.9 - 0.02 * rate}

    rng = np.random.default_rng(0)
    image = rng.random((28, 28)).astype("float32")
    monkeypatch.setattr(dropout, "fit_small_mlp", fake_fit)
    monkeypatch.setattr(dropout, "data", lambda n=2000: ((image[None], np.zeros(1)),
                                                         (image[None], np.zeros(1))))
    explorer = dropout.dropout_explorer()
    explorer.trained = trained
    return explorer


def test_explorer_starts_at_rate_one_half(explorer):
    assert explorer.renders == 1
    assert explorer.trained == [(0.5, 1000)]
    assert "× 1/(1 - 0.5) = 2" in explorer.html.value
    assert "training 97.50% − validation 89.00%" in explorer.html.value
    assert explorer.image.value[:4] == b"\x89PNG"


def test_explorer_rate_changes_mask_scale_and_gap(explorer):
    before_html, before_png = explorer.html.value, explorer.image.value
    explorer.controls["rate"].value = 0.2
    assert explorer.renders == 2
    assert explorer.html.value != before_html and explorer.image.value != before_png
    assert "= 1.25" in explorer.html.value and "(expected 20%)" in explorer.html.value
    assert explorer.trained == [(0.5, 1000), (0.2, 1000)]
    explorer.controls["rate"].value = 0.5  # cached: no new training
    assert explorer.trained == [(0.5, 1000), (0.2, 1000)]


def test_explorer_draw_and_size(explorer):
    png = explorer.image.value
    explorer.controls["draw"].value = 3
    assert explorer.image.value != png
    explorer.controls["n_train"].value = 2000
    assert explorer.trained[-1] == (0.5, 2000)
    assert "2,000 training images" in explorer.html.value


def test_explorer_mask_statistics():
    from grader.explore import dropout

    keep = dropout.dropout_mask((200, 200), 0.3, draw=1)
    assert abs((1 - keep.mean()) - 0.3) < 0.02
    assert np.array_equal(keep, dropout.dropout_mask((200, 200), 0.3, draw=1))
    assert not np.array_equal(keep, dropout.dropout_mask((200, 200), 0.3, draw=2))


def test_explorer_is_inert_while_grading(monkeypatch):
    from grader.explore import dropout

    explorer = inert_while_grading(monkeypatch, dropout.dropout_explorer, dropout, "fit_small_mlp")
    explorer.controls["rate"].value = 0.2
    assert explorer.renders == 0
