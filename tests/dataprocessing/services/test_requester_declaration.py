"""Certifications and security information go only to a client that is not a competitor of the
provider (art. 21.7.1): the requester's declaration is recorded, and checked before release."""

import pytest

from accounts.kernel.errors import ApplicationError, ValidationFailed
from dataprocessing.models import AuditRequest
from dataprocessing.services import audits
from tests.dataprocessing.factories import AuditRequestFactory

INFO = AuditRequest.Kind.INFORMATION


def test_an_information_request_without_the_declaration_is_refused_naming_it(
    client_company, client_admin
):
    with pytest.raises(ValidationFailed) as exc:
        audits.audit_request(client=client_company, kind=INFO, acting_user=client_admin)
    assert list(exc.value.errors) == ["requester_not_competitor"]
    assert exc.value.article == "21.7.1"
    assert client_company.provider.name in exc.value.message
    assert not AuditRequest.objects.exists()


def test_the_declaration_is_recorded_with_who_and_when(client_company, client_admin):
    info = audits.audit_request(
        client=client_company, kind=INFO, acting_user=client_admin, requester_not_competitor=True
    )
    info.refresh_from_db()
    assert info.requester_not_competitor
    assert info.requester_declared_by == client_admin
    assert info.requester_declared_at == info.requested_at


def test_nothing_is_released_for_a_request_logged_without_the_declaration(
    client_company, client_admin, compliance_officer
):
    # given a request logged before the declaration existed
    info = AuditRequestFactory(
        client=client_company, kind=INFO, requested_by=client_admin, requester_not_competitor=False
    )
    # when the compliance officer would release the information, then it is refused
    with pytest.raises(ValidationFailed) as exc:
        audits.audit_complete(audit=info, acting_user=compliance_officer)
    assert exc.value.field == "requester_not_competitor"
    info.refresh_from_db()
    assert info.status == AuditRequest.Status.REQUESTED
    # once the requester declares, it may be released
    audits.audit_declare_not_competitor(audit=info, acting_user=client_admin)
    audits.audit_complete(audit=info, acting_user=compliance_officer)
    info.refresh_from_db()
    assert info.status == AuditRequest.Status.COMPLETED
    assert info.requester_declared_by == client_admin


def test_an_audit_names_its_auditors_declaration_not_this_one(client_company, client_admin):
    audit = AuditRequestFactory(client=client_company, requested_by=client_admin)
    with pytest.raises(ApplicationError) as exc:
        audits.audit_declare_not_competitor(audit=audit, acting_user=client_admin)
    assert exc.value.field == "kind"


def test_an_audit_request_needs_no_requester_declaration(client_company, compliance_officer):
    # the declaration is checked on the release of certifications and security information only
    audit = AuditRequestFactory(
        client=client_company,
        status=AuditRequest.Status.REPORT_SHARED,
        requester_not_competitor=False,
    )
    audits.audit_complete(audit=audit, acting_user=compliance_officer)
    audit.refresh_from_db()
    assert audit.status == AuditRequest.Status.COMPLETED
