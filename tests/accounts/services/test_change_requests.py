"""Changes of registration details (art. 5.5): submitted in writing, applied on acceptance, with history."""

import pytest

from accounts import selectors
from accounts.kernel.errors import ApplicationError, NotAllowed, ValidationFailed
from accounts.models import ChangeRequest, Client, Director, Notification
from accounts.services import change_requests, onboarding, users
from tests.accounts.factories import (
    ClientAdminFactory,
    ClientFactory,
    DirectorFactory,
    make_kvk,
    make_uscc,
)

pytestmark = pytest.mark.usefixtures("fast_password_hashing")


@pytest.fixture
def company(client_company):
    DirectorFactory(client=client_company, name="Li Wei", title="Legal Representative")
    return client_company


def snapshot(client: Client) -> dict:
    client.refresh_from_db()
    return {
        **{field: getattr(client, field) for field in onboarding.COMPANY_FIELDS},
        "registration_number_normalised": client.registration_number_normalised,
        "directors": list(client.directors.values_list("name", "title")),
    }


# --- Submitting -------------------------------------------------------------------------------
def test_client_admin_submits_a_change_with_old_and_new_values(
    company, client_admin, billing_staff, mailoutbox, django_capture_on_commit_callbacks
):
    before = snapshot(company)
    with django_capture_on_commit_callbacks(execute=True):
        request = change_requests.change_request_submit(
            client=company,
            acting_user=client_admin,
            changes={"address": "  88 New Street, Shenzhen ", "billing_email": "ap@client.example"},
        )

    request.refresh_from_db()
    assert request.status == ChangeRequest.Status.PENDING
    assert request.submitted_by == client_admin
    assert request.submitted_at is not None
    assert request.changes == {
        "address": {"old": before["address"], "new": "88 New Street, Shenzhen"},
        "billing_email": {"old": before["billing_email"], "new": "ap@client.example"},
    }
    assert request.history.first().history_user == client_admin
    # nothing applies until staff accept it
    assert snapshot(company) == before
    # billing staff are told
    assert Notification.objects.filter(key=f"change-request:{request.pk}").count() == 1
    assert [m.to for m in mailoutbox] == [[billing_staff.email]]


def test_a_change_of_directors_records_the_lists(company, client_admin):
    request = change_requests.change_request_submit(
        client=company,
        acting_user=client_admin,
        changes={
            "directors": [
                {"name": "Li Wei", "title": "Legal Representative"},
                {"name": "Zhao Min", "title": "CFO"},
            ]
        },
    )
    assert request.changes == {
        "directors": {
            "old": [{"name": "Li Wei", "title": "Legal Representative"}],
            "new": [
                {"name": "Li Wei", "title": "Legal Representative"},
                {"name": "Zhao Min", "title": "CFO"},
            ],
        }
    }


def test_a_viewer_cannot_submit_a_change(company, client_viewer):
    with pytest.raises(NotAllowed):
        change_requests.change_request_submit(
            client=company, acting_user=client_viewer, changes={"address": "Elsewhere"}
        )
    assert not ChangeRequest.objects.exists()


def test_an_admin_of_another_client_cannot_submit_a_change(company, other_admin):
    with pytest.raises(NotAllowed):
        change_requests.change_request_submit(
            client=company, acting_user=other_admin, changes={"address": "Elsewhere"}
        )
    assert not ChangeRequest.objects.exists()


def test_a_deactivated_admin_cannot_submit_a_change(company, client_admin):
    ClientAdminFactory(client=company)  # another admin, so this one may be removed
    users.user_remove(user=client_admin, acting_user=client_admin)
    client_admin.refresh_from_db()
    with pytest.raises(NotAllowed):
        change_requests.change_request_submit(
            client=company, acting_user=client_admin, changes={"address": "Elsewhere"}
        )
    assert not ChangeRequest.objects.exists()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"registration_number": "91440300000000000X"}, "registration_number"),
        ({"registration_number": ""}, "registration_number"),
        ({"vat_number": "CN-NOT-A-USCC"}, "vat_number"),
        ({"billing_email": "not-an-email"}, "billing_email"),
        ({"legal_name": "  "}, "legal_name"),
        ({"address": ""}, "address"),
        ({"country": "CHN"}, "country"),
        ({"directors": []}, "directors"),
        ({"directors": [{"name": "Li Wei", "title": ""}]}, "directors"),
        ({"status": "active"}, "status"),
        ({"registration_number_normalised": "X"}, "registration_number_normalised"),
    ],
)
def test_invalid_new_values_are_refused_naming_the_field(company, client_admin, changes, field):
    before = snapshot(company)
    with pytest.raises(ValidationFailed) as exc:
        change_requests.change_request_submit(
            client=company, acting_user=client_admin, changes=changes
        )
    assert field in exc.value.errors
    assert not ChangeRequest.objects.exists()
    assert not Notification.objects.exists()
    assert snapshot(company) == before


def test_a_dutch_client_change_to_a_bad_kvk_number_is_refused(cx):
    client = ClientFactory(provider=cx)
    admin = ClientAdminFactory(client=client)
    DirectorFactory(client=client)
    with pytest.raises(ValidationFailed) as exc:
        change_requests.change_request_submit(
            client=client, acting_user=admin, changes={"registration_number": "1234567"}
        )
    assert "registration_number" in exc.value.errors
    with pytest.raises(ValidationFailed) as exc:
        change_requests.change_request_submit(
            client=client, acting_user=admin, changes={"vat_number": "NL123456789B01"}
        )
    assert "vat_number" in exc.value.errors


def test_a_change_that_changes_nothing_is_refused(company, client_admin):
    with pytest.raises(ValidationFailed):
        change_requests.change_request_submit(
            client=company, acting_user=client_admin, changes={"address": company.address}
        )
    assert not ChangeRequest.objects.exists()


def test_a_change_to_another_clients_registration_number_is_refused(
    company, other_company, client_admin
):
    # art. 29.7: one registration per legal entity, also through a change request
    taken = other_company.registration_number.lower()
    with pytest.raises(ValidationFailed) as exc:
        change_requests.change_request_submit(
            client=company,
            acting_user=client_admin,
            changes={"registration_number": taken, "vat_number": ""},
        )
    assert "registration_number" in exc.value.errors
    assert "29.7" in exc.value.errors["registration_number"][0]
    assert not ChangeRequest.objects.exists()


def test_a_change_is_refused_at_acceptance_if_the_number_was_taken_meanwhile(
    company, client_admin, billing_staff, cm
):
    new_number = make_uscc(950_001)
    request = change_requests.change_request_submit(
        client=company,
        acting_user=client_admin,
        changes={"registration_number": new_number, "vat_number": new_number},
    )
    ClientFactory(
        provider=cm, registration_number=new_number, registration_number_normalised=new_number
    )
    before = snapshot(company)
    with pytest.raises(ValidationFailed) as exc:
        change_requests.change_request_accept(change_request=request, acting_user=billing_staff)
    assert "registration_number" in exc.value.errors
    request.refresh_from_db()
    assert request.status == ChangeRequest.Status.PENDING
    assert snapshot(company) == before


# --- Accepting and rejecting ------------------------------------------------------------------
def test_staff_accept_applies_the_change_and_history_records_who_and_when(
    company, client_admin, billing_staff, mailoutbox, django_capture_on_commit_callbacks
):
    new_number = make_uscc(950_002)
    old_number = company.registration_number
    request = change_requests.change_request_submit(
        client=company,
        acting_user=client_admin,
        changes={
            "legal_name": "Renamed Technology Co., Ltd.",
            "registration_number": new_number.lower(),
            "vat_number": new_number,
        },
    )
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        change_requests.change_request_accept(
            change_request=request, acting_user=billing_staff, note="Checked the licence"
        )

    company.refresh_from_db()
    assert company.legal_name == "Renamed Technology Co., Ltd."
    assert company.registration_number_normalised == new_number
    assert company.vat_number == new_number
    request.refresh_from_db()
    assert request.status == ChangeRequest.Status.ACCEPTED
    assert request.decided_by == billing_staff
    assert request.decided_at is not None
    assert request.decision_note == "Checked the licence"

    history = selectors.field_history(client=company)
    by_field = {h["field"]: h for h in history}
    assert by_field["legal_name"]["new"] == "Renamed Technology Co., Ltd."
    assert by_field["legal_name"]["by"] == billing_staff.email
    assert by_field["legal_name"]["at"] >= request.submitted_at
    assert by_field["registration_number"]["old"] == old_number
    assert (
        by_field["registration_number"]["new"] == new_number.lower()
    )  # as written; compared normalised
    assert by_field["vat_number"]["old"] == old_number
    # the client's admins are told
    assert Notification.objects.filter(key=f"change-request-decided:{request.pk}").count() == 1
    assert [m.to for m in mailoutbox] == [[client_admin.email]]
    assert "accepted" in mailoutbox[0].subject


def test_accepting_a_change_of_directors_replaces_them_with_history(
    company, client_admin, billing_staff
):
    old = company.directors.get()
    request = change_requests.change_request_submit(
        client=company,
        acting_user=client_admin,
        changes={"directors": [{"name": "Zhao Min", "title": "CEO"}]},
    )
    change_requests.change_request_accept(change_request=request, acting_user=billing_staff)
    assert list(company.directors.values_list("name", "title")) == [("Zhao Min", "CEO")]
    assert not Director.objects.filter(pk=old.pk).exists()
    removed = Director.history.filter(id=old.pk, history_type="-").get()
    assert removed.history_user == billing_staff
    added = Director.history.filter(client_id=company.pk, name="Zhao Min", history_type="+").get()
    assert added.history_user == billing_staff


def test_field_history_lists_every_change_oldest_first(company, client_admin, billing_staff):
    for address in ("First Street 1", "Second Street 2"):
        request = change_requests.change_request_submit(
            client=company, acting_user=client_admin, changes={"address": address}
        )
        change_requests.change_request_accept(change_request=request, acting_user=billing_staff)
    addresses = [
        (h["old"], h["new"])
        for h in selectors.field_history(client=company)
        if h["field"] == "address"
    ]
    assert addresses[-2:] == [
        (addresses[-2][0], "First Street 1"),
        ("First Street 1", "Second Street 2"),
    ]


@pytest.mark.parametrize("role_fixture", ["client_admin", "compliance_officer"])
def test_only_billing_staff_decide_change_requests(request, company, client_admin, role_fixture):
    user = request.getfixturevalue(role_fixture)
    change = change_requests.change_request_submit(
        client=company, acting_user=client_admin, changes={"address": "Elsewhere 1"}
    )
    before = snapshot(company)
    with pytest.raises(NotAllowed):
        change_requests.change_request_accept(change_request=change, acting_user=user)
    with pytest.raises(NotAllowed):
        change_requests.change_request_reject(change_request=change, acting_user=user, note="no")
    change.refresh_from_db()
    assert change.status == ChangeRequest.Status.PENDING
    assert snapshot(company) == before


@pytest.mark.parametrize("note", ["", "  ", None])
def test_rejecting_a_change_needs_a_note(company, client_admin, billing_staff, note):
    change = change_requests.change_request_submit(
        client=company, acting_user=client_admin, changes={"address": "Elsewhere 1"}
    )
    with pytest.raises(ValidationFailed) as exc:
        change_requests.change_request_reject(
            change_request=change, acting_user=billing_staff, note=note
        )
    assert "note" in exc.value.errors
    change.refresh_from_db()
    assert change.status == ChangeRequest.Status.PENDING


def test_rejecting_a_change_keeps_the_details_and_tells_the_client(
    company, client_admin, billing_staff, mailoutbox, django_capture_on_commit_callbacks
):
    change = change_requests.change_request_submit(
        client=company, acting_user=client_admin, changes={"address": "Elsewhere 1"}
    )
    before = snapshot(company)
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        change_requests.change_request_reject(
            change_request=change, acting_user=billing_staff, note="Proof of address missing"
        )
    change.refresh_from_db()
    assert change.status == ChangeRequest.Status.REJECTED
    assert change.decision_note == "Proof of address missing"
    assert change.decided_by == billing_staff
    assert snapshot(company) == before
    assert [m.to for m in mailoutbox] == [[client_admin.email]]
    assert "Proof of address missing" in mailoutbox[0].body


def test_a_decided_change_cannot_be_decided_again(company, client_admin, billing_staff):
    change = change_requests.change_request_submit(
        client=company, acting_user=client_admin, changes={"address": "Elsewhere 1"}
    )
    change_requests.change_request_reject(
        change_request=change, acting_user=billing_staff, note="No"
    )
    with pytest.raises(ApplicationError):
        change_requests.change_request_accept(change_request=change, acting_user=billing_staff)
    company.refresh_from_db()
    assert company.address != "Elsewhere 1"
    change.refresh_from_db()
    assert change.status == ChangeRequest.Status.REJECTED


def test_change_requests_are_listed_only_to_their_client_and_staff(
    company, client_admin, other_admin, billing_staff
):
    change = change_requests.change_request_submit(
        client=company, acting_user=client_admin, changes={"address": "Elsewhere 1"}
    )
    assert list(selectors.change_request_list(user=client_admin)) == [change]
    assert list(selectors.change_request_list(user=other_admin)) == []
    assert list(selectors.change_request_list(user=billing_staff)) == [change]


def test_a_dutch_change_normalises_the_kvk_number(cx, billing_staff):
    client = ClientFactory(provider=cx)
    admin = ClientAdminFactory(client=client)
    DirectorFactory(client=client)
    new = make_kvk(950_003)
    change = change_requests.change_request_submit(
        client=client, acting_user=admin, changes={"registration_number": f"{new[:4]} {new[4:]}"}
    )
    change_requests.change_request_accept(change_request=change, acting_user=billing_staff)
    client.refresh_from_db()
    assert client.registration_number_normalised == new
