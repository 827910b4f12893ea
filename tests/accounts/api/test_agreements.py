"""API: agreements: notice, default and termination (art. 15)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Agreement
from accounts.services import agreements

pytestmark = pytest.mark.django_db


def test_a_client_sees_its_agreement_and_not_anothers(
    api, client_viewer, client_company, other_company
):
    mine = api(client_viewer).get(f"/api/v1/agreements/{client_company.agreement.pk}/")
    theirs = api(client_viewer).get(f"/api/v1/agreements/{other_company.agreement.pk}/")
    listed = api(client_viewer).get("/api/v1/agreements/")

    assert mine.status_code == 200
    assert mine.data["status"] == "active"
    assert theirs.status_code == 404
    assert [a["id"] for a in listed.data["results"]] == [client_company.agreement.pk]


def test_a_client_admin_gives_notice_for_the_client(api, client_admin, client_company):
    agreement = client_company.agreement

    response = api(client_admin).post(
        f"/api/v1/agreements/{agreement.pk}/give-notice/", {"reason": "Moving on"}
    )

    assert response.status_code == 200, response.data
    assert response.data["status"] == "notice_given"
    assert response.data["notice_given_by"] == "client"
    agreement.refresh_from_db()
    # art. 15.2: not before the end of the initial term
    assert agreement.end_date >= agreement.current_term_end


def test_billing_staff_give_notice_for_the_provider(api, billing_staff, client_company):
    response = api(billing_staff).post(
        f"/api/v1/agreements/{client_company.agreement.pk}/give-notice/", {}
    )

    assert response.status_code == 200
    assert response.data["notice_given_by"] == "provider"


def test_notice_given_twice_is_refused(api, client_admin, client_company):
    url = f"/api/v1/agreements/{client_company.agreement.pk}/give-notice/"
    api(client_admin).post(url, {})

    response = api(client_admin).post(url, {})

    assert response.status_code == 400
    assert response.data["errors"][0]["field"] == "status"


def test_a_viewer_may_not_give_notice(api, client_viewer, client_company):
    response = api(client_viewer).post(
        f"/api/v1/agreements/{client_company.agreement.pk}/give-notice/", {}
    )

    assert response.status_code == 403
    client_company.agreement.refresh_from_db()
    assert client_company.agreement.notice_given_at is None


def test_giving_notice_on_another_clients_agreement_answers_404(api, client_admin, other_company):
    response = api(client_admin).post(
        f"/api/v1/agreements/{other_company.agreement.pk}/give-notice/", {}
    )

    assert response.status_code == 404


def test_a_notice_of_default_sets_a_cure_deadline(api, billing_staff, client_company):
    response = api(billing_staff).post(
        f"/api/v1/agreements/{client_company.agreement.pk}/notice-of-default/",
        {"text": "Unpaid invoices 3 and 4"},
    )

    assert response.status_code == 200
    assert response.data["cure_deadline"]
    assert response.data["default_notice_text"] == "Unpaid invoices 3 and 4"


def test_termination_for_cause_before_the_cure_period_ends_is_refused_with_the_article(
    api, billing_staff, client_company
):
    agreement = client_company.agreement
    agreements.agreement_notice_of_default(
        agreement=agreement, acting_user=billing_staff, text="Unpaid"
    )

    response = api(billing_staff).post(
        f"/api/v1/agreements/{agreement.pk}/terminate/", {"reason": "Unpaid"}
    )

    assert response.status_code == 400
    assert response.data["errors"][0]["field"] == "cure_deadline"
    assert response.data["errors"][0]["article"] == "15.4"
    agreement.refresh_from_db()
    assert agreement.status == Agreement.Status.ACTIVE


def test_termination_for_cause_after_the_cure_period(api, billing_staff, client_company):
    agreement = client_company.agreement
    agreements.agreement_notice_of_default(
        agreement=agreement, acting_user=billing_staff, text="Unpaid"
    )
    Agreement.objects.filter(pk=agreement.pk).update(
        cure_deadline=timezone.now() - timedelta(minutes=1)
    )

    response = api(billing_staff).post(
        f"/api/v1/agreements/{agreement.pk}/terminate/", {"reason": "Still unpaid"}
    )

    assert response.status_code == 200
    assert response.data["status"] == "terminated"


def test_immediate_termination_needs_no_notice_of_default(api, billing_staff, client_company):
    response = api(billing_staff).post(
        f"/api/v1/agreements/{client_company.agreement.pk}/terminate/",
        {"reason": "Insolvency", "ground": "insolvency_15_5a"},
    )

    assert response.status_code == 200
    assert response.data["status"] == "terminated"


@pytest.mark.parametrize("action", ["notice-of-default", "terminate", "terminate-economic"])
def test_a_viewer_may_not_default_or_terminate(api, client_viewer, client_company, action):
    response = api(client_viewer).post(
        f"/api/v1/agreements/{client_company.agreement.pk}/{action}/",
        {"text": "x", "reason": "x", "ground": "insolvency_15_5a", "substantiation": "x"},
    )

    assert response.status_code == 403
    client_company.agreement.refresh_from_db()
    assert client_company.agreement.status == Agreement.Status.ACTIVE
