"""Message limits (art. 26): the unpaid count, the 75 % notice, payments, limit changes.

Every messaging account has a limit of unpaid messages (art. 26.1, 50,000 by default from the
provider profile). Postpaid usage raises the unpaid count (billing.usage); recorded payment
lowers it (`messages_paid_record`); at the limit further usage is refused until payment or a
higher limit (art. 26.2). The notice at `provider.limit_notice_pct` goes out once per
crossing: `MessageAccount.notice_armed` is cleared when a notice is sent and set again only
when the count falls below the threshold or the limit changes.

Each function runs in one transaction; emails go out on commit (accounts.kernel.notifications).
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from accounts.kernel import roles
from accounts.kernel.errors import ApplicationError, Conflict, ValidationFailed
from accounts.kernel.notifications import client_recipients, notify
from accounts.models import Client, User

from .models import LimitChange, LimitIncreaseRequest, MessageAccount, MessagePayment

# Bounded batches for the notice job (DESIGN.md, Jobs).
NOTICE_BATCH = 200


# --- Helpers -------------------------------------------------------------------------------
def notice_threshold_reached(*, unpaid_count: int, limit: int, pct: int) -> bool:
    """True when the unpaid count is at or above `pct` % of the limit (art. 26.1), in integers."""
    return unpaid_count * 100 >= limit * pct


def _with_history_user(obj, user):
    obj._history_user = user
    return obj


def _require_billing_staff(user: User) -> None:
    roles.require_billing_staff(user, message="Only billing staff may do this (art. 26.2: CM's written approval).")


def _require_client_admin(user: User, client: Client) -> None:
    roles.require_client_admin(
        user, client, message="Only an admin of this client may ask for a higher message limit (art. 5.2, 26.2)."
    )


def _positive_int(value, *, field: str) -> int:
    if isinstance(value, (bool, float)):
        raise ValidationFailed({field: [f"{field} must be a whole number."]})
    try:
        value = int(str(value).strip())
    except (TypeError, ValueError):
        raise ValidationFailed({field: [f"{field} must be a whole number."]}) from None
    if value <= 0:
        raise ValidationFailed({field: [f"{field} must be greater than zero."]})
    if value > 2_147_483_647:
        raise ValidationFailed({field: [f"{field} is too large."]})
    return value


def _text(value, *, field: str, message: str) -> str:
    text = (value or "").strip() if isinstance(value, str) or value is None else str(value).strip()
    if not text:
        raise ValidationFailed({field: [message]})
    return text


# --- The account ---------------------------------------------------------------------------
def message_account_for_client(*, client: Client) -> MessageAccount:
    """The client's messaging account, created with the profile's standard limit (art. 26.1)."""
    account = MessageAccount.objects.filter(client_id=client.pk).first()
    if account is not None:
        return account
    try:
        with transaction.atomic():
            return MessageAccount.objects.create(
                client_id=client.pk, limit=client.provider.message_limit_default
            )
    except IntegrityError:  # created concurrently
        return MessageAccount.objects.get(client_id=client.pk)


def _lock_account(client: Client) -> MessageAccount:
    message_account_for_client(client=client)
    return (
        MessageAccount.objects.select_for_update()
        .select_related("client__provider")
        .get(client_id=client.pk)
    )


def _rearm_if_below(account: MessageAccount) -> None:
    pct = account.client.provider.limit_notice_pct
    if not account.notice_armed and not notice_threshold_reached(
        unpaid_count=account.unpaid_count, limit=account.limit, pct=pct
    ):
        account.notice_armed = True


def _send_due_notices_on_commit(client_ids: list[int]) -> None:
    transaction.on_commit(lambda: limit_notices_send(client_ids=client_ids))


# --- The 75 % notice (art. 26.1) -----------------------------------------------------------
def limit_notices_send(
    *, client_ids: list[int] | None = None, batch_size: int = NOTICE_BATCH
) -> int:
    """Send the notice to every account at or above the notice threshold that has not had one
    for this crossing (art. 26.1); returns how many were sent.

    An account is claimed under its row lock (skip_locked, so a concurrent run or a busy
    ingestion batch is left for the next run); the crossing number is `notices_sent + 1` and
    is part of the notification key, so each crossing emails exactly once however often this
    runs.
    """
    sent = 0
    while True:
        with transaction.atomic():
            qs = (
                MessageAccount.objects.filter(notice_armed=True)
                .alias(
                    count100=F("unpaid_count") * 100,
                    threshold=F("limit") * F("client__provider__limit_notice_pct"),
                )
                .filter(count100__gte=F("threshold"))
            )
            if client_ids is not None:
                qs = qs.filter(client_id__in=client_ids)
            accounts = list(
                qs.select_related("client__provider")
                .select_for_update(of=("self",), skip_locked=True)
                .order_by("pk")[:batch_size]
            )
            for account in accounts:
                account.notice_armed = False
                account.notices_sent += 1
                MessageAccount.objects.filter(pk=account.pk).update(
                    notice_armed=False, notices_sent=account.notices_sent
                )
                client = account.client
                pct = client.provider.limit_notice_pct
                notify(
                    key=f"limit-notice:{client.pk}:{account.notices_sent}",
                    client=client,
                    recipients=client_recipients(client),
                    subject=f"You have used {pct} % of your message limit",
                    body=(
                        f"{client.legal_name} has {account.unpaid_count:,} unpaid messages against a limit of "
                        f"{account.limit:,} ({pct} %). When the limit is reached, messaging is suspended until "
                        "the messages are paid or the limit is raised; you may pay now or ask for a higher "
                        "limit (art. 26.1, 26.2)."
                    ),
                )
                sent += 1
        if len(accounts) < batch_size:
            return sent


# --- Payment lowers the unpaid count (art. 26.2) -------------------------------------------
@transaction.atomic
def messages_paid_record(
    *,
    client: Client,
    messages: int,
    reference: str = "",
    idempotency_key: str,
    acting_user: User | None,
) -> MessagePayment:
    """Record that `messages` of the client's unpaid messages are paid (art. 26.2).

    Staff record it by hand; the invoicing issue calls it on invoice payment (acting_user may
    then be None). The same idempotency key records once; with other values it is a conflict.
    """
    if acting_user is not None:
        _require_billing_staff(acting_user)
    messages = _positive_int(messages, field="messages")
    key = _text(
        idempotency_key,
        field="idempotency_key",
        message="An idempotency key is required (DESIGN.md, Ledger).",
    )
    existing = MessagePayment.objects.filter(idempotency_key=key).first()
    if existing is not None:
        if existing.client_id != client.pk or existing.messages != messages:
            raise Conflict(
                "This idempotency key was already used for another payment.",
                field="idempotency_key",
            )
        return existing
    account = _lock_account(client)
    if messages > account.unpaid_count:
        raise ValidationFailed(
            {
                "messages": [
                    f"Only {account.unpaid_count:,} messages are unpaid; {messages:,} cannot be paid (art. 26.2)."
                ]
            },
            article="26.2",
        )
    try:
        with transaction.atomic():
            payment = MessagePayment.objects.create(
                client=client,
                messages=messages,
                reference=(reference or "").strip()[:200],
                recorded_by=acting_user,
                idempotency_key=key,
            )
    except IntegrityError:  # the same key recorded concurrently
        existing = MessagePayment.objects.get(idempotency_key=key)
        if existing.client_id != client.pk or existing.messages != messages:
            raise Conflict(
                "This idempotency key was already used for another payment.",
                field="idempotency_key",
            ) from None
        return existing
    account.unpaid_count -= messages
    _rearm_if_below(account)
    MessageAccount.objects.filter(pk=account.pk).update(
        unpaid_count=account.unpaid_count, notice_armed=account.notice_armed
    )
    return payment


# --- Limit increase requests and limit changes (art. 26.2) ---------------------------------
@transaction.atomic
def limit_increase_request(
    *, client: Client, requested_limit: int, reason: str, acting_user: User
) -> LimitIncreaseRequest:
    """A client admin asks for a higher message limit; it needs CM's written approval (art. 26.2)."""
    _require_client_admin(acting_user, client)
    requested_limit = _positive_int(requested_limit, field="requested_limit")
    reason = _text(
        reason, field="reason", message="Say why the client needs a higher limit (art. 26.2)."
    )
    account = _lock_account(client)
    if requested_limit <= account.limit:
        raise ValidationFailed(
            {
                "requested_limit": [
                    f"Ask for more than the current limit of {account.limit:,} messages (art. 26.2)."
                ]
            },
            article="26.2",
        )
    if LimitIncreaseRequest.objects.filter(
        client=client, status=LimitIncreaseRequest.Status.PENDING
    ).exists():
        raise Conflict(
            "A limit increase request is already pending for this client.", field="requested_limit"
        )
    request = LimitIncreaseRequest(
        client=client,
        current_limit=account.limit,
        requested_limit=requested_limit,
        reason=reason,
        requested_by=acting_user,
    )
    _with_history_user(request, acting_user).save()
    notify(
        key=f"limit-request:{request.pk}:submitted",
        client=client,
        recipients=client_recipients(client),
        subject="Your request for a higher message limit was received",
        body=(
            f"Requested limit: {requested_limit:,} messages (now {account.limit:,}).\n"
            "A change of the message limit needs CM's written approval (art. 26.2); you will be told the decision."
        ),
    )
    return request


def _lock_pending_request(request: LimitIncreaseRequest) -> LimitIncreaseRequest:
    locked = (
        LimitIncreaseRequest.objects.select_for_update()
        .select_related("client__provider")
        .get(pk=request.pk)
    )
    if locked.status != LimitIncreaseRequest.Status.PENDING:
        raise Conflict(
            f"This request was already {locked.get_status_display().lower()}.", field="status"
        )
    return locked


def _set_limit(
    *, account: MessageAccount, new_limit: int, source: str, reason: str, acting_user: User, at
) -> LimitChange:
    """Set the limit, write it down (art. 26.2) and re-arm the notice for the new limit (26.1)."""
    change = LimitChange.objects.create(
        client_id=account.client_id,
        old_limit=account.limit,
        new_limit=new_limit,
        source=source,
        reason=reason,
        changed_by=acting_user,
        changed_at=at,
    )
    account.limit = new_limit
    account.limit_changed_at = at
    account.notice_armed = True
    _with_history_user(account, acting_user).save(
        update_fields=["limit", "limit_changed_at", "notice_armed"]
    )
    # If the count is already past the threshold of the new limit, that is a new crossing.
    _send_due_notices_on_commit([account.client_id])
    return change


@transaction.atomic
def limit_increase_approve(
    *, request: LimitIncreaseRequest, acting_user: User, note: str = ""
) -> LimitIncreaseRequest:
    """CM's written approval of a higher limit: who, when, note (art. 26.2); the limit applies at once."""
    _require_billing_staff(acting_user)
    request = _lock_pending_request(request)
    client = request.client
    account = _lock_account(client)
    if request.requested_limit <= account.limit:
        raise ApplicationError(
            f"The limit is already {account.limit:,}; this request is no longer an increase. Refuse it instead.",
            field="requested_limit",
            code="not_an_increase",
            article="26.2",
        )
    now = timezone.now()
    note = (note or "").strip()
    _set_limit(
        account=account,
        new_limit=request.requested_limit,
        source=LimitChange.Source.REQUEST,
        reason=note or f"Approved request {request.pk}: {request.reason}",
        acting_user=acting_user,
        at=now,
    )
    request.status = LimitIncreaseRequest.Status.APPROVED
    request.decided_by = acting_user
    request.decided_at = now
    request.decision_note = note
    _with_history_user(request, acting_user).save()
    notify(
        key=f"limit-request:{request.pk}:approved",
        client=client,
        recipients=client_recipients(client),
        subject="Your message limit has been raised",
        body=(
            f"Your request was approved by {acting_user.full_name or acting_user.email} on {now:%Y-%m-%d %H:%M} UTC.\n"
            f"New message limit: {request.requested_limit:,} messages (was {request.current_limit:,}).\n"
            + (f"Note: {note}\n" if note else "")
        ),
    )
    return request


@transaction.atomic
def limit_increase_refuse(
    *, request: LimitIncreaseRequest, acting_user: User, note: str
) -> LimitIncreaseRequest:
    """Refuse a limit increase, with the reason (art. 26.2: CM decides at its discretion)."""
    _require_billing_staff(acting_user)
    note = _text(
        note, field="note", message="Give the reason for refusing; the client is told (art. 26.2)."
    )
    request = _lock_pending_request(request)
    now = timezone.now()
    request.status = LimitIncreaseRequest.Status.REFUSED
    request.decided_by = acting_user
    request.decided_at = now
    request.decision_note = note
    _with_history_user(request, acting_user).save()
    notify(
        key=f"limit-request:{request.pk}:refused",
        client=request.client,
        recipients=client_recipients(request.client),
        subject="Your request for a higher message limit was refused",
        body=f"Requested limit: {request.requested_limit:,} messages.\nReason: {note}\n",
    )
    return request


@transaction.atomic
def limit_change(*, client: Client, new_limit: int, reason: str, acting_user: User) -> LimitChange:
    """CM changes a limit at its own initiative, with immediate effect, by email (art. 26.2)."""
    _require_billing_staff(acting_user)
    new_limit = _positive_int(new_limit, field="new_limit")
    reason = _text(
        reason,
        field="reason",
        message="Give the reason for the change; the client is told (art. 26.2).",
    )
    account = _lock_account(client)
    if new_limit == account.limit:
        raise ValidationFailed({"new_limit": [f"The limit is already {new_limit:,} messages."]})
    old_limit = account.limit
    change = _set_limit(
        account=account,
        new_limit=new_limit,
        source=LimitChange.Source.STAFF,
        reason=reason,
        acting_user=acting_user,
        at=timezone.now(),
    )
    notify(
        key=f"limit-change:{change.pk}",
        client=client,
        recipients=client_recipients(client),
        subject="Your message limit has changed",
        body=(
            f"With immediate effect your message limit is {new_limit:,} messages (was {old_limit:,}) (art. 26.2).\n"
            f"Reason: {reason}\n"
        ),
    )
    return change


# --- Reads ---------------------------------------------------------------------------------
def message_limit_summary(*, account: MessageAccount) -> dict:
    """Where a client stands against its limit (art. 26): the gauge of the wallet page and the API."""
    pct = account.client.provider.limit_notice_pct
    used = (account.unpaid_count * 1000 // account.limit) / 10 if account.limit else 100.0
    return {
        "client_id": account.client_id,
        "limit": account.limit,
        "unpaid_count": account.unpaid_count,
        "remaining": max(0, account.limit - account.unpaid_count),
        "used_pct": used,
        "notice_pct": pct,
        "limit_reached": account.unpaid_count >= account.limit,
        "notices_sent": account.notices_sent,
        "limit_changed_at": account.limit_changed_at,
    }


def message_limit_get(*, client: Client) -> dict:
    """The client's limit with its history of changes; a client that never sent has the
    profile's standard limit (art. 26.1), shown without creating the account."""
    account = (
        MessageAccount.objects.filter(client_id=client.pk)
        .select_related("client__provider")
        .first()
    )
    if account is None:
        account = MessageAccount(client=client, limit=client.provider.message_limit_default)
    summary = message_limit_summary(account=account)
    summary["changes"] = list(
        LimitChange.objects.filter(client_id=client.pk).select_related("changed_by")
    )
    return summary
