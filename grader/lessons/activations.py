"""Lesson 04, activations: ``from grader.lessons.activations import *`` gives ``ex1`` .. ``ex7``.

Checkers compare with ``keras.activations`` / ``tf.GradientTape`` on fresh random inputs (new on
every check) and on extreme ones, where naive formulas overflow; each exercise's catalogue names
the known mistakes. Exercises 1-5 are NumPy by hand: calling the library's activation fails.
"""
from __future__ import annotations

from functools import partial

import numpy as np

from ..by_hand import close as _close, compare, no_library, numpy_result
from ..by_hand import library_calls  # noqa: F401  (the notebook's hidden tests import it here)
from ..by_hand import rule_out_quietly as _rule_out
from ..feedback import CheckFailed, Exercise, Mistake, call, checker, expect
from ..keras_internals import all_layers
from ..model_spec import ModelSpec, check_trained_model, graded_later
from ..quiet import import_tensorflow
from ..seeding import test_rng

__all__ = ["ex1", "ex2", "ex3", "ex4", "ex5", "ex6", "ex7"]

MIN_HIDDEN_LAYERS = 8
PARAM_BUDGET = 400_000
LEAKY_SLOPE = 0.2  # keras.activations.leaky_relu's default (layers.LeakyReLU's is 0.3)


def _keras_activation(name: str, x: np.ndarray, **kwargs) -> np.ndarray:
    tf, keras = import_tensorflow()
    return np.asarray(getattr(keras.activations, name)(tf.convert_to_tensor(x), **kwargs))


_ELEMENTWISE = " An activation works element by element."
BY_HAND = "a function returning a new NumPy array of x's shape, computed with NumPy"
_result = partial(numpy_result, why_shape=_ELEMENTWISE)
_compare = partial(compare, why_shape=_ELEMENTWISE)


def _samples(rng, scale: float, span: float) -> list[np.ndarray]:
    """A vector, a float32 matrix and a grid, each with a negative first and a positive second
    value: both signs, always."""
    samples = [rng.normal(0, scale, size=int(rng.integers(6, 20))),
               rng.normal(0, scale, size=(3, 4)).astype(np.float32), np.linspace(-span, span, 17)]
    for x in samples:
        x.flat[0], x.flat[1] = -abs(x.flat[0]) - 0.5, abs(x.flat[1]) + 0.5
    return samples


def _sigmoid(x):
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))


def _leaky(x, slope):
    return np.where(x > 0, x, slope * x)


def _softmax(x, shift=-1, total=-1):
    """exp(x - max) / sum(...), the max over axis ``shift``, the sum over axis ``total`` (None:
    the whole array; ``shift=False``: nothing subtracted)."""
    with np.errstate(all="ignore"):
        e = np.exp(x if shift is False else x - x.max(axis=shift, keepdims=True))
        return e / e.sum(axis=total, keepdims=True)


# --- exercises 1-3: sigmoid, tanh from it, ReLU and Leaky ReLU --------------------------------

def _check_activation(fn, exercise, seed, scale, formula, big, overflow) -> str:
    """``fn`` against keras.activations.<name> on random inputs, then finite at ±1000."""
    name, low = exercise.name, 0 if exercise.name == "sigmoid" else -1
    for x in _samples(test_rng(seed), scale, 2 * scale):
        _compare(fn, exercise, x, _keras_activation(name, x), f"{name}({{at:.3f}}) should be "
                 f"{{want:.6f}} (as keras.activations.{name} says), yours gave {{got:.6f}} (and "
                 f"values from {{lo:.3g}} to {{hi:.3g}}; a {name} stays between {low} and 1). "
                 + formula, atol=1e-5)
    extreme = np.array([-1000.0, -big, 0.0, big, 1000.0])
    shown = f"{name}([-1000, -{big:g}, 0, {big:g}, 1000])"
    out, ref = _result(fn, extreme, name), _keras_activation(name, extreme)
    expect(bool(np.all(np.isfinite(out))), f"{shown} gave {out}: nan or inf. {overflow}")
    expect(_close(out, ref), f"{shown} should be {np.round(ref, 3)}, found {out}.")
    return f"matches keras.activations.{name}, between {low} and 1, finite at ±1000."


@checker("sigmoid", BY_HAND)
def check_sigmoid(fn, seed=None) -> str:
    no_library(fn, "sigmoid", {"sigmoid", "expit"}, "sigmoid(x) = 1 / (1 + np.exp(-x)).")
    return _check_activation(
        fn, ex1, seed, 4, "The formula is 1 / (1 + exp(-x)).", 50, "For very negative x, "
        "exp(-x) overflows to inf, and 1 / (1 + inf) = 0 is still fine; do not divide inf by inf "
        "(as exp(x) / (1 + exp(x)) does).")


@checker("tanh", BY_HAND)
def check_tanh(fn, seed=None) -> str:
    no_library(fn, "tanh", {"tanh"},
               "derive it from the sigmoid: tanh(x) = 2*sigmoid(2x) - 1, written with np.exp.")
    return "tanh(x) = 2*sigmoid(2x) - 1; " + _check_activation(
        fn, ex2, seed, 2, "Use tanh(x) = 2*sigmoid(2x) - 1.", 20, "(exp(x) - exp(-x)) / (exp(x) "
        "+ exp(-x)) overflows to inf / inf = nan for large |x|. Write it as 2 / (1 + exp(-2x)) - "
        "1: there an overflow only makes a term 0.")


@checker(("relu", "leaky_relu"), "two functions, each returning a NumPy array of x's shape")
def check_relus(functions, seed=None) -> str:
    try:
        relu, leaky_relu = functions
    except (TypeError, ValueError):
        raise CheckFailed("Exercise 3 needs two functions: `relu` and `leaky_relu`.") from None
    for fn, name in ((relu, "relu"), (leaky_relu, "leaky_relu")):
        no_library(fn, name, {"relu", "leaky_relu", "ReLU", "LeakyReLU", "relu6"},
                   "np.maximum and np.where are all you need.")
    rng = test_rng(seed)
    for x in _samples(rng, 3, 4)[:2]:
        _compare(relu, ex3, x, _keras_activation("relu", x), "relu({at:.3f}) should be "
                 "{want:.3f}, yours gave {got:.3f}. relu(x) = max(x, 0), element by element.",
                 part="relu")
        # an explicit slope first: only then can a wrong default be told from a fixed slope
        for slope in (float(np.round(rng.uniform(0.05, 0.5), 3)), None):
            kwargs = {} if slope is None else {"negative_slope": slope}
            a = LEAKY_SLOPE if slope is None else slope
            what = "leaky_relu(x)" if slope is None else f"leaky_relu(x, negative_slope={a})"
            ref = _keras_activation("leaky_relu", x, **kwargs)
            _compare(leaky_relu, ex3, x, ref, f"{what} should be x for x > 0 and {a} * "
                     "x for x < 0 (as keras.activations.leaky_relu says); yours differs, e.g. "
                     "at x = {at:.3f}: expected {want:.4f}, found {got:.4f}.", kwargs,
                     part="leaky_relu", what=what)
    return ("relu = max(x, 0); leaky_relu keeps negative_slope * x for negatives, 0.2 by default "
            "as keras.activations.leaky_relu (the layer keras.layers.LeakyReLU defaults to 0.3, "
            "PyTorch to 0.01).")


# --- exercise 4: softmax ----------------------------------------------------------------------

@checker("softmax", BY_HAND)
def check_softmax(fn, seed=None) -> str:
    rng = test_rng(seed)
    no_library(fn, "softmax", {"softmax", "log_softmax", "Softmax"},
               "exponentiate (after subtracting the max) and divide by the sum.")
    n, k = int(rng.integers(3, 7)), int(rng.integers(7, 11))  # n != k: axis mistakes show
    cases = [(rng.normal(0, 3, size=k), "For one vector of scores softmax should give exp(x) / "
              "sum(exp(x)); yours differs (your outputs: {out})."),
             (np.array([1000.0, 0.0, -1000.0]), "softmax([1000, 0, -1000]) should be [1, 0, 0], "
              "found {out}: subtract the largest score first."),
             (rng.normal(0, 3, size=(n, k)), "On a batch of shape {shape} each row should be the "
              "softmax of that row; yours differs. Use axis=-1 with keepdims=True for the max "
              "and the sum."),
             (np.array([[1000.0, 999.0, 998.0], [0.0, -1.0, -2.0]]), "softmax of the batch "
              "[[1000, 999, 998], [0, -1, -2]] should be {ref}, found {out}."),
             (np.full((2, 5), 1e4), "Rows of equal scores 1e4 should give 0.2 each, found {out}."),
             (rng.normal(0, 5, size=(2, 3, 4)), "On a (2, 3, 4) input softmax should normalise "
              "over the last axis (as keras.activations.softmax does); yours differs.")]
    for x, wrong in cases:
        try:
            _compare(fn, ex4, x, _softmax(x), wrong, shape=x.shape)
        except CheckFailed as failure:
            if "broadcast" not in str(failure):
                raise
            raise CheckFailed(f"{failure}\nOn a batch of shape {x.shape} the max and the sum "
                              "must be taken per row and keep their axis for broadcasting: "
                              "axis=-1, keepdims=True.") from None
    return "rows of probabilities summing to 1, stable for scores of ±1000 and 1e4."


# --- exercise 5: derivatives ------------------------------------------------------------------

DERIVATIVES = (("sigmoid", "d/dx sigmoid(x) = s * (1 - s), s = sigmoid(x)."),
               ("tanh", "d/dx tanh(x) = 1 - tanh(x)**2."),
               ("relu", "The slope of max(x, 0) is 1 where x > 0 and 0 where x < 0."))


def _tape_derivative(name: str, x: np.ndarray) -> np.ndarray:
    tf, keras = import_tensorflow()
    v = tf.Variable(x)
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(getattr(keras.activations, name)(v))
    return tape.gradient(y, v).numpy()


@checker(("sigmoid_derivative", "tanh_derivative", "relu_derivative"),
         "three functions, each returning a NumPy array of x's shape")
def check_derivatives(functions, seed=None) -> str:
    if not isinstance(functions, (tuple, list)) or len(functions) != 3:
        raise CheckFailed("Exercise 5 needs three functions: `sigmoid_derivative`, "
                          "`tanh_derivative` and `relu_derivative`.")
    for fn, name in zip(functions, ex5.names):
        no_library(fn, name, {"GradientTape", "gradient", "grad", "jacobian"},
                   "work out the derivative on paper and write the formula with NumPy.")
    rng = test_rng(seed)
    x = rng.normal(0, 3, size=int(rng.integers(8, 20)))
    x[np.abs(x) < 1e-3] = 0.5  # keep away from ReLU's kink
    x[0], x[1] = -abs(x[0]) - 0.5, abs(x[1]) + 0.5  # both signs, always
    for fn, name, (activation, formula) in zip(functions, ex5.names, DERIVATIVES):
        _compare(fn, ex5, x, _tape_derivative(activation, x), f"`{name}` disagrees with "
                 "tf.GradientTape: at x = {at:.3f} it should be {want:.6g}, yours gave "
                 "{got:.6g}. " + formula, part=name)
    peak = _result(functions[0], np.array([0.0]), "sigmoid_derivative")
    expect(np.isclose(peak[0], 0.25), f"sigmoid_derivative(0) should be 0.25, found {peak[0]}.")
    return ("all three match tf.GradientTape; the sigmoid's slope is at most 0.25, tanh's at "
            "most 1, ReLU's exactly 1 for every positive input.")


# --- exercise 6: per-layer gradient norms -----------------------------------------------------

def _dense_layers(model):
    _, keras = import_tensorflow()
    return [layer for layer in all_layers(model) if isinstance(layer, keras.layers.Dense)]


def _norms(pick, reduction="sum_over_batch_size"):
    """A gradient_norms answer: ``pick(kernel_grads, bias_grads, kernels)`` gives its list."""
    def gradient_norms(model, x, y):
        tf, keras = import_tensorflow()
        dense = _dense_layers(model)
        with tf.GradientTape() as tape:
            loss = keras.losses.SparseCategoricalCrossentropy(reduction=reduction)(
                y, model(x, training=False))
        grads = [g.numpy() for g in tape.gradient(loss, [d.kernel for d in dense]
                                                  + [d.bias for d in dense])]
        kernels = [d.kernel.numpy() for d in dense]
        return [float(v) for v in pick(grads[:len(dense)], grads[len(dense):], kernels)]
    return gradient_norms


def _checker_models(rng):
    """A deep sigmoid stack and a ReLU/normalisation/tanh one, sized and initialised from
    ``rng`` (seeded initialisers): a check moves neither Keras' nor Python's random state, so
    the student's next models start from the weights they would have without it."""
    _, keras = import_tensorflow()
    layers, init = keras.layers, keras.initializers

    def dense(units, activation, kind=init.GlorotUniform):
        return layers.Dense(units, activation=activation,
                            kernel_initializer=kind(seed=int(rng.integers(1 << 30))))

    sig = [keras.Input(shape=(12, 12)), layers.Flatten()]
    sig += [dense(24, "sigmoid") for _ in range(int(rng.integers(5, 8)))]
    relu = [keras.Input(shape=(144,))] + [dense(32, "relu", init.HeNormal) for _ in range(4)]
    return [keras.Sequential(stack + [dense(10, "softmax")])  # uncompiled, as in the lesson
            for stack in (sig, relu + [layers.LayerNormalization(), dense(16, "tanh")])]


def _as_floats(result) -> list[float]:
    expect(not isinstance(result, (str, bytes, dict)) and hasattr(result, "__len__"),
           f"`gradient_norms` should return a list of numbers, found {type(result).__name__}.")
    for i, v in enumerate(result):
        tip = " Return plain numbers: float(tf.norm(g))." if hasattr(v, "numpy") else ""
        expect(isinstance(v, (float, np.floating)), f"Element {i} of the list is a "
               f"{type(v).__name__}; each norm should be a float.{tip}")
    return [float(v) for v in result]


def _same(found, ref) -> bool:
    return len(found) == len(ref) and bool(np.allclose(found, ref, rtol=2e-3, atol=1e-9))


@checker("gradient_norms", "a function returning a list of floats, one per Dense layer")
def check_gradient_norms(fn, seed=None) -> str:
    rng, ratio = test_rng(seed), None
    for model in _checker_models(rng):
        n_images = int(rng.integers(24, 48))
        x = rng.random((n_images, *model.inputs[0].shape[1:])).astype(np.float32)
        y = rng.integers(0, 10, n_images)
        found = _as_floats(call(fn, model, x, y, name="gradient_norms"))
        ref = _norms(lambda k, b, w: map(np.linalg.norm, k))(model, x, y)
        ratio = ratio or ref[-1] / ref[0]
        if _same(found, ref):
            continue
        n, kinds = len(ref), [type(layer).__name__ for layer in model.layers]
        try:
            _rule_out(found, ex6, model, x, y, close=_same, count=len(found), n=n)
            expect(len(found) == n, f"The model has {n} Dense layers, so the list should hold "
                   f"{n} norms; found {len(found)}. Pick the Dense layers with isinstance(layer, "
                   "keras.layers.Dense) (Flatten and normalisation layers do not count).")
            off = np.abs(np.log((np.abs(found) + 1e-30) / (np.array(ref) + 1e-30)))
            worst = int(np.argmax(off))
            raise CheckFailed(f"Dense layer {worst}: expected a gradient norm of "
                              f"{ref[worst]:.4g}, found {found[worst]:.4g}. The loss is the mean "
                              "sparse categorical cross-entropy of model(x) against y.")
        except CheckFailed as failure:
            raise CheckFailed(f"On a test model with layers {kinds}: {failure}") from None
    return (f"on a deep sigmoid test model the first layer's gradient is {ratio:.0f} times "
            "smaller than the output layer's.")


# --- exercise 7: a deep MLP that trains -------------------------------------------------------

DEEP_MLP = ModelSpec("deep_mlp", inputs=((28, 28),), max_params=PARAM_BUDGET,
                     trained_on="the scaled training images x_train_f")


@checker("deep_mlp", "a Keras model built with keras.Input(shape=(28, 28)), compiled and trained")
def check_deep_mlp(model) -> str:
    facts = check_trained_model(model, DEEP_MLP)
    hidden = _dense_layers(model)[:-1]
    expect(len(hidden) >= MIN_HIDDEN_LAYERS,
           f"`deep_mlp` has {len(hidden)} hidden Dense layers; this exercise is about depth: "
           f"use at least {MIN_HIDDEN_LAYERS} (before the Dense(10) output), and make them "
           "train with the right activation and initialiser.")
    activations = sorted({getattr(layer.activation, "__name__", "?") for layer in hidden})
    inits = sorted({type(layer.kernel_initializer).__name__ for layer in hidden})
    note = (" Note: every hidden layer is a sigmoid. Section 7 measured what that does to the "
            "gradient of the first layers: expect the accuracy check to miss the target with "
            "this budget.") if activations == ["sigmoid"] else ""
    return (f"{len(hidden)} hidden Dense layers ({', '.join(activations)}; {', '.join(inits)}). "
            + graded_later(facts) + note)


# --- the exercises: two hints each, and the known mistakes each checker rules out -------------

SEED_TANH = ("This is the seed article's formula 2h(2x-1): the -1 belongs outside the sigmoid, "
             "not inside its argument. tanh(x) = 2*sigmoid(2x) - 1: stretch the sigmoid's input "
             "by 2, its output by 2, then shift the output down by 1.")
ALL_SUMS = ("The whole batch sums to 1 (shape {shape}): the sum ran over all examples. Sum "
            "each row: axis=-1, keepdims=True.")
BIASES_IN = ("The biases' gradients are included: you returned {count} norms for {n} Dense "
             "layers. Take only each Dense layer's kernel (layer.kernel).")
MISSING = ("A Dense layer is missing: you returned {count} norms for {n} Dense layers. Every "
           "Dense layer counts, the output layer (and the first) included.")
L2 = np.linalg.norm


ex1 = Exercise(
    "sigmoid", check_sigmoid, is_function=True, hints=(
        "np.exp and the arithmetic operators act on every element of an array, so the formula "
        "written for one number works on a whole array as it is.",
        "Translate symbol by symbol: e to the power u is np.exp(u), the fraction one division. "
        "g(t) = 3 / (2 + t²) would be 3 / (2 + t ** 2). Check yours: 0.5 at 0, almost 1 for "
        "large x, almost 0 for very negative x."),
    mistakes=(
        Mistake(lambda x: _sigmoid(-x), "Your sigmoid is mirrored: it falls from 1 to 0, so you "
                "computed sigmoid(-x). The exponent needs a minus sign: 1 / (1 + exp(-x))."),
        Mistake(lambda x: _sigmoid(np.abs(x)), "Your sigmoid is never below 0.5: it treats "
                "negative inputs like positive ones.")))
ex2 = Exercise(
    "tanh", check_tanh, is_function=True, hints=(
        "Write the sigmoid out with np.exp, give it the doubled input, then scale and shift its "
        "output: tanh(x) = 2*sigmoid(2x) - 1.",
        "Three moves on 1 / (1 + e^(-u)): put u = 2x in the exponent, multiply the fraction by "
        "2, subtract 1 outside it (inside is the seed article's slip). Check: 0 at x = 0, 0.7616 "
        "at 1, -1 at -1000 (e^2000 overflows to inf, and 2 / (1 + inf) is 0)."),
    mistakes=(
        Mistake(lambda x: 2 * _sigmoid(2 * x - 1), SEED_TANH),
        Mistake(lambda x: 2 * _sigmoid(2 * x - 1) - 1, SEED_TANH),
        Mistake(lambda x: 2 * _sigmoid(x) - 1, "You computed 2*sigmoid(x) - 1, which is "
                "tanh(x/2): too flat. The sigmoid's input must be doubled as well."),
        Mistake(lambda x: 2 * _sigmoid(2 * x), "Your values run from 0 to 2: 2*sigmoid(2x) still "
                "has to be shifted down by 1, so that tanh runs from -1 to 1."),
        Mistake(lambda x: _sigmoid(2 * x), "Your values run from 0 to 1: that is sigmoid(2x). "
                "Stretch it to (-1, 1): tanh(x) = 2*sigmoid(2x) - 1."),
        Mistake(lambda x: 1 - 2 * _sigmoid(2 * x), "Your tanh has the wrong sign: tanh(x) is "
                "positive for positive x.")))
ex3 = Exercise(
    "relu", check_relus, functions=("relu", "leaky_relu"), hints=(
        "np.maximum keeps the larger of two values element by element; np.where(condition, a, "
        "b) takes a where the condition holds, b elsewhere. The default slope is 0.2.",
        "On an array t: capping it at 1 is np.minimum(t, 1); halving only its negative entries "
        "is np.where(t < 0, t / 2, t). ReLU is a floor at 0; Leaky ReLU multiplies only the "
        "negative inputs by negative_slope (default 0.2, keras.activations.leaky_relu's). Return "
        "new arrays: never assign into x."),
    mistakes=(
        Mistake(np.abs, "`relu` returned |x|: negative inputs must become 0, not change sign.",
                "relu"),
        Mistake(lambda x: np.minimum(x, 0), "`relu` kept the negatives and zeroed the "
                "positives: it is max(x, 0).", "relu"),
        Mistake(lambda x, negative_slope=LEAKY_SLOPE: np.maximum(x, 0), "Plain ReLU: {what} "
                "returned 0 for every negative input. Leaky ReLU keeps a small slope for "
                "negatives: negative_slope * x when x < 0.", "leaky_relu"),
        Mistake(lambda x, negative_slope=LEAKY_SLOPE: np.where(x > 0, negative_slope * x, x),
                "The slope is on the wrong side: {what} applied it to the positive inputs, "
                "which pass unchanged; only negative ones are multiplied.", "leaky_relu"),
        Mistake(lambda x, negative_slope=LEAKY_SLOPE: _leaky(x, -negative_slope), "Wrong sign: "
                "{what} made negative inputs positive; for x < 0 the output is negative_slope "
                "* x, a small negative number.", "leaky_relu"),
        Mistake(lambda x, negative_slope=0.01: _leaky(x, negative_slope), "A default slope "
                "of 0.01: that is PyTorch's. This exercise matches keras.activations.leaky_relu, "
                "whose default is negative_slope=0.2.", "leaky_relu"),
        Mistake(lambda x, negative_slope=0.3: _leaky(x, negative_slope), "A default slope of "
                "0.3: that is the layer keras.layers.LeakyReLU's. The function keras.activations"
                ".leaky_relu, which this exercise matches, defaults to negative_slope=0.2.",
                "leaky_relu"),
        Mistake(lambda x, negative_slope=LEAKY_SLOPE: _leaky(x, 0.01), "The slope 0.01 is "
                "fixed: {what} still used it. Use the `negative_slope` argument, not a fixed "
                "number.", "leaky_relu"),
        Mistake(lambda x, negative_slope=LEAKY_SLOPE: _leaky(x, 0.2), "The slope 0.2 is fixed: "
                "{what} used it whatever `negative_slope` says. Make 0.2 the argument's default, "
                "and use the argument.", "leaky_relu")))
ex4 = Exercise(
    "softmax", check_softmax, is_function=True, hints=(
        "Subtract each row's largest score (softmax(z - c) = softmax(z)), exponentiate, divide "
        "by each row's sum; both reductions over the last axis, kept for broadcasting.",
        "On t of shape (N, K), t.max(axis=-1) has shape (N,); with keepdims=True it is (N, 1) "
        "and broadcasts row by row: making each row of a positive w sum to 1 is w / w.sum("
        "axis=-1, keepdims=True). After the shift the largest exponent is e^0 = 1: no overflow."),
    mistakes=(
        Mistake(lambda x: _softmax(x, shift=False), "softmax([1000, 0, -1000]) gave nan: "
                "exp(1000) overflows to inf, and inf / inf is nan. That is the naive formula "
                "exp(x) / sum(exp(x)). Subtract the largest score first: softmax(x) = "
                "softmax(x - max(x)), so the largest exponent is exp(0) = 1."),
        Mistake(lambda x: np.exp(x - x.max(axis=-1, keepdims=True)), "Your outputs do not sum to "
                "1: you exponentiated but never divided: softmax is exp(x) / sum(exp(x))."),
        Mistake(lambda x: _softmax(x, shift=None), "The second row vanished: you subtracted the "
                "max of the whole batch (1000), so its exponents underflow to 0 and 0/0 = nan. "
                "Subtract each row's own max: x.max(axis=-1, keepdims=True)."),
        Mistake(lambda x: _softmax(x, 0, 0), "Each COLUMN of your output sums to 1 (shape "
                "{shape}): you normalised over axis 0 (the batch). Each row is one example: "
                "take the max and the sum over the last axis (axis=-1, keepdims=True)."),
        Mistake(lambda x: _softmax(x, -1, None), ALL_SUMS),
        Mistake(lambda x: _softmax(x, None, None), ALL_SUMS)))
ex5 = Exercise(
    "derivatives", check_derivatives,
    functions=("sigmoid_derivative", "tanh_derivative", "relu_derivative"), hints=(
        "The formulas are written in the activation's output: compute the activation of x "
        "first, then the slope from it. For ReLU, a comparison gives booleans: make them floats.",
        "The same move for f(x) = e^(3x), whose slope is 3·f(x): compute f = np.exp(3 * x) once, "
        "return 3 * f. The sigmoid's slope is its output times one minus its output, tanh's one "
        "minus its output squared: 0.25 and 1 at x = 0. Booleans become floats with .astype."),
    mistakes=(
        Mistake(lambda x: x * (1 - x), "sigmoid_derivative computed x * (1 - x): the formula "
                "s * (1 - s) uses s = sigmoid(x), the activation's output, not x itself.",
                "sigmoid_derivative"),
        Mistake(_sigmoid, "sigmoid_derivative returned sigmoid(x) itself; its derivative is "
                "s * (1 - s).", "sigmoid_derivative"),
        Mistake(lambda x: 1 - x ** 2, "tanh_derivative computed 1 - x**2: the formula 1 - t**2 "
                "uses t = tanh(x), not x (1 - x**2 goes negative for |x| > 1; a slope of tanh "
                "never does).", "tanh_derivative"),
        Mistake(lambda x: 1 - np.tanh(x), "tanh_derivative computed 1 - tanh(x): the tanh must "
                "be squared, 1 - tanh(x)**2.", "tanh_derivative"),
        Mistake(lambda x: _sigmoid(x) * (1 - _sigmoid(x)), "tanh_derivative returned the "
                "sigmoid's derivative; tanh's is 1 - tanh(x)**2.", "tanh_derivative"),
        Mistake(lambda x: np.maximum(x, 0), "relu_derivative returned relu(x) itself. The slope "
                "of max(x, 0) is 1 where x > 0 and 0 where x < 0: a step, not a ramp.",
                "relu_derivative"),
        Mistake(lambda x: (x < 0).astype(float), "relu_derivative is 1 for negative inputs: the "
                "step goes the other way, 1 where x > 0.", "relu_derivative")))
ex6 = Exercise(
    "gradient_norms", check_gradient_norms, is_function=True, hints=(
        "Keep the keras.layers.Dense layers (isinstance); compute the loss while a "
        "tf.GradientTape records; ask the tape for the gradients of the layers' kernels.",
        "The tape on one number: v = tf.Variable(3.0); compute y = v * v inside the tape's "
        "with-block; then the tape's gradient of y with respect to v is 6.0. Given a list of "
        "variables it returns their gradients in that order. tf.norm(g) is sqrt(sum(g**2)); "
        "float() makes it a number. Input layer first; no biases."),
    mistakes=(
        Mistake(_norms(lambda k, b, w: map(L2, k[::-1])), "Your norms are in reverse order: the "
                "first number should be the FIRST Dense layer's (next to the input), the last "
                "one the output layer's."),
        Mistake(_norms(lambda k, b, w: [L2(g) for pair in zip(k, b) for g in pair]), BIASES_IN),
        Mistake(_norms(lambda k, b, w: map(L2, k + b)), BIASES_IN),
        Mistake(_norms(lambda k, b, w: [np.hypot(L2(g), L2(h)) for g, h in zip(k, b)]),
                "Each of your norms mixes the kernel's and the bias's gradient. Use only the "
                "kernel: tape.gradient(loss, layer.kernel)."),
        Mistake(_norms(lambda k, b, w: map(L2, b)), "These are the norms of the biases' "
                "gradients; take each layer's kernel."),
        Mistake(_norms(lambda k, b, w: map(L2, w)), "These are the norms of the weights "
                "themselves, not of the loss's gradient with respect to them. Record the loss "
                "under tf.GradientTape and take tape.gradient(loss, kernels)."),
        Mistake(_norms(lambda k, b, w: [L2(g) ** 2 for g in k]), "These are squared norms: take "
                "the square root (tf.norm or np.linalg.norm)."),
        Mistake(_norms(lambda k, b, w: [np.abs(g).sum() for g in k]), "These are sums of "
                "absolute values (L1 norms); the L2 norm is sqrt(sum(g**2))."),
        Mistake(_norms(lambda k, b, w: map(L2, k), reduction="sum"), "Your norms are the batch "
                "size times too large: the loss was summed over the batch. Use the mean loss "
                "(what keras.losses.SparseCategoricalCrossentropy() gives by default)."),
        Mistake(_norms(lambda k, b, w: map(L2, k[:-1])), MISSING),
        Mistake(_norms(lambda k, b, w: map(L2, k[1:])), MISSING)))
ex7 = Exercise(
    "deep_mlp", check_deep_mlp, hints=(
        "Depth and training budget are given; your choice is each hidden layer's activation and "
        "kernel_initializer. Section 7's plot shows which pair keeps the gradient alive.",
        "Backwards, each layer multiplies the gradient by its activation's slope and its "
        "weights. A sigmoid's slope is at most 0.25: 8 layers, at most 0.25^8 ≈ 1.5e-5. ReLU's "
        "is 1 where active, and weights of variance 2 / n_in (He et al., 2015) make up for the "
        "half it zeroes. A Dense layer takes both: activation=..., kernel_initializer=..."))
