"""Lesson 04 (activations): right answers pass; every catalogued mistake, submitted as the
answer, fails with its own message; other known-wrong answers fail with a message that names the
mistake; and the explorer responds to its controls."""
import random
import re
import warnings

import numpy as np
import pytest

from grader.feedback import CheckFailed
from grader.lessons import activations as lesson
from lesson_helpers import fails, inert_while_grading, stub


def sig(x):
    return 1.0 / (1.0 + np.exp(-x))


def tanh_ok(x):
    return 2 / (1 + np.exp(-2 * x)) - 1


def relu_ok(x):
    return np.maximum(x, 0)


def leaky_ok(x, negative_slope=0.2):
    return np.where(x > 0, x, negative_slope * x)


def softmax_ok(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def d_sig(x):
    s = sig(x)
    return s * (1 - s)


def d_tanh(x):
    return 1 - np.tanh(x) ** 2


def d_relu(x):
    return (x > 0).astype(float)


def norms_ok(model, x, y):
    import keras
    import tensorflow as tf

    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    with tf.GradientTape() as tape:
        loss = keras.losses.SparseCategoricalCrossentropy()(y, model(x))
    return [float(tf.norm(g)) for g in tape.gradient(loss, [d.kernel for d in dense])]


RIGHT = {"sigmoid": sig, "tanh": tanh_ok, "relu": (relu_ok, leaky_ok), "softmax": softmax_ok,
         "derivatives": (d_sig, d_tanh, d_relu), "gradient_norms": norms_ok}
FUNCTION_EXERCISES = [lesson.ex1, lesson.ex2, lesson.ex3, lesson.ex4, lesson.ex5, lesson.ex6]
CATALOGUE = [(exercise, mistake) for exercise in FUNCTION_EXERCISES
             for mistake in exercise.mistakes]


def test_exports():
    assert lesson.__all__ == ["ex1", "ex2", "ex3", "ex4", "ex5", "ex6", "ex7"]
    names = [getattr(lesson, e).name for e in lesson.__all__]
    assert names == ["sigmoid", "tanh", "relu", "softmax", "derivatives", "gradient_norms",
                     "deep_mlp"]
    assert lesson.ex3.names == ("relu", "leaky_relu")
    assert lesson.ex5.names == ("sigmoid_derivative", "tanh_derivative", "relu_derivative")
    for e in lesson.__all__:
        assert getattr(lesson, e).hint_text


@pytest.mark.parametrize("exercise", FUNCTION_EXERCISES, ids=lambda e: e.name)
def test_right_answers_pass(exercise, tf):
    exercise.check(RIGHT[exercise.name])


def as_answer(exercise, mistake):
    """The mistake as the student's answer; right answers for the exercise's other parts."""
    if len(exercise.names) == 1:
        return mistake.computes
    return tuple(mistake.computes if name == mistake.part else right
                 for name, right in zip(exercise.names, RIGHT[exercise.name]))


@pytest.mark.parametrize("exercise, mistake", CATALOGUE,
                         ids=[f"{e.name}-{i}" for e in FUNCTION_EXERCISES
                              for i in range(len(e.mistakes))])
def test_every_catalogued_mistake_is_named(exercise, mistake, tf):
    said = re.escape(mistake.says.split("{")[0])
    assert len(said) > 10, "a message should start with words of its own"
    with np.errstate(all="ignore"):
        fails(exercise, as_answer(exercise, mistake), said)


def test_library_calls_sees_attributes_aliases_and_allows_own_functions():
    from numpy import tanh as th  # noqa: F401  (an alias of a library tanh)

    def via_alias(x):
        return th(x)

    def via_attr(x):
        return np.tanh(x)

    def own(x):  # calls this module's own function named sig: allowed
        return 2 * sig(2 * x) - 1

    def enclosing():
        local_tanh = np.tanh

        def inner(x):  # a library tanh reached through a closure
            return local_tanh(x)
        return inner

    assert lesson.library_calls(via_alias, {"tanh"}) == {"tanh"}
    assert lesson.library_calls(via_attr, {"tanh"}) == {"tanh"}
    assert lesson.library_calls(np.tanh, {"tanh"}) == {"tanh"}
    assert lesson.library_calls(own, {"tanh", "sig"}) == set()
    assert lesson.library_calls(enclosing(), {"tanh"}) == {"tanh"}


# --- exercise 1: sigmoid -----------------------------------------------------------------------

@pytest.mark.parametrize("right", [
    lambda x: np.exp(-np.logaddexp(0, -x)),
    lambda x: 0.5 * (1 + np.tanh(0.5 * x)),
])
def test_ex1_right_written_differently(right):
    lesson.ex1.check(right)


def test_ex1_keras_wrapper_fails(tf, keras):
    fails(lesson.ex1, lambda x: keras.activations.sigmoid(x).numpy(), "library's sigmoid")
    fails(lesson.ex1, lambda x: tf.sigmoid(x), "library's sigmoid")


@pytest.mark.parametrize("wrong, match", [
    (stub, "NotImplementedError"),
    (lambda x: np.exp(x) / (1 + np.exp(x)), "nan or inf"),
    (lambda x: 1 / (1 - np.exp(-x)), "stays between 0 and 1"),
    (lambda x: list(sig(x)), "NumPy array"),
    (lambda x: sig(x).astype(np.float16), "should be"),
])
def test_ex1_wrong(wrong, match):
    fails(lesson.ex1, wrong, match)


# --- exercise 2: tanh --------------------------------------------------------------------------

@pytest.mark.parametrize("right", [
    lambda x: 2 * sig(2 * x) - 1,
    lambda x: (1 - np.exp(-2 * np.abs(x))) / (1 + np.exp(-2 * np.abs(x))) * np.sign(x),
])
def test_ex2_right_written_differently(right):
    lesson.ex2.check(right)


@pytest.mark.parametrize("wrong, match", [
    (stub, "NotImplementedError"),
    (lambda x: 2 * sig(2 * x - 1), "seed article's formula 2h\\(2x-1\\).*2\\*sigmoid\\(2x\\) - 1"),
    (lambda x: (np.exp(x) - np.exp(-x)) / (np.exp(x) + np.exp(-x)), "inf / inf = nan"),
    (np.tanh, "library's tanh"),
    (lambda x: np.tanh(x), "library's tanh"),
])
def test_ex2_wrong(wrong, match):
    fails(lesson.ex2, wrong, match)


# --- exercise 3: relu and leaky_relu -----------------------------------------------------------

def relu_in_place(x):
    x[x < 0] = 0
    return x


def test_ex3_right_written_differently(keras):
    lesson.ex3.check((lambda x: x * (x > 0),
                      lambda x, negative_slope=0.2: np.maximum(x, negative_slope * x)))
    x = np.linspace(-3, 3, 7)  # the default is keras.activations.leaky_relu's
    assert np.allclose(leaky_ok(x), keras.activations.leaky_relu(x))


@pytest.mark.parametrize("relu, leaky, match", [
    (stub, leaky_ok, "NotImplementedError"),
    (relu_ok, stub, "NotImplementedError"),
    (relu_in_place, leaky_ok, "changed the array it was given"),
    (relu_ok, lambda x, negative_slope=0.1: np.where(x > 0, x, negative_slope * x),
     "leaky_relu\\(x\\) should be x for x > 0 and 0.2 \\* x"),
    (relu_ok, lambda x, negative_slope: np.where(x > 0, x, negative_slope * x),
     "missing 1 required positional argument"),
])
def test_ex3_wrong(relu, leaky, match):
    fails(lesson.ex3, (relu, leaky), match)


def test_ex3_library_relu_fails(tf):
    fails(lesson.ex3, (lambda x: tf.nn.relu(x).numpy(), leaky_ok), "library's relu")


def test_ex3_looks_up_both_names(capsys):
    with pytest.raises(CheckFailed, match="`leaky_relu` is not defined"):
        exec("ex3.check()", {"ex3": lesson.ex3, "relu": relu_ok})
    exec("ex3.check()", {"ex3": lesson.ex3, "relu": relu_ok, "leaky_relu": leaky_ok})
    out = capsys.readouterr().out
    assert "✓ Correct: `relu`, `leaky_relu`" in out and "0.2 by default" in out


# --- exercise 4: softmax -----------------------------------------------------------------------

def softmax_no_keepdims(x):
    e = np.exp(x - x.max(axis=-1))
    return e / e.sum(axis=-1)


def softmax_in_place(x):
    x -= x.max(axis=-1, keepdims=True)
    e = np.exp(x)
    return e / e.sum(axis=-1, keepdims=True)


def test_ex4_right_written_differently():
    lesson.ex4.check(lambda x: np.exp(x - np.log(np.sum(np.exp(x - x.max(-1, keepdims=True)),
                                                         -1, keepdims=True))
                                      - x.max(-1, keepdims=True)))


@pytest.mark.parametrize("wrong, match", [
    (stub, "NotImplementedError"),
    (softmax_no_keepdims, "keepdims=True"),
    (softmax_in_place, "changed the array it was given"),
    (lambda x: np.exp(x - x.min(axis=-1, keepdims=True))
     / np.exp(x - x.min(axis=-1, keepdims=True)).sum(axis=-1, keepdims=True), "nan"),
])
def test_ex4_wrong(wrong, match):
    with np.errstate(all="ignore"):
        fails(lesson.ex4, wrong, match)


def test_ex4_library_softmax_fails(tf, keras):
    fails(lesson.ex4, lambda x: keras.activations.softmax(tf.convert_to_tensor(x)).numpy(),
          "library's softmax")


# --- exercise 5: derivatives -------------------------------------------------------------------

def test_ex5_right_written_differently():
    lesson.ex5.check((lambda x: np.exp(-x) / (1 + np.exp(-x)) ** 2,
                      lambda x: 1 / np.cosh(x) ** 2, lambda x: np.heaviside(x, 0.0)))


@pytest.mark.parametrize("functions, match", [
    ((stub, d_tanh, d_relu), "NotImplementedError"),
    ((d_sig, lambda x: np.ones_like(x), d_relu),
     "`tanh_derivative` disagrees with tf.GradientTape"),
    ((d_sig, d_tanh), "three functions"),
])
def test_ex5_wrong(functions, match):
    fails(lesson.ex5, functions, match)


def test_ex5_gradient_tape_wrapper_fails(tf):
    def tape_sigmoid(x):
        v = tf.Variable(x)
        with tf.GradientTape() as tape:
            y = tf.sigmoid(v)
        return tape.gradient(y, v).numpy()

    fails(lesson.ex5, (tape_sigmoid, d_tanh, d_relu), "GradientTape")


# --- exercise 6: gradient norms ----------------------------------------------------------------

def test_ex6_leaves_the_random_state_alone(keras):
    """The test models are seeded from the checker's own generator, so a check moves neither
    Python's, NumPy's nor Keras' random state: the student's next model starts from the weights
    it would have had without the check."""
    def after(check):
        keras.utils.set_random_seed(7)
        if check:
            lesson.ex6.check(norms_ok)
        layer = keras.layers.Dense(3)
        layer.build((None, 2))
        return layer.kernel.numpy(), random.random(), np.random.random()

    (kernel, *draws), (kernel_checked, *draws_checked) = after(False), after(True)
    assert np.array_equal(kernel, kernel_checked) and draws == draws_checked


def test_ex6_every_trainable_variable_and_tensors(tf, keras):
    def every_matrix(model, x, y):  # trainable_variables[::2]: LayerNormalization sneaks in
        with tf.GradientTape() as tape:
            loss = keras.losses.SparseCategoricalCrossentropy()(y, model(x))
        variables = model.trainable_variables[::2]
        return [float(tf.norm(g)) for g in tape.gradient(loss, variables)]

    fails(lesson.ex6, every_matrix, "Dense layers, so the list should hold")

    def tensors(model, x, y):
        dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
        with tf.GradientTape() as tape:
            loss = keras.losses.SparseCategoricalCrossentropy()(y, model(x))
        return [tf.norm(g) for g in tape.gradient(loss, [d.kernel for d in dense])]

    fails(lesson.ex6, tensors, "float\\(tf.norm\\(g\\)\\)")
    fails(lesson.ex6, stub, "NotImplementedError")


def test_ex6_combined_kernel_and_bias_named(tf, keras):
    def combined(model, x, y):  # each layer's trainable_weights: kernel and bias together
        dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
        with tf.GradientTape() as tape:
            loss = keras.losses.SparseCategoricalCrossentropy()(y, model(x))
        grads = tape.gradient(loss, [d.trainable_weights for d in dense])
        return [float(tf.sqrt(sum(tf.reduce_sum(g ** 2) for g in pair))) for pair in grads]

    fails(lesson.ex6, combined, "mixes the kernel's and the bias's")


# --- exercise 7: deep MLP ----------------------------------------------------------------------

def deep(keras, *, hidden=8, activation="relu", init="he_normal", train=True, units=32,
         input_shape=(28, 28), output="softmax", functional=False, loss=None):
    layers = ([keras.layers.Flatten()]
              + [keras.layers.Dense(units, activation=activation, kernel_initializer=init)
                 for _ in range(hidden)]
              + [keras.layers.Dense(10, activation=output)])
    if functional:
        inputs = tensor = keras.Input(shape=input_shape)
        for layer in layers:
            tensor = layer(tensor)
        model = keras.Model(inputs, tensor)
    else:
        model = keras.Sequential([keras.Input(shape=input_shape)] + layers)
    if loss == "from_logits":
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(optimizer="adam", loss=loss or "sparse_categorical_crossentropy")
    if train:
        rng = np.random.default_rng(0)
        with warnings.catch_warnings():  # from_logits=True on a softmax warns, rightly
            warnings.simplefilter("ignore")
            model.fit(rng.random((64, *input_shape), dtype=np.float32), rng.integers(0, 10, 64),
                      epochs=1, batch_size=32, verbose=0)
    return model


def test_ex7_right(keras, capsys):
    lesson.ex7.check(deep(keras))
    assert "relu; HeNormal" in capsys.readouterr().out


@pytest.mark.parametrize("kwargs", [dict(functional=True, activation="elu"),
                                    dict(activation="leaky_relu", hidden=10, units=64)],
                         ids=["functional-elu", "leaky-relu-deeper"])
def test_ex7_other_reasonable_choices_pass(keras, kwargs):
    lesson.ex7.check(deep(keras, **kwargs))


def test_ex7_deep_sigmoid_passes_structure_but_is_warned(keras, capsys):
    # Structure is all check() judges; the accuracy (hidden test) is what a deep sigmoid misses.
    lesson.ex7.check(deep(keras, hidden=10, activation="sigmoid", init="glorot_uniform"))
    assert "expect the accuracy check to miss" in capsys.readouterr().out


@pytest.mark.parametrize("kwargs, match", [
    (dict(hidden=7), "7 hidden Dense layers.*at least 8"),
    (dict(hidden=3), "at least 8"),
    (dict(train=False), "not been trained"),
    (dict(input_shape=(784,)), "inputs of shape"),
    (dict(output=None), "softmax"),
    (dict(units=256), "parameters"),
    (dict(loss="binary_crossentropy", train=False), "Binary cross-entropy"),
    (dict(loss="from_logits"), "from_logits=True"),
])
def test_ex7_wrong(keras, kwargs, match):
    fails(lesson.ex7, deep(keras, **kwargs), match)


def test_ex7_subclassed_model_is_explained(keras):
    class Deep(keras.Model):
        def __init__(self):
            super().__init__()
            self.flat, self.out = keras.layers.Flatten(), keras.layers.Dense(10, "softmax")

        def call(self, x):
            return self.out(self.flat(x))

    model = Deep()
    model(np.zeros((1, 28, 28), np.float32))
    fails(lesson.ex7, model, "subclassed model")


def test_ex7_not_a_model():
    fails(lesson.ex7, "deep_mlp", "should be a Keras model")


# --- explorer ----------------------------------------------------------------------------------

@pytest.fixture
def explorer(monkeypatch):
    from grader.explore import activations

    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    return activations.activation_explorer()


def test_explorer_starts_on_sigmoid(explorer):
    assert explorer.renders == 1
    assert "σ(x) = 1 / (1 + e" in explorer.html.value
    assert "<b>0.25</b>" in explorer.html.value
    assert "saturated" in explorer.html.value
    assert explorer.image.value[:4] == b"\x89PNG"


def test_explorer_responds_to_every_control(explorer):
    html, png = explorer.html.value, explorer.image.value
    explorer.controls["activation"].value = "tanh"
    assert explorer.renders == 2
    assert explorer.html.value != html and explorer.image.value != png
    assert "<b>1</b>" in explorer.html.value and "tanh'(3)" in explorer.html.value

    explorer.controls["activation"].value = "leaky_relu"
    assert "a = 0.1" in explorer.html.value and "(nowhere)" in explorer.html.value
    png = explorer.image.value
    explorer.controls["slope"].value = 0.0  # a slope of 0 is plain ReLU: the negative side saturates
    assert "a = 0" in explorer.html.value and "(nowhere)" not in explorer.html.value
    assert explorer.image.value != png

    explorer.controls["activation"].value = "sigmoid"
    explorer.controls["layers"].value = 10
    assert "0.25<sup>10</sup> = <b>9.54e-07</b>" in explorer.html.value
    png = explorer.image.value
    explorer.controls["x_range"].value = 2.0  # |x| < 2: the sigmoid never saturates there
    assert "(nowhere)" in explorer.html.value and explorer.image.value != png


def test_explorer_slopes_match_keras(tf, keras):
    from grader.explore import activations

    x = np.linspace(-6, 6, 50)  # never exactly 0, where the kinks' conventions differ
    for name, kwargs in [("sigmoid", {}), ("tanh", {}), ("relu", {}), ("softplus", {}),
                         ("leaky_relu", {"negative_slope": 0.2}), ("elu", {"alpha": 0.2})]:
        v = tf.Variable(x)
        with tf.GradientTape() as tape:
            y = getattr(keras.activations, name)(v, **kwargs)
            total = tf.reduce_sum(y)
        slope = tape.gradient(total, v).numpy()
        f, d = activations.function_and_slope(name, x, 0.2)
        assert np.allclose(f, y.numpy(), atol=1e-6), name
        assert np.allclose(d, slope, atol=1e-6), name


def test_explorer_saturated_intervals():
    from grader.explore import activations

    x = np.linspace(-8, 8, 801)
    _, d = activations.function_and_slope("sigmoid", x)
    (left_start, left_end), (right_start, right_end) = activations.saturated_intervals(x, d)
    assert left_start == -8 and right_end == 8 and -5 < left_end < -4.5 and 4.5 < right_start < 5


def test_explorer_is_inert_while_grading(monkeypatch):
    from grader.explore import activations

    explorer = inert_while_grading(monkeypatch, activations.activation_explorer)
    explorer.controls["activation"].value = "relu"
    assert explorer.renders == 0
