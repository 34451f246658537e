"""The sealed kernel every graded notebook runs in (grader/grading/sandbox.py), driven directly: what it
can see, reach and allocate. End to end through `grader autograde`: test_grading_notes.py."""
import asyncio
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from grader.grading.sandbox import SealedKernelManager, bwrap, visible_folders

ROOT = Path(__file__).resolve().parents[1]


def test_bubblewrap_is_installed():
    assert bwrap(), "the README's test command installs it: apt-get install bubblewrap"


def test_the_kernel_is_never_shown_the_course_folder_or_a_folder_holding_it():
    shown = visible_folders(ROOT)
    assert Path(__import__("grader").__file__).parent in shown
    assert not [f for f in shown if f == ROOT or f in ROOT.parents]


PROBE = """
import json, os, pathlib, socket
root = pathlib.Path.cwd().parents[2]
found = {"cwd": str(pathlib.Path.cwd()), "course": sorted(os.listdir(root)),
         "secret": (root / "solutions" / "secret.txt").exists()}
try:
    socket.create_connection(("127.0.0.1", PORT), timeout=3)
    found["network"] = True
except OSError:
    found["network"] = False
try:
    import numpy as np
    np.ones(12 * 2**30, dtype=np.uint8)
    found["memory"] = "12 GiB allocated"
except MemoryError:
    found["memory"] = "MemoryError"
pathlib.Path("probe.json").write_text(json.dumps(found))
"""


def run_sealed(code: str, folder: Path) -> None:
    async def main():
        km = SealedKernelManager(kernel_name="python3")
        await km.start_kernel(cwd=str(folder))
        kc = km.client()
        kc.start_channels()
        try:
            await kc.wait_for_ready(timeout=60)
            reply = await kc.execute_interactive(code, timeout=60, output_hook=lambda msg: None)
            assert reply["content"]["status"] == "ok", reply["content"]
        finally:
            kc.stop_channels()
            await km.shutdown_kernel(now=True)

    asyncio.run(main())


def test_a_sealed_kernel_sees_only_its_own_folder_has_no_network_and_a_memory_limit(tmp_path):
    (tmp_path / "solutions").mkdir()
    (tmp_path / "solutions" / "secret.txt").write_text("the answers")
    (tmp_path / "gradebook.db").write_text("grades")
    folder = tmp_path / "autograded" / "alice" / "01-tensors"
    folder.mkdir(parents=True)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.setblocking(False)
    try:
        run_sealed(PROBE.replace("PORT", str(listener.getsockname()[1])), folder)
        with pytest.raises(BlockingIOError):
            listener.accept()
    finally:
        listener.close()
    found = json.loads((folder / "probe.json").read_text())
    assert found == {"cwd": str(folder), "course": ["autograded"], "secret": False,
                     "network": False, "memory": "MemoryError"}


def test_grading_stops_and_says_how_to_install_bubblewrap_when_it_is_missing(tmp_path):
    (tmp_path / "nbgrader_config.py").write_text((ROOT / "nbgrader_config.py").read_text())
    (tmp_path / "submitted" / "alice" / "01-tensors").mkdir(parents=True)
    (tmp_path / "submitted" / "alice" / "01-tensors" / "01-tensors.ipynb").write_text("{}")
    done = subprocess.run([sys.executable, "-m", "grader.cli", "autograde"], cwd=tmp_path,
                          env=dict(os.environ, PATH=str(tmp_path)), capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2
    assert "apt-get install bubblewrap" in done.stdout
    assert 'c.SealedKernelManager.sandbox = "none"' in done.stdout
    assert not (tmp_path / "gradebook.db").exists()
