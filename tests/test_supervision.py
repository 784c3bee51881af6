"""Supervision as data (issue 20 #3): the actors are child specs started in order and
stopped in reverse, and an actor that returns without being stopped is a crash, restarted
like one. The actors are the real ones, each wrapped to record when it starts and ends; one
test replaces the reaper by a double that returns."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import trio
import trio.testing

import supervisor._supervisor as supervision
from actors import ActorCrash, Event
from media_jobs_testing.helpers import fast_config, wait_for_status
from stores import JobStatus, LocalJobStore
from supervisor import open_supervisor
from supervisor.reference import JOB_TYPES

ACTORS = ("poller", "executor", "heartbeat", "reaper")


#: The one ``store`` fixture (conftest), on the local file, writing Trio's virtual time.
pytestmark = pytest.mark.store(backends=("local",), clock="trio")


def recorded(monkeypatch: pytest.MonkeyPatch, seen: list[str]) -> None:
    """Each actor, as the supervisor calls it, appends ``start NAME`` once ready and
    ``end NAME`` when it ends (however)."""

    def wrap(name: str, actor: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
        async def run(*args: Any, task_status: trio.TaskStatus[None], **kwargs: Any) -> None:
            class Status:
                def started(self, value: None = None) -> None:
                    seen.append(f"start {name}")
                    task_status.started()

            try:
                await actor(*args, task_status=Status(), **kwargs)
            finally:
                seen.append(f"end {name}")

        return run

    for name in ACTORS:
        monkeypatch.setattr(supervision, name, wrap(name, getattr(supervision, name)))


async def test_actors_start_in_order_and_stop_in_reverse(
    store: LocalJobStore, autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What keeps a job safe starts first and stops last: the reaper, the heartbeat, the
    executor, then the poller (claims come last); a stop ends the poller first (no new
    claims), then the executor (the job finished or released), the heartbeat (it renewed
    the lease until then), the reaper."""
    seen: list[str] = []
    recorded(monkeypatch, seen)
    async with open_supervisor(store, JOB_TYPES, fast_config()) as sup:
        assert sup.actors == ("reaper", "heartbeat", "executor", "poller")
        job = await store.create("sleep", {"seconds": 1})
        await wait_for_status(store, job.id, JobStatus.COMPLETED)
        assert seen == [f"start {name}" for name in ("reaper", "heartbeat", "executor", "poller")]
    assert seen[4:] == [f"end {name}" for name in ("poller", "executor", "heartbeat", "reaper")]


async def test_a_stop_keeps_the_heartbeat_until_the_running_job_is_released(
    store: LocalJobStore, autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stopped with a job running: the executor ends (the job released, uncharged) before
    the heartbeat does."""
    seen: list[str] = []
    recorded(monkeypatch, seen)
    async with open_supervisor(store, JOB_TYPES, fast_config()):
        job = await store.create("sleep", {"seconds": 600})
        await wait_for_status(store, job.id, JobStatus.RUNNING)
    assert seen.index("end executor") < seen.index("end heartbeat")
    after = await store.get(job.id)
    assert after is not None
    assert (after.status, after.attempt) == (JobStatus.PENDING, 0)


async def test_an_actor_that_returns_is_restarted_as_a_crash(
    store: LocalJobStore, autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An actor runs until stopped: one that returns on its own (a bug) is a crash, logged
    and counted, and restarted within the restart intensity."""
    incarnations: list[int] = []

    async def reaper(*args: Any, task_status: trio.TaskStatus[None], **kwargs: Any) -> None:
        incarnations.append(len(incarnations) + 1)
        task_status.started()
        if len(incarnations) == 1:
            return  # the bug: it ends without being asked to
        await trio.sleep_forever()

    monkeypatch.setattr(supervision, "reaper", reaper)
    events: list[Event] = []
    async with open_supervisor(store, JOB_TYPES, fast_config(), observers=[events.append]) as sup:
        await trio.sleep(1)
        assert incarnations == [1, 2]
        assert dict(sup.restarts) == {"reaper": 1}
        assert "reaper" in sup.actors
    (crash,) = [e for e in events if isinstance(e, ActorCrash)]
    assert crash.actor == "reaper"
    assert "returned" in crash.error
