"""The lesson registry, and per-lesson feedback: ``from grader.lessons.tensors import *`` gives
``ex1.check()``, ``ex1.hint()``...

``LESSONS`` is the one list the tests and the ``grader`` command read: a new lesson adds its
entry here and touches no existing test. Importing this module loads no lesson (and no
TensorFlow); ``checker_module`` imports one on demand.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType


@dataclass(frozen=True)
class Lesson:
    slug: str                        # the folder in solutions/ and course/ (nbgrader assignment)
    module: str                      # grader.lessons.<module>: its exercises ex1, ex2, ...
    explorer: str                    # grader.explore.<module>.<function>
    graded_models: tuple[str, ...]   # the targets.json entries its hidden tests grade

    def checkers(self) -> ModuleType:
        return importlib.import_module(f"{__name__}.{self.module}")

    def exercises(self) -> list:
        module = self.checkers()
        return [getattr(module, name) for name in module.__all__]


LESSONS: tuple[Lesson, ...] = (
    Lesson("01-tensors", "tensors", "tensors.shape_explorer", ()),
    Lesson("02-data-formats", "data_formats", "data_formats.layout_explorer",
           ("02-pipeline-mlp",)),
    Lesson("03-sequential-functional", "models", "models.training_explorer", ("03-mlp",)),
    Lesson("04-activations", "activations", "activations.activation_explorer",
           ("04-deep-mlp",)),
    Lesson("05-dropout", "dropout", "dropout.dropout_explorer", ("05-dropout-mlp",)),
    Lesson("06-augmentation", "augmentation", "augmentation.augmentation_explorer",
           ("06-augmented",)),
    Lesson("07-lenet5", "lenet", "lenet.feature_maps", ("07-lenet5",)),
)


def lesson(slug: str) -> Lesson:
    for entry in LESSONS:
        if entry.slug == slug:
            return entry
    raise KeyError(f"no lesson {slug!r}; the course has {', '.join(e.slug for e in LESSONS)}")


def checker_module(slug: str) -> ModuleType:
    return lesson(slug).checkers()
