"""Prices per message (art. 4.2-4.3), changes for a cause even of fixed prices (art. 4.4) and
the yearly CPI adjustment of every price, fixed or general (art. 4.11).

Every change of a price is a `PriceChange` row with its cause, written in the transaction that
changes the price, and listed for the client (`selectors.price_change_list`)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils.formats import date_format
from django.utils.translation import gettext

from accounts import selectors as account_selectors
from accounts.kernel.errors import ApplicationError, ValidationFailed
from accounts.kernel.history import with_history_user
from accounts.kernel.inputs import clean_date
from accounts.kernel.money import round_unit_price, to_decimal
from accounts.kernel.notifications import client_recipients, notify
from accounts.kernel.roles import require_billing_staff, require_serves_provider
from accounts.models import Client, Provider, User
from billing.models import CpiAdjustment, Price, PriceCause, PriceChange, UsageRecord

from . import _common
from ._common import HUNDRED


def price_in_force(prices: list[Price], day: dt.date) -> Price | None:
    """The price in force on `day`: the latest of `prices` (ordered by `valid_from`) valid from
    that day or before (art. 4.2)."""
    current = None
    for price in prices:
        if price.valid_from <= day:
            current = price
    return current


def _clean_unit_price(unit_price) -> Decimal:
    value = to_decimal(unit_price, field="unit_price")
    if value < 0 or value != round_unit_price(value) or value >= Decimal("1e8"):
        raise ValidationFailed(
            {
                "unit_price": [
                    gettext(
                        "A unit price excluding VAT, zero or more, with at most 6 decimals (art. 4.1)."
                    )
                ]
            }
        )
    return value


def _require_agreement(current: Price | None, fixed: bool, reference: str) -> None:
    """A fixed price is agreed, and replaced, only by a written agreement (art. 4.3)."""
    if current is not None and current.fixed and not reference:
        raise ValidationFailed(
            {
                "agreement_reference": [
                    gettext(
                        "This price is fixed; it changes only after the client's written agreement: give its reference (art. 4.3)."
                    )
                ]
            },
            article="4.3",
        )
    if fixed and not reference:
        raise ValidationFailed(
            {
                "agreement_reference": [
                    gettext(
                        "A fixed price is expressly agreed: give the agreement's reference (art. 4.3)."
                    )
                ]
            },
            article="4.3",
        )


def _agreed_price_currency(client: Client, currency: str | None) -> str:
    """Prices are "in the agreed currency (default: USD)" (CX 3), "in RMB or RMB equivalents to
    Euros" (art. 4.1): the agreement's currency; a price named in another is refused on
    `currency` and changes nothing."""
    agreed = account_selectors.agreed_currency(client=client)
    code = (currency or "").strip().upper()
    if code and code != agreed:
        raise ValidationFailed(
            {
                "currency": [
                    f"Prices of this client are in the agreed currency, {agreed}; "
                    f"a price in {code} is refused (art. 4.1)."
                ]
            },
            article="4.1",
        )
    return agreed


@transaction.atomic
def price_set(
    *,
    client: Client,
    channel: str,
    unit_price,
    valid_from: dt.date,
    acting_user: User,
    fixed: bool = False,
    agreement_reference: str = "",
    currency: str | None = None,
) -> Price:
    """Set a client's price per message on a channel from a day (art. 4.2, 4.3), in the
    agreed currency (`_agreed_price_currency`; CX 3 "in the agreed currency (default: USD)").

    "If a fixed price has been expressly agreed ... CM is only entitled to change the agreed
    fixed price(s) after written agreement by the Client" (4.3): replacing a fixed price, and
    agreeing a new one, both need the reference of that written agreement.
    """
    require_billing_staff(acting_user)
    if channel not in UsageRecord.Channel.values:
        raise ValidationFailed(
            {
                "channel": [
                    gettext("The channel is one of %(choices)s.")
                    % {"choices": ", ".join(UsageRecord.Channel.values)}
                ]
            }
        )
    price_value = _clean_unit_price(unit_price)
    valid_from = clean_date(valid_from, field="valid_from")
    reference = (agreement_reference or "").strip()
    client = (
        Client.objects.select_for_update(of=("self",)).select_related("provider").get(pk=client.pk)
    )
    price_currency = _agreed_price_currency(client, currency)
    current = (
        Price.objects.filter(client=client, channel=channel, valid_from__lte=valid_from)
        .order_by("-valid_from")
        .first()
    )
    _require_agreement(current, fixed, reference)
    price = Price.objects.filter(
        client=client, channel=channel, valid_from=valid_from
    ).first() or Price(client=client, channel=channel, valid_from=valid_from)
    old = _price_before(price)
    price.unit_price, price.currency, price.fixed, price.agreement_reference = (
        price_value,
        price_currency,
        bool(fixed),
        reference,
    )
    price.cause = PriceCause.SET
    with_history_user(price, acting_user).save()
    _change_record(price, old, PriceCause.SET, reference=reference, acting_user=acting_user)
    return price


def _price_before(price: Price):
    """The unit price this one replaces: its own value when it is edited, else the one in
    force the day before it takes effect (None: the channel had no price)."""
    if price.pk is not None:
        return Price.objects.get(pk=price.pk).unit_price
    before = (
        Price.objects.filter(
            client_id=price.client_id, channel=price.channel, valid_from__lt=price.valid_from
        )
        .order_by("-valid_from")
        .first()
    )
    return before.unit_price if before is not None else None


def _change_record(
    price: Price,
    old,
    cause: str,
    *,
    explanation: str = "",
    reference: str = "",
    acting_user: User | None,
    notice_key: str = "",
) -> PriceChange:
    change = PriceChange(
        client_id=price.client_id,
        channel=price.channel,
        price=price,
        old_unit_price=old,
        new_unit_price=price.unit_price,
        currency=price.currency,
        fixed=price.fixed,
        effective_from=price.valid_from,
        cause=cause,
        explanation=explanation,
        reference=reference[:200],
        recorded_at=_common.now(),
        recorded_by=acting_user,
        notice_key=notice_key,
    )
    change.full_clean()
    change.save()
    return change


LEGAL_CAUSES = (PriceCause.CHANGE_OF_LAW, PriceCause.OPERATOR_RATE, PriceCause.PURCHASE_PRICE)
LEGAL_CAUSE_CHOICES = [(c.value, c.label) for c in LEGAL_CAUSES]


@transaction.atomic
def price_change_for_cause(
    *,
    client: Client,
    channel: str,
    unit_price,
    valid_from: dt.date,
    cause: str,
    explanation: str,
    acting_user: User,
) -> PriceChange:
    """Change a price, fixed or not, for a cause of art. 4.4, with notice in advance.

    "Notwithstanding article 4.3, CM is in every instance entitled to change its prices
    following from changes to Applicable Law, from an increase in the purchase price of
    messages and/or from rates changes effected by Operators. CM shall inform the Client in
    advance of such price increases as soon as reasonably possible." The change records its
    cause and what happened; it takes effect on a later day than today (the profile's date),
    and the client is sent a notice now naming that day. A fixed price stays fixed at its new
    amount: later changes still need the client's written agreement (4.3) or a cause of 4.4.
    """
    require_billing_staff(acting_user)
    if cause not in LEGAL_CAUSES:
        raise ValidationFailed(
            {
                "cause": [
                    gettext(
                        "A price changes without the client's agreement for a change of law, an operator's rate change or a higher purchase price (art. 4.4): %(choices)s."
                    )
                    % {"choices": ", ".join(LEGAL_CAUSES)}
                ]
            },
            article="4.4",
        )
    if channel not in UsageRecord.Channel.values:
        raise ValidationFailed(
            {
                "channel": [
                    gettext("The channel is one of %(choices)s.")
                    % {"choices": ", ".join(UsageRecord.Channel.values)}
                ]
            }
        )
    price_value = _clean_unit_price(unit_price)
    valid_from = clean_date(valid_from, field="valid_from")
    explanation = (explanation or "").strip()
    if not explanation:
        raise ValidationFailed(
            {
                "explanation": [
                    gettext(
                        "Say what changed: the law, the operator's rate, the purchase price (art. 4.4)."
                    )
                ]
            },
            article="4.4",
        )
    client = (
        Client.objects.select_for_update(of=("self",)).select_related("provider").get(pk=client.pk)
    )
    today = _common.today(client.provider)
    if valid_from <= today:
        raise ValidationFailed(
            {
                "valid_from": [
                    gettext(
                        "The client is told in advance: the new price takes effect after today (%(today)s) (art. 4.4)."
                    )
                    % {"today": f"{today:%Y-%m-%d}"}
                ]
            },
            article="4.4",
        )
    current = (
        Price.objects.filter(client=client, channel=channel, valid_from__lte=valid_from)
        .order_by("-valid_from")
        .first()
    )
    if current is None:
        raise ValidationFailed(
            {
                "channel": [
                    gettext("This client has no price on this channel to change (art. 4.4).")
                ]
            },
            article="4.4",
        )
    price = (
        current
        if current.valid_from == valid_from
        else Price(
            client=client,
            channel=channel,
            valid_from=valid_from,
            currency=current.currency,
            fixed=current.fixed,
        )
    )
    old = _price_before(price)
    price.unit_price, price.cause = price_value, cause
    price.agreement_reference = f"{PriceCause(cause).label}: {explanation}"[:200]
    with_history_user(price, acting_user).save()
    change = _change_record(price, old, cause, explanation=explanation, acting_user=acting_user)
    key = f"price-change:{change.pk}"
    if notify(
        key=key,
        client=client,
        recipients=client_recipients(client),
        subject=lambda: (
            gettext("Your %(channel)s price from %(date)s")
            % {
                "channel": price.get_channel_display(),
                "date": date_format(valid_from, "DATE_FORMAT"),
            }
        ),
        body=(
            lambda: (
                (
                    gettext(
                        "From %(date)s your %(channel)s price changes from %(old)s to %(new)s %(currency)s "
                        "per message (a fixed price)."
                    )
                    if price.fixed
                    else gettext(
                        "From %(date)s your %(channel)s price changes from %(old)s to %(new)s %(currency)s "
                        "per message."
                    )
                )
                % {
                    "date": date_format(valid_from, "DATE_FORMAT"),
                    "channel": price.get_channel_display(),
                    "old": old,
                    "new": price.unit_price,
                    "currency": price.currency,
                }
                + "\n"
                + gettext("Cause: %(cause)s.") % {"cause": PriceCause(cause).label}
                + f"\n{explanation}"
            )
        ),
    ):
        change.notice_key = key
        change.save(update_fields=["notice_key"])
    return change


@transaction.atomic
def cpi_rate_enter(*, provider: Provider, year: int, rate_pct, acting_user: User) -> CpiAdjustment:
    """Staff enter the year's national CPI change for a profile, applied in January (art. 4.11)."""
    require_billing_staff(acting_user)
    require_serves_provider(acting_user, provider)
    if not isinstance(year, int) or isinstance(year, bool) or not 2000 <= year <= 2100:
        raise ValidationFailed(
            {"year": [gettext("Give the year whose January the rate applies in.")]}
        )
    rate = to_decimal(rate_pct, field="rate_pct")
    if rate <= -100 or rate >= 100 or rate != rate.quantize(Decimal("0.001")):
        raise ValidationFailed(
            {"rate_pct": [gettext("A percentage change, with at most 3 decimals.")]}
        )
    row = CpiAdjustment.objects.select_for_update().filter(provider=provider, year=year).first()
    if row is not None and row.applied_at is not None:
        raise ApplicationError(
            gettext("This year's CPI change has already been applied."),
            field="year",
            article="4.11",
        )
    row = row or CpiAdjustment(provider=provider, year=year, entered_by=acting_user)
    row.rate_pct, row.entered_by, row.entered_at = rate, acting_user, _common.now()
    with_history_user(row, acting_user).save()
    return row


@transaction.atomic
def _cpi_adjust_batch(adjustment: CpiAdjustment, ids: list[int], result: dict[str, Any]) -> None:
    """New prices from 1 January for the clients `ids`, each affected client emailed once."""
    provider = adjustment.provider
    jan1 = dt.date(adjustment.year, 1, 1)
    factor = 1 + adjustment.rate_pct / HUNDRED
    current: dict[tuple[int, str], Price] = {}
    for price in Price.objects.filter(client_id__in=ids, valid_from__lte=jan1).order_by(
        "valid_from", "pk"
    ):
        current[(price.client_id, price.channel)] = price
    changed = defaultdict(list)
    for (client_id, channel), price in sorted(current.items()):
        if price.valid_from == jan1:
            continue
        new = Price(
            client_id=client_id,
            channel=channel,
            unit_price=round_unit_price(price.unit_price * factor),
            currency=price.currency,
            fixed=price.fixed,
            valid_from=jan1,
            agreement_reference=f"CPI {adjustment.year}: {adjustment.rate_pct} % (art. 4.11)",
            cause=PriceCause.CPI,
        )
        with_history_user(new, None).save()
        changed[client_id].append((price, new))
        result["prices_adjusted"] += 1
    for client in Client.objects.filter(pk__in=list(changed)).order_by("pk"):
        key = f"cpi:{provider.pk}:{adjustment.year}:{client.pk}"
        for old, new in changed[client.pk]:
            _change_record(
                new,
                old.unit_price,
                PriceCause.CPI,
                explanation=f"National CPI change of {adjustment.rate_pct} % for {adjustment.year}",
                reference=new.agreement_reference,
                acting_user=None,
                notice_key=key,
            )
        lines = "\n".join(
            f"{old.get_channel_display()}: {old.unit_price} -> {new.unit_price} {new.currency} per message"
            f"{' (fixed price)' if new.fixed else ''}"
            for old, new in changed[client.pk]
        )
        if notify(
            key=key,
            client=client,
            recipients=client_recipients(client),
            subject=lambda: (
                gettext("Your prices from 1 January %(year)s") % {"year": adjustment.year}
            ),
            body=lambda: (
                gettext(
                    "Prices, fixed or general, are adjusted by the national CPI change of "
                    "%(rate)s %% (art. 4.11):"
                )
                % {"rate": adjustment.rate_pct}
                + f"\n{lines}"
            ),
        ):
            result["clients_notified"] += 1


def cpi_adjust(*, today: dt.date | None = None, batch_size: int = 200) -> dict[str, Any]:
    """Job: each January apply the year's CPI change to every price, fixed or not (art. 4.11).

    "Notwithstanding article 4.3, CM shall have the right to make adjustments to its prices
    (fixed or general) on an annual basis at the beginning of each subsequent calendar year to
    reflect the annual changes in the national Consumer Price Index (CPI)." "Notwithstanding
    article 4.3" means the written agreement 4.3 asks for a fixed price is not needed here: a
    fixed price is adjusted too, and stays fixed at its new amount (issue 12 corrects the
    earlier reading of issue 4, which skipped fixed prices). Each client's
    price in force on 1 January gets a new Price row valid from 1 January with the unit price
    × (1 + rate), rounded to 6 places half-up, and a `PriceChange` with cause CPI; each
    affected client is emailed once. Runs only
    in January; idempotent per provider and year (`CpiAdjustment.applied_at`), and resumable:
    a client that already has a price from 1 January for a channel is left as it is.
    """
    result = {"prices_adjusted": 0, "clients_notified": 0}
    for adjustment in (
        CpiAdjustment.objects.filter(applied_at=None).select_related("provider").order_by("pk")
    ):
        provider = adjustment.provider
        day = today or _common.today(provider)
        if day.year != adjustment.year or day.month != 1:
            continue
        for ids in _common.client_id_batches(provider, batch_size):
            _cpi_adjust_batch(adjustment, ids, result)
        CpiAdjustment.objects.filter(pk=adjustment.pk, applied_at=None).update(
            applied_at=_common.now()
        )
    return result
