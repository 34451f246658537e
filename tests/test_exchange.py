"""The class workflow through nbgrader's own exchange, end to end, on a local exchange folder: the
instructor releases lesson 01, three students fetch it, work and submit from the command line,
the instructor collects, grades with `grader autograde` and releases the feedback, and each
student fetches theirs. One student's test passes in the kernel only because they patched
NumPy: their feedback carries the grader's note and no hidden test text."""
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # runs notebooks end to end: `-m "not slow"` skips it

ROOT = Path(__file__).resolve().parents[1]
LESSON = "01-tensors"
COURSE_ID = "keras-course"
FLATTEN = "ex2_flatten_images"
SOLUTION = json.loads((ROOT / "solutions" / LESSON / f"{LESSON}.ipynb").read_text())
# passes the kernel's own test cell (NumPy's comparisons patched) with a wrong answer
PATCHED = ("np.array_equal = lambda *args, **kwargs: True\n"
           "np.allclose = lambda *args, **kwargs: True\n"
           "def flatten_images(x):\n    return x.reshape(len(x), 784)[:, ::-1].copy()\n")


def answers(nb, patched=None):
    """The student's work: every answer cell as the solution has it, ``patched`` for one."""
    solved = {c["metadata"]["nbgrader"]["grade_id"]: c["source"] for c in SOLUTION["cells"]
              if c["metadata"].get("nbgrader", {}).get("solution")}
    for cell in nb["cells"]:
        grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id")
        if grade_id in solved:
            cell["source"] = patched if grade_id == FLATTEN and patched else solved[grade_id]
    return nb


def hidden_test_lines():
    released = (ROOT / "course" / LESSON / f"{LESSON}.ipynb").read_text()
    return [line.strip() for cell in SOLUTION["cells"]
            for region in "".join(cell["source"]).split("### BEGIN HIDDEN TESTS")[1:]
            for line in region.split("### END HIDDEN TESTS")[0].splitlines()
            if len(line.strip()) > 20 and json.dumps(line.strip())[1:-1] not in released]


STUDENTS = {"ada": None, "bob": PATCHED, "cleo": "untouched"}
# nbgrader knows a student by their login (pwd, not $USER). On a JupyterHub each student has their
# own; here the three share the test's, so each student's nbgrader is started with their name.
AS_STUDENT = ("import os, sys, nbgrader.utils\n"
              "nbgrader.utils.get_osusername = lambda: os.environ['COURSE_TEST_LOGIN']\n"
              "from nbgrader.apps.nbgraderapp import main\n"
              "sys.argv[0] = 'nbgrader'\n"
              "main()\n")


@pytest.fixture(scope="module")
def semester(tmp_path_factory):
    base = tmp_path_factory.mktemp("semester")
    exchange, instructor = base / "exchange", base / "instructor"
    (instructor / "solutions").mkdir(parents=True)
    shutil.copytree(ROOT / "solutions" / LESSON, instructor / "solutions" / LESSON)
    (instructor / "nbgrader_config.py").write_text(
        (ROOT / "nbgrader_config.py").read_text() + f"\nc.Exchange.root = {str(exchange)!r}\n")
    bin_path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"

    def run(folder, *command, student=None):
        env = dict(os.environ, PATH=bin_path, GRADER_NO_DOWNLOAD="1")
        if student:
            env.update(HOME=str(folder), COURSE_TEST_LOGIN=student)
        done = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True,
                              timeout=1200)
        assert done.returncode == 0, f"{' '.join(command)}\n{done.stdout[-2000:]}" \
                                     f"\n{done.stderr[-2000:]}"
        return done

    def nbgrader(folder, *args, student=None):
        if student:
            return run(folder, sys.executable, "-c", AS_STUDENT, *args, f"--course={COURSE_ID}",
                       f"--Exchange.root={exchange}", student=student)
        return run(folder, sys.executable, "-m", "nbgrader", *args)

    exchange.mkdir()
    run(instructor, sys.executable, "-m", "grader.cli", "release", LESSON)
    nbgrader(instructor, "release_assignment", LESSON)
    for student, patched in STUDENTS.items():
        folder = base / "students" / student
        folder.mkdir(parents=True)
        nbgrader(folder, "fetch_assignment", LESSON, student=student)
        path = folder / LESSON / f"{LESSON}.ipynb"
        if patched != "untouched":
            path.write_text(json.dumps(answers(json.loads(path.read_text()), patched)))
        nbgrader(folder, "submit", LESSON, student=student)
    nbgrader(instructor, "collect", LESSON)
    graded = run(instructor, sys.executable, "-m", "grader.cli", "autograde", LESSON,
                 "--workers", "2")
    nbgrader(instructor, "release_feedback", LESSON)
    pages = {}
    for student in STUDENTS:
        folder = base / "students" / student
        nbgrader(folder, "fetch_feedback", LESSON, student=student)
        [page] = (folder / LESSON / "feedback").glob(f"*/{LESSON}.html")
        pages[student] = page.read_text()
    return instructor, graded.stdout, pages


def total(stdout, student):
    return re.search(rf"^{student}\s.*\s(\d+)/(\d+)\s*$", stdout, re.M).groups()


def test_every_submission_travels_through_the_exchange_and_is_graded(semester):
    instructor, stdout, _ = semester
    assert sorted(p.name for p in (instructor / "submitted").iterdir()) == sorted(STUDENTS)
    assert total(stdout, "ada") == ("7", "7")
    assert total(stdout, "bob") == ("6", "7")
    assert total(stdout, "cleo") == ("0", "7")
    # nbgrader's own timestamp.txt, collected beside each notebook, is not a file "submitted
    # beside the notebook"
    assert "were not given to it" not in stdout


def test_each_student_fetches_feedback_with_the_graders_notes_and_no_hidden_test(semester):
    _, _, pages = semester
    hidden = hidden_test_lines()
    assert len(hidden) >= 5
    for student, page in pages.items():
        assert "HIDDEN TESTS" not in page, student
        assert not [line for line in hidden if line in page], student
    assert "did not confirm it" in pages["bob"] and "overridden to 0" in pages["bob"]
    assert "did not confirm it" not in pages["ada"]
    assert "still raises NotImplementedError" in pages["cleo"]
