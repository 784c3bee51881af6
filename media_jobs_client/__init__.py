"""A small HTTP client for the media-jobs API, for apps that are not Trio.

Use it from Django, Flask, FastAPI, an asyncio service or a script: ``Client`` blocks,
``AsyncClient`` runs under asyncio and Trio alike (httpx, through anyio), and neither ever
blocks an event loop while the database stalls. Inside a Trio worker, use the store
(``stores.get_job_store``) instead.

    from media_jobs_client import Client

    with Client("http://127.0.0.1:8000", token=None) as jobs:
        job = jobs.submit("tone", {"seconds": 5}, idempotency_key="order-42")
        print(jobs.wait(job.id).status)

Files: ``submit(..., file=PATH)`` uploads then submits with the key as the payload's
``input``; ``fetch(job_id, to=PATH)`` streams the outputs to disk, checked against their
SHA-256. The bytes go to the bucket directly on S3 (presigned URLs, never the API token).
"""

from ._async import AsyncClient
from ._core import TERMINAL, JobView
from ._errors import (
    ApiError,
    AuthError,
    BadRequest,
    Conflict,
    MediaJobsError,
    NotFound,
    ServerError,
    TransferError,
    Unprocessable,
    Unreachable,
)
from ._sync import Client

__all__ = [
    "TERMINAL",
    "ApiError",
    "AsyncClient",
    "AuthError",
    "BadRequest",
    "Client",
    "Conflict",
    "JobView",
    "MediaJobsError",
    "NotFound",
    "ServerError",
    "TransferError",
    "Unprocessable",
    "Unreachable",
]
