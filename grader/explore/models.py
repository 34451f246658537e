"""Lesson 03 explorer: live training curves for one optimiser, learning rate, batch size and width.

Press *Train*: a small MLP (784 -> width -> 10) trains on a few thousand course images and the
loss and accuracy curves (training and validation) grow epoch by epoch. Every run starts from
the same initial weights (seeded initialisers), so two runs differ only by the settings; the
previous run stays on the plot in grey to compare with.
"""
from __future__ import annotations

import html
import time
from functools import lru_cache

import numpy as np

from .base import Explorer, grading

TITLE = "Training explorer: optimiser, learning rate and batch size, live"
OPTIMIZERS = ["SGD", "SGD + momentum", "RMSprop", "Adam"]
LEARNING_RATES = [("0.0001", 1e-4), ("0.0003", 3e-4), ("0.001", 1e-3), ("0.003", 3e-3),
                  ("0.01", 1e-2), ("0.03", 3e-2), ("0.1", 0.1), ("0.3", 0.3), ("1.0", 1.0)]
BATCH_SIZES = [16, 32, 64, 128, 256]
WIDTHS = [16, 64, 128, 256, 512]
INIT_SEED = 3  # the same initial weights for every run


@lru_cache(maxsize=2)
def explorer_data(n_train: int = 2000, n_val: int = 1000):
    """A random subset of the course's training images, flattened and scaled to [0, 1]:
    ``(x_train, y_train, x_val, y_val, dataset name)``."""
    from ..data import load

    splits = load(quiet=True)
    (x, y), _ = splits
    order = np.random.default_rng(0).permutation(len(x))[:n_train + n_val]
    x = x[order].reshape(len(order), -1).astype("float32") / 255.0
    y = y[order]
    return x[:n_train], y[:n_train], x[n_train:], y[n_train:], splits.name


def make_optimizer(keras, name: str, learning_rate: float):
    if name == "SGD":
        return keras.optimizers.SGD(learning_rate=learning_rate)
    if name == "SGD + momentum":
        return keras.optimizers.SGD(learning_rate=learning_rate, momentum=0.9)
    if name == "RMSprop":
        return keras.optimizers.RMSprop(learning_rate=learning_rate)
    return keras.optimizers.Adam(learning_rate=learning_rate)


def optimizer_code(name: str, learning_rate: float) -> str:
    cls, extra = {"SGD": ("SGD", ""), "SGD + momentum": ("SGD", ", momentum=0.9"),
                  "RMSprop": ("RMSprop", ""), "Adam": ("Adam", "")}[name]
    return f"keras.optimizers.{cls}(learning_rate={learning_rate:g}{extra})"


def build_model(keras, n_features: int, width: int):
    """784 -> Dense(width, relu) -> Dense(10, softmax), with the same initial weights each time."""
    layers, init = keras.layers, keras.initializers
    return keras.Sequential([
        keras.Input(shape=(n_features,)),
        layers.Dense(width, activation="relu", kernel_initializer=init.GlorotUniform(INIT_SEED)),
        layers.Dense(10, activation="softmax",
                     kernel_initializer=init.GlorotUniform(INIT_SEED + 1)),
    ])


def curves_figure(logs: dict, epochs: int, label: str, previous: dict | None = None):
    """Loss and accuracy, training (solid) and validation (dashed), x axis fixed to all epochs."""
    from ..plots import _plt

    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
    for ax, metric in zip(axes, ("loss", "accuracy")):
        if previous:
            for key, style in ((metric, "-"), (f"val_{metric}", "--")):
                values = previous["logs"].get(key, [])
                ax.plot(np.arange(1, len(values) + 1), values, style, color="0.7",
                        label="previous run" if key == metric else None)
        for key, style, name in ((metric, "-o", "training"), (f"val_{metric}", "--s",
                                                               "validation")):
            values = logs.get(key, [])
            ax.plot(np.arange(1, len(values) + 1), values, style, color="C0" if key == metric
                    else "C1", markersize=4, label=name)
        ax.set_xlim(0.5, epochs + 0.5)
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
        if metric == "accuracy":
            ax.set_ylim(0, 1)
        else:
            finite = [v for k in (metric, f"val_{metric}") for v in logs.get(k, [])
                      if np.isfinite(v)]
            if finite:
                ax.set_ylim(0, min(max(finite) * 1.1, 5.0))
        ax.legend(fontsize=8, loc="lower right" if metric == "accuracy" else "upper right")
    fig.suptitle(label + (f"\n(grey: previous run, {previous['label']})" if previous else ""),
                 fontsize=10)
    fig.tight_layout()
    return fig


def _table(rows) -> str:
    return "<table>" + "".join(f"<tr><td style='padding-right:1em'><b>{k}</b></td><td>{v}</td></tr>"
                               for k, v in rows) + "</table>"


def diagnosis(logs: dict, learning_rate: float) -> str:
    loss = logs.get("loss", [])
    if not loss or not np.all(np.isfinite(loss)):
        return ("<span style='color:crimson'>The loss became NaN (not a number): the steps were "
                "so large that the weights blew up. Lower the learning rate.</span>")
    accuracy, val_accuracy = logs["accuracy"][-1], logs["val_accuracy"][-1]
    flat = len(loss) < 2 or abs(loss[-1] - loss[-2]) < 0.01
    if val_accuracy < 0.2 and flat:
        return ("<span style='color:crimson'>Stuck at chance level (1 in 10) with a flat loss. "
                "With a large learning rate the first steps threw the weights somewhere useless "
                "(many ReLU units now output 0 for every image and stop learning); with a tiny "
                f"one nothing has happened yet. At {learning_rate:g}: "
                + ("lower it." if learning_rate >= 0.03 else "raise it.") + "</span>")
    if val_accuracy < 0.7:
        return ("Learning slowly: raise the learning rate or train for more epochs (or, if the "
                "curves zig-zag, lower it).")
    if accuracy - val_accuracy > 0.05:
        return (f"Training accuracy is {accuracy - val_accuracy:.0%} above validation accuracy: "
                "the model starts to learn the training images by heart (over-fitting, lesson 05).")
    return "Healthy: both curves rise together."


def train_and_plot(optimizer, learning_rate, epochs, batch_size, width, *, data, state,
                   progress=None):
    """Train one run; call ``progress(html, figure)`` after every epoch; return the final view."""
    from ..quiet import import_tensorflow

    _, keras = import_tensorflow()
    x_train, y_train, x_val, y_val, name = data
    label = f"{optimizer}, learning rate {learning_rate:g}, batch {batch_size}, width {width}"
    model = build_model(keras, x_train.shape[1], width)
    model.compile(optimizer=make_optimizer(keras, optimizer, learning_rate),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    logs: dict[str, list] = {}
    started = time.perf_counter()

    class Live(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, epoch_logs=None):
            for key, value in (epoch_logs or {}).items():
                logs.setdefault(key, []).append(float(value))
            if not np.isfinite(logs["loss"][-1]):
                self.model.stop_training = True
            if progress is not None:
                progress(f"<i>epoch {epoch + 1} of {epochs}: loss {logs['loss'][-1]:.3f}, "
                         f"validation accuracy {logs.get('val_accuracy', [0])[-1]:.1%}</i>",
                         curves_figure(logs, epochs, label, state.get("previous")))

    model.fit(x_train, y_train, validation_data=(x_val, y_val), epochs=epochs,
              batch_size=batch_size, verbose=0, callbacks=[Live()])
    seconds = time.perf_counter() - started
    steps = int(model.optimizer.iterations.numpy())
    figure = curves_figure(logs, epochs, label, state.get("previous"))
    last = {key: values[-1] for key, values in logs.items()}
    rows = [
        ("optimiser", f"<code>{html.escape(optimizer_code(optimizer, learning_rate))}</code>"),
        ("model", f"784 → Dense({width}, relu) → Dense(10, softmax): "
                  f"{model.count_params():,} parameters"),
        ("data", f"{len(x_train):,} training and {len(x_val):,} validation images of {name}"),
        ("trained", f"{len(logs.get('loss', []))} epochs, {steps:,} steps of {batch_size} images, "
                    f"{seconds:.1f} s"),
        ("final", f"loss {last.get('loss', float('nan')):.3f} / "
                  f"validation loss {last.get('val_loss', float('nan')):.3f}; accuracy "
                  f"{last.get('accuracy', 0):.1%} / validation accuracy "
                  f"{last.get('val_accuracy', 0):.1%}"),
        ("reading", diagnosis(logs, learning_rate)),
    ]
    if state.get("previous"):
        previous = state["previous"]
        rows.append(("previous run", f"{html.escape(previous['label'])}: validation accuracy "
                                     f"{previous['logs'].get('val_accuracy', [0])[-1]:.1%}"))
    state["previous"] = {"label": label, "logs": logs}
    return _table(rows), figure


def training_explorer(n_train: int = 2000, n_val: int = 1000, epochs: int = 8) -> Explorer:
    """The explorer: optimiser, learning rate, epochs, batch size and width; a Train button.
    It trains once with the default settings (``epochs`` of Adam at 0.001) when shown."""
    import ipywidgets as widgets

    controls = {
        "optimizer": widgets.Dropdown(options=OPTIMIZERS, value="Adam", description="optimiser"),
        "learning_rate": widgets.SelectionSlider(options=LEARNING_RATES, value=1e-3,
                                                 description="learning rate"),
        "epochs": widgets.IntSlider(value=epochs, min=1, max=20, description="epochs"),
        "batch_size": widgets.Dropdown(options=BATCH_SIZES, value=64, description="batch size"),
        "width": widgets.Dropdown(options=WIDTHS, value=128, description="hidden units"),
    }
    if grading():  # inert while nbgrader grades: no data, no training
        return Explorer(TITLE, controls, lambda **_: ("", None))
    data = explorer_data(n_train, n_val)
    state: dict = {}
    return Explorer(TITLE, controls,
                    lambda progress=None, **values: train_and_plot(**values, data=data,
                                                                   state=state,
                                                                   progress=progress),
                    button="Train", progress=True)
