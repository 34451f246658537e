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
    def test_accuracy(self) -> float:
        """On the test images as published: what the training images (also as published) are
        compared with for the train-test gap, like with like."""
        return self.accuracy if self.published_accuracy is None else self.published_accuracy

    @property
    def gap(self) -> float | None:
        return None if self.train_accuracy is None else self.train_accuracy - self.test_accuracy


def evaluate_saved_model(path: str | os.PathLike, dataset: str | None = None,
                         timeout: float = EVALUATION_TIMEOUT_S, train: bool = False,
                         variant: str | None = None,
                         train_images: int | None = None,
                         copy_seed: int | None = None, on_copy: bool = True) -> Evaluation:
    """Evaluate a ``.keras`` file in a fresh, isolated Python process (``train``: also score it
    on training images, for the train-test gap, the first ``train_images`` of them if given;
    ``variant``: on a transformed test copy; ``copy_seed``: the grader's seed for the perturbed
    copy, from the instructor's configuration; ``on_copy=False``: on the published images)."""
    from ..data import course_dataset

    result = evaluate_in_separate_process(
        path, "--dataset", dataset or course_dataset(), *(["--train"] if train else []),
        *(["--train-images", str(train_images)] if train and train_images else []),
        *(["--variant", variant] if variant else []),
        *(["--copy-seed", str(copy_seed)] if copy_seed is not None else []),
        *([] if on_copy else ["--published"]), timeout=timeout)
    return as_evaluation(result)


def as_evaluation(result: dict) -> Evaluation:
    """The JSON ``grader.grading.evaluate`` printed, as an ``Evaluation``."""
    result = dict(result)
    result["random_layers"] = tuple(result.get("random_layers", ()))
    return Evaluation(**{k: result[k] for k in Evaluation.__dataclass_fields__ if k in result})


# A model is taken to have memorised the test images when it makes more mistakes on the probe
# copy than MEMORISED_FACTOR times the most any honest calibrated answer made per mistake on the
# published images, plus MEMORISED_FLOOR of the images: a wide berth, measured in the README.
MEMORISED_FACTOR = 2.0
MEMORISED_FLOOR = 0.005


def memorised(evaluation: Evaluation, probe_error_ratio: float | None) -> bool:
    """Does the model know the published test images far better than images just like them?"""
    if probe_error_ratio is None or evaluation.probe_accuracy is None:
        return False
    published_errors = 1 - evaluation.published_accuracy
    return (1 - evaluation.probe_accuracy
            > MEMORISED_FACTOR * probe_error_ratio * published_errors + MEMORISED_FLOOR)


def accuracy_verdict(evaluation: Evaluation, target: float, what: str,
                     max_gap: float | None = None, advice: str | None = None,
                     probe_error_ratio: float | None = None) -> str | None:
    """None if the model meets its target (and gap bound), else a message naming the likely
    mistake; ``advice`` is the lesson's own suggestion when no common mistake shows;
    ``probe_error_ratio`` (the calibrated answers' worst) finds a model that memorised the test
    images."""
    if evaluation.random_at_inference:
        where = (f" ({', '.join(evaluation.random_layers)} called with training=True)"
                 if evaluation.random_layers else "")
        return (f"{what} gives different predictions for the same images: something random is "
                f"still active at inference{where}. Dropout and random augmentation must only act "
                "while training: call those layers without `training=True`, and let Keras switch "
                "them off in predict/evaluate.")
    if memorised(evaluation, probe_error_ratio):
        n = evaluation.n
        published = round((1 - evaluation.published_accuracy) * n)
        probed = round((1 - evaluation.probe_accuracy) * n)
        return (f"{what} makes {published:,} mistakes on the {n:,} published test images but "
                f"{probed:,} on a copy of them moved by up to a pixel and given a little noise. "
                f"The honest answers calibrated for this exercise make at most "
                f"{probe_error_ratio:.1f} times as many mistakes on that copy: a model trained on "
                "the test images themselves knows them almost perfectly and loses that on any "
                "copy. Train on the training images only and keep the test images for "
                "measuring; if you did, ask your instructor to look at this model.")
    if evaluation.accuracy < target:
        images = (f"{evaluation.variant} test images" if evaluation.variant else "test images")
        if evaluation.copy != "none":
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
                f"but {evaluation.test_accuracy:.2%} on test images, a gap of {evaluation.gap:.2%} "
                f"(allowed: {max_gap:.2%}). Regularise it: more dropout, fewer epochs or a "
                "smaller model.")
    return None


def evaluate_as_registered(path: str | os.PathLike, entry: dict, dataset: str | None = None,
                           copy_seed: int | None = None,
                           on_copy: bool | None = None) -> Evaluation:
    """Evaluate as a graded model's ``targets.json`` entry asks: on its ``test_variant``, and on
    training images too when it bounds the train-test gap (``max_gap``): the first
    ``train_images`` of them when the lesson trains on those. Grading and calibration both
    measure this way: on the perturbed test copy where the target was calibrated on it
    (``on_copy`` None), or as ``on_copy`` says (a calibration that sets the target)."""
    from ..data import course_dataset
    from ..targets import scored_on_copy

    dataset = dataset or course_dataset()
    if on_copy is None:
        on_copy = scored_on_copy(entry, dataset)
    return evaluate_saved_model(path, dataset, train=entry.get("max_gap") is not None,
                                variant=entry.get("test_variant"),
                                train_images=entry.get("train_images"), copy_seed=copy_seed,
                                on_copy=on_copy)


def grade_saved_model(path: str | os.PathLike, name: str, dataset: str | None = None,
                      copy_seed: int | None = None) -> tuple[Evaluation, Target, str | None]:
    """Evaluate the saved model ``name`` out of process against its registered target, on the
    test copy drawn from ``copy_seed``."""
    entry = graded_models().get(name, {})
    evaluation = evaluate_as_registered(path, entry, dataset, copy_seed)
    target = target_for(name, evaluation.target_key)
    return evaluation, target, accuracy_verdict(evaluation, target.value,
                                                f"The saved model `{name}`", entry.get("max_gap"),
                                                entry.get("advice"), target.probe_error_ratio)


def judged(result: dict, name: str) -> dict:
    """``result`` (one evaluation of graded model ``name``) with its target and verdict: what
    ``grader.grading.evaluate --name`` prints for a notebook's own accuracy check."""
    entry = graded_models().get(name, {})
    evaluation = as_evaluation(result)
    target = target_for(name, evaluation.target_key)
    verdict = accuracy_verdict(evaluation, target.value, f"The saved model `{name}`",
                               entry.get("max_gap"), entry.get("advice"), target.probe_error_ratio)
    return {**result, "target": target.value, "gap": evaluation.gap, "verdict": verdict}
