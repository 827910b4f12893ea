"""Agreements, suspensions and terms versions with their acceptances (art. 15, 18)."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from .clients import Client
from .providers import Provider


class Agreement(models.Model):
    """The agreement: its term, renewal and notice (art. 15), suspension (art. 7)."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        NOTICE_GIVEN = "notice_given", _("Notice given")
        SUSPENDED = "suspended", _("Suspended")
        TERMINATED = "terminated", _("Terminated")

    class Party(models.TextChoices):
        CLIENT = "client", _("Client")
        PROVIDER = "provider", _("Provider")

    class Ground(models.TextChoices):
        """Why the agreement ends (art. 15, 18.3, 29.6)."""

        NOTICE = "notice_15_2", _("Notice after the initial term (art. 15.2)")
        ECONOMIC = "economic_15_3", _("Economic grounds, substantiated in writing (art. 15.3)")
        DEFAULT = "default_15_4", _("Default not remedied within the cure period (art. 15.4)")
        INSOLVENCY = (
            "insolvency_15_5a",
            _(
                "Suspension of payments, bankruptcy or liquidation of the other party (art. 15.5(a))"
            ),
        )
        FORCE_MAJEURE = (
            "force_majeure_15_5b",
            _("Force majeure lasting longer than 20 working days (art. 15.5(b))"),
        )
        AUTHORITIES = (
            "authorities_15_5c",
            _("Required by the authorities or by changes to operators' terms (art. 15.5(c))"),
        )
        PREPAID = "prepaid_29_6", _("A prepaid client's termination in writing (art. 29.6)")
        OBJECTION = "objection_18_3", _("Cancelled after an objection to new terms (art. 18.3)")

    client = models.OneToOneField(
        Client, verbose_name=_("client"), on_delete=models.CASCADE, related_name="agreement"
    )
    start_date = models.DateField(verbose_name=_("start date"))
    initial_term_months = models.PositiveSmallIntegerField(
        verbose_name=_("initial term months"), validators=[MinValueValidator(1)]
    )
    renewal_term_months = models.PositiveSmallIntegerField(
        verbose_name=_("renewal term months"), validators=[MinValueValidator(1)]
    )
    notice_period_months = models.PositiveSmallIntegerField(verbose_name=_("notice period months"))
    current_term_end = models.DateField(
        verbose_name=_("current term end"), help_text=_("last day of the current term")
    )
    renewals = models.PositiveSmallIntegerField(verbose_name=_("renewals"), default=0)
    status = models.CharField(
        verbose_name=_("status"), max_length=16, choices=Status.choices, default=Status.ACTIVE
    )
    notice_given_at = models.DateTimeField(verbose_name=_("notice given at"), null=True, blank=True)
    notice_given_by = models.CharField(
        verbose_name=_("notice given by"), max_length=16, choices=Party.choices, blank=True
    )
    notice_reason = models.TextField(verbose_name=_("notice reason"), blank=True)
    end_date = models.DateField(
        verbose_name=_("end date"),
        null=True,
        blank=True,
        help_text=_("last day of the agreement once notice is given"),
    )
    # art. 15.4: notice of default and its cure period; either party may give it
    default_notice_at = models.DateTimeField(
        verbose_name=_("default notice at"), null=True, blank=True
    )
    default_notice_by = models.CharField(max_length=16, choices=Party.choices, blank=True)
    default_notice_text = models.TextField(verbose_name=_("default notice text"), blank=True)
    cure_deadline = models.DateTimeField(verbose_name=_("cure deadline"), null=True, blank=True)
    default_remedied_at = models.DateTimeField(
        null=True, blank=True, help_text=_("the party that sent the notice recorded it remedied")
    )
    terminated_at = models.DateTimeField(verbose_name=_("terminated at"), null=True, blank=True)
    termination_reason = models.TextField(verbose_name=_("termination reason"), blank=True)
    # art. 15.3-15.5, 29.6: on which ground, by whom, with what evidence
    termination_ground = models.CharField(max_length=24, choices=Ground.choices, blank=True)
    terminated_by = models.CharField(max_length=16, choices=Party.choices, blank=True)
    termination_evidence = models.FileField(upload_to="agreements/termination/", blank=True)
    termination_force_majeure = models.ForeignKey(
        "accounts.ForceMajeure",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("the situation of force majeure relied on (art. 15.5(b))"),
    )
    # art. 4.1 / CX 3: "All prices stated are in RMB or RMB equivalents to Euros" (cm-cn); "in
    # the agreed currency (default: USD)" (cxengage-nl): the agreed currency, the profile's by
    # default; invoices, the wallet and prices follow it.
    currency = models.CharField(
        _("currency"),
        max_length=3,
        validators=[
            RegexValidator(r"^[A-Z]{3}$", _("An ISO 4217 currency code, e.g. EUR (art. 4.1)."))
        ],
        help_text=_("the agreed currency (ISO 4217); the profile's by default (art. 4.1)"),
    )
    # art. 4.5: "within fourteen (14) days of the invoice date, unless the Agreement explicitly
    # contains different payment terms": null is the profile's term.
    payment_term_days = models.PositiveSmallIntegerField(
        _("payment term (days)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
        help_text=_("days after the invoice date; empty: the profile's term (art. 4.5)"),
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("agreement")
        verbose_name_plural = _("agreements")
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"Agreement with {self.client}"

    def save(self, *args, **kwargs):
        # The profile's currency when none is agreed (art. 4.1 / CX 3).
        if not self.currency:
            self.currency = self.client.provider.currency
        self.currency = self.currency.strip().upper()
        super().save(*args, **kwargs)

    @property
    def effective_payment_term_days(self) -> int:
        """The agreement's own payment term, else the profile's (art. 4.5)."""
        if self.payment_term_days is not None:
            return self.payment_term_days
        return self.client.provider.payment_term_days


class Suspension(models.Model):
    """A suspension of service (art. 7.1); the client stays liable while it lasts (art. 7.2)."""

    class Cause(models.TextChoices):
        BREACH = "breach", _("Breach of the agreement or applicable law")
        NON_PAYMENT = "non_payment", _("Non-payment")
        CHARGEBACK = "chargeback", _("Chargeback (art. 29.4)")
        MESSAGE_LIMIT = "message_limit", _("Message limit reached")
        OTHER = "other", _("Other")

    client = models.ForeignKey(
        Client, verbose_name=_("client"), on_delete=models.CASCADE, related_name="suspensions"
    )
    cause = models.CharField(verbose_name=_("cause"), max_length=16, choices=Cause.choices)
    reason = models.TextField(verbose_name=_("reason"))
    started_at = models.DateTimeField(verbose_name=_("started at"), default=timezone.now)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("started by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    ended_at = models.DateTimeField(verbose_name=_("ended at"), null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("ended by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    end_reason = models.TextField(verbose_name=_("end reason"), blank=True)
    # art. 7.3: "the activation costs which CM incurs in this respect will be charged to the Client"
    activation_cost = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("activation costs charged on resumption (art. 7.3), excluding VAT"),
    )
    activation_cost_currency = models.CharField(max_length=3, blank=True, default="")

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("suspension")
        verbose_name_plural = _("suspensions")
        ordering = ["-started_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["client", "cause"],
                condition=Q(ended_at__isnull=True),
                name="one_open_suspension_per_cause",
                violation_error_message=_("The client is already suspended for this cause."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_cause_display()}: {self.client}"


class TermsVersion(models.Model):
    """A published version of a provider's terms and conditions (art. 18.3)."""

    provider = models.ForeignKey(
        Provider,
        verbose_name=_("provider"),
        on_delete=models.PROTECT,
        related_name="terms_versions",
    )
    version = models.CharField(verbose_name=_("version"), max_length=32)
    summary = models.TextField(verbose_name=_("summary"), help_text=_("what changed"))
    document_url = models.URLField(verbose_name=_("document URL"), blank=True)
    # art. 18.6: the text in each of the provider's terms languages, by language code
    texts = models.JSONField(verbose_name=_("texts"), default=dict, blank=True)
    published_at = models.DateTimeField(verbose_name=_("published at"), null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("published by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("terms version")
        verbose_name_plural = _("terms versions")
        ordering = ["provider", "-published_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "version"],
                name="unique_terms_version_per_provider",
                violation_error_message=_(
                    "This provider already has a terms version with this number."
                ),
            )
        ]

    def __str__(self) -> str:
        return f"{self.provider.code} terms {self.version}"


class TermsAcceptance(models.Model):
    """Where one client stands on one terms version: notified, objected, accepted (art. 18.3)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Notified, objection period running")
        ACCEPTED = "accepted", _("Accepted")
        DEEMED_ACCEPTED = "deemed_accepted", _("Deemed accepted (no objection within the period)")
        OBJECTED = "objected", _("Objected")

    client = models.ForeignKey(
        Client, verbose_name=_("client"), on_delete=models.CASCADE, related_name="terms_acceptances"
    )
    terms = models.ForeignKey(
        TermsVersion, verbose_name=_("terms"), on_delete=models.PROTECT, related_name="acceptances"
    )
    status = models.CharField(
        verbose_name=_("status"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    notified_at = models.DateTimeField(verbose_name=_("notified at"), default=timezone.now)
    objection_deadline = models.DateTimeField(verbose_name=_("objection deadline"))
    decided_at = models.DateTimeField(verbose_name=_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    objection_reason = models.TextField(verbose_name=_("objection reason"), blank=True)
    # art. 18.6: the language versions of the text the client's users were shown
    languages_shown = models.JSONField(verbose_name=_("languages shown"), default=list, blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("terms acceptance")
        verbose_name_plural = _("terms acceptances")
        ordering = ["-notified_at", "-pk"]
        # The list's sort order, and per client (accounts.kernel.keyset; issue 16 §2).
        indexes = [
            models.Index(fields=["-notified_at", "-id"], name="acceptance_list_idx"),
            models.Index(
                fields=["client", "-notified_at", "-id"], name="acceptance_client_list_idx"
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["client", "terms"],
                name="one_acceptance_per_client_and_terms",
                violation_error_message=_(
                    "This client has already been notified of this terms version."
                ),
            )
        ]

    def __str__(self) -> str:
        return f"{self.client} / {self.terms}: {self.get_status_display()}"
