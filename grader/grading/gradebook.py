"""After nbgrader: decide what the student's kernel cannot, explain every lost point, tabulate.

A student's kernel can monkeypatch ``grader``, NumPy or IPython, or answer with objects that lie,
so a test cell that passed there counts only if the grader's own check confirmed it on the answer
as plain data (``grader.grading.confirm``), and a model's accuracy only if the model that crossed
to that check, evaluated here in a fresh process, reaches the target; a test whose answer cell
was stopped at the time limit does not count either. Otherwise that cell's grade is overridden to
0. Every cell below its maximum gets one note naming the reason (``grader.grading.notes``).
"""
from __future__ import annotations

import csv
import json
import shutil
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from .verdicts import grade_saved_model
from ..feedback import CheckFailed
from .notes import annotate, cell_notes
from ..targets import graded_models

def _open(root: Path):
    """The course's gradebook, where nbgrader_config.py says it is."""
    from nbgrader.api import Gradebook

    from .pipeline import course_settings

    settings = course_settings(root)
    return Gradebook(settings.db_url, settings.course_id)


@dataclass
class ModelResult:
    """One graded model of one submission, as the grader measured it (full precision)."""
    student: str
    assignment: str
    model: str
    accuracy: float | None = None  # on the grader's perturbed copy of the test images
    train_accuracy: float | None = None
    target: float | None = None
    verdict: str = ""  # empty when the model meets its target
    published_accuracy: float | None = None  # on the test images as they ship
    probe_accuracy: float | None = None  # on the stronger probe copy (grader.transforms)


@dataclass
class Decision:
    """What the grader decided about one graded submission."""
    notes: dict[str, str] = field(default_factory=dict)  # grade id -> why it is below maximum
    models: list[ModelResult] = field(default_factory=list)
    judged: dict[str, bool] = field(default_factory=dict)  # grade id -> the grader confirmed it


def decide(root: Path, run, settings) -> Decision:
    """After nbgrader graded one submission: override to 0 every cell the grader does not
    confirm, and explain every cell that scores below its maximum.

    A notebook nbgrader could not grade leaves no grades behind (not even an earlier grading's);
    its reason is ``run.problems``. ``_override`` is the rule, the same one ``record`` applies
    to the course's gradebook when the grading was done on a worker.
    """
    from nbgrader.api import MissingEntry

    assignment, student = run.assignment, run.student
    if not run.ok:
        _forget_submission(root, assignment, student)
        return Decision()
    graded = root / "autograded" / student / assignment / f"{assignment}.ipynb"
    notes, forfeited, general = cell_notes(graded, settings)
    run.problems += general
    reasons = {cell: notes[cell] for cell in forfeited}
    unconfirmed = _unconfirmed(graded, assignment)
    results = []
    for name, entry in graded_models().items():
        if entry["assignment"] == assignment:
            result, reason = _recheck_model(root, run, name, entry, notes.get(entry["grade_id"]),
                                            settings.check_seed)
            results.append(result)
            if reason and entry["grade_id"] not in reasons:
                reasons[entry["grade_id"]] = reason
    judged = {}
    with _open(root) as gb:
        overrides = _Overrides(root)
        for notebook in gb.find_assignment(assignment).notebooks:
            for cell in notebook.grade_cells:
                try:
                    grade = gb.find_grade(cell.name, notebook.name, assignment, student)
                except MissingEntry:
                    notes[cell.name] = notes.get(cell.name, "no grade was recorded for this cell.")
                    continue
                # a cell that failed in the kernel keeps the kernel's own note
                reason = reasons.get(cell.name) or (
                    unconfirmed(cell.name) if grade.auto_score else None)
                judged[cell.name] = reason is None
                if _override(grade, f"{assignment}/{student}/{cell.name}", reason is None,
                             overrides):
                    reason += (f" (the test passed in the student's kernel; its "
                               f"{grade.auto_score:g} points are overridden to 0)")
                if reason:
                    notes[cell.name] = reason
                elif (grade.score or 0) >= cell.max_score:
                    notes.pop(cell.name, None)
                elif cell.name not in notes:
                    notes[cell.name] = "the test cell did not pass (no error was recorded)."
        gb.db.commit()
    annotate(graded, notes, run.problems)
    return Decision(notes, results, judged)


def _override(grade, key: str, confirmed: bool, overrides: "_Overrides") -> bool:
    """The grader's say over one grade nbgrader gave: a cell it did not confirm, whose test
    passed in the kernel, is overridden to 0 (True); a confirmed cell loses an earlier run's
    override; a grade an instructor set by hand is never touched."""
    if confirmed:
        if overrides.pop(key):  # an earlier run's override no longer applies
            grade.manual_score, grade.needs_manual_grade = None, False
        return False
    if grade.auto_score:
        grade.manual_score, grade.needs_manual_grade = 0.0, False
        overrides.add(key)
        return True
    return False


def record(root: Path, outcome) -> None:
    """Write a grading done elsewhere (``cluster.Outcome``) into the course: its graded folder,
    and in the gradebook what nbgrader scored and what the grader decided, as ``decide`` would
    have here. Only the coordinator calls this; a task no worker finished changes nothing."""
    from .confirm import forget_confirmations

    assignment, student = outcome.assignment, outcome.student
    if not outcome.graded:
        return
    folder = root / "autograded" / student
    forget_confirmations(folder / assignment, assignment)
    shutil.rmtree(folder / assignment, ignore_errors=True)
    for name, data in outcome.files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    if not outcome.run.ok:
        _forget_submission(root, assignment, student)
        return
    from sqlalchemy.exc import SAWarning

    with _open(root) as gb, warnings.catch_warnings():
        # nbgrader's add_submission links new rows before they are in its session, which
        # SQLAlchemy 2 warns about; nbgrader's own autograde does the same, unheard
        warnings.simplefilter("ignore", category=SAWarning)
        gb.update_or_create_student(student)
        submission = gb.update_or_create_submission(assignment, student,
                                                    timestamp=outcome.timestamp)
        for notebook in submission.notebooks:
            notebook.late_submission_penalty = outcome.penalties.get(notebook.name)
        overrides = _Overrides(root)
        for (notebook, cell), score in outcome.auto_scores.items():
            grade = gb.find_grade(cell, notebook, assignment, student)
            grade.auto_score = score
            # nbgrader's own rule (SaveAutoGrades): a grade set by hand needs a look again
            grade.needs_manual_grade = grade.manual_score is not None or score is None
            _override(grade, f"{assignment}/{student}/{cell}", outcome.judged.get(cell, True),
                      overrides)
        for (notebook, cell), text in outcome.auto_comments.items():
            gb.find_comment(cell, notebook, assignment, student).auto_comment = text
        gb.db.commit()


def _unconfirmed(graded: Path, assignment: str):
    """``reason(grade_id)``: why the grader's own check did not confirm that cell (None when it
    did), from what ``grader.grading.confirm`` recorded while the notebook was graded."""
    from .confirm import read_confirmations

    verdicts = read_confirmations(graded.parent, assignment)

    def reason(cell: str) -> str | None:
        if verdicts is None or "error" in verdicts:
            return ("the grader could not run its own checks on this notebook"
                    + (f" ({verdicts['error']})" if verdicts else "") + ", so no cell is confirmed.")
        verdict = verdicts.get(cell)
        if not isinstance(verdict, dict):
            return "the grader has no check of its own for this cell, so it cannot confirm it."
        if verdict.get("confirmed") is True:
            return None
        return ("the grader's own check, run outside the notebook's kernel on the answer as "
                f"plain data, did not confirm it: {verdict.get('message', '')}")
    return reason


def _recheck_model(root: Path, run, name: str, entry: dict, in_kernel: str | None,
                   copy_seed: int | None) -> tuple[ModelResult, str | None]:
    """Evaluate a submission's saved model out of process; the reason it fails, if it does.
    ``in_kernel`` is the test cell's own failure, the true reason when no model was saved;
    ``copy_seed`` draws the perturbed test copy it is scored on."""
    from .confirm import confirmed_models

    result = ModelResult(run.student, run.assignment, name)
    # the model as it crossed from the kernel to the grader's check, never a file the kernel
    # left in its folder (GRADED_MODELS_DIR is only what the in-kernel test evaluated)
    path = (confirmed_models(root / "autograded" / run.student / run.assignment, run.assignment)
            / f"{name}.keras")
    if not path.exists():
        reason = in_kernel or "no saved model; the notebook did not train and save it."
    elif path.stat().st_mtime < run.started:
        reason = "the model file was not written by this grading run."
    else:
        try:
            evaluation, target, reason = grade_saved_model(path, name,
                                                           copy_seed=copy_seed)
            result.accuracy, result.train_accuracy = evaluation.accuracy, evaluation.train_accuracy
            result.published_accuracy = evaluation.published_accuracy
            result.probe_accuracy = evaluation.probe_accuracy
            result.target = target.value
        except CheckFailed as error:
            reason = str(error)
    result.verdict = reason or ""
    return result, reason


def _forget_submission(root: Path, assignment: str, student: str) -> None:
    """A notebook nbgrader could not grade scores 0: drop an earlier grading's scores of it."""
    from nbgrader.api import MissingEntry

    with _open(root) as gb:
        try:
            gb.remove_submission(assignment, student)
        except MissingEntry:
            pass
    overrides = _Overrides(root)
    for key in [k for k in overrides.keys if k.startswith(f"{assignment}/{student}/")]:
        overrides.pop(key)


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


def submission_notes(assignment: str, problems: list[str], notes: dict[str, str]) -> list[str]:
    """The notes of one submission as the table and grades.csv show them: what concerns the
    whole notebook first, then one line per cell below its maximum, labelled like its column."""
    return [f"{assignment}: {problem}" for problem in problems] + [
        f"{_header(f'{assignment}/{cell}')}: {note}" for cell, note in sorted(notes.items())]


def write_models_csv(path: Path, results: list[ModelResult]) -> None:
    """Every graded model's accuracy as the grader measured it, at full precision (``repr``):
    the record that shows a regrading reproduces a model exactly."""
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["student", "assignment", "model", "accuracy", "train_accuracy",
                         "target", "verdict", "published_accuracy", "probe_accuracy"])
        for r in sorted(results, key=lambda r: (r.student, r.assignment, r.model)):
            writer.writerow([r.student, r.assignment, r.model,
                             *("" if v is None else repr(v)
                               for v in (r.accuracy, r.train_accuracy, r.target)), r.verdict,
                             *("" if v is None else repr(v)
                               for v in (r.published_accuracy, r.probe_accuracy))])


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
