"""Fixed-window counters in the cache (Redis in production): "at most N per key per window".

A cache that is down lets the request through (logged): the portal keeps working without Redis,
and the limits here guard against abuse, not against a single request.
"""

from __future__ import annotations

import hashlib
import logging

from django.core.cache import cache

log = logging.getLogger(__name__)


def _key(scope: str, value: str) -> str:
    # hashed: no e-mail address or IP address in clear in the cache's key space
    return f"ratelimit:{scope}:{hashlib.sha256(value.encode()).hexdigest()}"


def hit(scope: str, value: str, *, limit: int, window_seconds: int) -> bool:
    """Count one more event for `value`; True while the count in the window stays within
    `limit`, False once it is over (the event is counted either way)."""
    key = _key(scope, value)
    try:
        if cache.add(key, 1, timeout=window_seconds):
            count = 1
        else:
            try:
                count = cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.add(key, 1, timeout=window_seconds)
                count = 1
    except Exception:  # noqa: BLE001 - the cache is down: let it through
        log.warning("rate limit %s not checked: cache unavailable", scope)
        return True
    return count <= limit
