"""Shared fixtures. Tests run offline and deterministic: no download is attempted, and each
test that loads data gets its own empty Keras cache unless it says otherwise."""
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.setenv("GRADER_NO_DOWNLOAD", "1")
    monkeypatch.delenv("COURSE_DATASET", raising=False)
    monkeypatch.setenv("PATH", f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")


def evaluate_here(path, *options, timeout=None):
    """What ``grader.checks.evaluate_in_separate_process`` returns, computed by the same code
    (``grader.grading.evaluate``'s command line) in this process."""
    import contextlib
    import io

    from grader.checks import evaluation_result
    from grader.grading import evaluate

    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        evaluate.main([str(path), *options])
    return evaluation_result(printed.getvalue())


@pytest.fixture(autouse=True)
def _evaluate_in_process(request, monkeypatch):
    """The grader measures a saved model in a fresh process. Most tests check what it
    concludes, not where it runs, so they run the same code here and skip a Python and
    TensorFlow start (about 5 s on 2 cores) per evaluation; a test marked ``separate_process``
    keeps the real one, and the end-to-end tests (``slow``) grade in kernels of their own."""
    if request.node.get_closest_marker("separate_process"):
        return
    from grader import checks
    from grader.grading import verdicts

    monkeypatch.setattr(checks, "evaluate_in_separate_process", evaluate_here)
    monkeypatch.setattr(verdicts, "evaluate_in_separate_process", evaluate_here)


@pytest.fixture
def keras_home(tmp_path, monkeypatch):
    """An empty Keras cache, and grader.data's in-process cache cleared around the test."""
    from grader import data

    home = tmp_path / "keras-home"
    home.mkdir()
    monkeypatch.setenv("KERAS_HOME", str(home))
    data._load_cached_in_process.cache_clear()
    yield home
    data._load_cached_in_process.cache_clear()


@pytest.fixture(scope="module")
def tf():
    """TensorFlow, imported quietly (as a lesson's setup cell does)."""
    from grader.quiet import import_tensorflow

    return import_tensorflow()[0]


@pytest.fixture(scope="module")
def keras(tf):
    import keras

    return keras
