"""Mail servers that misbehave, for the outbox tests: one that refuses connections and one
that hangs (until released, or until the send's timeout runs out)."""

import threading

from django.conf import settings
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend


class _Faulty(LocmemBackend):
    attempts = 0
    down = True

    @classmethod
    def reset(cls) -> None:
        cls.attempts = 0
        cls.down = True

    def send_messages(self, messages):
        type(self).attempts += 1
        if type(self).down:
            self.fail()
        return super().send_messages(messages)

    def fail(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError


class RefusingBackend(_Faulty):
    """The mail server refuses the connection while `down`."""

    def fail(self) -> None:
        raise ConnectionRefusedError(111, "Connection refused")


class HangingBackend(_Faulty):
    """The mail server accepts the connection and then says nothing while `down`: the send
    gives up after EMAIL_TIMEOUT, as smtplib's socket timeout does."""

    released = threading.Event()

    def fail(self) -> None:
        if not self.released.wait(timeout=settings.EMAIL_TIMEOUT):
            raise TimeoutError("timed out")
