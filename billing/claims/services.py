"""Loss claims both ways (art. 13; CX 13): a loss is reported in writing within 10 working days
after it arose or gives no right to compensation (13.6); the other party has 10 working days to
remedy it; payouts on claims against the provider stay within the liability cap (13.4) unless an
exception of 13.5 applies."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal

from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext

from accounts import workdays
from accounts.kernel import roles
from accounts.kernel.errors import ApplicationError, Conflict, NotAllowed, ValidationFailed
from accounts.kernel.history import save_with_history
from accounts.kernel.idempotency import create_once
from accounts.kernel.inputs import clean_text, optional_text
from accounts.kernel.money import round_money, to_decimal
from accounts.kernel.notifications import client_admin_emails, notify, staff_emails
from accounts.models import Client, User
from billing.invoicing.services.exchange_rates import convert
from billing.models import ClaimPayout, LossClaim

from .cap import liability_cap

CLOCK_SKEW = dt.timedelta(minutes=5)


def loss_report_deadline(client: Client, arose_at: dt.datetime) -> dt.datetime:
    """Art. 13.6: "No right to compensation shall ever arise unless the Party in question reports
    the loss to the other Party in writing within ten (10) Working Days after it has arisen"
    (`provider.loss_report_working_days`), on the provider's calendar."""
    provider = client.provider
    return workdays.add_working_days(arose_at, provider.loss_report_working_days, provider)


def loss_remedy_deadline(client: Client, reported_at: dt.datetime) -> dt.datetime:
    """Art. 13.6: "The other Party then has ten (10) Working Days to remedy the loss, if
    possible" (`provider.loss_remedy_working_days`), counted from the report."""
    provider = client.provider
    return workdays.add_working_days(reported_at, provider.loss_remedy_working_days, provider)


def _codes(
    values: Iterable[str] | None, choices: type[models.TextChoices], field: str, article: str
) -> list[str]:
    codes = list(dict.fromkeys(values or []))
    allowed = set(choices.values)
    unknown = [c for c in codes if c not in allowed]
    if unknown:
        raise ValidationFailed(
            {
                field: [
                    gettext("Unknown %(field)s %(choices)s (art. %(article)s).")
                    % {"field": field, "choices": ", ".join(map(str, unknown)), "article": article}
                ]
            }
        )
    return codes


def _require_serves(user: User, client: Client) -> None:
    """Staff act for their own providers' clients only (art. 11.1, 21.4)."""
    if user.is_provider_staff and not user.serves(client):
        raise NotAllowed(gettext("You do not act for this client's provider (art. 11.1)."))


def _may_report(user: User, client: Client, against: str) -> None:
    roles.require_active(user)
    if against == LossClaim.Against.PROVIDER:
        # the client's own admin (art. 5.2), or staff recording a report received by letter
        roles.require_client_admin(
            user,
            client,
            staff_may=True,
            message="Only an admin of this client may report a loss (art. 5.2).",
        )
        return
    roles.require_billing_staff(
        user,
        message=gettext(
            "Only the provider's billing staff may claim against the client (art. 13.2)."
        ),
    )
    if not user.serves(client):
        raise NotAllowed(gettext("You do not act for this client's provider (art. 11.1)."))


@transaction.atomic
def loss_claim_report(
    *,
    client: Client,
    against: str,
    description: str,
    arose_at: dt.datetime | None,
    acting_user: User,
    amount_claimed: object = None,
    currency: str = "",
    exclusions: Iterable[str] | None = None,
    exceptions: Iterable[str] | None = None,
    reported_at: dt.datetime | None = None,
) -> LossClaim:
    """Record a loss reported in writing (art. 13.6: "No right to compensation shall ever arise
    unless the Party in question reports the loss to the other Party in writing within ten (10)
    Working Days after it has arisen. The other Party then has ten (10) Working Days to remedy
    the loss, if possible."). A late report is recorded, marked late: it gives no right to
    compensation. A client's report is dated now; staff may date one received by letter."""
    if against not in LossClaim.Against.values:
        raise ValidationFailed({"against": [gettext("Choose who the claim is against.")]})
    _may_report(acting_user, client, against)
    now = timezone.now()
    if reported_at is None or not acting_user.is_provider_staff:
        reported_at = now
    errors: dict[str, list[str]] = {}
    if arose_at is None:
        errors["arose_at"] = [gettext("Give the moment the loss arose (art. 13.6).")]
    elif arose_at > now + CLOCK_SKEW:
        errors["arose_at"] = [gettext("The loss cannot arise in the future.")]
    elif reported_at < arose_at:
        errors["reported_at"] = [gettext("The report cannot come before the loss arose.")]
    if reported_at > now + CLOCK_SKEW:
        errors["reported_at"] = [gettext("The report cannot be in the future.")]
    if not optional_text(description):
        errors["description"] = [gettext("Describe the loss in writing (art. 13.6).")]
    amount = None
    if amount_claimed not in (None, ""):
        try:
            amount = round_money(to_decimal(amount_claimed, field="amount_claimed"))
        except ValidationFailed:
            errors["amount_claimed"] = [
                gettext("Enter the amount claimed as a decimal, e.g. 1200.00.")
            ]
        else:
            if amount < 0:
                errors["amount_claimed"] = [gettext("The amount claimed cannot be negative.")]
    if errors:
        raise ValidationFailed(errors, article="13.6")
    assert arose_at is not None
    deadline = loss_report_deadline(client, arose_at)
    claim = LossClaim(
        client=client,
        against=against,
        description=optional_text(description),
        arose_at=arose_at,
        reported_at=reported_at,
        report_deadline=deadline,
        late=reported_at > deadline,
        remedy_deadline=loss_remedy_deadline(client, reported_at),
        amount_claimed=amount,
        currency=(currency or client.provider.currency).upper(),
        exclusions=_codes(exclusions, LossClaim.Exclusion, "exclusions", "13.3"),
        exceptions=_codes(exceptions, LossClaim.LimitException, "exceptions", "13.5"),
        reported_by=acting_user,
    )
    save_with_history(claim, acting_user, clean=True)
    if against == LossClaim.Against.PROVIDER:
        recipients = staff_emails(User.Role.BILLING_STAFF, provider=client.provider_id)
        claimant = client.legal_name
    else:
        recipients = client_admin_emails(client)
        claimant = client.provider.name

    def subject() -> str:
        return gettext("Loss claim by %(claimant)s") % {"claimant": claimant}

    notify(
        key=f"loss-claim:{claim.pk}",
        client=client,
        recipients=recipients,
        subject=subject,
        body=(
            lambda: (
                claim.description
                + "\n\n"
                + gettext("The loss may be remedied until %(deadline)s (art. 13.6).")
                % {
                    "deadline": f"{claim.remedy_deadline.astimezone(workdays.local_tz(client.provider)):%Y-%m-%d %H:%M %Z}"
                }
                + (
                    " "
                    + gettext("It was reported late: no right to compensation arises (art. 13.6).")
                    if claim.late
                    else ""
                )
            )
        ),
    )
    return claim


@transaction.atomic
def loss_claim_assess(
    *,
    claim: LossClaim,
    exclusions: Iterable[str] | None,
    exceptions: Iterable[str] | None,
    acting_user: User,
) -> LossClaim:
    """Record which exclusions of art. 13.3 ("Neither Party will be liable ... for any of the
    following: (i) loss of profits ...") and which exceptions of art. 13.5 ("The limitations on
    liability specified in Article 13.3 and 13.4 shall cease to apply if and insofar as the loss
    is due to the willful intent or gross negligence of the liable party, or in case of damage to
    life, body and health") apply to the claim."""
    roles.require_billing_staff(acting_user)
    claim = LossClaim.objects.select_for_update().select_related("client").get(pk=claim.pk)
    _require_serves(acting_user, claim.client)
    claim.exclusions = _codes(exclusions, LossClaim.Exclusion, "exclusions", "13.3")
    claim.exceptions = _codes(exceptions, LossClaim.LimitException, "exceptions", "13.5")
    return save_with_history(claim, acting_user)


@transaction.atomic
def loss_claim_remedy(*, claim: LossClaim, note: str, acting_user: User) -> LossClaim:
    """The other party records that it remedied the loss (art. 13.6: "The other Party then has
    ten (10) Working Days to remedy the loss, if possible"): the provider's staff for a claim
    against the provider, the client's admin (or staff) for one against the client."""
    note = clean_text(note, field="note", message="Say how the loss was remedied (art. 13.6).")
    claim = LossClaim.objects.select_for_update().select_related("client").get(pk=claim.pk)
    if claim.against == LossClaim.Against.PROVIDER:
        roles.require_staff(
            acting_user, message=gettext("Only the provider's staff remedy this loss.")
        )
        _require_serves(acting_user, claim.client)
    else:
        roles.require_client_admin(acting_user, claim.client, staff_may=True)
    if claim.status != LossClaim.Status.OPEN:
        raise Conflict(gettext("This claim is no longer open."), field="status")
    claim.status = LossClaim.Status.REMEDIED
    claim.remedied_at = timezone.now()
    claim.remedy_note = note
    return save_with_history(claim, acting_user)


def _payout_refusal(claim: LossClaim, amount: Decimal, currency: str, paid_on: dt.date) -> None:
    if claim.late:
        raise ApplicationError(
            gettext(
                "The loss was reported after the 10-working-day deadline: no right to compensation "
                "arises (art. 13.6)."
            ),
            field="claim",
            code="claim_reported_late",
            article="13.6",
        )
    lifted = bool(claim.exceptions)
    if claim.exclusions and not lifted:
        raise ApplicationError(
            "The loss is excluded from liability ("
            + "; ".join(claim.exclusion_labels())
            + ") and no exception of art. 13.5 is recorded (art. 13.3).",
            field="claim",
            code="claim_excluded",
            article="13.3",
        )
    if claim.against != LossClaim.Against.PROVIDER or lifted:
        return
    cap = liability_cap(client=claim.client, on=paid_on)
    if not cap.stated or cap.remaining is None:
        raise ApplicationError(
            gettext("The liability cap cannot be stated: %(reason)s") % {"reason": cap.reason},
            field="amount",
            code="cap_unknown",
            article="13.4",
        )
    in_cap_currency = convert(
        amount=amount, from_currency=currency, to_currency=cap.currency, on=paid_on
    )
    if in_cap_currency is None:
        raise ApplicationError(
            gettext(
                "No %(currency)s→%(currency2)s exchange rate on file for %(paid_on)s (art. 13.4)."
            )
            % {"currency": currency, "currency2": cap.currency, "paid_on": paid_on},
            field="currency",
            code="cap_unknown",
            article="13.4",
        )
    if in_cap_currency > cap.remaining:
        raise ApplicationError(
            gettext(
                "The payout of %(amount)s %(currency)s exceeds what remains of the liability cap: %(remaining)s %(currency2)s (art. 13.4)."
            )
            % {
                "amount": amount,
                "currency": currency,
                "remaining": cap.remaining,
                "currency2": cap.currency,
            },
            field="amount",
            code="over_liability_cap",
            article="13.4",
        )


@transaction.atomic
def claim_payout_record(
    *,
    claim: LossClaim,
    amount: object,
    currency: str,
    paid_on: dt.date,
    idempotency_key: str,
    acting_user: User,
) -> ClaimPayout:
    """Record compensation paid on a claim, once per idempotency key. Art. 13.4: "In no event
    shall the total compensation by CM for any and all claims under this Agreement exceed fifty
    thousand euro (€ 50,000.00)" — and never more than the average monthly invoice; art. 13.6: no
    compensation on a late report; art. 13.3 exclusions unless an exception of 13.5 applies."""
    roles.require_billing_staff(acting_user)
    if not (idempotency_key or "").strip():
        raise ValidationFailed({"idempotency_key": [gettext("An idempotency key is required.")]})
    value = round_money(to_decimal(amount, field="amount"))
    if value <= 0:
        raise ValidationFailed({"amount": [gettext("A payout must be more than zero.")]})
    currency = (currency or "").strip().upper()
    if len(currency) != 3:
        raise ValidationFailed({"currency": [gettext("Give the currency as ISO 4217, e.g. EUR.")]})
    # serialize payouts of one client: the cap is for all its claims together (art. 13.4)
    Client.objects.select_for_update().filter(pk=claim.client_id).first()
    claim = LossClaim.objects.select_related("client__provider").get(pk=claim.pk)
    _require_serves(acting_user, claim.client)
    existing = ClaimPayout.objects.filter(idempotency_key=idempotency_key).first()

    def same(row: ClaimPayout) -> bool:
        return (
            row.claim_id == claim.pk
            and row.amount == value
            and row.currency == currency
            and row.paid_on == paid_on
        )

    if existing is not None:
        if not same(existing):
            raise Conflict(
                gettext("This idempotency key was used for another payout."),
                field="idempotency_key",
            )
        return existing
    _payout_refusal(claim, value, currency, paid_on)
    payout, _ = create_once(
        ClaimPayout,
        key_lookup={"idempotency_key": idempotency_key},
        values={
            "claim": claim,
            "amount": value,
            "currency": currency,
            "paid_on": paid_on,
            "recorded_by": acting_user,
        },
        same=same,
        conflict_message="This idempotency key was used for another payout.",
        field="idempotency_key",
    )
    return payout
