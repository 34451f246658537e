"""Lesson 01 (tensors): checkers and hints for ``ex1`` .. ``ex6``.

Every checker tests properties on fresh random inputs (so a hard-coded answer fails) and, where
a seed article went wrong, names that mistake in its message.
"""
from __future__ import annotations

import numbers

import numpy as np

from ..feedback import CheckFailed, Exercise, call, expect

__all__ = ["ex1", "ex2", "ex3", "ex4", "ex5", "ex6"]


def _tf():
    from ..quiet import import_tensorflow

    return import_tensorflow()[0]


def _rng() -> np.random.Generator:
    return np.random.default_rng()  # unseeded on purpose: new inputs on every check


def _pixels(rng, *shape) -> np.ndarray:
    x = rng.integers(0, 256, size=shape, dtype=np.uint8)
    x.flat[0], x.flat[-1] = 0, 255  # the full range is always present
    return x


def _array_result(result, name: str) -> np.ndarray:
    if _tf().is_tensor(result):
        raise CheckFailed(f"`{name}` returned a {type(result).__name__}; this exercise wants a NumPy "
                          "array. Convert a tensor with `.numpy()` (or stay in NumPy throughout).")
    expect(isinstance(result, np.ndarray),
           f"`{name}` should return a NumPy array, found {type(result).__name__}.")
    return result


def _unchanged(before: np.ndarray, after, name: str) -> None:
    expect(np.array_equal(np.asarray(after), before),
           f"`{name}` changed the array it was given. Return a new array and leave the input as it "
           "was: other code (and the next cell) still uses the original.")


# ---- ex1: rank, shape and dtype --------------------------------------------------------------
def _describe_cases(rng):
    tf = _tf()
    n = int(rng.integers(2, 40))
    return [
        ("a single pixel (a rank-0 NumPy array)", np.array(rng.integers(0, 256), dtype=np.uint8)),
        ("a row of 28 pixels", rng.random(28).astype(np.float32)),
        ("one 28x28 image", _pixels(rng, 28, 28)),
        (f"a batch of {n} images", _pixels(rng, n, 28, 28)),
        (f"a batch of {n} images with a channel axis", rng.random((n, 28, 28, 1)).astype(np.float32)),
        (f"{n} integer labels", rng.integers(0, 10, n).astype(np.int64)),
        ("a tf.Tensor scalar", tf.constant(float(rng.random()), dtype=tf.float64)),
        (f"a tf.Tensor of {n} labels", tf.constant(rng.integers(0, 10, n), dtype=tf.int32)),
        (f"a tf.Tensor of {n} one-hot rows", tf.one_hot(rng.integers(0, 10, n), 10)),
        ("a rank-4 tf.Tensor", tf.zeros((n, 28, 28, 1), dtype=tf.uint8)),
    ]


def _check_describe(fn) -> str:
    for what, t in _describe_cases(_rng()):
        shape = tuple(int(d) for d in np.shape(t))
        dtype = t.dtype.name if hasattr(t.dtype, "name") else str(t.dtype)
        result = call(fn, t, name="describe_tensor")
        expect(isinstance(result, (tuple, list)) and len(result) == 3,
               f"`describe_tensor` should return a tuple `(rank, shape, dtype_name)`, "
               f"found {result!r}.")
        rank, got_shape, got_dtype = result
        expect(isinstance(rank, numbers.Integral) and not isinstance(rank, bool) and rank == len(shape),
               f"For {what} (shape {shape}) the rank is {len(shape)}, found {rank!r}. The rank is the "
               "number of axes: `t.ndim`, or `len(t.shape)`." +
               (" A scalar has rank 0 and shape ()." if not shape else ""))
        expect(type(got_shape) is tuple,
               f"For {what} the shape should be a plain tuple like {shape}, found "
               f"{type(got_shape).__name__} {got_shape!r}. A tf.Tensor's `.shape` is a TensorShape: "
               "convert it with `tuple(t.shape)`.")
        expect(got_shape == shape and all(isinstance(d, numbers.Integral) for d in got_shape),
               f"For {what} the shape is {shape}, found {got_shape!r}.")
        expect(isinstance(got_dtype, str),
               f"For {what} the dtype should be its name as a string ({dtype!r}), found "
               f"{type(got_dtype).__name__} {got_dtype!r}. Try `t.dtype.name`.")
        expect(got_dtype == dtype,
               f"For {what} the dtype name is {dtype!r}, found {got_dtype!r}. `t.dtype.name` gives "
               "the bare name for NumPy arrays and tf.Tensors alike (`str(t.dtype)` does not).")
    return "rank, shape and dtype right for NumPy arrays and tf.Tensors of rank 0 to 4"


ex1 = Exercise("describe_tensor", _check_describe, is_function=True, hint=(
    "Three attributes answer it: `.ndim` (or the length of `.shape`), `.shape` and `.dtype`. "
    "A tf.Tensor's shape is a TensorShape and its dtype a tf.DType, so convert them: a tuple "
    "for the shape, the dtype's `.name` for the dtype."))


# ---- ex2: flatten (N, 28, 28) -> (N, 784) ----------------------------------------------------
def _flatten_once(fn, x: np.ndarray) -> np.ndarray:
    before = x.copy()
    n = len(x)
    try:
        result = call(fn, x, name="flatten_images")
    except CheckFailed as failure:
        if "cannot reshape" in str(failure):
            raise CheckFailed(f"{failure}\nThis batch had {n} images. Did you write the number of "
                              "images into the code (like the seeds' `reshape(60000, 784)`)? Let "
                              "NumPy work it out: `-1` in a shape means 'whatever is left'.") from None
        raise
    _unchanged(before, x, "flatten_images")
    result = _array_result(result, "flatten_images")
    expect(result.ndim != 1,
           f"`flatten_images` returned one long vector of shape {result.shape}: it flattened the "
           f"batch axis too. Keep one row per image: the result should be ({n}, 784).")
    expect(result.shape != (784, n) or n == 784,
           f"`flatten_images` returned shape {result.shape}: the axes are the wrong way round. The "
           f"batch axis comes first: ({n}, 784), one row per image.")
    expect(result.shape == (n, 784),
           f"For {n} images of 28x28, `flatten_images` should return shape ({n}, 784), "
           f"found {result.shape}.")
    expect(result.dtype == x.dtype,
           f"Flattening changes only the shape, not the values: the input was {x.dtype}, the "
           f"result is {result.dtype}. Converting and scaling is `normalise_images`' job.")
    for i in (0, n - 1):
        expect(np.array_equal(result[i], x[i].ravel()),
               f"Row {i} of the result is not image {i}'s pixels read row by row. Did you transpose "
               "or reorder axes? A plain reshape keeps NumPy's row-by-row (C) order.")
    expect(np.array_equal(result, x.reshape(n, -1)), "Some rows hold the wrong image's pixels.")
    return result


def _check_flatten(fn) -> str:
    rng = _rng()
    for n in (int(rng.integers(2, 64)), 1, int(rng.integers(100, 300))):
        _flatten_once(fn, _pixels(rng, n, 28, 28))
    _flatten_once(fn, rng.random((int(rng.integers(2, 20)), 28, 28)).astype(np.float32))
    return "any number of images, pixel order and dtype kept"


ex2 = Exercise("flatten_images", _check_flatten, is_function=True, hint=(
    "`x.reshape(...)` with two numbers: the number of images and 28*28. You do not know the "
    "number of images in advance (60,000 for the training set, 10,000 for the test set, 1 for a "
    "single digit, anything for a slice), so let NumPy infer that one "
    "with -1."))


# ---- ex3: normalise once ---------------------------------------------------------------------
def _check_normalise(fn) -> str:
    rng = _rng()
    n = int(rng.integers(2, 50))
    x = _pixels(rng, n, 28, 28)
    before = x.copy()
    result = call(fn, x, name="normalise_images")
    _unchanged(before, x, "normalise_images")
    result = _array_result(result, "normalise_images")
    expect(result.shape == x.shape,
           f"Normalising keeps the shape: expected {x.shape}, found {result.shape}.")
    expect(result.dtype != np.float64,
           "The result is float64: that is what `x / 255` gives in NumPy, and it takes twice the "
           "memory of float32, the dtype Keras computes in. Convert first: `x.astype('float32') / 255`.")
    expect(result.dtype == np.float32,
           f"The result should be float32, found {result.dtype}. Integer pixels divided by 255 "
           "would all become 0 or 1.")
    top = float(result.max())
    expect(not np.isclose(top, 1 / 255, atol=1e-6),
           f"The largest value is {top:.4f} = 1/255: the pixels were divided by 255 twice (seed "
           "000's mistake). Divide once.")
    expect(not np.isclose(top, 255.0),
           "The values still go up to 255: divide by 255 to bring them into [0, 1].")
    expect(np.allclose(result, x / 255.0, atol=1e-6),
           f"Expected each pixel divided by 255 (0 -> 0.0, 255 -> 1.0); found values from "
           f"{float(result.min()):.4f} to {top:.4f}.")
    expect(float(result.min()) >= 0.0 and top <= 1.0, "Values must lie in [0, 1].")

    dark = rng.integers(0, 2, size=(3, 28, 28), dtype=np.uint8)  # raw pixels that happen to be <= 1
    try:
        dark_result = fn(dark)
    except ValueError:
        raise CheckFailed(
            "`normalise_images` refused a uint8 batch whose pixels are all 0 or 1. Those are raw "
            "pixels of a very dark image, not normalised data: decide by the dtype (uint8 = raw "
            "pixels), not by the values.") from None
    except Exception as error:
        raise CheckFailed(f"`normalise_images` raised {type(error).__name__} on a dark uint8 "
                          f"batch: {error}") from None
    expect(np.allclose(np.asarray(dark_result), dark / 255.0, atol=1e-6),
           "A dark uint8 batch (pixels 0 and 1) should become 0.0 and 1/255.")

    for done in ((x / 255.0).astype(np.float32), x / 255.0):  # float32 and float64, in [0, 1]
        copy = done.copy()
        try:
            again = fn(done)
        except ValueError as error:
            expect(len(str(error).strip()) >= 10,
                   "Good, it raised ValueError, but with no explanation. Say what was wrong: "
                   "e.g. that the pixels are already float and look normalised.")
            _unchanged(copy, done, "normalise_images")
            continue
        except Exception as error:
            raise CheckFailed(
                f"Given {done.dtype} pixels already in [0, 1], `normalise_images` raised "
                f"{type(error).__name__}; raise ValueError instead (an `assert` disappears when "
                "Python runs with -O, and callers catch ValueError for bad input).") from None
        again_top = float(np.max(np.asarray(again)))
        raise CheckFailed(
            f"Given {done.dtype} pixels that are already in [0, 1], `normalise_images` returned "
            f"values up to {again_top:.4f} instead of refusing. That is the double-division trap "
            "of seed 000: raise ValueError when `x` is not uint8.")
    return "float32 in [0, 1], input untouched, and normalised data refused"


ex3 = Exercise("normalise_images", _check_normalise, is_function=True, hint=(
    "Two steps: first look at `x.dtype` and raise ValueError('...') unless it is np.uint8; then "
    "convert to float32 with `.astype(...)` and divide by 255. `astype` returns a new array, so "
    "the input stays as it was."))


# ---- ex4: one-hot labels ---------------------------------------------------------------------
def _one_hot_once(fn, y: np.ndarray, k: int | None) -> None:
    before = y.copy()
    args = (y,) if k is None else (y, k)
    result = call(fn, *args, name="one_hot_labels")
    k = 10 if k is None else k
    _unchanged(before, y, "one_hot_labels")
    result = _array_result(result, "one_hot_labels")
    n = len(y)
    if result.ndim == 2 and result.shape[0] == n and result.shape[1] == int(y.max()) + 1 != k:
        raise CheckFailed(
            f"The result has {result.shape[1]} columns: the largest label in this batch + 1. The "
            f"number of classes is fixed by the task ({k}), not by which labels a batch happens "
            "to contain: use `num_classes`.")
    expect(result.shape == (n, k),
           f"{n} labels and {k} classes should give shape ({n}, {k}), found {result.shape}.")
    expect(result.dtype == np.float32,
           f"The one-hot matrix should be float32 (what Keras computes in), found {result.dtype}. "
           "`keras.utils.to_categorical` gives float64: add `.astype('float32')`.")
    expect(np.array_equal(result, np.eye(k, dtype=np.float32)[y]),
           f"Each row should be all zeros except a 1.0 in the label's column: row 0 has label "
           f"{y[0]}, expected {np.eye(k)[y[0]].tolist()}, found {result[0].tolist()}.")


def _check_one_hot(fn) -> str:
    rng = _rng()
    y = rng.integers(0, 8, int(rng.integers(5, 40))).astype(np.uint8)  # no 8 or 9 in this batch
    y[0] = 7
    _one_hot_once(fn, y, None)
    for k in (3, 5):
        _one_hot_once(fn, rng.integers(0, k, int(rng.integers(5, 40))).astype(np.int64), k)
    return "one 1.0 per row, in the label's column, float32, num_classes respected"


ex4 = Exercise("one_hot_labels", _check_one_hot, is_function=True, hint=(
    "`keras.utils.to_categorical(y, num_classes)` or `np.eye(num_classes)[y]` builds the matrix; "
    "then make it float32. Always pass `num_classes` on: a batch may not contain every class."))


# ---- ex5: probabilities -> labels ------------------------------------------------------------
def _softmax(rng, n, k) -> np.ndarray:
    logits = rng.normal(scale=3.0, size=(n, k))
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    return (p / p.sum(axis=1, keepdims=True)).astype(np.float32)


def _labels_once(fn, p: np.ndarray, what: str) -> None:
    before = p.copy()
    result = call(fn, p, name="labels_from_probabilities")
    _unchanged(before, p, "labels_from_probabilities")
    n, k = p.shape
    expected = p.argmax(axis=1)
    expect(not isinstance(result, (numbers.Number, np.generic)) and np.ndim(result) != 0,
           f"`labels_from_probabilities` returned a single number ({result}) for {n} rows. "
           "`np.argmax` without `axis=` searches all values as one long vector: ask for the "
           "largest entry of each row.")
    result = _array_result(result, "labels_from_probabilities")
    expect(result.shape != (k,) or n == k,
           f"The result has shape {result.shape}: one entry per class. That is argmax down the "
           "columns (axis=0), the most likely image for each class; you want the most likely class "
           f"for each image, one label per row: shape ({n},).")
    expect(result.shape == (n,),
           f"{n} rows of probabilities should give {n} labels, shape ({n},); found {result.shape}. "
           "If you compared values with `== 1` (seed 004), that finds nothing: softmax "
           "probabilities are never exactly 1.")
    expect(np.issubdtype(result.dtype, np.integer),
           f"Labels should be integers, found dtype {result.dtype}.")
    wrong = np.flatnonzero(result != expected)
    if len(wrong):
        i = int(wrong[0])
        hint = (" Along axis 0 you get the most likely image per class, not the most likely class "
                "per image." if n == k else "")
        raise CheckFailed(
            f"For {what}, row {i} is {np.round(p[i], 3).tolist()}: its largest probability is at "
            f"index {expected[i]}, found {result[i]}.{hint}")


def _check_labels(fn) -> str:
    rng = _rng()
    n = int(rng.integers(11, 60))
    _labels_once(fn, _softmax(rng, n, 10), f"{n} softmax outputs")
    _labels_once(fn, _softmax(rng, 10, 10), "10 softmax outputs (a square matrix)")
    _labels_once(fn, _softmax(rng, 7, 3), "7 softmax outputs over 3 classes")
    y = rng.integers(0, 10, n)
    _labels_once(fn, np.eye(10, dtype=np.float32)[y], f"{n} one-hot labels")
    return "argmax per row: works for softmax outputs and one-hot labels alike"


ex5 = Exercise("labels_from_probabilities", _check_labels, is_function=True, hint=(
    "Each row is a probability distribution over the classes; the predicted class is the "
    "position of the row's largest value. `np.argmax` finds it; tell it which axis runs across "
    "the classes."))


# ---- ex6: NumPy -> tf.Tensor float32 ---------------------------------------------------------
def _check_to_tensor(fn) -> str:
    tf = _tf()
    rng = _rng()
    n = int(rng.integers(2, 20))
    cases = [
        ("a float64 NumPy array (what `x / 255` gives)", rng.random((n, 784))),
        ("uint8 pixels", _pixels(rng, n, 28, 28)),
        ("a Python list of ints", [int(v) for v in rng.integers(0, 10, n)]),
        ("an int32 tf.Tensor", tf.constant(rng.integers(0, 10, n), dtype=tf.int32)),
        ("a float64 tf.Tensor", tf.constant(rng.random(n), dtype=tf.float64)),
    ]
    for what, x in cases:
        expected = np.asarray(x, dtype=np.float32)
        before = x.copy() if isinstance(x, np.ndarray) else None
        try:
            result = call(fn, x, name="to_float32_tensor")
        except CheckFailed as failure:
            if "conversion requested dtype" in str(failure):
                raise CheckFailed(f"Given {what}: {failure}\n`tf.convert_to_tensor(t, dtype=...)` "
                                  "never changes the dtype of something that is already a tensor; "
                                  "`tf.cast` does.") from None
            raise
        if before is not None:
            _unchanged(before, x, "to_float32_tensor")
        expect(not isinstance(result, np.ndarray),
               f"Given {what}, `to_float32_tensor` returned a NumPy array; return a tf.Tensor "
               "(`tf.convert_to_tensor`).")
        expect(not isinstance(result, tf.Variable),
               f"Given {what}, `to_float32_tensor` returned a tf.Variable. Variables are the mutable "
               "kind, for weights; data goes in as an immutable tf.Tensor.")
        expect(isinstance(result, tf.Tensor),
               f"Given {what}, `to_float32_tensor` should return a tf.Tensor, found "
               f"{type(result).__name__}.")
        expect(result.dtype == tf.float32,
               f"Given {what}, the tensor's dtype is {result.dtype.name}, expected float32. "
               "`tf.convert_to_tensor` keeps the dtype it is given (NumPy's default is float64): "
               "ask for float32 (`tf.cast`).")
        expect(tuple(result.shape) == expected.shape,
               f"Given {what}, the shape should stay {expected.shape}, found {tuple(result.shape)}.")
        got = result.numpy()
        expect(not (expected.max() > 1 and np.isclose(got.max(), expected.max() / 255)),
               f"Given {what}, the values were divided by 255: convert the dtype only, do not "
               "rescale (normalising is a separate step).")
        expect(np.allclose(got, expected, rtol=1e-6),
               f"Given {what}, the values changed: expected {expected.ravel()[:4].tolist()}..., "
               f"found {got.ravel()[:4].tolist()}...")
    return "float32 tf.Tensor from NumPy arrays, lists and tensors of any dtype"


ex6 = Exercise("to_float32_tensor", _check_to_tensor, is_function=True, hint=(
    "`tf.convert_to_tensor(x)` makes a tensor with x's own dtype; `tf.cast(t, tf.float32)` "
    "changes the dtype of a tensor. Together they handle lists, arrays and tensors alike."))
