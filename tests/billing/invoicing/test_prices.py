"""Prices (art. 4.3, 4.4, 4.11): fixed prices change only by written agreement, or for a cause of
4.4 with notice in advance; the January CPI job adjusts every price, fixed or general."""

import pytest

from accounts.kernel.errors import ApplicationError, ValidationFailed
from accounts.models import Notification
from billing.invoicing.services import prices as price_services
from billing.jobs import JOBS
from billing.models import CpiAdjustment, Price, PriceCause, PriceChange
from tests.billing.invoicing.factories import (
    D,
    Dec,
    company,
)

pytestmark = pytest.mark.django_db


def price(client, staff, channel, unit, since, **kw):
    return price_services.price_set(
        client=client, channel=channel, unit_price=unit, valid_from=since, acting_user=staff, **kw
    )


def test_a_fixed_price_changes_only_with_a_written_agreement(client_company, billing_staff):
    with pytest.raises(ValidationFailed) as exc:
        price(client_company, billing_staff, "sms", "0.040000", D(2026, 1, 1), fixed=True)
    assert exc.value.article == "4.3"
    price(
        client_company,
        billing_staff,
        "sms",
        "0.040000",
        D(2026, 1, 1),
        fixed=True,
        agreement_reference="Agreement §3",
    )

    with pytest.raises(ValidationFailed) as exc:
        price(client_company, billing_staff, "sms", "0.050000", D(2026, 6, 1))
    assert exc.value.field == "agreement_reference" and exc.value.article == "4.3"
    assert Price.objects.filter(client=client_company).count() == 1

    price(
        client_company,
        billing_staff,
        "sms",
        "0.050000",
        D(2026, 6, 1),
        agreement_reference="Addendum 2026-05-20",
    )
    assert Price.objects.filter(client=client_company).count() == 2


def test_a_price_that_is_not_fixed_changes_freely_with_history(client_company, billing_staff):
    p = price(client_company, billing_staff, "sms", "0.040000", D(2026, 1, 1))
    price(client_company, billing_staff, "sms", "0.045000", D(2026, 1, 1))
    p.refresh_from_db()
    assert p.unit_price == Dec("0.045000")
    assert p.history.count() == 2


def test_the_january_cpi_job_adjusts_every_price_fixed_or_general_and_emails_each_client_once(
    cm, billing_staff, clock
):
    # given prices in force on 1 January 2027 and a CPI change of 2.5 %
    a, b, c = company(cm), company(cm), company(cm)
    price(a, billing_staff, "sms", "0.050000", D(2026, 1, 1))
    price(a, billing_staff, "sms", "0.060000", D(2026, 7, 1))  # the one in force
    price(
        a,
        billing_staff,
        "whatsapp",
        "0.100000",
        D(2026, 1, 1),
        fixed=True,
        agreement_reference="Agreement §3",
    )
    price(b, billing_staff, "sms", "0.033333", D(2026, 1, 1))
    price(
        c,
        billing_staff,
        "voice",
        "0.200000",
        D(2026, 1, 1),
        fixed=True,
        agreement_reference="Agreement §3",
    )
    price_services.cpi_rate_enter(provider=cm, year=2027, rate_pct="2.5", acting_user=billing_staff)

    # before January nothing happens
    assert price_services.cpi_adjust(today=D(2026, 12, 31)) == {
        "prices_adjusted": 0,
        "clients_notified": 0,
    }

    # in January, fixed prices too ("notwithstanding article 4.3", art. 4.11): 0.06 × 1.025 =
    # 0.0615; 0.1 × 1.025 = 0.1025 (fixed); 0.033333 × 1.025 = 0.034166325 → 0.034166 (half-up,
    # 6 places); 0.2 × 1.025 = 0.205 (fixed)
    assert price_services.cpi_adjust(today=D(2027, 1, 2)) == {
        "prices_adjusted": 4,
        "clients_notified": 3,
    }
    assert price_services.cpi_adjust(today=D(2027, 1, 3)) == {
        "prices_adjusted": 0,
        "clients_notified": 0,
    }

    new = {
        (p.client_id, p.channel): p.unit_price
        for p in Price.objects.filter(valid_from=D(2027, 1, 1))
    }
    assert new == {
        (a.pk, "sms"): Dec("0.061500"),
        (a.pk, "whatsapp"): Dec("0.102500"),
        (b.pk, "sms"): Dec("0.034166"),
        (c.pk, "voice"): Dec("0.205000"),
    }
    # a fixed price stays fixed at its new amount
    assert Price.objects.get(client=c, valid_from=D(2027, 1, 1)).fixed is True
    assert Notification.objects.filter(key__startswith=f"cpi:{cm.pk}:2027:").count() == 3
    assert "fixed price" in Notification.objects.get(client=c, key__startswith="cpi:").body
    # every change is recorded with its cause, for the client's list
    changes = PriceChange.objects.filter(cause=PriceCause.CPI).order_by("client_id", "channel")
    assert [(ch.client_id, ch.old_unit_price, ch.new_unit_price, ch.fixed) for ch in changes] == [
        (a.pk, Dec("0.060000"), Dec("0.061500"), False),
        (a.pk, Dec("0.100000"), Dec("0.102500"), True),
        (b.pk, Dec("0.033333"), Dec("0.034166"), False),
        (c.pk, Dec("0.200000"), Dec("0.205000"), True),
    ]
    assert CpiAdjustment.objects.get(provider=cm, year=2027).applied_at is not None
    with pytest.raises(ApplicationError):
        price_services.cpi_rate_enter(
            provider=cm, year=2027, rate_pct="3", acting_user=billing_staff
        )


def test_the_cpi_job_is_registered():
    assert "cpi_adjust" in JOBS


# --- art. 4.4: a change for a cause, even of a fixed price, with notice in advance -------------
def change(client, staff, **kw):
    args = dict(
        client=client,
        channel="sms",
        unit_price="0.045000",
        valid_from=D(2026, 4, 1),
        cause=PriceCause.OPERATOR_RATE,
        explanation="China Mobile raises its A2P SMS termination rate from 1 April.",
        acting_user=staff,
    )
    args.update(kw)
    return price_services.price_change_for_cause(**args)


def test_a_fixed_price_changes_for_an_operator_rate_change_with_notice_in_advance(
    client_company, billing_staff, clock
):
    # given a fixed price, and today 2 March 2026
    clock.set(D(2026, 3, 2))
    price(
        client_company,
        billing_staff,
        "sms",
        "0.040000",
        D(2026, 1, 1),
        fixed=True,
        agreement_reference="Agreement §3",
    )

    # when the operator's rate changes, without the client's written agreement
    recorded = change(client_company, billing_staff)

    # then the new price takes effect on the day given, stays fixed, and records its cause
    new = Price.objects.get(client=client_company, valid_from=D(2026, 4, 1))
    assert (new.unit_price, new.fixed, new.cause) == (
        Dec("0.045000"),
        True,
        PriceCause.OPERATOR_RATE,
    )
    assert (recorded.old_unit_price, recorded.new_unit_price, recorded.effective_from) == (
        Dec("0.040000"),
        Dec("0.045000"),
        D(2026, 4, 1),
    )
    assert recorded.cause == PriceCause.OPERATOR_RATE and "China Mobile" in recorded.explanation
    # and the client is told now, with the date it takes effect
    notice = Notification.objects.get(key=f"price-change:{recorded.pk}")
    assert recorded.notice_key == notice.key and notice.client == client_company
    assert "1 Apr 2026" in notice.subject and "0.040000 to 0.045000" in notice.body
    assert "Rate change by an Operator (art. 4.4)" in notice.body


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"valid_from": D(2026, 3, 2)}, "valid_from"),  # today: not in advance
        ({"valid_from": D(2026, 3, 1)}, "valid_from"),
        ({"cause": PriceCause.SET}, "cause"),  # 4.3 needs the client's agreement
        ({"cause": "the provider felt like it"}, "cause"),
        ({"explanation": "  "}, "explanation"),
        ({"channel": "voice"}, "channel"),  # no price on that channel to change
    ],
)
def test_a_change_for_a_cause_is_refused_without_notice_in_advance_a_cause_or_a_price(
    client_company, billing_staff, clock, kw, field
):
    clock.set(D(2026, 3, 2))
    price(client_company, billing_staff, "sms", "0.040000", D(2026, 1, 1))
    changes_before = PriceChange.objects.count()

    with pytest.raises(ValidationFailed) as exc:
        change(client_company, billing_staff, **kw)

    assert exc.value.field == field
    assert Price.objects.filter(client=client_company).count() == 1
    assert PriceChange.objects.count() == changes_before
    assert not Notification.objects.filter(key__startswith="price-change:").exists()


def test_a_change_for_a_cause_is_billing_staff_only(
    client_company, billing_staff, compliance_officer, clock
):
    from accounts.kernel.errors import NotAllowed

    clock.set(D(2026, 3, 2))
    price(client_company, billing_staff, "sms", "0.040000", D(2026, 1, 1))
    with pytest.raises(NotAllowed):
        change(client_company, compliance_officer)
    assert not PriceChange.objects.filter(cause=PriceCause.OPERATOR_RATE).exists()


def test_every_price_set_is_a_recorded_change(client_company, billing_staff):
    price(client_company, billing_staff, "sms", "0.040000", D(2026, 1, 1))
    price(client_company, billing_staff, "sms", "0.050000", D(2026, 6, 1))
    price(client_company, billing_staff, "sms", "0.055000", D(2026, 6, 1))  # corrected

    rows = list(
        PriceChange.objects.filter(client=client_company)
        .order_by("recorded_at", "id")
        .values_list("old_unit_price", "new_unit_price", "effective_from", "cause")
    )
    assert rows == [
        (None, Dec("0.040000"), D(2026, 1, 1), PriceCause.SET),
        (Dec("0.040000"), Dec("0.050000"), D(2026, 6, 1), PriceCause.SET),
        (Dec("0.050000"), Dec("0.055000"), D(2026, 6, 1), PriceCause.SET),
    ]
