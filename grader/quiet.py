"""Keep TensorFlow's start-up logs and Python warnings out of notebook cells.

nbgrader scores a test cell 0 if it writes anything to stderr, and TensorFlow's C++ runtime
prints to file descriptor 2 while it is imported (before its log level applies). So the import
runs with fd 2 pointed at a temporary file, shown only if the import fails.
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


def quiet_warnings() -> None:
    """Python-level warnings (deprecations from TF/Keras/matplotlib) never reach stderr."""
    warnings.filterwarnings("ignore")
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    logging.getLogger("absl").setLevel(logging.ERROR)


def import_tensorflow():
    """Import TensorFlow and Keras silently; returns ``(tf, keras)``."""
    for key, value in _QUIET_ENV.items():
        os.environ.setdefault(key, value)
    quiet_warnings()
    if "tensorflow" not in sys.modules:
        with silenced_fd2():
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
