"""The data-processing API (issue 5, section 8): the sub-processor register, announced changes and
objections."""

import pytest

from dataprocessing.models import SubProcessorChange, SubProcessorObjection
from dataprocessing.services import sub_processors
from tests.dataprocessing.factories import register_sub_processor

pytestmark = pytest.mark.django_db


def test_a_client_sees_the_current_sub_processors_of_its_provider_only(
    api, client_viewer, compliance_officer, cm, cx
):
    current = register_sub_processor(cm, compliance_officer)
    register_sub_processor(cm, compliance_officer, name="Future Ltd", active=False)
    register_sub_processor(cx, compliance_officer, name="Other Provider's Host")

    response = api(client_viewer).get("/api/v1/sub-processors/")

    assert response.status_code == 200
    assert [s["id"] for s in response.data["results"]] == [current.pk]
    assert response.data["results"][0]["provider"] == "cm-cn"


def test_another_providers_sub_processor_answers_404_to_a_client(
    api, client_viewer, compliance_officer, cx
):
    theirs = register_sub_processor(cx, compliance_officer)

    assert api(client_viewer).get(f"/api/v1/sub-processors/{theirs.pk}/").status_code == 404


def test_a_compliance_officer_registers_and_corrects_a_sub_processor(api, compliance_officer):
    c = api(compliance_officer)

    created = c.post(
        "/api/v1/sub-processors/",
        {
            "provider": "cm-cn",
            "name": "Tencent Cloud",
            "kind": "third_party",
            "country": "CN",
            "services": "SMS gateway",
            "agreement_date": "2024-03-01",
            "safeguard": "scc",
        },
        format="json",
    )
    assert created.status_code == 201, created.data
    assert created.data["in_eea"] is False

    patched = c.patch(
        f"/api/v1/sub-processors/{created.data['id']}/", {"active_to": "2030-01-01"}, format="json"
    )
    assert patched.status_code == 200, patched.data
    assert patched.data["active_to"] == "2030-01-01"
    assert patched.data["name"] == "Tencent Cloud"


def test_a_sub_processor_outside_the_eea_without_safeguard_is_refused_with_the_article(
    api, compliance_officer
):
    response = api(compliance_officer).post(
        "/api/v1/sub-processors/",
        {
            "provider": "cm-cn",
            "name": "Offshore",
            "kind": "third_party",
            "country": "US",
            "services": "Storage",
            "agreement_date": "2024-03-01",
        },
        format="json",
    )

    assert response.status_code == 400
    error = response.data["errors"][0]
    assert error["field"] == "safeguard"
    assert error["article"] == "21.10"


def test_client_users_may_not_register_sub_processors(api, client_admin):
    response = api(client_admin).post("/api/v1/sub-processors/", {}, format="json")

    assert response.status_code == 403


def test_a_client_admin_objects_to_an_announced_change_once(
    api, client_admin, compliance_officer, cm
):
    new = register_sub_processor(cm, compliance_officer, name="New Host", active=False)
    c = api(compliance_officer)
    announced = c.post(
        "/api/v1/sub-processor-changes/",
        {"provider": "cm-cn", "kind": "addition", "sub_processor": new.pk},
        format="json",
    )
    assert announced.status_code == 201, announced.data
    change_id = announced.data["id"]

    admin = api(client_admin)
    listed = admin.get("/api/v1/sub-processor-changes/")
    objected = admin.post(
        f"/api/v1/sub-processor-changes/{change_id}/object/",
        {"reason": "Not in the EU"},
        format="json",
    )
    again = admin.post(
        f"/api/v1/sub-processor-changes/{change_id}/object/", {"reason": "Still"}, format="json"
    )

    assert [ch["id"] for ch in listed.data["results"]] == [change_id]
    assert objected.status_code == 201, objected.data
    assert again.status_code == 409
    objection = SubProcessorObjection.objects.get()
    assert objection.client == client_admin.client and objection.reason == "Not in the EU"
    mine = admin.get(f"/api/v1/sub-processor-changes/{change_id}/")
    assert [o["client"] for o in mine.data["objections"]] == [client_admin.client_id]

    resolved = c.post(
        f"/api/v1/sub-processor-objections/{objection.pk}/resolve/",
        {"resolution": "Moved to Frankfurt", "decision": "upheld"},
        format="json",
    )
    assert resolved.status_code == 200
    assert resolved.data["status"] == "resolved"
    assert resolved.data["decision"] == "upheld"


def test_a_client_sees_only_its_own_objection_on_a_change(
    api, client_admin, other_admin, compliance_officer, cm
):
    new = register_sub_processor(cm, compliance_officer, name="New Host", active=False)
    change = sub_processors.sub_processor_change_announce(
        provider=cm, sub_processor=new, kind="addition", acting_user=compliance_officer
    )
    sub_processors.sub_processor_object(
        change=change, client=other_admin.client, acting_user=other_admin, reason="theirs"
    )

    response = api(client_admin).get(f"/api/v1/sub-processor-changes/{change.pk}/")

    assert response.status_code == 200
    assert response.data["objections"] == []


def test_a_client_viewer_may_not_object(api, client_viewer, compliance_officer, cm):
    new = register_sub_processor(cm, compliance_officer, active=False)
    change = sub_processors.sub_processor_change_announce(
        provider=cm, sub_processor=new, kind="addition", acting_user=compliance_officer
    )

    response = api(client_viewer).post(
        f"/api/v1/sub-processor-changes/{change.pk}/object/", {"reason": "x"}, format="json"
    )

    assert response.status_code == 403
    assert not SubProcessorObjection.objects.exists()


def test_sub_processor_changes_of_another_provider_are_not_listed(
    api, client_admin, compliance_officer, cx
):
    future = register_sub_processor(cx, compliance_officer, active=False)
    sub_processors.sub_processor_change_announce(
        provider=cx, sub_processor=future, kind="addition", acting_user=compliance_officer
    )

    assert api(client_admin).get("/api/v1/sub-processor-changes/").data["results"] == []
    assert SubProcessorChange.objects.count() == 1
