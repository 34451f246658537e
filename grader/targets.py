"""Calibrated accuracy targets, read from the committed ``targets.json`` (evidence included)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from .feedback import CheckFailed


@dataclass(frozen=True)
class Target:
    value: float
    status: str  # "calibrated" (measured here over several seeds) or "provisional"
    basis: str


TARGETS_FILE = resources.files("grader") / "targets.json"


@lru_cache(maxsize=1)
def load_targets() -> dict:
    return json.loads(TARGETS_FILE.read_text())


def graded_models() -> dict:
    """``{name: {"assignment", "grade_id", ...}}`` for every accuracy-graded model."""
    return {name: entry for name, entry in load_targets().items() if not name.startswith("_")}


def target_for(name: str, dataset_key: str) -> Target:
    entry = graded_models().get(name)
    if entry is None:
        raise CheckFailed(f"No accuracy target is registered for `{name}`; "
                          f"known: {', '.join(graded_models())}.")
    per_dataset = entry["targets"].get(dataset_key)
    if per_dataset is None:
        raise CheckFailed(f"`{name}` has no target for the dataset {dataset_key!r}; "
                          f"it has {', '.join(entry['targets'])}.")
    return Target(per_dataset["target"], per_dataset["status"], per_dataset["basis"])

