"""The lessons as a person meets them: JupyterLab in headless Chromium (Debian's package),
driven by Playwright. Screenshots are kept in screenshots/ to look at."""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader.grading.pipeline import assignments

pytestmark = pytest.mark.slow  # runs notebooks end to end: `-m "not slow"` skips it

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
SHOTS = ROOT / "screenshots"
TOKEN = "course-test"
STDERR = "application/vnd.jupyter.stderr"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on a folder holding each lesson's solution and course notebooks."""
    assert Path(CHROMIUM).exists(), "install Debian's chromium (the README's test command does)"
    folder = tmp_path_factory.mktemp("lab")
    for lesson in assignments(ROOT):
        shutil.copy(ROOT / "solutions" / lesson / f"{lesson}.ipynb", folder / f"{lesson}-solution.ipynb")
        shutil.copy(ROOT / "course" / lesson / f"{lesson}.ipynb", folder / f"{lesson}.ipynb")
    port = free_port()
    settings = folder / "settings"
    (settings / "@jupyterlab" / "apputils-extension").mkdir(parents=True)
    (settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    # Render every cell (no virtual scrolling), so the page holds every cell's prompt and output.
    (settings / "@jupyterlab" / "notebook-extension").mkdir(parents=True)
    (settings / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings").write_text(
        json.dumps({"windowingMode": "none"}))
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}",
               f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={folder}",
               f"--LabApp.user_settings_dir={settings}",
               f"--LabApp.workspaces_dir={folder / 'workspaces'}"]
    if os.geteuid() == 0:
        command.append("--allow-root")
    log = open(folder / "lab.log", "w")
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    for _ in range(120):
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            break
        except OSError:
            time.sleep(0.5)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        yield browser, f"http://127.0.0.1:{port}"
        browser.close()
    server.terminate()
    server.wait(30)


def open_notebook(lab, name):
    browser, url = lab
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{url}/lab/tree/{name}?reset&token={TOKEN}")  # reset: no other notebook restored
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
    page.wait_for_selector("text=| Idle", timeout=90_000)
    return page


def run_all_and_wait(page, timeout_ms=480_000):
    page.click("div.lm-MenuBar-itemLabel:text-is('Run')")
    page.click("div.lm-Menu-itemLabel:text-is('Run All Cells')")
    try:
        page.wait_for_function("""() => {
            const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')];
            return prompts.some(p => /\\[\\d+\\]/.test(p.textContent))
                && !prompts.some(p => p.textContent.includes('*'));
        }""", timeout=timeout_ms)
    except Exception:
        shoot(page, "run-all-timeout")
        raise
    page.wait_for_selector("text=| Idle", timeout=60_000)


def shoot(page, name):
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)


@pytest.mark.parametrize("lesson", assignments(ROOT))
def test_solution_runs_cleanly_in_jupyterlab_and_explorer_renders(lab, lesson):
    page = open_notebook(lab, f"{lesson}-solution.ipynb")
    run_all_and_wait(page)
    prompts = page.locator(".jp-CodeCell .jp-InputPrompt").all_text_contents()
    assert all("[" in p and p.strip() != "[ ]:" for p in prompts), "a cell did not run"
    # JupyterLab draws both stderr text and tracebacks with the stderr mime type.
    errors = page.locator(f".jp-OutputArea-output[data-mime-type='{STDERR}']")
    assert errors.count() == 0, errors.first.text_content()[:500] if errors.count() else ""
    cells = json.loads((ROOT / "solutions" / lesson / f"{lesson}.ipynb").read_text())["cells"]
    graded = sum(1 for c in cells if c["metadata"].get("nbgrader", {}).get("grade"))
    assert page.locator("text=✓ Correct").count() >= graded  # every exercise's check passed
    explorer = page.locator(".widget-vbox:has(img.widget-image)").first
    explorer.scroll_into_view_if_needed()
    assert explorer.locator("img.widget-image").bounding_box()["height"] > 100
    SHOTS.mkdir(exist_ok=True)
    explorer.screenshot(path=str(SHOTS / f"{lesson}-explorer.png"))
    page.close()


def test_student_sees_clean_feedback_then_fixes_an_exercise(lab):
    lesson = assignments(ROOT)[0]
    page = open_notebook(lab, f"{lesson}.ipynb")
    run_all_and_wait(page)  # stops at the first exercise, which still raises NotImplementedError
    error = page.locator(f".jp-OutputArea-output[data-mime-type='{STDERR}']").first
    error.scroll_into_view_if_needed()
    assert "NotImplementedError" in error.text_content()
    shoot(page, f"{lesson}-student-first-error")

    source = json.loads((ROOT / "solutions" / lesson / f"{lesson}.ipynb").read_text())["cells"]
    index, answer = next((i, c) for i, c in enumerate(source)
                         if c["metadata"].get("nbgrader", {}).get("solution"))
    solved = re.sub(r"(?m)^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n?", "", "".join(answer["source"]))
    cell = page.locator(".jp-Notebook .jp-Cell").nth(index)
    cell.locator(".cm-content").click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(solved)  # inserted as a paste would be: no auto-indent
    page.keyboard.press("Shift+Enter")  # runs the answer, moves to its test cell
    page.keyboard.press("Shift+Enter")  # runs the visible check
    check = page.locator(".jp-Notebook .jp-Cell").nth(index + 1)
    try:
        check.locator("text=✓ Correct").wait_for(timeout=30_000)
    finally:
        shoot(page, f"{lesson}-student-after-fix")
    check.scroll_into_view_if_needed()
    shoot(page, f"{lesson}-student-fixed-ex1")
    page.close()
