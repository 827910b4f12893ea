"""Fixtures of the data-processing tests: uploads go to a temporary media root; another
client's objects for the isolation tests of the pages and the API."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from dataprocessing.services import assistance, breaches, sub_processors
from tests.accounts.factories import AgreementFactory, ClientAdminFactory, ClientFactory

from .factories import (
    information_request,
    keep_record,
    log_breach,
    receive_dsr,
    register_sub_processor,
)


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def pdf():
    def _pdf(name="file.pdf"):
        return SimpleUploadedFile(name, b"%PDF-1.4 test", content_type="application/pdf")

    return _pdf


@pytest.fixture
def nl_company(cx):
    client = ClientFactory(provider=cx, address="1 Dam, Amsterdam")
    AgreementFactory(client=client)
    return client


@pytest.fixture
def nl_admin(nl_company):
    return ClientAdminFactory(client=nl_company)


@pytest.fixture
def theirs(other_company, other_admin, compliance_officer, cm, cx):
    """One object of every kind the data-processing pages and API show by id, none the client's
    own (`client_admin`'s): keyed by the API resource, plus the other client itself."""
    their_sp = register_sub_processor(cx, compliance_officer, name="CX host")
    their_future = register_sub_processor(cx, compliance_officer, name="CX future", active=False)
    change = sub_processors.sub_processor_change_announce(
        provider=cx, sub_processor=their_future, kind="addition", acting_user=compliance_officer
    )
    own_future = register_sub_processor(cm, compliance_officer, name="CM future", active=False)
    own_change = sub_processors.sub_processor_change_announce(
        provider=cm, sub_processor=own_future, kind="addition", acting_user=compliance_officer
    )
    objection = sub_processors.sub_processor_object(
        change=own_change, client=other_company, acting_user=other_admin, reason="theirs"
    )
    breach = log_breach(cm, compliance_officer, other_company)
    notice = breach.notifications.get()
    breaches.breach_notify_client(notification=notice, message="x", acting_user=compliance_officer)
    return {
        "client": other_company.pk,
        "sub-processors": their_sp.pk,
        "sub-processor-changes": change.pk,
        "sub-processor-objections": objection.pk,
        "audit-requests": information_request(other_company, other_admin).pk,
        "data-subject-requests": receive_dsr(other_company, compliance_officer).pk,
        "breaches": breach.pk,
        "breach-notices": notice.pk,
        "processing-records": keep_record(other_company, compliance_officer).pk,
        "assistance-requests": assistance.assistance_request_log(
            client=other_company, kind="dpia", description="theirs", acting_user=other_admin
        ).pk,
    }
