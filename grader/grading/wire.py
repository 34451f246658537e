"""Plain data across the wall between a student's sealed kernel and the grader.

What crosses is a JSON tree and files beside it: NumPy arrays (``.npy``, never pickled),
numbers, strings, tuples, lists and dicts of them, tensors (their values and dtype), a NumPy
``Generator``'s state, a Keras ``History``'s logs, Keras models as ``.keras`` files (loaded with
``safe_mode``, so no code rides along) and ``tf.data`` datasets as the elements of two passes.
Nothing else can cross: a subclass of a NumPy array arrives as the plain array it holds; an object
that compares equal to anything, a subclass of ``tuple`` or ``int``, a function, are refused. Both sides use this
module; it imports TensorFlow only when a value needs it.
"""
from __future__ import annotations

import builtins
import json
import sys
from pathlib import Path

MANIFEST = "value.json"
MAX_FILE_BYTES = 512 * 2**20   # one array or model the grader will read
MAX_ELEMENTS = 4096            # elements of one dataset pass
DATASET_PASSES = 2             # checkers iterate a dataset at most twice (a new draw each epoch)
_PLAIN = (type(None), bool, int, float, str)


class Unsupported(TypeError):
    """A value that cannot cross as plain data."""


def _tf():
    from ..quiet import import_tensorflow

    return import_tensorflow()


def _heavy(value, name: str) -> bool:
    """Whether ``value``'s type comes from TensorFlow or Keras (without importing either)."""
    module = type(value).__module__ or ""
    return module.split(".")[0] in ("tensorflow", "keras", "tf_keras") or any(
        klass.__module__.split(".")[0] in ("tensorflow", "keras") and klass.__name__ == name
        for klass in type(value).__mro__)


class Encoder:
    """Writes values into ``folder``: ``encode`` returns the JSON tree, files go beside it. An
    object sent before (by identity) is sent as a reference, so ``f() is f()`` survives."""

    def __init__(self, folder: Path, sent: dict | None = None, received: dict | None = None):
        self.folder, self.files = Path(folder), 0
        self.sent = {} if sent is None else sent  # id -> (object kept alive, number)
        # what the other side sent us: returned to it, it arrives as the object it sent
        self.back = {id(obj): number for number, obj in (received or {}).items()}

    def _file(self, suffix: str) -> Path:
        self.files += 1
        return self.folder / f"{self.files}{suffix}"

    def encode(self, value):
        kind = type(value)
        if kind in _PLAIN:
            return {"t": "plain", "v": value}
        if kind in (tuple, list):
            return {"t": kind.__name__, "v": [self.encode(item) for item in value]}
        if kind is dict:
            return {"t": "dict", "v": [[self.encode(k), self.encode(v)] for k, v in value.items()]}
        import numpy as np

        if isinstance(value, np.ndarray):  # a subclass arrives as the plain array it holds
            return self._array(np.asarray(value), "array")
        if isinstance(value, np.generic):
            return self._array(np.array(value), "scalar")
        if kind is np.random.Generator:
            state = value.bit_generator.state
            if state.get("bit_generator") != "PCG64":
                raise Unsupported(f"a Generator with {state.get('bit_generator')}")
            return {"t": "generator", "state": state}
        if id(value) in self.sent:
            return {"t": "ref", "v": self.sent[id(value)][1]}
        if id(value) in self.back:
            return {"t": "back", "v": self.back[id(value)]}
        if _heavy(value, "Dataset") or _heavy(value, "Model") or _heavy(value, "History") \
                or _heavy(value, "Tensor") or _heavy(value, "Variable") \
                or _heavy(value, "TensorSpec"):
            tree = self._keras_or_tf(value)
            if tree["t"] in ("model", "dataset"):
                self.sent[id(value)] = (value, len(self.sent))
                tree["id"] = self.sent[id(value)][1]
            return tree
        raise Unsupported(kind.__name__)

    def _array(self, array, tag: str):
        if array.dtype.hasobject or array.dtype.kind not in "biufcUS":
            raise Unsupported(f"an array of {array.dtype}")
        path = self._file(".npy")
        import numpy as np

        np.save(path, array, allow_pickle=False)
        return {"t": tag, "file": path.name}

    def _keras_or_tf(self, value):
        tf, keras = _tf()
        if isinstance(value, tf.data.Dataset):
            return self._dataset(value)
        if isinstance(value, keras.Model):
            path = self._file(".keras")
            value.save(path)
            return {"t": "model", "file": path.name}
        if isinstance(value, keras.callbacks.History):
            return {"t": "history", "v": self.encode(dict(value.history))}
        if isinstance(value, tf.TensorSpec):
            return {"t": "spec", "shape": _shape(value.shape), "dtype": value.dtype.name}
        if isinstance(value, (tf.Tensor, tf.Variable)) and value.dtype != tf.string:
            variable = isinstance(value, tf.Variable)
            tree = self._array(value.numpy(), "tensor")
            return {**tree, "variable": variable, "dtype": value.dtype.name}
        raise Unsupported(type(value).__name__)

    def _dataset(self, dataset):
        from ..keras_internals import dataset_ops, dataset_stages

        passes = []
        for _ in range(DATASET_PASSES):
            elements = []
            for element in dataset:
                if len(elements) >= MAX_ELEMENTS:
                    raise Unsupported(f"a dataset of more than {MAX_ELEMENTS} elements per pass")
                elements.append(self.encode(element))
            passes.append(elements)
        return {"t": "dataset", "spec": self.encode(dataset.element_spec), "passes": passes,
                "stages": dataset_stages(dataset), "ops": dataset_ops(dataset)}


def _shape(shape) -> list:
    return [None if d is None else int(d) for d in shape]


class Decoder:
    """Reads what an ``Encoder`` wrote; ``safe_mode`` models only, files checked before use."""

    def __init__(self, folder: Path, received: dict | None = None, sent: dict | None = None):
        self.folder = Path(folder)
        self.received = {} if received is None else received  # number -> object
        self.sent = {number: obj for obj, number in (sent or {}).values()}

    def _path(self, name) -> Path:
        path = self.folder / str(name)
        if (not isinstance(name, str) or "/" in name or path.is_symlink() or not path.is_file()
                or path.stat().st_size > MAX_FILE_BYTES):
            raise Unsupported(f"a file that is missing, linked or too large ({name!r})")
        return path

    def decode(self, tree):
        if not isinstance(tree, dict) or "t" not in tree:
            raise Unsupported("a malformed value")
        tag, value = tree["t"], tree.get("v")
        if tag == "plain":
            if type(value) not in _PLAIN:
                raise Unsupported("a malformed value")
            return value
        if tag in ("tuple", "list"):
            items = [self.decode(item) for item in value]
            return tuple(items) if tag == "tuple" else items
        if tag == "dict":
            return {self.decode(k): self.decode(v) for k, v in value}
        import numpy as np

        if tag in ("array", "scalar", "tensor"):
            array = np.load(self._path(tree["file"]), allow_pickle=False)
            if tag == "array":
                return array
            if tag == "scalar":
                return array[()]
            tf = _tf()[0]
            if tree.get("variable"):
                return tf.Variable(array, dtype=tree["dtype"])
            return tf.constant(array, dtype=tree["dtype"])
        if tag == "generator":
            generator = np.random.Generator(np.random.PCG64())
            generator.bit_generator.state = tree["state"]
            return generator
        if tag == "ref":
            return self.received[value]
        if tag == "back":
            return self.sent[value]
        tf, keras = _tf()
        if tag == "history":
            history = keras.callbacks.History()
            history.history = self.decode(value)
            return history
        if tag == "spec":
            return tf.TensorSpec(tree["shape"], tree["dtype"])
        if tag == "model":
            decoded = keras.models.load_model(self._path(tree["file"]), safe_mode=True)
        elif tag == "dataset":
            decoded = _replay(tf, self.decode(tree["spec"]),
                              [[self.decode(e) for e in one] for one in tree["passes"]],
                              tree.get("stages", []), tree.get("ops", []))
        else:
            raise Unsupported(f"a value tagged {tag!r}")
        self.received[tree["id"]] = decoded
        return decoded


def _replay(tf, spec, passes, stages, ops):
    """A dataset that yields the recorded passes in turn (the last one again after them), with
    the pipeline's recorded stages and ops for the checks that read its structure."""
    count = {"n": 0}

    def generate():
        elements = passes[min(count["n"], len(passes) - 1)]
        count["n"] += 1
        yield from elements

    dataset = tf.data.Dataset.from_generator(generate, output_signature=spec)
    dataset.recorded_stages, dataset.recorded_ops = list(stages), list(ops)
    return dataset


def write(value, folder: Path, sent: dict | None = None, received: dict | None = None) -> None:
    """``value`` into ``folder`` (its manifest and files)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tree = Encoder(folder, sent, received).encode(value)
    (folder / MANIFEST).write_text(json.dumps(tree))


def read(folder: Path, received: dict | None = None, sent: dict | None = None):
    """The value ``write`` left in ``folder``."""
    path = Path(folder) / MANIFEST
    if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_FILE_BYTES:
        raise Unsupported("no readable answer")
    return Decoder(folder, received, sent).decode(json.loads(path.read_text()))


# --- the kernel's side -------------------------------------------------------------------------

_SENT: dict = {}       # what this kernel has sent, by identity (kept alive while it runs)
_RECEIVED: dict = {}   # what the grader has sent it


def _exception(error: BaseException) -> dict:
    kind = type(error)
    builtin = getattr(builtins, kind.__name__, None) is kind
    try:
        args = json.loads(json.dumps([a for a in error.args if type(a) in _PLAIN]))
    except (TypeError, ValueError):
        args = []
    return {"raised": kind.__name__, "builtin": builtin, "message": str(error)[:2000],
            "args": args}


def serve(folder: str) -> None:
    """Answer the grader's request in ``folder``/request.json (run in the student's kernel):
    ``describe`` a name, ``get`` its value, ``call`` it on arguments the grader sent, or list the
    ``library_calls`` a function makes. The reply goes to ``folder``/reply."""
    folder = Path(folder)
    request = json.loads((folder / "request.json").read_text())
    reply = folder / "reply"
    namespace = _namespace()
    name = request["name"]
    try:
        if name not in namespace:
            result = {"defined": False}
        elif request["op"] == "describe":
            value = namespace[name]
            result = {"defined": True, "callable": callable(value), "type": type(value).__name__}
        elif request["op"] == "library_calls":
            from ..by_hand import library_calls

            result = {"names": sorted(library_calls(namespace[name], set(request["names"])))}
        else:
            if request["op"] == "call":
                args, kwargs = read(folder / "arguments", _RECEIVED, _SENT)
                try:
                    value = namespace[name](*args, **kwargs)
                except BaseException as error:  # the student's code raised: say what it raised
                    (reply.mkdir(exist_ok=True), (reply / "outcome.json").write_text(
                        json.dumps(_exception(error))))
                    return
            else:
                value = namespace[name]
            try:
                write(value, reply, _SENT, _RECEIVED)
                result = {"returned": True}
            except Unsupported as why:
                result = {"unsupported": str(why), "type": type(value).__name__}
            except Exception as error:
                result = {"unsupported": f"{type(error).__name__}: {str(error)[:300]}",
                          "type": type(value).__name__}
    except Exception as error:  # a request this kernel could not even start
        result = {"failed": f"{type(error).__name__}: {str(error)[:300]}"}
    reply.mkdir(exist_ok=True)
    (reply / "outcome.json").write_text(json.dumps(result))


def _namespace() -> dict:
    try:
        from IPython import get_ipython

        shell = get_ipython()
        if shell is not None:
            return shell.user_ns
    except ImportError:
        pass
    return vars(sys.modules["__main__"])
