"""Seed the two provider profiles of DESIGN.md (terms/003 for cm-cn, terms/000 for cxengage-nl)."""

import datetime as dt
from decimal import Decimal

from django.db import migrations

PROFILES = [
    {
        "code": "cm-cn",
        "name": "CM Telecom (Shenzhen)",
        "legal_name": "CM Telecom (Shenzhen) Co. Ltd",
        "country": "CN",
        "currency": "CNY",
        "default_vat_rate": Decimal("6.00"),
        "vat_reverse_charge_eu_b2b": False,
        "timezone": "Asia/Shanghai",
        "working_hours_start": dt.time(8, 30),
        "working_hours_end": dt.time(17, 30),
        "holiday_calendar": "CN",
        "billing_timezone": "Europe/Amsterdam",
        "payment_term_days": 14,
        "dispute_withhold_threshold_pct": Decimal("5"),
        "dispute_min_amount": None,
        "dispute_min_amount_currency": "",
        "dispute_min_pct": None,
        "fapiao_enabled": True,
        "fapiao_due_days": 7,
        "governing_law": "People's Republic of China",
        "competent_court": "Court of the PRC at CM's registered residence",
    },
    {
        "code": "cxengage-nl",
        "name": "CXENGAGE",
        "legal_name": "CXENGAGE B.V.",
        "country": "NL",
        "currency": "USD",
        "default_vat_rate": Decimal("21.00"),
        "vat_reverse_charge_eu_b2b": True,
        "timezone": "Europe/Amsterdam",
        "working_hours_start": dt.time(8, 30),
        "working_hours_end": dt.time(17, 0),
        "holiday_calendar": "NL",
        "billing_timezone": "Europe/Amsterdam",
        "payment_term_days": 14,
        "dispute_withhold_threshold_pct": Decimal("5"),
        "dispute_min_amount": Decimal("150.00"),
        "dispute_min_amount_currency": "EUR",
        "dispute_min_pct": Decimal("3"),
        "fapiao_enabled": False,
        "fapiao_due_days": 7,
        "governing_law": "the Netherlands",
        "competent_court": "Amsterdam court",
    },
]


def seed(apps, schema_editor):
    Provider = apps.get_model("accounts", "Provider")
    for profile in PROFILES:
        Provider.objects.update_or_create(code=profile["code"], defaults=profile)


def unseed(apps, schema_editor):
    apps.get_model("accounts", "Provider").objects.filter(code__in=[p["code"] for p in PROFILES]).delete()


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
