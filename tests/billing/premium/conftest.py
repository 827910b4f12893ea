import datetime as dt

import pytest
from django.utils import timezone


class Clock:
    def __init__(self):
        self.moment = dt.datetime(2027, 6, 1, 9, tzinfo=dt.UTC)

    def set(self, moment):
        self.moment = moment
        return moment


@pytest.fixture(autouse=True)
def now(monkeypatch):
    """Move the clock of the premium services (1 June 2027 by default): `now.set(moment)`."""
    clock = Clock()
    monkeypatch.setattr(timezone, "now", lambda: clock.moment)
    return clock


@pytest.fixture(autouse=True)
def _english():
    """The services' refusals are read in the language of the request; these tests read English
    (a page test before them may leave another language active on the thread)."""
    from django.utils import translation

    with translation.override("en"):
        yield
