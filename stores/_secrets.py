"""The variables no process started by this project may inherit: the settings declared
secret in ``media_jobs_config`` (kept here under their old names for ``stores`` and
``actors``)."""

from __future__ import annotations

from media_jobs_config import SECRET_VARIABLES, child_environ

__all__ = ["SECRET_VARIABLES", "child_environ"]
