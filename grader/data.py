"""MNIST and Fashion-MNIST, returned the way ``keras.datasets`` returns them, and where they came from.

Resolution order (the source is always reported, never silently swapped):
1. Keras' own cache (``$KERAS_HOME/datasets``, default ``~/.keras/datasets``), read by Keras;
2. a download through Keras (its own progress bar);
3. Fashion-MNIST: Debian's ``dataset-fashion-mnist`` files, linked into Keras' cache and read by
   Keras; MNIST: the bundled offline sample (5,000 training digits, the official 10,000 test
   digits), with a visible warning.
"""
from __future__ import annotations

import contextlib
import gzip
import io
import os
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

DATASETS = ("mnist", "fashion_mnist")
COURSE_DATASET_ENV = "COURSE_DATASET"  # the one setting that switches the course's dataset
DEBIAN_FASHION_DIR_ENV = "GRADER_DEBIAN_FASHION_MNIST_DIR"
NO_DOWNLOAD_ENV = "GRADER_NO_DOWNLOAD"  # "1": never try the network (tests, air-gapped rooms)
FASHION_FILES = (
    "train-labels-idx1-ubyte.gz",
    "train-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
)
CLASS_NAMES = {
    "mnist": [str(d) for d in range(10)],
    "fashion_mnist": ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                      "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"],
}


class DatasetError(RuntimeError):
    """A dataset could not be read; the message names the file and the fix."""


@dataclass(frozen=True)
class Source:
    kind: str  # "keras-cache", "download", "debian", "bundled-sample"
    location: str
    full: bool  # False for the bundled 5,000-digit sample

    def describe(self) -> str:
        return {
            "keras-cache": f"Keras' cache ({self.location})",
            "download": f"downloaded through Keras into {self.location}",
            "debian": f"Debian's dataset-fashion-mnist files ({self.location})",
            "bundled-sample": f"the bundled offline MNIST sample ({self.location})",
        }[self.kind]


class Splits(tuple):
    """``((x_train, y_train), (x_test, y_test))`` that also knows its ``name`` and ``source``."""

    def __new__(cls, train, test, name: str, source: Source):
        self = super().__new__(cls, (train, test))
        self.name, self.source = name, source
        return self

    @property
    def target_key(self) -> str:
        """Key of the calibrated targets: "mnist", "mnist-sample" or "fashion_mnist".

        The sample trains on 5,000 digits instead of 60,000, so it has targets of its own."""
        return "mnist-sample" if self.source.kind == "bundled-sample" else self.name

    def sizes(self) -> dict:
        (x_train, _), (x_test, _) = self
        return {"train": len(x_train), "test": len(x_test)}


def course_dataset() -> str:
    """The dataset the course uses: ``COURSE_DATASET=fashion_mnist`` switches every lesson."""
    name = os.environ.get(COURSE_DATASET_ENV, "mnist").strip() or "mnist"
    if name not in DATASETS:
        raise DatasetError(
            f"{COURSE_DATASET_ENV}={name!r} is not a dataset this course knows. "
            f"Expected one of {', '.join(DATASETS)}; unset it to use mnist."
        )
    return name


def keras_datasets_dir() -> Path:
    """Keras' cache folder, found the way Keras finds it (``KERAS_HOME``, else ``~/.keras``)."""
    home = os.environ.get("KERAS_HOME")
    if not home:
        base = os.path.expanduser("~")
        home = os.path.join(base if os.access(base, os.W_OK) else "/tmp", ".keras")
    return Path(home) / "datasets"


def debian_fashion_dir() -> Path:
    return Path(os.environ.get(DEBIAN_FASHION_DIR_ENV, "/usr/share/datasets/fashion-mnist"))


def bundled_sample_path() -> Path:
    return Path(str(resources.files("grader") / "datasets" / "mnist-offline.npz"))


def _cache_files(name: str) -> list[Path]:
    base = keras_datasets_dir()
    if name == "mnist":
        return [base / "mnist.npz"]
    return [base / "fashion-mnist" / f for f in FASHION_FILES]


def _debian_complete() -> bool:
    return all((debian_fashion_dir() / f).is_file() for f in FASHION_FILES)


def _cached_source(name: str) -> Source | None:
    files = _cache_files(name)
    if not all(os.path.lexists(f) for f in files):
        return None
    if name == "fashion_mnist" and all(f.is_symlink() for f in files):
        target = Path(os.path.realpath(files[0])).parent
        if target == debian_fashion_dir().resolve():
            return Source("debian", f"{target}, linked into {files[0].parent}", True)
    return Source("keras-cache", str(files[0] if name == "mnist" else files[0].parent), True)


def resolve(name: str) -> Source | None:
    """The source ``load`` would use without downloading, or None if it would have to download."""
    _check_name(name)
    cached = _cached_source(name)
    if cached:
        return cached
    if name == "fashion_mnist":
        return Source("debian", str(debian_fashion_dir()), True) if _debian_complete() else None
    return Source("bundled-sample", str(bundled_sample_path()), False)


def load(name: str | None = None, *, quiet: bool = False) -> Splits:
    """Load ``"mnist"`` or ``"fashion_mnist"`` (default: the course's dataset).

    Returns ``((x_train, y_train), (x_test, y_test))`` as uint8 arrays, exactly as
    ``keras.datasets`` does, with ``.source`` telling where they came from.
    """
    name = name or course_dataset()
    _check_name(name)
    splits = _load_cached_in_process(name)
    if not quiet and splits.source.kind in ("bundled-sample", "debian"):
        _warn_fallback(splits)
    # Copies, so a lesson that edits its arrays in place cannot change the next caller's data.
    (x_train, y_train), (x_test, y_test) = splits
    return Splits((x_train.copy(), y_train.copy()), (x_test.copy(), y_test.copy()),
                  splits.name, splits.source)


def load_mnist(**kwargs) -> Splits:
    return load("mnist", **kwargs)


def load_fashion_mnist(**kwargs) -> Splits:
    return load("fashion_mnist", **kwargs)


def _check_name(name: str) -> None:
    if name not in DATASETS:
        raise DatasetError(f"Unknown dataset {name!r}: expected one of {', '.join(DATASETS)}.")


def _warn_fallback(splits: Splits) -> None:
    # stdout, not the warnings module: stderr would zero an nbgrader test cell.
    sizes = splits.sizes()
    if splits.source.kind == "bundled-sample":
        print(
            "WARNING: MNIST could not be downloaded, so this uses the bundled offline sample: "
            f"{sizes['train']:,} training digits (not 60,000) and the official {sizes['test']:,} "
            "test digits. Accuracy targets for the sample apply."
        )
    else:
        print(f"Note: Fashion-MNIST comes from {splits.source.describe()}.")


@lru_cache(maxsize=None)
def _load_cached_in_process(name: str) -> Splits:
    cached = _cached_source(name)
    if cached:
        return _read_with_keras(name, cached)
    if os.environ.get(NO_DOWNLOAD_ENV) != "1":
        downloaded = _try_download(name)
        if downloaded is not None:
            return downloaded
    if name == "fashion_mnist":
        if not _debian_complete():
            raise DatasetError(
                "Fashion-MNIST is not in Keras' cache, could not be downloaded, and Debian's files "
                f"are not in {debian_fashion_dir()}. Install them with "
                "`apt-get install dataset-fashion-mnist` (as root), or copy the four "
                f"*-ubyte.gz files into {_cache_files(name)[0].parent}."
            )
        _link_debian_files()
        return _read_with_keras(name, _cached_source(name))
    return _read_bundled_sample()


def _keras_datasets():
    from .quiet import import_tensorflow

    _, keras = import_tensorflow()
    home = keras_datasets_dir()
    home.mkdir(parents=True, exist_ok=True)  # Keras falls back to /tmp if it is missing
    # Keras reads KERAS_HOME once, at import; follow a later change so both agree on the cache.
    from keras.src.backend import config

    if hasattr(config, "_KERAS_DIR"):
        config._KERAS_DIR = str(home.parent)
    return keras.datasets


def _read_with_keras(name: str, source: Source) -> Splits:
    datasets = _keras_datasets()
    try:
        with _no_download():
            train, test = getattr(datasets, name).load_data()
        _check_shapes(name, train, test)
    except Exception as error:  # numpy, gzip and zip errors alike: name the file and the fix
        raise _corrupt_cache_error(name, error) from error
    return Splits(train, test, name, source)


def _try_download(name: str) -> Splits | None:
    datasets = _keras_datasets()
    try:
        train, test = getattr(datasets, name).load_data()
    except Exception:  # offline or refused; Keras removes what it partly downloaded
        return None
    _check_shapes(name, train, test)
    return Splits(train, test, name, Source("download", str(keras_datasets_dir()), True))


@contextlib.contextmanager
def _no_download():
    """A cached file that fails Keras' hash check makes Keras download again; here it must not."""
    from keras.src.utils import file_utils

    original = file_utils.urlretrieve

    def refuse(url, *args, **kwargs):
        raise OSError("the cached file failed Keras' integrity check")

    file_utils.urlretrieve = refuse
    try:
        yield
    finally:
        file_utils.urlretrieve = original


def _link_debian_files() -> None:
    cache = _cache_files("fashion_mnist")[0].parent
    cache.mkdir(parents=True, exist_ok=True)
    for f in FASHION_FILES:
        link = cache / f
        if os.path.lexists(link):
            link.unlink()
        link.symlink_to(debian_fashion_dir() / f)


def _read_bundled_sample() -> Splits:
    path = bundled_sample_path()
    with np.load(path, allow_pickle=False) as f:
        x_train, y_train, x_test, y_test = (f[k] for k in ("x_train", "y_train", "x_test", "y_test"))
    order = np.random.default_rng(0).permutation(len(x_train))  # the file is sorted by label
    return Splits((x_train[order], y_train[order]), (x_test, y_test), "mnist",
                  Source("bundled-sample", str(path), False))


EXPECTED_SHAPES = {"train": (60000, 28, 28), "test": (10000, 28, 28)}


def _check_shapes(name, train, test) -> None:
    for (x, y), split in ((train, "train"), (test, "test")):
        if x.shape != EXPECTED_SHAPES[split] or y.shape != (EXPECTED_SHAPES[split][0],):
            raise ValueError(f"{split} split has shape {x.shape}/{y.shape}, "
                             f"expected {EXPECTED_SHAPES[split]}")


def _corrupt_cache_error(name: str, error: Exception) -> DatasetError:
    bad = _first_unreadable(name) or _cache_files(name)[0]
    target = os.path.realpath(bad)
    where = f"{bad}" + (f" (a link to {target})" if target != str(bad) else "")
    fix = (f"Delete it (`rm {bad}`) and run again: Keras downloads a fresh copy when it can, "
           "otherwise grader falls back to ")
    fix += ("Debian's dataset-fashion-mnist files (`apt-get install --reinstall "
            "dataset-fashion-mnist` if those are the damaged ones)."
            if name == "fashion_mnist" else "the bundled offline sample.")
    return DatasetError(f"The {name} file {where} is corrupt or truncated "
                        f"({type(error).__name__}: {error}). {fix}")


def _first_unreadable(name: str) -> Path | None:
    for f in _cache_files(name):
        try:
            if name == "mnist":
                with np.load(f, allow_pickle=False) as data:
                    for key in ("x_train", "y_train", "x_test", "y_test"):
                        data[key]
            else:
                with gzip.open(f, "rb") as fh:
                    io.BytesIO(fh.read())
        except Exception:
            return f
    return None
