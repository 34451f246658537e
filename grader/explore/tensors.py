"""Lesson 01 explorer: one real batch of images, viewed as tensors of different shapes.

Pick how many images, which view (reshape or index) and the dtype; the panel shows the code,
shape, rank, dtype, element count and memory, and the figure shows what that tensor holds.
"""
from __future__ import annotations

import html

import numpy as np

from .base import Explorer, grading

MAX_IMAGES = 32
ROW = 14  # the pixel row (and column) the single-row and single-pixel views pick

VIEWS = [
    ("(N, 28, 28): a batch of images", "batch"),
    ("(N, 784): one row per image", "rows"),
    ("(N, 28, 28, 1): with a channel axis", "channels"),
    ("(28, 28): one image", "image"),
    ("(784,): one image as a row of pixels", "row"),
    ("(28,): one line of one image", "line"),
    ("(): one pixel", "pixel"),
    ("(N*784,): everything in one line", "all"),
]
CODE = {
    "batch": "batch",
    "rows": "batch.reshape(-1, 784)",
    "channels": "batch.reshape(-1, 28, 28, 1)",
    "image": "batch[i]",
    "row": "batch[i].reshape(-1)",
    "line": f"batch[i, {ROW}]",
    "pixel": f"batch[i, {ROW}, {ROW}]",
    "all": "batch.reshape(-1)",
}
MEANING = {
    "batch": "N images, each 28 rows of 28 pixels: what <code>load()</code> gives you.",
    "rows": "the same pixels, each image read row by row into 784 numbers: what a Dense layer "
            "takes. Every 28 columns a new image row starts.",
    "channels": "the same pixels with a last axis of size 1 (one grey channel): what Conv2D "
                "layers take. Nothing moved; the shape only gained a 1.",
    "image": "one image: a matrix (rank 2).",
    "row": "one image's 784 pixels in a line (rank 1): strokes become bursts of bright pixels, "
           "one burst per image row they cross.",
    "line": f"image row {ROW} of one image: 28 pixel values (rank 1).",
    "pixel": "a single number (rank 0, shape ()).",
    "all": "every pixel of every image in one line: the batch axis is gone, so Keras could no "
           "longer tell where one image ends. Keep the batch axis.",
}


def _tensor(batch: np.ndarray, view: str, i: int) -> np.ndarray:
    return {
        "batch": lambda: batch,
        "rows": lambda: batch.reshape(-1, 784),
        "channels": lambda: batch.reshape(-1, 28, 28, 1),
        "image": lambda: batch[i],
        "row": lambda: batch[i].reshape(-1),
        "line": lambda: batch[i, ROW],
        "pixel": lambda: batch[i, ROW, ROW],
        "all": lambda: batch.reshape(-1),
    }[view]()


def _figure(t: np.ndarray, view: str, batch: np.ndarray, i: int, titles: list[str]):
    from ..plots import _plt, image_grid

    plt = _plt()
    if view in ("batch", "channels"):
        return image_grid(t, titles=titles, ncols=min(8, len(t)),
                          suptitle=f"t = {CODE[view]}: shape {t.shape}, {t.dtype}")
    if view == "image":
        fig, ax = plt.subplots(figsize=(3.6, 3.2))
        shown = ax.imshow(t, cmap="gray_r")
        fig.colorbar(shown, ax=ax, fraction=0.046)
        ax.set_title(f"batch[{i}] ({titles[i]}): shape {t.shape}, {t.dtype}")
        return fig
    if view == "rows":
        fig, ax = plt.subplots(figsize=(9, 0.6 + 0.25 * len(t)))
        shown = ax.imshow(t, cmap="gray_r", aspect="auto", interpolation="nearest")
        fig.colorbar(shown, ax=ax, pad=0.01, label=str(t.dtype))
        ax.set_xticks(np.arange(0, 785, 112))
        ax.set_xlabel("pixel index (0..783); a new image row starts every 28")
        ax.set_ylabel("image")
        ax.set_title(f"batch.reshape(-1, 784): shape {t.shape}, {t.dtype}")
        fig.tight_layout()
        return fig
    if view in ("row", "all"):
        fig, axes = plt.subplots(2, 1, figsize=(9, 2.8), height_ratios=[1, 2], sharex=True)
        axes[0].imshow(t[np.newaxis, :], cmap="gray_r", aspect="auto", interpolation="nearest")
        axes[0].set_yticks([])
        axes[1].plot(t, lw=0.7)
        step = 784 if view == "all" else 28
        for x in range(step, len(t), step):
            axes[1].axvline(x, color="0.85", lw=0.5, zorder=0)
        axes[1].set_xlabel("position in the vector" +
                           (" (grey lines: image boundaries)" if view == "all" else
                            " (grey lines: image rows)"))
        axes[1].set_ylabel("value")
        axes[0].set_title(f"{CODE[view]}: shape {t.shape}, {t.dtype}")
        fig.tight_layout()
        return fig
    fig, axes = plt.subplots(1, 2, figsize=(7, 2.8), width_ratios=[1, 1.4])
    axes[0].imshow(batch[i], cmap="gray_r")
    axes[0].set_xticks([])
    axes[0].set_yticks([])
    if view == "line":
        axes[0].axhline(ROW, color="tab:red", lw=1.5)
        axes[1].bar(np.arange(28), t, color="tab:red")
        axes[1].set_xlabel(f"column in row {ROW}")
        axes[1].set_ylabel("pixel value")
    else:
        axes[0].plot([ROW], [ROW], "o", mfc="none", mec="tab:red", ms=9, mew=2)
        axes[1].axis("off")
        axes[1].text(0.5, 0.5, f"{t.item():g}", fontsize=36, ha="center", va="center")
    axes[0].set_title(f"batch[{i}] ({titles[i]})")
    axes[1].set_title(f"{CODE[view]}: shape {t.shape}, {t.dtype}")
    fig.tight_layout()
    return fig


def shape_explorer(images=None, labels=None, class_names=None) -> Explorer:
    """Explore reshapes and indexing on a real batch (default: the course dataset's first images)."""
    import ipywidgets as widgets

    controls = {
        "count": widgets.IntSlider(value=8, min=1, max=MAX_IMAGES, description="images N"),
        "view": widgets.Dropdown(options=VIEWS, value="batch", description="tensor",
                                 layout=widgets.Layout(width="360px")),
        "index": widgets.IntSlider(value=0, min=0, max=MAX_IMAGES - 1, description="image i"),
        "dtype": widgets.ToggleButtons(options=[("uint8 (raw)", "uint8"),
                                                ("float32 / 255", "float32")], value="uint8"),
    }
    title = "Shapes and ranks of one batch"
    if grading():  # never load data or draw while nbgrader runs the notebook
        return Explorer(title, controls, lambda **_: ("", None))

    if images is None:
        from .. import data

        splits = data.load(quiet=True)
        (images, labels), _ = splits
        class_names = class_names or data.CLASS_NAMES[splits.name]
    images = np.asarray(images)[:MAX_IMAGES]
    labels = None if labels is None else np.asarray(labels)[:MAX_IMAGES]
    if labels is None:
        titles = [f"#{k}" for k in range(len(images))]
    else:
        titles = [str(class_names[int(y)]) if class_names else str(int(y)) for y in labels]
    controls["count"].max = len(images)
    controls["count"].value = min(8, len(images))

    def render(count, view, index, dtype):
        i = min(index, count - 1)
        batch = images[:count]
        if dtype == "float32":
            batch = batch.astype("float32") / 255
        t = _tensor(batch, view, i)
        source = ("batch = x_train[:N]" if dtype == "uint8"
                  else 'batch = x_train[:N].astype("float32") / 255')
        note = (f"<br><i>image i = {index} is past the batch (N = {count}): showing image {i}.</i>"
                if index != i and view in ("image", "row", "line", "pixel") else "")
        rows = [
            ("code", f"<code>{html.escape(source)}; N = {count}; i = {i}<br>"
                     f"t = {html.escape(CODE[view])}</code>"),
            ("shape", f"<code>{t.shape}</code>"),
            ("rank (ndim)", f"{t.ndim}"),
            ("dtype", f"<code>{t.dtype}</code>"),
            ("elements (size)", f"{t.size:,}" + (" = " + " x ".join(map(str, t.shape))
                                                 if t.ndim > 1 else "")),
            ("memory", f"{t.nbytes:,} bytes ({t.dtype.itemsize} per element)"),
            ("values", f"{float(np.min(t)):g} .. {float(np.max(t)):g}"),
        ]
        table = "".join(f"<tr><td style='padding-right:1em'><b>{k}</b></td><td>{v}</td></tr>"
                        for k, v in rows)
        text = (f"<table>{table}</table><p>This is {MEANING[view]}{note}</p>")
        return text, _figure(t, view, batch, i, titles)

    return Explorer(title, controls, render)
