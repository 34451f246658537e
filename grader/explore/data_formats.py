"""Lesson 02 explorer: one real batch of images in channels_last and channels_first.

Pick the layout you want, the operation that gets you there (expand_dims on the grey batch; a
transpose or a wrong reshape on a colour batch stored in the other layout), the number of
channels and an image; the panel shows the code, the shapes with their axis names and whether
the result is right, the figure shows the image's channel planes before and after.
"""
from __future__ import annotations

import html
import sys
from functools import lru_cache

import numpy as np

from .base import Explorer, grading

TITLE = "Layout explorer: channels_last vs channels_first on a real batch"
BATCH = 16
SHIFT = 3  # the colour batch: red = the image, green = shifted right, blue = shifted down
LAYOUTS = ["channels_last", "channels_first"]
OPERATIONS = [
    ("expand_dims: add the channel axis to the grey (N, 28, 28) batch", "expand_dims"),
    ("transpose: convert a batch stored in the other layout", "transpose"),
    ("reshape: the same conversion done wrong", "reshape"),
]
CHANNELS = [("3 (colour)", 3), ("1 (grey)", 1)]
AXES = {"channels_last": "NHWC", "channels_first": "NCHW"}
PLANE_COLOURS = ["Reds", "Greens", "Blues"]


@lru_cache(maxsize=2)
def real_batch(n: int = BATCH):
    """The first ``n`` training images (uint8, (n, 28, 28)) and their class names."""
    from ..data import CLASS_NAMES, load

    splits = load(quiet=True)
    (x, y), _ = splits
    return x[:n], [CLASS_NAMES[splits.name][label] for label in y[:n]]


def colour_batch(grey: np.ndarray) -> np.ndarray:
    """(N, 28, 28) -> (N, 28, 28, 3): red is the image, green and blue are shifted copies."""
    return np.stack([grey, np.roll(grey, SHIFT, axis=2), np.roll(grey, SHIFT, axis=1)], axis=-1)


def convert(grey: np.ndarray, layout: str, operation: str, channels: int):
    """``(source, source_layout, result, correct_result, code)`` for one choice of controls."""
    n = len(grey)
    if operation == "expand_dims":
        axis = -1 if layout == "channels_last" else 1
        result = np.expand_dims(grey, axis)
        return grey, None, result, result, f"np.expand_dims(batch, axis={axis})"
    last = colour_batch(grey) if channels == 3 else grey[..., np.newaxis]
    if layout == "channels_last":  # the batch arrives channels_first
        source, source_layout, perm = np.transpose(last, (0, 3, 1, 2)), "channels_first", (0, 2, 3, 1)
        target_shape = (n, 28, 28, channels)
    else:
        source, source_layout, perm = last, "channels_last", (0, 3, 1, 2)
        target_shape = (n, channels, 28, 28)
    correct = np.transpose(source, perm)
    if operation == "transpose":
        return source, source_layout, correct, correct, f"np.transpose(batch, {perm})"
    shape_text = ", ".join(str(s) for s in target_shape)
    return (source, source_layout, source.reshape(target_shape), correct,
            f"batch.reshape({shape_text})")


def planes(image: np.ndarray, layout: str | None) -> np.ndarray:
    """One image's channel planes, (C, H, W), reading its axes the way ``layout`` says."""
    if layout is None:  # a grey image without a channel axis
        return image[np.newaxis]
    return np.moveaxis(image, -1, 0) if layout == "channels_last" else image


def labelled_shape(shape: tuple, layout: str | None) -> str:
    names = "NHW" if layout is None else AXES[layout]
    return "(" + ", ".join(f"{name}={size}" for name, size in zip(names, shape)) + ")"


def _row(axes, image_planes, title, colour, channel_axis=True):
    count = len(image_planes)
    if colour and count == 3:
        composite = np.moveaxis(image_planes, 0, -1).astype("float32") / 255.0
        axes[0].imshow(composite)
        axes[0].set_title(f"{title}\nas a colour image", fontsize=9)
    for c in range(count):
        ax = axes[c + (1 if colour and count == 3 else 0)]
        cmap = PLANE_COLOURS[c] if count == 3 else "gray_r"
        ax.imshow(image_planes[c], cmap=cmap, vmin=0, vmax=255)
        name = "RGB"[c] if count == 3 else "grey"
        ax.set_title(f"channel {c} ({name})" if channel_axis else "the image (28 x 28)",
                     fontsize=9)


def figure(source, source_layout, result, layout, index, label, ok):
    from ..plots import _plt

    plt = _plt()
    before, after = planes(source[index], source_layout), planes(result[index], layout)
    columns = max(len(before), len(after)) + (1 if max(len(before), len(after)) == 3 else 0)
    fig, axes = plt.subplots(2, columns, figsize=(2.3 * columns + 1.6, 5.0), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    _row(axes[0], before, f"input [{index}]", True, source_layout is not None)
    _row(axes[1], after, f"output [{index}]", True)
    layout_text = source_layout or "no channel axis"
    axes[0][0].text(-0.15, 0.5, f"input\n({layout_text})", transform=axes[0][0].transAxes,
                    ha="right", va="center", fontsize=10)
    axes[1][0].text(-0.15, 0.5, f"output\nread as\n{layout}", transform=axes[1][0].transAxes,
                    ha="right", va="center", fontsize=10, color="black" if ok else "crimson")
    fig.suptitle(f"image {index} ({label}): " + ("right" if ok else "SCRAMBLED"),
                 color="black" if ok else "crimson")
    fig.tight_layout()
    return fig


def _keras_default() -> str:
    keras = sys.modules.get("keras")  # never import Keras just for this line
    try:
        return keras.config.image_data_format()
    except AttributeError:
        return "channels_last (Keras' default)"


def render(layout, operation, channels, index, *, batch=None):
    grey, labels = batch if batch is not None else real_batch()
    index = min(index, len(grey) - 1)
    source, source_layout, result, correct, code = convert(grey, layout, operation, channels)
    ok = result.shape == correct.shape and np.array_equal(result, correct)
    moved = float(np.mean(result != correct)) if result.shape == correct.shape else 1.0
    rows = [
        ("code", f"<code>out = {html.escape(code)}</code>"),
        ("input", f"<code>{labelled_shape(source.shape, source_layout)}</code> "
                  f"{source_layout or 'grey, no channel axis'}"),
        ("output", f"<code>{labelled_shape(result.shape, layout)}</code> read as {layout}"),
        ("Keras expects", f"<code>keras.config.image_data_format()</code> = "
                          f"<b>{html.escape(_keras_default())}</b>"),
    ]
    if ok:
        verdict = "<span style='color:green'>✓ every pixel is where the layout says</span>"
        if operation == "reshape":
            verdict += (" (with one channel, reshape and transpose happen to agree: that is "
                        "why this bug hides on grey MNIST and shows on colour images)")
    else:
        verdict = (f"<span style='color:crimson'>✗ same shape as the right answer, but "
                   f"{moved:.0%} of the values differ from the right answer</span>: reshape kept the "
                   "memory order and re-cut it, so neighbouring values of one channel became "
                   "the channels of one pixel. Use a transpose.")
    rows.append(("result", verdict))
    if operation == "expand_dims" and channels == 3:
        rows.append(("note", "expand_dims works on the grey batch: it adds one channel, so "
                             "the channels control does not apply."))
    table = "".join(f"<tr><td style='padding-right:1em'><b>{k}</b></td><td>{v}</td></tr>"
                    for k, v in rows)
    fig = figure(source, source_layout, result, layout, index, labels[index], ok)
    return f"<table>{table}</table>", fig


def layout_explorer(n_images: int = BATCH) -> Explorer:
    """The explorer: layout, operation, channels and image index over a real batch."""
    import ipywidgets as widgets

    controls = {
        "layout": widgets.Dropdown(options=LAYOUTS, value="channels_last", description="layout"),
        "operation": widgets.Dropdown(options=OPERATIONS, value="transpose",
                                      description="operation",
                                      layout=widgets.Layout(width="470px")),
        "channels": widgets.Dropdown(options=CHANNELS, value=3, description="channels"),
        "index": widgets.IntSlider(value=0, min=0, max=n_images - 1, description="image"),
    }
    if grading():  # inert while nbgrader grades: no data, no drawing
        return Explorer(TITLE, controls, lambda **_: ("", None))
    batch = real_batch(n_images)
    return Explorer(TITLE, controls, lambda **values: render(**values, batch=batch))
