"""Lesson 05 explorer: what a dropout rate does to one activation map, and to the gap.

Controls: the rate, which random mask to draw, and how many training images the small model
gets. The panel gives the numbers (fraction zeroed, the scale 1/(1-rate), the mean before and
after); the figure shows (a) a real image used as an activation map, its mask and the scaled
result, and (b) training vs validation accuracy and their gap for every rate tried so far. Each
(rate, size) pair trains one small MLP once (about a second) and is cached, so the curve of
gap against rate fills in as you move the slider.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from .base import Explorer, grading

TITLE = "Dropout explorer: the mask, the scaling, and the generalisation gap"
RATES = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]
SIZES = [500, 1000, 2000]
EPOCHS = 20
HIDDEN = 256
VALIDATION = 1000


@lru_cache(maxsize=2)
def data(n_train_max: int = max(SIZES)):
    """Float training images (the first ``n_train_max``) and a disjoint validation set."""
    from ..data import load

    (x, y), _ = load(quiet=True)
    x = x.astype("float32") / 255.0
    return (x[:n_train_max], y[:n_train_max]), (x[-VALIDATION:], y[-VALIDATION:])


def dropout_mask(shape, rate: float, draw: int) -> np.ndarray:
    """The keep-mask for ``draw`` (True = kept), reproducible from the draw number."""
    return np.random.default_rng(1000 + draw).random(shape) >= rate


_RESULTS: dict = {}  # (rate, n_train) -> what fit_small_mlp returned


def train_curve(rate: float, n_train: int) -> dict:
    """``fit_small_mlp(rate, n_train)``, trained once per pair and cached."""
    key = (rate, n_train)
    if key not in _RESULTS:
        _RESULTS[key] = fit_small_mlp(rate, n_train)
    return _RESULTS[key]


def fit_small_mlp(rate: float, n_train: int) -> dict:
    """Train a small MLP with dropout ``rate`` after each hidden layer; accuracies at inference."""
    from ..quiet import import_tensorflow

    _, keras = import_tensorflow()
    (x, y), (x_val, y_val) = data()
    keras.utils.set_random_seed(0)
    layers = [keras.Input(shape=(28, 28)), keras.layers.Flatten()]
    for k in range(2):  # Dropout(0) drops nothing; seeded: the same initial weights for any rate
        layers.append(keras.layers.Dense(HIDDEN, activation="relu"))
        layers.append(keras.layers.Dropout(rate, seed=k + 1))
    layers.append(keras.layers.Dense(10, activation="softmax"))
    model = keras.Sequential(layers)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x[:n_train], y[:n_train], epochs=EPOCHS, batch_size=128, verbose=0)
    # The gap the grader measures: accuracy at inference on the training images vs held-out ones.
    train_accuracy = model.evaluate(x[:n_train], y[:n_train], verbose=0, batch_size=1000)[1]
    val_accuracy = model.evaluate(x_val, y_val, verbose=0, batch_size=1000)[1]
    return {"train": float(train_accuracy), "val": float(val_accuracy)}


def figure(image, keep, rate, results, n_train):
    from ..plots import _plt

    plt = _plt()
    scaled = image * keep / (1 - rate)
    fig = plt.figure(figsize=(12, 3.4))
    grid = fig.add_gridspec(1, 6, width_ratios=[1, 1, 1, 0.07, 0.45, 2.6], wspace=0.3)
    top = max(1.0, float(scaled.max()))
    panels = [(image, "activations x", "viridis", (0, top)),
              (keep.astype(float), f"mask: {1 - keep.mean():.0%} dropped", "gray", (0, 1)),
              (scaled, f"x * mask / (1 - {rate:g})", "viridis", (0, top))]
    for k, (values, title, cmap, (low, high)) in enumerate(panels):
        ax = fig.add_subplot(grid[0, k])
        shown = ax.imshow(values, cmap=cmap, vmin=low, vmax=high)
        ax.set_title(title, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
        if k == 2:
            fig.colorbar(shown, cax=fig.add_subplot(grid[0, 3]))
    ax = fig.add_subplot(grid[0, 5])
    rates = sorted(results)
    if rates:
        train = [results[r]["train"] for r in rates]
        val = [results[r]["val"] for r in rates]
        ax.plot(rates, train, "o-", label="training images")
        ax.plot(rates, val, "s-", label="validation images")
        ax.fill_between(rates, val, train, alpha=0.15, color="crimson", label="gap")
        if rate in results:
            ax.axvline(rate, color="grey", lw=0.8, ls=":")
        ax.legend(fontsize=8, loc="best")
    ax.set_xlim(-0.03, max(RATES) + 0.03)
    ax.set_xlabel("dropout rate")
    ax.set_ylabel("accuracy (at inference)")
    ax.set_title(f"{n_train:,} training images, {EPOCHS} epochs", fontsize=9)
    ax.grid(alpha=0.3)
    return fig


def render(rate, draw, n_train, train=True, *, image=None):
    if image is None:
        (x, _), _ = data()
        image = x[0]
    keep = dropout_mask(image.shape, rate, draw)
    scaled = image * keep / (1 - rate)
    if train:
        train_curve(rate, n_train)
    results = {r: _RESULTS[(r, n)] for (r, n) in _RESULTS if n == n_train}
    rows = [
        ("rate", f"{rate:g}: each value is dropped with probability {rate:g}"),
        ("dropped", f"{1 - keep.mean():.1%} of the {keep.size} values "
                    f"(expected {rate:.0%})"),
        ("scale", f"kept values × 1/(1 - {rate:g}) = {1 / (1 - rate):.3g}"),
        ("mean", f"before {image.mean():.4f}, after {scaled.mean():.4f} (inverted dropout keeps "
                 "the mean: in expectation exactly, in one draw nearly)"),
        ("inference", "training=False: the identity, every value kept and unscaled"),
    ]
    if rate in results:
        r = results[rate]
        rows.append(("gap", f"training {r['train']:.2%} − validation {r['val']:.2%} = "
                            f"<b>{r['train'] - r['val']:+.2%}</b> "
                            f"({n_train:,} training images)"))
    table = "".join(f"<tr><td style='padding-right:1em'><b>{k}</b></td><td>{v}</td></tr>"
                    for k, v in rows)
    return f"<table>{table}</table>", figure(image, keep, rate, results, n_train)


def dropout_explorer(train: bool = True) -> Explorer:
    """The explorer: rate, mask draw and training-set size. ``train=False`` skips the models."""
    import ipywidgets as widgets

    controls = {
        "rate": widgets.SelectionSlider(options=RATES, value=0.5, description="rate"),
        "draw": widgets.IntSlider(value=0, min=0, max=9, description="mask draw"),
        "n_train": widgets.Dropdown(options=SIZES, value=1000, description="train size"),
    }
    if grading():  # inert while nbgrader grades: no data, no training, no drawing
        return Explorer(TITLE, controls, lambda **_: ("", None))
    return Explorer(TITLE, controls, lambda **values: render(**values, train=train))
