"""Reads the environment in one place; a bad value fails at start with a clear message."""

import os
from urllib.parse import urlparse

from django.core.exceptions import ImproperlyConfigured

# Where `make run` serves (bin/run-portal hands it to runserver); the one place for the default.
DEFAULT_PORTAL_ADDR = "127.0.0.1:8000"

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return default if value is None else value


def portal_addr() -> str:
    """The address the portal is served on: `PORTAL_ADDR` (host:port), else 127.0.0.1:8000.
    bin/run-portal serves this and `seed_demo` prints it, both read when they run."""
    return os.environ.get("PORTAL_ADDR") or DEFAULT_PORTAL_ADDR


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name}={value!r} is not a boolean; use one of 1/0, true/false, yes/no."
    )


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}={value!r} is not a whole number.") from exc


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def env_url(name: str, schemes: set[str]) -> str | None:
    """A URL whose scheme is one of `schemes`, or None when the variable is unset."""
    value = os.environ.get(name)
    if not value:
        return None
    parsed = urlparse(value)
    if parsed.scheme not in schemes or not (parsed.hostname or parsed.path):
        raise ImproperlyConfigured(
            f"{name}={value!r} is not a valid URL; expected a scheme among {sorted(schemes)}, "
            f"e.g. {sorted(schemes)[0]}://host:port/..."
        )
    return value
