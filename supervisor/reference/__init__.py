"""The project's reference job types: what a worker serves when no ``--handlers`` module is
given (``tone``, ``prep``, ``sleep``, ``child``, ``fail``), and examples for writing your own
(docs/HANDLERS.md).

``JOB_TYPES`` is all this package exports, so it is a handlers module like any other:
``media-jobs run --handlers supervisor.reference`` is the default spelled out. ``prep``
(``_media.py``, its loudness rules in ``_loudness.py``) measures and normalises a
recording; the others are small handlers for demos and tests (``_jobs.py``).
"""

from __future__ import annotations

from ._jobs import JOB_TYPES

__all__ = ["JOB_TYPES"]
