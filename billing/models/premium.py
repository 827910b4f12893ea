"""Premium services' revenue (CXENGAGE Part V: premium SMS, direct carrier billing and premium
voice): statements per period per operator, the ledger of what the operators paid and what is
deducted, offset or paid out, the client's payment disputes with their documents, and its advance
notices of changes to its end-user services.

Only a provider whose profile says `offers_premium_services` has these (never a branch on the
provider's code)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from accounts.models import Client

from .prepaid import money_field


class PremiumStatement(models.Model):
    """A revenue statement of one client for one period and one operator (CX Part V, Revenue
    and Payments: "Only amounts actually received from operators are paid out"). Its amounts are
    the sums of its ledger entries; staff build it while it is a draft and issue it, which opens
    the client's 10 days to dispute it."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        ISSUED = "issued", _("Issued")

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="premium_statements")
    operator = models.CharField(max_length=100, help_text=_("the mobile or fixed network operator"))
    period_start = models.DateField()
    period_end = models.DateField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    issued_at = models.DateTimeField(null=True, blank=True)
    dispute_deadline = models.DateTimeField(
        null=True, blank=True, help_text=_("10 days after the statement was issued (CX Part V)")
    )
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-period_start", "-pk"]
        indexes = [
            models.Index(
                fields=["client", "-period_start", "-id"], name="premium_stmt_client_keyset"
            ),
            models.Index(fields=["-period_start", "-id"], name="premium_stmt_keyset"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["client", "operator", "period_start", "period_end", "currency"],
                name="premium_one_statement_per_period_operator",
                violation_error_message=_(
                    "This client already has a statement for this operator and period."
                ),
            ),
            models.CheckConstraint(
                condition=Q(period_end__gte=models.F("period_start")),
                name="premium_period_ordered",
                violation_error_message=_("The period cannot end before it starts."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.operator} {self.period_start}–{self.period_end}"


class PremiumLedgerEntry(models.Model):
    """One money movement on a statement, append-only, once per idempotency key: what an
    operator actually paid (positive), and what is deducted, offset against an invoice or paid
    out to the client (negative). A statement's balance is the sum of its entries."""

    class Kind(models.TextChoices):
        RECEIPT = "receipt", _("Received from the operator")
        CHARGEBACK = "chargeback", _("End-user chargeback")
        CHARGEBACK_FEE = "chargeback_fee", _("Chargeback fee")
        COMPLAINT_FEE = "complaint_fee", _("Administrative fee for complaint handling")
        REFUND_CAMPAIGN = "refund_campaign", _("Refund-campaign charge for misconduct")
        TAX_WITHHELD = "tax_withheld", _("Tax withheld")
        OFFSET = "offset", _("Offset against an invoice")
        PAYOUT = "payout", _("Paid out to the client")

    statement = models.ForeignKey(
        PremiumStatement, on_delete=models.PROTECT, related_name="entries"
    )
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="premium_entries")
    kind = models.CharField(max_length=24, choices=Kind.choices)
    amount = money_field(help_text=_("positive for a receipt, negative for everything else"))
    currency = models.CharField(max_length=3)
    occurred_on = models.DateField(help_text=_("the day the money moved"))
    operator_billed = money_field(
        null=True, blank=True, help_text=_("a receipt: what the operator billed its end users")
    )
    source_amount = money_field(null=True, blank=True)
    source_currency = models.CharField(max_length=3, blank=True, default="")
    reference = models.CharField(max_length=200, blank=True, default="")
    note = models.TextField(blank=True, default="")
    set_off = models.OneToOneField(
        "billing.SetOff",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="premium_entry",
    )
    idempotency_key = models.CharField(max_length=200, unique=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["recorded_at", "pk"]
        indexes = [
            models.Index(fields=["statement", "recorded_at", "id"], name="premium_entry_stmt_idx"),
            models.Index(
                fields=["client", "kind", "-recorded_at", "-id"], name="premium_entry_kind_idx"
            ),
            models.Index(fields=["kind", "-recorded_at", "-id"], name="premium_entry_all_kind_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind="receipt") & Q(amount__gt=0))
                | (~Q(kind="receipt") & Q(amount__lt=0)),
                name="premium_entry_sign",
                violation_error_message=_(
                    "A receipt is positive; every deduction, offset and payout is negative."
                ),
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount} {self.currency}"


class PremiumDispute(models.Model):
    """The client's dispute of a statement's payment (CX Part V, Revenue and Payments: "Payment
    Disputes: Must be raised within 10 days with supporting documentation")."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        UPHELD = "upheld", _("Upheld")
        REJECTED = "rejected", _("Rejected")

    statement = models.ForeignKey(
        PremiumStatement, on_delete=models.PROTECT, related_name="disputes"
    )
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="premium_disputes")
    reason = models.TextField()
    amount_claimed = money_field(null=True, blank=True)
    currency = models.CharField(max_length=3)
    raised_at = models.DateTimeField(default=timezone.now)
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    resolution = models.TextField(blank=True, default="")
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["-raised_at", "-pk"]
        indexes = [
            models.Index(fields=["client", "-raised_at", "-id"], name="premium_dispute_client_idx"),
            models.Index(fields=["-raised_at", "-id"], name="premium_dispute_keyset"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount_claimed__isnull=True) | Q(amount_claimed__gt=0),
                name="premium_dispute_amount_positive",
                violation_error_message=_("A disputed amount must be more than zero."),
            )
        ]

    def __str__(self) -> str:
        return f"Premium dispute #{self.pk}"


class PremiumDisputeDocument(models.Model):
    """Supporting documentation of a payment dispute (PDF, PNG or JPEG, checked by content)."""

    dispute = models.ForeignKey(PremiumDispute, on_delete=models.PROTECT, related_name="documents")
    file = models.FileField(upload_to="premium/disputes/")
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.file.name or ""


class PremiumServiceChange(models.Model):
    """The client's advance notice of a change to its end-user service (CX Part V, General
    Provisions: "Service Reporting: Clients must notify CXENGAGE in advance of changes to End
    User Services")."""

    client = models.ForeignKey(
        Client, on_delete=models.PROTECT, related_name="premium_service_changes"
    )
    service = models.CharField(
        max_length=200, help_text=_("the end-user service, e.g. a short code")
    )
    change = models.TextField()
    effective_on = models.DateField()
    notice_days = models.PositiveSmallIntegerField(
        help_text=_("the lead time the provider's profile required when the notice was given")
    )
    notified_at = models.DateTimeField(default=timezone.now)
    notified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["-notified_at", "-pk"]
        indexes = [
            models.Index(
                fields=["client", "-notified_at", "-id"], name="premium_change_client_idx"
            ),
            models.Index(fields=["-notified_at", "-id"], name="premium_change_keyset"),
        ]

    def __str__(self) -> str:
        return f"{self.service}: {self.effective_on}"
