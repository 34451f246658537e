"""ipywidgets explorers, one module per lesson. Nothing heavy happens at import time."""
from .base import Explorer, grading

__all__ = ["Explorer", "grading"]
