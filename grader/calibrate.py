"""``grader calibrate``: run each reference solution over several seeds, per dataset, and set
every accuracy target a stated margin below the worst run, with the evidence.

The reference is the solution notebook itself (seeded through ``GRADER_SEED``), run top to bottom
in a fresh kernel as a student's would be; its saved model is then evaluated out of process,
exactly as grading does.
"""
from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
import time
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from .checks import GRADED_MODELS_DIR, evaluate_saved_model
from .pipeline import find_root
from .targets import TARGETS_FILE

NOTEBOOK_TIMEOUT_S = 600


def available_keys() -> dict[str, str]:
    """Target key -> COURSE_DATASET value, for every dataset that can be loaded here."""
    from . import data

    keys = {}
    for name in data.DATASETS:
        try:
            splits = data.load(name, quiet=True)
        except data.DatasetError:
            continue
        keys[splits.target_key] = name
    return keys


@contextmanager
def _environment(**values):
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run_notebook(notebook: Path, workdir: Path, seed: int, dataset: str,
                 graded_cell: str) -> dict:
    """Execute a notebook in ``workdir``; returns its total time, the graded exercise's answer
    (training) and test cells' times, and its slowest cell."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(notebook, as_version=4)
    started = time.perf_counter()
    with _environment(GRADER_SEED=str(seed), COURSE_DATASET=dataset):
        NotebookClient(nb, timeout=NOTEBOOK_TIMEOUT_S, allow_errors=True, record_timing=True,
                       resources={"metadata": {"path": str(workdir)}}).execute()
    total = time.perf_counter() - started
    by_id = {c.metadata.get("nbgrader", {}).get("grade_id", f"cell {i}"): _cell_seconds(c)
             for i, c in enumerate(nb.cells) if c.cell_type == "code"}
    slowest = max(by_id, key=by_id.get)
    return {"notebook_seconds": round(total, 1),
            "training_cell_seconds": round(by_id.get(graded_cell.removesuffix("_test"), 0), 1),
            "test_cell_seconds": round(by_id.get(graded_cell, 0), 1),
            "slowest_cell": slowest, "slowest_cell_seconds": round(by_id[slowest], 1)}


def _cell_seconds(cell) -> float:
    from datetime import datetime

    timing = cell.metadata.get("execution", {})
    try:
        start = datetime.fromisoformat(timing["iopub.execute_input"].replace("Z", "+00:00"))
        end = datetime.fromisoformat(timing["shell.execute_reply"].replace("Z", "+00:00"))
    except (KeyError, ValueError):
        return 0.0
    return (end - start).total_seconds()


def calibrate(root: Path | None = None, seeds: int = 5, datasets=None, only=None,
              output: Path | None = None) -> int:
    root = root or find_root()
    targets_path = output or Path(str(TARGETS_FILE))
    targets = json.loads(TARGETS_FILE.read_text())  # fresh: entries are rewritten below
    keys = available_keys()
    if datasets:
        keys = {k: v for k, v in keys.items() if k in datasets or v in datasets}
    print(f"calibrating on {', '.join(keys)} with seeds 0..{seeds - 1}")
    for name, entry in targets.items():
        if name.startswith("_") or (only and name not in only):
            continue
        assignment = entry["assignment"]
        notebook = root / "solutions" / assignment / f"{assignment}.ipynb"
        for key, dataset in keys.items():
            runs = []
            for seed in range(seeds):
                with tempfile.TemporaryDirectory() as scratch:
                    workdir = Path(scratch)
                    for extra in notebook.parent.iterdir():  # data files next to the notebook
                        if extra.is_file():
                            shutil.copy(extra, workdir)
                    timing = run_notebook(notebook, workdir, seed, dataset, entry["grade_id"])
                    model = workdir / GRADED_MODELS_DIR / f"{name}.keras"
                    evaluation = evaluate_saved_model(model, dataset)
                runs.append({"seed": seed, "accuracy": round(evaluation.accuracy, 4), **timing})
                print(f"  {name} {key} seed {seed}: {evaluation.accuracy:.4f}  training cell "
                      f"{timing['training_cell_seconds']} s, test cell "
                      f"{timing['test_cell_seconds']} s, notebook {timing['notebook_seconds']} s "
                      f"(slowest: {timing['slowest_cell']}, {timing['slowest_cell_seconds']} s)",
                      flush=True)
            worst = min(r["accuracy"] for r in runs)
            target = math.floor((worst - entry["margin"]) * 1000) / 1000
            entry["targets"][key] = {
                "target": target, "status": "calibrated",
                "basis": f"{len(runs)} seeds on {date.today().isoformat()}: worst "
                         f"{worst:.4f} minus margin {entry['margin']}",
                "runs": runs}
            print(f"{name} {key}: target {target:.3f} (worst {worst:.4f})")
        if "mnist" not in keys and "mnist-sample" in entry["targets"]:
            sample = entry["targets"]["mnist-sample"]
            entry["targets"]["mnist"] = {
                "target": sample["target"], "status": "provisional",
                "basis": "full MNIST could not be downloaded where this was calibrated; set to "
                         "the mnist-sample target (training on 60,000 digits instead of 5,000 "
                         "only raises accuracy). Run `grader calibrate` where MNIST downloads.",
                "runs": []}
    targets_path.write_text(json.dumps(targets, indent=2) + "\n")
    print(f"wrote {targets_path}")
    return 0
