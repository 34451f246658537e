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
