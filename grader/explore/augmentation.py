"""Lesson 06 explorer: a preview of what a preprocessing layer does to a few training images.

Controls: which transform (rotation, translation, zoom, or all three), its factor, the fill mode,
and which random draw. The panel spells out the layer and what its factor means in degrees or
pixels (and whether that is a sensible range for digits); the figure shows each image next to
several augmented copies. No training: every change renders in well under a second.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from .base import Explorer, grading

TITLE = "Augmentation preview: what a random layer does to the images"
TRANSFORMS = ["rotation", "translation", "zoom", "all three"]
FILL_MODES = ["constant", "reflect", "nearest", "wrap"]
N_IMAGES = 4
N_COPIES = 6


@lru_cache(maxsize=2)
def preview_images(n: int = N_IMAGES):
    """The first training image of ``n`` different classes, float (n, 28, 28, 1) in [0, 1],
    their labels, and the dataset's name."""
    from ..data import load

    splits = load(quiet=True)
    (x, y), _ = splits
    picks = [int(np.flatnonzero(y == label)[0]) for label in (2, 4, 6, 7)[:n]]
    return x[picks][..., None].astype("float32") / 255.0, y[picks], splits.name


def make_layers(keras, transform: str, factor: float, fill_mode: str, seed: int) -> list:
    layers = keras.layers
    kwargs = dict(fill_mode=fill_mode, seed=seed)
    made = []
    if transform in ("rotation", "all three"):
        made.append(layers.RandomRotation(factor, **kwargs))
    if transform in ("translation", "all three"):
        made.append(layers.RandomTranslation(factor, factor, **kwargs))
    if transform in ("zoom", "all three"):
        made.append(layers.RandomZoom(factor, **kwargs))
    return made


def layer_code(transform: str, factor: float, fill_mode: str) -> list[str]:
    fill = f'fill_mode="{fill_mode}"'
    code = {"rotation": f"layers.RandomRotation({factor:g}, {fill})",
            "translation": f"layers.RandomTranslation({factor:g}, {factor:g}, {fill})",
            "zoom": f"layers.RandomZoom({factor:g}, {fill})"}
    return list(code.values()) if transform == "all three" else [code[transform]]


def meaning(transform: str, factor: float) -> list[tuple[str, str]]:
    from ..lessons.augmentation import MAX_ROTATION, MAX_TRANSLATION, MAX_ZOOM

    def verdict(ok):
        return ("<span style='color:#2a7d2a'>a sensible range for digits</span>" if ok else
                "<span style='color:#b00020'>too strong for digits</span>")

    rows = []
    if transform in ("rotation", "all three"):
        rows.append(("rotation", f"factor {factor:g} of a full turn (2π) = up to "
                                 f"±{360 * factor:.1f}°: {verdict(factor <= MAX_ROTATION)}"))
    if transform in ("translation", "all three"):
        rows.append(("translation", f"factor {factor:g} of the height and width = up to "
                                    f"±{28 * factor:.1f} px of 28: "
                                    f"{verdict(factor <= MAX_TRANSLATION)}"))
    if transform in ("zoom", "all three"):
        rows.append(("zoom", f"factor {factor:g} = height and width scaled by up to "
                             f"±{factor:.0%}: {verdict(factor <= MAX_ZOOM)}"))
    return rows


def figure(images, copies, labels, class_names, title):
    from ..plots import _plt

    plt = _plt()
    n, k = copies.shape[:2]
    fig, axes = plt.subplots(n, k + 1, figsize=(1.25 * (k + 1), 1.3 * n), squeeze=False)
    for i in range(n):
        for j in range(k + 1):
            ax = axes[i, j]
            shown = images[i] if j == 0 else copies[i, j - 1]
            ax.imshow(shown[..., 0], cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if j == 0:
                ax.set_ylabel(str(class_names[labels[i]]), fontsize=8)
                for side in ax.spines.values():
                    side.set_color("tab:orange")
                    side.set_linewidth(2)
            if i == 0:
                ax.set_title("original" if j == 0 else f"copy {j}", fontsize=8)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


def render(transform, factor, fill_mode, draw, *, data=None):
    from ..data import CLASS_NAMES
    from ..quiet import import_tensorflow

    _, keras = import_tensorflow()
    images, labels, name = data if data is not None else preview_images()
    if factor == 0:
        copies = np.repeat(images[:, None], N_COPIES, axis=1)
    else:
        augment = keras.Sequential(make_layers(keras, transform, factor, fill_mode, 100 + draw))
        batch = np.repeat(images, N_COPIES, axis=0)  # N_COPIES copies of each image, in a row
        copies = np.asarray(augment(batch, training=True)).reshape(
            len(images), N_COPIES, *images.shape[1:])
    kept = float(copies.sum() / (N_COPIES * images.sum()))
    rows = [("layer" + ("s" if transform == "all three" else ""),
             "<br>".join(f"<code>{c}</code>" for c in layer_code(transform, factor, fill_mode)))]
    rows += meaning(transform, factor) if factor > 0 else [("factor 0", "the identity")]
    rows.append(("fill", {"constant": "uncovered pixels are black (0), like the background",
                          "reflect": "uncovered pixels mirror the image at its edge (the "
                                     "default): strokes near the border are copied back in",
                          "nearest": "uncovered pixels repeat the nearest edge pixel",
                          "wrap": "what leaves one side comes back on the other"}[fill_mode]))
    rows.append(("ink kept", f"{kept:.0%} of the original brightness (copies average)"))
    table = "".join(f"<tr><td style='padding-right:1em'><b>{k}</b></td><td>{v}</td></tr>"
                    for k, v in rows)
    title = (f"{transform}, factor {factor:g}, fill_mode={fill_mode!r}, draw {draw} "
             f"({name})")
    return f"<table>{table}</table>", figure(images, copies, labels, CLASS_NAMES[name], title)


def augmentation_explorer() -> Explorer:
    """The explorer: transform, factor, fill mode and random draw."""
    import ipywidgets as widgets

    controls = {
        "transform": widgets.Dropdown(options=TRANSFORMS, value="all three",
                                      description="transform"),
        "factor": widgets.FloatSlider(value=0.05, min=0.0, max=0.5, step=0.01,
                                      description="factor", readout_format=".2f"),
        "fill_mode": widgets.Dropdown(options=FILL_MODES, value="constant",
                                      description="fill_mode"),
        "draw": widgets.IntSlider(value=0, min=0, max=9, description="redraw"),
    }
    if grading():  # inert while nbgrader grades: no data, no drawing
        return Explorer(TITLE, controls, lambda **_: ("", None))
    return Explorer(TITLE, controls, render)
