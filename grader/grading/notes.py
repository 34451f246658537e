"""Why a cell lost its points, in one short note that names the real reason.

Read from what grading leaves behind, never from the student's kernel: the notebook nbgrader
executed (each cell's error output), nbgrader's own log when it refused or lost a notebook, and
the submitted file compared with the released lesson. Grading calls these after nbgrader ran;
the notes go to the score table, ``grades.csv`` and the student's feedback.
"""
from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

TEST_SUFFIX = "_test"  # a graded test cell's id is its answer cell's id + "_test"
# What grader.grading.nbgrader_steps.Execute writes into a cell: the line on top of an output it cut, and
# the error name of a cell whose kernel died under it (grading went on in a new kernel).
OUTPUT_CAPPED = ("[grader] This cell's output passed {mb:g} MB: below is its beginning, the rest "
                 "was not kept.")
OUTPUT_CAPPED_START = OUTPUT_CAPPED.split("{")[0]
KERNEL_DIED_ERROR = "KernelDied"
DIED_BECAUSE = ("it ran out of memory or of the CPU time grading allows, or the code ended its "
                "own process")


def grade_id(cell) -> str | None:
    return (cell.get("metadata", {}).get("nbgrader") or {}).get("grade_id")


def _first_line(text: str, limit: int = 400) -> str:
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(text)).strip()
    line = text.splitlines()[0] if text else ""
    return line if len(line) <= limit else line[:limit - 1] + "…"


def _errors(cell) -> list[dict]:
    return [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]


def stopped_by_time_limit(cell) -> bool:
    """nbgrader interrupts a cell at its timeout and records a CellTimeoutError after it."""
    return any(o.get("ename") == "CellTimeoutError" for o in _errors(cell))


def asked_for_input(cell) -> bool:
    return any(o.get("ename") == "StdinNotImplementedError" for o in _errors(cell))


def ran_out_of_memory(cell) -> bool:
    return any(o.get("ename") == "MemoryError" for o in _errors(cell))


def kernel_died(cell) -> bool:
    return any(o.get("ename") == KERNEL_DIED_ERROR for o in _errors(cell))


def output_capped(cell) -> bool:
    return any(o.get("output_type") == "stream" and _text(o.get("text", "")).startswith(
        OUTPUT_CAPPED_START) for o in cell.get("outputs", []))


def _text(text) -> str:
    return "".join(text) if isinstance(text, list) else str(text)  # a notebook file splits lines


def answer_problem(cell, settings) -> str | None:
    """What went wrong in an answer cell in a way its own test cannot say: a cell stopped at the
    time limit, one waiting for keyboard input that nobody can type while grading, or one that
    asked for more memory than grading allows."""
    name, timeout = grade_id(cell), settings.cell_timeout
    if kernel_died(cell):
        return (f"the kernel died while the answer cell `{name}` ran ({DIED_BECAUSE}), so this "
                "exercise scores 0. Grading started a new kernel, ran the cells above again and "
                "went on, so the other exercises keep their points. Run the notebook top to "
                "bottom (Kernel > Restart Kernel and Run All Cells) to find what ends it.")
    if ran_out_of_memory(cell):
        return (f"the answer cell `{name}` asked for more memory than grading allows (each "
                f"notebook may use {settings.memory_limit_gib:g} GiB), and failed with "
                "MemoryError. Work on smaller arrays or in batches.")
    if stopped_by_time_limit(cell):
        return (f"the answer cell `{name}` was stopped at the {timeout:g} s time limit, so this "
                "exercise scores 0 even if what it left behind passes. Make it finish well inside "
                "the limit (fewer epochs, a smaller model or a faster input pipeline) and "
                "remove any waiting loops.")
    if asked_for_input(cell):
        return (f"the answer cell `{name}` calls input(), which nobody can answer while "
                "grading. Put the value in the code instead of asking for it.")
    return None


def test_problem(cell, timeout: float) -> str | None:
    """The failing test cell's own message: the check's verdict, or the error it stopped on."""
    errors = _errors(cell)
    if not errors:
        return None
    if stopped_by_time_limit(cell):
        return f"the test cell was stopped at the {timeout:g} s time limit."
    if kernel_died(cell):
        return f"the kernel died while the test cell ran ({DIED_BECAUSE})."
    if asked_for_input(cell):
        return "the test cell stopped on a call to input(), which nobody can answer while grading."
    error = errors[0]
    ename, message = error.get("ename", "Error"), _first_line(error.get("evalue", ""))
    if ename == "CheckFailed" and message:
        return message
    if ename == "AssertionError":
        return "a test of this exercise failed" + (f": {message}" if message else
                                                   " (a hidden test: check your answer against "
                                                   "every requirement of the exercise).")
    return f"the test cell stopped on {ename}" + (f": {message}" if message else ".")


def cell_notes(notebook: Path, settings) -> tuple[dict[str, str], set[str], list[str]]:
    """What an executed notebook says about the cells that lost points.

    Returns ``{test_grade_id: note}`` for each graded test cell that failed or whose answer cell
    could not finish; the test cells to score 0 whatever their own outcome (their answer cell was
    stopped at the time limit or asked for input); and notes on the notebook as a whole (a setup
    cell that failed, a worked example stopped at the time limit: the cells after it fail too).
    """
    cells = json.loads(notebook.read_text())["cells"]
    by_id = {grade_id(c): c for c in cells if grade_id(c)}
    notes, forfeited = {}, set()
    for cell_id, cell in by_id.items():
        if not (cell["metadata"]["nbgrader"].get("grade") and cell_id.endswith(TEST_SUFFIX)):
            continue
        answer = by_id.get(cell_id.removesuffix(TEST_SUFFIX))
        problem = answer_problem(answer, settings) if answer is not None else None
        if problem and not ran_out_of_memory(answer):
            forfeited.add(cell_id)
        elif not problem:
            problem = test_problem(cell, settings.cell_timeout)
        if problem:
            notes[cell_id] = problem
    return notes, forfeited, notebook_problems(cells, settings)


def notebook_problems(cells: list, settings) -> list[str]:
    """Cells other than answers and tests that stopped the notebook short, and any cell whose
    output was cut at the cap."""
    found, timeout = [], settings.cell_timeout
    for index, cell in enumerate(cells):
        name, flags = grade_id(cell), (cell.get("metadata", {}).get("nbgrader") or {})
        if output_capped(cell):
            label = f"the `{name}` cell" if name else f"cell {index + 1}"
            found.append(f"{label} printed more than {settings.max_output_mb:g} MB of output; "
                         "grading kept the beginning and dropped the rest (print a summary, "
                         "not every value).")
        if flags.get("solution") or flags.get("grade") or cell.get("cell_type") != "code":
            continue  # answers and tests have notes of their own
        label = f"the `{name}` cell" if name else f"cell {index + 1} (not an exercise)"
        if stopped_by_time_limit(cell):
            found.append(f"{label} was stopped at the {timeout:g} s time limit; the cells after "
                         "it that need what it defines fail too.")
        elif kernel_died(cell):
            found.append(f"the kernel died while {label} ran ({DIED_BECAUSE}); grading started "
                         "a new kernel, ran the cells above again and went on after it.")
        elif name and _errors(cell):  # a locked cell of the lesson's own, such as setup
            error = _errors(cell)[0]
            found.append(f"{label} failed ({error.get('ename')}: "
                         f"{_first_line(error.get('evalue', ''), 200)}); the cells after it that "
                         "need what it defines fail too.")
    return found


# --- notebooks nbgrader refuses or loses ------------------------------------------------------

def _grade_ids(path: Path) -> list[str] | None:
    try:
        cells = json.loads(path.read_text())["cells"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return [grade_id(c) for c in cells if isinstance(c, dict) and grade_id(c)]


def refusal_reason(submitted: Path, lessons: Path, assignment: str) -> str | None:
    """Why nbgrader cannot grade this notebook as lesson ``assignment`` (of the folder
    ``lessons``), read from the submitted file itself: another lesson's notebook, a graded cell
    copied, a graded cell the lesson does not have. None if the graded cells match the lesson's."""
    found, expected = _grade_ids(submitted), _grade_ids(lessons / assignment
                                                       / f"{assignment}.ipynb")
    if found is None or expected is None:
        return None
    if not set(found) & (set(expected) - {"setup"}):
        other = next((p.name for p in sorted(lessons.iterdir()) if p.is_dir()
                      and p.name != assignment
                      and set(found) <= set(_grade_ids(p / f"{p.name}.ipynb") or ())), None)
        what = f"the notebook of lesson {other}" if other else "not this lesson's notebook"
        return (f"this is {what}, submitted as {assignment}: none of {assignment}'s exercises "
                f"are in it. Submit {assignment}.ipynb.")
    copied = sorted(name for name, count in Counter(found).items() if count > 1)
    if copied:
        return (f"the graded cell{'s' if len(copied) > 1 else ''} "
                f"{', '.join(f'`{c}`' for c in copied)} appear{'' if len(copied) > 1 else 's'} "
                "more than once (a copied cell). Delete the copies, keep one of each, and "
                "resubmit.")
    invented = [name for name in found if name not in expected]
    if invented:
        return (f"it has graded cells that lesson {assignment} does not have "
                f"({', '.join(f'`{c}`' for c in invented)}: cells copied from another notebook "
                "or nbgrader metadata edited). Start from the lesson's released notebook, paste "
                "your answers into its cells, and resubmit.")
    return None


KERNEL_DIED = (f"the notebook's kernel died while it ran ({DIED_BECAUSE}) more often than "
               "grading replaces it, and nbgrader keeps no grade for a notebook it could not "
               "finish, so every cell scores 0. Run it top to bottom (Kernel > Restart Kernel and "
               "Run All Cells), find the cell that ends the kernel, and resubmit.")


def failure_reason(log: str) -> str:
    """Why nbgrader gave up on a notebook, from its log: a dead kernel, a refused notebook, or
    the last error it reported (its generic "see the above traceback" lines left out)."""
    if "Kernel died" in log or "DeadKernelError" in log:
        return KERNEL_DIED
    copied = re.findall(r"Cell with id '([^']+)' exists multiple times", log)
    if copied:
        return (f"nbgrader refused the notebook: the graded cell `{copied[0]}` appears more than "
                "once. Delete the copies and resubmit.")
    invented = re.findall(r"Cell '([^']+)' does not exist in the database", log)
    if invented:
        return (f"nbgrader refused the notebook: its cell `{invented[0]}` is not part of this "
                "lesson. Start from the lesson's released notebook and resubmit.")
    errors = [line.split("ERROR]", 1)[1].strip() for line in log.splitlines()
              if "ERROR]" in line and "There was an error processing" not in line
              and "Please see the" not in line and "Traceback" not in line]
    return ("nbgrader could not grade this notebook"
            + (f": {_first_line(errors[-1])}" if errors else "."))


GRADER_NOTE = "Grader's note: "


def annotate(notebook: Path, notes: dict[str, str], general: list[str]) -> None:
    """Write the notes into the graded notebook, where the student's feedback shows them: under
    each test cell whose message is not already its own output, and the notes on the whole
    notebook in a cell at the top."""
    nb = json.loads(notebook.read_text())
    for cell in nb["cells"]:
        note = notes.get(grade_id(cell) or "")
        shown = " ".join(str(o.get("evalue", "")) for o in _errors(cell))
        if note and note not in shown:
            cell.setdefault("outputs", []).append(
                {"output_type": "stream", "name": "stdout", "text": f"{GRADER_NOTE}{note}\n"})
    if general:
        nb["cells"].insert(0, {"cell_type": "markdown", "id": "grader-notes", "metadata": {},
                               "source": "\n".join(
            ["**Grader's notes on this notebook**", ""] + [f"- {note}" for note in general])})
    notebook.write_text(json.dumps(nb, indent=1, ensure_ascii=False))
