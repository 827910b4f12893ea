"""The data-processing pages (issue 5, section 8): role refusals and 404 for another client's ids."""

import pytest

from tests.dataprocessing.factories import log_breach, receive_dsr
from tests.dataprocessing.views import url

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "name, key, extra",
    [
        ("audit_detail", "audit-requests", ()),
        ("audit_action", "audit-requests", ("cancel",)),
        ("audit_action", "audit-requests", ("agree",)),
        ("dsr_detail", "data-subject-requests", ()),
        ("dsr_action", "data-subject-requests", ("instruct",)),
        ("dsr_action", "data-subject-requests", ("cancel",)),
        ("breach_notice_detail", "breach-notices", ()),
        ("record_detail", "client", ()),
        ("record_csv", "client", ()),
        ("record_pdf", "client", ()),
        ("assistance_detail", "assistance-requests", ()),
        ("sub_processor_detail", "sub-processors", ()),
    ],
)
def test_every_page_answers_404_for_another_clients_id(
    as_user, client_admin, theirs, name, key, extra
):
    c = as_user(client_admin)
    target = url(name, theirs[key], *extra)
    missing = url(name, 987654321, *extra)

    statuses = set()
    for method in ("get", "post"):
        response = getattr(c, method)(target)
        assert response.status_code in (404, 405), (method, target, response.status_code)
        assert response.status_code == getattr(c, method)(missing).status_code
        statuses.add(response.status_code)
    assert c.get(target).status_code in (404, 405)
    # a 405 alone would say nothing about scoping: the method the page takes answers 404
    assert 404 in statuses


def test_staff_only_pages_refuse_client_users(
    as_user, client_admin, compliance_officer, cm, client_company
):
    b = log_breach(cm, compliance_officer, client_company)
    c = as_user(client_admin)

    assert c.get(url("breach_detail", b.pk)).status_code == 403
    assert c.post(url("breach_close", b.pk)).status_code == 403
    assert c.post(url("sub_processor_announce")).status_code == 403


def test_lists_show_only_the_clients_own_rows(
    as_user, client_admin, compliance_officer, theirs, client_company
):
    mine = receive_dsr(client_company, compliance_officer)
    c = as_user(client_admin)

    assert [d.pk for d in c.get(url("dsrs")).context["dsrs"]] == [mine.pk]
    assert list(c.get(url("audits")).context["audits"]) == []
    assert list(c.get(url("assistance")).context["requests"]) == []
    assert "theirs" not in c.get(url("assistance")).content.decode()
