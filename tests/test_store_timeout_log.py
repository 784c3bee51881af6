"""The worker's start-up line about the store's call timeout (issue 18 #12): said only
when a timeout was really lowered (a network store whose timeout does not fit the lease
margins), with the values and what sets them; never on the local file, which has none."""

from __future__ import annotations

import logging

import pytest

from media_jobs_testing.helpers import StoreFactory
from supervisor import WorkerConfig, open_supervisor
from supervisor.reference import JOB_TYPES

#: fence after 3 - 2 × 0.3 - 1 = 1.4 s: a store call may take 1.4 - 0.3 = 1.1 s at most.
SHORT = WorkerConfig(poll_interval=0.1, heartbeat_interval=0.3, stale_after=3, kill_grace=1)


def lowered(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "call timeout" in r.getMessage()]


async def test_the_line_appears_only_when_a_timeout_is_lowered(
    store_factory: StoreFactory, backend: str, caplog: pytest.LogCaptureFixture
) -> None:
    store = store_factory()  # Turso's: a 5 s timeout; the local file: none (math.inf)
    caplog.set_level(logging.DEBUG)
    async with open_supervisor(store, JOB_TYPES, SHORT):
        pass
    if backend == "local":
        assert lowered(caplog) == []
    else:
        assert lowered(caplog) == [
            "store call timeout lowered from 5 s to 1.1 s to fit the lease margins "
            "(a longer SUPERVISOR_STALE_AFTER allows more)"
        ]
        assert store.call_timeout == pytest.approx(1.1)


async def test_a_timeout_that_fits_is_left_alone_and_not_mentioned(
    store_factory: StoreFactory, caplog: pytest.LogCaptureFixture
) -> None:
    store = store_factory()
    before = store.call_timeout
    caplog.set_level(logging.DEBUG)
    async with open_supervisor(store, JOB_TYPES, WorkerConfig()):  # 42 s fit
        pass
    assert lowered(caplog) == []
    assert store.call_timeout == before
