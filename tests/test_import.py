"""`import grader` (and the CLI, data, checks and explorer modules) must not import TensorFlow."""
import subprocess
import sys

import pytest


@pytest.mark.parametrize("module", ["grader", "grader.cli", "grader.data", "grader.checks",
                                    "grader.explore", "grader.plots", "grader.gradebook",
                                    "grader.bench", "grader.calibrate", "grader.runs"])
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
