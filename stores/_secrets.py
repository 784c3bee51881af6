"""The one list of variables no process started by this project may inherit."""

from __future__ import annotations

import os

__all__ = ["SECRET_VARIABLES", "child_environ"]

#: The job store's, the API's and the object storage's secrets.
SECRET_VARIABLES = (
    "TURSO_AUTH_TOKEN",
    "SUPERVISOR_API_TOKEN",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_ACCESS_KEY_ID",
)


def child_environ() -> dict[str, str]:
    """This process's environment without its secrets: for every process it starts."""
    return {k: v for k, v in os.environ.items() if k not in SECRET_VARIABLES}
