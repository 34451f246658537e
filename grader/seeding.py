"""Randomness that cannot change a grade: checks leave the notebook's random state as they found
it, and while grading, the random inputs of checks and hidden tests come from a fixed seed.

Keras 3 draws the seed of every unseeded initializer, Dropout and random layer from Python's
``random`` when the layer is built. A check that builds a varying number of models (random depths)
would move that stream, and the graded model trained after it would start from other weights:
the same submission could pass one grading and fail the next.
"""
from __future__ import annotations

import functools
import itertools
import os
import random
from contextlib import contextmanager

import numpy as np

TEST_SEED_ENV = "GRADER_TEST_SEED"  # set by `grader autograde`; unset, every check draws afresh
_draws = itertools.count()


def test_rng(seed=None) -> np.random.Generator:
    """The generator a check or hidden test draws its inputs from.

    ``seed`` given: that seed. Otherwise, while grading (``GRADER_TEST_SEED`` set), the n-th call
    of the kernel gets the n-th stream of that seed, so a notebook graded twice sees the same
    inputs; outside grading, fresh entropy, so an answer cannot be fitted to fixed inputs."""
    if seed is not None:
        return np.random.default_rng(seed)
    grading_seed = os.environ.get(TEST_SEED_ENV)
    if grading_seed is None:
        return np.random.default_rng()
    return np.random.default_rng([int(grading_seed), next(_draws)])


@contextmanager
def grading_stream(seed: int):
    """Within the block, ``test_rng()`` draws the streams of ``seed`` from the first: what the
    grader's own process does for each exercise it confirms, so that grading twice draws the same
    inputs."""
    global _draws
    saved, saved_draws = os.environ.get(TEST_SEED_ENV), _draws
    os.environ[TEST_SEED_ENV], _draws = str(seed), itertools.count()
    try:
        yield
    finally:
        _draws = saved_draws
        if saved is None:
            os.environ.pop(TEST_SEED_ENV, None)
        else:
            os.environ[TEST_SEED_ENV] = saved


@contextmanager
def kept_random_state():
    """Run the block, then put Python's, NumPy's and Keras' random state back (what every
    unseeded Keras layer, initializer and ``keras.random`` call draws from). Unseeded stateful
    ``tf.random`` ops keep their own state and are not restored: checks do not use them."""
    from .keras_internals import keras_seed_state, restore_keras_seed_state

    saved = random.getstate(), np.random.get_state(), keras_seed_state()
    try:
        yield
    finally:
        random.setstate(saved[0])
        np.random.set_state(saved[1])
        restore_keras_seed_state(saved[2])


def keeps_random_state(function):
    """Decorate a checker or its helper: whatever it builds or draws, the notebook's random state
    is kept. (A lesson's checkers use ``feedback.checker``, which adds this.)"""
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with kept_random_state():
            return function(*args, **kwargs)
    return wrapper
