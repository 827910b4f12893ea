"""Loss claims (art. 13.3-13.6): the 10-working-day report window and remedy period at their
edges on both calendars, late reports, and the liability cap of 13.4 with and without earlier
payouts, at its €50,000 ceiling and without an exchange rate."""

import datetime as dt
from decimal import Decimal

import pytest

from accounts.kernel.errors import ApplicationError, Conflict, NotAllowed, ValidationFailed
from billing.claims import services
from billing.claims.cap import liability_cap, months_begun
from billing.models import ClaimPayout, Invoice, LossClaim
from tests.accounts.clock import AMSTERDAM, SHANGHAI
from tests.accounts.factories import BillingStaffFactory, ClientAdminFactory, ClientViewerFactory
from tests.billing.claims.factories import company, invoice, rate

D = dt.date


def _report(client, arose_at, user=None, against=LossClaim.Against.PROVIDER, **kwargs):
    from accounts.models import User

    user = user or User.objects.filter(client=client, role=User.Role.CLIENT_ADMIN).first()
    return services.loss_claim_report(
        client=client,
        against=against,
        description="Messages not delivered for two days",
        arose_at=arose_at,
        acting_user=user,
        **kwargs,
    )


# --- art. 13.6 on the Dutch calendar: a loss that arose just before King's Day 2027 ----------
@pytest.mark.django_db
@pytest.mark.parametrize(
    ("reported", "late"),
    [
        (dt.datetime(2027, 5, 12, 17, 0, tzinfo=AMSTERDAM), False),
        (dt.datetime(2027, 5, 12, 17, 1, tzinfo=AMSTERDAM), True),
    ],
)
def test_a_loss_before_kings_day_must_be_reported_by_12_may_close_of_business(
    cx, now, reported, late
):
    # given a loss that arose on Mon 26 Apr 2027 (King's Day Tue 27 Apr, Ascension Thu 6 May)
    client = company(cx)
    now.set(reported)
    claim = _report(client, dt.datetime(2027, 4, 26, 11, tzinfo=AMSTERDAM))
    # then: 28, 29, 30 Apr, 3, 4, 5, 7, 10, 11, 12 May, 17:00 Amsterdam
    assert claim.report_deadline == dt.datetime(2027, 5, 12, 17, tzinfo=AMSTERDAM)
    assert claim.late is late
    assert claim.reported_at == reported


@pytest.mark.django_db
def test_the_other_party_has_10_working_days_from_the_report_to_remedy(cx, now):
    client = company(cx)
    now.set(dt.datetime(2027, 4, 26, 15, tzinfo=AMSTERDAM))
    claim = _report(client, dt.datetime(2027, 4, 26, 11, tzinfo=AMSTERDAM))
    # reported Mon 26 Apr: remedy by Wed 12 May 17:00 (King's Day and Ascension skipped)
    assert claim.remedy_deadline == dt.datetime(2027, 5, 12, 17, tzinfo=AMSTERDAM)


# --- art. 13.6 on the Chinese calendar: a loss that arose just before the Spring Festival ----
@pytest.mark.django_db
@pytest.mark.parametrize(
    ("reported", "late"),
    [
        (dt.datetime(2027, 2, 24, 17, 30, tzinfo=SHANGHAI), False),
        (dt.datetime(2027, 2, 25, 9, 0, tzinfo=SHANGHAI), True),
    ],
)
def test_a_loss_before_the_spring_festival_must_be_reported_by_24_february(cm, now, reported, late):
    client = company(cm)
    now.set(reported)
    claim = _report(client, dt.datetime(2027, 2, 4, 10, tzinfo=SHANGHAI))
    assert claim.report_deadline == dt.datetime(2027, 2, 24, 17, 30, tzinfo=SHANGHAI)
    assert claim.late is late


@pytest.mark.django_db
def test_staff_may_date_a_report_received_by_letter_but_a_client_cannot_backdate(cm, now):
    client = company(cm)
    staff = BillingStaffFactory()
    received = dt.datetime(2027, 2, 10, 9, tzinfo=SHANGHAI)
    by_letter = _report(
        client, dt.datetime(2027, 2, 4, tzinfo=SHANGHAI), user=staff, reported_at=received
    )
    assert by_letter.reported_at == received and not by_letter.late
    own = _report(client, dt.datetime(2027, 2, 4, tzinfo=SHANGHAI), reported_at=received)
    assert own.reported_at == now.moment and own.late


@pytest.mark.django_db
def test_who_may_report_which_claim(cm, cx, now):
    client = company(cm)
    arose = now.moment - dt.timedelta(days=1)
    with pytest.raises(NotAllowed):
        _report(client, arose, user=ClientViewerFactory(client=client))
    with pytest.raises(NotAllowed):
        _report(client, arose, against=LossClaim.Against.CLIENT)
    with pytest.raises(NotAllowed):
        _report(client, arose, user=BillingStaffFactory(providers=[cx]))
    claim = _report(client, arose, user=BillingStaffFactory(providers=[cm]), against="client")
    assert claim.against == LossClaim.Against.CLIENT
    assert LossClaim.objects.count() == 1


@pytest.mark.django_db
def test_a_report_is_refused_with_the_field_and_the_article(cm, now):
    client = company(cm)
    with pytest.raises(ValidationFailed) as exc:
        services.loss_claim_report(
            client=client,
            against="provider",
            description=" ",
            arose_at=now.moment + dt.timedelta(days=2),
            acting_user=ClientAdminFactory(client=client),
            amount_claimed="abc",
        )
    assert set(exc.value.errors) == {"arose_at", "description", "amount_claimed"}
    assert exc.value.article == "13.6"
    with pytest.raises(ValidationFailed) as exc:
        _report(client, now.moment, exclusions=["profits", "weather"])
    assert "exclusions" in exc.value.errors
    assert not LossClaim.objects.exists()


# --- art. 13.4: the liability cap ------------------------------------------------------------
def test_months_of_the_agreement_so_far():
    assert months_begun(D(2027, 1, 15), D(2027, 1, 15)) == 1
    assert months_begun(D(2027, 1, 15), D(2027, 3, 14)) == 2
    assert months_begun(D(2027, 1, 15), D(2027, 3, 15)) == 3


@pytest.fixture
def invoiced(cm):
    """A CM client since 1 Jan 2027: 3,000 + 6,000 CNY invoiced, a 600 credit note, a draft and a
    void invoice that do not count; 1 EUR = 7.8 CNY."""
    client = company(cm)
    invoice(client, D(2027, 1, 31), "3000.00")
    invoice(client, D(2027, 2, 28), "6000.00")
    invoice(client, D(2027, 3, 5), "600.00", kind=Invoice.Kind.CREDIT_NOTE)
    invoice(client, D(2027, 3, 6), "99999.00", status=Invoice.Status.VOID)
    invoice(client, D(2027, 3, 6), "99999.00", status=Invoice.Status.DRAFT)
    rate("EUR", "CNY", "7.8")
    return client


@pytest.mark.django_db
def test_the_cap_is_the_average_monthly_invoice_without_earlier_payouts(invoiced):
    cap = liability_cap(client=invoiced, on=D(2027, 3, 10))
    assert cap.stated and cap.currency == "CNY"
    assert (cap.months, cap.invoiced, cap.average_monthly) == (
        3,
        Decimal("8400.00"),
        Decimal("2800.00"),
    )
    assert cap.ceiling == Decimal("390000.00")
    assert (cap.cap, cap.paid_out, cap.remaining) == (Decimal("2800.00"), 0, Decimal("2800.00"))


@pytest.mark.django_db
def test_earlier_payouts_reduce_the_cap_and_a_payout_over_it_is_refused(invoiced, now):
    staff = BillingStaffFactory()
    now.set(dt.datetime(2027, 3, 9, 10, tzinfo=SHANGHAI))
    first = _report(invoiced, dt.datetime(2027, 3, 8, 10, tzinfo=SHANGHAI))
    second = _report(invoiced, dt.datetime(2027, 3, 8, 11, tzinfo=SHANGHAI))
    services.claim_payout_record(
        claim=first,
        amount="1000.00",
        currency="CNY",
        paid_on=D(2027, 3, 10),
        idempotency_key="p1",
        acting_user=staff,
    )
    # an earlier payout in EUR counts at its day's rate: 100 EUR = 780 CNY
    services.claim_payout_record(
        claim=first,
        amount="100.00",
        currency="EUR",
        paid_on=D(2027, 3, 10),
        idempotency_key="p2",
        acting_user=staff,
    )
    cap = liability_cap(client=invoiced, on=D(2027, 3, 10))
    assert (cap.paid_out, cap.remaining) == (Decimal("1780.00"), Decimal("1020.00"))
    with pytest.raises(ApplicationError) as exc:
        services.claim_payout_record(
            claim=second,
            amount="1020.01",
            currency="CNY",
            paid_on=D(2027, 3, 10),
            idempotency_key="p3",
            acting_user=staff,
        )
    assert exc.value.code == "over_liability_cap" and exc.value.article == "13.4"
    assert ClaimPayout.objects.count() == 2
    services.claim_payout_record(
        claim=second,
        amount="1020.00",
        currency="CNY",
        paid_on=D(2027, 3, 10),
        idempotency_key="p3",
        acting_user=staff,
    )
    assert liability_cap(client=invoiced, on=D(2027, 3, 10)).remaining == 0


@pytest.mark.django_db
def test_the_cap_never_exceeds_50000_euro_converted_at_the_rate_in_force(cx):
    client = company(cx)
    invoice(client, D(2027, 1, 20), "900000.00")
    rate("EUR", "USD", "1.10")
    rate("EUR", "USD", "1.20", valid_from=D(2027, 2, 1))
    cap = liability_cap(client=client, on=D(2027, 1, 25))
    assert (cap.average_monthly, cap.ceiling, cap.cap) == (
        Decimal("900000.00"),
        Decimal("55000.00"),
        Decimal("55000.00"),
    )
    assert "1.1" in cap.rate
    assert liability_cap(client=client, on=D(2027, 2, 2)).cap == Decimal("60000.00")


@pytest.mark.django_db
def test_without_an_exchange_rate_the_cap_is_stated_as_unknown_never_zero(cm, now):
    client = company(cm)
    invoice(client, D(2027, 1, 31), "3000.00")
    cap = liability_cap(client=client, on=D(2027, 3, 10))
    assert not cap.stated and cap.remaining is None and cap.cap is None
    assert "No EUR→CNY exchange rate" in cap.reason
    now.set(dt.datetime(2027, 3, 9, 10, tzinfo=SHANGHAI))
    claim = _report(client, dt.datetime(2027, 3, 8, 10, tzinfo=SHANGHAI))
    with pytest.raises(ApplicationError) as exc:
        services.claim_payout_record(
            claim=claim,
            amount="10.00",
            currency="CNY",
            paid_on=D(2027, 3, 10),
            idempotency_key="k",
            acting_user=BillingStaffFactory(),
        )
    assert exc.value.code == "cap_unknown"
    assert not ClaimPayout.objects.exists()


# --- payouts: late reports, exclusions and exceptions, idempotency ---------------------------
@pytest.mark.django_db
def test_a_late_report_gives_no_right_to_compensation(invoiced, now):
    now.set(dt.datetime(2027, 3, 9, 10, tzinfo=SHANGHAI))
    claim = _report(invoiced, dt.datetime(2027, 2, 4, 10, tzinfo=SHANGHAI))
    assert claim.late
    with pytest.raises(ApplicationError) as exc:
        services.claim_payout_record(
            claim=claim,
            amount="10.00",
            currency="CNY",
            paid_on=D(2027, 3, 10),
            idempotency_key="k",
            acting_user=BillingStaffFactory(),
        )
    assert (exc.value.code, exc.value.article) == ("claim_reported_late", "13.6")
    assert not ClaimPayout.objects.exists()


@pytest.mark.django_db
def test_an_excluded_loss_is_refused_unless_an_exception_of_13_5_lifts_exclusion_and_cap(
    invoiced, now
):
    staff = BillingStaffFactory()
    now.set(dt.datetime(2027, 3, 9, 10, tzinfo=SHANGHAI))
    claim = _report(invoiced, dt.datetime(2027, 3, 8, 10, tzinfo=SHANGHAI), exclusions=["profits"])
    pay = dict(claim=claim, currency="CNY", paid_on=D(2027, 3, 10), acting_user=staff)
    with pytest.raises(ApplicationError) as exc:
        services.claim_payout_record(amount="10.00", idempotency_key="a", **pay)
    assert exc.value.code == "claim_excluded" and "(i) loss of profits" in exc.value.message
    claim = services.loss_claim_assess(
        claim=claim, exclusions=["profits"], exceptions=["gross_negligence"], acting_user=staff
    )
    # gross negligence: neither 13.3 nor the 13.4 cap applies; 5,000 > the 2,800 cap
    payout = services.claim_payout_record(amount="5000.00", idempotency_key="a", **pay)
    assert payout.amount == Decimal("5000.00")
    assert claim.history.count() == 2


@pytest.mark.django_db
def test_a_payout_is_recorded_once_per_idempotency_key(invoiced, now):
    staff = BillingStaffFactory()
    now.set(dt.datetime(2027, 3, 9, 10, tzinfo=SHANGHAI))
    claim = _report(invoiced, dt.datetime(2027, 3, 8, 10, tzinfo=SHANGHAI))
    pay = dict(claim=claim, currency="CNY", paid_on=D(2027, 3, 10), acting_user=staff)
    first = services.claim_payout_record(amount="2000.00", idempotency_key="same", **pay)
    # the retry, even with the cap now mostly used, answers the first payout
    again = services.claim_payout_record(amount="2000.00", idempotency_key="same", **pay)
    assert again.pk == first.pk and ClaimPayout.objects.count() == 1
    with pytest.raises(Conflict):
        services.claim_payout_record(amount="1.00", idempotency_key="same", **pay)


@pytest.mark.django_db
def test_a_claim_against_the_client_is_not_capped_and_the_client_remedies_it(cm, now):
    client = company(cm)
    staff = BillingStaffFactory()
    claim = _report(client, now.moment - dt.timedelta(hours=2), user=staff, against="client")
    payout = services.claim_payout_record(
        claim=claim,
        amount="100000.00",
        currency="CNY",
        paid_on=D(2027, 6, 1),
        idempotency_key="c",
        acting_user=staff,
    )
    assert payout.amount == Decimal("100000.00")
    from accounts.models import User

    admin = User.objects.get(client=client, role=User.Role.CLIENT_ADMIN)
    claim = services.loss_claim_remedy(
        claim=claim, note="Paid the operator fine", acting_user=admin
    )
    assert claim.status == LossClaim.Status.REMEDIED
    with pytest.raises(Conflict):
        services.loss_claim_remedy(claim=claim, note="again", acting_user=admin)


@pytest.mark.django_db
def test_staff_of_the_other_provider_may_not_pay_assess_or_remedy(invoiced, cx, now):
    now.set(dt.datetime(2027, 3, 9, 10, tzinfo=SHANGHAI))
    claim = _report(invoiced, dt.datetime(2027, 3, 8, 10, tzinfo=SHANGHAI))
    outsider = BillingStaffFactory(providers=[cx])
    with pytest.raises(NotAllowed):
        services.claim_payout_record(
            claim=claim,
            amount="10.00",
            currency="CNY",
            paid_on=D(2027, 3, 10),
            idempotency_key="x",
            acting_user=outsider,
        )
    with pytest.raises(NotAllowed):
        services.loss_claim_assess(
            claim=claim, exclusions=[], exceptions=["intent"], acting_user=outsider
        )
    with pytest.raises(NotAllowed):
        services.loss_claim_remedy(claim=claim, note="done", acting_user=outsider)
    claim.refresh_from_db()
    assert claim.exceptions == [] and claim.status == LossClaim.Status.OPEN
    assert not ClaimPayout.objects.exists()


@pytest.mark.django_db
def test_the_other_party_is_told_of_the_claim_in_writing(cm, cx, now):
    from accounts.models import Notification

    client = company(cm)
    BillingStaffFactory(providers=[cm], email="cm-billing@example.test")
    BillingStaffFactory(providers=[cx], email="cx-billing@example.test")
    now.set(dt.datetime(2027, 3, 9, 10, tzinfo=SHANGHAI))
    claim = _report(client, dt.datetime(2027, 2, 4, 10, tzinfo=SHANGHAI))
    row = Notification.objects.get(key=f"loss-claim:{claim.pk}")
    assert "cm-billing@example.test" in row.recipients
    assert "cx-billing@example.test" not in row.recipients
    assert "reported late" in row.body
