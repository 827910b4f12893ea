"""Processing under mandatory law (art. 21.1.2): "If CM is required to Process Personal Data under
mandatory law CM shall inform Client hereof in writing before Processing unless the law
prohibits providing such information." """

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.kernel.errors import NotAllowed, ValidationFailed
from accounts.models import Notification
from dataprocessing import selectors
from dataprocessing.models import MandatoryProcessing
from dataprocessing.services.mandatory import mandatory_processing_record
from tests.accounts.factories import ClientAdminFactory, ClientFactory, ComplianceOfficerFactory

NOW = dt.datetime(2026, 12, 4, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def company(cm):
    return ClientFactory(provider=cm)


@pytest.fixture
def admin(company):
    return ClientAdminFactory(client=company)


def _record(client, user, **kw):
    data = {
        "law": "PRC Cybersecurity Law art. 28 (assistance to public security organs)",
        "description": "Delivery logs of the client's messages of November",
        "starts_at": NOW + dt.timedelta(days=2),
        "now": NOW,
    }
    data.update(kw)
    return mandatory_processing_record(client=client, acting_user=user, **data)


def test_the_client_is_informed_in_writing_before_the_processing(
    company, admin, compliance_officer
):
    record = _record(company, compliance_officer)
    assert record.client_informed_at == NOW
    notice = Notification.objects.get(key=f"mandatory-processing:{record.pk}")
    assert admin.email in notice.recipients
    assert "21.1.2" in notice.body and "Cybersecurity Law" in notice.body
    assert selectors.mandatory_processing_list(user=admin).get() == record


def test_processing_that_starts_in_the_past_cannot_be_informed_before_and_is_refused(
    company, compliance_officer
):
    with pytest.raises(ValidationFailed) as err:
        _record(company, compliance_officer, starts_at=NOW - dt.timedelta(hours=1))
    assert "starts_at" in err.value.errors and err.value.article == "21.1.2"
    assert not MandatoryProcessing.objects.exists()
    assert not Notification.objects.filter(key__startswith="mandatory-processing").exists()


def test_where_the_law_prohibits_informing_the_client_is_not_told_and_never_sees_it(
    company, admin, compliance_officer
):
    record = _record(
        company,
        compliance_officer,
        informing_prohibited=True,
        prohibition_basis="Order of the public security bureau, no disclosure",
        starts_at=NOW - dt.timedelta(days=1),
    )
    assert record.client_informed_at is None
    assert not Notification.objects.filter(key=f"mandatory-processing:{record.pk}").exists()
    assert not selectors.mandatory_processing_list(user=admin).exists()
    assert selectors.mandatory_processing_list(user=compliance_officer).get() == record


def test_a_prohibition_needs_its_basis(company, compliance_officer):
    with pytest.raises(ValidationFailed) as err:
        _record(company, compliance_officer, informing_prohibited=True, prohibition_basis=" ")
    assert "prohibition_basis" in err.value.errors
    assert not MandatoryProcessing.objects.exists()


@pytest.mark.parametrize("field", ["law", "description"])
def test_the_law_and_the_processing_are_named(company, compliance_officer, field):
    with pytest.raises(ValidationFailed) as err:
        _record(company, compliance_officer, **{field: ""})
    assert field in err.value.errors


def test_only_a_compliance_officer_of_the_clients_provider_records_it(
    cx, company, admin, billing_staff
):
    cx_officer = ComplianceOfficerFactory(providers=[cx])
    for user in (admin, billing_staff, cx_officer):
        with pytest.raises(NotAllowed):
            _record(company, user)
    assert not MandatoryProcessing.objects.exists()


def test_the_page_records_it_and_shows_it_to_the_client(
    as_user, company, admin, compliance_officer
):
    web = as_user(compliance_officer)
    starts = (timezone.now() + dt.timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    response = web.post(
        reverse("dataprocessing:mandatory_processing"),
        {
            "client": company.pk,
            "law": "Wet op de inlichtingen- en veiligheidsdiensten",
            "description": "Traffic data",
            "starts_at": starts,
        },
    )
    assert response.status_code == 302
    record = MandatoryProcessing.objects.get()
    page = as_user(admin).get(reverse("dataprocessing:mandatory_processing")).content.decode()
    assert "Wet op de inlichtingen" in page
    assert (
        as_user(admin)
        .get(reverse("dataprocessing:mandatory_processing_detail", args=[record.pk]))
        .status_code
        == 200
    )
