"""Lesson 02 (data formats): right answers pass each check, known-wrong ones fail by name.

Includes the seed articles' mistakes: a reshape instead of a transpose, flattened images, pixels
divided by 255 twice, an unshuffled validation split. The explorer is driven by setting widgets.
"""
from __future__ import annotations

import re

import numpy as np
import pytest

from grader.feedback import CheckFailed
from grader.lessons import data_formats as lesson
from lesson_helpers import fails, inert_while_grading, stub


def test_exports():
    assert lesson.__all__ == ["ex1", "ex2", "ex3", "ex4", "ex5"]
    names = [getattr(lesson, e).name for e in lesson.__all__]
    assert names == ["add_channel_axis", "to_channels_last", "split_validation", "make_dataset",
                     "pipeline_model"]
    for e in lesson.__all__:
        assert getattr(lesson, e).hint_text


CATALOGUE = [(e, mistake) for e in lesson.__all__ for mistake in getattr(lesson, e).mistakes]


@pytest.mark.parametrize("e, mistake", CATALOGUE,
                         ids=[f"{e}-{i}-{m.label}" for i, (e, m) in enumerate(CATALOGUE)])
def test_each_catalogued_mistake_fails_with_its_message(e, mistake):
    fails(getattr(lesson, e), mistake.computes, re.escape(mistake.says.split("{")[0]))


def test_the_array_exercises_have_catalogues():
    assert all(getattr(lesson, e).mistakes for e in ("ex1", "ex2", "ex3"))


# --- exercise 1 --------------------------------------------------------------------------------

@pytest.mark.parametrize("right", [
    lambda x: np.expand_dims(x, -1),
    lambda x: x[..., np.newaxis],
    lambda x: x.reshape(*x.shape, 1),
])
def test_ex1_right(right):
    lesson.ex1.check(right)  # raises CheckFailed if wrong


def test_ex1_tensorflow_answer_passes(tf):
    lesson.ex1.check(lambda x: tf.expand_dims(x, axis=-1))  # raises CheckFailed if wrong


@pytest.mark.parametrize("wrong, match", [
    (stub, "NotImplementedError"),
    (lambda x: np.expand_dims(x, 1), "channels_first"),
    (lambda x: x[np.newaxis], "in front of the batch axis"),
    (lambda x: x.reshape(len(x), -1), "flattened"),
    (lambda x: x.reshape(-1, 28, 28, 1), "assume 28x28"),
    (lambda x: x[..., np.newaxis] / 255.0, "dtype|pixel type changed"),
    (lambda x: np.transpose(x, (0, 2, 1))[..., np.newaxis], "pixel values changed"),
    (lambda x: list(x), "should return an array"),
])
def test_ex1_wrong(wrong, match):
    fails(lesson.ex1, wrong, match)


# --- exercise 2 --------------------------------------------------------------------------------

@pytest.mark.parametrize("right", [
    lambda x: np.transpose(x, (0, 2, 3, 1)),
    lambda x: np.moveaxis(x, 1, -1),
    lambda x: x.transpose(0, 2, 3, 1).copy(),
])
def test_ex2_right(right):
    lesson.ex2.check(right)  # raises CheckFailed if wrong


def test_ex2_tensorflow_answer_passes(tf):
    lesson.ex2.check(lambda x: tf.transpose(x, perm=[0, 2, 3, 1]))  # raises CheckFailed if wrong


@pytest.mark.parametrize("wrong, match", [
    (stub, "NotImplementedError"),
    (lambda x: x.reshape(x.shape[0], x.shape[2], x.shape[3], x.shape[1]), "you reshaped"),
    (lambda x: np.transpose(x, (0, 3, 2, 1)), "swapped"),
    (lambda x: x, "did not change"),
    (lambda x: np.transpose(x, (0, 2, 3, 1)).astype("float32"), "pixel type changed"),
])
def test_ex2_wrong(wrong, match):
    fails(lesson.ex2, wrong, match)


def test_ex2_mirrored_on_square_images():
    # Height == width hides a H/W swap from the shape: the values give it away.
    with pytest.raises(CheckFailed, match="swapped|mirrored"):
        lesson.check_to_channels_last(lambda x: np.transpose(x, (0, 3, 2, 1))
                                      if x.shape[2] == x.shape[3] else np.moveaxis(x, 1, -1))


# --- exercise 3 --------------------------------------------------------------------------------

def split_right(x, y, fraction=0.1, seed=0):
    order = np.random.default_rng(seed).permutation(len(x))
    n_val = int(round(fraction * len(x)))
    return (x[order[n_val:]], y[order[n_val:]]), (x[order[:n_val]], y[order[:n_val]])


def split_floor(x, y, fraction=0.1, seed=0):
    order = np.random.RandomState(seed).permutation(len(x))
    n_val = int(fraction * len(x))
    return (x[order[n_val:]], y[order[n_val:]]), (x[order[:n_val]], y[order[:n_val]])


def split_tail(x, y, fraction=0.1, seed=0):  # what fit(validation_split=...) does
    n_val = int(round(fraction * len(x)))
    return (x[:-n_val], y[:-n_val]), (x[-n_val:], y[-n_val:])


def split_two_shuffles(x, y, fraction=0.1, seed=0):
    rng = np.random.default_rng(seed)
    x, y = x[rng.permutation(len(x))], y[rng.permutation(len(y))]
    n_val = int(round(fraction * len(x)))
    return (x[n_val:], y[n_val:]), (x[:n_val], y[:n_val])


def split_in_place(x, y, fraction=0.1, seed=0):
    rng = np.random.default_rng(seed)
    state = rng.bit_generator.state
    rng.shuffle(x)
    rng.bit_generator.state = state
    rng.shuffle(y)
    n_val = int(round(fraction * len(x)))
    return (x[n_val:], y[n_val:]), (x[:n_val], y[:n_val])


def split_ignores_seed(x, y, fraction=0.1, seed=0):
    return split_right(x, y, fraction, seed=np.random.randint(1 << 30))


def split_fixed_seed(x, y, fraction=0.1, seed=0):
    return split_right(x, y, fraction, seed=0)


def split_overlap(x, y, fraction=0.1, seed=0):
    order = np.random.default_rng(seed).permutation(len(x))
    n_val = int(round(fraction * len(x)))
    return (x, y), (x[order[:n_val]], y[order[:n_val]])


def split_swapped(x, y, fraction=0.1, seed=0):
    train, val = split_right(x, y, fraction, seed)
    return val, train


def split_fixed_fraction(x, y, fraction=0.1, seed=0):
    return split_right(x, y, 0.1, seed)


def split_scaled(x, y, fraction=0.1, seed=0):
    (a, b), (c, d) = split_right(x, y, fraction, seed)
    return (a / 255.0, b), (c / 255.0, d)


@pytest.mark.parametrize("right", [split_right, split_floor])
def test_ex3_right(right):
    lesson.ex3.check(right)  # raises CheckFailed if wrong


@pytest.mark.parametrize("wrong, match", [
    (stub, "NotImplementedError"),
    (split_tail, "last .*part of the data, unshuffled"),
    (split_two_shuffles, "labels no longer match"),
    (split_in_place, "changed the arrays it was given"),
    (split_ignores_seed, "same seed gave different splits"),
    (split_fixed_seed, "seed argument is ignored"),
    (split_overlap, "training .* \\+ validation .* should be all"),
    (split_swapped, "swap the two pairs"),
    (split_fixed_fraction, "fraction=0.25"),
    (split_scaled, "not unchanged images"),
    (lambda x, y, fraction=0.1, seed=0: (x, y), "two pairs"),
])
def test_ex3_wrong(wrong, match):
    fails(lesson.ex3, wrong, match)


# --- exercise 4 --------------------------------------------------------------------------------

def pipeline(tf, *, scale=255.0, channel="last", dtype=None, cache="before", shuffle="images",
             buffer=None, prefetch=True, drop_remainder=False, shuffle_eval=False, numpy_first=False):
    """A make_dataset with one knob turned: the right one when called with the defaults."""

    def make_dataset(x, y, batch_size=128, training=False):
        def prepare(image, label):
            image = tf.cast(image, dtype or tf.float32) / scale
            if channel == "last":
                image = tf.expand_dims(image, -1)
            elif channel == "first":
                image = tf.expand_dims(image, 0)
            elif channel == "flat":
                image = tf.reshape(image, (784,))
            return image, label

        if numpy_first:
            data = tf.data.Dataset.from_tensor_slices(((x / scale)[..., None], y))
        else:
            data = tf.data.Dataset.from_tensor_slices((x, y)).map(
                prepare, num_parallel_calls=tf.data.AUTOTUNE)
        if cache == "before":
            data = data.cache()
        if (training or shuffle_eval) and shuffle == "images":
            data = data.shuffle(buffer or len(x))
        if cache == "after":
            data = data.cache()
        data = data.batch(batch_size, drop_remainder=drop_remainder)
        if (training or shuffle_eval) and shuffle == "batches":
            data = data.shuffle(len(x))
        return data.prefetch(tf.data.AUTOTUNE) if prefetch else data

    return make_dataset


def test_ex4_right(tf):
    lesson.ex4.check(pipeline(tf))  # raises CheckFailed if wrong


def test_ex4_batched_map_passes(tf):
    # Mapping whole batches (batch first, map after) is a legitimate faster variant.
    def make_dataset(x, y, batch_size=128, training=False):
        data = tf.data.Dataset.from_tensor_slices((x, y)).cache()
        if training:
            data = data.shuffle(len(x))
        data = data.batch(batch_size).map(
            lambda im, lab: (tf.cast(im, tf.float32)[..., None] / 255.0, lab))
        return data.prefetch(tf.data.AUTOTUNE)

    lesson.ex4.check(make_dataset)  # raises CheckFailed if wrong


@pytest.mark.parametrize("knobs, match", [
    (dict(channel=None), "no channel axis"),
    (dict(channel="flat"), "flattened"),
    (dict(channel="first"), "channels_first"),
    (dict(scale=255.0 * 255.0), "divided by 255 twice"),
    (dict(scale=1.0), "scaled to \\[0, 1\\]"),
    (dict(numpy_first=True), "float32"),
    (dict(drop_remainder=True), "drop_remainder"),
    (dict(shuffle_eval=True), "different order"),
    (dict(shuffle=None), "original order"),
    (dict(cache="after"), "same order"),
    (dict(shuffle="batches"), "shuffled whole batches"),
    (dict(buffer=100), "buffer is too small"),
    (dict(cache=None), "no cache"),
    (dict(prefetch=False), "no prefetch"),
])
def test_ex4_wrong(tf, knobs, match):
    fails(lesson.ex4, pipeline(tf, **knobs), match)


def test_ex4_not_a_dataset_and_stub(tf):
    fails(lesson.ex4, stub, "NotImplementedError")
    fails(lesson.ex4, lambda x, y, batch_size=128, training=False: (x / 255.0, y),
          "should return a tf.data.Dataset")


# --- exercise 5 --------------------------------------------------------------------------------

def mlp(keras, input_shape=(28, 28, 1), units=64, activation="softmax", train=True):
    model = keras.Sequential([keras.Input(shape=input_shape), keras.layers.Flatten(),
                              keras.layers.Dense(units, activation="relu"),
                              keras.layers.Dense(10, activation=activation)])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    if train:
        rng = np.random.default_rng(0)
        x = rng.random((64, *input_shape), dtype=np.float32)
        model.fit(x, rng.integers(0, 10, 64), epochs=1, batch_size=32, verbose=0)
    return model


def test_ex5_right(keras):
    lesson.ex5.check(mlp(keras))  # raises CheckFailed if wrong


def test_ex5_functional_model_passes(keras):
    inputs = keras.Input(shape=(28, 28, 1))
    hidden = keras.layers.Dense(96, activation="tanh")(keras.layers.Flatten()(inputs))
    model = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(hidden))
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy")
    model.fit(np.zeros((32, 28, 28, 1), np.float32), np.zeros(32), epochs=1, verbose=0)
    lesson.ex5.check(model)  # raises CheckFailed if wrong


def test_ex5_subclassed_model_says_why(keras):
    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.flat, self.out = keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")

        def call(self, x):
            return self.out(self.flat(x))

    model = Net()
    model(np.zeros((1, 28, 28, 1), np.float32))
    fails(lesson.ex5, model, "subclassed model")


def test_ex5_loss_must_match_the_softmax(keras):
    model = mlp(keras, train=False)
    model.compile(optimizer="adam", loss="binary_crossentropy")
    fails(lesson.ex5, model, "Binary cross-entropy")


@pytest.mark.parametrize("kwargs, match", [
    (dict(train=False), "not been trained"),
    (dict(input_shape=(784,)), "inputs of shape"),
    (dict(input_shape=(28, 28)), "inputs of shape"),
    (dict(activation=None), "softmax"),
    (dict(units=512), "parameters"),
])
def test_ex5_wrong(keras, kwargs, match):
    fails(lesson.ex5, mlp(keras, **kwargs), match)


def test_ex5_not_a_model():
    fails(lesson.ex5, "pipeline_model", "should be a Keras model")


# --- explorer ----------------------------------------------------------------------------------

@pytest.fixture
def explorer(monkeypatch):
    from grader.explore import data_formats

    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    rng = np.random.default_rng(0)
    grey = rng.integers(0, 256, (6, 28, 28), dtype=np.uint8)
    monkeypatch.setattr(data_formats, "real_batch", lambda n=16: (grey, [str(i) for i in range(6)]))
    return data_formats.layout_explorer(n_images=6)


def test_explorer_starts_with_a_right_transpose(explorer):
    assert explorer.renders == 1
    assert "np.transpose(batch, (0, 2, 3, 1))" in explorer.html.value
    assert "(N=6, C=3, H=28, W=28)" in explorer.html.value
    assert "(N=6, H=28, W=28, C=3)" in explorer.html.value
    assert "✓" in explorer.html.value
    assert explorer.image.value[:4] == b"\x89PNG"


def test_explorer_shows_the_wrong_reshape(explorer):
    before_html, before_png = explorer.html.value, explorer.image.value
    explorer.controls["operation"].value = "reshape"
    assert explorer.renders == 2
    assert explorer.html.value != before_html and explorer.image.value != before_png
    assert "batch.reshape(6, 28, 28, 3)" in explorer.html.value
    assert "✗" in explorer.html.value and "differ from the right answer" in explorer.html.value

    explorer.controls["channels"].value = 1  # one channel: the reshape happens to be right
    assert "✓" in explorer.html.value and "happen to agree" in explorer.html.value


def test_explorer_layout_operation_and_index(explorer):
    explorer.controls["layout"].value = "channels_first"
    assert "(N=6, C=3, H=28, W=28)" in explorer.html.value.split("output")[1]
    assert "np.transpose(batch, (0, 3, 1, 2))" in explorer.html.value
    explorer.controls["operation"].value = "expand_dims"
    assert "np.expand_dims(batch, axis=1)" in explorer.html.value
    assert "(N=6, C=1, H=28, W=28)" in explorer.html.value
    png = explorer.image.value
    explorer.controls["index"].value = 4
    assert explorer.image.value != png


def test_explorer_conversions_match_numpy():
    from grader.explore import data_formats

    grey = np.random.default_rng(1).integers(0, 256, (3, 28, 28), dtype=np.uint8)
    colour = data_formats.colour_batch(grey)
    assert colour.shape == (3, 28, 28, 3) and np.array_equal(colour[..., 0], grey)
    source, source_layout, result, correct, _ = data_formats.convert(grey, "channels_last",
                                                                     "transpose", 3)
    assert source.shape == (3, 3, 28, 28) and source_layout == "channels_first"
    assert np.array_equal(result, colour) and np.array_equal(correct, colour)
    _, _, wrong, correct, _ = data_formats.convert(grey, "channels_last", "reshape", 3)
    assert wrong.shape == correct.shape and not np.array_equal(wrong, correct)


def test_explorer_is_inert_while_grading(monkeypatch):
    from grader.explore import data_formats

    explorer = inert_while_grading(monkeypatch, data_formats.layout_explorer, data_formats,
                                   "real_batch")
    explorer.controls["operation"].value = "reshape"
    assert explorer.renders == 0
