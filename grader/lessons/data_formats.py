"""Lesson 02, data formats: ``from grader.lessons.data_formats import *`` gives ``ex1`` .. ``ex5``.

Each checker tests properties on fresh random inputs (shapes, values, order, invariants) and
compares with numpy built-ins, so a hard-coded answer or a plain reshape cannot pass.
"""
from __future__ import annotations

import numpy as np

from ..checks import training_steps
from ..feedback import CheckFailed, Exercise, call, expect

__all__ = ["ex1", "ex2", "ex3", "ex4", "ex5"]


def _rng(seed=None) -> np.random.Generator:
    return np.random.default_rng(seed)


def _as_numpy(value, what: str) -> np.ndarray:
    if hasattr(value, "numpy"):
        value = value.numpy()
    if not isinstance(value, np.ndarray):
        raise CheckFailed(f"{what} should return an array (numpy array or tf.Tensor), "
                          f"found {type(value).__name__}.")
    return value


def _images(shape, rng) -> np.ndarray:
    return rng.integers(0, 256, size=shape, dtype=np.uint8)


# --- exercise 1: add the channel axis ----------------------------------------------------------

def check_add_channel_axis(fn, seed=None) -> str:
    rng = _rng(seed)
    for shape in [(4, 28, 28), (1, 28, 28), (5, 7, 9)]:
        x = _images(shape, rng)
        original = x.copy()
        try:
            out = _as_numpy(call(fn, x, name="add_channel_axis"), "`add_channel_axis`")
        except CheckFailed as failure:
            if shape[1:] == (28, 28) or "NotImplementedError" in str(failure):
                raise
            raise CheckFailed(f"{failure} (input of shape {shape}). Your function seems to assume "
                              "28x28 images: use the input's own shape, as np.expand_dims "
                              "does.") from None
        n, h, w = shape
        where = f"For a batch of shape {shape}"
        expect(out.shape != (n, 1, h, w),
               f"{where} you returned {out.shape}: that is channels_first (N, C, H, W). Keras "
               "with TensorFlow uses channels_last: the channel axis goes at the end, "
               f"{(n, h, w, 1)}.")
        expect(out.shape != (1, n, h, w),
               f"{where} you returned {out.shape}: the new axis went in front of the batch axis. "
               f"Add it at the end (axis=-1): {(n, h, w, 1)}.")
        expect(out.shape != (n, h * w) and out.shape != (n, h * w, 1),
               f"{where} you returned {out.shape}: the images were flattened. Keep each image "
               f"as an image and add a channel axis of length 1: {(n, h, w, 1)}.")
        expect(out.shape == (n, h, w, 1),
               f"{where} the result should have shape {(n, h, w, 1)}, found {out.shape}."
               + (" Your function seems to assume 28x28 images: use the input's own shape "
                  "(np.expand_dims does)." if shape[1:] != (28, 28) else ""))
        expect(np.array_equal(x, original),
               "`add_channel_axis` changed its input array in place; return a new array.")
        expect(out.dtype == x.dtype,
               f"The pixel type changed from {x.dtype} to {out.dtype}. Adding an axis should not "
               "convert or scale anything; scaling to [0, 1] belongs in the input pipeline.")
        expect(np.array_equal(out[..., 0], x),
               "The shape is right but the pixel values changed. Adding a channel axis must keep "
               "every value where it was: use np.expand_dims(x, -1) or x[..., np.newaxis].")
    return "(N, H, W) -> (N, H, W, 1), values untouched, for any image size."


# --- exercise 2: channels_first -> channels_last -----------------------------------------------

def check_to_channels_last(fn, seed=None) -> str:
    rng = _rng(seed)
    for shape in [(2, 3, 5, 7), (4, 3, 28, 28), (1, 2, 6, 4), (3, 1, 28, 28)]:
        x = _images(shape, rng)
        original = x.copy()
        out = _as_numpy(call(fn, x, name="to_channels_last"), "`to_channels_last`")
        n, c, h, w = shape
        expected = np.transpose(x, (0, 2, 3, 1))
        where = f"For a channels_first batch of shape (N, C, H, W) = {shape}"
        expect(np.array_equal(x, original),
               "`to_channels_last` changed its input array in place; return a new array.")
        expect(not (out.shape == shape and c != h),
               f"{where} you returned the same shape {out.shape}: the layout did not change. "
               f"The result should be (N, H, W, C) = {expected.shape}.")
        expect(not (out.shape == (n, w, h, c) and h != w),
               f"{where} you returned {out.shape} = (N, W, H, C): height and width are swapped. "
               "The new order of the old axes is (0, 2, 3, 1).")
        expect(out.shape == expected.shape,
               f"{where} the result should be (N, H, W, C) = {expected.shape}, found {out.shape}.")
        if not np.array_equal(out, expected):
            if np.array_equal(out, x.reshape(expected.shape)):
                raise CheckFailed(
                    f"{where} the shape is right but the pixels are scrambled: you reshaped. "
                    "reshape keeps the values in memory order and only re-cuts them, so a red "
                    "plane's neighbouring pixels become one pixel's (R, G, B). Move the axes "
                    "with np.transpose(x, (0, 2, 3, 1)) (or tf.transpose, perm=[0, 2, 3, 1]).")
            if np.array_equal(out, np.transpose(x, (0, 3, 2, 1))):
                raise CheckFailed(
                    f"{where} the images come out mirrored along their diagonal: height and "
                    "width are swapped (axes (0, 3, 2, 1)). Use the axis order (0, 2, 3, 1).")
            raise CheckFailed(f"{where} the shape is right but the values are not where they "
                              "belong: out[n, h, w, c] must equal x[n, c, h, w].")
        expect(out.dtype == x.dtype, f"The pixel type changed from {x.dtype} to {out.dtype}; a "
                                     "layout change should not convert values.")
    return "axes moved with a transpose; every pixel kept its place, even with 3 channels."


# --- exercise 3: a validation split ------------------------------------------------------------

def _indexed_images(n, rng, size=6):
    """Random images whose first two pixels spell their index, labels sorted by class."""
    x = _images((n, size, size), rng)
    x[:, 0, 0], x[:, 0, 1] = np.arange(n) % 256, np.arange(n) // 256
    y = np.repeat(np.arange(10), n // 10).astype(np.uint8)
    return x, y


def _split_indices(result, x, y, fraction, seed):
    try:
        (x_tr, y_tr), (x_val, y_val) = result
    except (TypeError, ValueError):
        raise CheckFailed("`split_validation` should return two pairs: "
                          "`(x_tr, y_tr), (x_val, y_val)`, found "
                          f"{type(result).__name__}.") from None
    x_tr, y_tr, x_val, y_val = (_as_numpy(np.asarray(v) if isinstance(v, list) else v,
                                          "`split_validation`") for v in (x_tr, y_tr, x_val, y_val))
    n = len(x)
    allowed = {int(np.floor(fraction * n)), int(round(fraction * n)), int(np.ceil(fraction * n))}
    call_desc = f"split_validation(x, y, fraction={fraction}, seed={seed}) with {n} images"
    expect(len(x_val) in allowed,
           f"{call_desc} should give {round(fraction * n)} validation images, found {len(x_val)}."
           + (" Did you swap the two pairs? The training pair comes first."
              if len(x_tr) in allowed else ""))
    expect(len(x_tr) + len(x_val) == n,
           f"{call_desc}: training ({len(x_tr)}) + validation ({len(x_val)}) should be all "
           f"{n} images, no more, no fewer.")
    expect(len(y_tr) == len(x_tr) and len(y_val) == len(x_val),
           f"Each pair needs as many labels as images: found {len(x_tr)} training images with "
           f"{len(y_tr)} labels, {len(x_val)} validation images with {len(y_val)} labels.")
    expect(x_tr.shape[1:] == x.shape[1:] and x_val.shape[1:] == x.shape[1:],
           f"The images should keep their shape {x.shape[1:]}; found {x_tr.shape[1:]} and "
           f"{x_val.shape[1:]}.")

    def indices(part, name):
        idx = part[:, 0, 0].astype(int) + 256 * part[:, 0, 1].astype(int)
        ok = (idx < n) & np.all(part == x[np.minimum(idx, n - 1)], axis=(1, 2))
        expect(bool(np.all(ok)), f"The {name} images are not unchanged images of x. Split the "
                                 "data as it is; do not scale or reshape it here.")
        return idx

    tr, val = indices(x_tr, "training"), indices(x_val, "validation")
    expect(len(np.intersect1d(tr, val)) == 0,
           f"{len(np.intersect1d(tr, val))} images are in both the training and the validation "
           "set. The two must be disjoint, or validation scores are flattering.")
    expect(len(np.unique(np.concatenate([tr, val]))) == n,
           "Some images appear twice and others are missing: split a permutation of the "
           "indices, so each image lands in exactly one part.")
    expect(np.array_equal(y_tr, y[tr]) and np.array_equal(y_val, y[val]),
           "The labels no longer match their images. Shuffle images and labels with the SAME "
           "permutation (index both with one index array), never with two separate shuffles.")
    return tr, val


def check_split_validation(fn, seed=None) -> str:
    rng = _rng(seed)
    n = 10 * int(rng.integers(20, 40))
    x, y = _indexed_images(n, rng)
    x0, y0 = x.copy(), y.copy()
    result = call(fn, x, y, fraction=0.1, seed=0, name="split_validation")
    expect(np.array_equal(x, x0) and np.array_equal(y, y0),
           "`split_validation` changed the arrays it was given (np.random.shuffle shuffles in "
           "place). Leave x and y untouched: shuffle an index array and index with it.")
    tr, val = _split_indices(result, x, y, 0.1, 0)
    n_val = len(val)
    expect(not (set(val) == set(range(n - n_val, n)) or set(val) == set(range(n_val))),
           "The validation set is simply the last (or first) part of the data, unshuffled. On "
           "data sorted by label that is a validation set of one or two classes (Keras' own "
           "`validation_split=` does exactly this). Shuffle the indices before cutting.")
    classes = len(np.unique(y[val]))
    expect(classes >= 5,
           f"On data sorted by label your validation set holds only {classes} classes: it is "
           "not a random sample. Use a random permutation of all indices.")
    again = _split_indices(call(fn, x, y, fraction=0.1, seed=0, name="split_validation"),
                           x, y, 0.1, 0)
    expect(np.array_equal(np.sort(again[1]), np.sort(val)),
           "Two calls with the same seed gave different splits. Make the shuffle depend on "
           "`seed` only: np.random.default_rng(seed).permutation(len(x)).")
    other = _split_indices(call(fn, x, y, fraction=0.1, seed=1, name="split_validation"),
                           x, y, 0.1, 1)
    expect(not np.array_equal(np.sort(other[1]), np.sort(val)),
           "seed=0 and seed=1 gave the same split: the seed argument is ignored.")
    _split_indices(call(fn, x, y, fraction=0.25, seed=3, name="split_validation"), x, y, 0.25, 3)
    return "shuffled, disjoint, labels aligned, reproducible from the seed."


# --- exercise 4: a tf.data pipeline ------------------------------------------------------------

def _tf():
    from ..quiet import import_tensorflow

    return import_tensorflow()[0]


def _pipeline_ops(dataset) -> list[str]:
    """Op names of a dataset's graph (TensorSliceDataset, MapDataset, CacheDatasetV2, ...)."""
    tf = _tf()
    try:
        graph = tf.compat.v1.GraphDef()
        graph.ParseFromString(dataset._as_serialized_graph().numpy())
        return [node.op for node in graph.node if node.op.endswith(("Dataset", "DatasetV2",
                                                                    "DatasetV3"))]
    except Exception:  # a future TensorFlow without this private API: skip structure checks
        return []


def _epoch(dataset, batch_size, n, what):
    """Iterate once: (images, labels, batch sizes, index of each image)."""
    images, labels, sizes = [], [], []
    for element in dataset:
        if not (isinstance(element, tuple) and len(element) == 2):
            raise CheckFailed(f"{what}: each element should be a pair (images, labels), found "
                              f"{type(element).__name__}. Pass (x, y) to from_tensor_slices.")
        batch_x, batch_y = (t.numpy() for t in element)
        images.append(batch_x)
        labels.append(batch_y)
        sizes.append(len(batch_x))
        expect(len(batch_x) <= batch_size,
               f"{what}: a batch has {len(batch_x)} images, more than batch_size={batch_size}.")
        expect(sum(sizes) <= 3 * n, f"{what}: one pass gives far more than the {n} images it "
                                    "was made from. Do not .repeat() the dataset: fit runs the "
                                    "epochs itself.")
    expect(images, f"{what}: the dataset is empty.")
    x, y = np.concatenate(images), np.concatenate(labels)
    return x, y, sizes


def _decode_index(images, n):
    pixels = np.rint(images[:, 0, 0, 0] * 255).astype(int), np.rint(images[:, 0, 1, 0] * 255)
    return np.clip(pixels[0] + 256 * pixels[1].astype(int), 0, n - 1)


def check_make_dataset(fn, seed=None) -> str:
    tf = _tf()
    rng = _rng(seed)
    n, batch_size = int(rng.integers(900, 1100)), 64
    x = _images((n, 28, 28), rng)
    x[:, 0, 0], x[:, 0, 1] = np.arange(n) % 256, np.arange(n) // 256  # each image knows its index
    x[:, 27, 27], x[:, 27, 26] = 255, 0
    y = rng.integers(0, 10, n).astype(np.uint8)
    x0 = x.copy()

    ds = call(fn, x, y, batch_size=batch_size, training=False, name="make_dataset")
    expect(isinstance(ds, tf.data.Dataset),
           f"`make_dataset` should return a tf.data.Dataset, found {type(ds).__name__}. Start "
           "from tf.data.Dataset.from_tensor_slices((x, y)).")
    expect(np.array_equal(x, x0), "`make_dataset` changed the array it was given; leave it.")
    spec = ds.element_spec
    expect(isinstance(spec, tuple) and len(spec) == 2,
           f"Each element should be a pair (images, labels); element_spec is {spec}.")
    image_spec, label_spec = spec
    shape = tuple(image_spec.shape)
    expect(len(shape) != 3 or shape[1:] != (28, 28),
           f"The images come out as {shape}: a batch with no channel axis. Add it in the "
           "map: (28, 28) -> (28, 28, 1).")
    expect(shape[1:] != (784,), f"The images come out flattened {shape}. Keep them as images "
                                "(28, 28, 1); flattening is the model's job (layers.Flatten).")
    expect(shape[1:] != (1, 28, 28),
           f"The images come out channels_first {shape}. Keras uses channels_last: (28, 28, 1).")
    expect(shape[1:] == (28, 28, 1),
           f"Each batch of images should have shape (batch, 28, 28, 1); element_spec says {shape}."
           + (" Batch the dataset with .batch(batch_size)." if shape == (28, 28, 1) else ""))
    expect(shape[0] is None,
           f"The batch axis is fixed to {shape[0]}: drop_remainder=True throws the last partial "
           "batch away, and evaluation must see every image. Use .batch(batch_size).")
    expect(image_spec.dtype == tf.float32,
           f"The images should be float32, found {image_spec.dtype.name}. Cast with "
           "tf.cast(image, tf.float32) before dividing by 255.")
    expect(label_spec.dtype.is_integer and tuple(label_spec.shape) == (None,),
           f"The labels should stay integer class numbers of shape (batch,), found "
           f"{label_spec.dtype.name} {tuple(label_spec.shape)}.")

    images, labels, sizes = _epoch(ds, batch_size, n, "With training=False")
    top, bottom = float(images.max()), float(images.min())
    expect(bottom >= 0 and top <= 1.0 + 1e-6,
           f"Pixel values run from {bottom:g} to {top:g}; they should be scaled to [0, 1]: "
           "divide by 255 once.")
    expect(top > 0.5,
           f"The brightest pixel (255) came out as {top:.6f} instead of 1.0: the images were "
           "divided by 255 twice (the seed article's mistake: once while loading, again in "
           "preprocessing). Scale once, in the pipeline.")
    expect(len(images) == n,
           f"One pass over the evaluation dataset gives {len(images)} images; it was made from "
           f"{n}. Every image must be seen exactly once (no drop_remainder, no repeat).")
    expect(sizes[:-1] == [batch_size] * (len(sizes) - 1),
           f"The batches should hold batch_size={batch_size} images (the last one fewer); "
           f"found sizes {sizes[:4]}... Use .batch(batch_size).")
    index = _decode_index(images, n)
    expect(np.array_equal(index, np.arange(n)),
           "With training=False the images came out in a different order. Shuffle only when "
           "training: evaluation order should match the arrays, so predictions line up "
           "with labels.")
    expect(np.allclose(images[..., 0], x / 255.0, atol=1e-6),
           "The pixel values are not the input divided by 255.")
    expect(np.array_equal(labels, y), "The labels do not match the images they came with.")
    ops = _pipeline_ops(ds)
    if ops:
        expect(not any(op.startswith("Shuffle") for op in ops),
               "With training=False the pipeline still contains a shuffle. Shuffle only when "
               "training is True.")

    train = call(fn, x, y, batch_size=batch_size, training=True, name="make_dataset")
    expect(isinstance(train, tf.data.Dataset),
           f"With training=True `make_dataset` returned {type(train).__name__}, not a Dataset.")
    orders = []
    for epoch in (1, 2):
        what = f"With training=True (epoch {epoch})"
        images, labels, sizes = _epoch(train, batch_size, n, what)
        expect(len(images) == n,
               f"{what}: one pass gives {len(images)} images instead of {n}. Every training "
               "image should be used once per epoch (no drop_remainder, no repeat).")
        index = _decode_index(images, n)
        expect(len(np.unique(index)) == n,
               f"{what}: some images appear twice and others never. Shuffle (x, y) pairs "
               "with dataset.shuffle(...), once.")
        expect(np.array_equal(labels, y[index]),
               f"{what}: labels no longer match their images. Shuffle the (image, label) pairs "
               "together: from_tensor_slices((x, y)) first, then shuffle.")
        expect(np.allclose(images[..., 0], x[index] / 255.0, atol=1e-6),
               f"{what}: the images are not scaled the same way as with training=False.")
        orders.append((index, sizes))
    (first, sizes), (second, _) = orders
    expect(not np.array_equal(first, np.arange(n)),
           "With training=True the images still come in their original order: shuffle the "
           "training data.")
    expect(not np.array_equal(first, second),
           "Both training epochs came in the same order. Put cache() before shuffle() (a cache "
           "after the shuffle freezes the first epoch's order) and keep "
           "reshuffle_each_iteration on (the default).")
    blocks = np.split(first, np.cumsum(sizes)[:-1])
    expect(not all(np.array_equal(np.sort(b), np.arange(b.min(), b.min() + len(b)))
                   for b in blocks),
           "Every batch is a run of neighbouring images: you shuffled whole batches. Shuffle "
           "the images first, then batch.")
    expect(first[:batch_size].max() >= 0.75 * n,
           f"The first training batch only holds images from the first "
           f"{first[:batch_size].max() + 1} of {n}: the shuffle buffer is too small to mix the "
           "data. Use a buffer as large as the dataset: shuffle(len(x)).")
    if ops:
        train_ops = _pipeline_ops(train)
        expect(any(op.startswith("Cache") for op in train_ops),
               "The pipeline has no cache(): add it after the map, so the scaling runs once "
               "and later epochs read ready tensors.")
        expect(any(op.startswith("Prefetch") for op in train_ops),
               "The pipeline has no prefetch(): end it with .prefetch(tf.data.AUTOTUNE) so the "
               "next batch is prepared while the model trains on this one.")
    return ("float32 in [0, 1], (batch, 28, 28, 1), shuffled afresh each training epoch, "
            "in order for evaluation, cached and prefetched.")


# --- exercise 5: a model trained through the pipeline ------------------------------------------

def check_pipeline_model(model) -> str:
    from .. import checks

    checks.assert_keras_model(model, "pipeline_model")
    checks.assert_input_shape(model, (28, 28, 1), "pipeline_model")
    checks.assert_output_shape(model, (10,), "pipeline_model")
    checks.assert_softmax_output(model, "pipeline_model")
    checks.assert_no_custom_code(model, "pipeline_model")
    checks.assert_param_budget(model, 250_000, "pipeline_model")
    steps = training_steps(model)
    expect(steps > 0, "`pipeline_model` has not been trained yet: compile it, then fit it on "
                      "the training dataset from make_dataset(..., training=True).")
    return (f"a {model.count_params():,}-parameter model trained for {steps} steps. "
            "The grader measures its test accuracy when this cell is graded.")


ex1 = Exercise(
    "add_channel_axis", check_add_channel_axis, is_function=True,
    hint="Keras wants (N, H, W, C). A length-1 axis can be added at the end with "
         "np.expand_dims(x, axis=-1), or by indexing with x[..., np.newaxis]. Do not hard-code 28.")
ex2 = Exercise(
    "to_channels_last", check_to_channels_last, is_function=True,
    hint="Write down the old axes (N=0, C=1, H=2, W=3) and list them in the order you want: "
         "N, H, W, C. np.transpose takes that list. A reshape to the same shape would scramble "
         "the pixels of colour images.")
ex3 = Exercise(
    "split_validation", check_split_validation, is_function=True,
    hint="Make one permutation of range(len(x)) with np.random.default_rng(seed), take "
         "round(fraction * len(x)) of its indices for validation and the rest for training, and "
         "index x and y with the same index arrays.")
ex4 = Exercise(
    "make_dataset", check_make_dataset, is_function=True,
    hint="from_tensor_slices((x, y)) -> map(a function that casts to float32, divides by 255 "
         "and adds the channel axis) -> cache() -> shuffle(len(x)) only if training -> "
         "batch(batch_size) -> prefetch(tf.data.AUTOTUNE).")
ex5 = Exercise(
    "pipeline_model", check_pipeline_model,
    hint="keras.Input(shape=(28, 28, 1)) -> layers.Flatten() -> layers.Dense(128, "
         "activation='relu') -> layers.Dense(10, activation='softmax'); compile with 'adam' and "
         "'sparse_categorical_crossentropy'; fit on the training dataset with "
         "validation_data=the validation dataset (never the test set) for a few epochs.")
