"""Terms versions (art. 18.3): publication, objection within the month, deemed acceptance."""

import datetime as dt

import pytest

from accounts import selectors
from accounts.kernel.errors import ApplicationError, NotAllowed, ValidationFailed
from accounts.models import Client, Notification, TermsAcceptance
from accounts.services import onboarding, terms
from tests.accounts.clock import DEADLINE, PUBLISHED
from tests.accounts.factories import BOTH_TEXTS, ClientFactory

pytestmark = pytest.mark.usefixtures("fast_password_hashing")


def test_publishing_notifies_every_active_client_with_a_one_month_deadline(
    cm,
    cx,
    client_company,
    client_admin,
    other_company,
    billing_staff,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    pending = ClientFactory(provider=cm, status=Client.Status.PENDING)
    rejected = ClientFactory(provider=cm, status=Client.Status.REJECTED)
    dutch = ClientFactory(provider=cx)
    with django_capture_on_commit_callbacks(execute=True):
        version = terms.terms_publish(
            texts=BOTH_TEXTS,
            provider=cm,
            version="2026.1",
            summary="New fees",
            acting_user=billing_staff,
            now=PUBLISHED,
        )
    version.refresh_from_db()
    assert version.published_at == PUBLISHED
    assert version.published_by == billing_staff
    acceptances = TermsAcceptance.objects.filter(terms=version)
    assert set(acceptances.values_list("client_id", flat=True)) == {
        client_company.pk,
        other_company.pk,
    }
    for acceptance in acceptances:
        assert acceptance.status == TermsAcceptance.Status.PENDING
        assert acceptance.notified_at == PUBLISHED
        assert acceptance.objection_deadline == DEADLINE
    for client in (pending, rejected, dutch):
        assert not TermsAcceptance.objects.filter(client=client).exists()
    assert (
        Notification.objects.filter(key__startswith=f"terms-published:{version.pk}:").count() == 2
    )
    assert len(mailoutbox) == 2
    mine = next(m for m in mailoutbox if client_admin.email in m.to)
    assert "2026-04-10" in mine.body
    assert "New fees" in mine.body


def test_publishing_needs_a_version_and_summary_and_staff(
    cm, client_company, client_admin, billing_staff
):
    with pytest.raises(ValidationFailed) as exc:
        terms.terms_publish(
            texts=BOTH_TEXTS, provider=cm, version=" ", summary=" ", acting_user=billing_staff
        )
    assert {"version", "summary"} <= set(exc.value.errors)
    with pytest.raises(NotAllowed):
        terms.terms_publish(
            texts=BOTH_TEXTS, provider=cm, version="1", summary="x", acting_user=client_admin
        )
    terms.terms_publish(
        texts=BOTH_TEXTS, provider=cm, version="1", summary="x", acting_user=billing_staff
    )
    with pytest.raises(ValidationFailed) as exc:
        terms.terms_publish(
            texts=BOTH_TEXTS, provider=cm, version="1", summary="y", acting_user=billing_staff
        )
    assert "version" in exc.value.errors
    assert TermsAcceptance.objects.filter(client=client_company).count() == 1


@pytest.mark.parametrize("moment", [PUBLISHED, DEADLINE - dt.timedelta(seconds=1), DEADLINE])
def test_a_client_admin_may_object_until_the_deadline(
    published,
    client_company,
    client_admin,
    billing_staff,
    moment,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    v1, v2 = published
    acceptance = TermsAcceptance.objects.get(client=client_company, terms=v2)
    with django_capture_on_commit_callbacks(execute=True):
        terms.terms_object(
            acceptance=acceptance, acting_user=client_admin, reason="Fees too high", now=moment
        )
    acceptance.refresh_from_db()
    assert acceptance.status == TermsAcceptance.Status.OBJECTED
    assert acceptance.objection_reason == "Fees too high"
    assert acceptance.decided_by == client_admin
    assert acceptance.decided_at == moment
    # the previous terms still apply
    assert selectors.client_current_terms(client=client_company) == v1
    # the deemed-acceptance job leaves the objection alone
    terms.terms_deem_accepted(now=DEADLINE + dt.timedelta(days=1))
    acceptance.refresh_from_db()
    assert acceptance.status == TermsAcceptance.Status.OBJECTED
    assert selectors.client_current_terms(client=client_company) == v1
    assert Notification.objects.filter(key=f"terms-objection:{acceptance.pk}").count() == 1
    assert [m.to for m in mailoutbox] == [[billing_staff.email]]


def test_an_objection_after_the_deadline_is_refused(published, client_company, client_admin):
    _, v2 = published
    acceptance = TermsAcceptance.objects.get(client=client_company, terms=v2)
    with pytest.raises(ApplicationError) as exc:
        terms.terms_object(
            acceptance=acceptance,
            acting_user=client_admin,
            reason="Late",
            now=DEADLINE + dt.timedelta(seconds=1),
        )
    assert exc.value.article == "18.3"
    acceptance.refresh_from_db()
    assert acceptance.status == TermsAcceptance.Status.PENDING
    assert acceptance.objection_reason == ""


@pytest.mark.parametrize("role_fixture", ["client_viewer", "other_admin"])
def test_only_an_admin_of_the_client_may_object(request, published, client_company, role_fixture):
    user = request.getfixturevalue(role_fixture)
    acceptance = TermsAcceptance.objects.get(client=client_company, terms=published[1])
    with pytest.raises(NotAllowed):
        terms.terms_object(acceptance=acceptance, acting_user=user, reason="No", now=PUBLISHED)
    acceptance.refresh_from_db()
    assert acceptance.status == TermsAcceptance.Status.PENDING


def test_an_objection_needs_a_reason(published, client_company, client_admin):
    acceptance = TermsAcceptance.objects.get(client=client_company, terms=published[1])
    with pytest.raises(ValidationFailed) as exc:
        terms.terms_object(
            acceptance=acceptance, acting_user=client_admin, reason="  ", now=PUBLISHED
        )
    assert "reason" in exc.value.errors
    acceptance.refresh_from_db()
    assert acceptance.status == TermsAcceptance.Status.PENDING


def test_without_objection_the_terms_are_deemed_accepted_once(
    published, client_company, other_company, client_admin
):
    v1, v2 = published
    assert selectors.client_current_terms(client=client_company) == v1
    assert (
        terms.terms_deem_accepted(now=DEADLINE) == 0
    )  # the month is not over at the deadline itself
    assert terms.terms_deem_accepted(now=DEADLINE + dt.timedelta(seconds=1)) == 2
    for client in (client_company, other_company):
        acceptance = TermsAcceptance.objects.get(client=client, terms=v2)
        assert acceptance.status == TermsAcceptance.Status.DEEMED_ACCEPTED
        assert acceptance.decided_at == DEADLINE + dt.timedelta(seconds=1)
        assert selectors.client_current_terms(client=client) == v2
    assert terms.terms_deem_accepted(now=DEADLINE + dt.timedelta(days=1)) == 0
    assert TermsAcceptance.objects.get(
        client=client_company, terms=v2
    ).decided_at == DEADLINE + dt.timedelta(seconds=1)
    # and it can no longer be objected to
    with pytest.raises(ApplicationError):
        terms.terms_object(
            acceptance=TermsAcceptance.objects.get(client=client_company, terms=v2),
            acting_user=client_admin,
            reason="Too late",
            now=DEADLINE - dt.timedelta(days=1),
        )


def test_explicit_acceptance_moves_the_client_to_the_new_terms(
    published, client_company, client_admin
):
    _, v2 = published
    acceptance = TermsAcceptance.objects.get(client=client_company, terms=v2)
    terms.terms_accept(acceptance=acceptance, acting_user=client_admin)
    acceptance.refresh_from_db()
    assert acceptance.status == TermsAcceptance.Status.ACCEPTED
    assert selectors.client_current_terms(client=client_company) == v2
    assert list(selectors.client_pending_terms(client=client_company)) == []


def test_a_new_client_accepts_the_current_terms_on_sign_up(cm, published):
    from tests.accounts.factories import make_uscc
    from tests.conftest import PASSWORD

    uscc = make_uscc(960_001)
    user = onboarding.client_sign_up(
        provider=cm,
        email="new@example.test",
        password=PASSWORD,
        full_name="New",
        company={
            "legal_name": "New Co",
            "address": "Somewhere 1",
            "country": "CN",
            "registration_number": uscc,
            "vat_number": "",
            "billing_email": "ap@new.example",
            "directors": [{"name": "A", "title": "CEO"}],
        },
    )
    assert selectors.client_current_terms(client=user.client) == published[1]


def test_the_job_is_registered(published):
    from accounts.jobs import JOBS

    assert JOBS["terms_deem_accepted"]() == {
        "deemed_accepted": 2
    }  # the 2026-04 deadline has passed by now
    assert JOBS["terms_deem_accepted"]() == {"deemed_accepted": 0}
