"""Pages: the staff's agreement actions on the client page: suspension (art. 7), notice, default and termination (art. 15)."""

import pytest
from django.urls import reverse

from accounts.models import (
    Agreement,
    Suspension,
)

pytestmark = pytest.mark.django_db


def test_staff_suspend_and_resume(as_user, billing_staff, client_company):
    c = as_user(billing_staff)
    c.post(
        reverse("client_suspend", args=[client_company.pk]),
        {"suspend-cause": "breach", "suspend-reason": "Spam"},
    )
    assert Suspension.objects.filter(client=client_company, ended_at=None).count() == 1
    # a second suspension for the same cause is refused, and the page says so
    again = c.post(
        reverse("client_suspend", args=[client_company.pk]),
        {"suspend-cause": "breach", "suspend-reason": "Spam"},
    )
    assert again.status_code == 400 and "already suspended" in again.content.decode()
    c.post(reverse("client_resume", args=[client_company.pk]), {"resume-reason": "Fixed"})
    assert not Suspension.objects.filter(client=client_company, ended_at=None).exists()


def test_staff_give_notice_default_and_terminate(as_user, billing_staff, client_company):
    c = as_user(billing_staff)
    c.post(reverse("client_give_notice", args=[client_company.pk]), {"notice-reason": "Ending"})
    agreement = Agreement.objects.get(client=client_company)
    assert agreement.status == Agreement.Status.NOTICE_GIVEN and agreement.end_date
    c.post(
        reverse("client_notice_of_default", args=[client_company.pk]),
        {"default-text": "Spam complaints"},
    )
    agreement.refresh_from_db()
    assert agreement.cure_deadline is not None
    early = c.post(
        reverse("client_terminate", args=[client_company.pk]),
        {"terminate-ground": "default_15_4", "terminate-reason": "Breach"},
    )
    assert early.status_code == 400 and "cure period" in early.content.decode()
    c.post(
        reverse("client_terminate", args=[client_company.pk]),
        {"terminate-reason": "Insolvent", "terminate-ground": "insolvency_15_5a"},
    )
    agreement.refresh_from_db()
    assert agreement.status == Agreement.Status.TERMINATED
