"""Scheduled jobs are named after the function they run (`manage.py run_job credit_expire`
runs `credit_expire`), so an operator reading a log or the beat schedule finds the code in one
hop. Each app's `jobs.py` lists its jobs with `job()`; portal/jobs.py collects them."""

import functools
from collections.abc import Callable
from typing import Any


def job(fn: Callable[[], Any], *, count_key: str | None = None) -> tuple[str, Callable[[], Any]]:
    """`(name, runner)` for a registry: the name is the function's own; a function that returns
    a count is reported as `{count_key: n}`."""
    if count_key is None:
        return fn.__name__, fn

    @functools.wraps(fn)
    def counted() -> dict[str, Any]:
        return {count_key: fn()}

    return fn.__name__, counted
