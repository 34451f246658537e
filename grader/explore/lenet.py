"""Lesson 07 explorer: what LeNet-5 sees, layer by layer.

``feature_maps(model, images, labels=None, class_names=None)``: choose a test image (index
slider) and a layer (conv1, pool1, conv2, pool2: the model's first four convolution and pooling
layers, whatever they are called); the figure shows the image and that layer's feature maps
for it, one small picture per channel, and for a convolution also its learned filters (for
conv2, every 5x5 slice: one row per input channel, one column per filter). The panel gives the
prediction, the layer's output shape and parameters, and how many activations are zero.
"""
from __future__ import annotations

import html as html_lib

import numpy as np

from ..quiet import import_keras
from .base import Explorer, grading

TITLE = "Feature-map explorer: what each layer of LeNet-5 computes"
LAYER_NAMES = ["conv1", "pool1", "conv2", "pool2"]


def spatial_layers(model) -> list:
    """The first four convolution / pooling layers of ``model``, in order."""
    keras = import_keras()
    kinds = (keras.layers.Conv2D, keras.layers.AveragePooling2D, keras.layers.MaxPooling2D)
    return [layer for layer in model.layers if isinstance(layer, kinds)][:4]



def probe(model):
    """A model that maps an image batch to the outputs of the four layers and the prediction."""
    keras = import_keras()
    layers = spatial_layers(model)
    # one input tensor, not the list model.inputs: called on one array, a model built on a list
    # warns that the structures differ
    outputs = [layer.output for layer in layers] + [model.outputs[0]]
    return keras.Model(model.inputs[0], outputs), layers


def maps_figure(image, maps, layer, title: str):
    """The image, the layer's feature maps, and (for a convolution) its filters."""
    from ..plots import _plt

    plt = _plt()
    keras = import_keras()
    channels = maps.shape[-1]
    is_conv = isinstance(layer, keras.layers.Conv2D)
    kernel = layer.get_weights()[0] if is_conv else None
    filter_rows = 0 if kernel is None else kernel.shape[2]
    cols = max(channels, 6)
    rows = 1 + filter_rows  # the maps on one row, then one row of filters per input channel
    width = min(1.0 * (cols + 2), 16)
    fig = plt.figure(figsize=(width, width / (cols + 2) * 1.25 * rows + 0.6))
    grid = fig.add_gridspec(rows, cols + 2)
    ax = fig.add_subplot(grid[0, 0:2])
    ax.imshow(np.squeeze(image), cmap="gray_r")
    ax.set_title("input", fontsize=9)
    ax.axis("off")
    low, high = float(maps.min()), float(maps.max())
    for c in range(channels):
        ax = fig.add_subplot(grid[0, 2 + c])
        ax.imshow(maps[..., c], cmap="viridis", vmin=low, vmax=high)
        ax.set_title(f"{c}", fontsize=8)
        ax.axis("off")
    if kernel is not None:
        bound = float(np.abs(kernel).max()) or 1.0
        for i in range(kernel.shape[2]):
            for f in range(kernel.shape[3]):
                if f >= cols:
                    continue
                ax = fig.add_subplot(grid[1 + i, 2 + f])
                ax.imshow(kernel[:, :, i, f], cmap="RdBu_r", vmin=-bound, vmax=bound)
                ax.set_xticks([])
                ax.set_yticks([])
                if f == 0:
                    ax.set_ylabel(f"in {i}", fontsize=7)
                if i == 0:
                    ax.set_title(f"filter {f}", fontsize=7)
    fig.suptitle(title, fontsize=10)
    return fig


def render(index: int, layer: str, *, images, labels, class_names, model_probe, layers):
    position = LAYER_NAMES.index(layer)
    chosen = layers[position]
    image = images[index]
    outputs = model_probe(image[None], training=False)
    maps = np.asarray(outputs[position])[0]
    probabilities = np.asarray(outputs[-1])[0]
    predicted = int(np.argmax(probabilities))
    name = (lambda k: class_names[k] if class_names is not None else str(k))
    truth = "" if labels is None else f"; true class <b>{html_lib.escape(name(int(labels[index])))}</b>"
    kind = type(chosen).__name__
    params = chosen.count_params()
    zero = float(np.mean(maps == 0))
    rows = [
        ("image", f"test image {index}: predicted <b>{html_lib.escape(name(predicted))}</b> "
                  f"({probabilities[predicted]:.1%}){truth}"),
        ("layer", f"{layer} = {html_lib.escape(chosen.name)} ({kind}): output "
                  f"{maps.shape[0]}x{maps.shape[1]}x{maps.shape[2]}, {params:,} parameters"),
        ("activations", f"from {maps.min():.3f} to {maps.max():.3f}; {zero:.0%} are exactly 0"
                        + (" (ReLU switched them off)" if zero > 0.05 else "")),
    ]
    if kind == "Conv2D":
        k = chosen.kernel_size
        rows.append(("filters", f"{chosen.filters} filters of {k[0]}x{k[1]}x"
                                f"{chosen.get_weights()[0].shape[2]} weights + 1 bias each "
                                "(blue negative, red positive)"))
    else:
        rows.append(("pooling", "each map is the previous layer's map averaged over 2x2 blocks: "
                                "half the height and width, the same number of channels"
                                if "Average" in kind else "each map keeps the maximum of every "
                                                          "2x2 block"))
    table = "<table>" + "".join(
        f"<tr><td style='padding-right:1em'><b>{k}</b></td><td>{v}</td></tr>" for k, v in rows
    ) + "</table>"
    figure = maps_figure(image, maps, chosen, f"{layer}: {maps.shape[-1]} feature maps of "
                                              f"{maps.shape[0]}x{maps.shape[1]}")
    return table, figure


def feature_maps(model, images, labels=None, class_names=None) -> Explorer:
    """The explorer for a (trained) LeNet-5 and some test images (N, 28, 28, 1) in [0, 1]."""
    import ipywidgets as widgets

    controls = {
        "index": widgets.IntSlider(value=0, min=0, max=max(len(images) - 1, 0),
                                   description="test image"),
        "layer": widgets.Dropdown(options=LAYER_NAMES, value="conv1", description="layer"),
    }
    if grading():  # inert while nbgrader grades: no model calls
        return Explorer(TITLE, controls, lambda **_: ("", None))
    model_probe, layers = probe(model)
    if len(layers) < 4:
        raise ValueError(f"feature_maps needs a model with two convolution and two pooling "
                         f"layers; found {[type(layer).__name__ for layer in layers]}.")
    images = np.asarray(images, dtype="float32")
    return Explorer(TITLE, controls,
                    lambda **values: render(**values, images=images, labels=labels,
                                            class_names=class_names, model_probe=model_probe,
                                            layers=layers))
