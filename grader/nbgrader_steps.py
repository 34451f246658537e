"""The course's own nbgrader steps, named in nbgrader_config.py (nbgrader imports this module in
its own process; no notebook does)."""
from __future__ import annotations

import copy

from nbgrader.preprocessors import ClearHiddenTests
from nbgrader.preprocessors import OverwriteCells as NbgraderOverwriteCells

EDITED_LOCKED_CELL = "Locked cell {} was edited in the submission; it was graded as released"


class OverwriteCells(NbgraderOverwriteCells):
    """nbgrader's OverwriteCells (same settings, ``c.OverwriteCells``), with a warning that means
    something.

    A released test cell lacks its hidden tests, so its checksum never matches the gradebook's:
    nbgrader warned "checksum has changed" for every test cell of every submission, untouched ones
    included. Here a locked cell that equals its released version is restored silently, and only
    a locked cell the student really edited is reported, in words the grader turns into a note.
    """

    def preprocess_cell(self, cell, resources, cell_index):
        self._only_ran = self._equals_released(cell)
        return super().preprocess_cell(cell, resources, cell_index)

    def report_change(self, name, attr, old, new):
        if attr != "checksum":
            super().report_change(name, attr, old, new)
        elif not self._only_ran:
            self.log.warning(EDITED_LOCKED_CELL.format(name))

    def _equals_released(self, cell) -> bool:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id is None:
            return False
        from nbgrader.api import MissingEntry

        try:
            source = self.gradebook.find_source_cell(grade_id, self.notebook_id,
                                                     self.assignment_id)
        except MissingEntry:
            return False
        released = copy.deepcopy(cell)
        released.source = source.source
        ClearHiddenTests(enforce_metadata=False)._remove_hidden_test_region(released)
        return released.source.strip() == cell.source.strip()


class HideHiddenTests(ClearHiddenTests):
    """For the student's feedback: test cells without their hidden tests, and errors shown as
    their message alone (a traceback would quote the hidden line that failed)."""

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade"):
            self._remove_hidden_test_region(cell)
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    output.traceback = [f"{output.ename}: {output.evalue}"]
        return cell, resources
