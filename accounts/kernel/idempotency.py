"""`Idempotency-Key` for money-moving POSTs (DESIGN.md, Interfaces).

Same key and same body: the first answer again. Same key, other body: 409. The key's row is
inserted in the same transaction as the work, so concurrent retries wait on the unique index
and then replay the committed answer; a failed first attempt rolls back and leaves the key free.
"""

import hashlib
import json
from collections.abc import Callable
from typing import Any, TypeVar, cast

from django.db import IntegrityError, transaction
from django.db.models import Model
from django.utils.translation import gettext
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.kernel.errors import Conflict, ValidationFailed
from accounts.models import IdempotentRequest, User

HEADER = "HTTP_IDEMPOTENCY_KEY"

_M = TypeVar("_M", bound=Model)


def _body_hash(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


# Services prefix the key with its purpose ("top-up:…") in columns of 200 characters.
MAX_KEY_LENGTH = 128
_KEY_CHARS = frozenset(map(chr, range(0x21, 0x7F)))


def request_key(request: Request) -> str | None:
    """The request's `Idempotency-Key`, or None without one; a key that is too long or not
    printable ASCII is refused naming the header (never cut short: two long keys that share
    a beginning are different requests)."""
    key = str(request.META.get(HEADER, "")).strip()
    if not key:
        return None
    if len(key) > MAX_KEY_LENGTH:
        raise ValidationFailed(
            {
                "Idempotency-Key": [
                    gettext("At most %(max_key_length)s characters (a UUID is 36).")
                    % {"max_key_length": MAX_KEY_LENGTH}
                ]
            }
        )
    if not set(key) <= _KEY_CHARS:
        raise ValidationFailed(
            {
                "Idempotency-Key": [
                    gettext("Use printable ASCII characters without spaces (e.g. a UUID).")
                ]
            }
        )
    return key


def require_key(request: Request) -> str:
    """The request's `Idempotency-Key`, required: nothing moves money without one."""
    key = request_key(request)
    if key is None:
        raise ValidationFailed(
            {
                "Idempotency-Key": [
                    gettext(
                        "Send an Idempotency-Key header: nothing moves money without one, so a "
                        "retried request charges once."
                    )
                ]
            }
        )
    return key


def idempotent(request: Request, handler: Callable[[], Response]) -> Response:
    """Run `handler` once per (user, Idempotency-Key); without the header just run it."""
    key = request_key(request)
    if key is None:
        return handler()
    body_hash = _body_hash(request.data)
    # Money-moving views admit signed-in users only, and a dispatched request has a method.
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = IdempotentRequest.objects.create(
                    user=cast(User, request.user),
                    key=key,
                    method=cast(str, request.method),
                    path=request.path,
                    body_hash=body_hash,
                )
        except IntegrityError:
            # A concurrent first attempt held the key until it committed; replay its answer.
            existing = IdempotentRequest.objects.get(user=cast(User, request.user), key=key)
            if (
                existing.body_hash != body_hash
                or existing.method != request.method
                or existing.path != request.path
            ):
                raise Conflict(
                    gettext(
                        "This Idempotency-Key was used with a different request; use a new key."
                    ),
                    field="Idempotency-Key",
                ) from None
            response = Response(existing.response_body, status=existing.status_code)
            response["Idempotent-Replayed"] = "true"
            return response
        response = handler()
        if 200 <= response.status_code < 300:
            record.status_code = response.status_code
            record.response_body = json.loads(json.dumps(response.data, default=str))
            record.save(update_fields=["status_code", "response_body"])
        else:
            # A refused request leaves the key free for a corrected retry.
            transaction.set_rollback(True)
        return response


def create_once(
    model: type[_M],
    *,
    key_lookup: dict[str, Any],
    values: dict[str, Any],
    same: Callable[[_M], bool],
    conflict_message: str,
    field: str,
) -> tuple[_M, bool]:
    """Create `model(**key_lookup, **values)` once per key; a concurrent or repeated call with
    the same key returns the row already there when `same(existing)` holds, else raises
    Conflict naming `field`. The insert runs in a savepoint, so the caller's transaction
    survives the unique-index race."""
    try:
        with transaction.atomic():
            # django-stubs does not see `objects` on a `type[TypeVar]` (typeddjango/django-stubs#1684).
            return model.objects.create(**key_lookup, **values), True  # type: ignore[attr-defined]
    except IntegrityError:
        existing = model.objects.get(**key_lookup)  # type: ignore[attr-defined]
        if not same(existing):
            raise Conflict(conflict_message, field=field) from None
        return existing, False
