"""Keep TensorFlow's start-up logs out of notebook cells, and let Keras' warnings through.

nbgrader scores a test cell 0 if it writes anything to stderr, and TensorFlow's C++ runtime
prints to file descriptor 2 while it is imported (before its log level applies). So the import
runs with fd 2 pointed at a temporary file, shown only if the import fails.

Python warnings are a student's teacher (Keras warns that ``decay=`` is ignored, that
``input_shape=`` belongs in ``keras.Input``), so they reach the student's own cells. Only the
grader's own code runs with warnings off (the setup's import, every check), and while nbgrader
executes a notebook (``NBGRADER_EXECUTION``: Validate and autograde) every warning is off, since
one line on a test cell's stderr would zero it.
"""
from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
import warnings

_QUIET_ENV = {
    "TF_CPP_MIN_LOG_LEVEL": "3",  # C++ INFO/WARNING/ERROR logs after start-up
    "ABSL_MIN_LOG_LEVEL": "3",
    "GRPC_VERBOSITY": "ERROR",
    "KERAS_BACKEND": "tensorflow",
    # TensorFlow turns its oneDNN kernels on by itself only on CPUs with neural-network
    # features (AVX-512 VNNI, AMX). Without them, on a 2-core AMD EPYC with no AVX-512, a
    # LeNet-5 epoch took 20 s instead of 10 s (measured). On, always: every machine computes
    # the same way, and fast.
    "TF_ENABLE_ONEDNN_OPTS": "1",
}


@contextlib.contextmanager
def silenced_fd2():
    """Send everything written to file descriptor 2 to a temporary file for the duration."""
    try:
        sys.stderr.flush()
    except Exception:  # a closed or replaced stderr must not stop the import
        pass
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield sink
        except BaseException:
            os.dup2(saved, 2)
            sink.seek(0)
            sys.stderr.write(sink.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def grading() -> bool:
    """True while nbgrader executes the notebook (Validate or autograde)."""
    return bool(os.environ.get("NBGRADER_EXECUTION"))


@contextlib.contextmanager
def no_warnings():
    """The grader's own code runs without warnings; the filters are restored afterwards."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def quiet_logs() -> None:
    """TensorFlow's INFO and WARNING log lines (not Python warnings) stay out of cells;
    under nbgrader, Python warnings too."""
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    logging.getLogger("absl").setLevel(logging.ERROR)
    # Keras 3 says this on every fit(tf.data.Dataset), because fit's own default is
    # shuffle=True: it would teach students to ignore warnings, not to shuffle.
    warnings.filterwarnings("ignore", message=r"`shuffle=True` was passed, but will be ignored")
    if grading():
        warnings.filterwarnings("ignore")


def import_tensorflow():
    """Import TensorFlow and Keras silently; returns ``(tf, keras)``."""
    for key, value in _QUIET_ENV.items():
        os.environ.setdefault(key, value)
    quiet_logs()
    if "tensorflow" not in sys.modules:
        with silenced_fd2(), no_warnings():
            import tensorflow  # noqa: F401
            import keras  # noqa: F401
    import keras
    import tensorflow as tf

    tf.get_logger().setLevel(logging.ERROR)
    try:
        from absl import logging as absl_logging

        absl_logging.set_verbosity(absl_logging.ERROR)
    except ImportError:
        pass
    return tf, keras


def import_keras():
    """Keras alone, imported as quietly as ``import_tensorflow``."""
    return import_tensorflow()[1]


def setup(seed: int | None = None):
    """What a lesson's locked setup cell calls: quiet logs, seeded runs; returns ``(tf, keras)``.

    The seed defaults to ``GRADER_SEED`` (0 if unset), which `grader calibrate` varies."""
    if seed is None:
        seed = int(os.environ.get("GRADER_SEED", "0"))
    tf, keras = import_tensorflow()
    keras.utils.set_random_seed(seed)  # seeds Python, NumPy and TensorFlow together
    return tf, keras
