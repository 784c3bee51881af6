"""A loopback TCP proxy that counts HTTP requests by method and path, run as its own process.

    python benchmarks/countproxy.py TARGET_PORT [--latency-ms MS]

Forwards 127.0.0.1:<port it prints on its first line> to 127.0.0.1:TARGET_PORT and reads
commands on stdin, one a line, answering each with one line on stdout:

* ``count``: a JSON object ``{"requests": {"POST /v3/pipeline": n, ...}, "connections": n}``
* ``reset``: zeroes the counts, answers ``ok``
* ``quit``: stops

Why a process of its own: ``libsql`` holds the GIL while it waits for the server, so a
proxy thread in the same process as a libsql caller never gets to forward the request.
Requests are found by their request line in the client-to-server byte stream (libsql sends
one request at a time on a connection and waits for its answer).

``--latency-ms`` adds that many milliseconds to each round trip, as a network between
caller and server would: each request is held that long before it is forwarded, and so is
the start of each new connection (its TCP handshake).
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import re
import socket
import sys
import threading
import time

_REQUEST_LINE = re.compile(rb"(GET|POST|PUT|DELETE|HEAD|OPTIONS|PATCH) (\S+) HTTP/\d(?:\.\d)?\r\n")


class CountingProxy:
    def __init__(self, target: int, latency: float = 0.0) -> None:
        self.target = target
        self.latency = latency
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.lock = threading.Lock()
        self.requests: collections.Counter[str] = collections.Counter()
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def snapshot(self) -> dict[str, object]:
        with self.lock:
            return {"requests": dict(self.requests), "connections": self.connections}

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
            self.connections = 0

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(("127.0.0.1", self.target))
            except OSError:
                client.close()
                continue
            for end in (client, server):  # forward each chunk at once, as it came
                end.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self.lock:
                self.connections += 1
            time.sleep(self.latency)  # the handshake's round trip (connections are rare)
            for args in ((client, server, True), (server, client, False)):
                threading.Thread(target=self._pump, args=args, daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, count: bool) -> None:
        tail = b""
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                if count:
                    text = tail + data
                    found = [
                        f"{m.group(1).decode()} {m.group(2).decode(errors='replace')}"
                        for m in _REQUEST_LINE.finditer(text)
                        if m.end() > len(tail)  # not already counted in the last chunk
                    ]
                    if found:
                        with self.lock:
                            self.requests.update(found)
                        time.sleep(self.latency)  # the request's round trip
                    tail = text[-200:]
                sink.sendall(data)
        for s in (source, sink):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("target_port", type=int, help="the port of the server on 127.0.0.1")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added per round trip")
    args = parser.parse_args()
    proxy = CountingProxy(args.target_port, args.latency_ms / 1000)
    print(proxy.port, flush=True)
    for line in sys.stdin:
        command = line.strip()
        if command == "count":
            print(json.dumps(proxy.snapshot()), flush=True)
        elif command == "reset":
            proxy.reset()
            print("ok", flush=True)
        elif command == "quit":
            break
        else:
            print(json.dumps({"error": f"unknown command {command!r}"}), flush=True)


if __name__ == "__main__":
    main()
