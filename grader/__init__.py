"""Helper package of the Keras course: data, checks, feedback, explorers, plots and the CLI.

Importing ``grader`` stays fast: TensorFlow is imported only when a function needs it.
"""
from .quiet import setup
from .seeding import test_rng

__version__ = "0.1.0"
__all__ = ["setup", "test_rng", "__version__"]
