"""Pages: the client admin accepts or objects to new terms; staff publish them (art. 18.3)."""

import pytest
from django.urls import reverse

from accounts.models import (
    TermsAcceptance,
    TermsVersion,
)
from accounts.services import terms
from tests.accounts.factories import BOTH_TEXTS

pytestmark = pytest.mark.django_db


def test_client_admin_objects_to_pending_terms_from_the_dashboard(
    as_user, client_admin, billing_staff, cm
):
    terms.terms_publish(
        texts=BOTH_TEXTS,
        provider=cm,
        version="2026.1",
        summary="New liability clause",
        acting_user=billing_staff,
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
        texts=BOTH_TEXTS,
        provider=cm,
        version="2026.2",
        summary="Clarifications",
        acting_user=billing_staff,
    )
    acceptance = TermsAcceptance.objects.get(client=client_admin.client)
    as_user(client_admin).post(reverse("terms_accept", args=[acceptance.pk]))
    acceptance.refresh_from_db()
    assert acceptance.status == TermsAcceptance.Status.ACCEPTED


def test_viewer_cannot_accept_terms(as_user, client_viewer, billing_staff, cm):
    terms.terms_publish(
        texts=BOTH_TEXTS, provider=cm, version="2026.3", summary="x", acting_user=billing_staff
    )
    acceptance = TermsAcceptance.objects.get(client=client_viewer.client)
    assert (
        as_user(client_viewer).post(reverse("terms_accept", args=[acceptance.pk])).status_code
        == 403
    )


def test_another_clients_terms_answer_404(as_user, other_admin, client_admin, billing_staff, cm):
    terms.terms_publish(
        texts=BOTH_TEXTS, provider=cm, version="2026.4", summary="x", acting_user=billing_staff
    )
    acceptance = TermsAcceptance.objects.get(client=client_admin.client)
    assert (
        as_user(other_admin).post(reverse("terms_accept", args=[acceptance.pk])).status_code == 404
    )


def test_staff_publish_terms(as_user, billing_staff, client_company, cm):
    c = as_user(billing_staff)
    response = c.post(
        reverse("terms_publish"),
        {
            "provider": cm.pk,
            "version": "2027.1",
            "summary": "Prices",
            "text_en": "Terms",
            "text_zh_hans": "条款",
        },
    )
    assert response.status_code == 302
    terms = TermsVersion.objects.get(version="2027.1")
    assert TermsAcceptance.objects.filter(terms=terms, client=client_company).exists()
    duplicate = c.post(
        reverse("terms_publish"),
        {"provider": cm.pk, "version": "2027.1", "summary": "Again", "text_en": "T"},
    )
    assert "already has a terms version" in duplicate.content.decode()
