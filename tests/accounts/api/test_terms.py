"""API: terms versions and acceptances (art. 18.3)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import TermsAcceptance, TermsVersion
from accounts.services import terms
from tests.accounts.factories import BOTH_TEXTS

pytestmark = pytest.mark.django_db


# --- Terms (art. 18.3) ---------------------------------------------------------------------
def test_staff_publish_terms_and_every_active_client_gets_an_acceptance(
    api, compliance_officer, client_company, other_company
):
    response = api(compliance_officer).post(
        "/api/v1/terms-versions/",
        {
            "provider": "cm-cn",
            "version": "2027.1",
            "summary": "New data-processing annex",
            "texts": BOTH_TEXTS,
        },
    )

    assert response.status_code == 201, response.data
    assert response.data["version"] == "2027.1"
    terms = TermsVersion.objects.get(pk=response.data["id"])
    assert set(terms.acceptances.values_list("client_id", flat=True)) == {
        client_company.pk,
        other_company.pk,
    }


def test_publishing_a_version_twice_names_the_field(api, billing_staff, client_company):
    body = {"provider": "cm-cn", "version": "2027.1", "summary": "New annex", "texts": BOTH_TEXTS}
    first = api(billing_staff).post("/api/v1/terms-versions/", body, format="json")
    assert first.status_code == 201, first.data

    response = api(billing_staff).post("/api/v1/terms-versions/", body, format="json")

    assert response.status_code == 400
    assert response.data["errors"][0]["field"] == "version"


def test_an_unknown_provider_names_the_field(api, billing_staff):
    response = api(billing_staff).post(
        "/api/v1/terms-versions/", {"provider": "nope", "version": "1", "summary": "x"}
    )

    assert response.status_code == 400
    assert response.data["errors"][0]["field"] == "provider"


def test_a_client_admin_may_not_publish_terms(api, client_admin):
    response = api(client_admin).post(
        "/api/v1/terms-versions/", {"provider": "cm-cn", "version": "9", "summary": "x"}
    )

    assert response.status_code == 403


def test_a_client_lists_only_its_providers_published_terms(
    api, client_viewer, billing_staff, cm, cx
):
    mine = terms.terms_publish(
        texts=BOTH_TEXTS, provider=cm, version="2027.1", summary="x", acting_user=billing_staff
    )
    theirs = terms.terms_publish(
        texts=BOTH_TEXTS, provider=cx, version="2027.1", summary="x", acting_user=billing_staff
    )

    listed = api(client_viewer).get("/api/v1/terms-versions/")

    assert [t["id"] for t in listed.data["results"]] == [mine.pk]
    assert api(client_viewer).get(f"/api/v1/terms-versions/{theirs.pk}/").status_code == 404


@pytest.fixture
def pending_terms(billing_staff, client_company, other_company, cm):
    terms.terms_publish(
        texts=BOTH_TEXTS,
        provider=cm,
        version="2027.1",
        summary="New annex",
        acting_user=billing_staff,
    )
    mine = TermsAcceptance.objects.get(client=client_company)
    theirs = TermsAcceptance.objects.get(client=other_company)
    return mine, theirs


def test_a_client_sees_only_its_own_terms_acceptances(api, client_viewer, pending_terms):
    mine, theirs = pending_terms

    listed = api(client_viewer).get("/api/v1/terms-acceptances/")

    assert [a["id"] for a in listed.data["results"]] == [mine.pk]
    assert listed.data["results"][0]["terms"]["version"] == "2027.1"
    assert api(client_viewer).get(f"/api/v1/terms-acceptances/{theirs.pk}/").status_code == 404


def test_a_client_admin_accepts_new_terms_and_the_client_is_on_them(
    api, client_admin, client_company, pending_terms
):
    mine, _ = pending_terms

    response = api(client_admin).post(f"/api/v1/terms-acceptances/{mine.pk}/accept/")
    client = api(client_admin).get(f"/api/v1/clients/{client_company.pk}/")

    assert response.status_code == 200
    assert response.data["status"] == "accepted"
    assert client.data["current_terms"]["version"] == "2027.1"


def test_a_client_admin_objects_to_new_terms_in_writing(api, client_admin, pending_terms):
    mine, _ = pending_terms

    response = api(client_admin).post(
        f"/api/v1/terms-acceptances/{mine.pk}/object/", {"reason": "Annex too broad"}
    )

    assert response.status_code == 200
    assert response.data["status"] == "objected"
    assert response.data["objection_reason"] == "Annex too broad"


def test_an_objection_after_the_month_is_refused_with_the_article(api, client_admin, pending_terms):
    mine, _ = pending_terms
    TermsAcceptance.objects.filter(pk=mine.pk).update(
        objection_deadline=timezone.now() - timedelta(days=1)
    )

    response = api(client_admin).post(
        f"/api/v1/terms-acceptances/{mine.pk}/object/", {"reason": "Late"}
    )

    assert response.status_code == 400
    assert response.data["errors"][0]["article"] == "18.3"


def test_objecting_to_another_clients_terms_answers_404(api, client_admin, pending_terms):
    _, theirs = pending_terms

    response = api(client_admin).post(
        f"/api/v1/terms-acceptances/{theirs.pk}/object/", {"reason": "x"}
    )

    assert response.status_code == 404


def test_a_viewer_may_not_accept_terms(api, client_viewer, pending_terms):
    mine, _ = pending_terms

    assert (
        api(client_viewer).post(f"/api/v1/terms-acceptances/{mine.pk}/accept/").status_code == 403
    )


def test_staff_cancel_the_agreement_after_an_objection(
    api, billing_staff, client_admin, pending_terms
):
    mine, _ = pending_terms
    terms.terms_object(acceptance=mine, acting_user=client_admin, reason="No")

    response = api(billing_staff).post(f"/api/v1/terms-acceptances/{mine.pk}/cancel-agreement/")

    assert response.status_code == 200
    assert response.data["status"] == "notice_given"
    assert response.data["notice_given_by"] == "provider"
