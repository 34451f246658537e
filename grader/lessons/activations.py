"""Lesson 04, activations: ``from grader.lessons.activations import *`` gives ``ex1`` .. ``ex7``.

Each checker compares with ``keras.activations`` / NumPy / ``tf.GradientTape`` on fresh random
inputs, tries the extreme inputs where naive formulas overflow, and names the seed article's
mistakes (tanh written as ``2h(2x-1)``, a softmax without the max subtracted) when it sees them.
Exercises 1-5 are NumPy by hand: a function that calls the library's own activation fails.
"""
from __future__ import annotations

import dis
import types

import numpy as np

from ..checks import training_steps
from ..feedback import CheckFailed, Exercise, call, expect
from ..quiet import import_tensorflow

__all__ = ["ex1", "ex2", "ex3", "ex4", "ex5", "ex6", "ex7"]

MIN_HIDDEN_LAYERS = 8
PARAM_BUDGET = 400_000


def _rng(seed=None) -> np.random.Generator:
    return np.random.default_rng(seed)  # unseeded by default: new inputs on every check


def _keras_activation(name: str, x: np.ndarray, **kwargs) -> np.ndarray:
    tf, keras = import_tensorflow()
    return np.asarray(getattr(keras.activations, name)(tf.convert_to_tensor(x), **kwargs))


# --- helpers: results, forbidden library calls ------------------------------------------------

def _result(fn, x, name: str, **kwargs) -> np.ndarray:
    """Call a student's NumPy function on ``x`` and insist on a NumPy array of x's shape."""
    tf, _ = import_tensorflow()
    before = np.array(x, copy=True)
    with np.errstate(all="ignore"):
        out = call(fn, x, name=name, **kwargs)
    if tf.is_tensor(out):
        raise CheckFailed(f"`{name}` returned a {type(out).__name__}. This exercise is NumPy by "
                          "hand: build the result from np.exp, np.maximum, np.where ... on the "
                          "NumPy array you are given, and return a NumPy array.")
    expect(isinstance(out, np.ndarray),
           f"`{name}` should return a NumPy array, found {type(out).__name__}. Use NumPy "
           "operations on the whole array (no Python loop, no list).")
    expect(np.array_equal(np.asarray(x), before, equal_nan=True),
           f"`{name}` changed the array it was given (an in-place operation such as x -= ... or "
           "x[x < 0] = 0). Compute a new array and leave the input as it was.")
    expect(out.shape == np.shape(x),
           f"`{name}` should keep the input's shape: an input of shape {np.shape(x)} gave "
           f"{out.shape}. An activation works element by element.")
    expect(np.issubdtype(out.dtype, np.floating),
           f"`{name}` should return floats, found dtype {out.dtype}.")
    return out


def _code_objects(code: types.CodeType):
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _code_objects(const)


def library_calls(fn, names: set[str]) -> set[str]:
    """The names in ``names`` that ``fn`` reaches in a library: ``np.tanh``, ``tf.nn.relu``,
    ``from numpy import tanh as th``... The student's own functions of that name are allowed."""
    code = getattr(fn, "__code__", None)
    if code is None:  # a built-in or a NumPy ufunc handed over as it is: tanh = np.tanh
        label = getattr(fn, "__name__", None)
        return {label} if label in names else set()
    home = getattr(fn, "__module__", None)
    glob = getattr(fn, "__globals__", {})
    found = set()
    for cell in getattr(fn, "__closure__", None) or ():  # names from an enclosing function
        try:
            target = cell.cell_contents
        except ValueError:  # an empty cell
            continue
        label = getattr(target, "__name__", None)
        if label in names and getattr(target, "__module__", None) != home:
            found.add(label)
    for obj in _code_objects(code):
        for ins in dis.get_instructions(obj):
            if not isinstance(ins.argval, str):
                continue
            if ins.opname in ("LOAD_ATTR", "LOAD_METHOD", "IMPORT_FROM") and ins.argval in names:
                found.add(ins.argval)
            elif ins.opname in ("LOAD_GLOBAL", "LOAD_NAME"):
                target = glob.get(ins.argval)
                label = getattr(target, "__name__", None)
                own = getattr(target, "__module__", None) == home and home is not None
                if label in names and not own:
                    found.add(label)
    return found


def _no_library(fn, name: str, names: set[str], advice: str) -> None:
    used = library_calls(fn, names)
    expect(not used, f"`{name}` calls a library's {', '.join(sorted(used))}. The point is to "
                     f"write it yourself: {advice}")


def _close(out, ref, rtol=1e-5, atol=1e-6) -> bool:
    return out.shape == ref.shape and bool(np.allclose(out, ref, rtol=rtol, atol=atol))


# --- exercise 1: sigmoid ----------------------------------------------------------------------

def _sigmoid(x):
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))


def check_sigmoid(fn, seed=None) -> str:
    rng = _rng(seed)
    _no_library(fn, "sigmoid", {"sigmoid", "expit"},
                "sigmoid(x) = 1 / (1 + np.exp(-x)).")
    for x in [rng.normal(0, 4, size=int(rng.integers(5, 20))),
              rng.normal(0, 3, size=(3, 4)).astype(np.float32),
              np.linspace(-8, 8, 17)]:
        x.flat[0], x.flat[-1] = -abs(x.flat[0]) - 0.5, abs(x.flat[-1]) + 0.5  # both signs
        out = _result(fn, x, "sigmoid")
        ref = _keras_activation("sigmoid", x)
        if _close(out, _sigmoid(-x), atol=1e-5):
            raise CheckFailed("Your sigmoid is mirrored: it falls from 1 to 0, so you computed "
                              "sigmoid(-x). The exponent needs a minus sign: 1 / (1 + exp(-x)).")
        expect(not _close(out, 1 / (1 + np.exp(-np.abs(x)))),
               "Your sigmoid is never below 0.5: it treats negative inputs like positive ones.")
        expect(out.min() >= 0 and out.max() <= 1,
               f"A sigmoid stays between 0 and 1; yours gave values from {out.min():.3g} to "
               f"{out.max():.3g}.")
        expect(_close(out, ref, atol=1e-5),
               f"sigmoid({np.round(x.flat[0], 3)}) should be {ref.flat[0]:.6f} (as "
               f"keras.activations.sigmoid says), yours gave {out.flat[0]:.6f}. "
               "The formula is 1 / (1 + exp(-x)).")
    extreme = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0])
    out = _result(fn, extreme, "sigmoid")
    expect(bool(np.all(np.isfinite(out))),
           f"sigmoid([-1000, -50, 0, 50, 1000]) gave {out}: nan or inf. For very negative x, "
           "exp(-x) overflows to inf, and 1 / (1 + inf) = 0 is still fine; do not divide inf by "
           "inf (as exp(x) / (1 + exp(x)) does).")
    expect(_close(out, np.array([0.0, 0.0, 0.5, 1.0, 1.0])),
           f"sigmoid([-1000, -50, 0, 50, 1000]) should be [0, 0, 0.5, 1, 1], found {out}.")
    return "matches keras.activations.sigmoid, between 0 and 1, finite at ±1000."


# --- exercise 2: tanh from sigmoid ------------------------------------------------------------

def check_tanh(fn, seed=None) -> str:
    rng = _rng(seed)
    _no_library(fn, "tanh", {"tanh"},
                "derive it from the sigmoid: tanh(x) = 2*sigmoid(2x) - 1, written with np.exp.")
    for x in [rng.normal(0, 2, size=int(rng.integers(5, 20))),
              rng.normal(0, 2, size=(4, 3)).astype(np.float32),
              np.linspace(-4, 4, 17)]:
        out = _result(fn, x, "tanh")
        ref = _keras_activation("tanh", x)
        if _close(out, 2 * _sigmoid(2 * x - 1)) or _close(out, 2 * _sigmoid(2 * x - 1) - 1):
            raise CheckFailed(
                "This is the seed article's formula 2h(2x-1): the -1 belongs outside the "
                "sigmoid, not inside its argument. tanh(x) = 2*sigmoid(2x) - 1: stretch the "
                "sigmoid's input by 2, its output by 2, then shift the output down by 1.")
        expect(not _close(out, 2 * _sigmoid(x) - 1),
               "You computed 2*sigmoid(x) - 1, which is tanh(x/2): too flat. The sigmoid's "
               "input must be doubled as well: tanh(x) = 2*sigmoid(2x) - 1.")
        expect(not _close(out, 2 * _sigmoid(2 * x)),
               "Your values run from 0 to 2: 2*sigmoid(2x) still has to be shifted down by 1. "
               "tanh(x) = 2*sigmoid(2x) - 1 runs from -1 to 1.")
        expect(not _close(out, _sigmoid(2 * x)),
               "Your values run from 0 to 1: that is sigmoid(2x). Stretch it to (-1, 1): "
               "tanh(x) = 2*sigmoid(2x) - 1.")
        expect(not _close(out, -ref),
               "Your tanh has the wrong sign: tanh(x) is positive for positive x.")
        expect(_close(out, ref, atol=1e-5),
               f"tanh({np.round(x.flat[0], 3)}) should be {ref.flat[0]:.6f} (as "
               f"keras.activations.tanh says), yours gave {out.flat[0]:.6f}. "
               "Use tanh(x) = 2*sigmoid(2x) - 1.")
    extreme = np.array([-1000.0, -20.0, 0.0, 20.0, 1000.0])
    out = _result(fn, extreme, "tanh")
    expect(bool(np.all(np.isfinite(out))),
           f"tanh([-1000, -20, 0, 20, 1000]) gave {out}. (exp(x) - exp(-x)) / (exp(x) + exp(-x)) "
           "overflows to inf / inf = nan for large |x|. Write it as 2 / (1 + exp(-2x)) - 1: "
           "there an overflow only makes a term 0.")
    expect(_close(out, np.array([-1.0, -1.0, 0.0, 1.0, 1.0])),
           f"tanh([-1000, -20, 0, 20, 1000]) should be [-1, -1, 0, 1, 1], found {out}.")
    return "tanh(x) = 2*sigmoid(2x) - 1, matches keras.activations.tanh, finite at ±1000."


# --- exercise 3: ReLU and Leaky ReLU ----------------------------------------------------------

def check_relus(functions, seed=None) -> str:
    try:
        relu, leaky_relu = functions
    except (TypeError, ValueError):
        raise CheckFailed("Exercise 3 needs two functions: `relu` and `leaky_relu`.") from None
    for fn, name in ((relu, "relu"), (leaky_relu, "leaky_relu")):
        expect(callable(fn), f"`{name}` should be a function (defined with `def`), "
                             f"found {type(fn).__name__}.")
        _no_library(fn, name, {"relu", "leaky_relu", "ReLU", "LeakyReLU", "relu6"},
                    "np.maximum and np.where are all you need.")
    rng = _rng(seed)
    for x in [rng.normal(0, 3, size=int(rng.integers(6, 20))),
              rng.normal(0, 3, size=(3, 5)).astype(np.float32)]:
        x.flat[0], x.flat[1] = -abs(x.flat[0]) - 0.5, abs(x.flat[1]) + 0.5
        out = _result(relu, x, "relu")
        expect(not _close(out, np.abs(x)),
               "`relu` returned |x|: negative inputs must become 0, not change sign.")
        expect(not _close(out, np.minimum(x, 0)),
               "`relu` kept the negatives and zeroed the positives: it is max(x, 0).")
        expect(_close(out, _keras_activation("relu", x)),
               f"relu({x.flat[0]:.3f}) should be 0 and relu({x.flat[1]:.3f}) should be "
               f"{x.flat[1]:.3f}; yours gave {out.flat[0]:.3f} and {out.flat[1]:.3f}. "
               "relu(x) = max(x, 0), element by element: np.maximum(x, 0).")

        for slope in (None, 0.2, float(np.round(rng.uniform(0.05, 0.5), 3))):
            kwargs = {} if slope is None else {"negative_slope": slope}
            a = 0.01 if slope is None else slope
            what = "leaky_relu(x)" if slope is None else f"leaky_relu(x, negative_slope={a})"
            out = _result(leaky_relu, x, "leaky_relu", **kwargs)
            ref = np.where(x > 0, x, a * x)
            expect(not _close(out, np.maximum(x, 0)),
                   f"{what} returned 0 for every negative input: that is plain ReLU. Leaky ReLU "
                   "keeps a small slope for negatives: negative_slope * x when x < 0.")
            expect(not _close(out, np.where(x > 0, a * x, x)),
                   f"{what} applied the slope to the positive inputs. Positive inputs pass "
                   "unchanged; only negative ones are multiplied by negative_slope.")
            expect(not _close(out, np.where(x > 0, x, a * np.abs(x))),
                   f"{what} made negative inputs positive. For x < 0 the output is "
                   "negative_slope * x, a small negative number.")
            if slope is not None and not np.isclose(a, 0.01):
                expect(not _close(out, np.where(x > 0, x, 0.01 * x)),
                       f"{what} still used the slope 0.01: use the `negative_slope` argument, "
                       "not a fixed number.")
            expect(_close(out, ref),
                   f"{what} should be x for x > 0 and {a} * x for x < 0 (as "
                   "keras.activations.leaky_relu says); yours differs, e.g. at "
                   f"x = {x.flat[0]:.3f}: expected {ref.flat[0]:.4f}, found {out.flat[0]:.4f}.")
    ref = _keras_activation("leaky_relu", x, negative_slope=0.2)
    expect(_close(_result(leaky_relu, x, "leaky_relu", negative_slope=0.2), ref),
           "leaky_relu does not match keras.activations.leaky_relu(x, negative_slope=0.2).")
    return ("relu = max(x, 0); leaky_relu keeps negative_slope * x for negatives (0.01 by "
            "default), matching keras.activations.")


# --- exercise 4: softmax ----------------------------------------------------------------------

def _softmax_ref(x):
    z = x - x.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def check_softmax(fn, seed=None) -> str:
    rng = _rng(seed)
    _no_library(fn, "softmax", {"softmax", "log_softmax", "Softmax"},
                "exponentiate (after subtracting the max) and divide by the sum.")
    x = rng.normal(0, 3, size=int(rng.integers(4, 12)))
    out = _result(fn, x, "softmax")
    expect(_close(out, _softmax_ref(x)),
           f"For one vector of scores softmax should give exp(x) / sum(exp(x)); yours differs "
           f"(sum of your outputs: {out.sum():.4f}).")

    extreme = np.array([1000.0, 0.0, -1000.0])
    out = _result(fn, extreme, "softmax")
    expect(bool(np.all(np.isfinite(out))),
           f"softmax([1000, 0, -1000]) gave {out}: exp(1000) overflows to inf, and inf / inf is "
           "nan. That is the naive formula exp(x) / sum(exp(x)). Subtract the largest score "
           "first: softmax(x) = softmax(x - max(x)), so the largest exponent is exp(0) = 1.")
    expect(_close(out, np.array([1.0, 0.0, 0.0])),
           f"softmax([1000, 0, -1000]) should be [1, 0, 0], found {out}.")

    n, k = int(rng.integers(3, 7)), int(rng.integers(7, 11))  # n != k: axis mistakes show
    batch = rng.normal(0, 3, size=(n, k))
    try:
        out = _result(fn, batch, "softmax")
    except CheckFailed as failure:
        if "broadcast" in str(failure):
            raise CheckFailed(f"{failure}\nOn a batch of shape {batch.shape} the max and the sum "
                              "must be taken per row and keep their axis for broadcasting: "
                              "axis=-1, keepdims=True.") from None
        raise
    ref = _softmax_ref(batch)
    if not _close(out, ref):
        expect(not np.allclose(out.sum(axis=0), 1),
               f"On a batch of shape {batch.shape} each COLUMN of your output sums to 1: you "
               "normalised over axis 0 (the batch). Each row is one example: take the max and "
               "the sum over the last axis (axis=-1, keepdims=True).")
        expect(not np.isclose(out.sum(), 1),
               f"On a batch of shape {batch.shape} the whole batch sums to 1: the sum ran over "
               "all examples. Sum each row: axis=-1, keepdims=True.")
        raise CheckFailed(f"On a batch of shape {batch.shape} each row should be the softmax of "
                          "that row; yours differs. Use axis=-1 with keepdims=True for the max "
                          "and the sum.")
    wide = np.array([[1000.0, 999.0, 998.0], [0.0, -1.0, -2.0]])
    out = _result(fn, wide, "softmax")
    expect(bool(np.all(np.isfinite(out))) and _close(out, _softmax_ref(wide)),
           f"softmax of the batch [[1000, 999, 998], [0, -1, -2]] gave {np.round(out, 4)}. The "
           "second row vanished: you subtracted the max of the whole batch (1000), so its "
           "exponents underflow to 0 and 0/0 = nan. Subtract each row's own max: "
           "x.max(axis=-1, keepdims=True).")
    flat = np.full((2, 5), 1e4)
    out = _result(fn, flat, "softmax")
    expect(bool(np.all(np.isfinite(out))) and _close(out, np.full((2, 5), 0.2)),
           f"Rows of equal scores 1e4 should give 0.2 each, found {out[0]}.")
    cube = rng.normal(0, 5, size=(2, 3, 4)).astype(np.float32)
    out = _result(fn, cube, "softmax")
    expect(_close(out, _keras_activation("softmax", cube, axis=-1), atol=1e-5),
           "On a (2, 3, 4) input softmax should normalise over the last axis (as "
           "keras.activations.softmax does); yours differs.")
    return "rows of probabilities summing to 1, stable for scores of ±1000 and 1e4."


# --- exercise 5: derivatives ------------------------------------------------------------------

def _tape_derivative(name: str, x: np.ndarray) -> np.ndarray:
    tf, keras = import_tensorflow()
    v = tf.Variable(x)
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(getattr(keras.activations, name)(v))
    return tape.gradient(y, v).numpy()


def check_derivatives(functions, seed=None) -> str:
    try:
        d_sigmoid, d_tanh, d_relu = functions
    except (TypeError, ValueError):
        raise CheckFailed("Exercise 5 needs three functions: `sigmoid_derivative`, "
                          "`tanh_derivative` and `relu_derivative`.") from None
    names = ("sigmoid_derivative", "tanh_derivative", "relu_derivative")
    for fn, name in zip(functions, names):
        expect(callable(fn), f"`{name}` should be a function, found {type(fn).__name__}.")
        _no_library(fn, name, {"GradientTape", "gradient", "grad", "jacobian"},
                    "work out the derivative on paper and write the formula with NumPy.")
    rng = _rng(seed)
    x = rng.normal(0, 3, size=int(rng.integers(8, 20)))
    x[np.abs(x) < 1e-3] = 0.5  # keep away from ReLU's kink
    x[0], x[1] = -abs(x[0]) - 0.5, abs(x[1]) + 0.5  # both signs, always
    s, t = _sigmoid(x), np.tanh(x)

    out = _result(d_sigmoid, x, "sigmoid_derivative")
    expect(not _close(out, x * (1 - x)),
           "sigmoid_derivative computed x * (1 - x): the formula s * (1 - s) uses s = "
           "sigmoid(x), the activation's output, not x itself.")
    expect(not _close(out, s),
           "sigmoid_derivative returned sigmoid(x) itself; its derivative is s * (1 - s).")
    ref = _tape_derivative("sigmoid", x)
    expect(_close(out, ref),
           f"sigmoid_derivative({x[0]:.3f}) should be {ref[0]:.6f} (tf.GradientTape's "
           f"answer), yours gave {out[0]:.6f}. d/dx sigmoid(x) = s * (1 - s), s = sigmoid(x).")
    peak = _result(d_sigmoid, np.array([0.0]), "sigmoid_derivative")
    expect(np.isclose(peak[0], 0.25), f"sigmoid_derivative(0) should be 0.25, found {peak[0]}.")

    out = _result(d_tanh, x, "tanh_derivative")
    expect(not _close(out, 1 - x ** 2),
           "tanh_derivative computed 1 - x**2: the formula 1 - t**2 uses t = tanh(x), not x "
           "(1 - x**2 goes negative for |x| > 1; a slope of tanh never does).")
    expect(not _close(out, 1 - t),
           "tanh_derivative computed 1 - tanh(x): the tanh must be squared, 1 - tanh(x)**2.")
    expect(not _close(out, s * (1 - s)),
           "tanh_derivative returned the sigmoid's derivative; tanh's is 1 - tanh(x)**2.")
    ref = _tape_derivative("tanh", x)
    expect(_close(out, ref),
           f"tanh_derivative({x[0]:.3f}) should be {ref[0]:.6f} (tf.GradientTape's answer), "
           f"yours gave {out[0]:.6f}. d/dx tanh(x) = 1 - tanh(x)**2.")

    out = _result(d_relu, x, "relu_derivative")
    expect(not _close(out, np.maximum(x, 0)),
           "relu_derivative returned relu(x) itself. The slope of max(x, 0) is 1 where x > 0 "
           "and 0 where x < 0: a step, not a ramp.")
    expect(not _close(out, (x < 0).astype(float)),
           "relu_derivative is 1 for negative inputs: the step goes the other way, 1 where x > 0.")
    ref = _tape_derivative("relu", x)
    expect(_close(out, ref),
           f"relu_derivative should be 1 where x > 0 and 0 where x < 0 (tf.GradientTape's "
           f"answer); yours differs, e.g. at x = {x[0]:.3f}: expected {ref[0]:g}, found "
           f"{out[0]:g}.")
    return ("all three match tf.GradientTape; the sigmoid's slope is at most 0.25, tanh's at "
            "most 1, ReLU's exactly 1 for every positive input.")


# --- exercise 6: per-layer gradient norms -----------------------------------------------------

def _dense_layers(model):
    _, keras = import_tensorflow()
    return [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]


def _reference_gradients(model, x, y):
    tf, keras = import_tensorflow()
    dense = _dense_layers(model)
    with tf.GradientTape() as tape:
        loss = keras.losses.SparseCategoricalCrossentropy()(y, model(x, training=False))
    grads = tape.gradient(loss, [d.kernel for d in dense] + [d.bias for d in dense])
    n = len(dense)
    return ([g.numpy() for g in grads[:n]], [g.numpy() for g in grads[n:]],
            [d.kernel.numpy() for d in dense])


def _checker_models(rng):
    _, keras = import_tensorflow()
    layers = keras.layers
    depth = int(rng.integers(5, 8))
    sig = [keras.Input(shape=(12, 12)), layers.Flatten()]
    sig += [layers.Dense(24, activation="sigmoid") for _ in range(depth)]
    relu = [keras.Input(shape=(144,))]
    relu += [layers.Dense(32, activation="relu", kernel_initializer="he_normal")
             for _ in range(4)]
    relu += [layers.LayerNormalization(), layers.Dense(16, activation="tanh")]
    models = []
    for stack in (sig, relu):
        model = keras.Sequential(stack + [layers.Dense(10, activation="softmax")])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        models.append(model)
    return models


def _as_floats(result) -> list[float]:
    tf, _ = import_tensorflow()
    expect(not isinstance(result, (str, bytes, dict)) and hasattr(result, "__len__"),
           f"`gradient_norms` should return a list of numbers, found {type(result).__name__}.")
    values = list(result)
    for i, v in enumerate(values):
        if tf.is_tensor(v):
            raise CheckFailed(f"Element {i} of the list is a {type(v).__name__}; return plain "
                              "numbers: float(tf.norm(g)).")
        expect(isinstance(v, (float, np.floating)),
               f"Element {i} of the list is a {type(v).__name__}; each norm should be a float.")
    return [float(v) for v in values]


def _norms_verdict(found, kernels_g, biases_g, kernels, n_images):
    ref = [float(np.linalg.norm(g)) for g in kernels_g]
    n = len(ref)

    def same(a, b):
        return len(a) == len(b) and np.allclose(a, b, rtol=2e-3, atol=1e-9)

    if same(found, ref):
        return None
    if same(found, ref[::-1]):
        return ("Your norms are in reverse order: the first number should be the FIRST Dense "
                "layer's (next to the input), the last one the output layer's.")
    if len(found) == 2 * n:
        return (f"You returned {len(found)} norms for {n} Dense layers: the biases' gradients "
                "are included. Take only each Dense layer's kernel (layer.kernel).")
    combined = [float(np.sqrt(np.sum(k ** 2) + np.sum(b ** 2))) for k, b in zip(kernels_g, biases_g)]
    if same(found, combined):
        return ("Each of your norms mixes the kernel's and the bias's gradient. Use only the "
                "kernel: tape.gradient(loss, layer.kernel).")
    if same(found, [float(np.linalg.norm(b)) for b in biases_g]):
        return "These are the norms of the biases' gradients; take each layer's kernel."
    if same(found, [float(np.linalg.norm(k)) for k in kernels]):
        return ("These are the norms of the weights themselves, not of the loss's gradient "
                "with respect to them. Record the loss under tf.GradientTape and take "
                "tape.gradient(loss, kernels).")
    if same(found, [r ** 2 for r in ref]):
        return "These are squared norms: take the square root (tf.norm or np.linalg.norm)."
    if same(found, [float(np.abs(g).sum()) for g in kernels_g]):
        return "These are sums of absolute values (L1 norms); the L2 norm is sqrt(sum(g**2))."
    if same(found, [r * n_images for r in ref]):
        return ("Your norms are the batch size times too large: the loss was summed over the "
                "batch. Use the mean loss (what keras.losses.SparseCategoricalCrossentropy() "
                "gives by default).")
    if len(found) == n - 1 and (same(found, ref[:-1]) or same(found, ref[1:])):
        return (f"You returned {len(found)} norms for {n} Dense layers: every Dense layer "
                "counts, the output layer (and the first) included.")
    if len(found) != n:
        return (f"The model has {n} Dense layers, so the list should hold {n} norms; found "
                f"{len(found)}. Pick the Dense layers with isinstance(layer, keras.layers.Dense) "
                "(Flatten and normalisation layers do not count).")
    worst = int(np.argmax(np.abs(np.log((np.abs(found) + 1e-30) / (np.array(ref) + 1e-30)))))
    return (f"Dense layer {worst}: expected a gradient norm of {ref[worst]:.4g}, found "
            f"{found[worst]:.4g}. The loss is the mean sparse categorical cross-entropy of "
            "model(x) against y.")


def check_gradient_norms(fn, seed=None) -> str:
    rng = _rng(seed)
    summary = []
    for model in _checker_models(rng):
        n_images = int(rng.integers(24, 48))
        shape = tuple(model.inputs[0].shape[1:])
        x = rng.random((n_images, *shape)).astype(np.float32)
        y = rng.integers(0, 10, n_images)
        kernels_g, biases_g, kernels = _reference_gradients(model, x, y)
        found = _as_floats(call(fn, model, x, y, name="gradient_norms"))
        verdict = _norms_verdict(found, kernels_g, biases_g, kernels, n_images)
        if verdict:
            kinds = [type(layer).__name__ for layer in model.layers]
            raise CheckFailed(f"On a test model with layers {kinds}: {verdict}")
        summary.append(found)
    first, last = summary[0][0], summary[0][-1]
    return (f"on a deep sigmoid test model the first layer's gradient is {last / first:.0f} "
            "times smaller than the output layer's.")


# --- exercise 7: a deep MLP that trains -------------------------------------------------------

def _hidden_dense(model):
    return _dense_layers(model)[:-1]


def check_deep_mlp(model) -> str:
    from .. import checks

    checks.assert_keras_model(model, "deep_mlp")
    checks.assert_input_shape(model, (28, 28), "deep_mlp")
    checks.assert_output_shape(model, (10,), "deep_mlp")
    checks.assert_softmax_output(model, "deep_mlp")
    checks.assert_no_custom_code(model, "deep_mlp")
    hidden = _hidden_dense(model)
    expect(len(hidden) >= MIN_HIDDEN_LAYERS,
           f"`deep_mlp` has {len(hidden)} hidden Dense layers; this exercise is about depth: "
           f"use at least {MIN_HIDDEN_LAYERS} (before the Dense(10) output), and make them "
           "train with the right activation and initialiser.")
    checks.assert_param_budget(model, PARAM_BUDGET, "deep_mlp")
    steps = training_steps(model)
    expect(steps > 0, "`deep_mlp` has not been trained yet: compile it, then fit it on the "
                      "scaled training images.")
    activations = sorted({getattr(layer.activation, "__name__", "?") for layer in hidden})
    inits = sorted({type(layer.kernel_initializer).__name__ for layer in hidden})
    note = ""
    if activations == ["sigmoid"]:
        note = (" Note: every hidden layer is a sigmoid. Section 7 measured what that does to "
                "the gradient of the first layers: expect the accuracy check to miss the "
                "target with this budget.")
    return (f"{len(hidden)} hidden Dense layers ({', '.join(activations)}; "
            f"{', '.join(inits)}), trained for {steps} steps. The grader measures its test "
            "accuracy when this cell is graded." + note)


ex1 = Exercise(
    "sigmoid", check_sigmoid, is_function=True,
    hint="One line of NumPy: 1 / (1 + np.exp(-x)). It works on whole arrays at once.")
ex2 = Exercise(
    "tanh", check_tanh, is_function=True,
    hint="tanh(x) = 2*sigmoid(2x) - 1. Write the sigmoid out with np.exp, with the input "
         "doubled: 2 / (1 + np.exp(-2 * x)) - 1.")
ex3 = Exercise(
    "relu", check_relus, functions=("relu", "leaky_relu"),
    hint="relu: np.maximum(x, 0). leaky_relu: np.where(x > 0, x, negative_slope * x); the "
         "slope multiplies only the negative inputs.")
ex4 = Exercise(
    "softmax", check_softmax, is_function=True,
    hint="z = x - x.max(axis=-1, keepdims=True); e = np.exp(z); divide e by its sum over "
         "axis=-1 (keepdims=True again, so a batch of rows broadcasts).")
ex5 = Exercise(
    "derivatives", check_derivatives,
    functions=("sigmoid_derivative", "tanh_derivative", "relu_derivative"),
    hint="With s = 1 / (1 + np.exp(-x)): s * (1 - s). With t = np.tanh(x): 1 - t**2. For ReLU "
         "a step: (x > 0).astype(float).")
ex6 = Exercise(
    "gradient_norms", check_gradient_norms, is_function=True,
    hint="dense = [l for l in model.layers if isinstance(l, keras.layers.Dense)]; under "
         "`with tf.GradientTape() as tape:` compute the loss "
         "keras.losses.SparseCategoricalCrossentropy()(y, model(x)); then "
         "tape.gradient(loss, [l.kernel for l in dense]) and float(tf.norm(g)) for each.")
ex7 = Exercise(
    "deep_mlp", check_deep_mlp,
    hint="Same depth, different activation: ReLU layers with kernel_initializer='he_normal' "
         "pass the gradient down through 8 layers; sigmoid layers with the default "
         "(Glorot) initialiser shrink it at every layer.")
