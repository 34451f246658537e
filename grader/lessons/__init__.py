"""Per-lesson feedback: ``from grader.lessons.tensors import *`` gives ``ex1.check()``, ``ex1.hint()``..."""
