"""The API of issue 13 §4 in data processing: `active_from` is refused on the register (GDPR
art. 28(2)), objections are decided, and certifications go only to a declared non-competitor
(art. 21.7.1)."""

import pytest

from dataprocessing.models import AuditRequest, SubProcessor
from dataprocessing.services import sub_processors
from tests.dataprocessing.factories import AuditRequestFactory, register_sub_processor

pytestmark = pytest.mark.django_db
ENTRY = {
    "provider": "cm-cn",
    "name": "Carrier Ltd",
    "kind": "third_party",
    "country": "DE",
    "services": "SMS termination",
    "agreement_date": "2026-01-05",
}


def test_the_api_refuses_active_from_on_create_and_update(api, compliance_officer, cm):
    c = api(compliance_officer)
    created = c.post(
        "/api/v1/sub-processors/", {**ENTRY, "active_from": "2026-01-06"}, format="json"
    )
    assert created.status_code == 400
    assert [e["field"] for e in created.data["errors"]] == ["active_from"]
    assert not SubProcessor.objects.exists()

    sp = register_sub_processor(cm, compliance_officer, active=False)
    patched = c.patch(
        f"/api/v1/sub-processors/{sp.pk}/",
        {"active_from": "2026-01-06", "name": "X"},
        format="json",
    )
    assert patched.status_code == 400
    assert [e["field"] for e in patched.data["errors"]] == ["active_from"]
    sp.refresh_from_db()
    assert (sp.active_from, sp.name) == (None, "Acme Cloud BV")
    # without it, the entry is registered, not yet in use
    ok = c.post("/api/v1/sub-processors/", ENTRY, format="json")
    assert ok.status_code == 201 and ok.data["active_from"] is None


def test_staff_decide_an_objection_and_the_client_reads_the_answer(
    api, compliance_officer, client_admin, cm
):
    sp = register_sub_processor(cm, compliance_officer, active=False)
    change = sub_processors.sub_processor_change_announce(
        provider=cm, sub_processor=sp, kind="addition", acting_user=compliance_officer
    )
    objection = sub_processors.sub_processor_object(
        change=change, client=client_admin.client, acting_user=client_admin, reason="No"
    )
    missing = api(compliance_officer).post(
        f"/api/v1/sub-processor-objections/{objection.pk}/resolve/",
        {"resolution": "Answer"},
        format="json",
    )
    assert missing.status_code == 400
    assert [e["field"] for e in missing.data["errors"]] == ["decision"]

    decided = api(compliance_officer).post(
        f"/api/v1/sub-processor-objections/{objection.pk}/resolve/",
        {"resolution": "We keep the data in the EEA", "decision": "rejected"},
        format="json",
    )
    assert decided.status_code == 200, decided.data
    seen = api(client_admin).get(f"/api/v1/sub-processor-changes/{change.pk}/")
    [own] = seen.data["objections"]
    assert (own["decision"], own["resolution"]) == ("rejected", "We keep the data in the EEA")


def test_an_information_request_needs_the_requesters_declaration(api, client_admin):
    c = api(client_admin)
    refused = c.post("/api/v1/audit-requests/", {"kind": "information"}, format="json")
    assert refused.status_code == 400
    assert [e["field"] for e in refused.data["errors"]] == ["requester_not_competitor"]
    assert refused.data["errors"][0]["article"] == "21.7.1"
    assert not AuditRequest.objects.exists()
    created = c.post(
        "/api/v1/audit-requests/",
        {"kind": "information", "requester_not_competitor": True},
        format="json",
    )
    assert created.status_code == 201
    assert created.data["requester_not_competitor"] is True
    assert created.data["requester_declared_at"]


def test_the_declaration_is_given_later_before_release(api, client_admin, compliance_officer):
    info = AuditRequestFactory(
        client=client_admin.client,
        kind=AuditRequest.Kind.INFORMATION,
        requested_by=client_admin,
        requester_not_competitor=False,
    )
    refused = api(compliance_officer).post(f"/api/v1/audit-requests/{info.pk}/complete/")
    assert refused.status_code == 400
    assert refused.data["errors"][0]["field"] == "requester_not_competitor"
    declared = api(client_admin).post(f"/api/v1/audit-requests/{info.pk}/declare/")
    assert declared.status_code == 200 and declared.data["requester_not_competitor"]
    released = api(compliance_officer).post(f"/api/v1/audit-requests/{info.pk}/complete/")
    assert released.status_code == 200 and released.data["status"] == "completed"
