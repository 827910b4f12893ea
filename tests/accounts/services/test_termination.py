"""The end of the agreement: a prepaid client's termination at any time (art. 29.6), either
party's notice of default and termination for cause (art. 15.4), the grounds of art. 15.5 with
their evidence, the provider's economic grounds (art. 15.3) and what survives (art. 15.7, 11.1).

Billing's part (art. 15.6, restitution under 29.6) is in tests/portal/test_termination.py.
"""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts import selectors
from accounts.kernel.errors import ApplicationError, NotAllowed, ValidationFailed
from accounts.models import Agreement, Client, Notification
from accounts.services import agreements
from accounts.services import force_majeure as fm
from tests.accounts.clock import AMSTERDAM, SHANGHAI, D, noon
from tests.accounts.factories import (
    AgreementFactory,
    BillingStaffFactory,
    ClientAdminFactory,
    ClientFactory,
    ComplianceOfficerFactory,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_password_hashing")]

PDF = b"%PDF-1.4\n%evidence\n"


START = D(2026, 1, 15)


def company(provider, *, prepaid=False, start=START):
    client = ClientFactory(
        provider=provider,
        billing_mode=Client.BillingMode.PREPAID if prepaid else Client.BillingMode.POSTPAID,
    )
    AgreementFactory(client=client, start_date=start, current_term_end=D(2027, 1, 14))
    ClientAdminFactory(client=client)
    return client


def admin(client):
    return client.users.get()


def unchanged(agreement: Agreement, **expected) -> None:
    agreement.refresh_from_db()
    for field, value in {
        "status": Agreement.Status.ACTIVE,
        "end_date": None,
        "terminated_at": None,
        "termination_ground": "",
        **expected,
    }.items():
        assert getattr(agreement, field) == value, field


# --- Art. 29.6: a prepaid client terminates at any time in writing ------------------------------
def test_a_prepaid_client_terminates_at_once_within_its_initial_term(cm, mailoutbox):
    # given a prepaid client one month into its one-year initial term
    client = company(cm, prepaid=True)
    agreement = client.agreement
    staff = BillingStaffFactory()
    # when it gives notice in writing without a date
    agreements.agreement_give_notice(
        agreement=agreement, party="client", acting_user=admin(client), at=noon(D(2026, 2, 16))
    )
    # then it ends at once, not at the end of the initial term plus notice (art. 15.2)
    agreement.refresh_from_db()
    assert agreement.status == Agreement.Status.TERMINATED
    assert agreement.end_date == D(2026, 2, 16)
    assert agreement.terminated_at == noon(D(2026, 2, 16))
    assert agreement.termination_ground == Agreement.Ground.PREPAID
    assert agreement.terminated_by == Agreement.Party.CLIENT
    assert not selectors.messaging_allowed(client=client)
    notice = Notification.objects.get(key=f"agreement-prepaid-termination:{agreement.pk}")
    assert staff.email in notice.recipients and admin(client).email in notice.recipients
    assert "29.6" in notice.body


@pytest.mark.parametrize(
    ("end_date", "status"),
    [
        (D(2026, 2, 16), Agreement.Status.TERMINATED),  # today: at once
        (D(2026, 2, 17), Agreement.Status.NOTICE_GIVEN),  # tomorrow: on that date
        (D(2026, 3, 31), Agreement.Status.NOTICE_GIVEN),
    ],
)
def test_a_prepaid_client_chooses_its_end_date(cm, end_date, status):
    client = company(cm, prepaid=True)
    agreement = agreements.agreement_terminate_prepaid(
        agreement=client.agreement,
        acting_user=admin(client),
        end_date=end_date,
        reason="Closing the account",
        now=noon(D(2026, 2, 16)),
    )
    agreement.refresh_from_db()
    assert agreement.end_date == end_date
    assert agreement.status == status
    assert agreement.termination_reason == "Closing the account"


def test_a_prepaid_termination_on_a_later_date_ends_the_day_after_it(cm):
    client = company(cm, prepaid=True)
    agreements.agreement_terminate_prepaid(
        agreement=client.agreement,
        acting_user=admin(client),
        end_date=D(2026, 3, 31),
        now=noon(D(2026, 2, 16)),
    )
    assert agreements.agreements_roll(today=D(2026, 3, 31))["terminated"] == 0
    assert agreements.agreements_roll(today=D(2026, 4, 1))["terminated"] == 1
    client.agreement.refresh_from_db()
    assert client.agreement.status == Agreement.Status.TERMINATED


def test_a_prepaid_end_date_in_the_past_is_refused_and_changes_nothing(cm):
    client = company(cm, prepaid=True)
    # 23:00 on Feb 15 UTC is already Feb 16 in Shenzhen: Feb 15 is the past there
    with pytest.raises(ValidationFailed) as exc:
        agreements.agreement_terminate_prepaid(
            agreement=client.agreement,
            acting_user=admin(client),
            end_date=D(2026, 2, 15),
            now=dt.datetime(2026, 2, 15, 23, 0, tzinfo=dt.UTC),
        )
    assert "end_date" in exc.value.errors
    unchanged(client.agreement)


def test_a_prepaid_termination_may_bring_an_earlier_notice_forward_only(cm):
    client = company(cm, prepaid=True, start=D(2024, 1, 15))
    # given the ordinary notice recorded by staff for the client (art. 15.2): ends Jun 10
    staff = BillingStaffFactory()
    agreements.agreement_give_notice(
        agreement=client.agreement, party="provider", acting_user=staff, at=noon(D(2026, 3, 10))
    )
    client.agreement.refresh_from_db()
    assert client.agreement.end_date == D(2026, 6, 10)
    with pytest.raises(ApplicationError) as exc:
        agreements.agreement_terminate_prepaid(
            agreement=client.agreement,
            acting_user=admin(client),
            end_date=D(2026, 6, 10),
            now=noon(D(2026, 3, 11)),
        )
    assert exc.value.field == "end_date"
    agreements.agreement_terminate_prepaid(
        agreement=client.agreement,
        acting_user=admin(client),
        end_date=D(2026, 6, 9),
        now=noon(D(2026, 3, 11)),
    )
    client.agreement.refresh_from_db()
    assert client.agreement.end_date == D(2026, 6, 9)
    assert client.agreement.termination_ground == Agreement.Ground.PREPAID


def test_a_postpaid_client_keeps_the_notice_of_art_15_2(cm):
    client = company(cm)
    with pytest.raises(ApplicationError) as exc:
        agreements.agreement_terminate_prepaid(
            agreement=client.agreement, acting_user=admin(client), now=noon(D(2026, 2, 16))
        )
    assert exc.value.article == "29.6"
    with pytest.raises(ValidationFailed) as exc:
        agreements.agreement_give_notice(
            agreement=client.agreement,
            party="client",
            acting_user=admin(client),
            end_date=D(2026, 3, 1),
            at=noon(D(2026, 2, 16)),
        )
    assert "end_date" in exc.value.errors
    unchanged(client.agreement)
    agreements.agreement_give_notice(
        agreement=client.agreement,
        party="client",
        acting_user=admin(client),
        at=noon(D(2026, 2, 16)),
    )
    client.agreement.refresh_from_db()
    assert client.agreement.end_date == D(2027, 1, 14)  # end of the initial term


def test_only_the_prepaid_clients_admin_terminates_under_29_6(cm, other_admin):
    client = company(cm, prepaid=True)
    for user in (other_admin, ComplianceOfficerFactory()):
        with pytest.raises(NotAllowed):
            agreements.agreement_terminate_prepaid(agreement=client.agreement, acting_user=user)
    unchanged(client.agreement)


# --- Art. 15.4: either party's notice of default, ten working days to remedy ---------------------
@pytest.mark.parametrize(
    ("provider_code", "sent", "deadline"),
    [
        # Thu 12 Feb 2026, Shenzhen: Fri 13, Sat 14 (make-up working day), the Spring Festival
        # 15-23 Feb off, Tue 24 ... Fri 27, Sat 28 (make-up), Mon 2, Tue 3, Wed 4 Mar
        (
            "cm-cn",
            dt.datetime(2026, 2, 12, 12, 0, tzinfo=SHANGHAI),
            dt.datetime(2026, 3, 4, 17, 30, tzinfo=SHANGHAI),
        ),
        # Thu 23 Apr 2026, Amsterdam: Fri 24, (King's Day Mon 27 Apr off), Tue 28 ... Fri 8 May
        (
            "cxengage-nl",
            dt.datetime(2026, 4, 23, 12, 0, tzinfo=AMSTERDAM),
            dt.datetime(2026, 5, 8, 17, 0, tzinfo=AMSTERDAM),
        ),
    ],
)
def test_the_client_gives_notice_of_default_and_terminates_after_the_cure_period(
    provider_code, sent, deadline, mailoutbox, django_capture_on_commit_callbacks
):
    from accounts.models import Provider

    provider = Provider.objects.get(code=provider_code)
    client = company(provider)
    staff = BillingStaffFactory()
    agreement = client.agreement
    with django_capture_on_commit_callbacks(execute=True):
        agreements.agreement_notice_of_default(
            agreement=agreement,
            acting_user=admin(client),
            text="Messages to operator X have failed for weeks",
            now=sent,
        )
    agreement.refresh_from_db()
    assert agreement.default_notice_by == Agreement.Party.CLIENT
    assert agreement.cure_deadline == deadline
    # both sides are told the deadline
    assert len(mailoutbox) == 1
    assert {admin(client).email, staff.email} <= set(mailoutbox[0].to)
    assert deadline.strftime("%Y-%m-%d %H:%M") in mailoutbox[0].body

    # the provider cannot terminate on the client's notice of its own default
    with pytest.raises(ApplicationError) as exc:
        agreements.agreement_terminate_for_cause(
            agreement=agreement, acting_user=staff, reason="x", now=deadline + dt.timedelta(days=1)
        )
    assert exc.value.field == "cure_deadline"
    # nor the client before the cure deadline has passed (up to the deadline itself)
    for moment in (deadline - dt.timedelta(days=1), deadline):
        with pytest.raises(ApplicationError) as exc:
            agreements.agreement_terminate_for_cause(
                agreement=agreement, acting_user=admin(client), reason="Not fixed", now=moment
            )
        assert exc.value.article == "15.4"
    unchanged(agreement, default_notice_by="client")

    after = deadline + dt.timedelta(seconds=1)
    agreements.agreement_terminate_for_cause(
        agreement=agreement, acting_user=admin(client), reason="Not fixed", now=after
    )
    agreement.refresh_from_db()
    assert agreement.status == Agreement.Status.TERMINATED
    assert agreement.terminated_by == Agreement.Party.CLIENT
    assert agreement.termination_ground == Agreement.Ground.DEFAULT
    assert agreement.end_date == deadline.date()


def test_the_providers_notice_of_default_names_the_provider(cm, client_company, billing_staff):
    agreements.agreement_notice_of_default(
        agreement=client_company.agreement, acting_user=billing_staff, text="Unpaid invoices"
    )
    client_company.agreement.refresh_from_db()
    assert client_company.agreement.default_notice_by == Agreement.Party.PROVIDER


def test_staff_of_another_provider_may_not_send_a_notice_of_default(cm, cx, client_company):
    with pytest.raises(ValidationFailed):
        agreements.agreement_notice_of_default(
            agreement=client_company.agreement,
            acting_user=BillingStaffFactory(providers=[cx]),
            text="Unpaid",
        )
    unchanged(client_company.agreement, default_notice_at=None)


# --- Art. 15.5: immediate grounds, each with its evidence ----------------------------------------
@pytest.mark.parametrize("ground", ["insolvency_15_5a", "authorities_15_5c"])
@pytest.mark.parametrize("party", ["client", "provider"])
def test_an_immediate_ground_is_recorded_with_its_evidence(cm, ground, party):
    client = company(cm)
    actor = admin(client) if party == "client" else BillingStaffFactory()
    agreements.agreement_terminate_for_cause(
        agreement=client.agreement,
        acting_user=actor,
        ground=ground,
        reason="Court of Shenzhen, case 2026-123",
        evidence=SimpleUploadedFile("ruling.pdf", PDF),
        now=noon(D(2026, 2, 16)),
    )
    agreement = Agreement.objects.get(pk=client.agreement.pk)
    assert agreement.status == Agreement.Status.TERMINATED
    assert agreement.termination_ground == ground
    assert agreement.terminated_by == party
    assert agreement.termination_reason == "Court of Shenzhen, case 2026-123"
    assert agreement.termination_evidence.name.endswith(".pdf")
    assert agreement.termination_evidence.read() == PDF
    assert agreement.end_date == D(2026, 2, 16)


def test_a_document_alone_is_evidence_enough(cm, billing_staff):
    client = company(cm)
    agreements.agreement_terminate_for_cause(
        agreement=client.agreement,
        acting_user=billing_staff,
        ground="authorities_15_5c",
        evidence=SimpleUploadedFile("order.pdf", PDF),
    )
    client.agreement.refresh_from_db()
    assert client.agreement.status == Agreement.Status.TERMINATED


def test_an_immediate_ground_without_evidence_or_with_a_bad_document_is_refused(cm, billing_staff):
    client = company(cm)
    with pytest.raises(ValidationFailed) as exc:
        agreements.agreement_terminate_for_cause(
            agreement=client.agreement, acting_user=billing_staff, ground="insolvency_15_5a"
        )
    assert "reason" in exc.value.errors
    with pytest.raises(ValidationFailed) as exc:
        agreements.agreement_terminate_for_cause(
            agreement=client.agreement,
            acting_user=billing_staff,
            ground="insolvency_15_5a",
            reason="Bankrupt",
            evidence=SimpleUploadedFile("ruling.pdf", b"<html>not a pdf</html>"),
        )
    assert "evidence" in exc.value.errors
    with pytest.raises(ValidationFailed) as exc:
        agreements.agreement_terminate_for_cause(
            agreement=client.agreement,
            acting_user=billing_staff,
            ground="economic_15_3",
            reason="x",
        )
    assert "ground" in exc.value.errors
    unchanged(client.agreement)
    assert not client.agreement.termination_evidence


def _force_majeure(provider, client, started_at):
    return fm.force_majeure_log(
        provider=provider,
        started_at=started_at,
        description="Operator network outage",
        services_affected="SMS",
        affected_clients=[client],
        acting_user=BillingStaffFactory(),
    )


def test_force_majeure_over_20_working_days_opens_termination_to_either_party(cm):
    # a situation that arose on Tue 10 Feb 2026, before the Spring Festival: the 20th working
    # day after it (Sat 14 Feb and Sat 28 Feb being make-up working days) is Mon 16 Mar
    client = company(cm)
    situation = _force_majeure(cm, client, dt.datetime(2026, 2, 10, 9, 0, tzinfo=SHANGHAI))
    opens = dt.datetime(2026, 3, 16, 17, 30, tzinfo=SHANGHAI)
    assert situation.termination_right_from == opens
    with pytest.raises(ApplicationError) as exc:
        agreements.agreement_terminate_for_cause(
            agreement=client.agreement,
            acting_user=admin(client),
            ground="force_majeure_15_5b",
            force_majeure=situation,
            now=opens - dt.timedelta(minutes=1),
        )
    assert (exc.value.field, exc.value.article) == ("force_majeure", "15.5")
    unchanged(client.agreement)

    agreements.agreement_terminate_for_cause(
        agreement=client.agreement,
        acting_user=admin(client),
        ground="force_majeure_15_5b",
        force_majeure=situation,
        now=opens,
    )
    client.agreement.refresh_from_db()
    assert client.agreement.termination_ground == Agreement.Ground.FORCE_MAJEURE
    assert client.agreement.termination_force_majeure == situation
    assert client.agreement.terminated_by == Agreement.Party.CLIENT


def test_force_majeure_that_ended_in_time_or_affects_another_client_gives_no_right(
    cm, billing_staff
):
    client = company(cm)
    other = company(cm)
    started = dt.datetime(2026, 2, 10, 9, 0, tzinfo=SHANGHAI)
    elsewhere = _force_majeure(cm, other, started)
    ended = _force_majeure(cm, client, started)
    fm.force_majeure_end(
        situation=ended, ended_at=started + dt.timedelta(days=3), acting_user=billing_staff
    )
    later = dt.datetime(2026, 4, 1, 12, 0, tzinfo=SHANGHAI)
    for situation, field in (
        (elsewhere, "force_majeure"),
        (ended, "force_majeure"),
        (None, "force_majeure"),
    ):
        with pytest.raises(ApplicationError) as exc:
            agreements.agreement_terminate_for_cause(
                agreement=client.agreement,
                acting_user=billing_staff,
                ground="force_majeure_15_5b",
                force_majeure=situation,
                now=later,
            )
        assert exc.value.field == field or field in getattr(exc.value, "errors", {})
    unchanged(client.agreement)


# --- Art. 15.3: the provider's economic grounds ------------------------------------------------
def test_the_provider_terminates_on_economic_grounds_substantiated_in_writing(
    cm, billing_staff, mailoutbox, django_capture_on_commit_callbacks
):
    client = company(cm)
    with django_capture_on_commit_callbacks(execute=True):
        agreements.agreement_terminate_economic(
            agreement=client.agreement,
            acting_user=billing_staff,
            substantiation="Operator X doubled its termination rates; the service runs at a loss.",
            end_date=D(2026, 4, 30),
            now=noon(D(2026, 2, 16)),
        )
    client.agreement.refresh_from_db()
    assert client.agreement.status == Agreement.Status.NOTICE_GIVEN
    assert client.agreement.end_date == D(2026, 4, 30)
    assert client.agreement.termination_ground == Agreement.Ground.ECONOMIC
    assert client.agreement.terminated_by == Agreement.Party.PROVIDER
    assert admin(client).email in mailoutbox[0].to
    assert "doubled its termination rates" in mailoutbox[0].body
    assert "15.3" in mailoutbox[0].body


def test_economic_termination_needs_a_substantiation_staff_and_no_past_date(cm, billing_staff):
    client = company(cm)
    with pytest.raises(ValidationFailed) as exc:
        agreements.agreement_terminate_economic(
            agreement=client.agreement, acting_user=billing_staff, substantiation="  "
        )
    assert "substantiation" in exc.value.errors
    with pytest.raises(ValidationFailed) as exc:
        agreements.agreement_terminate_economic(
            agreement=client.agreement,
            acting_user=billing_staff,
            substantiation="Loss-making",
            end_date=D(2026, 2, 15),
            now=noon(D(2026, 2, 16)),
        )
    assert "end_date" in exc.value.errors
    with pytest.raises(NotAllowed):
        agreements.agreement_terminate_economic(
            agreement=client.agreement, acting_user=admin(client), substantiation="We want out"
        )
    unchanged(client.agreement)


# --- Art. 15.7 and 11.1: what survives -----------------------------------------------------------
@pytest.mark.parametrize(
    ("end_date", "confidential_until"),
    [(D(2026, 2, 16), D(2027, 2, 16)), (D(2028, 2, 29), D(2029, 2, 28))],
)
def test_survival_and_the_end_of_confidentiality_one_year_after_the_end(
    cm, billing_staff, end_date, confidential_until
):
    client = company(cm)
    assert selectors.agreement_survival(agreement=client.agreement) is None
    Agreement.objects.filter(pk=client.agreement.pk).update(
        status=Agreement.Status.TERMINATED, end_date=end_date
    )
    client.agreement.refresh_from_db()
    survival = selectors.agreement_survival(agreement=client.agreement)
    assert survival["confidentiality_until"] == confidential_until
    assert [a["article"] for a in survival["articles"]] == [
        "6",
        "9",
        "11",
        "12",
        "13",
        "14",
        "15.6–15.7",
        "17",
    ]


def test_a_default_recorded_as_remedied_gives_no_termination_for_cause(cm, billing_staff):
    # given the provider's notice of default, sent Thu 12 Feb 2026 (cure deadline Wed 4 Mar)
    client = company(cm)
    agreement = client.agreement
    sent = dt.datetime(2026, 2, 12, 12, 0, tzinfo=SHANGHAI)
    agreements.agreement_notice_of_default(
        agreement=agreement, acting_user=billing_staff, text="Unpaid invoices", now=sent
    )
    # the client in default cannot record its own failure as remedied
    with pytest.raises(ApplicationError) as exc:
        agreements.agreement_default_remedied(agreement=agreement, acting_user=admin(client))
    assert exc.value.field == "default_notice_at"
    agreement.refresh_from_db()
    assert agreement.default_remedied_at is None
    # the provider, which sent it, does
    agreements.agreement_default_remedied(agreement=agreement, acting_user=billing_staff)
    agreement.refresh_from_db()
    assert agreement.default_remedied_at is not None
    with pytest.raises(ApplicationError):
        agreements.agreement_default_remedied(agreement=agreement, acting_user=billing_staff)
    # after the deadline there is no termination on that notice
    after = dt.datetime(2026, 3, 4, 17, 31, tzinfo=SHANGHAI)
    with pytest.raises(ApplicationError) as exc:
        agreements.agreement_terminate_for_cause(
            agreement=agreement, acting_user=billing_staff, reason="Unpaid", now=after
        )
    assert exc.value.field == "cure_deadline"
    unchanged(agreement, default_notice_by="provider")
    # a new notice of default starts a new cure period
    agreements.agreement_notice_of_default(
        agreement=agreement, acting_user=billing_staff, text="Unpaid again", now=after
    )
    agreement.refresh_from_db()
    assert agreement.default_remedied_at is None
    assert agreement.cure_deadline > after
