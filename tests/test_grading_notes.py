"""Every cell below its maximum carries one note naming the real reason: `grader autograde`, with
the real nbgrader, on a class of lesson 01 submissions that go wrong in every way a notebook can.

Lesson 01 is the cheapest lesson to run; its cell time limit is lowered here (to LIMIT seconds)
so that a cell that never ends costs a minute, not two. The reasons that need a trained model
(NaN weights, a structure check that fails before the model is saved) are in test_autograde.py.
"""
import copy
import csv
import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # runs notebooks through the real nbgrader

ROOT = Path(__file__).resolve().parents[1]
LESSON = "01-tensors"
LIMIT = 45  # seconds per cell: lesson 01's setup cell takes up to 10 s on a loaded 2-core machine

SOLUTION = json.loads((ROOT / "solutions" / LESSON / f"{LESSON}.ipynb").read_text())
FLATTEN = "ex2_flatten_images"
RIGHT_FLATTEN = "def flatten_images(x):\n    return x.reshape(len(x), 784)\n"


def cell_index(nb, grade_id):
    return next(i for i, c in enumerate(nb["cells"])
                if c["metadata"].get("nbgrader", {}).get("grade_id") == grade_id)


def answered(grade_id, source, nb=SOLUTION):
    nb = copy.deepcopy(nb)
    nb["cells"][cell_index(nb, grade_id)]["source"] = source
    return nb


# Code a dishonest or careless student runs in an answer cell. The kernel is sealed off
# (grader/grading/sandbox.py): the course folder is not there, the network is its own, memory is limited.
COURSE_ROOT = "import pathlib\nroot = pathlib.Path.cwd().parents[2]  # autograded/STUDENT/LESSON\n"
SNOOP = COURSE_ROOT + (
    "import json\n"
    "lesson = json.loads((root / 'solutions' / '01-tensors' / '01-tensors.ipynb').read_text())\n"
    "exec(next(''.join(c['source']) for c in lesson['cells']\n"
    "          if c['metadata'].get('nbgrader', {}).get('grade_id') == 'ex2_flatten_images'))\n")
# Grades every cell of every student 0 and deletes the others' graded notebooks, if it can.
VANDAL = COURSE_ROOT + (
    "import shutil, sqlite3\n"
    "try:\n"
    "    db = sqlite3.connect(root / 'gradebook.db')\n"
    "    db.execute('UPDATE grade SET auto_score = 0')\n"
    "    db.commit()\n"
    "except sqlite3.Error:\n"
    "    pass\n"
    "for other in (root / 'autograded').glob('*'):\n"
    "    if other.name != 'vandal':\n"
    "        shutil.rmtree(other)\n") + RIGHT_FLATTEN
LEAK_PORT_ENV = "GRADER_TEST_LEAK_PORT"
CALL_HOME = ("import os, socket\n"
             "try:\n"
             f"    port = int(os.environ['{LEAK_PORT_ENV}'])\n"
             "    socket.create_connection(('127.0.0.1', port), timeout=5).sendall(b'answers?')\n"
             "except OSError:\n"
             "    pass\n") + RIGHT_FLATTEN
LINGER = "time.sleep(4321)"
FORK = ("import subprocess, sys\n"
        f"subprocess.Popen([sys.executable, '-c', 'import time; {LINGER}'], "
        "start_new_session=True)\n") + RIGHT_FLATTEN
HOG = "import numpy as np\nspare = np.ones(12 * 2**30, dtype=np.uint8)  # 12 GiB\n" + RIGHT_FLATTEN
FLOOD = "for _ in range(40):\n    print('x' * 10**6)  # 40 MB\n" + RIGHT_FLATTEN


CLICK = ("import time\nimport ipywidgets as widgets\nfrom IPython.display import display\n"
         "clicked = []\nbutton = widgets.Button(description='Grade me')\n"
         "button.on_click(clicked.append)\ndisplay(button)\n"
         "while not clicked:\n    time.sleep(0.1)\n")
TRAIN_FOR_EVER = ("import keras\nmodel = keras.Sequential([keras.Input((784,)), "
                  "keras.layers.Dense(10)])\nmodel.compile('adam', 'mse')\n"
                  "model.fit(np.zeros((256, 784)), np.zeros((256, 10)), epochs=10**9, verbose=0)\n")

# Cheats: a wrong answer, and code that makes the kernel's own test cell pass anyway. The grader
# confirms every cell in its own process on the answer as plain data (grader/grading/confirm.py).
WRONG_FLATTEN = "def flatten_images(x):\n    return x.reshape(len(x), 784)[:, ::-1].copy()\n"
NOT_CONFIRMED = "did not confirm it"
CHEATS = {
    # IPython's input transformers: every later cell (the locked tests) runs inside try/except
    "transformer": ("ex2_flatten_images", (
        "def _forgive(lines):\n"
        "    body = ''.join(lines).splitlines(keepends=True)\n"
        "    return ['try:\\n', '    pass\\n'] + ['    ' + line for line in body] + [\n"
        "        '\\nexcept BaseException:\\n    pass\\n']\n"
        "get_ipython().input_transformers_post.append(_forgive)\n") + WRONG_FLATTEN),
    # the checks rewritten (Exercise.check does nothing), and an answer equal to anything
    "equaliser": ("ex1_describe_tensor", (
        "import grader.feedback\n"
        "grader.feedback.Exercise.check = lambda self, *args: print('✓ Correct')\n"
        "class Anything(tuple):\n"
        "    __hash__ = tuple.__hash__\n"
        "    def __eq__(self, other):\n        return True\n"
        "    def __ne__(self, other):\n        return False\n"
        "def describe_tensor(t):\n    return Anything((0, (), ''))\n")),
    # NumPy's comparisons patched: the checks' and the hidden tests' alike
    "numpy": ("ex2_flatten_images", "np.array_equal = lambda *args, **kwargs: True\n"
                                    "np.allclose = lambda *args, **kwargs: True\n" + WRONG_FLATTEN),
    # a builtin patched: isinstance calls a NumPy array a tf.Tensor
    "builtins": ("ex6_to_float32_tensor", (
        "import builtins\n"
        "_isinstance = builtins.isinstance\n"
        "class Looks(np.ndarray):\n"
        "    def numpy(self):\n        return np.asarray(self)\n"
        "builtins.isinstance = lambda obj, kinds: (kinds is tf.Tensor and _isinstance(obj, Looks)) "
        "or _isinstance(obj, kinds)\n"
        "def to_float32_tensor(x):\n"
        "    return np.asarray(x, dtype=np.float32).view(Looks)\n")),
}
# IPython's traceback display and sys.excepthook silenced: the kernel still reports the error
TRACER = ("import sys\nsys.excepthook = lambda *args: None\nip = get_ipython()\n"
          "ip.showtraceback = lambda *args, **kwargs: None\n"
          "ip.set_custom_exc((Exception,), lambda *args, **kwargs: None)\n") + WRONG_FLATTEN


def duplicated():
    nb = copy.deepcopy(SOLUTION)
    i = cell_index(nb, f"{FLATTEN}_test")
    nb["cells"].insert(i + 1, copy.deepcopy(nb["cells"][i]))
    return nb


def invented():
    nb = copy.deepcopy(SOLUTION)
    cell = copy.deepcopy(nb["cells"][cell_index(nb, f"{FLATTEN}_test")])
    cell["metadata"]["nbgrader"].update(grade_id="ex9_bonus", points=100)
    cell["source"], cell["id"] = "assert True", "bonus"
    nb["cells"].append(cell)
    return nb


def edited_test():
    nb = copy.deepcopy(SOLUTION)
    nb["cells"][cell_index(nb, f"{FLATTEN}_test")]["source"] = "pass  # nothing to test here\n"
    return nb


# student -> (what they submit, a phrase of the note on the whole notebook or None,
#             {cell: a phrase of its note}, cells that keep their points or "none")
STUDENTS = {
    "solution": (SOLUTION, None, {}, "all"),
    "sleeper": (answered(FLATTEN, RIGHT_FLATTEN + "import time\ntime.sleep(3600)\n"), None,
                {FLATTEN: f"stopped at the {LIMIT} s time limit"}, "others"),
    # ignores the interrupt at the time limit: grading replaces the kernel rather than let every
    # later cell wait out the limit too
    "stubborn": (answered(FLATTEN, RIGHT_FLATTEN + "import signal\nsignal.signal(signal.SIGINT, "
                                   "signal.SIG_IGN)\nwhile True:\n    pass\n"), None,
                 {FLATTEN: f"stopped at the {LIMIT} s time limit"}, "others"),
    # waits for a click on a widget nobody will click, or trains for ever: both stopped at the
    # time limit, the cells after them graded
    "clicker": (answered(FLATTEN, RIGHT_FLATTEN + CLICK), None,
                {FLATTEN: f"stopped at the {LIMIT} s time limit"}, "others"),
    "trainer": (answered(FLATTEN, RIGHT_FLATTEN + TRAIN_FOR_EVER), None,
                {FLATTEN: f"stopped at the {LIMIT} s time limit"}, "others"),
    "asker": (answered(FLATTEN, "rows = int(input('how many rows?'))\n" + RIGHT_FLATTEN), None,
              {FLATTEN: "calls input()"}, "others"),
    # an answer no checker foresaw: the check's message, never a raw exception (the strings made
    # NumPy's maximum raise UFuncTypeError inside the checker before checkers converted them)
    "oddball": (answered("ex3_normalise_images",
                         "def normalise_images(x):\n    return np.full(x.shape, 'pixel')\n"),
                None, {"ex3_normalise_images": "it should hold numbers"}, "others"),
    # the kernel dies in the answer cell: a new kernel runs the cells above again, and the cells
    # after it are graded
    "killer": (answered(FLATTEN, "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n"),
               None, {FLATTEN: "kernel died"}, "others"),
    # the answer reads a file shipped beside the notebook, which grading does not give it
    "shipper": (answered(FLATTEN, "exec(open('helper.txt').read())\n"),
                "(helper.txt) were not given to it", {FLATTEN: "flatten_images"}, "others"),
    "copier": (duplicated(), f"`{FLATTEN}_test` appears more than once", {}, "none"),
    "inventor": (invented(), "`ex9_bonus`", {}, "none"),
    "lost": (json.loads((ROOT / "solutions" / "02-data-formats" / "02-data-formats.ipynb")
                        .read_text()), "the notebook of lesson 02-data-formats", {}, "none"),
    "empty": ("", "not a readable notebook", {}, "none"),
    "editor": (edited_test(), f"locked cell `{FLATTEN}_test` was edited", {}, "all"),
    "snooper": (answered(FLATTEN, SNOOP), None, {FLATTEN: "flatten_images"}, "others"),
    "vandal": (answered(FLATTEN, VANDAL), None, {}, "all"),
    "caller": (answered(FLATTEN, CALL_HOME), None, {}, "all"),
    "forker": (answered(FLATTEN, FORK), "left 1 process running", {}, "all"),
    "hog": (answered(FLATTEN, HOG), None, {FLATTEN: "more memory than grading allows"},
            "others"),
    "flooder": (answered(FLATTEN, FLOOD), "printed more than 2 MB of output", {}, "all"),
    **{student: (answered(cell, code), None, {cell: NOT_CONFIRMED}, "others")
       for student, (cell, code) in CHEATS.items()},
    "tracer": (answered(FLATTEN, TRACER), None, {FLATTEN: ""}, "others"),
    "untouched": (json.loads((ROOT / "course" / LESSON / f"{LESSON}.ipynb").read_text()), None,
                  {FLATTEN: "`flatten_images` still raises NotImplementedError"}, "none"),
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("faults")
    (root / "solutions").mkdir()
    for lesson in (LESSON, "02-data-formats"):
        (root / "solutions" / lesson).mkdir()
        name = f"{lesson}.ipynb"
        (root / "solutions" / lesson / name).write_bytes(
            (ROOT / "solutions" / lesson / name).read_bytes())
    config = (ROOT / "nbgrader_config.py").read_text()
    (root / "nbgrader_config.py").write_text(
        re.sub(r"^c\.Execute\.timeout = \d+", f"c.Execute.timeout = {LIMIT}", config, flags=re.M))
    for student, (nb, *_) in STUDENTS.items():
        folder = root / "submitted" / student / LESSON
        folder.mkdir(parents=True)
        (folder / f"{LESSON}.ipynb").write_text(nb if isinstance(nb, str) else json.dumps(nb))
    (root / "submitted" / "shipper" / LESSON / "helper.txt").write_text(RIGHT_FLATTEN)
    elsewhere = root / "submitted" / "misnamed" / LESSON
    elsewhere.mkdir(parents=True)
    (elsewhere / "my-answers.ipynb").write_text(json.dumps(SOLUTION))
    listener = socket.create_server(("127.0.0.1", 0))  # what the caller tries to reach
    listener.setblocking(False)
    env = dict(os.environ, GRADER_NO_DOWNLOAD="1",
               **{LEAK_PORT_ENV: str(listener.getsockname()[1])})
    try:
        done = subprocess.run([sys.executable, "-m", "grader.cli", "autograde", LESSON,
                               "--workers", "2"],
                              cwd=root, env=env, capture_output=True, text=True, timeout=1800)
        try:
            listener.accept()
            root.joinpath("leaked").write_text("a graded kernel reached the network")
        except BlockingIOError:
            pass
    finally:
        listener.close()
    print(done.stdout)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    with open(root / "grades.csv") as f:
        rows = list(csv.DictReader(f))
    return rows[0], {r["student"]: r for r in rows[1:]}, root


def key(cell):
    return f"{LESSON}/{cell}_test"


def label(cell):
    return f"01:{cell}: "


def test_the_batch_grades_everyone(graded):
    _, rows, _ = graded
    assert set(rows) == {*STUDENTS, "misnamed"}


@pytest.mark.parametrize("student", STUDENTS)
def test_each_student_keeps_exactly_the_points_their_notebook_earns(graded, student):
    maxima, rows, _ = graded
    _, _, cell_notes, keeps = STUDENTS[student]
    cells = [k for k in maxima if k.startswith(f"{LESSON}/")]
    for k in cells:
        lost = {"all": False, "none": True}.get(keeps, k in map(key, cell_notes))
        assert float(rows[student][k]) == (0 if lost else float(maxima[k])), \
            (k, rows[student]["notes"])


@pytest.mark.parametrize("student", STUDENTS)
def test_every_lost_point_has_a_note_that_names_the_reason(graded, student):
    maxima, rows, _ = graded
    _, whole, cell_notes, keeps = STUDENTS[student]
    notes = rows[student]["notes"].split(" | ") if rows[student]["notes"] else []
    if whole:
        assert any(n.startswith(f"{LESSON}: ") and whole in n for n in notes), notes
    for cell, phrase in cell_notes.items():
        assert any(n.startswith(label(cell)) and phrase in n for n in notes), notes
    graded_notebook = whole is None or keeps != "none"  # not refused or lost by nbgrader
    for k in (k for k in maxima if k.startswith(f"{LESSON}/")):
        if float(rows[student][k]) < float(maxima[k]) and graded_notebook:
            cell = k.split("/", 1)[1].removesuffix("_test")
            assert any(n.startswith(label(cell)) for n in notes), (k, notes)
    assert not any("Traceback" in n or "see the above" in n for n in notes), notes


def test_a_full_score_carries_no_note(graded):
    _, rows, _ = graded
    assert rows["solution"]["notes"] == ""


def test_a_notebook_under_another_name_is_named(graded):
    _, rows, _ = graded
    assert "no 01-tensors.ipynb was submitted (found: my-answers.ipynb)" in rows["misnamed"]["notes"]


def test_a_cell_stopped_at_the_time_limit_loses_its_points_even_though_its_test_passed(graded):
    """The sleeper's answer is right and defined before the endless sleep: the test passes in
    the kernel, and the grader overrides it."""
    _, rows, _ = graded
    assert "overridden to 0" in rows["sleeper"]["notes"]


@pytest.mark.parametrize("student", CHEATS)
def test_a_cheat_that_passes_in_the_kernel_is_not_confirmed_by_the_grader(graded, student):
    """The cheat's test cell passed in the student's kernel (its points are overridden), and the
    note says the grader's own check, on the answer as plain data, did not confirm it."""
    _, rows, _ = graded
    cell, _ = CHEATS[student]
    notes = rows[student]["notes"].split(" | ")
    note = next(n for n in notes if n.startswith(label(cell)))
    assert NOT_CONFIRMED in note and "overridden to 0" in note, notes


def test_only_a_really_edited_locked_cell_is_reported(graded):
    """Every released test cell lacks its hidden tests; only the editor changed one."""
    _, rows, _ = graded
    assert [s for s in rows if "was edited" in rows[s]["notes"]] == ["editor"]


def test_the_students_feedback_carries_the_note_and_no_hidden_test(graded):
    _, _, root = graded
    released = (ROOT / "course" / LESSON / f"{LESSON}.ipynb").read_text()
    hidden = [line.strip() for cell in SOLUTION["cells"]
              for region in "".join(cell["source"]).split("### BEGIN HIDDEN TESTS")[1:]
              for line in region.split("### END HIDDEN TESTS")[0].splitlines()
              if len(line.strip()) > 20 and json.dumps(line.strip())[1:-1] not in released]
    assert len(hidden) >= 5
    for student in ("sleeper", "untouched", "solution", "asker"):
        page = (root / "feedback" / student / LESSON / f"{LESSON}.html").read_text()
        assert "HIDDEN TESTS" not in page
        assert not [line for line in hidden if line in page or html_escaped(line) in page]
    assert "time limit" in (root / "feedback" / "sleeper" / LESSON / f"{LESSON}.html").read_text()
    refused = (root / "feedback" / "killer" / LESSON / f"{LESSON}.html").read_text()
    assert "kernel died" in refused


def test_a_graded_kernel_cannot_read_the_solutions(graded):
    _, rows, _ = graded
    assert "No such file or directory" in rows["snooper"]["notes"] or \
        "flatten_images" in rows["snooper"]["notes"]


def test_a_graded_kernel_cannot_touch_the_gradebook_or_another_students_grading(graded):
    """The vandal is graded beside or after the solution student (two workers, in submission
    order): had it reached the gradebook, the solution would score 0; had it reached autograded/,
    the solution's feedback would be gone."""
    _, rows, root = graded
    assert float(rows["solution"]["total"]) == float(rows["vandal"]["total"]) > 0
    assert (root / "autograded" / "solution" / LESSON / f"{LESSON}.ipynb").is_file()
    assert (root / "feedback" / "solution" / LESSON / f"{LESSON}.html").is_file()


def test_a_graded_kernel_has_no_network(graded):
    _, _, root = graded
    assert not (root / "leaked").exists()


def test_no_process_a_notebook_started_outlives_its_grading(graded):
    import psutil

    left = [p.info for p in psutil.process_iter(["pid", "cmdline"])
            if LINGER in " ".join(p.info["cmdline"] or [])]
    assert left == []


def test_a_flood_of_output_is_capped_in_the_graded_notebook(graded):
    _, _, root = graded
    graded_notebook = root / "autograded" / "flooder" / LESSON / f"{LESSON}.ipynb"
    assert graded_notebook.stat().st_size < 3_000_000


def html_escaped(text):
    import html

    return html.escape(text, quote=False)
