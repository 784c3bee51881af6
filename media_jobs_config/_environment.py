"""The one place that reads the process's environment (a test greps every package for
another).

:func:`environment` takes a frozen snapshot of the declared variables; the CLI takes one at
start and hands it, or values made from it, to everything it runs. A library entry point
used without the CLI (``stores.get_job_store``, ``files.get_storage``, ``ffmpeg_binary``)
takes its own snapshot when first called. :func:`child_environ` is what a child process
inherits: the whole environment less the secrets.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import overload

from ._declared import SETTINGS, declared

__all__ = ["Environment", "child_environ", "environment"]

#: Variables no process started by this project may inherit (the rows marked ``secret``).
SECRET_VARIABLES = tuple(s.variable for s in SETTINGS if s.secret)


class Environment:
    """The declared variables that are set (to something other than blanks), frozen, as
    given (not stripped). Reading one that is not declared raises ``UndeclaredSetting``."""

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[str, str]) -> None:
        given = {s.variable: values.get(s.variable, "") for s in SETTINGS}
        self._values = {name: value for name, value in given.items() if value.strip()}

    @overload
    def get(self, variable: str, /) -> str | None: ...
    @overload
    def get(self, variable: str, /, default: str) -> str: ...
    def get(self, variable: str, /, default: str | None = None) -> str | None:
        """The value of ``variable``, else ``default``."""
        declared(variable)
        return self._values.get(variable, default)

    def __contains__(self, variable: object) -> bool:
        return variable in self._values

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __repr__(self) -> str:
        # Names only: values may be secrets.
        return f"<Environment {' '.join(sorted(self._values))}>"


def environment(values: Mapping[str, str] | Environment | None = None) -> Environment:
    """A snapshot of the declared variables: of ``values`` if given (tests, a child's
    environment), else of this process's environment, read now."""
    if isinstance(values, Environment):
        return values
    return Environment(os.environ if values is None else values)


def child_environ() -> dict[str, str]:
    """This process's environment without its secrets: for every process it starts."""
    return {k: v for k, v in os.environ.items() if k not in SECRET_VARIABLES}
