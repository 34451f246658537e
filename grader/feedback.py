"""Learntools-style feedback: each exercise has ``check()`` and ``hint()``; no solutions ship.

``check()`` finds the exercise's fixed name in the notebook, runs the lesson's checker on it and
prints a short verdict. A wrong answer raises ``CheckFailed`` (an ``AssertionError``), which a
notebook shows as one clean message, and which makes an nbgrader test cell score 0.
"""
from __future__ import annotations

import sys
from typing import Any, Callable

_MISSING = object()


class CheckFailed(AssertionError):
    """A student-facing failure: what was expected, what was found, what to try."""

    def _render_traceback_(self):  # IPython shows this instead of a traceback
        return [f"\x1b[31m✗ {line}\x1b[0m" if i == 0 else line
                for i, line in enumerate(str(self).splitlines())]


def expect(condition: bool, message: str) -> None:
    """Fail with ``message`` unless ``condition`` holds."""
    if not condition:
        raise CheckFailed(message)


def call(function: Callable, *args, name: str | None = None, **kwargs) -> Any:
    """Call a student's function, turning its exceptions into advice."""
    label = name or getattr(function, "__name__", "your function")
    if not callable(function):
        raise CheckFailed(f"`{label}` should be a function (defined with `def`), "
                          f"found {type(function).__name__}.")
    try:
        return function(*args, **kwargs)
    except NotImplementedError:
        raise CheckFailed(f"`{label}` still raises NotImplementedError: replace "
                          "`raise NotImplementedError()` with your code and run its cell.") from None
    except CheckFailed:
        raise
    except Exception as error:
        raise CheckFailed(f"Calling `{label}` raised {type(error).__name__}: {error}") from None


class Exercise:
    """One graded exercise: the fixed ``name`` a student defines, its checker and its hint.

    When one answer cell holds several functions (``relu`` and ``leaky_relu``), ``functions``
    lists their fixed names and the checker receives them as a tuple, in that order; ``name``
    then names the exercise as a whole (its nbgrader grade id)."""

    def __init__(self, name: str, checker: Callable[[Any], str | None], hint: str,
                 *, is_function: bool = False, functions: tuple[str, ...] = ()):
        self.name, self.checker, self.hint_text = name, checker, hint
        self.is_function = is_function or bool(functions)
        self.names = tuple(functions) or (name,)

    def check(self, value: Any = _MISSING) -> None:
        """Check the notebook's ``name`` (or ``value``); prints a verdict, raises if wrong."""
        if value is _MISSING:
            namespace = sys._getframe(1).f_globals
            found = tuple(self._lookup(name, namespace) for name in self.names)
            value = found if len(found) > 1 else found[0]
        if self.is_function:
            for name, item in zip(self.names, value if len(self.names) > 1 else (value,)):
                expect(callable(item), f"`{name}` should be a function (defined with `def`), "
                                       f"found {type(item).__name__}.")
        message = self.checker(value)
        print(f"✓ Correct: {', '.join(f'`{name}`' for name in self.names)}"
              + (f". {message}" if message else "."))

    def hint(self) -> None:
        print(f"Hint for {', '.join(f'`{name}`' for name in self.names)}: {self.hint_text}")

    @staticmethod
    def _lookup(name: str, namespace: dict) -> Any:
        if name in namespace:
            return namespace[name]
        try:  # called from a module rather than the notebook: use the notebook's namespace
            from IPython import get_ipython

            shell = get_ipython()
            if shell is not None and name in shell.user_ns:
                return shell.user_ns[name]
        except ImportError:
            pass
        raise CheckFailed(
            f"`{name}` is not defined yet. Write your answer in the exercise cell (keep the "
            f"name `{name}`), run that cell with Shift+Enter, then run this check again.")

    def __repr__(self) -> str:
        return f"<exercise `{self.name}`: .check() and .hint()>"
