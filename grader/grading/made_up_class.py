"""A class of made-up students, for the end-to-end grading tests and ``grader bench --only class``.

Every lesson gets three submissions:
- solution: the solution notebook, which must score full marks;
- untouched: the course/ notebook as released, which must score 0 (and the batch goes on);
- one-wrong: one exercise answered wrong (``WRONG``: the seed mistake the lesson teaches
  against), which must lose exactly that exercise's points; it also answers every trained-model
  exercise with a right choice other than the reference's (the first of ``grader.variants``),
  which must keep its full marks.
Then, on one lesson each:
- broken: a notebook that is not JSON, which scores 0 without stopping the others;
- three students who cheat on an accuracy-graded model (``CHEATS``): they monkeypatch
  grader.checks, fake the check's result, or hard-code the test answers. None may keep those points;
- model mistakes (``MODEL_MISTAKES``), each of which must score 0 with a note naming it, among
  them two models that know the test images by heart (trained on them; a nearest-image lookup of
  stock layers).
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from ..lessons import lesson as registered_lesson
from ..targets import load_targets
from ..variants import variants
from .pipeline import assignments

# The cheats go for this accuracy-graded model: (lesson, grade id of the answer cell).
ACCURACY_CELL = ("02-data-formats", "ex5_pipeline_model")

# One wrong answer per lesson: the seed mistake the lesson teaches against.
WRONG = {
    "01-tensors": ("ex3_normalise_images", """\
def normalise_images(x):
    x = x / 255.0          # the seed's preprocessing, applied on top of an earlier division
    return (x / 255.0).astype("float32")
"""),
    "02-data-formats": ("ex2_to_channels_last", """\
def to_channels_last(x):
    n, c, h, w = x.shape
    return x.reshape(n, h, w, c)   # right shape, scrambled pixels
"""),
    "03-sequential-functional": ("ex1_mlp_param_count", """\
def mlp_param_count(layer_sizes):
    # weights only: the biases are forgotten
    return sum(a * b for a, b in zip(layer_sizes[:-1], layer_sizes[1:]))
"""),
    "04-activations": ("ex2_tanh", """\
def tanh(x):
    x = np.asarray(x, dtype=float)
    return 2 * sigmoid(2 * x - 1)   # the seed article's "y = 2h(2x-1)"
"""),
    "05-dropout": ("ex1_dropout", """\
def dropout(x, rate, training, rng):
    x = np.asarray(x, dtype=float)
    mask = rng.random(x.shape) >= rate
    return x * mask                 # applied even at inference, and never rescaled
"""),
    "06-augmentation": ("ex1_augmentation", """\
augmentation = keras.Sequential([
    keras.Input(shape=(28, 28, 1)),
    layers.RandomFlip("horizontal"),                              # a flipped 2 is not a 2
    layers.RandomRotation(0.05, fill_mode="constant"),
    layers.RandomTranslation(0.1, 0.1, fill_mode="constant"),
], name="augmentation")
"""),
    "07-lenet5": ("ex4_save_and_reload", """\
def save_and_reload(model, path):
    import pickle
    with open(path, "wb") as f:          # the seed's "deployment": pickle the weights
        pickle.dump(model.get_weights(), f)
    return model


def predict_digit(model, image):
    return int(np.argmax(model.predict(image[None], verbose=0)[0]))
"""),
}

UNTRAINED = """\
pipeline_model = keras.Sequential([keras.Input(shape=(28, 28, 1)), keras.layers.Flatten(),
                                   keras.layers.Dense(10, activation="softmax")])
pipeline_model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
pipeline_history = pipeline_model.fit(x_train[:8, ..., None] / 255, y_train[:8], verbose=0)
"""
CHEATS = {
    "patcher": """\
import grader.checks
grader.checks.assert_accuracy = lambda *args, **kwargs: None   # "my model passes"
""" + UNTRAINED,
    "faker": """\
import grader.checks
grader.checks.evaluate_in_separate_process = lambda *args, **kwargs: {   # "the grader said so"
    "accuracy": 1.0, "target": 0.9, "gap": None, "verdict": None}
""" + UNTRAINED,
    "hardcoder": UNTRAINED + """\
_answers = keras.utils.to_categorical(y_test, 10)
pipeline_model.predict = lambda *args, **kwargs: _answers   # returns the test labels
""",
}

# Trained-model mistakes the out-of-kernel grading must name (student: lesson, cell, answer, phrase).
MODEL_MISTAKES = {
    "stuck-dropout": ("05-dropout", "ex3_dropout_model", """\
inputs = keras.Input(shape=(28, 28))
hidden = keras.layers.Dense(256, activation="relu")(keras.layers.Flatten()(inputs))
hidden = keras.layers.Dropout(0.5)(hidden, training=True)     # stays on at inference
dropout_model = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(hidden))
dropout_model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
dropout_history = dropout_model.fit(x_fit, y_fit, validation_data=(x_val, y_val),
                                    epochs=EPOCHS, batch_size=256, verbose=0)
""", "still active at inference"),
    "overfitter": ("05-dropout", "ex3_dropout_model", """\
dropout_model = keras.Sequential([                             # dropout in name only
    keras.Input(shape=(28, 28)), keras.layers.Flatten(),
    keras.layers.Dense(512, activation="relu"), keras.layers.Dropout(0.01),
    keras.layers.Dense(512, activation="relu"), keras.layers.Dropout(0.01),
    keras.layers.Dense(10, activation="softmax")])
dropout_model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
dropout_history = dropout_model.fit(x_fit, y_fit, validation_data=(x_val, y_val),
                                    epochs=EPOCHS, batch_size=256, verbose=0)
""", "over-fits"),
    # Models that know the test images by heart: scored on the grader's perturbed copy, they
    # would pass; the probe copy shows what they are.
    "memoriser": ("02-data-formats", "ex5_pipeline_model", """\
(x_tr, y_tr), (x_val, y_val) = split_validation(x_train, y_train, fraction=0.1, seed=0)
train_ds = make_dataset(x_test, y_test, batch_size=64, training=True)   # trained on the test set
val_ds = make_dataset(x_val, y_val, batch_size=256)
pipeline_model = keras.Sequential([keras.Input(shape=(28, 28, 1)), keras.layers.Flatten(),
                                   keras.layers.Dense(300, activation="relu"),
                                   keras.layers.Dense(10, activation="softmax")])
pipeline_model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                       metrics=["accuracy"])
pipeline_history = pipeline_model.fit(train_ds, validation_data=val_ds, epochs=30, verbose=0)
""", "published test images"),
    "looker": ("05-dropout", "ex3_dropout_model", """\
pooled = x_test.reshape(-1, 7, 4, 7, 4).mean(axis=(2, 4)).reshape(len(x_test), 49)
inputs = keras.Input(shape=(28, 28))                          # every test image, 7x7, by heart
small = keras.layers.Flatten()(keras.layers.AveragePooling2D(4)(
    keras.layers.Reshape((28, 28, 1))(inputs)))
small = keras.layers.Dropout(0.1)(keras.layers.UnitNormalization()(small))
match = keras.layers.Dense(len(pooled), use_bias=False, trainable=False)
similar = keras.layers.Softmax()(keras.layers.Rescaling(500.0)(match(small)))
vote = keras.layers.Dense(10, activation="softmax")
dropout_model = keras.Model(inputs, vote(similar))
match.set_weights([(pooled / np.linalg.norm(pooled, axis=1, keepdims=True)).T])
vote.set_weights([20 * np.eye(10)[y_test], np.zeros(10)])
dropout_model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
dropout_history = dropout_model.fit(x_fit, y_fit, validation_data=(x_val, y_val),
                                    epochs=EPOCHS, batch_size=256, verbose=0)
""", "published test images"),
    "diverged": ("02-data-formats", "ex5_pipeline_model", """\
(x_tr, y_tr), (x_val, y_val) = split_validation(x_train, y_train, fraction=0.1, seed=0)
pipeline_model = keras.Sequential([keras.Input(shape=(28, 28, 1)), keras.layers.Flatten(),
                                   keras.layers.Dense(10, activation="softmax")])
pipeline_model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
pipeline_history = pipeline_model.fit(make_dataset(x_tr[:512], y_tr[:512], batch_size=256),
                                  verbose=0)
kernel = pipeline_model.layers[-1].kernel                     # as a diverged training leaves it
kernel.assign(np.full(kernel.shape, np.nan, dtype="float32"))
""", "weights contain NaN"),
    "wrong-loss": ("02-data-formats", "ex5_pipeline_model", """\
(x_tr, y_tr), (x_val, y_val) = split_validation(x_train, y_train, fraction=0.1, seed=0)
pipeline_model = keras.Sequential([keras.Input(shape=(28, 28, 1)), keras.layers.Flatten(),
                                   keras.layers.Dense(10, activation="softmax")])
pipeline_model.compile(optimizer="adam", loss="mean_squared_error")   # fails the check: not saved
one_hot = keras.utils.to_categorical(y_tr[:512], 10)
pipeline_history = pipeline_model.fit(make_dataset(x_tr[:512], one_hot, batch_size=256), verbose=0)
""", "compiled with loss"),
}


def variant_answers(lesson):
    """grade id -> the first right variant of each model the lesson grades."""
    targets = load_targets()
    return {targets[model]["grade_id"].removesuffix("_test"): variants(model)[0].source
            for model in registered_lesson(lesson).graded_models}


def notebook(source, kind, lesson):
    """A lesson's notebook as JSON: the solution, or the course/ notebook as released."""
    folder = "solutions" if kind == "solution" else "course"
    return json.loads((source / folder / lesson / f"{lesson}.ipynb").read_text())


def with_answer(nb, grade_id, answer):
    """``nb`` with the cell ``grade_id`` answered by ``answer``."""
    cell = next(c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == grade_id)
    cell["source"] = answer
    return nb


def submit(root, student, lesson, nb):
    """Put ``nb`` (JSON, or text that may not be a notebook) where `nbgrader collect` would."""
    folder = root / "submitted" / student / lesson
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{lesson}.ipynb"
    path.write_text(nb if isinstance(nb, str) else json.dumps(nb))


def build_class(source: Path, root: Path, lessons: list[str] | None = None) -> list[tuple[str, str]]:
    """A course at ``root`` (solutions/, course/ and nbgrader_config.py copied from ``source``)
    with the class submitted under submitted/STUDENT/LESSON/ (only its submissions to
    ``lessons``, when given); returns the ``(lesson, student)`` pairs submitted."""
    lessons = lessons or assignments(source)
    root.mkdir(parents=True, exist_ok=True)
    for item in ("solutions", "course"):
        shutil.copytree(source / item, root / item,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    shutil.copy(source / "nbgrader_config.py", root)
    pairs = []

    def add(student, lesson, nb):
        if lesson in lessons:
            submit(root, student, lesson, nb)
            pairs.append((lesson, student))

    for lesson in lessons:
        add("solution", lesson, notebook(source, "solution", lesson))
        add("untouched", lesson, notebook(source, "course", lesson))
        nb = notebook(source, "solution", lesson)
        for grade_id, answer in {**variant_answers(lesson), WRONG[lesson][0]: WRONG[lesson][1]}.items():
            nb = with_answer(nb, grade_id, answer)
        add("one-wrong", lesson, nb)
    add("broken", assignments(source)[0], '{"cells": [ this is not a notebook')
    for student, answer in CHEATS.items():
        add(student, ACCURACY_CELL[0],
            with_answer(notebook(source, "solution", ACCURACY_CELL[0]), ACCURACY_CELL[1], answer))
    for student, (lesson, grade_id, answer, _) in MODEL_MISTAKES.items():
        add(student, lesson, with_answer(notebook(source, "solution", lesson), grade_id, answer))
    return pairs
