"""Lesson 05, dropout: ``from grader.lessons.dropout import *`` gives ``ex1`` .. ``ex3``."""
from __future__ import annotations

import numpy as np

from ..feedback import CheckFailed, Exercise, Mistake, call, checker, expect, rule_out
from ..keras_internals import all_layers
from ..model_spec import ModelSpec, check_trained_model
from ..quiet import import_keras
from ..seeding import test_rng

__all__ = ["ex1", "ex2", "ex3"]

# The fraction zeroed of n values varies by sqrt(0.25 / n) at most: allow 6 of that, >= 0.015.
BIG_SHAPE = (400, 250)
FRACTION_TOLERANCE = 0.015


def _activations(shape, rng) -> np.ndarray:  # non-zero, both signs: every 0 comes from a mask
    return (rng.uniform(0.5, 2.0, shape) * np.where(rng.random(shape) < 0.3, -1, 1)).astype("f4")


# --- exercise 1: inverted dropout by hand ------------------------------------------------------

def _profile(out, x) -> tuple:
    """(fraction zeroed, the one factor kept values got (nan: several), one mask for all rows)"""
    zeroed = out == 0
    ratio = out[~zeroed].astype(np.float64) / x[~zeroed]
    factor = float(np.median(ratio)) if ratio.size else 1.0
    shared = x.ndim == 2 and 0 < zeroed.mean() < 1 and bool(np.all(zeroed == zeroed[0]))
    return float(zeroed.mean()), factor if np.allclose(ratio, factor, rtol=1e-4) else np.nan, shared


def _dropping(scale=lambda r: 1 / (1 - r), p_drop=lambda r: r, infer=lambda x, r, g: x, axes=0):
    """Dropout with knobs: the right one with the defaults; each mistake turns one knob."""
    def dropout(x, rate, training, rng):
        if not training:
            return infer(x, rate, rng)
        return x * (rng.random(x.shape[axes:]) >= p_drop(rate)) * scale(rate)
    return dropout


KEEPING = ("Rate was used as the probability of KEEPING a unit ({where}: {fraction:.1%} of the "
           "values were zeroed, about 1 - rate). `rate` is the probability of dropping one "
           "(Keras' meaning too): keep each value with probability 1 - rate.")
FROM_RATE = ("The kept values were scaled by a factor made from rate instead of 1 - rate "
             "({where}). Divide by (1 - rate): {right:.4g}.")
AT_INFERENCE = ("The values were {how} with training=False ({where}): the old, non-inverted "
                "dropout, which scales at inference because it did not while training. Inverted "
                "dropout scaled the kept units while training: at inference it returns x as is.")
DROPOUT_MISTAKES = (
    Mistake(lambda x, rate, training, rng: x, "Nothing was zeroed with training=True ({where}): "
            "dropout did nothing while training."),
    Mistake(_dropping(p_drop=lambda r: 1 - r), KEEPING),
    Mistake(_dropping(p_drop=lambda r: 1 - r, scale=lambda r: 1 / r), KEEPING),
    Mistake(_dropping(scale=lambda r: 1.0), "The kept values are unchanged ({where}). Scaled by "
            "1/(1-rate) = {right:.4g}, the {keep:.0%} that survive keep the mean (the expected "
            "activation) what it was. (The old, non-inverted dropout skipped this and scaled at "
            "inference instead; Keras and this lesson use inverted dropout.)"),
    Mistake(_dropping(scale=lambda r: 1 - r), "The kept values were multiplied by 1 - rate = "
            "{keep:.4g} ({where}). That shrinks the activations twice (fewer units AND smaller "
            "ones). Divide by (1 - rate) instead: kept values become {right:.4g} times larger."),
    Mistake(_dropping(scale=lambda r: r), FROM_RATE),
    Mistake(_dropping(scale=lambda r: 1 / r), FROM_RATE),
    Mistake(_dropping(axes=-1), "Every row (every example) lost the same units ({where}): one "
            "mask was shared by the whole batch. Draw a mask value for every element of x."),
    Mistake(_dropping(infer=lambda x, r, g: _dropping()(x, r, True, g)), "Dropout is still "
            "active at inference ({where}: {fraction:.0%} of the values were zeroed). At "
            "inference (training=False) inverted dropout is the identity: return x unchanged."),
    Mistake(_dropping(infer=lambda x, rate, rng: x * (1 - rate)), AT_INFERENCE),
    Mistake(_dropping(infer=lambda x, rate, rng: x / (1 - rate)), AT_INFERENCE),
)


def _run(fn, x, rate, training, seed) -> np.ndarray:
    original = x.copy()
    out = call(fn, x, rate, training, test_rng(seed), name="dropout")
    out = out.numpy() if hasattr(out, "numpy") else out
    expect(isinstance(out, np.ndarray),
           f"`dropout` should return a numpy array, found {type(out).__name__}.")
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


def _check_case(fn, x, rate, training, seed) -> np.ndarray:
    """The answer on one (rate, training): right, a catalogued mistake, or what it did instead."""
    out = _run(fn, x, rate, training, seed)
    found, tolerance = _profile(out, x), max(FRACTION_TOLERANCE, 6 * (0.25 / x.size) ** 0.5)

    def alike(other):  # the same fraction zeroed (or both one shared mask), the same factor
        return (found[2] == other[2] and (found[2] or abs(found[0] - other[0]) < tolerance)
                and bool(np.isclose(found[1], other[1], rtol=1e-3, equal_nan=True)))

    right = (rate, 1 / (1 - rate), False) if training else (0.0, 1.0, False)
    if alike(right):
        return out
    where = f"rate={rate}, training={training}" + (f", shape {x.shape}" if x.ndim != 2 else "")
    rule_out(found, DROPOUT_MISTAKES, x, rate, training, test_rng(seed),
             close=lambda _, wrong: alike(_profile(np.asarray(wrong), x)), where=where,
             fraction=found[0], right=1 / (1 - rate), keep=1 - rate,
             how="multiplied by 1 - rate" if found[1] < 1 else "divided by 1 - rate")
    raise CheckFailed(f"With {where}, {found[0]:.1%} of the values were zeroed (expected about "
                      f"{right[0]:.0%}) and the kept ones multiplied by " + ("varying factors" if
                      np.isnan(found[1]) else f"{found[1]:.4g}") + f" (expected {right[1]:.4g}). "
                      + ("Drop each value independently with probability rate and scale the "
                         "kept ones by 1/(1-rate)." if training else "At inference return x."))


@checker("dropout", "a function returning a NumPy array of x's shape")
def check_dropout(fn, seed=None) -> str:
    rng = test_rng(seed)
    x = _activations(BIG_SHAPE, rng)
    cases = [(x, rate, True) for rate in (0.25, 0.5, 0.7)]  # then inference, rate 0:
    cases += [(x, 0.5, False), (x, 0.25, False), (x, 0.0, True), (x, 0.0, False)]
    cases += [(_activations(shape, rng), rate, training) for training in (True, False)  # any shape
              for shape, rate in (((3000,), 0.4), ((6, 28, 28, 1), 0.3), ((50, 20, 30), 0.6))]
    for y, rate, training in cases:
        _check_case(fn, y, rate, training, int(rng.integers(1 << 30)))
    draw = int(rng.integers(1 << 30))
    first, again = _run(fn, x, 0.5, True, draw), _run(fn, x, 0.5, True, draw)
    expect(np.array_equal(first, again),
           "Two calls with generators made from the same seed gave different masks: the mask "
           "does not come from `rng`. Draw it with the generator you are given, "
           "`rng.random(x.shape)`, not with np.random.rand or a new generator.")
    expect(not np.array_equal(first, _run(fn, x, 0.5, True, draw + 1)),
           "Generators with different seeds gave the same mask: the mask must be drawn afresh "
           "from `rng` on every call, not fixed in advance.")
    return ("drops a fraction rate of the values, scales the rest by 1/(1-rate) so the mean "
            "is kept, and is the identity at inference, for any shape.")


# --- exercise 2: the generalisation gap ----------------------------------------------------------

def _gap(history, last=lambda values: values[-1]) -> float:
    logs = getattr(history, "history", history)
    return last(logs["accuracy"]) - last(logs["val_accuracy"])


GAP_MISTAKES = tuple(Mistake(wrong, f"{what}: {{where}} you returned {{answer:.4f}}. {fix}")
                     for wrong, what, fix in (
    (lambda h: -_gap(h), "Validation minus training", "The gap is training minus validation: "
     "positive when the model does better on the data it learned from."),
    (lambda h: 100 * _gap(h), "A percentage", "Return a fraction, like the accuracies."),
    (lambda h: _gap(h, lambda v: v[0]), "The gap of the FIRST epoch", "Use the last entry, [-1]."),
    (lambda h: _gap(h, max), "Best minus best", "Use the final epoch of both, [-1]."),
    (lambda h: _gap(h, np.mean), "The mean over all epochs", "Use the final epoch, [-1]."),
))


def _gap_of(fn, value, what):
    """The answer's gap for ``value`` as a float, or the CheckFailed that says what went wrong."""
    try:
        result = fn(value)
    except KeyError as error:
        key = error.args[0] if error.args else ""
        return CheckFailed(
            f"`generalisation_gap` looked up {key!r} and got a KeyError. The entries are named "
            "after the metrics as compiled: metrics=['accuracy'] gives 'accuracy' and "
            "'val_accuracy' ('acc' is what Keras 1 and early Keras 2 called them, and the seed "
            "article's mistake). Print history.history.keys() to see them."
            if key in ("acc", "val_acc") else f"Called with {what}, `generalisation_gap` raised "
            f"KeyError {key!r}. The keys are 'accuracy' and 'val_accuracy'.")
    except (AttributeError, TypeError) as error:
        return CheckFailed(f"Called with {what}, `generalisation_gap` raised "
                           f"{type(error).__name__}: {error}. It must accept both the History "
                           "fit returns and its .history dict: `getattr(history, 'history', "
                           "history)`.")
    except Exception:  # NotImplementedError and the rest: call() turns them into advice
        result = call(fn, value, name="generalisation_gap")
    try:
        return float(result.numpy() if hasattr(result, "numpy") else result)
    except (TypeError, ValueError):
        return CheckFailed(f"`generalisation_gap` should return one number, found "
                           f"{type(result).__name__}.")


def _history(logs: dict):
    """What fit returns, holding ``logs``."""
    history = import_keras().callbacks.History()
    history.history = logs
    return history


@checker("generalisation_gap", "a function returning one number")
def check_generalisation_gap(fn) -> str:
    rng = test_rng()
    for _ in range(3):
        train, val = np.round(rng.uniform(0.6, 0.9, (2, int(rng.integers(4, 9)))), 4)
        train[-2], val[1] = 0.99, 0.95  # both peak before the last epoch, validation early
        logs = {"accuracy": list(train), "loss": list(rng.random(len(train))),
                "val_accuracy": list(val), "val_loss": list(rng.random(len(train)))}
        outcomes = [(_gap_of(fn, value, what), value, what) for value, what in (
            (_history(logs), "the History returned by fit"),
            (logs, "the dict history.history"))]
        failures = [found for found, _, _ in outcomes if isinstance(found, CheckFailed)]
        if failures:  # the seed's 'acc' KeyError first: it is the mistake to fix first
            raise min(failures, key=lambda failure: "'acc'" not in str(failure))
        expected = _gap(logs)
        # `not <`: a nan answer is wrong too (nan >= 1e-6 is False)
        for found, value, what in (o for o in outcomes if not abs(o[0] - expected) < 1e-6):
            where = (f"called with {what} (final training accuracy {train[-1]:.4f}, final "
                     f"validation accuracy {val[-1]:.4f}),")
            rule_out(found, GAP_MISTAKES, value, close=lambda a, b: abs(a - float(b)) < 1e-6,
                     where=where, answer=found)
            raise CheckFailed(f"Called with {what}, the gap is {expected:.4f}; you returned "
                              f"{found:.4f}. Subtract the last validation accuracy from the last "
                              "training accuracy.")
    return "final training accuracy minus final validation accuracy, from a History or its dict."


# --- exercise 3: a trained MLP with dropout ----------------------------------------------------

SPEC = ModelSpec("dropout_model", input_advice="keras.Input(shape=(28, 28)) followed by Flatten",
                 max_params=1_000_000, trained_on="x_fit, y_fit (the first 6,000 training images)")


@checker("dropout_model",
         "a Keras model built with keras.Input(shape=(28, 28)), compiled and trained, with "
         "Dropout layers")
def check_dropout_model(model) -> str:
    from ..model_spec import layers_called_with_training

    expect(type((getattr(model, "layers", None) or [None])[-1]).__name__ != "Dropout",
           "`dropout_model` ends with a Dropout layer, after the output. Dropout goes between "
           "hidden layers (and at most on the input); the last layer is Dense(10, softmax).")
    facts = check_trained_model(model, SPEC)
    dropouts = [layer for layer in all_layers(model) if type(layer).__name__ == "Dropout"]
    expect(dropouts, f"`dropout_model` has no Dropout layer; its layers are "
                     f"{[type(layer).__name__ for layer in model.layers]}. Add "
                     "keras.layers.Dropout(rate) after the hidden Dense layers.")
    for layer in dropouts:
        expect(0 < layer.rate < 1, f"`dropout_model`'s layer {layer.name} has rate={layer.rate}: "
               "a rate of 0 drops nothing. Use a rate between 0 and 1 (0.2 to 0.5 are usual).")
    wired = layers_called_with_training(model)
    expect(not wired,
           f"`dropout_model` calls {', '.join(wired)} with training=True: hard-wired, dropout is "
           "still active at inference in model(x) on this Keras, and what predict does with it "
           "depends on the version. Remove it: called without it, Dropout is on in fit and off "
           "in predict, evaluate and model(x), as documented.")
    return (f"{len(dropouts)} Dropout layer(s) (rates "
            f"{', '.join(f'{layer.rate:g}' for layer in dropouts)}), none hard-wired on; "
            f"{facts.params:,} parameters, trained for {facts.steps:,} steps. The grader "
            "measures its test accuracy and its train-test gap when this cell is graded.")


ex1 = Exercise(
    "dropout", check_dropout, is_function=True, mistakes=DROPOUT_MISTAKES,
    hints=("At inference (or with nothing to drop) x passes through as it is; while training, "
           "one uniform draw per element from `rng`, compared with the rate, is the mask.",
           "On other numbers: p = 0.2, five values v, u = gen.random(5) = [0.05, 0.6, 0.9, 0.15, "
           "0.4]. Entries with u below p are dropped: the mask u >= p is [F, T, T, F, T]. v times "
           "the mask, divided by 1 - p = 0.8, zeroes them and makes the survivors 1.25 times "
           "larger: each expected value is unchanged. Draw with x's own shape (any rank); the "
           "product is a new array, so x is never changed (no in-place *=)."))
ex2 = Exercise(
    "generalisation_gap", check_generalisation_gap, is_function=True, mistakes=GAP_MISTAKES,
    hints=("fit returns a History; its .history attribute is the dict of per-epoch lists (the "
           "dict has no .history). The keys are the metric names you compiled with.",
           "On d = {'loss': [0.9, 0.5], 'val_loss': [1.0, 0.8]}, the final validation loss is "
           "d['val_loss'][-1] = 0.8. To take an object carrying the dict as an attribute or the "
           "dict itself, use the attribute if there is one, else the argument (getattr takes a "
           "default). Then last training minus last validation accuracy, a float fraction."))
ex3 = Exercise(
    "dropout_model", check_dropout_model,
    hints=("small_data_mlp (section 1) is the same kind of network: choose where Dropout "
           "layers go (after hidden Dense layers, perhaps a low rate on the pixels) and how much "
           "they drop, then train on x_fit.",
           "In words: image input, flatten, hidden ReLU Dense layers each followed by a Dropout "
           "(section 6: the gap shrank as the rate grew, and 0.7 learned more slowly; 0.2 at "
           "most on the input), the 10-way softmax; sparse categorical cross-entropy and "
           "accuracy; EPOCHS epochs, (x_val, y_val) as validation data. Wider layers need more dropout to stay under the "
           "gap bound. No training=True anywhere: fit switches dropout on by itself."))
