"""The project's configuration: every environment variable declared once (name, default,
help, secret or not), and the one module that reads the environment.

``stores``, ``files``, ``actors``, ``web`` and ``supervisor`` all take their settings from
here; it imports nothing of them (the standard library and attrs only).
"""

from __future__ import annotations

from ._declared import SETTINGS, Setting, UndeclaredSetting, declared, default
from ._environment import SECRET_VARIABLES, Environment, child_environ, environment

__all__ = [
    "SECRET_VARIABLES",
    "SETTINGS",
    "Environment",
    "Setting",
    "UndeclaredSetting",
    "child_environ",
    "declared",
    "default",
    "environment",
]

for _name in __all__:
    _obj = globals()[_name]
    if getattr(_obj, "__module__", "").startswith("media_jobs_config._"):
        _obj.__module__ = __name__
