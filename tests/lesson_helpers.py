"""Helpers the lesson tests share: a not-yet-answered exercise, and a check that must fail."""
import pytest

from grader.feedback import CheckFailed


def stub(*args, **kwargs):
    raise NotImplementedError()


def fails(exercise, value, match):
    with pytest.raises(CheckFailed, match=match):
        exercise.check(value)
