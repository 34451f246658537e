"""Lesson 02, data formats: ``ex1`` .. ``ex5``, checked on fresh random inputs (shapes, values,
order, invariants). A wrong answer is compared first with what the catalogued mistakes compute.
"""
from __future__ import annotations

import numpy as np

from ..feedback import CheckFailed, Exercise, Mistake, call, checker, expect, rule_out
from ..keras_internals import dataset_ops
from ..model_spec import ModelSpec, check_trained_model, graded_later
from ..quiet import import_tensorflow
from ..seeding import test_rng

__all__ = ["ex1", "ex2", "ex3", "ex4", "ex5"]


def _tf():
    return import_tensorflow()[0]


def _same(a, b) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b)


# --- exercises 1 and 2: layouts ---------------------------------------------------------------

def _check_layout(fn, exercise, shapes, right, advice: str) -> None:
    """Each shape: the input untouched, a catalogued mistake named, then shape, dtype, values."""
    rng, name = test_rng(), exercise.name
    for shape in shapes:
        x = rng.integers(0, 256, size=shape, dtype=np.uint8)
        where, want, original = f"For a batch of shape {shape}", right(x), x.copy()
        other_size = "" if shape[-2:] == (28, 28) else (f" (Input of shape {shape}: your function "
                                                        "seems to assume 28x28 images.)")
        try:
            out = call(fn, x, name=name)
        except CheckFailed as failure:
            raise CheckFailed(f"{failure}{other_size}") from None
        out = out.numpy() if hasattr(out, "numpy") else out
        expect(isinstance(out, np.ndarray), f"`{name}` should return an array (numpy array or "
                                            f"tf.Tensor), found {type(out).__name__}.")
        expect(np.array_equal(original, x), f"`{name}` changed its input array in place; return "
                                            "a new array.")
        if not _same(out, want):
            rule_out(out, exercise.mistakes, x, close=_same, given=f"a batch of shape {shape}",
                     shape=out.shape, want=want.shape)
        expect(out.shape == want.shape, f"{where} the result should have shape {want.shape}, found "
                                        f"{out.shape}.{other_size}")
        expect(out.dtype == x.dtype, f"The pixel type changed from {x.dtype} to {out.dtype}. A "
               "layout change should not convert or scale anything; scaling to [0, 1] belongs in "
               "the input pipeline.")
        expect(np.array_equal(out, want), f"{where} the shape is right but the pixel values "
                                          f"changed or moved. {advice}")


@checker("add_channel_axis", "a function returning an array of shape (N, H, W, 1)")
def check_add_channel_axis(fn) -> str:
    _check_layout(fn, ex1, [(4, 28, 28), (1, 28, 28), (5, 7, 9)], lambda x: x[..., None],
                  "Adding a channel axis must keep every value where it was.")
    return "(N, H, W) -> (N, H, W, 1), values untouched, for any image size."


@checker("to_channels_last", "a function returning an array of shape (N, H, W, C)")
def check_to_channels_last(fn) -> str:
    _check_layout(fn, ex2, [(2, 3, 5, 7), (4, 3, 28, 28), (1, 2, 6, 4), (3, 1, 28, 28)],
                  lambda x: np.moveaxis(x, 1, -1), "A transpose moves whole axes, so that "
                  "out[n, h, w, c] == x[n, c, h, w].")
    return "axes moved with a transpose; every pixel kept its place, even with 3 channels."


ex1 = Exercise("add_channel_axis", check_add_channel_axis, is_function=True, hints=(
    "Keras wants (N, H, W, C): add an axis of length 1 at the end, for images of any size.",
    "An axis of length 1 moves no value: a (5, 3) table becomes (5, 3, 1) with "
    "`np.expand_dims(table, axis=2)` (-1 is the last position) or `table[:, :, np.newaxis]`, "
    "where `...` stands for all the axes before. Sizes read from the input keep 28 out of it."),
    mistakes=[
        Mistake(lambda x: np.expand_dims(x, 1), "You returned {shape} for {given}: that is "
                "channels_first (N, C, H, W). Keras' default layout is channels_last: the channel "
                "axis goes at the end, {want}."),
        Mistake(lambda x: x[np.newaxis], "You returned {shape} for {given}: the new axis went in "
                "front of the batch axis. Add it at the end (axis=-1): {want}."),
        Mistake(lambda x: x.reshape(len(x), -1), "You returned {shape} for {given}: the images were "
                "flattened. Keep them as images, with a channel axis of length 1: {want}."),
    ])
ex2 = Exercise("to_channels_last", check_to_channels_last, is_function=True, hints=(
    "Number the old axes (N=0, C=1, H=2, W=3), list them in the new order; never reshape.",
    "A transpose takes the new order of the old axes: a (day, hour, sensor) array becomes (sensor, "
    "day, hour) with `np.transpose(a, (2, 0, 1))`, the sensor axis (old number 2) first; "
    "`np.moveaxis(a, source, destination)` moves one axis. Do the same for N, H, W, C."),
    mistakes=[
        Mistake(lambda x: x.reshape(x.shape[0], *x.shape[2:], x.shape[1]), "The shape is right but "
                "the pixels are scrambled (for {given}): you reshaped. reshape re-cuts the values in "
                "memory order, so a red plane's neighbouring pixels become one pixel's (R, G, B). "
                "Move the axes: np.transpose(x, (0, 2, 3, 1)) or tf.transpose(x, [0, 2, 3, 1])."),
        Mistake(lambda x: np.transpose(x, (0, 3, 2, 1)), "You returned {shape} = (N, W, H, C) for "
                "{given}: height and width swapped, the images mirrored. Use (0, 2, 3, 1)."),
        Mistake(lambda x: x, "You returned the same shape {shape}: the layout did not "
                "change. The result should be (N, H, W, C) = {want}."),
    ])


# --- exercise 3: a validation split -----------------------------------------------------------

def _indexed(shape, rng) -> np.ndarray:
    """Random uint8 images whose first two pixels spell their index, and whose last is 255."""
    x = rng.integers(0, 256, size=shape, dtype=np.uint8)
    x[:, 0, 0], x[:, 0, 1], x[:, -1, -1] = np.arange(len(x)) % 256, np.arange(len(x)) // 256, 255
    return x


def _index_of(images) -> np.ndarray:
    pixels = np.rint(np.asarray(images, dtype=float))
    return (pixels[:, 0, 0] + 256 * pixels[:, 0, 1]).astype(int)


def _unshuffled(at_end: bool):  # validation cut off the end (as fit(validation_split=)) or start
    def split(x, y, fraction=0.1, seed=0):
        k = int(round(fraction * len(x)))
        order = np.roll(np.arange(len(x)), k if at_end else 0)
        return (x[order[k:]], y[order[k:]]), (x[order[:k]], y[order[:k]])
    return split


def _split(fn, x, y, fraction, seed):
    """One call of ``split_validation``, checked; returns the (train, val) image indices."""
    x0, y0, n = x.copy(), y.copy(), len(x)
    result = call(fn, x, y, fraction=fraction, seed=seed, name="split_validation")
    expect(np.array_equal(x, x0) and np.array_equal(y, y0), "`split_validation` changed the arrays "
           "it was given (np.random.shuffle shuffles in place). Leave x and y untouched: shuffle an "
           "index array and index with it.")
    try:
        (x_tr, y_tr), (x_val, y_val) = result
    except (TypeError, ValueError):
        raise CheckFailed("`split_validation` should return two pairs: `(x_tr, y_tr), (x_val, "
                          f"y_val)`, found {type(result).__name__}.") from None
    x_tr, y_tr, x_val, y_val = map(np.asarray, (x_tr, y_tr, x_val, y_val))
    what = f"split_validation(x, y, fraction={fraction}, seed={seed}) with {n} images"
    allowed = {int(np.floor(fraction * n)), int(round(fraction * n)), int(np.ceil(fraction * n))}
    expect(len(x_val) in allowed, f"{what} should give {round(fraction * n)} validation images, "
           f"found {len(x_val)}." + (" Did you swap the two pairs? The training pair comes first."
                                     if len(x_tr) in allowed else ""))
    expect(len(x_tr) + len(x_val) == n, f"{what}: training ({len(x_tr)}) + validation "
           f"({len(x_val)}) should be all {n} images, no more, no fewer.")
    expect(len(y_tr) == len(x_tr) and len(y_val) == len(x_val), "Each pair needs as many labels "
           f"as images: found {len(x_tr)} training images with {len(y_tr)} labels, {len(x_val)} "
           f"validation images with {len(y_val)} labels.")
    expect(x_tr.shape[1:] == x.shape[1:] == x_val.shape[1:], "The images should keep their shape "
           f"{x.shape[1:]}; found {x_tr.shape[1:]} and {x_val.shape[1:]}.")
    tr, val = _index_of(x_tr), _index_of(x_val)
    expect(all(np.all(i < n) and np.all(part == x[np.clip(i, 0, n - 1)])
               for part, i in ((x_tr, tr), (x_val, val))), "Some images are not unchanged images "
           "of x. Split the data as it is; do not scale or reshape it here.")
    expect(len(np.intersect1d(tr, val)) == 0, f"{len(np.intersect1d(tr, val))} images are in both "
           "sets. Training and validation must be disjoint, or validation scores are flattering.")
    expect(len(np.unique(np.concatenate([tr, val]))) == n, "Some images appear twice and others "
           "are missing: split a permutation of the indices, so each image lands in one part.")
    expect(np.array_equal(y_tr, y[tr]) and np.array_equal(y_val, y[val]), "The labels no longer "
           "match their images. Shuffle images and labels with the SAME permutation (index both "
           "with one index array), never with two separate shuffles.")
    rule_out(result, ex3.mistakes, x, y, fraction, seed,  # the same validation images?
             close=lambda found, wrong: set(val) == set(_index_of(wrong[1][0])))
    return tr, np.sort(val)


@checker("split_validation", "a function returning ((x_tr, y_tr), (x_val, y_val))")
def check_split_validation(fn) -> str:
    rng = test_rng()
    n = 10 * int(rng.integers(20, 40))
    x, y = _indexed((n, 6, 6), rng), np.repeat(np.arange(10), n // 10).astype(np.uint8)
    _, val = _split(fn, x, y, 0.1, 0)
    expect(len(np.unique(y[val])) >= 5, f"On data sorted by label your validation set holds only "
           f"{len(np.unique(y[val]))} classes: it is not a random sample. Use a random permutation "
           "of all indices.")
    expect(np.array_equal(_split(fn, x, y, 0.1, 0)[1], val), "Two calls with the same seed gave "
           "different splits. Make the shuffle depend on `seed` only: a generator made from it.")
    expect(not np.array_equal(_split(fn, x, y, 0.1, 1)[1], val),
           "seed=0 and seed=1 gave the same split: the seed argument is ignored.")
    _split(fn, x, y, 0.25, 3)
    return "shuffled, disjoint, labels aligned, reproducible from the seed."


UNSHUFFLED = ("The validation set is simply the last (or first) part of the data, unshuffled: on "
              "data sorted by label, a validation set of one or two classes (Keras' own "
              "`validation_split=` takes the last part). Shuffle the indices before cutting.")
ex3 = Exercise("split_validation", check_split_validation, is_function=True, hints=(
    "Shuffle the positions 0 .. len(x) - 1 with `seed`; cut them in two; index x and y alike.",
    "Dealing 52 cards into a hand of 5 and a deck: `np.random.default_rng(7).permutation(52)` is "
    "a random order of the positions 0..51, the same for the same seed; its first 5 entries are "
    "the hand, the rest the deck, and every array describing the cards (faces, suits) is indexed "
    "with those same pieces. Nothing is shuffled in place."),
    mistakes=[Mistake(_unshuffled(at_end=True), UNSHUFFLED),
              Mistake(_unshuffled(at_end=False), UNSHUFFLED)])


# --- exercise 4: a tf.data pipeline -----------------------------------------------------------

_pipeline_ops = dataset_ops  # the graph's ops, read in grader.keras_internals


def _epoch(dataset, x, y, batch_size, what):
    """One pass, checked (each image once, scaled once, with its label): its order and batches."""
    n, images, labels, sizes = len(x), [], [], []
    for element in dataset:
        expect(isinstance(element, tuple) and len(element) == 2, f"{what}: each element should be a "
               f"pair (images, labels), found {type(element).__name__}: from_tensor_slices((x, y)).")
        images.append(element[0].numpy())
        labels.append(element[1].numpy())
        sizes.append(len(images[-1]))
        expect(sum(sizes) <= 3 * n, f"{what}: one pass gives far more than the {n} images it was "
                                    "made from. Do not .repeat() the dataset: fit runs the epochs.")
    expect(images, f"{what}: the dataset is empty.")
    images, labels = np.concatenate(images)[..., 0], np.concatenate(labels)
    top, bottom = float(images.max()), float(images.min())
    expect(bottom >= 0 and top <= 1.0 + 1e-6, f"{what}, pixel values run from {bottom:g} to "
           f"{top:g}; they should be scaled to [0, 1]: divide by 255 once.")
    expect(top > 0.5, f"{what}, the brightest pixel (255) came out as {top:.6f}, not 1.0: divided "
           "by 255 twice (the seed's mistake: while loading, again in preprocessing). Scale once.")
    expect(len(images) == n and sizes.count(batch_size) >= len(sizes) - 1, f"{what}, one pass "
           f"gives {len(images)} images in batches of {sizes[:3]}...; it was made from {n}, to be "
           f"seen once each in batches of {batch_size} (the last one fewer): no drop_remainder, "
           "no repeat.")
    index = np.clip(_index_of(images * 255), 0, n - 1)
    expect(len(np.unique(index)) == n, f"{what}, some images appear twice and others never. "
           "Shuffle (x, y) pairs with dataset.shuffle(...), once.")
    expect(np.array_equal(labels, y[index]), f"{what}, labels no longer match their images. "
           "Shuffle the (image, label) pairs together: from_tensor_slices((x, y)) first.")
    expect(np.allclose(images, x[index] / 255.0, atol=1e-6),
           f"{what}, the pixel values are not the input divided by 255.")
    return index, sizes


WRONG_IMAGES = {  # what a batch's image shape says went wrong
    (None, 28, 28): "a batch with no channel axis. Add it in the map: (28, 28) -> (28, 28, 1).",
    (None, 784): "flattened. Keep them as images (28, 28, 1): flattening is layers.Flatten's job.",
    (None, 1, 28, 28): "channels_first. Keras uses channels_last: (28, 28, 1).",
    (28, 28, 1): "single images, not batches: batch the dataset with .batch(batch_size).",
}


@checker("make_dataset", "a function returning a tf.data.Dataset of (images, labels) batches")
def check_make_dataset(fn) -> str:
    tf, rng = _tf(), test_rng()
    n, batch_size = int(rng.integers(900, 1100)), 64
    x, y = _indexed((n, 28, 28), rng), rng.integers(0, 10, n).astype(np.uint8)
    x0 = x.copy()
    datasets = [call(fn, x, y, batch_size=batch_size, training=t, name="make_dataset")
                for t in (False, True)]
    for ds in datasets:
        expect(isinstance(ds, tf.data.Dataset), f"`make_dataset` should return a tf.data.Dataset, "
               f"found {type(ds).__name__}. Start from tf.data.Dataset.from_tensor_slices((x, y)).")
    expect(np.array_equal(x0, x), "`make_dataset` changed the array it was given; leave it.")
    spec = datasets[0].element_spec
    expect(isinstance(spec, tuple) and len(spec) == 2,
           f"Each element should be a pair (images, labels); element_spec is {spec}.")
    shape = tuple(spec[0].shape)
    expect(shape not in WRONG_IMAGES, f"The images come out as {shape}: {WRONG_IMAGES.get(shape)}")
    expect(shape[1:] == (28, 28, 1), f"Each batch of images should have shape (batch, 28, 28, 1); "
                                     f"element_spec says {shape}.")
    expect(shape[0] is None, f"The batch axis is fixed to {shape[0]}: drop_remainder=True throws "
           "the last partial batch away, but evaluation must see every image: .batch(batch_size).")
    expect(spec[0].dtype == tf.float32, f"The images should be float32, found "
           f"{spec[0].dtype.name}. Cast with tf.cast(image, tf.float32) before dividing by 255.")
    expect(spec[1].dtype.is_integer and tuple(spec[1].shape) == (None,), "The labels should stay "
           f"integer classes, shape (batch,); found {spec[1].dtype.name} {tuple(spec[1].shape)}.")
    index, _ = _epoch(datasets[0], x, y, batch_size, "With training=False")
    expect(np.array_equal(index, np.arange(n)) and not any(op.startswith("Shuffle") for op in
           _pipeline_ops(datasets[0])), "With training=False the images came in a different order "
           "(or the pipeline shuffles): shuffle only when training, so predictions match labels.")

    (first, sizes), (second, _) = (_epoch(datasets[1], x, y, batch_size, "With training=True "
                                          f"(epoch {epoch})") for epoch in (1, 2))
    expect(not np.array_equal(first, np.arange(n)), "With training=True the images still come in "
           "their original order: shuffle the training data.")
    expect(not np.array_equal(first, second), "Both training epochs came in the same order: put "
           "cache() before shuffle() (a cache after it freezes epoch 1's order); reshuffle each one.")
    expect(not all(np.array_equal(np.sort(b), np.arange(b.min(), b.min() + len(b)))
                   for b in np.split(first, np.cumsum(sizes)[:-1])),
           "Every batch is a run of neighbouring images: you shuffled whole batches. Shuffle the "
           "images first, then batch.")
    expect(first[:batch_size].max() >= 0.75 * n, f"The first training batch holds images from the "
           f"first {first[:batch_size].max() + 1} of {n} only: the shuffle buffer is too small to mix "
           "the data. Use a buffer as large as the dataset: shuffle(len(x)).")
    ops = _pipeline_ops(datasets[1])
    for op, advice in (("Cache", "cache(): add it after the map, so the scaling runs once and "
                                 "later epochs read ready tensors."),
                       ("Prefetch", "prefetch(): end it with .prefetch(tf.data.AUTOTUNE) so the "
                                    "next batch is prepared while the model trains on this one.")):
        expect(not ops or any(o.startswith(op) for o in ops), f"The pipeline has no {advice}")
    return ("float32 in [0, 1], (batch, 28, 28, 1), shuffled afresh each training epoch, "
            "in order for evaluation, cached and prefetched.")


ex4 = Exercise("make_dataset", check_make_dataset, is_function=True, hints=(
    "Section 7's steps: slices of (x, y), map, cache, shuffle (training only), batch, prefetch.",
    "The map's function gets one (image, label) pair and returns it prepared, with `tf.` "
    "operations; for sound clips: `lambda clip, tag: (tf.cast(clip, tf.float32) / 32768.0, tag)`, "
    "and `tf.expand_dims` adds an axis. Cache before the shuffle so each epoch reshuffles, give "
    "the shuffle a buffer the size of the data, keep the last, smaller batch."))


# --- exercise 5: a model trained through the pipeline -----------------------------------------

PIPELINE_MODEL = ModelSpec("pipeline_model", inputs=((28, 28, 1),), max_params=250_000,
                           input_advice="keras.Input(shape=(28, 28, 1)), the shape of the images "
                                        "make_dataset yields",
                           trained_on="the training dataset from make_dataset(..., training=True)")


@checker("pipeline_model",
         "a Keras model built with keras.Input(shape=(28, 28, 1)), compiled and trained")
def check_pipeline_model(model) -> str:
    facts = check_trained_model(model, PIPELINE_MODEL)
    return f"loss {facts.loss}; " + graded_later(facts)


ex5 = Exercise("pipeline_model", check_pipeline_model, hints=(
    "The input is what the pipeline yields, a (28, 28, 1) image; validate on val_ds, never test.",
    "Section 7's timing cell trains this kind of model through a pipeline: a Sequential model "
    "from an Input of the image shape, Flatten, Dense layers, a loss for integer labels, then "
    "fit(one dataset, validation_data=another): no y, the datasets carry the labels."))
