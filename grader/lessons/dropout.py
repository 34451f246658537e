"""Lesson 05, dropout: ``from grader.lessons.dropout import *`` gives ``ex1`` .. ``ex3``.

The checkers measure properties on large fresh random inputs (fraction zeroed, the factor kept
values are scaled by, inference behaviour, reproducibility from the generator passed in), with
tolerances many standard deviations wide, so a right answer never fails by bad luck and a
hard-coded one cannot pass.
"""
from __future__ import annotations

import numpy as np

from ..checks import assert_crossentropy_loss, training_steps
from ..feedback import CheckFailed, Exercise, call, expect

__all__ = ["ex1", "ex2", "ex3"]

# 100,000 values: the fraction zeroed has a standard deviation below 0.0016 for any rate,
# so a tolerance of 0.015 is more than 9 standard deviations.
BIG_SHAPE = (400, 250)
FRACTION_TOLERANCE = 0.015


def _as_numpy(value, what: str) -> np.ndarray:
    if hasattr(value, "numpy"):
        value = value.numpy()
    if not isinstance(value, np.ndarray):
        raise CheckFailed(f"{what} should return a numpy array, found {type(value).__name__}.")
    return value


def _activations(shape, rng) -> np.ndarray:
    """Non-zero float32 values of both signs, so every zero in an output was made by a mask."""
    magnitude = rng.uniform(0.5, 2.0, size=shape)
    sign = np.where(rng.random(shape) < 0.3, -1.0, 1.0)
    return (magnitude * sign).astype(np.float32)


# --- exercise 1: inverted dropout by hand ------------------------------------------------------

def _run(fn, x, rate, training, seed):
    original = x.copy()
    out = call(fn, x, rate, training, np.random.default_rng(seed), name="dropout")
    out = _as_numpy(out, "`dropout`")
    expect(np.array_equal(x, original),
           "`dropout` changed the array it was given (an in-place `x *= mask` or `x[mask] = 0`). "
           "Build a new array: `x * mask / (1 - rate)`. The caller still needs its x.")
    expect(out.shape == x.shape,
           f"For an input of shape {x.shape} `dropout` returned shape {out.shape}. Dropout "
           "keeps the shape: draw one mask value per element, `rng.random(x.shape)`.")
    expect(np.issubdtype(out.dtype, np.floating),
           f"`dropout` returned {out.dtype} values; the kept values are scaled by 1/(1-rate), "
           "so the result must be floating point.")
    return out


def _check_training(fn, x, rate, seed) -> np.ndarray:
    out = _run(fn, x, rate, True, seed)
    where = f"With rate={rate} and training=True"
    zeroed = out == 0
    if x.ndim == 2 and zeroed.any() and not zeroed.all():
        rows = zeroed.reshape(len(x), -1)
        expect(not np.all(rows == rows[0]),
               f"{where} every row (every example) lost the same units: one mask was shared by "
               "the whole batch. Draw a mask value for every element: `rng.random(x.shape)`.")
    fraction = float(zeroed.mean())
    if abs(fraction - rate) > FRACTION_TOLERANCE:
        if abs(fraction - (1 - rate)) <= FRACTION_TOLERANCE:
            raise CheckFailed(
                f"{where} {fraction:.1%} of the values were zeroed, about 1 - rate: rate was used "
                "as the probability of KEEPING a unit. `rate` is the probability of dropping "
                "one (Keras' meaning too): keep each value with probability 1 - rate, e.g. "
                "`keep = rng.random(x.shape) >= rate`.")
        if fraction < 0.001:
            raise CheckFailed(f"{where} no value was zeroed: dropout did nothing while training.")
        raise CheckFailed(f"{where} {fraction:.1%} of the values were zeroed; expected about "
                          f"{rate:.0%}. Drop each value independently with probability rate.")
    kept = ~zeroed
    ratio = out[kept].astype(np.float64) / x[kept].astype(np.float64)
    right = 1 / (1 - rate)
    if np.allclose(ratio, right, rtol=1e-4):
        return out
    typical = float(np.median(ratio))
    if np.allclose(ratio, 1.0, rtol=1e-4):
        raise CheckFailed(
            f"{where} the kept values are unchanged. Kept units must be scaled by 1/(1-rate) "
            f"(here 1/(1-{rate}) = {right:.4g}), so the expected activation stays the same: "
            f"{1 - rate:.0%} of the values survive, each {right:.4g} times larger, and the mean "
            "is what it was. (The old, non-inverted dropout skipped this and scaled at "
            "inference instead; Keras and this lesson use inverted dropout.)")
    if np.allclose(ratio, 1 - rate, rtol=1e-4):
        raise CheckFailed(
            f"{where} the kept values were multiplied by 1 - rate = {1 - rate:.4g}. That shrinks "
            f"the activations twice (fewer units AND smaller ones). Divide by (1 - rate) "
            f"instead: kept values become {right:.4g} times larger.")
    if rate not in (0.5,) and (np.allclose(ratio, rate, rtol=1e-4)
                               or np.allclose(ratio, 1 / rate, rtol=1e-4)):
        raise CheckFailed(f"{where} the kept values were scaled by {typical:.4g}, a factor made "
                          f"from rate instead of 1 - rate. Divide by (1 - rate): {right:.4g}.")
    if float(np.std(ratio)) > 1e-3 * max(1.0, abs(typical)):
        raise CheckFailed(f"{where} the kept values were scaled by varying factors (from "
                          f"{ratio.min():.3g} to {ratio.max():.3g}). Every kept value is "
                          f"multiplied by the same factor, 1/(1-rate) = {right:.4g}.")
    raise CheckFailed(f"{where} the kept values were multiplied by {typical:.4g}; expected "
                      f"1/(1-rate) = {right:.4g}.")


def _check_inference(fn, x, rate, seed) -> None:
    out = _run(fn, x, rate, False, seed)
    if np.array_equal(out, x):
        return
    where = f"With training=False (rate={rate})"
    if float(np.mean(out == 0)) > 0.05:
        raise CheckFailed(f"{where} {np.mean(out == 0):.0%} of the values were zeroed: dropout "
                          "is still active at inference. At inference (training=False) inverted "
                          "dropout is the identity: return x unchanged.")
    for factor, text in ((1 - rate, "multiplied by 1 - rate"), (1 / (1 - rate),
                                                                "divided by 1 - rate")):
        if np.allclose(out, x * factor, rtol=1e-4):
            raise CheckFailed(
                f"{where} the values were {text}: scaling at inference. That is the old, "
                "non-inverted dropout, which scales at inference because it did not scale while "
                "training. Inverted dropout already scaled the kept units by 1/(1-rate) while "
                "training, so at inference it must return x unchanged.")
    raise CheckFailed(f"{where} the values changed; at inference dropout must return x "
                      "unchanged.")


def check_dropout(fn, seed=None) -> str:
    rng = np.random.default_rng(seed)
    x = _activations(BIG_SHAPE, rng)
    for rate in (0.25, 0.5, 0.7):
        out = _check_training(fn, x, rate, int(rng.integers(1 << 30)))
        mean_in, mean_out = float(x.mean()), float(out.mean())
        expect(abs(mean_out - mean_in) < 0.05 * abs(x).mean(),
               f"With rate={rate} the mean changed from {mean_in:.4f} to {mean_out:.4f}; "
               "inverted dropout keeps the expected activation.")
    draw = int(rng.integers(1 << 30))
    first, again = _run(fn, x, 0.5, True, draw), _run(fn, x, 0.5, True, draw)
    expect(np.array_equal(first, again),
           "Two calls with generators made from the same seed gave different masks: the mask "
           "does not come from `rng`. Draw it with the generator you are given, "
           "`rng.random(x.shape)`, not with np.random.rand or a new generator.")
    other = _run(fn, x, 0.5, True, draw + 1)
    expect(not np.array_equal(first, other),
           "Generators with different seeds gave the same mask: the mask must be drawn afresh "
           "from `rng` on every call, not fixed in advance.")
    for rate in (0.5, 0.25):
        _check_inference(fn, x, rate, draw)
    for training in (True, False):
        out = _run(fn, x, 0.0, training, draw)
        expect(np.allclose(out, x, rtol=1e-6),
               f"With rate=0 (training={training}) nothing should be dropped or scaled: the "
               "result must equal x.")
    for shape, rate in (((3000,), 0.4), ((6, 28, 28, 1), 0.3), ((50, 20, 30), 0.6)):
        y = _activations(shape, rng)
        out = _run(fn, y, rate, True, int(rng.integers(1 << 30)))
        kept = out != 0
        expect(np.allclose(out[kept], y[kept] / (1 - rate), rtol=1e-4),
               f"For an input of shape {shape} the kept values are not x / (1 - rate).")
        expect(0.05 < 1 - kept.mean() < 0.95,
               f"For an input of shape {shape} and rate={rate}, {1 - kept.mean():.0%} of the "
               "values were zeroed. Do not assume a 2-D batch: draw `rng.random(x.shape)`.")
        _check_inference(fn, y, rate, 0)
    return ("drops a fraction rate of the values, scales the rest by 1/(1-rate) so the mean "
            "is kept, and is the identity at inference, for any shape.")


# --- exercise 2: the generalisation gap ----------------------------------------------------------

def _history(keras, train, val, seed):
    rng = np.random.default_rng(seed)
    epochs = len(train)
    logs = {
        "accuracy": [float(a) for a in train],
        "loss": [float(v) for v in rng.uniform(0.05, 1.5, epochs)],
        "val_accuracy": [float(a) for a in val],
        "val_loss": [float(v) for v in rng.uniform(0.2, 1.5, epochs)],
    }
    history = keras.callbacks.History()
    history.history = logs
    return history


def _curves(rng, epochs):
    """Training accuracy that ends high but peaked earlier, validation that peaked even earlier."""
    train = np.sort(rng.uniform(0.6, 0.99, epochs))
    train[-1], train[-2] = train[-2], train[-1]  # the maximum is not the last epoch
    val = rng.uniform(0.6, 0.9, epochs)
    val[1] = 0.95  # the best validation epoch is early
    return np.round(train, 4), np.round(val, 4)


def _gap_of(fn, value, what):
    try:
        result = fn(value)
    except KeyError as error:
        key = error.args[0] if error.args else ""
        if key in ("acc", "val_acc"):
            raise CheckFailed(
                f"`generalisation_gap` looked up {key!r} and got a KeyError. Keras 3 names the "
                "entries after the metric you compiled with: 'accuracy' and 'val_accuracy' "
                "('acc' was the Keras 1 name, and the seed article's mistake). Print "
                "history.history.keys() to see them.") from None
        raise CheckFailed(f"Called with {what}, `generalisation_gap` raised KeyError {key!r}. "
                          "The keys are 'accuracy' and 'val_accuracy'.") from None
    except NotImplementedError:
        raise CheckFailed("`generalisation_gap` still raises NotImplementedError: replace "
                          "`raise NotImplementedError()` with your code and run its cell.") from None
    except (AttributeError, TypeError) as error:
        raise CheckFailed(f"Called with {what}, `generalisation_gap` raised "
                          f"{type(error).__name__}: {error}. It must accept both the History "
                          "that fit returns and its .history dict: "
                          "`logs = getattr(history, 'history', history)`.") from None
    except Exception as error:
        raise CheckFailed(f"Called with {what}, `generalisation_gap` raised "
                          f"{type(error).__name__}: {error}") from None
    if hasattr(result, "numpy"):
        result = result.numpy()
    try:
        return float(result)
    except (TypeError, ValueError):
        raise CheckFailed(f"`generalisation_gap` should return one number, found "
                          f"{type(result).__name__}.") from None


def check_generalisation_gap(fn) -> str:
    from ..quiet import import_tensorflow

    keras = import_tensorflow()[1]
    rng = np.random.default_rng()
    for case in range(3):
        epochs = int(rng.integers(4, 9))
        train, val = _curves(rng, epochs)
        history = _history(keras, train, val, case)
        expected = train[-1] - val[-1]
        outcomes = []
        for value, what in ((history, "the History returned by fit"),
                            (history.history, "the dict history.history")):
            try:
                outcomes.append((_gap_of(fn, value, what), what))
            except CheckFailed as failure:
                outcomes.append((failure, what))
        failures = [found for found, _ in outcomes if isinstance(found, CheckFailed)]
        if failures:  # the seed's 'acc' KeyError first: it is the mistake to fix first
            raise next((f for f in failures if "'acc'" in str(f)), failures[0])
        for found, what in outcomes:
            if abs(found - expected) < 1e-6:
                continue
            where = (f"Called with {what} (final training accuracy {train[-1]:.4f}, final "
                     f"validation accuracy {val[-1]:.4f})")
            mistakes = [
                (-expected, "validation minus training. The gap is training minus validation: "
                            "positive when the model does better on the data it learned from"),
                (100 * expected, "a percentage. Return a fraction, like the accuracies"),
                (train[0] - val[0], "the gap of the FIRST epoch. Use the last entry, [-1]"),
                (train.max() - val.max(), "best minus best. Use the final epoch of both, [-1]"),
                (train.mean() - val.mean(), "the mean over all epochs. Use the final epoch, "
                                            "[-1]"),
            ]
            for value_found, text in mistakes:
                if abs(found - value_found) < 1e-6:
                    raise CheckFailed(f"{where} you returned {found:.4f}: {text}.")
            raise CheckFailed(f"{where} the gap is {expected:.4f}; you returned {found:.4f}. "
                              "Subtract the last validation accuracy from the last training "
                              "accuracy.")
    return "final training accuracy minus final validation accuracy, from a History or its dict."


# --- exercise 3: a trained MLP with dropout ----------------------------------------------------

def _dropout_layers(model, keras):
    return [layer for layer in model._flatten_layers(include_self=False)
            if isinstance(layer, keras.layers.Dropout)]


def check_dropout_model(model) -> str:
    from .. import checks
    from ..quiet import import_tensorflow

    tf, keras = import_tensorflow()
    name = "dropout_model"
    checks.assert_keras_model(model, name)
    checks.assert_no_custom_code(model, name)
    shape = tuple(model.inputs[0].shape[1:]) if model.inputs else ()
    expect(None not in shape and int(np.prod(shape)) == 784,
           f"`{name}` should take 28x28 images: keras.Input(shape=(28, 28)) followed by "
           f"Flatten; found inputs of shape {(None, *shape)}.")
    checks.assert_output_shape(model, (10,), name)
    expect(type(model.layers[-1]).__name__ != "Dropout",
           f"`{name}` ends with a Dropout layer, after the output. Dropout goes between hidden "
           "layers (and at most on the input); the last layer is Dense(10, softmax).")
    checks.assert_softmax_output(model, name)
    checks.assert_param_budget(model, 1_000_000, name)
    dropouts = _dropout_layers(model, keras)
    expect(dropouts, f"`{name}` has no Dropout layer; its layers are "
                     f"{checks.layer_kinds(model)}. Add keras.layers.Dropout(rate) after the "
                     "hidden Dense layers.")
    for layer in dropouts:
        expect(0 < layer.rate < 1,
               f"`{name}`'s layer {layer.name} has rate={layer.rate}: a rate of 0 drops nothing. "
               "Use a rate between 0 and 1 (0.2 to 0.5 are usual).")
    assert_crossentropy_loss(model, name, "compile it with the 'adam' optimiser and the "
                                          "'sparse_categorical_crossentropy' loss, then fit it.")
    steps = training_steps(model)
    expect(steps > 0, f"`{name}` has not been trained yet: fit it on the training data.")

    x = np.random.default_rng(0).random((32, *shape), dtype=np.float32)
    predicted = [model.predict(x, verbose=0) for _ in range(2)]
    called = [np.asarray(model(x)) for _ in range(2)]
    expect(np.array_equal(predicted[0], predicted[1]) and np.array_equal(called[0], called[1]),
           f"`{name}` gives different predictions for the same images: dropout is still active "
           "at inference. Most likely a Dropout layer was called with training=True "
           "(`layers.Dropout(0.5)(h, training=True)` in the functional API), which keeps it on "
           "in `model(x)`. Remove training=True: Keras switches dropout on in fit and off in "
           "predict, evaluate and model(x) by itself.")
    trained = [np.asarray(model(x, training=True)) for _ in range(2)]
    expect(not np.array_equal(trained[0], trained[1]),
           f"`{name}`'s Dropout layers never change its output, even with training=True. Put "
           "them on the path from the input to the output (between the hidden layers).")
    rates = ", ".join(f"{layer.rate:g}" for layer in dropouts)
    return (f"{len(dropouts)} Dropout layer(s) (rates {rates}), deterministic at inference, "
            f"trained for {steps} steps. The grader measures its test accuracy and its "
            "train-test gap when this cell is graded.")


ex1 = Exercise(
    "dropout", check_dropout, is_function=True,
    hint="When training: keep = rng.random(x.shape) >= rate (True with probability 1 - rate); "
         "return x * keep / (1 - rate). When not training, or when rate is 0: return x as it "
         "is. Never change x in place.")
ex2 = Exercise(
    "generalisation_gap", check_generalisation_gap, is_function=True,
    hint="logs = getattr(history, 'history', history) works for both a History and its dict. "
         "The keys are 'accuracy' and 'val_accuracy' (not 'acc'); take the last entry of each "
         "([-1]) and subtract validation from training.")
ex3 = Exercise(
    "dropout_model", check_dropout_model,
    hint="keras.Sequential([keras.Input(shape=(28, 28)), layers.Flatten(), layers.Dropout(0.2), "
         "layers.Dense(256, activation='relu'), layers.Dropout(0.5), ... , "
         "layers.Dense(10, activation='softmax')]); compile with 'adam' and "
         "'sparse_categorical_crossentropy' and the 'accuracy' metric; fit on x_fit, y_fit with "
         "validation_data=(x_val, y_val), epochs=EPOCHS, batch_size=256.")
