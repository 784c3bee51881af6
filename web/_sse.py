"""Server-Sent Events: the two streams, their framing, keep-alives and reconnects.

``GET /api/jobs/{id}/events`` sends the job's view at once, then on every change, and ends
after a final state. ``GET /api/events`` sends every job's changes and the queue order. Both
set an ``id`` on each event; a client reconnecting with ``Last-Event-ID`` (browsers do it by
themselves) gets what it missed: the per-job stream sends the current view at once anyway,
the multiplexed one replays the changes since that id (or says ``reset``: reload the list).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import trio
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from ._broadcast import Broadcaster, Mark, Message, Subscription, view_data
from ._errors import ApiError

__all__ = ["KEEPALIVE", "EventStream", "all_events", "job_events"]

#: Seconds of silence before a comment line keeps proxies from closing an idle stream.
KEEPALIVE = 15.0
RETRY_MS = 3000


def frame(message: Message) -> str:
    event, event_id, data = message
    return f"event: {event}\nid: {event_id}\ndata: {data}\n\n"


class EventStream(StreamingResponse):
    """A ``text/event-stream`` response relaying one subscription; unsubscribes when the
    response ends for any reason (client gone, server stopping, final state)."""

    def __init__(
        self, broadcaster: Broadcaster, subscription: Subscription, prelude: list[Message]
    ) -> None:
        self.broadcaster = broadcaster
        self.subscription = subscription
        super().__init__(
            self._events(prelude),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    async def _events(self, prelude: list[Message]) -> AsyncIterator[str]:
        yield f"retry: {RETRY_MS}\n\n"
        for first in prelude:
            yield frame(first)
        receive = self.subscription.receive
        while True:
            message: Message | None = None
            with trio.move_on_after(KEEPALIVE):
                try:
                    message = await receive.receive()
                except (trio.EndOfChannel, trio.ClosedResourceError):
                    return
            # Never yield inside a cancel scope: the scope would outlive this frame.
            yield ": keep-alive\n\n" if message is None else frame(message)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Cancellation: the subscription is removed however the response ends."""
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.broadcaster.unsubscribe(self.subscription)


def _broadcaster(request: Request) -> Broadcaster:
    broadcaster: Broadcaster = request.app.state.broadcaster
    return broadcaster


async def job_events(request: Request, job_id: int) -> EventStream:
    """The per-job stream; 404 (JSON, before any event) for an unknown job.

    Cancellation: the subscription is removed whether this or the stream is cancelled.
    """
    broadcaster = _broadcaster(request)
    # Subscribe before reading, so no change falls between the read and the first tick.
    subscription = broadcaster.subscribe(job_id)
    try:
        view = await broadcaster.store.poll(job_id)
    except BaseException:
        broadcaster.unsubscribe(subscription)
        raise
    subscription.offer(view, broadcaster.event_id())
    return EventStream(broadcaster, subscription, [])


async def all_events(request: Request, since: float | None) -> EventStream:
    """The multiplexed stream. ``since`` (the ``now`` of a list answer) or ``Last-Event-ID``
    (a reconnect) replays the changes from then: one store read for this client, once.

    Cancellation: the subscription is removed whether this or the stream is cancelled.
    """
    broadcaster = _broadcaster(request)
    resume = request.headers.get("last-event-id") or (None if since is None else repr(since))
    start = broadcaster.catch_up_from(resume)
    subscription = broadcaster.subscribe(None)
    now = broadcaster.now()
    event_id = broadcaster.event_id()
    hello = json.dumps({"now": now, "tick": broadcaster.interval})
    prelude: list[Message] = [("hello", event_id, hello)]
    try:
        if resume and start is None:
            prelude.append(("reset", event_id, "{}"))
        elif start is not None:
            prelude += await _replay(broadcaster, start, event_id)
    except BaseException:
        broadcaster.unsubscribe(subscription)
        raise
    return EventStream(broadcaster, subscription, prelude)


async def _replay(broadcaster: Broadcaster, start: Mark, event_id: str) -> list[Message]:
    views, _, _ = await broadcaster.store.changes(start, limit=broadcaster.limit)
    if len(views) == broadcaster.limit:
        return [("reset", event_id, "{}")]  # too much to replay: reload
    queue = await broadcaster.store.queue(limit=broadcaster.queue_limit)
    complete = len(queue) < broadcaster.queue_limit
    messages: list[Message] = [("job", event_id, view_data(v)) for v in views]
    messages.append(("queue", event_id, json.dumps({"pending": queue, "complete": complete})))
    return messages


def parse_since(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value == value or value in (float("inf"), float("-inf")) or value < 0:
        raise ApiError(400, f"since is a time in Unix seconds (the list's 'now'), got {text!r}")
    return value
