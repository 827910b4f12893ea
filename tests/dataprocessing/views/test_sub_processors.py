"""The data-processing pages (issue 5, section 8): the sub-processor register and objections."""

import pytest

from dataprocessing.models import SubProcessorObjection
from dataprocessing.services import sub_processors
from tests.dataprocessing.factories import register_sub_processor
from tests.dataprocessing.views import url

pytestmark = pytest.mark.django_db


def test_the_register_shows_history_and_a_client_objects_from_the_list(
    as_user, compliance_officer, client_admin, cm
):
    current = register_sub_processor(cm, compliance_officer)
    future = register_sub_processor(cm, compliance_officer, name="Future Host", active=False)
    change = sub_processors.sub_processor_change_announce(
        provider=cm, sub_processor=future, kind="addition", acting_user=compliance_officer
    )

    detail = as_user(compliance_officer).get(url("sub_processor_detail", current.pk))
    client_list = as_user(client_admin).get(url("sub_processors"))
    objected = as_user(client_admin).post(
        url("sub_processor_object", change.pk), {"reason": "Outside our region"}
    )

    assert detail.status_code == 200 and compliance_officer.email in detail.content.decode()
    html = client_list.content.decode()
    assert current.name in html and "Object to this change" in html
    assert [s.pk for s in client_list.context["sub_processors"]] == [current.pk]
    assert objected.status_code == 302
    assert SubProcessorObjection.objects.get().reason == "Outside our region"


def test_a_compliance_officer_registers_a_sub_processor_and_the_safeguard_rule_shows(
    as_user, compliance_officer, cm
):
    data = {
        "register-provider": cm.pk,
        "register-name": "Offshore Inc",
        "register-kind": "third_party",
        "register-country": "US",
        "register-services": "Storage",
        "register-agreement_date": "2024-01-01",
        "register-safeguard": "",
    }
    c = as_user(compliance_officer)

    refused = c.post(url("sub_processor_register"), data)
    data["register-safeguard"] = "scc"
    accepted = c.post(url("sub_processor_register"), data)

    assert refused.status_code == 400
    assert "safeguard" in refused.context["register_form"].errors
    assert accepted.status_code == 302


def test_client_users_may_not_register_sub_processors(as_user, client_admin):
    assert as_user(client_admin).post(url("sub_processor_register"), {}).status_code == 403


def test_another_providers_change_cannot_be_objected_to(
    as_user, client_admin, compliance_officer, cx
):
    future = register_sub_processor(cx, compliance_officer, active=False)
    change = sub_processors.sub_processor_change_announce(
        provider=cx, sub_processor=future, kind="addition", acting_user=compliance_officer
    )

    assert (
        as_user(client_admin)
        .post(url("sub_processor_object", change.pk), {"reason": "x"})
        .status_code
        == 404
    )
