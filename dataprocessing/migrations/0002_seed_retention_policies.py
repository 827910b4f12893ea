"""Seed a retention period per category for every provider (art. 23).

Usage records' recipient numbers: 180 days (enough for invoices and disputes, art. 10.2);
data-subject references: 3 years after the request is closed (to show how it was answered);
contact details of deleted accounts: 30 days.
"""

from django.db import migrations

DEFAULTS = {
    "usage_recipients": 180,
    "dsr_subject_references": 3 * 365,
    "deleted_account_contacts": 30,
}


def seed(apps, schema_editor):
    Provider = apps.get_model("accounts", "Provider")
    RetentionPolicy = apps.get_model("dataprocessing", "RetentionPolicy")
    for provider in Provider.objects.all():
        for category, days in DEFAULTS.items():
            RetentionPolicy.objects.get_or_create(provider=provider, category=category, defaults={"period_days": days})


def unseed(apps, schema_editor):
    RetentionPolicy = apps.get_model("dataprocessing", "RetentionPolicy")
    RetentionPolicy.objects.filter(category__in=DEFAULTS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_seed_providers"),
        ("dataprocessing", "0001_initial"),
    ]

    operations = [migrations.RunPython(seed, unseed)]
