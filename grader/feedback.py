"""Learntools-style feedback: each exercise has ``check()`` and ``hint()``; no solutions ship.

``check()`` finds the exercise's fixed name in the notebook, runs the lesson's checker on it and
prints a short verdict. A wrong answer raises ``CheckFailed`` (an ``AssertionError``), which a
notebook shows as one clean message, and which makes an nbgrader test cell score 0.

Known wrong answers are data: a ``Mistake`` says what the wrong answer computes and what to tell
the student who gave it; a checker hands its catalogue to ``rule_out``, and the lesson tests
submit every catalogued mistake as an answer, so each one is also a known-wrong test case.

No checker lets a raw exception reach the student: a lesson's checkers are decorated with
``checker``, and ``Exercise.check`` converts too, so an answer no checker foresaw (None, a
subclassed model, a function returning a dict) fails with a message, never a traceback.
"""
from __future__ import annotations

import functools
import inspect
import sys
from dataclasses import dataclass
from typing import Any, Callable, Sequence

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


def _listed(names: Sequence[str]) -> str:
    return ", ".join(f"`{name}`" for name in names)


def unexpected(error: Exception, names: Sequence[str], found: Any = _MISSING,
               expects: str | None = None) -> CheckFailed:
    """The ``CheckFailed`` for ``error``, a raw exception a checker met on an answer it did not
    foresee: it names the answer, what was found, the exception (type and first line) and what
    to do. The caller raises it ``from error``, so a bug in the grader still shows its cause."""
    text = (str(error).strip().splitlines() or [""])[0]
    raised = type(error).__name__ + (f" ({text[:200]})" if text else "")
    one = len(names) == 1
    # The type of a model, dict or string says something; that of the student's function not.
    shown = found is not _MISSING and one and not inspect.isroutine(found)
    return CheckFailed(
        f"{_listed(names)}{f' (found {type(found).__name__})' if shown else ''} "
        f"{'is' if one else 'are'} not what this exercise expects: checking "
        f"{'it' if one else 'them'} raised {raised}. "
        + (f"It should be {expects}; re-read" if expects else "Re-read")
        + " the exercise, fix the answer cell, run it, then check again.")


def checker(names: str | Sequence[str], expects: str | None = None):
    """Decorate a lesson's checker (what ``exN.check()`` runs and hidden tests call directly):
    the notebook's random state is kept, and any exception but ``CheckFailed`` becomes one that
    names ``names`` (the answer's fixed names) and says what the answer ``expects`` to be."""
    from .seeding import keeps_random_state

    names = (names,) if isinstance(names, str) else tuple(names)

    def decorate(function):
        @functools.wraps(function)
        def converting(answer, *args, **kwargs):
            try:
                return function(answer, *args, **kwargs)
            except CheckFailed:
                raise
            except Exception as error:
                raise unexpected(error, names, answer, expects) from error

        wrapped = keeps_random_state(converting)
        wrapped.names, wrapped.expects = names, expects
        return wrapped
    return decorate


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


@dataclass(frozen=True)
class Mistake:
    """A known wrong answer: ``computes`` is that answer itself (called as the student's answer
    would be), ``says`` what to tell the student who gave it (``str.format``-ted with the
    checker's context, e.g. ``{what}``). ``part`` names the function it replaces when one
    exercise asks for several."""
    computes: Callable[..., Any]
    says: str
    part: str | None = None

    @property
    def label(self) -> str:  # a short id for test reports
        return getattr(self.computes, "__name__", "mistake").strip("<>")


def rule_out(found: Any, mistakes: Sequence[Mistake], *inputs, close: Callable[[Any, Any], bool],
             part: str | None = None, **context) -> None:
    """Fail with the first catalogued mistake whose output on ``inputs`` is ``close`` to the
    student's ``found`` (only the mistakes for ``part``, when given)."""
    for mistake in mistakes:
        if part is not None and mistake.part not in (None, part):
            continue
        try:
            wrong = mistake.computes(*inputs)
        except Exception:  # a mistake that cannot even run on these inputs is not this answer
            continue
        if close(found, wrong):
            raise CheckFailed(mistake.says.format(**context))


class Exercise:
    """One graded exercise: the fixed ``name`` a student defines, its checker, its two hints
    (a nudge, then the idea worked through in words: never the solution code) and its
    catalogue of known mistakes.

    When one answer cell holds several functions (``relu`` and ``leaky_relu``), ``functions``
    lists their fixed names and the checker receives them as a tuple, in that order; ``name``
    then names the exercise as a whole (its nbgrader grade id)."""

    def __init__(self, name: str, checker: Callable[[Any], str | None],
                 hints: tuple[str, str], *, is_function: bool = False,
                 functions: tuple[str, ...] = (), mistakes: Sequence[Mistake] = ()):
        if isinstance(hints, str) or len(hints) != 2:
            raise ValueError(f"exercise {name!r} needs two hints: a nudge, then the idea")
        self.name, self.checker, self.hints = name, checker, tuple(hints)
        self.mistakes = tuple(mistakes)
        self.is_function = is_function or bool(functions)
        self.names = tuple(functions) or (name,)

    @property
    def hint_text(self) -> str:
        return self.hints[0]

    def check(self, value: Any = _MISSING) -> None:
        """Check the notebook's ``name`` (or ``value``); prints a verdict, raises if wrong."""
        if value is _MISSING:
            namespace = sys._getframe(1).f_globals
            found = tuple(self._lookup(name, namespace) for name in self.names)
            value = found if len(found) > 1 else found[0]
        several = len(self.names) > 1
        if self.is_function:
            count = {2: "two", 3: "three"}.get(len(self.names), str(len(self.names)))
            found = (f"{len(value)} values" if isinstance(value, (tuple, list))
                     else type(value).__name__)
            expect(not several or (isinstance(value, (tuple, list))
                                   and len(value) == len(self.names)),
                   f"This exercise needs {count} functions, {_listed(self.names)}, checked "
                   f"together as a tuple in that order; found {found}.")
            for name, item in zip(self.names, value if several else (value,)):
                expect(callable(item), f"`{name}` should be a function (defined with `def`), "
                                       f"found {type(item).__name__}.")
        from .quiet import no_warnings
        from .seeding import kept_random_state

        # What the checker's own Keras calls warn about is not the student's, and what it builds
        # or draws must not move the random state the notebook's later training starts from.
        with no_warnings(), kept_random_state():
            try:
                message = self.checker(value)
            except CheckFailed:
                raise
            except Exception as error:  # a checker not decorated with `checker`
                raise unexpected(error, self.names, value,
                                 getattr(self.checker, "expects", None)) from error
        print(f"✓ Correct: {', '.join(f'`{name}`' for name in self.names)}"
              + (f". {message}" if message else "."))

    def hint(self, level: int = 1) -> None:
        """``hint()`` gives a nudge; ``hint(2)`` the idea worked through."""
        if level not in (1, 2):
            print("There are two hints: hint() for a nudge, hint(2) for the idea worked through.")
            return
        names = ', '.join(f'`{name}`' for name in self.names)
        more = " (still stuck? hint(2) works the idea through)" if level == 1 else ""
        print(f"Hint {level} for {names}{more}: {self.hints[level - 1]}")

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
        return f"<exercise `{self.name}`: .check(), .hint() and .hint(2)>"
