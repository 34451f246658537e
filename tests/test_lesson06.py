"""Lesson 06 (augmentation): right answers pass, known-wrong answers fail with a message naming
the mistake, and the explorer responds to its controls."""
import re

import numpy as np
import pytest

from grader.lessons import augmentation as lesson
from lesson_helpers import fails, inert_while_grading, stub


def test_exports():
    assert lesson.__all__ == ["ex1", "ex2", "ex3"]
    names = [getattr(lesson, e).name for e in lesson.__all__]
    assert names == ["augmentation", "augmented_model", "augment_dataset"]
    for e in lesson.__all__:
        nudge, idea = getattr(lesson, e).hints
        assert nudge and idea and nudge != idea
        assert not getattr(lesson, e).mistakes  # layers, models and pipelines: checked by property


# --- exercise 1 --------------------------------------------------------------------------------

def augmentation(keras, rotation=0.05, translation=(0.1, 0.1), zoom=0.1, fill="constant",
                 extra=(), first=(), input_shape=(28, 28, 1)):
    """The right augmentation with the defaults; each argument turns one knob."""
    layers = keras.layers
    made = [keras.Input(shape=input_shape)] if input_shape else []
    made += [make(layers) for make in first]
    if rotation is not None:
        made.append(layers.RandomRotation(rotation, fill_mode=fill))
    if translation is not None:
        made.append(layers.RandomTranslation(*translation, fill_mode=fill))
    if zoom is not None:
        made.append(layers.RandomZoom(zoom, fill_mode=fill))
    made += [make(layers) for make in extra]
    return keras.Sequential(made)


@pytest.mark.parametrize("kwargs", [
    {},
    dict(zoom=None),
    dict(input_shape=None),                       # no keras.Input: built on first call
    dict(rotation=(-0.04, 0.04), translation=((-0.1, 0.1), 0.12), zoom=(-0.1, 0.05)),
    dict(rotation=15 / 360, translation=(3 / 28, 3 / 28)),
])
def test_ex1_right(keras, kwargs):
    lesson.ex1.check(augmentation(keras, **kwargs))  # raises CheckFailed if wrong


@pytest.mark.parametrize("kwargs, match", [
    (dict(extra=[lambda L: L.RandomFlip("horizontal")]), "flipped 2 is not a 2"),
    (dict(rotation=float(np.radians(15))), "FULL TURN.*radians"),
    (dict(rotation=0.5), "FULL TURN.*6 becomes a 9"),
    (dict(translation=(0.5, 0.5)), "FRACTIONS of the height and width, not pixels"),
    (dict(zoom=0.6), "RandomZoom's factor is a fraction"),
    (dict(fill="reflect"), "fill_mode='reflect'.*\"constant\""),
    (dict(fill="nearest"), "fill_mode='nearest'"),
    (dict(rotation=None), "no RandomRotation"),
    (dict(translation=None), "no RandomTranslation"),
    (dict(rotation=0.0), "factor 0"),
    (dict(input_shape=(784,), first=[lambda L: L.Reshape((28, 28, 1))]),
     "flattened rows.*\\(N, 28, 28, 1\\)"),
    (dict(input_shape=(28, 28), first=[lambda L: L.Reshape((28, 28, 1))]), "channel axis"),
    (dict(extra=[lambda L: L.Flatten()]), "Flatten layer"),
    (dict(first=[lambda L: L.Rescaling(1 / 255)]), "Rescaling"),
    (dict(extra=[lambda L: L.RandomBrightness(0.2)]), "value_range"),
    (dict(extra=[lambda L: L.RandomShear(0.1)]), "geometric transforms of this lesson"),
])
def test_ex1_wrong(keras, kwargs, match):
    fails(lesson.ex1, augmentation(keras, **kwargs), match)


MAKE = {"RandomFlip": lambda L: L.RandomFlip("horizontal"),
        "RandomBrightness": lambda L: L.RandomBrightness(0.2),
        "RandomContrast": lambda L: L.RandomContrast(0.2), "Flatten": lambda L: L.Flatten(),
        "Rescaling": lambda L: L.Rescaling(1.0), "Reshape": lambda L: L.Reshape((28, 28, 1))}


@pytest.mark.parametrize("kind", sorted(lesson.FORBIDDEN))
def test_ex1_every_forbidden_layer_is_named_with_its_reason(keras, kind):
    fails(lesson.ex1, augmentation(keras, extra=[MAKE[kind]]),
          re.escape(f"contains a {kind}") + ".*" + re.escape(lesson.FORBIDDEN[kind][:40]))


@pytest.mark.parametrize("kind", sorted(lesson.LIMITS))
def test_ex1_every_range_limit_is_enforced(keras, kind):
    limit, says = lesson.LIMITS[kind]
    strong = {"RandomRotation": dict(rotation=2 * limit), "RandomTranslation":
              dict(translation=(0.05, 2 * limit)), "RandomZoom": dict(zoom=2 * limit)}[kind]
    fails(lesson.ex1, augmentation(keras, **strong), re.escape(says.split("{")[0]))


def test_ex1_not_a_sequential(keras):
    fails(lesson.ex1, keras.layers.RandomRotation(0.05, fill_mode="constant"), "single")
    fails(lesson.ex1, "ImageDataGenerator(rotation_range=10)", "keras.Sequential")


def test_ex1_degrees_are_refused_by_keras_itself(keras):
    # The seed's degree-style number never reaches the checker: Keras 3 raises at once.
    with pytest.raises(ValueError, match="range"):
        keras.layers.RandomRotation(15)


# --- exercise 2 --------------------------------------------------------------------------------

def model_with(keras, random=("rotation", "translation"), rotation=0.05, fill="constant",
               functional_training=None, input_shape=(28, 28, 1), order="first", train=True,
               compile=True, activation="softmax", flip=False):
    layers = keras.layers
    makers = {"rotation": lambda: layers.RandomRotation(rotation, fill_mode=fill),
              "translation": lambda: layers.RandomTranslation(0.1, 0.1, fill_mode=fill)}
    inputs = keras.Input(shape=input_shape)
    h = layers.Reshape((28, 28, 1))(inputs) if input_shape == (28, 28) else inputs
    if order == "after":
        h = layers.Dense(8, activation="relu")(h)
    for kind in random:
        h = makers[kind]()(h, training=functional_training)
    if flip:
        h = layers.RandomFlip("horizontal")(h)
    h = layers.Flatten()(h)
    h = layers.Dense(32, activation="relu")(h)
    model = keras.Model(inputs, layers.Dense(10, activation=activation)(h))
    if compile:
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    if train and compile:
        rng = np.random.default_rng(0)
        model.fit(rng.random((64, *input_shape), dtype=np.float32), rng.integers(0, 10, 64),
                  epochs=1, batch_size=32, verbose=0)
    return model


def sequential_model(keras):
    layers = keras.layers
    model = keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        keras.Sequential([layers.RandomRotation(0.05, fill_mode="constant"),
                          layers.RandomTranslation(0.1, 0.1, fill_mode="constant")]),
        layers.Flatten(), layers.Dense(32, activation="relu"),
        layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(np.zeros((32, 28, 28, 1)), np.zeros(32), verbose=0)
    return model


def test_ex2_right(keras):
    lesson.ex2.check(model_with(keras))  # raises CheckFailed if wrong
    lesson.ex2.check(sequential_model(keras))  # a nested augmentation Sequential


def test_ex2_input_without_channel_axis_passes_with_reshape(keras):
    lesson.ex2.check(model_with(keras, input_shape=(28, 28)))  # raises CheckFailed if wrong


@pytest.mark.parametrize("kwargs, match", [
    (dict(random=()), "no augmentation layers inside it"),
    (dict(train=False), "not been trained"),
    (dict(compile=False), "not been compiled"),
    (dict(activation=None), "softmax"),
    (dict(flip=True), "flipped 2 is not a 2"),
    (dict(order="after"), "augments after its Dense layer"),
    (dict(rotation=float(np.radians(20))), "FULL TURN"),
    (dict(fill="reflect"), "fill_mode='reflect'"),
    (dict(random=("translation",)), "no RandomRotation"),
    (dict(input_shape=(28, 28, 3)), "28x28 images"),
])
def test_ex2_wrong(keras, kwargs, match):
    fails(lesson.ex2, model_with(keras, **kwargs), match)


def test_ex2_a_hard_wired_dropout_is_named(keras):
    inputs = keras.Input((28, 28, 1))
    h = keras.layers.RandomRotation(0.05, fill_mode="constant")(inputs)
    h = keras.layers.RandomTranslation(0.1, 0.1, fill_mode="constant")(h)
    h = keras.layers.Dropout(0.3)(keras.layers.Flatten()(h), training=True)
    model = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(h))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(np.zeros((32, 28, 28, 1)), np.zeros(32), verbose=0)
    fails(lesson.ex2, model, r"calls dropout\w* with training=True\. Remove it")


def test_ex2_subclassed_model_says_why_it_cannot_be_graded(keras):
    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.turn = keras.layers.RandomRotation(0.05, fill_mode="constant")
            self.flat = keras.layers.Flatten()
            self.out = keras.layers.Dense(10, activation="softmax")

        def call(self, x, training=False):
            return self.out(self.flat(self.turn(x, training=training)))

    model = Net()
    model(np.zeros((1, 28, 28, 1), dtype="float32"))
    fails(lesson.ex2, model, "subclassed model")


def test_ex2_flattened_input(keras):
    layers = keras.layers
    model = keras.Sequential([keras.Input((784,)), layers.Dense(10, activation="softmax")])
    fails(lesson.ex2, model, "flattened rows")


def test_ex2_not_a_model():
    fails(lesson.ex2, "augmented_model", "should be a Keras model")


# --- exercise 3 --------------------------------------------------------------------------------

def pipeline(*, training=True, cache=None, prefetch=True, shuffle=False, labels="keep",
             parallel=True):
    """The right augment_dataset with the defaults; each argument turns one knob."""
    import tensorflow as tf

    def fn(ds, augmentation):
        if cache == "before":
            ds = ds.cache()
        if shuffle:
            ds = ds.unbatch().shuffle(100).batch(8)

        def step(x, y):
            x = augmentation(x, training=training) if training is not None else augmentation(x)
            return x, (y + 1 if labels == "change" else y)

        ds = ds.map(step, num_parallel_calls=tf.data.AUTOTUNE if parallel else None)
        if cache == "after":
            ds = ds.cache()
        return ds.prefetch(tf.data.AUTOTUNE) if prefetch else ds

    return fn


@pytest.mark.parametrize("kwargs", [{}, dict(cache="before"), dict(parallel=False),
                                    dict(training=None)])  # Keras 3 layers default to training
def test_ex3_right(tf, kwargs):
    lesson.ex3.check(pipeline(**kwargs))  # raises CheckFailed if wrong


@pytest.mark.parametrize("seed", range(3))
def test_ex3_right_never_flakes(tf, seed):
    lesson.check_augment_dataset(pipeline(), seed=seed)


@pytest.mark.parametrize("wrong, match", [
    (stub, "NotImplementedError"),
    (pipeline(training=False), "unchanged.*training=True"),
    (pipeline(cache="after"), "caching after the random step freezes one draw"),
    (pipeline(prefetch=False), "prefetch"),
    (pipeline(shuffle=True), "order of the examples|batches"),
    (pipeline(labels="change"), "changed the labels"),
    (lambda ds, augmentation: ds.map(augmentation), "raised"),
    (lambda ds, augmentation: list(ds), "tf.data.Dataset"),
    (lambda ds, augmentation: ds.prefetch(1), "unchanged"),
    (lambda ds, augmentation: ds.map(lambda x, y: (augmentation(x, training=True), y)).unbatch()
     .prefetch(1), "batches"),
])
def test_ex3_wrong(tf, wrong, match):
    fails(lesson.ex3, wrong, match)


def test_ex3_images_swapped_between_labels_is_caught(tf):
    def swapped(ds, augmentation):
        return ds.map(lambda x, y: (augmentation(tf.reverse(x, [0]), training=True), y)).prefetch(1)

    fails(lesson.ex3, swapped, "no longer match their labels")


def test_pipeline_stages(tf):
    ds = tf.data.Dataset.from_tensor_slices(np.zeros((4, 2))).batch(2)
    stages = lesson.pipeline_stages(ds.cache().map(lambda x: x).prefetch(1))
    assert stages[0] == "_PrefetchDataset" and "Cache" in stages[2] and "Map" in stages[1]


# --- explorer ----------------------------------------------------------------------------------

@pytest.fixture
def explorer(monkeypatch, keras):
    from grader.explore import augmentation

    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    images = lesson.digit_like(4, seed=0)
    monkeypatch.setattr(augmentation, "preview_images",
                        lambda n=4: (images, np.array([2, 4, 6, 7]), "mnist"))
    return augmentation.augmentation_explorer()


def test_explorer_starts_with_all_three(explorer):
    assert explorer.renders == 1
    html = explorer.html.value
    assert "RandomRotation(0.05, fill_mode=\"constant\")" in html
    assert "±18.0°" in html and "±1.4 px" in html and "a sensible range" in html
    assert explorer.image.value[:4] == b"\x89PNG"


def test_explorer_transform_factor_fill_and_draw_change_the_views(explorer):
    html, png = explorer.html.value, explorer.image.value
    explorer.controls["transform"].value = "rotation"
    assert explorer.html.value != html and explorer.image.value != png
    assert "RandomTranslation" not in explorer.html.value
    png = explorer.image.value
    explorer.controls["factor"].value = 0.5
    assert "±180.0°" in explorer.html.value and "too strong for digits" in explorer.html.value
    assert explorer.image.value != png
    png = explorer.image.value
    explorer.controls["draw"].value = 4
    assert explorer.image.value != png
    explorer.controls["transform"].value = "translation"
    explorer.controls["fill_mode"].value = "wrap"
    assert "fill_mode=\"wrap\"" in explorer.html.value and "comes back" in explorer.html.value
    explorer.controls["factor"].value = 0.0
    assert "the identity" in explorer.html.value
    assert explorer.renders == 7


def test_explorer_is_inert_while_grading(monkeypatch):
    from grader.explore import augmentation

    explorer = inert_while_grading(monkeypatch, augmentation.augmentation_explorer, augmentation,
                                   "preview_images")
    explorer.controls["factor"].value = 0.2
    assert explorer.renders == 0
