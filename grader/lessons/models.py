"""Lesson 03, Sequential vs functional: ``from grader.lessons.models import *`` gives ``ex1`` .. ``ex5``.

The checkers test properties: parameter counts against Keras' own ``count_params()`` on random
layer lists, model structure read from the layer graph, a rebuilt model compared with a reference
of the architecture the exercise states (same weights in, same predictions out), and label
arrays of every shape and dtype a loss can meet.
"""
from __future__ import annotations

import numbers

import numpy as np

from ..checks import training_steps
from ..feedback import CheckFailed, Exercise, call, expect
from ..quiet import import_keras

__all__ = ["ex1", "ex2", "ex3", "ex4", "ex5"]

MLP_WIDTHS = (784, 256, 128, 10)  # the MLP of exercises 2 and 3
MLP_PARAMS = 784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10  # 235,146
SPARSE, CATEGORICAL = "sparse_categorical_crossentropy", "categorical_crossentropy"



def _rng(seed=None) -> np.random.Generator:
    return np.random.default_rng(seed)


# --- exercise 1: parameters of an MLP, by hand -------------------------------------------------

def keras_param_count(sizes) -> int:
    """What Keras says: a Sequential of Dense layers over an input of ``sizes[0]`` features."""
    if len(sizes) < 2:
        return 0  # an input and no layer: nothing to learn
    keras = import_keras()
    model = keras.Sequential([keras.Input(shape=(sizes[0],))]
                             + [keras.layers.Dense(units) for units in sizes[1:]])
    return int(model.count_params())


def _usual_mistakes(sizes) -> dict[int, str]:
    """Wrong totals that the usual mistakes give, with what to say about each."""
    pairs = list(zip(sizes[:-1], sizes[1:]))
    right = sum(a * b + b for a, b in pairs)
    mistakes = {}
    if pairs:
        mistakes[sum(a * b for a, b in pairs)] = (
            "you counted the weights but forgot the biases: every Dense unit also has one bias, "
            "so a layer of n_out units after n_in inputs has n_in*n_out + n_out parameters.")
        mistakes[sum(a * b + a for a, b in pairs)] = (
            "you gave each layer one bias per INPUT; a Dense layer has one bias per OUTPUT unit: "
            "n_in*n_out + n_out.")
        mistakes[right + sizes[0]] = (
            "you gave the input layer biases. The input is just the data: it has no weights and "
            "no biases. Only the connections between consecutive sizes carry parameters.")
        mistakes[right + sizes[0] * sizes[0] + sizes[0]] = (
            "you counted the input as a Dense layer of its own. The input holds no weights: "
            "only the connections between consecutive sizes carry parameters.")
        mistakes[sum(sizes)] = (
            "you counted units (neurons), not parameters. Each Dense layer has a weight for "
            "every (input, unit) pair plus one bias per unit.")
    if len(pairs) >= 2:
        a, b = pairs[-1]
        mistakes[right - (a * b + b)] = ("the last layer (the output layer) is missing from your "
                                         "count: loop over every consecutive pair of sizes.")
        a, b = pairs[0]
        mistakes[right - (a * b + b)] = ("the first layer (input -> first hidden layer) is "
                                         "missing from your count: loop over every consecutive "
                                         "pair of sizes, starting with (sizes[0], sizes[1]).")
    mistakes.pop(right, None)  # a coincidence on tiny lists must never reject a right answer
    return mistakes


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
    out = int(out)
    if out != expected:
        where = f"For layer sizes {list(sizes)} Keras counts {expected:,} parameters, you got {out:,}"
        reason = _usual_mistakes(sizes).get(out)
        raise CheckFailed(f"{where}: {reason}" if reason else
                          f"{where}. Add n_in*n_out + n_out for every consecutive pair "
                          "(n_in, n_out) of sizes.")


def check_mlp_param_count(fn, seed=None) -> str:
    rng = _rng(seed)
    _param_case(fn, [784, 512, 512, 10])
    _param_case(fn, [784, 10])
    for _ in range(4):
        depth = int(rng.integers(3, 7))
        sizes = [int(s) for s in rng.integers(2, 300, depth)]
        _param_case(fn, sizes)
    _param_case(fn, [3, 1])
    _param_case(fn, [int(rng.integers(5, 50))])  # no layer at all: nothing to learn
    return "every count matches Keras' count_params(), weights and biases."


# --- shared model checks -----------------------------------------------------------------------

def _dense_layers(model) -> list:
    keras = import_keras()
    return [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]


def _activation(layer) -> str:
    return getattr(getattr(layer, "activation", None), "__name__", "?")


def _check_built(model, name: str) -> None:
    expect(model.built and model.inputs,
           f"`{name}` has no input yet, so Keras cannot know its shapes or count its "
           "parameters. Start it with keras.Input(shape=(784,)).")


def _check_input(model, name: str) -> None:
    expect(len(model.inputs) == 1, f"`{name}` should have one input, found {len(model.inputs)}.")
    shape = tuple(model.inputs[0].shape[1:])
    expect(None not in shape and int(np.prod(shape)) == 784,
           f"`{name}` should take the 784 pixels of an image: keras.Input(shape=(784,)) for the "
           f"flattened x_tr. Found inputs of shape {(None, *shape)}.")


def _check_output(model, name: str) -> None:
    from .. import checks

    expect(len(model.outputs) == 1,
           f"`{name}` should have one output (the 10 class probabilities), found "
           f"{len(model.outputs)}.")
    checks.assert_output_shape(model, (10,), name)
    checks.assert_softmax_output(model, name)
    checks.assert_no_custom_code(model, name)


def _check_mlp_architecture(model, name: str) -> None:
    dense = _dense_layers(model)
    widths = [784] + [layer.units for layer in dense]
    expect(tuple(widths) == MLP_WIDTHS,
           f"`{name}` should be 784 -> Dense(256) -> Dense(128) -> Dense(10); its Dense layers "
           f"give {' -> '.join(map(str, widths))}.")
    for i, layer in enumerate(dense[:-1], 1):
        activation = _activation(layer)
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


def _is_sequential(model) -> bool:
    return isinstance(model, import_keras().Sequential)


def _is_functional(model) -> bool:
    """A graph of layers built with keras.Model(inputs, outputs), not Sequential, not subclassed."""
    if _is_sequential(model):
        return False
    try:
        from keras.src.models.functional import Functional
    except ImportError:  # a Keras that moved its internals: judge by the class name
        return type(model).__name__ == "Functional"
    return isinstance(model, Functional)


def _subclassed_message(model, name: str) -> str:
    return (f"`{name}` is a subclassed model ({type(model).__name__}): its computation is Python "
            "code in call(), not a graph of layers. Build it with the functional API: "
            "inputs = keras.Input(...); x = layer(inputs); ...; keras.Model(inputs, outputs).")


def _loss_name(loss) -> tuple[str | None, bool]:
    """The compiled loss as a Keras name, and whether it expects logits."""
    if loss is None:
        return None, False
    if isinstance(loss, str):
        return loss, False
    config = {}
    try:
        config = loss.get_config() or {}
    except Exception:
        pass
    name = config.get("name") or getattr(loss, "name", None) or getattr(loss, "__name__", None)
    return (str(name) if name else type(loss).__name__), bool(config.get("from_logits", False))


def _check_loss(model, name: str) -> str:
    loss, from_logits = _loss_name(getattr(model, "loss", None))
    expect(loss is not None, f"`{name}` has not been compiled: call {name}.compile(optimizer=..., "
                             f"loss=..., metrics=[\"accuracy\"]) before fit.")
    expect(not isinstance(getattr(model, "loss", None), (dict, list, tuple)),
           f"`{name}` has one output, so it takes one loss, found {getattr(model, 'loss')!r}.")
    short = {"sparse_categorical_crossentropy": SPARSE, "categorical_crossentropy": CATEGORICAL}
    loss = short.get(loss, loss)
    expect("binary" not in loss,
           f"`{name}` was compiled with loss {loss!r}. Binary cross-entropy is for ONE yes/no "
           "output (or several independent ones); here the 10 classes exclude each other and "
           "the softmax shares one probability among them. It does not match integer labels "
           "either. Use \"sparse_categorical_crossentropy\" with the integer labels y_tr "
           "(\"categorical_crossentropy\" only with one-hot labels).")
    expect(loss in (SPARSE, CATEGORICAL),
           f"`{name}` was compiled with loss {loss!r}, which is not a classification loss. "
           "For integer labels such as y_tr use \"sparse_categorical_crossentropy\".")
    expect(not from_logits,
           f"`{name}`'s loss was built with from_logits=True, which tells it the outputs are raw "
           "scores; but the model ends in a softmax, so they are probabilities already and "
           "would be squashed twice. Drop from_logits (the default is False).")
    return loss


def _check_trained(model, name: str) -> int:
    steps = training_steps(model)
    expect(steps > 0, f"`{name}` has not been trained yet: compile it, then fit it on x_tr, y_tr.")
    return steps


# --- exercise 2: a trained MLP (Sequential, as taught; the functional API is as right) -----------

def check_mlp(model) -> str:
    from .. import checks

    checks.assert_keras_model(model, "mlp")
    sequential = _is_sequential(model)
    if not (sequential or _is_functional(model)):
        raise CheckFailed(_subclassed_message(model, "mlp"))
    _check_built(model, "mlp")
    _check_input(model, "mlp")
    _check_output(model, "mlp")
    _check_mlp_architecture(model, "mlp")
    loss = _check_loss(model, "mlp")
    steps = _check_trained(model, "mlp")
    kind = "Sequential" if sequential else "functional (as right as Sequential here)"
    return (f"a {kind} 784-256-128-10 model ({MLP_PARAMS:,} parameters), loss {loss}, "
            f"trained for {steps} steps. The grader measures its test accuracy when this cell is "
            "graded.")


# --- exercise 3: the same MLP with the functional API ------------------------------------------

def reference_mlp():
    """The architecture exercise 3 states, as a Sequential model with fresh weights."""
    keras = import_keras()
    return keras.Sequential([keras.Input(shape=(784,)),
                             keras.layers.Dense(256, activation="relu"),
                             keras.layers.Dense(128, activation="relu"),
                             keras.layers.Dense(10, activation="softmax")])


def check_functional_mlp(model, seed=None) -> str:
    from .. import checks

    keras = import_keras()
    checks.assert_keras_model(model, "functional_mlp")
    expect(not _is_sequential(model),
           "`functional_mlp` is a keras.Sequential model; this exercise asks for the functional "
           "API: inputs = keras.Input(shape=(784,)), call each layer on the previous tensor "
           "(x = layers.Dense(...)(inputs)), then keras.Model(inputs=inputs, outputs=outputs).")
    expect(_is_functional(model), _subclassed_message(model, "functional_mlp"))
    _check_input(model, "functional_mlp")
    _check_output(model, "functional_mlp")
    _check_mlp_architecture(model, "functional_mlp")

    # Same weights in, same predictions out: the graph computes what the Sequential MLP does.
    reference = reference_mlp()
    twin = keras.models.clone_model(model)  # never touch the student's own weights
    try:
        twin.set_weights(reference.get_weights())
    except ValueError as error:
        raise CheckFailed("`functional_mlp`'s weights do not line up with 784-256-128-10 "
                          f"Dense layers in order: {str(error).splitlines()[0]}") from None
    x = _rng(seed).random((16, 784), dtype=np.float32)
    shape = tuple(model.inputs[0].shape[1:])
    got = np.asarray(twin.predict(x.reshape((16, *shape)), verbose=0))
    want = np.asarray(reference.predict(x, verbose=0))
    expect(got.shape == want.shape and np.allclose(got, want, atol=1e-5),
           "With the same weights, `functional_mlp` computes something different from the "
           "Sequential 784-256-128-10 MLP. Call each layer on the PREVIOUS layer's output "
           "(not on `inputs` again) and keep the activations relu, relu, softmax.")
    return (f"a functional 784-256-128-10 model, {MLP_PARAMS:,} parameters; with the same "
            "weights it predicts exactly what the Sequential model does.")


# --- exercise 4: a skip connection -------------------------------------------------------------

def _merge_types():
    layers = import_keras().layers
    return (layers.Add, layers.Concatenate, layers.Average, layers.Maximum, layers.Minimum,
            layers.Multiply, layers.Subtract)


def _parents(layer, members: set) -> list:
    """The layers whose outputs ``layer`` is called on, within one model's graph."""
    parents = []
    for node in getattr(layer, "_inbound_nodes", []):
        for tensor in getattr(node, "input_tensors", ()):
            history = getattr(tensor, "_keras_history", None)
            operation = getattr(history, "operation", None)
            if operation is not None and id(operation) in members:
                parents.append(operation)
    return parents


def _ancestors(layer, members: set, memo: dict) -> set:
    key = id(layer)
    if key not in memo:
        memo[key] = set()
        found = set()
        for parent in _parents(layer, members):
            found |= {id(parent)} | _ancestors(parent, members, memo)
        memo[key] = found
    return memo[key]


def skip_connections(model) -> tuple[list, list]:
    """``(skips, other_merges)``: merge layers where one input is an ancestor of another, and
    merge layers that are not (parallel branches, or one tensor twice)."""
    members = {id(layer) for layer in model.layers}
    memo: dict = {}
    skips, others = [], []
    for layer in model.layers:
        if not isinstance(layer, _merge_types()):
            continue
        parents = _parents(layer, members)
        is_skip = any(id(a) in _ancestors(b, members, memo)
                      for a in parents for b in parents if a is not b)
        (skips if is_skip else others).append(layer)
    return skips, others


def check_skip_model(model, seed=None) -> str:
    from .. import checks

    checks.assert_keras_model(model, "skip_model")
    expect(not _is_sequential(model),
           "`skip_model` is a keras.Sequential model. A Sequential model is a single chain: each "
           "layer sees only the previous layer's output, so it cannot add an earlier tensor to a "
           "later one. Build it with the functional API and layers.Add()([h1, h2]).")
    expect(_is_functional(model), _subclassed_message(model, "skip_model"))
    _check_input(model, "skip_model")
    _check_output(model, "skip_model")
    skips, others = skip_connections(model)
    if not skips:
        if others:
            layer = others[0]
            parents = _parents(layer, {id(x) for x in model.layers})
            names = [p.name for p in parents]
            if len({id(p) for p in parents}) < 2:
                raise CheckFailed(f"The merge layer {layer.name} combines one tensor with itself "
                                  f"({names}). A skip connection adds an EARLIER tensor to a later "
                                  "one: layers.Add()([h1, h2]) where h2 was computed from h1.")
            raise CheckFailed(f"The merge layer {layer.name} combines {names}, two parallel "
                              "branches computed side by side. That is not a skip connection: "
                              "one input of the merge must lie on the path to the other, as in "
                              "h2 = Dense(...)(h1); layers.Add()([h1, h2]).")
        raise CheckFailed("`skip_model` has no merge layer, so it is still a single chain of "
                          "layers. Add the skip: merged = layers.Add()([h1, h2]), then the output "
                          "layer on `merged`.")
    x = _rng(seed).random((7, 784), dtype=np.float32)
    shape = tuple(model.inputs[0].shape[1:])
    try:
        out = np.asarray(model.predict(x.reshape((7, *shape)), verbose=0))
    except Exception as error:
        raise CheckFailed(f"`skip_model` fails on a batch of 7 images: {type(error).__name__}: "
                          f"{str(error).splitlines()[0]}") from None
    expect(out.shape == (7, 10) and bool(np.all(np.isfinite(out)))
           and np.allclose(out.sum(axis=1), 1, atol=1e-4),
           f"On a batch of 7 images `skip_model` should give 7 rows of 10 probabilities summing "
           f"to 1; found shape {out.shape}.")
    merge = skips[0]
    return (f"{type(merge).__name__} layer {merge.name} joins an earlier tensor to a later one: "
            "a graph no Sequential model can express.")


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


def _wrong_loss_message(labels, answer, right, what) -> str:
    shape = tuple(np.shape(labels))
    if answer == CATEGORICAL:
        return (f"For {what} you returned {CATEGORICAL!r}. Categorical cross-entropy wants one ROW "
                "of class probabilities per example, the same shape as the model's output; with "
                "one class number per example Keras stops with \"Arguments `target` and `output` "
                f"must have the same rank\". Class numbers need {SPARSE!r}."
                + (" Look at the shape, not the dtype: floats can be class numbers too."
                   if np.issubdtype(np.asarray(labels).dtype, np.floating) else "")
                + (" A column of shape (N, 1) still holds one class number per example."
                   if len(shape) == 2 and shape[1] == 1 else ""))
    if answer == SPARSE:
        return (f"For {what} you returned {SPARSE!r}. The sparse loss wants one class NUMBER per "
                "example; with one-hot rows Keras stops with \"Argument `output` must have rank "
                f"`target.ndim - 1`\". One-hot (or smoothed) rows need {CATEGORICAL!r}."
                + (" Look at the shape, not the dtype: one-hot rows can be integers."
                   if np.issubdtype(np.asarray(labels).dtype, np.integer) else ""))
    return (f"For {what} you returned {answer!r}. Return one of the two names "
            f"{SPARSE!r} or {CATEGORICAL!r} (here {right!r}).")


def check_loss_for_labels(fn, seed=None) -> str:
    from ..quiet import import_tensorflow

    tf = import_tensorflow()[0]
    rng = _rng(seed)
    cases = _label_cases(rng)
    cases += [(tf.convert_to_tensor(cases[1][0]), SPARSE, "a tf.Tensor of class numbers"),
              (tf.convert_to_tensor(cases[2][0]), CATEGORICAL, "a tf.Tensor of one-hot rows")]
    for labels, right, what in cases:
        answer = call(fn, labels, name="loss_for_labels")
        if not isinstance(answer, str):
            raise CheckFailed(f"`loss_for_labels` should return a loss NAME (a string such as "
                              f"{SPARSE!r}), found {type(answer).__name__}.")
        expect(answer == right, _wrong_loss_message(labels, answer, right, what))
    return "class numbers -> sparse, one-hot rows -> categorical, whatever the dtype."


# --- the exercises -----------------------------------------------------------------------------

ex1 = Exercise(
    "mlp_param_count", check_mlp_param_count, is_function=True,
    hint="Walk over consecutive pairs of sizes, e.g. zip(sizes[:-1], sizes[1:]). A Dense layer "
         "from n_in inputs to n_out units has an n_in x n_out weight matrix and n_out biases. "
         "The input itself has no parameters.")
ex2 = Exercise(
    "mlp", check_mlp,
    hint="keras.Sequential([keras.Input(shape=(784,)), layers.Dense(256, activation='relu'), "
         "layers.Dense(128, activation='relu'), layers.Dense(10, activation='softmax')]); "
         "compile with optimizer='adam', the loss that matches integer labels, "
         "metrics=['accuracy']; fit on x_tr, y_tr with validation_data=(x_val, y_val).")
ex3 = Exercise(
    "functional_mlp", check_functional_mlp,
    hint="Start from inputs = keras.Input(shape=(784,)). Each layer is created and then CALLED "
         "on the previous tensor: x = layers.Dense(256, activation='relu')(inputs), and so on. "
         "Finish with keras.Model(inputs=inputs, outputs=outputs).")
ex4 = Exercise(
    "skip_model", check_skip_model,
    hint="Keep a name for the first hidden tensor: h1 = Dense(128, relu)(inputs); "
         "h2 = Dense(128, relu)(h1). layers.Add()([h1, h2]) needs both to have the same width. "
         "The output Dense(10, softmax) is called on the sum.")
ex5 = Exercise(
    "loss_for_labels", check_loss_for_labels, is_function=True,
    hint="Decide by the SHAPE of the labels, not their dtype: one class number per example "
         "(shape (N,) or (N, 1)) or one row of class probabilities per example (shape (N, K) "
         "with K > 1). np.shape works on numpy arrays and tf tensors alike.")
