"""Lesson 01 (tensors): checkers and hints for ``ex1`` .. ``ex6``, on fresh random inputs.

A wrong answer is compared with its exercise's catalogue of known mistakes (the seeds' among
them), which names it; failing that, with the right answer: shape, dtype, first wrong value.
"""
from __future__ import annotations

import numbers

import numpy as np

from ..feedback import CheckFailed, Exercise, Mistake, call, checker, expect, rule_out
from ..quiet import import_keras, import_tensorflow
from ..seeding import test_rng

__all__ = ["ex1", "ex2", "ex3", "ex4", "ex5", "ex6"]


def _tf():
    return import_tensorflow()[0]


def _same(a, b) -> bool:
    """Same kind (tensor or not), shape, dtype and values."""
    if _tf().is_tensor(a) != _tf().is_tensor(b):
        return False
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b)


def _answer(fn, x, name: str, *args, numpy=True, crash=("", "")):
    """``fn(x, *args)``: ``x`` unchanged, a NumPy result if ``numpy``, ``crash = (error, advice)``."""
    before = x.copy() if isinstance(x, np.ndarray) else None
    try:
        result = call(fn, x, *args, name=name)
    except CheckFailed as failure:
        if not crash[0] or crash[0] not in str(failure):
            raise
        raise CheckFailed(f"{failure}\n{crash[1]}") from None
    expect(before is None or np.array_equal(np.asarray(x), before),
           f"`{name}` changed the array it was given. Return a new array and leave the input as it "
           "was: other code (and the next cell) still uses the original.")
    if isinstance(result, np.ndarray) and numpy:
        expect(result.dtype.kind in "biuf", f"`{name}` returned an array of {result.dtype} "
                                            "values; it should hold numbers.")
    if not numpy or isinstance(result, np.ndarray):
        return result
    if isinstance(result, (numbers.Number, np.generic)):
        return np.asarray(result)
    expect(not _tf().is_tensor(result), f"`{name}` returned a tensor ({type(result).__name__}); "
           "this exercise wants a NumPy array. Convert a tensor with `.numpy()` (or stay in NumPy).")
    raise CheckFailed(f"`{name}` should return a NumPy array, found {type(result).__name__}.")


def _judge(found, right, exercise, *inputs, what: str, advice: str, close=_same, dtype=True,
           **context) -> None:
    """A catalogued mistake names itself; otherwise shape, dtype, then the first wrong value."""
    if close(found, right):
        return
    rule_out(found, exercise.mistakes, *inputs, close=close, what=what, **context)
    found, right = np.asarray(found), np.asarray(right)
    expect(found.shape == right.shape, f"{what}: expected shape {right.shape}, found "
                                       f"{found.shape}. {advice}")
    expect(not dtype or found.dtype == right.dtype,
           f"{what}: expected dtype {right.dtype}, found {found.dtype}. {advice}")
    for i in map(tuple, np.argwhere(~np.isclose(found, right, rtol=1e-6, atol=1e-6))[:1]):
        raise CheckFailed(f"{what}: at index {tuple(map(int, i))} expected {right[i]:g}, found "
                          f"{found[i]:g}. {advice}")


# ---- ex1: rank, shape and dtype --------------------------------------------------------------
@checker("describe_tensor", "a function returning (rank, shape, dtype_name)")
def _check_describe(fn) -> str:
    rng = test_rng()
    n = int(rng.integers(2, 40))  # a pixel, a row, an image, a batch, with channels, labels, one-hot
    for shape, dtype in [((), "uint8"), ((28,), "float32"), ((28, 28), "uint8"),
                         ((n, 28, 28), "uint8"), ((n, 28, 28, 1), "float32"), ((n,), "int64"),
                         ((n, 10), "float64")]:
        array = np.asarray(rng.integers(0, 10, shape)).astype(dtype)
        for t, kind in ((array, "NumPy array"), (_tf().convert_to_tensor(array), "tf.Tensor")):
            what, right = f"a {kind} of shape {shape}", (len(shape), shape, dtype)
            found = _answer(fn, t, "describe_tensor", numpy=False)
            triple = isinstance(found, (tuple, list)) and len(found) == 3
            if triple and repr(tuple(found)) != repr(right):
                rule_out(found, ex1.mistakes, t, close=lambda a, b: repr(a) == repr(b), what=what,
                         right=right, got=found)
            expect(triple and type(found[1]) is tuple and isinstance(found[2], str)
                   and tuple(found) == right
                   and all(isinstance(d, numbers.Integral) for d in (found[0], *found[1])),
                   f"For {what}, `describe_tensor` should return `(rank, shape, dtype_name)` = "
                   f"{right!r}: the number of axes (`t.ndim`; 0 for a scalar), the shape as a tuple "
                   f"of ints, the dtype's name as a string. Found {found!r}.")
    return "rank, shape and dtype right for NumPy arrays and tf.Tensors of rank 0 to 4"


ex1 = Exercise("describe_tensor", _check_describe, is_function=True, hints=(
    "Both kinds have `.ndim`, `.shape`, `.dtype`; turn a tf.Tensor's into plain Python values.",
    "`tf.constant([3, 1, 4]).shape` prints as (3,) but is a TensorShape: `tuple(...)` makes it a "
    "tuple, whose length is the rank (0 for a scalar). Any dtype keeps its bare name ('int32') "
    "in `.name`; `str()` of a tf.DType is \"<dtype: 'int32'>\"."),
    mistakes=[
        Mistake(lambda t: (t.ndim, t.shape, t.dtype.name), "The shape should be a plain tuple: for "
                "{what}, {right[1]}, found {got[1]!r}. Convert a TensorShape: `tuple(t.shape)`."),
        Mistake(lambda t: (t.ndim, tuple(t.shape), t.dtype), "The dtype should be its name as a "
                "string: for {what}, {right[2]!r}, found the dtype object {got[2]!r}."),
        Mistake(lambda t: (t.ndim, tuple(t.shape), str(t.dtype)), "The dtype name is the bare name: "
                "for {what}, {right[2]!r}, found {got[2]!r} (`str(t.dtype)` is not it for tensors)."),
    ])


# ---- ex2: flatten (N, 28, 28) -> (N, 784) ----------------------------------------------------
@checker("flatten_images", "a function returning a NumPy array of shape (N, 784)")
def _check_flatten(fn) -> str:
    rng = test_rng()
    sizes = [int(rng.integers(2, 64)), 1, int(rng.integers(100, 300))]
    for x in [rng.integers(0, 256, (n, 28, 28), np.uint8) for n in sizes] + [
            rng.random((sizes[0], 28, 28), np.float32)]:
        found = _answer(fn, x, "flatten_images", crash=("cannot reshape", f"This batch had {len(x)} "
                        "images. Did you write the number of images into the code (like the seeds' "
                        "`reshape(60000, 784)`)? Let NumPy infer it: -1 means 'whatever is left'."))
        _judge(found, x.reshape(len(x), 784), ex2, x, n=len(x), shape=found.shape,
               what=f"For {len(x)} {x.dtype} images of 28x28", advice="The batch axis first, one "
               "row per image in row-by-row order; dtype and values as they were.")
    return "any number of images, pixel order and dtype kept"


ex2 = Exercise("flatten_images", _check_flatten, is_function=True, hints=(
    "A reshape: the batch axis first, the two image axes merged, the image count left to NumPy.",
    "12 recordings of 3 x 5 readings, shape (12, 3, 5), become a row of 15 readings each: target "
    "shape (number of recordings, 15). One entry of a shape may be -1, 'whatever is left', so one "
    "line serves 12 recordings, 1 or 60,000. A reshape converts nothing."),
    mistakes=[
        Mistake(lambda x: x.reshape(-1), "`flatten_images` returned one long vector of shape "
                "{shape}: it flattened the batch axis too. Keep one row per image: ({n}, 784)."),
        Mistake(lambda x: x.reshape(-1, 784).T, "`flatten_images` returned shape {shape}: the axes "
                "are the wrong way round. The batch axis comes first: ({n}, 784), one row per image."),
        Mistake(lambda x: x.transpose(0, 2, 1).reshape(-1, 784), "The rows hold each image's pixels "
                "column by column: did you transpose? A plain reshape keeps them row by row."),
    ])


# ---- ex3: normalise once ---------------------------------------------------------------------
def _unguarded(x):  # seed 000's preprocess_input: divides whatever it is given
    return x.astype(np.float32) / 255


DARK = ("That batch is uint8 with pixels 0 and 1: raw pixels of a very dark image, not normalised "
        "data. Decide by the dtype (uint8 = raw pixels), not by the values.")
_NOT_REFUSED = ("`normalise_images` accepted {dtype} pixels already in [0, 1] and returned values "
                "up to {top:.4f} instead of refusing. ")


@checker("normalise_images", "a function returning a float32 NumPy array in [0, 1]")
def _check_normalise(fn) -> str:
    rng = test_rng()
    x = rng.integers(0, 256, (int(rng.integers(2, 50)), 28, 28), np.uint8)
    x.flat[-1] = 255  # the full range, 0 .. 255
    dark = rng.integers(0, 2, size=(3, 28, 28), dtype=np.uint8)  # raw pixels that happen to be <= 1
    for raw, what in ((x, "For uint8 pixels"), (dark, "For a dark uint8 batch (pixels 0 and 1)")):
        found = _answer(fn, raw, "normalise_images", crash=("ValueError" * (raw is dark), DARK))
        _judge(found, _unguarded(raw), ex3, raw, top=float(np.max(found, initial=0)), what=what,
               advice="Each pixel divided by 255, in float32 (what Keras computes in).")
    for done in ((x / 255.0).astype(np.float32), x / 255.0):  # float32 and float64, in [0, 1]
        try:
            again = np.asarray(fn(done.copy()))
        except Exception as error:
            expect(isinstance(error, ValueError), f"Given {done.dtype} pixels already in [0, 1], "
                   f"`normalise_images` raised {type(error).__name__}; raise ValueError instead (an "
                   "`assert` disappears when Python runs with -O, and callers catch ValueError).")
            expect(len(str(error).strip()) >= 10, "Good, it raised ValueError, but with no "
                   "explanation. Say what was wrong: e.g. that the pixels look normalised already.")
            continue
        context = dict(dtype=done.dtype, top=float(np.max(again, initial=0)))
        rule_out(again, ex3.mistakes[-1:], done, close=_same, **context)  # _unguarded
        raise CheckFailed(_NOT_REFUSED.format(**context) + "Raise ValueError when `x` is not uint8.")
    return "float32 in [0, 1], input untouched, and normalised data refused"


ex3 = Exercise("normalise_images", _check_normalise, is_function=True, hints=(
    "First refuse any dtype but raw pixels' uint8, then convert to float32 and divide by 255.",
    "A function for temperatures stored as integer tenths of a degree would first look at "
    "`t.dtype` and, for floats (converted already), raise a ValueError that says what it got; "
    "only then turn the integers into float32 (a new array, never float64) and divide by 10."),
    mistakes=[
        Mistake(lambda x: x / 255, "The result is float64: that is what `x / 255` gives in NumPy, "
                "twice the memory of float32, the dtype Keras computes in. Convert first: "
                "`x.astype('float32') / 255`."),
        Mistake(lambda x: x.astype(np.float32) / 255 / 255, "The largest value is {top:.4f} = "
                "1/255: the pixels were divided by 255 twice (seed 000's mistake). Divide once."),
        Mistake(lambda x: x.astype(np.float32),
                "The values still go up to 255: divide by 255 to bring them into [0, 1]."),
        Mistake(_unguarded, _NOT_REFUSED + "That is the double-division trap of seed 000: raise "
                                           "ValueError when `x` is not uint8."),
    ])


# ---- ex4: one-hot labels ---------------------------------------------------------------------
@checker("one_hot_labels", "a function returning a float32 NumPy array, one row per label")
def _check_one_hot(fn) -> str:
    rng = test_rng()
    few = np.r_[7, rng.integers(0, 8, int(rng.integers(5, 40)))].astype(np.uint8)  # no 8 or 9
    for y, k in [(few, None)] + [(rng.integers(0, k, int(rng.integers(5, 40))), k) for k in (3, 5)]:
        found = _answer(fn, y, "one_hot_labels", *(() if k is None else (k,)))
        _judge(found, np.eye(k or 10, dtype=np.float32)[y], ex4, y, k or 10,
               what=f"For {len(y)} labels and {k or 10} classes", advice="One float32 row per "
               "label, one column per class (use `num_classes`, not the labels a batch happens to "
               "contain), all 0.0 but a 1.0 in the label's column.")
    return "one 1.0 per row, in the label's column, float32, num_classes respected"


ex4 = Exercise("one_hot_labels", _check_one_hot, is_function=True, hints=(
    "Section 4 builds one-hot rows three ways; any will do, made float32 with `num_classes` columns.",
    "Row i of an identity matrix is one-hot with its 1 in column i, so indexing that matrix with "
    "labels picks a row per label: with weekdays coded 0..6, `np.eye(7)[np.array([2, 0])]` gives "
    "Wednesday's and Monday's rows. Size it by the classes, never `y.max() + 1`; mind its dtype."),
    mistakes=[
        Mistake(lambda y, k=10: import_keras().utils.to_categorical(y, k), "The one-hot matrix "
                "should be float32 (what Keras computes in), found float64, what "
                "`keras.utils.to_categorical` and `np.eye` give: add `.astype('float32')`."),
        Mistake(lambda y, k=10: import_keras().utils.to_categorical(y), "The result has a column per "
                "label up to this batch's largest (as `to_categorical(y)` or `np.eye(y.max() + 1)` "
                "give), but the task fixes the number of classes: use `num_classes`."),
    ])


# ---- ex5: probabilities -> labels ------------------------------------------------------------
@checker("labels_from_probabilities", "a function returning a NumPy array of integer labels")
def _check_labels(fn) -> str:
    rng = test_rng()
    n = int(rng.integers(11, 60))
    for what, p in [(f"{n} softmax outputs", rng.dirichlet(np.full(10, 0.3), n)),
                    ("10 softmax outputs (a square matrix)", rng.dirichlet(np.full(10, 0.3), 10)),
                    ("7 softmax outputs over 3 classes", rng.dirichlet(np.ones(3), 7)),
                    (f"{n} one-hot labels", np.eye(10)[rng.integers(0, 10, n)])]:
        p = p.astype(np.float32)
        found, right = _answer(fn, p, "labels_from_probabilities"), p.argmax(axis=1)
        _judge(found, right, ex5, p, n=len(p), got=found, shape=found.shape, dtype=False,
               close=lambda a, b: np.shape(a) == np.shape(b) and np.array_equal(a, b),
               what=f"For {what}", advice="One label per row: the index of the row's largest "
               "probability (a `== 1` test, seed 004's, finds one only where the softmax saturated).")
        expect(found.dtype.kind in "iu", f"Labels should be integers, found dtype {found.dtype}.")
    return "argmax per row: works for softmax outputs and one-hot labels alike"


ex5 = Exercise("labels_from_probabilities", _check_labels, is_function=True, hints=(
    "The class is the position of a row's largest value: NumPy finds positions of maxima by axis.",
    "In a table of marks (a row per student, a column per subject), each student's best subject "
    "is the column of each row's maximum: a search along axis 1, one answer per row. Axis 0 gives "
    "the best student per subject; no axis, one position in the flattened table."),
    mistakes=[
        Mistake(lambda p: np.array([i for row in p for i in range(len(row)) if row[i] == 1]),
                "`labels_from_probabilities` gave shape {shape} for {n} rows. Testing `== 1` (seed "
                "004) finds a class only where float32 rounding made the top probability exactly "
                "1.0 (a saturated softmax): for most rows, nothing. Take each row's argmax."),
        Mistake(lambda p: np.argmax(p), "`labels_from_probabilities` returned a single number "
                "({got}) for {n} rows: `np.argmax` without `axis=` searches all values as one "
                "long vector. Ask for the largest entry of each row."),
        Mistake(lambda p: np.argmax(p, axis=0), "The result is argmax down the columns (axis=0): "
                "the most likely image for each class. You want the most likely class for each "
                "image, one label per row: shape ({n},)."),
    ])


# ---- ex6: NumPy -> tf.Tensor float32 ---------------------------------------------------------
@checker("to_float32_tensor", "a function returning a float32 tf.Tensor")
def _check_to_tensor(fn) -> str:
    tf, rng = _tf(), test_rng()
    n = int(rng.integers(2, 20))
    for what, x in [("a float64 NumPy array (what `x / 255` gives)", rng.random((n, 784))),
                    ("uint8 pixels", rng.integers(0, 256, (n, 28, 28), np.uint8)),
                    ("a Python list of ints", [int(v) for v in rng.integers(0, 10, n)]),
                    ("an int32 tf.Tensor", tf.constant(rng.integers(0, 10, n), dtype=tf.int32)),
                    ("a float64 tf.Tensor", tf.constant(rng.random(n), dtype=tf.float64))]:
        found = _answer(fn, x, "to_float32_tensor", numpy=False, crash=(
            "conversion requested dtype", f"That was given {what}: `tf.convert_to_tensor(t, "
            "dtype=...)` never changes the dtype of a tensor; `tf.cast` does."))
        expect(isinstance(found, tf.Tensor) and not isinstance(found, tf.Variable), f"Given {what}, "
               f"`to_float32_tensor` should return a tf.Tensor, found {type(found).__name__}: not a "
               "NumPy array, nor a tf.Variable (the mutable kind, for weights).")
        _judge(found, tf.cast(tf.convert_to_tensor(x), tf.float32), ex6, x, kind=found.dtype.name,
               what=f"Given {what}", advice="Same shape and values, dtype float32: convert the "
               "dtype only (`tf.cast`), do not rescale.")
    return "float32 tf.Tensor from NumPy arrays, lists and tensors of any dtype"


ex6 = Exercise("to_float32_tensor", _check_to_tensor, is_function=True, hints=(
    "One TensorFlow function makes tensors, another changes a tensor's dtype: which takes tensors?",
    "`tf.convert_to_tensor(v)` takes lists, arrays and tensors but keeps their dtype (float64 for "
    "most NumPy floats) and will not change a tensor's. `tf.cast(t, dtype)` changes any tensor's "
    "dtype without rescaling (say int64 labels to int32): first a tensor, then its dtype."),
    mistakes=[
        Mistake(lambda x: _tf().convert_to_tensor(x), "The tensor's dtype is {kind}, expected "
                "float32. `tf.convert_to_tensor` keeps the dtype it is given (NumPy's default is "
                "float64): ask for float32 (`tf.cast`)."),
    ])
