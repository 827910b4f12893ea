"""Data-subject requests (art. 21.5; GDPR art. 12(3), 12(6); OpenDSR status callbacks): due one
month after receipt, extendable once by two months, paused for the identity check; the client
instructs, the provider acts and records its cost; status changes are posted to the client."""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from standardwebhooks import Webhook

from accounts import workdays
from accounts.kernel import outbound as _outbound
from accounts.kernel.dates import add_months
from accounts.kernel.errors import ApplicationError, ValidationFailed
from accounts.kernel.history import save_with_history
from accounts.kernel.inputs import clean_text, optional_text
from accounts.kernel.l10n import money as format_money
from accounts.kernel.notifications import client_admin_emails, notify
from accounts.kernel.signals import client_cost_incurred
from accounts.models import Client, User
from accounts.models.clients import callback_secret_new
from dataprocessing.models import DataSubjectRequest, DsrCallback

from ._common import (
    compliance_emails,
    fmt,
    in_the_future,
    money,
    require_client_admin,
    require_client_admin_or_compliance,
    require_compliance,
)

log = logging.getLogger(__name__)

DSR_EXTENSION_MONTHS = 2
DSR_CALLBACK_MAX_ATTEMPTS = 8
# The error of a callback dropped because a later status of the same request was delivered.
SUPERSEDED_ERROR = "superseded by a later status"


def _due(dsr: DataSubjectRequest) -> dt.datetime:
    """One month from receipt (GDPR 12(3)), two more when extended, shifted by identity-check
    pauses."""
    months = 1 + (DSR_EXTENSION_MONTHS if dsr.extended else 0)
    # months are counted on the provider's wall clock, so a DST change does not move the hour
    received = dsr.received_at.astimezone(workdays.local_tz(dsr.client.provider))
    return add_months(received, months).astimezone(dt.UTC) + dt.timedelta(
        seconds=dsr.paused_seconds
    )


def _locked(dsr: DataSubjectRequest) -> DataSubjectRequest:
    return (
        DataSubjectRequest.objects.select_for_update()
        .select_related("client__provider")
        .get(pk=dsr.pk)
    )


def _require_open(dsr: DataSubjectRequest) -> None:
    if not dsr.is_open:
        raise ApplicationError(
            gettext("This request is already %(status)s.")
            % {"status": dsr.get_status_display().lower()},
            field="status",
        )


def _paused_seconds(dsr: DataSubjectRequest, now: dt.datetime) -> int:
    return max(0, int((now - dsr.identity_check_since).total_seconds()))


# --- OpenDSR status callbacks ---------------------------------------------------------------
def dsr_callback_payload(dsr: DataSubjectRequest, status: str) -> dict[str, Any]:
    """The OpenDSR status callback body."""
    return {
        "controller_id": str(dsr.client_id),
        "request_id": str(dsr.request_id),
        "subject_request_id": str(dsr.request_id),
        "request_status": status,
        "received_time": dsr.received_at.astimezone(dt.UTC).isoformat(),
        "expected_completion_time": dsr.due_at.astimezone(dt.UTC).isoformat(),
        "status_callback_url": dsr.status_callback_url,
    }


def _status_changed(dsr: DataSubjectRequest) -> None:
    """Record the OpenDSR status callback in this transaction; after commit a Celery task
    posts it, so the request that changed the status never waits on the client's server."""
    if not dsr.status_callback_url:
        return
    callback = DsrCallback.objects.create(
        request=dsr, status=dsr.status, url=dsr.status_callback_url
    )
    transaction.on_commit(lambda: dsr_callback_enqueue(callback.pk))


def dsr_callback_enqueue(callback_id: int) -> bool:
    """Hand the callback to Celery; a broker that is down costs the request nothing (the row is
    committed and the retry job posts it)."""
    from dataprocessing.tasks import dsr_callback_send

    try:
        dsr_callback_send.apply_async((callback_id,), retry=False)
    except Exception:  # noqa: BLE001 - any broker failure; the row is the record
        log.warning("DSR status callback %s not queued (broker unavailable)", callback_id)
        return False
    return True


def callback_url_error(url: str) -> str | None:
    """Why the portal will not call `url`, or None. A status callback must be https and reach
    only public addresses (networks in `PORTAL_CALLBACKS_ALLOWED_NETWORKS` aside, where plain
    http is accepted too): a client-supplied URL must never make the portal post into the
    provider's own network (server-side request forgery). Delivery checks again and connects
    to the very address it checked (`_outbound`)."""
    try:
        _outbound.resolve(url)
    except _outbound.Refused as exc:
        return str(exc)
    return None


def dsr_callback_secret_rotate(*, client: Client, acting_user: User) -> str:
    """A new secret for signing the client's status callbacks; the old one stops at once.
    Only the client's own admin rotates it (art. 5.2)."""
    require_client_admin(acting_user, client)
    secret = callback_secret_new()
    Client.objects.filter(pk=client.pk).update(callback_secret=secret)
    client.callback_secret = secret
    return secret


def dsr_callback_headers(
    *, callback: DsrCallback, secret: str, body: bytes, now: dt.datetime
) -> dict[str, str]:
    """Standard Webhooks signature headers: the id is the callback's, the same on every retry,
    so the receiver can drop a repeat; the signature is HMAC-SHA256 over id, timestamp and
    body, with the client's secret."""
    msg_id = f"dsr-callback-{callback.pk}"
    signature = Webhook(secret).sign(msg_id=msg_id, timestamp=now, data=body.decode())
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }


def dsr_callback_deliver(*, callback_id: int) -> bool:
    """POST one status callback (JSON, signed) with a short timeout; a failure is kept for the
    retry job.

    The row is claimed with a conditional UPDATE so two workers never post the same callback.
    The URL is checked again at delivery (DNS may have changed since receipt), resolved once,
    and the connection goes to the checked address; redirects are not followed.
    """
    callback = (
        DsrCallback.objects.select_related("request__client__provider")
        .filter(pk=callback_id)
        .first()
    )
    if callback is None or callback.delivered:
        return False
    claimed = DsrCallback.objects.filter(
        pk=callback.pk, delivered=False, attempts=callback.attempts
    ).update(attempts=callback.attempts + 1, attempted_at=timezone.now())
    if not claimed:
        return False
    body = json.dumps(dsr_callback_payload(callback.request, callback.status)).encode()
    headers = dsr_callback_headers(
        callback=callback,
        secret=callback.request.client.callback_secret,
        body=body,
        now=timezone.now().astimezone(dt.UTC),
    )
    code, error = _outbound.post_json(callback.url, body, headers)
    delivered = code is not None and 200 <= code < 300
    DsrCallback.objects.filter(pk=callback.pk).update(
        response_code=code, error=error, delivered=delivered
    )
    if not delivered:
        log.warning("DSR status callback %s to %s failed: %s", callback.pk, callback.url, error)
    return delivered


def dsr_callbacks_retry(*, now: dt.datetime | None = None, batch_size: int = 100) -> dict[str, Any]:
    """Job: post again the status callbacks that failed, with back-off (2^attempts minutes).

    A callback older than one already delivered for the same request is superseded and dropped,
    so the receiver never goes back to an old status.
    """
    now = (now or timezone.now()).astimezone(dt.UTC)
    candidates = list(
        DsrCallback.objects.filter(delivered=False, attempts__lt=DSR_CALLBACK_MAX_ATTEMPTS)
        .order_by("pk")
        .values_list("pk", "request_id", "attempts", "attempted_at")[:batch_size]
    )
    delivered = failed = superseded = 0
    for pk, request_id, attempts, attempted_at in candidates:
        if DsrCallback.objects.filter(request_id=request_id, delivered=True, pk__gt=pk).exists():
            DsrCallback.objects.filter(pk=pk, delivered=False).update(
                attempts=DSR_CALLBACK_MAX_ATTEMPTS, error=SUPERSEDED_ERROR
            )
            superseded += 1
            continue
        if attempted_at and attempted_at > now - dt.timedelta(minutes=2**attempts):
            continue
        if dsr_callback_deliver(callback_id=pk):
            delivered += 1
        else:
            failed += 1
    return {"delivered": delivered, "failed": failed, "superseded": superseded}


# --- Receipt --------------------------------------------------------------------------------
def received_by_default(user: User) -> str:
    """Who received a request logged without saying: the provider when its staff log it, the
    client when one of its admins files it (art. 21.5.1, 21.5.2)."""
    if user.is_provider_staff:
        return DataSubjectRequest.ReceivedBy.PROVIDER
    return DataSubjectRequest.ReceivedBy.CLIENT


def _receive_errors(
    *,
    client,
    type,
    received_by,
    reference,
    received_at,
    now,
    acting_user,
    callback_url,  # noqa: A002
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if type not in DataSubjectRequest.Type.values:
        errors["type"] = [
            gettext("Type must be one of %(choices)s (art. 21.5.1).")
            % {"choices": ", ".join(DataSubjectRequest.Type.values)}
        ]
    if received_by not in DataSubjectRequest.ReceivedBy.values:
        errors["received_by"] = [
            gettext("Say who received the request: provider or client (art. 21.5.2).")
        ]
    elif (
        acting_user is not None
        and not acting_user.is_compliance_officer
        and received_by != DataSubjectRequest.ReceivedBy.CLIENT
    ):
        errors["received_by"] = [
            gettext("A client files the requests it received itself (art. 21.5.1).")
        ]
    if not reference:
        errors["subject_reference"] = [
            gettext("Give a reference to find the subject's data (e.g. a phone number).")
        ]
    elif len(reference) > 200:
        errors["subject_reference"] = [
            gettext(
                "Keep the subject reference minimal (at most 200 characters): no more personal data "
                "than needed."
            )
        ]
    if in_the_future(received_at, now):
        errors["received_at"] = [gettext("The receipt cannot be in the future.")]
    if client.status != Client.Status.ACTIVE and client.status != Client.Status.PENDING:
        errors["client"] = [gettext("This client's account is closed.")]
    if callback_url:
        refusal = callback_url_error(callback_url)
        if refusal:
            errors["status_callback_url"] = [refusal]
    return errors


def _tell_receipt(dsr: DataSubjectRequest) -> None:
    """A request the provider received is told to the client's admins at once (art. 21.5.2);
    one the client filed is told to the compliance officers."""
    client = dsr.client
    if dsr.received_by == DataSubjectRequest.ReceivedBy.PROVIDER:
        notify(
            key=f"dsr-received:{dsr.pk}",
            client=client,
            recipients=client_admin_emails(client),
            subject=lambda: (
                gettext("Data-subject request received: %(type)s")
                % {"type": dsr.get_type_display()}
            ),
            body=(
                lambda: (
                    gettext(
                        "%(provider)s received a data-subject request (%(type)s) concerning your data "
                        "(art. 21.5.2). Reference %(reference)s; it must be answered by %(due)s (GDPR "
                        "art. 12(3)). Please instruct us in the portal: transfer, correct, delete or block."
                    )
                    % {
                        "provider": client.provider.name,
                        "type": dsr.get_type_display(),
                        "reference": dsr.request_id,
                        "due": fmt(dsr.due_at, client.provider),
                    }
                )
            ),
        )
    else:
        notify(
            key=f"dsr-filed:{dsr.pk}",
            client=client,
            recipients=compliance_emails(provider=client.provider_id),
            subject=lambda: (
                gettext("Data-subject request filed by %(client)s") % {"client": client.legal_name}
            ),
            body=lambda: (
                gettext("%(type)s, due %(due)s (art. 21.5).")
                % {"type": dsr.get_type_display(), "due": fmt(dsr.due_at, client.provider)}
            ),
        )


@transaction.atomic
def dsr_receive(
    *,
    client: Client,
    type: str,  # noqa: A002 (the OpenDSR field name)
    received_by: str,
    subject_reference: str,
    received_at: dt.datetime | None = None,
    acting_user: User | None = None,
    status_callback_url: str = "",
) -> DataSubjectRequest:
    """Log a data-subject request (art. 21.5.1); due one month after receipt (GDPR art. 12(3)).

    "CM shall promptly notify Client if CM receives a Data Subject Request" (21.5.2): one
    received by the provider notifies the client's admins at once. The subject is referenced
    minimally (e.g. a phone number), never with more personal data than needed to find it.
    A client admin files its own requests (received by the client); a compliance officer
    logs either kind. Without `acting_user` the call comes from the system.
    """
    if acting_user is not None:
        require_client_admin_or_compliance(acting_user, client)
    reference = optional_text(subject_reference)
    callback_url = optional_text(status_callback_url)
    now = timezone.now()
    received_at = received_at or now
    errors = _receive_errors(
        client=client,
        type=type,
        received_by=received_by,
        reference=reference,
        received_at=received_at,
        now=now,
        acting_user=acting_user,
        callback_url=callback_url,
    )
    if errors:
        raise ValidationFailed(errors, article="21.5")
    dsr = DataSubjectRequest(
        client=client,
        type=type,
        received_by=received_by,
        subject_reference=reference,
        received_at=received_at,
        logged_by=acting_user,
        status_callback_url=callback_url,
        due_at=received_at,  # set below
    )
    dsr.due_at = _due(dsr)
    save_with_history(dsr, acting_user, clean=True)
    _tell_receipt(dsr)
    return dsr


# --- Instruction and action -----------------------------------------------------------------
@transaction.atomic
def dsr_instruct(
    *, dsr: DataSubjectRequest, instruction: str, note: str = "", acting_user: User
) -> DataSubjectRequest:
    """The client instructs the provider to transfer, correct, delete or block the data (art.
    21.5.1)."""
    dsr = _locked(dsr)
    require_client_admin(acting_user, dsr.client)
    if instruction not in DataSubjectRequest.Instruction.values:
        choices = ", ".join(DataSubjectRequest.Instruction.values)
        raise ValidationFailed(
            {
                "instruction": [
                    gettext("Instruct one of %(choices)s (art. 21.5.1).") % {"choices": choices}
                ]
            },
            article="21.5.1",
        )
    if dsr.status != DataSubjectRequest.Status.PENDING:
        raise ApplicationError(
            gettext("This request is already %(status)s; it was instructed before.")
            % {"status": dsr.get_status_display().lower()},
            field="status",
        )
    dsr.instruction = instruction
    dsr.instruction_note = optional_text(note)
    dsr.instructed_at = timezone.now()
    dsr.instructed_by = acting_user
    dsr.status = DataSubjectRequest.Status.IN_PROGRESS
    save_with_history(dsr, acting_user)
    _status_changed(dsr)
    notify(
        key=f"dsr-instructed:{dsr.pk}",
        client=dsr.client,
        recipients=compliance_emails(provider=dsr.client.provider_id),
        subject=lambda: (
            gettext("DSR instructed: %(instruction)s (%(client)s)")
            % {"instruction": dsr.get_instruction_display(), "client": dsr.client.legal_name}
        ),
        body=lambda: (
            gettext("%(type)s request %(reference)s: %(note)s")
            % {
                "type": dsr.get_type_display(),
                "reference": dsr.request_id,
                "note": dsr.instruction_note,
            }
        ),
    )
    return dsr


@transaction.atomic
def dsr_record_action(
    *, dsr: DataSubjectRequest, action_taken: str, acting_user: User, assistance_cost: object = None
) -> DataSubjectRequest:
    """The provider records what it did on the client's instruction (art. 21.5.1) and the cost of
    its assistance, charged to the client in the provider's currency (art. 21.5.2): "To the
    extent legally permitted, Client shall be responsible for any costs arising from CM's
    provision of such assistance." A cost above zero is sent as `client_cost_incurred`, which
    billing recharges on the client's next invoice (portal/recharges.py)."""
    require_compliance(acting_user)
    dsr = _locked(dsr)
    if dsr.status != DataSubjectRequest.Status.IN_PROGRESS:
        raise ApplicationError(
            gettext(
                "The provider acts on the client's instruction: instruct the request first "
                "(art. 21.5.1)."
            )
            if dsr.status == DataSubjectRequest.Status.PENDING
            else gettext("This request is already %(status)s.")
            % {"status": dsr.get_status_display().lower()},
            field="status",
            article="21.5.1",
        )
    if dsr.is_paused:
        raise ApplicationError(
            gettext("The request waits on the subject's identity check; resume it first."),
            field="status",
        )
    action_taken = clean_text(
        action_taken, field="action_taken", message=gettext("Record what was done (art. 21.5.1).")
    )
    if assistance_cost is not None:
        dsr.assistance_cost = money(assistance_cost, "assistance_cost", "21.5.2")
        dsr.assistance_cost_currency = dsr.client.provider.currency
    dsr.action_taken = action_taken
    dsr.completed_at = timezone.now()
    dsr.completed_by = acting_user
    dsr.status = DataSubjectRequest.Status.COMPLETED
    save_with_history(dsr, acting_user)
    _status_changed(dsr)
    if dsr.assistance_cost > 0:
        # art. 21.5.2: the client bears the cost; billing recharges it (wired in portal/)
        client_cost_incurred.send(
            sender=DataSubjectRequest,
            client=dsr.client,
            kind="dsr_assistance",
            amount=dsr.assistance_cost,
            currency=dsr.assistance_cost_currency,
            source_kind="dataprocessing.dsr",
            source_id=dsr.pk,
            description=f"{dsr.get_type_display()} request {dsr.request_id}",
            acting_user=acting_user,
        )

    def cost_text() -> str:
        if not dsr.assistance_cost:
            return ""
        return "\n" + gettext("Assistance cost: %(amount)s (art. 21.5.2).") % {
            "amount": format_money(dsr.assistance_cost, dsr.assistance_cost_currency)
        }

    notify(
        key=f"dsr-completed:{dsr.pk}",
        client=dsr.client,
        recipients=client_admin_emails(dsr.client),
        subject=lambda: (
            gettext("Data-subject request completed: %(type)s") % {"type": dsr.get_type_display()}
        ),
        body=lambda: (
            gettext("Request %(reference)s: %(action)s")
            % {"reference": dsr.request_id, "action": dsr.action_taken}
            + cost_text()
        ),
    )
    return dsr


# --- The deadline: extension and identity-check pauses --------------------------------------
@transaction.atomic
def dsr_extend(*, dsr: DataSubjectRequest, reason: str, acting_user: User) -> DataSubjectRequest:
    """Extend the deadline by two further months (GDPR art. 12(3)): once, with a reason, and only
    within the first month; the reason is told to the client at once."""
    require_compliance(acting_user)
    dsr = _locked(dsr)
    _require_open(dsr)
    reason = clean_text(
        reason,
        field="reason",
        message=gettext("Give the reason for the extension (GDPR art. 12(3))."),
    )
    if dsr.extended:
        raise ApplicationError(
            gettext("The deadline can be extended only once (GDPR art. 12(3))."),
            field="extended",
            article="GDPR 12(3)",
        )
    now = timezone.now()
    if now > dsr.due_at:
        raise ApplicationError(
            gettext(
                "An extension must be decided and told within the first month (GDPR art. 12(3))."
            ),
            field="due_at",
            article="GDPR 12(3)",
        )
    dsr.extended = True
    dsr.extension_reason = reason
    dsr.extension_told_at = now
    dsr.due_at = _due(dsr)
    save_with_history(dsr, acting_user)
    notify(
        key=f"dsr-extended:{dsr.pk}",
        client=dsr.client,
        recipients=client_admin_emails(dsr.client),
        subject=lambda: (
            ngettext(
                "Data-subject request extended by %(months)s month",
                "Data-subject request extended by %(months)s months",
                DSR_EXTENSION_MONTHS,
            )
            % {"months": DSR_EXTENSION_MONTHS}
        ),
        body=(
            lambda: (
                gettext(
                    "Request %(reference)s (%(type)s) is now due %(due)s (GDPR art. 12(3)). Reason: "
                    "%(reason)s"
                )
                % {
                    "reference": dsr.request_id,
                    "type": dsr.get_type_display(),
                    "due": fmt(dsr.due_at, dsr.client.provider),
                    "reason": dsr.extension_reason,
                }
            )
        ),
    )
    return dsr


@transaction.atomic
def dsr_pause_for_identity(
    *, dsr: DataSubjectRequest, acting_user: User, now: dt.datetime | None = None
) -> DataSubjectRequest:
    """Pause the clock while the subject's identity is checked (GDPR art. 12(6)); the deadline
    shifts by the pause when it is resumed."""
    require_client_admin_or_compliance(acting_user, dsr.client)
    dsr = _locked(dsr)
    _require_open(dsr)
    if dsr.is_paused:
        raise ApplicationError(
            gettext("This request already waits on the identity check."),
            field="identity_check_since",
        )
    dsr.identity_check_since = now or timezone.now()
    return save_with_history(dsr, acting_user)


@transaction.atomic
def dsr_resume_after_identity(
    *, dsr: DataSubjectRequest, acting_user: User, now: dt.datetime | None = None
) -> DataSubjectRequest:
    """Resume after the identity check; the deadline moves by the length of the pause."""
    require_client_admin_or_compliance(acting_user, dsr.client)
    dsr = _locked(dsr)
    _require_open(dsr)
    if not dsr.is_paused:
        raise ApplicationError(
            gettext("This request does not wait on an identity check."),
            field="identity_check_since",
        )
    dsr.paused_seconds += _paused_seconds(dsr, now or timezone.now())
    dsr.identity_check_since = None
    dsr.due_at = _due(dsr)
    save_with_history(dsr, acting_user)
    notify(
        key=f"dsr-resumed:{dsr.pk}:{dsr.paused_seconds}",
        client=dsr.client,
        recipients=client_admin_emails(dsr.client),
        subject=lambda: gettext("Data-subject request resumed after the identity check"),
        body=lambda: (
            gettext("Request %(reference)s is now due %(due)s.")
            % {"reference": dsr.request_id, "due": fmt(dsr.due_at, dsr.client.provider)}
        ),
    )
    return dsr


@transaction.atomic
def dsr_cancel(
    *, dsr: DataSubjectRequest, acting_user: User, reason: str = ""
) -> DataSubjectRequest:
    """Cancel an open request (OpenDSR state `cancelled`), by the client or a compliance officer."""
    dsr = _locked(dsr)
    require_client_admin_or_compliance(acting_user, dsr.client)
    _require_open(dsr)
    now = timezone.now()
    if dsr.is_paused:
        dsr.paused_seconds += _paused_seconds(dsr, now)
        dsr.identity_check_since = None
    dsr.status = DataSubjectRequest.Status.CANCELLED
    dsr.action_taken = f"Cancelled. {optional_text(reason)}".strip()
    # completed_at marks when the request was closed; retention counts from it (art. 23)
    dsr.completed_at = now
    dsr.completed_by = acting_user
    save_with_history(dsr, acting_user)
    _status_changed(dsr)
    return dsr


def dsr_overdue_flag(*, now: dt.datetime | None = None, batch_size: int = 500) -> dict[str, Any]:
    """Job: flag open requests past their deadline to the compliance officers, once each (GDPR
    12(3)); "overdue" is `DataSubjectRequestQuerySet.overdue_condition` (a paused request is not).
    """
    now = now or timezone.now()
    flagged = 0
    while True:
        with transaction.atomic():
            batch = list(
                DataSubjectRequest.objects.select_for_update(skip_locked=True, of=("self",))
                .overdue(now)
                .filter(overdue_flagged_at=None)
                .select_related("client__provider")
                .order_by("pk")[:batch_size]
            )
            if not batch:
                return {"flagged": flagged}
            DataSubjectRequest.objects.filter(pk__in=[d.pk for d in batch]).update(
                overdue_flagged_at=now
            )
            for dsr in batch:
                notify(
                    key=f"dsr-overdue:{dsr.pk}",
                    client=dsr.client,
                    recipients=compliance_emails(provider=dsr.client.provider_id),
                    subject=lambda: (
                        gettext("Overdue data-subject request: %(client)s")
                        % {"client": dsr.client.legal_name}
                    ),
                    body=(
                        lambda: (
                            gettext(
                                "%(type)s request %(reference)s was due %(due)s (GDPR art. 12(3))."
                            )
                            % {
                                "type": dsr.get_type_display(),
                                "reference": dsr.request_id,
                                "due": fmt(dsr.due_at, dsr.client.provider),
                            }
                        )
                    ),
                )
            flagged += len(batch)
