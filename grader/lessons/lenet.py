"""Lesson 07, LeNet-5: ``from grader.lessons.lenet import *`` gives ``ex1`` .. ``ex4``.

The arithmetic checker compares with what Keras itself computes (``compute_output_shape``,
``count_params``) on random sizes; the structural checker reads the layers of the model (kinds,
order, kernels, widths, padding, parameter count) and names the classic mistakes; the saving
checker saves and reloads a small random model in a temporary folder and looks at the file.
"""
from __future__ import annotations

import pickle
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from .. import checks
from ..feedback import CheckFailed, Exercise, call, expect
from ..quiet import import_keras

__all__ = ["ex1", "ex2", "ex3", "ex4"]

LENET_PARAMS = 61_706  # 156 + 2,416 + 48,120 + 10,164 + 850
EXPECTED_KINDS = ["Conv2D", "AveragePooling2D", "Conv2D", "AveragePooling2D", "Flatten",
                  "Dense", "Dense", "Dense"]
ACTIVATION_LAYERS = ("Activation", "ReLU", "LeakyReLU")



# --- exercise 1: output sizes and parameter counts ---------------------------------------------

def _as_int(value, what: str) -> int:
    if hasattr(value, "numpy"):
        value = value.numpy()
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer, float,
                                                                     np.floating)):
        raise CheckFailed(f"{what} should return one whole number, found "
                          f"{type(value).__name__} {value!r}.")
    if isinstance(value, (float, np.floating)) and float(value) != int(value):
        raise CheckFailed(f"{what} returned {value}, not a whole number: a layer cannot have a "
                          "fraction of a pixel. Round down with integer division, `//`.")
    return int(value)


def _keras_output_size(size, kernel, padding, stride) -> int:
    layer = import_keras().layers.Conv2D(1, kernel, strides=stride, padding=padding)
    return int(layer.compute_output_shape((None, size, size, 1))[1])


def _keras_params(kernel, in_channels, filters) -> int:
    keras = import_keras()
    layer = keras.layers.Conv2D(filters, kernel)
    layer.build((None, 32, 32, in_channels))
    return int(layer.count_params())


def _check_output_size(fn, size, kernel, padding, stride) -> None:
    found = _as_int(call(fn, size, kernel, padding, stride, name="conv_output_size"),
                    "`conv_output_size`")
    right = _keras_output_size(size, kernel, padding, stride)
    if found == right:
        return
    where = (f"conv_output_size({size}, {kernel}, {padding!r}, {stride}) returned {found}; "
             f"Keras computes {right}.")
    if padding == "valid":
        if found == (size - kernel) // stride:
            raise CheckFailed(f"{where} You forgot the + 1: a {kernel}-wide window fits at "
                              f"positions 0 .. {size - kernel}, that is (size - kernel) // stride "
                              "+ 1 positions.")
        if found == size - kernel + 1 and stride > 1:
            raise CheckFailed(f"{where} The stride is missing: the window moves {stride} pixels "
                              "at a time, (size - kernel) // stride + 1.")
        if found == size:
            raise CheckFailed(f"{where} With padding='valid' nothing is added around the image, "
                              "so the output shrinks: (size - kernel) // stride + 1.")
    else:
        if found == size and stride > 1:
            raise CheckFailed(f"{where} 'same' keeps the size only with stride 1; with stride "
                              f"{stride} Keras returns ceil(size / stride).")
        if found == (size - kernel) // stride + 1:
            raise CheckFailed(f"{where} That is the 'valid' formula: with padding='same' Keras "
                              "pads the border so the output is ceil(size / stride).")
        if found == size // stride and stride > 1:
            raise CheckFailed(f"{where} 'same' rounds UP: ceil(size / stride), "
                              "e.g. (size + stride - 1) // stride.")
    raise CheckFailed(where)


def _check_params(fn, kernel, in_channels, filters) -> None:
    found = _as_int(call(fn, kernel, in_channels, filters, name="conv_params"),
                    "`conv_params`")
    right = _keras_params(kernel, in_channels, filters)
    if found == right:
        return
    where = (f"conv_params({kernel}, {in_channels}, {filters}) returned {found:,}; Keras counts "
             f"{right:,}.")
    k2 = kernel * kernel
    mistakes = [
        (k2 * in_channels * filters, "The biases are missing: each filter has one bias, + filters."),
        (k2 * filters + filters, "The input channels are missing: each filter is kernel x kernel "
                                 "x in_channels weights (it looks at every channel of its input "
                                 "at once)."),
        (k2 * filters, "Both the input channels and the biases are missing."),
        (kernel * in_channels * filters + filters, "The kernel is kernel x kernel pixels: square "
                                                   "it."),
        ((k2 + 1) * in_channels * filters, "One bias per filter, not one per input channel: "
                                           "k*k*in_channels*filters + filters."),
        (k2 * in_channels + filters, "Every one of the `filters` filters has its own "
                                     "kernel x kernel x in_channels weights: multiply by filters."),
    ]
    for value, text in mistakes:
        if found == value:
            raise CheckFailed(f"{where} {text}")
    raise CheckFailed(where + " Count kernel x kernel x in_channels weights per filter, plus "
                              "one bias, times the number of filters.")


def check_arithmetic(fns, seed=None) -> str:
    output_size, params = fns
    # LeNet-5's own layers first: the errors then speak of numbers the lesson uses
    for case in ((28, 5, "same", 1), (28, 5, "valid", 1), (14, 5, "valid", 1), (28, 2, "valid", 2),
                 (10, 2, "valid", 2), (32, 5, "valid", 1), (15, 3, "valid", 2), (10, 3, "valid", 2), (7, 3, "same", 2)):
        _check_output_size(output_size, *case)
    for case in ((5, 1, 6), (5, 6, 16), (3, 1, 32)):
        _check_params(params, *case)
    rng = np.random.default_rng(seed)
    for _ in range(6):
        kernel = int(rng.integers(1, 8))
        size = int(rng.integers(kernel, 64))
        _check_output_size(output_size, size, kernel, str(rng.choice(["valid", "same"])),
                           int(rng.integers(1, 4)))
        _check_params(params, kernel, int(rng.integers(1, 65)), int(rng.integers(1, 129)))
    return ("28 -> 28 (same) -> 14 (pool) -> 10 (valid) -> 5 (pool); 156 and 2,416 "
            "parameters for C1 and C3, as Keras counts them.")


# --- exercises 2 and 3: the LeNet-5 structure ----------------------------------------------------

def _activation_name(layer) -> str | None:
    return getattr(getattr(layer, "activation", None), "__name__", None)


def _main_layers(model):
    """The model's layers without separate activation layers; and whether each layer is
    followed by a non-linearity (its own activation, or an Activation/ReLU layer after it)."""
    layers, activated = [], []
    for layer in model.layers:
        kind = type(layer).__name__
        if kind == "InputLayer":
            continue
        if kind in ACTIVATION_LAYERS:
            if activated:
                name = _activation_name(layer) or kind.lower()
                activated[-1] = activated[-1] or name not in ("linear", None)
            continue
        layers.append(layer)
        activated.append(_activation_name(layer) not in ("linear", None))
    return layers, activated


def check_lenet_structure(model, name: str) -> None:
    """Everything ex2 and ex3 require of the architecture; raises CheckFailed naming the mistake."""
    keras = import_keras()
    checks.assert_keras_model(model, name)
    checks.assert_no_custom_code(model, name)
    shape = tuple(model.inputs[0].shape[1:]) if model.inputs else None
    if shape == (1, 28, 28):
        raise CheckFailed(
            f"`{name}` takes inputs of shape (None, 1, 28, 28): channels first. Keras on "
            "TensorFlow is channels_last: (28, 28, 1), height, width, then channels. Use "
            "keras.Input(shape=(28, 28, 1)).")
    if shape == (32, 32, 1):
        raise CheckFailed(
            f"`{name}` takes 32x32 images, like the 1998 network (which padded the digits by "
            "2 pixels). Our images are 28x28: keras.Input(shape=(28, 28, 1)), and padding='same' "
            "in the first convolution does the padding.")
    if shape in ((28, 28), (784,)):
        raise CheckFailed(
            f"`{name}` takes inputs of shape {(None, *shape)}. A convolution needs image tensors "
            "with a channel axis: keras.Input(shape=(28, 28, 1)) (one grey channel).")
    checks.assert_input_shape(model, (28, 28, 1), name)

    layers, activated = _main_layers(model)
    kinds = [type(layer).__name__ for layer in layers]
    expect(not any(k in ("Dropout", "BatchNormalization") for k in kinds),
           f"`{name}` has {', '.join(k for k in kinds if k in ('Dropout', 'BatchNormalization'))}"
           f" layers; LeNet-5 has none. Its layers are {kinds}: keep to the 8 layers of the "
           "lesson.")
    if "MaxPooling2D" in kinds:
        raise CheckFailed(
            f"`{name}` uses MaxPooling2D; LeNet-5 averages: AveragePooling2D(2) (the 1998 network's "
            "subsampling layers S2 and S4 averaged each 2x2 block, then scaled it by a trained "
            "coefficient). Max pooling came later.")
    convs = [layer for layer in layers if isinstance(layer, keras.layers.Conv2D)]
    if len(convs) != 2:
        raise CheckFailed(
            f"`{name}` has {len(convs)} Conv2D layer(s); this LeNet-5 has 2 (C1 with 6 filters "
            "and C3 with 16; the 1998 C5 becomes Dense(120) after Flatten). Count them: one of "
            "the course's source articles claims '6 conv layers'. Its layers are "
            f"{kinds}.")
    if "Flatten" not in kinds:
        raise CheckFailed(
            f"`{name}` has no Flatten layer, so its Dense layers are applied to a 4-D tensor "
            "(each pixel position separately) and the output is not one vector of 10 per image. "
            "Put keras.layers.Flatten() after the second pooling layer.")
    flatten_at = kinds.index("Flatten")
    expect(all(isinstance(layer, keras.layers.Conv2D) is False for layer in layers[flatten_at:]),
           f"`{name}` flattens before a convolution (its layers are {kinds}). Convolutions work "
           "on images: Conv2D, pool, Conv2D, pool, THEN Flatten, then the Dense layers.")
    for conv in convs:
        expect(conv.data_format == "channels_last",
               f"`{name}`'s {conv.name} has data_format='channels_first'. Keras on TensorFlow is "
               "channels_last (height, width, channels): leave data_format alone.")
    if flatten_at != EXPECTED_KINDS.index("Flatten") and len(kinds) == len(EXPECTED_KINDS):
        raise CheckFailed(
            f"`{name}`'s Flatten is in the wrong place: its layers are {kinds}. Flatten turns the "
            "5x5x16 maps of the second pooling layer into the 400 numbers the Dense layers take: "
            "put it right after the second AveragePooling2D and before Dense(120).")
    if kinds != EXPECTED_KINDS:
        raise CheckFailed(
            f"`{name}`'s layers are {kinds}; LeNet-5 is {EXPECTED_KINDS} (each Conv2D followed by "
            "AveragePooling2D(2), then Flatten and three Dense layers).")
    c1, _, c3, _, _, f5, f6, out = layers
    for conv, filters in ((c1, 6), (c3, 16)):
        expect(tuple(conv.kernel_size) == (5, 5),
               f"`{name}`'s {conv.name} has kernel_size={tuple(conv.kernel_size)}; LeNet-5 uses "
               "5x5 kernels (kernel_size=5). One of the course's source articles writes (3, 3): "
               "that is a different network.")
        expect(conv.filters == filters,
               f"`{name}`'s {'first' if conv is c1 else 'second'} convolution has "
               f"{conv.filters} filters; LeNet-5 has {filters} ({'C1' if conv is c1 else 'C3'}).")
        expect(tuple(conv.strides) == (1, 1),
               f"`{name}`'s {conv.name} has strides={tuple(conv.strides)}; LeNet-5's convolutions "
               "move 1 pixel at a time: the pooling layers do the down-sampling.")
    for pool in (layers[1], layers[3]):
        expect(tuple(pool.pool_size) == (2, 2) and tuple(pool.strides) == (2, 2),
               f"`{name}`'s {pool.name} has pool_size={tuple(pool.pool_size)}, "
               f"strides={tuple(pool.strides)}; LeNet-5 averages 2x2 blocks: "
               "AveragePooling2D(2), which halves height and width.")
    if c1.padding != "same":
        raise CheckFailed(
            f"`{name}`'s first convolution has padding={c1.padding!r}: 28 -> 24 -> 12 -> 8 -> 4, "
            "so Flatten gives 16*4*4 = 256 values instead of 16*5*5 = 400. The 1998 network saw "
            "32x32 images; on 28x28 use padding='same' in the first convolution (it keeps 28x28, "
            "like the 2 pixels of padding did) and 'valid' in the second.")
    expect(c3.padding == "valid",
           f"`{name}`'s second convolution has padding={c3.padding!r}: it should be 'valid' "
           "(14 -> 10), so Flatten gives 16*5*5 = 400 values.")
    for layer, units in ((f5, 120), (f6, 84), (out, 10)):
        expect(layer.units == units,
               f"`{name}`'s Dense layers have {f5.units}, {f6.units} and {out.units} units; "
               "LeNet-5's are 120, 84 and 10.")
    for layer, ok in zip(layers, activated):
        if isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense)) and layer is not out:
            expect(ok, f"`{name}`'s {layer.name} has no activation: without a non-linearity, "
                       "stacked layers collapse into one linear map. Use activation='relu' "
                       "(or 'tanh', as in 1998).")
    checks.assert_softmax_output(model, name)
    checks.assert_output_shape(model, (10,), name)
    count = model.count_params()
    expect(count == LENET_PARAMS,
           f"`{name}` has {count:,} parameters; this LeNet-5 has {LENET_PARAMS:,} "
           "(156 + 2,416 + 48,120 + 10,164 + 850). Compare model.summary() with the table.")


def check_build_lenet5(fn) -> str:
    try:
        model = call(fn, name="build_lenet5")
    except CheckFailed as failure:
        if "NotImplementedError" in str(failure) or "shape" not in str(failure):
            raise
        if "min_ndim=4" in str(failure):
            raise CheckFailed(
                f"{failure} A Conv2D or pooling layer received flat vectors: a Flatten (or a "
                "flat input) comes before it. Convolutions work on image batches "
                "(N, 28, 28, 1): Conv2D, pool, Conv2D, pool, THEN Flatten, then the Dense "
                "layers.") from None
        raise CheckFailed(
            f"{failure} Building the model failed on a shape: check the input first. Keras on "
            "TensorFlow is channels_last, keras.Input(shape=(28, 28, 1)); (1, 28, 28) would be "
            "a 1-pixel-high image with 28 channels. Then padding='same' in the first "
            "convolution, 'valid' in the second.") from None
    check_lenet_structure(model, "build_lenet5()")
    again = call(fn, name="build_lenet5")
    expect(again is not model,
           "`build_lenet5()` returned the same model object twice. Build a NEW model inside the "
           "function on every call (so each run starts from fresh weights).")
    expect(checks.training_steps(model) == 0,
           "`build_lenet5()` returned a model that has already been trained. Return a new, "
           "untrained model: training is exercise 3.")
    return (f"Conv(6, 5x5, same) -> AvgPool -> Conv(16, 5x5) -> AvgPool -> Flatten -> 120 -> 84 "
            f"-> 10 softmax: {LENET_PARAMS:,} parameters.")


def check_trained_lenet(model) -> str:
    name = "lenet"
    check_lenet_structure(model, name)
    checks.assert_crossentropy_loss(model, name, "compile it (Adam, "
                                    "'sparse_categorical_crossentropy', metrics=['accuracy']), "
                                    "then fit.")
    steps = checks.training_steps(model)
    expect(steps > 0, f"`{name}` has not been trained yet: run the training cell.")
    x = np.random.default_rng(0).random((16, 28, 28, 1), dtype=np.float32)
    first, second = np.asarray(model(x)), np.asarray(model(x))
    expect(np.array_equal(first, second),
           f"`{name}` gives different outputs for the same images: something random is still "
           "active at inference.")
    return (f"LeNet-5, {LENET_PARAMS:,} parameters, trained for {steps:,} steps. The grader "
            "measures its test accuracy when this cell is graded.")


# --- exercise 4: save, reload, predict one digit -------------------------------------------------

def _small_model(keras, seed: int, augmenting: bool = False):
    """A small conv model with random weights drawn from ``seed`` (not from its initialisers,
    so a rebuilt or cloned copy has different weights). ``augmenting`` puts strong augmentation
    layers in front, as lesson 06 does: then only an inference-mode call is deterministic."""
    augmentation = [
        keras.layers.RandomRotation(0.5, fill_mode="constant", seed=seed),
        keras.layers.RandomTranslation(0.3, 0.3, fill_mode="constant", seed=seed),
    ] if augmenting else []
    model = keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        *augmentation,
        keras.layers.Conv2D(3, 5, activation="relu"),
        keras.layers.AveragePooling2D(4),
        keras.layers.Flatten(),
        keras.layers.Dense(10, activation="softmax"),
    ])
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0, 0.5, w.shape).astype("float32")
                       for w in model.get_weights()])
    return model


def _file_kind(path: Path) -> str:
    if path.is_dir():
        return "a folder (SavedModel, the TensorFlow 1 format)"
    head = path.read_bytes()[:8]
    if head.startswith(b"\x89HDF"):
        return "an HDF5 file (the legacy .h5 format)"
    if head[:1] == b"\x80":
        return "a pickle"
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
        if "config.json" in names:
            return "keras"
        return "a zip archive that is not a .keras model"
    return "an unknown format"


def _check_save(save_and_reload, keras, seed) -> None:
    model = _small_model(keras, seed)
    x = np.random.default_rng(seed).random((8, 28, 28, 1), dtype=np.float32)
    expected = np.asarray(model(x))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "digits.keras"
        try:
            reloaded = call(save_and_reload, model, str(path), name="save_and_reload")
        except CheckFailed as failure:
            if isinstance(failure.__cause__, pickle.PicklingError) or "pickle" in str(failure):
                raise CheckFailed(f"{failure} A Keras model is not pickled: save it with "
                                  "model.save(path), a .keras file.") from None
            raise
        written = sorted(p.name for p in Path(folder).iterdir())
        if not path.exists():
            others = [n for n in written if n.endswith((".h5", ".hdf5", ".pkl", ".pickle"))]
            raise CheckFailed(
                f"`save_and_reload(model, {str(path)!r})` wrote no file at that path"
                + (f"; it wrote {others}: the legacy HDF5 (.h5) or a pickle (.pkl). "
                   if others else f" (the folder holds {written}). ")
                + "Save to the path you are given, ending in .keras: model.save(path).")
        kind = _file_kind(path)
        if kind != "keras":
            advice = {"a pickle": " The seed article pickles the weights w, b and 'deploys' "
                                  "argmax(x @ w + b): that throws away the architecture (the "
                                  "convolutions, the activations) and breaks with any change of "
                                  "Python or library version."}.get(kind, "")
            raise CheckFailed(f"The file written at {path.name} is {kind}, not a .keras model "
                              f"(a zip with config.json and the weights).{advice} Use "
                              "model.save(path) and keras.models.load_model(path).")
            checks.assert_keras_model(reloaded, "save_and_reload(...)'s result")
        expect(reloaded is not model,
               "`save_and_reload` returned the model it was given. Return the model loaded "
               "back from the file: keras.models.load_model(path). That is what proves the "
               "file works.")
        found = np.asarray(reloaded(x))
        expect(found.shape == expected.shape and np.allclose(found, expected, atol=1e-6),
               "The reloaded model predicts differently from the original on the same images: "
               "save the whole model (model.save), not a rebuilt or re-initialised copy.")


def _check_predict(predict_digit, keras, seed) -> None:
    rng = np.random.default_rng(seed)
    model = _small_model(keras, seed)
    images = rng.random((6, 28, 28, 1), dtype=np.float32)
    labels = np.argmax(np.asarray(model(images)), axis=1)
    for image, label in zip(images, labels):
        try:
            found = call(predict_digit, model, image.copy(), name="predict_digit")
        except CheckFailed as failure:
            raise CheckFailed(
                f"{failure} `image` is ONE digit of shape (28, 28, 1), but a model always takes a "
                "batch: add the batch axis, model.predict(image[None], verbose=0) (or "
                "np.expand_dims(image, 0)), shape (1, 28, 28, 1) in, (1, 10) out.") from None
        if hasattr(found, "numpy"):
            found = found.numpy()
        shape = np.shape(found)
        if shape in ((10,), (1, 10)):
            raise CheckFailed(
                f"`predict_digit` returned the 10 probabilities (shape {shape}); return the "
                "class, the index of the largest one: int(np.argmax(probabilities)).")
        if shape != () or isinstance(found, (str, bytes)):
            size = int(np.size(found)) if not isinstance(found, (str, bytes)) else -1
            seed_text = (" Softmax outputs are never exactly 1, so `probabilities == 1` finds "
                         "nothing (a mistake of one of the course's source articles): use "
                         "np.argmax." if size == 0 else "")
            raise CheckFailed(f"`predict_digit` should return one int, the predicted class; "
                              f"found {type(found).__name__} of shape {shape}.{seed_text}")
        if found is None or not isinstance(found, (int, np.integer)):
            raise CheckFailed(f"`predict_digit` should return an int (the class index), found "
                              f"{type(found).__name__} {found!r}: int(np.argmax(...)).")
        expect(int(found) == int(label),
               f"`predict_digit` returned {int(found)} for an image the model gives class "
               f"{int(label)} (the largest of its 10 probabilities). Return np.argmax of the "
               "model's output for that image.")


def _check_predict_without_augmenting(predict_digit, keras, seed) -> None:
    """With augmentation layers inside, Keras 3's bare ``model(x)`` runs them (their ``call``
    defaults to training=True); ``predict`` and ``model(x, training=False)`` do not. Strong
    rotations and shifts change about 70 % of this model's answers, so 8 images, each asked
    twice, catch a prediction made on an augmented image."""
    model = _small_model(keras, seed, augmenting=True)
    images = np.random.default_rng(seed).random((8, 28, 28, 1), dtype=np.float32)
    labels = np.argmax(model.predict(images, verbose=0), axis=1)
    for image, label in zip(images, labels):
        answers = {int(call(predict_digit, model, image.copy(), name="predict_digit"))
                   for _ in range(2)}
        expect(answers == {int(label)},
               f"`predict_digit` gave {sorted(answers)} for an image the model classifies as "
               f"{int(label)}, on a model with augmentation layers inside (RandomRotation, "
               "RandomTranslation, as in lesson 06): the augmentation was applied at inference. "
               "In Keras 3 calling model(x) runs those layers in training mode, so each "
               "prediction is made on a randomly turned and shifted copy of the image. Use "
               "model.predict(image[None], verbose=0), or model(image[None], training=False).")


def check_saving(fns, seed=None) -> str:
    save_and_reload, predict_digit = fns
    keras = import_keras()
    draw = int(np.random.default_rng(seed).integers(1 << 30))
    _check_save(save_and_reload, keras, draw)
    _check_predict(predict_digit, keras, draw + 1)
    _check_predict_without_augmenting(predict_digit, keras, draw + 2)
    return ("saved as a .keras file, reloaded with identical predictions, and a single digit "
            "predicted through a batch of one, in inference mode.")


ex1 = Exercise(
    "conv_arithmetic", check_arithmetic, functions=("conv_output_size", "conv_params"),
    hint="'valid': (size - kernel) // stride + 1; 'same': the border is padded so only the "
         "stride shrinks it, rounding up: -(-size // stride). Parameters: every filter has "
         "kernel*kernel*in_channels weights and 1 bias.")
ex2 = Exercise(
    "build_lenet5", check_build_lenet5, is_function=True,
    hint="keras.Sequential([keras.Input(shape=(28, 28, 1)), Conv2D(6, 5, padding='same', "
         "activation='relu'), AveragePooling2D(2), Conv2D(16, 5, activation='relu'), "
         "AveragePooling2D(2), Flatten(), Dense(120, relu), Dense(84, relu), Dense(10, softmax)]); "
         "model.summary() should say 61,706 parameters.")
ex3 = Exercise(
    "lenet", check_trained_lenet,
    hint="lenet = build_lenet5(); compile with keras.optimizers.Adam(learning_rate=schedule), "
         "'sparse_categorical_crossentropy', metrics=['accuracy'], "
         "steps_per_execution=STEPS_PER_EXECUTION; "
         "then lenet.fit(train_ds, validation_data=val_ds, epochs=EPOCHS, verbose=0) with the "
         "pipeline of the recipe.")
ex4 = Exercise(
    "save_and_reload", check_saving, functions=("save_and_reload", "predict_digit"),
    hint="save_and_reload: model.save(path), then return keras.models.load_model(path). "
         "predict_digit: the model wants a batch, so image[None] has shape (1, 28, 28, 1); "
         "model.predict(..., verbose=0) gives shape (1, 10); return int(np.argmax(...)).")
