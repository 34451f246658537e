"""MNIST and Fashion-MNIST, returned the way ``keras.datasets`` returns them, and where they came from.

- MNIST, the course's default, is bundled whole with the package (``grader/datasets/mnist.npz``:
  60,000 training and 10,000 test digits in their original order, the arrays
  ``keras.datasets.mnist.load_data()`` returns). It is read from there on every machine, online or
  not: no download is ever tried, so every student and the grader see the same bytes.
- Fashion-MNIST, in this order (the source is always reported, never silently swapped):
  1. Keras' own cache (``$KERAS_HOME/datasets``, default ``~/.keras/datasets``), read by Keras;
  2. a download through Keras (its own progress bar);
  3. Debian's ``dataset-fashion-mnist`` files, linked into Keras' cache and read by Keras.
"""
from __future__ import annotations

import contextlib
import gzip
import hashlib
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


# The bundled file, as published in grader/datasets/README.md: a test checks it.
MNIST_SHA256 = "06af5dfe73b70e3bc1c36439982b18a8d76803db9b544f6fdf838a37fbb01b64"


@dataclass(frozen=True)
class Source:
    kind: str  # "bundled", "keras-cache", "download", "debian"
    location: str

    def describe(self) -> str:
        return {
            "bundled": f"the MNIST file bundled with the course ({self.location})",
            "keras-cache": f"Keras' cache ({self.location})",
            "download": f"downloaded through Keras into {self.location}",
            "debian": f"Debian's dataset-fashion-mnist files ({self.location})",
        }[self.kind]


class Splits(tuple):
    """``((x_train, y_train), (x_test, y_test))`` that also knows its ``name`` and ``source``."""

    def __new__(cls, train, test, name: str, source: Source):
        self = super().__new__(cls, (train, test))
        self.name, self.source = name, source
        return self

    @property
    def target_key(self) -> str:
        """Key of the calibrated targets in ``targets.json``: the dataset's name."""
        return self.name

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


def bundled_mnist_path() -> Path:
    return Path(str(resources.files("grader") / "datasets" / "mnist.npz"))


def _fashion_cache_files() -> list[Path]:
    """Where Keras caches Fashion-MNIST (MNIST is never read from Keras' cache)."""
    return [keras_datasets_dir() / "fashion-mnist" / f for f in FASHION_FILES]


def _debian_complete() -> bool:
    return all((debian_fashion_dir() / f).is_file() for f in FASHION_FILES)


def _cached_fashion_source() -> Source | None:
    files = _fashion_cache_files()
    if not all(os.path.lexists(f) for f in files):
        return None
    if all(f.is_symlink() for f in files):
        target = Path(os.path.realpath(files[0])).parent
        if target == debian_fashion_dir().resolve():
            return Source("debian", f"{target}, linked into {files[0].parent}")
    return Source("keras-cache", str(files[0].parent))


def resolve(name: str) -> Source | None:
    """The source ``load`` would use without downloading, or None if it would have to download."""
    _check_name(name)
    if name == "mnist":
        return Source("bundled", str(bundled_mnist_path()))
    cached = _cached_fashion_source()
    if cached:
        return cached
    return Source("debian", str(debian_fashion_dir())) if _debian_complete() else None


def load(name: str | None = None, *, quiet: bool = False) -> Splits:
    """Load ``"mnist"`` or ``"fashion_mnist"`` (default: the course's dataset).

    Returns ``((x_train, y_train), (x_test, y_test))`` as uint8 arrays, exactly as
    ``keras.datasets`` does, with ``.source`` telling where they came from.
    """
    name = name or course_dataset()
    _check_name(name)
    splits = _load_cached_in_process(name)
    if not quiet and splits.source.kind == "debian":
        # stdout, not the warnings module: stderr would zero an nbgrader test cell.
        print(f"Note: Fashion-MNIST comes from {splits.source.describe()}.")
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


@lru_cache(maxsize=None)
def _load_cached_in_process(name: str) -> Splits:
    if name == "mnist":
        return _read_bundled_mnist()
    cached = _cached_fashion_source()
    if cached:
        return _read_with_keras(name, cached)
    if os.environ.get(NO_DOWNLOAD_ENV) != "1":
        downloaded = _try_download(name)
        if downloaded is not None:
            return downloaded
    if not _debian_complete():
        raise DatasetError(
            "Fashion-MNIST is not in Keras' cache, could not be downloaded, and Debian's files "
            f"are not in {debian_fashion_dir()}. Install them with "
            "`apt-get install dataset-fashion-mnist` (as root), or copy the four "
            f"*-ubyte.gz files into {_fashion_cache_files()[0].parent}."
        )
    _link_debian_files()
    return _read_with_keras(name, _cached_fashion_source())


def _keras_datasets():
    from .quiet import import_tensorflow

    _, keras = import_tensorflow()
    home = keras_datasets_dir()
    home.mkdir(parents=True, exist_ok=True)  # Keras falls back to /tmp if it is missing
    # Keras reads KERAS_HOME once, at import; follow a later change so both agree on the cache.
    from .keras_internals import follow_keras_home

    follow_keras_home(str(home.parent))
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
    return Splits(train, test, name, Source("download", str(keras_datasets_dir())))


@contextlib.contextmanager
def _no_download():
    """A cached file that fails Keras' hash check makes Keras download again; here it must not."""
    from .keras_internals import download_function_module

    file_utils = download_function_module()

    original = file_utils.urlretrieve

    def refuse(url, *args, **kwargs):
        raise OSError("the cached file failed Keras' integrity check")

    file_utils.urlretrieve = refuse
    try:
        yield
    finally:
        file_utils.urlretrieve = original


def _link_debian_files() -> None:
    cache = _fashion_cache_files()[0].parent
    cache.mkdir(parents=True, exist_ok=True)
    for f in FASHION_FILES:
        link = cache / f
        if os.path.lexists(link):
            link.unlink()
        link.symlink_to(debian_fashion_dir() / f)


def _read_bundled_mnist() -> Splits:
    """The whole of MNIST from the package, checked against its published sha256 first (a
    damaged install must not quietly train on wrong bytes)."""
    path = bundled_mnist_path()
    fix = ("Reinstall the course package (`pip install --force-reinstall --no-deps -e .` in the "
           "course folder, or without `-e .` the way you installed it) to restore it.")
    try:
        raw = path.read_bytes()  # read once: hashed, then unpacked from memory
    except OSError as error:
        raise DatasetError(f"The bundled MNIST file {path} cannot be read ({error}). {fix}") from error
    digest = hashlib.sha256(raw).hexdigest()
    if digest != MNIST_SHA256:
        raise DatasetError(f"The bundled MNIST file {path} is damaged: its sha256 is {digest}, "
                           f"expected {MNIST_SHA256}. {fix}")
    with np.load(io.BytesIO(raw), allow_pickle=False) as f:
        train = f["x_train"], f["y_train"]
        test = f["x_test"], f["y_test"]
    _check_shapes("mnist", train, test)
    return Splits(train, test, "mnist", Source("bundled", str(path)))


EXPECTED_SHAPES = {"train": (60000, 28, 28), "test": (10000, 28, 28)}


def _check_shapes(name, train, test) -> None:
    for (x, y), split in ((train, "train"), (test, "test")):
        if x.shape != EXPECTED_SHAPES[split] or y.shape != (EXPECTED_SHAPES[split][0],):
            raise ValueError(f"{split} split has shape {x.shape}/{y.shape}, "
                             f"expected {EXPECTED_SHAPES[split]}")


def _corrupt_cache_error(name: str, error: Exception) -> DatasetError:
    bad = _first_unreadable() or _fashion_cache_files()[0]
    target = os.path.realpath(bad)
    where = f"{bad}" + (f" (a link to {target})" if target != str(bad) else "")
    fix = (f"Delete it (`rm {bad}`) and run again: Keras downloads a fresh copy when it can, "
           "otherwise grader falls back to Debian's dataset-fashion-mnist files "
           "(`apt-get install --reinstall dataset-fashion-mnist` if those are the damaged ones).")
    return DatasetError(f"The {name} file {where} is corrupt or truncated "
                        f"({type(error).__name__}: {error}). {fix}")


def _first_unreadable() -> Path | None:
    for f in _fashion_cache_files():
        try:
            with gzip.open(f, "rb") as fh:
                io.BytesIO(fh.read())
        except Exception:
            return f
    return None
