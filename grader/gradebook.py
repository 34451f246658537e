"""After nbgrader: re-check saved models outside the student's kernel, then tabulate scores.

A student's kernel can monkeypatch ``grader``, fake a check's result or hard-code answers, so a
test cell that grades a model's accuracy only counts if the model file it saved, evaluated here
in a fresh process, really reaches the target. Otherwise that cell's grade is overridden to 0.
"""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path

from .checks import GRADED_MODELS_DIR, grade_saved_model
from .feedback import CheckFailed
from .targets import graded_models

COURSE_ID = "keras-course"


def _open(root: Path):
    from nbgrader.api import Gradebook

    return Gradebook(f"sqlite:///{root / 'gradebook.db'}", COURSE_ID)


def recheck_models(root: Path, assignment: str, student: str, graded_since: float) -> list[str]:
    """Evaluate each graded model of this submission; zero the grade of any that fails."""
    from nbgrader.api import MissingEntry

    notes = []
    for name, entry in graded_models().items():
        if entry["assignment"] != assignment:
            continue
        path = root / "autograded" / student / assignment / GRADED_MODELS_DIR / f"{name}.keras"
        reason = None
        if not path.exists():
            reason = f"{name}: no saved model; the notebook did not train and save it"
        elif path.stat().st_mtime < graded_since:
            reason = f"{name}: the model file was not written by this grading run"
        else:
            try:
                evaluation, target, verdict = grade_saved_model(path, name)
                if verdict:
                    reason = verdict
                else:
                    notes.append(f"{name}: {evaluation.accuracy:.2%} >= {target.value:.2%} "
                                 "(re-checked by the grader)")
            except CheckFailed as error:
                reason = f"{name}: {error}"
        with _open(root) as gb:
            try:
                grade = gb.find_grade(entry["grade_id"], assignment, assignment, student)
            except MissingEntry:
                notes.append(f"{reason or name} (no grade recorded)")
                continue
            overrides = _Overrides(root)
            key = f"{assignment}/{student}/{entry['grade_id']}"
            if reason is None:
                if overrides.pop(key):  # an earlier run's override no longer applies
                    grade.manual_score, grade.needs_manual_grade = None, False
            elif grade.auto_score:
                grade.manual_score, grade.needs_manual_grade = 0.0, False
                overrides.add(key)
                notes.append(f"{reason}; the cell's {grade.auto_score:g} points are overridden to 0")
            else:
                notes.append(reason)
            gb.db.commit()
    return notes


class _Overrides:
    """The grades this module overrode (kept beside the gradebook): a later run whose model
    passes lifts only these, never a grade an instructor set by hand."""

    def __init__(self, root: Path):
        self.path = root / "gradebook-overrides.json"
        self.keys = set(json.loads(self.path.read_text())) if self.path.exists() else set()

    def add(self, key: str) -> None:
        self.keys.add(key)
        self._save()

    def pop(self, key: str) -> bool:
        if key not in self.keys:
            return False
        self.keys.discard(key)
        self._save()
        return True

    def _save(self) -> None:
        self.path.write_text(json.dumps(sorted(self.keys), indent=1))


@dataclass
class Row:
    student: str
    scores: dict = field(default_factory=dict)  # "assignment/grade_id" -> score
    notes: list = field(default_factory=list)


def score_table(root: Path, pairs: list[tuple[str, str]], notes: dict) -> tuple[list, list[Row]]:
    """Columns ``[(key, max_score)]`` and one row per student, read from the gradebook."""
    from nbgrader.api import MissingEntry

    columns: dict[str, float] = {}
    rows: dict[str, Row] = {}
    with _open(root) as gb:
        for assignment in sorted({a for a, _ in pairs}):
            for notebook in gb.find_assignment(assignment).notebooks:
                for cell in sorted(notebook.grade_cells, key=lambda c: c.name):
                    columns[f"{assignment}/{cell.name}"] = cell.max_score
        for assignment, student in pairs:
            row = rows.setdefault(student, Row(student))
            row.notes += notes.get((assignment, student), [])
            for notebook in gb.find_assignment(assignment).notebooks:
                for cell in notebook.grade_cells:
                    key = f"{assignment}/{cell.name}"
                    try:
                        grade = gb.find_grade(cell.name, notebook.name, assignment, student)
                        row.scores[key] = grade.score
                    except MissingEntry:
                        row.scores[key] = 0.0
    return list(columns.items()), [rows[s] for s in sorted(rows)]


def _header(key: str) -> str:
    """"01-tensors/ex1_describe_tensor_test" -> "01:ex1_describe_tensor"."""
    assignment, cell = key.split("/", 1)
    return f"{assignment.split('-')[0]}:{cell.removesuffix('_test')}"


def format_table(columns, rows) -> str:
    """One row per student; "-" where the student submitted nothing for that lesson."""
    headers = ["student"] + [_header(key) for key, _ in columns] + ["total"]
    lines = []
    for r in rows:
        cells = [f"{r.scores[k]:g}/{m:g}" if k in r.scores else "-" for k, m in columns]
        possible = sum(m for k, m in columns if k in r.scores)
        lines.append([r.student] + cells + [f"{sum(r.scores.values()):g}/{possible:g}"])
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *lines)]
    out = ["  ".join(h.ljust(w) for h, w in zip(headers, widths))]
    out += ["  ".join(c.ljust(w) for c, w in zip(line, widths)) for line in lines]
    for r in rows:
        out += [f"  {r.student}: {note}" for note in r.notes]
    return "\n".join(out)


def write_csv(path: Path, columns, rows) -> None:
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["student"] + [k for k, _ in columns] + ["total", "max", "notes"])
        writer.writerow(["(max)"] + [f"{m:g}" for _, m in columns]
                        + [f"{sum(m for _, m in columns):g}", "", ""])
        for r in rows:  # an empty cell: nothing submitted for that lesson
            writer.writerow([r.student] + [f"{r.scores[k]:g}" if k in r.scores else ""
                                           for k, _ in columns]
                            + [f"{sum(r.scores.values()):g}",
                               f"{sum(m for k, m in columns if k in r.scores):g}",
                               " | ".join(r.notes)])
