"""Message limits (art. 26): the unpaid count, the 75 % notice, payments, limit changes.

Every messaging account has a limit of unpaid messages (art. 26.1, 50,000 by default from the
provider profile). Postpaid usage raises the unpaid count (`usage.py`); recorded payment
lowers it (`messages_paid_record`); at the limit further usage is refused until payment or a
higher limit (art. 26.2). The notice at `provider.limit_notice_pct` goes out once per
crossing: `MessageAccount.notice_armed` is cleared when a notice is sent and set again only
when the count falls below the threshold or the limit changes.

Each function runs in one transaction; emails go out on commit (accounts.kernel.notifications).
The reads (where a client stands against its limit, the gauge) are billing.prepaid.selectors'.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import F
from django.db.models.expressions import Combinable
from django.db.models.lookups import GreaterThanOrEqual
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext

from accounts.kernel import roles
from accounts.kernel.errors import ApplicationError, Conflict, ValidationFailed
from accounts.kernel.history import with_history_user
from accounts.kernel.idempotency import create_once
from accounts.kernel.inputs import clean_positive_int, clean_text
from accounts.kernel.notifications import client_recipients, notify
from accounts.models import Client, User
from billing.models import LimitChange, LimitIncreaseRequest, MessageAccount, MessagePayment

# Bounded batches for the notice job (DESIGN.md, Jobs).
NOTICE_BATCH = 200
PAYMENT_KEY_REUSED = "This idempotency key was already used for another payment."


# --- The rule of the notice (art. 26.1) ---------------------------------------------------
def notice_threshold_reached(*, unpaid_count, limit, pct):
    """The notice is due once the unpaid count reaches `pct` % of the limit (art. 26.1: 75 % of
    the message limit by default, `provider.limit_notice_pct`), compared in integers.

    The one place of this rule. Given numbers it answers True or False (usage ingestion, a
    payment re-arming the notice, the wallet page's gauge); given column expressions (`F`) it
    answers the same rule as a SQL condition for a queryset's filter (`limit_notices_send`).
    """
    count100, threshold = unpaid_count * 100, limit * pct
    if isinstance(count100, Combinable):
        return GreaterThanOrEqual(count100, threshold)
    return count100 >= threshold


def _require_billing_staff(user: User) -> None:
    roles.require_billing_staff(
        user, message=gettext("Only billing staff may do this (art. 26.2: CM's written approval).")
    )


def _require_client_admin(user: User, client: Client) -> None:
    roles.require_client_admin(
        user,
        client,
        message=gettext(
            "Only an admin of this client may ask for a higher message limit (art. 5.2, 26.2)."
        ),
    )


# --- The account ---------------------------------------------------------------------------
def message_account_for_client(*, client: Client) -> MessageAccount:
    """The client's messaging account, created with the profile's standard limit (art. 26.1)."""
    account = MessageAccount.objects.filter(client_id=client.pk).first()
    if account is not None:
        return account
    account, _ = create_once(  # or the one created concurrently
        MessageAccount,
        key_lookup={"client_id": client.pk},
        values={"limit": client.provider.message_limit_default},
        same=lambda existing: True,
        conflict_message="",
        field="client",
    )
    return account


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
            qs = MessageAccount.objects.filter(notice_armed=True).filter(
                notice_threshold_reached(
                    unpaid_count=F("unpaid_count"),
                    limit=F("limit"),
                    pct=F("client__provider__limit_notice_pct"),
                )
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
                    subject=lambda: (
                        gettext("You have used %(pct)s %% of your message limit") % {"pct": pct}
                    ),
                    body=(
                        lambda: (
                            gettext(
                                "%(client)s has %(unpaid)s unpaid messages against a limit of %(limit)s "
                                "(%(pct)s %%). When the limit is reached, messaging is suspended until "
                                "the messages are paid or the limit is raised; you may pay now or ask "
                                "for a higher limit (art. 26.1, 26.2)."
                            )
                            % {
                                "client": client.legal_name,
                                "unpaid": f"{account.unpaid_count:,}",
                                "limit": f"{account.limit:,}",
                                "pct": pct,
                            }
                        )
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
    messages = clean_positive_int(messages, field="messages")
    key = clean_text(
        idempotency_key, field="idempotency_key", message=gettext("An idempotency key is required.")
    )

    def same(existing: MessagePayment) -> bool:
        return existing.client_id == client.pk and existing.messages == messages

    existing = MessagePayment.objects.filter(idempotency_key=key).first()
    if existing is not None:
        if not same(existing):
            raise Conflict(PAYMENT_KEY_REUSED, field="idempotency_key")
        return existing
    account = _lock_account(client)
    if messages > account.unpaid_count:
        raise ValidationFailed(
            {
                "messages": [
                    gettext(
                        "Only %(unpaid_count)s messages are unpaid; %(messages)s cannot be paid (art. 26.2)."
                    )
                    % {"unpaid_count": f"{account.unpaid_count:,}", "messages": f"{messages:,}"}
                ]
            },
            article="26.2",
        )
    payment, created = create_once(  # or the one the same key recorded concurrently
        MessagePayment,
        key_lookup={"idempotency_key": key},
        values={
            "client": client,
            "messages": messages,
            "reference": (reference or "").strip()[:200],
            "recorded_by": acting_user,
        },
        same=same,
        conflict_message=PAYMENT_KEY_REUSED,
        field="idempotency_key",
    )
    if not created:
        return payment
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
    requested_limit = clean_positive_int(requested_limit, field="requested_limit")
    reason = clean_text(
        reason,
        field="reason",
        message=gettext("Say why the client needs a higher limit (art. 26.2)."),
    )
    account = _lock_account(client)
    if requested_limit <= account.limit:
        raise ValidationFailed(
            {
                "requested_limit": [
                    gettext(
                        "Ask for more than the current limit of %(limit)s messages (art. 26.2)."
                    )
                    % {"limit": number_format(account.limit, force_grouping=True)}
                ]
            },
            article="26.2",
        )
    if LimitIncreaseRequest.objects.filter(
        client=client, status=LimitIncreaseRequest.Status.PENDING
    ).exists():
        raise Conflict(
            gettext("A limit increase request is already pending for this client."),
            field="requested_limit",
        )
    request = LimitIncreaseRequest(
        client=client,
        current_limit=account.limit,
        requested_limit=requested_limit,
        reason=reason,
        requested_by=acting_user,
    )
    with_history_user(request, acting_user).save()
    notify(
        key=f"limit-request:{request.pk}:submitted",
        client=client,
        recipients=client_recipients(client),
        subject=lambda: gettext("Your request for a higher message limit was received"),
        body=(
            lambda: (
                gettext(
                    "Requested limit: %(requested)s messages (now %(current)s).\n"
                    "A change of the message limit needs the provider's written approval (art. 26.2); "
                    "you will be told the decision."
                )
                % {"requested": f"{requested_limit:,}", "current": f"{account.limit:,}"}
            )
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
            gettext("This request was already %(status)s.")
            % {"status": locked.get_status_display().lower()},
            field="status",
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
    with_history_user(account, acting_user).save(
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
            gettext(
                "The limit is already %(limit)s; this request is no longer an increase. Refuse it instead."
            )
            % {"limit": f"{account.limit:,}"},
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
    with_history_user(request, acting_user).save()
    notify(
        key=f"limit-request:{request.pk}:approved",
        client=client,
        recipients=client_recipients(client),
        subject=lambda: gettext("Your message limit has been raised"),
        body=(
            lambda: (
                gettext(
                    "Your request was approved by %(name)s on %(at)s UTC.\n"
                    "New message limit: %(new)s messages (was %(old)s).\n"
                )
                % {
                    "name": acting_user.full_name or acting_user.email,
                    "at": f"{now:%Y-%m-%d %H:%M}",
                    "new": f"{request.requested_limit:,}",
                    "old": f"{request.current_limit:,}",
                }
                + (gettext("Note: %(note)s") % {"note": note} + "\n" if note else "")
            )
        ),
    )
    return request


@transaction.atomic
def limit_increase_refuse(
    *, request: LimitIncreaseRequest, acting_user: User, note: str
) -> LimitIncreaseRequest:
    """Refuse a limit increase, with the reason (art. 26.2: CM decides at its discretion)."""
    _require_billing_staff(acting_user)
    note = clean_text(
        note,
        field="note",
        message=gettext("Give the reason for refusing; the client is told (art. 26.2)."),
    )
    request = _lock_pending_request(request)
    now = timezone.now()
    request.status = LimitIncreaseRequest.Status.REFUSED
    request.decided_by = acting_user
    request.decided_at = now
    request.decision_note = note
    with_history_user(request, acting_user).save()
    notify(
        key=f"limit-request:{request.pk}:refused",
        client=request.client,
        recipients=client_recipients(request.client),
        subject=lambda: gettext("Your request for a higher message limit was refused"),
        body=lambda: (
            gettext("Requested limit: %(requested)s messages.\nReason: %(reason)s\n")
            % {"requested": f"{request.requested_limit:,}", "reason": note}
        ),
    )
    return request


@transaction.atomic
def limit_change(*, client: Client, new_limit: int, reason: str, acting_user: User) -> LimitChange:
    """CM changes a limit at its own initiative, with immediate effect, by email (art. 26.2)."""
    _require_billing_staff(acting_user)
    new_limit = clean_positive_int(new_limit, field="new_limit")
    reason = clean_text(
        reason,
        field="reason",
        message=gettext("Give the reason for the change; the client is told (art. 26.2)."),
    )
    account = _lock_account(client)
    if new_limit == account.limit:
        raise ValidationFailed(
            {
                "new_limit": [
                    gettext("The limit is already %(new_limit)s messages.")
                    % {"new_limit": f"{new_limit:,}"}
                ]
            }
        )
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
        subject=lambda: gettext("Your message limit has changed"),
        body=(
            lambda: (
                gettext(
                    "With immediate effect your message limit is %(new)s messages (was %(old)s) "
                    "(art. 26.2).\nReason: %(reason)s\n"
                )
                % {"new": f"{new_limit:,}", "old": f"{old_limit:,}", "reason": reason}
            )
        ),
    )
    return change
