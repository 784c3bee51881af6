"""The list statements' names: one definition of their letter codes, for the statements
(build time) and the store (run time). No SQLAlchemy here: the store imports it."""

from __future__ import annotations

import enum
import itertools
from collections.abc import Iterator
from typing import NamedTuple

from ._model import JobStatus

__all__ = ["ListFilters", "StatusFilter", "all_filters", "list_name", "status_filter"]


class StatusFilter(enum.StrEnum):
    """How a list filters by status, by the index that serves it: pending and running each
    by their partial index (the status is a constant in the text), a finished status by the
    index of finished rows (which the query names by the same constant list)."""

    PENDING = "P"
    RUNNING = "R"
    FINISHED = "F"


class ListFilters(NamedTuple):
    """One combination of a list's filters: one statement each."""

    status: StatusFilter | None
    type_: bool
    views: bool
    before: bool


def status_filter(status: JobStatus) -> StatusFilter:
    """The filter that serves a list of the jobs in ``status``."""
    if status is JobStatus.PENDING:
        return StatusFilter.PENDING
    if status is JobStatus.RUNNING:
        return StatusFilter.RUNNING
    return StatusFilter.FINISHED


def list_name(filters: ListFilters) -> str:
    """The statement's name: LIST (LISTV for poll views), then the status letter, T if by
    type, B if a page before a cursor."""
    status, type_, views, before = filters
    flags = f"{status or ''}{'T' if type_ else ''}{'B' if before else ''}"
    return f"LIST{'V' if views else ''}_{flags}"


def all_filters() -> Iterator[ListFilters]:
    """Every combination, so every list statement."""
    for status, type_, views, before in itertools.product(
        (None, *StatusFilter), (False, True), (False, True), (False, True)
    ):
        yield ListFilters(status, type_, views, before)
