"""Plots the lessons share: image grids, single images, training curves.

Each function draws into a new matplotlib figure and returns it; notebooks show it inline,
explorers turn it into PNG bytes with ``figure_png``.
"""
from __future__ import annotations

import io

import numpy as np


def _plt():
    import matplotlib

    if matplotlib.get_backend().lower().startswith("qt"):  # never open a window
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def image_grid(images, labels=None, *, ncols: int = 8, titles=None, cmap: str = "gray_r",
               size: float = 1.2, suptitle: str | None = None):
    """Show up to a few dozen images (N,H,W) or (N,H,W,1) in a grid, titled by label."""
    plt = _plt()
    images = np.asarray(images)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    count = len(images)
    nrows = max(1, int(np.ceil(count / ncols)))
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * size, nrows * size * 1.15),
                             squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= count:
            continue
        ax.imshow(images[i], cmap=cmap)
        if titles is not None:
            ax.set_title(str(titles[i]), fontsize=8)
        elif labels is not None:
            ax.set_title(str(labels[i]), fontsize=9)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def show_image(image, title: str | None = None, *, cmap: str = "gray_r", colorbar: bool = False):
    """One image with its pixel grid visible (and an optional colour bar of its values)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(3.2, 3.2))
    shown = ax.imshow(np.squeeze(image), cmap=cmap)
    if title:
        ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
    if colorbar:
        fig.colorbar(shown, ax=ax, fraction=0.046)
    fig.tight_layout()
    return fig


def training_curves(history, metrics=("loss", "accuracy")):
    """Training and validation curves from ``model.fit(...).history`` (or the History itself)."""
    plt = _plt()
    logs = getattr(history, "history", history)
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.5 * len(metrics), 3.2), squeeze=False)
    for ax, metric in zip(axes.flat, metrics):
        for key, label in ((metric, "training"), (f"val_{metric}", "validation")):
            if key in logs:
                epochs = np.arange(1, len(logs[key]) + 1)
                ax.plot(epochs, logs[key], marker="o", label=label)
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.legend()
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def confusion_matrix(confusion, class_names, *, title: str | None = None):
    """Draw a (classes x classes) count matrix: rows the true class, columns the predicted one,
    every non-zero count written in its cell."""
    plt = _plt()
    confusion = np.asarray(confusion)
    classes = len(confusion)
    fig, ax = plt.subplots(figsize=(6.4, 5.6))
    shown = ax.imshow(confusion, cmap="Blues")
    for i in range(classes):
        for j in range(classes):
            if confusion[i, j]:
                ax.text(j, i, confusion[i, j], ha="center", va="center", fontsize=7,
                        color="white" if confusion[i, j] > confusion.max() / 2 else "black")
    ax.set_xticks(range(classes))
    ax.set_xticklabels(class_names, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(classes))
    ax.set_yticklabels(class_names, fontsize=8)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    if title:
        ax.set_title(title)
    fig.colorbar(shown, ax=ax, fraction=0.046)
    fig.tight_layout()
    return fig


def figure_png(fig, dpi: int = 90) -> bytes:
    """PNG bytes of a figure, which is then closed (explorers redraw many times)."""
    plt = _plt()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()
