"""The pages of issue 13 §4 in data processing: the register form and the admin refuse
`active_from` (GDPR art. 28(2)); staff decide an objection and the client reads the answer;
the certifications page asks for the requester's declaration (art. 21.7.1)."""

import pytest
from django.contrib.auth.models import Permission

from dataprocessing.models import AuditRequest, SubProcessor
from dataprocessing.services import sub_processors
from tests.conftest import login_verified
from tests.dataprocessing.factories import register_sub_processor
from tests.dataprocessing.views import url

pytestmark = pytest.mark.django_db


def test_the_register_form_refuses_active_from(as_user, compliance_officer, cm):
    data = {
        "register-provider": cm.pk,
        "register-name": "Carrier Ltd",
        "register-kind": "third_party",
        "register-country": "DE",
        "register-services": "SMS",
        "register-agreement_date": "2026-01-05",
        "register-active_from": "2026-01-06",
    }
    refused = as_user(compliance_officer).post(url("sub_processor_register"), data)
    assert refused.status_code == 400
    assert "28(2)" in " ".join(refused.context["register_form"].non_field_errors())
    assert not SubProcessor.objects.exists()


def test_the_admin_never_sets_active_from(client, cm, compliance_officer):
    sp = register_sub_processor(cm, compliance_officer, active=False)
    compliance_officer.is_staff = True
    compliance_officer.save()
    compliance_officer.user_permissions.set(
        Permission.objects.filter(codename__in=["view_subprocessor", "change_subprocessor"])
    )
    login_verified(client, compliance_officer)
    page = client.get(f"/admin/dataprocessing/subprocessor/{sp.pk}/change/")
    assert page.status_code == 200
    assert 'name="active_from"' not in page.content.decode()
    client.post(
        f"/admin/dataprocessing/subprocessor/{sp.pk}/change/",
        {
            "provider": cm.pk,
            "name": sp.name,
            "kind": sp.kind,
            "country": sp.country,
            "services": sp.services,
            "agreement_date": "2024-01-01",
            "in_eea": "on",
            "safeguard": "",
            "active_from": "2026-01-06",
        },
    )
    sp.refresh_from_db()
    assert sp.active_from is None


def test_staff_decide_an_objection_on_the_page_and_the_client_reads_the_answer(
    as_user, compliance_officer, client_admin, other_admin, cm
):
    sp = register_sub_processor(cm, compliance_officer, active=False)
    change = sub_processors.sub_processor_change_announce(
        provider=cm, sub_processor=sp, kind="addition", acting_user=compliance_officer
    )
    mine = sub_processors.sub_processor_object(
        change=change, client=client_admin.client, acting_user=client_admin, reason="Mine"
    )
    sub_processors.sub_processor_object(
        change=change, client=other_admin.client, acting_user=other_admin, reason="Theirs"
    )
    staff_page = as_user(compliance_officer).get(url("sub_processors")).content.decode()
    assert "Mine" in staff_page and "Theirs" in staff_page and 'name="decision"' in staff_page

    decided = as_user(compliance_officer).post(
        url("sub_processor_objection_resolve", mine.pk),
        {"decision": "upheld", "resolution": "We withdraw it for you"},
    )
    assert decided.status_code == 302
    mine.refresh_from_db()
    assert (mine.status, mine.decision) == ("resolved", "upheld")

    client_page = as_user(client_admin).get(url("sub_processors")).content.decode()
    assert "We withdraw it for you" in client_page and "Upheld" in client_page
    assert "Theirs" not in client_page


def test_the_information_request_form_needs_the_declaration(as_user, client_admin):
    refused = as_user(client_admin).post(url("audits"), {"kind": "information"})
    assert refused.status_code == 400
    assert "requester_not_competitor" in refused.context["form"].errors
    assert not AuditRequest.objects.exists()
    accepted = as_user(client_admin).post(
        url("audits"), {"kind": "information", "requester_not_competitor": "on"}
    )
    assert accepted.status_code == 302
    assert AuditRequest.objects.get().requester_not_competitor
