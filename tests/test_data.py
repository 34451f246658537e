"""grader.data: which source is used, the offline fallbacks, and errors that name file and fix."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from grader import data

DEBIAN = Path("/usr/share/datasets/fashion-mnist")


def test_mnist_falls_back_to_bundled_sample_and_says_so(keras_home, capsys):
    splits = data.load("mnist")
    (x_train, y_train), (x_test, y_test) = splits
    out, err = capsys.readouterr()
    assert splits.source.kind == "bundled-sample" and not splits.source.full
    assert "WARNING" in out and "bundled offline sample" in out and err == ""
    assert x_train.shape == (5000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert x_train.dtype == np.uint8 and y_train.dtype == np.uint8
    assert list(y_test[:10]) == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]  # the official test set
    assert list(np.bincount(y_train)) == [500] * 10
    assert not np.all(np.diff(y_train.astype(int)) >= 0), "the sorted sample must be shuffled"
    assert splits.target_key == "mnist-sample"


def test_load_returns_copies(keras_home):
    (x_train, _), _ = data.load("mnist", quiet=True)
    x_train[:] = 0
    (again, _), _ = data.load("mnist", quiet=True)
    assert again.max() == 255


def test_corrupt_mnist_cache_names_file_and_fix(keras_home):
    cached = keras_home / "datasets" / "mnist.npz"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(data.bundled_sample_path().read_bytes()[:5000])  # truncated
    with pytest.raises(data.DatasetError) as error:
        data.load("mnist")
    message = str(error.value)
    assert str(cached) in message and "corrupt or truncated" in message and "rm " in message


def test_fashion_mnist_from_debian_files(keras_home):
    assert DEBIAN.is_dir(), "install Debian's dataset-fashion-mnist (the README's test command does)"
    assert data.resolve("fashion_mnist").kind == "debian"
    splits = data.load("fashion_mnist")
    (x_train, y_train), (x_test, y_test) = splits
    assert splits.source.kind == "debian" and splits.source.full
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert sorted(set(y_test.tolist())) == list(range(10))
    assert data.resolve("fashion_mnist").kind == "debian", "still reported as Debian's files"


def test_fashion_mnist_prefers_keras_cache(keras_home):
    cache = keras_home / "datasets" / "fashion-mnist"
    cache.mkdir(parents=True)
    for name in data.FASHION_FILES:
        shutil.copy(DEBIAN / name, cache / name)
    splits = data.load("fashion_mnist")
    assert splits.source.kind == "keras-cache" and str(cache) in splits.source.location


def test_truncated_fashion_file_is_named(keras_home):
    cache = keras_home / "datasets" / "fashion-mnist"
    cache.mkdir(parents=True)
    for name in data.FASHION_FILES:
        shutil.copy(DEBIAN / name, cache / name)
    broken = cache / "train-images-idx3-ubyte.gz"
    broken.write_bytes(broken.read_bytes()[:100_000])
    with pytest.raises(data.DatasetError) as error:
        data.load("fashion_mnist")
    assert str(broken) in str(error.value) and "Delete it" in str(error.value)


def test_missing_debian_files_tell_how_to_install(keras_home, monkeypatch, tmp_path):
    monkeypatch.setenv(data.DEBIAN_FASHION_DIR_ENV, str(tmp_path / "nowhere"))
    with pytest.raises(data.DatasetError, match="apt-get install dataset-fashion-mnist"):
        data.load("fashion_mnist")


def test_course_dataset_setting(monkeypatch):
    assert data.course_dataset() == "mnist"
    monkeypatch.setenv("COURSE_DATASET", "fashion_mnist")
    assert data.course_dataset() == "fashion_mnist"
    monkeypatch.setenv("COURSE_DATASET", "cifar10")
    with pytest.raises(data.DatasetError, match="Expected one of mnist, fashion_mnist"):
        data.course_dataset()


def test_grader_data_command_reports_sources(tmp_path):
    env = dict(os.environ, KERAS_HOME=str(tmp_path / "kh"))
    done = subprocess.run([sys.executable, "-m", "grader.cli", "data"], capture_output=True,
                          text=True, env=env)
    assert done.returncode == 0, done.stderr
    lines = {line.split()[0]: line for line in done.stdout.splitlines() if line[:1].islower()}
    assert "5,000 train" in lines["mnist"] and "10,000 test" in lines["mnist"]
    assert "bundled offline MNIST sample" in lines["mnist"]
    assert "60,000 train" in lines["fashion_mnist"] and "Debian" in lines["fashion_mnist"]
