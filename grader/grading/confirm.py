"""Every graded cell confirmed where no student code runs.

A test cell passing in the student's kernel proves little: code the student ran before it could
have replaced the checks, NumPy, builtins or IPython's error display, or left an object that
compares equal to anything. So after nbgrader has run the notebook, the grader (in nbgrader's
process, which runs no student code) runs each exercise's own checker again, on inputs drawn from
the instructor's seed. The student's answer stays in the sealed kernel: a function is called
there on the arguments the grader sends, and only plain data comes back (``grader.grading.wire``);
a value (a model) comes back as data too. The kernel is an oracle and nothing more: whatever it
has been made to do, the grader decides on the values it returns.

A cell scores only if it passed in the kernel *and* is confirmed here (``grader.grading.gradebook``).
"""
from __future__ import annotations

import json
import shutil
import tempfile
import zlib
from contextlib import contextmanager
from pathlib import Path
from typing import Callable

from ..feedback import CheckFailed
from . import wire

CONFIRMED_FILE = ".confirmed-{}.json"   # beside the kernel's folder, out of its reach
CONFIRMED_MODELS = ".confirmed-models-{}"  # the graded models as they crossed, evaluated from here
REQUESTS_DIR = ".grader-requests"       # inside the kernel's folder, where both can reach


def grade_id(variable: str, exercise) -> str:
    """The nbgrader grade id of an exercise's test cell: ``ex2`` + ``flatten_images`` + test."""
    return f"{variable}_{exercise.name}_test"


class KernelGone(CheckFailed):
    """The student's kernel stopped answering: nothing after this can be confirmed."""


class Oracle:
    """The student's kernel, asked one question at a time through files in ``folder``.
    ``run(code, timeout)`` executes code there and returns whether it finished in time."""

    def __init__(self, folder: Path, run: Callable[[str, float], bool], timeout: float):
        self.folder, self.run, self.timeout = folder, run, timeout
        self.sent: dict = {}       # what the grader sent, by identity
        self.received: dict = {}   # what the kernel sent, by its number
        self.count, self.gone = 0, None

    def ask(self, op: str, name: str, arguments=None, **extra):
        if self.gone:
            raise KernelGone(self.gone)
        self.count += 1
        request = self.folder / str(self.count)
        request.mkdir(parents=True)
        (request / "request.json").write_text(json.dumps({"op": op, "name": name, **extra}))
        if arguments is not None:
            try:
                wire.write(arguments, request / "arguments", self.sent, self.received)
            except wire.Unsupported as why:  # the checker's own input: a grader bug, not the
                # student's (a TypeError would read as the student's function refusing it)
                raise RuntimeError(f"the grader cannot send {why} to the notebook") from None
        code = f"__import__('grader.grading.wire').grading.wire.serve({str(request)!r})"
        if not self.run(code, self.timeout):
            self.gone = (f"The notebook's kernel did not answer the grader within "
                         f"{self.timeout:.0f} s (asked for `{name}`), so this answer could not "
                         "be confirmed.")
            raise KernelGone(self.gone)
        outcome = request / "reply" / "outcome.json"
        if outcome.is_symlink() or not outcome.is_file() or outcome.stat().st_size > 1 << 20:
            raise CheckFailed(f"The notebook's kernel gave no readable answer for `{name}`.")
        result = json.loads(outcome.read_text())
        if not isinstance(result, dict):
            raise CheckFailed(f"The notebook's kernel gave no readable answer for `{name}`.")
        return result, request / "reply"

    def value(self, name: str, result: dict, folder: Path):
        if not result.get("defined", True):
            raise CheckFailed(f"`{name}` is not defined in the notebook: write your answer in the "
                              f"exercise cell, keeping the name `{name}`.")
        if "failed" in result:
            raise CheckFailed(f"The grader could not ask the notebook for `{name}`: "
                              f"{result['failed']}")
        if "raised" in result:
            raise _as_exception(result)
        if "unsupported" in result:
            kind, why = result.get("type"), result["unsupported"]
            raise CheckFailed(
                f"`{name}` gave a value of type {kind}, which the grader cannot take from the "
                f"notebook{f' ({why})' if why != kind else ''}. Answers travel as plain data: NumPy "
                "arrays, numbers, strings, tuples, lists and dicts of them, tensors, tf.data "
                "datasets, Keras models of built-in layers.")
        try:
            return wire.read(folder, self.received, self.sent)
        except Exception as error:
            raise CheckFailed(f"The grader could not read what the notebook gave for `{name}`: "
                              f"{type(error).__name__}: {str(error)[:300]}") from None


class RemoteError(Exception):
    """An exception of the student's code that is not one of Python's built-in kinds."""


def _as_exception(result: dict) -> BaseException:
    import builtins

    kind = getattr(builtins, result["raised"], None) if result.get("builtin") else None
    if not (isinstance(kind, type) and issubclass(kind, Exception)):
        error = RemoteError(f"{result['raised']}: {result['message']}")
        return error
    try:
        error = kind(*result.get("args", [])) if result.get("args") else kind(result["message"])
    except Exception:
        error = kind(result["message"])
    return error


class RemoteFunction:
    """The student's function, called in its kernel: arguments go there as plain data, the
    result comes back as plain data (or the exception it raised, as one of the same kind)."""

    def __init__(self, oracle: Oracle, name: str):
        self._oracle, self.__name__, self.__qualname__ = oracle, name, name

    def __call__(self, *args, **kwargs):
        result, folder = self._oracle.ask("call", self.__name__, (args, kwargs))
        return self._oracle.value(self.__name__, result, folder)

    def library_calls(self, names: set[str]) -> set[str]:
        """What ``grader.by_hand.library_calls`` finds in the function, read in its kernel."""
        result, _ = self._oracle.ask("library_calls", self.__name__, names=sorted(names))
        return set(result.get("names", []))

    def __repr__(self) -> str:
        return f"<the notebook's function {self.__name__}>"


def answer(oracle: Oracle, exercise):
    """What the exercise's checker takes: its functions as ``RemoteFunction``s (a tuple when it
    asks for several), or its value as plain data."""
    found = []
    for name in exercise.names:
        result, folder = oracle.ask("describe", name)
        if exercise.is_function and result.get("callable"):
            found.append(RemoteFunction(oracle, name))
        elif exercise.is_function and result.get("defined"):
            raise CheckFailed(f"`{name}` should be a function (defined with `def`), found "
                              f"{result.get('type')}.")
        else:
            result, folder = oracle.ask("get", name) if result.get("defined") else (result, folder)
            found.append(oracle.value(name, result, folder))
    return tuple(found) if len(found) > 1 else found[0]


@contextmanager
def _shared_tempdir(folder: Path):
    """Checkers make temporary folders (a path ``save_and_reload`` saves to): make them inside
    the kernel's folder, at a path both sides see."""
    folder.mkdir(parents=True, exist_ok=True)
    saved, tempfile.tempdir = tempfile.tempdir, str(folder)
    try:
        yield
    finally:
        tempfile.tempdir = saved


def confirm_lesson(slug: str, kernel_folder: Path, run: Callable[[str, float], bool],
                   seed: int, timeout: float) -> dict[str, dict]:
    """Run each exercise of lesson ``slug`` on the notebook's answers: ``{grade_id:
    {"confirmed": bool, "message": str}}``. Inputs are drawn from ``seed`` (per exercise, so one
    exercise's inputs never depend on another's answer)."""
    from ..lessons import checker_module
    from ..quiet import no_warnings
    from ..seeding import grading_stream

    from ..targets import graded_models

    module = checker_module(slug)
    models = {entry["grade_id"]: name for name, entry in graded_models().items()
              if entry["assignment"] == slug}
    requests = Path(kernel_folder) / REQUESTS_DIR
    shutil.rmtree(requests, ignore_errors=True)
    oracle = Oracle(requests, run, timeout)
    verdicts = {}
    try:
        for variable in module.__all__:
            exercise = getattr(module, variable)
            cell = grade_id(variable, exercise)
            with no_warnings(), grading_stream(seed ^ zlib.crc32(cell.encode())), \
                    _shared_tempdir(requests / "tmp"):
                try:
                    value = answer(oracle, exercise)
                    message = exercise.checker(value)
                    if cell in models:  # a confirmed model's accuracy is measured from this
                        # file and nothing else (one that fails its check keeps that reason)
                        _keep_model(value, confirmed_models(kernel_folder, slug) / models[cell])
                    verdicts[cell] = {"confirmed": True, "message": message or ""}
                except CheckFailed as failure:
                    verdicts[cell] = {"confirmed": False, "message": str(failure)}
                except Exception as error:  # fail closed: a cell is confirmed or it scores 0
                    verdicts[cell] = {"confirmed": False, "message": (
                        f"the grader's check of this answer raised {type(error).__name__}: "
                        f"{str(error)[:300]}")}
    finally:
        shutil.rmtree(requests, ignore_errors=True)
    return verdicts


def _keep_model(value, stem: Path) -> None:
    from ..quiet import import_keras

    if isinstance(value, import_keras().Model):
        stem.parent.mkdir(parents=True, exist_ok=True)
        value.save(stem.with_suffix(".keras"))


def confirmations_path(kernel_folder: Path, notebook: str) -> Path:
    return Path(kernel_folder).parent / CONFIRMED_FILE.format(notebook)


def confirmed_models(kernel_folder: Path, notebook: str) -> Path:
    """Where the graded models that crossed from the kernel are kept, out of its reach."""
    return Path(kernel_folder).parent / CONFIRMED_MODELS.format(notebook)


def forget_confirmations(kernel_folder: Path, notebook: str) -> None:
    """Before grading again: no verdict or model of an earlier grading may count."""
    confirmations_path(kernel_folder, notebook).unlink(missing_ok=True)
    shutil.rmtree(confirmed_models(kernel_folder, notebook), ignore_errors=True)


def read_confirmations(kernel_folder: Path, notebook: str) -> dict[str, dict] | None:
    """What ``confirm_lesson`` found for a graded notebook; None if it never ran."""
    path = confirmations_path(kernel_folder, notebook)
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None
