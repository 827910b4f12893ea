"""The billing pages (issue 3, §6): the client's wallet and limit, the staff's actions and queues.

Every page renders for the right role, refusals are shown on their field, another client's
ids answer 404, the forms go through the services, and the CSV export holds the ledger.
"""

import csv
import datetime as dt
import io
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts.models import Agreement, Client, Suspension
from billing.models import (
    Chargeback,
    CreditLot,
    LedgerEntry,
    LimitChange,
    LimitIncreaseRequest,
    MessageAccount,
    MessagePayment,
    RestitutionRequest,
)
from billing.prepaid.services import limits
from billing.prepaid.services.wallets import wallet_for_client
from tests.accounts.factories import ClientAdminFactory, ClientViewerFactory
from tests.billing.factories import check, prepaid_client, top_up

pytestmark = pytest.mark.django_db

WALLET = reverse("billing:wallet")
QUEUE = reverse("billing:limit_requests")
RESTITUTIONS = reverse("billing:restitutions")


def staff_wallet(client):
    return reverse("billing:client_wallet", args=[client.pk])


@pytest.fixture
def prepaid_viewer(prepaid):
    return ClientViewerFactory(client=prepaid)


@pytest.fixture
def lots(wallet):
    """One top-up received two days ago (usable) and one received just now (pending)."""
    now = timezone.now()
    usable = top_up(wallet, "100.00", now - dt.timedelta(days=2), reference="PAY-OLD")
    pending = top_up(wallet, "50.00", now - dt.timedelta(seconds=1), reference="PAY-NEW")
    return usable, pending


def limit_request_for(client, admin, requested=80_000):
    return limits.limit_increase_request(
        client=client, requested_limit=requested, reason="Campaign season", acting_user=admin
    )


def top_up_data(key="6f1d7c1e-9d4f-4a53-8d67-2a1b1e0c0a01", **overrides):
    data = {
        "top_up-key": key,
        "top_up-amount": "250.00",
        "top_up-received_at": "2026-01-10T23:59",
        "top_up-reference": "BANK-7781",
    }
    data.update(overrides)
    return data


# --- The client's wallet page ---------------------------------------------------------------
def test_anonymous_visitor_is_sent_to_sign_in(client):
    response = client.get(WALLET)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_the_client_sees_balance_usable_now_pending_and_its_lots(as_user, prepaid_admin, lots):
    # given: a top-up received two days ago and one received today
    response = as_user(prepaid_admin).get(WALLET)

    # then: the older is usable, today's is pending until tomorrow (art. 29.3)
    assert response.status_code == 200
    summary = response.context["summary"]
    assert summary["balance"] == Decimal("150.00")
    assert summary["usable_now"] == Decimal("100.00")
    assert summary["pending"] == Decimal("50.00")
    html = response.content.decode()
    assert 'data-testid="usable-now">CNY 100.00<' in html
    assert 'data-testid="pending">CNY 50.00<' in html
    assert "PAY-OLD" in html and "PAY-NEW" in html
    assert html.count('data-testid="lot-row"') == 2
    usable, pending = lots
    assert f"{pending.expires_on:%-d %b %Y}" in html
    assert "Pending" in html and "Usable" in html


def test_a_viewer_sees_the_wallet_but_no_limit_form(as_user, prepaid_viewer, lots):
    response = as_user(prepaid_viewer).get(WALLET)
    assert response.status_code == 200
    assert response.context["limit_form"] is None
    assert b"Request a higher limit" not in response.content


def test_the_limit_gauge_shows_unpaid_messages_against_the_limit(as_user, client_admin):
    account = limits.message_account_for_client(client=client_admin.client)
    MessageAccount.objects.filter(pk=account.pk).update(limit=1000, unpaid_count=800)

    response = as_user(client_admin).get(WALLET)

    assert response.context["gauge"] == {"width": 80, "tone": "warn", "notice_pct": 75}
    html = response.content.decode()
    assert 'role="meter"' in html
    assert 'aria-valuenow="800"' in html and 'aria-valuemax="1000"' in html
    assert "width:80%" in html


def test_a_postpaid_client_without_a_wallet_sees_its_limit(as_user, client_admin):
    response = as_user(client_admin).get(WALLET)
    assert response.status_code == 200
    assert response.context["limit"]["limit"] == 50_000
    assert b'data-testid="lots"' not in response.content


def test_staff_have_no_wallet_of_their_own(as_user, billing_staff):
    response = as_user(billing_staff).get(WALLET)
    assert response.status_code == 302
    assert response.url == reverse("client_list")


def test_the_ledger_filters_by_kind_and_local_date_range(as_user, prepaid_admin, wallet):
    shanghai = ZoneInfo("Asia/Shanghai")
    top_up(wallet, "10.00", dt.datetime(2026, 1, 5, 12, tzinfo=shanghai), reference="JAN5")
    top_up(wallet, "20.00", dt.datetime(2026, 1, 6, 23, 59, tzinfo=shanghai), reference="JAN6")
    top_up(wallet, "30.00", dt.datetime(2026, 1, 7, 0, 0, tzinfo=shanghai), reference="JAN7")
    c = as_user(prepaid_admin)

    response = c.get(WALLET, {"kind": "top_up", "date_from": "2026-01-06", "date_to": "2026-01-06"})

    refs = [e.lot.reference for e in response.context["ledger"]]
    assert refs == ["JAN6"]
    assert response.context["csv_url"] == (
        reverse("billing:ledger_csv") + "?kind=top_up&date_from=2026-01-06&date_to=2026-01-06"
    )
    assert len(c.get(WALLET, {"kind": "debit"}).context["ledger"]) == 0


def test_a_bad_filter_is_shown_on_its_field_and_the_others_still_apply(
    as_user, prepaid_admin, lots
):
    response = as_user(prepaid_admin).get(WALLET, {"kind": "top_up", "date_from": "not-a-date"})
    assert response.status_code == 200
    assert "date_from" in response.context["filter_form"].errors
    assert len(response.context["ledger"]) == 2


def test_the_ledger_paginates(as_user, prepaid_admin, wallet):
    start = timezone.now() - dt.timedelta(days=40)
    for n in range(30):
        top_up(wallet, "1.00", start + dt.timedelta(hours=n))
    c = as_user(prepaid_admin)

    first = c.get(WALLET)
    second = c.get(WALLET, {"page": first.context["ledger"].next_cursor})

    assert len(first.context["ledger"]) == 25
    assert len(second.context["ledger"]) == 5
    assert not second.context["ledger"].has_next()
    assert {e.pk for e in first.context["ledger"]}.isdisjoint(
        e.pk for e in second.context["ledger"]
    )


def test_the_csv_export_holds_the_filtered_ledger(as_user, prepaid_admin, wallet):
    shanghai = ZoneInfo("Asia/Shanghai")
    top_up(wallet, "10.00", dt.datetime(2026, 1, 5, 12, tzinfo=shanghai), reference="=HYPERLINK")
    top_up(wallet, "20.00", dt.datetime(2026, 2, 5, 12, tzinfo=shanghai), reference="FEB")

    response = as_user(prepaid_admin).get(reverse("billing:ledger_csv"), {"date_to": "2026-01-31"})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith(
        f'attachment; filename="ledger-{wallet.client_id}-'
    )
    assert response.streaming
    rows = list(csv.reader(io.StringIO(response.getvalue().decode())))
    assert rows[0] == [
        "created_at",
        "kind",
        "amount",
        "currency",
        "balance_after",
        "lot",
        "cause",
        "idempotency_key",
    ]
    assert len(rows) == 2
    assert rows[1][:5] == ["2026-01-05T12:00:00+08:00", "top_up", "10.00", "CNY", "10.00"]
    # the lot's payment reference is free text: a formula is neutralised (issue 10, section 5)
    assert rows[1][5] == "'=HYPERLINK"


def test_staff_export_another_clients_ledger_and_clients_cannot(
    as_user, billing_staff, prepaid, other_admin, lots
):
    url = reverse("billing:client_ledger_csv", args=[prepaid.pk])
    assert as_user(billing_staff).get(url).status_code == 200
    assert as_user(other_admin).get(url).status_code == 404


# --- Tenant isolation -----------------------------------------------------------------------
def test_another_clients_wallet_answers_404(as_user, other_admin, prepaid, lots):
    assert as_user(other_admin).get(staff_wallet(prepaid)).status_code == 404


def test_a_client_user_on_its_own_staff_url_is_sent_to_its_wallet(as_user, prepaid_admin):
    response = as_user(prepaid_admin).get(staff_wallet(prepaid_admin.client))
    assert response.status_code == 302
    assert response.url == WALLET


def test_a_client_cannot_post_staff_actions_on_another_client(as_user, other_admin, prepaid, lots):
    c = as_user(other_admin)
    usable, _ = lots
    assert c.post(reverse("billing:top_up", args=[prepaid.pk]), top_up_data()).status_code == 404
    assert (
        c.post(
            reverse("billing:chargeback", args=[prepaid.pk, usable.pk]),
            {"chargeback-reference": "CB", "chargeback-confirm": "on"},
        ).status_code
        == 404
    )
    assert CreditLot.objects.filter(wallet__client=prepaid).count() == 2


def test_a_client_user_may_not_post_staff_actions_on_its_own_client(as_user, prepaid_admin):
    url = reverse("billing:top_up", args=[prepaid_admin.client_id])
    assert as_user(prepaid_admin).post(url, top_up_data()).status_code == 403
    assert not CreditLot.objects.exists()


def test_a_chargeback_on_another_clients_lot_answers_404(as_user, billing_staff, prepaid, cm):
    other = prepaid_client(cm)
    foreign = top_up(wallet_for_client(client=other), "5.00", timezone.now())
    url = reverse("billing:chargeback", args=[prepaid.pk, foreign.pk])
    response = as_user(billing_staff).post(
        url, {"chargeback-reference": "CB-1", "chargeback-confirm": "on"}
    )
    assert response.status_code == 404
    assert not Chargeback.objects.exists()


def test_another_clients_limit_request_answers_404_to_a_client(as_user, client_admin, other_admin):
    request = limit_request_for(client_admin.client, client_admin)
    url = reverse("billing:limit_request_decide", args=[request.pk, "approve"])
    assert as_user(other_admin).post(url).status_code == 404
    assert as_user(client_admin).post(url).status_code == 403
    request.refresh_from_db()
    assert request.status == LimitIncreaseRequest.Status.PENDING


# --- Limit increase requests (art. 26.2) ----------------------------------------------------
def test_a_client_admin_requests_a_higher_limit_through_the_service(
    as_user, client_admin, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = as_user(client_admin).post(
            reverse("billing:limit_request"),
            {"requested_limit": "80000", "reason": "Campaign season"},
        )

    assert response.status_code == 302
    request = LimitIncreaseRequest.objects.get(client=client_admin.client)
    assert (request.current_limit, request.requested_limit) == (50_000, 80_000)
    assert request.requested_by == client_admin
    assert any("higher message limit" in m.subject for m in mail.outbox)
    page = as_user(client_admin).get(WALLET)
    assert page.context["pending_limit_request"] == request
    assert page.context["limit_form"] is None
    assert b'data-testid="limit-request-pending"' in page.content


def test_a_request_not_above_the_limit_is_refused_on_its_field(as_user, client_admin):
    response = as_user(client_admin).post(
        reverse("billing:limit_request"), {"requested_limit": "50000", "reason": "More"}
    )

    assert response.status_code == 400
    errors = response.context["limit_form"].errors["requested_limit"]
    assert "Ask for more than the current limit of 50,000 messages (art. 26.2)." in errors
    assert not LimitIncreaseRequest.objects.exists()


def test_a_viewer_may_not_request_a_higher_limit(as_user, client_viewer):
    response = as_user(client_viewer).post(
        reverse("billing:limit_request"), {"requested_limit": "80000", "reason": "More"}
    )
    assert response.status_code == 403
    assert not LimitIncreaseRequest.objects.exists()


def test_the_queue_is_for_billing_staff(as_user, billing_staff, compliance_officer, client_admin):
    limit_request_for(client_admin.client, client_admin)
    response = as_user(billing_staff).get(QUEUE)
    assert response.status_code == 200
    assert len(response.context["items"]) == 1
    assert b"Campaign season" in response.content
    assert as_user(compliance_officer).get(QUEUE).status_code == 403
    assert as_user(client_admin).get(QUEUE).status_code == 403


def test_the_queue_filters_by_status_and_client(as_user, billing_staff, client_admin, other_admin):
    mine = limit_request_for(client_admin.client, client_admin)
    theirs = limit_request_for(other_admin.client, other_admin)
    limits.limit_increase_refuse(request=theirs, acting_user=billing_staff, note="No")
    c = as_user(billing_staff)

    assert [r.pk for r in c.get(QUEUE).context["items"]] == [mine.pk]
    assert [r.pk for r in c.get(QUEUE, {"status": "refused"}).context["items"]] == [theirs.pk]
    assert [
        r.pk for r in c.get(QUEUE, {"status": "", "client": other_admin.client_id}).context["items"]
    ] == [theirs.pk]


def test_staff_approve_a_request_with_a_note(as_user, billing_staff, client_admin):
    request = limit_request_for(client_admin.client, client_admin)
    url = reverse("billing:limit_request_decide", args=[request.pk, "approve"])

    response = as_user(billing_staff).post(
        url, {"approve-note": "Good payment record", "next": f"{QUEUE}?status=pending"}
    )

    assert response.status_code == 302
    assert response.url == f"{QUEUE}?status=pending"
    request.refresh_from_db()
    assert request.status == LimitIncreaseRequest.Status.APPROVED
    assert request.decided_by == billing_staff
    assert request.decision_note == "Good payment record"
    assert MessageAccount.objects.get(client=client_admin.client).limit == 80_000
    page = as_user(client_admin).get(WALLET)
    assert page.context["limit"]["limit"] == 80_000


def test_a_refusal_needs_a_reason_shown_on_the_row(as_user, billing_staff, client_admin):
    request = limit_request_for(client_admin.client, client_admin)
    url = reverse("billing:limit_request_decide", args=[request.pk, "refuse"])

    response = as_user(billing_staff).post(url, {"refuse-note": ""})

    assert response.status_code == 400
    row = next(r for r in response.context["items"] if r.pk == request.pk)
    assert row.refuse_form.errors["note"]
    request.refresh_from_db()
    assert request.status == LimitIncreaseRequest.Status.PENDING


def test_staff_refuse_a_request_with_a_reason(as_user, billing_staff, client_admin):
    request = limit_request_for(client_admin.client, client_admin)
    url = reverse("billing:limit_request_decide", args=[request.pk, "refuse"])

    response = as_user(billing_staff).post(url, {"refuse-note": "Unpaid invoices"})

    assert response.status_code == 302
    request.refresh_from_db()
    assert request.status == LimitIncreaseRequest.Status.REFUSED
    assert request.decision_note == "Unpaid invoices"
    assert MessageAccount.objects.get(client=client_admin.client).limit == 50_000


def test_deciding_twice_shows_the_services_refusal(as_user, billing_staff, client_admin):
    request = limit_request_for(client_admin.client, client_admin)
    url = reverse("billing:limit_request_decide", args=[request.pk, "approve"])
    c = as_user(billing_staff)
    c.post(url, {"approve-note": ""})

    response = c.get(QUEUE, {"status": ""})
    assert response.status_code == 200
    again = c.post(url, {"approve-note": ""})

    assert again.status_code == 400
    assert "This request was already approved." in again.content.decode()
    assert LimitChange.objects.filter(client=client_admin.client).count() == 1


# --- Staff actions on a client --------------------------------------------------------------
def test_staff_see_any_clients_wallet_with_their_actions(as_user, billing_staff, prepaid, lots):
    response = as_user(billing_staff).get(staff_wallet(prepaid))
    assert response.status_code == 200
    assert response.context["staff_view"] is True
    assert response.context["top_up_form"] is not None
    assert b'data-testid="staff-actions"' in response.content
    assert b"Record chargeback" in response.content


def test_a_compliance_officer_sees_the_wallet_without_billing_actions(
    as_user, compliance_officer, prepaid, lots
):
    response = as_user(compliance_officer).get(staff_wallet(prepaid))
    assert response.status_code == 200
    assert b'data-testid="staff-actions"' not in response.content
    url = reverse("billing:top_up", args=[prepaid.pk])
    assert as_user(compliance_officer).post(url, top_up_data()).status_code == 403


def test_the_staff_client_detail_links_to_the_wallet(as_user, billing_staff, prepaid):
    response = as_user(billing_staff).get(reverse("client_detail", args=[prepaid.pk]))
    assert staff_wallet(prepaid).encode() in response.content


def test_a_top_up_is_recorded_in_the_providers_local_time(as_user, billing_staff, prepaid):
    response = as_user(billing_staff).post(
        reverse("billing:top_up", args=[prepaid.pk]), top_up_data()
    )

    assert response.status_code == 302
    lot = CreditLot.objects.get(wallet__client=prepaid)
    shanghai = ZoneInfo("Asia/Shanghai")
    # 23:59 in Shanghai: usable from 00:00 the next day there (art. 29.3)
    assert lot.received_at == dt.datetime(2026, 1, 10, 23, 59, tzinfo=shanghai)
    assert lot.usable_from == dt.datetime(2026, 1, 11, tzinfo=shanghai)
    assert lot.expires_on == dt.date(2027, 1, 10)
    assert lot.amount == Decimal("250.00") and lot.reference == "BANK-7781"
    entry = LedgerEntry.objects.get(lot=lot)
    assert entry.created_by == billing_staff
    check(lot.wallet)


def test_a_double_submitted_top_up_charges_once(as_user, billing_staff, prepaid):
    c = as_user(billing_staff)
    url = reverse("billing:top_up", args=[prepaid.pk])

    first = c.post(url, top_up_data())
    second = c.post(url, top_up_data())

    assert first.status_code == second.status_code == 302
    assert CreditLot.objects.filter(wallet__client=prepaid).count() == 1
    assert LedgerEntry.objects.filter(wallet__client=prepaid).count() == 1
    wallet = wallet_for_client(client=prepaid)
    assert wallet.balance == Decimal("250.00")


def test_each_rendered_top_up_form_carries_a_fresh_key(as_user, billing_staff, prepaid):
    c = as_user(billing_staff)
    keys = {c.get(staff_wallet(prepaid)).context["top_up_form"].initial["key"] for _ in range(2)}
    assert len(keys) == 2


def test_the_top_up_form_starts_at_the_providers_local_time(as_user, billing_staff, prepaid):
    response = as_user(billing_staff).get(staff_wallet(prepaid))

    html = response.content.decode()
    shown = html.split('name="top_up-received_at"')[0].rsplit("<input", 1)[1]
    shown += html.split('name="top_up-received_at"')[1].split(">", 1)[0]
    value = shown.split('value="')[1].split('"')[0]
    local = dt.datetime.strptime(value, "%Y-%m-%dT%H:%M").replace(tzinfo=ZoneInfo("Asia/Shanghai"))
    assert abs(local - timezone.now()) < dt.timedelta(minutes=2)


def test_a_reused_key_with_another_amount_is_refused_above_the_form(
    as_user, billing_staff, prepaid
):
    c = as_user(billing_staff)
    url = reverse("billing:top_up", args=[prepaid.pk])
    c.post(url, top_up_data())

    response = c.post(url, top_up_data(**{"top_up-amount": "300.00"}))

    assert response.status_code == 400
    form = response.context["top_up_form"]
    assert (
        "This idempotency key was already used for a different movement." in form.non_field_errors()
    )
    assert response.context["open_action"] == "top_up_form"
    assert CreditLot.objects.filter(wallet__client=prepaid).count() == 1


@pytest.mark.parametrize(
    "field, value",
    [("top_up-amount", "-5"), ("top_up-amount", "1.001"), ("top_up-received_at", "yesterday")],
)
def test_a_malformed_top_up_is_shown_on_its_field(as_user, billing_staff, prepaid, field, value):
    response = as_user(billing_staff).post(
        reverse("billing:top_up", args=[prepaid.pk]), top_up_data(**{field: value})
    )
    assert response.status_code == 400
    assert response.context["top_up_form"].errors[field.removeprefix("top_up-")]
    assert not CreditLot.objects.exists()


def test_a_chargeback_reverses_the_lot_and_closes_the_account(
    as_user, billing_staff, prepaid, lots
):
    usable, _ = lots
    url = reverse("billing:chargeback", args=[prepaid.pk, usable.pk])

    response = as_user(billing_staff).post(
        url,
        {
            "chargeback-reference": "CB-55",
            "chargeback-confirm": "on",
            "chargeback-reason": "Card dispute",
        },
    )

    assert response.status_code == 302
    usable.refresh_from_db()
    assert usable.status == CreditLot.Status.REVERSED and usable.remaining == 0
    assert Chargeback.objects.get(lot=usable).reference == "CB-55"
    assert Suspension.objects.filter(
        client=prepaid, cause=Suspension.Cause.CHARGEBACK, ended_at=None
    ).exists()
    check(usable.wallet)
    page = as_user(billing_staff).get(staff_wallet(prepaid))
    assert page.context["closed_after_chargeback"] is True
    assert page.context["reopen_form"] is not None


def test_a_second_chargeback_on_the_same_lot_is_refused_on_the_row(
    as_user, billing_staff, prepaid, lots
):
    usable, _ = lots
    url = reverse("billing:chargeback", args=[prepaid.pk, usable.pk])
    c = as_user(billing_staff)
    c.post(url, {"chargeback-reference": "CB-55", "chargeback-confirm": "on"})

    response = c.post(url, {"chargeback-reference": "CB-56", "chargeback-confirm": "on"})

    assert response.status_code == 400
    row = next(r for r in response.context["lots"] if r["id"] == usable.pk)
    assert "This top-up has already been charged back." in row["chargeback_form"].non_field_errors()
    assert Chargeback.objects.count() == 1


def test_staff_reopen_an_account_closed_after_a_chargeback(as_user, billing_staff, prepaid, lots):
    usable, _ = lots
    c = as_user(billing_staff)
    c.post(
        reverse("billing:chargeback", args=[prepaid.pk, usable.pk]),
        {"chargeback-reference": "CB", "chargeback-confirm": "on"},
    )

    response = c.post(reverse("billing:reopen", args=[prepaid.pk]), {"reopen-reason": "Paid again"})

    assert response.status_code == 302
    assert not Suspension.objects.filter(client=prepaid, ended_at=None).exists()


def test_reopening_an_open_account_is_refused(as_user, billing_staff, prepaid):
    response = as_user(billing_staff).post(
        reverse("billing:reopen", args=[prepaid.pk]), {"reopen-reason": "Why not"}
    )
    assert response.status_code == 400
    assert "The client is not suspended." in response.context["reopen_form"].non_field_errors()


def test_staff_change_a_limit_at_their_initiative(
    as_user, billing_staff, client_admin, django_capture_on_commit_callbacks
):
    company = client_admin.client
    with django_capture_on_commit_callbacks(execute=True):
        response = as_user(billing_staff).post(
            reverse("billing:limit_change", args=[company.pk]),
            {"limit_change-new_limit": "20000", "limit_change-reason": "Risk review"},
        )

    assert response.status_code == 302
    assert MessageAccount.objects.get(client=company).limit == 20_000
    change = LimitChange.objects.get(client=company)
    assert change.source == LimitChange.Source.STAFF and change.changed_by == billing_staff
    assert any("message limit has changed" in m.subject for m in mail.outbox)


def test_a_limit_change_to_the_same_limit_is_refused_on_its_field(
    as_user, billing_staff, client_admin
):
    response = as_user(billing_staff).post(
        reverse("billing:limit_change", args=[client_admin.client_id]),
        {"limit_change-new_limit": "50000", "limit_change-reason": "Same"},
    )
    assert response.status_code == 400
    assert response.context["limit_change_form"].errors["new_limit"] == [
        "The limit is already 50,000 messages."
    ]


def test_staff_record_messages_paid_once_per_form(as_user, billing_staff, client_admin):
    company = client_admin.client
    account = limits.message_account_for_client(client=company)
    MessageAccount.objects.filter(pk=account.pk).update(unpaid_count=100)
    c = as_user(billing_staff)
    url = reverse("billing:messages_paid", args=[company.pk])
    data = {
        "messages_paid-key": "1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed",
        "messages_paid-messages": "40",
        "messages_paid-reference": "INV-2026-0001",
    }

    assert c.post(url, data).status_code == 302
    assert c.post(url, data).status_code == 302

    assert MessagePayment.objects.filter(client=company).count() == 1
    assert MessageAccount.objects.get(client=company).unpaid_count == 60


def test_paying_more_messages_than_are_unpaid_is_refused_on_its_field(
    as_user, billing_staff, client_admin
):
    response = as_user(billing_staff).post(
        reverse("billing:messages_paid", args=[client_admin.client_id]),
        {
            "messages_paid-key": "1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bee",
            "messages_paid-messages": "5",
        },
    )
    assert response.status_code == 400
    assert "cannot be paid" in response.context["messages_paid_form"].errors["messages"][0]


# --- Restitution (art. 29.6) ----------------------------------------------------------------
@pytest.fixture
def terminating(prepaid):
    Agreement.objects.filter(client=prepaid).update(
        status=Agreement.Status.NOTICE_GIVEN, notice_given_at=timezone.now()
    )
    return prepaid


def test_a_terminating_prepaid_admin_is_offered_restitution(as_user, prepaid_admin, terminating):
    response = as_user(prepaid_admin).get(WALLET)
    assert response.context["restitution_form"] is not None
    assert b"Request restitution" in response.content


def test_a_running_agreement_offers_no_restitution(as_user, prepaid_admin, lots):
    assert as_user(prepaid_admin).get(WALLET).context["restitution_form"] is None


def test_a_restitution_request_goes_through_the_service(as_user, prepaid_admin, terminating, lots):
    response = as_user(prepaid_admin).post(
        reverse("billing:restitution_request"), {"reason": "We are closing the account."}
    )

    assert response.status_code == 302
    request = RestitutionRequest.objects.get(client=terminating)
    assert request.status == RestitutionRequest.Status.PENDING
    assert request.reason == "We are closing the account."
    assert as_user(prepaid_admin).get(WALLET).context["restitution_form"] is None


def test_a_restitution_request_before_notice_is_refused(as_user, prepaid_admin, lots):
    response = as_user(prepaid_admin).post(reverse("billing:restitution_request"), {"reason": ""})
    assert response.status_code == 400
    assert (
        "Restitution can be requested once the agreement has been terminated in writing (art. 29.6)."
        in response.context["restitution_form"].non_field_errors()
    )
    assert not RestitutionRequest.objects.exists()


def test_staff_approve_a_restitution_from_the_queue(
    as_user, billing_staff, prepaid_admin, terminating, lots
):
    as_user(prepaid_admin).post(reverse("billing:restitution_request"), {"reason": "Closing"})
    request = RestitutionRequest.objects.get()
    c = as_user(billing_staff)
    assert len(c.get(RESTITUTIONS).context["items"]) == 1

    response = c.post(
        reverse("billing:restitution_decide", args=[request.pk, "approve"]), {"approve-note": "OK"}
    )

    assert response.status_code == 302
    request.refresh_from_db()
    assert request.status == RestitutionRequest.Status.APPROVED
    assert request.amount == Decimal("150.00")
    assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.RESTITUTION).count() == 1
    check(wallet_for_client(client=terminating))


def test_staff_refuse_a_restitution_with_a_reason(
    as_user, billing_staff, prepaid_admin, terminating
):
    as_user(prepaid_admin).post(reverse("billing:restitution_request"), {"reason": ""})
    request = RestitutionRequest.objects.get()

    response = as_user(billing_staff).post(
        reverse("billing:restitution_decide", args=[request.pk, "refuse"]),
        {"refuse-note": "Notice was withdrawn"},
    )

    assert response.status_code == 302
    request.refresh_from_db()
    assert request.status == RestitutionRequest.Status.REFUSED
    assert as_user(prepaid_admin).get(RESTITUTIONS).status_code == 403


# --- Dashboards ---------------------------------------------------------------------------
def test_the_client_dashboard_shows_wallet_and_limit(as_user, prepaid_admin, lots):
    response = as_user(prepaid_admin).get(reverse("dashboard"))
    assert response.status_code == 200
    billing = response.context["billing"]
    assert billing["wallet"]["usable_now"] == Decimal("100.00")
    assert billing["wallet"]["pending"] == Decimal("50.00")
    html = response.content.decode()
    assert 'data-testid="dashboard-wallet"' in html
    assert "0 of 50,000 unpaid messages" in html
    assert WALLET in html


def test_the_staff_dashboard_counts_the_billing_queues(as_user, billing_staff, client_admin):
    limit_request_for(client_admin.client, client_admin)
    response = as_user(billing_staff).get(reverse("dashboard"))
    assert response.context["billing_queues"] == {"limit_requests": 1, "restitutions": 0}
    assert QUEUE.encode() in response.content


def test_a_pending_client_sees_its_dashboard_without_a_wallet(as_user, cm):
    company = prepaid_client(cm, status=Client.Status.PENDING)
    admin = ClientAdminFactory(client=company)
    response = as_user(admin).get(reverse("dashboard"))
    assert response.status_code == 200
    assert response.context["billing"]["wallet"]["balance"] == 0


def test_a_chargeback_without_the_confirmation_is_refused_and_changes_nothing(
    as_user, billing_staff, prepaid, lots
):
    """Art. 29.4: the consequence (account closed, used credit due) must be confirmed."""
    usable, _ = lots
    remaining = usable.remaining
    url = reverse("billing:chargeback", args=[prepaid.pk, usable.pk])

    response = as_user(billing_staff).post(url, {"chargeback-reference": "CB-77"})

    assert response.status_code == 400
    row = next(r for r in response.context["lots"] if r["id"] == usable.pk)
    assert row["chargeback_form"].errors["confirm"]
    usable.refresh_from_db()
    assert usable.status != CreditLot.Status.REVERSED and usable.remaining == remaining
    assert not Chargeback.objects.exists()
    assert not Suspension.objects.filter(client=prepaid, ended_at=None).exists()


def test_the_chargeback_form_says_the_account_will_be_closed(as_user, billing_staff, prepaid, lots):
    page = as_user(billing_staff).get(staff_wallet(prepaid)).content.decode()
    assert 'name="chargeback-confirm"' in page
    assert "account will be closed" in page
    assert "becomes an amount due" in page
