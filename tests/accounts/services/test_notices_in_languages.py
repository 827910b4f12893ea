"""Emails go out in each recipient's language, not the sender's (issue 11 §2): one event, one
email per language among its recipients; a team mailbox reads its provider profile's default."""

import datetime as dt

import pytest
from django.utils import translation

from accounts.kernel.notifications import notify
from accounts.models import Client, Notification
from accounts.services import agreements
from tests.accounts.factories import (
    AgreementFactory,
    BillingStaffFactory,
    ClientAdminFactory,
    ClientFactory,
)

pytestmark = pytest.mark.django_db
D = dt.date


def test_a_chinese_client_admin_and_a_dutch_staff_member_each_read_the_same_notice_in_their_language(
    cm, mailoutbox, django_capture_on_commit_callbacks
):
    # given a cm-cn client whose admin chose no language (简体中文, the profile's default) and a
    # member of billing staff who reads Dutch
    client = ClientFactory(provider=cm, language="")
    admin = ClientAdminFactory(client=client, language="")
    staff = BillingStaffFactory(providers=[cm], language="nl")
    agreement = AgreementFactory(client=client, start_date=D(2024, 1, 15))
    # when the client gives notice, the sender reading English
    with translation.override("en"), django_capture_on_commit_callbacks(execute=True):
        agreements.agreement_give_notice(
            agreement=agreement,
            party="client",
            acting_user=admin,
            at=dt.datetime(2026, 3, 10, 4, tzinfo=dt.UTC),
        )
    # then one email each, in the reader's language, subject and body
    by_reader = {tuple(sorted(m.to)): m for m in mailoutbox}
    chinese = next(m for to, m in by_reader.items() if admin.email in to)
    dutch = next(m for to, m in by_reader.items() if staff.email in to)
    assert chinese is not dutch
    assert client.billing_email in chinese.to and staff.email not in chinese.to
    assert chinese.subject == "终止通知：协议于 2026-06-10 终止"
    assert "客户已于 2026-03-10 发出终止通知" in chinese.body
    assert dutch.to == [staff.email]
    assert dutch.subject == "Opzegging: de overeenkomst eindigt op 2026-06-10"
    assert "Opgezegd door de klant op 2026-03-10" in dutch.body
    # recorded once per language under the notice's key
    keys = set(Notification.objects.values_list("key", flat=True))
    assert keys == {f"agreement-notice:{agreement.pk}", f"agreement-notice:{agreement.pk}#nl"}


def test_a_team_mailbox_reads_the_provider_profiles_default_language(cm, cx):
    cm.staff_email = "billing-team@cm.example"
    cm.save(update_fields=["staff_email"])
    notify(
        key="mailbox-test",
        recipients=["billing-team@cm.example"],
        subject=lambda: translation.gettext("Your service has resumed"),
        body="",
        provider=cm,
    )
    notify(
        key="mailbox-test-cx",
        recipients=["billing-team@cx.example"],
        subject=lambda: translation.gettext("Your service has resumed"),
        body="",
        provider=cx,
    )
    assert Notification.objects.get(key="mailbox-test").subject == "您的服务已恢复"
    assert Notification.objects.get(key="mailbox-test-cx").subject == "Your service has resumed"


def test_a_repeated_notice_records_nothing_in_any_language(cm):
    client = ClientFactory(provider=cm, language="")
    ClientAdminFactory(client=client, language="en")
    recipients = [u.email for u in client.users.all()] + [client.billing_email]

    def send():
        return notify(
            key="once",
            client=client,
            recipients=recipients,
            subject=lambda: translation.gettext("Your service has resumed"),
            body="",
        )

    assert send() is True
    assert Notification.objects.filter(key__startswith="once").count() == 2
    assert send() is False
    assert Notification.objects.filter(key__startswith="once").count() == 2


def test_a_prepaid_termination_reaches_the_chinese_admin_in_chinese_and_dutch_staff_in_dutch(
    cm, mailoutbox, django_capture_on_commit_callbacks
):
    # given a cm-cn prepaid client whose admin chose no language (简体中文, the profile's
    # default) and a member of billing staff who reads Dutch
    client = ClientFactory(provider=cm, language="", billing_mode=Client.BillingMode.PREPAID)
    admin = ClientAdminFactory(client=client, language="")
    staff = BillingStaffFactory(providers=[cm], language="nl")
    agreement = AgreementFactory(client=client, start_date=D(2024, 1, 15))
    # when the admin terminates in writing (art. 29.6) from a page read in English
    with translation.override("en"), django_capture_on_commit_callbacks(execute=True):
        agreements.agreement_terminate_prepaid(
            agreement=agreement,
            acting_user=admin,
            end_date=D(2026, 3, 31),
            reason="Closing the account",
            now=dt.datetime(2026, 3, 10, 4, tzinfo=dt.UTC),
        )
    # then the admin reads it in Chinese, the staff member in Dutch, with the article
    chinese = next(m for m in mailoutbox if admin.email in m.to)
    dutch = next(m for m in mailoutbox if staff.email in m.to)
    assert chinese.subject == "书面终止：协议于 2026-03-31 终止"
    assert f"{client.legal_name} 已于 2026-03-10 终止预付费协议" in chinese.body
    assert "未过期的剩余余额可经书面申请予以退还（第 29.6 条）" in chinese.body
    assert "Closing the account" in chinese.body and "terminated" not in chinese.body
    assert dutch.subject == "Schriftelijke opzegging: de overeenkomst eindigt op 2026-03-31"
    assert "op schriftelijk verzoek worden gerestitueerd (art. 29.6)" in dutch.body
