"""What a termination sets off across the apps, wired in portal/ (accounts imports no other
app): invoices payable at once after a termination for cause (art. 15.6), the prepaid client's
restitution request with its termination (art. 29.6); and the termination pages and API of
both parties, with what survives (art. 15.7, 11.1)."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from accounts.kernel.dates import local_date
from accounts.models import Agreement, Notification
from accounts.services import agreements
from billing.models import Invoice, RestitutionRequest
from billing.prepaid.services.wallets import wallet_for_client
from tests.accounts.factories import ClientAdminFactory
from tests.billing.factories import prepaid_client, top_up
from tests.billing.invoicing.factories import company, issued, line

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_password_hashing")]

PDF = b"%PDF-1.4\n%evidence\n"


def _invoices(client, staff, today):
    """An invoice due in 14 days, one already past due, one paid and a draft."""
    due_later = issued(client, staff, [line("100.00")], invoice_date=today - dt.timedelta(days=3))
    past_due = issued(client, staff, [line("50.00")], invoice_date=today - dt.timedelta(days=20))
    paid = issued(client, staff, [line("70.00")], invoice_date=today - dt.timedelta(days=2))
    Invoice.objects.filter(pk=paid.pk).update(status=Invoice.Status.PAID, amount_paid=paid.total)
    return due_later, past_due, paid


@pytest.mark.parametrize("ground", ["insolvency_15_5a", "authorities_15_5c"])
def test_open_invoices_become_payable_on_termination_for_cause(
    cm, billing_staff, ground, mailoutbox, django_capture_on_commit_callbacks
):
    # given a client with open invoices, one due in eleven days
    client = company(cm)
    admin = ClientAdminFactory(client=client)
    today = local_date(cm)
    due_later, past_due, paid = _invoices(client, billing_staff, today)
    was_due = due_later.due_date
    past_due_date = past_due.due_date
    assert was_due > today
    mailoutbox.clear()
    # when the provider terminates for cause with immediate effect (art. 15.5)
    with django_capture_on_commit_callbacks(execute=True):
        agreements.agreement_terminate_for_cause(
            agreement=client.agreement, acting_user=billing_staff, ground=ground, reason="x"
        )
    # then what is invoiced is due on the termination date (art. 15.6), and the client is told
    due_later.refresh_from_db()
    past_due.refresh_from_db()
    paid.refresh_from_db()
    assert due_later.due_date == today
    assert due_later.due_date_brought_forward_from == was_due
    assert due_later.history.first().history_user == billing_staff
    assert (past_due.due_date, past_due.due_date_brought_forward_from) == (past_due_date, None)
    assert paid.due_date_brought_forward_from is None
    told = [m for m in mailoutbox if "payable at once" in m.subject]
    assert len(told) == 1 and admin.email in told[0].to
    assert due_later.number in told[0].body and "15.6" in told[0].body


def test_the_clients_termination_for_cause_makes_invoices_payable_too(cm, billing_staff):
    client = company(cm)
    admin = ClientAdminFactory(client=client)
    today = local_date(cm)
    due_later, _, _ = _invoices(client, billing_staff, today)
    agreements.agreement_terminate_for_cause(
        agreement=client.agreement,
        acting_user=admin,
        ground="insolvency_15_5a",
        reason="The provider's Chinese entity is in liquidation",
    )
    due_later.refresh_from_db()
    assert due_later.due_date == today


def test_economic_grounds_and_ordinary_notice_leave_due_dates_alone(cm, billing_staff):
    # art. 15.6 names terminations under 15.4 and 15.5 only
    client = company(cm)
    today = local_date(cm)
    due_later, _, _ = _invoices(client, billing_staff, today)
    was_due = due_later.due_date
    agreements.agreement_terminate_economic(
        agreement=client.agreement, acting_user=billing_staff, substantiation="Loss-making"
    )
    due_later.refresh_from_db()
    assert (due_later.due_date, due_later.due_date_brought_forward_from) == (was_due, None)
    assert not Notification.objects.filter(
        key__startswith="invoices-payable-on-termination"
    ).exists()


def test_a_refused_termination_brings_no_due_date_forward(cm, billing_staff):
    client = company(cm)
    due_later, _, _ = _invoices(client, billing_staff, local_date(cm))
    was_due = due_later.due_date
    with pytest.raises(Exception):  # noqa: B017,PT011 - the cure period has not even begun
        agreements.agreement_terminate_for_cause(
            agreement=client.agreement, acting_user=billing_staff, reason="Unpaid"
        )
    due_later.refresh_from_db()
    assert due_later.due_date == was_due
    assert client.agreement.status == Agreement.Status.ACTIVE


# --- Art. 29.6: the restitution request follows the prepaid termination -------------------------
def test_a_prepaid_termination_with_restitution_files_the_request(cm, billing_staff):
    client = prepaid_client(cm)
    admin = ClientAdminFactory(client=client)
    top_up(wallet_for_client(client=client), "500.00", timezone.now() - dt.timedelta(days=3))
    agreements.agreement_terminate_prepaid(
        agreement=client.agreement,
        acting_user=admin,
        reason="We stop sending",
        request_restitution=True,
    )
    request = RestitutionRequest.objects.get(client=client)
    assert request.status == RestitutionRequest.Status.PENDING
    assert request.requested_by == admin
    assert request.reason == "We stop sending"
    client.agreement.refresh_from_db()
    assert client.agreement.status == Agreement.Status.TERMINATED


def test_a_prepaid_termination_without_restitution_leaves_it_to_the_wallet_page(cm, as_user):
    client = prepaid_client(cm)
    admin = ClientAdminFactory(client=client)
    agreements.agreement_terminate_prepaid(agreement=client.agreement, acting_user=admin)
    assert not RestitutionRequest.objects.filter(client=client).exists()
    # the wallet page now offers the written request (art. 29.6)
    page = as_user(admin).get(reverse("billing:wallet"))
    assert page.status_code == 200
    assert b"restitution" in page.content.lower()


# --- Pages ---------------------------------------------------------------------------------------
def test_the_client_terminates_its_prepaid_agreement_on_its_page(cm, as_user):
    client = prepaid_client(cm)
    admin = ClientAdminFactory(client=client)
    c = as_user(admin)
    page = c.get(reverse("agreement"))
    assert page.status_code == 200
    assert b"29.6" in page.content
    answer = c.post(
        reverse("agreement_terminate_prepaid"),
        {"prepaid-reason": "Closing", "prepaid-request_restitution": "on"},
    )
    assert answer.status_code == 302
    client.agreement.refresh_from_db()
    assert client.agreement.status == Agreement.Status.TERMINATED
    assert RestitutionRequest.objects.filter(client=client).count() == 1
    # the terminated agreement shows what survives and when confidentiality ends
    page = c.get(reverse("agreement"))
    until = client.agreement.end_date.replace(year=client.agreement.end_date.year + 1)
    assert b'data-testid="survival"' in page.content
    assert b"11.1" in page.content and b"15.7" in page.content
    assert until.strftime("%Y").encode() in page.content


def test_a_refused_termination_on_the_page_says_why_and_changes_nothing(cm, as_user):
    client = prepaid_client(cm)
    admin = ClientAdminFactory(client=client)
    answer = as_user(admin).post(
        reverse("agreement_terminate_prepaid"), {"prepaid-end_date": "2020-01-01"}
    )
    assert answer.status_code == 400
    assert b"past" in answer.content
    client.agreement.refresh_from_db()
    assert client.agreement.status == Agreement.Status.ACTIVE


def test_the_client_sends_a_notice_of_default_and_sees_the_cure_deadline(
    cm, as_user, billing_staff
):
    client = company(cm)
    admin = ClientAdminFactory(client=client)
    c = as_user(admin)
    answer = c.post(
        reverse("agreement_notice_of_default"), {"default-text": "Delivery reports missing"}
    )
    assert answer.status_code == 302
    client.agreement.refresh_from_db()
    assert client.agreement.default_notice_by == "client"
    page = c.get(reverse("agreement"))
    assert b'data-testid="cure-deadline"' in page.content
    # and the provider's staff see it too on the client page
    staff_page = as_user(billing_staff).get(reverse("client_detail", args=[client.pk]))
    assert b'data-testid="cure-deadline"' in staff_page.content
    assert b"Delivery reports missing" in staff_page.content


def test_a_viewer_may_not_terminate_on_the_page(cm, as_user, client_viewer, client_company):
    answer = as_user(client_viewer).post(
        reverse("agreement_terminate"),
        {"terminate-ground": "insolvency_15_5a", "terminate-reason": "x"},
    )
    assert answer.status_code == 403
    client_company.agreement.refresh_from_db()
    assert client_company.agreement.status == Agreement.Status.ACTIVE


def test_staff_terminate_with_an_evidence_document_both_parties_download(
    cm, as_user, billing_staff, client_company, client_admin, other_admin
):
    c = as_user(billing_staff)
    answer = c.post(
        reverse("client_terminate", args=[client_company.pk]),
        {
            "terminate-ground": "insolvency_15_5a",
            "terminate-reason": "Bankruptcy declared",
            "terminate-evidence": SimpleUploadedFile("ruling.pdf", PDF),
        },
    )
    assert answer.status_code == 302, answer.content.decode()[:2000]
    agreement = Agreement.objects.get(client=client_company)
    assert agreement.termination_evidence
    url = reverse("agreement_evidence", args=[agreement.pk])
    for user in (billing_staff, client_admin):
        got = as_user(user).get(url)
        assert got.status_code == 200
        assert b"".join(got.streaming_content) == PDF
        assert got["X-Content-Type-Options"] == "nosniff"
    assert as_user(other_admin).get(url).status_code == 404
    page = as_user(billing_staff).get(reverse("client_detail", args=[client_company.pk]))
    assert b'data-testid="survival"' in page.content


def test_staff_announce_an_economic_termination_on_the_client_page(
    cm, as_user, billing_staff, client_company
):
    c = as_user(billing_staff)
    refused = c.post(
        reverse("client_terminate_economic", args=[client_company.pk]),
        {"economic-substantiation": ""},
    )
    assert refused.status_code == 400
    answer = c.post(
        reverse("client_terminate_economic", args=[client_company.pk]),
        {"economic-substantiation": "Loss-making route"},
    )
    assert answer.status_code == 302
    client_company.agreement.refresh_from_db()
    assert client_company.agreement.termination_ground == Agreement.Ground.ECONOMIC


# --- API -----------------------------------------------------------------------------------------
def test_api_a_prepaid_client_terminates_on_a_date(api, cm):
    client = prepaid_client(cm)
    admin = ClientAdminFactory(client=client)
    end = local_date(cm) + dt.timedelta(days=10)
    response = api(admin).post(
        f"/api/v1/agreements/{client.agreement.pk}/give-notice/", {"end_date": end.isoformat()}
    )
    assert response.status_code == 200, response.data
    assert response.data["end_date"] == end.isoformat()
    assert response.data["termination_ground"] == "prepaid_29_6"
    assert response.data["survival"] is None


def test_api_the_client_gives_notice_of_default_and_terminates_with_evidence(
    api, client_admin, client_company
):
    a = api(client_admin)
    response = a.post(
        f"/api/v1/agreements/{client_company.agreement.pk}/notice-of-default/",
        {"text": "Messages lost"},
    )
    assert response.status_code == 200
    assert response.data["default_notice_by"] == "client"
    assert response.data["cure_deadline"]
    response = a.post(
        f"/api/v1/agreements/{client_company.agreement.pk}/terminate/",
        {
            "ground": "authorities_15_5c",
            "evidence": SimpleUploadedFile("order.pdf", PDF),
        },
        format="multipart",
    )
    assert response.status_code == 200, response.data
    assert response.data["terminated_by"] == "client"
    assert response.data["has_termination_evidence"] is True
    assert response.data["survival"]["confidentiality_until"]


def test_api_force_majeure_of_another_provider_is_not_found(
    api, cm, cx, client_admin, client_company
):
    from accounts.models import ForceMajeure
    from tests.accounts.factories import BillingStaffFactory

    now = timezone.now()
    foreign = ForceMajeure.objects.create(
        provider=cx,
        started_at=now - dt.timedelta(days=60),
        description="Elsewhere",
        services_affected="SMS",
        termination_right_from=now - dt.timedelta(days=30),
        logged_by=BillingStaffFactory(),
    )
    response = api(client_admin).post(
        f"/api/v1/agreements/{client_company.agreement.pk}/terminate/",
        {"ground": "force_majeure_15_5b", "force_majeure": foreign.pk},
    )
    assert response.status_code == 400
    assert response.data["errors"][0]["field"] == "force_majeure"
    client_company.agreement.refresh_from_db()
    assert client_company.agreement.status == Agreement.Status.ACTIVE


def test_api_economic_termination_by_staff(api, billing_staff, client_company):
    response = api(billing_staff).post(
        f"/api/v1/agreements/{client_company.agreement.pk}/terminate-economic/",
        {"substantiation": "Route closed by the operator"},
    )
    assert response.status_code == 200, response.data
    assert response.data["status"] == "terminated"
    assert response.data["termination_ground"] == "economic_15_3"


def test_api_and_page_record_a_default_as_remedied(
    api, as_user, billing_staff, client_company, client_admin
):
    agreement = client_company.agreement
    api(client_admin).post(
        f"/api/v1/agreements/{agreement.pk}/notice-of-default/", {"text": "Messages lost"}
    )
    # the provider did not send this notice: refused, nothing changes
    refused = api(billing_staff).post(f"/api/v1/agreements/{agreement.pk}/default-remedied/")
    assert refused.status_code == 400
    assert refused.data["errors"][0]["article"] == "15.4"
    page = as_user(client_admin).get(reverse("agreement"))
    assert b'data-testid="default-remedied"' not in page.content
    assert reverse("agreement_default_remedied").encode() in page.content  # the client's button
    answer = as_user(client_admin).post(reverse("agreement_default_remedied"))
    assert answer.status_code == 302
    agreement.refresh_from_db()
    assert agreement.default_remedied_at is not None
    page = as_user(billing_staff).get(reverse("client_detail", args=[client_company.pk]))
    assert b'data-testid="default-remedied"' in page.content
