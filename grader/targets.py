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
    # the most mistakes an honest calibrated answer made on the probe copy per mistake on the
    # published test images; None where no run recorded both
    probe_error_ratio: float | None = None


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
    return Target(per_dataset["target"], per_dataset["status"], per_dataset["basis"],
                  probe_error_ratio(per_dataset.get("runs", ())))


def probe_error_ratio(runs) -> float | None:
    """The most mistakes any calibration run made on the probe copy per mistake on the published
    test images (``grader.transforms.probe``), from the runs' own records."""
    ratios = [(1 - r["probe_accuracy"]) / max(1 - r["published_accuracy"], 1e-4)
              for r in runs if "probe_accuracy" in r and "published_accuracy" in r]
    return max(ratios, default=None)


def scored_on_copy(entry: dict, key: str) -> bool:
    """Is the target for dataset ``key`` calibrated on the grader's perturbed copy of the test
    images (every run records the published images' accuracy beside the copy's)? A target
    calibrated before the copy existed is still measured on the published images."""
    runs = entry.get("targets", {}).get(key, {}).get("runs", [])
    return bool(runs) and all("published_accuracy" in r for r in runs)
