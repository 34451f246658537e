"""Lesson 04 explorer: an activation function and its derivative, side by side.

Pick the activation (and Leaky ReLU's slope or ELU's alpha), how far along x to look, and how
many layers a gradient passes through; the figure shows f(x) and f'(x) with the saturated
regions (f'(x) < 0.01) shaded, the panel the formulas, the largest slope and what that slope
does to a gradient after n layers. Pure NumPy: no TensorFlow needed.
"""
from __future__ import annotations

import numpy as np

from .base import Explorer, grading

TITLE = "Activation explorer: the function, its slope, and where it saturates"
SATURATED = 0.01  # a slope below this passes (almost) no gradient back
ACTIVATIONS = [("sigmoid", "sigmoid"), ("tanh", "tanh"), ("ReLU", "relu"),
               ("Leaky ReLU", "leaky_relu"), ("ELU", "elu"), ("softplus", "softplus")]
FORMULAS = {
    "sigmoid": ("σ(x) = 1 / (1 + e<sup>−x</sup>)", "σ'(x) = σ(x)·(1 − σ(x))"),
    "tanh": ("tanh(x) = 2σ(2x) − 1", "tanh'(x) = 1 − tanh(x)<sup>2</sup>"),
    "relu": ("relu(x) = max(x, 0)", "relu'(x) = 1 if x > 0, else 0"),
    "leaky_relu": ("leaky(x) = x if x > 0, else a·x", "leaky'(x) = 1 if x > 0, else a"),
    "elu": ("elu(x) = x if x > 0, else a·(e<sup>x</sup> − 1)", "elu'(x) = 1 if x > 0, else a·e<sup>x</sup>"),
    "softplus": ("softplus(x) = log(1 + e<sup>x</sup>)", "softplus'(x) = σ(x)"),
}


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # stable for any x


def function_and_slope(name: str, x: np.ndarray, a: float = 0.1):
    """``(f(x), f'(x))`` for one of the ACTIVATIONS; ``a`` is Leaky ReLU's slope / ELU's alpha."""
    if name == "sigmoid":
        s = _sigmoid(x)
        return s, s * (1 - s)
    if name == "tanh":
        t = np.tanh(x)
        return t, 1 - t ** 2
    if name == "relu":
        return np.maximum(x, 0), (x > 0).astype(float)
    if name == "leaky_relu":
        return np.where(x > 0, x, a * x), np.where(x > 0, 1.0, a)
    if name == "elu":
        e = np.exp(np.minimum(x, 0))
        return np.where(x > 0, x, a * (e - 1)), np.where(x > 0, 1.0, a * e)
    if name == "softplus":
        return np.logaddexp(0, x), _sigmoid(x)
    raise ValueError(f"unknown activation {name!r}")


def saturated_intervals(x: np.ndarray, slope: np.ndarray, threshold: float = SATURATED):
    """The stretches of x where |f'(x)| < threshold, as (start, end) pairs."""
    flat = np.abs(slope) < threshold
    intervals, start = [], None
    for xi, is_flat in zip(x, flat):
        if is_flat and start is None:
            start = xi
        elif not is_flat and start is not None:
            intervals.append((start, xi))
            start = None
    if start is not None:
        intervals.append((start, x[-1]))
    return intervals


def figure(name, label, x, f, slope, intervals):
    from ..plots import _plt

    plt = _plt()
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.4))
    left.plot(x, f, color="tab:blue", lw=2)
    left.set_title(f"{label}: f(x)")
    right.plot(x, slope, color="tab:orange", lw=2)
    right.set_title(f"{label}: slope f'(x)")
    right.axhline(SATURATED, color="crimson", lw=0.8, ls=":")
    for ax in (left, right):
        for start, end in intervals:
            ax.axvspan(start, end, color="crimson", alpha=0.12, lw=0)
        ax.axhline(0, color="grey", lw=0.6)
        ax.axvline(0, color="grey", lw=0.6)
        ax.set_xlabel("x")
        ax.grid(alpha=0.3)
        ax.set_xlim(x[0], x[-1])
    top = max(1.05, float(np.max(slope)) * 1.1)
    right.set_ylim(-0.05, top)
    if intervals:
        right.text(0.01, 0.97, f"shaded: saturated, f'(x) < {SATURATED}",
                   transform=right.transAxes, va="top", fontsize=9, color="crimson")
    fig.tight_layout()
    return fig


def render(activation, slope, x_range, layers):
    label = dict((v, k) for k, v in ACTIVATIONS)[activation]
    x = np.linspace(-x_range, x_range, 801)
    f, d = function_and_slope(activation, x, slope)
    intervals = saturated_intervals(x, d)
    max_slope = float(np.max(d))
    flat_share = float(np.mean(np.abs(d) < SATURATED))
    formula, derivative = FORMULAS[activation]
    uses_a = activation in ("leaky_relu", "elu")
    best = max_slope ** layers
    rows = [
        ("function", formula + (f", a = {slope:g}" if uses_a else "")),
        ("slope", derivative),
        ("outputs", f"from {f.min():.3g} to {f.max():.3g} for x in [−{x_range:g}, {x_range:g}]"),
        ("largest slope", f"<b>{max_slope:.3g}</b>"
                          + (" (at x = 0)" if activation in ("sigmoid", "tanh") else "")),
        ("saturated", f"{flat_share:.0%} of the x range shown has f'(x) < {SATURATED}"
                      + ("" if intervals else " (nowhere)")),
        (f"{layers} layers", f"the backward signal is multiplied by f'(x) once per layer: at "
                             f"best {max_slope:.3g}<sup>{layers}</sup> = <b>{best:.3g}</b> "
                             "(weights aside)"),
    ]
    if activation == "sigmoid":
        rows.append(("note", "even at its best (x = 0) the sigmoid passes on only a quarter of "
                             "the gradient: deep sigmoid stacks vanish."))
    elif activation == "tanh":
        rows.append(("note", "centred on 0, and slope 1 at x = 0 (four times the sigmoid's "
                             "best); but tanh saturates as the sigmoid does: tanh'(3) ≈ 0.0099. "
                             "Its gradients vanish too."))
    elif activation == "relu":
        rows.append(("note", "slope exactly 1 for every positive input: no shrinking there. "
                             "Negative inputs pass nothing back: a unit that is negative for "
                             "every input is 'dead'."))
    elif activation == "leaky_relu":
        rows.append(("note", "negative inputs keep a slope of a, so a unit never stops learning "
                             "completely. Default a: 0.2 in keras.activations.leaky_relu, 0.3 in "
                             "keras.layers.LeakyReLU, 0.01 in PyTorch."))
    elif activation == "elu":
        rows.append(("note", "negative inputs keep a slope of a·eˣ, so a unit never stops "
                             "learning completely."))
    table = "".join(f"<tr><td style='padding-right:1em'><b>{k}</b></td><td>{v}</td></tr>"
                    for k, v in rows)
    return f"<table>{table}</table>", figure(activation, label, x, f, d, intervals)


def activation_explorer() -> Explorer:
    """The explorer: activation, slope/alpha, x range and number of layers."""
    import ipywidgets as widgets

    controls = {
        "activation": widgets.Dropdown(options=ACTIVATIONS, value="sigmoid",
                                       description="activation"),
        "slope": widgets.FloatSlider(value=0.1, min=0.0, max=1.0, step=0.01,
                                     description="a (slope/alpha)"),
        "x_range": widgets.FloatSlider(value=8.0, min=1.0, max=20.0, step=0.5,
                                       description="x range ±"),
        "layers": widgets.IntSlider(value=10, min=1, max=30, description="layers"),
    }
    if grading():  # inert while nbgrader grades
        return Explorer(TITLE, controls, lambda **_: ("", None))
    return Explorer(TITLE, controls, render)
