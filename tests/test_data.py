"""grader.data: which source is used, the offline fallbacks, and errors that name file and fix."""
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from grader import data

DEBIAN = Path("/usr/share/datasets/fashion-mnist")
ROOT = Path(__file__).resolve().parents[1]


# What MNIST is known by (../shared/datasets/README.md and the original distribution).
MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_bundled_mnist_file_is_the_published_one():
    path = data.bundled_mnist_path()
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert digest == "06af5dfe73b70e3bc1c36439982b18a8d76803db9b544f6fdf838a37fbb01b64"
    assert digest == data.MNIST_SHA256
    assert data.MNIST_SHA256 in (ROOT / "grader" / "datasets" / "README.md").read_text()


def test_mnist_is_the_whole_data_set_from_the_bundle(keras_home, capsys):
    splits = data.load("mnist")
    (x_train, y_train), (x_test, y_test) = splits
    out, err = capsys.readouterr()
    assert out == "" and err == "", "no download line, no warning"
    assert splits.source.kind == "bundled" and "mnist.npz" in splits.source.location
    assert "bundled" in splits.source.describe()
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert y_train.shape == (60000,) and y_test.shape == (10000,)
    assert {a.dtype for a in (x_train, y_train, x_test, y_test)} == {np.dtype(np.uint8)}
    assert x_train.min() == 0 and x_train.max() == 255
    # The original order: the first labels and the class counts MNIST is known by.
    assert list(y_train[:10]) == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert list(y_test[:10]) == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert list(np.bincount(y_train)) == MNIST_TRAIN_COUNTS
    assert list(np.bincount(y_test)) == MNIST_TEST_COUNTS
    assert hashlib.md5(x_train.tobytes()).hexdigest() == "6510e85a72c3e9475c492d559d3770d2"
    assert hashlib.md5(x_test.tobytes()).hexdigest() == "240610fa99e73bfa49df8e7fc24d3206"
    assert splits.target_key == "mnist"
    assert not any(keras_home.rglob("*")), "nothing downloaded or cached"


def test_mnist_never_tries_the_network_even_when_allowed(keras_home, monkeypatch):
    monkeypatch.delenv("GRADER_NO_DOWNLOAD", raising=False)
    monkeypatch.setattr(data, "_try_download", lambda name: pytest.fail("tried to download"))
    assert data.load("mnist", quiet=True).source.kind == "bundled"
    assert data.resolve("mnist").kind == "bundled"


def test_load_returns_copies(keras_home):
    (x_train, _), _ = data.load("mnist", quiet=True)
    x_train[:] = 0
    (again, _), _ = data.load("mnist", quiet=True)
    assert again.max() == 255


def test_damaged_bundle_names_file_and_fix(keras_home, monkeypatch, tmp_path):
    damaged = tmp_path / "mnist.npz"
    damaged.write_bytes(data.bundled_mnist_path().read_bytes()[:5000])  # truncated
    monkeypatch.setattr(data, "bundled_mnist_path", lambda: damaged)
    with pytest.raises(data.DatasetError) as error:
        data.load("mnist")
    message = str(error.value)
    assert str(damaged) in message and "damaged" in message and "expected" in message
    assert "Reinstall" in message


def test_fashion_mnist_from_debian_files(keras_home):
    assert DEBIAN.is_dir(), "install Debian's dataset-fashion-mnist (the README's test command does)"
    assert data.resolve("fashion_mnist").kind == "debian"
    splits = data.load("fashion_mnist")
    (x_train, y_train), (x_test, y_test) = splits
    assert splits.source.kind == "debian"
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
    assert "60,000 train" in lines["mnist"] and "10,000 test" in lines["mnist"]
    assert "bundled with the course" in lines["mnist"]
    assert "Downloading" not in done.stdout + done.stderr
    assert "60,000 train" in lines["fashion_mnist"] and "Debian" in lines["fashion_mnist"]
