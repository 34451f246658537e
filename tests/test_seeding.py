"""Grading is reproducible: checks leave the notebook's random state alone, and while grading
their random inputs come from a fixed seed (grader.seeding)."""
import json
import random
import re
from pathlib import Path

import numpy as np
import pytest

import grader
from grader.lessons import models
import grader.seeding as seeding
from grader.seeding import TEST_SEED_ENV, kept_random_state

ROOT = Path(__file__).resolve().parents[1]


def test_grading_draws_the_same_inputs_every_time(monkeypatch):
    monkeypatch.setenv(TEST_SEED_ENV, "11")
    monkeypatch.setattr(seeding, "_draws", iter(range(3)))
    first = [seeding.test_rng().integers(1 << 30) for _ in range(3)]
    monkeypatch.setattr(seeding, "_draws", iter(range(3)))
    again = [seeding.test_rng().integers(1 << 30) for _ in range(3)]
    assert first == again and len(set(first)) == 3  # the same streams, and not one stream thrice


def test_outside_grading_every_check_draws_afresh(monkeypatch):
    monkeypatch.delenv(TEST_SEED_ENV, raising=False)
    assert len({int(seeding.test_rng().integers(1 << 62)) for _ in range(5)}) == 5


def test_an_explicit_seed_wins(monkeypatch):
    monkeypatch.setenv(TEST_SEED_ENV, "3")
    assert seeding.test_rng(5).integers(1 << 30) == np.random.default_rng(5).integers(1 << 30)


def _next_dense_weights(keras):
    layer = keras.layers.Dense(4)
    layer.build((None, 3))
    return layer.kernel.numpy()


def test_a_block_that_builds_models_leaves_every_random_state_as_it_found_it():
    tf, keras = grader.setup(0)
    before = (random.getstate(), np.random.get_state()[1].copy())
    with kept_random_state():
        for depth in range(2, 6):  # a varying number of layers: each draws Python's random
            keras.Sequential([keras.Input((3,))] + [keras.layers.Dense(2) for _ in range(depth)])
        keras.random.uniform((2,))  # Keras' global seed generator
        np.random.random(3), random.random()
    assert random.getstate() == before[0]
    assert np.array_equal(np.random.get_state()[1], before[1])
    kept = (_next_dense_weights(keras), keras.random.uniform((2,)).numpy())
    grader.setup(0)
    fresh = (_next_dense_weights(keras), keras.random.uniform((2,)).numpy())
    for a, b in zip(kept, fresh):
        assert np.array_equal(a, b)


def test_without_the_guard_the_same_block_moves_the_next_model(monkeypatch):
    """The guard is what makes the difference: the same block, unguarded, changes the weights."""
    tf, keras = grader.setup(0)
    keras.Sequential([keras.Input((3,))] + [keras.layers.Dense(2) for _ in range(3)])
    moved = _next_dense_weights(keras)
    grader.setup(0)
    assert not np.array_equal(moved, _next_dense_weights(keras))


def test_a_check_that_builds_models_does_not_move_the_graded_training():
    """Lesson 03's parameter-count check builds a random number of Keras models."""
    tf, keras = grader.setup(0)
    models.ex1.check(lambda sizes: sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:])))
    after_check = _next_dense_weights(keras)
    grader.setup(0)
    assert np.array_equal(after_check, _next_dense_weights(keras))


def _test_cells():
    for path in sorted((ROOT / "solutions").glob("*/*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            meta = cell["metadata"].get("nbgrader", {})
            if meta.get("grade") and cell["cell_type"] == "code":
                yield f"{path.parent.name}/{meta['grade_id']}", "".join(cell["source"])


@pytest.mark.parametrize("cell, source", list(_test_cells()), ids=lambda v: v if "/" in v else "")
def test_hidden_tests_draw_their_inputs_through_the_grading_seed(cell, source):
    unseeded = re.findall(r"np\.random\.(?:default_rng\(\s*\)|rand\w*\(|random\(|choice\()", source)
    assert not unseeded, f"{cell} draws {unseeded[0]}: use grader.seeding.test_rng(), seeded while grading"


def test_checkers_draw_their_inputs_through_the_grading_seed():
    for path in sorted((ROOT / "grader" / "lessons").glob("*.py")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#")[0]
            if "np.random.default_rng(" in code and "`" not in code:
                pytest.fail(f"{path.name}:{number} draws from np.random.default_rng: use test_rng")
