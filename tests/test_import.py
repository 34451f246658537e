"""`import grader` (and the CLI, data, checks and explorer modules) must not import TensorFlow."""
import subprocess
import sys

import pytest


@pytest.mark.parametrize("module", ["grader", "grader.cli", "grader.data", "grader.checks",
                                    "grader.explore", "grader.plots", "grader.grading.gradebook",
                                    "grader.bench", "grader.grading.calibrate", "grader.grading.runs",
                                    "grader.lessons", "grader.model_spec"])
def test_import_does_not_load_tensorflow(module):
    code = (f"import sys, {module}; heavy = [m for m in ('tensorflow', 'keras') "
            "if m in sys.modules]; print(heavy); sys.exit(1 if heavy else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, f"importing {module} loaded {done.stdout.strip()}"


def test_setup_imports_tensorflow_without_writing_to_stderr():
    code = ("import grader; tf, keras = grader.setup(seed=1); "
            "keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])"
            ".predict(tf.zeros((1, 4)), verbose=0); print(tf.__version__, keras.__version__)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stderr == "", f"TensorFlow wrote to stderr: {done.stderr[:500]}"
    assert done.stdout.split()[1].startswith("3."), "Keras 3 is required"


# A student's cell keeps a Keras warning in sight; under nbgrader (Validate, autograde) nothing
# reaches stderr, where a single line would zero a test cell. A check's own Keras calls never warn.
STUDENT_CELL = ("import os, grader; tf, keras = grader.setup(); "
                "keras.optimizers.SGD(learning_rate=0.1, decay=1e-6)")
CHECK_THAT_WARNS = ("import warnings, grader; from grader.feedback import Exercise; grader.setup(); "
                    "ex = Exercise('x', lambda v: warnings.warn('inside the checker'), "
                    "hints=('a nudge here', 'the idea here')); ex.check(1)")
FIT_ON_A_DATASET = ("import numpy as np, grader; tf, keras = grader.setup(); "
                    "ds = tf.data.Dataset.from_tensor_slices((np.ones((8, 3), 'float32'), "
                    "np.zeros(8))).batch(4); m = keras.Sequential([keras.Input((3,)), "
                    "keras.layers.Dense(2, activation='softmax')]); "
                    "m.compile('adam', 'sparse_categorical_crossentropy'); m.fit(ds, verbose=0)")


@pytest.mark.parametrize("code, grading, shown", [
    (FIT_ON_A_DATASET, None, False),  # Keras' shuffle notice on fit's own default: noise
    (STUDENT_CELL, None, True),
    (STUDENT_CELL, "validate", False),
    (STUDENT_CELL, "autograde", False),
    (CHECK_THAT_WARNS, None, False),
])
def test_keras_warnings_reach_students_but_never_a_graded_run(code, grading, shown):
    import os

    env = {k: v for k, v in os.environ.items() if k != "NBGRADER_EXECUTION"}
    if grading:
        env["NBGRADER_EXECUTION"] = grading
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    if shown:
        assert "`decay` is no longer supported and will be ignored" in done.stderr
    else:
        assert done.stderr == "", done.stderr[:500]


@pytest.mark.parametrize("chosen, expected", [(None, "1"), ("0", "0")])
def test_onednn_kernels_are_on_unless_the_user_chose(chosen, expected):
    """TensorFlow leaves oneDNN off on CPUs without AVX-512 VNNI, where convolutions are then
    several times slower; the course turns it on, and a user's own setting wins."""
    import os

    env = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
    if chosen is not None:
        env["TF_ENABLE_ONEDNN_OPTS"] = chosen
    code = "import os, grader; grader.setup(); print(os.environ['TF_ENABLE_ONEDNN_OPTS'])"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-1] == expected and done.stderr == ""


def test_no_module_a_notebook_imports_loads_the_grading_core():
    """The grading core (grader.grading) decides grades; nothing a notebook imports brings it
    in: the setup, the checks and every lesson's checkers and explorer."""
    from grader.lessons import LESSONS

    modules = ["grader", "grader.checks", "grader.feedback", "grader.model_spec", "grader.data",
               "grader.plots"] + [f"grader.lessons.{lesson.module}" for lesson in LESSONS] + [
        f"grader.explore.{lesson.explorer.split('.')[0]}" for lesson in LESSONS]
    code = (f"import sys, {', '.join(modules)}; "
            "core = sorted(m for m in sys.modules if m.startswith('grader.grading')); "
            "print(core); sys.exit(1 if core else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, f"a notebook's imports loaded {done.stdout.strip()} {done.stderr[-500:]}"
