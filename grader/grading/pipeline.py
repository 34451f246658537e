"""Run nbgrader: regenerate course/ from solutions/, and autograde one submission
(``grader.grading.cluster`` runs many at once, each through ``autograde_one``).

Each nbgrader step runs in its own process, so a submission that crashes, hangs or is not a
notebook at all is recorded as such and the batch goes on.
"""
from __future__ import annotations

import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..seeding import TEST_SEED_ENV

SUBMISSION_TIMEOUT_S = 20 * 60
# nbgrader's own files beside each collected notebook: when it was submitted, and the secret
# that files the student's feedback where only they can fetch it
NBGRADER_FILES = ("timestamp.txt", "submission_secret.txt")


class PipelineError(RuntimeError):
    pass


def find_root(start: Path | None = None) -> Path:
    """The course root: the nearest folder (upwards) that holds nbgrader_config.py."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "nbgrader_config.py").is_file():
            return folder
    raise PipelineError(f"No nbgrader_config.py in {here} or above: run this inside the course "
                        "folder (the one with solutions/ and course/), or pass --root.")


@dataclass(frozen=True)
class CourseSettings:
    """What the grader needs of the course's nbgrader_config.py, read from it, never repeated."""
    course_id: str
    db_url: str  # a relative SQLite path is made absolute against the course root
    cell_timeout: float
    sandbox: str = "bwrap"  # how each graded kernel is sealed off (grader.grading.sandbox)
    memory_limit_gib: float = 8.0
    max_output_mb: float = 2.0
    ignore: tuple[str, ...] = ()  # files nbgrader never copies (CourseDirectory.ignore)
    check_seed: int | None = None  # the grader's secret seed (c.Execute.check_seed)


def course_settings(root: Path) -> CourseSettings:
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    directory = config.CourseDirectory
    db_url = directory.get("db_url", "sqlite:///gradebook.db")
    if db_url.startswith("sqlite:///") and not db_url.startswith("sqlite:////"):
        db_url = f"sqlite:///{root.resolve() / db_url.removeprefix('sqlite:///')}"
    sealed = config.SealedKernelManager
    # nbgrader's own defaults where the file sets nothing (no course id, 30 s a cell), and the
    # sealed kernel's (grader.grading.sandbox)
    return CourseSettings(directory.get("course_id", "default_course"), db_url,
                          float(config.Execute.get("timeout", 30)),
                          sealed.get("sandbox", "bwrap"),
                          float(sealed.get("memory_limit_gib", 8.0)),
                          float(config.Execute.get("max_output_mb", 2.0)),
                          tuple(directory.get("ignore", ())),
                          config.Execute.get("check_seed"))


def nbgrader(root: Path, *args: str, timeout: float | None = None,
             env: dict | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, **(env or {}))
    # nbgrader runs `alembic` (its database migrations) from the same environment's bin folder.
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    return subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=root, env=env,
                          capture_output=True, text=True, timeout=timeout)


def assignments(root: Path) -> list[str]:
    return sorted(p.name for p in (root / "solutions").iterdir()
                  if p.is_dir() and any(p.glob("*.ipynb")))


def notebooks_with_outputs(root: Path) -> list[str]:
    """Source notebooks must be committed without outputs or execution counts."""
    found = []
    for path in sorted((root / "solutions").glob("*/*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        if any(c["cell_type"] == "code" and (c.get("outputs") or c.get("execution_count"))
               for c in cells):
            found.append(str(path.relative_to(root)))
    return found


RELEASED_FROM = ".released-from"  # in release_dir/NAME: the digest of what it was made from


def release(root: Path, names: list[str] | None = None, release_dir: str = "course",
            unless_current: bool = False, db_url: str | None = None) -> list[str]:
    """Regenerate ``release_dir``/NAME from solutions/NAME with nbgrader; returns the names.
    ``unless_current``: skip a lesson already generated from the same solution and settings
    whose cells the gradebook holds (regrading a class need not regenerate every lesson).
    ``db_url``: the gradebook that learns the cells, if not the course's."""
    dirty = notebooks_with_outputs(root)
    if dirty:
        raise PipelineError("These source notebooks keep outputs: " + ", ".join(dirty) +
                            ". Clear them first: jupyter nbconvert --clear-output --inplace FILE")
    names = names or assignments(root)
    settings = course_settings(root) if unless_current else None
    for name in names:
        stamp = root / release_dir / name / RELEASED_FROM
        digest = _source_digest(root, name)
        if unless_current and stamp.is_file() and stamp.read_text() == digest and \
                _in_gradebook(settings, name):
            continue
        done = nbgrader(root, "generate_assignment", name, "--force",
                        f"--CourseDirectory.release_directory={release_dir}",
                        *([f"--CourseDirectory.db_url={db_url}"] if db_url else []))
        if done.returncode != 0:
            raise PipelineError(f"nbgrader generate_assignment {name} failed:\n"
                                + _tail(done.stderr or done.stdout))
        if unless_current:
            stamp.write_text(digest)
    return names


def _source_digest(root: Path, name: str) -> str:
    import hashlib

    digest = hashlib.sha256((root / "nbgrader_config.py").read_bytes())
    for path in sorted((root / "solutions" / name).rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _in_gradebook(settings: CourseSettings, name: str) -> bool:
    from nbgrader.api import Gradebook, MissingEntry

    try:
        with Gradebook(settings.db_url, settings.course_id) as gb:
            gb.find_assignment(name)
    except MissingEntry:
        return False
    return True


def stale_course_files(root: Path) -> list[str]:
    """Files in course/ that differ from a fresh generation (empty when course/ is current)."""
    with tempfile.TemporaryDirectory() as scratch:
        scratch_root = Path(scratch)
        shutil.copytree(root / "solutions", scratch_root / "solutions")
        shutil.copy(root / "nbgrader_config.py", scratch_root)
        release(scratch_root)
        fresh, committed = scratch_root / "course", root / "course"
        fresh_files = {p.relative_to(fresh) for p in fresh.rglob("*") if p.is_file()}
        committed_files = {p.relative_to(committed) for p in committed.rglob("*") if p.is_file()}
        return sorted(str(p) for p in fresh_files ^ committed_files) + sorted(
            str(p) for p in fresh_files & committed_files
            if (fresh / p).read_bytes() != (committed / p).read_bytes())


@dataclass
class SubmissionRun:
    student: str
    assignment: str
    ok: bool
    seconds: float
    problems: list[str] = field(default_factory=list)
    started: float = 0.0


def unreadable_notebooks(folder: Path) -> list[str]:
    import nbformat

    problems = []
    for path in sorted(folder.glob("*.ipynb")):
        try:
            nbformat.read(path, as_version=4)
        except Exception as error:
            problems.append(f"{path.name} is not a readable notebook ({type(error).__name__}); "
                            "it scores 0. Resubmit the .ipynb file saved by JupyterLab.")
    return problems


def autograde_one(root: Path, assignment: str, student: str,
                  timeout: float = SUBMISSION_TIMEOUT_S, test_seed: int = 0,
                  lessons: str = "solutions",
                  settings: CourseSettings | None = None) -> SubmissionRun:
    """Grade one submission; the checks and hidden tests draw their inputs from ``test_seed``
    (grader.seeding), so grading the same submission again gives the same grade. When nbgrader
    cannot grade it, ``problems`` says why, its graded cells compared with the ``lessons``'."""
    from .confirm import forget_confirmations
    from .nbgrader_steps import EDITED_LOCKED_CELL
    from .sandbox import LEFT_RUNNING
    from .notes import failure_reason, refusal_reason

    started = time.time()
    run = SubmissionRun(student, assignment, ok=False, seconds=0.0, started=started)
    folder = root / "submitted" / student / assignment
    if not (folder / f"{assignment}.ipynb").exists():
        found = ", ".join(p.name for p in sorted(folder.iterdir())) or "nothing"
        run.problems.append(f"no {assignment}.ipynb was submitted (found: {found}), so every "
                            "cell scores 0. Submit the lesson's notebook under its own name.")
        run.seconds = time.time() - started
        return run
    unreadable = unreadable_notebooks(folder)
    run.problems += unreadable
    # what nbgrader never copies anyway, and its own files
    ignored = (settings or course_settings(root)).ignore + NBGRADER_FILES
    beside = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()
                    and p.suffix != ".ipynb" and not any(fnmatch.fnmatch(part, pattern)
                                                         for part in p.relative_to(folder).parts
                                                         for pattern in ignored))
    if beside:
        shown = ", ".join(beside[:5]) + (f" and {len(beside) - 5} more" if len(beside) > 5 else "")
        run.problems.append(f"the files submitted beside the notebook ({shown}) were not given "
                            "to it while it was graded: a notebook is graded alone, so it must "
                            "make everything it needs itself.")
    graded = root / "autograded" / student / assignment
    forget_confirmations(graded, assignment)
    try:
        # "--CourseDirectory.ignore=*": nbgrader copies no file but the notebook into the graded
        # folder, so nothing made elsewhere (a model trained on the test set) rides along.
        done = nbgrader(root, "autograde", assignment, "--student", student, "--force",
                        "--CourseDirectory.ignore=*",
                        timeout=timeout, env={TEST_SEED_ENV: str(test_seed)})
        run.ok = done.returncode == 0
        if run.ok:
            # what "--CourseDirectory.ignore=*" kept nbgrader from copying, after the kernel
            # is gone: its feedback steps (generate_feedback, release_feedback) need them
            for name in NBGRADER_FILES:
                if (folder / name).is_file():
                    shutil.copy(folder / name, graded / name)
            run.problems += [f"the locked cell `{name}` was edited; it was graded as released "
                             "(changes to locked cells never count)." for name in
                             re.findall(EDITED_LOCKED_CELL.format("(\\S+)"), done.stderr)]
            left = LEFT_RUNNING.format(r"(\d+)", "(.*)")
            run.problems += [f"the notebook left {count} process{'es' * (count != '1')} running "
                             f"when it finished ({names}); grading ended them. End what your "
                             "code starts (use `with`, or .terminate() and .wait())."
                             for count, names in re.findall(left, done.stderr)]
        elif not unreadable:
            reason = next(filter(None, (refusal_reason(path, root / lessons, assignment)
                                        for path in sorted(folder.glob("*.ipynb")))), None)
            run.problems.append(f"nbgrader refused the notebook, so every cell scores 0: {reason}"
                                if reason else failure_reason(done.stderr + done.stdout))
    except subprocess.TimeoutExpired:
        run.problems.append(f"grading the notebook took longer than {timeout:.0f} s and was "
                            "stopped, so every cell scores 0. Make it run top to bottom well "
                            "inside that time.")
    run.seconds = time.time() - started
    return run


def feedback(root: Path, assignment: str, students: list[str] | None = None) -> None:
    """nbgrader's feedback (feedback/STUDENT/ASSIGNMENT/*.html) for every graded submission of
    ``assignment``, or for ``students``' only: scores, the check's messages and the grader's
    notes, no hidden tests."""
    for student in students or [None]:
        done = nbgrader(root, "generate_feedback", assignment, "--force",
                        *(["--student", student] if student else []))
        if done.returncode != 0:
            raise PipelineError(f"nbgrader generate_feedback {assignment} failed:\n"
                                + _tail(done.stderr or done.stdout))


def refused_feedback(root: Path, assignment: str, student: str, problems: list[str]) -> None:
    """The feedback of a notebook nbgrader could not grade: why, and what to do."""
    import html

    folder = root / "feedback" / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    items = "".join(f"<li>{html.escape(problem)}</li>" for problem in problems)
    (folder / f"{assignment}.html").write_text(
        f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{assignment}</title></head>"
        f"<body><h1>{assignment}: not graded</h1><p>Every cell scores 0:</p><ul>{items}</ul>"
        "</body></html>\n")


def submitted(root: Path, names: list[str] | None = None) -> list[tuple[str, str]]:
    """``(assignment, student)`` pairs found under submitted/STUDENT/ASSIGNMENT/."""
    base = root / "submitted"
    pairs = [(a.name, s.name) for s in sorted(base.iterdir()) if s.is_dir()
             for a in sorted(s.iterdir()) if a.is_dir()] if base.is_dir() else []
    return sorted(p for p in pairs if not names or p[0] in names)


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])
