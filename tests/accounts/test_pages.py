"""The server-rendered pages of accounts and the dashboards: roles, refusals, tenant isolation."""

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import (
    Agreement,
    ChangeRequest,
    Client,
    DataRequest,
    Invitation,
    Suspension,
    TermsAcceptance,
    TermsVersion,
    User,
)
from accounts.services import agreements, change_requests, data_requests, onboarding, terms, users
from tests.accounts.factories import ClientFactory, DirectorFactory, make_uscc
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def _sign_up_data(provider, **overrides):
    reg = make_uscc(900_000 + provider.pk)
    data = {
        "full_name": "Li Wei",
        "email": "li.wei@newco.example",
        "password1": "a-long-and-unusual-passphrase",
        "password2": "a-long-and-unusual-passphrase",
        "provider": provider.pk,
        "legal_name": "Shenzhen Newco Technology Ltd",
        "address": "1 Keyuan Road, Nanshan, Shenzhen",
        "country": "CN",
        "registration_number": reg,
        "vat_number": "",
        "billing_email": "billing@newco.example",
        "billing_mode": "prepaid",
        "directors-TOTAL_FORMS": "3",
        "directors-INITIAL_FORMS": "0",
        "directors-MIN_NUM_FORMS": "0",
        "directors-MAX_NUM_FORMS": "10",
        "directors-0-name": "Li Wei",
        "directors-0-title": "Legal representative",
    }
    data.update(overrides)
    return data


# --- Sign-in, lockout, two-factor ----------------------------------------------------------
def test_anonymous_visitor_is_sent_to_sign_in(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_sign_in_page_asks_for_email(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert b">Email<" in response.content or b"Email:" in response.content


def test_client_admin_signs_in_by_email_and_sees_dashboard(client, client_admin):
    response = client.post(
        reverse("login"), {"email": client_admin.email, "password": PASSWORD}, follow=True
    )
    assert response.status_code == 200
    assert client_admin.client.legal_name in response.content.decode()


def test_sign_in_locks_after_five_failures(client, client_admin):
    for _ in range(4):
        response = client.post(
            reverse("login"), {"email": client_admin.email, "password": "wrong-password"}
        )
        assert response.status_code == 200
    fifth = client.post(
        reverse("login"), {"email": client_admin.email, "password": "wrong-password"}
    )
    assert fifth.status_code == 429
    assert "Too many failed sign-ins" in fifth.content.decode()
    # the right password does not get through while the lock lasts
    response = client.post(reverse("login"), {"email": client_admin.email, "password": PASSWORD})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_a_lockout_is_per_email_address(client, client_admin, client_viewer):
    for _ in range(5):
        client.post(reverse("login"), {"email": client_admin.email, "password": "wrong-password"})
    response = client.post(reverse("login"), {"email": client_viewer.email, "password": PASSWORD})
    assert response.status_code == 302


def test_logout_is_a_post(client, client_admin):
    client.force_login(client_admin)
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


def test_password_reset_emails_a_link(client, client_admin):
    response = client.post(reverse("password_reset"), {"email": client_admin.email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert "/accounts/reset/" in mail.outbox[0].body
    assert client.get(reverse("password_reset_done")).status_code == 200


def test_unverified_staff_are_sent_to_two_factor(client, billing_staff):
    client.force_login(billing_staff)
    response = client.get(reverse("client_list"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("two_factor"))


def test_staff_without_device_enrol_with_qr_code_and_confirm(client, billing_staff):
    client.force_login(billing_staff)
    page = client.get(reverse("two_factor"))
    assert page.status_code == 200
    assert "<svg" in page.content.decode()
    device = TOTPDevice.objects.get(user=billing_staff, confirmed=False)
    response = client.post(
        reverse("two_factor") + "?next=/accounts/clients/", {"code": f"{totp(device.bin_key):06d}"}
    )
    assert response.status_code == 302
    assert response.url == "/accounts/clients/"
    device.refresh_from_db()
    assert device.confirmed
    assert client.get(reverse("client_list")).status_code == 200


def test_staff_with_device_are_asked_for_the_code_and_a_wrong_one_fails(client, billing_staff):
    device = TOTPDevice.objects.create(user=billing_staff, name="phone", confirmed=True)
    client.force_login(billing_staff)
    page = client.get(reverse("two_factor"))
    assert "<svg" not in page.content.decode()
    wrong = (totp(device.bin_key) + 1) % 1_000_000
    response = client.post(reverse("two_factor"), {"code": f"{wrong:06d}"})
    assert response.status_code == 200
    assert "not valid" in response.content.decode()
    assert client.get(reverse("client_list")).status_code == 302


# --- Onboarding ----------------------------------------------------------------------------
def test_sign_up_registers_a_pending_company_and_shows_pending(client, cm):
    response = client.post(reverse("sign_up"), _sign_up_data(cm), follow=True)
    assert response.status_code == 200
    company = Client.objects.get(legal_name="Shenzhen Newco Technology Ltd")
    assert company.status == Client.Status.PENDING
    assert company.billing_mode == "prepaid"
    assert list(company.directors.values_list("name", "title")) == [
        ("Li Wei", "Legal representative")
    ]
    assert User.objects.get(email="li.wei@newco.example").role == User.Role.CLIENT_ADMIN
    assert "Pending approval" in response.content.decode()


def test_sign_up_shows_the_services_refusal_on_the_field(client, cm):
    response = client.post(reverse("sign_up"), _sign_up_data(cm, registration_number="12345"))
    assert response.status_code == 200
    assert "Unified Social Credit Code" in response.content.decode()
    assert not Client.objects.filter(legal_name="Shenzhen Newco Technology Ltd").exists()


def test_sign_up_needs_a_director(client, cm):
    response = client.post(
        reverse("sign_up"), _sign_up_data(cm, **{"directors-0-name": "", "directors-0-title": ""})
    )
    assert "at least one director" in response.content.decode()


def test_employee_invitation_sets_a_password_and_joins(client, client_admin):
    _, raw = users.user_invite(
        client=client_admin.client,
        email="new@client.example",
        role=User.Role.CLIENT_VIEWER,
        acting_user=client_admin,
    )
    url = reverse("invitation", args=[raw])
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {
            "full_name": "New Person",
            "password1": "another-long-passphrase",
            "password2": "another-long-passphrase",
        },
    )
    assert response.status_code == 302
    new = User.objects.get(email="new@client.example")
    assert new.client == client_admin.client and new.role == User.Role.CLIENT_VIEWER


def test_onboarding_invitation_opens_the_sign_up_form_for_its_provider(client, cx, billing_staff):
    invitation, raw = onboarding.onboarding_invite(
        provider=cx, email="boss@dutch.example", acting_user=billing_staff
    )
    response = client.get(reverse("invitation", args=[raw]))
    assert response.status_code == 200
    assert "Register your company" in response.content.decode()
    assert cx.name in response.content.decode()
    data = _sign_up_data(
        cx,
        country="NL",
        registration_number="12345678",
        legal_name="Dutch Newco B.V.",
        address="Damrak 1, Amsterdam",
    )
    data.pop("email")
    data.pop("provider")
    response = client.post(reverse("invitation", args=[raw]), data)
    assert response.status_code == 302
    company = Client.objects.get(legal_name="Dutch Newco B.V.")
    assert company.provider == cx
    assert User.objects.get(email="boss@dutch.example").client == company
    invitation.refresh_from_db()
    assert invitation.accepted_at is not None


def test_a_bad_invitation_token_answers_404(client, db):
    assert client.get(reverse("invitation", args=["nope"])).status_code == 404


# --- Client dashboard ----------------------------------------------------------------------
@pytest.mark.parametrize("who", ["client_admin", "client_viewer"])
def test_client_dashboard_shows_company_agreement_and_terms(request, as_user, who):
    user = request.getfixturevalue(who)
    response = as_user(user).get("/")
    body = response.content.decode()
    assert response.status_code == 200
    assert user.client.legal_name in body
    assert "Notice period" in body and "Current term ends" in body


def test_client_dashboard_shows_the_suspension_reason(as_user, client_viewer, billing_staff):
    agreements.client_suspend(
        client=client_viewer.client,
        cause=Suspension.Cause.NON_PAYMENT,
        reason="Invoice 2026-001 unpaid",
        acting_user=billing_staff,
    )
    body = as_user(client_viewer).get("/").content.decode()
    assert "Service suspended" in body and "Invoice 2026-001 unpaid" in body


def test_client_admin_objects_to_pending_terms_from_the_dashboard(
    as_user, client_admin, billing_staff, cm
):
    terms.terms_publish(
        provider=cm, version="2026.1", summary="New liability clause", acting_user=billing_staff
    )
    c = as_user(client_admin)
    assert "New terms: version 2026.1" in c.get("/").content.decode()
    acceptance = TermsAcceptance.objects.get(client=client_admin.client)
    response = c.post(reverse("terms_object", args=[acceptance.pk]), {"reason": "We do not agree"})
    assert response.status_code == 302
    acceptance.refresh_from_db()
    assert acceptance.status == TermsAcceptance.Status.OBJECTED


def test_client_admin_accepts_pending_terms(as_user, client_admin, billing_staff, cm):
    terms.terms_publish(
        provider=cm, version="2026.2", summary="Clarifications", acting_user=billing_staff
    )
    acceptance = TermsAcceptance.objects.get(client=client_admin.client)
    as_user(client_admin).post(reverse("terms_accept", args=[acceptance.pk]))
    acceptance.refresh_from_db()
    assert acceptance.status == TermsAcceptance.Status.ACCEPTED


def test_viewer_cannot_accept_terms(as_user, client_viewer, billing_staff, cm):
    terms.terms_publish(provider=cm, version="2026.3", summary="x", acting_user=billing_staff)
    acceptance = TermsAcceptance.objects.get(client=client_viewer.client)
    assert (
        as_user(client_viewer).post(reverse("terms_accept", args=[acceptance.pk])).status_code
        == 403
    )


def test_another_clients_terms_answer_404(as_user, other_admin, client_admin, billing_staff, cm):
    terms.terms_publish(provider=cm, version="2026.4", summary="x", acting_user=billing_staff)
    acceptance = TermsAcceptance.objects.get(client=client_admin.client)
    assert (
        as_user(other_admin).post(reverse("terms_accept", args=[acceptance.pk])).status_code == 404
    )


# --- Company details and change requests ---------------------------------------------------
def test_client_admin_submits_a_change_request(as_user, client_admin):
    DirectorFactory(client=client_admin.client, name="Old Director", title="CEO")
    c = as_user(client_admin)
    page = c.get(reverse("company"))
    assert page.status_code == 200 and "Request a change" in page.content.decode()
    company = client_admin.client
    data = {
        "legal_name": company.legal_name,
        "address": "88 New Street, Shenzhen",
        "country": company.country,
        "registration_number": company.registration_number,
        "vat_number": company.vat_number,
        "billing_email": company.billing_email,
        "directors-TOTAL_FORMS": "4",
        "directors-INITIAL_FORMS": "1",
        "directors-MIN_NUM_FORMS": "0",
        "directors-MAX_NUM_FORMS": "10",
        "directors-0-name": "Old Director",
        "directors-0-title": "CEO",
    }
    response = c.post(reverse("company"), data)
    assert response.status_code == 302
    request = ChangeRequest.objects.get(client=company)
    assert set(request.changes) == {"address"}
    assert "88 New Street" in c.get(reverse("company")).content.decode()


def test_a_change_that_changes_nothing_is_refused_on_the_page(as_user, client_admin):
    DirectorFactory(client=client_admin.client, name="D", title="CEO")
    company = client_admin.client
    data = {
        "legal_name": company.legal_name,
        "address": company.address,
        "country": company.country,
        "registration_number": company.registration_number,
        "vat_number": company.vat_number,
        "billing_email": company.billing_email,
        "directors-TOTAL_FORMS": "1",
        "directors-INITIAL_FORMS": "1",
        "directors-MIN_NUM_FORMS": "0",
        "directors-MAX_NUM_FORMS": "10",
        "directors-0-name": "D",
        "directors-0-title": "CEO",
    }
    response = as_user(client_admin).post(reverse("company"), data)
    assert response.status_code == 200
    assert "changes nothing" in response.content.decode()
    assert not ChangeRequest.objects.exists()


def test_viewer_sees_company_read_only_and_cannot_post(as_user, client_viewer):
    c = as_user(client_viewer)
    page = c.get(reverse("company"))
    assert page.status_code == 200 and "Request a change" not in page.content.decode()
    assert c.post(reverse("company"), {"legal_name": "x"}).status_code == 403


def test_company_page_shows_field_history(as_user, client_admin, billing_staff):
    company = client_admin.client
    DirectorFactory(client=company)
    request = change_requests.change_request_submit(
        client=company, acting_user=client_admin, changes={"billing_email": "new@billing.example"}
    )
    change_requests.change_request_accept(change_request=request, acting_user=billing_staff)
    body = as_user(client_admin).get(reverse("company")).content.decode()
    assert "new@billing.example" in body and billing_staff.email in body


# --- Users ---------------------------------------------------------------------------------
def test_client_admin_invites_a_user(as_user, client_admin):
    c = as_user(client_admin)
    response = c.post(
        reverse("user_invite"),
        {"email": "colleague@client.example", "role": User.Role.CLIENT_VIEWER},
    )
    assert response.status_code == 302
    assert Invitation.objects.filter(
        email="colleague@client.example", client=client_admin.client
    ).exists()


def test_invite_refusal_is_shown_on_the_email_field(as_user, client_admin, other_admin):
    response = as_user(client_admin).post(
        reverse("user_invite"), {"email": other_admin.email, "role": User.Role.CLIENT_VIEWER}
    )
    assert response.status_code == 400
    assert "already exists" in response.content.decode()


def test_client_admin_changes_a_role_and_removes_a_user(as_user, client_admin, client_viewer):
    c = as_user(client_admin)
    c.post(reverse("user_change_role", args=[client_viewer.pk]), {"role": User.Role.CLIENT_ADMIN})
    client_viewer.refresh_from_db()
    assert client_viewer.role == User.Role.CLIENT_ADMIN
    c.post(reverse("user_remove", args=[client_viewer.pk]))
    client_viewer.refresh_from_db()
    assert not client_viewer.is_active


def test_viewer_sees_users_read_only(as_user, client_viewer, client_admin):
    c = as_user(client_viewer)
    page = c.get(reverse("users"))
    assert page.status_code == 200
    assert "Invite a colleague" not in page.content.decode()
    assert (
        c.post(
            reverse("user_invite"), {"email": "x@y.example", "role": "client_viewer"}
        ).status_code
        == 403
    )
    assert c.post(reverse("user_remove", args=[client_admin.pk])).status_code == 403


def test_another_clients_user_answers_404(as_user, client_admin, other_admin):
    c = as_user(client_admin)
    assert c.post(reverse("user_remove", args=[other_admin.pk])).status_code == 404
    assert (
        c.post(
            reverse("user_change_role", args=[other_admin.pk]), {"role": "client_viewer"}
        ).status_code
        == 404
    )
    other_admin.refresh_from_db()
    assert other_admin.is_active


# --- Data requests -------------------------------------------------------------------------
def test_client_sees_data_request_deadline_in_provider_time_and_answers(
    as_user, client_admin, billing_staff
):
    dr = data_requests.data_request_log(
        client=client_admin.client,
        acting_user=billing_staff,
        requested_by="MIIT",
        description="Director ID copies",
    )
    c = as_user(client_admin)
    body = c.get(reverse("data_requests")).content.decode()
    assert "MIIT" in body and "CST" in body  # Asia/Shanghai
    response = c.post(
        reverse("data_request_detail", args=[dr.pk]), {"answer": "Sent by registered mail"}
    )
    assert response.status_code == 302
    dr.refresh_from_db()
    assert dr.status == DataRequest.Status.ANSWERED


def test_viewer_cannot_answer_a_data_request(as_user, client_viewer, billing_staff):
    dr = data_requests.data_request_log(
        client=client_viewer.client, acting_user=billing_staff, requested_by="MIIT", description="x"
    )
    c = as_user(client_viewer)
    assert "Your answer" not in c.get(reverse("data_request_detail", args=[dr.pk])).content.decode()
    assert c.post(reverse("data_request_detail", args=[dr.pk]), {"answer": "x"}).status_code == 403


def test_another_clients_data_request_answers_404(
    as_user, other_admin, client_admin, billing_staff
):
    dr = data_requests.data_request_log(
        client=client_admin.client, acting_user=billing_staff, requested_by="MIIT", description="x"
    )
    c = as_user(other_admin)
    assert c.get(reverse("data_request_detail", args=[dr.pk])).status_code == 404
    assert "MIIT" not in c.get(reverse("data_requests")).content.decode()


# --- Staff ---------------------------------------------------------------------------------
def test_staff_dashboard_shows_queues_and_flags_overdue(as_user, billing_staff, client_company, cm):
    ClientFactory(provider=cm, status=Client.Status.PENDING, legal_name="Waiting Co")
    DataRequest.objects.create(
        client=client_company,
        requested_by="Late Authority",
        description="x",
        logged_by=billing_staff,
        due_at=timezone.now() - timedelta(days=1),
    )
    body = as_user(billing_staff).get("/").content.decode()
    assert "Waiting Co" in body
    assert "Late Authority" in body and "Overdue" in body


def test_compliance_officer_sees_the_staff_dashboard(as_user, compliance_officer):
    assert "Work queues" in as_user(compliance_officer).get("/").content.decode()


def test_client_list_filters_searches_and_paginates(as_user, billing_staff, cm, cx):
    for i in range(30):
        ClientFactory(provider=cm, legal_name=f"Bulk {i:02d} Ltd")
    ClientFactory(
        provider=cx,
        legal_name="Needle B.V.",
        status=Client.Status.PENDING,
        country="NL",
        registration_number="87654321",
        vat_number="",
    )
    c = as_user(billing_staff)
    first = c.get(reverse("client_list"))
    assert "Page 1 of 2" in first.content.decode()
    assert "Page 2 of 2" in c.get(reverse("client_list") + "?page=2").content.decode()
    found = c.get(
        reverse("client_list") + "?q=needle&status=pending&provider=cxengage-nl"
    ).content.decode()
    assert "Needle B.V." in found and "Bulk 00" not in found


def test_client_users_cannot_see_staff_pages(as_user, client_admin, other_company):
    c = as_user(client_admin)
    assert c.get(reverse("client_list")).status_code == 403
    assert c.get(reverse("terms_publish")).status_code == 403
    assert c.get(reverse("change_requests")).status_code == 403
    assert c.get(reverse("client_detail", args=[other_company.pk])).status_code == 404
    assert c.post(reverse("client_approve", args=[other_company.pk])).status_code == 404
    assert c.post(reverse("client_approve", args=[client_admin.client_id])).status_code == 403


def test_staff_approve_a_pending_client(as_user, billing_staff, cm):
    pending = ClientFactory(provider=cm, status=Client.Status.PENDING, approved_at=None)
    c = as_user(billing_staff)
    assert "Approve client" in c.get(reverse("client_detail", args=[pending.pk])).content.decode()
    response = c.post(reverse("client_approve", args=[pending.pk]))
    assert response.status_code == 302
    pending.refresh_from_db()
    assert pending.status == Client.Status.ACTIVE
    assert Agreement.objects.filter(client=pending).exists()


def test_reject_without_reason_shows_the_error_and_changes_nothing(as_user, billing_staff, cm):
    pending = ClientFactory(provider=cm, status=Client.Status.PENDING, approved_at=None)
    c = as_user(billing_staff)
    response = c.post(reverse("client_reject", args=[pending.pk]), {"reject-reason": ""})
    assert response.status_code == 400
    assert "This field is required" in response.content.decode()
    c.post(reverse("client_reject", args=[pending.pk]), {"reject-reason": "Not a company"})
    pending.refresh_from_db()
    assert pending.status == Client.Status.REJECTED and pending.rejection_reason == "Not a company"


def test_staff_suspend_and_resume(as_user, billing_staff, client_company):
    c = as_user(billing_staff)
    c.post(
        reverse("client_suspend", args=[client_company.pk]),
        {"suspend-cause": "breach", "suspend-reason": "Spam"},
    )
    assert Suspension.objects.filter(client=client_company, ended_at=None).count() == 1
    # a second suspension for the same cause is refused, and the page says so
    again = c.post(
        reverse("client_suspend", args=[client_company.pk]),
        {"suspend-cause": "breach", "suspend-reason": "Spam"},
    )
    assert again.status_code == 400 and "already suspended" in again.content.decode()
    c.post(reverse("client_resume", args=[client_company.pk]), {"resume-reason": "Fixed"})
    assert not Suspension.objects.filter(client=client_company, ended_at=None).exists()


def test_staff_log_a_data_request(as_user, billing_staff, client_company):
    c = as_user(billing_staff)
    c.post(
        reverse("client_data_request_log", args=[client_company.pk]),
        {
            "data_request-requested_by": "Operator X",
            "data_request-description": "Registration copy",
        },
    )
    assert DataRequest.objects.get(client=client_company).requested_by == "Operator X"


def test_staff_give_notice_default_and_terminate(as_user, billing_staff, client_company):
    c = as_user(billing_staff)
    c.post(reverse("client_give_notice", args=[client_company.pk]), {"notice-reason": "Ending"})
    agreement = Agreement.objects.get(client=client_company)
    assert agreement.status == Agreement.Status.NOTICE_GIVEN and agreement.end_date
    c.post(
        reverse("client_notice_of_default", args=[client_company.pk]),
        {"default-text": "Spam complaints"},
    )
    agreement.refresh_from_db()
    assert agreement.cure_deadline is not None
    early = c.post(
        reverse("client_terminate", args=[client_company.pk]), {"terminate-reason": "Breach"}
    )
    assert early.status_code == 400 and "cure period" in early.content.decode()
    c.post(
        reverse("client_terminate", args=[client_company.pk]),
        {"terminate-reason": "Insolvent", "terminate-immediate": "on"},
    )
    agreement.refresh_from_db()
    assert agreement.status == Agreement.Status.TERMINATED


def test_staff_accept_and_reject_change_requests(as_user, billing_staff, client_admin):
    DirectorFactory(client=client_admin.client)
    first = change_requests.change_request_submit(
        client=client_admin.client, acting_user=client_admin, changes={"address": "New 1"}
    )
    second = change_requests.change_request_submit(
        client=client_admin.client, acting_user=client_admin, changes={"address": "New 2"}
    )
    c = as_user(billing_staff)
    assert "New 1" in c.get(reverse("change_requests")).content.decode()
    c.post(reverse("change_request_accept", args=[first.pk]))
    c.post(reverse("change_request_reject", args=[second.pk]), {"note": "Not documented"})
    first.refresh_from_db()
    second.refresh_from_db()
    assert (
        first.status == ChangeRequest.Status.ACCEPTED
        and second.status == ChangeRequest.Status.REJECTED
    )
    client_admin.client.refresh_from_db()
    assert client_admin.client.address == "New 1"


def test_client_admin_cannot_decide_own_change_request(as_user, client_admin):
    DirectorFactory(client=client_admin.client)
    request = change_requests.change_request_submit(
        client=client_admin.client, acting_user=client_admin, changes={"address": "N"}
    )
    assert (
        as_user(client_admin).post(reverse("change_request_accept", args=[request.pk])).status_code
        == 403
    )


def test_staff_publish_terms(as_user, billing_staff, client_company, cm):
    c = as_user(billing_staff)
    response = c.post(
        reverse("terms_publish"), {"provider": cm.pk, "version": "2027.1", "summary": "Prices"}
    )
    assert response.status_code == 302
    terms = TermsVersion.objects.get(version="2027.1")
    assert TermsAcceptance.objects.filter(terms=terms, client=client_company).exists()
    duplicate = c.post(
        reverse("terms_publish"), {"provider": cm.pk, "version": "2027.1", "summary": "Again"}
    )
    assert "already has a terms version" in duplicate.content.decode()


def test_client_detail_for_own_client_user_redirects_to_company(as_user, client_admin):
    response = as_user(client_admin).get(reverse("client_detail", args=[client_admin.client_id]))
    assert response.status_code == 302 and response.url == reverse("company")


def test_billing_staff_invite_a_company_to_register_from_the_client_list(
    as_user, billing_staff, cm, mailoutbox, django_capture_on_commit_callbacks
):
    from accounts.models import Invitation

    c = as_user(billing_staff)
    assert "Invite a company to register" in c.get("/accounts/clients/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = c.post(
            "/accounts/clients/invite/", {"provider": cm.pk, "email": "Founder@NewCo.example"}
        )

    assert response.status_code == 302
    invitation = Invitation.objects.get()
    assert invitation.email == "founder@newco.example" and invitation.client is None
    assert invitation.provider == cm and invitation.role == "client_admin"
    assert mailoutbox[-1].to == ["founder@newco.example"]


def test_an_onboarding_invitation_to_an_existing_user_is_refused_on_the_field(
    as_user, billing_staff, cm, client_admin
):
    from accounts.models import Invitation

    response = as_user(billing_staff).post(
        "/accounts/clients/invite/", {"provider": cm.pk, "email": client_admin.email}
    )

    assert response.status_code == 400
    assert "already exists" in response.content.decode()
    assert not Invitation.objects.exists()


def test_a_client_admin_cannot_send_onboarding_invitations(as_user, client_admin, cm):
    from accounts.models import Invitation

    response = as_user(client_admin).post(
        "/accounts/clients/invite/", {"provider": cm.pk, "email": "x@y.example"}
    )

    assert response.status_code in (403, 404)
    assert not Invitation.objects.exists()
