"""A loopback TCP proxy that can withhold answers: a network that loses replies on purpose.

Requests always reach the server (so a statement runs and commits); in ``hold`` mode the
server's answers are swallowed, as when a connection drops right after the commit or a
slow server answers after the caller's timeout. ``hold(path)`` swallows only the answers to
requests for that HTTP path (the store sends each call as one ``/v3/pipeline`` request).
``requests`` lists the request lines forwarded (method and path), for counting.
"""

from __future__ import annotations

import contextlib
import socket
import threading

__all__ = ["Proxy"]


class Proxy:
    """Forwards 127.0.0.1:``port`` to 127.0.0.1:``target``; ``hold()`` swallows answers."""

    def __init__(self, target: int) -> None:
        self.target = target
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._holding = threading.Event()
        self._hold_path: bytes | None = None
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._closed = False
        #: HTTP requests forwarded so far, by their request line's method and path.
        self.requests: list[str] = []
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def hold(self, path: str | None = None) -> None:
        """From now on, answers (to requests for ``path``, if given) are swallowed; requests
        still reach the server."""
        self._hold_path = path.encode() if path else None
        self._holding.set()

    def release(self) -> None:
        """Answers flow again; connections that lost an answer are cut (they are out of step)."""
        self._holding.clear()
        self.cut()

    def cut(self) -> None:
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for s in sockets:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def close(self) -> None:
        self._closed = True
        self._listener.close()
        self.cut()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(("127.0.0.1", self.target))
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets += [client, server]
            last = [b""]  # the request line most recently sent on this connection
            for args in ((client, server, None, last), (server, client, last, None)):
                threading.Thread(target=self._pump, args=args, daemon=True).start()

    def _pump(
        self,
        source: socket.socket,
        sink: socket.socket,
        answering: list[bytes] | None,
        requests: list[bytes] | None,
    ) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                if requests is not None and data[:5] in (b"POST ", b"GET /"):
                    requests[0] = data.split(b"\r\n", 1)[0]
                    with self._lock:
                        self.requests.append(" ".join(requests[0].decode().split(" ")[:2]))
                if answering is not None and self._holding.is_set():
                    path = self._hold_path
                    if path is None or b" " + path + b" " in answering[0]:
                        continue
                sink.sendall(data)
        for s in (source, sink):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
