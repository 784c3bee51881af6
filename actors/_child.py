"""Child processes that never outlive the job, the executor, or the worker.

Rationale. The parent-death signal (``PR_SET_PDEATHSIG``) fires when the *thread* that
forked the child exits, not the process. Trio's ``open_process`` forks from a cached worker
thread that exits when idle, so a naive parent-death signal would kill ffmpeg mid-job. Here
the child is forked from the thread running the Trio loop itself (``subprocess.Popen``
called directly: a fork and exec, a few milliseconds), which lives exactly as long as the
worker; so a worker killed with SIGKILL takes its child with it. The exit is awaited with a
pidfd, so no thread waits on the child either. Each child leads its own process group, and
stopping it signals the whole group: SIGTERM, a grace period, then SIGKILL, always reaped.

Nothing a job started outlives it: when the child exits on its own, anything it left
running in its group (a wrapper script's background process) is killed before the child
is reaped. Until it is reaped the exited child is a zombie that still holds the group's
id, so the signal cannot reach an unrelated group that reused the number. (A process that
moved to a session of its own has left the group; that escape is not covered.)

A gated child (``gated=True``) exists but does not run its program until ``release()``:
``/bin/sh`` waits on a pipe, then execs the program in the same process (same pid, same
group). The handler context starts every child gated, arms the sentinel, and only then
lets it run, so a worker frozen between the fork and the arming never leaves a child
running unguarded (found by the spin model, model/README.md). The program is resolved
first (``FileNotFoundError`` if absent or not executable, as without the gate) and the
shell execs that path. A failure of the exec itself (a busy or malformed binary) shows as
the shell's exit status 126 or 127 with its message on stderr, not as an ``OSError``; a
script without a ``#!`` line is run by ``/bin/sh``.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import logging
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Sequence

import trio

from stores import JobStore
from stores._secrets import child_environ

__all__ = ["Child", "open_child", "process_started", "sweep_leftover_children"]

log = logging.getLogger("supervisor.children")

_PR_SET_PDEATHSIG = 1
#: A gated child's first program: wait for the go line on stdin, then become the program.
_GATE = 'IFS= read -r go || exit 125; exec "$@" </dev/null'
_libc = ctypes.CDLL(None, use_errno=True)


def _die_with_parent(parent_pid: int) -> None:
    # Runs in the child between fork and exec.
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent_pid:  # the parent died before prctl: nobody will signal us
        os._exit(1)


class Child:
    """A running child process: pid, process group, start time, output streams."""

    def __init__(
        self,
        popen: subprocess.Popen[bytes],
        stdout: int | None,
        stderr: int | None,
        gate: int | None = None,
    ):
        self._popen = popen
        self._gate = gate
        self.pid = popen.pid
        self.pgid = popen.pid  # start_new_session: the child leads its own group
        self.host = socket.gethostname()
        self.started = time.time()
        self.stdout = trio.lowlevel.FdStream(stdout) if stdout is not None else None
        self.stderr = trio.lowlevel.FdStream(stderr) if stderr is not None else None
        self._pidfd = os.pidfd_open(popen.pid)
        self.returncode: int | None = None

    def __repr__(self) -> str:
        state = "running" if self.returncode is None else f"exited {self.returncode}"
        return f"<Child pid={self.pid} {state}>"

    @property
    def held(self) -> bool:
        """True while a gated child waits for ``release()`` (its program has not started)."""
        return self._gate is not None

    def release(self) -> None:
        """Let a gated child run its program (no effect on one already released)."""
        if self._gate is not None:
            with contextlib.suppress(OSError):  # a child killed meanwhile: nothing to run
                os.write(self._gate, b"go\n")
            self._close_gate()

    def _close_gate(self) -> None:
        if self._gate is not None:
            os.close(self._gate)
            self._gate = None

    async def wait(self) -> int:
        """Wait for the child to exit, kill what it left in its group, and reap it; returns
        its exit status.

        Cancellation: safe; the child is neither signalled nor reaped if cancelled.
        """
        if self.returncode is None:
            await trio.lowlevel.wait_readable(self._pidfd)
            # Exited but not reaped (a zombie keeps the group id taken): the leftovers go.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pgid, signal.SIGKILL)
            self.returncode = self._popen.wait()
            os.close(self._pidfd)
            self._close_gate()
        return self.returncode

    def signal(self, signum: int) -> None:
        """Signal the child's whole process group (ffmpeg and anything it started)."""
        if self.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pgid, signum)

    async def stop(self, grace: float) -> int:
        """SIGTERM, up to ``grace`` seconds to exit, then SIGKILL; returns once reaped.

        Cancellation: shielded; the child is always reaped before this returns.
        """
        with trio.CancelScope(shield=True):
            if self.returncode is None:
                self.signal(signal.SIGTERM)
                with trio.move_on_after(grace):
                    await self.wait()
                self.signal(signal.SIGKILL)
            status = await self.wait()
        return status

    async def aclose_streams(self) -> None:
        for stream in (self.stdout, self.stderr):
            if stream is not None:
                await stream.aclose()


@contextlib.asynccontextmanager
async def open_child(
    argv: Sequence[str],
    *,
    kill_grace: float,
    capture_stdout: bool = True,
    capture_stderr: bool = True,
    env: dict[str, str] | None = None,
    gated: bool = False,
) -> AsyncIterator[Child]:
    """Start ``argv`` (no shell) and yield it; on exit from the block, a child still running
    is stopped (SIGTERM, ``kill_grace`` seconds, SIGKILL) and reaped. ``env`` defaults to
    this process's environment without its secrets (``TURSO_AUTH_TOKEN``, ...). A ``gated``
    child runs its program only once ``Child.release()`` is called (see the module's
    docstring); a program that cannot be found raises ``FileNotFoundError`` either way.

    Cancellation: if the block is cancelled, the child is stopped and reaped before the
    cancellation propagates; no child outlives this context manager.
    """
    environ = child_environ() if env is None else env
    command = list(argv)
    if gated:
        # Resolved here, with the PATH the child gets: sh execs exactly what was checked.
        name = command[0] if command else ""
        found = shutil.which(name, path=environ.get("PATH", os.defpath)) if name else None
        if found is None:
            raise FileNotFoundError(errno.ENOENT, "No such file or directory", name)
        command = ["/bin/sh", "-c", _GATE, "gate", found, *command[1:]]
    # The ends this process keeps (read ends of the output, the gate's write end), and the
    # ends only the child keeps; all closed whatever fails.
    ours: list[int] = []
    theirs: list[int] = []

    def pipe(wanted: bool, *, we_write: bool = False) -> tuple[int, int] | None:
        """A pipe ``(read, write)`` if ``wanted``, its ends noted as ours and theirs."""
        if not wanted:
            return None
        read, write = os.pipe()
        ours.append(write if we_write else read)
        theirs.append(read if we_write else write)
        return read, write

    try:
        stdout = pipe(capture_stdout)
        stderr = pipe(capture_stderr)
        gate = pipe(gated, we_write=True)
        parent_pid = os.getpid()
        popen = subprocess.Popen(  # noqa: ASYNC220 -- see the module docstring for why
            command,
            stdin=gate[0] if gate else subprocess.DEVNULL,
            stdout=stdout[1] if stdout else subprocess.DEVNULL,
            stderr=stderr[1] if stderr else subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=lambda: _die_with_parent(parent_pid),
            env=environ,
        )
    except BaseException:
        for fd in ours:
            os.close(fd)
        raise
    finally:
        for fd in theirs:
            os.close(fd)
    try:
        child = Child(
            popen,
            stdout[0] if stdout else None,
            stderr[0] if stderr else None,
            gate[1] if gate else None,
        )
    except BaseException:  # e.g. no file descriptor left for the pidfd
        with contextlib.suppress(ProcessLookupError):
            os.killpg(popen.pid, signal.SIGKILL)
        popen.wait()
        for fd in ours:
            os.close(fd)
        raise
    try:
        yield child
    finally:
        await child.stop(kill_grace)
        with trio.CancelScope(shield=True):
            await child.aclose_streams()


def process_started(pid: int) -> tuple[float, int] | None:
    """(wall-clock start time, process group) of a live process, or None if there is none
    (a zombie counts as gone). Linux only: read from ``/proc``."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        with open("/proc/stat") as f:
            boot = next(float(line.split()[1]) for line in f if line.startswith("btime "))
    except (OSError, StopIteration, IndexError, ValueError):
        return None
    if fields[0] == "Z":
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    return boot + int(fields[19]) / ticks, int(fields[2])


async def sweep_leftover_children(store: JobStore, stale_after: float) -> list[int]:
    """Kill children recorded on this host whose worker is gone; returns their pids.

    The third line of defence, after the parent-death signal and the sentinel: a row that
    records a child on this host, whose job no live worker holds (not running, or no
    heartbeat for ``stale_after``), and a process that is still that child (same pid, same
    start time within 2 s, leading its own group): its group gets SIGKILL, and the record
    is cleared.
    """
    killed = []
    host = socket.gethostname()
    for job_id, pid, started, alive in await store.recorded_children(host, stale_after):
        if alive:
            continue
        found = process_started(pid)
        if found is not None and started is not None:
            began, group = found
            if abs(began - started) <= 2.0 and group == pid:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pid, signal.SIGKILL)
                    killed.append(pid)
                    log.warning(
                        "killed a leftover child (pid %d) of a worker that is gone",
                        pid,
                        extra={"job_id": job_id},
                    )
        await store.forget_child(job_id, pid)
    return killed
