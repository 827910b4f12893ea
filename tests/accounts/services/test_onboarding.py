"""Clients and onboarding (art. 5.5, 29.7): sign-up, validation, one registration per entity, approval."""

import threading
from datetime import timedelta

import pytest
from django.db import connection

from accounts.kernel.dates import add_months, local_date
from accounts.kernel.errors import ApplicationError, NotAllowed, ValidationFailed
from accounts.models import Agreement, Client, Director, Invitation, Notification, User
from accounts.services import onboarding, terms, users
from tests.accounts.factories import (
    BOTH_TEXTS,
    ClientFactory,
    ComplianceOfficerFactory,
    make_kvk,
    make_uscc,
)
from tests.conftest import PASSWORD

pytestmark = pytest.mark.usefixtures("fast_password_hashing")

VALID_NL_VAT = "NL004495445B01"


def cn_company(n: int = 900_001, **overrides) -> dict:
    uscc = make_uscc(n)
    company = {
        "legal_name": "Shenzhen Example Technology Co., Ltd.",
        "address": "1 Keji Road, Nanshan, Shenzhen",
        "country": "CN",
        "registration_number": uscc,
        "vat_number": uscc,
        "billing_email": "finance@example.cn",
        "directors": [{"name": "Li Wei", "title": "Legal Representative"}],
    }
    company.update(overrides)
    return company


def nl_company(n: int = 900_001, **overrides) -> dict:
    company = {
        "legal_name": "Voorbeeld B.V.",
        "address": "Damrak 1, 1012 LG Amsterdam",
        "country": "NL",
        "registration_number": make_kvk(n),
        "vat_number": VALID_NL_VAT,
        "billing_email": "finance@voorbeeld.nl",
        "directors": [{"name": "Jan de Vries", "title": "Directeur"}],
    }
    company.update(overrides)
    return company


def sign_up(provider, company, email="founder@example.test", **kwargs):
    return onboarding.client_sign_up(
        provider=provider,
        email=email,
        password=PASSWORD,
        full_name="Founding Person",
        company=company,
        **kwargs,
    )


def counts():
    return (
        Client.objects.count(),
        User.objects.count(),
        Director.objects.count(),
        Notification.objects.count(),
    )


def assert_refused(provider, company, field, *, email="founder@example.test", contains=None):
    before = counts()
    with pytest.raises(ValidationFailed) as exc:
        sign_up(provider, company, email=email)
    assert field in exc.value.errors, exc.value.errors
    if contains:
        assert any(contains in message for message in exc.value.errors[field]), exc.value.errors[
            field
        ]
    assert counts() == before  # a refused sign-up changes nothing
    return exc.value


# --- Sign-up ---------------------------------------------------------------------------------
def test_sign_up_creates_a_pending_client_and_its_admin(
    cm, billing_staff, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        user = sign_up(
            cm,
            cn_company(
                directors=[
                    {"name": "Li Wei", "title": "CEO"},
                    {"name": "Wang Fang", "title": "CFO"},
                ]
            ),
        )

    user.refresh_from_db()
    client = user.client
    assert client.status == Client.Status.PENDING
    assert client.provider == cm
    assert client.legal_name == "Shenzhen Example Technology Co., Ltd."
    assert client.registration_number_normalised == make_uscc(900_001)
    assert client.approved_at is None
    assert user.role == User.Role.CLIENT_ADMIN
    assert user.email == "founder@example.test"
    assert user.check_password(PASSWORD)
    assert [(d.name, d.title) for d in client.directors.order_by("pk")] == [
        ("Li Wei", "CEO"),
        ("Wang Fang", "CFO"),
    ]
    assert not Agreement.objects.filter(client=client).exists()  # the agreement starts on approval
    # billing staff are told once
    notification = Notification.objects.get(key=f"client-signed-up:{client.pk}")
    assert notification.recipients == [billing_staff.email]
    assert notification.sent_at is not None
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == [billing_staff.email]
    assert client.legal_name in mailoutbox[0].subject


def test_sign_up_of_a_dutch_company_normalises_numbers(cx):
    user = sign_up(cx, nl_company(registration_number="1000 0042", vat_number="nl 0044.95445.b01"))
    client = user.client
    client.refresh_from_db()
    assert client.registration_number_normalised == "10000042"
    assert client.vat_number == VALID_NL_VAT
    assert client.status == Client.Status.PENDING


def test_sign_up_lower_cases_the_email(cm):
    user = sign_up(cm, cn_company(), email="  Founder@Example.TEST ")
    assert user.email == "founder@example.test"


def test_nothing_is_sent_when_the_sign_up_transaction_rolls_back(
    cm, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationFailed):
        sign_up(cm, cn_company(registration_number="91440300000000000X"))
    assert mailoutbox == []
    assert not Notification.objects.exists()


# --- Registration and VAT numbers (art. 5.5) ------------------------------------------------
@pytest.mark.parametrize(
    "number",
    [
        "91440300000900001A",  # wrong check digit
        "9144030000090000",  # too short
        "ABCDEFGHIJKLMNOPQR",
        "12345678",
    ],
)
def test_invalid_uscc_is_refused_naming_the_field(cm, number):
    exc = assert_refused(
        cm,
        cn_company(registration_number=number, vat_number=""),
        "registration_number",
        contains="Unified Social Credit Code",
    )
    assert "art. 5.5" in exc.errors["registration_number"][0]


@pytest.mark.parametrize("number", ["1234567", "123456789", "1234567A", "KVK12345678", "12-34-56"])
def test_kvk_number_must_have_exactly_eight_digits(cx, number):
    assert_refused(
        cx, nl_company(registration_number=number), "registration_number", contains="8 digits"
    )


@pytest.mark.parametrize("number", ["12345678", "1234 5678", "1234.5678"])
def test_kvk_number_of_eight_digits_is_accepted(cx, number):
    user = sign_up(cx, nl_company(registration_number=number))
    assert user.client.registration_number_normalised == "12345678"


@pytest.mark.parametrize("number", ["NL123456789B01", "NL0044954B01", "NL004495445X01", "DE123"])
def test_invalid_dutch_vat_number_is_refused(cx, number):
    assert_refused(cx, nl_company(vat_number=number), "vat_number", contains="VAT")


def test_valid_vat_number_of_another_eu_country(cx):
    # a German company under the Dutch provider: its VAT number is checked with stdnum.eu.vat
    user = sign_up(
        cx, nl_company(country="DE", registration_number="HRB 12345", vat_number="DE136695976")
    )
    assert user.client.vat_number == "DE136695976"
    assert_refused(
        cx,
        nl_company(country="DE", registration_number="HRB 54321", vat_number="DE136695977"),
        "vat_number",
        email="other@example.test",
    )


def test_blank_vat_number_is_allowed_if_not_applicable(cx):
    user = sign_up(cx, nl_company(vat_number=""))
    assert user.client.vat_number == ""


def test_chinese_taxpayer_number_must_be_the_uscc(cm):
    assert_refused(
        cm,
        cn_company(vat_number=make_uscc(900_002)),
        "vat_number",
        contains="Unified Social Credit Code",
    )
    assert_refused(cm, cn_company(vat_number="CN123"), "vat_number")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("legal_name", ""),
        ("legal_name", "   "),
        ("address", ""),
        ("country", ""),
        ("country", "CHN"),
        ("billing_email", ""),
        ("billing_email", "not-an-email"),
        ("registration_number", ""),
    ],
)
def test_blank_or_malformed_company_fields_are_refused(cm, field, value):
    assert_refused(cm, cn_company(**{field: value}), field)


def test_every_bad_field_is_named_at_once(cm):
    exc = assert_refused(
        cm, cn_company(legal_name="", billing_email="x", registration_number="123"), "legal_name"
    )
    assert {"legal_name", "billing_email", "registration_number"} <= set(exc.errors)


@pytest.mark.parametrize(
    ("email", "password", "field"),
    [
        ("not-an-email", PASSWORD, "email"),
        ("founder@example.test", "short", "password"),
        ("founder@example.test", "password123", "password"),
    ],
)
def test_bad_account_fields_are_refused(cm, email, password, field):
    before = counts()
    with pytest.raises(ValidationFailed) as exc:
        onboarding.client_sign_up(
            provider=cm, email=email, password=password, full_name="F", company=cn_company()
        )
    assert field in exc.value.errors
    assert counts() == before


def test_an_email_already_in_use_is_refused(cm, client_admin):
    assert_refused(cm, cn_company(), "email", email=client_admin.email.upper())


def test_unknown_billing_mode_is_refused(cm):
    before = counts()
    with pytest.raises(ValidationFailed) as exc:
        sign_up(cm, cn_company(), billing_mode="credit")
    assert "billing_mode" in exc.value.errors
    assert counts() == before


# --- Directors (art. 5.5) -------------------------------------------------------------------
@pytest.mark.parametrize(
    "directors",
    [
        [],
        [{"name": "", "title": "CEO"}],
        [{"name": "Li Wei", "title": ""}],
        [{"name": "Li Wei", "title": "CEO"}, {"name": "  ", "title": "CFO"}],
    ],
)
def test_at_least_one_complete_director_is_required(cm, directors):
    assert_refused(cm, cn_company(directors=directors), "directors")


def test_a_sign_up_without_directors_is_refused(cm):
    company = cn_company()
    del company["directors"]
    assert_refused(cm, company, "directors", contains="at least one director")


# --- One registration per legal entity (art. 29.7) -------------------------------------------
@pytest.mark.parametrize(
    "variant",
    [
        lambda n: n,
        lambda n: n.lower(),
        lambda n: f" {n[:6]} {n[6:12]} {n[12:]} ",
        lambda n: f"{n[:8]}-{n[8:]}".lower(),
    ],
)
def test_the_same_uscc_cannot_register_twice(cm, variant):
    uscc = make_uscc(900_010)
    sign_up(cm, cn_company(registration_number=uscc, vat_number=""))
    exc = assert_refused(
        cm,
        cn_company(registration_number=variant(uscc), vat_number="", legal_name="Another name"),
        "registration_number",
        email="second@example.test",
    )
    assert "art. 29.7" in exc.errors["registration_number"][0]


@pytest.mark.parametrize("variant", ["10000077", "1000 0077", " 10000077 ", "1000.0077"])
def test_the_same_kvk_number_cannot_register_twice(cx, variant):
    sign_up(cx, nl_company(registration_number="10000077"))
    assert_refused(
        cx,
        nl_company(registration_number=variant),
        "registration_number",
        email="second@example.test",
    )


def test_an_active_client_blocks_a_new_registration_of_the_same_entity(cm, client_company):
    assert_refused(
        cm,
        cn_company(registration_number=client_company.registration_number.lower(), vat_number=""),
        "registration_number",
    )


def test_the_same_number_may_register_with_the_other_provider(cm, cx):
    # the rule is per provider: one contracting entity, one registration
    uscc = make_uscc(900_020)
    sign_up(cm, cn_company(registration_number=uscc, vat_number=""))
    user = sign_up(
        cx, cn_company(registration_number=uscc, vat_number=""), email="second@example.test"
    )
    assert user.client.provider == cx


def test_the_database_refuses_a_duplicate_registration(cm):
    from django.db import IntegrityError, transaction

    ClientFactory(provider=cm, registration_number="X1", registration_number_normalised="X1")
    with pytest.raises(IntegrityError), transaction.atomic():
        ClientFactory(provider=cm, registration_number="x1", registration_number_normalised="X1")


def test_a_rejected_registration_does_not_block_a_new_one(cm, billing_staff):
    first = sign_up(cm, cn_company(n=900_030)).client
    onboarding.client_reject(client=first, acting_user=billing_staff, reason="Documents unreadable")
    second = sign_up(cm, cn_company(n=900_030), email="second@example.test").client
    second.refresh_from_db()
    first.refresh_from_db()
    assert first.status == Client.Status.REJECTED
    assert second.status == Client.Status.PENDING
    assert second.registration_number_normalised == first.registration_number_normalised


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_sign_ups_of_the_same_company_register_it_once():
    from accounts.models import Provider

    cm = Provider.objects.get(code="cm-cn")
    threads_count = 8
    barrier = threading.Barrier(threads_count)
    results: list[object] = [None] * threads_count

    def attempt(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = onboarding.client_sign_up(
                provider=cm,
                email=f"racer{index}@example.test",
                password=PASSWORD,
                full_name=f"Racer {index}",
                company=cn_company(n=900_040),
            )
        except Exception as exc:  # collected and checked below
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    winners = [r for r in results if isinstance(r, User)]
    losers = [r for r in results if not isinstance(r, User)]
    assert len(winners) == 1, results
    assert len(losers) == threads_count - 1
    for loser in losers:
        assert isinstance(loser, ValidationFailed), repr(loser)
        assert "registration_number" in loser.errors
    assert Client.objects.filter(registration_number_normalised=make_uscc(900_040)).count() == 1
    assert User.objects.filter(email__startswith="racer").count() == 1
    assert User.objects.get(
        email__startswith="racer"
    ).client.registration_number_normalised == make_uscc(900_040)
    assert Director.objects.count() == 1


# --- Staff invitation to onboard ------------------------------------------------------------
def test_staff_invitation_to_onboard_is_marked_used_by_the_sign_up(
    cm, billing_staff, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        invitation, raw = onboarding.onboarding_invite(
            provider=cm, email="new@example.test", acting_user=billing_staff
        )
    assert mailoutbox[0].to == ["new@example.test"]
    assert raw in mailoutbox[0].body
    assert users.invitation_for_token(raw).pk == invitation.pk

    sign_up(cm, cn_company(), email="new@example.test", invitation=invitation)
    invitation.refresh_from_db()
    assert invitation.accepted_at is not None
    with pytest.raises(ApplicationError):
        users.invitation_for_token(raw)


def test_only_billing_staff_invite_companies_to_onboard(cm, client_admin, compliance_officer):
    for user in (client_admin, compliance_officer):
        with pytest.raises(NotAllowed):
            onboarding.onboarding_invite(provider=cm, email="new@example.test", acting_user=user)
    assert not Invitation.objects.exists()


# --- Approval and rejection ------------------------------------------------------------------
def test_approval_activates_the_client_and_starts_its_agreement(
    cm, billing_staff, mailoutbox, django_capture_on_commit_callbacks
):
    user = sign_up(cm, cn_company())
    client = user.client
    mailoutbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        onboarding.client_approve(client=client, acting_user=billing_staff)

    client.refresh_from_db()
    assert client.status == Client.Status.ACTIVE
    assert client.approved_at is not None
    assert client.decided_by == billing_staff
    assert client.history.first().history_user == billing_staff
    agreement = Agreement.objects.get(client=client)
    today = local_date(cm)
    assert agreement.start_date == today
    assert agreement.status == Agreement.Status.ACTIVE
    assert agreement.initial_term_months == cm.initial_term_months == 12
    assert agreement.renewal_term_months == cm.renewal_term_months == 12
    assert agreement.notice_period_months == cm.notice_period_months == 3
    assert agreement.current_term_end == add_months(today, 12) - timedelta(days=1)
    assert (
        Notification.objects.filter(key=f"client-approved:{client.pk}", client=client).count() == 1
    )
    assert len(mailoutbox) == 1
    assert set(mailoutbox[0].to) == {user.email, client.billing_email}
    # neither the new admin nor the company chose a language: cm-cn's default, 简体中文
    assert mailoutbox[0].subject == "贵公司已获批准"


def test_agreement_term_comes_from_the_profile(cx, billing_staff):
    cx.initial_term_months = 24
    cx.notice_period_months = 2
    cx.save()
    client = sign_up(cx, nl_company()).client
    onboarding.client_approve(client=client, acting_user=billing_staff)
    agreement = Agreement.objects.get(client=client)
    assert agreement.initial_term_months == 24
    assert agreement.notice_period_months == 2
    assert agreement.current_term_end == add_months(agreement.start_date, 24) - timedelta(days=1)


@pytest.mark.parametrize(
    "make_user", [lambda c: ComplianceOfficerFactory(), lambda c: c.users.get()]
)
def test_only_billing_staff_may_approve(cm, make_user):
    client = sign_up(cm, cn_company()).client
    user = make_user(client)
    with pytest.raises(NotAllowed):
        onboarding.client_approve(client=client, acting_user=user)
    with pytest.raises(NotAllowed):
        onboarding.client_reject(client=client, acting_user=user, reason="no")
    client.refresh_from_db()
    assert client.status == Client.Status.PENDING
    assert not Agreement.objects.filter(client=client).exists()


def test_a_client_is_approved_only_once(cm, billing_staff):
    client = sign_up(cm, cn_company()).client
    onboarding.client_approve(client=client, acting_user=billing_staff)
    with pytest.raises(ApplicationError):
        onboarding.client_approve(client=client, acting_user=billing_staff)
    assert Agreement.objects.filter(client=client).count() == 1
    assert Notification.objects.filter(key=f"client-approved:{client.pk}").count() == 1


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_rejection_needs_a_reason(cm, billing_staff, reason):
    client = sign_up(cm, cn_company()).client
    with pytest.raises(ValidationFailed) as exc:
        onboarding.client_reject(client=client, acting_user=billing_staff, reason=reason)
    assert "reason" in exc.value.errors
    client.refresh_from_db()
    assert client.status == Client.Status.PENDING
    assert not Notification.objects.filter(key=f"client-rejected:{client.pk}").exists()


def test_rejection_records_the_reason_and_tells_the_applicant(
    cm, billing_staff, mailoutbox, django_capture_on_commit_callbacks
):
    user = sign_up(cm, cn_company())
    client = user.client
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        onboarding.client_reject(
            client=client, acting_user=billing_staff, reason="  Business licence expired "
        )
    client.refresh_from_db()
    assert client.status == Client.Status.REJECTED
    assert client.rejection_reason == "Business licence expired"
    assert client.decided_by == billing_staff
    assert not Agreement.objects.filter(client=client).exists()
    assert Notification.objects.filter(key=f"client-rejected:{client.pk}").count() == 1
    assert len(mailoutbox) == 1
    assert user.email in mailoutbox[0].to
    assert "Business licence expired" in mailoutbox[0].body
    # a rejected client cannot then be approved
    with pytest.raises(ApplicationError):
        onboarding.client_approve(client=client, acting_user=billing_staff)
    client.refresh_from_db()
    assert client.status == Client.Status.REJECTED


def test_notifications_are_recorded_once_per_key(
    cm, mailoutbox, django_capture_on_commit_callbacks
):
    from accounts.kernel.notifications import notify

    with django_capture_on_commit_callbacks(execute=True):
        assert notify(key="once", recipients=["a@example.test"], subject="s", body="b") is True
        assert notify(key="once", recipients=["a@example.test"], subject="s", body="b") is False
    assert Notification.objects.filter(key="once").count() == 1
    assert len(mailoutbox) == 1


def test_terms_published_while_pending_are_offered_on_approval(
    cm, billing_staff, django_capture_on_commit_callbacks
):
    """Art. 18.3: a client approved after new terms were published still gets its month to object."""
    from accounts.models import TermsAcceptance
    from accounts.services import onboarding
    from tests.accounts.factories import ClientFactory

    terms.terms_publish(
        texts=BOTH_TEXTS,
        provider=cm,
        version="2026.9",
        summary="New pricing annex.",
        acting_user=billing_staff,
    )
    pending = ClientFactory(provider=cm, status="pending", approved_at=None)

    with django_capture_on_commit_callbacks(execute=True):
        onboarding.client_approve(client=pending, acting_user=billing_staff)

    acceptance = TermsAcceptance.objects.get(client=pending, terms__version="2026.9")
    assert acceptance.status == TermsAcceptance.Status.PENDING
    assert acceptance.objection_deadline > acceptance.notified_at
