"""A sealed kernel for each graded notebook (nbgrader starts it through ``SealedKernelManager``,
named by ``grader.grading.nbgrader_steps.Execute``; no notebook imports this module).

The kernel sees the operating system, Python and its packages (the ``grader`` package among
them), the course's data and its own submission folder, read-only except that folder. It does not
see the course folder (``solutions/``, the gradebook, the configuration, other students'
submissions), the home folder or anything else on the machine; it has no network (a loopback of
its own), a memory limit and a CPU-time limit, and every process it starts ends when it ends.

The sealing is bubblewrap (``bwrap``, Linux: Debian and Ubuntu ``apt-get install bubblewrap``).
Where it is missing, grading stops and says so, unless the course's nbgrader_config.py sets
``c.SealedKernelManager.sandbox = "none"`` (the limits then still apply, the sealing does not).
"""
from __future__ import annotations

import os
import shutil
import site
import sys
import tempfile
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from traitlets import Enum, Float, Integer

# The limits are set in the kernel's own process, just before it starts (rlimits are inherited
# by everything it starts); RLIMIT_AS is address space, which TensorFlow's CPU build keeps to a
# few GiB (3.4 GiB measured for a 784-256-10 MLP on 60,000 images).
_LIMITED_EXEC = ("import os, resource, sys; memory, cpu = int(sys.argv[1]), int(sys.argv[2]); "
                 "resource.setrlimit(resource.RLIMIT_AS, (memory, memory)); "
                 "resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu)); "
                 "os.execv(sys.argv[3], sys.argv[3:])")

# Printed to nbgrader's log (the grader reads it back into a note on the notebook).
LEFT_RUNNING = "Sealed kernel left {} processes running, ended by the grader: {}"

SYSTEM_FOLDERS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/etc", "/sys")


class SandboxMissing(RuntimeError):
    pass


def bwrap() -> str | None:
    return shutil.which("bwrap")


def missing_sandbox_message() -> str:
    return ("Grading runs each notebook sealed off with bubblewrap, and `bwrap` is not installed "
            "here. Install it (Debian/Ubuntu: apt-get install bubblewrap; other Linux: the "
            "bubblewrap package). On a system without it (macOS, Windows), set "
            "c.SealedKernelManager.sandbox = \"none\" in nbgrader_config.py, knowing that a "
            "student's code can then read the course folder (solutions/, the gradebook) and use "
            "the network while it is graded.")


def visible_folders(course_root: Path) -> list[Path]:
    """What the kernel may read: Python, its packages, the grader package and the data. Never the
    course root or a folder holding it (a package installed inside the course folder, as in a
    repository checkout, is shown alone, not its parent)."""
    import grader
    from grader.data import keras_datasets_dir

    wanted = {Path(sys.base_prefix), Path(sys.prefix), *map(Path, site.getsitepackages()),
              Path(grader.__file__).parent, keras_datasets_dir()}
    root = course_root.resolve()
    found = set()
    for folder in wanted:
        folder = folder.resolve()
        if folder.is_dir() and not (folder == root or folder in root.parents):
            found.add(folder)
    return sorted(found, key=lambda p: len(p.parts))


class SealedKernelManager(AsyncKernelManager):
    """A Jupyter kernel manager whose kernel runs sealed off, under limits (module docstring).

    The kernel talks to nbgrader over Unix sockets in a private folder (its network is its own
    loopback), and is interrupted by a message, not a signal (it runs in a session of its own).
    """

    sandbox = Enum(["bwrap", "none"], "bwrap", help=(
        "How each graded kernel is sealed off: 'bwrap' (bubblewrap, Linux) or 'none' (limits "
        "only; the kernel can then read the course folder and use the network).")
    ).tag(config=True)
    memory_limit_gib = Float(8.0, help=(
        "Address space a graded kernel may use, in GiB; an allocation past it fails with "
        "MemoryError.")).tag(config=True)
    cpu_limit_s = Integer(3600, help=(
        "CPU seconds a graded kernel may use (all its threads together) before it is "
        "stopped.")).tag(config=True)

    async def _async_pre_start_kernel(self, **kw):
        if self.sandbox == "bwrap" and not bwrap():
            raise SandboxMissing(missing_sandbox_message())
        self._private = Path(tempfile.mkdtemp(prefix="sealed-kernel-"))
        self.transport = "ipc"
        self.ip = str(self._private / "k")  # short: a Unix socket path has ~100 characters
        self.connection_file = str(self._private / "kernel.json")
        cmd, kw = await super()._async_pre_start_kernel(**kw)
        limited = [sys.executable, "-c", _LIMITED_EXEC,
                   str(int(self.memory_limit_gib * 2**30)), str(self.cpu_limit_s), *cmd]
        if self.sandbox == "none":
            return limited, kw
        cwd = Path(kw.get("cwd") or os.getcwd()).resolve()
        return self._sealed(limited, cwd), kw

    def _sealed(self, cmd: list[str], cwd: Path) -> list[str]:
        # nbgrader runs in the course root; the kernel's folder is autograded/STUDENT/LESSON.
        args = [bwrap(), "--die-with-parent", "--new-session", "--unshare-net", "--unshare-pid",
                "--unshare-ipc", "--unshare-uts", "--proc", "/proc", "--dev", "/dev",
                "--tmpfs", "/tmp", "--dir", "/tmp/home", "--setenv", "HOME", "/tmp/home",
                # ipykernel stops when its parent's pid is 1, which bubblewrap's init is; the
                # kernel ends with bubblewrap anyway (--die-with-parent)
                "--unsetenv", "JPY_PARENT_PID"]
        for folder in SYSTEM_FOLDERS:
            args += ["--ro-bind-try", folder, folder]
        for folder in visible_folders(Path.cwd()):
            args += ["--ro-bind", str(folder), str(folder)]
        args += ["--bind", str(self._private), str(self._private),
                 "--bind", str(cwd), str(cwd), "--chdir", str(cwd), "--"]
        return args + cmd

    async def _async_interrupt_kernel(self) -> None:
        # A signal would reach bubblewrap, not the kernel in its own session.
        if self.has_kernel:
            self._connect_control_socket()
            self.session.send(self._control_socket,
                              self.session.msg("interrupt_request", content={}))

    interrupt_kernel = _async_interrupt_kernel  # the base class binds its own, not an override

    async def _async_shutdown_kernel(self, now: bool = False, restart: bool = False) -> None:
        self._report_left_running()
        await super()._async_shutdown_kernel(now=now, restart=restart)

    shutdown_kernel = _async_shutdown_kernel  # as interrupt_kernel

    def _report_left_running(self) -> None:
        """Processes the notebook started and left running when it finished (bubblewrap ends
        them with the kernel; the note tells the student their code did this)."""
        import psutil

        process = getattr(self.provisioner, "process", None)
        if self.sandbox != "bwrap" or process is None or process.poll() is not None:
            return
        try:
            inside = [p for p in psutil.Process(process.pid).children(recursive=True)
                      if p.name() != "bwrap"]  # bubblewrap itself, and its init in the sandbox
            kernel = next(p for p in inside if p.parent().name() == "bwrap"
                          and "ipykernel" in " ".join(p.cmdline()))
            left = [p for p in inside if p.pid != kernel.pid]
            names = [" ".join(p.cmdline())[:80] for p in left]
        except (psutil.Error, StopIteration):
            return
        if left:
            print(LEFT_RUNNING.format(len(left), "; ".join(names)), file=sys.stderr, flush=True)

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if not restart and getattr(self, "_private", None):
            shutil.rmtree(self._private, ignore_errors=True)

    cleanup_resources = _async_cleanup_resources  # as interrupt_kernel
