"""`grader lab` opens a student's working copy of the lessons, made from course/ on first use and
never overwritten, so updating the course never collides with a student's answers."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from grader.workspace import update_working_copy

ROOT = Path(__file__).resolve().parents[1]
LESSON = "01-tensors"


def a_course(tmp_path, lessons=(LESSON,)):
    course = tmp_path / "repo" / "course"
    for lesson in lessons:
        shutil.copytree(ROOT / "course" / lesson, course / lesson)
    return course


def test_first_use_copies_every_lesson_and_nothing_generated(tmp_path):
    course = a_course(tmp_path, ("01-tensors", "02-data-formats"))
    (course / LESSON / ".released-from").write_text("digest")
    (course / LESSON / ".ipynb_checkpoints").mkdir()
    (course / LESSON / ".ipynb_checkpoints" / "x.ipynb").write_text("{}")
    work = tmp_path / "work"
    update = update_working_copy(course, work)
    assert sorted(update.added) == ["01-tensors/01-tensors.ipynb",
                                    "02-data-formats/02-data-formats.ipynb"]
    assert update.changed == []
    assert (work / LESSON / f"{LESSON}.ipynb").read_bytes() == \
        (course / LESSON / f"{LESSON}.ipynb").read_bytes()
    assert not (work / LESSON / ".released-from").exists()
    assert not (work / LESSON / ".ipynb_checkpoints").exists()


def test_an_updated_course_never_overwrites_a_students_answers(tmp_path):
    course, work = a_course(tmp_path), tmp_path / "work"
    update_working_copy(course, work)
    mine = work / LESSON / f"{LESSON}.ipynb"
    answered = json.loads(mine.read_text())
    answered["cells"][0]["source"] = "my answers"
    mine.write_text(json.dumps(answered))

    released = course / LESSON / f"{LESSON}.ipynb"  # the course changes the lesson ...
    newer = json.loads(released.read_text())
    newer["cells"][0]["source"] = "a corrected lesson"
    released.write_text(json.dumps(newer))
    shutil.copytree(ROOT / "course" / "02-data-formats", course / "02-data-formats")  # ... adds one

    update = update_working_copy(course, work)
    assert json.loads(mine.read_text())["cells"][0]["source"] == "my answers"
    assert update.changed == [f"{LESSON}/{LESSON}.ipynb"]
    assert update.added == ["02-data-formats/02-data-formats.ipynb"]
    assert update_working_copy(course, work).added == []  # nothing to copy twice


def test_a_lesson_the_student_removed_is_copied_again(tmp_path):
    course, work = a_course(tmp_path), tmp_path / "work"
    update_working_copy(course, work)
    (work / LESSON / f"{LESSON}.ipynb").rename(work / LESSON / "my-old-try.ipynb")
    assert update_working_copy(course, work).added == [f"{LESSON}/{LESSON}.ipynb"]
    assert (work / LESSON / "my-old-try.ipynb").is_file()


def test_grader_lab_opens_the_working_copy_not_course(tmp_path):
    """`grader lab` run in the repository: the copy goes to ~/keras-course, and JupyterLab (asked
    only for its version here) is started on it."""
    repo = tmp_path / "repo"
    a_course(tmp_path)
    shutil.copy(ROOT / "nbgrader_config.py", repo)
    env = dict(os.environ, HOME=str(tmp_path / "home"))
    done = subprocess.run([sys.executable, "-m", "grader.cli", "lab", "--", "--version"],
                          cwd=repo, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    work = tmp_path / "home" / "keras-course"
    assert f"Copied 1 file(s) of {LESSON} into {work}" in done.stdout
    assert f"Opening your copy of the course ({work})" in done.stdout
    assert (work / LESSON / f"{LESSON}.ipynb").is_file()


def test_grader_lab_without_a_course_folder_says_where_to_run_it(tmp_path):
    (tmp_path / "nbgrader_config.py").write_text("")
    done = subprocess.run([sys.executable, "-m", "grader.cli", "lab", "--work",
                           str(tmp_path / "work"), "--", "--version"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "No course folder at" in done.stderr and "--root" in done.stderr
