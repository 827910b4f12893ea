"""Providers and their working-day calendars (DESIGN.md, provider profile; art. 1)."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords


def default_languages() -> list[str]:
    return ["en"]


def default_terms_languages() -> list[str]:
    return []


class EInvoiceFormat(models.TextChoices):
    """The structured e-invoice a profile's PDFs carry (issue 14 §3), or none."""

    NONE = "", _("None (PDF only)")
    FACTURX_EN16931 = "facturx-en16931", _("Factur-X / ZUGFeRD, EN 16931 profile")


class Provider(models.Model):
    """A contracting entity and every number its terms fix (DESIGN.md, provider profile).

    Where the two terms differ, the difference is a field here, never a branch on the code.
    """

    class Calendar(models.TextChoices):
        CHINA = "CN", _("China (with make-up working weekends)")
        NETHERLANDS = "NL", _("Netherlands")

    code = models.SlugField(verbose_name=_("code"), unique=True)
    name = models.CharField(verbose_name=_("name"), max_length=200)
    legal_name = models.CharField(verbose_name=_("legal name"), max_length=300)
    country = models.CharField(verbose_name=_("country"), max_length=2)
    # The seller on the provider's invoices: its VAT identification number and postal address
    # (EN 16931 BT-31, BT-35 to BT-40), printed on the PDF and written into the e-invoice.
    vat_number = models.CharField(
        _("VAT number"),
        max_length=32,
        blank=True,
        help_text=_("the provider's VAT identification number, e.g. NL000099998B57"),
    )
    address = models.TextField(
        blank=True, help_text=_("the provider's postal address, one line per line")
    )
    # Issue 14 §3: the structured e-invoice embedded in every invoice and credit note PDF
    einvoice_format = models.CharField(
        _("e-invoice format"),
        max_length=32,
        choices=EInvoiceFormat.choices,
        blank=True,
        default=EInvoiceFormat.NONE,
        help_text=_("the structured e-invoice each invoice and credit note PDF carries"),
    )
    # art. 4.1 / CX 3
    currency = models.CharField(verbose_name=_("currency"), max_length=3)
    # art. 4.1, 4.9
    default_vat_rate = models.DecimalField(
        verbose_name=_("default VAT rate"), max_digits=5, decimal_places=2, help_text=_("percent")
    )
    vat_reverse_charge_eu_b2b = models.BooleanField(
        verbose_name=_("VAT reverse charge EU B2B"), default=False
    )
    # art. 1, Working Day
    timezone = models.CharField(verbose_name=_("timezone"), max_length=64)
    working_hours_start = models.TimeField(verbose_name=_("working hours start"))
    working_hours_end = models.TimeField(verbose_name=_("working hours end"))
    holiday_calendar = models.CharField(
        verbose_name=_("holiday calendar"), max_length=2, choices=Calendar.choices
    )
    # art. 4.2: the billing period follows CE(S)T
    billing_timezone = models.CharField(
        verbose_name=_("billing timezone"), max_length=64, default="Europe/Amsterdam"
    )
    # art. 4.5
    payment_term_days = models.PositiveSmallIntegerField(
        verbose_name=_("payment term days"), default=14
    )
    # art. 10.2: the disputed part may be withheld only above this share of the total excl. VAT
    dispute_withhold_threshold_pct = models.DecimalField(
        verbose_name=_("dispute withhold threshold (%)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("5"),
    )
    # CX 10: a dispute is admissible only above both of these (null: any amount)
    dispute_min_amount = models.DecimalField(
        verbose_name=_("dispute min amount"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    dispute_min_amount_currency = models.CharField(
        verbose_name=_("dispute min amount currency"), max_length=3, blank=True, default=""
    )
    dispute_min_pct = models.DecimalField(
        verbose_name=_("dispute min (%)"), max_digits=5, decimal_places=2, null=True, blank=True
    )
    # art. 10.2
    dispute_escalation_working_days = models.PositiveSmallIntegerField(
        verbose_name=_("dispute escalation working days"), default=20
    )
    # art. 7.1: an invoice this many days overdue suspends the account
    overdue_suspension_grace_days = models.PositiveSmallIntegerField(
        verbose_name=_("overdue suspension grace days"), default=14
    )
    # art. 4.7
    deposit_refund_months = models.PositiveSmallIntegerField(
        verbose_name=_("deposit refund months"), default=2
    )
    # art. 4.8
    fapiao_enabled = models.BooleanField(verbose_name=_("fapiao enabled"), default=False)
    fapiao_due_days = models.PositiveSmallIntegerField(verbose_name=_("fapiao due days"), default=7)
    # art. 26.1
    message_limit_default = models.PositiveIntegerField(
        verbose_name=_("message limit default"), default=50_000
    )
    limit_notice_pct = models.PositiveSmallIntegerField(
        verbose_name=_("limit notice (%)"), default=75, validators=[MaxValueValidator(100)]
    )
    # art. 29.3
    credit_usable_after_days = models.PositiveSmallIntegerField(
        verbose_name=_("credit usable after days"), default=1
    )
    credit_expiry_months = models.PositiveSmallIntegerField(
        verbose_name=_("credit expiry months"), default=12
    )
    # art. 29.7
    inactive_deletion_months = models.PositiveSmallIntegerField(
        verbose_name=_("inactive deletion months"), default=3
    )
    inactive_warning_days = models.PositiveSmallIntegerField(
        verbose_name=_("inactive warning days"), default=14
    )
    # art. 29.4: the fee the provider charges for a charged-back top-up (none: no fee)
    chargeback_fee = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("charged to the client for each charged-back top-up (art. 29.4); empty: none"),
    )
    chargeback_fee_currency = models.CharField(max_length=3, blank=True, default="")
    # art. 5.6
    registration_data_working_days = models.PositiveSmallIntegerField(
        verbose_name=_("registration data working days"), default=3
    )
    # art. 13.6
    loss_report_working_days = models.PositiveSmallIntegerField(
        verbose_name=_("loss report working days"), default=10
    )
    loss_remedy_working_days = models.PositiveSmallIntegerField(
        verbose_name=_("loss remedy working days"), default=10
    )
    # art. 14.2, 15.5(b)
    force_majeure_notice_working_days = models.PositiveSmallIntegerField(
        verbose_name=_("force majeure notice working days"), default=10
    )
    force_majeure_termination_working_days = models.PositiveSmallIntegerField(
        verbose_name=_("force majeure termination working days"), default=20
    )
    # art. 21.7.2
    audit_interval_months = models.PositiveSmallIntegerField(
        verbose_name=_("audit interval months"), default=12
    )
    audit_notice_working_days = models.PositiveSmallIntegerField(
        verbose_name=_("audit notice working days"), default=10
    )
    # art. 21.9, GDPR 28(2)
    subprocessor_notice_days = models.PositiveSmallIntegerField(
        verbose_name=_("subprocessor notice days"), default=30
    )
    # art. 21.11
    breach_notice_hours = models.PositiveSmallIntegerField(
        verbose_name=_("breach notice hours"), default=48
    )
    # art. 18.3
    terms_objection_months = models.PositiveSmallIntegerField(
        verbose_name=_("terms objection months"), default=1
    )
    terms_cancel_notice_months = models.PositiveSmallIntegerField(
        verbose_name=_("terms cancel notice months"), default=1
    )
    # art. 13.4
    liability_cap_eur = models.DecimalField(
        verbose_name=_("liability cap EUR"),
        max_digits=12,
        decimal_places=2,
        default=Decimal("50000"),
    )
    # art. 15.1-15.2, 15.4
    initial_term_months = models.PositiveSmallIntegerField(
        verbose_name=_("initial term months"), default=12
    )
    renewal_term_months = models.PositiveSmallIntegerField(
        verbose_name=_("renewal term months"), default=12
    )
    notice_period_months = models.PositiveSmallIntegerField(
        verbose_name=_("notice period months"), default=3
    )
    cure_period_working_days = models.PositiveSmallIntegerField(
        verbose_name=_("cure period working days"), default=10
    )
    # CX Part V (premium SMS, direct carrier billing and premium voice): only a provider whose
    # terms have this Part offers revenue statements and payouts to its clients.
    offers_premium_services = models.BooleanField(
        default=False,
        help_text=_("premium SMS, direct carrier billing and premium voice (CX Part V)"),
    )
    # CX Part V, Revenue and Payments: "Payment Disputes: Must be raised within 10 days with
    # supporting documentation" (days, not working days: calendar days)
    premium_dispute_days = models.PositiveSmallIntegerField(default=10)
    # CX Part V, End User & Operator Complaints: "Refund Campaigns: Misconduct may lead to
    # €5,000 fine for campaign costs"
    premium_refund_campaign_charge = models.DecimalField(
        max_digits=12, decimal_places=2, default=Decimal("5000")
    )
    premium_refund_campaign_currency = models.CharField(max_length=3, default="EUR")
    # CX Part V, General Provisions: "Clients must notify CXENGAGE in advance of changes to End
    # User Services" (no number of days is fixed: at least this many days before the change)
    premium_change_notice_days = models.PositiveSmallIntegerField(default=1)
    # art. 17
    governing_law = models.CharField(verbose_name=_("governing law"), max_length=200)
    competent_court = models.CharField(
        verbose_name=_("competent court"), max_length=200, blank=True
    )
    # The portal's languages for this provider's clients, and the one they see by default.
    default_language = models.CharField(
        verbose_name=_("default language"), max_length=16, choices=settings.LANGUAGES, default="en"
    )
    languages = models.JSONField(
        verbose_name=_("languages"),
        default=default_languages,
        help_text=_("languages the portal offers this provider's clients"),
    )
    # art. 18.6 (cm-cn): the terms are made in Chinese and English; the English version prevails
    terms_languages = models.JSONField(
        verbose_name=_("terms languages"),
        default=default_terms_languages,
        blank=True,
        help_text=_("every terms version is published in each of these languages (none: any)"),
    )

    # art. 11.1, 21.4: where this provider's staff notices go (its own people, never the other
    # provider's); blank: the provider's billing staff / compliance officers by their addresses.
    staff_email = models.EmailField(
        verbose_name=_("staff email"),
        blank=True,
        help_text=_("billing notices of this provider's clients (a team mailbox)"),
    )
    compliance_email = models.EmailField(
        verbose_name=_("compliance email"),
        blank=True,
        help_text=_("data-processing notices of this provider's clients"),
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("provider")
        verbose_name_plural = _("providers")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(chargeback_fee__isnull=True)
                | (models.Q(chargeback_fee__gt=0) & ~models.Q(chargeback_fee_currency="")),
                name="chargeback_fee_positive_with_currency",
                violation_error_message=(
                    "A chargeback fee is a positive amount with its currency (art. 29.4)."
                ),
            )
        ]

    def __str__(self) -> str:
        return self.name


class WorkdayOverride(models.Model):
    """A staff correction to the holiday calendar; it wins over the `holidays` package (art. 1)."""

    class Kind(models.TextChoices):
        DAY_OFF = "day_off", _("Extra day off")
        WORKING_DAY = "working_day", _("Extra working day")

    provider = models.ForeignKey(
        Provider,
        verbose_name=_("provider"),
        on_delete=models.CASCADE,
        related_name="workday_overrides",
    )
    day = models.DateField(verbose_name=_("day"))
    kind = models.CharField(verbose_name=_("kind"), max_length=16, choices=Kind.choices)
    note = models.CharField(verbose_name=_("note"), max_length=200, blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("workday override")
        verbose_name_plural = _("workday overrides")
        ordering = ["provider", "day"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "day"],
                name="one_override_per_provider_day",
                violation_error_message=_("This day already has an override for this provider."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.provider.code} {self.day} {self.get_kind_display()}"
