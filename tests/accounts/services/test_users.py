"""Users and roles (art. 5.2): client admins invite, change and remove their own users."""

import datetime as dt

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import selectors
from accounts.kernel.errors import ApplicationError, NotAllowed, ValidationFailed
from accounts.models import Invitation, Notification, User
from accounts.services import users
from tests.accounts.factories import ClientAdminFactory, ClientViewerFactory, UserFactory
from tests.conftest import PASSWORD

pytestmark = pytest.mark.usefixtures("fast_password_hashing")


# --- Invitations --------------------------------------------------------------------------------
def test_invite_then_accept_creates_a_user_bound_to_the_client(
    client_company, client_admin, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        invitation, raw = users.user_invite(
            client=client_company,
            email=" New.Person@Client.Example ",
            role=User.Role.CLIENT_VIEWER,
            acting_user=client_admin,
        )
    invitation.refresh_from_db()
    assert invitation.email == "new.person@client.example"
    assert invitation.client == client_company
    assert invitation.role == User.Role.CLIENT_VIEWER
    assert invitation.invited_by == client_admin
    assert invitation.token_hash != raw  # only a hash of the token is stored
    assert invitation.expires_at > timezone.now() + dt.timedelta(days=6)
    assert Notification.objects.filter(key=f"invitation:{invitation.pk}").count() == 1
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["new.person@client.example"]
    assert raw in mailoutbox[0].body

    user = users.invitation_accept(raw_token=raw, full_name=" New Person ", password=PASSWORD)

    user.refresh_from_db()
    assert user.email == "new.person@client.example"
    assert user.full_name == "New Person"
    assert user.role == User.Role.CLIENT_VIEWER
    assert user.client == client_company
    assert user.is_active
    assert user.check_password(PASSWORD)
    invitation.refresh_from_db()
    assert invitation.accepted_at is not None
    assert user in selectors.client_users(client=client_company)


def test_an_invitation_is_used_once(client_company, client_admin):
    _, raw = users.user_invite(
        client=client_company,
        email="once@client.example",
        role=User.Role.CLIENT_ADMIN,
        acting_user=client_admin,
    )
    users.invitation_accept(raw_token=raw, full_name="Once", password=PASSWORD)
    with pytest.raises(ApplicationError):
        users.invitation_accept(raw_token=raw, full_name="Twice", password=PASSWORD)
    assert User.objects.filter(email="once@client.example").count() == 1


def test_an_expired_or_unknown_invitation_is_refused(client_company, client_admin):
    invitation, raw = users.user_invite(
        client=client_company,
        email="late@client.example",
        role=User.Role.CLIENT_VIEWER,
        acting_user=client_admin,
    )
    Invitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    with pytest.raises(ApplicationError):
        users.invitation_accept(raw_token=raw, full_name="Late", password=PASSWORD)
    with pytest.raises(ApplicationError):
        users.invitation_accept(raw_token="not-a-token", full_name="Nobody", password=PASSWORD)
    assert not User.objects.filter(email="late@client.example").exists()


def test_a_weak_password_is_refused_on_accepting(client_company, client_admin):
    invitation, raw = users.user_invite(
        client=client_company,
        email="weak@client.example",
        role=User.Role.CLIENT_VIEWER,
        acting_user=client_admin,
    )
    with pytest.raises(ValidationFailed) as exc:
        users.invitation_accept(raw_token=raw, full_name="Weak", password="123")
    assert "password" in exc.value.errors
    invitation.refresh_from_db()
    assert invitation.accepted_at is None
    assert not User.objects.filter(email="weak@client.example").exists()


@pytest.mark.parametrize(
    ("email", "role", "field"),
    [
        ("not-an-email", User.Role.CLIENT_VIEWER, "email"),
        ("ok@client.example", User.Role.BILLING_STAFF, "role"),
        ("ok@client.example", User.Role.PLATFORM, "role"),
        ("ok@client.example", "superuser", "role"),
    ],
)
def test_invitation_input_is_checked(client_company, client_admin, email, role, field):
    with pytest.raises(ValidationFailed) as exc:
        users.user_invite(client=client_company, email=email, role=role, acting_user=client_admin)
    assert field in exc.value.errors
    assert not Invitation.objects.exists()


def test_an_existing_email_cannot_be_invited(client_company, client_admin, other_admin):
    with pytest.raises(ValidationFailed) as exc:
        users.user_invite(
            client=client_company,
            email=other_admin.email.upper(),
            role=User.Role.CLIENT_VIEWER,
            acting_user=client_admin,
        )
    assert "email" in exc.value.errors
    assert not Invitation.objects.exists()


@pytest.mark.parametrize("role_fixture", ["client_viewer", "other_admin", "compliance_officer"])
def test_only_an_admin_of_the_client_or_staff_may_invite(request, client_company, role_fixture):
    user = request.getfixturevalue(role_fixture)
    if user.is_provider_staff:
        # staff may act for a client (the back office); shown here so the rule is explicit
        users.user_invite(
            client=client_company,
            email="x@client.example",
            role=User.Role.CLIENT_VIEWER,
            acting_user=user,
        )
        assert Invitation.objects.count() == 1
        return
    with pytest.raises(NotAllowed):
        users.user_invite(
            client=client_company,
            email="x@client.example",
            role=User.Role.CLIENT_VIEWER,
            acting_user=user,
        )
    assert not Invitation.objects.exists()


# --- Changing roles ------------------------------------------------------------------------------
def test_admin_changes_a_viewer_into_an_admin_and_back(client_admin, client_viewer):
    users.user_change_role(
        user=client_viewer, role=User.Role.CLIENT_ADMIN, acting_user=client_admin
    )
    client_viewer.refresh_from_db()
    assert client_viewer.role == User.Role.CLIENT_ADMIN
    assert client_viewer.history.first().history_user == client_admin
    users.user_change_role(
        user=client_viewer, role=User.Role.CLIENT_VIEWER, acting_user=client_admin
    )
    client_viewer.refresh_from_db()
    assert client_viewer.role == User.Role.CLIENT_VIEWER
    assert client_viewer.client == client_admin.client


@pytest.mark.parametrize(
    "role", [User.Role.BILLING_STAFF, User.Role.COMPLIANCE_OFFICER, User.Role.PLATFORM, "root"]
)
def test_a_client_user_cannot_be_given_a_staff_role(client_admin, client_viewer, role):
    with pytest.raises(ValidationFailed) as exc:
        users.user_change_role(user=client_viewer, role=role, acting_user=client_admin)
    assert "role" in exc.value.errors
    client_viewer.refresh_from_db()
    assert client_viewer.role == User.Role.CLIENT_VIEWER


def test_the_last_admin_cannot_be_demoted(client_admin, client_viewer):
    with pytest.raises(ApplicationError) as exc:
        users.user_change_role(
            user=client_admin, role=User.Role.CLIENT_VIEWER, acting_user=client_admin
        )
    assert exc.value.field == "role"
    client_admin.refresh_from_db()
    assert client_admin.role == User.Role.CLIENT_ADMIN


def test_an_admin_may_step_down_when_another_active_admin_remains(client_company, client_admin):
    second = ClientAdminFactory(client=client_company)
    users.user_change_role(
        user=client_admin, role=User.Role.CLIENT_VIEWER, acting_user=client_admin
    )
    client_admin.refresh_from_db()
    assert client_admin.role == User.Role.CLIENT_VIEWER
    # now `second` is the last admin
    with pytest.raises(ApplicationError):
        users.user_change_role(user=second, role=User.Role.CLIENT_VIEWER, acting_user=second)
    second.refresh_from_db()
    assert second.role == User.Role.CLIENT_ADMIN


def test_an_inactive_admin_does_not_count_as_the_other_admin(client_company, client_admin):
    ClientAdminFactory(client=client_company, is_active=False)
    with pytest.raises(ApplicationError):
        users.user_change_role(
            user=client_admin, role=User.Role.CLIENT_VIEWER, acting_user=client_admin
        )
    with pytest.raises(ApplicationError):
        users.user_remove(user=client_admin, acting_user=client_admin)
    client_admin.refresh_from_db()
    assert client_admin.is_active and client_admin.role == User.Role.CLIENT_ADMIN


def test_an_admin_of_another_client_in_a_different_company_does_not_count(
    client_admin, other_admin
):
    with pytest.raises(ApplicationError):
        users.user_remove(user=client_admin, acting_user=client_admin)


# --- Removing users ---------------------------------------------------------------------------------
def test_removing_a_user_deactivates_it_without_deleting(client_admin, client_viewer):
    users.user_remove(user=client_viewer, acting_user=client_admin)
    client_viewer.refresh_from_db()  # still there
    assert client_viewer.is_active is False
    assert client_viewer.client == client_admin.client
    assert client_viewer.role == User.Role.CLIENT_VIEWER
    assert client_viewer.history.first().history_user == client_admin
    # the removed user's token and session can no longer authenticate: it is inactive
    from accounts.tokens import api_token_authenticate, api_token_issue

    _, raw = api_token_issue(user=client_viewer)
    assert api_token_authenticate(raw) is None


def test_the_last_admin_cannot_be_removed(client_admin):
    with pytest.raises(ApplicationError):
        users.user_remove(user=client_admin, acting_user=client_admin)
    client_admin.refresh_from_db()
    assert client_admin.is_active


def test_an_admin_may_remove_another_admin(client_company, client_admin):
    second = ClientAdminFactory(client=client_company)
    users.user_remove(user=second, acting_user=client_admin)
    second.refresh_from_db()
    assert second.is_active is False
    assert User.objects.filter(pk=second.pk).exists()


@pytest.mark.parametrize("action", ["remove", "change_role", "invite"])
def test_an_admin_of_another_client_cannot_act(
    client_company, client_admin, client_viewer, other_admin, action
):
    with pytest.raises(NotAllowed):
        if action == "remove":
            users.user_remove(user=client_viewer, acting_user=other_admin)
        elif action == "change_role":
            users.user_change_role(
                user=client_viewer, role=User.Role.CLIENT_ADMIN, acting_user=other_admin
            )
        else:
            users.user_invite(
                client=client_company,
                email="x@client.example",
                role=User.Role.CLIENT_ADMIN,
                acting_user=other_admin,
            )
    client_viewer.refresh_from_db()
    assert client_viewer.is_active
    assert client_viewer.role == User.Role.CLIENT_VIEWER
    assert not Invitation.objects.exists()


@pytest.mark.parametrize("action", ["remove", "change_role"])
def test_a_viewer_cannot_manage_users(client_company, client_admin, client_viewer, action):
    other_viewer = ClientViewerFactory(client=client_company)
    with pytest.raises(NotAllowed):
        if action == "remove":
            users.user_remove(user=other_viewer, acting_user=client_viewer)
        else:
            users.user_change_role(
                user=client_viewer, role=User.Role.CLIENT_ADMIN, acting_user=client_viewer
            )
    client_viewer.refresh_from_db()
    other_viewer.refresh_from_db()
    assert client_viewer.role == User.Role.CLIENT_VIEWER
    assert other_viewer.is_active


def test_a_removed_admin_can_no_longer_manage_users(client_company, client_admin, client_viewer):
    second = ClientAdminFactory(client=client_company)
    users.user_remove(user=client_admin, acting_user=second)
    client_admin.refresh_from_db()
    with pytest.raises(NotAllowed):
        users.user_remove(user=client_viewer, acting_user=client_admin)
    with pytest.raises(NotAllowed):
        users.user_invite(
            client=client_company,
            email="x@client.example",
            role=User.Role.CLIENT_VIEWER,
            acting_user=client_admin,
        )
    client_viewer.refresh_from_db()
    assert client_viewer.is_active


# --- The database constraint (art. 5.2) ------------------------------------------------------------
@pytest.mark.parametrize("role", [User.Role.CLIENT_ADMIN, User.Role.CLIENT_VIEWER])
def test_a_client_role_without_a_client_is_refused_by_the_database(db, role):
    with pytest.raises(IntegrityError), transaction.atomic():
        UserFactory(role=role, client=None)
    assert not User.objects.filter(role=role).exists()


@pytest.mark.parametrize(
    "role", [User.Role.BILLING_STAFF, User.Role.COMPLIANCE_OFFICER, User.Role.PLATFORM]
)
def test_a_staff_role_bound_to_a_client_is_refused_by_the_database(client_company, role):
    with pytest.raises(IntegrityError), transaction.atomic():
        UserFactory(role=role, client=client_company)
    assert not User.objects.filter(role=role).exists()


def test_the_constraint_is_also_checked_by_model_validation(client_company):
    from django.core.exceptions import ValidationError

    user = User(email="x@example.test", role=User.Role.CLIENT_ADMIN, client=None)
    with pytest.raises(ValidationError) as exc:
        user.full_clean(exclude=["password"])
    assert "art. 5.2" in str(exc.value)


# --- Race: two admins remove each other at once ----------------------------------------------------
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("action", ["remove", "demote"])
def test_two_admins_removing_each_other_at_once_leave_one_admin(action):
    import threading

    from django.db import connection

    from accounts.models import Provider
    from tests.accounts.factories import ClientFactory

    client = ClientFactory(provider=Provider.objects.get(code="cm-cn"))
    first, second = ClientAdminFactory(client=client), ClientAdminFactory(client=client)
    barrier = threading.Barrier(2)
    results = {}

    def act(actor, target):
        try:
            barrier.wait(timeout=10)
            if action == "remove":
                users.user_remove(user=target, acting_user=actor)
            else:
                users.user_change_role(user=target, role=User.Role.CLIENT_VIEWER, acting_user=actor)
            results[actor.pk] = "ok"
        except Exception as exc:  # checked below
            results[actor.pk] = exc
        finally:
            connection.close()

    threads = [
        threading.Thread(target=act, args=(first, second)),
        threading.Thread(target=act, args=(second, first)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    outcomes = list(results.values())
    assert outcomes.count("ok") == 1, outcomes
    refused = next(o for o in outcomes if o != "ok")
    # the loser gets a clean refusal (the last admin stays, or a removed admin may not act), not a deadlock
    assert isinstance(refused, ApplicationError), repr(refused)
    assert (
        User.objects.filter(client=client, role=User.Role.CLIENT_ADMIN, is_active=True).count() == 1
    )
