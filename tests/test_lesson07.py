"""Lesson 07 (LeNet-5): right answers pass, known-wrong answers fail with a message naming the
mistake, and the feature-map explorer responds to its controls."""
import json
import pickle
import re
from pathlib import Path

import numpy as np
import pytest

from grader.lessons import lenet as lesson
from lesson_helpers import fails, inert_while_grading, says, stub

NOTEBOOK = Path(__file__).resolve().parents[1] / "solutions" / "07-lenet5" / "07-lenet5.ipynb"


def test_exports():
    assert lesson.__all__ == ["ex1", "ex2", "ex3", "ex4"]
    names = [getattr(lesson, e).name for e in lesson.__all__]
    assert names == ["conv_arithmetic", "build_lenet5", "lenet", "save_and_reload"]
    assert lesson.ex1.names == ("conv_output_size", "conv_params")
    assert lesson.ex4.names == ("save_and_reload", "predict_digit")
    for e in lesson.__all__:
        nudge, idea = getattr(lesson, e).hints
        assert nudge and idea and nudge != idea


# --- exercise 1 --------------------------------------------------------------------------------

def output_size(size, kernel, padding="valid", stride=1):
    if padding == "same":
        return -(-size // stride)
    return (size - kernel) // stride + 1


def output_size_math(size, kernel, padding="valid", stride=1):
    import math

    if padding == "same":
        return math.ceil(size / stride)
    return math.floor((size - kernel) / stride) + 1


def params(kernel, in_channels, filters):
    return (kernel * kernel * in_channels + 1) * filters


def test_ex1_right(tf):
    lesson.ex1.check((output_size, params))  # raises CheckFailed if wrong
    lesson.ex1.check((output_size_math, lambda k, c, f: k * k * c * f + f))


@pytest.mark.parametrize("seed", range(3))
def test_ex1_right_never_flakes(tf, seed):
    lesson.check_arithmetic((output_size, params), seed=seed)


RIGHT = {"conv_output_size": output_size, "conv_params": params}


@pytest.mark.parametrize("mistake", lesson.ex1.mistakes,
                         ids=lambda m: re.sub(r"\W+", "-", m.says[:32]).strip("-"))
def test_ex1_every_catalogued_mistake_fails_with_its_message(tf, mistake):
    answer = tuple(mistake.computes if name == mistake.part else RIGHT[name]
                   for name in lesson.ex1.names)
    fails(lesson.ex1, answer, says(mistake))


def test_ex1_message_names_the_call_and_keras_answer(tf):
    fails(lesson.ex1, (lambda n, k, p="valid", s=1: n, params),
          re.escape("conv_output_size(28, 5, 'valid', 1) returned 28; Keras computes 24. "
                    "With padding='valid'"))


@pytest.mark.parametrize("wrong_size, match", [
    (stub, "NotImplementedError"),
    (lambda n, k, p="valid", s=1: -(-n // s) if p == "same" else (n - k) / s + 1, "whole number"),
    (lambda n, k, p="valid", s=1: str(output_size(n, k, p, s)), "one whole number"),
    (lambda n, k, p="valid", s=1: output_size(n, k, p, s) + (p == "same"), r"Keras computes 28\.$"),
])
def test_ex1_wrong_output_size(tf, wrong_size, match):
    fails(lesson.ex1, (wrong_size, params), match)


@pytest.mark.parametrize("wrong_params, match", [
    (stub, "NotImplementedError"),
    (lambda k, c, f: params(k, c, f) + 1, "plus one bias, times the number of filters"),
])
def test_ex1_wrong_params(tf, wrong_params, match):
    fails(lesson.ex1, (output_size, wrong_params), match)


# --- exercise 2 --------------------------------------------------------------------------------

def lenet5(keras, *, input_shape=(28, 28, 1), pool="avg", kernel=5, padding1="same",
           flatten="after", filters=(6, 16), units=(120, 84), out_activation="softmax",
           activation="relu", third_conv=False, separate_activation=False, dropout=False,
           data_format=None):
    L = keras.layers
    Pool = L.AveragePooling2D if pool == "avg" else L.MaxPooling2D
    act = None if separate_activation else activation
    layers = [keras.Input(shape=input_shape)]
    if flatten == "first":
        layers.append(L.Flatten())
        layers.append(L.Reshape((28, 28, 1)))
    conv_kwargs = {} if data_format is None else {"data_format": data_format}
    layers.append(L.Conv2D(filters[0], kernel, padding=padding1, activation=act, **conv_kwargs))
    if separate_activation:
        layers.append(L.Activation(activation))
    layers.append(Pool(2))
    if flatten == "between":
        layers.append(L.Flatten())
    layers += [L.Conv2D(filters[1], kernel, activation=activation), Pool(2)]
    if third_conv:
        layers.append(L.Conv2D(120, 3, activation=activation))
    if flatten in ("after", "first"):
        layers.append(L.Flatten())
    layers += [L.Dense(units[0], activation=activation)]
    if flatten == "after_dense":
        layers.append(L.Flatten())
    if dropout:
        layers.append(L.Dropout(0.5))
    layers += [L.Dense(units[1], activation=activation), L.Dense(10, activation=out_activation)]
    return keras.Sequential(layers)


def builder(keras, **kwargs):
    return lambda: lenet5(keras, **kwargs)


def test_ex2_right(keras):
    lesson.ex2.check(builder(keras))  # raises CheckFailed if wrong
    lesson.ex2.check(builder(keras, activation="tanh"))
    lesson.ex2.check(builder(keras, separate_activation=True))


def functional_lenet5(keras):
    L = keras.layers
    inputs = keras.Input(shape=(28, 28, 1))
    h = L.AveragePooling2D(2)(L.Conv2D(6, 5, padding="same", activation="relu")(inputs))
    h = L.Flatten()(L.AveragePooling2D(2)(L.Conv2D(16, 5, activation="relu")(h)))
    h = L.Dense(84, activation="relu")(L.Dense(120, activation="relu")(h))
    return keras.Model(inputs, L.Dense(10, activation="softmax")(h))


def leaky_lenet5(keras):
    L = keras.layers
    return keras.Sequential([
        keras.Input(shape=(28, 28, 1)), L.Conv2D(6, 5, padding="same"), L.LeakyReLU(),
        L.AveragePooling2D(2), L.Conv2D(16, 5), L.LeakyReLU(), L.AveragePooling2D(2), L.Flatten(),
        L.Dense(120), L.LeakyReLU(), L.Dense(84), L.LeakyReLU(), L.Dense(10, activation="softmax")])


def test_ex2_functional_api_passes(keras):
    lesson.ex2.check(lambda: functional_lenet5(keras))


def run_test_cell(grade_id, namespace):
    """Run a test cell of the solution notebook, hidden tests included, in ``namespace``."""
    notebook = json.loads(NOTEBOOK.read_text())
    cell = next(c for c in notebook["cells"]
                if c["metadata"].get("nbgrader", {}).get("grade_id") == grade_id)
    import grader

    exec("".join(cell["source"]), {"grader": grader, **namespace})  # as the setup cell imports it


@pytest.mark.parametrize("answer", [functional_lenet5, leaky_lenet5,
                                    lambda keras: lenet5(keras, activation="tanh"),
                                    lambda keras: lenet5(keras, separate_activation=True)],
                         ids=["functional", "leaky-relu-layers", "tanh", "activation-layers"])
def test_ex2_test_cell_with_hidden_tests_passes_right_but_different_answers(keras, answer):
    run_test_cell("ex2_build_lenet5_test", {"np": np, "keras": keras, "ex2": lesson.ex2,
                                            "build_lenet5": lambda: answer(keras)})


@pytest.mark.parametrize("kwargs, match", [
    (dict(pool="max"), "MaxPooling2D; LeNet-5 averages"),
    (dict(input_shape=(1, 28, 28)), "channels_last"),
    (dict(input_shape=(1, 28, 28), data_format="channels_first"), "channels_last"),
    (dict(input_shape=(32, 32, 1)), "1998 network"),
    (dict(padding1="valid"), "256 values instead of 16\\*5\\*5 = 400"),
    (dict(flatten="none"), "no Flatten layer"),
    (dict(flatten="first"), "flattens before a convolution"),
    (dict(flatten="between"), "Flatten \\(or a flat input\\) comes before it.*THEN Flatten"),
    (dict(flatten="after_dense"), "Flatten is in the wrong place.*before Dense\\(120\\)"),
    (dict(kernel=3), "5x5 kernels"),
    (dict(kernel=3, third_conv=True), "3 Conv2D layer\\(s\\).*'6 conv layers'"),
    (dict(filters=(8, 16)), "C1 \\(conv2d.*\\) has filters=8, LeNet-5's 6"),
    (dict(units=(128, 84)), "120, 84 and 10"),
    (dict(out_activation=None), "softmax"),
    (dict(activation=None), "no activation"),
    (dict(dropout=True), "LeNet-5 has none"),
])
def test_ex2_wrong(keras, kwargs, match):
    fails(lesson.ex2, builder(keras, **kwargs), match)


def test_ex2_subclassed_model_is_refused_with_the_reason(keras):
    class LeNet(keras.Model):
        def __init__(self):
            super().__init__()
            self.body = lenet5(keras)

        def call(self, x):
            return self.body(x)

    def build():
        model = LeNet()
        model(np.zeros((1, 28, 28, 1), "float32"))
        return model

    fails(lesson.ex2, build, "subclassed model.*cannot load it from its saved file")


def test_ex2_same_object_and_trained_models_fail(keras):
    model = lenet5(keras)
    fails(lesson.ex2, lambda: model, "same model object twice")
    trained = lenet5(keras)
    trained.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    trained.fit(np.zeros((8, 28, 28, 1)), np.zeros(8), verbose=0)
    fails(lesson.ex2, lambda: trained if trained.optimizer.iterations.numpy() == 1 else None,
          "same model object|already been trained")
    fails(lesson.ex2, stub, "NotImplementedError")
    fails(lesson.ex2, lambda: "lenet", "should be a Keras model")


def test_ex2_channels_first_without_data_format_is_named(keras):
    # (1, 28, 28) with default data_format: named as channels first before anything else
    fails(lesson.ex2, lambda: keras.Sequential([keras.Input(shape=(1, 28, 28)),
                                                keras.layers.Flatten(),
                                                keras.layers.Dense(10, activation="softmax")]),
          "channels first")


# --- exercise 3 --------------------------------------------------------------------------------

def trained(keras, loss="sparse_categorical_crossentropy", fit=True, **kwargs):
    model = lenet5(keras, **kwargs)
    model.compile(optimizer="adam", loss=loss)
    if fit:
        rng = np.random.default_rng(0)
        model.fit(rng.random((32, *model.input_shape[1:]), dtype=np.float32),
                  rng.integers(0, 10, 32), epochs=1, batch_size=16, verbose=0)
    return model


def test_ex3_right(keras):
    lesson.ex3.check(trained(keras))  # raises CheckFailed if wrong


@pytest.mark.parametrize("kwargs, match", [
    (dict(fit=False), "not been trained"),
    (dict(loss="mse", fit=False), "sparse_categorical_crossentropy"),
    (dict(pool="max"), "MaxPooling2D"),
    (dict(padding1="valid"), "padding='valid'"),
])
def test_ex3_wrong(keras, kwargs, match):
    fails(lesson.ex3, trained(keras, **kwargs), match)


def test_ex3_uncompiled_and_not_a_model(keras):
    fails(lesson.ex3, lenet5(keras), "has not been compiled")
    fails(lesson.ex3, "lenet", "should be a Keras model")


# --- exercise 4 --------------------------------------------------------------------------------

def save_right(model, path):
    model.save(path)
    import keras

    return keras.models.load_model(path)


def predict_right(model, image):
    return int(np.argmax(model.predict(image[None], verbose=0)[0]))


def predict_expand(model, image):
    return np.argmax(model(np.expand_dims(image, 0), training=False), axis=-1)[0]


def test_ex4_right(keras):
    lesson.ex4.check((save_right, predict_right))  # raises CheckFailed if wrong
    lesson.ex4.check((save_right, predict_expand))


def save_pickle(model, path):
    with open(path, "wb") as f:
        pickle.dump([w for w in model.get_weights()], f)
    return model


def save_h5(model, path):
    import keras

    h5 = str(Path(path).with_suffix(".h5"))
    model.save(h5)
    return keras.models.load_model(h5)


def save_no_reload(model, path):
    model.save(path)
    return model


def save_fresh(model, path):
    import keras

    model.save(path)
    return keras.models.clone_model(model)  # same architecture, new weights


@pytest.mark.parametrize("wrong_save, match", [
    (stub, "NotImplementedError"),
    (save_pickle, "is a pickle.*w, b"),
    (save_h5, "\\.h5"),
    (save_no_reload, "returned the model it was given"),
    (save_fresh, "predicts differently"),
    (lambda model, path: None, "wrote no file"),
])
def test_ex4_wrong_save(keras, wrong_save, match):
    fails(lesson.ex4, (wrong_save, predict_right), match)


@pytest.mark.parametrize("wrong_predict, match", [
    (stub, "NotImplementedError"),
    (lambda model, image: model.predict(image, verbose=0), "batch axis"),
    (lambda model, image: model.predict(image[None], verbose=0), "returned the 10 probabilities"),
    (lambda model, image: np.flatnonzero(model.predict(image[None], verbose=0)[0] == 1),
     "`probabilities == 1` found nothing"),
    (lambda model, image: int(np.argmin(model.predict(image[None], verbose=0)[0])),
     "largest of its 10 probabilities"),
    (lambda model, image: str(predict_right(model, image)), "one int"),
    # a bare model(x) runs Keras 3's augmentation layers in training mode
    (lambda model, image: int(np.argmax(model(image[None])[0])),
     "augmentation was applied at inference.*training=False"),
])
def test_ex4_wrong_predict(keras, wrong_predict, match):
    fails(lesson.ex4, (save_right, wrong_predict), match)


# --- explorer ----------------------------------------------------------------------------------

@pytest.fixture
def explorer(keras, monkeypatch):
    from grader.explore import lenet as explore

    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    keras.utils.set_random_seed(0)
    model = lenet5(keras)  # untrained is enough: the explorer only runs the layers
    images = np.random.default_rng(0).random((5, 28, 28, 1), dtype=np.float32)
    return explore.feature_maps(model, images, np.arange(5), [f"class {k}" for k in range(10)])


def test_explorer_starts_at_conv1_of_image_0(explorer):
    assert explorer.renders == 1
    assert "test image 0" in explorer.html.value and "true class <b>class 0</b>" in explorer.html.value
    assert "output 28x28x6, 156 parameters" in explorer.html.value
    assert "6 filters of 5x5x1" in explorer.html.value
    assert explorer.image.value[:4] == b"\x89PNG"


@pytest.mark.parametrize("layer, shape", [("pool1", "14x14x6, 0 parameters"),
                                          ("conv2", "10x10x16, 2,416 parameters"),
                                          ("pool2", "5x5x16, 0 parameters")])
def test_explorer_layer_changes_maps(explorer, layer, shape):
    before_html, before_png = explorer.html.value, explorer.image.value
    explorer.controls["layer"].value = layer
    assert explorer.renders == 2
    assert shape in explorer.html.value
    assert explorer.html.value != before_html and explorer.image.value != before_png


def test_explorer_index_changes_image(explorer):
    png = explorer.image.value
    explorer.controls["index"].value = 3
    assert "test image 3" in explorer.html.value and "class 3" in explorer.html.value
    assert explorer.image.value != png
    assert explorer.controls["index"].max == 4


def test_explorer_is_inert_while_grading(keras, monkeypatch):
    from grader.explore import lenet as explore

    class NoModel:  # any use of the model would fail
        def __getattr__(self, name):
            raise AssertionError("the explorer must not touch the model while grading")

    inert_while_grading(monkeypatch,
                        lambda: explore.feature_maps(NoModel(), np.zeros((3, 28, 28, 1))))


def test_confusion_matrix_figure_labels_every_class(keras):
    from grader import plots

    confusion = np.diag(np.arange(1, 11))
    confusion[3, 5] = 7
    fig = plots.confusion_matrix(confusion, [f"c{k}" for k in range(10)], title="t")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == [f"c{k}" for k in range(10)]
    assert ax.get_xlabel() == "predicted class" and ax.get_ylabel() == "true class"
    written = {t.get_text() for t in ax.texts}
    assert "7" in written and "10" in written and "0" not in written  # zeros left blank


# --- the notebook's own test cells, hidden tests included, on right-but-different answers -------

@pytest.mark.parametrize("grade_id, answers", [
    ("ex1_conv_arithmetic_test", {"conv_output_size": output_size_math,
                                  "conv_params": lambda k, c, f: k * k * c * f + f}),
    ("ex4_save_and_reload_test", {"save_and_reload": save_right, "predict_digit": predict_expand}),
])
def test_test_cells_with_hidden_tests_pass_right_but_different_answers(keras, grade_id, answers):
    exercise = lesson.ex1 if grade_id.startswith("ex1") else lesson.ex4
    run_test_cell(grade_id, {"np": np, "keras": keras, "ex1": exercise, "ex4": exercise,
                             **answers})
