"""Helpers the lesson tests share: a not-yet-answered exercise, and a check that must fail."""
import re

import pytest

from grader.feedback import CheckFailed


def stub(*args, **kwargs):
    raise NotImplementedError()


def fails(exercise, value, match):
    with pytest.raises(CheckFailed, match=match):
        exercise.check(value)


def inert_while_grading(monkeypatch, build, module=None, forbidden=None):
    """Build an explorer as nbgrader's autograde would (NBGRADER_EXECUTION set), with
    ``module.forbidden`` (its data loading or training) failing if called: it must render
    nothing. Returns the explorer, for the caller to move a control."""
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    if forbidden:
        def refuse(*args, **kwargs):
            raise AssertionError(f"the explorer must not call {forbidden} while grading")

        monkeypatch.setattr(module, forbidden, refuse)
    explorer = build()
    assert explorer.renders == 0 and "skipped while grading" in explorer.html.value
    return explorer


def says(mistake):
    """What a catalogued mistake's message says before its first placeholder."""
    literal = mistake.says.split("{")[0]
    assert len(literal) >= 10, mistake.says
    return re.escape(literal)
