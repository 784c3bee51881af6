"""Live updates: one task per server reads what changed, for every open stream together.

Rationale. On Turso every row read is billed, and a dashboard is a page people leave open.
A query per watcher per tick would make the bill grow with the audience; instead one
:class:`Broadcaster` asks the store, once per tick and only while someone watches, for the
jobs whose change stamp moved (``JobStore.changes``, an index range scan that reads the
changed rows only), and fans the views out to the subscribers. When a job entered or left
the queue, a second query (``JobStore.queue``, the pending ids in claim order) tells every
pending job's new position. Nobody watching: no query at all.

Marks, not times. Each write gives the rows it changes a change stamp that only grows, in
commit order, whatever the database clock does (``_STAMP`` in ``stores._statements``); a
mark is a stamp and a job id. The broadcaster keeps the mark of the last change it read and
asks for the changes past it: a later commit has a larger stamp, so none is missed and none
is read twice, and no margin is needed. (Before revision 9 the cursor was the database's
time: with that clock stepped back by 600 s, every write landed behind the cursor and every
stream went silent for 600 s.) Event ids are marks, so a reconnect replays exactly what it
missed. The store's clock is only for display: the changed rows carry it, and between
reads it is estimated from this host's monotonic clock. Ticks come every ``interval``
while jobs change and back off to ``max_interval`` while nothing does.

Heartbeats. A heartbeat moves ``updated_at`` and nothing else, and it is sent like any other
change: the dashboard's "last heartbeat" age and its stale warning must come from the
database, and a job in a stage that cannot measure itself writes nothing but heartbeats.
It costs one small event per running job per heartbeat interval.
"""

from __future__ import annotations

import json
import logging
import math
import time

import attrs
import trio

from stores import JobStatus, JobStore, JobStoreError, JobView

__all__ = ["Broadcaster", "Message", "Subscription", "newer"]

log = logging.getLogger("web")

#: One server-sent event: (event name, id, data as JSON text).
Message = tuple[str, str, str]


#: Where a reader of the changes is: (change stamp, job id); see ``JobStore.changes``.
Mark = tuple[float, int]


def newer(view: JobView, than: JobView | None) -> bool:
    """True if ``view`` should replace ``than`` for a watcher of that job: a later write
    (its change stamp, never its times: the database clock may step back), or a move in
    the queue (same row, another position)."""
    if than is None:
        return True
    if view.changed_at != than.changed_at:
        return (view.changed_at or 0.0) > (than.changed_at or 0.0)
    return view.queue_position != than.queue_position


def view_data(view: JobView) -> str:
    return json.dumps(view.to_dict(), separators=(",", ":"))


@attrs.define(eq=False)
class Subscription:
    """One open stream: every job (``job_id`` None) or one job. The broadcaster closes it
    when the server stops, when it falls too far behind, or (one job) after a final state."""

    job_id: int | None
    send: trio.MemorySendChannel[Message]
    receive: trio.MemoryReceiveChannel[Message]
    last: JobView | None = None
    closed: bool = False

    def close(self) -> None:
        """End the stream once the messages already queued are read."""
        self.closed = True
        self.send.close()

    def put(self, message: Message) -> bool:
        """Queue ``message``; a subscriber too slow to keep up is closed (its client
        reconnects with ``Last-Event-ID`` and catches up). False once closed."""
        if self.closed:
            return False
        try:
            self.send.send_nowait(message)
        except (trio.WouldBlock, trio.BrokenResourceError):
            self.close()
            return False
        return True

    def offer(self, view: JobView, event_id: str) -> None:
        """Pass ``view`` of this subscription's job on if it is news; close after a final one."""
        if not newer(view, self.last):
            return
        self.last = view
        if self.put(("job", event_id, view_data(view))) and view.status.terminal:
            self.close()


class Broadcaster:
    """Reads the job table's changes once per tick and fans them out; see the module doc."""

    def __init__(
        self,
        store: JobStore,
        *,
        interval: float = 0.5,
        max_interval: float = 2.0,
        margin: float = 1.0,
        limit: int = 500,
        queue_limit: int = 1000,
        buffer: int = 256,
    ) -> None:
        self.store = store
        self.interval = interval
        self.max_interval = max(interval, max_interval)
        self._delay = interval
        self.margin = margin
        self.limit = limit
        self.queue_limit = queue_limit
        self._buffer = buffer
        self._anchor: tuple[float, float] | None = None  # (store time, monotonic) of a read
        self._subscribers: set[Subscription] = set()
        self._wake = trio.Event()
        self._closed = False
        self._cursor: Mark | None = None  # the last change read
        self._queue: list[int] | None = None
        self._failing = False
        #: Store queries made so far (for tests and benchmarks: flat in the watcher count).
        self.queries = 0
        self.ticks = 0

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"{len(self._subscribers)} subscribers"
        return f"<Broadcaster {state} every {self.interval:g}s queries={self.queries}>"

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def subscribe(self, job_id: int | None = None) -> Subscription:
        """A new subscription (all jobs, or one); already closed if the server is stopping."""
        send, receive = trio.open_memory_channel[Message](self._buffer)
        subscription = Subscription(job_id, send, receive)
        if self._closed:
            subscription.close()
        else:
            self._subscribers.add(subscription)
            self._poke()
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscribers.discard(subscription)
        subscription.close()

    def close(self) -> None:
        """End every stream now and refuse new ones (the server is stopping)."""
        self._closed = True
        for subscription in list(self._subscribers):
            self.unsubscribe(subscription)

    def event_id(self, mark: Mark | None = None) -> str:
        """An event id: a mark (``stamp:id``; by default the last change read), which a
        reconnect's ``Last-Event-ID`` replays from."""
        mark = mark or self._cursor
        if mark is None:  # nothing read yet: the store's time (replayed from a margin before)
            return repr(self.now())
        return f"{mark[0]!r}:{mark[1]}"

    def now(self) -> float:
        """The store's time, estimated from the last read (no query): for display only."""
        if self._anchor is None:
            return time.time()
        at, then = self._anchor
        return at + (time.monotonic() - then)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Tick while anyone watches, until cancelled: every ``interval`` while jobs change,
        backing off (×1.5) to ``max_interval`` while nothing does; a job made pending through
        this process's store object, or a new watcher, brings the next tick forward.

        Cancellation: a store call in flight completes first (the store shields it); every
        open stream is closed on the way out, so their responses end.
        """
        self.store.add_listener(self._poke)
        task_status.started()
        try:
            while True:
                if not self._subscribers:
                    # Nobody watches: forget the cursor and read nothing until someone does.
                    self._cursor, self._anchor, self._queue = None, None, None
                    self._wake = trio.Event()
                    await self._wake.wait()
                self._wake = trio.Event()
                changed = await self.tick()
                self._delay = self.interval if changed else self._delay * 1.5
                self._delay = min(self._delay, self.max_interval)
                await trio.sleep(self.interval)  # never closer than a tick, however poked
                with trio.move_on_after(self._delay - self.interval):
                    await self._wake.wait()
        finally:
            self.store.remove_listener(self._poke)
            self.close()

    def _poke(self) -> None:
        self._delay = self.interval
        self._wake.set()

    async def tick(self) -> bool:
        """One read of the changes (and of the queue, if it moved), fanned out; True if
        anything new was sent. A store error pauses live updates (logged once) and keeps
        the cursor, so the next tick catches up.

        Cancellation: a store read in flight completes (shielded by the store); nothing is
        sent and the cursor does not move, so a later tick reads the same changes again.
        """
        started = time.monotonic()
        try:
            if self._cursor is None:  # the first tick since someone started watching
                await self._start_cursor()
            assert self._cursor is not None
            views, mark, read_at = await self.store.changes(self._cursor, limit=self.limit)
            self.queries += 1
            queue = await self._read_queue() if self._queue_moved(views) else None
        except JobStoreError as exc:
            if not self._failing:
                log.warning("live updates paused: %s", exc)
                self._failing = True
            return False
        if self._failing:
            log.info("live updates resumed")
            self._failing = False
        self.ticks += 1
        if read_at is not None:
            self._anchor = (read_at, time.monotonic())
        elif self._anchor is not None:
            # No row carried the clock: the store's time at the start of this read, from the
            # last one it told us and this host's monotonic clock.
            at, then = self._anchor
            self._anchor = (at + (started - then), started)
        self._cursor = mark
        self._fan_out(self.event_id(mark), views, queue)
        return bool(views) or queue is not None

    async def _start_cursor(self) -> None:
        """Start a ``margin`` of stamps (1 s) before the latest change: stamps follow the
        clock while it is sane and crawl a microsecond a write while it is behind, so this
        covers the changes made since the first watcher subscribed (a tick ago) and since
        a watcher of one job read its first view."""
        _, (stamp, _), now = await self.store.changes(None)
        self.queries += 1
        self._anchor = (now if now is not None else time.time(), time.monotonic())
        self._cursor = (stamp - self.margin, 0)

    def _queue_moved(self, fresh: list[JobView]) -> bool:
        if not any(s.job_id is None or _pending(s.last) for s in self._subscribers):
            return False  # nobody shows a queue position
        if self._queue is None:
            return True
        known = set(self._queue)
        # A job joined the queue (created, retried, released) or left it (claimed, cancelled).
        return any(v.status is JobStatus.PENDING or v.id in known for v in fresh)

    async def _read_queue(self) -> list[int]:
        queue = await self.store.queue(limit=self.queue_limit)
        self.queries += 1
        self._queue = queue
        return queue

    def _fan_out(self, event_id: str, views: list[JobView], queue: list[int] | None) -> None:
        by_id = {v.id: v for v in views}
        positions = {job_id: n for n, job_id in enumerate(queue or (), start=1)}
        queue_data = None
        if queue is not None:
            complete = len(queue) < self.queue_limit
            queue_data = json.dumps({"pending": queue, "complete": complete})
        job_messages = [("job", event_id, view_data(v)) for v in views]
        for subscription in list(self._subscribers):
            if subscription.job_id is None:
                for message in job_messages:
                    subscription.put(message)
                if queue_data is not None:
                    subscription.put(("queue", event_id, queue_data))
                continue
            view = by_id.get(subscription.job_id, subscription.last)
            if view is None:
                continue
            position = positions.get(view.id)
            if position is not None and view.status is JobStatus.PENDING:
                view = view.moved_to(position)
            subscription.offer(view, event_id)
        self._subscribers = {s for s in self._subscribers if not s.closed}

    def catch_up_from(self, last_event_id: str | None) -> Mark | None:
        """The mark to replay from for a reconnecting client: its ``Last-Event-ID`` (a
        mark, ``stamp:id``) or the ``since`` of a list answer (a store time: from a margin
        before it). None when it is missing, malformed, ahead of the latest change or too
        old to replay (reload instead)."""
        if not last_event_id:
            return None
        stamp_text, sep, id_text = last_event_id.partition(":")
        try:
            stamp = float(stamp_text)
            after = int(id_text) if sep else 0
        except ValueError:
            return None
        # Stamps run ahead of the clock after it stepped back: measure from the latest.
        latest = max(self.now(), self._cursor[0] if self._cursor else -math.inf)
        if not math.isfinite(stamp) or stamp > latest + 60 or stamp < latest - 600:
            return None
        return (stamp, after) if sep else (stamp - self.margin, 0)


def _pending(view: JobView | None) -> bool:
    return view is not None and view.status is JobStatus.PENDING
