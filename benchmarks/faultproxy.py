"""A loopback TCP proxy that injects network faults, controlled over a tiny line protocol.

    python benchmarks/faultproxy.py --target 127.0.0.1:PORT

It prints one line, ``ports LISTEN CONTROL``, then forwards every connection made to
127.0.0.1:LISTEN to the target, until its standard input closes (so it never outlives the
process that started it). Modes, set by sending one line to 127.0.0.1:CONTROL (the answer
is one line, ``ok MODE conns=N ...``):

``pass``
    bytes flow both ways. Leaving ``hold``, the connections that lost answers are reset
    (they are out of step, as after a real network fault).
``stall``
    nothing flows either way; bytes in flight are held and delivered when the mode
    changes (a congested or frozen network; callers time out).
``hold``
    requests reach the server (so statements run and commit) but its answers are
    swallowed: the lost-answer fault (connection dropped after the commit).
``refuse``
    every connection is reset now, and new ones are reset as soon as they are accepted
    (the server looks down while the proxy stays up).
``cut``
    every connection is reset now (TCP RST); the mode does not change.
``stats``
    the mode and counters, changing nothing.

:class:`ProxyProcess` starts it as a child process and sends it commands.
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import struct
import subprocess
import sys
import threading
from pathlib import Path

import trio

__all__ = ["MODES", "FaultProxy", "ProxyProcess"]

MODES = ("pass", "stall", "hold", "refuse")
_LINGER_RESET = struct.pack("ii", 1, 0)


def _arm_reset(stream: trio.SocketStream | None) -> None:
    """Make the stream's close send a TCP RST instead of a FIN."""
    if stream is not None:
        with contextlib.suppress(OSError):
            stream.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)


class _Connection:
    def __init__(self, client: trio.SocketStream) -> None:
        self.client = client
        self.server: trio.SocketStream | None = None
        self.scope = trio.CancelScope()
        self.reset = False
        #: Answers were swallowed on it: cut when answers flow again.
        self.tainted = False


class FaultProxy:
    """The proxy itself (Trio); :meth:`serve` runs it."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.mode = "pass"
        self._changed = trio.Event()
        self._connections: set[_Connection] = set()
        self.counts = {"accepted": 0, "refused": 0, "reset": 0, "dropped_bytes": 0}

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}: use one of {MODES}")
        previous, self.mode = self.mode, mode
        if mode == "refuse":
            self.cut()
        elif previous == "hold" and mode != "hold":
            self.cut(only_tainted=True)
        self._changed.set()
        self._changed = trio.Event()

    def cut(self, *, only_tainted: bool = False) -> int:
        """Reset connections (all, or those that lost answers); returns how many."""
        victims = [c for c in self._connections if c.tainted or not only_tainted]
        for connection in victims:
            connection.reset = True
            connection.scope.cancel()
        self.counts["reset"] += len(victims)
        return len(victims)

    def describe(self) -> str:
        counters = " ".join(f"{k}={v}" for k, v in self.counts.items())
        return f"{self.mode} conns={len(self._connections)} {counters}"

    async def serve(
        self,
        listen_port: int = 0,
        control_port: int = 0,
        *,
        task_status: trio.TaskStatus[tuple[int, int]] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        listeners = await trio.open_tcp_listeners(listen_port, host="127.0.0.1")
        controls = await trio.open_tcp_listeners(control_port, host="127.0.0.1")
        ports = (
            int(listeners[0].socket.getsockname()[1]),
            int(controls[0].socket.getsockname()[1]),
        )
        async with trio.open_nursery() as nursery:
            nursery.start_soon(trio.serve_listeners, self._handle, listeners)
            nursery.start_soon(trio.serve_listeners, self._control, controls)
            task_status.started(ports)

    async def _control(self, stream: trio.SocketStream) -> None:
        async with stream:
            data = b""
            with trio.move_on_after(5):
                while b"\n" not in data and (chunk := await stream.receive_some(256)):
                    data += chunk
            command = data.decode(errors="replace").strip()
            try:
                if command == "cut":
                    self.cut()
                elif command != "stats":
                    self.set_mode(command)
                answer = f"ok {self.describe()}\n"
            except ValueError as exc:
                answer = f"error {exc}\n"
            with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
                await stream.send_all(answer.encode())

    async def _handle(self, client: trio.SocketStream) -> None:
        try:
            await self._forward(client)
        except Exception as exc:  # one connection's trouble never ends the proxy
            print(f"faultproxy: connection failed: {exc!r}", file=sys.stderr, flush=True)

    async def _forward(self, client: trio.SocketStream) -> None:
        connection = _Connection(client)
        try:
            if self.mode == "refuse":
                self.counts["refused"] += 1
                connection.reset = True
                return
            try:
                connection.server = await trio.open_tcp_stream(*self.target)
            except OSError:
                connection.reset = True  # the server is down: so is the proxy's answer
                return
            self.counts["accepted"] += 1
            self._connections.add(connection)
            with connection.scope:
                async with trio.open_nursery() as nursery:
                    for source, sink, answers in (
                        (client, connection.server, False),
                        (connection.server, client, True),
                    ):
                        nursery.start_soon(self._pump, connection, source, sink, answers)
        finally:
            self._connections.discard(connection)
            for stream in (client, connection.server):
                if stream is not None:
                    if connection.reset:
                        _arm_reset(stream)
                    with contextlib.suppress(OSError, trio.BrokenResourceError):
                        await trio.aclose_forcefully(stream)

    async def _pump(
        self,
        connection: _Connection,
        source: trio.SocketStream,
        sink: trio.SocketStream,
        answers: bool,
    ) -> None:
        """Copy one direction; ends the whole connection when either side ends it."""
        try:
            while data := await source.receive_some(65536):
                while self.mode == "stall":
                    await self._changed.wait()
                if answers and self.mode == "hold":
                    connection.tainted = True
                    self.counts["dropped_bytes"] += len(data)
                    continue
                await sink.send_all(data)
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
            connection.reset = True
        connection.scope.cancel()


class ProxyProcess:
    """A :class:`FaultProxy` in a child process (stopped by its pid, or when we exit)."""

    def __init__(self, target_port: int, log_path: Path | None = None) -> None:
        log = open(log_path, "ab") if log_path else subprocess.DEVNULL
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--target", f"127.0.0.1:{target_port}"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
        )
        if log_path:
            log.close()  # type: ignore[union-attr]
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().decode().split()
        if len(line) != 3 or line[0] != "ports":
            self.stop()
            raise RuntimeError(f"the fault proxy did not start: {line!r}")
        self.port, self.control_port = int(line[1]), int(line[2])
        self._lock = threading.Lock()

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self, command: str, timeout: float = 5.0) -> str:
        """Send one command (blocking, a few milliseconds); returns the answer line."""
        with self._lock, socket.create_connection(("127.0.0.1", self.control_port), timeout) as s:
            s.sendall(command.encode() + b"\n")
            answer = b""
            while not answer.endswith(b"\n") and (chunk := s.recv(256)):
                answer += chunk
        text = answer.decode().strip()
        if not text.startswith("ok "):
            raise RuntimeError(f"fault proxy: {command!r} -> {text!r}")
        return text

    def stop(self) -> None:
        if self.proc.poll() is None:
            if self.proc.stdin is not None:
                with contextlib.suppress(OSError):
                    self.proc.stdin.close()
            try:
                self.proc.wait(3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


async def _main(target_host: str, target_port: int) -> None:
    proxy = FaultProxy(target_host, target_port)
    async with trio.open_nursery() as nursery:
        listen, control = await nursery.start(proxy.serve)
        print(f"ports {listen} {control}", flush=True)
        # End of standard input (the parent is gone or asks us to stop) ends the proxy.
        await trio.to_thread.run_sync(sys.stdin.buffer.read, abandon_on_cancel=True)
        nursery.cancel_scope.cancel()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", required=True, help="HOST:PORT to forward to")
    args = parser.parse_args()
    host, _, port = args.target.rpartition(":")
    trio.run(_main, host, int(port))


if __name__ == "__main__":
    main()
