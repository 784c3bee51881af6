"""A claiming process for the concurrency proof: claims and completes until the queue is empty.

Usage: python -m tests.claimer WORKER_ID GO_FILE (store from the environment). Prints
"ready", waits for GO_FILE to exist (so all processes start claiming together), then prints
one claimed id per line.
"""

from __future__ import annotations

import sys

import trio

from stores import store_from_env


async def main(worker_id: str, go_file: str) -> None:
    store = store_from_env()
    await store.get(1)  # connect (and migrate) before the start line
    print("ready", flush=True)
    while not await trio.Path(go_file).exists():
        await trio.sleep(0.01)
    try:
        idle = 0
        while idle < 3:
            claimed = await store.claim(worker_id)
            if claimed is None:
                idle += 1
                await trio.sleep(0.05)
                continue
            idle = 0
            print(claimed.job.id, flush=True)
            await store.update(claimed.lease, stage="work", progress=50)
            await store.complete(claimed.lease, {"by": worker_id})
    finally:
        await store.aclose()


if __name__ == "__main__":
    trio.run(main, sys.argv[1], sys.argv[2])
