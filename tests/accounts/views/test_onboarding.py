"""Pages: sign-up, invitation links, the staff's invitation to register, approval and rejection."""

import pytest
from django.urls import reverse

from accounts.models import (
    Agreement,
    Client,
    Invitation,
    User,
)
from accounts.services import onboarding, users
from tests.accounts.factories import ClientFactory, make_uscc

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
    # the service's refusal, on the field (the field's help text names the USCC on every page)
    assert (
        response.context["form"]
        .errors["registration_number"][0]
        .startswith("Not a valid Unified Social Credit Code")
    )
    assert "Not a valid Unified Social Credit Code" in response.content.decode()
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


def test_onboarding_invitation_opens_the_sign_up_form_for_its_provider(
    client, cm, cx, billing_staff
):
    invitation, raw = onboarding.onboarding_invite(
        provider=cx, email="boss@dutch.example", acting_user=billing_staff
    )
    response = client.get(reverse("invitation", args=[raw]))
    assert response.status_code == 200
    assert "Register your company" in response.content.decode()
    # the plain sign-up form offers every provider; the invitation's offers its own only
    assert cx.name in response.content.decode()
    assert cm.name not in response.content.decode()
    assert list(response.context["form"].fields["provider"].queryset) == [cx]
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


def test_billing_staff_invite_a_company_to_register_from_the_client_list(
    as_user, billing_staff, cm, mailoutbox, django_capture_on_commit_callbacks
):

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

    response = as_user(billing_staff).post(
        "/accounts/clients/invite/", {"provider": cm.pk, "email": client_admin.email}
    )

    assert response.status_code == 400
    assert "already exists" in response.content.decode()
    assert not Invitation.objects.exists()


def test_a_client_admin_cannot_send_onboarding_invitations(as_user, client_admin, cm):

    response = as_user(client_admin).post(
        "/accounts/clients/invite/", {"provider": cm.pk, "email": "x@y.example"}
    )

    assert response.status_code in (403, 404)
    assert not Invitation.objects.exists()


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
