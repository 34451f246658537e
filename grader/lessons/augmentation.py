"""Lesson 06, augmentation: ``from grader.lessons.augmentation import *`` gives ex1 .. ex3."""
from __future__ import annotations

import numpy as np

from ..feedback import CheckFailed, Exercise, call, checker, expect
from ..keras_internals import all_layers, dataset_stages
from ..model_spec import ModelSpec, check_trained_model
from ..quiet import import_tensorflow
from ..seeding import keeps_random_state, test_rng

__all__ = ["ex1", "ex2", "ex3"]

MAX_ROTATION = 0.1      # of a full turn: 36 degrees
MAX_TRANSLATION = 0.2   # of the height / width: 5.6 pixels at 28x28
MAX_ZOOM = 0.3
SIZE = 28


def _numpy(value) -> np.ndarray:
    return np.asarray(value.numpy() if hasattr(value, "numpy") else value)


def digit_like(n: int, seed=None) -> np.ndarray:
    """``n`` float32 images (n, 28, 28, 1) in [0, 1]: random strokes on a black border."""
    x = np.zeros((n, SIZE, SIZE, 1), dtype=np.float32)
    x[:, 4:24, 6:22, 0] = test_rng(seed).random((n, 20, 16)) ** 3
    return x


def random_layers(model) -> list:
    """Every layer whose class name starts with Random, nested models included, in order."""
    return [layer for layer in all_layers(model) if type(layer).__name__.startswith("Random")]


def _bounds(layer) -> tuple[float, float]:
    """The largest factor of a geometric layer: (a turn or the height, the width)."""
    if type(layer).__name__ == "RandomRotation":
        return (float(np.abs(np.atleast_1d(layer.factor)).max()),) * 2
    h = max(abs(layer.height_lower), abs(layer.height_upper))  # a zoom without width keeps shape:
    return h, max(abs(getattr(layer, "width_lower", h)), abs(getattr(layer, "width_upper", h)))


def describe(layer) -> str:
    """What a geometric layer's factors mean at 28x28, in degrees and pixels."""
    kind, (h, w) = type(layer).__name__, _bounds(layer)
    return {"RandomRotation": f"RandomRotation: up to ±{h:g} of a full turn = ±{360 * h:.1f}°",
            "RandomTranslation": f"RandomTranslation: up to ±{h * SIZE:.1f} px vertically, "
                                 f"±{w * SIZE:.1f} px horizontally",
            "RandomZoom": f"RandomZoom: height scaled by up to ±{h:.0%}"}[kind]


FORBIDDEN = {  # layers that are no augmentation for digits, or none at all, and why
    "RandomFlip": "A flipped 2 is not a 2: a mirrored digit is another symbol, or another digit. "
                  "Flips suit photos of cats; for digits use small rotations, shifts and zooms.",
    "RandomBrightness": "This exercise asks for geometric transforms only (RandomRotation, "
                        "RandomTranslation, RandomZoom). Beware also: RandomBrightness assumes "
                        "pixels in [0, 255] unless you pass value_range=(0, 1), and our images "
                        "are in [0, 1].",
    "Flatten": "Augmentation works on images (N, 28, 28, 1) and gives images back; flattening "
               "belongs to the model, after the augmentation.",
    "Rescaling": "The images are already scaled to [0, 1], once. Keep only the random layers.",
}
FORBIDDEN["RandomContrast"] = FORBIDDEN["RandomBrightness"].replace("Brightness", "Contrast")
FORBIDDEN["Reshape"] = FORBIDDEN["Flatten"]
LIMITS = {  # kind: the largest factor that keeps digits digits, and what to say beyond it
    "RandomRotation": (MAX_ROTATION, "has factor {f:g}. RandomRotation's factor is a fraction "
                       "of a FULL TURN (2π), so {f:g} turns a digit by up to ±{deg:.0f}°: a 6 "
                       "becomes a 9 at 180°.{radians} Convert degrees: 15° is 15/360 ≈ 0.042. "
                       "Keep it at most {limit} (±36°)."),
    "RandomTranslation": (MAX_TRANSLATION, "moves images by up to {f:g} of their size, {px:.0f} "
                          "pixels of 28: the digit can leave the image. RandomTranslation's "
                          "factors are FRACTIONS of the height and width, not pixels: 3 pixels "
                          "is 3/28 ≈ 0.11. Keep them at most {limit}."),
    "RandomZoom": (MAX_ZOOM, "zooms by up to ±{f:.0%}; a digit that grows or shrinks that much "
                   "no longer looks like the data. RandomZoom's factor is a fraction of the "
                   "size: keep it at most {limit}."),
}


@keeps_random_state
def check_random_layers(layers, name: str) -> None:
    """Kinds, ranges and fill mode of augmentation layers, with the usual mistakes named."""
    kinds = [type(layer).__name__ for layer in layers]
    for layer, kind in zip(layers, kinds):
        expect(kind in LIMITS, f"`{name}` contains a {kind} ({layer.name}). " + FORBIDDEN.get(
            kind, "Use the geometric transforms of this lesson only: RandomRotation, "
                  "RandomTranslation, RandomZoom."))
    for required in ("RandomRotation", "RandomTranslation"):
        expect(required in kinds, f"`{name}` has no {required} layer; its random layers are "
                                  f"{kinds}. Use at least a RandomRotation and a "
                                  "RandomTranslation.")
    for layer in layers:
        (limit, says), f = LIMITS[type(layer).__name__], max(_bounds(layer))
        expect(f > 0, f"`{name}`'s {layer.name} has factor 0: it never changes anything.")
        degrees = np.degrees(f)
        radians = f" If you meant {degrees:.0f}°, you gave radians." if 5 <= degrees <= 60 else ""
        expect(f <= limit, f"`{name}`'s {layer.name} " + says.format(
            f=f, deg=360 * f, px=SIZE * f, limit=limit, radians=radians))
        expect(layer.fill_mode == "constant" and float(layer.fill_value) == 0.0,
               f"`{name}`'s {layer.name} uses fill_mode={layer.fill_mode!r}"
               + (f", fill_value={layer.fill_value:g}" if layer.fill_mode == "constant" else "")
               + ". The pixels a turn or shift uncovers must be black background, like the "
                 "rest of the border: pass fill_mode=\"constant\" (fill_value 0 is the "
                 "default). The default \"reflect\" mirrors strokes back into the image.")


def _input_shape(model):
    try:
        return tuple(model.inputs[0].shape[1:]) if model.inputs else None
    except (AttributeError, ValueError):  # not a model, or a Sequential not built yet
        return None


FLAT_ROWS = ("Augmentation turns and shifts IMAGES: it needs image tensors (N, 28, 28, 1), not "
             "(N, 784) rows. Use keras.Input(shape=(28, 28, 1)), and flatten only after "
             "augmenting.")


# --- exercise 1: a Sequential of augmentation layers ------------------------------------------

@checker("augmentation", "a keras.Sequential of random augmentation layers")
def check_augmentation(augmentation) -> str:
    keras = import_tensorflow()[1]
    name = "augmentation"
    kind = type(augmentation).__name__
    expect(isinstance(augmentation, keras.Model), f"`{name}` is a single {kind} layer; make it a "
           "keras.Sequential([...]) of several random layers." if isinstance(
               augmentation, keras.layers.Layer) else f"`{name}` should be a keras.Sequential of "
           f"preprocessing layers, found {kind}. (ImageDataGenerator is not in Keras 3's API: "
           "the preprocessing layers replace it.)")
    shape = _input_shape(augmentation)
    expect(shape is None or len(shape) != 1 or None in shape or shape[0] != SIZE * SIZE,
           f"`{name}` takes flattened rows of shape {(None, *(shape or ()))}. {FLAT_ROWS}")
    expect(shape in (None, (SIZE, SIZE, 1)),
           f"`{name}` takes inputs of shape {(None, *(shape or ()))}; it should take image "
           "batches (N, 28, 28, 1): keras.Input(shape=(28, 28, 1)). Without the channel axis a "
           "(N, 28, 28) batch is read as ONE image.")
    for layer in all_layers(augmentation):
        kind = type(layer).__name__
        expect(kind.startswith("Random") or kind in ("InputLayer", "Sequential"),
               f"`{name}` contains a {kind} layer ({layer.name}). " + FORBIDDEN.get(
                   kind, "It should hold only random augmentation layers."))
    layers = random_layers(augmentation)
    check_random_layers(layers, name)
    x = digit_like(32)
    at_inference, first, second = (_numpy(call(augmentation, x, training=mode, name=name))
                                   for mode in (False, True, True))
    expect(at_inference.shape == first.shape == x.shape, f"`{name}` turned a batch of shape "
           f"{x.shape} into {first.shape}; augmentation must keep the shape.")
    expect(np.allclose(at_inference, x, atol=1e-6), f"`{name}` changed images with "
           "training=False. At inference augmentation must be the identity.")
    expect(not np.allclose(first, x, atol=1e-4) and not np.allclose(first, second, atol=1e-4),
           f"With training=True `{name}` left the images unchanged, or two calls gave the same "
           "images: each call must draw new random transforms.")
    return "; ".join(describe(layer) for layer in layers) + "; fill black; identity at inference."


# --- exercise 2: a trained model with the augmentation inside --------------------------------

SPEC = ModelSpec("augmented_model", inputs=((SIZE, SIZE, 1), (SIZE, SIZE)), max_params=600_000,
                 input_advice="keras.Input(shape=(28, 28, 1))", trained_on="x_fit, y_fit")


@checker("augmented_model",
         "a Keras model built with keras.Input(shape=(28, 28, 1)), compiled and trained, with "
         "augmentation layers first")
def check_augmented_model(model) -> str:
    from ..model_spec import layers_called_with_training

    shape = _input_shape(model)
    expect(shape is None or len(shape) != 1,
           f"`augmented_model` takes flattened rows {(None, *(shape or ()))}. {FLAT_ROWS}")
    facts = check_trained_model(model, SPEC)
    layers = random_layers(model)
    expect(layers, f"`augmented_model` has no augmentation layers inside it; its layers are "
                   f"{[type(layer).__name__ for layer in model.layers]}. Put RandomRotation and "
                   "RandomTranslation right after keras.Input (augmenting the data outside the "
                   "model is exercise 3).")
    check_random_layers(layers, SPEC.name)
    order = [type(layer).__name__ for layer in all_layers(model)]
    before = [kind for kind in order[:order.index(type(layers[0]).__name__)]
              if kind in ("Dense", "Conv2D", "Flatten")]
    expect(not before, f"`augmented_model` augments after its {(before or [''])[0]} layer: its "
                       f"layers run {order}. The random layers transform images, so they come "
                       "first, right after keras.Input.")
    for layer in layers:
        try:
            seen = tuple(layer.input.shape[1:])
        except (AttributeError, ValueError):  # a layer Keras cannot say the input of
            continue
        expect(seen == (SIZE, SIZE, 1), f"`augmented_model`'s {layer.name} receives tensors of "
               f"shape {(None, *seen)}; it needs image batches (N, 28, 28, 1). With "
               "keras.Input(shape=(28, 28)) add layers.Reshape((28, 28, 1)) first.")
    wired = layers_called_with_training(model)  # Dropout(...)(h, training=True) and the like
    expect(not wired, f"`augmented_model` calls {', '.join(wired)} with training=True. Remove "
                      "it: called without it, a layer is on in fit and off in predict and "
                      "evaluate, as documented; hard-wired, what it does at inference depends on "
                      "the version.")
    return (f"{'; '.join(describe(layer) for layer in layers)}; off at inference, trained for "
            f"{facts.steps:,} steps. The grader scores it on the shifted-and-rotated test images "
            "when this cell is graded.")


# --- exercise 3: augmentation in a tf.data pipeline ------------------------------------------

def discs(n: int, seed=None):
    """Images (n, 28, 28, 1) each holding a centred disc of radius 9 with its own brightness,
    and those brightnesses: a small turn or shift leaves the centre pixel's value unchanged."""
    values = test_rng(seed).permutation(np.linspace(0.2, 1.0, n)).astype(np.float32)
    yy, xx = np.mgrid[:SIZE, :SIZE]
    disc = ((yy - 13.5) ** 2 + (xx - 13.5) ** 2 <= 81).astype(np.float32)
    return values[:, None, None, None] * disc[None, :, :, None], values


pipeline_stages = dataset_stages  # outermost first, read in grader.keras_internals


def _epoch(ds, what: str):
    """One pass over ``ds``: its image batches, and its labels in one array."""
    try:
        pairs = [(_numpy(e[0]), np.reshape(_numpy(e[1]), -1)) if isinstance(e, tuple)
                 and len(e) == 2 else type(e).__name__ for e in ds]
    except Exception as error:
        raise CheckFailed(f"Iterating over {what} raised {type(error).__name__}: "
                          f"{str(error).splitlines()[0][:200]}") from None
    odd = [pair for pair in pairs if isinstance(pair, str)]
    expect(not odd, f"{what} yields {odd[0] if odd else ''} elements; it must yield (images, "
                    "labels) pairs like the dataset it was given.")
    return [p[0] for p in pairs], np.concatenate([p[1] for p in pairs] or [np.array([])])


@checker("augment_dataset", "a function returning a tf.data.Dataset of (images, labels) batches")
def check_augment_dataset(fn, seed=None) -> str:
    tf, keras = import_tensorflow()
    rng = test_rng(seed)
    n, batch = int(rng.integers(30, 50)), int(rng.integers(5, 9))
    images, values = discs(n, rng)
    labels = rng.integers(0, 10, n).astype("int64")
    ds = tf.data.Dataset.from_tensor_slices((images, labels)).batch(batch)
    augmentation = keras.Sequential([
        keras.layers.RandomRotation(0.05, fill_mode="constant"),
        keras.layers.RandomTranslation(0.1, 0.1, fill_mode="constant")])
    out = call(fn, ds, augmentation, name="augment_dataset")
    expect(isinstance(out, tf.data.Dataset),
           f"`augment_dataset` should return a tf.data.Dataset, found {type(out).__name__}. "
           "Return ds.map(...).prefetch(...).")
    stages = pipeline_stages(out)  # outermost first: a Cache before a Map caches after it
    maps = [i for i, stage in enumerate(stages) if "Map" in stage] or [0]
    expect(not any("Cache" in stage for stage in stages[:maps[0]]),
           "The pipeline caches AFTER the random step (…map(augment).cache()): caching after "
           "the random step freezes one draw, and every epoch sees the same images. Cache "
           "before augmenting.")
    first, got = _epoch(out, "the dataset `augment_dataset` returned")
    shapes = [b.shape for b in first]
    expected = [(min(batch, n - i), SIZE, SIZE, 1) for i in range(0, n, batch)]
    expect(shapes == expected,
           f"The dataset had {len(expected)} batches of {batch} images (N, 28, 28, 1); the one "
           f"`augment_dataset` returned has {len(shapes)}, shaped {shapes[:2]}... Keep the "
           "batches as they are (map over them): the augmentation keeps each batch's shape.")
    expect(np.array_equal(got, labels) or not np.array_equal(np.sort(got), np.sort(labels)),
           "`augment_dataset` changed the order of the examples. It should only transform the "
           "images; shuffling belongs earlier in the pipeline, before batching.")
    expect(np.array_equal(got, labels),
           "`augment_dataset` changed the labels. Map a function of (x, y) that returns "
           "(augmentation(x, training=True), y): labels pass through untouched.")
    x1 = np.concatenate(first)
    expect(not np.allclose(x1, images, atol=1e-4),
           "`augment_dataset` returned the images unchanged. Call the augmentation in training "
           "mode, augmentation(x, training=True): with training=False it is the identity.")
    expect(np.allclose(x1[:, 12:16, 12:16, 0], values[:, None, None], atol=1e-3),
           "The augmented images no longer match their labels: image i must stay image i, "
           "only turned and shifted.")
    again = np.concatenate(_epoch(out, "the dataset `augment_dataset` returned, again")[0])
    expect(not np.allclose(x1, again, atol=1e-6),
           "Two passes over the dataset gave the same augmented images: every epoch must draw "
           "new transforms. Do not cache or precompute the augmented images: map the "
           "augmentation over the batches so it runs on every pass.")
    expect("Prefetch" in stages[0],
           f"The returned pipeline ends with {stages[0]}; end it with "
           ".prefetch(tf.data.AUTOTUNE), so the next batch is augmented while the model trains "
           "on this one.")
    return ("labels untouched and aligned, images turned and shifted, a new draw every epoch, "
            "prefetched.")


ex1 = Exercise(
    "augmentation", check_augmentation,
    hints=("A keras.Sequential: an image-shaped Input, then RandomRotation, RandomTranslation "
           "and (if you like) RandomZoom, each with a factor that is a fraction.",
           "Convert first: RandomRotation counts full turns, so 'up to 10°' is 10/360 ≈ 0.028; "
           "RandomTranslation and RandomZoom count fractions of the side, so 2 pixels of 32 is "
           "2/32 ≈ 0.06. Every layer gets fill_mode='constant' (uncovered pixels black), and "
           "nothing else goes in: no flip, no rescaling, no flattening."))
ex2 = Exercise(
    "augmented_model", check_augmented_model,
    hints=("New random layers (not exercise 1's object) right after an image-shaped Input, then "
           "the MLP: Flatten, one hidden Dense, the softmax output.",
           "In words: input (28, 28, 1); transforms as large as what the test does to the "
           "digits (up to 15 degrees is 15/360 of a turn; 3 pixels of 28 is about 0.1 of the "
           "size), filling with black; flatten; a few hundred ReLU units; 10 softmax outputs. "
           "Sparse categorical cross-entropy and accuracy; EPOCHS epochs on x_fit, validated on "
           "the moved copy, x_val_moved with y_val."))
ex3 = Exercise(
    "augment_dataset", check_augment_dataset, is_function=True,
    hints=("Dataset.map runs a function on every element, here an (images, labels) pair of "
           "which only the first part changes; end with a prefetch.",
           "On other data: noise is added to a batched (features, targets) dataset by mapping "
           "a two-argument function that returns (features + noise, targets), num_parallel_calls "
           "left to AUTOTUNE, then prefetching (AUTOTUNE too). Ask for training mode explicitly "
           "(outside a model nothing else says which mode), and never cache after the map."))
