"""Prices (art. 4.3, 4.11): fixed prices change only by written agreement; the January CPI job."""

import pytest

from accounts.kernel.errors import ApplicationError, ValidationFailed
from accounts.models import Notification
from billing.invoicing.services import prices as price_services
from billing.jobs import JOBS
from billing.models import CpiAdjustment, Price
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


def test_the_january_cpi_job_adjusts_prices_not_fixed_and_emails_each_client_once(
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

    # in January: 0.06 × 1.025 = 0.0615; 0.033333 × 1.025 = 0.034166325 → 0.034166 (half-up, 6 places)
    assert price_services.cpi_adjust(today=D(2027, 1, 2)) == {
        "prices_adjusted": 2,
        "clients_notified": 2,
    }
    assert price_services.cpi_adjust(today=D(2027, 1, 3)) == {
        "prices_adjusted": 0,
        "clients_notified": 0,
    }

    new = {
        (p.client_id, p.channel): p.unit_price
        for p in Price.objects.filter(valid_from=D(2027, 1, 1))
    }
    assert new == {(a.pk, "sms"): Dec("0.061500"), (b.pk, "sms"): Dec("0.034166")}
    assert Notification.objects.filter(key__startswith=f"cpi:{cm.pk}:2027:").count() == 2
    assert not Notification.objects.filter(client=c, key__startswith="cpi:").exists()
    assert CpiAdjustment.objects.get(provider=cm, year=2027).applied_at is not None
    with pytest.raises(ApplicationError):
        price_services.cpi_rate_enter(
            provider=cm, year=2027, rate_pct="3", acting_user=billing_staff
        )


def test_the_cpi_job_is_registered():
    assert "cpi_adjust" in JOBS
