"""Evaluate a saved ``.keras`` model on a test split, in a process of its own.

Run as ``python -I -m grader.grading.evaluate MODEL.keras --dataset mnist``; prints one JSON
object (with ``--name NAME``: measured as that graded model's entry in targets.json asks, with its
target and verdict, which is how a notebook's own check learns its result).
Nothing from the student's kernel reaches this process: the model is read from disk with
``safe_mode=True`` (no Lambda, no pickled Python code) and the test data are loaded here.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import zipfile
from pathlib import Path

import numpy as np

from ..keras_internals import all_layers
from ..model_spec import custom_layers, layers_called_with_training


class EvaluationError(Exception):
    pass


def describe_file_problem(path: Path) -> str | None:
    """A student-facing reason why ``path`` is not a loadable ``.keras`` file, or None."""
    if not path.exists():
        return (f"No saved model at {path}. Run the training cell so it saves the model, "
                "then run this check again.")
    with open(path, "rb") as f:
        head = f.read(8)
    if head[:1] == b"\x80":
        return (f"{path.name} is a Python pickle, not a Keras model. Pickle stores Python objects "
                "(and can run code when loaded); save with `model.save('name.keras')` and load "
                "with `keras.models.load_model`.")
    if head.startswith(b"\x89HDF"):
        return (f"{path.name} is a legacy HDF5 (.h5) file. Save in the Keras 3 format: "
                "`model.save('name.keras')`.")
    if not zipfile.is_zipfile(path):
        return (f"{path.name} is not a .keras file (a .keras file is a zip archive). Save with "
                "`model.save('name.keras')`.")
    return None


def load_model_safely(path: Path):
    problem = describe_file_problem(path)
    if problem:
        raise EvaluationError(problem)
    from ..quiet import import_tensorflow

    _, keras = import_tensorflow()
    try:
        model = keras.models.load_model(path, safe_mode=True, compile=False)
    except Exception as error:
        text = str(error)
        if "lambda" in text.lower() or "safe_mode" in text:
            raise EvaluationError(
                f"{path.name} contains a Lambda layer or other Python code, which a safe load "
                "refuses. Use built-in Keras layers only (for example `layers.Rescaling`, "
                "`layers.Reshape`, `layers.Flatten`).") from None
        raise EvaluationError(f"{path.name} could not be loaded as a Keras model: "
                              f"{type(error).__name__}: {text.splitlines()[0][:300]}") from None
    custom = custom_layers(model)
    if custom:
        raise EvaluationError("The model uses layers that are not built into Keras: "
                              + ", ".join(f"{layer.name} ({type(layer).__name__})"
                                          for layer in custom)
                              + ". Use built-in Keras layers only.")
    return model


def _refuse_channels_first(model, shape: tuple) -> None:
    """(1, 28, 28) in front of channels_last convolutions: 28 channels of 1x28 "images"."""
    convolutional = [layer for layer in all_layers(model)
                     if getattr(layer, "data_format", None) == "channels_last"
                     and "Conv" in type(layer).__name__]
    if len(shape) == 3 and shape[0] in (1, 3) and shape[1] > 4 and convolutional:
        raise EvaluationError(
            f"The model's input is {(None, *shape)}: channels_first (N, C, H, W). Its "
            f"convolutions are channels_last, as Keras on TensorFlow is, so they read "
            f"{shape[2]} channels of {shape[0]}x{shape[1]} images. Give the model "
            f"keras.Input(shape=({shape[1]}, {shape[2]}, {shape[0]})) and feed it images of that "
            "shape (np.expand_dims(x, -1), or np.transpose(x, (0, 2, 3, 1)) for (N, C, H, W) data).")


def _inputs_for(model, x_uint8: np.ndarray, scale: float) -> np.ndarray:
    shape = tuple(model.inputs[0].shape[1:])
    _refuse_channels_first(model, shape)
    x = x_uint8.astype("float32") * scale
    if None in shape or int(np.prod(shape)) != int(np.prod(x.shape[1:])):
        raise EvaluationError(
            f"The model expects inputs of shape {(None, *shape)}, but a test image has "
            f"{int(np.prod(x.shape[1:]))} pixels ({x.shape[1]}x{x.shape[2]}). Give the model "
            "an input of (28, 28), (28, 28, 1) or (784,).")
    return x.reshape((len(x), *shape))


def refuse_diverged_weights(model) -> None:
    """NaN or infinite weights mean training diverged; every prediction is then NaN, which would
    otherwise pass for randomness at inference (NaN never equals NaN) or a low accuracy."""
    broken = [w.path for w in model.weights
              if not np.all(np.isfinite(np.asarray(w.numpy(), dtype="float64")))]
    if broken:
        raise EvaluationError(
            f"The saved model's weights contain NaN or infinite values ({', '.join(broken[:3])}"
            f"{', ...' if len(broken) > 3 else ''}): training diverged. Lower the learning rate, "
            "check that the images are scaled to [0, 1] once, and train again.")


TRAIN_SAMPLE = 10_000  # training images scored for the train-test gap: enough for +-0.5%


def random_at_inference(model, x: np.ndarray) -> bool:
    """Is the model random where it should not be: a layer wired with ``training=True``, which
    keeps it on in ``model(x)``, or outputs that differ between two inference calls?

    Keras' own switch cannot be trusted to show the first case: ``predict`` and
    ``model(x, training=False)`` override the wiring, and a bare ``model(x)`` is random even in a
    correct model with augmentation layers (their ``call`` defaults to ``training=True``). So the
    wiring is read from the config, and the two calls are made with ``training=False``.
    """
    if layers_called_with_training(model):
        return True
    first, second = (np.asarray(model(x[:64], training=False)) for _ in range(2))
    return not np.allclose(first, second, atol=1e-6)


def _accuracy(model, images: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(model.predict(_inputs_for(model, images, 1 / 255), batch_size=1000,
                                       verbose=0).argmax(axis=1) == labels))


def evaluate(path: Path, dataset: str, train: bool = False, variant: str | None = None,
             train_images: int | None = None, copy_seed: int | None = None,
             on_copy: bool = True) -> dict:
    """Score the model on a perturbed copy of the test images (``grader.transforms``), drawn
    from ``copy_seed`` (the grader's, from the instructor's configuration) or, without it, from
    the public seed a notebook previews with; ``variant`` first transforms the copy (the
    augmentation lesson's shifted-rotated images). The published test images and a stronger
    probe copy are scored too: the evidence of a model that memorised the test images.
    ``on_copy=False`` scores on the published images instead (a target calibrated on them)."""
    started = time.perf_counter()
    model = load_model_safely(path)
    refuse_diverged_weights(model)
    from .. import data
    from ..transforms import SEED, VARIANTS, perturbed, probe

    splits = data.load(dataset, quiet=True)
    _, (published, y_test) = splits
    seed = SEED if copy_seed is None else copy_seed
    if on_copy:
        x_test = VARIANTS[variant](published, seed=seed) if variant else published
        x_test = perturbed(x_test, seed)
    else:  # the variant as a notebook builds it, from the public seed
        x_test = VARIANTS[variant](published) if variant else published
    if tuple(model.outputs[0].shape[1:]) != (10,):
        raise EvaluationError(f"The model's output has shape {tuple(model.outputs[0].shape)}; "
                              "expected (None, 10): one score per class.")
    x_scaled = _inputs_for(model, x_test, 1 / 255)
    probabilities = model.predict(x_scaled, batch_size=1000, verbose=0)
    accuracy = float(np.mean(probabilities.argmax(axis=1) == y_test))
    row_sums = probabilities.sum(axis=1)
    result = {
        "accuracy": accuracy,
        "n": int(len(y_test)),
        "dataset": dataset,
        "variant": variant,
        "copy": ("none" if not on_copy else "the grader's" if copy_seed is not None
                 else "a preview"),
        "published_accuracy": _accuracy(model, published, y_test),
        "probe_accuracy": _accuracy(model, probe(published, seed), y_test),
        "target_key": splits.target_key,
        "source": splits.source.describe(),
        "outputs_are_probabilities": bool(np.all(probabilities >= 0)
                                          and np.allclose(row_sums, 1, atol=1e-3)),
        # Fed raw 0-255 pixels, a model trained without normalising does far better: say so.
        "accuracy_on_raw_pixels": float(np.mean(
            model.predict(_inputs_for(model, x_test, 1.0), batch_size=1000, verbose=0)
            .argmax(axis=1) == y_test)),
    }
    result["random_at_inference"] = random_at_inference(model, x_scaled)
    result["random_layers"] = layers_called_with_training(model)
    if train:
        (x_train, y_train), _ = splits
        if train_images:  # the lesson trains on the first N training images: score exactly those
            order = np.arange(min(train_images, len(y_train)))
        else:
            order = np.random.default_rng(0).permutation(len(y_train))[:TRAIN_SAMPLE]
        train_probabilities = model.predict(_inputs_for(model, x_train[order], 1 / 255),
                                            batch_size=1000, verbose=0)
        result["train_accuracy"] = float(np.mean(train_probabilities.argmax(axis=1)
                                                 == y_train[order]))
    result["seconds"] = round(time.perf_counter() - started, 3)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.grading.evaluate")
    parser.add_argument("model", type=Path)
    parser.add_argument("--dataset", default=None)
    parser.add_argument("--variant", help="score on a transformed test copy: shifted-rotated")
    parser.add_argument("--copy-seed", type=int, help="the grader's seed for the perturbed test "
                        "copy (from nbgrader_config.py); without it, the public preview seed")
    parser.add_argument("--published", action="store_true", help="score on the published test "
                        "images, not a perturbed copy (a target calibrated before the copy)")
    parser.add_argument("--train", action="store_true",
                        help="also score the model on (up to 10,000) training images")
    parser.add_argument("--train-images", type=int,
                        help="with --train: score on the first N training images instead")
    parser.add_argument("--name", help="a graded model of targets.json: measure it as its entry "
                        "asks (variant, train images) and add its target and verdict")
    args = parser.parse_args(argv)
    try:
        from .. import data

        dataset = args.dataset or data.course_dataset()
        if args.name:
            from ..targets import graded_models, scored_on_copy
            from .verdicts import judged

            entry = graded_models().get(args.name, {})
            train = entry.get("max_gap") is not None
            result = judged(evaluate(args.model, dataset, train, entry.get("test_variant"),
                                     entry.get("train_images") if train else None,
                                     args.copy_seed, scored_on_copy(entry, dataset)), args.name)
        else:
            result = evaluate(args.model, dataset, args.train, args.variant, args.train_images,
                              args.copy_seed, not args.published)
        code = 0
    except (EvaluationError, data.DatasetError) as error:
        result, code = {"error": str(error)}, 2
    print(json.dumps(result))
    return code


if __name__ == "__main__":
    sys.exit(main())
