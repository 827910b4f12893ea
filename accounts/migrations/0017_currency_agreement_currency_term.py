"""The agreed currency and payment term of each agreement (art. 4.1, 4.5; CX 3, issue 12 §5);
existing agreements take their profile's currency and keep the profile's term (null)."""

import django.core.validators
from django.db import migrations, models


def fill_currency(apps, schema_editor):
    Agreement = apps.get_model("accounts", "Agreement")
    Provider = apps.get_model("accounts", "Provider")
    for provider in Provider.objects.all():
        Agreement.objects.filter(client__provider=provider, currency="").update(
            currency=provider.currency
        )


CURRENCY_VALIDATORS = [
    django.core.validators.RegexValidator(
        "^[A-Z]{3}$", "An ISO 4217 currency code, e.g. EUR (art. 4.1)."
    )
]
TERM_VALIDATORS = [
    django.core.validators.MinValueValidator(1),
    django.core.validators.MaxValueValidator(365),
]


class Migration(migrations.Migration):
    dependencies = [("accounts", "0016_termination_default_remedied")]

    operations = [
        migrations.AddField(
            model_name="agreement",
            name="currency",
            field=models.CharField(
                default="",
                help_text="the agreed currency (ISO 4217); the profile's by default (art. 4.1)",
                max_length=3,
                validators=CURRENCY_VALIDATORS,
                verbose_name="currency",
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="historicalagreement",
            name="currency",
            field=models.CharField(
                default="",
                help_text="the agreed currency (ISO 4217); the profile's by default (art. 4.1)",
                max_length=3,
                validators=CURRENCY_VALIDATORS,
                verbose_name="currency",
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="agreement",
            name="payment_term_days",
            field=models.PositiveSmallIntegerField(
                blank=True,
                help_text="days after the invoice date; empty: the profile's term (art. 4.5)",
                null=True,
                validators=TERM_VALIDATORS,
                verbose_name="payment term (days)",
            ),
        ),
        migrations.AddField(
            model_name="historicalagreement",
            name="payment_term_days",
            field=models.PositiveSmallIntegerField(
                blank=True,
                help_text="days after the invoice date; empty: the profile's term (art. 4.5)",
                null=True,
                validators=TERM_VALIDATORS,
                verbose_name="payment term (days)",
            ),
        ),
        migrations.RunPython(fill_currency, migrations.RunPython.noop),
    ]
