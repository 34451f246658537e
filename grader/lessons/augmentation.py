"""Lesson 06, augmentation: ``from grader.lessons.augmentation import *`` gives ``ex1`` .. ``ex3``.

The checkers look at the layers (kinds, factors, fill mode) and at what they do to image batches
made here: random "digits" for the augmentation itself, and discs of a different brightness per
image for the tf.data pipeline (a disc's centre survives a small turn and shift, so every image
can still be matched to its label after augmenting).
"""
from __future__ import annotations

import numpy as np

from ..checks import training_steps
from ..feedback import CheckFailed, Exercise, call, expect
from ..quiet import import_tensorflow

__all__ = ["ex1", "ex2", "ex3"]

GEOMETRIC = ("RandomRotation", "RandomTranslation", "RandomZoom")
MAX_ROTATION = 0.1      # of a full turn: 36 degrees
MAX_TRANSLATION = 0.2   # of the height / width: 5.6 pixels at 28x28
MAX_ZOOM = 0.3
SIZE = 28


def _numpy(value) -> np.ndarray:
    return np.asarray(value.numpy() if hasattr(value, "numpy") else value)


def digit_like(n: int, seed=None) -> np.ndarray:
    """``n`` float32 images (n, 28, 28, 1) in [0, 1]: random strokes on a black border."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n, SIZE, SIZE, 1), dtype=np.float32)
    x[:, 4:24, 6:22, 0] = rng.random((n, 20, 16)) ** 3
    return x


def random_layers(model) -> list:
    """Every layer whose class name starts with Random, nested models included, in order."""
    return [layer for layer in model._flatten_layers(include_self=False)
            if type(layer).__name__.startswith("Random")]


def _bound(layer, attribute: str) -> float:
    low, high = getattr(layer, f"{attribute}_lower"), getattr(layer, f"{attribute}_upper")
    return float(max(abs(low), abs(high)))


def _rotation_bound(layer) -> float:
    factor = layer.factor
    values = factor if isinstance(factor, (tuple, list)) else (-factor, factor)
    return float(max(abs(v) for v in values))


def describe(layer) -> str:
    """What a geometric layer's factors mean at 28x28, in degrees and pixels."""
    kind = type(layer).__name__
    if kind == "RandomRotation":
        f = _rotation_bound(layer)
        return f"RandomRotation: up to ±{f:g} of a full turn = ±{360 * f:.1f}°"
    if kind == "RandomTranslation":
        h, w = _bound(layer, "height"), _bound(layer, "width")
        return (f"RandomTranslation: up to ±{h * SIZE:.1f} px vertically, "
                f"±{w * SIZE:.1f} px horizontally")
    if kind == "RandomZoom":
        h = _bound(layer, "height")
        return f"RandomZoom: height scaled by up to ±{h:.0%}"
    return kind


def check_random_layers(layers, name: str) -> None:
    """Kinds, ranges and fill mode of augmentation layers, with the usual mistakes named."""
    kinds = [type(layer).__name__ for layer in layers]
    for layer, kind in zip(layers, kinds):
        if kind == "RandomFlip":
            raise CheckFailed(
                f"`{name}` contains a RandomFlip ({layer.name}). A flipped 2 is not a 2: a "
                "mirrored digit is another symbol, or another digit. Flips suit photos of cats; "
                "for digits use small rotations, shifts and zooms only.")
        if kind in ("RandomBrightness", "RandomContrast"):
            raise CheckFailed(
                f"`{name}` contains a {kind} ({layer.name}). This exercise asks for geometric "
                "transforms only (RandomRotation, RandomTranslation, RandomZoom). Beware also: "
                f"{kind} assumes pixels in [0, 255] unless you pass value_range=(0, 1), and our "
                "images are in [0, 1].")
        expect(kind in GEOMETRIC,
               f"`{name}` contains a {kind} ({layer.name}); use the geometric transforms of "
               "this lesson only: RandomRotation, RandomTranslation, RandomZoom.")
    for required in ("RandomRotation", "RandomTranslation"):
        expect(required in kinds, f"`{name}` has no {required} layer; its random layers are "
                                  f"{kinds}. Use at least a RandomRotation and a "
                                  "RandomTranslation.")
    for layer, kind in zip(layers, kinds):
        if kind == "RandomRotation":
            f = _rotation_bound(layer)
            expect(f > 0, f"`{name}`'s {layer.name} has factor 0: it never turns anything.")
            if f > MAX_ROTATION:
                radians = (f" If you meant {np.degrees(f):.0f}°, you gave radians."
                           if 5 <= np.degrees(f) <= 60 else "")
                raise CheckFailed(
                    f"`{name}`'s {layer.name} has factor {f:g}. RandomRotation's factor is a "
                    f"fraction of a FULL TURN (2π), so {f:g} turns a digit by up to "
                    f"±{360 * f:.0f}°: a 6 becomes a 9 at 180°.{radians} Convert degrees: "
                    f"15° is 15/360 ≈ 0.042. Keep it at most {MAX_ROTATION} "
                    f"(±{360 * MAX_ROTATION:.0f}°).")
        elif kind == "RandomTranslation":
            h, w = _bound(layer, "height"), _bound(layer, "width")
            expect(h > 0 or w > 0, f"`{name}`'s {layer.name} has factors 0: it never moves "
                                   "anything.")
            if max(h, w) > MAX_TRANSLATION:
                raise CheckFailed(
                    f"`{name}`'s {layer.name} moves images by up to {max(h, w):g} of their "
                    f"size, {max(h, w) * SIZE:.0f} pixels of 28: the digit can leave the image. "
                    "RandomTranslation's factors are FRACTIONS of the height and width, not "
                    f"pixels: 3 pixels is 3/28 ≈ 0.11. Keep them at most {MAX_TRANSLATION}.")
        else:  # RandomZoom
            h = _bound(layer, "height")
            w = _bound(layer, "width") if layer.width_factor is not None else h
            expect(max(h, w) > 0, f"`{name}`'s {layer.name} has factor 0: it never zooms.")
            expect(max(h, w) <= MAX_ZOOM,
                   f"`{name}`'s {layer.name} zooms by up to ±{max(h, w):.0%}; a digit that "
                   f"grows or shrinks that much no longer looks like the data. RandomZoom's "
                   f"factor is a fraction of the size: keep it at most {MAX_ZOOM}.")
        expect(layer.fill_mode == "constant" and float(layer.fill_value) == 0.0,
               f"`{name}`'s {layer.name} uses fill_mode={layer.fill_mode!r}"
               + (f", fill_value={layer.fill_value:g}" if layer.fill_mode == "constant" else "")
               + ". The pixels a turn or shift uncovers must be black background, like the "
                 "rest of the border: pass fill_mode=\"constant\" (fill_value 0 is the "
                 "default). The default \"reflect\" mirrors strokes back into the image.")


# --- exercise 1: a Sequential of augmentation layers ------------------------------------------

def _input_shape(model):
    try:
        return tuple(model.inputs[0].shape[1:]) if model.inputs else None
    except (AttributeError, ValueError):  # a Sequential without keras.Input, not built yet
        return None


def check_augmentation(augmentation) -> str:
    _, keras = import_tensorflow()
    name = "augmentation"
    if isinstance(augmentation, keras.layers.Layer) and not isinstance(augmentation, keras.Model):
        raise CheckFailed(f"`{name}` is a single {type(augmentation).__name__} layer; make it a "
                          "keras.Sequential([...]) of several random layers.")
    expect(isinstance(augmentation, keras.Model),
           f"`{name}` should be a keras.Sequential of preprocessing layers, found "
           f"{type(augmentation).__name__}. (ImageDataGenerator is gone in Keras 3.)")
    shape = _input_shape(augmentation)
    if shape is not None and shape != (SIZE, SIZE, 1):
        if None not in shape and int(np.prod(shape)) == SIZE * SIZE and len(shape) == 1:
            raise CheckFailed(
                f"`{name}` takes flattened rows of shape {(None, *shape)}. Augmentation turns "
                "and shifts IMAGES: it needs image tensors (N, 28, 28, 1), not (N, 784) rows. "
                "Use keras.Input(shape=(28, 28, 1)), and flatten only after augmenting.")
        raise CheckFailed(f"`{name}` takes inputs of shape {(None, *shape)}; it should take "
                          "image batches (N, 28, 28, 1): keras.Input(shape=(28, 28, 1)). "
                          "Without the channel axis a (N, 28, 28) batch is read as ONE image.")
    others = [layer for layer in augmentation._flatten_layers(include_self=False)
              if not type(layer).__name__.startswith("Random")
              and type(layer).__name__ not in ("InputLayer", "Sequential")]
    for layer in others:
        kind = type(layer).__name__
        if kind in ("Flatten", "Reshape"):
            raise CheckFailed(f"`{name}` contains a {kind} layer. Augmentation works on images "
                              "(N, 28, 28, 1) and gives images back; flattening belongs to the "
                              "model, after the augmentation.")
        if kind == "Rescaling":
            raise CheckFailed(f"`{name}` contains a Rescaling layer: the images are already "
                              "scaled to [0, 1], once. Keep only the random layers.")
        raise CheckFailed(f"`{name}` contains a {kind} layer ({layer.name}); it should hold "
                          "only random augmentation layers.")
    layers = random_layers(augmentation)
    expect(layers, f"`{name}` has no random layers. Put keras.layers.RandomRotation and "
                   "keras.layers.RandomTranslation in the Sequential.")
    check_random_layers(layers, name)

    x = digit_like(32)
    try:
        at_inference = _numpy(augmentation(x, training=False))
    except NotImplementedError:
        raise
    except Exception as error:
        raise CheckFailed(f"Applying `{name}` to a batch of shape {x.shape} raised "
                          f"{type(error).__name__}: {str(error).splitlines()[0][:200]}. It must "
                          "accept image batches (N, 28, 28, 1).") from None
    expect(at_inference.shape == x.shape,
           f"`{name}` turned a batch of shape {x.shape} into {at_inference.shape}; augmentation "
           "must keep the shape.")
    expect(np.allclose(at_inference, x, atol=1e-6),
           f"`{name}` changed images with training=False. At inference augmentation must be the "
           "identity.")
    first, second = (_numpy(augmentation(x, training=True)) for _ in range(2))
    expect(first.shape == x.shape, f"With training=True `{name}` returned shape {first.shape} "
                                   f"for a batch of shape {x.shape}.")
    expect(not np.allclose(first, x, atol=1e-4),
           f"With training=True `{name}` left the images unchanged.")
    expect(not np.allclose(first, second, atol=1e-4),
           f"Two calls of `{name}` with training=True gave the same images: each call must draw "
           "new random transforms.")
    ink = float(first.sum() / x.sum())
    expect(ink > 0.7, f"`{name}` lost {1 - ink:.0%} of the ink of the images off their edges; "
                      "use smaller factors.")
    return "; ".join(describe(layer) for layer in layers) + "; fill black; identity at inference."


# --- exercise 2: a trained model with the augmentation inside --------------------------------

def check_augmented_model(model) -> str:
    from .. import checks
    from ..evaluate import layers_called_with_training

    _, keras = import_tensorflow()
    name = "augmented_model"
    checks.assert_keras_model(model, name)
    checks.assert_no_custom_code(model, name)
    shape = _input_shape(model)
    if shape is not None and len(shape) == 1:
        raise CheckFailed(f"`{name}` takes flattened rows {(None, *shape)}. Augmentation needs "
                          "image tensors: keras.Input(shape=(28, 28, 1)), the random layers, "
                          "then Flatten.")
    expect(shape in ((SIZE, SIZE, 1), (SIZE, SIZE)),
           f"`{name}` should take 28x28 images, keras.Input(shape=(28, 28, 1)); found inputs "
           f"of shape {None if shape is None else (None, *shape)}.")
    checks.assert_output_shape(model, (10,), name)
    checks.assert_softmax_output(model, name)
    layers = random_layers(model)
    expect(layers, f"`{name}` has no augmentation layers inside it; its layers are "
                   f"{checks.layer_kinds(model)}. Put RandomRotation and RandomTranslation right "
                   "after keras.Input (augmenting the data outside the model is exercise 3).")
    check_random_layers(layers, name)
    order = [type(layer).__name__ for layer in model._flatten_layers(include_self=False)]
    first_random = min(order.index(type(layer).__name__) for layer in layers)
    learned = [i for i, kind in enumerate(order) if kind in ("Dense", "Conv2D", "Flatten")]
    expect(not learned or first_random < learned[0],
           f"`{name}` augments after its {order[learned[0]]} layer: its layers run "
           f"{order}. The random layers transform images, so they come first, right after "
           "keras.Input.")
    for layer in layers:
        try:
            seen = tuple(layer.input.shape[1:])
        except (AttributeError, ValueError):
            continue
        expect(seen == (SIZE, SIZE, 1),
               f"`{name}`'s {layer.name} receives tensors of shape {(None, *seen)}; it needs "
               "image batches (N, 28, 28, 1). With keras.Input(shape=(28, 28)) add "
               "layers.Reshape((28, 28, 1)) first.")
    wired = layers_called_with_training(model)  # Dropout(...)(h, training=True) and the like
    expect(not wired,
           f"`{name}` calls {', '.join(wired)} with training=True, which keeps it on at "
           "inference. Remove training=True: fit switches such layers on, predict and evaluate "
           "switch them off.")
    loss = getattr(model, "loss", None)
    expect(loss is not None, f"`{name}` is not compiled: compile it with 'adam' and "
                             "'sparse_categorical_crossentropy', then fit it.")
    steps = training_steps(model)
    expect(steps > 0, f"`{name}` has not been trained yet: fit it on the training images.")
    x = digit_like(32, seed=0)
    if shape == (SIZE, SIZE):
        x = x[..., 0]
    predicted = [model.predict(x, verbose=0) for _ in range(2)]
    inference = [_numpy(model(x, training=False)) for _ in range(2)]
    expect(np.allclose(*predicted, atol=1e-6) and np.allclose(*inference, atol=1e-6),
           f"`{name}` gives different predictions for the same images: augmentation is still "
           "active at inference.")
    trained = [_numpy(model(x, training=True)) for _ in range(2)]
    expect(not np.allclose(*trained, atol=1e-6),
           f"`{name}`'s random layers never change its output, even with training=True: put "
           "them on the path from the input to the output.")
    return (f"{'; '.join(describe(layer) for layer in layers)}; off at inference, trained for "
            f"{steps} steps. The grader scores it on the shifted-and-rotated test images when "
            "this cell is graded.")


# --- exercise 3: augmentation in a tf.data pipeline ------------------------------------------

def discs(n: int, seed=None):
    """Images (n, 28, 28, 1) each holding a centred disc of radius 9 with its own brightness,
    and those brightnesses: a small turn or shift leaves the centre pixel's value unchanged."""
    rng = np.random.default_rng(seed)
    values = rng.permutation(np.linspace(0.2, 1.0, n)).astype(np.float32)
    yy, xx = np.mgrid[:SIZE, :SIZE]
    disc = ((yy - 13.5) ** 2 + (xx - 13.5) ** 2 <= 81).astype(np.float32)
    return values[:, None, None, None] * disc[None, :, :, None], values


def pipeline_stages(ds) -> list[str]:
    """Outermost first: _PrefetchDataset, _ParallelMapDataset, CacheDataset, _BatchDataset..."""
    stages = []
    while ds is not None:
        stages.append(type(ds).__name__)
        ds = getattr(ds, "_input_dataset", None)
    return stages


def _epoch(ds, what: str):
    images, labels = [], []
    try:
        for element in ds:
            expect(isinstance(element, tuple) and len(element) == 2,
                   f"{what} yields {type(element).__name__} elements; it must yield "
                   "(images, labels) pairs like the dataset it was given.")
            images.append(_numpy(element[0]))
            labels.append(_numpy(element[1]))
    except CheckFailed:
        raise
    except Exception as error:
        raise CheckFailed(f"Iterating over {what} raised {type(error).__name__}: "
                          f"{str(error).splitlines()[0][:200]}") from None
    return images, labels


def check_augment_dataset(fn, seed=None) -> str:
    tf, keras = import_tensorflow()
    layers = keras.layers
    rng = np.random.default_rng(seed)
    n, batch = int(rng.integers(30, 50)), int(rng.integers(5, 9))
    images, values = discs(n, rng)
    labels = rng.integers(0, 10, n).astype("int64")
    ds = tf.data.Dataset.from_tensor_slices((images, labels)).batch(batch)
    augmentation = keras.Sequential([
        layers.RandomRotation(0.05, fill_mode="constant"),
        layers.RandomTranslation(0.1, 0.1, fill_mode="constant"),
    ])
    out = call(fn, ds, augmentation, name="augment_dataset")
    expect(isinstance(out, tf.data.Dataset),
           f"`augment_dataset` should return a tf.data.Dataset, found {type(out).__name__}. "
           "Return ds.map(...).prefetch(...).")
    stages = pipeline_stages(out)
    maps = [i for i, s in enumerate(stages) if "Map" in s]
    caches = [i for i, s in enumerate(stages) if "Cache" in s]
    cached_after = bool(maps and caches and caches[0] < maps[0])
    first_images, first_labels = _epoch(out, "the dataset `augment_dataset` returned")
    expect(len(first_images) == len(list(ds)),
           f"The dataset had {len(list(ds))} batches of {batch}; the one `augment_dataset` "
           f"returned has {len(first_images)}. Keep the batches as they are: map over them.")
    got_labels = np.concatenate([np.reshape(b, -1) for b in first_labels])
    if not np.array_equal(got_labels, labels):
        if np.array_equal(np.sort(got_labels), np.sort(labels)):
            raise CheckFailed("`augment_dataset` changed the order of the examples. It should "
                              "only transform the images; shuffling belongs earlier in the "
                              "pipeline, before batching.")
        raise CheckFailed("`augment_dataset` changed the labels. Map a function of (x, y) that "
                          "returns (augmentation(x, training=True), y): labels pass through "
                          "untouched.")
    shapes = [b.shape for b in first_images]
    expected = [(min(batch, n - i), SIZE, SIZE, 1) for i in range(0, n, batch)]
    expect(shapes == expected,
           f"The image batches have shapes {shapes[:2]}...; expected {expected[:2]}...: the "
           "augmentation keeps the shape of each batch.")
    x1 = np.concatenate(first_images)
    expect(not np.allclose(x1, images, atol=1e-4),
           "`augment_dataset` returned the images unchanged. Call the augmentation in training "
           "mode, augmentation(x, training=True): with training=False it is the identity.")
    centres = x1[:, 12:16, 12:16, 0]
    expect(np.allclose(centres, values[:, None, None], atol=1e-3),
           "The augmented images no longer match their labels: image i must stay image i, "
           "only turned and shifted.")
    second_images, _ = _epoch(out, "the dataset `augment_dataset` returned (a second time)")
    x2 = np.concatenate(second_images)
    if np.allclose(x1, x2, atol=1e-6):
        raise CheckFailed(
            "Two passes over the dataset gave the same augmented images: every epoch must draw "
            "new transforms. "
            + ("The pipeline caches AFTER the random step (…map(augment).cache()): caching after "
               "the random step freezes one draw. Cache before augmenting."
               if cached_after else "Do not cache or precompute the augmented images: map the "
                                    "augmentation over the batches so it runs on every pass."))
    expect(not cached_after,
           "The pipeline caches after the random step: caching after the random step freezes "
           "one draw. Cache before augmenting.")
    expect(any("Prefetch" in s for s in stages[:1]),
           f"The returned pipeline ends with {stages[0]}; end it with "
           ".prefetch(tf.data.AUTOTUNE), so the next batch is augmented while the model trains "
           "on this one.")
    return ("labels untouched and aligned, images turned and shifted, a new draw every epoch, "
            "prefetched.")


ex1 = Exercise(
    "augmentation", check_augmentation,
    hint="keras.Sequential([keras.Input(shape=(28, 28, 1)), layers.RandomRotation(...), "
         "layers.RandomTranslation(..., ...), layers.RandomZoom(...)]), with "
         "fill_mode=\"constant\" in each. The rotation factor is a fraction of a full turn "
         "(degrees / 360); the translation and zoom factors are fractions of the image size "
         "(pixels / 28).")
ex2 = Exercise(
    "augmented_model", check_augmented_model,
    hint="keras.Sequential([keras.Input(shape=(28, 28, 1)), the random layers (new ones, with "
         "fill_mode=\"constant\"), layers.Flatten(), layers.Dense(256, activation=\"relu\"), "
         "layers.Dense(10, activation=\"softmax\")]); compile with \"adam\" and "
         "\"sparse_categorical_crossentropy\"; fit on x_fit, y_fit for EPOCHS epochs.")
ex3 = Exercise(
    "augment_dataset", check_augment_dataset, is_function=True,
    hint="ds.map(lambda x, y: (augmentation(x, training=True), y), "
         "num_parallel_calls=tf.data.AUTOTUNE), then .prefetch(tf.data.AUTOTUNE). No cache "
         "after the map.")
