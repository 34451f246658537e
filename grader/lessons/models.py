"""Lesson 03, Sequential vs functional: ``from grader.lessons.models import *`` gives ``ex1`` .. ``ex5``.

The checkers test properties: parameter counts against Keras' own ``count_params()`` on random
layer lists, model structure read from the layer graph, a rebuilt model compared with a reference
of the architecture the exercise states (same weights in, same predictions out), and label
arrays of every shape and dtype a loss can meet. Known wrong answers are catalogued as data.
"""
from __future__ import annotations

import numbers
import operator

import numpy as np

from .. import checks
from ..feedback import CheckFailed, Exercise, Mistake, call, checker, expect, rule_out
from ..model_spec import (CATEGORICAL, SPARSE, ModelSpec, check_structure, check_trained_model,
                          graded_later, is_functional, is_sequential, subclassed_message)
from ..quiet import import_keras, import_tensorflow
from ..seeding import keeps_random_state, test_rng

__all__ = ["ex1", "ex2", "ex3", "ex4", "ex5"]

MLP_WIDTHS = (784, 256, 128, 10)  # the MLP of exercises 2 and 3
MLP_PARAMS = 784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10  # 235,146
INPUT = "keras.Input(shape=(784,))"


# --- exercise 1: parameters of an MLP, by hand -------------------------------------------------

@keeps_random_state
def keras_param_count(sizes) -> int:
    """What Keras says: a Sequential of Dense layers over an input of ``sizes[0]`` features."""
    if len(sizes) < 2:
        return 0  # an input and no layer: nothing to learn
    keras = import_keras()
    model = keras.Sequential([keras.Input(shape=(sizes[0],))]
                             + [keras.layers.Dense(units) for units in sizes[1:]])
    return int(model.count_params())


def _count(sizes, per_layer=lambda n_in, n_out: n_in * n_out + n_out) -> int:
    return sum(per_layer(n_in, n_out) for n_in, n_out in zip(sizes[:-1], sizes[1:]))


PARAM_MISTAKES = (  # each is the wrong count itself; of two giving the same number, the first
    Mistake(lambda s: _count(s, operator.mul),
            "you counted the weights but forgot the biases: every Dense unit also has one bias, "
            "so a layer of n_out units after n_in inputs has n_in*n_out + n_out parameters."),
    Mistake(lambda s: _count(s, lambda a, b: a * b + a),
            "you gave each layer one bias per INPUT; a Dense layer has one bias per OUTPUT unit: "
            "n_in*n_out + n_out."),
    Mistake(lambda s: _count(s) + s[0],
            "you gave the input layer biases. The input is just the data: it has no weights and "
            "no biases. Only the connections between consecutive sizes carry parameters."),
    Mistake(lambda s: _count(s) + s[0] * s[0] + s[0],
            "you counted the input as a Dense layer of its own. The input holds no weights: "
            "only the connections between consecutive sizes carry parameters."),
    Mistake(sum, "you counted units (neurons), not parameters. Each Dense layer has a weight for "
                 "every (input, unit) pair plus one bias per unit."),
    Mistake(lambda s: _count(s[:-1]), "the last layer (the output layer) is missing from your "
                                      "count: loop over every consecutive pair of sizes."),
    Mistake(lambda s: _count(s[1:]), "the first layer (input -> first hidden layer) is missing "
                                     "from your count: loop over every consecutive pair of "
                                     "sizes, starting with (sizes[0], sizes[1])."),
)


def _param_case(fn, sizes) -> None:
    given = list(sizes)
    try:
        out = call(fn, given, name="mlp_param_count")
    except CheckFailed as failure:
        if "NotImplementedError" in str(failure):
            raise
        raise CheckFailed(f"{failure} (for sizes={list(sizes)})") from None
    expect(given == list(sizes), "`mlp_param_count` changed the list it was given; leave it as "
                                 "it is.")
    if isinstance(out, bool) or not isinstance(out, (numbers.Integral, float, np.floating)):
        raise CheckFailed(f"`mlp_param_count({list(sizes)})` should return an int, found "
                          f"{type(out).__name__} ({out!r}).")
    expected = keras_param_count(sizes)
    if isinstance(out, (float, np.floating)):
        right = float(out).is_integer() and int(out) == expected
        raise CheckFailed(f"`mlp_param_count({list(sizes)})` returned {out!r}, a float"
                          + (". The count is right, but" if right else ";")
                          + " a number of parameters is a whole number: return an int "
                            "(int(...), and no `/` or float arithmetic).")
    if int(out) != expected:
        where = f"For layer sizes {list(sizes)} Keras counts {expected:,} parameters, you got {out:,}"
        try:
            rule_out(int(out), PARAM_MISTAKES, list(sizes), close=operator.eq)
        except CheckFailed as named:
            raise CheckFailed(f"{where}: {named}") from None
        raise CheckFailed(f"{where}. Add n_in*n_out + n_out for every consecutive pair "
                          "(n_in, n_out) of sizes.")


@checker("mlp_param_count", "a function returning the parameter count as an int")
def check_mlp_param_count(fn, seed=None) -> str:
    rng = test_rng(seed)
    _param_case(fn, [784, 512, 512, 10])
    _param_case(fn, [784, 10])
    for _ in range(4):
        _param_case(fn, [int(s) for s in rng.integers(2, 300, int(rng.integers(3, 7)))])
    _param_case(fn, [3, 1])
    _param_case(fn, [int(rng.integers(5, 50))])  # no layer at all: nothing to learn
    return "every count matches Keras' count_params(), weights and biases."


# --- exercises 2 and 3: the 784-256-128-10 MLP, Sequential and functional -----------------------

def _check_mlp_architecture(model, name: str) -> None:
    keras = import_keras()
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    widths = [784] + [layer.units for layer in dense]
    expect(tuple(widths) == MLP_WIDTHS,
           f"`{name}` should be 784 -> Dense(256) -> Dense(128) -> Dense(10); its Dense layers "
           f"give {' -> '.join(map(str, widths))}.")
    for i, layer in enumerate(dense[:-1], 1):
        activation = getattr(getattr(layer, "activation", None), "__name__", "?")
        expect(activation != "linear",
               f"Hidden layer {i} ({layer.name}) has no activation (linear). Two linear layers in "
               "a row are just one linear map, so the hidden layers would add nothing: use "
               "activation=\"relu\".")
        expect(activation == "relu",
               f"Hidden layer {i} ({layer.name}) uses activation={activation!r}; this exercise "
               "asks for \"relu\".")
    count = model.count_params()
    expect(count == MLP_PARAMS,
           f"`{name}` has {count:,} parameters; 784-256-128-10 with biases has {MLP_PARAMS:,}. "
           "Check for extra layers with weights.")


@checker("mlp", "a Keras model built with keras.Input(shape=(784,)), compiled and trained")
def check_mlp(model) -> str:
    spec = ModelSpec("mlp", input_advice=f"{INPUT} for the flattened x_tr", trained_on="x_tr, y_tr")
    facts = check_trained_model(model, spec)
    _check_mlp_architecture(model, "mlp")
    kind = "Sequential" if facts.sequential else "functional (as right as Sequential here)"
    return f"a {kind} 784-256-128-10 model, loss {facts.loss}; " + graded_later(facts)


def _graph_model(model, name: str, why_not_sequential: str) -> None:
    """A functional model (exercises 3 and 4): Sequential and subclassed ones are named first."""
    checks.assert_keras_model(model, name)
    expect(not is_sequential(model), f"`{name}` is a keras.Sequential model. {why_not_sequential}")
    expect(is_functional(model), subclassed_message(model, name))
    check_structure(model, ModelSpec(name, input_advice=INPUT))


def reference_mlp():
    """The architecture exercise 3 states, as a Sequential model with fresh weights."""
    keras = import_keras()
    return keras.Sequential([keras.Input(shape=(784,))]
                            + [keras.layers.Dense(units, activation="relu") for units in (256, 128)]
                            + [keras.layers.Dense(10, activation="softmax")])


@checker("functional_mlp",
         "a functional Keras model: keras.Model(inputs, outputs) from keras.Input(shape=(784,))")
def check_functional_mlp(model, seed=None) -> str:
    _graph_model(model, "functional_mlp", "This exercise asks for the functional API: inputs = "
                 "keras.Input(shape=(784,)), call each layer on the previous tensor (x = "
                 "layers.Dense(...)(inputs)), then keras.Model(inputs=inputs, outputs=outputs).")
    _check_mlp_architecture(model, "functional_mlp")
    # Same weights in, same predictions out: the graph computes what the Sequential MLP does.
    reference = reference_mlp()
    twin = import_keras().models.clone_model(model)  # never touch the student's own weights
    try:
        twin.set_weights(reference.get_weights())
    except ValueError as error:
        raise CheckFailed("`functional_mlp`'s weights do not line up with 784-256-128-10 "
                          f"Dense layers in order: {str(error).splitlines()[0]}") from None
    x = test_rng(seed).random((16, 784), dtype=np.float32)
    got = np.asarray(twin.predict(x.reshape((16, *model.inputs[0].shape[1:])), verbose=0))
    want = np.asarray(reference.predict(x, verbose=0))
    expect(got.shape == want.shape and np.allclose(got, want, atol=1e-5),
           "With the same weights, `functional_mlp` computes something different from the "
           "Sequential 784-256-128-10 MLP. Call each layer on the PREVIOUS layer's output "
           "(not on `inputs` again) and keep the activations relu, relu, softmax.")
    return (f"a functional 784-256-128-10 model, {MLP_PARAMS:,} parameters; with the same "
            "weights it predicts exactly what the Sequential model does.")


# --- exercise 4: a skip connection -------------------------------------------------------------

MERGES = {"Add", "Concatenate", "Average", "Maximum", "Minimum", "Multiply", "Subtract"}


def _calls(item):
    """The (layer name, call index) of every tensor named in a node of a model's config."""
    if isinstance(item, dict) and "keras_history" in item:
        yield tuple(item["keras_history"][:2])
    for value in (item.values() if isinstance(item, dict) else
                  item if isinstance(item, (list, tuple)) else ()):
        yield from _calls(value)


def _merges(model):
    """Each merge layer, the names of the layers it combines, and whether one of them lies on
    the path to another (a skip), read from the model's config: the graph its saved file holds."""
    graph = {(layer["name"], k): (layer["class_name"], list(_calls(node)))
             for layer in model.get_config().get("layers", [])
             for k, node in enumerate(layer.get("inbound_nodes", []))}
    memo: dict = {}

    def ancestors(call_id) -> set:
        if call_id not in memo:
            parents = graph.get(call_id, ("", []))[1]
            memo[call_id] = set(parents).union(*(ancestors(p) for p in parents))
        return memo[call_id]

    for (name, _), (kind, parents) in graph.items():
        if kind in MERGES:
            yield (model.get_layer(name), [p for p, _ in parents],
                   any(a in ancestors(b) for a in parents for b in parents if a != b))


def skip_connections(model) -> tuple[list, list]:
    """``(skips, other_merges)``: merge layers where one input is an ancestor of another, and
    merge layers that are not (parallel branches, or one tensor twice)."""
    merges = list(_merges(model))
    return [m for m, _, skip in merges if skip], [m for m, _, skip in merges if not skip]


@checker("skip_model",
         "a functional Keras model from keras.Input(shape=(784,)) with a skip connection")
def check_skip_model(model, seed=None) -> str:
    _graph_model(model, "skip_model", "A Sequential model is a single chain: each layer sees only "
                 "the previous layer's output, so it cannot add an earlier tensor to a later one. "
                 "Build it with the functional API and layers.Add()([h1, h2]).")
    merges = list(_merges(model))
    skips = [layer for layer, _, skip in merges if skip]
    if not skips:
        expect(merges, "`skip_model` has no merge layer, so it is still a single chain of "
                       "layers. Add the skip: merged = layers.Add()([h1, h2]), then the output "
                       "layer on `merged`.")
        layer, names, _ = merges[0]
        expect(len(set(names)) > 1, f"The merge layer {layer.name} combines one tensor with "
               f"itself ({names}). A skip connection adds an EARLIER tensor to a later one: "
               "layers.Add()([h1, h2]) where h2 was computed from h1.")
        raise CheckFailed(f"The merge layer {layer.name} combines {names}, two parallel branches "
                          "computed side by side. That is not a skip connection: one input of the "
                          "merge must lie on the path to the other, as in h2 = Dense(...)(h1); "
                          "layers.Add()([h1, h2]).")
    x = test_rng(seed).random((7, 784), dtype=np.float32)
    try:
        out = np.asarray(model.predict(x.reshape((7, *model.inputs[0].shape[1:])), verbose=0))
    except Exception as error:
        raise CheckFailed(f"`skip_model` fails on a batch of 7 images: {type(error).__name__}: "
                          f"{str(error).splitlines()[0]}") from None
    expect(out.shape == (7, 10) and bool(np.all(np.isfinite(out)))
           and np.allclose(out.sum(axis=1), 1, atol=1e-4),
           f"On a batch of 7 images `skip_model` should give 7 rows of 10 probabilities summing "
           f"to 1; found shape {out.shape}.")
    return (f"{type(skips[0]).__name__} layer {skips[0].name} joins an earlier tensor to a later "
            "one: a graph no Sequential model can express.")


# --- exercise 5: which loss for these labels? --------------------------------------------------

def _label_cases(rng):
    """(labels, right loss, description) for every encoding a loss can meet."""
    n = int(rng.integers(20, 60))
    k = int(rng.integers(3, 12))
    ints = rng.integers(0, k, n)
    one_hot = np.eye(k, dtype=np.float32)[ints]
    smooth = one_hot * 0.9 + 0.1 / k
    return [
        (ints.astype(np.uint8), SPARSE, f"integer class numbers, shape {(n,)}, uint8"),
        (ints.astype(np.int64), SPARSE, f"integer class numbers, shape {(n,)}, int64"),
        (one_hot, CATEGORICAL, f"one-hot rows, shape {(n, k)}, float32"),
        (ints.astype(np.float32), SPARSE,
         f"class numbers stored as floats (0.0, 1.0, ...), shape {(n,)}"),
        (one_hot.astype(np.int64), CATEGORICAL, f"one-hot rows stored as integers, shape {(n, k)}"),
        (ints[:, None].astype(np.int32), SPARSE, f"class numbers in a column, shape {(n, 1)}"),
        (smooth, CATEGORICAL, f"smoothed one-hot rows (0.9 for the class), shape {(n, k)}"),
    ]


NOT_CATEGORICAL = (f"For {{what}} you returned {CATEGORICAL!r}. Categorical cross-entropy wants "
                   "one ROW of class probabilities per example, the same shape as the model's "
                   "output; with one class number per example Keras stops with \"Arguments "
                   "`target` and `output` must have the same rank (ndim)\". Class numbers need "
                   f"{SPARSE!r}.")
NOT_SPARSE = (f"For {{what}} you returned {SPARSE!r}. The sparse loss wants one class NUMBER per "
              "example; with one-hot rows Keras stops with \"Argument `output` must have rank "
              f"(ndim) `target.ndim - 1`\". One-hot (or smoothed) rows need {CATEGORICAL!r}.")
LOSS_MISTAKES = (  # in this order: the first whose answer on the failing labels is the student's
    Mistake(lambda y: SPARSE if np.asarray(y).dtype.kind in "iu" or np.ndim(y) < 2 else CATEGORICAL,
            NOT_SPARSE + " Look at the shape, not the dtype: one-hot rows can be integers."),
    Mistake(lambda y: CATEGORICAL if np.asarray(y).dtype.kind == "f" else SPARSE,
            NOT_CATEGORICAL + " Look at the shape, not the dtype: floats can be class numbers "
                              "too."),
    Mistake(lambda y: CATEGORICAL if np.ndim(y) == 2 else SPARSE,
            NOT_CATEGORICAL + " A column of shape (N, 1) still holds one class number per "
                              "example."),
    Mistake(lambda y: CATEGORICAL, NOT_CATEGORICAL),
    Mistake(lambda y: SPARSE, NOT_SPARSE),
    Mistake(lambda y: "binary_crossentropy",
            "For {what} you returned 'binary_crossentropy': that loss is for yes/no outputs "
            "(one sigmoid unit, or several labels that can be true at once), not for one class "
            f"out of several. Return one of the two names {SPARSE!r} or {CATEGORICAL!r} (here "
            "{right!r})."),
)


@checker("loss_for_labels", "a function returning a loss name (a string)")
def check_loss_for_labels(fn, seed=None) -> str:
    tf = import_tensorflow()[0]
    cases = _label_cases(test_rng(seed))
    cases += [(tf.convert_to_tensor(cases[1][0]), SPARSE, "a tf.Tensor of class numbers"),
              (tf.convert_to_tensor(cases[2][0]), CATEGORICAL, "a tf.Tensor of one-hot rows")]
    for labels, right, what in cases:
        answer = call(fn, labels, name="loss_for_labels")
        expect(isinstance(answer, str), "`loss_for_labels` should return a loss NAME (a string "
                                        f"such as {SPARSE!r}), found {type(answer).__name__}.")
        if answer != right:
            rule_out(answer, LOSS_MISTAKES, labels, close=operator.eq, what=what, right=right)
            raise CheckFailed(f"For {what} you returned {answer!r}. Return one of the two names "
                              f"{SPARSE!r} or {CATEGORICAL!r} (here {right!r}).")
    return "class numbers -> sparse, one-hot rows -> categorical, whatever the dtype."


# --- the exercises -----------------------------------------------------------------------------

ex1 = Exercise(
    "mlp_param_count", check_mlp_param_count, is_function=True, mistakes=PARAM_MISTAKES, hints=(
        "Each Dense layer sits between two consecutive sizes of the list: n_in inputs, n_out "
        "units. It holds an n_in x n_out weight matrix and one bias per unit; the input itself "
        "holds no parameters.",
        "Worked on other sizes: [3, 4, 2] is two layers. 3 -> 4 has 3*4 = 12 weights + 4 biases "
        "= 16; 4 -> 2 has 4*2 = 8 weights + 2 biases = 10; in all 26. So walk over the pairs "
        "(sizes[0], sizes[1]), (sizes[1], sizes[2]), ... (zip pairs a list with itself shifted "
        "by one), add n_in*n_out + n_out for each and return the total as an int. A list of one "
        "size has no pair: 0."))
ex2 = Exercise(
    "mlp", check_mlp, hints=(
        "Three steps: a keras.Sequential whose list starts with the input declaration, then "
        "compile (optimiser, loss, metric), then fit on x_tr, y_tr with the validation data. "
        "y_tr holds integer class numbers: section 3 says which loss matches them.",
        "The same steps on another problem, 20 features and 3 classes: a Sequential of "
        "keras.Input(shape=(20,)), Dense(32, activation='relu'), Dense(3, activation='softmax'); "
        "model.compile(optimizer='adam', loss=..., metrics=['accuracy']); history = model.fit(x, "
        "y, validation_data=(x_v, y_v), epochs=..., batch_size=...). Here: 784 inputs, hidden "
        "layers of 256 and 128 ReLU units, 10 softmax outputs; for integer labels the loss is "
        "the SPARSE categorical cross-entropy; the optimiser, epochs and batch size are yours "
        "(each epoch of 128-image batches takes about a second here: the time budget bounds "
        "the epochs), and keep what fit returns as mlp_history."))
ex3 = Exercise(
    "functional_mlp", check_functional_mlp, hints=(
        "In the functional API a layer is first created, then CALLED on a tensor, and returns a "
        "new tensor. Start from keras.Input, call each Dense on the tensor the previous one "
        "returned, and collect the first and the last tensor with keras.Model(inputs=..., "
        "outputs=...).",
        "Analogous, for 20 features and 3 classes: t0 = keras.Input(shape=(20,)); t1 = "
        "layers.Dense(32, activation='relu')(t0); t2 = layers.Dense(3, activation='softmax')(t1); "
        "model = keras.Model(inputs=t0, outputs=t2). Each line feeds on the line before (calling "
        "a layer on the input again would start a second, parallel branch). Here: 784 inputs, "
        "256 and 128 ReLU units, 10 softmax outputs."))
ex4 = Exercise(
    "skip_model", check_skip_model, hints=(
        "A skip connection uses the earlier tensor twice: as the input of the next Dense, and in "
        "the merge. Keep a Python name for it. layers.Add() is called on a LIST of tensors of the "
        "same shape.",
        "On other sizes: a = layers.Dense(64, activation='relu')(t0); b = layers.Dense(64, "
        "activation='relu')(a); s = layers.Add()([a, b]); the output layer is then called on s, "
        "not on b. Both tensors added must have the same width (64 and 64 here, 128 and 128 in "
        "the exercise). A second Dense called on the input instead of on the first hidden tensor "
        "makes two parallel branches: no skip."))
ex5 = Exercise(
    "loss_for_labels", check_loss_for_labels, is_function=True, mistakes=LOSS_MISTAKES, hints=(
        "Decide by the SHAPE of the labels, not their dtype: one class number per example "
        "(shape (N,) or (N, 1)) or one row of class probabilities per example (shape (N, K) "
        "with K > 1). np.shape works on numpy arrays and tf tensors alike.",
        "Worked on examples: [2, 0, 1] has shape (3,): class numbers, the sparse loss. [[2], [0], "
        "[1]] has shape (3, 1): still one class number per example, sparse. [[0, 0, 1], [1, 0, "
        "0]] has shape (2, 3): rows of probabilities, the categorical loss, whether the rows are "
        "stored as integers or floats. So: two axes AND more than one column means rows; "
        "anything else means class numbers."))
