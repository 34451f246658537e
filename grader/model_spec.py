"""One declared spec for every trained-model exercise, and the checks it stands for.

Every lesson's trained model goes through the same preamble before the grader measures its
accuracy: a Keras model that can be graded from its file (Sequential or functional, built-in
layers), the input and output the lesson's data need, a softmax, a parameter budget, the
layers the lesson is about, a cross-entropy loss that matches the labels, and some training.
A lesson declares a ``ModelSpec``; ``check_trained_model`` runs the preamble in a fixed order
and returns what it found, for the lesson's own extra checks and its ✓ message.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .feedback import CheckFailed, expect
from .keras_internals import all_layers
from .quiet import import_keras

SPARSE, CATEGORICAL = "sparse_categorical_crossentropy", "categorical_crossentropy"


@dataclass(frozen=True)
class ModelSpec:
    """What a trained-model exercise requires. ``inputs`` lists the per-image input shapes
    accepted (``None``: any shape with 784 pixels); ``input_advice`` says how to build the
    right one; ``trained_on`` says what ``fit`` should be given."""
    name: str
    inputs: tuple[tuple[int, ...], ...] | None = None
    input_advice: str = "keras.Input(shape=(28, 28))"
    classes: int = 10
    max_params: int | None = None
    required_layers: tuple[str, ...] = ()
    forbidden_layers: tuple[str, ...] = ()
    trained_on: str = "the scaled training images"


@dataclass(frozen=True)
class ModelFacts:
    params: int
    steps: int
    loss: str
    sequential: bool


def is_sequential(model) -> bool:
    return isinstance(model, import_keras().Sequential)


def is_functional(model) -> bool:
    """A graph of layers built with keras.Model(inputs, outputs): not Sequential, not subclassed."""
    from .keras_internals import functional_class

    return not is_sequential(model) and isinstance(model, functional_class())


def subclassed_message(model, name: str) -> str:
    return (f"`{name}` is a subclassed model ({type(model).__name__}): its computation is Python "
            "code in call(), not a graph of layers, so the grader cannot load it from its saved "
            "file without running that code (and it never runs a student's code while grading). "
            "Build it with keras.Sequential or the functional API: inputs = keras.Input(...); "
            "x = layer(inputs); ...; keras.Model(inputs, outputs).")


def loss_name(loss) -> tuple[str | None, bool]:
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


def check_loss(model, name: str) -> str:
    """A cross-entropy for 10 exclusive classes, on the softmax's probabilities."""
    compiled = getattr(model, "loss", None)
    loss, from_logits = loss_name(compiled)
    expect(loss is not None, f"`{name}` has not been compiled: call {name}.compile(optimizer=..., "
                             f"loss=..., metrics=[\"accuracy\"]) before fit.")
    expect(not isinstance(compiled, (dict, list, tuple)),
           f"`{name}` has one output, so it takes one loss, found {compiled!r}.")
    expect("binary" not in loss,
           f"`{name}` was compiled with loss {loss!r}. Binary cross-entropy is for ONE yes/no "
           "output (or several independent ones); here the 10 classes exclude each other and "
           "the softmax shares one probability among them. It does not match integer labels "
           "either. Use \"sparse_categorical_crossentropy\" with integer labels "
           "(\"categorical_crossentropy\" only with one-hot labels).")
    expect(loss in (SPARSE, CATEGORICAL),
           f"`{name}` was compiled with loss {loss!r}, which is not a classification loss. "
           "For integer labels use \"sparse_categorical_crossentropy\".")
    expect(not from_logits,
           f"`{name}`'s loss was built with from_logits=True, which tells it the outputs are raw "
           "scores; but the model ends in a softmax, so they are probabilities already and "
           "would be squashed twice. Drop from_logits (the default is False).")
    return loss


def training_steps(model) -> int:
    """How many optimiser steps the model has taken: 0 means it was never trained."""
    optimizer = getattr(model, "optimizer", None)
    return int(optimizer.iterations.numpy()) if optimizer is not None else 0


def check_structure(model, spec: ModelSpec) -> ModelFacts:
    """Everything but the loss and the training: what a model-building exercise checks."""
    from . import checks

    name = spec.name
    checks.assert_keras_model(model, name)
    sequential = is_sequential(model)
    if not (sequential or is_functional(model)):
        raise CheckFailed(subclassed_message(model, name))
    expect(model.built and bool(model.inputs),
           f"`{name}` has no input yet, so Keras cannot know its shapes or count its "
           f"parameters. Start it with {spec.input_advice}.")
    checks.assert_no_custom_code(model, name)
    expect(len(model.inputs) == 1, f"`{name}` should have one input, found {len(model.inputs)}.")
    shape = tuple(model.inputs[0].shape[1:])
    accepted = (shape in spec.inputs) if spec.inputs is not None else (
        None not in shape and int(np.prod(shape)) == 784)
    expect(accepted, f"`{name}` should take 28x28 images: {spec.input_advice}. Found inputs of "
                     f"shape {(None, *shape)}.")
    expect(len(model.outputs) == 1,
           f"`{name}` should have one output (the {spec.classes} class probabilities), found "
           f"{len(model.outputs)}.")
    checks.assert_output_shape(model, (spec.classes,), name)
    checks.assert_softmax_output(model, name)
    checks.assert_layer_kinds(model, spec.required_layers, spec.forbidden_layers, name)
    if spec.max_params is not None:
        checks.assert_param_budget(model, spec.max_params, name)
    return ModelFacts(model.count_params(), 0, "", sequential)


def check_trained_model(model, spec: ModelSpec) -> ModelFacts:
    """The whole preamble of a trained-model exercise, in a fixed order; raises ``CheckFailed``
    with the first thing wrong."""
    facts = check_structure(model, spec)
    loss = check_loss(model, spec.name)
    steps = training_steps(model)
    expect(steps > 0, f"`{spec.name}` has not been trained yet: compile it, then fit it on "
                      f"{spec.trained_on}.")
    return ModelFacts(facts.params, steps, loss, facts.sequential)


def graded_later(facts: ModelFacts) -> str:
    """The end of every trained model's ✓ message."""
    return (f"{facts.params:,} parameters, trained for {facts.steps:,} steps. The grader measures "
            "its test accuracy when this cell is graded.")


def custom_layers(model) -> list:
    """The layers that are Lambda or not built into Keras: they carry Python code."""
    return [layer for layer in all_layers(model)
            if type(layer).__name__ == "Lambda" or not type(layer).__module__.startswith("keras.")]


def layers_called_with_training(model) -> list[str]:
    """Layers wired with ``training=True`` in a functional model although they are off by
    default (Dropout, GaussianNoise...): random even at inference in ``model(x)``.

    Keras records every call's ``training`` in the config. Augmentation layers default to
    ``training=True`` and are recorded so even when the student wrote nothing; Keras still
    switches them off in predict and in ``model(x, training=False)``, so they are not flagged.
    """
    import inspect

    names = []
    for config in model.get_config().get("layers", []):
        wired = any(isinstance(node, dict) and node.get("kwargs", {}).get("training") is True
                    for node in config.get("inbound_nodes", []))
        if not wired:
            continue
        layer = model.get_layer(config["config"]["name"])
        default = inspect.signature(type(layer).call).parameters.get("training")
        if default is None or default.default is not True:
            names.append(layer.name)
    return names
