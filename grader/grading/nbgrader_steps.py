"""The course's own nbgrader steps, named in nbgrader_config.py (nbgrader imports this module in
its own process; no notebook does)."""
from __future__ import annotations

import copy
import json
import queue
import time
from pathlib import Path

import nbformat
from nbgrader.preprocessors import ClearHiddenTests
from nbgrader.preprocessors import Execute as NbgraderExecute
from nbgrader.preprocessors import OverwriteCells as NbgraderOverwriteCells
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from traitlets import Bool, Float, Integer

from .notes import KERNEL_DIED_ERROR, OUTPUT_CAPPED, kernel_died, stopped_by_time_limit

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


class Execute(NbgraderExecute):
    """nbgrader's Execute (same settings, ``c.Execute``), with each notebook's kernel sealed off
    under limits (grader.grading.sandbox.SealedKernelManager, ``c.SealedKernelManager``), each cell's
    output capped while it runs, so that a flood of output never fills the grader's memory, and a
    kernel that dies costing only the cell it died in: nbgrader would lose the whole notebook."""

    max_output_mb = Float(2.0, help=(
        "Output a cell may keep, in MB (text and data of its outputs); beyond it, one line says "
        "the rest was dropped. Errors are always kept.")).tag(config=True)
    max_kernel_restarts = Integer(3, help=(
        "How many times a notebook's kernel may die and be replaced (a new kernel runs the "
        "cells before the one it died in again, then grading goes on after it); once more, the "
        "notebook is not graded.")).tag(config=True)

    confirm = Bool(True, help=(
        "After the notebook has run, check every exercise again in this process, calling the "
        "student's functions in the kernel on new inputs and taking only plain data back "
        "(grader.grading.confirm); a test cell scores only if this confirms it.")).tag(config=True)
    check_seed = Integer(0, help=(
        "The seed the confirming checks draw their inputs from. Set your own in "
        "nbgrader_config.py: the students' kernels never see that file.")).tag(config=True)
    confirm_timeout = Float(120.0, help=(
        "How long one call of a student's function may take while confirming, in seconds; "
        "after it, the kernel is interrupted and the cells not yet confirmed score 0.")
    ).tag(config=True)

    def __init__(self, *args, **kwargs):
        from .sandbox import SealedKernelManager

        kwargs.setdefault("kernel_manager_class", SealedKernelManager)
        super().__init__(*args, **kwargs)
        self._output_bytes: dict[int, int] = {}
        self._restarts = 0

    def preprocess_cell(self, cell, resources, index):
        try:
            super().preprocess_cell(cell, resources, index)
            stuck = stopped_by_time_limit(cell) and not self._responds()
        except CellTimeoutError:  # interrupted at the time limit, and still busy after it
            if not stopped_by_time_limit(cell):
                cell.outputs.append(nbformat.v4.new_output("error", **self.error_on_timeout))
            stuck = True
        except DeadKernelError:
            cell.outputs.append(nbformat.v4.new_output(
                "error", ename=KERNEL_DIED_ERROR, evalue="the kernel died while this cell ran",
                traceback=[f"{KERNEL_DIED_ERROR}: the kernel died while this cell ran"]))
            stuck = True
        if stuck:  # dead, or deaf to the interrupt at the time limit: the cells after it need
            # a kernel that answers
            if self._restarts >= self.max_kernel_restarts:
                raise DeadKernelError(f"the kernel was replaced {self._restarts} times")
            self._restarts += 1
            self._replace_kernel(index)
        if self.confirm and index == len(self.nb.cells) - 1:
            self._confirm()
        return cell, self.resources

    def _confirm(self) -> None:
        """Every exercise checked again here, on the kernel's answers as plain data; the
        verdicts go beside the kernel's folder, where it cannot reach them."""
        from .confirm import confirm_lesson, confirmations_path

        info = self.resources.get("nbgrader", {})
        folder = Path(self.resources.get("metadata", {}).get("path") or ".").resolve()
        lesson, notebook = info.get("assignment"), info.get("notebook", "")
        try:
            verdicts = confirm_lesson(lesson, folder, self._run_quietly, self.check_seed,
                                      self.confirm_timeout)
        except KeyError as error:  # not a lesson of this course: nothing can be confirmed
            verdicts = {"error": str(error)}
        confirmations_path(folder, notebook).write_text(json.dumps(verdicts, indent=1))

    def _run_quietly(self, code: str, timeout: float) -> bool:
        """Run ``code`` in the kernel, unrecorded; False (and the kernel interrupted) if it
        has not finished within ``timeout`` seconds."""
        msg_id = self.kc.execute(code, silent=True, store_history=False, allow_stdin=False)
        if self._reply_within(msg_id, timeout):
            return True
        from jupyter_core.utils import run_sync

        run_sync(self.km.interrupt_kernel)()
        return False

    def _responds(self, within: float = 10.0) -> bool:
        """Whether the kernel, interrupted at the time limit, runs the next request: one that
        ignores the interrupt would make every later cell wait out the time limit too."""
        return self._reply_within(self.kc.execute("pass", silent=True, store_history=False),
                                  within)

    def _reply_within(self, msg_id: str, within: float) -> bool:
        from jupyter_core.utils import run_sync

        deadline = time.monotonic() + within

        async def reply() -> bool:
            while (left := deadline - time.monotonic()) > 0:
                try:
                    msg = await self.kc.shell_channel.get_msg(timeout=left)
                except queue.Empty:
                    return False
                if msg["parent_header"].get("msg_id") == msg_id:
                    return True
            return False

        return run_sync(reply)()

    def _replace_kernel(self, index: int) -> None:
        """A new kernel, brought to the state the dead one had before cell ``index`` by running
        the cells above again (their recorded outputs are kept from the first run)."""
        self._cleanup_kernel()
        self.km = self.create_kernel_manager()
        self.start_new_kernel()
        self.start_new_kernel_client()
        for earlier, cell in enumerate(self.nb.cells[:index]):
            if cell.cell_type == "code" and not (kernel_died(cell) or stopped_by_time_limit(cell)):
                self.execute_cell(copy.deepcopy(cell), earlier, store_history=True)

    def output(self, outs, msg, display_id, cell_index):
        if msg["msg_type"] not in ("stream", "display_data", "execute_result",
                                   "update_display_data"):
            return super().output(outs, msg, display_id, cell_index)
        used = self._output_bytes.get(cell_index, 0)
        size = _payload_bytes(msg["content"])
        self._output_bytes[cell_index] = used + size
        limit = self.max_output_mb * 1e6
        if used + size <= limit:
            return super().output(outs, msg, display_id, cell_index)
        if used <= limit:  # the first output past the cap: say so, once, on top (where
            # nbgrader's LimitOutput, which keeps a cell's first lines, leaves it)
            outs.insert(0, nbformat.v4.new_output(
                "stream", name="stderr", text=OUTPUT_CAPPED.format(mb=self.max_output_mb) + "\n"))
        return None


def _payload_bytes(content) -> int:
    if "text" in content:
        return len(content["text"])
    return sum(len(value) if isinstance(value, str) else len(json.dumps(value))
               for value in content.get("data", {}).values())
