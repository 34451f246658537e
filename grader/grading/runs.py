"""Run a solution notebook as a student's would run: in a fresh kernel, in a scratch folder,
seeded (``GRADER_SEED``) and on a chosen dataset (``COURSE_DATASET``), timing every cell.

``grader calibrate`` and ``grader bench`` both stand on this.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from ..seeding import TEST_SEED_ENV

NOTEBOOK_TIMEOUT_S = 600  # per cell, generous: a run measures time, the budget is judged after


@dataclass
class CellTime:
    label: str  # the nbgrader grade_id, or "cell N" for an ungraded cell
    seconds: float
    graded: bool  # carries a grade_id: an answer, a test or the setup cell


@dataclass
class NotebookRun:
    seconds: float
    cells: list[CellTime]
    errors: list[str] = field(default_factory=list)  # "label: ErrorName: message"

    def cell(self, label: str) -> float:
        return next((c.seconds for c in self.cells if c.label == label), 0.0)

    @property
    def slowest(self) -> CellTime:
        return max(self.cells, key=lambda c: c.seconds)


@contextmanager
def environment(**values: str):
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


def solution_notebook(root: Path, assignment: str) -> Path:
    return root / "solutions" / assignment / f"{assignment}.ipynb"


@contextmanager
def scratch_copy(notebook: Path):
    """A temporary folder holding the notebook's neighbours (data files it may read)."""
    with tempfile.TemporaryDirectory(prefix="grader-run-") as scratch:
        for extra in notebook.parent.iterdir():
            if extra.is_file() and extra != notebook:
                shutil.copy(extra, scratch)
        yield Path(scratch)


def run_notebook(notebook: Path, workdir: Path, seed: int, dataset: str,
                 answers: dict[str, str] | None = None) -> NotebookRun:
    """Execute ``notebook`` with ``workdir`` as its working directory; errors are collected, not
    raised, so one failing cell still yields every other cell's time. ``answers`` replaces the
    source of the cells with those grade ids, as a student's answer would."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(notebook, as_version=4)
    answers = dict(answers or {})
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers.pop(grade_id)
    if answers:
        raise ValueError(f"{notebook.name} has no cell {', '.join(answers)} to put an answer in")
    started = time.perf_counter()
    # The checks' and hidden tests' inputs drawn as grading draws them (grader.seeding).
    test_seed = os.environ.get(TEST_SEED_ENV, "0")
    with environment(GRADER_SEED=str(seed), COURSE_DATASET=dataset, **{TEST_SEED_ENV: test_seed}):
        NotebookClient(nb, timeout=NOTEBOOK_TIMEOUT_S, allow_errors=True, record_timing=True,
                       resources={"metadata": {"path": str(workdir)}}).execute()
    total = time.perf_counter() - started
    cells, errors = [], []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        label = grade_id or f"cell {index}"
        cells.append(CellTime(label, _cell_seconds(cell), grade_id is not None))
        errors += [f"{label}: {out.get('ename')}: {str(out.get('evalue'))[:200]}"
                   for out in cell.get("outputs", []) if out.get("output_type") == "error"]
    return NotebookRun(round(total, 1), cells, errors)


def _cell_seconds(cell) -> float:
    timing = cell.metadata.get("execution", {})
    try:
        start = datetime.fromisoformat(timing["iopub.execute_input"].replace("Z", "+00:00"))
        end = datetime.fromisoformat(timing["shell.execute_reply"].replace("Z", "+00:00"))
    except (KeyError, ValueError):
        return 0.0
    return (end - start).total_seconds()
