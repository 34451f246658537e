"""What every explorer shares: controls that re-render a text panel and a figure.

Views are an ``HTML`` and an ``Image`` widget (not an ``Output``), so a test can set control
values and read what changed without a running kernel. While nbgrader grades a notebook
(``NBGRADER_EXECUTION`` is set) an explorer renders nothing and never waits for input.

Two options serve explorers whose render is slow (training a model):
- ``button="Train"``: control changes only mark the result stale; the button (``explorer.run()``
  in a test) renders.
- ``progress=True``: render is also given ``progress=explorer.show``, which it may call with
  ``(html, figure)`` as often as it likes (after every epoch) to update the views at once.
"""
from __future__ import annotations

from typing import Callable

from ..plots import figure_png
from ..quiet import grading


class Explorer:
    """``controls``: name -> ipywidget; ``render(**values)`` -> ``(html, figure or None)``."""

    def __init__(self, title: str, controls: dict, render: Callable[..., tuple], *,
                 button: str | None = None, progress: bool = False):
        import ipywidgets as widgets

        self.title, self.controls, self._render = title, controls, render
        self.progress = progress
        self.html = widgets.HTML()
        self.image = widgets.Image(format="png", layout=widgets.Layout(max_width="900px"))
        self.status = widgets.HTML()
        self.button = None
        self.renders = 0
        if grading():
            self.html.value = f"<i>{title}: explorer skipped while grading.</i>"
            self.widget = widgets.VBox([self.html])
            return
        for control in controls.values():  # show labels whole ("learning rate", not "learnin...")
            if hasattr(getattr(control, "style", None), "description_width"):
                control.style.description_width = "initial"
        row = list(controls.values())
        if button:
            self.button = widgets.Button(description=button, button_style="primary")
            self.button.on_click(lambda _button: self.run())
            row.append(self.button)
            for control in controls.values():
                control.observe(lambda _change: self._mark_stale(), names="value")
        else:
            for control in controls.values():
                control.observe(lambda _change: self.update(), names="value")
        self.widget = widgets.VBox([
            widgets.HTML(f"<b>{title}</b>"),
            widgets.HBox(row, layout=widgets.Layout(flex_flow="row wrap")),
            *([self.status] if button else []),
            self.html,
            self.image,
        ])
        self.update()

    @property
    def values(self) -> dict:
        return {name: control.value for name, control in self.controls.items()}

    def update(self) -> None:
        values = self.values
        if self.progress:
            values["progress"] = self.show
        if self.button is not None:
            self.button.disabled = True
            self.status.value = "<i>working...</i>"
        try:
            html, figure = self._render(**values)
        finally:
            if self.button is not None:
                self.button.disabled = False
        self.status.value = ""
        self.html.value = html
        self.image.value = figure_png(figure) if figure is not None else b""
        self.renders += 1

    def run(self) -> None:
        """What the button does (explorers without a button re-render on every change)."""
        if not grading():
            self.update()

    def show(self, html: str | None = None, figure=None) -> None:
        """Put ``html`` and/or ``figure`` on view now (a render may call this as it goes)."""
        if html is not None:
            self.html.value = html
        if figure is not None:
            self.image.value = figure_png(figure)

    def _mark_stale(self) -> None:
        self.status.value = (f"<span style='color:#b36b00'>Settings changed: press "
                             f"<b>{self.button.description}</b> to run them. The result below is "
                             "from the previous settings.</span>")

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)
