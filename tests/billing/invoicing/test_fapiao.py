"""Fapiao (art. 4.8): written confirmation opens a request due 7 days later; number formats of
fully digital and paper fapiao, the buyer's USCC, special-fapiao details, consistent amounts;
deadline flags; profiles without fapiao never offer it."""

import datetime as dt

import pytest

from accounts.kernel.errors import ApplicationError, Conflict, NotAllowed, ValidationFailed
from accounts.models import Notification
from billing.invoicing.services import fapiao as fapiao_services
from billing.invoicing.services import invoices as invoice_services
from billing.models import FapiaoRequest
from tests.accounts.factories import ClientViewerFactory, make_uscc
from tests.billing.invoicing.factories import (
    D,
    Dec,
    admin_of,
    company,
    issued,
    line,
)

pytestmark = pytest.mark.django_db

BUYER_ID = make_uscc(424242)


@pytest.fixture
def request_(client_company, client_admin, billing_staff, clock):
    clock.set(dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC))
    invoice = issued(client_company, billing_staff, [line("1000.00")], invoice_date=D(2026, 3, 2))
    return fapiao_services.fapiao_confirm(invoice=invoice, acting_user=client_admin)


def valid(**overrides):
    data = {
        "kind": "digital_general",
        "number": "26442000000012345678",
        "code": "",
        "issue_date": D(2026, 3, 2),
        "buyer_name": "深圳示例科技有限公司",
        "buyer_tax_id": BUYER_ID,
        "amount_excl_tax": "1000.00",
        "tax_amount": "60.00",
        "total": "1060.00",
    }
    data.update(overrides)
    return data


SPECIAL_BUYER = {
    "buyer_address": "深圳市福田区深南大道18号",
    "buyer_phone": "0755-12345678",
    "buyer_bank": "中国银行深圳分行",
    "buyer_account": "7410 0000 1234 5678",
}


def test_confirming_an_invoice_opens_a_request_due_7_days_later(request_, client_admin):
    assert request_.status == FapiaoRequest.Status.REQUESTED
    assert request_.confirmed_by == client_admin
    assert request_.due_at == dt.datetime(2026, 3, 9, 2, 0, tzinfo=dt.UTC)
    assert Notification.objects.filter(key=f"fapiao-requested:{request_.pk}").exists()


def test_an_invoice_is_confirmed_once_and_only_by_its_client_admin(
    request_, client_company, billing_staff, other_admin
):
    with pytest.raises(Conflict):
        fapiao_services.fapiao_confirm(
            invoice=request_.invoice, acting_user=admin_of(client_company)
        )
    invoice = issued(client_company, billing_staff, invoice_date=D(2026, 3, 2))
    for user in (ClientViewerFactory(client=client_company), other_admin, billing_staff):
        with pytest.raises(NotAllowed):
            fapiao_services.fapiao_confirm(invoice=invoice, acting_user=user)


def test_a_profile_without_fapiao_refuses_naming_the_rule(cx, billing_staff, clock):
    client = company(cx)
    invoice = issued(client, billing_staff, invoice_date=D(2026, 3, 2), clock=clock)
    with pytest.raises(ApplicationError) as exc:
        fapiao_services.fapiao_confirm(invoice=invoice, acting_user=admin_of(client))
    assert exc.value.article == "4.8" and "does not issue fapiao" in exc.value.message
    assert not FapiaoRequest.objects.exists()


def test_a_draft_is_not_confirmed(client_company, client_admin, billing_staff):
    draft = invoice_services.invoice_draft(
        client=client_company, lines=[line()], acting_user=billing_staff
    )
    with pytest.raises(ApplicationError):
        fapiao_services.fapiao_confirm(invoice=draft, acting_user=client_admin)


@pytest.mark.parametrize(
    "data",
    [
        valid(),
        valid(kind="digital_special", **SPECIAL_BUYER),
        valid(kind="paper_general", code="4403261130", number="01234567"),
        valid(kind="paper_special", code="044032611301", number="01234567", **SPECIAL_BUYER),
        valid(tax_rate="6", tax_amount="60.00"),
    ],
)
def test_a_well_formed_fapiao_is_recorded(request_, billing_staff, data):
    issued_request = fapiao_services.fapiao_issue(
        request=request_, acting_user=billing_staff, **data
    )
    assert issued_request.status == FapiaoRequest.Status.ISSUED
    assert issued_request.tax_rate == Dec(
        "6.00"
    )  # the profile's rate for value-added telecom services
    assert issued_request.total == Dec("1060.00")


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (valid(number="2644200000001234567"), "fapiao_number"),  # 19 digits
        (valid(number="264420000000123456789"), "fapiao_number"),  # 21 digits
        (valid(number="2644200000001234567X"), "fapiao_number"),
        (valid(code="4403261130"), "fapiao_code"),  # a digital fapiao has no code
        (
            valid(kind="paper_general", code="440326113", number="01234567"),
            "fapiao_code",
        ),  # 9 digits
        (
            valid(kind="paper_general", code="44032611301", number="01234567"),
            "fapiao_code",
        ),  # 11 digits
        (
            valid(kind="paper_general", code="4403261130", number="0123456"),
            "fapiao_number",
        ),  # 7 digits
        (valid(kind="paper_general", code="4403261130", number=""), "fapiao_number"),
        (valid(buyer_tax_id="91440300000000000A"), "buyer_tax_id"),
        (valid(buyer_tax_id="123"), "buyer_tax_id"),
        (valid(kind="digital_special"), "buyer_address"),
        (
            valid(
                kind="paper_special",
                code="4403261130",
                number="01234567",
                **{**SPECIAL_BUYER, "buyer_account": ""},
            ),
            "buyer_account",
        ),
        (valid(tax_amount="59.99"), "tax_amount"),
        (valid(total="1060.01"), "total"),
        (valid(amount_excl_tax="900.00", tax_amount="54.00", total="954.00"), "amount_excl_tax"),
        (valid(issue_date=D(2026, 3, 3)), "issue_date"),  # tomorrow in Shanghai
    ],
)
def test_a_malformed_fapiao_is_refused_naming_the_field(request_, billing_staff, data, field):
    with pytest.raises(ValidationFailed) as exc:
        fapiao_services.fapiao_issue(request=request_, acting_user=billing_staff, **data)
    assert field in exc.value.errors
    assert exc.value.article == "4.8"
    request_.refresh_from_db()
    assert request_.status == FapiaoRequest.Status.REQUESTED and request_.fapiao_number == ""


def test_requests_past_their_deadline_are_flagged_once(
    request_, client_company, client_admin, billing_staff, clock
):
    done = fapiao_services.fapiao_confirm(
        invoice=issued(
            client_company, billing_staff, [line("1000.00")], invoice_date=D(2026, 3, 2)
        ),
        acting_user=client_admin,
    )
    fapiao_services.fapiao_issue(request=done, acting_user=billing_staff, **valid())

    assert fapiao_services.fapiao_overdue_flag(now=request_.due_at) == {"flagged": 0}
    late = request_.due_at + dt.timedelta(seconds=1)
    assert fapiao_services.fapiao_overdue_flag(now=late) == {"flagged": 1}
    assert fapiao_services.fapiao_overdue_flag(now=late + dt.timedelta(days=1)) == {"flagged": 0}
    request_.refresh_from_db()
    assert request_.overdue_flagged_at == late
    assert Notification.objects.filter(key__startswith="fapiao-overdue:").count() == 1
