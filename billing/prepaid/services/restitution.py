"""Restitution on termination (art. 29.6): a terminating prepaid client asks in writing for its
remaining credit; billing staff approve (the unexpired credit leaves the wallet; expired credit
is never refunded, art. 29.3) or refuse, saying why.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from accounts.kernel import roles
from accounts.kernel.errors import ApplicationError, Conflict
from accounts.kernel.history import save_with_history
from accounts.kernel.inputs import clean_text
from accounts.kernel.l10n import money
from accounts.kernel.notifications import client_recipients, notify, staff_emails
from accounts.models import Agreement, Client, User
from billing.models import CreditLot, LedgerAllocation, LedgerEntry, RestitutionRequest, Wallet

from .wallets import lock_wallet, wallet_for_client

PENDING_ALREADY = gettext_noop("A restitution request is already pending for this client.")


def restitution_request_refusal(*, client: Client) -> ApplicationError | None:
    """Restitution is asked for by a prepaid client once it has terminated the agreement in
    writing (art. 29.6): the refusal when it may not (yet), else None.

    "Pre-Paid Clients can terminate the Agreement at any time in writing. If at the time of
    such termination the Pre-Paid Client has any credit left, the Pre-Paid Client can submit a
    written request for restitution of this remaining credit." The one place of this rule:
    `restitution_request` raises the refusal, the wallet page offers the form only without one.
    """
    if client.billing_mode != Client.BillingMode.PREPAID:
        return ApplicationError(
            gettext("Only a prepaid client can request restitution of credit (art. 29.6)."),
            field="client",
            article="29.6",
        )
    agreement = Agreement.objects.filter(client=client).first()
    if agreement is None or not (
        agreement.status == Agreement.Status.TERMINATED or agreement.notice_given_at
    ):
        return ApplicationError(
            gettext(
                "Restitution can be requested once the agreement has been terminated in writing (art. 29.6)."
            ),
            field="agreement",
            article="29.6",
        )
    return None


@transaction.atomic
def restitution_request(
    *, client: Client, acting_user: User, reason: str = ""
) -> RestitutionRequest:
    """A terminating prepaid client asks in writing for its remaining credit (art. 29.6);
    see `restitution_request_refusal` for when it may."""
    roles.require_client_admin(
        acting_user,
        client,
        message=gettext("Only an admin of this client may request restitution (art. 5.2, 29.6)."),
    )
    client = Client.objects.select_for_update().get(pk=client.pk)
    refusal = restitution_request_refusal(client=client)
    if refusal is not None:
        raise refusal
    if RestitutionRequest.objects.filter(
        client=client, status=RestitutionRequest.Status.PENDING
    ).exists():
        raise Conflict(gettext(PENDING_ALREADY), field="client")
    wallet = wallet_for_client(client=client)
    request = RestitutionRequest(
        client=client,
        requested_by=acting_user,
        reason=(reason or "").strip(),
        currency=wallet.currency,
    )
    try:
        with transaction.atomic():
            save_with_history(request, acting_user)
    except IntegrityError as exc:  # a pending request made concurrently
        raise Conflict(gettext(PENDING_ALREADY), field="client") from exc
    notify(
        key=f"restitution-requested:{request.pk}",
        client=client,
        recipients=staff_emails(User.Role.BILLING_STAFF, provider=client.provider_id),
        subject=lambda: (
            gettext("Restitution requested: %(client)s") % {"client": client.legal_name}
        ),
        body=lambda: (
            gettext("%(client)s asks for restitution of its remaining prepaid credit (art. 29.6).")
            % {"client": client.legal_name}
            + f"\n{request.reason}"
        ),
    )
    return request


def _decidable(request: RestitutionRequest, acting_user: User) -> RestitutionRequest:
    roles.require_billing_staff(acting_user)
    request = (
        RestitutionRequest.objects.select_for_update().select_related("client").get(pk=request.pk)
    )
    if request.status != RestitutionRequest.Status.PENDING:
        raise ApplicationError(
            gettext("This restitution request has already been decided."), field="status"
        )
    return request


@transaction.atomic
def restitution_approve(
    *, request: RestitutionRequest, acting_user: User, note: str = ""
) -> RestitutionRequest:
    """Restitute the remaining unexpired credit (art. 29.6); expired credit is never refunded (art. 29.3).

    One RESTITUTION ledger entry takes what is left on every lot that has not expired at the
    moment of approval (usable or not yet usable), with an allocation per lot.
    """
    request = _decidable(request, acting_user)
    client = request.client
    wallet = lock_wallet(wallet_for_client(client=client))
    now = timezone.now()
    lots = list(
        CreditLot.objects.select_for_update()
        .filter(wallet=wallet, status=CreditLot.Status.ACTIVE, remaining__gt=0, expires_at__gt=now)
        .order_by("pk")
    )
    total = sum((lot.remaining for lot in lots), Decimal("0"))
    entry = None
    if total > 0:
        balance = wallet.balance - total
        entry = LedgerEntry.objects.create(
            wallet=wallet,
            kind=LedgerEntry.Kind.RESTITUTION,
            amount=-total,
            currency=wallet.currency,
            balance_after=balance,
            idempotency_key=f"restitution:{request.pk}",
            created_at=now,
            created_by=acting_user,
            cause=f"restitution request {request.pk} approved by {acting_user.email}"[:200],
            memo=(note or "").strip(),
        )
        LedgerAllocation.objects.bulk_create(
            [LedgerAllocation(entry=entry, lot=lot, amount=lot.remaining) for lot in lots]
        )
        CreditLot.objects.filter(pk__in=[lot.pk for lot in lots]).update(
            remaining=Decimal("0"), status=CreditLot.Status.EXHAUSTED
        )
        Wallet.objects.filter(pk=wallet.pk).update(balance=balance)
    request.status = RestitutionRequest.Status.APPROVED
    request.amount = total
    request.entry = entry
    request.decided_by = acting_user
    request.decided_at = now
    request.decision_note = (note or "").strip()
    save_with_history(request, acting_user)
    notify(
        key=f"restitution-decided:{request.pk}",
        client=client,
        recipients=client_recipients(client),
        subject=lambda: gettext("Your restitution request was approved"),
        body=(
            lambda: (
                gettext(
                    "%(amount)s of remaining unexpired credit will be restituted (art. 29.6). Expired "
                    "credit is not refunded (art. 29.3)."
                )
                % {"amount": money(total, request.currency)}
                + "\n"
                + request.decision_note
            )
        ),
    )
    return request


@transaction.atomic
def restitution_refuse(
    *, request: RestitutionRequest, acting_user: User, note: str
) -> RestitutionRequest:
    """Staff refuse a restitution request, saying why (art. 29.6); nothing moves."""
    note = clean_text(
        note, field="note", message=gettext("Give the reason for the refusal; the client sees it.")
    )
    request = _decidable(request, acting_user)
    request.status = RestitutionRequest.Status.REFUSED
    request.decided_by = acting_user
    request.decided_at = timezone.now()
    request.decision_note = note
    save_with_history(request, acting_user)
    notify(
        key=f"restitution-decided:{request.pk}",
        client=request.client,
        recipients=client_recipients(request.client),
        subject=lambda: gettext("Your restitution request was refused"),
        body=request.decision_note,
    )
    return request
