"""Checks for a function a student writes by hand in NumPy (an activation, a dropout mask, a
reshape...): it returns a new NumPy array and leaves its input alone, no library function does
the work for it, and a wrong value is named by the exercise's catalogue of known mistakes before
the general message. Imports no TensorFlow.
"""
from __future__ import annotations

import dis
import types

import numpy as np

from .feedback import CheckFailed, call, expect, rule_out


def numpy_result(fn, x, name: str, *, why_shape: str = "", **kwargs) -> np.ndarray:
    """Call ``fn(x, **kwargs)`` and insist on a new floating NumPy array of x's shape."""
    before = np.array(x, copy=True)
    with np.errstate(all="ignore"):
        out = call(fn, x, name=name, **kwargs)
    tensor = hasattr(out, "numpy") and not isinstance(out, np.ndarray)
    expect(isinstance(out, np.ndarray), f"`{name}` should return a NumPy array, found "
           f"{type(out).__name__}. " + ("This exercise is NumPy by hand: build the result from "
           "np.exp, np.maximum, np.where ... on the NumPy array you are given." if tensor else
           "Use NumPy operations on the whole array (no Python loop, no list)."))
    expect(np.array_equal(np.asarray(x), before, equal_nan=True),
           f"`{name}` changed the array it was given (an in-place operation such as x -= ... or "
           "x[x < 0] = 0). Compute a new array and leave the input as it was.")
    expect(out.shape == np.shape(x), f"`{name}` should keep the input's shape: an input of "
                                     f"shape {np.shape(x)} gave {out.shape}.{why_shape}")
    expect(np.issubdtype(out.dtype, np.floating),
           f"`{name}` should return floats, found dtype {out.dtype}.")
    return out


def _code_objects(code: types.CodeType):
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _code_objects(const)


def _contents(cell):
    try:
        return cell.cell_contents
    except ValueError:  # an empty cell
        return None


def library_calls(fn, names: set[str]) -> set[str]:
    """The names in ``names`` that ``fn`` reaches in a library: ``np.tanh``, ``tf.nn.relu``,
    ``from numpy import tanh as th``... The student's own functions of that name are allowed."""
    remote = getattr(type(fn), "library_calls", None)
    if callable(remote):  # a function in a student's kernel, asked there (grader.grading)
        return fn.library_calls(names) & names
    code = getattr(fn, "__code__", None)
    if code is None:  # a built-in or a NumPy ufunc handed over as it is: tanh = np.tanh
        return {getattr(fn, "__name__", None)} & names
    home = getattr(fn, "__module__", None)
    scope = dict(getattr(fn, "__globals__", {}))  # globals, and names from an enclosing function
    scope.update(zip(code.co_freevars, map(_contents, getattr(fn, "__closure__", None) or ())))
    found = set()
    for ins in (ins for obj in _code_objects(code) for ins in dis.get_instructions(obj)):
        if not isinstance(ins.argval, str):
            continue
        if ins.opname in ("LOAD_ATTR", "LOAD_METHOD", "IMPORT_FROM") and ins.argval in names:
            found.add(ins.argval)
        elif ins.opname in ("LOAD_GLOBAL", "LOAD_NAME", "LOAD_DEREF"):
            target = scope.get(ins.argval)
            own = home is not None and getattr(target, "__module__", None) == home
            if getattr(target, "__name__", None) in names and not own:
                found.add(target.__name__)
    return found


def no_library(fn, name: str, names: set[str], advice: str) -> None:
    used = library_calls(fn, names)
    expect(not used, f"`{name}` calls a library's {', '.join(sorted(used))}. The point is to "
                     f"write it yourself: {advice}")


def close(out, ref, rtol=1e-5, atol=1e-6) -> bool:
    """Same shape and values; nan where the other has nan (so a broken formula is recognised)."""
    return np.shape(out) == np.shape(ref) and bool(
        np.allclose(out, ref, rtol=rtol, atol=atol, equal_nan=True))


def rule_out_quietly(found, exercise, *inputs, part=None, **kwargs) -> None:
    """``rule_out`` over ``exercise.mistakes``; a mistaken formula may overflow (that is its
    point), and NumPy's warnings about it must not reach the student's cell."""
    kwargs.setdefault("close", close)
    with np.errstate(all="ignore"):
        rule_out(found, exercise.mistakes, *inputs, part=part, **kwargs)


def compare(fn, exercise, x, ref, wrong: str, kwargs=None, part=None, atol=1e-6, why_shape="",
            **context) -> np.ndarray:
    """``fn(x, **kwargs)`` against ``ref``. When it differs: the first of the exercise's
    mistakes (for ``part``) that it matches, else ``wrong``, formatted with ``context`` and
    ``at``/``want``/``got`` (the first input where it differs, the right and the found value
    there), ``out``, ``ref`` (rounded), ``lo`` and ``hi`` (the found range)."""
    kwargs = kwargs or {}
    out = numpy_result(fn, x, part or exercise.name, why_shape=why_shape, **kwargs)
    if not close(out, ref, atol=atol):
        rule_out_quietly(out, exercise, x, *kwargs.values(), part=part, **context)
        i = int(np.argmax(~np.isclose(out, ref, rtol=1e-5, atol=atol).ravel()))
        raise CheckFailed(wrong.format(
            at=np.ravel(x)[i], want=np.ravel(ref)[i], got=out.ravel()[i], out=np.round(out, 4),
            ref=np.round(ref, 4), lo=out.min(), hi=out.max(), **context))
    return out
