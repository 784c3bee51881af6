"""What one client may hold: connections, and time to send a request (issue 16).

Rationale. Every open connection is a file descriptor, and ``run --http`` shares its
descriptors with the jobs it runs (database, ffmpeg's pipes, inputs, outputs). Hypercorn
alone bounds neither: it accepts without limit, and once a request's headers have arrived
it waits for the body for ever (its keep-alive timer stops there, its read timeout would
also cut event streams). So 1,100 anonymous ``POST /login`` with a body never sent used up
a 1,024-descriptor limit, ``/healthz`` stopped answering, and a job failed for want of a
descriptor. The rules, in this module only:

* **At most ``max_connections`` at once** (``SUPERVISOR_HTTP_MAX_CONNECTIONS``, 512, and
  never more than half the process's soft open-file limit): beyond it the server stops
  accepting, and new connections wait in the kernel's backlog (no descriptor of ours).
* **At most ``max_anonymous`` of them anonymous** (``SUPERVISOR_HTTP_MAX_ANONYMOUS``, 64): a
  connection is anonymous until one of its requests proves the token (Bearer or session
  cookie; any request when no token is set, loopback only). A new connection beyond the cap
  closes the *oldest* anonymous one: a flood keeps cycling its own connections, while a
  health check or a login, which arrives and finishes at once, still gets through.
* **Headers within ``header_timeout``** (5 s, Hypercorn's keep-alive timer, which runs from
  the connection's start or its previous answer until a request's headers are complete),
  **a body within ``body_timeout``** of its headers (``SUPERVISOR_HTTP_BODY_TIMEOUT``, 30 s,
  in all, however it trickles): else 408 and the connection is closed.
"""

from __future__ import annotations

import errno
import logging
import resource
from collections import OrderedDict
from collections.abc import Awaitable, Callable

import trio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["BodyDeadline", "ConnectionGate", "fd_budget"]

log = logging.getLogger("web")

Peer = tuple[str, int]
#: Errors of accept() that mean "out of descriptors or memory for now": wait, then go on.
_CAPACITY_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOMEM, errno.ENOBUFS})
_CAPACITY_PAUSE = 0.1


def fd_budget() -> int:
    """Connections this process can afford: half its soft open-file limit (the other half
    is the worker's: database, ffmpeg's pipes, files)."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return max(16, soft // 2) if soft != resource.RLIM_INFINITY else 1 << 20


def _peer(stream: trio.SocketStream) -> Peer | None:
    try:
        name = stream.socket.getpeername()
    except OSError:  # reset before we looked
        return None
    return (str(name[0]), int(name[1])) if isinstance(name, tuple) else None


class ConnectionGate:
    """Accepts connections within the caps of the module docstring, and serves each."""

    def __init__(self, max_connections: int, max_anonymous: int) -> None:
        self.max_connections = min(max_connections, fd_budget())
        self.max_anonymous = min(max_anonymous, self.max_connections)
        self._slots = trio.Semaphore(self.max_connections)
        self._anonymous: OrderedDict[Peer, trio.CancelScope] = OrderedDict()
        self._open = 0

    def __repr__(self) -> str:
        return (
            f"<ConnectionGate open={self._open}/{self.max_connections} "
            f"anonymous={len(self._anonymous)}/{self.max_anonymous}>"
        )

    @property
    def open(self) -> int:
        return self._open

    @property
    def anonymous(self) -> int:
        return len(self._anonymous)

    def authenticated(self, peer: object) -> None:
        """The connection from ``peer`` (an ASGI scope's ``client``) proved the token: it no
        longer counts as anonymous (nothing if unknown)."""
        if isinstance(peer, tuple | list) and len(peer) == 2:
            self._anonymous.pop((str(peer[0]), int(peer[1])), None)

    async def serve(
        self,
        listener: trio.SocketListener,
        handler: Callable[[trio.SocketStream], Awaitable[None]],
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Accept on ``listener`` until it is closed, each connection served by ``handler``
        in a task of its own; then wait for those to end. Cancellation: stops accepting and
        cancels every connection's task."""
        async with trio.open_nursery() as nursery:
            task_status.started()
            while True:
                await self._slots.acquire()  # at the cap: leave the rest in the backlog
                try:
                    stream = await listener.accept()
                except trio.ClosedResourceError:  # the server is stopping
                    self._slots.release()
                    break
                except OSError as exc:
                    self._slots.release()
                    if exc.errno not in _CAPACITY_ERRNOS:
                        raise
                    log.warning("cannot accept a connection for now: %s", exc.strerror)
                    await trio.sleep(_CAPACITY_PAUSE)
                    continue
                nursery.start_soon(self._serve_one, stream, handler)

    async def _serve_one(
        self,
        stream: trio.SocketStream,
        handler: Callable[[trio.SocketStream], Awaitable[None]],
    ) -> None:
        self._open += 1
        peer = _peer(stream)
        try:
            with trio.CancelScope() as scope:
                if peer is not None:
                    self._admit(peer, scope)
                await handler(stream)
        finally:
            if peer is not None and self._anonymous.get(peer) is scope:
                del self._anonymous[peer]
            self._open -= 1
            self._slots.release()
            await trio.aclose_forcefully(stream)

    def _admit(self, peer: Peer, scope: trio.CancelScope) -> None:
        self._anonymous[peer] = scope
        while len(self._anonymous) > self.max_anonymous:
            _, oldest = self._anonymous.popitem(last=False)
            oldest.cancel()  # its task closes the connection on the way out


class BodyDeadline:
    """Pure ASGI: a request's body must arrive within ``timeout`` seconds of its headers,
    else 408 (``Connection: close``). Reads after the body (an event stream waiting for the
    client to leave) have no deadline."""

    def __init__(self, app: ASGIApp, timeout: float) -> None:
        self.app = app
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        deadline = trio.current_time() + self.timeout
        state = {"body_done": False, "started": False, "late": False}

        async def timed_receive() -> Message:
            if state["body_done"]:
                return await receive()
            with trio.move_on_at(deadline):
                message = await receive()
                if message["type"] != "http.request" or not message.get("more_body", False):
                    state["body_done"] = True
                return message
            state["late"] = True
            app_scope.cancel()
            await trio.lowlevel.checkpoint()  # raises Cancelled: the app unwinds
            raise AssertionError("unreachable: the app's scope is cancelled")

        async def tracked_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["started"] = True
            await send(message)

        with trio.CancelScope() as app_scope:
            await self.app(scope, timed_receive, tracked_send)
        if state["late"] and not state["started"]:
            await _request_timeout(send, self.timeout)


async def _request_timeout(send: Send, seconds: float) -> None:
    body = (
        b'{"error": "the request body did not arrive within %g s: send it at once, or '
        b'check the network"}' % seconds
    )
    await send(
        {
            "type": "http.response.start",
            "status": 408,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
                (b"cache-control", b"no-store"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
