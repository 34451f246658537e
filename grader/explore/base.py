"""What every explorer shares: controls that re-render a text panel and a figure.

Views are an ``HTML`` and an ``Image`` widget (not an ``Output``), so a test can set control
values and read what changed without a running kernel. While nbgrader grades a notebook
(``NBGRADER_EXECUTION`` is set) an explorer renders nothing and never waits for input.
"""
from __future__ import annotations

import os
from typing import Callable

from ..plots import figure_png


def grading() -> bool:
    return bool(os.environ.get("NBGRADER_EXECUTION"))


class Explorer:
    """``controls``: name -> ipywidget; ``render(**values)`` -> ``(html, figure or None)``."""

    def __init__(self, title: str, controls: dict, render: Callable[..., tuple]):
        import ipywidgets as widgets

        self.title, self.controls, self._render = title, controls, render
        self.html = widgets.HTML()
        self.image = widgets.Image(format="png", layout=widgets.Layout(max_width="900px"))
        self.renders = 0
        if grading():
            self.html.value = f"<i>{title}: explorer skipped while grading.</i>"
            self.widget = widgets.VBox([self.html])
            return
        for control in controls.values():
            control.observe(lambda _change: self.update(), names="value")
        self.widget = widgets.VBox([
            widgets.HTML(f"<b>{title}</b>"),
            widgets.HBox(list(controls.values()), layout=widgets.Layout(flex_flow="row wrap")),
            self.html,
            self.image,
        ])
        self.update()

    @property
    def values(self) -> dict:
        return {name: control.value for name, control in self.controls.items()}

    def update(self) -> None:
        html, figure = self._render(**self.values)
        self.html.value = html
        self.image.value = figure_png(figure) if figure is not None else b""
        self.renders += 1

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)
