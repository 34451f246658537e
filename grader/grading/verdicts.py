"""The evaluation protocol: a saved model measured in a separate process
(``grader.grading.evaluate``), then judged against its calibrated target. Grading, calibration
and a notebook's own accuracy check (through ``--name``) all measure this way.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from ..checks import EVALUATION_TIMEOUT_S, evaluate_in_separate_process
from ..targets import Target, graded_models, target_for


@dataclass(frozen=True)
class Evaluation:
    accuracy: float
    seconds: float  # wall time of the evaluating process, start-up included
    n: int
    target_key: str
    source: str
    outputs_are_probabilities: bool
    accuracy_on_raw_pixels: float
    random_at_inference: bool = False
    random_layers: tuple = ()
    train_accuracy: float | None = None  # only when asked for (a target with a max_gap)
    variant: str | None = None  # a transformed test copy (grader.transforms), if one was used
    copy: str = "a preview"  # whose perturbed test copy: "the grader's" or the public preview
    published_accuracy: float | None = None  # on the published test images, as they ship
    probe_accuracy: float | None = None  # on grader.transforms.probe's stronger copy

    @property
    def gap(self) -> float | None:
        return None if self.train_accuracy is None else self.train_accuracy - self.accuracy


def evaluate_saved_model(path: str | os.PathLike, dataset: str | None = None,
                         timeout: float = EVALUATION_TIMEOUT_S, train: bool = False,
                         variant: str | None = None,
                         train_images: int | None = None,
                         copy_seed: int | None = None) -> Evaluation:
    """Evaluate a ``.keras`` file in a fresh, isolated Python process (``train``: also score it
    on training images, for the train-test gap, the first ``train_images`` of them if given;
    ``variant``: on a transformed test copy; ``copy_seed``: the grader's seed for the perturbed
    copy, from the instructor's configuration)."""
    from ..data import course_dataset

    result = evaluate_in_separate_process(
        path, "--dataset", dataset or course_dataset(), *(["--train"] if train else []),
        *(["--train-images", str(train_images)] if train and train_images else []),
        *(["--variant", variant] if variant else []),
        *(["--copy-seed", str(copy_seed)] if copy_seed is not None else []), timeout=timeout)
    return as_evaluation(result)


def as_evaluation(result: dict) -> Evaluation:
    """The JSON ``grader.grading.evaluate`` printed, as an ``Evaluation``."""
    result = dict(result)
    result["random_layers"] = tuple(result.get("random_layers", ()))
    return Evaluation(**{k: result[k] for k in Evaluation.__dataclass_fields__ if k in result})


def accuracy_verdict(evaluation: Evaluation, target: float, what: str,
                     max_gap: float | None = None, advice: str | None = None) -> str | None:
    """None if the model meets its target (and gap bound), else a message naming the likely
    mistake; ``advice`` is the lesson's own suggestion when no common mistake shows."""
    if evaluation.random_at_inference:
        where = (f" ({', '.join(evaluation.random_layers)} called with training=True)"
                 if evaluation.random_layers else "")
        return (f"{what} gives different predictions for the same images: something random is "
                f"still active at inference{where}. Dropout and random augmentation must only act "
                "while training: call those layers without `training=True`, and let Keras switch "
                "them off in predict/evaluate.")
    if evaluation.accuracy < target:
        images = (f"{evaluation.variant} test images" if evaluation.variant else "test images")
        images += " (a lightly perturbed copy: see grader.transforms)"
        message = (f"{what} reaches {evaluation.accuracy:.2%} accuracy on {evaluation.n:,} "
                   f"{images}; the target is {target:.2%}.")
        if evaluation.accuracy_on_raw_pixels >= evaluation.accuracy + 0.1:
            message += (" It does much better on raw 0-255 pixels "
                        f"({evaluation.accuracy_on_raw_pixels:.2%}): it was trained on images "
                        "that were not scaled to [0, 1]. Divide by 255 once, before training.")
        elif not evaluation.outputs_are_probabilities:
            message += (" Its outputs are not probabilities: end the model with a softmax and "
                        "check that the loss matches the labels.")
        else:
            message += " " + (advice or "Train longer, or check the learning rate and the data "
                                        "you train on.")
        return message
    if max_gap is not None and evaluation.gap is not None and evaluation.gap > max_gap:
        return (f"{what} over-fits: {evaluation.train_accuracy:.2%} accuracy on training images "
                f"but {evaluation.accuracy:.2%} on test images, a gap of {evaluation.gap:.2%} "
                f"(allowed: {max_gap:.2%}). Regularise it: more dropout, fewer epochs or a "
                "smaller model.")
    return None


def evaluate_as_registered(path: str | os.PathLike, entry: dict, dataset: str | None = None,
                           copy_seed: int | None = None) -> Evaluation:
    """Evaluate as a graded model's ``targets.json`` entry asks: on its ``test_variant``, and on
    training images too when it bounds the train-test gap (``max_gap``): the first
    ``train_images`` of them when the lesson trains on those. Grading and calibration both
    measure this way."""
    return evaluate_saved_model(path, dataset, train=entry.get("max_gap") is not None,
                                variant=entry.get("test_variant"),
                                train_images=entry.get("train_images"), copy_seed=copy_seed)


def grade_saved_model(path: str | os.PathLike, name: str, dataset: str | None = None,
                      copy_seed: int | None = None) -> tuple[Evaluation, Target, str | None]:
    """Evaluate the saved model ``name`` out of process against its registered target, on the
    test copy drawn from ``copy_seed``."""
    entry = graded_models().get(name, {})
    evaluation = evaluate_as_registered(path, entry, dataset, copy_seed)
    target = target_for(name, evaluation.target_key)
    return evaluation, target, accuracy_verdict(evaluation, target.value,
                                                f"The saved model `{name}`", entry.get("max_gap"),
                                                entry.get("advice"))


def judged(result: dict, name: str) -> dict:
    """``result`` (one evaluation of graded model ``name``) with its target and verdict: what
    ``grader.grading.evaluate --name`` prints for a notebook's own accuracy check."""
    entry = graded_models().get(name, {})
    evaluation = as_evaluation(result)
    target = target_for(name, evaluation.target_key)
    verdict = accuracy_verdict(evaluation, target.value, f"The saved model `{name}`",
                               entry.get("max_gap"), entry.get("advice"))
    return {**result, "target": target.value, "gap": evaluation.gap, "verdict": verdict}
