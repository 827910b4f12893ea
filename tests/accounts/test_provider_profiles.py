"""Provider profiles (DESIGN.md, provider profile): seeded by the data migration, edited with history."""

import datetime as dt
from decimal import Decimal

import pytest

from accounts.models import Provider, WorkdayOverride

COMMON = {
    # art. 4.2: the billing period follows CE(S)T for both
    "billing_timezone": "Europe/Amsterdam",
    # art. 4.5
    "payment_term_days": 14,
    # art. 10.2
    "dispute_withhold_threshold_pct": Decimal("5"),
    "dispute_escalation_working_days": 20,
    # art. 4.7
    "deposit_refund_months": 2,
    # art. 26.1
    "message_limit_default": 50_000,
    "limit_notice_pct": 75,
    # art. 29.3
    "credit_usable_after_days": 1,
    "credit_expiry_months": 12,
    # art. 29.7
    "inactive_deletion_months": 3,
    # art. 5.6
    "registration_data_working_days": 3,
    # art. 13.6
    "loss_report_working_days": 10,
    # art. 21.7.2
    "audit_interval_months": 12,
    # art. 21.9, GDPR 28(2)
    "subprocessor_notice_days": 30,
    # art. 21.11
    "breach_notice_hours": 48,
    # art. 18.3
    "terms_objection_months": 1,
    "terms_cancel_notice_months": 1,
    # art. 13.4
    "liability_cap_eur": Decimal("50000"),
    # art. 15.1-15.2, 15.4
    "initial_term_months": 12,
    "renewal_term_months": 12,
    "notice_period_months": 3,
    "cure_period_working_days": 10,
}

EXPECTED = {
    "cm-cn": {
        **COMMON,
        "country": "CN",
        "currency": "CNY",
        "default_vat_rate": Decimal("6"),
        "vat_reverse_charge_eu_b2b": False,
        "timezone": "Asia/Shanghai",
        "working_hours_start": dt.time(8, 30),
        "working_hours_end": dt.time(17, 30),
        "holiday_calendar": Provider.Calendar.CHINA,
        # CM: any amount may be disputed
        "dispute_min_amount": None,
        "dispute_min_pct": None,
        # art. 4.8: fapiao within 7 days of the client's confirmation
        "fapiao_enabled": True,
        "fapiao_due_days": 7,
        "audit_notice_working_days": 10,
    },
    "cxengage-nl": {
        **COMMON,
        "country": "NL",
        "currency": "USD",
        "default_vat_rate": Decimal("21"),
        "vat_reverse_charge_eu_b2b": True,
        "timezone": "Europe/Amsterdam",
        "working_hours_start": dt.time(8, 30),
        "working_hours_end": dt.time(17, 0),
        "holiday_calendar": Provider.Calendar.NETHERLANDS,
        # CX 10: admissible only above EUR 150 and above 3 % of the invoice
        "dispute_min_amount": Decimal("150"),
        "dispute_min_amount_currency": "EUR",
        "dispute_min_pct": Decimal("3"),
        "fapiao_enabled": False,
    },
}


def test_exactly_the_two_profiles_are_seeded(db):
    assert sorted(Provider.objects.values_list("code", flat=True)) == ["cm-cn", "cxengage-nl"]


@pytest.mark.parametrize("code", sorted(EXPECTED))
def test_seeded_profile_matches_the_design_table(db, code):
    provider = Provider.objects.get(code=code)
    actual = {field: getattr(provider, field) for field in EXPECTED[code]}
    assert actual == EXPECTED[code]


def test_governing_law_follows_each_terms_text(cm, cx):
    # art. 17: PRC law for CM; Dutch law and the Amsterdam court for CXENGAGE
    assert "China" in cm.governing_law
    assert "Netherlands" in cx.governing_law
    assert "Amsterdam" in cx.competent_court


def test_seeded_profiles_pass_model_validation(cm, cx):
    cm.full_clean()
    cx.full_clean()


def test_seeded_time_zones_and_calendars_are_usable(cm, cx):
    from zoneinfo import ZoneInfo

    import holidays

    for provider in (cm, cx):
        ZoneInfo(provider.timezone)
        ZoneInfo(provider.billing_timezone)
        holidays.country_holidays(provider.holiday_calendar, years=2026)


def test_editing_a_profile_records_who_and_what_in_history(cm, billing_staff):
    # given
    before = cm.history.count()
    # when: staff edit the payment term, as the admin would (simple-history records the user)
    cm.payment_term_days = 30
    cm._history_user = billing_staff
    cm.save()
    # then
    cm.refresh_from_db()
    assert cm.payment_term_days == 30
    assert cm.history.count() == before + 1
    latest = cm.history.first()
    assert latest.history_type == "~"
    assert latest.history_user == billing_staff
    assert latest.payment_term_days == 30
    # when: a second edit; then the history shows the old and the new value
    cm.payment_term_days = 21
    cm._history_user = billing_staff
    cm.save()
    latest = cm.history.first()
    delta = latest.diff_against(latest.prev_record)
    assert [(c.field, c.old, c.new) for c in delta.changes] == [("payment_term_days", 30, 21)]


def test_editing_a_profile_in_the_admin_records_history(cm, as_user, db):
    from tests.accounts.factories import BillingStaffFactory

    superuser = BillingStaffFactory(is_staff=True, is_superuser=True)
    browser = as_user(superuser)
    page = browser.get(f"/admin/accounts/provider/{cm.pk}/change/")
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        if value is None:
            value = ""
        elif isinstance(value, bool):
            if not value:
                continue
            value = "on"
        data[name] = value
    data["liability_cap_eur"] = "45000.00"
    # the workday-override inline's management form
    prefix = "workday_overrides"
    data.update(
        {
            f"{prefix}-TOTAL_FORMS": "1",
            f"{prefix}-INITIAL_FORMS": "0",
            f"{prefix}-MIN_NUM_FORMS": "0",
            f"{prefix}-MAX_NUM_FORMS": "1000",
            f"{prefix}-0-day": "2027-02-06",
            f"{prefix}-0-kind": WorkdayOverride.Kind.WORKING_DAY,
            f"{prefix}-0-note": "make-up Saturday announced late",
        }
    )
    response = browser.post(f"/admin/accounts/provider/{cm.pk}/change/", data)
    assert response.status_code == 302, (
        getattr(response, "context", {}) and response.context["adminform"].form.errors
    )
    cm.refresh_from_db()
    assert cm.liability_cap_eur == Decimal("45000.00")
    latest = cm.history.first()
    assert latest.history_user == superuser
    assert latest.liability_cap_eur == Decimal("45000.00")
    override = WorkdayOverride.objects.get(provider=cm, day=dt.date(2027, 2, 6))
    assert override.kind == WorkdayOverride.Kind.WORKING_DAY
    assert override.history.first().history_user == superuser
