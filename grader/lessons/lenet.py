"""Lesson 07, LeNet-5 (``from grader.lessons.lenet import *`` gives ``ex1`` .. ``ex4``)."""
from __future__ import annotations

import operator
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from .. import checks
from ..feedback import CheckFailed, Exercise, Mistake, call, checker, expect, rule_out
from ..model_spec import (ModelSpec, check_structure, check_trained_model, graded_later,
                          is_functional, is_sequential, training_steps)
from ..quiet import import_keras
from ..seeding import keeps_random_state, test_rng

__all__ = ["ex1", "ex2", "ex3", "ex4"]

LENET_PARAMS = 61_706  # 156 + 2,416 + 48,120 + 10,164 + 850
INPUT = "keras.Input(shape=(28, 28, 1))"
SIZE, PARAMS = "conv_output_size", "conv_params"


# --- exercise 1: output sizes and parameter counts ---------------------------------------------

# Each mistake is the wrong function itself; of two giving the same number, the first is named.
SAME, VALID = "ceil(size / stride)", "(size - kernel) // stride + 1"
MISTAKES = (
    Mistake(lambda n, k, p="valid", s=1: -(-n // s) if p == "same" else (n - k) // s,
            "The + 1 is missing: a {kernel}-wide window fits at positions 0 .. {last}, that is "
            + VALID + " positions.", SIZE),
    Mistake(lambda n, k, p="valid", s=1: -(-n // s) if p == "same" else n - k + 1,
            "The stride is missing: the window moves {stride} pixels a step, " + VALID + ".", SIZE),
    Mistake(lambda n, k, p="valid", s=1: -(-n // s) if p == "same" else n, "With padding='valid' "
            "nothing is added around the image, so the output shrinks: " + VALID + ".", SIZE),
    Mistake(lambda n, k, p="valid", s=1: n if p == "same" else (n - k) // s + 1, "'same' keeps "
            "the size only with stride 1; with stride {stride} Keras returns " + SAME + ".", SIZE),
    Mistake(lambda n, k, p="valid", s=1: n // s if p == "same" else (n - k) // s + 1,
            "'same' rounds UP: " + SAME + ", e.g. (size + stride - 1) // stride.", SIZE),
    Mistake(lambda n, k, p="valid", s=1: (n - k) // s + 1, "That is the 'valid' formula: with "
            "padding='same' Keras pads the border so the output is " + SAME + ".", SIZE),
    Mistake(lambda k, c, f: k * k * c * f,
            "The biases are missing: each filter has one bias, + filters.", PARAMS),
    Mistake(lambda k, c, f: k * k * f + f, "The input channels are missing: each filter is "
            "kernel x kernel x in_channels weights (it looks at every channel of its input at "
            "once).", PARAMS),
    Mistake(lambda k, c, f: k * k * f, "Input channels and biases are both missing.", PARAMS),
    Mistake(lambda k, c, f: k * c * f + f, "The kernel is k x k pixels: square it.", PARAMS),
    Mistake(lambda k, c, f: (k * k + 1) * c * f, "One bias per filter, not one per input "
            "channel: k*k*in_channels*filters + filters.", PARAMS),
    Mistake(lambda k, c, f: k * k * c + f, "Every one of the `filters` filters has its own "
            "kernel x kernel x in_channels weights: multiply by filters.", PARAMS),
)


def _against_keras(fn, part: str, args: tuple, right: int, otherwise: str = "", **context):
    found = call(fn, *args, name=part)
    found = found.numpy() if hasattr(found, "numpy") else found
    expect(isinstance(found, (int, np.integer, float, np.floating))
           and not isinstance(found, (bool, np.bool_)),
           f"`{part}` should return one whole number, found {type(found).__name__} {found!r}.")
    expect(np.isfinite(found), f"`{part}{args}` returned {found}: a size or a count is a whole "
                               "number, never nan or inf.")
    expect(float(found) == int(found), f"`{part}` returned {found}, not a whole number: a layer "
           "cannot have a fraction of a pixel. Round down with integer division, `//`.")
    if int(found) != right:
        where = f"{part}{args} returned {int(found):,}; Keras computes {right:,}."
        try:
            rule_out(int(found), MISTAKES, *args, close=operator.eq, part=part, **context)
        except CheckFailed as named:
            raise CheckFailed(f"{where} {named}") from None
        raise CheckFailed(where + otherwise)


@checker((SIZE, PARAMS), "two functions, each returning a whole number")
def check_arithmetic(fns, seed=None) -> str:
    keras, rng = import_keras(), test_rng(seed)
    # LeNet-5's layers first, to speak of the lesson's numbers; C3 first: there no slips agree
    sizes = [(28, 5, "same", 1), (28, 5, "valid", 1), (14, 5, "valid", 1), (28, 2, "valid", 2),
             (10, 2, "valid", 2), (32, 5, "valid", 1), (15, 3, "valid", 2), (10, 3, "valid", 2),
             (7, 3, "same", 2)]
    counts = [(5, 6, 16), (5, 1, 6), (3, 1, 32)]
    for kernel in rng.integers(1, 8, 6).tolist():
        sizes.append((int(rng.integers(kernel, 64)), kernel, str(rng.choice(["valid", "same"])),
                      int(rng.integers(1, 4))))
        counts.append((kernel, int(rng.integers(1, 65)), int(rng.integers(1, 129))))
    for size, kernel, padding, stride in sizes:
        layer = keras.layers.Conv2D(1, kernel, strides=stride, padding=padding)
        _against_keras(fns[0], SIZE, (size, kernel, padding, stride),
                       int(layer.compute_output_shape((None, size, size, 1))[1]),
                       kernel=kernel, stride=stride, last=size - kernel)
    for kernel, channels, filters in counts:
        layer = keras.layers.Conv2D(filters, kernel)
        layer.build((None, 32, 32, channels))
        _against_keras(fns[1], PARAMS, (kernel, channels, filters), int(layer.count_params()),
                       " Count kernel x kernel x in_channels weights per filter, plus one bias, "
                       "times the number of filters.")
    return ("28 -> 28 (same) -> 14 (pool) -> 10 (valid) -> 5 (pool); 156 and 2,416 "
            "parameters for C1 and C3, as Keras counts them.")


# --- exercises 2 and 3: the LeNet-5 structure ----------------------------------------------------

CHANNELS_LAST = ("Keras' default layout is channels_last, (28, 28, 1): height, width, then "
                 "channels (the layout every machine's CPU convolutions run; without oneDNN the "
                 f"only one). Use {INPUT}.")
FLAT = "`{name}` takes inputs of shape {shape}. A convolution needs image tensors with a " \
       f"channel axis: {INPUT} (one grey channel)."
WRONG_INPUTS = {  # input shapes with a story, named before the preamble's generic message
    (1, 28, 28): "`{name}` takes inputs of shape {shape}: channels first. " + CHANNELS_LAST,
    (32, 32, 1): "`{name}` takes 32x32 images, like the 1998 network (the digits padded by 2 "
                 f"pixels). Ours are 28x28: {INPUT}; padding='same' in C1 does the padding.",
    (28, 28): FLAT, (784,): FLAT,
}
CONV = {"kernel_size": (5, 5), "strides": (1, 1), "data_format": "channels_last"}
POOL = {"pool_size": (2, 2), "strides": (2, 2)}
LENET = (  # LeNet-5 as data: each layer's label, kind, and the settings it must have
    ("C1", "Conv2D", {**CONV, "filters": 6, "padding": "same"}),
    ("S2", "AveragePooling2D", POOL),
    ("C3", "Conv2D", {**CONV, "filters": 16, "padding": "valid"}),
    ("S4", "AveragePooling2D", POOL),
    ("flatten", "Flatten", {}),
    ("F5", "Dense", {"units": 120}), ("F6", "Dense", {"units": 84}),
    ("output", "Dense", {"units": 10}),
)
KINDS = [kind for _, kind, _ in LENET]
WHY = {  # what to say of another setting ("C1 padding" is looked up before "padding")
    "kernel_size": "LeNet-5 uses 5x5 kernels (kernel_size=5). One of the course's source articles "
                   "writes (3, 3): that is a different network.",
    "filters": "LeNet-5 has 6 filters in C1 and 16 in C3.",
    "strides": "LeNet-5's convolutions move 1 pixel at a time, its 2x2 pooling windows 2: the "
               "pooling layers do the down-sampling.",
    "pool_size": "LeNet-5 averages 2x2 blocks: AveragePooling2D(2), which halves height and width.",
    "data_format": CHANNELS_LAST,
    "C1 padding": "28 -> 24 -> 12 -> 8 -> 4, so Flatten gives 16*4*4 = 256 values instead of "
                  "16*5*5 = 400. padding='same' keeps 28x28, as the 1998 network's 2 pixels of "
                  "padding (32x32 inputs) did; the second convolution stays 'valid'.",
    "C3 padding": "it should be 'valid' (14 -> 10), so Flatten gives 16*5*5 = 400 values.",
    "units": "LeNet-5's Dense layers have 120, 84 and 10 units.",
}
ORDER = "Conv2D, pool, Conv2D, pool, THEN Flatten, then the Dense layers."
KIND_MISTAKES = (  # what the kinds of layers show, and what to say (then "Its layers are ...")
    (lambda kinds: {"Dropout", "BatchNormalization"} & set(kinds),
     "`{name}` has {extra} layers; LeNet-5 has none: keep to the 8 layers of the lesson."),
    (lambda kinds: "MaxPooling2D" in kinds,
     "`{name}` uses MaxPooling2D; LeNet-5 averages: AveragePooling2D(2) (the 1998 network's "
     "subsampling layers S2 and S4 averaged each 2x2 block, then scaled it by a trained "
     "coefficient). Max pooling came later."),
    (lambda kinds: kinds.count("Conv2D") != 2,
     "`{name}` has {convs} Conv2D layer(s); this LeNet-5 has 2 (C1 with 6 filters and C3 with "
     "16; the 1998 C5 becomes Dense(120) after Flatten). Count them: one of the course's source "
     "articles claims '6 conv layers'."),
    (lambda kinds: "Flatten" not in kinds,
     "`{name}` has no Flatten layer: without it the Dense layers work on each pixel position "
     "separately, and the output is not one vector of 10 per image. Put keras.layers.Flatten() "
     "after the second pooling layer: 5x5x16 maps -> 400 numbers."),
    (lambda kinds: "Conv2D" in kinds[kinds.index("Flatten"):],
     "`{name}` flattens before a convolution. Convolutions work on images: " + ORDER),
    (lambda kinds: len(kinds) == len(KINDS) and kinds.index("Flatten") != KINDS.index("Flatten"),
     "`{name}`'s Flatten is in the wrong place. Flatten turns the 5x5x16 maps of the second "
     "pooling layer into the 400 numbers the Dense layers take: put it right after the second "
     "AveragePooling2D and before Dense(120)."),
    (lambda kinds: kinds != KINDS, "`{name}` is not LeNet-5, " + str(KINDS) + ": each Conv2D "
     "followed by AveragePooling2D(2), then Flatten and three Dense layers."),
)


def _main_layers(model):
    """The layers but separate activations, and whether each is followed by a non-linearity."""
    layers, activated = [], []
    for layer in model.layers:
        kind = type(layer).__name__
        activation = getattr(getattr(layer, "activation", None), "__name__", None)
        if kind in ("Activation", "ReLU", "LeakyReLU"):
            if activated:
                activated[-1] = activated[-1] or (activation or kind) != "linear"
        elif kind != "InputLayer":
            layers.append(layer)
            activated.append(activation not in ("linear", None))
    return layers, activated


@keeps_random_state
def check_lenet(model, name: str, preamble=check_structure):
    """LeNet-5's table first, if there are layers to read, then the shared preamble."""
    if (is_sequential(model) or is_functional(model)) and model.built and model.inputs:
        shape = tuple(model.inputs[0].shape[1:])
        expect(shape not in WRONG_INPUTS,
               WRONG_INPUTS.get(shape, "").format(name=name, shape=(None, *shape)))
        layers, activated = _main_layers(model)
        kinds = [type(layer).__name__ for layer in layers]
        for applies, says in KIND_MISTAKES:
            expect(not applies(kinds), says.format(name=name, convs=kinds.count("Conv2D"),
                   extra=", ".join(k for k in kinds if k in ("Dropout", "BatchNormalization")))
                   + f" Its layers are {kinds}.")
        for layer, ok, (label, _, settings) in zip(layers, activated, LENET):
            for setting, wanted in settings.items():
                expect((found := getattr(layer, setting)) == wanted, f"`{name}`'s {label} "
                       f"({layer.name}) has {setting}={found!r}, LeNet-5's {wanted!r}: "
                       + (WHY.get(f"{label} {setting}") or WHY[setting]))
            expect(ok or label in ("S2", "S4", "flatten", "output"), f"`{name}`'s {layer.name} has "
                   "no activation: without a non-linearity, stacked layers collapse into one "
                   "linear map. Use activation='relu' (or 'tanh', as in 1998).")
        expect(model.count_params() == LENET_PARAMS, f"`{name}` has {model.count_params():,} "
               f"parameters; this LeNet-5 has {LENET_PARAMS:,} (156 + 2,416 + 48,120 + 10,164 + "
               "850). Compare model.summary() with the table.")
    return preamble(model, ModelSpec(name, inputs=((28, 28, 1),), input_advice=INPUT,
                                     trained_on="x_fit, y_fit (run the training cell)"))


@checker("build_lenet5", "a function returning a new, uncompiled LeNet-5 Keras model")
def check_build_lenet5(fn) -> str:
    try:
        model = call(fn, name="build_lenet5")
    except CheckFailed as failure:
        if "NotImplementedError" in str(failure) or "shape" not in str(failure):
            raise
        raise CheckFailed(f"{failure} " + (
            "A Conv2D or pooling layer received flat vectors: a Flatten (or a flat input) comes "
            "before it. Convolutions work on image batches (N, 28, 28, 1): " + ORDER
            if "min_ndim=4" in str(failure) else
            f"Building the model failed on a shape: check the input first. {CHANNELS_LAST} "
            "(1, 28, 28) would be a 1-pixel-high image with 28 channels. Then padding='same' in "
            "the first convolution, 'valid' in the second.")) from None
    check_lenet(model, "build_lenet5()")
    expect(call(fn, name="build_lenet5") is not model, "`build_lenet5()` returned the same model "
           "object twice. Build a NEW model inside the function on every call (fresh weights).")
    expect(training_steps(model) == 0, "`build_lenet5()` returned a model that has already been "
           "trained. Return a new, untrained model: training is exercise 3.")
    return (f"Conv(6, 5x5, same) -> AvgPool -> Conv(16, 5x5) -> AvgPool -> Flatten -> 120 -> 84 "
            f"-> 10 softmax: {LENET_PARAMS:,} parameters.")


@checker("lenet", "a LeNet-5 Keras model from build_lenet5(), compiled and trained")
def check_trained_lenet(model) -> str:
    # nothing random can pass the layer table, and the grader measures randomness out of process
    return "LeNet-5: " + graded_later(check_lenet(model, "lenet", check_trained_model))


# --- exercise 4: save, reload, predict one digit -------------------------------------------------

def _off_centre_squares(rng, n: int) -> np.ndarray:
    """``n`` dark images, each with a bright 8x8 square somewhere off centre."""
    images = np.zeros((n, 28, 28, 1), dtype=np.float32)
    for image, (row, col) in zip(images, rng.integers(0, 20, size=(n, 2))):
        image[row:row + 8, col:col + 8] = rng.uniform(0.5, 1.0)
    return images


def _small_model(keras, seed: int, augmenting: bool = False):
    """Weights drawn from ``seed``, not initialisers, so a rebuilt or cloned copy differs."""
    augmentation = [keras.layers.RandomRotation(0.5, fill_mode="constant", seed=seed),
                    keras.layers.RandomTranslation(0.3, 0.3, fill_mode="constant", seed=seed)]
    model = keras.Sequential([keras.Input(shape=(28, 28, 1)), *augmentation[:2 * augmenting],
                              keras.layers.Conv2D(3, 5, activation="relu"),
                              keras.layers.AveragePooling2D(4), keras.layers.Flatten(),
                              keras.layers.Dense(10, activation="softmax")])
    rng = test_rng(seed)
    # Biases at 0: a large random bias would fix the class whatever the image shows.
    model.set_weights([rng.normal(0, 0.5, w.shape).astype("float32") if w.ndim > 1
                       else np.zeros(w.shape, "float32") for w in model.get_weights()])
    return model


MAGIC = {b"\x89HDF": "an HDF5 file (the legacy .h5 format)", b"\x80": "a pickle"}


def _file_kind(path: Path) -> str:
    if path.is_dir():
        return "a folder (SavedModel, the TensorFlow 1 format)"
    head = path.read_bytes()[:4]
    kind = next((kind for magic, kind in MAGIC.items() if head.startswith(magic)), None)
    if kind or not zipfile.is_zipfile(path):
        return kind or "an unknown format"
    with zipfile.ZipFile(path) as archive:
        keras_file = "config.json" in archive.namelist()
    return "keras" if keras_file else "a zip archive that is not a .keras model"


def _check_save(save_and_reload, keras, seed) -> None:
    model = _small_model(keras, seed)
    x = test_rng(seed).random((8, 28, 28, 1), dtype=np.float32)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "digits.keras"
        reloaded = call(save_and_reload, model, str(path), name="save_and_reload")
        written = sorted(p.name for p in Path(folder).iterdir())
        others = [n for n in written if n.endswith((".h5", ".hdf5", ".pkl", ".pickle"))]
        expect(path.exists(), f"`save_and_reload(model, {str(path)!r})` wrote no file at that "
               "path" + (f"; it wrote {others}: the legacy HDF5 (.h5) or a pickle (.pkl). "
                         if others else f" (the folder holds {written}). ")
               + "Save to the path you are given, ending in .keras: model.save(path).")
        kind = _file_kind(path)
        expect(kind == "keras", f"The file written at {path.name} is {kind}, not a .keras model "
               "(a zip with config.json and the weights)." + (
                   " The seed article pickles the weights w, b and 'deploys' argmax(x @ w + b): "
                   "that throws away the architecture (the convolutions, the activations) and "
                   "breaks with any change of Python or library version." if kind == "a pickle"
                   else "") + " Use model.save(path) and keras.models.load_model(path).")
        checks.assert_keras_model(reloaded, "save_and_reload(...)'s result")
        expect(reloaded is not model, "`save_and_reload` returned the model it was given. Return "
               "the model loaded back from the file: keras.models.load_model(path). That is what "
               "proves the file works.")
        expect(np.allclose(np.asarray(reloaded(x)), np.asarray(model(x)), atol=1e-6),
               "The reloaded model predicts differently from the original on the same images: "
               "save the whole model (model.save), not a rebuilt or re-initialised copy.")


def _predicted_class(predict_digit, model, image) -> int:
    try:
        found = call(predict_digit, model, image.copy(), name="predict_digit")
    except CheckFailed as failure:
        raise CheckFailed(
            f"{failure} `image` is ONE digit of shape (28, 28, 1), but a model always takes a "
            "batch: add the batch axis, model.predict(image[None], verbose=0) (or "
            "np.expand_dims(image, 0)), shape (1, 28, 28, 1) in, (1, 10) out.") from None
    found = found.numpy() if hasattr(found, "numpy") else found
    text, shape = isinstance(found, (str, bytes)), np.shape(found)
    expect(shape not in ((10,), (1, 10)), f"`predict_digit` returned the 10 probabilities (shape "
           f"{shape}); return the class, the largest one's index: int(np.argmax(probabilities)).")
    expect(shape == () and not text, f"`predict_digit` should return one int, the predicted "
           f"class; found {type(found).__name__} of shape {shape}." + (
               " `probabilities == 1` found nothing: a softmax output is stored as exactly 1.0 "
               "only when the prediction is extremely sure, and even then not always (it "
               "depends on the batch), so testing for 1 is brittle. One of the course's source "
               "articles does it, on unscaled pixels. Use np.argmax."
               if not text and np.size(found) == 0 else ""))
    expect(isinstance(found, (int, np.integer)), f"`predict_digit` should return an int (the "
           f"class index), found {type(found).__name__} {found!r}: int(np.argmax(...)).")
    return int(found)


@checker(("save_and_reload", "predict_digit"),
         "two functions: one returning the reloaded Keras model, one the class as an int")
def check_saving(fns, seed=None) -> str:
    """Then predicting with a plain model, and with one with augmentation in front, which a bare
    ``model(x)`` runs (its ``call`` defaults to training=True). The images are bright squares off
    centre, which a turn or a shift moves: pure noise looks the same turned, and 8 noise images
    asked twice missed the mistake for 4 of 25 seeds."""
    draw, keras = int(test_rng(seed).integers(1 << 30)), import_keras()
    _check_save(fns[0], keras, draw)
    images = _off_centre_squares(test_rng(draw), 32)
    for augmenting in (False, True):
        model = _small_model(keras, draw + 1, augmenting)
        for image, label in zip(images, model.predict(images, verbose=0).argmax(axis=1)):
            answers = sorted({_predicted_class(fns[1], model, image)
                              for _ in range(1 + 2 * augmenting)})  # asked thrice
            expect(answers == [label], (
                f"`predict_digit` gave {answers} for an image the model classifies as {label}, on "
                "a model with augmentation layers inside (RandomRotation, RandomTranslation, as "
                "in lesson 06): the augmentation was applied at inference. In Keras 3 calling "
                "model(x) runs those layers in training mode, so each prediction is made on a "
                "randomly turned and shifted copy of the image. Use model.predict(image[None], "
                "verbose=0), or model(image[None], training=False).") if augmenting else (
                f"`predict_digit` returned {answers[0]} for an image the model gives class "
                f"{label} (the largest of its 10 probabilities). Return np.argmax of the model's "
                "output for that image."))
    return ("saved as a .keras file, reloaded with identical predictions, and a single digit "
            "predicted through a batch of one, in inference mode.")


ex1 = Exercise(
    "conv_arithmetic", check_arithmetic, functions=(SIZE, PARAMS), mistakes=MISTAKES, hints=(
        "Count where a window can sit along a row: with 'valid' it must fit inside; with 'same' "
        "Keras pads so only the stride shrinks the row. A filter: one weight per pixel of its "
        "window in every input channel, plus one bias.",
        "A 3-wide window on 11 pixels, stride 2, no padding, can start at 0, 2, 4, 6 or 8 (11 - 3 "
        "= 8 is the last place it fits): 5 positions, one more than the 4 strides from 0 to 8. "
        "With 'same' the padded row lets it start at 0, 2, ..., 10: 11 / 2 rounded up, 6. "
        "Conv2D(4, 3) on 2 channels: 4 filters of 3·3·2 = 18 weights plus 1 bias, 4·19 = 76 "
        "parameters, as a built layer's count_params() says."))
ex2 = Exercise(
    "build_lenet5", check_build_lenet5, is_function=True, hints=(
        "Follow the modern table of section 2, one Keras layer per row, in a Sequential model "
        "that starts with its input; build it inside the function and return it uncompiled.",
        "For 32x32 colour images and 3x3 kernels: Input (32, 32, 3); Conv2D 8 filters, kernel 3, "
        "padding 'same', ReLU; average pooling 2; Conv2D 12, kernel 3 ('valid'), ReLU; average "
        "pooling 2; Flatten; Dense 64 ReLU; Dense 10 softmax. Shapes 32 -> 32 -> 16 -> 14 -> 7: "
        "Flatten gives 7·7·12 = 588. summary() checks it: 61,706 parameters for LeNet-5."))
ex3 = Exercise(
    "lenet", check_trained_lenet, hints=(
        "Pick from section 6's table a batch size and a learning rate (or schedule) that reached "
        "99 % within a few epochs, then build a fresh lenet with exercise 2's function, compile it with "
        "the sparse cross-entropy and accuracy, and fit it on x_fit, y_fit (an array or your own "
        "dataset), validating on val_ds.",
        "On another model: `net = make_net()`; compile with "
        "keras.optimizers.SGD(learning_rate=my_schedule), loss='categorical_crossentropy' (one-"
        "hot labels), metrics=['accuracy'], steps_per_execution=8; `log = net.fit(my_ds, "
        "validation_data=my_val, epochs=3, verbose=0)`. Keep fit's result in `history`."))
ex4 = Exercise(
    "save_and_reload", check_saving, functions=("save_and_reload", "predict_digit"), hints=(
        "A model saves itself with its save method to a .keras file; keras.models.load_model "
        "reads it back. A model takes a batch: give the image a batch axis of length 1, and "
        "return the index of the largest probability as an int.",
        "`net.save('run.keras')`, then `copy = keras.models.load_model('run.keras')`. One "
        "32x32x3 `pic`: pic[None] has shape (1, 32, 32, 3), net.predict gives (1, n_classes), "
        "int(np.argmax(...)) of its only row is the class. Use predict (or training=False): a "
        "bare net(x) runs augmentation layers in training mode."))
