"""A student's working copy of the lessons: made from course/ on first use, never overwritten.

``grader lab`` opens this copy, not the repository's generated course/, so pulling an updated
course never collides with a student's answers: a lesson added to the course is copied in, a
lesson the course changed is left as the student has it and named, with how to take the new one.
"""
from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

MANIFEST = ".course-files.json"  # each copied file's digest as it was copied
SKIPPED = (".ipynb_checkpoints", "__pycache__", ".released-from")


def default_work() -> Path:
    return Path.home() / "keras-course"


@dataclass
class Update:
    added: list[str] = field(default_factory=list)  # copied now (all of them on first use)
    changed: list[str] = field(default_factory=list)  # changed in the course; the copy is kept


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def update_working_copy(course: Path, work: Path) -> Update:
    """Copy into ``work`` every file of ``course`` it does not have yet; never overwrite one."""
    if not course.is_dir():
        raise FileNotFoundError(f"No course folder at {course}: run `grader lab` in the course "
                                "repository (the folder with course/), or pass --root.")
    work.mkdir(parents=True, exist_ok=True)
    manifest_path = work / MANIFEST
    manifest = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {}
    update = Update()
    for source in sorted(course.rglob("*")):
        relative = source.relative_to(course)
        if not source.is_file() or any(part in SKIPPED for part in relative.parts):
            continue
        name, target = str(relative), work / relative
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
            manifest[name] = _digest(source)
            update.added.append(name)
        elif manifest.get(name) not in (None, _digest(source)):
            update.changed.append(name)
    manifest_path.write_text(json.dumps(manifest, indent=1, sort_keys=True))
    return update


def describe(update: Update, work: Path) -> str:
    lines = []
    if update.added:
        lessons = sorted({Path(name).parts[0] for name in update.added})
        lines.append(f"Copied {len(update.added)} file(s) of {', '.join(lessons)} into {work}.")
    for name in update.changed:
        lines.append(f"The course has a newer {name}; your copy is kept as it is. To take the new "
                     f"one, rename yours (your answers stay in it) and run `grader lab` again.")
    return "\n".join(lines)
