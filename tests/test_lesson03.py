"""Lesson 03 (Sequential vs functional): known-right answers pass, known-wrong answers fail with a
message that names the mistake (the seed articles' mistakes included); the training explorer
trains live when its button is pressed; the Explorer base's button and progress options."""
import re

import numpy as np
import pytest

from grader.feedback import CheckFailed
from grader.lessons import models as lesson
from lesson_helpers import fails, inert_while_grading, stub


def test_exports():
    assert lesson.__all__ == ["ex1", "ex2", "ex3", "ex4", "ex5"]
    names = [getattr(lesson, e).name for e in lesson.__all__]
    assert names == ["mlp_param_count", "mlp", "functional_mlp", "skip_model", "loss_for_labels"]
    for e in lesson.__all__:
        assert getattr(lesson, e).hint_text
    assert lesson.MLP_PARAMS == 235_146


# --- exercise 1 --------------------------------------------------------------------------------

def count_right(sizes):
    return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))


def count_loop(sizes):
    total = 0
    for i in range(1, len(sizes)):
        total += sizes[i - 1] * sizes[i] + sizes[i]
    return total


@pytest.mark.parametrize("right", [count_right, count_loop,
                                   lambda s: int(np.sum([a * b + b for a, b in zip(s, s[1:])]))])
def test_ex1_right(right):
    lesson.ex1.check(right)  # raises CheckFailed if wrong
    assert right([784, 512, 512, 10]) == 669_706


@pytest.mark.parametrize("wrong, match", [
    (stub, "NotImplementedError"),
    (lambda s: sum(a * b for a, b in zip(s, s[1:])), "forgot the biases"),
    (lambda s: sum(a * b + a for a, b in zip(s, s[1:])), "one bias per INPUT"),
    (lambda s: count_right(s) + s[0], "input layer biases"),
    (lambda s: count_right(s) + s[0] * s[0] + s[0], "input as a Dense layer"),
    (lambda s: count_right(s[:-1]), "last layer"),
    (lambda s: count_right(s[1:]), "first layer"),
    (lambda s: sum(s), "counted units"),
    (lambda s: float(count_right(s)), "float"),
    (lambda s: str(count_right(s)), "should return an int"),
    (lambda s: 669_706, "Keras counts 7,850"),
    (lambda s: count_right(s[:4]) + s[2] * 0 + s[3] * 0, "IndexError.*sizes=\\[784, 10\\]"),
])
def test_ex1_wrong(wrong, match):
    fails(lesson.ex1, wrong, match)


def says(mistake):
    """A pattern for a catalogued mistake's message, its {placeholders} matching anything."""
    return ".*".join(re.escape(part) for part in re.split(r"\{[^{}]*\}", mistake.says))


@pytest.mark.parametrize("mistake", lesson.ex1.mistakes, ids=lambda m: m.says[:30])
def test_ex1_each_catalogued_mistake_is_named(mistake):
    fails(lesson.ex1, mistake.computes, says(mistake))


def test_ex1_input_list_is_left_alone():
    def pops(sizes):
        total = count_right(sizes)
        sizes.pop()
        return total

    fails(lesson.ex1, pops, "changed the list")


# --- models for exercises 2-4 ------------------------------------------------------------------

def dense_stack(keras, widths=(256, 128), activation="relu", last="softmax"):
    return [keras.layers.Dense(w, activation=activation) for w in widths] + [
        keras.layers.Dense(10, activation=last)]


def sequential(keras, widths=(256, 128), activation="relu", last="softmax", input_shape=(784,),
               flatten=False):
    head = [keras.Input(shape=input_shape)] + ([keras.layers.Flatten()] if flatten else [])
    return keras.Sequential(head + dense_stack(keras, widths, activation, last))


def functional(keras, widths=(256, 128), activation="relu", last="softmax"):
    inputs = keras.Input(shape=(784,))
    x = inputs
    for layer in dense_stack(keras, widths, activation, last):
        x = layer(x)
    return keras.Model(inputs, x)


def trained(model, loss="sparse_categorical_crossentropy", optimizer="adam", one_hot=False,
            steps=2):
    rng = np.random.default_rng(0)
    x = rng.random((32 * steps, *model.inputs[0].shape[1:]), dtype=np.float32)
    y = rng.integers(0, 10, len(x))
    if one_hot:
        y = np.eye(10, dtype=np.float32)[y]
    model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"])
    model.fit(x, y, epochs=1, batch_size=32, verbose=0)
    return model


# --- exercise 2 --------------------------------------------------------------------------------

def test_ex2_right(keras):
    lesson.ex2.check(trained(sequential(keras)))  # raises CheckFailed if wrong


def test_ex2_add_style_and_one_hot_labels_pass(keras):
    model = keras.Sequential()
    model.add(keras.Input(shape=(784,)))
    model.add(keras.layers.Dense(256, activation="relu"))
    model.add(keras.layers.Dense(128, activation="relu"))
    model.add(keras.layers.Dense(10, activation="softmax"))
    lesson.ex2.check(trained(model, loss="categorical_crossentropy", one_hot=True))


def test_ex2_functional_instead_of_sequential_passes(keras, capsys):
    """The exercise teaches Sequential, but the same MLP built functionally is just as right."""
    lesson.ex2.check(trained(functional(keras)))
    assert "functional (as right as Sequential here)" in capsys.readouterr().out


@pytest.mark.parametrize("optimizer", ["rmsprop", "sgd"])
def test_ex2_other_optimizers_and_loss_objects_pass(keras, optimizer):
    model = trained(sequential(keras, input_shape=(28, 28), flatten=True),
                    loss=keras.losses.SparseCategoricalCrossentropy(), optimizer=optimizer)
    lesson.ex2.check(model)  # raises CheckFailed if wrong


@pytest.mark.parametrize("build, train, match", [
    (lambda k: sequential(k, last=None), {}, "softmax"),
    (lambda k: sequential(k, widths=(512, 512)), {}, "784 -> 512 -> 512 -> 10"),
    (lambda k: sequential(k, activation=None), {}, "no activation .*linear"),
    (lambda k: sequential(k, activation="tanh"), {}, "asks for \"relu\""),
    (lambda k: sequential(k, input_shape=(28, 28)), dict(loss=None), "output shape"),
    (lambda k: sequential(k), dict(loss="binary_crossentropy", one_hot=True),
     "Binary cross-entropy is for ONE yes/no"),
    (lambda k: sequential(k), dict(loss="mse", one_hot=True), "not a classification loss"),
    (lambda k: sequential(k), dict(loss=None), "not been trained|not been compiled"),
])
def test_ex2_wrong(keras, build, train, match):
    model = build(keras)
    if train.get("loss", "x") is not None:
        model = trained(model, **train)
    fails(lesson.ex2, model, match)


def test_ex2_from_logits_with_softmax_fails(keras):
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    fails(lesson.ex2, trained(sequential(keras), loss=loss), "from_logits=True")


def test_ex2_untrained_and_not_a_model(keras):
    model = sequential(keras)
    fails(lesson.ex2, model, "not been compiled")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    fails(lesson.ex2, model, "not been trained")
    fails(lesson.ex2, "mlp", "should be a Keras model")
    fails(lesson.ex2, keras.Sequential([keras.layers.Dense(10, activation="softmax")]),
          "has no input yet")


def test_ex2_rmsprop_model_reaches_the_accuracy_target(keras, tmp_path, monkeypatch):
    """A known-right alternative end to end: RMSprop instead of Adam, graded out of process."""
    from grader import checks
    from grader.data import load

    monkeypatch.chdir(tmp_path)
    keras.utils.set_random_seed(0)  # this test's own run, whatever ran before it
    (x, y), _ = load(quiet=True)
    x = x.reshape(len(x), 784).astype("float32") / 255.0
    order = np.random.default_rng(0).permutation(len(x))
    model = sequential(keras)
    model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=0.001),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x[order], y[order], epochs=4, batch_size=128, verbose=0)
    lesson.ex2.check(model)
    evaluation = checks.assert_accuracy(model, "03-mlp")
    assert evaluation["accuracy"] > 0.9 and evaluation["verdict"] is None


# --- exercise 3 --------------------------------------------------------------------------------

def test_ex3_right(keras):
    lesson.ex3.check(functional(keras))  # raises CheckFailed if wrong
    lesson.ex3.check(trained(functional(keras)))  # trained is fine too


def test_ex3_leaves_the_weights_alone(keras):
    model = functional(keras)
    before = [w.copy() for w in model.get_weights()]
    lesson.ex3.check(model)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def layers_on_inputs(keras):
    """Every layer called on the input: the seed of a mis-wired functional model."""
    inputs = keras.Input(shape=(784,))
    a = keras.layers.Dense(256, activation="relu")(inputs)
    b = keras.layers.Dense(128, activation="relu")(keras.layers.Dense(256)(inputs))
    del a
    return keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(b))


def softmax_in_the_middle(keras):
    inputs = keras.Input(shape=(784,))
    x = keras.layers.Dense(256, activation="relu")(inputs)
    x = keras.layers.Dense(128, activation="relu")(x)
    x = keras.layers.Dense(10)(x)
    return keras.Model(inputs, keras.layers.Softmax()(keras.layers.Activation("relu")(x)))


def subclassed(keras):
    class MLP(keras.Model):
        def __init__(self):
            super().__init__()
            self.stack = dense_stack(keras)

        def call(self, x):
            for layer in self.stack:
                x = layer(x)
            return x

    model = MLP()
    model(np.zeros((1, 784), dtype=np.float32))
    return model


@pytest.mark.parametrize("build, match", [
    (lambda k: sequential(k), "is a keras.Sequential model"),
    (subclassed, "subclassed model"),
    (lambda k: functional(k, widths=(128, 256)), "784 -> 128 -> 256 -> 10"),
    (lambda k: functional(k, activation="sigmoid"), "asks for \"relu\""),
    (lambda k: functional(k, last=None), "softmax"),
    (softmax_in_the_middle, "computes something different"),
])
def test_ex3_wrong(keras, build, match):
    fails(lesson.ex3, build(keras), match)


def test_ex3_miswired_graph_fails(keras):
    # The extra Dense(256) between input and Dense(128) is a different graph: caught by shapes,
    # parameter count or the same-weights comparison, whichever comes first.
    with pytest.raises(CheckFailed):
        lesson.ex3.check(layers_on_inputs(keras))


def test_ex3_stub():
    fails(lesson.ex3, NotImplementedError, "should be a Keras model")


# --- exercise 4 --------------------------------------------------------------------------------

def skip(keras, merge="add", wiring="skip"):
    inputs = keras.Input(shape=(784,))
    h1 = keras.layers.Dense(128, activation="relu")(inputs)
    h2 = keras.layers.Dense(128, activation="relu")(h1 if wiring != "parallel" else inputs)
    pair = [h1, h1] if wiring == "twice" else [h1, h2]
    merged = {"add": keras.layers.Add, "concat": keras.layers.Concatenate}[merge]()(pair)
    return keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(merged))


def input_skip(keras):
    inputs = keras.Input(shape=(784,))
    h = keras.layers.Dense(64, activation="relu")(inputs)
    merged = keras.layers.Concatenate()([inputs, h])
    return keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(merged))


def block_skip(keras):
    """The skip goes around a nested Sequential block, with a shared layer inside the chain."""
    inputs = keras.Input(shape=(784,))
    shared = keras.layers.Dense(784, activation="relu")
    h1 = keras.layers.Dense(128, activation="relu")(shared(shared(inputs)))
    h2 = keras.Sequential([keras.Input(shape=(128,)), keras.layers.Dense(128)])(h1)
    return keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(
        keras.layers.Add()([h1, h2])))


@pytest.mark.parametrize("build", [lambda k: skip(k), lambda k: skip(k, merge="concat"),
                                   input_skip, block_skip])
def test_ex4_right(keras, build):
    lesson.ex4.check(build(keras))  # raises CheckFailed if wrong


@pytest.mark.parametrize("build, match", [
    (lambda k: sequential(k), "single chain"),
    (lambda k: functional(k), "no merge layer"),
    (lambda k: skip(k, wiring="parallel"), "parallel branches"),
    (lambda k: skip(k, wiring="twice"), "with itself"),
    (subclassed, "subclassed model"),
])
def test_ex4_wrong(keras, build, match):
    fails(lesson.ex4, build(keras), match)


def test_ex4_graph_reading(keras):
    found, others = lesson.skip_connections(skip(keras))
    assert [type(layer).__name__ for layer in found] == ["Add"] and not others
    found, others = lesson.skip_connections(skip(keras, wiring="parallel"))
    assert not found and [type(layer).__name__ for layer in others] == ["Add"]


# --- exercise 5 --------------------------------------------------------------------------------

def by_shape(labels):
    shape = np.shape(labels)
    return ("categorical_crossentropy" if len(shape) >= 2 and shape[-1] > 1
            else "sparse_categorical_crossentropy")


def by_squeezed_rank(labels):
    return ("sparse_categorical_crossentropy" if np.squeeze(np.asarray(labels)).ndim == 1
            else "categorical_crossentropy")


@pytest.mark.parametrize("right", [by_shape, by_squeezed_rank])
def test_ex5_right(right):
    lesson.ex5.check(right)  # raises CheckFailed if wrong


@pytest.mark.parametrize("wrong, match", [
    (stub, "NotImplementedError"),
    (lambda y: "categorical_crossentropy", "Class numbers need 'sparse"),
    (lambda y: "sparse_categorical_crossentropy", "One-hot .*rows need 'categorical"),
    (lambda y: "binary_crossentropy", "one of the two names"),
    (lambda y: ("categorical_crossentropy" if np.asarray(y).dtype.kind == "f"
                else "sparse_categorical_crossentropy"), "not the dtype"),
    (lambda y: ("categorical_crossentropy" if np.ndim(y) == 2
                else "sparse_categorical_crossentropy"), "column of shape \\(N, 1\\)"),
    (lambda y: __import__("keras").losses.SparseCategoricalCrossentropy(), "a loss NAME"),
])
def test_ex5_wrong(wrong, match):
    fails(lesson.ex5, wrong, match)


@pytest.mark.parametrize("loss, one_hot, message", [
    ("categorical_crossentropy", False, lesson.NOT_CATEGORICAL),
    ("sparse_categorical_crossentropy", True, lesson.NOT_SPARSE)])
def test_ex5_quotes_what_keras_says(keras, loss, one_hot, message):
    quoted = re.search(r'stops with "(.*?)"', message).group(1)
    model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="sgd", loss=loss)
    y = np.array([0, 1, 2, 1])
    with pytest.raises(ValueError, match=re.escape(quoted)):
        model.fit(np.ones((4, 4), "float32"), np.eye(3)[y] if one_hot else y, verbose=0)


@pytest.mark.parametrize("mistake", lesson.ex5.mistakes, ids=lambda m: m.says[25:60])
def test_ex5_each_catalogued_mistake_is_named(mistake):
    fails(lesson.ex5, mistake.computes, says(mistake))


# --- explorer ----------------------------------------------------------------------------------

@pytest.fixture
def explorer(monkeypatch):
    from grader.explore import models as explore

    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    rng = np.random.default_rng(0)
    x = rng.random((240, 784), dtype=np.float32)
    y = (x[:, :10].argmax(axis=1)).astype(np.uint8)  # learnable: the brightest of 10 pixels
    data = (x[:160], y[:160], x[160:], y[160:], "mnist")
    monkeypatch.setattr(explore, "explorer_data", lambda n_train=2000, n_val=1000: data)
    e = explore.training_explorer(epochs=2)
    e.controls["epochs"].value = 3
    e.controls["width"].value = 16
    return e


def test_explorer_trains_when_the_button_is_pressed(explorer):
    assert explorer.renders == 1 and explorer.button is not None
    assert "keras.optimizers.Adam(learning_rate=0.001)" in explorer.html.value
    assert explorer.image.value[:4] == b"\x89PNG"
    before_html, before_png = explorer.html.value, explorer.image.value

    explorer.controls["optimizer"].value = "SGD + momentum"
    explorer.controls["learning_rate"].value = 0.01
    assert explorer.renders == 1, "a change alone must not train"
    assert "press <b>Train</b>" in explorer.status.value

    explorer.button.click()
    assert explorer.renders == 2 and explorer.status.value == ""
    assert explorer.html.value != before_html and explorer.image.value != before_png
    assert "keras.optimizers.SGD(learning_rate=0.01, momentum=0.9)" in explorer.html.value
    assert "3 epochs" in explorer.html.value and "16, relu" in explorer.html.value
    assert "previous run" in explorer.html.value and "Adam, learning rate 0.001" in explorer.html.value


def test_explorer_pushes_every_epoch(explorer, monkeypatch):
    pushed = []
    show = explorer.show
    monkeypatch.setattr(explorer, "show", lambda html=None, figure=None:
                        (pushed.append((html, figure is not None)), show(html, figure)))
    explorer.controls["epochs"].value = 4
    explorer.run()
    assert len(pushed) == 4 and all(has_figure for _, has_figure in pushed)
    assert [html.split(":")[0] for html, _ in pushed] == [f"<i>epoch {k} of 4" for k in range(1, 5)]


def test_explorer_names_a_blown_up_learning_rate(explorer):
    explorer.controls["optimizer"].value = "SGD"
    explorer.controls["learning_rate"].value = 1.0
    explorer.controls["width"].value = 512
    explorer.run()
    text = explorer.html.value
    assert "Lower the learning rate" in text or "lower it" in text or "Healthy" not in text


def test_explorer_is_inert_while_grading(monkeypatch):
    from grader.explore import models as explore

    e = inert_while_grading(monkeypatch, explore.training_explorer, explore, "explorer_data")
    assert e.button is None
    e.controls["epochs"].value = 2
    e.run()
    assert e.renders == 0


def test_curves_figure_and_diagnosis():
    from grader.explore import models as explore

    logs = {"loss": [1.0, 0.5], "val_loss": [1.1, 0.6], "accuracy": [0.6, 0.9],
            "val_accuracy": [0.6, 0.88]}
    fig = explore.curves_figure(logs, 5, "a run", {"label": "before", "logs": logs})
    assert len(fig.axes) == 2 and fig.axes[0].get_xlim() == (0.5, 5.5)
    assert "Healthy" in explore.diagnosis(logs, 1e-3)
    assert "NaN" in explore.diagnosis({"loss": [float("nan")]}, 1.0)
    stuck = {"loss": [9.0, 2.303, 2.302], "accuracy": [0.1] * 3, "val_accuracy": [0.1] * 3}
    assert "lower it" in explore.diagnosis(stuck, 1.0)
    assert "raise it" in explore.diagnosis(stuck, 1e-4)
    gap = dict(logs, accuracy=[0.9, 0.99], val_accuracy=[0.85, 0.88])
    assert "over-fitting" in explore.diagnosis(gap, 1e-3)


# --- Explorer base: button and progress options ------------------------------------------------

def test_base_button_and_progress(monkeypatch):
    import ipywidgets as widgets

    from grader.explore.base import Explorer
    from grader.plots import _plt

    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    seen = []

    def render(n, progress=None):
        for k in range(n):
            progress(f"step {k}", None)
            seen.append(k)
        fig = _plt().figure()
        return f"done {n}", fig

    slider = widgets.IntSlider(value=2, min=1, max=5)
    e = Explorer("t", {"n": slider}, render, button="Go", progress=True)
    assert e.renders == 1 and e.html.value == "done 2" and seen == [0, 1]
    slider.value = 3
    assert e.renders == 1 and "press <b>Go</b>" in e.status.value
    e.button.click()
    assert e.renders == 2 and e.html.value == "done 3" and not e.button.disabled


def test_base_without_options_is_unchanged(monkeypatch):
    import ipywidgets as widgets

    from grader.explore.base import Explorer

    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    slider = widgets.IntSlider(value=1)
    e = Explorer("t", {"n": slider}, lambda n: (f"n={n}", None))
    slider.value = 2
    assert e.renders == 2 and e.html.value == "n=2" and e.button is None
    assert len(e.widget.children) == 4  # title, controls, html, image: as before


def test_ex2_subclassed_model_is_refused(keras):
    fails(lesson.ex2, subclassed(keras), "subclassed model")
