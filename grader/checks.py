"""What visible and hidden tests call: structural checks of a Keras model, and the accuracy check.

Accuracy is never taken from the student's kernel: ``assert_accuracy`` saves the model to
``graded-models/NAME.keras`` and a separate Python process (``grader.grading.evaluate``) loads it
(``safe_mode=True``), evaluates it on a perturbed copy of the test split (``grader.transforms``)
and judges it against its target. ``grader autograde`` evaluates again, outside the student's
kernel, the model that crossed to the grader's own check (``grader.grading.confirm``), before a
grade is recorded. This module is the notebook's side: it imports nothing of ``grader.grading``.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .feedback import CheckFailed, expect, unexpected
from .quiet import import_keras
from .targets import graded_models

GRADED_MODELS_DIR = "graded-models"
EVALUATION_TIMEOUT_S = 120


# --- structure --------------------------------------------------------------------------------

def assert_keras_model(model, name: str = "model") -> None:
    keras = import_keras()
    expect(isinstance(model, keras.Model),
           f"`{name}` should be a Keras model (keras.Sequential or keras.Model), "
           f"found {type(model).__name__}. Return the model object itself.")


def assert_graph_model(model, name: str = "model") -> None:
    """A Keras model with defined inputs and outputs, Sequential or functional: what the
    structural checks read, and the only kind the grader can load from a saved file."""
    from .model_spec import is_functional, is_sequential, subclassed_message

    assert_keras_model(model, name)
    expect(is_sequential(model) or is_functional(model), subclassed_message(model, name))
    # getattr's default: an unbuilt Sequential raises AttributeError for both
    expect(model.built and bool(getattr(model, "inputs", None))
           and bool(getattr(model, "outputs", None)),
           f"`{name}` has no defined inputs: build it with keras.Input(shape=...) as its first "
           "layer (Sequential or functional API), so Keras knows its shapes.")


def assert_input_shape(model, shape: tuple, name: str = "model") -> None:
    assert_graph_model(model, name)
    found = tuple(model.inputs[0].shape)
    expect(found == (None, *shape),
           f"`{name}` should take inputs of shape {(None, *shape)} (a batch of {shape}), "
           f"found {found}. Set it with keras.Input(shape={shape}).")


def assert_output_shape(model, shape: tuple, name: str = "model") -> None:
    assert_graph_model(model, name)
    found = tuple(model.outputs[0].shape)
    expect(found == (None, *shape),
           f"`{name}` should output shape {(None, *shape)}, found {found}. "
           f"The last layer needs {shape[-1]} units, one per class.")


def layer_kinds(model, name: str = "model") -> list[str]:
    assert_keras_model(model, name)
    return [type(layer).__name__ for layer in model.layers]


def assert_layer_kinds(model, required=(), forbidden=(), name: str = "model") -> None:
    kinds = layer_kinds(model, name)
    for kind in required:
        expect(kind in kinds, f"`{name}` should contain a {kind} layer; its layers are {kinds}.")
    for kind in forbidden:
        expect(kind not in kinds, f"`{name}` should not contain a {kind} layer; "
                                  f"its layers are {kinds}.")


def assert_param_budget(model, max_params: int, name: str = "model") -> None:
    assert_keras_model(model, name)
    expect(model.built, f"`{name}` is not built yet, so it has no parameters to count: start "
                        "it with keras.Input(shape=...).")
    count = model.count_params()
    expect(count <= max_params,
           f"`{name}` has {count:,} parameters; the budget is {max_params:,}. "
           "Use fewer or smaller layers.")


def assert_no_custom_code(model, name: str = "model") -> None:
    from .model_spec import custom_layers

    assert_keras_model(model, name)
    for layer in custom_layers(model):
        kind = type(layer)
        expect(kind.__name__ != "Lambda",
               f"`{name}` uses a Lambda layer ({layer.name}); a saved model with Lambda cannot be "
               "loaded safely. Use built-in layers such as Rescaling, Reshape or Flatten.")
        expect(kind.__module__.startswith("keras."),
               f"`{name}` uses a custom layer {kind.__name__}; use built-in Keras layers only.")


def assert_softmax_output(model, name: str = "model") -> None:
    expect(layer_kinds(model, name), f"`{name}` has no layers; it should end with "
                                     "Dense(10, activation=\"softmax\").")
    last = model.layers[-1]
    activation = getattr(getattr(last, "activation", None), "__name__", None)
    expect(activation == "softmax" or type(last).__name__ == "Softmax",
           f"`{name}`'s last layer should turn scores into probabilities with a softmax "
           f"(activation=\"softmax\"); found activation={activation!r}.")


def assert_crossentropy_loss(model, name: str, how_to_compile: str) -> None:
    """The model is compiled, with a cross-entropy loss (what its softmax output needs)."""
    loss = getattr(model, "loss", None)
    expect(loss is not None, f"`{name}` is not compiled: {how_to_compile}")
    loss_name = str(getattr(loss, "name", None) or getattr(loss, "__name__", None) or loss)
    expect("crossentropy" in loss_name.lower(),
           f"`{name}` was compiled with loss {loss_name!r}. For class probabilities and integer "
           "labels use 'sparse_categorical_crossentropy'.")


def training_steps(model) -> int:
    """How many optimiser steps the model has taken: 0 means it was never trained (or that
    ``model`` has no Keras optimizer to ask)."""
    iterations = getattr(getattr(model, "optimizer", None), "iterations", None)
    return int(iterations.numpy()) if hasattr(iterations, "numpy") else 0


def answer_name(graded: str) -> str:
    """The notebook's name of a graded model (``03-mlp`` -> ``mlp``), for messages."""
    grade_id = graded_models().get(graded, {}).get("grade_id", "")
    return grade_id.removesuffix("_test").partition("_")[2] or "model"


# --- accuracy ---------------------------------------------------------------------------------

def save_for_grading(model, name: str, directory: str | os.PathLike = ".") -> Path:
    """Save ``model`` as ``graded-models/NAME.keras``: the file the grader evaluates."""
    what = answer_name(name)
    assert_graph_model(model, what)  # a subclassed model saves, but cannot be loaded safely
    assert_no_custom_code(model, what)
    path = Path(directory) / GRADED_MODELS_DIR / f"{name}.keras"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        model.save(path)
    except Exception as error:  # hidden tests call this directly: no raw traceback for them
        raise unexpected(error, (what,), model, "a Keras model of built-in layers that "
                                                "model.save can write") from error
    return path


def evaluate_in_separate_process(path: str | os.PathLike, *options: str,
                                 timeout: float = EVALUATION_TIMEOUT_S) -> dict:
    """``python -I -m grader.grading.evaluate PATH OPTIONS...`` in a fresh, isolated process and
    a scratch folder: its one JSON line, or the ``CheckFailed`` that says why there is none."""
    command = [sys.executable, "-I", "-m", "grader.grading.evaluate", str(Path(path).resolve()),
               *options]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    # The data the student trained on are already in Keras' cache (or a fallback): never wait on
    # the network while grading.
    env["GRADER_NO_DOWNLOAD"] = "1"
    try:
        with tempfile.TemporaryDirectory() as workdir:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                                  cwd=workdir, env=env)
    except subprocess.TimeoutExpired:
        raise CheckFailed(f"Evaluating the saved model took longer than {timeout:.0f} s. "
                          "Use a smaller model.") from None
    return evaluation_result(done.stdout, done.stderr)


def evaluation_result(stdout: str, stderr: str = "") -> dict:
    """The JSON line ``grader.grading.evaluate`` printed last, or the ``CheckFailed`` it reports."""
    lines = stdout.strip().splitlines()
    try:
        result = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        tail = stderr.strip().splitlines()[-3:]
        raise CheckFailed("The grader could not evaluate the saved model: "
                          + (" | ".join(tail) or "the evaluating process printed nothing.")) from None
    if "error" in result:
        raise CheckFailed(result["error"])
    return result


def assert_accuracy(model, name: str, dataset: str | None = None) -> dict:
    """Save ``model`` for grading and require its calibrated target, measured and judged out of
    process (``grader.grading.evaluate --name``); returns what that process measured."""
    from .data import course_dataset

    started = time.perf_counter()
    path = save_for_grading(model, name)
    result = evaluate_in_separate_process(path, "--name", name, "--dataset",
                                          dataset or course_dataset())
    if result.get("verdict"):
        raise CheckFailed(result["verdict"])
    gap = "" if result.get("gap") is None else f", train-test gap {result['gap']:.2%}"
    published = result.get("published_accuracy")
    published = "" if published is None else f" ({published:.2%} on the images as published)"
    print(f"✓ `{name}`: {result['accuracy']:.2%} accuracy on a lightly perturbed copy of the test "
          f"images{gap}{published}, measured by the grader in a separate process (target "
          f"{result['target']:.2%}, {time.perf_counter() - started:.1f} s).")
    return result
